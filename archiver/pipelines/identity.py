"""``entry_id``: the same post gets the same id in every snapshot, whichever listing shows it."""

from __future__ import annotations

import hashlib
from urllib.parse import urlsplit

from w3lib.url import canonicalize_url

from archiver.items import ListingEntry
from archiver.pipelines import CountingPipeline


def canonical_post_key(url: str) -> str | None:
    """Host, path and sorted query of an http(s) URL; None for anything else.

    Scheme, ``www.``, default ports, fragments and a trailing slash are left out: a blog that
    moves to https or drops ``www.`` still has the same posts.
    """
    parts = urlsplit(canonicalize_url(url.strip(), keep_fragments=False))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    host = parts.hostname.removeprefix("www.")
    path = parts.path.rstrip("/") or "/"
    return f"{host}{path}" + (f"?{parts.query}" if parts.query else "")


def make_entry_id(url: str | None, source: str | None, title: str | None) -> str:
    """A 16-hex-digit id from the canonical URL, else from source and title."""
    key = canonical_post_key(url) if url else None
    if key is None:
        key = "title:" + "\x1f".join(
            " ".join((s or "").casefold().split()) for s in (source, title)
        )
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


class EntryIdPipeline(CountingPipeline):
    stage = "identity"

    def process_item(self, item: ListingEntry) -> ListingEntry:
        if not item.url or canonical_post_key(item.url) is None:
            self.count("entry_id", "from_title")
        item.entry_id = make_entry_id(item.url, item.source, item.title)
        return item
