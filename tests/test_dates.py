"""parse_age: printed ages and dates -> the interval that must hold the publication time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from archiver.errors import Rejected
from archiver.extract.dates import minus_months, page_time, parse_age, parse_date

T = datetime(2026, 11, 27, 12, 0, 0, tzinfo=UTC)  # the frozen capture time of these tables
H, D = timedelta(hours=1), timedelta(days=1)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "earliest", "latest"),
    [
        ("just now", T - timedelta(minutes=5), T),
        ("a few seconds ago", T - timedelta(minutes=5), T),
        ("30 seconds ago", T - timedelta(seconds=31), T - timedelta(seconds=30)),
        ("1 minute ago", T - 2 * timedelta(minutes=1), T - timedelta(minutes=1)),
        ("an hour ago", T - 2 * H, T - H),
        ("4 hours ago", T - 5 * H, T - 4 * H),
        ("3 hrs ago", T - 4 * H, T - 3 * H),
        ("yesterday", T - 2 * D, T),
        ("today", T - D, T),
        ("1 day ago", T - 2 * D, T - D),
        ("6 days ago", T - 7 * D, T - 6 * D),
        ("2 weeks ago", T - 21 * D, T - 14 * D),
        ("last week", T - 14 * D, T - 7 * D),
        # Months: calendar months and 30-day months, whichever is wider.
        ("a month ago", utc(2026, 9, 27, 12), utc(2026, 10, 28, 12)),
        ("5 months ago", utc(2026, 5, 27, 12), utc(2026, 6, 30, 12)),
        ("10 months ago", utc(2025, 12, 27, 12), utc(2026, 1, 31, 12)),
        # Years: calendar years and 365-day years; "1 years ago" as the seed prints it.
        ("1 years ago", utc(2024, 11, 27, 12), utc(2025, 11, 27, 12)),
        ("a year ago", utc(2024, 11, 27, 12), utc(2025, 11, 27, 12)),
        ("2 years ago", utc(2023, 11, 27, 12), utc(2024, 11, 27, 12)),
        # 3 x 365 days reaches a day less far back than 3 calendar years (2024 is leap).
        ("3 years ago", utc(2022, 11, 27, 12), utc(2023, 11, 28, 12)),
        ("Posted 3 days ago by alice", T - 4 * D, T - 3 * D),
    ],
)
def test_relative_ages_truncate(text: str, earliest: datetime, latest: datetime) -> None:
    assert parse_age(text, T) == (earliest, latest)


# A date with no time zone on the page covers that day in every zone: UTC-14h .. UTC+36h.
MAY_1 = (utc(2025, 4, 30, 10), utc(2025, 5, 2, 12) - timedelta(microseconds=1))


@pytest.mark.parametrize(
    ("text", "order", "expected"),
    [
        ("May 1, 2025", "mdy", MAY_1),
        ("Date: May 1, 2025  |  Estimated Reading Time: 40 min  |  Author: Lilian Weng", "mdy", MAY_1),
        ("Posted on 1 May 2025", "mdy", MAY_1),
        ("1st of May, 2025", "mdy", MAY_1),
        ("2025-05-01", "mdy", MAY_1),
        ("2025/05/01", "mdy", MAY_1),
        ("05/01/2025", "mdy", MAY_1),
        ("01/05/2025", "dmy", MAY_1),
        ("01.05.2025", "dmy", MAY_1),
        ("Thu, 1 May 2025", "mdy", MAY_1),
        ("Sept. 1, 2025", "mdy", (utc(2025, 8, 31, 10), utc(2025, 9, 2, 12) - timedelta(microseconds=1))),
        # A time with a zone is one instant (to the printed precision).
        ("2025-05-01T10:00:00Z", "mdy", (utc(2025, 5, 1, 10), utc(2025, 5, 1, 10, 0, 1) - timedelta(microseconds=1))),
        ("2025-05-01T10:00+02:00", "mdy", (utc(2025, 5, 1, 8), utc(2025, 5, 1, 8, 1) - timedelta(microseconds=1))),
    ],
)  # fmt: skip
def test_absolute_dates(text: str, order: str, expected: tuple[datetime, datetime]) -> None:
    assert parse_age(text, T, order) == expected  # type: ignore[arg-type]


def test_a_date_cannot_be_later_than_the_page() -> None:
    earliest, latest = parse_age("November 27, 2026", T)
    assert earliest == utc(2026, 11, 26, 10)
    assert latest == T


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("a while back", "unparsed"),
        ("5 min read", "unparsed"),
        ("in 3 days", "future"),
        ("3 days from now", "future"),
        ("December 25, 2030", "future"),
        ("February 30, 2025", "invalid_date"),
        ("99999999999 years ago", "out_of_range"),
        ("99999999999 days ago", "out_of_range"),
    ],
)
def test_rejections_name_a_reason(text: str, reason: str) -> None:
    with pytest.raises(Rejected) as caught:
        parse_age(text, T)
    assert caught.value.reason == reason


def test_naive_page_time_is_a_programming_error() -> None:
    with pytest.raises(TypeError, match=r"^page_time must be timezone-aware$"):
        parse_age("5 months ago", T.replace(tzinfo=None))


def test_thirty_day_months_widen_an_interval_across_february() -> None:
    """Two calendar months before 31 March is 31 January, 60 days is 30 January: the
    interval takes the wider bound, as "a month ago" printed by either reckoning means."""
    end_of_march = utc(2026, 3, 31, 12)
    assert parse_age("a month ago", end_of_march) == (utc(2026, 1, 30, 12), utc(2026, 3, 1, 12))


def test_an_age_is_not_now_because_the_text_also_says_now() -> None:
    assert parse_age("posted 3 days ago, edited just now", T) == (T - 4 * D, T - 3 * D)


@pytest.mark.parametrize(
    ("moment", "months", "expected"),
    [
        (utc(2025, 3, 31), 1, utc(2025, 2, 28)),
        (utc(2024, 3, 31), 1, utc(2024, 2, 29)),
        (utc(2025, 1, 15), 13, utc(2023, 12, 15)),
    ],
)
def test_minus_months_clamps_to_month_end(
    moment: datetime, months: int, expected: datetime
) -> None:
    assert minus_months(moment, months) == expected


def test_parse_date_finds_nothing_in_prose() -> None:
    assert parse_date("Estimated Reading Time: 40 min") is None


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (b"Sun, 26 Oct 2025 12:00:00 GMT", utc(2025, 10, 26, 12)),
        ("Sun, 26 Oct 2025 12:00:00 GMT", utc(2025, 10, 26, 12)),
        (b"not a date", None),
        (b"Fri, 01 Jan 2100 00:00:00 GMT", None),  # a server clock in the future
        (None, None),
    ],
)
def test_page_time_is_the_date_header_else_the_fetch_time(header, expected) -> None:
    assert page_time(header, T) == (expected or T, "date_header" if expected else "fetched_at")


DATE = b"Sun, 26 Oct 2025 12:00:00 GMT"


@pytest.mark.parametrize(
    ("stated", "expected"),
    [
        ("2025-10-15T12:00:00Z", (utc(2025, 10, 15, 12), "page")),
        ("2025-10-15T14:00:00+02:00", (utc(2025, 10, 15, 12), "page")),
        (
            "2025-10-15T12:00:00.250000Z",
            (utc(2025, 10, 15, 12) + timedelta(microseconds=250000), "page"),
        ),
        ("Wed, 15 Oct 2025 12:00:00 GMT", (utc(2025, 10, 15, 12), "page")),
        ("  2025-10-15T12:00Z ", (utc(2025, 10, 15, 12), "page")),
        ("2025-10-15t12:00:00z", (utc(2025, 10, 15, 12), "page")),  # RFC 3339 allows both
        ("2025-10-15T12:00:00", (utc(2025, 10, 26, 12), "date_header")),  # no zone: not a time
        ("2025-10-15", (utc(2025, 10, 26, 12), "date_header")),  # a day is not a time
        ("generated recently", (utc(2025, 10, 26, 12), "date_header")),
        ("2100-01-01T00:00:00Z", (utc(2025, 10, 26, 12), "date_header")),  # in the future
        ("", (utc(2025, 10, 26, 12), "date_header")),
        (None, (utc(2025, 10, 26, 12), "date_header")),
    ],
)
def test_a_time_the_page_states_wins_over_the_date_header(stated, expected) -> None:
    assert page_time(DATE, T, stated) == expected


US = timedelta(microseconds=1)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Every printed part counts: minutes and seconds, the zone's sign and size.
        ("2025-05-01T10:30:15Z", (utc(2025, 5, 1, 10, 30, 15), utc(2025, 5, 1, 10, 30, 16) - US)),
        ("2025-05-01T10:30:15-05:00", (utc(2025, 5, 1, 15, 30, 15), utc(2025, 5, 1, 15, 30, 16) - US)),
        ("2025-05-01T10:30+0530", (utc(2025, 5, 1, 5), utc(2025, 5, 1, 5, 1) - US)),
        # A time without a zone could be in any zone, UTC-12 .. UTC+14, to the printed minute.
        ("2025-05-01 10:30", (utc(2025, 4, 30, 20, 30), utc(2025, 5, 1, 22, 31) - US)),
        ("Posted 2025-05-01T10:30:15", (utc(2025, 4, 30, 20, 30, 15), utc(2025, 5, 1, 22, 30, 16) - US)),
        # Numeric dates read month first unless told otherwise.
        ("05/01/2025", MAY_1),
    ],
)  # fmt: skip
def test_parse_date_reads_times_to_the_printed_precision(text: str, expected) -> None:
    assert parse_date(text) == expected


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("2025-02-30T10:00Z", "2025-02-30T10:00Z"),
        ("2025-05-01T25:00Z", "2025-05-01T25:00Z"),
        ("February 30, 2025", "2025-02-30"),
        ("2025-13-01", "2025-13-01"),
    ],
)
def test_an_impossible_date_is_rejected_naming_what_was_printed(text: str, value: str) -> None:
    """The rejection's value goes into the one-line warning: it must show the date as read."""
    with pytest.raises(Rejected) as caught:
        parse_date(text)
    assert (caught.value.reason, caught.value.value) == ("invalid_date", value)


def test_minus_months_reaches_year_one_and_no_further() -> None:
    assert minus_months(utc(2, 1, 15), 12) == utc(1, 1, 15)
    with pytest.raises(Rejected) as caught:
        minus_months(utc(1, 1, 15), 1)
    assert (caught.value.reason, caught.value.value) == ("out_of_range", 1)
