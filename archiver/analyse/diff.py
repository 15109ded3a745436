"""What changed between two snapshots of one listing: entries new, vanished and changed."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from archiver.analyse.read import load, one_listing, select_snapshots
from archiver.errors import ArchiverError
from archiver.store.layout import (
    archive_dir,
    find_snapshot,
)

DIFF_FIELDS = ("title", "url", "summary", "views")


def _jsonable(value: object) -> object:
    """Plain Python values for JSON output; every kind of missing becomes None."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


def diff(
    data_dir: str | Path | None = None,
    a: str | None = None,
    b: str | None = None,
    listing: str | None = None,
) -> dict:
    """What changed between snapshots ``a`` and ``b`` (default: the last two usable ones of
    the listing: complete or partial, with rows), over the listing's entries.

    ``new``: listed in b, not in a; ``vanished``: listed in a, not in b; ``changed``: in both,
    with a different title, URL, summary or view count (``changes`` maps field -> [a, b]).
    """
    data_dir = archive_dir(data_dir)
    if (a is None) != (b is None):
        raise ArchiverError("diff takes two snapshot ids, or none for the last two")
    wanted = one_listing(data_dir, listing) if a is None or listing is not None else None
    if a is None and b is None:
        ids = [
            s.snapshot_id
            for s in select_snapshots(data_dir, None)
            if s.usable and (wanted is None or wanted & set(s.manifest.get("start_urls", [])))
        ]
        if len(ids) < 2:
            where = f"listing {', '.join(sorted(wanted))}" if wanted else str(data_dir)
            raise ArchiverError(f"diff needs two usable snapshots; {where} has {len(ids)}")
        a, b = ids[-2], ids[-1]
    old, new = load(data_dir, a), load(data_dir, b)
    if wanted is not None:
        old, new = old[old["listing_url"].isin(wanted)], new[new["listing_url"].isin(wanted)]
    return {"from": a, "to": b} | diff_rows(old, new)


def diff_rows(old_rows: pd.DataFrame, new_rows: pd.DataFrame) -> dict:
    """New, vanished and changed entries between two snapshots' rows."""
    old = old_rows.drop_duplicates("entry_id").set_index("entry_id")
    new = new_rows.drop_duplicates("entry_id").set_index("entry_id")

    def brief(frame: pd.DataFrame, entry_id: str) -> dict:
        return {"entry_id": entry_id, "title": frame.at[entry_id, "title"]}

    changed = []
    for entry_id in old.index.intersection(new.index):
        changes = {
            name: [_jsonable(old.at[entry_id, name]), _jsonable(new.at[entry_id, name])]
            for name in DIFF_FIELDS
            if _jsonable(old.at[entry_id, name]) != _jsonable(new.at[entry_id, name])
        }
        if changes:
            changed.append(brief(new, entry_id) | {"changes": changes})
    return {
        "new": [brief(new, i) for i in new.index.difference(old.index)],
        "vanished": [brief(old, i) for i in old.index.difference(new.index)],
        "changed": changed,
    }


def previous_of_listing(data_dir: str | Path | None, snapshot_id: str) -> str | None:
    """The latest earlier snapshot (latest readings) that crawled one of the same listings."""
    data_dir = archive_dir(data_dir)
    snapshots = select_snapshots(data_dir, None)
    this = find_snapshot(snapshots, snapshot_id, data_dir)
    listings = set(this.manifest.get("start_urls", []))
    earlier = [
        s for s in snapshots
        if s.snapshot_id < snapshot_id and listings & set(s.manifest.get("start_urls", []))
    ]  # fmt: skip
    return earlier[-1].snapshot_id if earlier else None


def changes_since_previous(data_dir: str | Path | None, snapshot_id: str) -> dict | None:
    """``diff`` against the previous snapshot of the same listing, over the listings both
    crawled; None for a listing's first snapshot."""
    previous = previous_of_listing(data_dir, snapshot_id)
    if previous is None:
        return None
    old, new = load(data_dir, previous), load(data_dir, snapshot_id)
    shared = set(old["listing_url"].dropna()) & set(new["listing_url"].dropna())
    if shared:
        old = old[old["listing_url"].isin(shared)]
        new = new[new["listing_url"].isin(shared)]
    return {"from": previous, "to": snapshot_id} | diff_rows(old, new)
