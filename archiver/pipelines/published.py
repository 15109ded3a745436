"""``published_*``: the age's interval narrowed by the times the entry's markup, the site's
feed and the post's page state (``archiver.extract.published``), with where it came from."""

from __future__ import annotations

import logging

from archiver.extract.dates import Interval, iso_utc
from archiver.extract.published import Stated, combine, stated_interval
from archiver.items import ListingEntry
from archiver.pipelines import CountingPipeline

logger = logging.getLogger(__name__)


def date_entry(item: ListingEntry) -> list[Stated]:
    """Set ``published_*`` from the age's interval and the stated times; return the stated
    times set aside (contradicted, or later than the page)."""
    age = None
    if item.published_earliest is not None and item.published_latest is not None:
        age = Interval(item.published_earliest, item.published_latest)
    stated = [
        Stated(found["source"], found["raw"], interval)
        for found in item.stated
        if (interval := stated_interval(found.get("raw"))) is not None
    ]
    dated, set_aside = combine(age, stated, item.page_time)
    if dated is None:
        return set_aside
    item.published_earliest, item.published_latest = dated.earliest, dated.latest
    item.published_source, item.published_raw = dated.source, dated.raw
    item.published_conflict = dated.conflict
    return set_aside


class PublishedPipeline(CountingPipeline):
    stage = "published"

    def process_item(self, item: ListingEntry) -> ListingEntry:
        unreadable = [f for f in item.stated if stated_interval(f.get("raw")) is None]
        for found in unreadable:
            self.count(found["source"], "unreadable")
        set_aside = date_entry(item)
        if item.published_source is not None:
            self.count(item.published_source, "used")
        for evidence in set_aside:
            self.count(evidence.source, "contradicted")
        if item.published_conflict and "age" in item.published_conflict.split(","):
            self.count("age", "contradicted")
        if item.published_conflict:
            # Said once per entry: the row keeps the stated time and names the disagreement.
            logger.warning(
                "entry %d on %s: %s (%s) disagrees with %s; kept %s..%s",
                item.position,
                item.page_url,
                item.published_source,
                item.published_raw or item.age_text,
                item.published_conflict,
                iso_utc(item.published_earliest),  # type: ignore[arg-type]
                iso_utc(item.published_latest),  # type: ignore[arg-type]
            )
        return item
