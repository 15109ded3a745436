"""Reading snapshots back: the analyst's side of archiver.

``load`` returns every row with the contract's types; ``history`` follows each entry across
snapshots; ``published`` narrows each entry's publication interval using every observation.
"""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from archiver.errors import ArchiverError
from archiver.items import SCHEMA
from archiver.snapshots import (
    PARQUET_FILE,
    SnapshotInfo,
    archive_dir,
    current_readings,
    list_snapshots,
)

_PANDAS_TYPES = {pa.int64(): pd.Int64Dtype(), pa.int32(): pd.Int32Dtype()}


class DamagedSnapshotWarning(UserWarning):
    """A snapshot was left out of a load because its files are damaged."""


def _select(
    data_dir: str | Path | None, snapshot: str | None, readings: str = "latest"
) -> list[SnapshotInfo]:
    """The snapshots a load reads. A snapshot re-read by ``archiver reparse`` is one capture
    read twice: with ``readings="latest"`` only its current reading is taken (the newest
    usable one), so no entry is counted twice; ``"all"`` takes every snapshot, the
    superseded readings too."""
    if readings not in ("latest", "all"):
        raise ArchiverError(f"readings={readings!r}: 'latest' or 'all'")
    snapshots = list_snapshots(archive_dir(data_dir), superseded=True)
    if snapshot is not None:
        chosen = [s for s in snapshots if s.snapshot_id == snapshot]
        if not chosen:
            raise ArchiverError(f"snapshot {snapshot!r} not found under {data_dir}")
        return chosen
    if readings == "latest":
        return current_readings(snapshots)
    return snapshots


class _Damaged(Exception):
    pass


def _read_checked(info: SnapshotInfo) -> pa.Table:
    """A snapshot's Parquet rows, read only if every byte is what the manifest promised.

    Each file is read into memory once, its SHA-256 checked against the manifest, and the
    table parsed from those same bytes: a flipped byte that Parquet's own page checksums
    would miss (pyarrow writes none by default) still stops the load, and no second read can
    differ from the one checked. The footer is held against the manifest too (row count,
    schema), so a problem is described, not only detected.
    """
    if info.status == "damaged":
        raise _Damaged("its manifest is unreadable")
    found = sorted(info.path.glob("entries*.parquet"))
    paths = found or [info.path / PARQUET_FILE]
    promised = info.manifest.get("files") or {}
    listed = {name for name in promised if name.endswith(".parquet") and "/" not in name}
    missing = sorted(listed - {path.name for path in found})
    if missing:
        raise _Damaged(f"{missing[0]} is missing")
    tables = []
    for path in paths:  # a snapshot of many workers has a part each
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise _Damaged(f"{path.name}: {exc.strerror or exc}") from exc
        expected = promised.get(path.name, {}).get("sha256")
        if promised and expected is None:
            raise _Damaged(f"{path.name} is not in its manifest")
        if expected is not None and hashlib.sha256(data).hexdigest() != expected:
            raise _Damaged(f"{path.name} checksum does not match the manifest")
        try:
            tables.append(pq.read_table(pa.BufferReader(data), page_checksum_verification=True))
        except (OSError, pa.ArrowException) as exc:
            first_line = (str(exc).strip() or "unreadable").splitlines()[0]
            raise _Damaged(f"{path.name}: {first_line}") from exc
    table = pa.concat_tables(tables) if len(tables) > 1 else tables[0]
    rows = info.manifest.get("rows")
    if rows is not None and table.num_rows != rows:
        raise _Damaged(f"{table.num_rows} rows where the manifest says {rows}")
    recorded = info.manifest.get("schema")
    if recorded and {f.name: str(f.type) for f in table.schema} != recorded:
        raise _Damaged("its columns differ from the manifest")
    return table


def read_table(
    data_dir: str | Path | None = None,
    snapshot: str | None = None,
    *,
    readings: str = "latest",
    skip_damaged: bool = False,
) -> pa.Table:
    """Every selected snapshot's rows as one Arrow table.

    Files written by older or newer versions are read against the union of their schemas,
    so a column one snapshot lacks comes back as nulls and no snapshot's column is dropped.
    A damaged snapshot stops the load with an error naming it, or, with ``skip_damaged``,
    is left out with a ``DamagedSnapshotWarning``.
    """
    data_dir = archive_dir(data_dir)
    snapshots = _select(data_dir, snapshot, readings)
    parts = []
    for info in snapshots:
        try:
            table = _read_checked(info)
        except _Damaged as damage:
            message = (
                f"snapshot {info.snapshot_id} is damaged ({damage}); "
                f"`archiver verify --data-dir {data_dir}` says what is wrong"
            )
            if not skip_damaged:
                raise ArchiverError(message) from None
            warnings.warn(f"{message}; left out of this load", DamagedSnapshotWarning, 2)
            continue
        if "snapshot_id" not in table.column_names:  # the partition key, not in the file
            ids = pa.array([info.snapshot_id] * table.num_rows, pa.string())
            table = table.append_column("snapshot_id", ids)
        parts.append(table)
    if not parts:
        return SCHEMA.empty_table()
    table = pa.concat_tables(parts, promote_options="permissive").replace_schema_metadata(None)
    for field in SCHEMA:
        if field.name not in table.column_names:  # a column older snapshots never had
            table = table.append_column(field, pa.nulls(table.num_rows, field.type))
    newer = [name for name in table.column_names if name not in SCHEMA.names]
    return table.select([*SCHEMA.names, *newer])


def to_pandas(table: pa.Table) -> pd.DataFrame:
    """Nullable integers stay integers (``Int64``); times are UTC."""
    return table.to_pandas(types_mapper=_PANDAS_TYPES.get)


def load(
    data_dir: str | Path | None = None,
    snapshot: str | None = None,
    *,
    readings: str = "latest",
    skip_damaged: bool = False,
) -> pd.DataFrame:
    """Every snapshot's rows (or one snapshot's), typed as in the contract.

    ``readings="latest"``: of a capture re-read with ``archiver reparse``, only the newest
    reading (``"all"``: every snapshot). ``skip_damaged=True``: a damaged snapshot is left
    out with a warning instead of stopping the load, so one bad day does not block a year.
    """
    table = read_table(data_dir, snapshot, readings=readings, skip_damaged=skip_damaged)
    return to_pandas(table)


def _coverage(snapshots: list[SnapshotInfo]) -> pd.DataFrame:
    """(snapshot_id, scope) for every complete snapshot and each listing it crawled whole.

    A scope is a start URL; snapshots and rows written before ``listing_url`` existed fall
    back to the source name.
    """
    rows = [
        {"snapshot_id": s.snapshot_id, "scope": scope}
        for s in snapshots
        if s.status == "complete"
        for scope in {*s.manifest.get("start_urls", []), *s.manifest.get("sources", [])}
    ]
    return pd.DataFrame(rows, columns=["snapshot_id", "scope"])


def history(data_dir: str | Path | None = None) -> pd.DataFrame:
    """One row per entry and snapshot, in time order, with ``present`` telling whether the
    entry was listed.

    Absence is only claimed where it is evidence: a row with ``present=False`` comes from a
    *complete* snapshot, later than the entry's first sighting, that crawled the listing the
    entry was found through. Partial and failed snapshots add rows only for what they saw.
    """
    data_dir = archive_dir(data_dir)
    columns = ["entry_id", "snapshot_id", "source", "title", "views", "position", "present"]
    rows = load(data_dir)
    if rows.empty:
        return pd.DataFrame(columns=columns)
    rows["scope"] = rows["listing_url"].fillna(rows["source"])
    seen = (
        rows.sort_values(["snapshot_id", "position"])
        .drop_duplicates(["snapshot_id", "entry_id"])
        .assign(present=True)
    )
    latest = seen.drop_duplicates("entry_id", keep="last")
    candidates = latest[["entry_id", "source", "title", "scope"]].merge(
        _coverage(_select(data_dir, None)), on="scope"
    )
    missing = candidates.merge(
        seen[["entry_id", "snapshot_id"]],
        on=["entry_id", "snapshot_id"],
        how="left",
        indicator=True,
    )
    first_seen = seen.groupby("entry_id")["snapshot_id"].min()
    missing = missing[
        (missing["_merge"] == "left_only")
        & (missing["snapshot_id"] > missing["entry_id"].map(first_seen))
    ].drop(columns="_merge")
    missing = missing.assign(views=pd.NA, position=pd.NA, present=False)[columns]
    seen = seen[columns]
    out = pd.concat([seen, missing], ignore_index=True) if len(missing) else seen
    out = out.astype({"views": "Int64", "position": "Int32", "present": bool})
    return out.sort_values(["snapshot_id", "position", "entry_id"], na_position="last").reset_index(
        drop=True
    )


def published(data_dir: str | Path | None = None) -> pd.DataFrame:
    """One row per entry: the publication interval every observation allows.

    Each snapshot's ``age_text`` implies an interval; the truth lies in all of them, so the
    narrowed interval is their intersection. ``contradictions`` counts observations that are
    disjoint from at least one other (the site changed a date, or printed a wrong one); the
    narrowed bounds are then left empty rather than invented.
    """
    data_dir = archive_dir(data_dir)
    columns = [
        "entry_id",
        "title",
        "published_earliest",
        "published_latest",
        "observations",
        "contradictions",
    ]
    rows = load(data_dir).dropna(subset=["published_earliest", "published_latest"])
    if rows.empty:
        return pd.DataFrame(columns=columns)
    rows = rows.sort_values("snapshot_id")
    by_entry = rows.groupby("entry_id", sort=True)
    latest_start = by_entry["published_earliest"].transform("max")
    earliest_end = by_entry["published_latest"].transform("min")
    # An observation is disjoint from some other one exactly when it ends before the latest
    # start or starts after the earliest end of its entry's observations.
    rows["disjoint"] = (rows["published_latest"] < latest_start) | (
        rows["published_earliest"] > earliest_end
    )
    frame = by_entry.agg(
        title=("title", "last"),
        published_earliest=("published_earliest", "max"),
        published_latest=("published_latest", "min"),
        observations=("title", "size"),
    )
    frame["contradictions"] = rows.groupby("entry_id", sort=True)["disjoint"].sum()
    contradicted = frame["contradictions"] > 0
    frame.loc[contradicted, ["published_earliest", "published_latest"]] = pd.NaT
    return frame.reset_index()[columns]


DIFF_FIELDS = ("title", "url", "summary", "views")


def _jsonable(value: object) -> object:
    """Plain Python values for JSON output; every kind of missing becomes None."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


def diff(data_dir: str | Path | None = None, a: str | None = None, b: str | None = None) -> dict:
    """What changed between snapshots ``a`` and ``b`` (default: the last two).

    ``new``: listed in b, not in a; ``vanished``: listed in a, not in b; ``changed``: in both,
    with a different title, URL, summary or view count (``changes`` maps field -> [a, b]).
    """
    data_dir = archive_dir(data_dir)
    ids = [s.snapshot_id for s in _select(data_dir, None)]
    if a is None and b is None:
        if len(ids) < 2:
            raise ArchiverError(f"diff needs two snapshots; {data_dir} has {len(ids)}")
        a, b = ids[-2], ids[-1]
    elif a is None or b is None:
        raise ArchiverError("diff takes two snapshot ids, or none for the last two")
    return {"from": a, "to": b} | diff_rows(load(data_dir, a), load(data_dir, b))


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
    snapshots = _select(data_dir, None)
    ids = [s.snapshot_id for s in snapshots]
    if snapshot_id not in ids:
        raise ArchiverError(f"snapshot {snapshot_id!r} not found under {data_dir}")
    this = next(s for s in snapshots if s.snapshot_id == snapshot_id)
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
