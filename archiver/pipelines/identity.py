"""``entry_id``: the same post gets the same id in every snapshot, whichever listing shows it."""

from __future__ import annotations

import hashlib
import re
from urllib.parse import urlsplit

from w3lib.url import canonicalize_url

from archiver.items import ListingEntry
from archiver.pipelines import CountingPipeline

# URLs that w3lib's canonicalisation leaves as they are (but for the host's case): http(s),
# an ASCII host, a path of unreserved characters and no "." or ".." segment, no escapes, no
# query, no fragment. Most post URLs look so; they skip the costly general case.
# tests/test_properties.py holds the two paths equal.
_PLAIN_URL = re.compile(
    r"(?P<scheme>https?)://(?P<host>[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*)(?::\d+)?"
    r"(?P<path>(?:/[A-Za-z0-9_~!$&'()*+,=:@.-]*)*)",
    re.ASCII,
)


def _plain_key(url: str) -> str | None:
    match = _PLAIN_URL.fullmatch(url)
    if match is None:
        return None
    path = match["path"]
    if "/./" in path + "/" or "/../" in path + "/":
        return None
    host = match["host"].lower().removeprefix("www.")
    return host + (path.rstrip("/") or "/")


def canonical_post_key(url: str) -> str | None:
    """Host, path and sorted query of an http(s) URL; None for anything else.

    Scheme, ``www.``, default ports, fragments and a trailing slash are left out: a blog that
    moves to https or drops ``www.`` still has the same posts.
    """
    url = url.strip()
    if (key := _plain_key(url)) is not None:
        return key
    return _general_key(url)


def _general_key(url: str) -> str | None:
    try:
        if not urlsplit(url).hostname:  # "https:///p": w3lib >= 2.6 would read host "p"
            return None
        parts = urlsplit(canonicalize_url(url, keep_fragments=False))
    except ValueError:  # not a URL w3lib can read ("http://host:80x"): no key from it
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    host = parts.hostname.removeprefix("www.")
    path = parts.path.rstrip("/") or "/"
    return f"{host}{path}" + (f"?{parts.query}" if parts.query else "")


def entry_id_for(key: str | None, source: str | None, title: str | None) -> str:
    """The id for a canonical key (``canonical_post_key``), else for source and title."""
    if key is None:
        key = "title:" + "\x1f".join(
            " ".join((s or "").casefold().split()) for s in (source, title)
        )
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def make_entry_id(url: str | None, source: str | None, title: str | None) -> str:
    """A 16-hex-digit id from the canonical URL, else from source and title."""
    return entry_id_for(canonical_post_key(url) if url else None, source, title)


class EntryIdPipeline(CountingPipeline):
    stage = "identity"

    def process_item(self, item: ListingEntry) -> ListingEntry:
        key = canonical_post_key(item.url) if item.url else None
        if key is None:
            self.count("entry_id", "from_title")
        item.entry_id = entry_id_for(key, item.source, item.title)
        return item
