"""Nothing is fetched outside the start URLs' sites: not by a next link, not by a redirect,
and never from an address the crawl may not reach.

Scrapy follows redirects anywhere; a listing that redirects to another host or port, to a
private address or to a ``file:``/``data:`` URL must not make the archiver read it. Every
request that belongs to a listing (``meta[META_LISTING]``, which redirects inherit) is checked
here against the listing's site (``archiver.scope.reach.same_origin``: scheme, host and port, as
``ARCHIVER_ALLOWED_HOSTS`` widens it).

The addresses themselves are checked at connect time by ``archiver.scope.resolver``; this
middleware gives it the crawl's policy (``archiver.scope.reach.AddressPolicy``: may the crawl
reach private addresses?) and refuses at once a host already found to resolve to a refused
address, with the reason, rather than resolving it again.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest

from archiver.channels import META_LISTING
from archiver.scope.reach import (
    AddressPolicy,
    netloc_of,
    parse_allowed_hosts,
    refused_line,
    same_site,
)
from archiver.scope.resolver import GuardedResolver, NotFetched

logger = logging.getLogger(__name__)


class SiteGuardMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.stats = crawler.stats
        settings = crawler.settings
        self.allowed = parse_allowed_hosts(settings.getlist("ARCHIVER_ALLOWED_HOSTS"))
        GuardedResolver.policy = AddressPolicy.for_crawl(
            getattr(crawler.spider, "start_urls", None) or [],
            any_address=settings.getbool("ARCHIVER_ALLOW_PRIVATE_ADDRESSES"),
        )

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SiteGuardMiddleware:
        guard = cls(crawler)
        crawler.signals.connect(guard.spider_opened, signal=signals.spider_opened)
        return guard

    def spider_opened(self, **_: Any) -> None:
        settings = self.crawler.settings
        if GuardedResolver.installed is None and not settings.get("ARCHIVER_REPLAY"):
            logger.warning(
                "addresses are not checked: TWISTED_DNS_RESOLVER is %s, not "
                "archiver.scope.resolver.GuardedResolver (name your resolver in "
                "ARCHIVER_DNS_RESOLVER instead)",
                settings.get("TWISTED_DNS_RESOLVER"),
            )

    def process_request(self, request: Request) -> None:
        host = urlsplit(request.url).hostname
        why = GuardedResolver.refused.get(host or "")
        if why is not None:
            self.stats.inc_value("archiver/guard/address/refused")
            raise NotFetched(refused_line(netloc_of(request.url), why))
        listing = request.meta.get(META_LISTING)
        if listing and not same_site(listing, request.url, self.allowed):
            self.stats.inc_value("archiver/guard/request/offsite")
            raise IgnoreRequest(f"offsite: {request.url} is not on the site of {listing}")
