"""View counts as numbers: ``1,234 views`` -> 1234, ``1.2k views`` -> 1200."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from archiver.errors import Rejected
from archiver.items import ListingEntry
from archiver.pipelines import CountingPipeline

INT64_MAX = 2**63 - 1
_MULTIPLIERS = {"": 1, "k": 10**3, "m": 10**6, "b": 10**9}
_COUNT = re.compile(
    r"""^(?P<sign>[-−])?\s*
        (?P<number>\d{1,3}(?:[,\u00a0\u202f ]\d{3})+|\d+(?:\.\d+)?)
        \s*(?P<suffix>[kmb])?
        (?:\s+[^\W\d_]+)*$   # trailing words: "views", "points", "people viewed"
    """,
    re.IGNORECASE | re.VERBOSE,
)
_ZERO = re.compile(r"^no(?:\s+[^\W\d_]+)*$", re.IGNORECASE)


def parse_count(text: str) -> int:
    """Read a printed count; raise ``Rejected`` with a reason slug when it is not one.

    Abbreviated counts are exact to what was printed (``1.2k`` is 1200): the true figure
    could be anywhere from 1150 to 1249, and ``views_text`` keeps the printed form.
    """
    text = " ".join(text.split())
    if not text:
        raise Rejected("empty", text)
    if _ZERO.match(text):
        return 0
    match = _COUNT.match(text)
    if not match:
        raise Rejected("unparsed", text)
    if match["sign"]:
        raise Rejected("negative", text)
    digits = re.sub(r"[,\u00a0\u202f ]", "", match["number"])
    try:
        value = int(Decimal(digits) * _MULTIPLIERS[(match["suffix"] or "").lower()])
    except InvalidOperation as exc:  # pragma: no cover - the regex admits only digits
        raise Rejected("unparsed", text) from exc
    if value > INT64_MAX:
        raise Rejected("out_of_range", text)
    return value


class ViewsPipeline(CountingPipeline):
    stage = "views"

    def process_item(self, item: ListingEntry) -> ListingEntry:
        if item.views_text is None:
            self.count("views_text", "missing")
            return item
        try:
            item.views = parse_count(item.views_text)
        except Rejected as rejected:
            item.views = None
            self.reject(item, "views_text", rejected)
        return item
