"""An exception in a spider callback lists its page as failed; CloseSpider stays Scrapy's."""

from __future__ import annotations

from scrapy.exceptions import CloseSpider
from scrapy.http import HtmlResponse, Request
from scrapy.spiders import Spider
from scrapy.utils.test import get_crawler

from archiver.middlewares.pageerrors import PageErrorMiddleware

PAGE = "https://agg.example/y?page=2"


class RecordingSpider(Spider):
    name = "recording"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.errors: list[tuple] = []

    def page_error(self, url, listing, exc) -> None:
        self.errors.append((url, listing, exc))


def middleware_for(spider_class: type[Spider]) -> tuple[PageErrorMiddleware, Spider]:
    crawler = get_crawler(spider_class)
    crawler.spider = spider_class.from_crawler(crawler)
    return PageErrorMiddleware.from_crawler(crawler), crawler.spider


def response(listing: str | None) -> HtmlResponse:
    meta = {"listing": listing} if listing else {}
    return HtmlResponse(PAGE, body=b"<html></html>", request=Request(PAGE, meta=meta))


def test_a_callback_error_is_handed_to_the_spider_with_the_pages_listing() -> None:
    middleware, spider = middleware_for(RecordingSpider)
    error = ValueError("broken")
    assert middleware.process_spider_exception(response("https://agg.example/y"), error) == []
    assert spider.errors == [(PAGE, "https://agg.example/y", error)]


def test_close_spider_is_left_to_scrapy() -> None:
    middleware, spider = middleware_for(RecordingSpider)
    assert middleware.process_spider_exception(response(None), CloseSpider("done")) is None
    assert spider.errors == []


def test_a_spider_without_page_error_keeps_scrapys_handling() -> None:
    middleware, _ = middleware_for(type("Plain", (Spider,), {"name": "plain"}))
    assert middleware.process_spider_exception(response(None), ValueError("x")) is None
