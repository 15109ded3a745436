"""The listings file: names for the listings a project archives, so that a cron line, a
systemd unit or a Scrapyd job says ``-a listing=lillog`` instead of a long ``-a`` line.

``listings.toml`` beside ``scrapy.cfg`` (or the file ``ARCHIVER_LISTINGS`` names) holds one
table per listing::

    [lillog]
    start_urls = ["https://lilianweng.github.io/"]   # or one string
    profile = "papermod"                              # default "auto"
    max_pages = 5
    schedule = "daily at 03:15"                       # a note for people; nothing reads it
    description = "Lilian Weng's blog"
    [lillog.settings]                                 # any Scrapy or ARCHIVER_* setting
    DOWNLOAD_DELAY = 2

A key the file does not know is an error naming the file, the listing and the key: a typo
ignored would archive the wrong thing every night for months.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from archiver.errors import ArchiverError

FILENAME = "listings.toml"
KEYS = ("start_urls", "profile", "max_pages", "settings", "schedule", "description")
# A name is used as a systemd instance (%i), a JOBDIR folder and a manifest value.
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
ALL = "all"


@dataclass(frozen=True)
class NamedListing:
    """One listing of the file, as the crawl takes it."""

    name: str
    start_urls: tuple[str, ...]
    profile: str = "auto"
    max_pages: int | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    schedule: str | None = None
    description: str | None = None

    def spider_arguments(self) -> dict[str, str]:
        """The ``-a`` arguments this listing stands for."""
        arguments = {
            "start_urls": ",".join(self.start_urls),
            "profile": self.profile,
            "listing": self.name,
        }
        if self.max_pages is not None:
            arguments["max_pages"] = str(self.max_pages)
        return arguments


def listings_path(setting: str | None = None) -> Path:
    """The listings file: ``setting`` (``ARCHIVER_LISTINGS``), else ``listings.toml``
    beside the closest ``scrapy.cfg``, else in the current folder."""
    if setting:
        return Path(setting)
    from scrapy.utils.conf import closest_scrapy_cfg

    config = closest_scrapy_cfg()
    return Path(config).parent / FILENAME if config else Path(FILENAME)


def check_listing_name(name: str, where: str = "-a listing") -> str:
    """A listing's name, as a systemd unit, a folder and a manifest can carry it."""
    if not _NAME.match(name):
        raise ArchiverError(
            f"{where}: {name!r} is not a listing name: letters, digits, '.', '_' and '-', "
            "at most 64 (it names a systemd unit and a folder)"
        )
    return name


def _typed(where: str, key: str, value: Any, kind: type | tuple[type, ...], takes: str) -> Any:
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise ArchiverError(f"{where}: {key} = {value!r}; give {takes}")
    return value


def _one(path: Path, name: str, table: Any) -> NamedListing:
    where = f"{path} [{name}]"
    check_listing_name(name, where)
    if name.casefold() == ALL:  # -a listing=all would mean every listing, never this one
        raise ArchiverError(f"{where}: {name!r} is reserved (-a listings=all crawls them all); "
                            "give this listing another name")  # fmt: skip
    if not isinstance(table, dict):
        raise ArchiverError(f"{where}: is not a table; write [{name}] and its keys under it")
    for key in table:
        if key not in KEYS:
            close = difflib.get_close_matches(key, KEYS, n=1, cutoff=0.6)
            meant = f"did you mean {close[0]}? " if close else ""
            raise ArchiverError(f"{where}: no such key {key!r}; {meant}keys: {', '.join(KEYS)}")
    if "start_urls" not in table:
        raise ArchiverError(f'{where}: no start_urls; give start_urls = ["https://..."]')
    urls = table["start_urls"]
    urls = [urls] if isinstance(urls, str) else urls
    if not isinstance(urls, list) or not urls or not all(isinstance(u, str) and u for u in urls):
        raise ArchiverError(f"{where}: start_urls = {table['start_urls']!r}; give a URL or a list")
    if any("," in url for url in urls):
        raise ArchiverError(f"{where}: start_urls: write each URL as its own string, no commas")
    # A local path is read from the listings file's folder, wherever cron starts the crawl.
    urls = [
        url if "://" in url or url.startswith("file:") else str(path.parent / url) for url in urls
    ]
    max_pages = table.get("max_pages")
    if max_pages is not None:
        _typed(where, "max_pages", max_pages, int, "a whole number of at least 1")
        if max_pages < 1:
            raise ArchiverError(f"{where}: max_pages = {max_pages}; give at least 1")
    settings = _typed(where, "settings", table.get("settings", {}), dict, "a table of settings")
    for key in settings:
        if not re.match(r"^[A-Z][A-Z0-9_]*$", key):
            raise ArchiverError(f"{where}: settings: {key!r} is not a setting's name (UPPER_CASE)")
    return NamedListing(
        name=name,
        start_urls=tuple(urls),
        profile=_typed(where, "profile", table.get("profile", "auto"), str, "a profile name"),
        max_pages=max_pages,
        settings=dict(settings),
        schedule=_typed(where, "schedule", table.get("schedule", ""), str, "text") or None,
        description=_typed(where, "description", table.get("description", ""), str, "text") or None,
    )


def read_listings(path: str | Path) -> dict[str, NamedListing]:
    """Every listing of the file, by name, in the file's order."""
    path = Path(path)
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ArchiverError(
            f"no listings file {path}; write one (see README, 'Named listings') or set "
            "ARCHIVER_LISTINGS=PATH"
        ) from exc
    except OSError as exc:
        raise ArchiverError(f"{path}: {exc.strerror or exc}") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ArchiverError(f"{path}: not valid TOML ({exc})") from exc
    return {name: _one(path, name, table) for name, table in document.items()}


def named_listings(path: str | Path, names: str) -> list[NamedListing]:
    """The listings ``names`` picks: ``all``, or names separated by commas."""
    listings = read_listings(path)
    if names.strip() == ALL:
        if not listings:
            raise ArchiverError(f"{path} names no listing")
        return list(listings.values())
    picked = []
    for name in (part.strip() for part in names.split(",")):
        if not name:
            continue
        if name not in listings:
            close = difflib.get_close_matches(name, listings, n=1, cutoff=0.6)
            meant = f"did you mean {close[0]}? " if close else ""
            known = ", ".join(listings) or "none"
            raise ArchiverError(f"{path}: no listing {name!r}; {meant}listings there: {known}")
        picked.append(listings[name])
    if not picked:
        raise ArchiverError("listing: no name given; give -a listing=NAME (or listings=all)")
    return picked
