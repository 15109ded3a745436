"""The analyst's API over several snapshots: load, history, published, diff."""

from __future__ import annotations

import hashlib
import io
import json
from datetime import timedelta
from email.utils import format_datetime

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import archiver
from archiver.analyse.diff import diff
from archiver.analyse.read import DamagedSnapshotWarning, read_table
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


def test_load_of_an_empty_archive_is_an_empty_typed_frame(tmp_path) -> None:
    (tmp_path / "snapshots").mkdir()  # what a first crawl that published nothing leaves
    frame = archiver.load(tmp_path)
    assert frame.empty and list(frame.columns) == SCHEMA.names


def test_a_data_directory_that_is_no_archive_is_an_error_not_an_empty_frame(tmp_path) -> None:
    with pytest.raises(ArchiverError, match=r"^data directory .*typo does not exist; give the"):
        archiver.load(tmp_path / "typo")
    with pytest.raises(ArchiverError, match=r"holds no archive \(no snapshots/ folder in it\)"):
        archiver.history(tmp_path)
    (tmp_path / "file").write_text("x")
    with pytest.raises(ArchiverError, match=r"file is not a folder"):
        archiver.published(tmp_path / "file")


def test_load_finds_the_archive_the_crawl_writes_from_any_folder(tmp_path, monkeypatch) -> None:
    """No argument: the project's data directory (beside scrapy.cfg), not ./data."""
    project = tmp_path / "project"
    (project / "notebooks").mkdir(parents=True)
    (project / "scrapy.cfg").write_text("[settings]\ndefault = archiver.settings\n")
    publish(project / "data", "s1", [entry("s1", "A", 1)])
    monkeypatch.chdir(project / "notebooks")
    monkeypatch.delenv("ARCHIVER_DATA_DIR", raising=False)
    assert archiver.load()["title"].tolist() == ["A"]
    elsewhere = tmp_path / "elsewhere"
    publish(elsewhere, "s2", [entry("s2", "B", 1)])
    monkeypatch.setenv("ARCHIVER_DATA_DIR", str(elsewhere))
    assert archiver.load()["title"].tolist() == ["B"]


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
    assert archiver.published(three_days)["entry_id"].is_monotonic_increasing  # stable order
    frame = archiver.published(three_days).set_index("title")
    a = frame.loc["A"]
    assert a["observations"] == 2 and a["contradictions"] == 0
    # Day 0 "3 days ago": [day-4, day-3]; day 1 "4 days ago": [day-4, day-3]: same interval.
    assert a["published_earliest"] == pd.Timestamp(day(-4))
    assert a["published_latest"] == pd.Timestamp(day(-3))


def test_published_comes_in_entry_id_order_whatever_the_page_order(tmp_path) -> None:
    titles = [f"Post {n}" for n in range(12)]
    publish(tmp_path, "d0", [
        entry("d0", title, n + 1, when=day(0), age_text=f"{n + 1} days ago")
        for n, title in enumerate(titles)
    ])  # fmt: skip
    frame = archiver.published(tmp_path)
    assert sorted(frame["title"]) == sorted(titles)
    assert frame["entry_id"].tolist() == sorted(frame["entry_id"])
    assert frame["title"].tolist() != titles  # page order is not entry_id order here


def test_published_names_where_the_best_date_came_from(tmp_path) -> None:
    """A feed dated the post to its second on day 0; on day 1 it had left the feed and only
    the printed age was there: the entry keeps the instant, and says it came from the feed."""
    instant = day(-4) + timedelta(hours=2)
    raw = format_datetime(instant)
    publish(tmp_path, "d0", [entry(
        "d0", "A", 1, when=day(0), published_earliest=instant, published_latest=instant,
        published_source="feed", published_raw=raw, age_text="3 days ago",
    )])  # fmt: skip
    publish(tmp_path, "d1", [entry("d1", "A", 1, when=day(1), age_text="4 days ago")])
    row = archiver.published(tmp_path).iloc[0]
    assert row["published_earliest"] == row["published_latest"] == pd.Timestamp(instant)
    assert (row["published_source"], row["published_raw"]) == ("feed", raw)
    assert bool(row["day_exact"]) and row["observations"] == 2 and row["contradictions"] == 0
    publish(tmp_path, "d2", [entry("d2", "B", 1, when=day(2), age_text="2 months ago")])
    row = archiver.published(tmp_path).set_index("title").loc["B"]
    assert row["published_source"] == "age" and not row["day_exact"]


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
    manifest["files"]["entries.parquet"]["sha256"] = hashlib.sha256(old.read_bytes()).hexdigest()
    manifest_path.write_text(json.dumps(manifest))
    frame = archiver.load(three_days)
    assert frame.loc[frame["snapshot_id"] == "d0", "views_text"].isna().all()
    assert frame.loc[frame["snapshot_id"] == "d0", "legacy_note"].tolist() == ["x", "x"]
    assert len(frame) == 5
    alone = archiver.load(three_days, snapshot="d0")  # no other snapshot brings the columns
    assert list(alone.columns) == [*SCHEMA.names, "legacy_note"]
    assert len(alone) == 2 and alone["views_text"].isna().all() and alone["extra"].isna().all()


# --- A damaged archive is never read as data ---------------------------------------------------


def test_a_changed_byte_anywhere_fails_the_load(tmp_path) -> None:
    """The manifest's checksum guards every byte: any flip stops the load with the
    snapshot's name, even one that Parquet itself would read as a changed value."""
    publish(tmp_path, "s1", [entry("s1", f"Post {i}", i, views=i) for i in range(1, 40)])
    path = tmp_path / "snapshots" / "snapshot_id=s1" / "entries.parquet"
    original = path.read_bytes()
    archiver.load(tmp_path)  # sound as written
    tried = 0
    for position in range(0, len(original), 7):
        damaged = bytearray(original)
        damaged[position] ^= 0x01
        path.write_bytes(bytes(damaged))
        with pytest.raises(ArchiverError) as error:
            archiver.load(tmp_path)
        assert str(error.value).startswith("snapshot s1 is damaged (")
        assert f"`archiver verify --data-dir {tmp_path}`" in str(error.value)
        tried += 1
    assert tried > 100


def test_a_flip_that_parquet_reads_as_another_value_is_caught(tmp_path) -> None:
    """The reported case: a byte flipped where pyarrow reads it back as other data (a view
    count, a title) with no error of its own."""
    publish(tmp_path, "s1", [entry("s1", f"Post {i}", i, views=1000 + i) for i in range(1, 40)])
    path = tmp_path / "snapshots" / "snapshot_id=s1" / "entries.parquet"
    original = path.read_bytes()
    good = pq.read_table(io.BytesIO(original))
    silent = None
    for position in range(len(original)):
        damaged = bytearray(original)
        damaged[position] ^= 0x01
        try:
            table = pq.read_table(io.BytesIO(bytes(damaged)), page_checksum_verification=True)
        except Exception:
            continue
        if not table.equals(good):
            silent = bytes(damaged)
            break
    assert silent is not None, "pyarrow caught every flip: this test needs another file"
    path.write_bytes(silent)
    with pytest.raises(ArchiverError, match=r"entries.parquet checksum does not match"):
        archiver.load(tmp_path)


def test_a_part_the_manifest_lists_but_the_folder_lacks_is_damage(tmp_path) -> None:
    publish(tmp_path, "s1", [entry("s1", "Post", 1)])
    (tmp_path / "snapshots" / "snapshot_id=s1" / "entries.parquet").unlink()
    with pytest.raises(ArchiverError, match=r"entries.parquet is missing"):
        archiver.load(tmp_path)


def test_a_parquet_file_the_manifest_never_listed_is_damage(tmp_path) -> None:
    publish(tmp_path, "s1", [entry("s1", "Post", 1)])
    folder = tmp_path / "snapshots" / "snapshot_id=s1"
    (folder / "entries-extra.parquet").write_bytes((folder / "entries.parquet").read_bytes())
    with pytest.raises(ArchiverError, match=r"entries-extra.parquet is not in its manifest"):
        archiver.load(tmp_path)


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


# --- The API's edges: defaults, empty archives, old manifests, boundaries ----------------------


def test_every_call_reads_data_in_the_working_directory_by_default(three_days, monkeypatch) -> None:
    """As the README shows: ``archiver.history()`` with no argument, run beside ``data/``."""
    (three_days / "snapshots").rename(three_days / "elsewhere")
    (three_days / "data").mkdir()
    (three_days / "elsewhere").rename(three_days / "data" / "snapshots")
    monkeypatch.chdir(three_days)
    pd.testing.assert_frame_equal(archiver.history(), archiver.history("data"))
    pd.testing.assert_frame_equal(archiver.published(), archiver.published("data"))
    assert diff() == diff("data") and len(archiver.history()) == 6
    pd.testing.assert_frame_equal(archiver.load(), archiver.load("data"))
    assert len(archiver.load()) == 5 and read_table().num_rows == 5


def test_an_empty_archive_gives_empty_frames_with_their_columns(tmp_path) -> None:
    (tmp_path / "snapshots").mkdir()
    history = archiver.history(tmp_path)
    assert list(history.columns) == [
        "entry_id", "snapshot_id", "source", "title", "views", "position", "present",
        "listing_url", "fetched_at", "views_delta", "views_per_day",
    ]  # fmt: skip
    assert str(history["fetched_at"].dtype) == "datetime64[us, UTC]"
    assert str(history["views_delta"].dtype) == "Int64"
    assert list(archiver.published(tmp_path).columns) == [
        "entry_id", "title", "published_earliest", "published_latest", "published_source",
        "published_raw", "day_exact", "observations", "contradictions",
    ]  # fmt: skip


def test_history_without_a_complete_snapshot_claims_no_absence(tmp_path) -> None:
    publish(tmp_path, "d0", [entry("d0", "A", 1), entry("d0", "B", 2)], status="partial")
    publish(tmp_path, "d1", [entry("d1", "A", 1)], status="partial")
    frame = archiver.history(tmp_path)
    assert frame["present"].all() and len(frame) == 3


def test_a_vanished_entry_is_shown_under_its_latest_title(tmp_path) -> None:
    url = "https://blog.example/post/"
    publish(tmp_path, "d0", [entry("d0", "First title", 1, url=url)])
    publish(tmp_path, "d1", [entry("d1", "Second title", 1, url=url)])
    publish(tmp_path, "d2", [entry("d2", "Other", 1)])
    frame = archiver.history(tmp_path)
    gone = frame.loc[~frame["present"]]
    assert gone[["snapshot_id", "title"]].values.tolist() == [["d2", "Second title"]]
    assert gone["views"].isna().all() and gone["position"].isna().all()


def test_diff_of_a_listing_skips_manifests_written_before_start_urls(tmp_path) -> None:
    """An old snapshot that names no start URL belongs to no listing: left out, no crash."""
    a = "https://agg.example/"
    old = publish(tmp_path, "d0", [entry("d0", "Old", 1)])
    manifest_path = old / "_meta" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    del manifest["start_urls"]
    manifest_path.write_text(json.dumps(manifest))
    publish(tmp_path, "d1", [entry("d1", "A", 1, listing_url=a)], start_urls=[a])
    publish(tmp_path, "d2", [entry("d2", "A", 1, listing_url=a), entry("d2", "B", 2, listing_url=a)],
            start_urls=[a])  # fmt: skip
    changes = diff(tmp_path, listing=a)
    assert [row["title"] for row in changes["new"]] == ["B"]


def test_history_reads_manifests_written_before_start_urls(tmp_path) -> None:
    """Older snapshots named only their sources; absence is then judged per source."""
    for snapshot_id, titles in (("d0", ["A", "B"]), ("d1", ["A"])):
        path = publish(tmp_path, snapshot_id, [entry(snapshot_id, t, n) for n, t in
                                                enumerate(titles, 1)])  # fmt: skip
        manifest_path = path / "_meta" / "manifest.json"
        manifest = json.loads(manifest_path.read_text())
        del manifest["start_urls"]
        manifest_path.write_text(json.dumps(manifest))
    frame = archiver.history(tmp_path)
    assert frame.loc[~frame["present"], ["snapshot_id", "title"]].values.tolist() == [["d1", "B"]]
    # The report's "changes since the previous snapshot" has no listing to go by: none.
    assert archiver.analyse.diff.previous_of_listing(tmp_path, "d1") is None


def test_intervals_that_touch_agree(tmp_path) -> None:
    """[a, b] and [b, c] share the instant b: narrowed to it, not called a contradiction."""
    a, b, c = day(-3), day(-2), day(-1)
    publish(tmp_path, "d0", [entry("d0", "A", 1, published_earliest=a, published_latest=b)])
    publish(tmp_path, "d1", [entry("d1", "A", 1, published_earliest=b, published_latest=c)])
    row = archiver.published(tmp_path).iloc[0]
    assert row["contradictions"] == 0 and row["observations"] == 2
    assert row["published_earliest"] == row["published_latest"] == pd.Timestamp(b)


def test_diff_by_default_compares_the_last_two_in_order(tmp_path) -> None:
    publish(tmp_path, "d0", [entry("d0", "A", 1)])
    with pytest.raises(
        ArchiverError, match=rf"^diff needs two usable snapshots; {tmp_path} has 1$"
    ):
        diff(tmp_path)
    publish(tmp_path, "d1", [entry("d1", "A", 1), entry("d1", "B", 2)])
    publish(tmp_path, "d2", [entry("d2", "B", 1), entry("d2", "C", 2)])
    result = diff(tmp_path)
    assert (result["from"], result["to"]) == ("d1", "d2")
    assert [e["title"] for e in result["new"]] == ["C"]
    assert [e["title"] for e in result["vanished"]] == ["A"]
    with pytest.raises(ArchiverError, match=r"^diff takes two snapshot ids, or none for the last"):
        diff(tmp_path, b="d2")


def test_the_previous_snapshot_is_of_the_same_listing(tmp_path) -> None:
    x, y = "https://agg.example/x", "https://agg.example/y"
    publish(tmp_path, "d0", [entry("d0", "A", 1, listing_url=x)], start_urls=[x])
    publish(tmp_path, "d1", [entry("d1", "Q", 1, listing_url=y)], start_urls=[y])
    publish(tmp_path, "d2", [entry("d2", "B", 1, listing_url=x)], start_urls=[x])
    assert archiver.analyse.diff.previous_of_listing(tmp_path, "d2") == "d0"
    assert archiver.analyse.diff.previous_of_listing(tmp_path, "d1") is None
    assert archiver.analyse.diff.previous_of_listing(tmp_path, "d0") is None
    with pytest.raises(ArchiverError, match=rf"^snapshot 'nope' not found under {tmp_path}$"):
        archiver.analyse.diff.previous_of_listing(tmp_path, "nope")
    changes = archiver.analyse.diff.changes_since_previous(tmp_path, "d2")
    assert (changes["from"], changes["to"]) == ("d0", "d2")
    assert archiver.analyse.diff.changes_since_previous(tmp_path, "d0") is None


def test_changes_are_judged_over_the_listings_both_crawled(tmp_path) -> None:
    """Yesterday crawled x and y, today only x: y's entries did not vanish."""
    x, y = "https://agg.example/x", "https://agg.example/y"
    publish(tmp_path, "d0", [
        entry("d0", "A", 1, listing_url=x), entry("d0", "Q", 1, listing_url=y),
    ], start_urls=[x, y])  # fmt: skip
    publish(tmp_path, "d1", [entry("d1", "B", 1, listing_url=x)], start_urls=[x])
    changes = archiver.analyse.diff.changes_since_previous(tmp_path, "d1")
    assert [e["title"] for e in changes["vanished"]] == ["A"]
    assert [e["title"] for e in changes["new"]] == ["B"]


def test_a_snapshot_with_fewer_rows_than_its_manifest_says_is_damaged(three_days) -> None:
    manifest_path = three_days / "snapshots" / "snapshot_id=d1" / "_meta" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["rows"] = 3
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(ArchiverError, match=r"^snapshot d1 is damaged \(2 rows where the manifest"):
        archiver.load(three_days)


def test_read_table_takes_the_latest_readings_by_default(three_days) -> None:
    table = archiver.analyse.read.read_table(three_days)
    assert table.num_rows == 5 and table.equals(archiver.analyse.read.read_table(three_days, None))


# --- Growth and movers, per listing ----------------------------------------------------------

X, Y = "https://x.example/", "https://y.example/"


def growing(tmp_path):
    """Listing X crawled on days 0, 1 and 3; listing Y once; Post A's views grow."""
    for n, (a_views, extra) in enumerate([(10, "C"), (40, None), (None, None), (100, "D")]):
        if n == 2:
            continue
        sid = f"x{n}"
        rows = [entry(sid, "A", 1, when=day(n), views=a_views, listing_url=X),
                entry(sid, "B", 2, when=day(n), views=5, listing_url=X)]  # fmt: skip
        if extra:
            rows.append(entry(sid, extra, 3, when=day(n), views=1, listing_url=X))
        publish(tmp_path, sid, rows, start_urls=[X], started_at=day(n))
    publish(tmp_path, "y0", [entry("y0", "Z", 1, when=day(0), views=7, listing_url=Y)],
            start_urls=[Y], started_at=day(0))  # fmt: skip
    return tmp_path


def test_history_has_time_listing_and_growth(tmp_path) -> None:
    frame = archiver.history(growing(tmp_path), listing=X)
    assert set(frame["listing_url"]) == {X}
    a = frame[frame["title"] == "A"].set_index("snapshot_id")
    assert a["views"].tolist() == [10, 40, 100]
    assert a["views_delta"].tolist()[1:] == [30, 60] and pd.isna(a["views_delta"].iloc[0])
    assert a["views_per_day"].tolist()[1:] == [30.0, 30.0]  # 60 views over two days
    assert a["fetched_at"].tolist() == [pd.Timestamp(day(n)) for n in (0, 1, 3)]
    c = frame[frame["title"] == "C"]
    assert c["present"].tolist() == [True, False, False]  # vanished from complete snapshots
    assert c["fetched_at"].iloc[1] == pd.Timestamp(day(1))  # an absence: that crawl's start


def test_a_listing_nobody_crawled_is_named_with_those_there_are(tmp_path) -> None:
    with pytest.raises(
        ArchiverError,
        match=r"no listing 'https://z.example/' .* listings there: https://x.example/, https://y.example/",
    ):
        archiver.history(growing(tmp_path), listing="https://z.example/")


def test_diff_never_compares_one_listing_with_another(tmp_path) -> None:
    growing(tmp_path)
    with pytest.raises(ArchiverError, match=r"holds 2 listings; name one with --listing"):
        diff(tmp_path)
    result = diff(tmp_path, listing=X)
    assert (result["from"], result["to"]) == ("x1", "x3")
    assert [e["title"] for e in result["new"]] == ["D"]
    assert [e["changes"]["views"] for e in result["changed"]] == [[40, 100]]


def test_diff_skips_failed_and_empty_snapshots(tmp_path) -> None:
    growing(tmp_path)
    publish(tmp_path, "x9", [], status="failed", start_urls=[X], started_at=day(9))
    assert diff(tmp_path, listing=X)["to"] == "x3"


def test_top_gives_the_movers_of_a_listing(tmp_path) -> None:
    growing(tmp_path)
    movers = archiver.top(tmp_path, listing=X, since="2d")
    assert (movers.attrs["from"], movers.attrs["to"]) == ("x1", "x3")
    assert movers["change"].tolist() == ["gained", "new"]  # B did not move: not a mover
    assert movers["title"].tolist() == ["A", "D"]
    assert movers.loc[0, "views_gained"] == 60 and movers.loc[0, "views_per_day"] == 30.0
    whole = archiver.top(tmp_path, listing=X, since="30d")  # further back than the archive
    assert whole.attrs["from"] == "x0" and whole.loc[0, "views_gained"] == 90
    assert whole["title"].tolist() == ["A", "D", "C"]
    assert whole["change"].tolist() == ["gained", "new", "vanished"]
    with pytest.raises(ArchiverError, match=r"holds 2 listings"):
        archiver.top(tmp_path)
    with pytest.raises(ArchiverError, match=r"--since '7 days'"):
        archiver.top(tmp_path, listing=X, since="7 days")
