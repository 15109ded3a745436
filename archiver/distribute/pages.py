"""Tells the shared writer when a page's callback has given all its rows, so that the
page's lease ends only once those rows are on disk.
"""

from __future__ import annotations

import logging
from typing import Any

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Response

from archiver.distribute.writer import SharedSnapshotWriter

logger = logging.getLogger("archiver.workers")


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
