"""``age_text`` -> ``published_earliest`` / ``published_latest``, against the page's own time."""

from __future__ import annotations

from archiver.errors import Rejected
from archiver.extract.dates import parse_age
from archiver.items import ListingEntry
from archiver.pipelines import CountingPipeline


class AgePipeline(CountingPipeline):
    stage = "age"

    def process_item(self, item: ListingEntry) -> ListingEntry:
        if item.age_text is None:
            self.count("age_text", "missing")
            return item
        try:
            interval = parse_age(item.age_text, item.page_time, item.date_order)  # type: ignore[arg-type]
        except Rejected as rejected:
            self.reject(item, "age_text", rejected)
            return item
        item.published_earliest, item.published_latest = interval
        item.published_source = "age"
        return item
