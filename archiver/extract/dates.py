"""Publication intervals from printed ages and dates.

A listing prints "5 months ago" or "Date: May 1, 2025"; neither is an instant. We keep the
text and derive the interval ``[earliest, latest]`` (UTC) that must contain the true
publication time, given the page's own time.

Rounding of relative ages, decided from evidence: the seed aggregator page (captured in
October 2025) prints "1 years ago" for a post of 2024-02-05 and "3 years ago" for one of
2021-12-05, where rounding would say 2 and 4. Read with truncation, all fifteen of its ages
agree with the blog's real dates (its RSS feed) for any capture time from 28 September to
25 October 2025. So "N units ago" means N <= elapsed < N+1 units. Months and years are taken both
as calendar units and as fixed 30/365-day spans, and the interval covers both conventions.

Dates printed without a time zone cover every zone the day could be in (UTC-12 to UTC+14).
"""

from __future__ import annotations

import re
from calendar import monthrange
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Literal, NamedTuple

from archiver.errors import Rejected

DateOrder = Literal["mdy", "dmy"]

# The earliest and latest UTC offsets in use: a local day spans UTC-14h .. UTC+12h+24h.
_EAST = timedelta(hours=14)
_WEST = timedelta(hours=12)
_TICK = timedelta(microseconds=1)
_JUST_NOW = timedelta(minutes=5)
_CLOCK_SKEW = timedelta(minutes=10)


def iso_utc(value: datetime) -> str:
    """``2025-10-26T12:00:00Z``: the form pandas, DuckDB and jq all read back as UTC."""
    return value.isoformat().replace("+00:00", "Z")


class Interval(NamedTuple):
    earliest: datetime
    latest: datetime


_FIXED_UNITS = {
    "second": timedelta(seconds=1),
    "minute": timedelta(minutes=1),
    "hour": timedelta(hours=1),
    "day": timedelta(days=1),
    "week": timedelta(weeks=1),
}
_UNIT_ALIASES = {
    "s": "second", "sec": "second", "secs": "second", "second": "second",
    "m": "minute", "min": "minute", "mins": "minute", "minute": "minute",
    "h": "hour", "hr": "hour", "hrs": "hour", "hour": "hour",
    "d": "day", "day": "day",
    "w": "week", "wk": "week", "wks": "week", "week": "week",
    "mo": "month", "mos": "month", "month": "month",
    "y": "year", "yr": "year", "yrs": "year", "year": "year",
}  # fmt: skip
_WORD_NUMBERS = {"a": 1, "an": 1, "one": 1, "last": 1}

_RELATIVE = re.compile(
    r"\b(?P<n>\d+|an?|one|last)\s*(?P<unit>[a-z]+?)s?\.?(?:\s+(?P<ago>ago)\b|\b)",
    re.IGNORECASE,
)
_FUTURE = re.compile(r"^\s*in\s+\S+|\bfrom now\b|\blater\b", re.IGNORECASE)
_NOW = re.compile(r"\b(just now|right now|moments? ago|a few seconds ago|now)\b", re.IGNORECASE)
_DAY_WORDS = {"today": 0, "yesterday": 1}

_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"),
            ("may",), ("jun", "june"), ("jul", "july"), ("aug", "august"),
            ("sep", "sept", "september"), ("oct", "october"), ("nov", "november"),
            ("dec", "december"),
        ],
        start=1,
    )
    for name in names
}  # fmt: skip
_MONTH = r"(?P<month_name>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_ISO = re.compile(
    r"\b(?P<year>\d{4})-(?P<month>\d{1,2})-(?P<day>\d{1,2})"
    r"(?:[T ](?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:\.\d+)?)?"
    r"\s*(?P<tz>Z|[+-]\d{2}:?\d{2})?)?\b"
)
_MONTH_FIRST = re.compile(
    _MONTH + r"\s+(?P<day>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<year>\d{4})\b", re.IGNORECASE
)
_DAY_FIRST = re.compile(
    r"\b(?P<day>\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?" + _MONTH + r",?\s+(?P<year>\d{4})\b",
    re.IGNORECASE,
)
_NUMERIC = re.compile(r"\b(?P<a>\d{1,2})[/.](?P<b>\d{1,2})[/.](?P<year>\d{4})\b")
_YEAR_FIRST_SLASH = re.compile(r"\b(?P<year>\d{4})/(?P<month>\d{1,2})/(?P<day>\d{1,2})\b")


def minus_months(moment: datetime, months: int) -> datetime:
    """Calendar subtraction: 31 March minus one month is 28 (or 29) February."""
    index = moment.year * 12 + (moment.month - 1) - months
    year, month = divmod(index, 12)
    if year < 1:
        raise Rejected("out_of_range", months)
    day = min(moment.day, monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def _ago(page_time: datetime, n: int, unit: str) -> Interval:
    """Truncation semantics: the post is at least ``n`` and less than ``n + 1`` units old."""
    try:
        if unit in _FIXED_UNITS:
            span = _FIXED_UNITS[unit]
            return Interval(page_time - span * (n + 1), page_time - span * n)
        fixed = timedelta(days=30 if unit == "month" else 365)
        months = n if unit == "month" else 12 * n
        step = 1 if unit == "month" else 12
        earliest = min(minus_months(page_time, months + step), page_time - fixed * (n + 1))
        latest = max(minus_months(page_time, months), page_time - fixed * n)
        return Interval(earliest, latest)
    except (OverflowError, ValueError) as exc:
        if isinstance(exc, Rejected):
            raise
        raise Rejected("out_of_range", n) from exc


def parse_relative(text: str, page_time: datetime) -> Interval | None:
    """The interval for "5 months ago", "an hour ago", "yesterday", "just now"; else None."""
    lowered = text.lower()
    if _FUTURE.search(lowered):
        raise Rejected("future", text)
    for word, days in _DAY_WORDS.items():
        if re.search(rf"\b{word}\b", lowered):
            # The page's calendar day is unknown (its zone is), so allow a full extra day.
            return Interval(page_time - timedelta(days=days + 1), page_time)
    if _NOW.search(lowered) and "ago" not in _NOW.sub("", lowered):
        return Interval(page_time - _JUST_NOW, page_time)
    for match in _RELATIVE.finditer(lowered):
        unit = _UNIT_ALIASES.get(match["unit"].rstrip("."))
        number = match["n"]
        if unit is None or (not match["ago"] and number != "last"):
            continue
        n = _WORD_NUMBERS.get(number) if not number.isdigit() else int(number)
        if n is None:
            continue
        return _ago(page_time, n, unit)
    return None


def _day_interval(year: int, month: int, day: int) -> Interval:
    try:
        start = datetime(year, month, day, tzinfo=UTC)
    except ValueError as exc:
        raise Rejected("invalid_date", f"{year:04d}-{month:02d}-{day:02d}") from exc
    return Interval(start - _EAST, start + timedelta(days=1) + _WEST - _TICK)


def _iso_interval(match: re.Match[str]) -> Interval:
    year, month, day = int(match["year"]), int(match["month"]), int(match["day"])
    if match["hour"] is None:
        return _day_interval(year, month, day)
    try:
        moment = datetime(
            year, month, day, int(match["hour"]), int(match["minute"]), int(match["second"] or 0)
        )
    except ValueError as exc:
        raise Rejected("invalid_date", match[0]) from exc
    precision = timedelta(seconds=1) if match["second"] else timedelta(minutes=1)
    if match["tz"]:
        tz = datetime.strptime(match["tz"].replace("Z", "+0000").replace(":", ""), "%z").tzinfo
        start = moment.replace(tzinfo=tz).astimezone(UTC)
        return Interval(start, start + precision - _TICK)
    start = moment.replace(tzinfo=UTC)
    return Interval(start - _EAST, start + precision + _WEST - _TICK)


def parse_date(text: str, order: DateOrder = "mdy") -> Interval | None:
    """The interval of an absolute date in ``text`` (prefixes such as "Posted on" allowed).

    ``order`` says how to read an all-numeric ``01/05/2025``: month first (US) or day first.
    """
    if match := _ISO.search(text):
        return _iso_interval(match)
    if match := _YEAR_FIRST_SLASH.search(text):
        return _day_interval(int(match["year"]), int(match["month"]), int(match["day"]))
    for pattern in (_MONTH_FIRST, _DAY_FIRST):
        if match := pattern.search(text):
            month = _MONTHS[match["month_name"].lower()]
            return _day_interval(int(match["year"]), month, int(match["day"]))
    if match := _NUMERIC.search(text):
        a, b = int(match["a"]), int(match["b"])
        month, day = (a, b) if order == "mdy" else (b, a)
        return _day_interval(int(match["year"]), month, day)
    return None


def parse_age(text: str, page_time: datetime, order: DateOrder = "mdy") -> Interval:
    """The publication interval implied by a printed age or date, against ``page_time``.

    Raises ``Rejected`` (reasons ``empty``, ``unparsed``, ``future``, ``out_of_range``,
    ``invalid_date``) rather than guessing.
    """
    if page_time.tzinfo is None:
        raise TypeError("page_time must be timezone-aware")
    if not text or not text.strip():
        raise Rejected("empty", text)
    interval = parse_relative(text, page_time) or parse_date(text, order)
    if interval is None:
        raise Rejected("unparsed", text)
    if interval.earliest > page_time:
        raise Rejected("future", text)
    # A date printed on the page cannot be later than the page itself.
    return Interval(interval.earliest, min(interval.latest, page_time))


class PageTime(NamedTuple):
    """The time a page was rendered, and where that was learnt: ``page`` (the page states
    it, ``[page] time``), ``date_header`` (HTTP ``Date``) or ``fetched_at``."""

    time: datetime
    source: str


def stated_time(text: str | None) -> datetime | None:
    """A time a page states about itself: ISO 8601 (``2025-10-15T12:00:00Z``) or an HTTP/RFC
    2822 date, with its zone. A time without a zone could be any of 26 hours: None."""
    if not text or not text.strip():
        return None
    text = text.strip()
    try:
        # Python 3.11 reads "Z" itself; RFC 3339 also allows a lowercase "t" and "z"
        moment = datetime.fromisoformat(text.upper())
    except ValueError:
        try:
            moment = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
    if moment.tzinfo is None or moment.utcoffset() is None:
        return None
    return moment.astimezone(UTC)


def _http_date(date_header: str | bytes | None) -> datetime | None:
    if not date_header:
        return None
    text = date_header.decode("latin-1") if isinstance(date_header, bytes) else date_header
    try:
        parsed = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo is not None else None


def page_time(
    date_header: str | bytes | None, fetched_at: datetime, stated: str | None = None
) -> PageTime:
    """The page's own time: the time it states (``[page] time``), else its HTTP ``Date``
    header, else the fetch time.

    A saved page, a replayed archive or an aggregator that prints "generated at" knows its
    time better than today's ``Date``. A page cannot have been rendered after it was
    fetched, so a time in the future is a wrong clock, not the page's time; a past time (a
    cache, a replay, a saved page) is kept.
    """
    latest = fetched_at + _CLOCK_SKEW
    for moment, source in ((stated_time(stated), "page"), (_http_date(date_header), "date_header")):
        if moment is not None and moment <= latest:
            return PageTime(moment, source)
    return PageTime(fetched_at, "fetched_at")
