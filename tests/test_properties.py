"""Property tests: whatever text a page holds, a normaliser returns a valid value or a
counted rejection (``Rejected``), never another exception."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st
from parsel import Selector

from archiver.errors import Rejected
from archiver.extract.dates import parse_age
from archiver.extract.profiles import Profile, ProfileError, parse_profile
from archiver.pipelines.identity import make_entry_id
from archiver.pipelines.text import clean_text
from archiver.pipelines.views import INT64_MAX, parse_count

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
    assert re.fullmatch(r"[0-9a-f]{16}", entry_id)
    assert make_entry_id(url, source, title) == entry_id  # the same input, the same id


def toml_string(value: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(value, ensure_ascii=True)


SELECTORS = st.sampled_from([
    "li", "h2 a::text", "a::attr(href)", "span.age ::text", "td.subtext > a:last-child::text",
    "./following-sibling::tr[1]//a/text()", "//div[@id='x']", "(//a)[1]/@href", "string(.)",
    "a:::text", "li[[[", "//a[@", "", "   ", "a::attr(", "::text", "*", "p:nth-child(2n+1)",
    "ul > li", "//li", "(//li)[1]",
])  # fmt: skip
GOOD_SELECTORS = st.sampled_from(["a::text", "a::attr(href)", "span.age ::text", "//a/text()"])
GOOD_ENTRIES = st.sampled_from(["li", "ul > li", "//li", "(//li)[1]"])
FIELD_NAMES = st.sampled_from(
    ["title", "url", "summary", "age", "views", "source", "comments", "points", "rank",
     "entry_id", "position", "Bad-Name", "x" * 50, "extra", "counts"]
)  # fmt: skip
GOOD_FIELD_NAMES = st.sampled_from(["url", "summary", "age", "views", "comments", "points"])
PATTERNS = st.sampled_from([r"(\d+)", r"^\s*(.+?)\s*$", "(unclosed", r"\d+", "[", "(?P<x>a)"])


def mostly(draw, good: st.SearchStrategy[str], anything: st.SearchStrategy[str]) -> str:
    """A good value three times in four: a profile with a mistake in every key would only
    ever reach the first check, and the later ones would go untested."""
    return draw(good) if draw(st.integers(0, 3)) else draw(anything)


@st.composite
def profile_texts(draw) -> str:
    """Profiles that are valid TOML by construction, so every example reaches the checks
    of a profile's content, not just the TOML parser."""
    lines = []
    if draw(st.integers(0, 9)):
        name = mostly(draw, st.just("site"), st.sampled_from(["", " ", "x y"]))
        lines.append(f"name = {toml_string(name)}")
    if draw(st.integers(0, 9)):
        lines.append(f"entries = {toml_string(mostly(draw, GOOD_ENTRIES, SELECTORS))}")
    if draw(st.booleans()):
        lines.append(f"detect = {toml_string(mostly(draw, GOOD_ENTRIES, SELECTORS))}")
    if draw(st.booleans()):
        lines.append(f"date_order = {toml_string(draw(st.sampled_from(['mdy', 'dmy', 'ymd'])))}")
    fields = {
        mostly(draw, GOOD_FIELD_NAMES, FIELD_NAMES): mostly(draw, GOOD_SELECTORS, SELECTORS)
        for _ in range(draw(st.integers(0, 4)))
    }
    if draw(st.booleans()):
        names = [mostly(draw, st.sampled_from([*fields, "title"]), FIELD_NAMES) for _ in "ab"]
        lines.append(
            f"counts = [{', '.join(toml_string(n) for n in names[: draw(st.integers(0, 2))])}]"
        )
    if draw(st.integers(0, 9)) == 0:
        lines.append(f"{draw(st.sampled_from(['colour', 'fields', 'counts']))} = 3")
    if draw(st.integers(0, 4)):
        fields.setdefault("title", mostly(draw, GOOD_SELECTORS, SELECTORS))
    lines.append("[fields]")
    lines += [f"{toml_string(k)} = {toml_string(v)}" for k, v in fields.items()]
    page_keys = mostly(draw, st.sampled_from(["next", "total", "source"]), st.just("prev"))
    page = {page_keys: mostly(draw, GOOD_SELECTORS, SELECTORS)} if draw(st.booleans()) else {}
    lines.append("[page]")
    lines += [f"{k} = {toml_string(v)}" for k, v in page.items()]
    patterns = draw(
        st.dictionaries(st.sampled_from([*fields, "next", "nothing"]), PATTERNS, max_size=2)
    )
    lines.append("[patterns]")
    lines += [f"{toml_string(k)} = {toml_string(v)}" for k, v in patterns.items()]
    return "\n".join(lines) + "\n"


FUZZ_PAGE = Selector(
    text="<ul><li><h2><a href='/p/1'>One</a></h2><span class='age'>2 days ago</span></li>"
    "<li><a>Two</a></li></ul><a rel=next href='?p=2'>next</a>"
)


def load_or_error(text: str) -> Profile | ProfileError:
    try:
        return parse_profile(text, "fuzz.toml")
    except ProfileError as error:
        return error


@given(text=profile_texts())
@settings(max_examples=300)
def test_any_profile_loads_and_reads_a_page_or_fails_naming_a_key(text: str) -> None:
    outcome = load_or_error(text)
    if isinstance(outcome, ProfileError):
        message = str(outcome)
        assert message.startswith("profile fuzz.toml: ") and "\n" not in message
        assert "key '" in message or "not valid TOML" in message
        return
    try:
        data = outcome.extract(FUZZ_PAGE, "https://site.example/list")
    except ProfileError as error:  # what loading cannot tell: the page decides
        assert str(error).startswith("profile fuzz.toml: key 'entries': "), error
        return
    assert all(isinstance(entry, dict) and "source" in entry for entry in data.entries)


def test_the_profile_fuzzer_reaches_both_outcomes() -> None:
    """The generator above is worth running only if it yields usable profiles and each
    kind of mistake; ``find`` fails the test if one cannot be found."""
    settings_ = settings(database=None, max_examples=2000, phases=[Phase.generate])
    find(profile_texts(), lambda t: isinstance(load_or_error(t), Profile), settings=settings_)
    for key in ("entries", "fields.title", "patterns.", "counts", "page.prev", "date_order"):
        find(
            profile_texts(),
            lambda t, key=key: f"key '{key}" in str(load_or_error(t)),
            settings=settings_,
        )


@given(text=st.text(max_size=300))
@settings(max_examples=100)
def test_any_text_at_all_loads_or_fails_with_profile_error(text: str) -> None:
    try:
        parse_profile(text, "fuzz.toml")
    except ProfileError as error:
        assert str(error).startswith("profile fuzz.toml")


PLAIN_PATHS = st.lists(
    st.one_of(
        st.text(alphabet="abcXYZ019-._~!$&'()*+,;=:@%é", max_size=8),
        st.sampled_from([".", "..", "", "www", "a.b", "..."]),
    ),
    max_size=5,
).map(lambda segments: "".join("/" + s for s in segments))


@given(
    scheme=st.sampled_from(["http", "https", "HTTP"]),
    host=st.sampled_from(["a.example", "WWW.Blog.Example", "www.x-y.io", "localhost", "x.y.z"]),
    port=st.sampled_from(["", ":443", ":8080"]),
    path=PLAIN_PATHS,
    tail=st.sampled_from(["", "/", "?", "?b=2&a=1", "#frag", "%7E", " "]),
)
@settings(max_examples=500)
def test_the_fast_canonical_key_equals_the_general_one(scheme, host, port, path, tail) -> None:
    """Entry ids are a promise: the shortcut for plain URLs must give exactly what w3lib's
    full canonicalisation gives."""
    from archiver.pipelines.identity import _general_key, canonical_post_key

    url = f"{scheme}://{host}{port}{path}{tail}"
    assert canonical_post_key(url) == _general_key(url)
