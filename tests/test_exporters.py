"""One contract for every exporter: the contract's columns, real types, the same rows back.

Like Scrapy's own exporter tests, each exporter runs the same abstract checks; subclasses
say only how to read their file back.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from datetime import UTC, datetime

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from archiver.exporters import JsonLinesExporter, ParquetExporter
from archiver.items import COLUMNS, SCHEMA, ListingEntry

T = datetime(2025, 10, 26, 12, 0, tzinfo=UTC)


def full_entry(position: int = 1) -> ListingEntry:
    return ListingEntry(
        snapshot_id="20251026T120000Z-abcdef",
        source="Lil'Log",
        title=f"Post “{position}”",
        page_url="https://agg.example/",
        position=position,
        fetched_at=T,
        page_time=T,
        url=f"https://blog.example/p/{position}",
        summary="Summary",
        age_text="5 months ago",
        views_text="1.2k views",
        entry_id=f"{position:016x}",
        published_earliest=datetime(2025, 4, 26, 12, tzinfo=UTC),
        published_latest=datetime(2025, 5, 26, 12, tzinfo=UTC),
        views=1200,
        extra={"comments": "3 comments"},
    )


def sparse_entry() -> ListingEntry:
    return ListingEntry(
        snapshot_id="20251026T120000Z-abcdef",
        source="agg.example",
        title="Only a title",
        page_url="https://agg.example/",
        position=2,
        fetched_at=T,
        page_time=T,
        entry_id="0" * 16,
    )


class ExporterContract:
    exporter_cls: type

    def read_back(self, data: bytes) -> list[dict]:
        raise NotImplementedError

    def export(self, items: list[ListingEntry], **kwargs: object) -> bytes:
        buffer = io.BytesIO()
        exporter = self.exporter_cls(buffer, **kwargs)
        exporter.start_exporting()
        for item in items:
            exporter.export_item(item)
        exporter.finish_exporting()
        return buffer.getvalue()

    def test_columns_in_contract_order(self) -> None:
        [row] = self.read_back(self.export([full_entry()]))
        assert list(row) == COLUMNS

    def test_values_survive_the_round_trip(self) -> None:
        [row] = self.read_back(self.export([full_entry()]))
        assert row["views"] == 1200 and row["position"] == 1
        assert row["published_earliest"] == datetime(2025, 4, 26, 12, tzinfo=UTC)
        assert row["fetched_at"] == T
        assert row["title"] == "Post “1”"

    def test_missing_values_are_nulls_not_strings(self) -> None:
        [row] = self.read_back(self.export([sparse_entry()]))
        for name in ("url", "summary", "age_text", "views", "published_earliest"):
            assert row[name] is None, name

    def test_no_items_is_still_a_valid_file(self) -> None:
        assert self.read_back(self.export([])) == []

    def test_many_items_keep_their_order(self) -> None:
        rows = self.read_back(self.export([full_entry(i) for i in range(1, 2501)]))
        assert [r["position"] for r in rows] == list(range(1, 2501))


def _parse_times(row: dict) -> dict:
    for name in ("published_earliest", "published_latest", "fetched_at", "page_time"):
        if row[name] is not None:
            row[name] = datetime.fromisoformat(row[name].replace("Z", "+00:00"))
    return row


class TestJsonLinesExporter(ExporterContract):
    exporter_cls = JsonLinesExporter

    def read_back(self, data: bytes) -> list[dict]:
        return [_parse_times(json.loads(line)) for line in data.decode("utf-8").splitlines()]

    def test_timestamps_are_iso_utc(self) -> None:
        line = self.export([full_entry()]).decode("utf-8")
        assert '"fetched_at": "2025-10-26T12:00:00Z"' in line

    def test_pandas_reads_it_typed(self) -> None:
        frame = pd.read_json(io.BytesIO(self.export([full_entry()])), lines=True)
        assert str(frame["fetched_at"].dtype).startswith("datetime64") and "UTC" in str(
            frame["fetched_at"].dtype
        )


class TestParquetExporter(ExporterContract):
    exporter_cls = ParquetExporter

    def read_back(self, data: bytes) -> list[dict]:
        table = pq.read_table(io.BytesIO(data))
        rows = table.to_pylist()
        for row in rows:
            row["extra"] = dict(row["extra"]) if row["extra"] is not None else None
        return rows

    def test_schema_is_the_contract_not_strings(self) -> None:
        schema = pq.read_schema(io.BytesIO(self.export([full_entry()])))
        assert schema.remove_metadata() == SCHEMA
        assert schema.field("views").type == pa.int64()
        assert schema.field("fetched_at").type == pa.timestamp("us", tz="UTC")

    def test_rows_are_streamed_in_row_groups(self) -> None:
        data = self.export([full_entry(i) for i in range(1, 251)], row_group_size=100)
        assert pq.ParquetFile(io.BytesIO(data)).num_row_groups == 3

    def test_a_wrong_type_is_refused_not_turned_into_strings(self) -> None:
        bad = full_entry(2)
        bad.views = "many"  # type: ignore[assignment]
        buffer = io.BytesIO()
        exporter = ParquetExporter(buffer, row_group_size=3)
        exporter.start_exporting()
        for item in (full_entry(1), bad, full_entry(3)):
            exporter.export_item(item)
        exporter.finish_exporting()
        [(item, error)] = exporter.rejected
        assert item is bad and str(error) == "column 'views' (int64) cannot hold 'many'"
        table = pq.read_table(io.BytesIO(buffer.getvalue()))
        assert table.column("position").to_pylist() == [1, 3]  # its row group's others stay
        assert table.schema.field("views").type == pa.int64()

    def test_plain_pandas_keeps_nullable_integers(self) -> None:
        frame = pd.read_parquet(io.BytesIO(self.export([full_entry(), sparse_entry()])))
        assert str(frame["views"].dtype) == "Int64"
        assert frame["views"].isna().tolist() == [False, True]


def test_dict_items_are_exported_like_dataclass_items() -> None:
    """Feed exports take dicts too (the FEED_EXPORTERS contract): the same file results."""
    item = full_entry()
    as_dict = {name: getattr(item, name) for name in COLUMNS}
    for exporter_cls in (ParquetExporter, JsonLinesExporter):
        outputs = []
        for each in (item, as_dict):
            buffer = io.BytesIO()
            exporter = exporter_cls(buffer)
            exporter.start_exporting()
            exporter.export_item(each)
            exporter.finish_exporting()
            outputs.append(buffer.getvalue())
        assert outputs[0] == outputs[1], exporter_cls.__name__


def test_pandas_metadata_written_without_pandas_restores_the_types() -> None:
    """The crawl writes pandas' metadata without importing pandas; pandas reads it back
    with nullable integers where the schema allows nulls, and plain ones where it does not."""
    buffer = io.BytesIO()
    exporter = ParquetExporter(buffer)
    exporter.start_exporting()
    exporter.export_item(sparse_entry())
    exporter.finish_exporting()
    frame = pd.read_parquet(io.BytesIO(buffer.getvalue()))
    assert str(frame["views"].dtype) == "Int64" and str(frame["position"].dtype) == "int32"
    assert str(frame["fetched_at"].dtype) == "datetime64[us, UTC]"


def test_a_crawl_imports_neither_pandas_nor_the_analysis_code() -> None:
    """pandas costs a crawl about 90 MB and 0.2 s for nothing: only load() needs it."""
    code = (
        "import sys, scrapy.cmdline, archiver.settings, archiver.spiders.listing, "
        "archiver.store.staging, archiver.middlewares.capture, archiver.pipelines.age, "
        "archiver.pipelines.views, archiver.pipelines.identity, archiver.commands.crawl, archiver.distribute.writer; "
        "print(sorted(m for m in sys.modules if m == 'pandas' or m.startswith('archiver.analyse')))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("views", 1.5),
        ("title", b"bytes"),
        ("fetched_at", datetime(2025, 1, 1)),
        ("counts", {"a": 1.5}),
    ],
)
def test_values_arrow_would_change_silently_are_refused(name: str, value: object) -> None:
    """pyarrow alone truncates 1.5 to 1, takes bytes for text and a naive time for UTC."""
    bad = full_entry(2)
    setattr(bad, name, value)
    buffer = io.BytesIO()
    exporter = ParquetExporter(buffer, row_group_size=3)
    exporter.start_exporting()
    for item in (full_entry(1), bad, full_entry(3)):
        exporter.export_item(item)
    exporter.finish_exporting()
    assert [item for item, _ in exporter.rejected] == [bad]
    assert pq.read_table(io.BytesIO(buffer.getvalue())).column("position").to_pylist() == [1, 3]
