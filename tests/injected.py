"""Bugs injected into a real crawl from outside, as a broken pipeline or extension would be.

Loaded by ``scrapy crawl`` through ``-s ITEM_PIPELINES=...`` in tests/test_faults.py.
"""

from __future__ import annotations

from archiver.extensions import SnapshotWriter
from archiver.items import ListingEntry


class ExplodingPipeline:
    """Raises on one entry ("Post number 5"), as an unforeseen bug in a normaliser would."""

    def process_item(self, item: ListingEntry) -> ListingEntry:
        if item.title == "Post number 5":
            raise RuntimeError("injected bug")
        return item


class WrongTypePipeline:
    """Puts text where the schema wants a number: the row cannot be written."""

    def process_item(self, item: ListingEntry) -> ListingEntry:
        if item.title == "Post number 5":
            item.views = "many"  # type: ignore[assignment]
        return item


class BrokenSnapshotWriter(SnapshotWriter):
    """A snapshot writer that fails as it publishes, as a bug in it would."""

    def spider_closed(self, spider, reason, **_):
        raise RuntimeError("injected bug in the snapshot writer")


class OldTagStrippingPipeline:
    """What an old archiver did to text: strip anything that looks like a tag, after the
    parser had decoded the page (so a literal "<td>" in a title was lost)."""

    def process_item(self, item: ListingEntry) -> ListingEntry:
        from w3lib.html import remove_tags

        item.title = remove_tags(item.title or "").strip() or None
        return item
