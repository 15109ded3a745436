"""Item pipelines: each file holds one pure normaliser and the thin class Scrapy calls.

Every change or rejection is counted in Scrapy stats as ``archiver/<stage>/<field>/<reason>``
so that a crawl's log says what was cleaned, what could not be read, and what was dropped.
"""

from __future__ import annotations

from typing import Any

from scrapy.crawler import Crawler
from scrapy.statscollectors import StatsCollector


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
