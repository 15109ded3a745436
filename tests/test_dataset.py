"""The analyst's API over several snapshots: load, history, published, diff."""

from __future__ import annotations

import io
import json

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import archiver
from archiver.dataset import DamagedSnapshotWarning, diff
from archiver.errors import ArchiverError
from archiver.items import SCHEMA
from tests.factories import day, entry, publish


@pytest.fixture
def three_days(tmp_path):
    """Day 0: A, B. Day 1: A (more views), C; B gone. Day 2 (partial): C only."""
    publish(tmp_path, "d0", [
        entry("d0", "A", 1, when=day(0), views=10, age_text="3 days ago"),
        entry("d0", "B", 2, when=day(0), views=5),
    ])  # fmt: skip
    publish(tmp_path, "d1", [
        entry("d1", "C", 1, when=day(1), views=1),
        entry("d1", "A", 2, when=day(1), views=25, age_text="4 days ago"),
    ])  # fmt: skip
    publish(tmp_path, "d2", [entry("d2", "C", 1, when=day(2), views=2)], status="partial")
    return tmp_path


def test_load_types_every_column(three_days) -> None:
    frame = archiver.load(three_days)
    assert list(frame.columns) == SCHEMA.names
    assert len(frame) == 5
    assert str(frame["views"].dtype) == "Int64"
    assert str(frame["position"].dtype) == "Int32"
    assert str(frame["fetched_at"].dtype) == "datetime64[us, UTC]"
    assert frame["snapshot_id"].tolist() == ["d0", "d0", "d1", "d1", "d2"]


def test_load_one_snapshot(three_days) -> None:
    assert archiver.load(three_days, snapshot="d1")["title"].tolist() == ["C", "A"]
    with pytest.raises(ArchiverError, match="not found"):
        archiver.load(three_days, snapshot="nope")


def test_load_of_nothing_is_an_empty_typed_frame(tmp_path) -> None:
    frame = archiver.load(tmp_path)
    assert frame.empty and list(frame.columns) == SCHEMA.names


def test_history_marks_absence_only_in_complete_snapshots(three_days) -> None:
    frame = archiver.history(three_days)
    rows = {title: group for title, group in frame.groupby("title")}
    # B vanished from the complete d1; d2 is partial, so it makes no claim about B.
    assert rows["B"][["snapshot_id", "present"]].values.tolist() == [["d0", True], ["d1", False]]
    # A was seen twice; its views over time are the analyst's series.
    assert rows["A"][["snapshot_id", "views", "present"]].values.tolist() == [
        ["d0", 10, True],
        ["d1", 25, True],
    ]
    assert rows["C"]["snapshot_id"].tolist() == ["d1", "d2"]
    assert frame["snapshot_id"].is_monotonic_increasing


def test_absence_is_judged_per_listing(tmp_path) -> None:
    """A crawl of listing A says nothing about entries that were found through listing B."""
    a, b = "https://agg.example/a", "https://agg.example/b"
    publish(tmp_path, "d0", [
        entry("d0", "From A", 1, listing_url=a),
        entry("d0", "From B", 1, listing_url=b),
    ], start_urls=[a, b])  # fmt: skip
    publish(tmp_path, "d1", [entry("d1", "Other", 1, listing_url=a)], start_urls=[a])
    frame = archiver.history(tmp_path)
    absent = frame.loc[~frame["present"], "title"].tolist()
    assert absent == ["From A"]  # B was not crawled in d1: no claim about "From B"


def test_published_narrows_across_observations(three_days) -> None:
    frame = archiver.published(three_days).set_index("title")
    a = frame.loc["A"]
    assert a["observations"] == 2 and a["contradictions"] == 0
    # Day 0 "3 days ago": [day-4, day-3]; day 1 "4 days ago": [day-4, day-3]: same interval.
    assert a["published_earliest"] == pd.Timestamp(day(-4))
    assert a["published_latest"] == pd.Timestamp(day(-3))


def test_published_reports_contradictions(tmp_path) -> None:
    publish(tmp_path, "d0", [entry("d0", "A", 1, when=day(0), age_text="1 day ago")])
    publish(tmp_path, "d1", [entry("d1", "A", 1, when=day(10), age_text="1 day ago")])
    row = archiver.published(tmp_path).iloc[0]
    assert row["contradictions"] == 2
    assert pd.isna(row["published_earliest"]) and pd.isna(row["published_latest"])


def test_diff_names_new_vanished_and_changed(three_days) -> None:
    result = diff(three_days, "d0", "d1")
    assert [e["title"] for e in result["new"]] == ["C"]
    assert [e["title"] for e in result["vanished"]] == ["B"]
    [changed] = result["changed"]
    assert changed["title"] == "A" and changed["changes"] == {"views": [10, 25]}


def test_diff_defaults_to_the_last_two(three_days) -> None:
    assert diff(three_days)["from"] == "d1"
    with pytest.raises(ArchiverError):
        diff(three_days, "d0")


def test_old_snapshots_without_new_columns_still_load(three_days) -> None:
    """A snapshot written before a column existed loads with that column as nulls."""
    old = three_days / "snapshots" / "snapshot_id=d0" / "entries.parquet"
    table = pq.read_table(old).drop_columns(["extra", "views_text"])
    table = table.append_column("legacy_note", pa.array(["x"] * table.num_rows))
    pq.write_table(table, old)
    manifest_path = old.parent / "_meta" / "manifest.json"  # as that version recorded it
    manifest = json.loads(manifest_path.read_text())
    manifest["schema"] = {field.name: str(field.type) for field in table.schema}
    manifest_path.write_text(json.dumps(manifest))
    frame = archiver.load(three_days)
    assert frame.loc[frame["snapshot_id"] == "d0", "views_text"].isna().all()
    assert frame.loc[frame["snapshot_id"] == "d0", "legacy_note"].tolist() == ["x", "x"]
    assert len(frame) == 5


# --- A damaged archive is never read as data ---------------------------------------------------


def test_a_changed_byte_anywhere_fails_the_load_or_changes_nothing(tmp_path) -> None:
    """Page checksums and the manifest guard every byte: a flip either stops the load with
    the snapshot's name, or falls where it does not change a value (padding, statistics)."""
    publish(tmp_path, "s1", [entry("s1", f"Post {i}", i, views=i) for i in range(1, 40)])
    path = tmp_path / "snapshots" / "snapshot_id=s1" / "entries.parquet"
    original, good = path.read_bytes(), archiver.load(tmp_path)
    detected = 0
    for position in range(4, len(original) - 4, 31):
        damaged = bytearray(original)
        damaged[position] ^= 0x01
        path.write_bytes(bytes(damaged))
        try:
            frame = archiver.load(tmp_path)
        except ArchiverError as error:
            assert str(error).startswith("snapshot s1 is damaged (")
            assert f"`archiver verify --data-dir {tmp_path}`" in str(error)
            detected += 1
        else:
            pd.testing.assert_frame_equal(frame, good)
    assert detected > 100  # most bytes matter, and each such flip was caught


def flip_in_column(data: bytes, name: str) -> bytes:
    """``data`` (a Parquet file) with one byte of ``name``'s compressed values flipped."""
    meta = pq.ParquetFile(io.BytesIO(data)).metadata
    column = next(
        meta.row_group(0).column(i)
        for i in range(meta.num_columns)
        if meta.row_group(0).column(i).path_in_schema == name
    )
    position = column.data_page_offset + column.total_compressed_size - 3
    return data[:position] + bytes([data[position] ^ 0x01]) + data[position + 1 :]


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[: len(data) // 2],  # truncated: a copy cut short, a full disk
        lambda data: flip_in_column(data, "title"),
        lambda data: b"",
    ],
    ids=["truncated", "flipped", "empty"],
)
def test_a_damaged_snapshot_is_named_or_skipped(three_days, damage) -> None:
    path = three_days / "snapshots" / "snapshot_id=d1" / "entries.parquet"
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(ArchiverError, match=r"^snapshot d1 is damaged \(.+archiver verify"):
        archiver.load(three_days)
    with pytest.warns(DamagedSnapshotWarning, match="snapshot d1 is damaged .* left out"):
        frame = archiver.load(three_days, skip_damaged=True)
    assert frame["snapshot_id"].unique().tolist() == ["d0", "d2"]  # the rest of the year


def test_readings_must_be_latest_or_all(three_days) -> None:
    with pytest.raises(ArchiverError, match="readings='every'"):
        archiver.load(three_days, readings="every")
