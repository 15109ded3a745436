"""Feed exporters for snapshots and for ``scrapy crawl listing -O out.parquet|out.jsonl``.

Both write exactly the contract's columns (``archiver.items.COLUMNS``) with their real types:
Parquet through an explicit Arrow schema, JSON Lines with ISO 8601 UTC timestamps (Scrapy's
own encoder drops the time zone).
"""

from __future__ import annotations

import contextlib
import logging
from datetime import datetime
from typing import Any, BinaryIO

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from itemadapter import ItemAdapter
from scrapy.exporters import BaseItemExporter, JsonLinesItemExporter

from archiver.items import COLUMNS, SCHEMA

ROW_GROUP_SIZE = 1000
logger = logging.getLogger(__name__)


def _with_pandas_metadata(schema: pa.Schema) -> pa.Schema:
    """Add the pandas metadata pyarrow writes for DataFrames, so that a plain
    ``pandas.read_parquet`` restores nullable integers (``views``) as ``Int64``, not float."""
    empty = schema.empty_table().to_pandas(types_mapper={pa.int64(): pd.Int64Dtype()}.get)
    return schema.with_metadata(pa.Schema.from_pandas(empty, preserve_index=False).metadata)


def iso_utc(value: datetime) -> str:
    """``2025-10-26T12:00:00Z``: the form pandas, DuckDB and jq all read back as UTC."""
    return value.isoformat().replace("+00:00", "Z")


class JsonLinesExporter(JsonLinesItemExporter):
    """One JSON object per line, contract columns in contract order, timestamps in ISO 8601."""

    def __init__(self, file: BinaryIO, **kwargs: Any) -> None:
        kwargs.setdefault("fields_to_export", COLUMNS)
        kwargs.setdefault("export_empty_fields", True)
        kwargs.setdefault("encoding", "utf-8")
        super().__init__(file, **kwargs)

    def serialize_field(self, field: Any, name: str, value: Any) -> Any:
        if isinstance(value, datetime):
            return iso_utc(value)
        return super().serialize_field(field, name, value)


class ParquetExporter(BaseItemExporter):
    """Streams items into Parquet row groups, so memory stays flat however long the crawl.

    Rows are buffered up to ``row_group_size`` and written as one row group; the schema is
    ``archiver.items.SCHEMA`` (or the one given) whatever the items hold. A row whose value
    has the wrong type is never turned into a string column: it is left out and kept in
    ``rejected`` with its error (the rest of its row group is written), and a feed export
    logs it; a snapshot lists its page as failed.
    """

    def __init__(
        self,
        file: BinaryIO,
        *,
        row_group_size: int = ROW_GROUP_SIZE,
        schema: pa.Schema = SCHEMA,
        **kwargs: Any,
    ):
        kwargs.setdefault("fields_to_export", schema.names)
        super().__init__(dont_fail=True, **kwargs)
        self.file = file
        self.schema = _with_pandas_metadata(schema)
        self.row_group_size = row_group_size
        self._items: list[Any] = []
        self._writer: pq.ParquetWriter | None = None
        self.rows_written = 0
        self.rejected: list[tuple[Any, Exception]] = []

    def start_exporting(self) -> None:
        # Page checksums let every reader (archiver.load) notice a changed byte.
        self._writer = pq.ParquetWriter(
            self.file,
            self.schema,
            compression="zstd",
            write_statistics=True,
            write_page_checksum=True,
        )

    def export_item(self, item: Any) -> None:
        self._items.append(item)
        if len(self._items) >= self.row_group_size:
            self.write_batch(self._items)
            self._items = []

    def _row(self, item: Any) -> dict[str, Any]:
        adapter = ItemAdapter(item)
        row = {name: adapter.get(name) for name in self.schema.names}
        for name in ("extra", "counts"):
            if isinstance(row.get(name), dict):
                row[name] = list(row[name].items())
        return row

    def write_batch(self, items: list[Any]) -> list[Any]:
        """Write ``items`` as one row group; return those that were written."""
        if not items:
            return []
        if self._writer is None:
            self.start_exporting()
        rows = [self._row(item) for item in items]
        try:
            table = pa.Table.from_pylist(rows, schema=self.schema)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError):
            # Find the rows at fault, one by one, and write the others.
            good_items, good_rows = [], []
            for item, row in zip(items, rows, strict=True):
                try:
                    pa.Table.from_pylist([row], schema=self.schema)
                except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError) as exc:
                    self.rejected.append((item, exc))
                    logger.error(
                        "entry %s on %s not written: %s",
                        getattr(item, "position", "?"),
                        getattr(item, "page_url", "?"),
                        exc,
                    )
                else:
                    good_items.append(item)
                    good_rows.append(row)
            items = good_items
            table = pa.Table.from_pylist(good_rows, schema=self.schema)
        self._writer.write_table(table)  # type: ignore[union-attr]
        self.rows_written += table.num_rows
        return items

    def abort(self) -> None:
        """Give up the file (a write failed): release the writer without writing more."""
        writer, self._writer, self._items = self._writer, None, []
        if writer is not None:
            with contextlib.suppress(Exception):
                writer.close()

    def finish_exporting(self) -> None:
        self.write_batch(self._items)
        self._items = []
        if self._writer is None:  # no item at all: still a valid, empty, typed file
            self.start_exporting()
        self._writer.close()  # type: ignore[union-attr]
        self._writer = None
