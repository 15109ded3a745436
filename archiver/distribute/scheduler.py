"""scrapy-redis's scheduler on the shared frontier: a request a worker takes is leased to
it until its page is committed or failed, and travels as JSON, never pickle.
"""

from __future__ import annotations

import logging
from typing import Any

import redis
from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.utils.request import request_from_dict
from scrapy_redis.dupefilter import RFPDupeFilter
from scrapy_redis.queue import Base
from scrapy_redis.scheduler import Scheduler

from archiver.channels import (
    META_LEASE,
    META_LISTING,
)
from archiver.distribute import serializer as json_serializer
from archiver.distribute.frontier import Frontier
from archiver.distribute.joining import encode_request, shared_frontier
from archiver.distribute.writer import SharedSnapshotWriter

logger = logging.getLogger("archiver.workers")


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
            queue_cls="archiver.distribute.scheduler.LeasedQueue",
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
