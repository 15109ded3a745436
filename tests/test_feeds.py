"""Feeds as post URL -> publication time: RSS 2.0, RSS 1.0, Atom and JSON Feed."""

from __future__ import annotations

import json

import pytest
from lxml import html

from archiver.extract.feeds import feed_dates, feed_links

RSS = b"""<?xml version="1.0"?><rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel><lastBuildDate>Sat, 04 Jul 2026 00:00:00 +0000</lastBuildDate>
<item><link>https://b.example/a/</link><pubDate>Thu, 07 Mar 2024 09:12:00 +0000</pubDate></item>
<item><guid>https://b.example/b/</guid><dc:date>2024-02-01T00:00:00Z</dc:date></item>
<item><guid isPermaLink="false">tag:b,1</guid><pubDate>Thu, 01 Feb 2024 00:00:00 +0000</pubDate></item>
<item><link>https://b.example/undated/</link></item>
</channel></rss>"""

ATOM = b"""<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://b.example/">
<entry><link rel="alternate" href="/a/"/><published>2024-03-07T09:12:00Z</published>
<updated>2025-01-01T00:00:00Z</updated></entry>
<entry><link href="https://b.example/updated-only/"/><updated>2025-01-01T00:00:00Z</updated></entry>
<entry><link rel="edit" href="/edit/c"/><link href="/c/"/><published>2024-01-01</published></entry>
</feed>"""


def test_rss_items_give_their_publication_dates() -> None:
    assert feed_dates(RSS) == {
        "https://b.example/a/": "Thu, 07 Mar 2024 09:12:00 +0000",
        "https://b.example/b/": "2024-02-01T00:00:00Z",
    }


def test_atom_gives_published_never_updated() -> None:
    assert feed_dates(ATOM) == {
        "https://b.example/a/": "2024-03-07T09:12:00Z",
        "https://b.example/c/": "2024-01-01",
    }


def test_json_feed() -> None:
    body = json.dumps(
        {"version": "https://jsonfeed.org/version/1.1", "items": [
            {"url": "https://b.example/a/", "date_published": "2024-03-07T09:12:00Z"},
            {"url": "https://b.example/b/"}, "junk",
        ]}
    ).encode()  # fmt: skip
    assert feed_dates(body) == {"https://b.example/a/": "2024-03-07T09:12:00Z"}


@pytest.mark.parametrize(
    "body",
    [b"<html><body>Not found</body></html>", b"", b"{}", b"{not json", b"\x00\x01"],
)
def test_what_is_no_feed_says_so(body: bytes) -> None:
    with pytest.raises(ValueError, match="not a feed"):
        feed_dates(body)


def test_entities_are_not_expanded() -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
        b"<rss><channel><item><link>https://b.example/&c;</link>"
        b"<pubDate>Thu, 07 Mar 2024 09:12:00 +0000</pubDate></item></channel></rss>"
    )
    found = feed_dates(bomb)
    assert all(len(url) < 100 for url in found)


def test_a_page_links_its_feeds_once_each_absolute() -> None:
    root = html.fromstring(
        '<html><head><link rel="alternate" type="application/rss+xml" href="/index.xml">'
        '<link rel="Alternate" type="application/atom+xml" href="https://b.example/atom.xml">'
        '<link rel="alternate" type="application/rss+xml" href="index.xml">'
        '<link rel="alternate" type="application/json" href="/index.json">'
        '<link rel="stylesheet" type="text/css" href="/s.css"></head></html>'
    )
    assert feed_links(root, "https://b.example/") == [
        "https://b.example/index.xml",
        "https://b.example/atom.xml",
    ]
