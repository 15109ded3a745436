"""Nothing is fetched outside the start URLs' sites: not by a next link, not by a redirect.

Scrapy follows redirects anywhere; a listing that redirects to another host, to a private
address or to a ``file:``/``data:`` URL must not make the archiver read it. Every request
that belongs to a listing (``meta["listing"]``, which redirects inherit) is checked here.
"""

from __future__ import annotations

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest

from archiver.spiders.listing import same_site


class SiteGuardMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SiteGuardMiddleware:
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        listing = request.meta.get("listing")
        if listing and not same_site(listing, request.url):
            self.stats.inc_value("archiver/guard/request/offsite")
            raise IgnoreRequest(f"offsite: {request.url} is not on the site of {listing}")
