"""Many workers, one snapshot: archiver on scrapy-redis.

Every worker runs the same ``scrapy crawl listing ... -s ARCHIVER_REDIS_URL=...
-s ARCHIVER_CRAWL_ID=NAME``; the ``Distributed`` add-on (``archiver.addons``) then puts these
parts in place of the single-process ones:

``SharedScheduler``             scrapy-redis's scheduler, on a queue whose requests are leased
                                (``LeasedQueue``) and travel as JSON, never pickle.
``SharedPolitenessMiddleware``  one delay and one concurrency limit per host, for all workers.
``SharedPagesMiddleware``       tells the writer when a page has given all its rows.
``SharedSnapshotWriter``        writes this worker's part of the snapshot; commits each page
                                once its rows are on disk; at the end, one worker publishes.

The shared state itself (leases, commits, who publishes) is ``archiver.frontier``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import redis
from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DontCloseSpider, IgnoreRequest, NotConfigured
from scrapy.http import Response
from scrapy.utils.defer import deferred_from_coro
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.request import request_from_dict
from scrapy_redis.dupefilter import RFPDupeFilter
from scrapy_redis.queue import Base
from scrapy_redis.scheduler import Scheduler
from twisted.internet import task

from archiver import frontier as json_serializer
from archiver.channels import (
    META_FETCHED_AT,
    META_GATE,
    META_LEASE,
    META_LISTING,
    META_PAGE,
    META_WARC_FILENAME,
    META_WARC_RECORD_ID,
    STAT_SNAPSHOT_ERROR,
    STAT_SNAPSHOT_PATH,
    STAT_SNAPSHOT_PENDING,
    STAT_SNAPSHOT_ROWS,
    STAT_SNAPSHOT_STATUS,
)
from archiver.errors import ArchiverError
from archiver.extensions import SnapshotWriter
from archiver.frontier import Frontier, digest, page_key, redacted
from archiver.middlewares.retry import retry_after_seconds
from archiver.snapshots import (
    MANIFEST_FILE,
    PARTITION,
    PENDING_FILE,
    SNAPSHOTS,
    STAGING,
    parts,
    publish_sealed,
    snapshot_status,
    write_synced,
)
from archiver.warc import WARC_FOLDER
from archiver.warc import recover as recover_warc

logger = logging.getLogger("archiver.workers")

# Set by a worker's own middlewares for its own use; never sent to another worker.
LOCAL_META = frozenset(
    {
        META_LEASE,
        META_GATE,
        META_PAGE,
        "download_slot",
        "download_latency",
        META_FETCHED_AT,
        META_WARC_RECORD_ID,
        META_WARC_FILENAME,
    }
)
CRAWL_FOLDER = "_meta/crawl"  # what a crawl resumed after Redis forgot it is rebuilt from
CRAWL_RECORD = "crawl.json"
TICK = 0.25  # seconds between a worker's commits, heartbeats and looks at the frontier


def shared_frontier(crawler: Crawler) -> Frontier:
    """The crawl's shared state, connected once per crawler (spider, scheduler, writer and
    middlewares use the same connection and the same worker id)."""
    found = getattr(crawler, "_archiver_frontier", None)
    if found is None:
        settings = crawler.settings
        found = Frontier.connect(
            settings["ARCHIVER_REDIS_URL"],
            settings.get("ARCHIVER_CRAWL_ID") or "",
            settings.getfloat("ARCHIVER_REDIS_LEASE", 60.0),
            settings.getfloat("ARCHIVER_REDIS_OUTAGE", 120.0),
        )
        crawler._archiver_frontier = found  # type: ignore[attr-defined]
    return found


def leave_unopened(crawler: Crawler, reason: str) -> str:
    """A worker stopped after it joined the crawl (when its spider was made) but before its
    spider opened has no part to seal. Say how it ended and stop its heartbeat, so that the
    publishing worker does not wait a whole lease for it; returns the crawl id."""
    frontier = getattr(crawler, "_archiver_frontier", None)
    if frontier is None:
        return crawler.settings.get("ARCHIVER_CRAWL_ID") or "(its default id)"
    with contextlib.suppress(ArchiverError, redis.RedisError):
        frontier.report({"close_reason": reason})
        frontier.leave()
    return frontier.crawl_id


# --- the frontier: scrapy-redis, with leases and JSON --------------------------------------


def encode_request(request: Request, spider: Spider, stats: Any) -> str:
    """A request as JSON for the shared frontier: what only this worker uses (its lease, its
    gate, objects JSON cannot hold) is left out, counted."""
    document = request.to_dict(spider=spider)
    meta = {}
    for name, value in document.get("meta", {}).items():
        if name in LOCAL_META:
            continue
        try:
            json_serializer.dumps(value)
        except (TypeError, ValueError):  # a worker's own object: not for other workers
            stats.inc_value(f"archiver/frontier/meta_dropped/{name}")
            continue
        meta[name] = value
    document["meta"] = meta
    # Header names are bytes: JSON objects take only text keys, so headers go as pairs.
    document["headers"] = [
        [name, value] for name, values in document.get("headers", {}).items() for value in values
    ]
    return json_serializer.dumps(document)


def seed_frontier(crawler: Crawler, spider: Spider) -> bool:
    """Put the start requests in the shared frontier unless a worker already did: one
    atomic step in Redis, so each start URL is fetched once however the workers' starts
    interleave (a worker never fetches start URLs itself; all take from the frontier).
    A crawl resumed from its staged parts (Redis forgot it) is seeded instead with the
    state the parts tell (``rebuild_state``). True for the worker that seeded."""
    frontier = shared_frontier(crawler)
    if getattr(crawler, "_archiver_refused", None):
        return False
    if frontier.done() is not None or frontier.is_seeded():
        return False
    folder = Path(crawler.settings.get("ARCHIVER_DATA_DIR", "data")) / STAGING
    start_urls: list[str] = spider.start_urls  # type: ignore[attr-defined]
    state = rebuild_state(folder / spider.snapshot_id, start_urls)  # type: ignore[attr-defined]
    if state is not None:
        return _reseed(crawler, spider, frontier, state)
    requests = spider.start_requests_shared()  # type: ignore[attr-defined]
    payloads = [encode_request(request, spider, crawler.stats) for request in requests]
    seeded = frontier.seed(payloads)
    if seeded:
        crawler.stats.inc_value("scheduler/enqueued/redis", len(payloads))
        logger.info("crawl %s: seeded with %d start URL(s)", frontier.crawl_id, len(payloads))
    return seeded


def _reseed(crawler: Crawler, spider: Spider, frontier: Frontier, state: Rebuilt) -> bool:
    requests = [
        spider._page_request(  # type: ignore[attr-defined]
            url, listing=listing, page_no=page_no, offset=offset, profile=profile
        )
        for url, listing, page_no, offset, profile in state.to_fetch
    ]
    payloads = [encode_request(request, spider, crawler.stats) for request in requests]
    if not frontier.restore(state.redis_state(), payloads):
        return False
    crawler.stats.inc_value("archiver/workers/resumed_pages", len(state.committed))
    logger.warning(
        "crawl %s resumed from its staged parts: %d page(s) already read by %d earlier "
        "worker(s) are kept, %d page(s) to fetch",
        frontier.crawl_id,
        len(state.committed),
        len(state.parts),
        len(payloads),
    )
    return True


def join_crawl(crawler: Crawler, spider: Spider) -> str:
    """Join the shared crawl; the snapshot id it writes. When Redis knows nothing of the
    crawl id (a first start, or a Redis that restarted empty) but a staging folder of that
    crawl id holds parts, the crawl resumes into it rather than starting a second
    snapshot; one staged with other start URLs or another profile is refused."""
    frontier = shared_frontier(crawler)
    candidate = spider.snapshot_id  # type: ignore[attr-defined]
    if frontier.redis.exists(frontier.key("snapshot")) or frontier.done() is not None:
        return frontier.join(candidate)
    data_dir = Path(crawler.settings.get("ARCHIVER_DATA_DIR", "data"))
    staged = find_staged(data_dir, frontier.crawl_id)
    if staged is None:  # published while Redis was away: the worker adopts it as it opens
        published = find_staged(data_dir, frontier.crawl_id, SNAPSHOTS)
        return frontier.join(published["snapshot_id"] if published else candidate)
    profile = spider.profile_spec  # type: ignore[attr-defined]
    ours = {"start_urls": list(spider.start_urls), "profile": profile}  # type: ignore[attr-defined]
    theirs = {"start_urls": staged.get("start_urls"), "profile": staged.get("profile")}
    if ours != theirs:  # said by the writer as the spider opens; nothing is joined
        crawler._archiver_refused = (  # type: ignore[attr-defined]
            f"crawl {frontier.crawl_id} was staged in {staged['folder']} with other start "
            f"URLs or another profile (start_urls={','.join(theirs['start_urls'] or [])}, "
            f"profile={theirs['profile']}): run it with those to resume it, or use a new "
            "ARCHIVER_CRAWL_ID"
        )
        return candidate
    return frontier.join(staged["snapshot_id"], staged.get("started"))


class LeasedQueue(Base):
    """scrapy-redis's queue interface over ``Frontier``: a request taken is leased to this
    worker (its token rides in ``meta[META_LEASE]``) until its page is committed or
    failed, or until it is scheduled again (a redirect, a retry), which ends the old lease
    in the same step."""

    def __init__(self, server: Any, spider: Spider, key: str, serializer: Any = None) -> None:
        super().__init__(server, spider, key, serializer or json_serializer)
        self.frontier: Frontier = spider.shared  # type: ignore[attr-defined]
        self.stats = spider.crawler.stats

    def __len__(self) -> int:
        try:
            return self.frontier.pending()[0]
        except redis.RedisError as exc:
            self._lose(exc)
            return 0

    def _lose(self, exc: BaseException) -> None:
        writer = SharedSnapshotWriter.of(self.spider.crawler)
        if isinstance(writer, SharedSnapshotWriter):
            writer.lose_redis(exc)

    def _encode_request(self, request: Request) -> str:
        return encode_request(request, self.spider, self.stats)

    def push(self, request: Request) -> None:
        lease = request.meta.get(META_LEASE)
        try:
            payload = self._encode_request(request)
        except Exception as exc:  # never lost without a word: the page is listed as failed
            self.frontier.release(lease)
            self.stats.inc_value("archiver/frontier/unwritable")
            self.spider.record_failure(  # type: ignore[attr-defined]
                request.url,
                request.meta.get(META_LISTING),
                f"cannot be put in the shared frontier: {type(exc).__name__}: {exc}",
            )
            return
        try:
            self.frontier.push(payload, releases=lease)
        except redis.RedisError as exc:  # this worker stops; its page is not committed
            self._lose(exc)

    def pop(self, timeout: int = 0) -> Request | None:
        writer = SharedSnapshotWriter.of(self.spider.crawler)
        if isinstance(writer, SharedSnapshotWriter) and writer.lost:
            return None
        try:
            taken = self.frontier.take()
        except redis.RedisError as exc:
            self._lose(exc)
            return None
        if taken is None:
            return None
        payload, token = taken
        try:
            request = request_from_dict(self.serializer.loads(payload), spider=self.spider)
        except Exception as exc:  # a request no worker can read: say so, never loop on it
            self.frontier.release(token)
            self.stats.inc_value("archiver/frontier/unreadable")
            logger.error("frontier %s: an unreadable request was dropped: %s", self.key, exc)
            return None
        request.meta[META_LEASE] = token
        return request

    def clear(self) -> None:  # a shared crawl's frontier outlives any one worker
        return None


class SharedScheduler(Scheduler):
    """scrapy-redis's scheduler, configured for one shared crawl: its keys under the crawl's
    prefix, persistent (a worker's end is not the crawl's end), JSON, leased."""

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SharedScheduler:
        shared = shared_frontier(crawler)
        scheduler = cls(
            server=shared.redis,
            persist=True,
            queue_key=shared.key("frontier"),
            queue_cls="archiver.workers.LeasedQueue",
            dupefilter=RFPDupeFilter(shared.redis, shared.key("dupefilter")),
            serializer=json_serializer,
        )
        scheduler.stats = crawler.stats
        return scheduler

    def open(self, spider: Spider) -> None:
        self.spider = spider
        self.queue = LeasedQueue(self.server, spider, self.queue_key, self.serializer)
        if waiting := len(self.queue):
            logger.info("joining a crawl with %d request(s) waiting in the frontier", waiting)

    # scrapy-redis's own pass the spider to the stats, which Scrapy 2.13+ deprecates.
    def enqueue_request(self, request: Request) -> bool:
        if not request.dont_filter and self.df.request_seen(request):
            self.df.log(request, self.spider)
            return False
        self.queue.push(request)
        self.stats.inc_value("scheduler/enqueued/redis")
        return True

    def next_request(self) -> Request | None:
        request = self.queue.pop()
        if request is not None:
            self.stats.inc_value("scheduler/dequeued/redis")
        return request


# --- politeness: one gate per host for every worker -----------------------------------------


class SharedPolitenessMiddleware:
    """Holds each request until the host's shared gate lets it go: at most
    ``CONCURRENT_REQUESTS_PER_DOMAIN`` requests at once and ``DOWNLOAD_DELAY`` seconds
    between starts, counted over all workers together. A 429 or 503 holds the host for
    every worker (its ``Retry-After``, capped, or the backoff base)."""

    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        self.frontier = shared_frontier(crawler)
        self.delay = settings.getfloat("ARCHIVER_HOST_DELAY")
        self.concurrency = max(1, settings.getint("ARCHIVER_HOST_CONCURRENCY", 1))
        # A dead worker's place at the gate frees itself after this long.
        self.hold = settings.getfloat("DOWNLOAD_TIMEOUT", 180) + 10
        self.retry_after_max = settings.getfloat("ARCHIVER_RETRY_AFTER_MAX", 120)
        self.backoff = settings.getfloat("ARCHIVER_BACKOFF_BASE", 1.0)
        self.stats = crawler.stats
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SharedPolitenessMiddleware:
        if not crawler.settings.get("ARCHIVER_REDIS_URL"):
            raise NotConfigured("not a shared crawl")
        return cls(crawler)

    async def process_request(self, request: Request) -> None:
        host = urlparse_cached(request).hostname
        if not host:  # file: pages have no host to be polite to
            return
        token = secrets.token_hex(6)
        waited = 0.0
        gate = self.frontier.gate
        try:
            while (wait := gate(host, self.concurrency, self.delay, token, self.hold)) > 0:
                pause = min(wait, 1.0)
                waited += pause
                await asyncio.sleep(pause)
        except redis.RedisError as exc:  # the worker stops (SharedSnapshotWriter.lose_redis)
            writer = SharedSnapshotWriter.of(self.crawler)
            if isinstance(writer, SharedSnapshotWriter):
                writer.lose_redis(exc)
            raise IgnoreRequest(f"Redis lost: {exc}") from exc
        if waited:
            self.stats.inc_value("archiver/politeness/shared_wait_ms", int(waited * 1000))
        request.meta[META_GATE] = (host, token)

    def process_response(self, request: Request, response: Response) -> Response:
        gate = request.meta.pop("archiver_gate", None)
        if gate is not None:
            self.frontier.leave_gate(*gate)
            if response.status in (429, 503):
                asked = retry_after_seconds(response.headers.get(b"Retry-After"))
                seconds = min(asked, self.retry_after_max) if asked is not None else self.backoff
                self.frontier.hold_host(gate[0], seconds)
                self.stats.inc_value("archiver/politeness/host_held")
        return response

    def process_exception(self, request: Request, exception: Exception) -> None:
        gate = request.meta.pop("archiver_gate", None)
        if gate is not None:
            self.frontier.leave_gate(*gate)


# --- pages: rows count once their page is committed ------------------------------------------


class SharedPagesMiddleware:
    """Counts what each page's callback gave and tells the writer when it is done: the
    page's lease ends only once its rows are on disk."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SharedPagesMiddleware:
        if not crawler.settings.get("ARCHIVER_REDIS_URL"):
            raise NotConfigured("not a shared crawl")
        return cls(crawler)

    def process_spider_output(self, response: Response, result: Any) -> Any:
        items = 0
        for output in result:
            items += not isinstance(output, Request)
            yield output
        self._page_done(response, items)

    async def process_spider_output_async(self, response: Response, result: Any) -> Any:
        items = 0
        async for output in result:
            items += not isinstance(output, Request)
            yield output
        self._page_done(response, items)

    def _page_done(self, response: Response, items: int) -> None:
        writer = SharedSnapshotWriter.of(self.crawler)
        if isinstance(writer, SharedSnapshotWriter):
            writer.page_read(response, items)


@dataclass
class _Page:
    listing: str
    url: str
    token: str
    expected: int | None = None  # rows the callback gave; None until it finished
    done: int = 0  # rows that went through the pipelines (written, dropped or failed)
    read: dict[str, Any] | None = field(default=None)


class SharedSnapshotWriter(SnapshotWriter):
    """This worker's part of the snapshot (``entries-<worker>``), its commits, and, for the
    one worker that wins the claim, the publication of the whole snapshot."""

    def __init__(self, crawler: Crawler, data_dir: Path) -> None:
        super().__init__(crawler, data_dir)
        self.frontier = shared_frontier(crawler)
        self.pages: dict[str, _Page] = {}
        self.ready: list[_Page] = []
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

    def _page(self, response: Response | None) -> _Page | None:
        token = response.meta.get(META_LEASE) if response is not None else None
        if token is None:
            return None
        page = self.pages.get(token)
        if page is None:
            listing = response.meta.get(META_LISTING) or ""  # type: ignore[union-attr]
            page = self.pages[token] = _Page(listing, response.url, token)  # type: ignore[union-attr]
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

    def _check(self, page: _Page) -> None:
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

    def _finish(self, spider: Spider) -> None:
        """Wait for the snapshot to be published by another worker, or publish it. Any
        live worker can take over: a publisher that dies at any point leaves its claim to
        expire, and the next worker to claim redoes what it left (``_publish``). Whatever
        goes wrong, this worker never ends without a snapshot's outcome or one line
        saying why and how to go on."""
        try:
            self._wait_or_publish(spider)
        except (ArchiverError, redis.RedisError) as exc:  # Redis forgot or went away
            self.lose_redis(exc)
            self.crawler.stats.set_value(STAT_SNAPSHOT_PENDING, None)
            if self.snapshot is not None:
                self.snapshot.release()
        except Exception as exc:  # never a silent exit 0 from a signal handler
            logger.debug("crawl %s: publishing failed", self.frontier.crawl_id, exc_info=True)
            self._give_up(f"publishing failed: {type(exc).__name__}: {exc}; {self._resume_hint()}")

    def _wait_or_publish(self, spider: Spider) -> None:
        # Waiting is bounded only while nobody holds the claim: a live publisher (its claim
        # kept alive) may take as long as building the files takes.
        patience = max(600.0, 20 * self.frontier.lease)
        deadline = time.monotonic() + patience
        while time.monotonic() < deadline:
            done = self.frontier.done()
            if done is not None:
                self._adopt(done)
                return
            self.frontier.check()  # never publish what a Redis that forgot the crawl says
            if self.frontier.claim_publishing():
                stop_holding = self.frontier.hold_publishing()
                try:
                    handed_over = self._publish(spider, deadline)
                finally:
                    stop_holding()
                if handed_over:
                    self.frontier.hand_over_publishing()
                return
            if self.frontier.publisher() is not None:
                deadline = time.monotonic() + patience
            time.sleep(0.2)
        self._give_up(f"no worker published the snapshot in time; {self._resume_hint()}")

    def _resume_hint(self) -> str:
        where = self.snapshot.path if self.snapshot is not None else "the staging folder"
        return (
            f"the staged parts are kept in {where}: start a worker again with "
            f"ARCHIVER_CRAWL_ID={self.frontier.crawl_id} to publish them"
        )

    def _give_up(self, why: str) -> None:
        message = f"crawl {self.frontier.crawl_id}: {why}"
        logger.error("%s", message)
        self.crawler.stats.set_value(STAT_SNAPSHOT_ERROR, message)
        self.crawler.stats.set_value(STAT_SNAPSHOT_STATUS, None)
        if self.snapshot is not None:
            self.snapshot.release()

    def _adopt(self, done: dict[str, Any]) -> None:
        """This worker's exit tells what the crawl published."""
        stats = self.crawler.stats
        stats.set_value(STAT_SNAPSHOT_STATUS, done.get("status", "failed"))
        if done.get("path"):
            stats.set_value(STAT_SNAPSHOT_PATH, done["path"])
            stats.set_value(STAT_SNAPSHOT_ROWS, done.get("rows", 0))
        if done.get("error"):
            stats.set_value(STAT_SNAPSHOT_ERROR, done["error"])
        if self.snapshot is not None:
            self.snapshot.release()

    def _published(self, target: Path) -> dict[str, Any] | None:
        """A publisher that died after its rename, before it told Redis: the outcome, read
        from the published manifest, recorded for every worker."""
        if not target.exists():
            return None
        manifest = json.loads((target / MANIFEST_FILE).read_text("utf-8"))
        outcome = {"path": str(target), "status": manifest["status"], "rows": manifest["rows"]}
        self.frontier.finish(outcome)
        return outcome

    def _publish(self, spider: Spider, deadline: float) -> bool:
        """Publish the crawl's snapshot: every step can be redone by the next worker to
        claim it, after this one dies at any point. True when the publishing is left to
        ``archiver.publish``, which this process becomes."""
        assert self.snapshot is not None
        outcome = self._published(self.snapshot.target)
        if outcome is not None:
            self._adopt(outcome)
            return False
        while time.monotonic() < deadline:  # every other worker sealed, or gone
            unsettled = [
                name
                for name, worker in self.frontier.workers().items()
                if name != self.frontier.worker and worker["alive"] and not worker.get("sealed")
            ]
            if not unsettled:
                break
            time.sleep(0.2)
        else:
            self.frontier.release_publishing()
            self._give_up("workers still running when the publishing worker gave up waiting")
            return False
        workers = self.frontier.workers()
        committed = self.frontier.committed()
        self.frontier.check()
        exact = {
            name
            for name, worker in workers.items()
            if worker.get("sealed") and not worker.get("commits", {}).get("lost")
        }
        folder = self.snapshot.path
        try:
            clear_unfinished_publication(folder)
            rows, sources = settle_parts(folder, self.snapshot.snapshot_id, committed, exact)
        except OSError as exc:
            self.frontier.release_publishing()
            self._give_up(f"cannot publish snapshot {self.snapshot.snapshot_id}: {exc}; "
                          f"{self._resume_hint()}")  # fmt: skip
            return False
        manifest = self.shared_manifest(spider, workers, committed, rows, sources)
        stats = self.crawler.stats
        if self.crawler.settings.getbool("ARCHIVER_PUBLISH_BY_EXEC"):
            shared = {
                "redis_url": self.frontier.url,
                "crawl_id": self.frontier.crawl_id,
                "lease": self.frontier.lease,
                "worker": self.frontier.worker,
            }
            write_synced(folder / PENDING_FILE, {"manifest": manifest, "shared": shared})
            stats.set_value(STAT_SNAPSHOT_STATUS, manifest["status"])
            stats.set_value(STAT_SNAPSHOT_ROWS, manifest["rows"])
            stats.set_value(STAT_SNAPSHOT_PENDING, str(folder))
            return True
        try:
            target = publish_sealed(folder, manifest)
        except OSError as exc:
            self.frontier.release_publishing()
            self._give_up(f"cannot publish snapshot {self.snapshot.snapshot_id}: {exc}; "
                          f"{self._resume_hint()}")  # fmt: skip
            return False
        finally:
            if self.snapshot is not None:
                self.snapshot.release()
        outcome = {"path": str(target), "status": manifest["status"], "rows": manifest["rows"]}
        self.frontier.finish(outcome)
        stats.set_value(STAT_SNAPSHOT_STATUS, manifest["status"])
        stats.set_value(STAT_SNAPSHOT_ROWS, manifest["rows"])
        stats.set_value(STAT_SNAPSHOT_PATH, str(target))
        return False

    def shared_manifest(
        self,
        spider: Spider,
        workers: dict[str, dict[str, Any]],
        committed: dict[str, str],
        rows: dict[str, int],
        sources: set[str],
    ) -> dict[str, Any]:
        """The usual manifest, with what the whole crawl did: every worker's rows, the
        listings' counts and the failed pages as Redis has them, and the workers."""
        listings = [
            {"start_url": url, **self.frontier.listing(url)}
            for url in spider.start_urls  # type: ignore[attr-defined]
        ]
        self._store_profiles(spider, {listing["profile"] for listing in listings})
        manifest = self.build_manifest(spider, "finished")
        failed = [{"url": f["url"], "reason": f["reason"]} for f in self.frontier.failures()]
        pages = sum(listing["pages_fetched"] for listing in listings)
        total = sum(rows.values())
        pages_by_worker: dict[str, int] = {}
        for owner in committed.values():
            pages_by_worker[owner] = pages_by_worker.get(owner, 0) + 1
        manifest.update(
            status=snapshot_status("finished", len(failed), total, pages),
            rows=total,
            sources=sorted(sources),
            pages_fetched=pages,
            pages_failed=failed,
            listings=listings,
            crawl_id=self.frontier.crawl_id,
            started_at=self.frontier_started() or manifest["started_at"],
            workers=[
                {
                    "worker": name,
                    "host": worker.get("host"),
                    "pid": worker.get("pid"),
                    # a worker that left without sealing a part says why; else it was lost
                    "ended": worker.get("close_reason") or "lost",
                    "pages": pages_by_worker.get(name, 0),
                    "rows": rows.get(name, 0),
                    "published": name == self.frontier.worker,
                }
                for name, worker in workers.items()
            ],
        )
        records = sum(worker.get("warc_records", 0) for worker in workers.values())
        manifest["warc"]["records_written"] = records
        return manifest

    def frontier_started(self) -> str | None:
        raw = self.frontier.redis.get(self.frontier.key("started"))
        return raw.decode() if raw else None


# --- what the parts on disk tell, should Redis forget the crawl -----------------------------
#
# Beside its part, each worker keeps ``_meta/crawl/pages-<worker>.jsonl``: one line per page
# whose rows are in its part, written and synced after the rows and before the page is
# committed in Redis. With the crawl's record (``_meta/crawl/crawl.json``), they are enough to
# rebuild what Redis held that matters: which pages are done and whose rows count, each
# listing's counts, and the frontier (each listing's next page not yet read).


def open_page_log(folder: Path, frontier: Frontier, spider: Spider) -> BinaryIO:
    """This worker's page log, and the crawl's record if no worker wrote it yet."""
    crawl = folder / CRAWL_FOLDER
    crawl.mkdir(exist_ok=True)
    record = {
        "crawl_id": frontier.crawl_id,
        "snapshot_id": folder.name,
        "started": (frontier.redis.get(frontier.key("started")) or b"").decode() or None,
        "start_urls": list(spider.start_urls),  # type: ignore[attr-defined]
        "profile": spider.profile_spec,  # type: ignore[attr-defined]
    }
    with contextlib.suppress(FileExistsError):
        write_synced(crawl / CRAWL_RECORD, record)
    return (crawl / f"pages-{frontier.worker}.jsonl").open("ab")


def page_record(page: _Page) -> dict[str, Any]:
    return {"listing": page.listing, "url": page.url, "rows": page.expected, **(page.read or {})}


def log_pages(log: BinaryIO | None, records: list[dict[str, Any]]) -> None:
    if log is None or not records:
        return
    log.write(b"".join(json.dumps(r, separators=(",", ":")).encode() + b"\n" for r in records))
    log.flush()
    os.fsync(log.fileno())


def find_staged(data_dir: Path, crawl_id: str, where: str = STAGING) -> dict[str, Any] | None:
    """The newest staging folder of ``crawl_id`` (its crawl record, and ``folder``); with
    ``where=SNAPSHOTS``, the newest snapshot it published."""
    found = []
    for path in (data_dir / where).glob(f"*/{CRAWL_FOLDER}/{CRAWL_RECORD}"):
        with contextlib.suppress(OSError, ValueError):
            record = json.loads(path.read_text("utf-8"))
            if record.get("crawl_id") == crawl_id:
                found.append(record | {"folder": str(path.parents[2])})
    return max(found, key=lambda r: r["snapshot_id"]) if found else None


@dataclass
class Rebuilt:
    """A crawl's state as its parts tell it (``rebuild_state``)."""

    committed: dict[str, str]  # page_key -> the part whose rows count
    listings: dict[str, dict[str, Any]]  # listing -> the fields of its Redis hash
    claims: dict[str, dict[str, str]]  # listing -> next page digest -> asking page digest
    contents: dict[str, dict[str, str]]  # listing -> content signature -> page digest
    parts: list[str]
    to_fetch: list[tuple[str, str, int, int, str | None]]  # url, listing, page no, offset, profile
    failed: dict[str, str] = field(default_factory=dict)  # url -> listing and reason (JSON)

    def redis_state(self) -> dict[str, Any]:
        return {
            "committed": self.committed,
            "listings": self.listings,
            "claims": self.claims,
            "contents": self.contents,
            "failed": self.failed,
            "workers": {
                part: {"sealed": False, "close_reason": "before Redis lost the crawl"}
                for part in self.parts
            },
        }


def rebuild_state(folder: Path, start_urls: list[str]) -> Rebuilt | None:
    """What Redis held of a crawl, from the page logs its workers staged; None when no
    page log holds a page (nothing to resume: seed as usual).

    A page counts when a log names it with rows (the first log to name it, in name order,
    owns it: its rows were synced before the line was written), or when it ended its
    listing; a page read with no entries is fetched again, so that its failure is seen
    again. Each listing goes on from its last page counted; a listing with none, from its
    start URL. A failure is kept when its page is (rows that could not be made); a page
    that failed to be read is fetched again instead.
    """
    logs = sorted((folder / CRAWL_FOLDER).glob("pages-*.jsonl"))
    pages: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}
    failures: dict[tuple[str, str], str] = {}
    for log in logs:
        part = log.stem.removeprefix("pages-")
        with log.open("rb") as handle:
            for line in handle:
                try:
                    record = json.loads(line)
                except ValueError:  # torn by a kill: that page was not committed
                    continue
                if "failed" in record:
                    failures.setdefault((record["listing"], record["failed"]), record["reason"])
                    continue
                if not record.get("entries") and not record.get("stopped"):
                    continue
                pages.setdefault((record["listing"], record["url"]), (part, record))
    if not pages:
        return None
    committed: dict[str, str] = {}
    listings: dict[str, dict[str, Any]] = {url: {} for url in start_urls}
    claims: dict[str, dict[str, str]] = {}
    contents: dict[str, dict[str, str]] = {}
    to_fetch: list[tuple[str, str, int, int, str | None]] = []
    for (listing, url), (part, record) in pages.items():
        committed[page_key(listing, url)] = part
        counts = listings.setdefault(listing, {})
        counts["pages"] = counts.get("pages", 0) + 1
        counts["extracted"] = counts.get("extracted", 0) + int(record.get("entries") or 0)
        for name in ("announced", "profile", "stopped"):
            if record.get(name) is not None:
                counts.setdefault(name, record[name])
        if record.get("time_source"):
            name = f"time:{record['time_source']}"
            counts[name] = counts.get(name, 0) + 1
        if record.get("signature"):
            contents.setdefault(listing, {}).setdefault(record["signature"], digest(url))
        following = record.get("next_url")
        if following and not record.get("stopped"):
            claims.setdefault(listing, {}).setdefault(digest(following), digest(url))
            if (listing, following) not in pages:
                page_no = int(record.get("page_no") or 1) + 1
                offset = int(record.get("offset") or 0) + int(record.get("entries") or 0)
                to_fetch.append((following, listing, page_no, offset, record.get("profile")))
    for url in start_urls:
        if (url, url) not in pages:
            to_fetch.append((url, url, 1, 0, None))
    parts = sorted({part for part, _ in pages.values()})
    failed = {
        url: json.dumps({"listing": listing, "reason": reason})
        for (listing, url), reason in failures.items()
        if (listing, url) in pages  # a page kept with a failure; others are fetched again
    }
    to_fetch = list(dict.fromkeys(to_fetch))
    return Rebuilt(committed, listings, claims, contents, parts, to_fetch, failed)


def clear_unfinished_publication(folder: Path) -> None:
    """What a publisher that died left in the staging folder, removed so the next one can
    redo its work: the pending and final manifests (both rewritten from Redis and the parts)
    and half-written settled parts. The parts themselves are never touched here."""
    (folder / PENDING_FILE).unlink(missing_ok=True)
    (folder / MANIFEST_FILE).unlink(missing_ok=True)
    for stale in (folder / "_meta").glob("entries*.jsonl.settled"):
        stale.unlink()


def settle_parts(
    folder: Path, snapshot_id: str, committed: dict[str, str], exact: set[str]
) -> tuple[dict[str, int], set[str]]:
    """Make each worker's part hold exactly the rows of the pages that worker committed,
    once each; return every part's rows and the entries' sources.

    A part whose worker sealed it and never lost a commit is already exact. Any other (a
    killed worker's, or one whose page another worker committed first) keeps only its
    committed pages' rows, each once; a torn last line is dropped, as are the killed
    worker's torn WARC records. Parquet files a killed publisher began are removed (they
    are rebuilt from the JSON Lines).
    """
    for stale in folder.glob("entries*.parquet"):
        stale.unlink()
    rows: dict[str, int] = {}
    sources: set[str] = set()
    for _, jsonl in parts(folder):
        part = Path(jsonl).stem.removeprefix("entries-")
        path = folder / jsonl
        kept = 0
        seen: set[tuple[str, str, Any]] = set()
        settled = path.with_name(path.name + ".settled")
        with path.open("rb") as source, settled.open("wb") as target:
            for line in source:
                try:
                    row = json.loads(line)
                except ValueError:
                    continue
                if part not in exact:
                    key = (row.get("listing_url"), row.get("page_url"), row.get("position"))
                    owner = committed.get(page_key(key[0] or "", key[1] or ""))
                    if owner != part or key in seen or not line.endswith(b"\n"):
                        continue
                    seen.add(key)
                target.write(line)
                kept += 1
                if row.get("source"):
                    sources.add(row["source"])
            target.flush()
            os.fsync(target.fileno())
        os.replace(settled, path)
        rows[part] = kept
        if part not in exact and (folder / WARC_FOLDER).is_dir():
            recover_warc(folder / WARC_FOLDER, f"{snapshot_id}-{part}")
    return rows, sources


__all__ = [
    "LeasedQueue",
    "SharedPagesMiddleware",
    "SharedPolitenessMiddleware",
    "SharedScheduler",
    "SharedSnapshotWriter",
    "clear_unfinished_publication",
    "encode_request",
    "seed_frontier",
    "settle_parts",
    "shared_frontier",
]
