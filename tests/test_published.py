"""Stated publication times: how each is read, found and weighed against the printed age."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from lxml import html

from archiver.extract.dates import Interval
from archiver.extract.published import (
    Stated,
    combine,
    day_exact,
    entry_markup,
    entry_markups,
    json_ld_dates,
    post_date,
    stated_interval,
)

S = timedelta(seconds=1) - timedelta(microseconds=1)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2024-03-07T09:12:00Z", Interval(utc(2024, 3, 7, 9, 12), utc(2024, 3, 7, 9, 12) + S)),
        ("2024-03-07T11:12:00+02:00", Interval(utc(2024, 3, 7, 9, 12), utc(2024, 3, 7, 9, 12) + S)),
        # Hacker News: ISO without a zone, then Unix time, which says the instant.
        ("2025-09-20T16:12:56 1758384776", Interval(utc(2025, 9, 20, 16, 12, 56), utc(2025, 9, 20, 16, 12, 56) + S)),
        ("1758384776000", Interval(utc(2025, 9, 20, 16, 12, 56), utc(2025, 9, 20, 16, 12, 56) + S)),
        # RSS pubDate (RFC 2822)
        ("Mon, 08 Sep 2025 07:30:00 +0000", Interval(utc(2025, 9, 8, 7, 30), utc(2025, 9, 8, 7, 30) + S)),
        ("Mon, 08 Sep 2025 09:30:00 +0200", Interval(utc(2025, 9, 8, 7, 30), utc(2025, 9, 8, 7, 30) + S)),
        # Hugo's PaperMod title attribute
        ("2025-05-01 00:00:00 +0000 UTC", Interval(utc(2025, 5, 1), utc(2025, 5, 1) + timedelta(seconds=1) - timedelta(microseconds=1))),
    ],
)  # fmt: skip
def test_instants_are_read_to_their_second(raw: str, expected: Interval) -> None:
    assert stated_interval(raw) == expected


@pytest.mark.parametrize(
    ("raw", "hours"),
    [
        ("2024-03-07", 50),  # a day, in whichever zone: day-exact
        ("2024-03-07T09:12", 26),  # a time without a zone could be any of 26 hours
        ("March 7, 2024", 50),
    ],
)
def test_what_a_stated_time_leaves_open_is_kept_open(raw: str, hours: int) -> None:
    interval = stated_interval(raw)
    assert interval is not None
    assert timedelta(hours=hours) - timedelta(minutes=1) <= interval.latest - interval.earliest
    assert interval.latest - interval.earliest <= timedelta(hours=hours, minutes=1)
    assert day_exact(interval)


@pytest.mark.parametrize(
    "raw", ["", "   ", None, "yesterday", "soon", "2024-02-30", "12345", "Mon, 99 Foo 2025"]
)
def test_what_is_no_time_is_no_evidence(raw: str | None) -> None:
    assert stated_interval(raw) is None


@pytest.mark.parametrize(
    ("markup", "expected"),
    [
        ('<li><time datetime="2024-03-07T09:12:00Z">a year ago</time></li>', "2024-03-07T09:12:00Z"),
        ('<li><span itemprop="datePublished" content="2024-03-07">Mar</span></li>', "2024-03-07"),
        ('<li><time class="dt-published" datetime="2024-03-07">x</time></li>', "2024-03-07"),
        # itemprop is a list of tokens (Hexo's NexT writes "dateCreated datePublished").
        ('<li><time itemprop="dateCreated datePublished" datetime="2024-03-07T10:00:00+08:00">'
         "x</time></li>", "2024-03-07T10:00:00+08:00"),
        ('<li><abbr class="published" title="2024-03-07T09:12:00Z">x</abbr></li>', "2024-03-07T09:12:00Z"),
        # The publication time, not the update time, whatever their order.
        ('<li><time class="updated" datetime="2025-01-01">u</time>'
         '<time datetime="2024-03-07">p</time></li>', "2024-03-07"),
        ('<li><time itemprop="dateModified" datetime="2025-01-01">u</time></li>', None),
        ('<li><time datetime="not a time">x</time></li>', None),
        ("<li>5 months ago</li>", None),
    ],
)  # fmt: skip
def test_an_entrys_markup_states_its_time(markup: str, expected: str | None) -> None:
    assert entry_markup(html.fragment_fromstring(markup)) == expected


def test_a_page_read_at_once_gives_each_entry_its_own_time() -> None:
    """``entry_markups`` runs each query once per page; it must agree with ``entry_markup``
    entry by entry, the priority order included, and leave out what lies outside entries."""
    page = html.fromstring(
        "<html><body><time datetime='2020-01-01'>page footer, no entry</time><ul>"
        "<li><time datetime='2024-03-01'>a</time><span itemprop='datePublished' "
        "content='2024-02-01'></span></li>"
        "<li>no time</li>"
        "<li><time class='updated' datetime='2025-01-01'>u</time>"
        "<time datetime='2024-04-01'>p</time></li>"
        "<li><time datetime='bad'>x</time><abbr class='published' title='2024-05-01'>y</abbr></li>"
        "</ul></body></html>"
    )
    nodes = page.xpath("//li")
    assert entry_markups(page, nodes) == [entry_markup(node) for node in nodes]
    assert entry_markups(page, nodes) == ["2024-02-01", None, "2024-04-01", "2024-05-01"]


LISTING_LD = """<html><head><script type="application/ld+json">
{"@context": "https://schema.org", "@type": "ItemList", "itemListElement": [
  {"@type": "ListItem", "position": 1, "item": {"@type": "BlogPosting",
   "url": "/posts/a/", "datePublished": "2024-03-07T09:12:00Z"}},
  {"@type": "ListItem", "position": 2, "item": {"@type": "BlogPosting",
   "mainEntityOfPage": {"@id": "https://blog.example/posts/b/"}, "datePublished": "2024-02-01"}}
]}</script><script type="application/ld+json">{ broken json </script></head></html>"""


def test_a_listings_json_ld_dates_its_posts_by_url() -> None:
    root = html.fromstring(LISTING_LD)
    assert json_ld_dates(root, "https://blog.example/") == {
        "https://blog.example/posts/a/": "2024-03-07T09:12:00Z",
        "https://blog.example/posts/b/": "2024-02-01",
    }


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        ('<script type="application/ld+json">{"@type": "BlogPosting", '
         '"datePublished": "2024-03-07T09:12:00+01:00", "dateModified": "2025-01-01"}</script>',
         ("2024-03-07T09:12:00+01:00", "json_ld")),
        ('<script type="application/ld+json">{"@graph": [{"@type": "WebPage", "url": "https://b.example/p/",'
         ' "datePublished": "2024-03-07"}, {"@type": "Person", "name": "x"}]}</script>',
         ("2024-03-07", "json_ld")),
        ('<meta property="article:published_time" content="2024-03-07T09:12:00Z">',
         ("2024-03-07T09:12:00Z", "meta")),
        ('<meta name="date" content="2024-03-07">', ("2024-03-07", "meta")),
        ('</head><body><article><time datetime="2024-03-07">March 7</time></article>',
         ("2024-03-07", "time")),
        ('</head><body><p>Posted in 2024</p>', None),
    ],
)  # fmt: skip
def test_a_posts_page_states_its_date(head: str, expected: tuple[str, str] | None) -> None:
    root = html.fromstring(f"<html><head>{head}</head><body></body></html>")
    found = post_date(root, "https://b.example/p/")
    assert (tuple(found) if found else None) == expected


PAGE = utc(2025, 10, 15, 12)
YEAR_AGO = Interval(utc(2023, 10, 15, 12), utc(2024, 10, 15, 12))  # "1 years ago"


def stated(source: str, raw: str) -> Stated:
    interval = stated_interval(raw)
    assert interval is not None
    return Stated(source, raw, interval)


def test_a_stated_instant_narrows_the_age_to_itself() -> None:
    dated, aside = combine(YEAR_AGO, [stated("markup", "2024-03-07T09:12:00Z")], PAGE)
    assert dated is not None and aside == []
    assert (dated.earliest, dated.source, dated.raw, dated.conflict) == (
        utc(2024, 3, 7, 9, 12), "markup", "2024-03-07T09:12:00Z", None,
    )  # fmt: skip
    assert dated.latest - dated.earliest < timedelta(seconds=1)


def test_the_age_alone_is_the_age() -> None:
    dated, _ = combine(YEAR_AGO, [], PAGE)
    assert dated is not None and (dated.earliest, dated.latest) == YEAR_AGO
    assert (dated.source, dated.raw, dated.conflict) == ("age", None, None)
    assert combine(None, [], PAGE) == (None, [])


def test_a_contradicted_age_is_named_never_silently_replaced() -> None:
    dated, _ = combine(YEAR_AGO, [stated("feed", "Thu, 07 Mar 2019 09:12:00 +0000")], PAGE)
    assert dated is not None and dated.source == "feed" and dated.conflict == "age"
    assert dated.earliest == utc(2019, 3, 7, 9, 12)


def test_stated_times_that_disagree_keep_the_most_trusted() -> None:
    evidence = [stated("markup", "2024-03-07"), stated("feed", "2024-05-01T00:00:00Z")]
    dated, aside = combine(None, evidence, PAGE)
    assert dated is not None and dated.source == "markup" and dated.conflict == "feed"
    assert [a.source for a in aside] == ["feed"]


def test_agreeing_evidence_is_intersected_and_the_narrowest_named() -> None:
    evidence = [stated("markup", "2024-03-07"), stated("post", "2024-03-07T09:12:00Z")]
    dated, _ = combine(YEAR_AGO, evidence, PAGE)
    assert dated is not None and dated.source == "post" and dated.conflict is None
    assert dated.earliest == utc(2024, 3, 7, 9, 12)


def test_a_time_after_the_page_is_not_when_the_post_was_published() -> None:
    dated, aside = combine(YEAR_AGO, [stated("markup", "2026-01-01T00:00:00Z")], PAGE)
    assert dated is not None and dated.source == "age" and dated.conflict == "markup:future"
    assert [a.raw for a in aside] == ["2026-01-01T00:00:00Z"]
    # A server clock a few minutes ahead is a clock, not the future: capped at the page.
    dated, _ = combine(None, [stated("markup", "2025-10-15T12:05:00Z")], PAGE)
    assert dated is not None and dated.earliest == dated.latest == utc(2025, 10, 15, 12, 5)
