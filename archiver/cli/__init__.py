"""The programs: the ``archiver`` command (``main``), the publishing step a crawl becomes
(``publish``), ``archiver profile check`` (``check``) and ``archiver reparse`` (``reparse``).

This package's ``__init__`` imports nothing: ``python -m archiver.cli.publish`` must not load
pandas, which the ``archiver`` command's reading sub-commands use.
"""

from __future__ import annotations

from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """The ``archiver`` command (the console script ``archiver.cli:main``)."""
    from archiver.cli.command import main as run

    return run(argv)
