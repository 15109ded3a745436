"""No page is lost without a word: an error while a page is read becomes a failed page.

Scrapy logs an exception raised in a spider callback and carries on, so the page's rows are
simply missing while the crawl still finishes "complete". Here the spider lists the page as
failed (URL and reason, in the manifest), which makes the snapshot ``partial`` and the exit
code 3.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from scrapy.crawler import Crawler
from scrapy.exceptions import CloseSpider
from scrapy.http import Response

from archiver.channels import META_LISTING


class PageErrorMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PageErrorMiddleware:
        return cls(crawler)

    def process_spider_exception(
        self, response: Response, exception: Exception
    ) -> Iterable[Any] | None:
        spider = self.crawler.spider
        if isinstance(exception, CloseSpider) or not hasattr(spider, "page_error"):
            return None  # not ours to handle: Scrapy's own handling applies
        spider.page_error(response.url, response.meta.get(META_LISTING), exception)
        return []
