"""From a sealed staging folder to a published snapshot: the Parquet file built from the
JSONL, checksums in the manifest (written last), one rename into ``snapshots/``; and the
readings of one capture settled so that a reader counts no row twice.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path
from typing import Any

from archiver.evidence.records import WARC_FOLDER
from archiver.evidence.records import files as warc_files
from archiver.items import arrow_schema
from archiver.store.durable import fsync_dir, sha256_file, write_synced
from archiver.store.layout import (
    COMPRESSED,
    JSONL_FILE,
    MANIFEST_FILE,
    PARQUET_FILE,
    PENDING_FILE,
    RESUME_FILE,
    SNAPSHOTS,
    SUPERSEDED,
    current_readings,
    list_snapshots,
    snapshot_dir,
)
from archiver.store.locks import held
from archiver.store.rows import (
    ROW_GROUP_SIZE,
    ParquetRowWriter,
    compress_jsonl,
    decompress_jsonl,
    read_jsonl_batches,
)

logger = logging.getLogger(__name__)


def parquet_schema(path: Path) -> dict[str, str]:
    """A Parquet file's columns and their types, as the manifest records them."""
    import pyarrow.parquet as pq

    return {field.name: str(field.type) for field in pq.read_schema(path)}


def part_name(part: str | None) -> tuple[str, str]:
    """The (Parquet, JSON Lines) files of one part: ``entries.parquet`` for a crawl by one
    process, ``entries-<worker>.parquet`` for each worker of a shared crawl."""
    if not part:
        return PARQUET_FILE, JSONL_FILE
    return f"entries-{part}.parquet", f"_meta/entries-{part}.jsonl"


def parts(folder: Path) -> list[tuple[str, str]]:
    """The (Parquet, JSON Lines) names of every part staged or published in ``folder``; the
    JSON Lines name as it is on disk (``.jsonl`` staged, ``.jsonl.gz`` published)."""
    found: dict[str, str] = {}
    meta = folder / "_meta"
    # A crash while compressing leaves both files: the plain one is the whole one.
    for pattern in ("entries*.jsonl", f"entries*.jsonl{COMPRESSED}"):
        for jsonl in sorted(meta.glob(pattern)):
            stem = jsonl.name.removesuffix(COMPRESSED).removesuffix(".jsonl")
            parquet, _ = part_name(stem.removeprefix("entries").removeprefix("-") or None)
            found.setdefault(parquet, jsonl.relative_to(folder).as_posix())
    return sorted(found.items())


def build_parquet(folder: Path, jsonl: str, parquet: str) -> int:
    """Write one part's Parquet file from its staged JSON Lines, in row groups, with the
    explicit schema; return the rows written."""
    source, target = folder / jsonl, folder / parquet
    with target.open("xb") as handle:
        writer = ParquetRowWriter(handle, arrow_schema(partitioned=True))
        for batch in read_jsonl_batches(source, ROW_GROUP_SIZE):
            writer.write(batch)
        writer.close()
        handle.flush()
        os.fsync(handle.fileno())
    if writer.rejected:
        raise OSError(f"{target}: {len(writer.rejected)} staged rows could not be built")
    return writer.rows_written


def finish_files(folder: Path, rows: int) -> dict[str, dict[str, Any]]:
    """Build the Parquet file of each part of a sealed staging folder and describe every
    file; the parts' rows must add up to ``rows``."""
    files: dict[str, dict[str, Any]] = {}
    built = 0
    for parquet, staged in parts(folder):
        (folder / parquet).unlink(missing_ok=True)  # begun by a publish that was cut off
        count = build_parquet(folder, staged, parquet)
        built += count
        jsonl = staged
        if not staged.endswith(COMPRESSED):
            jsonl = compress_jsonl(folder / staged).relative_to(folder).as_posix()
        for name in (parquet, jsonl):
            path = folder / name
            files[name] = {"sha256": sha256_file(path), "bytes": path.stat().st_size, "rows": count}
    if built != rows:
        raise OSError(f"{folder}: {built} rows built from {rows} staged")
    for path in warc_files(folder / WARC_FOLDER):
        name = path.relative_to(folder).as_posix()
        files[name] = {"sha256": sha256_file(path), "bytes": path.stat().st_size}
    if (folder / WARC_FOLDER).is_dir():
        fsync_dir(folder / WARC_FOLDER)
    return files


def finish_manifest(folder: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    """Build the Parquet files of a sealed staging folder and complete its manifest with
    every file's checksum and the schema."""
    files = finish_files(folder, manifest["rows"])
    first = parts(folder)[0][0] if parts(folder) else PARQUET_FILE
    return manifest | {"files": files, "schema": parquet_schema(folder / first)}


def publish_sealed(folder: Path, manifest: dict[str, Any]) -> Path:
    """Finish a sealed staging folder (Parquet, checksums, schema) and publish it; log the
    line a person reads. The one way every snapshot is published."""
    manifest = finish_manifest(folder, manifest)
    target = publish_dir(
        folder, snapshot_dir(folder.parent.parent, manifest["snapshot_id"]), manifest
    )
    logger.info(
        "snapshot published: %s (%d rows, %s)", target, manifest["rows"], manifest["status"]
    )
    return target


def publish_dir(folder: Path, target: Path, manifest: dict[str, Any]) -> Path:
    """Write the manifest last, sync, and move ``folder`` to ``target`` in one rename.

    The resume note (``RESUME_FILE``) goes only after the rename: until the snapshot is
    published, ``archiver prune`` must know that a journal will resume this folder, even if
    the process dies in between."""
    (folder / PENDING_FILE).unlink(missing_ok=True)
    write_synced(folder / MANIFEST_FILE, manifest)
    fsync_dir(folder / "_meta")
    fsync_dir(folder)
    os.rename(folder, target)  # atomic on one filesystem; target never pre-exists
    fsync_dir(target.parent)
    (target / RESUME_FILE).unlink(missing_ok=True)  # not in the manifest: never checked
    return target


def uncompress_parts(folder: Path) -> None:
    """Every part's JSON Lines plain again, as the crawl staged it: for a staging folder a
    publish began and did not finish, which a resumed crawl appends to, or a shared crawl's
    next publisher settles (``archiver.distribute.recovery``)."""
    for compressed in (folder / "_meta").glob(f"entries*.jsonl{COMPRESSED}"):
        if compressed.with_suffix("").exists():  # cut off while compressing: plain is whole
            compressed.unlink()
        else:
            decompress_jsonl(compressed)


def keep_for_resume(folder: Path, journal: Path) -> bool:
    """After a publish failed (a full disk), leave a staging folder as a resumed crawl
    wants it: the JSON Lines and WARC files kept, what publishing had begun to build (Parquet
    files, manifest) removed, and the note that tells ``archiver prune`` a journal will
    resume it. False when even that could not be written."""
    for path in [*folder.glob("entries*.parquet"), folder / MANIFEST_FILE]:
        path.unlink(missing_ok=True)
    try:
        uncompress_parts(folder)
        (folder / RESUME_FILE).unlink(missing_ok=True)
        write_synced(folder / RESUME_FILE, {"journal": str(journal)})
    except OSError:
        return False
    return True


def link_evidence(source: Path, target: Path) -> None:
    """Give ``target`` the WARC files of ``source``: hard links (no extra space, and the
    original may be pruned without harm), or copies across filesystems."""
    target.mkdir(parents=True, exist_ok=True)
    for path in warc_files(source):
        try:
            os.link(path, target / path.name)
        except OSError:
            shutil.copy2(path, target / path.name)


def settle_readings(data_dir: str | Path) -> list[str]:
    """Move every reading that is not its capture's current one out of ``snapshots/``
    into ``superseded/`` (one rename each, nothing rewritten), and a superseded reading
    that is current again back: so that pandas, pyarrow, DuckDB and polars, reading the
    folder, see the rows ``archiver.load()`` returns. Returns the ids moved."""
    everything = list_snapshots(data_dir, superseded=True)
    current = {info.snapshot_id for info in current_readings(everything)}
    moved = []
    for info in everything:
        home = SNAPSHOTS if info.snapshot_id in current else SUPERSEDED
        if info.path.parent.name == home or held(info.path):
            continue
        target = Path(data_dir) / home / info.path.name
        target.parent.mkdir(exist_ok=True)
        os.rename(info.path, target)  # never replaces: ids are unique
        fsync_dir(target.parent)
        fsync_dir(info.path.parent)
        moved.append(info.snapshot_id)
    if moved:
        logger.info("readings settled: %s", ", ".join(moved))
    return moved
