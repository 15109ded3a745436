"""robots.txt as RFC 9309 reads it: unreachable means "disallow everything", and says so.

Scrapy parses whatever a robots.txt request returns, so a 503 error page is read as "no
rules" and the whole site is crawled. Here a 5xx answer (or 429) after retries, or a network
failure, makes the site off limits for this crawl; a 4xx still means "no rules".

Every page of such a site is then listed as failed with what really happened
(``cannot reach example.org: connection refused``, ``robots.txt of example.org answered HTTP
503``), never as "Forbidden by robots.txt", which a site's rules say and these did not. The
failure is told in one line each, without Scrapy's traceback.
"""

from __future__ import annotations

import logging

from scrapy import Request
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.http.request import NO_CALLBACK
from scrapy.robotstxt import RobotParser
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.misc import build_from_crawler
from twisted.internet.defer import Deferred

from archiver.scope.reach import reach_failure
from archiver.scope.resolver import GuardedResolver, NotFetched

logger = logging.getLogger(__name__)

DISALLOW_ALL = b"User-agent: *\nDisallow: /\n"
RFC = "the site is treated as disallowed (RFC 9309)"


class StrictRobotsTxtMiddleware(RobotsTxtMiddleware):
    def __init__(self, crawler) -> None:
        super().__init__(crawler)
        self._off_limits: dict[str, str] = {}  # netloc -> why nothing there is fetched

    def _disallow_all(self, netloc: str, why: str, page_reason: str) -> None:
        logger.warning("robots.txt of %s %s: treating the site as disallowed", netloc, why)
        self._stats.inc_value("archiver/robots/site/disallowed_unreachable")
        self._off_limits[netloc] = page_reason
        parser = build_from_crawler(self._parserimpl, self.crawler, DISALLOW_ALL)
        pending = self._parsers[netloc]
        self._parsers[netloc] = parser
        if hasattr(pending, "callback"):
            pending.callback(parser)

    def process_request_2(self, rp: RobotParser | None, request: Request) -> None:
        why = self._off_limits.get(urlparse_cached(request).netloc)
        if why is not None:
            self._stats.inc_value("archiver/robots/page/site_unavailable")
            raise NotFetched(why)
        super().process_request_2(rp, request)

    async def robot_parser(self, request: Request) -> RobotParser | None:
        """Scrapy's, without its traceback for a robots.txt that could not be fetched: the
        warning of ``_robots_error`` says it in one line."""
        url = urlparse_cached(request)
        netloc = url.netloc
        if netloc not in self._parsers:
            self._parsers[netloc] = Deferred()
            robots = Request(
                f"{url.scheme}://{netloc}/robots.txt",
                priority=self.DOWNLOAD_PRIORITY,
                meta={"dont_obey_robotstxt": True},
                callback=NO_CALLBACK,
            )
            try:
                response = await self.crawler.engine.download_async(robots)  # type: ignore[union-attr]
                await self._parse_robots(response, netloc, request)
            except Exception as exc:
                self._robots_error(exc, netloc, robots.url)
            self._stats.inc_value("robotstxt/request_count")
        return await super().robot_parser(request)

    async def _parse_robots(self, response: Response, netloc: str, request) -> None:
        if response.status >= 500 or response.status == 429:
            self._stats.inc_value(f"robotstxt/response_status_count/{response.status}")
            why = f"answered HTTP {response.status}"
            self._disallow_all(netloc, why, f"not fetched: robots.txt of {netloc} {why}; {RFC}")
            return
        await super()._parse_robots(response, netloc, request)

    def _robots_error(self, exc: Exception, netloc: str, robots_url: str = "") -> None:
        if isinstance(exc, IgnoreRequest):
            super()._robots_error(exc, netloc)
            return
        self._stats.inc_value(f"robotstxt/exception_count/{type(exc)}")
        unreachable = reach_failure(exc, robots_url or f"http://{netloc}/", GuardedResolver.refused)
        if unreachable is not None:  # the host itself: say so, as for any page
            why = f"could not be fetched ({unreachable})"
            self._disallow_all(netloc, why, f"{unreachable} (while fetching robots.txt)")
            return
        why = f"could not be fetched ({type(exc).__name__})"
        detail = str(exc).strip().splitlines()
        line = f"{type(exc).__name__}: {detail[0]}" if detail else type(exc).__name__
        self._disallow_all(netloc, why, f"not fetched: robots.txt of {netloc} {why}: {line}; {RFC}")
