"""The row archiver writes: one entry of a listing page, as seen by one crawl.

The dataclass is what spiders and pipelines pass around; ``SCHEMA`` is the same contract as
Arrow types, so that Parquet files carry real types (timestamps, int64) rather than strings.
A test keeps the two in step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import pyarrow as pa

UTC_TIMESTAMP = pa.timestamp("us", tz="UTC")


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
    views: int | None = None
    # The start URL of the listing the entry was found through (page_url is the page).
    listing_url: str | None = None
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
    # Why a printed value could not be read (field -> reason), for `archiver profile check`.
    rejected: dict[str, str] = field(default_factory=dict, repr=False, compare=False)


# Column order is the order users see in pandas; it follows the contract's table.
SCHEMA = pa.schema(
    [
        pa.field("snapshot_id", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("entry_id", pa.string(), nullable=False),
        pa.field("url", pa.string()),
        pa.field("title", pa.string(), nullable=False),
        pa.field("summary", pa.string()),
        pa.field("age_text", pa.string()),
        pa.field("published_earliest", UTC_TIMESTAMP),
        pa.field("published_latest", UTC_TIMESTAMP),
        pa.field("views", pa.int64()),
        pa.field("views_text", pa.string()),
        pa.field("position", pa.int32(), nullable=False),
        pa.field("page_url", pa.string(), nullable=False),
        pa.field("listing_url", pa.string()),
        pa.field("fetched_at", UTC_TIMESTAMP, nullable=False),
        pa.field("page_time", UTC_TIMESTAMP, nullable=False),
        pa.field("extra", pa.map_(pa.string(), pa.string())),
        pa.field("counts", pa.map_(pa.string(), pa.int64())),
        pa.field("warc_record_id", pa.string()),
        pa.field("warc_filename", pa.string()),
    ]
)

COLUMNS: list[str] = SCHEMA.names

# Inside a snapshot directory ``snapshot_id=<id>/`` the id is the hive partition key, so the
# file itself leaves it out, as Spark, pyarrow, DuckDB and polars expect of partitioned data.
PARTITIONED_SCHEMA = SCHEMA.remove(SCHEMA.get_field_index("snapshot_id"))
