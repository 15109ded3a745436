"""The dating step of a listing page: the publication times stated for its entries,
gathered before the page's rows are made.

In order of trust (``archiver.extract.published``): the entry's own markup and the page's
JSON-LD (no request); the site's feed, when the page links one on its own site
(``ARCHIVER_FEEDS``, on by default: one request per feed and crawl, for every entry of
every page); the post's own page (``ARCHIVER_FOLLOW_ENTRIES``, off by default: it costs a
request per entry, on other hosts too for an aggregator, so it is asked for, not assumed).
A post is followed only while its interval is still wider than a day, only when the last
snapshot of the listing did not already read it (``archiver.store.carry``: its date is
carried forward), and at most ``ARCHIVER_FOLLOW_ENTRIES_MAX`` times a crawl.

Every request goes through the downloader like a page (robots.txt, the per-host delay,
retries, the site guard's address checks, the WARC). A failure is said once and leaves the
entries' intervals as the listing gives them. What was found is written into the page
record as raw values (``entry["stated"]``), before the record is journalled: a resumed
crawl and ``archiver reparse`` make the same rows from it.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

import scrapy
from scrapy.http import Response, TextResponse

from archiver.channels import META_DATING, META_LISTING
from archiver.errors import Rejected, describe
from archiver.extract.dates import Interval, parse_age
from archiver.extract.feeds import feed_dates, feed_links
from archiver.extract.profiles import PUBLISHED_FIELD, Profile
from archiver.extract.published import (
    Stated,
    combine,
    day_exact,
    json_ld_dates,
    post_date,
    stated_interval,
)
from archiver.pipelines.identity import canonical_post_key
from archiver.scope.reach import same_site
from archiver.store.carry import KnownDates, last_known, read_known
from archiver.store.layout import read_manifest

if TYPE_CHECKING:
    from archiver.spiders.listing import ListingSpider

logger = logging.getLogger(__name__)
UNDATED_LISTED = 1000  # posts without a date, kept in the manifest so they are not asked again


class EntryDating:
    def __init__(self, spider: ListingSpider) -> None:
        settings = spider.settings
        self.spider = spider
        self.feeds = settings.getbool("ARCHIVER_FEEDS", True)
        self.follow = settings.getbool("ARCHIVER_FOLLOW_ENTRIES", False)
        self.follow_max = settings.getint("ARCHIVER_FOLLOW_ENTRIES_MAX", 200)
        self.replay = settings.get("ARCHIVER_REPLAY") or ""
        if self.replay:  # reparse asks the archive for every post the crawl may have read
            self.follow_max = 10**9
        self.data_dir = settings.get("ARCHIVER_DATA_DIR", "data")
        self.feed_cache: dict[str, dict[str, str]] = {}  # feed URL -> post key -> raw
        self.feeds_read: dict[str, int] = {}  # feed URL -> items with a date (manifest)
        self.posts_asked = 0
        self.undated: set[str] = set()
        self._known: dict[str, KnownDates] = {}  # listing -> what its last snapshot knew

    @property
    def stats(self) -> Any:  # the crawler's stats exist once the crawl starts
        return self.spider.crawler.stats

    def summary(self) -> dict[str, Any]:
        """The manifest's ``dating``: how this crawl dated its entries, for a reader and for
        the next crawl (which posts stated no date) and ``archiver reparse``."""
        return {
            "feeds": self.feeds,
            "follow_entries": self.follow,
            "follow_entries_max": self.follow_max,
            "feeds_read": dict(self.feeds_read),
            "posts_asked": self.posts_asked,
            "posts_undated": sorted(self.undated)[:UNDATED_LISTED],
        }

    async def gather(
        self, response: Response, record: dict[str, Any], page_time: datetime, profile: Profile
    ) -> None:
        """Add ``stated`` (``[{"source", "raw"}]``, most trusted first) to every entry."""
        entries = record["entries"]
        root = response.selector.root  # type: ignore[attr-defined]
        from_json_ld = {_key(url): raw for url, raw in json_ld_dates(root, response.url).items()}
        for entry in entries:
            stated = []
            key = _key(entry.get("url"))
            markup = entry.get(PUBLISHED_FIELD) or from_json_ld.get(key)
            if markup:
                stated.append({"source": "markup", "raw": markup})
            entry["stated"] = stated
        if self.feeds and entries:
            dates = await self._feed(root, response.url, record["listing"])
            for entry in entries:
                if (raw := dates.get(_key(entry.get("url")))) is not None:
                    entry["stated"].append({"source": "feed", "raw": raw})
        if self.follow and entries:
            await self._posts(entries, record["listing"], page_time, profile)

    async def _download(self, request: scrapy.Request) -> Response:
        engine = self.spider.crawler.engine
        if engine is None:  # the spider used outside a crawl (a test, scrapy parse)
            raise RuntimeError("no crawl engine to fetch with")
        return await engine.download_async(request)

    async def _feed(self, root: Any, page_url: str, listing: str) -> dict[str, str]:
        links = [
            url
            for url in feed_links(root, page_url)
            if same_site(listing, url, self.spider.allowed_hosts)
        ]
        if not links:
            return {}
        url = links[0]
        if url in self.feed_cache:
            return self.feed_cache[url]
        self.feed_cache[url] = {}  # asked once a crawl, whatever the answer
        request = scrapy.Request(
            url, meta={META_LISTING: listing, META_DATING: "feed"}, dont_filter=True
        )
        try:
            response = await self._download(request)
            if response.status != 200:
                raise ValueError(f"HTTP {response.status}")
            dates = feed_dates(response.body)
        except Exception as exc:  # no feed: the listing's own dates stand
            self.stats.inc_value("archiver/dates/feed/failed")
            logger.warning("%s: its feed %s was not read: %s", page_url, url, describe(exc))
            return {}
        self.stats.inc_value("archiver/dates/feed/read")
        self.feeds_read[url] = len(dates)
        self.feed_cache[url] = {_key(urljoin(url, link)): raw for link, raw in dates.items()}
        return self.feed_cache[url]

    def known(self, listing: str) -> KnownDates:
        if listing not in self._known:
            if self.replay:  # reparse: the dates the crawl being re-read had carried
                path = Path(self.replay)
                found = read_known(path, read_manifest(path), path.name)
            else:
                found = last_known(self.data_dir, listing)
            found.dated = {_key(url): raw for url, raw in found.dated.items()}
            found.undated = {_key(url) for url in found.undated}
            self._known[listing] = found
        return self._known[listing]

    async def _posts(
        self, entries: list[dict[str, Any]], listing: str, page_time: datetime, profile: Profile
    ) -> None:
        known = self.known(listing)
        asked = []
        for entry in entries:
            url, key = entry.get("url"), _key(entry.get("url"))
            if key is None or _dated_to_the_day(entry, page_time, profile):
                continue
            if key in known.dated and not self.replay:
                entry["stated"].append({"source": "carried", "raw": known.dated[key]})
                self.stats.inc_value("archiver/dates/post/carried")
            elif key in known.undated and not self.replay:
                self.undated.add(url)
                self.stats.inc_value("archiver/dates/post/known_undated")
            elif self.posts_asked >= self.follow_max:
                self.stats.inc_value("archiver/dates/post/over_max")
            else:
                self.posts_asked += 1
                asked.append(entry)
        if self.posts_asked >= self.follow_max and asked:
            logger.info(
                "ARCHIVER_FOLLOW_ENTRIES_MAX (%d) reached: no more posts followed", self.follow_max
            )
        await asyncio.gather(*(self._post(entry, known) for entry in asked))

    async def _post(self, entry: dict[str, Any], known: KnownDates) -> None:
        url = entry["url"]
        request = scrapy.Request(url, meta={META_DATING: "post"}, dont_filter=True)
        try:
            response = await self._download(request)
            if response.status != 200:
                raise ValueError(f"HTTP {response.status}")
            if not isinstance(response, TextResponse) or not hasattr(response, "selector"):
                raise ValueError(f"not an HTML page ({type(response).__name__})")
            found = post_date(response.selector.root, response.url)
        except Exception as exc:  # the listing's interval stands
            carried = known.dated.get(_key(url)) if self.replay else None
            if carried is not None:  # reparse: the crawl had carried it, not fetched it
                entry["stated"].append({"source": "carried", "raw": carried})
                return
            self.stats.inc_value("archiver/dates/post/failed")
            logger.info("%s: post page not read for its date: %s", url, describe(exc))
            return
        if found is None:
            self.stats.inc_value("archiver/dates/post/undated")
            self.undated.add(url)
            return
        self.stats.inc_value(f"archiver/dates/post/{found.how}")
        entry["stated"].append({"source": "post", "raw": found.raw})


def _key(url: str | None) -> str | None:
    return canonical_post_key(url) if url else None


def _dated_to_the_day(entry: dict[str, Any], page_time: datetime, profile: Profile) -> bool:
    """True when what the entry already states, with its age, says its day."""
    age: Interval | None = None
    if entry.get("age"):
        try:
            age = parse_age(entry["age"], page_time, profile.date_order)  # type: ignore[arg-type]
        except Rejected:
            age = None
    stated = [
        Stated(found["source"], found["raw"], interval)
        for found in entry["stated"]
        if (interval := stated_interval(found["raw"])) is not None
    ]
    dated, _ = combine(age, stated, page_time)
    return dated is not None and day_exact(Interval(dated.earliest, dated.latest))
