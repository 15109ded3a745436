"""archiver: crawl listing pages into typed, atomically published snapshots.

Analysts start here::

    import archiver
    df = archiver.load("data")          # every snapshot's rows, typed
    archiver.history("data")            # one row per entry and snapshot
    archiver.published("data")          # narrowed publication interval per entry
    archiver.top("data", since="7d")    # the entries that gained most, the new, the vanished
"""

from __future__ import annotations

from archiver import moved
from archiver.version import PROJECT_URL, __version__

moved.install()  # module paths of before the regroup into wings still import, with a warning

__all__ = ["PROJECT_URL", "__version__", "history", "load", "published", "top"]


def __getattr__(name: str):
    # Imported lazily: importing archiver (for a crawl, a command) need not load pandas.
    if name == "load":
        from archiver.analyse.read import load

        return load
    if name in ("history", "published", "top"):
        from archiver.analyse import history

        return getattr(history, name)
    raise AttributeError(name)
