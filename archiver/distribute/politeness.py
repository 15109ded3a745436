"""One delay and one concurrency limit per host, for all the workers of a shared crawl."""

from __future__ import annotations

import asyncio
import logging
import secrets

import redis
from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Response
from scrapy.utils.httpobj import urlparse_cached

from archiver.channels import (
    META_GATE,
)
from archiver.distribute.joining import shared_frontier
from archiver.distribute.writer import SharedSnapshotWriter
from archiver.middlewares.retry import retry_after_seconds

logger = logging.getLogger("archiver.workers")


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
