"""Text fields as a reader sees them: whitespace collapsed, control characters gone.

The text arrives already decoded by the HTML parser (``archiver.extract.profiles``), so nothing here
touches markup or entities: ``<td>`` or ``&amp;`` in a field is what the page showed.
"""

from __future__ import annotations

import re

from archiver.items import ListingEntry
from archiver.pipelines import CountingPipeline

TEXT_FIELDS = ("source", "title", "summary", "age_text", "views_text")
# C0/C1 control characters other than whitespace never belong in archived text.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")


def clean_text(value: str | None) -> str | None:
    """``value`` with whitespace collapsed and control characters removed; None when
    nothing readable is left."""
    if value is None:
        return None
    text = " ".join(_CONTROL.sub("", value).split())
    return text or None


class CleanTextPipeline(CountingPipeline):
    stage = "text"

    def process_item(self, item: ListingEntry) -> ListingEntry:
        for name in TEXT_FIELDS:
            before = getattr(item, name)
            after = clean_text(before)
            if after != before:
                setattr(item, name, after)
                self.count(name, "cleaned" if after else "emptied")
        item.extra = {k: v for k, v in ((k, clean_text(v)) for k, v in item.extra.items()) if v}
        return item
