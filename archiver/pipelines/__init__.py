"""Item pipelines: each file holds one pure normaliser and the thin class that applies it.

Every change or rejection is counted in Scrapy stats as ``archiver/<stage>/<field>/<reason>``
so that a crawl's log says what was cleaned, what could not be read, and what was dropped.

The stages run in the order of the ``ARCHIVER_NORMALISERS`` setting (like
``ITEM_PIPELINES``: path -> order), inside one Scrapy pipeline, ``NormalisePipeline``:
Scrapy's per-pipeline machinery costs more per item than most stages do. Other pipelines
still go in ``ITEM_PIPELINES`` as usual.
"""

from __future__ import annotations

import logging
from typing import Any

from scrapy.crawler import Crawler
from scrapy.statscollectors import StatsCollector
from scrapy.utils.misc import build_from_crawler, load_object

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


class NormalisePipeline:
    """Runs the normalising stages (``ARCHIVER_NORMALISERS``) on each entry, in order; a
    stage that raises ``DropItem`` drops the entry, as it would as a pipeline of its own."""

    def __init__(self, stages: list[Any]) -> None:
        self.stages = [stage.process_item for stage in stages]

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> NormalisePipeline:
        paths = crawler.settings.getdict("ARCHIVER_NORMALISERS")
        ordered = sorted((order, path) for path, order in paths.items() if order is not None)
        return cls([build_from_crawler(load_object(path), crawler) for _, path in ordered])

    def process_item(self, item: ListingEntry) -> ListingEntry:
        for stage in self.stages:
            item = stage(item)
        return item
