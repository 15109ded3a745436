"""Rows as files: JSON Lines written as the rows arrive, Parquet row groups built from them.

The work is done per batch, not per field: a row is read once, and Arrow converts each
column of a row group in one call. Rows may be ``ListingEntry`` dataclasses or plain dicts.
Nothing here imports Scrapy, and pyarrow only when Parquet is written: the crawl stages JSON
Lines without it, and ``archiver.cli.publish`` builds the Parquet file without Scrapy.
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import shutil
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from archiver.extract.dates import iso_utc
from archiver.items import COLUMN_TYPES, arrow_schema, column_fits, row_problem
from archiver.version import __version__

if TYPE_CHECKING:
    import pyarrow as pa

ROW_GROUP_SIZE = 1000
logger = logging.getLogger(__name__)
_TIMESTAMPS = tuple(column.name for column in COLUMN_TYPES if column.kind == "timestamp")


def getter(row: Any) -> Callable[[str], Any]:
    """How to read a field of ``row``: a dict by key, a dataclass by attribute."""
    if isinstance(row, dict):
        return row.get
    fields = getattr(row, "__dict__", None)
    if fields is not None:
        return fields.get
    return lambda name: getattr(row, name, None)


def json_line(row: Any, columns: Iterable[str]) -> bytes:
    """One JSON Lines line: ``columns`` in order, timestamps in ISO 8601 UTC (``...Z``)."""
    get = getter(row)
    document = {}
    for name in columns:
        value = get(name)
        document[name] = iso_utc(value) if isinstance(value, datetime) else value
    return json.dumps(document, ensure_ascii=False).encode("utf-8") + b"\n"


def open_jsonl(path: str | os.PathLike[str]) -> BinaryIO:
    """A JSON Lines file for reading, gzip or plain by its name (``.jsonl.gz``, ``.jsonl``)."""
    if str(path).endswith(".gz"):
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return open(path, "rb")


def published_rows(snapshot: Path, manifest: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """A published snapshot's rows as JSON, from every part's JSON Lines file the manifest
    lists (gzip; plain in manifest format 1), untyped: for readers that want a few fields
    without pyarrow (the carried dates, the pages of a WACZ)."""
    names = [n for n in manifest.get("files", {}) if n.endswith((".jsonl", ".jsonl.gz"))]
    for name in names or ["_meta/entries.jsonl"]:
        with open_jsonl(snapshot / name) as lines:
            for line in lines:
                yield json.loads(line)


def compress_jsonl(source: Path) -> Path:
    """``source`` gzipped beside it (``.jsonl.gz``, synced), then ``source`` removed.

    The output is deterministic (no name, no time in the gzip header): the same rows give
    the same bytes and checksum, read again or published again. A crash part-way leaves
    ``source`` whole, and the next attempt writes the compressed file afresh."""
    target = source.with_name(source.name + ".gz")
    with source.open("rb") as raw, target.open("wb") as out:
        with gzip.GzipFile(filename="", fileobj=out, mode="wb", compresslevel=6, mtime=0) as gz:
            shutil.copyfileobj(raw, gz, 1 << 20)
        out.flush()
        os.fsync(out.fileno())
    source.unlink()
    return target


def decompress_jsonl(source: Path) -> Path:
    """The reverse, for a staging folder a resumed crawl appends to again."""
    target = source.with_name(source.name.removesuffix(".gz"))
    with gzip.open(source, "rb") as gz, target.open("wb") as out:
        shutil.copyfileobj(gz, out, 1 << 20)
        out.flush()
        os.fsync(out.fileno())
    source.unlink()
    return target


def read_jsonl_batches(path: Any, size: int) -> Iterator[list[dict[str, Any]]]:
    """Rows of a JSON Lines file written by ``json_line`` (plain or gzip), typed again
    (timestamps back to aware datetimes), ``size`` at a time."""
    batch: list[dict[str, Any]] = []
    with open_jsonl(path) as handle:
        for line in handle:
            row = json.loads(line)
            for name in _TIMESTAMPS:
                if (value := row.get(name)) is not None:
                    row[name] = datetime.fromisoformat(value)
            batch.append(row)
            if len(batch) >= size:
                yield batch
                batch = []
    if batch:
        yield batch


def pandas_metadata(schema: pa.Schema) -> dict[bytes, bytes]:
    """The ``pandas`` metadata pyarrow writes for a DataFrame of this schema, built without
    importing pandas (a crawl does not need its 90 MB): with it, a plain
    ``pandas.read_parquet`` restores nullable integers (``views``) as ``Int64``."""
    import pyarrow as pa

    def describe(field: pa.Field) -> dict[str, Any]:
        kind = field.type
        if pa.types.is_timestamp(kind):
            return {"pandas_type": "datetimetz", "numpy_type": "datetime64[us]",
                    "metadata": {"timezone": kind.tz}}  # fmt: skip
        if pa.types.is_integer(kind):  # a nullable one as pandas' nullable integer type
            name = str(kind)
            numpy = name.capitalize() if field.nullable else name
            return {"pandas_type": name, "numpy_type": numpy, "metadata": None}
        if pa.types.is_string(kind):
            return {"pandas_type": "unicode", "numpy_type": "object", "metadata": None}
        return {"pandas_type": "object", "numpy_type": "object", "metadata": None}

    document = {
        "index_columns": [],
        "column_indexes": [],
        "columns": [{"name": f.name, "field_name": f.name, **describe(f)} for f in schema],
        "creator": {"library": "archiver", "version": __version__},
        "pandas_version": "2.1.0",
    }
    return {b"pandas": json.dumps(document).encode()}


class ParquetRowWriter:
    """Writes rows to a Parquet file in row groups, with an explicit schema (the contract's
    by default), zstd compression, statistics and page checksums (so that every reader,
    ``archiver.load`` included, notices a changed byte).

    A row that does not fit the schema (``archiver.items.row_problem``) is left out and kept
    in ``rejected`` with its reason, never turned into strings; the rest of its row group is
    written.
    """

    def __init__(self, file: BinaryIO, schema: pa.Schema | None = None) -> None:
        schema = schema if schema is not None else arrow_schema()
        self.file = file
        self.schema = schema.with_metadata(pandas_metadata(schema))
        self.columns = tuple(c for c in COLUMN_TYPES if c.name in schema.names)
        self.rows_written = 0
        self.rejected: list[tuple[Any, Exception]] = []
        self._writer: Any = None

    def _open(self) -> None:
        import pyarrow.parquet as pq

        self._writer = pq.ParquetWriter(
            self.file,
            self.schema,
            compression="zstd",
            write_statistics=True,
            write_page_checksum=True,
        )

    def _table(self, rows: list[Any]) -> pa.Table:
        import pyarrow as pa

        gets = [getter(row) for row in rows]
        arrays = []
        for field, column in zip(self.schema, self.columns, strict=True):
            values = [get(field.name) for get in gets]
            if not column_fits(column.kind, values):
                raise TypeError(f"column {field.name!r}: a value of the wrong type")
            array = pa.array(values, type=field.type)
            if not field.nullable and array.null_count:
                raise pa.ArrowInvalid(f"column {field.name!r} cannot be null")
            arrays.append(array)
        return pa.Table.from_arrays(arrays, schema=self.schema)

    def write(self, rows: list[Any]) -> list[Any]:
        """Write ``rows`` as one row group; return those that were written.

        Arrow converts and checks each column in one call; only when a batch fails are its
        rows checked one by one, to leave out just the ones at fault."""
        import pyarrow as pa

        if not rows:
            return []
        try:
            table = self._table(rows)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError):
            good = []
            for row in rows:
                problem = row_problem(getter(row), self.columns)
                if problem is None:
                    good.append(row)
                    continue
                self.rejected.append((row, TypeError(problem)))
                logger.error(
                    "entry %s on %s not written: %s",
                    getter(row)("position") or "?",
                    getter(row)("page_url") or "?",
                    problem,
                )
            rows = good
            if not rows:
                return []
            table = self._table(rows)
        if self._writer is None:
            self._open()
        self._writer.write_table(table)
        self.rows_written += table.num_rows
        return rows

    def close(self) -> None:
        """Finish the file (a valid, typed, empty one if no row was written)."""
        if self._writer is None:
            self._open()
        self._writer.close()
        self._writer = None

    def abort(self) -> None:
        """Give up the file (a write failed): release the writer without writing more."""
        writer, self._writer = self._writer, None
        if writer is not None:
            try:
                writer.close()
            except Exception:  # the file is being thrown away; its state does not matter
                logger.debug("closing an abandoned Parquet writer failed", exc_info=True)
