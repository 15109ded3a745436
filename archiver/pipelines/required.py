"""An entry without a title is not an entry: drop it, and say so in stats."""

from __future__ import annotations

from scrapy.exceptions import DropItem

from archiver.items import ListingEntry
from archiver.pipelines import CountingPipeline


class RequireTitlePipeline(CountingPipeline):
    stage = "validate"

    def process_item(self, item: ListingEntry) -> ListingEntry:
        if not item.title:
            self.count("title", "missing")
            raise DropItem(f"entry {item.position} on {item.page_url} has no title")
        return item
