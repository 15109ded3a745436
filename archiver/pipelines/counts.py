"""Extra fields a profile declares as counts ("141 comments", "118 points") -> ``counts``."""

from __future__ import annotations

from archiver.errors import Rejected
from archiver.items import ListingEntry
from archiver.pipelines import CountingPipeline
from archiver.pipelines.views import parse_count


def extra_counts(
    extra: dict[str, str], names: tuple[str, ...]
) -> tuple[dict[str, int], dict[str, str]]:
    """(numbers, rejection reasons) for the named extra fields; absent fields are neither."""
    numbers, reasons = {}, {}
    for name in names:
        if name not in extra:
            continue
        try:
            numbers[name] = parse_count(extra[name])
        except Rejected as rejected:
            reasons[name] = rejected.reason
    return numbers, reasons


class ExtraCountsPipeline(CountingPipeline):
    stage = "counts"

    def process_item(self, item: ListingEntry) -> ListingEntry:
        item.counts, reasons = extra_counts(item.extra, item.count_fields)
        for name in item.count_fields:
            if name not in item.extra:
                self.count(name, "missing")
        for name, reason in reasons.items():
            self.reject(item, name, Rejected(reason, item.extra[name]))
        return item
