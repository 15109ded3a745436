"""The site guard refuses at once a host the resolver already refused, and says why."""

from __future__ import annotations

import pytest
from scrapy import Request
from scrapy.utils.test import get_crawler

from archiver.middlewares.siteguard import SiteGuardMiddleware
from archiver.scope.resolver import GuardedResolver, NotFetched
from archiver.spiders.listing import ListingSpider


@pytest.fixture
def guard(monkeypatch):
    monkeypatch.setattr(GuardedResolver, "refused", {"intranet.example": "a private address"})
    crawler = get_crawler(ListingSpider)
    crawler.spider = ListingSpider.from_crawler(crawler, start_urls="https://blog.example/")
    crawler.stats.open_spider()
    return SiteGuardMiddleware(crawler), crawler.stats


def test_a_host_already_refused_is_not_resolved_again(guard) -> None:
    middleware, stats = guard
    with pytest.raises(NotFetched, match=r"cannot reach intranet\.example: a private address"):
        middleware.process_request(Request("http://intranet.example/admin"))
    assert stats.get_value("archiver/guard/address/refused") == 1
    assert middleware.process_request(Request("https://blog.example/page/2/")) is None
    assert stats.get_value("archiver/guard/address/refused") == 1
