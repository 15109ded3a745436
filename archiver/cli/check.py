"""``archiver profile check``: what a profile reads from one page, as a crawl would read it.

The page goes through the crawl's own code, not a copy of it: a one-page crawl of the
``listing`` spider (robots.txt, the User-Agent, the profile, the item pipelines), with no
snapshot written, and the entries it yields are shown with what could not be read.
"""

from __future__ import annotations

from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler

from archiver.cli.inprocess import crawler_process
from archiver.errors import ArchiverError
from archiver.extract.dates import iso_utc
from archiver.extract.profiles import CONTRACT_FIELDS
from archiver.items import ListingEntry
from archiver.spiders.listing import ListingSpider

CHECK_SETTINGS: dict[str, Any] = {
    "ARCHIVER_SNAPSHOTS": False,
    "JOBDIR": None,
    "DOWNLOAD_DELAY": 0,
    "AUTOTHROTTLE_ENABLED": False,
    "RETRY_TIMES": 1,
    "LOG_LEVEL": "CRITICAL",  # what went wrong is reported by the command, in one line
    "LOGSTATS_INTERVAL": 0,
}


def _entry(item: ListingEntry, profile: Any, dropped: str | None) -> dict[str, Any]:
    """One entry as profile check shows it: the fields, what is missing, what was rejected."""
    entry: dict[str, Any] = {
        "title": item.title,
        "url": item.url,
        "summary": item.summary,
        "age": item.age_text,
        "views": item.views if item.views is not None else item.views_text,
        "source": item.source,
        **item.extra,
    }
    entry["missing"] = sorted(
        name
        for name, query in profile.fields.items()
        if query
        and (
            getattr(item, CONTRACT_FIELDS[name]) is None
            if name in CONTRACT_FIELDS
            else name not in item.extra
        )
    )
    if dropped:
        entry["dropped"] = dropped
        return entry
    entry["entry_id"] = item.entry_id
    if item.published_earliest is not None and item.published_latest is not None:
        entry["published"] = [iso_utc(item.published_earliest), iso_utc(item.published_latest)]
        entry["published_source"] = item.published_source
        if item.published_conflict:
            entry["published_conflict"] = item.published_conflict
    for name, reason in item.rejected.items():
        key = {"age_text": "published", "views_text": "views"}.get(name, name)
        if key in profile.counts:
            continue
        entry[key] = f"rejected: {reason}"
    if profile.counts:
        entry["counts"] = dict(item.counts) | {
            name: f"rejected: {reason}"
            for name, reason in item.rejected.items()
            if name in profile.counts
        }
    return entry


def check_profile(spec: str, target: str) -> dict[str, Any]:
    """What ``spec`` reads from ``target`` (an http(s) URL or a file), normalised as a crawl
    normalises it. Runs Scrapy's reactor: once per process. With ``spec`` "suggest", the
    profile is suggested from the page (``suggested``: its TOML and what makes it unsure)."""
    ListingSpider.check_arguments(start_urls=target, profile=spec)  # bad input: one line
    process, settings = crawler_process(CHECK_SETTINGS)
    crawler = Crawler(ListingSpider, settings)
    seen: list[tuple[ListingEntry, str | None]] = []

    def scraped(item: ListingEntry, **_: Any) -> None:
        seen.append((item, None))

    def dropped(item: ListingEntry, exception: Exception, **_: Any) -> None:
        seen.append((item, str(exception)))

    # Scrapy holds signal handlers weakly: these live as long as this call.
    crawler.signals.connect(scraped, signals.item_scraped)
    crawler.signals.connect(dropped, signals.item_dropped)
    process.crawl(crawler, start_urls=target, profile=spec, max_pages=1)
    process.start()
    spider: ListingSpider = crawler.spider  # type: ignore[assignment]
    [state] = spider.listings.values()
    if state.failed and not seen:
        failure = state.failed[0]
        raise ArchiverError(f"{failure['url']}: {failure['reason']}")
    page = state.last_page or {}
    profile = spider.profiles[state.profile] if state.profile else None
    stats = crawler.stats.get_stats() if crawler.stats else {}
    unmatched = {
        key.split("/")[2]: value
        for key, value in stats.items()
        if key.startswith("archiver/extract/") and key.endswith("/pattern_unmatched")
    }
    suggestion = spider.suggestions.get(state.profile or "")
    suggested = (
        {"text": suggestion.text, "unsure": suggestion.unsure} if suggestion is not None else None
    )
    return {
        "profile": state.profile,
        "suggested": suggested,
        "page_url": page.get("url", target),
        "page_time": page.get("page_time"),
        "page_time_source": page.get("page_time_source"),
        "entries": [
            _entry(item, profile, dropped)
            for item, dropped in sorted(seen, key=lambda pair: pair[0].position)
        ],
        "next": page.get("next_url"),
        "announced_total": state.announced,
        "pattern_unmatched": unmatched,
        "failed": state.failed,
    }
