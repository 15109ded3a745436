"""Item pipelines: each file holds one pure normaliser and the thin class Scrapy calls.

Every change or rejection is counted in Scrapy stats as ``archiver/<stage>/<field>/<reason>``
so that a crawl's log says what was cleaned, what could not be read, and what was dropped.
"""

from __future__ import annotations

import logging
from typing import Any

from scrapy.crawler import Crawler
from scrapy.statscollectors import StatsCollector

from archiver.errors import Rejected
from archiver.items import ListingEntry

logger = logging.getLogger(__name__)


class CountingPipeline:
    """Base for the pipelines: holds the stats collector and names counters by stage."""

    stage: str = ""

    def __init__(self, stats: StatsCollector) -> None:
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Any:
        return cls(crawler.stats)

    def count(self, field: str, reason: str) -> None:
        self.stats.inc_value(f"archiver/{self.stage}/{field}/{reason}")

    def reject(self, item: ListingEntry, field: str, rejected: Rejected) -> None:
        """Count a value that could not be read and say, in one line, what and where."""
        self.count(field, rejected.reason)
        item.rejected[field] = rejected.reason
        logger.info(
            "entry %d on %s: %s %r not read (%s)",
            item.position,
            item.page_url,
            field,
            rejected.value,
            rejected.reason,
        )
