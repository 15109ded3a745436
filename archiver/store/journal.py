"""Crash-safe resumption: a page journal in ``JOBDIR``.

Scrapy's own JOBDIR state (the request queue and ``requests.seen``) is only consistent after a
clean stop: after ``kill -9`` the seen-file may list pages that were never parsed, and the
queue may be lost. So with ``-s JOBDIR=...`` archiver keeps its own journal instead:

* ``archiver-journal.jsonl``: a header naming the snapshot, then one line per page *after*
  it was read (its raw entries, times and next link), flushed and fsynced before the page's
  entries go on to the pipelines. A torn last line from a kill is cut off on reopening.
* On restart with the same JOBDIR the spider replays the journal (the same entries, with the
  same times, in the same order) and fetches only what the journal does not hold: pages that
  were in flight when the process died are fetched again, and nothing is archived twice.
* The journal is removed once its snapshot is published, so the next run starts afresh.

Scrapy's scheduler and dupefilter therefore run in memory (``JournalScheduler``).
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
from pathlib import Path
from typing import Any, Self

from scrapy.core.scheduler import Scheduler
from scrapy.crawler import Crawler
from scrapy.dupefilters import RFPDupeFilter
from scrapy.utils.misc import load_object

from archiver.errors import ArchiverError

logger = logging.getLogger(__name__)

JOURNAL_FILE = "archiver-journal.jsonl"
JOURNAL_FORMAT = 1


class JournalScheduler(Scheduler):
    """Scrapy's scheduler with its queue and seen-set in memory, whatever JOBDIR says."""

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        dupefilter = RFPDupeFilter(
            None,
            crawler.settings.getbool("DUPEFILTER_DEBUG"),
            fingerprinter=crawler.request_fingerprinter,
        )
        return cls(
            dupefilter=dupefilter,
            jobdir=None,
            dqclass=load_object(crawler.settings["SCHEDULER_DISK_QUEUE"]),
            mqclass=load_object(crawler.settings["SCHEDULER_MEMORY_QUEUE"]),
            logunser=crawler.settings.getbool("SCHEDULER_DEBUG"),
            stats=crawler.stats,
            pqclass=load_object(crawler.settings["SCHEDULER_PRIORITY_QUEUE"]),
            crawler=crawler,
        )


def read_records(path: Path) -> tuple[list[dict[str, Any]], int]:
    """The journal's whole records and the byte length they occupy (a torn tail excluded)."""
    records: list[dict[str, Any]] = []
    good = 0
    with path.open("rb") as handle:
        for line in handle:
            if not line.endswith(b"\n"):
                break  # the write a kill interrupted
            try:
                records.append(json.loads(line))
            except ValueError:
                break
            good += len(line)
    return records, good


def replayable(
    pages: list[dict[str, Any]], evidence: dict[str, set[str]] | None
) -> tuple[list[dict[str, Any]], int]:
    """The journal's pages a resumed crawl may replay, in journal order, and how many it
    must fetch again instead.

    Each listing's pages form a chain (page 1, 2, ...); a page journaled again (fetched
    anew after an earlier resume) replaces the chain from that page on. With ``evidence``
    (WARC file -> the response record ids it holds in the staging folder), a chain is cut
    at its first page whose record is gone: that page and the rest of its listing are
    fetched again, so no published row ever names a record the snapshot lacks. ``None``:
    the crawl keeps no WARC, nothing to check.
    """
    chains: dict[str, list[dict[str, Any]]] = {}
    for record in pages:
        chain = chains.setdefault(record["listing"], [])
        while chain and chain[-1]["page_no"] >= record["page_no"]:
            chain.pop()
        chain.append(record)
    kept: set[int] = set()
    refetch = 0
    for chain in chains.values():
        for index, record in enumerate(chain):
            record_id = record.get("warc_record_id")
            held = evidence is None or record_id is None
            if not held and record_id not in evidence.get(record.get("warc_filename") or "", set()):
                refetch += len(chain) - index
                break
            kept.add(id(record))
    return [record for record in pages if id(record) in kept], refetch


class PageJournal:
    """The append-only, fsynced record of one crawl's pages, held open and locked."""

    def __init__(self, jobdir: str | Path) -> None:
        self.path = Path(jobdir) / JOURNAL_FILE
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = self.path.open("a+b")
        except OSError as exc:
            raise ArchiverError(f"JOBDIR {jobdir}: cannot open the journal: {exc}") from exc
        try:
            fcntl.flock(self._handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            self._handle.close()
            raise ArchiverError(f"JOBDIR {jobdir}: in use by another running crawl") from exc
        records, good = read_records(self.path)
        header = records[0] if records and records[0].get("type") == "start" else None
        if header and header.get("format") != JOURNAL_FORMAT:  # left exactly as it is
            self._handle.close()
            raise ArchiverError(
                f"JOBDIR {jobdir}: the journal is in format {header.get('format')!r}, this "
                f"archiver reads format {JOURNAL_FORMAT}; finish that crawl with the version "
                "that began it, or use a new JOBDIR"
            )
        if good != self.path.stat().st_size:
            logger.warning("journal %s: dropping a torn last record", self.path)
            self._handle.truncate(good)
        self.header: dict[str, Any] | None = header
        self.pages: list[dict[str, Any]] = [
            {k: v for k, v in r.items() if k != "type"} for r in records if r.get("type") == "page"
        ]

    @property
    def snapshot_id(self) -> str | None:
        return self.header["snapshot_id"] if self.header else None

    def _append(self, record: dict[str, Any]) -> None:
        self._handle.seek(0, os.SEEK_END)
        self._handle.write(json.dumps(record, ensure_ascii=False).encode("utf-8") + b"\n")
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def start(self, snapshot_id: str, start_urls: list[str], profile: str) -> None:
        """Begin a new journal (discarding one whose snapshot was already published)."""
        self._handle.truncate(0)
        self.pages = []
        self.header = {
            "type": "start",
            "format": JOURNAL_FORMAT,
            "snapshot_id": snapshot_id,
            "start_urls": start_urls,
            "profile": profile,
        }
        self._append(self.header)

    def record_page(self, record: dict[str, Any]) -> None:
        self._append({"type": "page", **record})
        self.pages.append(record)

    def finish(self) -> None:
        """The snapshot is published: the journal has done its work."""
        self._handle.close()
        self.path.unlink(missing_ok=True)

    def close(self) -> None:
        if not self._handle.closed:
            self._handle.close()

    @property
    def closed(self) -> bool:
        return self._handle.closed

    def fileno(self) -> int:
        """The descriptor that holds the journal's lock (passed on to archiver.cli.publish)."""
        return self._handle.fileno()
