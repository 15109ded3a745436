"""Errors that carry a short machine-readable reason, so callers can count them in stats, and
the exit codes a crawl ends with (``scrapy crawl`` and ``archiver.cli.publish`` say the same)."""

from __future__ import annotations


class Rejected(ValueError):
    """A value that cannot be normalised; ``reason`` is a stats-friendly slug."""

    def __init__(self, reason: str, value: object = None) -> None:
        super().__init__(f"{reason}: {value!r}")
        self.reason = reason
        self.value = value


class ArchiverError(Exception):
    """A user-facing failure whose message is one line naming what was wrong and where."""


# A crawl's exit code by the status of the snapshot it published (CONTRACT.md, "Exit codes").
EXIT_CODES = {"complete": 0, "partial": 3, "failed": 1}
# Refused before anything was fetched: a bad argument, setting or start URL.
BAD_INPUT = 2
STATUS_OF_EXIT = {code: status for status, code in EXIT_CODES.items()} | {BAD_INPUT: "bad input"}


def describe(exc: BaseException) -> str:
    """``ValueError: XPath error: Invalid type``: the error's kind and first line."""
    kind = type(exc)
    name = kind.__name__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__name__}"
    text = str(exc).strip().splitlines()
    return f"{name}: {text[0]}" if text else name
