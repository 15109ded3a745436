"""A snapshot while it is written: rows, WARC evidence and profiles in a staging folder held
by the crawl (``StagedSnapshot``), sealed when the spider closes, and its status.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from archiver.evidence.records import WARC_FOLDER, Capture, Exchange
from archiver.evidence.writer import WarcWriter
from archiver.extract.dates import iso_utc
from archiver.items import COLUMNS, row_problem
from archiver.store.durable import close_synced
from archiver.store.layout import (
    MANIFEST_FORMAT,
    PARQUET_FILE,
    SNAPSHOTS,
    STAGING,
    check_snapshot_id,
    snapshot_dir,
)
from archiver.store.publishing import (
    finish_files,
    keep_for_resume,
    link_evidence,
    parquet_schema,
    part_name,
    publish_dir,
)
from archiver.store.rows import (
    ROW_GROUP_SIZE,
    getter,
    json_line,
)
from archiver.version import __version__

logger = logging.getLogger(__name__)


def snapshot_status(close_reason: str, failed: int, rows: int, pages: int) -> str:
    """``complete``: finished with every page read; ``partial``: some rows but something was
    lost or the crawl was stopped; ``failed``: nothing was archived."""
    if rows == 0 and (failed or pages == 0 or close_reason != "finished"):
        return "failed"
    if close_reason != "finished" or failed:
        return "partial"
    return "complete"


class StagedSnapshot:
    """The files of one snapshot while it is written, and their atomic publication.

    During the crawl, rows are checked against the columns' types and staged as JSON Lines
    (``_meta/entries.jsonl``), synced at the end; the WARC files are written beside them.
    The Parquet file is built from the JSON Lines once, when the snapshot is sealed: a
    crawl never holds pyarrow, and both files hold the same rows by construction.

    Kept apart from Scrapy (``archiver.extensions.SnapshotWriter`` drives it in a crawl) so
    that tests, benchmarks, ``archiver.cli.publish`` and imports of other data publish snapshots
    exactly as a crawl does.
    """

    def __init__(
        self,
        data_dir: str | Path,
        snapshot_id: str,
        *,
        resume: bool = False,
        warc: bool = False,
        warc_info: dict[str, str] | None = None,
        evidence_from: Path | None = None,
        batch_size: int = ROW_GROUP_SIZE,
        part: str | None = None,
        originals: dict[str, Any] | None = None,
    ) -> None:
        """``resume``: a killed run of this snapshot is being resumed; its WARC files are
        kept (the journal's rows point into them) and the data files are rebuilt.
        ``warc``: capture the crawl's responses (``capture``). ``evidence_from``: a
        published snapshot whose WARC files are this one's evidence too (a reparse); they
        are hard-linked, not copied, where the filesystem allows. ``part``: one worker's
        share of a snapshot many workers write together (``archiver.distribute``): its own
        JSON Lines and WARC files in the shared folder. ``originals``: the payloads earlier
        snapshots keep, which this one's WARC files refer to instead of storing them again
        (``archiver.evidence.revisits``)."""
        self.data_dir = Path(data_dir)
        self.snapshot_id = check_snapshot_id(snapshot_id)
        self.path = self.data_dir / STAGING / snapshot_id
        self.target = snapshot_dir(self.data_dir, snapshot_id)
        self.rows = 0
        self.batch_size = batch_size
        self._pending: list[Any] = []
        self.sources: set[str] = set()
        self.started_at = datetime.now(UTC)
        (self.data_dir / SNAPSHOTS).mkdir(parents=True, exist_ok=True)
        if self.target.exists():
            raise FileExistsError(f"snapshot {snapshot_id} already exists at {self.target}")
        self.part = part
        self.path.mkdir(parents=True, exist_ok=True)
        # Held until published: archiver prune leaves alone a folder a crawl is writing
        # (shared by the workers of one crawl, each holding it).
        self.lock_fd: int | None = os.open(self.path, os.O_RDONLY)
        try:
            fcntl.flock(self.lock_fd, (fcntl.LOCK_SH if part else fcntl.LOCK_EX) | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            os.close(self.lock_fd)
            raise FileExistsError(f"{self.path} is being written by another crawl") from exc
        if not part:
            for child in self.path.iterdir():  # left by a killed run of this same snapshot
                if not (resume and child.name == WARC_FOLDER):
                    shutil.rmtree(child) if child.is_dir() else child.unlink()
        (self.path / "_meta").mkdir(exist_ok=True)
        self.jsonl_name = part_name(part)[1]
        self._jsonl_file: BinaryIO = (self.path / self.jsonl_name).open("xb")
        self.warc: WarcWriter | None = None
        if warc:
            info = {"isPartOf": snapshot_id, **(warc_info or {})}
            prefix = f"{snapshot_id}-{part}" if part else snapshot_id
            self.warc = WarcWriter(self.path / WARC_FOLDER, prefix, info=info, originals=originals)
        if evidence_from is not None:
            link_evidence(evidence_from / WARC_FOLDER, self.path / WARC_FOLDER)

    def capture(self, exchange: Exchange, *, sync: bool = False) -> Capture | None:
        """Write one exchange to the WARC files; ``sync`` makes it durable at once (a
        journal is about to name it). None when this snapshot keeps no WARC."""
        if self.warc is None:
            return None
        capture = self.warc.capture(exchange)
        if sync:
            self.warc.sync()
        return capture

    def discard(self) -> None:
        """Drop the unpublished files; nothing was ever visible as a snapshot."""
        if self.warc is not None:
            self.warc.abort()
        with contextlib.suppress(OSError):
            self._jsonl_file.close()
        shutil.rmtree(self.path, ignore_errors=True)
        self.release()

    def abandon_for_resume(self, journal: Path) -> bool:
        """Stop writing but keep what is staged (a journal will resume it: its WARC files
        are evidence no refetch could give again); False when it could not be kept."""
        if self.warc is not None:
            self.warc.abort()  # the open file keeps its whole records; resume closes it
        with contextlib.suppress(OSError):
            self._jsonl_file.close()
        try:
            return keep_for_resume(self.path, journal)
        finally:
            self.release()

    def release(self) -> None:
        """Let go of the staging folder's lock (published, discarded, or handed on)."""
        if self.lock_fd is not None:
            with contextlib.suppress(OSError):
                os.close(self.lock_fd)
            self.lock_fd = None

    def add(self, item: Any) -> list[tuple[Any, Exception]]:
        """Take one row; it is written with its batch. Returns the rows that cannot be
        stored (a value of the wrong type), each with its reason: they are in no file."""
        problem = row_problem(getter(item))
        if problem is not None:
            return [(item, TypeError(problem))]
        self._pending.append(item)
        if len(self._pending) >= self.batch_size:
            self.flush()
        return []

    def flush(self) -> list[tuple[Any, Exception]]:
        """Write the buffered rows (one write). Returns rows that could not be written:
        none, as ``add`` checked them; kept for callers that flush at the end."""
        pending, self._pending = self._pending, []
        self._jsonl_file.write(b"".join(json_line(row, COLUMNS) for row in pending))
        self.sources.update(source for item in pending if (source := getattr(item, "source", None)))
        self.rows += len(pending)
        return []

    def sync(self) -> None:
        """Write every row taken so far and make it, and the WARC records, durable: a
        shared crawl commits a page only after this."""
        self.flush()
        self._jsonl_file.flush()
        os.fsync(self._jsonl_file.fileno())
        if self.warc is not None:
            self.warc.sync()

    def seal(self) -> None:
        """Finish and sync the JSON Lines and WARC files: nothing more is written by the
        crawl. What is left (``finish``) needs only the files on disk."""
        self.flush()
        close_synced(self._jsonl_file)
        if self.warc is not None:
            self.warc.close()

    def close_files(self) -> dict[str, dict[str, Any]]:
        """Seal, build the Parquet file, and return what the manifest records of every
        file (checksum, size; rows for the data files)."""
        self.seal()
        return finish_files(self.path, self.rows)

    def publish(self, manifest: dict[str, Any]) -> Path:
        """Write the manifest last, sync, and move the directory into ``snapshots/``."""
        try:
            return publish_dir(self.path, self.target, manifest)
        finally:
            self.release()

    def base_manifest(self, files: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
        """The manifest's common part. Without ``files`` (a snapshot sealed but not yet
        finished), ``files`` and ``schema`` are filled in by ``finish_manifest``."""
        return {
            "format": MANIFEST_FORMAT,
            "snapshot_id": self.snapshot_id,
            "started_at": iso_utc(self.started_at),
            "finished_at": iso_utc(datetime.now(UTC)),
            "archiver_version": __version__,
            "rows": self.rows,
            "sources": sorted(self.sources),
            "files": files,
            "schema": parquet_schema(self.path / PARQUET_FILE) if files else None,
        }
