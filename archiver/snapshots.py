"""Snapshots on disk: one crawl, one directory, published atomically.

Layout under ``<ARCHIVER_DATA_DIR>``::

    snapshots/
      snapshot_id=20261127T165155042Z-3fa2c1/    <- hive partition: pyarrow, DuckDB, polars, Spark
        entries.parquet
        _meta/manifest.json                     <- "_" folders are skipped by Parquet readers
        _meta/entries.jsonl
    .staging/<snapshot_id>/                     <- a crawl in progress; never read as a snapshot

A crawl writes into ``.staging``; when the spider closes, the files are synced, the manifest
(written last) records their checksums, and one ``rename`` moves the directory into
``snapshots/``. A reader therefore sees a whole snapshot or none; a crawl that dies leaves
only a staging directory, which nothing lists as a snapshot.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import re
import secrets
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from archiver.dates import iso_utc
from archiver.errors import ArchiverError
from archiver.items import COLUMNS, arrow_schema, row_problem
from archiver.locks import held
from archiver.rows import ROW_GROUP_SIZE, ParquetRowWriter, getter, json_line, read_jsonl_batches
from archiver.version import __version__
from archiver.warc import WARC_FOLDER, Capture, Exchange, WarcWriter
from archiver.warc import files as warc_files
from archiver.warc import verify_file as verify_warc_file

logger = logging.getLogger(__name__)

MANIFEST_FORMAT = 1
SNAPSHOTS = "snapshots"
# Earlier readings of a capture, moved here when `archiver reparse` reads it again (see
# settle_readings): outside snapshots/, so that a reader of that folder counts no row twice.
SUPERSEDED = "superseded"
STAGING = ".staging"
PARTITION = "snapshot_id="
PARQUET_FILE = "entries.parquet"
JSONL_FILE = "_meta/entries.jsonl"
MANIFEST_FILE = "_meta/manifest.json"
PROFILES_FOLDER = "_meta/profiles"
# A sealed snapshot waiting for `archiver.publish` (see SnapshotWriter.spider_closed).
PENDING_FILE = "_meta/manifest.pending.json"
# In a staging folder a crawl with JOBDIR will resume: which journal (archiver prune).
RESUME_FILE = "_meta/resume.json"
_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$")


def project_data_dir() -> Path:
    """``data`` beside the closest ``scrapy.cfg`` (the project root), else ``./data``."""
    from scrapy.utils.conf import closest_scrapy_cfg

    config = closest_scrapy_cfg()
    return Path(config).parent / "data" if config else Path("data")


def default_data_dir() -> Path:
    """Where ``scrapy crawl listing`` writes by default, so that ``archiver`` and
    ``archiver.load()`` read the same place from any folder of the project: the
    ``ARCHIVER_DATA_DIR`` environment variable, else ``data`` beside the closest
    ``scrapy.cfg`` (looked up now, from the current folder), else ``./data``."""
    return Path(os.environ.get("ARCHIVER_DATA_DIR") or project_data_dir())


def archive_dir(data_dir: str | Path | None, *, require_archive: bool = True) -> Path:
    """The data directory to read (None: ``default_data_dir``), checked, so that a typo is
    an error rather than an empty archive. ``require_archive``: it must hold snapshots (or
    a crawl's staging) too, not merely exist."""
    path = default_data_dir() if data_dir is None else Path(data_dir)
    hint = (
        "give the folder the crawl writes to (ARCHIVER_DATA_DIR; default: data beside scrapy.cfg)"
    )
    if not path.is_dir():
        what = "is not a folder" if path.exists() else "does not exist"
        raise ArchiverError(f"data directory {path} {what}; {hint}")
    if require_archive and not any(
        (path / name).is_dir() for name in (SNAPSHOTS, SUPERSEDED, STAGING)
    ):
        raise ArchiverError(f"{path} holds no archive (no {SNAPSHOTS}/ folder in it); {hint}")
    return path


def new_snapshot_id(now: datetime | None = None) -> str:
    """``20261127T165155042Z-3fa2c1``: sorts in time order, to the millisecond, so two crawls
    started within one second still sort as they ran (ids made before 2026-11-28 stop at the
    second: ``20261127T165155Z-3fa2c1``); the suffix keeps parallel crawls apart."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return f"{moment:%Y%m%dT%H%M%S}{moment.microsecond // 1000:03d}Z-{secrets.token_hex(3)}"


def check_snapshot_id(snapshot_id: str) -> str:
    """Refuse an id that could name a path outside the data directory."""
    if not _SAFE_ID.match(snapshot_id) or ".." in snapshot_id:
        raise ArchiverError(f"snapshot id {snapshot_id!r}: only letters, digits, '.', '_', '-'")
    return snapshot_id


def root_id(snapshot_id: str) -> str:
    """The capture a snapshot belongs to: a reparse's id is ``<original id>.<its own id>``."""
    return snapshot_id.split(".", 1)[0]


def snapshot_dir(data_dir: str | Path, snapshot_id: str) -> Path:
    return Path(data_dir) / SNAPSHOTS / f"{PARTITION}{check_snapshot_id(snapshot_id)}"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fsync_dir(path: Path) -> None:
    """Make a rename or removal in ``path`` durable: until the folder itself is synced, a
    power cut may undo it (the one place archiver does this)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


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
    """The (Parquet, JSON Lines) names of every part staged or published in ``folder``."""
    found = []
    for jsonl in sorted((folder / "_meta").glob("entries*.jsonl")):
        part = jsonl.stem.removeprefix("entries").removeprefix("-") or None
        found.append(part_name(part))
    return found


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
    for parquet, jsonl in parts(folder):
        count = build_parquet(folder, jsonl, parquet)
        built += count
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


def write_synced(path: Path, document: Any) -> None:
    with path.open("x", encoding="utf-8") as handle:
        json.dump(document, handle, indent=2, ensure_ascii=False)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())


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


def keep_for_resume(folder: Path, journal: Path) -> bool:
    """After a publish failed (a full disk), leave a staging folder as a resumed crawl
    wants it: the JSON Lines and WARC files kept, what publishing had begun to build (Parquet
    files, manifest) removed, and the note that tells ``archiver prune`` a journal will
    resume it. False when even that could not be written."""
    for path in [*folder.glob("entries*.parquet"), folder / MANIFEST_FILE]:
        path.unlink(missing_ok=True)
    try:
        (folder / RESUME_FILE).unlink(missing_ok=True)
        write_synced(folder / RESUME_FILE, {"journal": str(journal)})
    except OSError:
        return False
    return True


def _link_evidence(source: Path, target: Path) -> None:
    """Give ``target`` the WARC files of ``source``: hard links (no extra space, and the
    original may be pruned without harm), or copies across filesystems."""
    target.mkdir(parents=True, exist_ok=True)
    for path in warc_files(source):
        try:
            os.link(path, target / path.name)
        except OSError:
            shutil.copy2(path, target / path.name)


def _close_synced(handle: BinaryIO) -> None:
    if not handle.closed:
        handle.flush()
        os.fsync(handle.fileno())
        handle.close()


@dataclass
class SnapshotInfo:
    """One published snapshot, as listed by ``archiver snapshots``."""

    snapshot_id: str
    path: Path
    manifest: dict[str, Any]

    @property
    def status(self) -> str:
        return str(self.manifest.get("status", "unknown"))

    @property
    def usable(self) -> bool:
        """Rows an analyst can use: ``complete`` or ``partial`` with at least one row."""
        rows = self.manifest.get("rows")
        return self.status in ("complete", "partial") and isinstance(rows, int) and rows > 0

    @property
    def superseded(self) -> bool:
        """An earlier reading of a capture that ``archiver reparse`` read again."""
        return self.path.parent.name == SUPERSEDED


def _listed(root: Path) -> list[SnapshotInfo]:
    if not root.is_dir():
        return []
    found = []
    for path in sorted(root.glob(f"{PARTITION}*")):
        snapshot_id = path.name.removeprefix(PARTITION)
        try:
            manifest = json.loads((path / MANIFEST_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            manifest = {"snapshot_id": snapshot_id, "status": "damaged", "error": str(exc)}
        found.append(SnapshotInfo(snapshot_id, path, manifest))
    return found


def find_snapshot(
    snapshots: list[SnapshotInfo], snapshot_id: str, data_dir: str | Path | None
) -> SnapshotInfo:
    """The snapshot of ``snapshot_id`` among ``snapshots``, or the one line saying it is not
    under ``data_dir`` (every command that takes an id says it the same way)."""
    for info in snapshots:
        if info.snapshot_id == snapshot_id:
            return info
    raise ArchiverError(f"snapshot {snapshot_id!r} not found under {data_dir}")


def list_snapshots(data_dir: str | Path, *, superseded: bool = False) -> list[SnapshotInfo]:
    """Published snapshots in time order. A directory without a readable manifest is listed
    with status ``damaged`` rather than hidden. ``superseded``: the earlier readings that
    ``archiver reparse`` moved out of ``snapshots/`` too (``verify``, ``prune`` and
    ``load(readings="all")`` see every snapshot; a reader of the folder sees one reading
    per capture)."""
    found = _listed(Path(data_dir) / SNAPSHOTS)
    if superseded:
        found = sorted([*found, *_listed(Path(data_dir) / SUPERSEDED)], key=lambda s: s.snapshot_id)
    return found


def current_readings(snapshots: list[SnapshotInfo]) -> list[SnapshotInfo]:
    """Each capture's current reading, in time order: its newest usable reading (a reparse
    that failed never hides the rows of the reading before it), else its newest."""
    chosen: dict[str, SnapshotInfo] = {}
    for info in sorted(snapshots, key=lambda s: s.snapshot_id):  # ids sort in time order
        root = root_id(info.snapshot_id)
        if root not in chosen or info.usable or not chosen[root].usable:
            chosen[root] = info
    return sorted(chosen.values(), key=lambda s: s.snapshot_id)


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
    that tests, benchmarks, ``archiver.publish`` and imports of other data publish snapshots
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
    ) -> None:
        """``resume``: a killed run of this snapshot is being resumed; its WARC files are
        kept (the journal's rows point into them) and the data files are rebuilt.
        ``warc``: capture the crawl's responses (``capture``). ``evidence_from``: a
        published snapshot whose WARC files are this one's evidence too (a reparse); they
        are hard-linked, not copied, where the filesystem allows. ``part``: one worker's
        share of a snapshot many workers write together (``archiver.workers``): its own
        JSON Lines and WARC files in the shared folder."""
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
            self.warc = WarcWriter(self.path / WARC_FOLDER, prefix, info=info)
        if evidence_from is not None:
            _link_evidence(evidence_from / WARC_FOLDER, self.path / WARC_FOLDER)

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
        _close_synced(self._jsonl_file)
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


def verify_snapshot(info: SnapshotInfo) -> list[str]:
    """Every way ``info`` differs from its manifest, one line each; empty when sound.

    Checksums catch any changed byte; the Parquet footer, row counts and schema are checked
    as well, so a problem is described, not just detected. WARC files are read through:
    every record's block and payload digests, and every row's ``warc_record_id`` must name
    a response (or resource) record in its ``warc_filename``.
    """
    where = f"snapshot {info.snapshot_id}"
    if info.status == "damaged":
        return [f"{where}: manifest unreadable: {info.manifest.get('error')}"]
    problems = []
    if info.manifest.get("snapshot_id") != info.snapshot_id:
        problems.append(f"{where}: manifest names snapshot {info.manifest.get('snapshot_id')!r}")
    files = info.manifest.get("files", {})
    data = [name for name in files if not name.startswith(f"{WARC_FOLDER}/")]
    if not any(name.endswith(".parquet") for name in data):
        problems.append(f"{where}: manifest lists no {PARQUET_FILE}")
    if not any(name.endswith(".jsonl") for name in data):
        problems.append(f"{where}: manifest lists no {JSONL_FILE}")
    records: dict[str, dict[str, str]] = {}
    for name, expected in files.items():
        path = info.path / name
        if not path.is_file():
            problems.append(f"{where}: {name} is missing")
            continue
        size = path.stat().st_size
        if size != expected.get("bytes"):
            problems.append(
                f"{where}: {name} has {size} bytes, manifest says {expected.get('bytes')}"
            )
        if sha256_file(path) != expected.get("sha256"):
            problems.append(f"{where}: {name} checksum does not match the manifest")
        if name.startswith(f"{WARC_FOLDER}/"):
            warc_problems, records[name] = verify_warc_file(path)
            problems += [f"{where}: {name}: {problem}" for problem in warc_problems]
    rows = {"parquet": 0, "jsonl": 0}
    for name in data:
        path = info.path / name
        if not path.is_file():
            continue
        if name.endswith(".parquet"):
            found, more = _verify_parquet(info, name, records)
            rows["parquet"] += found
            problems += more
        elif name.endswith(".jsonl"):
            lines = 0
            with path.open("rb") as handle:
                for number, line in enumerate(handle, start=1):
                    lines += 1
                    try:
                        json.loads(line)
                    except ValueError:
                        problems.append(f"{where}: {name} line {number} is not JSON")
                        break
            rows["jsonl"] += lines
    expected_rows = info.manifest.get("rows")
    for kind, found in rows.items():
        name = PARQUET_FILE if kind == "parquet" else JSONL_FILE
        if found != expected_rows:
            unit = "rows" if kind == "parquet" else "lines"
            problems.append(f"{where}: {name} has {found} {unit}, manifest says {expected_rows}")
    return problems


def _verify_parquet(
    info: SnapshotInfo, name: str, records: dict[str, dict[str, str]]
) -> tuple[int, list[str]]:
    """(rows in one Parquet file, what is wrong with it)."""
    import pyarrow.parquet as pq

    where = f"snapshot {info.snapshot_id}"
    parquet = info.path / name
    try:
        meta = pq.read_metadata(parquet)
        schema = pq.read_schema(parquet)
        links = (
            pq.read_table(parquet, columns=["warc_record_id", "warc_filename"])
            if "warc_record_id" in schema.names
            else None
        )
    except Exception as exc:  # any reader error means the file is damaged
        return 0, [f"{where}: {name} is not readable Parquet: {exc}"]
    problems = []
    recorded = info.manifest.get("schema", {})
    actual = {field.name: str(field.type) for field in schema}
    if recorded and actual != recorded:
        problems.append(f"{where}: {name} schema differs from the manifest")
    if links is not None:
        unresolved = [
            (record_id, filename)
            for record_id, filename in zip(
                links.column("warc_record_id").to_pylist(),
                links.column("warc_filename").to_pylist(),
                strict=True,
            )
            if record_id is not None and record_id not in records.get(filename or "", {})
        ]
        if unresolved:
            record_id, filename = unresolved[0]
            problems.append(
                f"{where}: {len(unresolved)} row(s) name no response record in their WARC "
                f"file (first: {record_id} in {filename})"
            )
    return meta.num_rows, problems
