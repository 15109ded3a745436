"""The locking rules, in one place: which lock, who takes it, in which order.

Every lock is an advisory ``flock`` on a folder's or file's descriptor, so the kernel drops
it when its holder dies (a ``kill -9`` leaves nothing to clean up), and every taker that
must not wait asks without blocking.

1. **The journal** (``JOBDIR/archiver-journal.jsonl``): exclusive, by the crawl that uses the
   JOBDIR (``archiver.store.journal.PageJournal``), for its whole life; a second crawl on the same
   JOBDIR is refused in one line. Taken first, before the staging folder.
2. **A staging folder** (``data/staging/<id>``): exclusive by a crawl writing it, shared by
   each worker of one shared crawl (``archiver.store.staging.StagedSnapshot``); held until the
   snapshot is published. ``scrapy crawl`` hands the descriptor to ``archiver.cli.publish``
   (``--lock-fd``) when it becomes it, so the lock is never let go in between.
3. **A published snapshot being read again** (``archiver reparse``): shared, for the time of
   the re-read (``holding``), so that retention leaves the source alone.
4. **Retention and settling** (``archiver prune``, ``settle_readings``) take nothing and
   wait for nothing: they ask whether a folder is held (``held``, never blocking) just before
   they move it, and leave any held folder where it is.

Order: journal, then staging folder; a reader holds one snapshot at a time. No process ever
waits for a lock another holds while holding one itself, so there is no deadlock.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path


def held(folder: Path, exclusive: bool = True) -> bool:
    """True when a running process holds ``folder`` (a crawl its staging folder, exclusively;
    a reparse the snapshot it reads, shared: ask with ``exclusive=True`` to see either)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


@contextlib.contextmanager
def holding(folder: Path, exclusive: bool = False) -> Iterator[None]:
    """Hold ``folder`` while reading or writing it, so that prune leaves it alone."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)
