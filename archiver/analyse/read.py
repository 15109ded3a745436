"""Reading snapshots back, typed: ``load`` returns every row with the contract's types, and a
snapshot whose bytes differ from its manifest is left out with a warning, never read. Also
which listings an archive holds, by name or start URL.
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
from archiver.store.layout import (
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


def select_snapshots(
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
    snapshots = select_snapshots(data_dir, snapshot, readings)
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


def listing_urls(data_dir: str | Path | None, listing: str | None) -> set[str] | None:
    """The start URLs ``listing`` names: a listing's name (the manifest's ``listing``) or
    one of its start URLs. None for every listing. An ArchiverError lists those there are."""
    if listing is None:
        return None
    snapshots = select_snapshots(data_dir, None)
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


def listings(data_dir: str | Path | None = None) -> list[str]:
    """Every listing (start URL) the archive's current snapshots crawled, sorted."""
    snapshots = select_snapshots(archive_dir(data_dir), None)
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
    for s in select_snapshots(archive_dir(data_dir), None):  # oldest first: the newest name wins
        if s.manifest.get("listing"):
            names.update(dict.fromkeys(s.manifest.get("start_urls", []), s.manifest["listing"]))
    return names
