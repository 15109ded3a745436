"""Feed exporters for ``scrapy crawl listing -O out.parquet|out.jsonl`` (``FEED_EXPORTERS``).

Both write exactly the contract's columns (``archiver.items.COLUMNS``) with their real types:
Parquet through an explicit Arrow schema, JSON Lines with ISO 8601 UTC timestamps (Scrapy's
own encoder drops the time zone). The work is per batch, not per field (``archiver.store.rows``):
Scrapy's ``BaseItemExporter`` machinery is kept for its options, not for serialising.
Snapshots are written with the same code.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any, BinaryIO

from scrapy.exporters import BaseItemExporter, JsonLinesItemExporter

from archiver.extract.dates import iso_utc
from archiver.items import COLUMNS
from archiver.store.rows import ROW_GROUP_SIZE, ParquetRowWriter, json_line

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["ROW_GROUP_SIZE", "JsonLinesExporter", "ParquetExporter", "iso_utc"]


class JsonLinesExporter(JsonLinesItemExporter):
    """One JSON object per line, contract columns in contract order, timestamps in ISO 8601."""

    def __init__(self, file: BinaryIO, **kwargs: Any) -> None:
        kwargs["fields_to_export"] = kwargs.get("fields_to_export") or COLUMNS  # None: all
        kwargs.setdefault("export_empty_fields", True)
        kwargs.setdefault("encoding", "utf-8")
        super().__init__(file, **kwargs)
        self.columns = list(self.fields_to_export)  # type: ignore[arg-type]

    def serialize_field(self, field: Any, name: str, value: Any) -> Any:
        if isinstance(value, datetime):
            return iso_utc(value)
        return super().serialize_field(field, name, value)

    def export_item(self, item: Any) -> None:
        self.file.write(json_line(item, self.columns))

    def export_items(self, items: Iterable[Any]) -> None:
        """Several lines in one write."""
        self.file.write(b"".join(json_line(item, self.columns) for item in items))


class ParquetExporter(BaseItemExporter):
    """Streams items into Parquet row groups of ``row_group_size``, so memory stays flat
    however long the crawl. A row of the wrong type is left out and kept in ``rejected``
    (``archiver.store.rows.ParquetRowWriter``)."""

    def __init__(
        self,
        file: BinaryIO,
        *,
        row_group_size: int = ROW_GROUP_SIZE,
        schema: pa.Schema | None = None,
        **kwargs: Any,
    ):
        self.writer = ParquetRowWriter(file, schema)
        kwargs["fields_to_export"] = kwargs.get("fields_to_export") or self.writer.schema.names
        super().__init__(dont_fail=True, **kwargs)
        self.row_group_size = row_group_size
        self._items: list[Any] = []

    @property
    def rejected(self) -> list[tuple[Any, Exception]]:
        return self.writer.rejected

    @property
    def rows_written(self) -> int:
        return self.writer.rows_written

    def export_item(self, item: Any) -> None:
        self._items.append(item)
        if len(self._items) >= self.row_group_size:
            self.writer.write(self._items)
            self._items = []

    def finish_exporting(self) -> None:
        self.writer.write(self._items)
        self._items = []
        self.writer.close()
