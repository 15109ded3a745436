"""Property tests: whatever text a page holds, a normaliser returns a valid value or a
counted rejection (``Rejected``), never another exception."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archiver.dates import parse_age
from archiver.errors import Rejected
from archiver.pipelines.identity import make_entry_id
from archiver.pipelines.text import clean_text
from archiver.pipelines.views import INT64_MAX, parse_count
from archiver.profiles import ProfileError, parse_profile

PAGE_TIMES = st.datetimes(
    min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)
# Text shaped like ages and counts, so that the interesting branches are reached often.
AGE_LIKE = st.one_of(
    st.text(max_size=60),
    st.builds(
        "{} {}{} {}".format,
        st.one_of(
            st.integers(-10, 10**12).map(str), st.sampled_from(["a", "an", "one", "last", "1e309"])
        ),
        st.sampled_from(
            ["second", "min", "hour", "day", "week", "month", "year", "mo", "yr", "fortnight"]
        ),
        st.sampled_from(["", "s"]),
        st.sampled_from(["ago", "from now", "", "later"]),
    ),
    st.builds(
        "{} {}, {}".format,
        st.sampled_from(["May", "Sept.", "February", "Foo"]),
        st.integers(-5, 40),
        st.integers(0, 99999),
    ),
    st.builds("{}/{}/{}".format, st.integers(0, 99), st.integers(0, 99), st.integers(0, 99999)),
    st.builds("{}-{}-{}T{}:{}".format, *(st.integers(0, 99999) for _ in range(5))),
)
COUNT_LIKE = st.one_of(
    st.text(max_size=40),
    st.builds(
        "{}{}{} {}".format,
        st.sampled_from(["", "-", "−"]),
        st.one_of(st.integers(0, 10**25).map(str), st.floats(allow_nan=True).map(str)),
        st.sampled_from(["", "k", "M", "b", "e309"]),
        st.sampled_from(["views", "points", "", "of views"]),
    ),
)


@given(text=AGE_LIKE, page_time=PAGE_TIMES, order=st.sampled_from(["mdy", "dmy"]))
@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
def test_parse_age_returns_a_sane_interval_or_rejects(
    text: str, page_time: datetime, order: str
) -> None:
    try:
        earliest, latest = parse_age(text, page_time, order)  # type: ignore[arg-type]
    except Rejected as rejected:
        assert rejected.reason
        return
    assert earliest.tzinfo is not None and latest.tzinfo is not None
    assert earliest <= latest <= page_time
    # Wide only as far as the calendar and fixed-length conventions drift apart (~1.5 %).
    assert latest - earliest <= timedelta(days=800) + (page_time - earliest) * 0.02


@given(text=COUNT_LIKE)
@settings(max_examples=400)
def test_parse_count_returns_a_non_negative_int64_or_rejects(text: str) -> None:
    try:
        value = parse_count(text)
    except Rejected as rejected:
        assert rejected.reason in {"empty", "unparsed", "negative", "out_of_range"}
        return
    assert isinstance(value, int) and 0 <= value <= INT64_MAX


@given(text=st.one_of(st.none(), st.text(max_size=200)))
def test_clean_text_is_tidy(text: str | None) -> None:
    cleaned = clean_text(text)
    if cleaned is not None:
        assert cleaned == cleaned.strip() and "  " not in cleaned
        assert "\n" not in cleaned and "\x00" not in cleaned


@given(
    url=st.one_of(st.none(), st.text(max_size=80)),
    source=st.text(max_size=20),
    title=st.text(max_size=40),
)
def test_entry_ids_are_always_16_hex_digits(url: str | None, source: str, title: str) -> None:
    entry_id = make_entry_id(url, source, title)
    assert len(entry_id) == 16 and int(entry_id, 16) >= 0


@given(text=st.text(max_size=300))
@settings(max_examples=200)
def test_any_profile_text_loads_or_fails_with_profile_error(text: str) -> None:
    try:
        parse_profile(text, "fuzz.toml")
    except ProfileError as error:
        assert str(error).startswith("profile fuzz.toml")
