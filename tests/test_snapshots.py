"""Publishing is atomic and checked: a snapshot is whole or absent, and damage is found."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
from datetime import timedelta
from pathlib import Path

import pytest

import archiver
from archiver.errors import ArchiverError
from archiver.store.layout import check_snapshot_id, list_snapshots, new_snapshot_id
from archiver.store.publishing import parts, uncompress_parts
from archiver.store.staging import StagedSnapshot, snapshot_status
from archiver.store.verify import verify_snapshot
from tests.factories import T0, day, entry, publish


def test_ids_sort_in_time_order_and_differ() -> None:
    earlier, later = new_snapshot_id(T0), new_snapshot_id(day(1))
    assert earlier < later
    assert new_snapshot_id(T0) != new_snapshot_id(T0)


def test_ids_made_within_one_second_sort_in_time_order() -> None:
    """Two quick crawls in a row (a test, a retry, a reparse) must not sort by their suffix."""
    for _ in range(20):  # the random suffixes must never decide
        ids = [new_snapshot_id(T0 + timedelta(milliseconds=ms)) for ms in (0, 1, 999)]
        assert ids == sorted(ids)
    assert new_snapshot_id(T0 + timedelta(milliseconds=42)).startswith("20260101T120000042Z-")


@pytest.mark.parametrize("bad", ["../x", "a/b", "", ".hidden", "x" * 200, "a..b", "snap shot"])
def test_ids_that_could_escape_the_data_dir_are_refused(bad: str) -> None:
    with pytest.raises(ArchiverError):
        check_snapshot_id(bad)


def test_nothing_is_listed_until_published(tmp_path) -> None:
    staged = StagedSnapshot(tmp_path, "s1")
    staged.add(entry("s1", "First", 1))
    staged.flush()
    assert list_snapshots(tmp_path) == []  # in .staging, invisible
    staged.publish(staged.base_manifest(staged.close_files()) | {"status": "complete"})
    [info] = list_snapshots(tmp_path)
    assert info.snapshot_id == "s1" and info.manifest["rows"] == 1
    assert not (tmp_path / ".staging" / "s1").exists()


def test_an_existing_snapshot_is_never_overwritten(tmp_path) -> None:
    publish(tmp_path, "s1", [entry("s1", "First", 1)])
    before = (tmp_path / "snapshots" / "snapshot_id=s1" / "entries.parquet").read_bytes()
    with pytest.raises(FileExistsError):
        StagedSnapshot(tmp_path, "s1")
    after = (tmp_path / "snapshots" / "snapshot_id=s1" / "entries.parquet").read_bytes()
    assert before == after


def test_a_sound_snapshot_verifies(tmp_path) -> None:
    publish(tmp_path, "s1", [entry("s1", "First", 1), entry("s1", "Second", 2)])
    [info] = list_snapshots(tmp_path)
    assert verify_snapshot(info) == []


@pytest.mark.parametrize("name", ["entries.parquet", "_meta/entries.jsonl.gz"])
@pytest.mark.parametrize("where", [0.1, 0.5, 0.95])
def test_one_flipped_byte_is_caught(tmp_path, name: str, where: float) -> None:
    path = publish(tmp_path, "s1", [entry("s1", f"Post {i}", i) for i in range(1, 30)]) / name
    data = bytearray(path.read_bytes())
    data[int(len(data) * where)] ^= 0x01
    path.write_bytes(bytes(data))
    [info] = list_snapshots(tmp_path)
    problems = verify_snapshot(info)
    assert any("checksum" in p and name in p for p in problems), problems


def test_missing_file_and_bad_manifest_are_reported(tmp_path) -> None:
    path = publish(tmp_path, "s1", [entry("s1", "First", 1)])
    os.remove(path / "_meta" / "entries.jsonl.gz")
    publish(tmp_path, "s2", [entry("s2", "First", 1)])
    (tmp_path / "snapshots" / "snapshot_id=s2" / "_meta" / "manifest.json").write_text("{not json")
    infos = list_snapshots(tmp_path)
    assert [i.status for i in infos] == ["complete", "damaged"]
    assert any("is missing" in p for p in verify_snapshot(infos[0]))
    [problem] = verify_snapshot(infos[1])
    assert problem.startswith("snapshot s2: manifest unreadable: Expecting property name")


def test_row_count_mismatch_is_reported(tmp_path) -> None:
    path = publish(tmp_path, "s1", [entry("s1", "First", 1)])
    manifest_path = path / "_meta" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["rows"] = 2
    manifest_path.write_text(json.dumps(manifest))
    problems = verify_snapshot(list_snapshots(tmp_path)[0])
    # Each file is named, with what it holds: rows of the Parquet file, lines of the JSONL.
    assert "snapshot s1: entries.parquet has 1 rows, manifest says 2" in problems
    assert "snapshot s1: _meta/entries.jsonl.gz has 1 lines, manifest says 2" in problems


def test_a_snapshot_published_before_compression_still_verifies_and_loads(tmp_path) -> None:
    """Snapshots of manifest format 1 keep their plain ``_meta/entries.jsonl``; nothing rewrites them."""
    path = publish(tmp_path, "s1", [entry("s1", "First", 1), entry("s1", "Second", 2)])
    compressed = path / "_meta" / "entries.jsonl.gz"
    plain = path / "_meta" / "entries.jsonl"
    plain.write_bytes(gzip.decompress(compressed.read_bytes()))
    compressed.unlink()
    manifest_path = path / "_meta" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["files"]["_meta/entries.jsonl"] = manifest["files"].pop("_meta/entries.jsonl.gz") | {
        "sha256": hashlib.sha256(plain.read_bytes()).hexdigest(),
        "bytes": plain.stat().st_size,
    }
    manifest_path.write_text(json.dumps(manifest))
    [info] = list_snapshots(tmp_path)
    assert verify_snapshot(info) == []
    assert archiver.load(tmp_path)["title"].tolist() == ["First", "Second"]


def test_a_torn_gzip_is_reported_not_a_crash(tmp_path) -> None:
    path = publish(tmp_path, "s1", [entry("s1", f"Post {i}", i) for i in range(1, 30)])
    compressed = path / "_meta" / "entries.jsonl.gz"
    compressed.write_bytes(compressed.read_bytes()[:-20])
    problems = verify_snapshot(list_snapshots(tmp_path)[0])
    assert any("entries.jsonl.gz cannot be read" in p for p in problems), problems


def test_the_same_rows_compress_to_the_same_bytes(tmp_path) -> None:
    """No time or name in the gzip header: a reading published twice has one checksum."""
    rows = [entry("s1", f"Post {i}", i) for i in range(1, 30)]
    first = publish(tmp_path / "a", "s1", rows) / "_meta" / "entries.jsonl.gz"
    second = publish(tmp_path / "b", "s1", rows) / "_meta" / "entries.jsonl.gz"
    assert first.read_bytes() == second.read_bytes()
    assert gzip.decompress(first.read_bytes()).count(b"\n") == 29


@pytest.mark.parametrize(
    ("reason", "failed", "rows", "pages", "status"),
    [
        ("finished", 0, 15, 2, "complete"),
        ("finished", 1, 8, 2, "partial"),
        ("shutdown", 0, 8, 1, "partial"),
        ("finished", 1, 0, 1, "failed"),
        ("finished", 0, 0, 0, "failed"),
        ("finished", 0, 0, 1, "complete"),  # pages read, every entry dropped (no titles)
    ],
)
def test_status(reason: str, failed: int, rows: int, pages: int, status: str) -> None:
    assert snapshot_status(reason, failed, rows, pages) == status


def test_the_manifest_is_written_and_synced_before_the_publishing_rename(tmp_path, monkeypatch):
    """A reader that sees the snapshot directory must find its manifest in it."""
    staged = StagedSnapshot(tmp_path, "s1")
    staged.add(entry("s1", "First", 1))
    staged.flush()
    manifest = staged.base_manifest(staged.close_files()) | {"status": "complete"}
    seen_at_rename = {}
    real_rename = os.rename

    def watching_rename(src, dst):
        seen_at_rename["manifest"] = json.loads((Path(src) / "_meta/manifest.json").read_text())
        real_rename(src, dst)

    monkeypatch.setattr(os, "rename", watching_rename)
    staged.publish(manifest)
    assert seen_at_rename["manifest"]["snapshot_id"] == "s1"
    assert seen_at_rename["manifest"]["status"] == "complete"


def test_a_schema_that_differs_from_the_manifest_is_reported(tmp_path) -> None:
    path = publish(tmp_path, "s1", [entry("s1", "First", 1)])
    manifest_path = path / "_meta" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["schema"]["views"] = "string"
    manifest_path.write_text(json.dumps(manifest))
    problems = verify_snapshot(list_snapshots(tmp_path)[0])
    assert problems == ["snapshot s1: entries.parquet schema differs from the manifest"]


def test_discarding_a_staging_folder_someone_removed_is_quiet(tmp_path) -> None:
    """A crawl that ends with nothing to publish discards its staging folder; if an operator
    (or prune) removed it first, ending the crawl must not fail over it."""
    staged = StagedSnapshot(tmp_path, "s1")
    shutil.rmtree(staged.path)
    staged.discard()
    assert not staged.path.exists() and staged.lock_fd is None


def test_evidence_is_linked_or_copied_into_a_folder_that_may_exist(tmp_path, monkeypatch) -> None:
    """A reparse gives its snapshot the original's WARC files: hard links on one filesystem,
    copies (same bytes, same times) across two; the folder may be new or already there."""
    from archiver.store import publishing

    source = tmp_path / "original" / "_warc"
    source.mkdir(parents=True)
    for name in ("a.warc.gz", "b.warc.gz"):
        (source / name).write_bytes(name.encode() * 100)
    linked = tmp_path / "derived" / "deeper" / "_warc"  # parents not there yet
    publishing.link_evidence(source, linked)
    assert sorted(p.name for p in linked.iterdir()) == ["a.warc.gz", "b.warc.gz"]
    assert (linked / "a.warc.gz").stat().st_ino == (source / "a.warc.gz").stat().st_ino

    def no_links(src, dst):
        raise OSError(18, "Invalid cross-device link")

    monkeypatch.setattr(publishing.os, "link", no_links)
    copied = tmp_path / "other-disk" / "_warc"
    copied.mkdir(parents=True)  # already there: a resumed reparse
    publishing.link_evidence(source, copied)
    for name in ("a.warc.gz", "b.warc.gz"):
        original, copy = source / name, copied / name
        assert copy.read_bytes() == original.read_bytes()
        assert copy.stat().st_ino != original.stat().st_ino
        assert copy.stat().st_mtime_ns == original.stat().st_mtime_ns


def test_a_publish_cut_off_while_compressing_reads_the_whole_plain_file(tmp_path) -> None:
    """Killed between writing ``.jsonl.gz`` and removing ``.jsonl``: the plain file is whole,
    the compressed one may be torn; the next attempt (or a resumed crawl) takes the plain."""
    meta = tmp_path / "_meta"
    meta.mkdir()
    (meta / "entries.jsonl").write_bytes(b'{"a": 1}\n{"a": 2}\n')
    (meta / "entries.jsonl.gz").write_bytes(gzip.compress(b'{"a": 1}\n')[:-4])  # torn
    (meta / "entries-w2.jsonl.gz").write_bytes(gzip.compress(b'{"a": 3}\n'))
    assert parts(tmp_path) == [
        ("entries-w2.parquet", "_meta/entries-w2.jsonl.gz"),
        ("entries.parquet", "_meta/entries.jsonl"),
    ]
    uncompress_parts(tmp_path)
    assert sorted(p.name for p in meta.iterdir()) == ["entries-w2.jsonl", "entries.jsonl"]
    assert (meta / "entries.jsonl").read_bytes() == b'{"a": 1}\n{"a": 2}\n'
    assert (meta / "entries-w2.jsonl").read_bytes() == b'{"a": 3}\n'
