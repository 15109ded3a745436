"""A site's feed (RSS 2.0, Atom, JSON Feed) as post URL -> publication time, as written.

A listing that links its feed (``<link rel="alternate" type="application/rss+xml">``) says
in one request when every recent post was published, to the second and with its zone,
where the listing itself prints "5 months ago". Entries are matched to feed items by URL
(the caller compares canonical keys). Only publication times are read: Atom's ``updated``
and RSS's ``lastBuildDate`` say when something changed, not when it was published.

The feed is parsed with lxml with entities and network access off: a feed is untrusted
input, and a billion-laughs feed must not take the crawl down.
"""

from __future__ import annotations

import json
from urllib.parse import urljoin

from lxml import etree

FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/feed+json")
_ATOM = "{http://www.w3.org/2005/Atom}"
_DC_DATE = "{http://purl.org/dc/elements/1.1/}date"
_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, recover=True, huge_tree=False, remove_comments=True
)


def feed_links(root: etree._Element, page_url: str) -> list[str]:
    """The feeds a page links in its head, absolute, in the page's order, each once."""
    found: list[str] = []
    for link in root.xpath("//link[@href][@type]"):
        rel = (link.get("rel") or "").lower().split()
        kind = (link.get("type") or "").strip().lower()
        if "alternate" in rel and kind in FEED_TYPES:
            url = urljoin(page_url, link.get("href").strip())
            if url not in found:
                found.append(url)
    return found


def feed_dates(body: bytes) -> dict[str, str]:
    """Item URL -> its publication time as written, for every item that has both.

    Raises ``ValueError`` when the body is no feed at all (an HTML error page served with
    status 200, say), so that the caller can say so."""
    stripped = body.lstrip()
    if stripped.startswith(b"{"):
        return _json_feed(stripped)
    try:
        root = etree.fromstring(stripped, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise ValueError(f"not a feed: {exc}") from exc
    if root is None:
        raise ValueError("not a feed: empty or unreadable XML")
    tag = etree.QName(root).localname.lower()
    if tag == "feed":
        return _atom(root)
    if tag in ("rss", "rdf"):
        return _rss(root)
    raise ValueError(f"not a feed: the document is <{tag}>")


def _text(element: etree._Element | None) -> str | None:
    if element is None or element.text is None:
        return None
    return element.text.strip() or None


def _rss(root: etree._Element) -> dict[str, str]:
    found: dict[str, str] = {}
    for item in root.iter("item", "{http://purl.org/rss/1.0/}item"):
        link = _text(item.find("link")) or _text(item.find("{http://purl.org/rss/1.0/}link"))
        guid = item.find("guid")
        if link is None and guid is not None and guid.get("isPermaLink", "true") == "true":
            link = _text(guid)
        published = _text(item.find("pubDate")) or _text(item.find(_DC_DATE))
        if link and published:
            found.setdefault(link, published)
    return found


def _atom(root: etree._Element) -> dict[str, str]:
    found: dict[str, str] = {}
    base = root.get("{http://www.w3.org/XML/1998/namespace}base") or ""
    for entry in root.iter(f"{_ATOM}entry"):
        links = [
            link.get("href")
            for link in entry.iter(f"{_ATOM}link")
            if link.get("href") and link.get("rel", "alternate") == "alternate"
        ]
        published = _text(entry.find(f"{_ATOM}published"))
        if links and published:
            found.setdefault(urljoin(base, links[0].strip()), published)
    return found


def _json_feed(body: bytes) -> dict[str, str]:
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise ValueError(f"not a feed: {exc}") from exc
    items = data.get("items") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise ValueError("not a feed: JSON without items")
    found: dict[str, str] = {}
    for item in items:
        if not isinstance(item, dict):
            continue
        url, published = item.get("url"), item.get("date_published")
        if isinstance(url, str) and isinstance(published, str):
            found.setdefault(url.strip(), published.strip())
    return found
