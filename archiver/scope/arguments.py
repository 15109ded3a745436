"""What a crawl is asked for: the listing spider's ``-a`` arguments and its start URLs,
checked before anything is fetched, so that a typo in a cron line ends the run at start in
one line naming the argument, rather than as a failed (or a demo) snapshot.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from archiver.errors import ArchiverError
from archiver.extract.profiles import resolve_profile
from archiver.scope.listings import check_listing_name
from archiver.store.layout import check_snapshot_id

DEMO_INDEX = Path(__file__).resolve().parents[2] / "data" / "demo" / "index.html"
ALLOWED_START_SCHEMES = ("http", "https", "file")
# The spider's -a arguments, and what each takes (the one line of a bad one says it).
ARGUMENTS = {
    "start_urls": "give URL[,URL...] (http, https, file, or a local path)",
    "profile": "give a built-in profile (auto, suggest, demo, papermod, hn) or a profile file",
    "max_pages": "give the most pages to read per start URL, a whole number of at least 1",
    "listing": "give the name of a listing in the listings file (listings.toml), or names "
    "separated by commas",
    "listings": "give all (every listing in the listings file)",
}
# Arguments others pass that the spider takes as they are: Scrapyd's job id; the snapshot
# id archiver reparse and the shared crawl give.
PASSED_THROUGH = {"_job"}


def parse_start_urls(value: str | list[str] | None) -> list[str]:
    """``-a start_urls=URL[,URL...]``; a plain path is taken as a local file. Each URL is
    checked as far as it can be without the network (scheme, host, port), so that a typo
    ends the run at start in one line rather than as a failed snapshot."""
    if value is None:
        return [DEMO_INDEX.as_uri()]
    items = value if isinstance(value, list) else value.split(",")
    urls = [start_url(raw) for raw in (item.strip() for item in items) if raw]
    if not urls:
        raise ArchiverError(
            "start_urls: no URL given; give URL[,URL...], or leave the argument out for the demo"
        )
    return urls


def start_url(raw: str) -> str:
    """One start URL, as the crawl will fetch it; an ``ArchiverError`` says what is wrong."""
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError as exc:  # "http://[::1", "http://host:99999/"
        raise ArchiverError(
            f"start_urls: {raw!r} is not a URL ({exc}); give http://HOST[:PORT]/PATH, "
            "https://..., or a file"
        ) from exc
    scheme = parts.scheme.lower()
    if not scheme:
        path = Path(raw)
        if not path.exists():
            raise ArchiverError(
                f"start_urls: no such file {raw!r} (in {Path.cwd()}); give an existing file, "
                "or a URL with its scheme (https://...)"
            )
        return path.resolve().as_uri()
    if scheme not in ALLOWED_START_SCHEMES:
        raise ArchiverError(
            f"start_urls: {raw!r} is not an http, https or file URL; give one of those, or a "
            "local file's path"
        )
    if scheme != "file" and not parts.hostname:
        raise ArchiverError(f"start_urls: {raw!r} names no host; give {scheme}://HOST/PATH")
    if port == 0:
        raise ArchiverError(f"start_urls: {raw!r}: port 0 is not a port; give 1-65535")
    return raw


def unknown_argument(name: str) -> str:
    """The line for ``-a NAME=...`` the spider does not take, with the likely meant one."""
    takes = ", ".join(ARGUMENTS)
    close = difflib.get_close_matches(name, [*ARGUMENTS, "snapshot_id"], n=1, cutoff=0.6)
    meant = f"did you mean {close[0]}? " if close else ""
    return f"-a {name}: the listing spider takes no such argument; {meant}it takes {takes}"


def check_arguments(
    start_urls: str | list[str] | None = None,
    profile: str = "auto",
    max_pages: str | int | None = None,
    snapshot_id: str | None = None,
    listing: str | None = None,
    listings: str | None = None,
    **others: Any,
) -> dict[str, Any]:
    """Parse ``-a`` arguments; an ``ArchiverError`` names the bad one (before any crawl).

    An argument the spider does not take, or one given empty, is refused: ignoring it
    would crawl the demo (or every page) in place of what a cron line meant."""
    for name in others:
        if name not in PASSED_THROUGH:
            raise ArchiverError(unknown_argument(name))
    given = {
        "start_urls": start_urls,
        "profile": profile,
        "max_pages": max_pages,
        "listing": listing,
        "listings": listings,
    }
    for name, value in given.items():
        if isinstance(value, str) and not value.strip():
            raise ArchiverError(f"-a {name}: empty; {ARGUMENTS[name]}, or leave it out")
    try:
        pages = int(max_pages) if max_pages is not None else None
    except ValueError as exc:
        raise ArchiverError(
            f"max_pages: {max_pages!r} is not a whole number; {ARGUMENTS['max_pages']}"
        ) from exc
    if pages is not None and pages < 1:
        raise ArchiverError(f"max_pages: {max_pages!r} must be at least 1")
    if snapshot_id is not None:
        check_snapshot_id(snapshot_id)
    if listings is not None:  # the crawl command runs one crawl per listing
        raise ArchiverError(
            f"-a listings={listings}: each listing is crawled by its own run of scrapy "
            "crawl listing, which reads the listings file"
        )
    if listing is not None:
        check_listing_name(listing)
        if start_urls is None:  # the crawl command reads the listings file
            raise ArchiverError(
                f"-a listing={listing}: the listing's start URLs come from the listings "
                "file, which scrapy crawl reads; run it with scrapy crawl listing"
            )
    return {
        "start_urls": parse_start_urls(start_urls),
        "candidates": resolve_profile(profile),
        "max_pages": pages,
    }
