"""``archiver reparse``: a new snapshot read again, offline, from another's WARC files.

The original crawl runs again, through the same spider and pipelines, with every response
answered from the evidence (``archiver.evidence.replay``): the same pages, at the times they were
captured. With the profile the crawl used (stored in the snapshot), the rows come back
equal; with a better profile, what the first reading missed is recovered.

A derived snapshot is named after the capture it re-reads: ``<original id>.<new id>``, so it
sorts right after its original, and ``archiver.load`` takes the latest usable reading of
each capture (``readings="latest"``). Once it is published, the reading it replaces moves
from ``snapshots/`` to ``superseded/`` (``snapshots.settle_readings``), so that a reader of
the folder (pandas, DuckDB, polars) counts no row twice either. Its manifest says
``"derived_from"``, and its WARC files are the original's, hard-linked: the evidence is
shared, not copied.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scrapy.crawler import Crawler
from scrapy.utils.defer import deferred_from_coro, maybe_deferred_to_future

from archiver import settings as project_settings
from archiver.channels import STAT_SNAPSHOT_ERROR, STAT_SNAPSHOT_PATH, STAT_SNAPSHOT_STATUS
from archiver.cli.inprocess import crawler_process
from archiver.errors import ArchiverError
from archiver.evidence.records import WARC_FOLDER
from archiver.spiders.listing import ListingSpider
from archiver.store.layout import (
    SnapshotInfo,
    find_snapshot,
    list_snapshots,
    new_snapshot_id,
    root_id,
)
from archiver.store.locks import holding
from archiver.store.publishing import settle_readings

logger = logging.getLogger(__name__)

REPLAY_HANDLER = "archiver.evidence.replay.ReplayDownloadHandler"
CAPTURE = "archiver.middlewares.capture.CaptureMiddleware"
# No network: no delays, no waiting for retries; robots.txt is the archived one.
REPLAY_SETTINGS: dict[str, Any] = {
    "DOWNLOAD_HANDLERS": {"http": REPLAY_HANDLER, "https": REPLAY_HANDLER, "file": REPLAY_HANDLER},
    # The responses are the evidence already: nothing new to capture.
    "DOWNLOADER_MIDDLEWARES": {**project_settings.DOWNLOADER_MIDDLEWARES, CAPTURE: None},
    "DOWNLOAD_DELAY": 0,
    "AUTOTHROTTLE_ENABLED": False,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 8,
    "ARCHIVER_BACKOFF_BASE": 0,
    "ARCHIVER_RETRY_AFTER_MAX": 0,
    "JOBDIR": None,
    "LOG_LEVEL": "WARNING",
}


@dataclass
class Job:
    source: SnapshotInfo
    snapshot_id: str
    spider_args: dict[str, Any]
    settings: dict[str, Any]
    result: dict[str, Any] = field(default_factory=dict)


def plan(data_dir: str | Path, source: SnapshotInfo, profile: str | None = None) -> Job:
    """What re-reading ``source`` takes; an ArchiverError says why it cannot be done."""
    manifest = source.manifest
    where = f"snapshot {source.snapshot_id}"
    if source.status == "damaged":
        raise ArchiverError(f"{where}: manifest unreadable; run archiver verify")
    warc_files = [name for name in manifest.get("files", {}) if name.startswith(WARC_FOLDER)]
    if not warc_files:
        raise ArchiverError(f"{where} keeps no WARC files (crawled with ARCHIVER_WARC off?)")
    arguments = manifest.get("arguments") or {}
    start_urls = arguments.get("start_urls") or manifest.get("start_urls") or []
    if not start_urls:
        raise ArchiverError(f"{where}: its manifest names no start URL")
    if profile is None:  # the profiles the crawl read its pages with, as they were then
        stored = [str(source.path / path) for path in manifest.get("profiles", {}).values()]
        profile = ",".join(stored) or arguments.get("profile") or manifest.get("profile")
    spider_args = {
        "start_urls": ",".join(start_urls),
        "profile": profile or "auto",
        "snapshot_id": f"{root_id(source.snapshot_id)}.{new_snapshot_id()}",
    }
    if arguments.get("max_pages"):
        spider_args["max_pages"] = arguments["max_pages"]
    ListingSpider.check_arguments(**spider_args)  # a bad --profile fails here, in one line
    settings = REPLAY_SETTINGS | {
        "ARCHIVER_DATA_DIR": str(data_dir),
        "ARCHIVER_REPLAY": str(source.path),
    }
    # Feeds and posts read again as the crawl read them (a snapshot without "dating" read neither).
    dating = manifest.get("dating") or {}
    settings |= {
        "ARCHIVER_FEEDS": bool(dating.get("feeds")),
        "ARCHIVER_FOLLOW_ENTRIES": bool(dating.get("follow_entries")),
    }
    return Job(source, spider_args["snapshot_id"], spider_args, settings)


def select(
    data_dir: str | Path, snapshot_id: str | None, every: bool, listing: str | None
) -> list[SnapshotInfo]:
    """The snapshots to re-read: one by id, or every original (not derived) snapshot,
    optionally only those that crawled ``listing``."""
    snapshots = list_snapshots(data_dir, superseded=True)
    if snapshot_id is not None:
        return [find_snapshot(snapshots, snapshot_id, data_dir)]
    if not every:
        raise ArchiverError("reparse takes a snapshot id, or --all")
    originals = [s for s in snapshots if "derived_from" not in s.manifest]
    if listing is not None:
        originals = [s for s in originals if listing in s.manifest.get("start_urls", [])]
    if not originals:
        raise ArchiverError(f"no snapshot to reparse under {data_dir}")
    return originals


def run(jobs: list[Job], progress: Callable[[int, Job], None]) -> list[Job]:
    """Run the replay crawls one after another in this process; ``progress`` is told of
    each as it ends (with ``job.result``: status, rows, path or error). Ctrl-C ends the
    crawl under way as a crawl would (published ``partial``) and starts no other."""
    process, base = crawler_process(REPLAY_SETTINGS)

    async def run_all() -> None:
        for number, job in enumerate(jobs, start=1):
            settings = base.copy()
            settings.update(job.settings, priority="cmdline")
            crawler = Crawler(ListingSpider, settings)
            try:
                with holding(job.source.path):  # archiver prune leaves the source alone
                    await maybe_deferred_to_future(process.crawl(crawler, **job.spider_args))
            except Exception as exc:  # a crawl that cannot start: say so, go on
                job.result = {"status": "failed", "error": f"{type(exc).__name__}: {exc}"}
            else:
                # The new reading takes its capture's place in snapshots/; the one it
                # replaces moves to superseded/ (a failed reading replaces nothing).
                settle_readings(job.settings["ARCHIVER_DATA_DIR"])
                stats = crawler.stats.get_stats() if crawler.stats else {}
                job.result = {
                    "status": stats.get(STAT_SNAPSHOT_STATUS, "failed"),
                    "rows": stats.get("item_scraped_count", 0),
                    "path": stats.get(STAT_SNAPSHOT_PATH),
                    "error": stats.get(STAT_SNAPSHOT_ERROR),
                }
                if stats.get("finish_reason") == "shutdown":
                    progress(number, job)
                    return
            progress(number, job)

    def begin() -> None:
        deferred_from_coro(run_all()).addBoth(process._stop_reactor)

    from twisted.internet import reactor

    reactor.callWhenRunning(begin)
    process.start(stop_after_crawl=False)
    return jobs
