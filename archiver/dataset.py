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
    find_snapshot,
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
        return [find_snapshot(snapshots, snapshot, data_dir)]
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
    """Nullable integers stay integers (``Int64``); times are UTC; ``extra`` and ``counts``
    are dicts (``row["counts"]["points"]``), not pyarrow's lists of pairs."""
    return table.to_pandas(types_mapper=_PANDAS_TYPES.get, maps_as_pydicts="strict")


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


HISTORY_COLUMNS = [
    "entry_id", "snapshot_id", "source", "title", "views", "position", "present",
    "listing_url", "fetched_at", "views_delta", "views_per_day",
]  # fmt: skip


def snapshot_times(snapshots: list[SnapshotInfo]) -> dict[str, pd.Timestamp]:
    """When each snapshot's crawl started (UTC): the time of an absence it records."""
    times = {}
    for info in snapshots:
        started = info.manifest.get("started_at")
        times[info.snapshot_id] = pd.Timestamp(started) if started else pd.NaT
    return times


def listing_urls(data_dir: str | Path | None, listing: str | None) -> set[str] | None:
    """The start URLs ``listing`` names: a listing's name (the manifest's ``listing``) or
    one of its start URLs. None for every listing. An ArchiverError lists those there are."""
    if listing is None:
        return None
    snapshots = _select(data_dir, None)
    named = {
        url
        for s in snapshots
        if s.manifest.get("listing") == listing
        for url in s.manifest.get("start_urls", [])
    }
    if named:
        return named
    known = {url for s in snapshots for url in s.manifest.get("start_urls", [])}
    if listing in known:
        return {listing}
    names = sorted({s.manifest["listing"] for s in snapshots if s.manifest.get("listing")})
    choices = ", ".join([*names, *sorted(known)]) or "none"
    raise ArchiverError(f"no listing {listing!r} under {data_dir}; listings there: {choices}")


def history(data_dir: str | Path | None = None, listing: str | None = None) -> pd.DataFrame:
    """One row per entry and snapshot, in time order, with ``present`` telling whether the
    entry was listed, and its growth: ``views_delta`` and ``views_per_day`` since the
    entry's previous observation with a view count (the first has none).

    Absence is only claimed where it is evidence: a row with ``present=False`` comes from a
    *complete* snapshot, later than the entry's first sighting, that crawled the listing the
    entry was found through. Partial and failed snapshots add rows only for what they saw.
    ``fetched_at`` is when the entry's page was fetched, or for an absence when that
    snapshot's crawl started. ``listing``: one listing's entries (a name or start URL).
    """
    data_dir = archive_dir(data_dir)
    wanted = listing_urls(data_dir, listing)
    rows = load(data_dir)
    if wanted is not None:
        rows = rows[rows["listing_url"].isin(wanted)]
    if rows.empty:
        return _typed_history(pd.DataFrame(columns=HISTORY_COLUMNS))
    rows["scope"] = rows["listing_url"].fillna(rows["source"])
    seen = (
        rows.sort_values(["snapshot_id", "position"])
        .drop_duplicates(["snapshot_id", "entry_id"])
        .assign(present=True)
    )
    latest = seen.drop_duplicates("entry_id", keep="last")
    snapshots = _select(data_dir, None)
    candidates = latest[["entry_id", "source", "title", "scope", "listing_url"]].merge(
        _coverage(snapshots), on="scope"
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
    started = snapshot_times(snapshots)
    missing = missing.assign(
        views=pd.NA,
        position=pd.NA,
        present=False,
        fetched_at=missing["snapshot_id"].map(started),
    )
    columns = HISTORY_COLUMNS[:-2]
    seen = seen[columns]
    out = pd.concat([seen, missing[columns]], ignore_index=True) if len(missing) else seen
    out = out.sort_values(["snapshot_id", "position", "entry_id"], na_position="last")
    return _typed_history(_with_growth(out.reset_index(drop=True)))


def _with_growth(frame: pd.DataFrame) -> pd.DataFrame:
    """``views_delta`` and ``views_per_day`` against each entry's previous counted view."""
    frame = frame.assign(views_delta=pd.NA, views_per_day=float("nan"))
    counted = frame[frame["views"].notna()].sort_values(["entry_id", "snapshot_id"])
    previous = counted.groupby("entry_id")[["views", "fetched_at"]].shift()
    delta = counted["views"] - previous["views"]
    days = (counted["fetched_at"] - previous["fetched_at"]).dt.total_seconds() / 86400
    frame.loc[counted.index, "views_delta"] = delta
    per_day = delta.astype("Float64") / days.where(days > 0)
    frame.loc[counted.index, "views_per_day"] = per_day.astype(float)
    return frame


def _typed_history(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.astype(
        {
            "views": "Int64",
            "position": "Int32",
            "present": bool,
            "views_delta": "Int64",
            "views_per_day": "float64",
            "fetched_at": "datetime64[us, UTC]",
        }
    )[HISTORY_COLUMNS]


def top(
    data_dir: str | Path | None = None,
    listing: str | None = None,
    since: str = "7d",
    n: int | None = 10,
) -> pd.DataFrame:
    """What moved in one listing over ``since`` (``7d``, ``24h``, ``2w``): each entry of the
    latest usable snapshot against the latest usable one at least ``since`` older (else the
    oldest), as ``change`` ``gained`` (views rose, most first; ``n`` of them), ``new`` or
    ``vanished``, with ``views_before``, ``views_after``, ``views_gained`` and
    ``views_per_day``. With several listings, name one."""
    data_dir = archive_dir(data_dir)
    span = parse_span(since)
    snapshots = [s for s in _select(data_dir, None) if s.usable]
    wanted = one_listing(data_dir, listing) or set()
    ours = [s for s in snapshots if wanted & set(s.manifest.get("start_urls", []))]
    columns = ["entry_id", "title", "change", "views_before", "views_after", "views_gained",
               "views_per_day", "url"]  # fmt: skip
    if len(ours) < 2:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    times = snapshot_times(ours)
    after = ours[-1]
    cutoff = times[after.snapshot_id] - span
    before = next((s for s in reversed(ours[:-1]) if times[s.snapshot_id] <= cutoff), ours[0])
    old, new = (
        frame[frame["listing_url"].isin(wanted)].drop_duplicates("entry_id")
        for frame in (load(data_dir, before.snapshot_id), load(data_dir, after.snapshot_id))
    )
    merged = old[["entry_id", "title", "views", "url"]].merge(
        new[["entry_id", "title", "views", "url"]],
        on="entry_id",
        how="outer",
        suffixes=("_before", "_after"),
        indicator=True,
    )
    days = (times[after.snapshot_id] - times[before.snapshot_id]).total_seconds() / 86400
    merged["title"] = merged["title_after"].fillna(merged["title_before"])
    merged["url"] = merged["url_after"].fillna(merged["url_before"])
    merged["change"] = (
        merged["_merge"]
        .astype(str)
        .map({"both": "gained", "right_only": "new", "left_only": "vanished"})
    )
    merged["views_gained"] = (merged["views_after"] - merged["views_before"]).astype("Int64")
    merged["views_per_day"] = (
        merged["views_gained"].astype("Float64") / days if days > 0 else float("nan")
    )
    merged["views_per_day"] = merged["views_per_day"].astype(float)
    gained = merged[(merged["change"] == "gained") & (merged["views_gained"] > 0)]
    gained = gained.sort_values(["views_gained", "entry_id"], ascending=[False, True])
    if n is not None:
        gained = gained.head(n)
    rest = merged[merged["change"] != "gained"].sort_values(["change", "entry_id"])
    out = pd.concat([gained, rest], ignore_index=True)[columns]
    out.attrs |= {"from": before.snapshot_id, "to": after.snapshot_id, "days": days}
    return out.astype({"views_before": "Int64", "views_after": "Int64", "change": "string"})


_SPAN_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_span(text: str) -> pd.Timedelta:
    """``7d``, ``24h``, ``30m``, ``2w`` as a time span; an ArchiverError says what is wrong."""
    number, unit = text[:-1].strip(), text[-1:].lower()
    if unit not in _SPAN_UNITS or not number.isdigit():
        raise ArchiverError(f"--since {text!r}: a whole number and m, h, d or w (e.g. 7d)")
    return pd.Timedelta(**{_SPAN_UNITS[unit]: int(number)})


def published(data_dir: str | Path | None = None, listing: str | None = None) -> pd.DataFrame:
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
    wanted = listing_urls(data_dir, listing)
    if wanted is not None:
        rows = rows[rows["listing_url"].isin(wanted)]
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


def listings(data_dir: str | Path | None = None) -> list[str]:
    """Every listing (start URL) the archive's current snapshots crawled, sorted."""
    snapshots = _select(archive_dir(data_dir), None)
    return sorted({url for s in snapshots for url in s.manifest.get("start_urls", [])})


def one_listing(data_dir: str | Path | None, listing: str | None) -> set[str] | None:
    """The start URLs of the listing to look at: ``listing``'s, or the archive's only one.
    With several listings and none named, an ArchiverError names them: comparing one
    site's snapshot with another's says nothing."""
    if listing is not None:
        return listing_urls(data_dir, listing)
    urls = listings(data_dir)
    if len(urls) > 1:
        names = listing_names(data_dir)
        shown = [f"{names[url]} ({url})" if url in names else url for url in urls]
        raise ArchiverError(
            f"{archive_dir(data_dir)} holds {len(urls)} listings; name one with --listing "
            f"(listing=...): {', '.join(shown)}"
        )
    return set(urls) or None


def listing_names(data_dir: str | Path | None = None) -> dict[str, str]:
    """Each start URL's name in ``listings.toml``, as the newest snapshot crawling it by
    name recorded it (the manifest's ``listing``)."""
    names: dict[str, str] = {}
    for s in _select(archive_dir(data_dir), None):  # oldest first: the newest name wins
        if s.manifest.get("listing"):
            names.update(dict.fromkeys(s.manifest.get("start_urls", []), s.manifest["listing"]))
    return names


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
            for s in _select(data_dir, None)
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
    snapshots = _select(data_dir, None)
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
