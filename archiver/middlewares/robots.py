"""robots.txt as RFC 9309 reads it: unreachable means "disallow everything".

Scrapy parses whatever a robots.txt request returns, so a 503 error page is read as "no
rules" and the whole site is crawled. Here a 5xx answer (or 429) after retries, or a network
failure, makes the site off limits for this crawl; a 4xx still means "no rules".
"""

from __future__ import annotations

import logging

from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.utils.misc import build_from_crawler

logger = logging.getLogger(__name__)

DISALLOW_ALL = b"User-agent: *\nDisallow: /\n"


class StrictRobotsTxtMiddleware(RobotsTxtMiddleware):
    def _disallow_all(self, netloc: str, why: str) -> None:
        logger.warning("robots.txt of %s %s: treating the site as disallowed", netloc, why)
        self._stats.inc_value("archiver/robots/site/disallowed_unreachable")
        parser = build_from_crawler(self._parserimpl, self.crawler, DISALLOW_ALL)
        pending = self._parsers[netloc]
        self._parsers[netloc] = parser
        if hasattr(pending, "callback"):
            pending.callback(parser)

    async def _parse_robots(self, response: Response, netloc: str, request) -> None:
        if response.status >= 500 or response.status == 429:
            self._stats.inc_value(f"robotstxt/response_status_count/{response.status}")
            self._disallow_all(netloc, f"answered HTTP {response.status}")
            return
        await super()._parse_robots(response, netloc, request)

    def _robots_error(self, exc: Exception, netloc: str) -> None:
        if isinstance(exc, IgnoreRequest):
            super()._robots_error(exc, netloc)
            return
        self._disallow_all(netloc, f"could not be fetched ({type(exc).__name__})")
