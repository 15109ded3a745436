"""What the last snapshot of a listing already knows about its posts' dates.

Following every entry to its own page every day would fetch the same posts again and
again; a post's publication time does not change. So a crawl that follows entries
(``ARCHIVER_FOLLOW_ENTRIES``) first reads the newest usable snapshot of the same listing:
each post whose date it read from the post's page (or carried itself) is carried forward
without a request, and each post whose page stated no date is not asked again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from archiver.store.layout import SnapshotInfo, current_readings, list_snapshots
from archiver.store.rows import published_rows

logger = logging.getLogger(__name__)

CARRIED_SOURCES = ("post", "carried")


@dataclass
class KnownDates:
    """Post URL -> publication time as found, and the posts known to state none."""

    snapshot_id: str | None = None
    dated: dict[str, str] = field(default_factory=dict)
    undated: set[str] = field(default_factory=set)


def read_known(path: Path, manifest: dict, snapshot_id: str | None) -> KnownDates:
    """The dates one snapshot read from post pages (its JSON Lines rows and manifest)."""
    known = KnownDates(snapshot_id)
    known.undated = set((manifest.get("dating") or {}).get("posts_undated") or [])
    try:
        for row in published_rows(path, manifest):
            if row.get("published_source") in CARRIED_SOURCES and row.get("url"):
                known.dated.setdefault(row["url"], row["published_raw"])
    except (OSError, ValueError, KeyError) as exc:  # nothing carried: posts are asked again
        logger.warning("dates of %s not carried forward: %s", path.name, exc)
        return KnownDates(snapshot_id)
    return known


def _listing_of(info: SnapshotInfo, listing_url: str) -> bool:
    return info.usable and listing_url in (info.manifest.get("start_urls") or [])


def last_known(data_dir: str | Path, listing_url: str) -> KnownDates:
    """What the newest usable snapshot that crawled ``listing_url`` knows; empty if none."""
    for info in reversed(current_readings(list_snapshots(data_dir))):
        if _listing_of(info, listing_url):
            return read_known(info.path, info.manifest, info.snapshot_id)
    return KnownDates()
