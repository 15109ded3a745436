"""A worker's part of the shared snapshot (``entries-<worker>``) and its commits: a page is
committed in Redis once its rows are on disk, and a worker that loses Redis stops at once.
Publishing the whole snapshot at the end is ``archiver.distribute.publisher``.
"""

from __future__ import annotations

import contextlib
import logging
import time
from pathlib import Path
from typing import Any, BinaryIO

import redis
from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DontCloseSpider
from scrapy.http import Response
from scrapy.utils.defer import deferred_from_coro
from twisted.internet import task

from archiver.channels import (
    META_LEASE,
    META_LISTING,
    META_PAGE,
    STAT_SNAPSHOT_ERROR,
    STAT_SNAPSHOT_STATUS,
)
from archiver.distribute.joining import seed_frontier, shared_frontier
from archiver.distribute.naming import redacted
from archiver.distribute.publisher import Publishing
from archiver.distribute.recovery import PageInFlight, log_pages, open_page_log, page_record
from archiver.errors import ArchiverError
from archiver.extensions import SnapshotWriter
from archiver.store.layout import PARTITION, SNAPSHOTS

logger = logging.getLogger("archiver.workers")


TICK = 0.25  # seconds between a worker's commits, heartbeats and looks at the frontier


class SharedSnapshotWriter(Publishing, SnapshotWriter):
    """This worker's part of the snapshot (``entries-<worker>``), its commits, and, for the
    one worker that wins the claim, the publication of the whole snapshot."""

    def __init__(self, crawler: Crawler, data_dir: Path) -> None:
        super().__init__(crawler, data_dir)
        self.frontier = shared_frontier(crawler)
        self.pages: dict[str, PageInFlight] = {}
        self.ready: list[PageInFlight] = []
        self.commits = {"won": 0, "lost": 0}
        self.loop: task.LoopingCall | None = None
        self.last_beat = self.last_requeue = 0.0
        self.page_log: BinaryIO | None = None
        self.failed_pending: list[dict[str, str]] = []
        self.lost: str | None = None  # why this worker stopped trusting Redis

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SharedSnapshotWriter:
        writer = super().from_crawler(crawler)
        assert isinstance(writer, SharedSnapshotWriter)
        crawler.signals.connect(writer.item_done, signal=signals.item_dropped)
        crawler.signals.connect(writer.item_done, signal=signals.item_error)
        crawler.signals.connect(writer.spider_idle, signal=signals.spider_idle)
        return writer

    def originals(self, spider: Spider) -> dict[str, Any] | None:
        """No revisits in a shared crawl (yet): each worker would know only its own, and the
        one manifest that lists the snapshots they need is written by one of them."""
        return None

    def staging_options(self) -> dict[str, Any]:
        return {"part": self.frontier.worker}

    def _abandon(self, message: str) -> None:
        """This worker cannot write its part (disk full): it stops and leaves, but the
        staging folder holds every worker's part, so nothing is removed; its committed pages
        are kept and published by the others."""
        crawl = self.frontier.crawl_id
        message = f"{message}; this worker stops, crawl {crawl} goes on with the other workers"
        logger.error("%s", message)
        self.crawler.stats.set_value(STAT_SNAPSHOT_ERROR, message)
        self.crawler.stats.set_value(STAT_SNAPSHOT_STATUS, None)
        with contextlib.suppress(ArchiverError, redis.RedisError):
            self.frontier.report({"close_reason": "snapshot_write_failed"})
            self.frontier.leave()
        if self.snapshot is not None:
            if self.snapshot.warc is not None:
                with contextlib.suppress(OSError):
                    self.snapshot.warc.close()
            self.snapshot.release()
        self.snapshot = None

    # --- during the crawl -------------------------------------------------------------------

    def spider_opened(self, spider: Spider, **_: Any) -> None:
        refused = getattr(self.crawler, "_archiver_refused", None)
        if refused:
            logger.error("%s", refused)
            self.crawler.stats.set_value(STAT_SNAPSHOT_ERROR, refused)
            return
        done = self.frontier.done()
        if done is not None:
            logger.info(
                "crawl %s was already published (%s, %s); nothing to do. A new crawl needs a "
                "new ARCHIVER_CRAWL_ID",
                self.frontier.crawl_id,
                done.get("path"),
                done.get("status"),
            )
            self._adopt(done)
            return
        snapshot_id = spider.snapshot_id  # type: ignore[attr-defined]
        published = self._published(self.data_dir / SNAPSHOTS / f"{PARTITION}{snapshot_id}")
        if published is not None:
            logger.info("crawl %s was already published (%s)", self.frontier.crawl_id, published)
            self._adopt(published)
            return
        super().spider_opened(spider)
        if self.snapshot is None:
            return
        try:
            self.page_log = open_page_log(self.snapshot.path, self.frontier, spider)
        except OSError as exc:
            self._abandon(f"cannot write snapshot {self.snapshot.snapshot_id}: {exc}")
            return
        self.frontier.failure_log = self.log_failure
        self.loop = task.LoopingCall(self.tick)
        self.loop.start(TICK, now=False)
        logger.info(
            "worker %s joined crawl %s on %s",
            self.frontier.worker,
            self.frontier.crawl_id,
            redacted(self.frontier.url),
        )

    def tick(self) -> None:
        """Heartbeat, commits, and a nudge to Scrapy's engine, which otherwise looks at an
        empty scheduler only every five seconds."""
        if self.lost:
            return
        now = time.monotonic()
        try:
            self.frontier.check()
            if now - self.last_beat >= self.frontier.lease / 3:
                self.frontier.heartbeat()
                self.last_beat = now
        except (ArchiverError, redis.RedisError) as exc:
            self.lose_redis(exc)
            return
        self.flush_commits()
        slot = getattr(getattr(self.crawler, "engine", None), "_slot", None)
        if slot is not None:
            slot.nextcall.schedule()

    def _page(self, response: Response | None) -> PageInFlight | None:
        token = response.meta.get(META_LEASE) if response is not None else None
        if token is None:
            return None
        page = self.pages.get(token)
        if page is None:
            listing = response.meta.get(META_LISTING) or ""  # type: ignore[union-attr]
            page = self.pages[token] = PageInFlight(listing, response.url, token)  # type: ignore[union-attr]
        return page

    def item_scraped(
        self, item: Any, spider: Spider, response: Response | None = None, **_: Any
    ) -> None:
        super().item_scraped(item, spider)
        self.item_done(response)

    def item_done(self, response: Response | None = None, **_: Any) -> None:
        page = self._page(response)
        if page is not None:
            page.done += 1
            self._check(page)

    def page_read(self, response: Response, items: int) -> None:
        page = self._page(response)
        if page is not None:
            page.expected = items
            page.read = response.meta.get(META_PAGE)
            self._check(page)

    def _check(self, page: PageInFlight) -> None:
        if page.expected is not None and page.done >= page.expected:
            del self.pages[page.token]
            self.ready.append(page)

    def log_failure(self, url: str, listing: str, reason: str) -> None:
        """A failure goes in the page log with the next pages (a rows' failure of a page
        that is kept must be told again if Redis forgets it)."""
        self.failed_pending.append({"failed": url, "listing": listing, "reason": reason})

    def flush_commits(self) -> None:
        """Make the rows of every finished page durable, then commit the pages."""
        if (not self.ready and not self.failed_pending) or self.snapshot is None:
            return
        try:
            self.snapshot.sync()
        except OSError as exc:
            self._abandon(f"cannot write snapshot {self.snapshot.snapshot_id}: {exc}")
            return
        ready, self.ready = self.ready, []
        failed, self.failed_pending = self.failed_pending, []
        try:  # on disk first: what Redis is told, the parts can tell again (rebuild_state)
            log_pages(self.page_log, failed + [page_record(page) for page in ready if page.read])
        except OSError as exc:
            self._abandon(f"cannot write snapshot {self.snapshot.snapshot_id}: {exc}")
            return
        if self.lost:
            return
        for page in ready:
            try:
                won = self.frontier.commit(page.listing, page.url, page.token, page.read)
            except (ArchiverError, redis.RedisError) as exc:
                self.lose_redis(exc)
                return
            self.commits["won" if won else "lost"] += 1
            self.crawler.stats.inc_value(f"archiver/workers/commit/{'won' if won else 'lost'}")

    def lose_redis(self, exc: BaseException) -> None:
        """Redis lost the crawl (restarted empty, flushed) or stayed out of reach longer
        than ``ARCHIVER_REDIS_OUTAGE``: stop taking pages, keep every row staged, and say in
        one line how to go on. Nothing more is told to Redis: a Redis that forgot the crawl
        must not be told half of it."""
        if self.lost:
            return
        self.frontier.stopped = True
        where = self.snapshot.path if self.snapshot is not None else "the staging folder"
        why = str(exc)
        if isinstance(exc, redis.RedisError):
            retry = self.frontier.retry
            waited = f" for {retry.outage:.0f} s" if retry is not None and retry.lost else ""
            first = (why.strip() or type(exc).__name__).splitlines()[0]
            why = f"cannot reach Redis at {redacted(self.frontier.url)}{waited} ({first})"
        self.lost = (
            f"crawl {self.frontier.crawl_id}: {why}; this worker stops. Every row staged is "
            f"kept in {where}: start the workers again with "
            f"ARCHIVER_CRAWL_ID={self.frontier.crawl_id} to resume from them"
        )
        logger.error("%s", self.lost)
        stats = self.crawler.stats
        stats.set_value(STAT_SNAPSHOT_ERROR, self.lost)
        stats.set_value(STAT_SNAPSHOT_STATUS, None)
        stats.inc_value("archiver/workers/redis/lost")
        engine = getattr(self.crawler, "engine", None)
        if engine is not None and getattr(engine, "spider", None) is not None:
            deferred_from_coro(engine.close_spider_async(reason="redis_lost"))

    def spider_idle(self, spider: Spider, **_: Any) -> None:
        """Stay while the crawl has work anywhere: requests waiting, pages leased to any
        worker (a dead worker's come back after its lease), start URLs not yet seeded."""
        if self.snapshot is None or self.lost:
            return
        self.flush_commits()
        try:
            self._keep_open(spider)
        except (ArchiverError, redis.RedisError) as exc:
            self.lose_redis(exc)

    def _keep_open(self, spider: Spider) -> None:
        if self.lost:
            return
        self.frontier.check()
        if not self.frontier.is_seeded():  # the worker that would have seeded never did
            seed_frontier(self.crawler, spider)
            raise DontCloseSpider
        waiting, leased = self.frontier.pending()
        if waiting or leased or self.pages or self.ready:
            now = time.monotonic()
            if leased and now - self.last_requeue >= min(1.0, self.frontier.lease / 4):
                self.last_requeue = now
                if moved := self.frontier.requeue_orphans():
                    logger.warning("%d page(s) of a silent worker go back to the frontier", moved)
                    self.crawler.stats.inc_value("archiver/workers/requeued", moved)
            raise DontCloseSpider

    # --- the end ----------------------------------------------------------------------------

    def spider_closed(self, spider: Spider, reason: str, **_: Any) -> None:
        if self.loop is not None and self.loop.running:
            self.loop.stop()
        if self.snapshot is None:
            return
        self.flush_commits()
        if self.snapshot is None:
            return
        try:
            self._report(spider, self.snapshot.flush())
            self.snapshot.seal()
            if self.page_log is not None:
                self.page_log.close()
        except OSError as exc:
            self._abandon(f"cannot write snapshot {self.snapshot.snapshot_id}: {exc}")
            return
        if self.lost:  # its part is whole on disk; a resumed crawl counts its pages
            self.crawler.stats.set_value(STAT_SNAPSHOT_ERROR, self.lost)
            self.snapshot.release()
            return
        try:
            self.frontier.check()
            self.frontier.report(
                {
                    "sealed": True,
                    "close_reason": reason,
                    "rows": self.snapshot.rows,
                    "sources": sorted(self.snapshot.sources),
                    "commits": self.commits,
                    "warc_records": self.snapshot.warc.records if self.snapshot.warc else 0,
                }
            )
        except (ArchiverError, redis.RedisError) as exc:
            self.lose_redis(exc)
            self.snapshot.release()
            return
        if reason != "finished":
            # Stopped (a signal, an error): the pages it did not finish go back to the
            # frontier at once; what it committed is kept and published by the others.
            self.frontier.leave()
            crawl = self.frontier.crawl_id
            message = f"worker stopped ({reason}); crawl {crawl} goes on with the other workers"
            logger.warning("%s", message)
            self.crawler.stats.set_value(STAT_SNAPSHOT_ERROR, message)
            self.snapshot.release()
            return
        self._finish(spider)
