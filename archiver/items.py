"""The row archiver writes: one entry of a listing page, as seen by one crawl.

The dataclass is what spiders and pipelines pass around; ``COLUMN_TYPES`` is the same
contract as column types, from which ``SCHEMA`` (Arrow) is made, so that Parquet files
carry real types (timestamps, int64) rather than strings. tests/test_items.py keeps the
two in step.

The Arrow schema is built on first use, not at import: a crawl stages its rows as JSON
Lines and never loads pyarrow (about 40 MB), which only publishing and reading need.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    import pyarrow as pa


@dataclass
class ListingEntry:
    """One entry as printed on a listing page, then normalised by the item pipelines.

    The spider fills the ``*_text`` and raw fields; pipelines derive ``views``,
    ``published_*`` and ``entry_id`` so that what was printed is always kept beside what
    was inferred from it.
    """

    snapshot_id: str
    source: str | None
    title: str | None
    page_url: str
    position: int
    fetched_at: datetime
    page_time: datetime
    url: str | None = None
    summary: str | None = None
    age_text: str | None = None
    views_text: str | None = None
    entry_id: str | None = None
    published_earliest: datetime | None = None
    published_latest: datetime | None = None
    # Where the interval came from (age, markup, feed, post, carried), that evidence as found,
    # and the sources that contradicted it (archiver.extract.published).
    published_source: str | None = None
    published_raw: str | None = None
    published_conflict: str | None = None
    views: int | None = None
    # The start URL of the listing the entry was found through (page_url is the page).
    listing_url: str | None = None
    # The listing's name in the listings file (``-a listing=NAME``); None when unnamed.
    listing_name: str | None = None
    # Fields a profile declares beyond the contract's columns, as printed (name -> text).
    extra: dict[str, str] = field(default_factory=dict)
    # Those of the extra fields the profile declares as counts, as numbers (name -> int).
    counts: dict[str, int] = field(default_factory=dict)
    # The evidence: the WARC response record the row was read from, and its file (relative
    # to the snapshot directory). None when the crawl kept no WARC (ARCHIVER_WARC=False).
    warc_record_id: str | None = None
    warc_filename: str | None = None
    # Hints from the profile for the pipelines; not columns (exporters write only COLUMNS).
    date_order: str = field(default="mdy", repr=False, compare=False)
    count_fields: tuple[str, ...] = field(default=(), repr=False, compare=False)
    # The publication times stated for machines, as the spider found them: [{"source", "raw"}]
    # in order of trust; the published pipeline narrows the age's interval with them.
    stated: list[dict[str, str]] = field(default_factory=list, repr=False, compare=False)
    # Why a printed value could not be read (field -> reason), for `archiver profile check`.
    rejected: dict[str, str] = field(default_factory=dict, repr=False, compare=False)


class Column(NamedTuple):
    name: str
    kind: str  # string, int64, int32, timestamp, map_string, map_int64
    nullable: bool = True


# Column order is the order users see in pandas; it follows the contract's table.
COLUMN_TYPES: tuple[Column, ...] = (
    Column("snapshot_id", "string", nullable=False),
    Column("source", "string", nullable=False),
    Column("entry_id", "string", nullable=False),
    Column("url", "string"),
    Column("title", "string", nullable=False),
    Column("summary", "string"),
    Column("age_text", "string"),
    Column("published_earliest", "timestamp"),
    Column("published_latest", "timestamp"),
    Column("published_source", "string"),
    Column("published_raw", "string"),
    Column("published_conflict", "string"),
    Column("views", "int64"),
    Column("views_text", "string"),
    Column("position", "int32", nullable=False),
    Column("page_url", "string", nullable=False),
    Column("listing_url", "string"),
    Column("listing_name", "string"),
    Column("fetched_at", "timestamp", nullable=False),
    Column("page_time", "timestamp", nullable=False),
    Column("extra", "map_string"),
    Column("counts", "map_int64"),
    Column("warc_record_id", "string"),
    Column("warc_filename", "string"),
)

COLUMNS: list[str] = [column.name for column in COLUMN_TYPES]

_INT_RANGE = {"int64": 2**63, "int32": 2**31}


def _kind_ok(kind: str, value: Any) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind in _INT_RANGE:
        limit = _INT_RANGE[kind]
        return isinstance(value, int) and not isinstance(value, bool) and -limit <= value < limit
    if kind == "timestamp":
        return isinstance(value, datetime) and value.tzinfo is not None
    inner = "string" if kind == "map_string" else "int64"
    return isinstance(value, dict) and all(
        isinstance(key, str) and _kind_ok(inner, item) for key, item in value.items()
    )


_NONE = type(None)
_EXACT = {
    "string": {str, _NONE}, "int64": {int, _NONE}, "int32": {int, _NONE},
    "timestamp": {datetime, _NONE}, "map_string": {dict, _NONE}, "map_int64": {dict, _NONE},
}  # fmt: skip


def column_fits(kind: str, values: list[Any]) -> bool:
    """True when every value of one column fits ``kind``: a whole column at once, cheaply
    (``row_problem`` finds the row at fault when one does not). Arrow alone would accept
    bytes as text, truncate 1.5 to 1 and read a naive time as UTC: silent changes."""
    if not set(map(type, values)) <= _EXACT[kind]:
        return all(value is None or _kind_ok(kind, value) for value in values)  # subclasses
    if kind in _INT_RANGE:
        limit = _INT_RANGE[kind]
        return all(-limit <= value < limit for value in values if value is not None)
    if kind == "timestamp":
        return all(value.tzinfo is not None for value in values if value is not None)
    if kind.startswith("map_"):
        return all(value is None or _kind_ok(kind, value) for value in values)
    return True


def row_problem(get: Any, columns: tuple[Column, ...] = COLUMN_TYPES) -> str | None:
    """Why a row (``get(name)`` reads a field) cannot be stored in these columns, or None.

    Checked before a row is written, so that a value of the wrong type never reaches one
    file of a snapshot and not the other (Parquet refuses what JSON would take).
    """
    for name, kind, nullable in columns:
        value = get(name)
        if value is None:
            if not nullable:
                return f"column {name!r} cannot be null"
        elif not _kind_ok(kind, value):
            return f"column {name!r} ({kind}) cannot hold {value!r:.60}"
    return None


@functools.cache
def arrow_schema(partitioned: bool = False) -> pa.Schema:
    """The columns as an Arrow schema. ``partitioned``: without ``snapshot_id``, which a
    file inside ``snapshot_id=<id>/`` leaves out, as Spark, pyarrow, DuckDB and polars
    expect of hive-partitioned data."""
    import pyarrow as pa

    timestamp = pa.timestamp("us", tz="UTC")
    types = {
        "string": pa.string(),
        "int64": pa.int64(),
        "int32": pa.int32(),
        "timestamp": timestamp,
        "map_string": pa.map_(pa.string(), pa.string()),
        "map_int64": pa.map_(pa.string(), pa.int64()),
    }
    return pa.schema(
        pa.field(column.name, types[column.kind], nullable=column.nullable)
        for column in COLUMN_TYPES
        if not (partitioned and column.name == "snapshot_id")
    )


def __getattr__(name: str) -> Any:
    # ``SCHEMA`` and ``PARTITIONED_SCHEMA`` as before, made on first use.
    if name == "SCHEMA":
        return arrow_schema()
    if name == "PARTITIONED_SCHEMA":
        return arrow_schema(partitioned=True)
    if name == "UTC_TIMESTAMP":
        return arrow_schema().field("fetched_at").type
    raise AttributeError(name)
