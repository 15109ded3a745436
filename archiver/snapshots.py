"""Snapshots on disk: one crawl, one directory, published atomically.

Layout under ``<ARCHIVER_DATA_DIR>``::

    snapshots/
      snapshot_id=20261127T165155Z-3fa2c1/     <- hive partition: pyarrow, DuckDB, polars, Spark
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

import pyarrow.parquet as pq
from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import CloseSpider, NotConfigured
from scrapy.utils.conf import closest_scrapy_cfg
from scrapy.utils.defer import deferred_from_coro
from scrapy.utils.job import job_dir

from archiver import __version__
from archiver.errors import ArchiverError
from archiver.exporters import JsonLinesExporter, ParquetExporter, iso_utc
from archiver.items import PARTITIONED_SCHEMA
from archiver.warc import WARC_FOLDER, Capture, Exchange, WarcWriter
from archiver.warc import files as warc_files
from archiver.warc import verify_file as verify_warc_file

logger = logging.getLogger(__name__)

MANIFEST_FORMAT = 1
SNAPSHOTS = "snapshots"
STAGING = ".staging"
PARTITION = "snapshot_id="
PARQUET_FILE = "entries.parquet"
JSONL_FILE = "_meta/entries.jsonl"
MANIFEST_FILE = "_meta/manifest.json"
PROFILES_FOLDER = "_meta/profiles"
_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$")


def project_data_dir() -> Path:
    """``data`` beside the closest ``scrapy.cfg`` (the project root), else ``./data``."""
    config = closest_scrapy_cfg()
    return Path(config).parent / "data" if config else Path("data")


def new_snapshot_id(now: datetime | None = None) -> str:
    """``20261127T165155Z-3fa2c1``: sorts in time order; the suffix keeps parallel crawls apart."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return f"{moment:%Y%m%dT%H%M%S}Z-{secrets.token_hex(3)}"


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


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


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


def list_snapshots(data_dir: str | Path) -> list[SnapshotInfo]:
    """Published snapshots in time order. A directory without a readable manifest is listed
    with status ``damaged`` rather than hidden."""
    root = Path(data_dir) / SNAPSHOTS
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

    Kept apart from Scrapy so that tests, benchmarks and imports of other data can publish
    snapshots exactly as a crawl does.
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
    ) -> None:
        """``resume``: a killed run of this snapshot is being resumed; its WARC files are
        kept (the journal's rows point into them) and the data files are rebuilt.
        ``warc``: capture the crawl's responses (``capture``). ``evidence_from``: a
        published snapshot whose WARC files are this one's evidence too (a reparse); they
        are hard-linked, not copied, where the filesystem allows."""
        self.data_dir = Path(data_dir)
        self.snapshot_id = check_snapshot_id(snapshot_id)
        self.path = self.data_dir / STAGING / snapshot_id
        self.target = snapshot_dir(self.data_dir, snapshot_id)
        self.rows = 0
        self._pending: list[Any] = []
        self.sources: set[str] = set()
        self.started_at = datetime.now(UTC)
        (self.data_dir / SNAPSHOTS).mkdir(parents=True, exist_ok=True)
        if self.target.exists():
            raise FileExistsError(f"snapshot {snapshot_id} already exists at {self.target}")
        if self.path.exists():  # left by a killed run of this same snapshot
            for child in self.path.iterdir():
                if not (resume and child.name == WARC_FOLDER):
                    shutil.rmtree(child) if child.is_dir() else child.unlink()
        (self.path / "_meta").mkdir(parents=True, exist_ok=True)
        self.files: dict[str, BinaryIO] = {
            PARQUET_FILE: (self.path / PARQUET_FILE).open("xb"),
            JSONL_FILE: (self.path / JSONL_FILE).open("xb"),
        }
        self.parquet = ParquetExporter(self.files[PARQUET_FILE], schema=PARTITIONED_SCHEMA)
        self.jsonl = JsonLinesExporter(self.files[JSONL_FILE])
        self.parquet.start_exporting()
        self.jsonl.start_exporting()
        self.warc: WarcWriter | None = None
        if warc:
            info = {"isPartOf": snapshot_id, **(warc_info or {})}
            self.warc = WarcWriter(self.path / WARC_FOLDER, snapshot_id, info=info)
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
        self.parquet.abort()
        if self.warc is not None:
            self.warc.abort()
        for handle in self.files.values():
            with contextlib.suppress(OSError):
                handle.close()
        shutil.rmtree(self.path, ignore_errors=True)

    def add(self, item: Any) -> list[tuple[Any, Exception]]:
        """Buffer one row; when a row group is full, write it. Returns the rows that could
        not be written (wrong types), each with its error; they are in neither file."""
        self._pending.append(item)
        if len(self._pending) >= self.parquet.row_group_size:
            return self.flush()
        return []

    def flush(self) -> list[tuple[Any, Exception]]:
        """Write the buffered rows: Parquet first, then the same rows to JSON Lines, so
        the two files always hold the same rows."""
        pending, self._pending = self._pending, []
        written = self.parquet.write_batch(pending)
        for item in written:
            self.jsonl.export_item(item)
            if getattr(item, "source", None):
                self.sources.add(item.source)
        self.rows += len(written)
        rejected, self.parquet.rejected = self.parquet.rejected, []
        return rejected

    def close_files(self) -> dict[str, dict[str, Any]]:
        """Finish and sync the data and WARC files; return what the manifest records of
        each (checksum, size; rows for the data files). Rows still buffered must be
        flushed first (``flush``)."""
        if self._pending:
            raise RuntimeError("close_files() with rows not yet flushed")
        self.parquet.finish_exporting()
        self.jsonl.finish_exporting()
        for handle in self.files.values():
            _close_synced(handle)
        if self.warc is not None:
            self.warc.close()
        files = {
            name: {
                "sha256": sha256_file(self.path / name),
                "bytes": (self.path / name).stat().st_size,
                "rows": self.rows,
            }
            for name in (PARQUET_FILE, JSONL_FILE)
        }
        for path in warc_files(self.path / WARC_FOLDER):
            name = path.relative_to(self.path).as_posix()
            files[name] = {"sha256": sha256_file(path), "bytes": path.stat().st_size}
        if (self.path / WARC_FOLDER).is_dir():
            _fsync_dir(self.path / WARC_FOLDER)
        return files

    def publish(self, manifest: dict[str, Any]) -> Path:
        """Write the manifest last, sync, and move the directory into ``snapshots/``."""
        with (self.path / MANIFEST_FILE).open("x", encoding="utf-8") as handle:
            json.dump(manifest, handle, indent=2, ensure_ascii=False)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        _fsync_dir(self.path / "_meta")
        _fsync_dir(self.path)
        os.rename(self.path, self.target)  # atomic on one filesystem; target never pre-exists
        _fsync_dir(self.target.parent)
        return self.target

    def base_manifest(self, files: dict[str, dict[str, Any]]) -> dict[str, Any]:
        return {
            "format": MANIFEST_FORMAT,
            "snapshot_id": self.snapshot_id,
            "started_at": iso_utc(self.started_at),
            "finished_at": iso_utc(datetime.now(UTC)),
            "archiver_version": __version__,
            "rows": self.rows,
            "sources": sorted(self.sources),
            "files": files,
            "schema": {f.name: str(f.type) for f in pq.read_schema(self.path / PARQUET_FILE)},
        }


class SnapshotWriter:
    """Scrapy extension: streams every scraped item into a staging snapshot, keeps the
    crawl's evidence (``capture``, called by ``CaptureMiddleware``) and publishes both.

    Signal handlers take ``**_``: Scrapy passes a handler only the arguments it names, unless
    the handler is wrapped (a decorator, mutmut's trampolines) and names none.
    """

    def __init__(self, crawler: Crawler, data_dir: Path) -> None:
        self.crawler = crawler
        self.data_dir = data_dir
        self.snapshot: StagedSnapshot | None = None
        settings = crawler.settings
        self.replay_from = settings.get("ARCHIVER_REPLAY") or None
        self.warc = settings.getbool("ARCHIVER_WARC", True) and not self.replay_from
        # With a JOBDIR, a page's record must be durable before the journal names it.
        self.sync = bool(job_dir(settings))

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SnapshotWriter:
        if not crawler.settings.getbool("ARCHIVER_SNAPSHOTS", True):
            raise NotConfigured("ARCHIVER_SNAPSHOTS is off")
        writer = cls(crawler, Path(crawler.settings.get("ARCHIVER_DATA_DIR", "data")))
        crawler.signals.connect(writer.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(writer.item_scraped, signal=signals.item_scraped)
        crawler.signals.connect(writer.spider_closed, signal=signals.spider_closed)
        return writer

    @staticmethod
    def of(crawler: Crawler) -> SnapshotWriter | None:
        """The crawl's snapshot writer, if snapshots are on."""
        extensions = getattr(crawler, "extensions", None)
        for extension in getattr(extensions, "middlewares", ()):
            if isinstance(extension, SnapshotWriter):
                return extension
        return None

    def spider_opened(self, spider: Spider, **_: Any) -> None:
        try:
            self.snapshot = StagedSnapshot(
                self.data_dir,
                spider.snapshot_id,  # type: ignore[attr-defined]
                resume=bool(getattr(spider, "resumed", False)),
                warc=self.warc,
                warc_info={
                    "robots": "obey" if self.crawler.settings.getbool("ROBOTSTXT_OBEY") else "",
                    "http-header-user-agent": self.crawler.settings.get("USER_AGENT", ""),
                },
                evidence_from=Path(self.replay_from) if self.replay_from else None,
            )
        except OSError as exc:
            logger.error("cannot write snapshots under %s: %s", self.data_dir, exc)
            self.crawler.stats.set_value("archiver/snapshot/error", str(exc))
            raise CloseSpider("snapshot_unwritable") from exc
        logger.info("snapshot %s: writing to %s", self.snapshot.snapshot_id, self.snapshot.path)

    def capture(self, exchange: Exchange) -> Capture | None:
        """Keep one response as evidence; its record id and file, or None."""
        if self.snapshot is None:
            return None
        try:
            return self.snapshot.capture(exchange, sync=self.sync)
        except OSError as exc:  # disk full: as for rows, stop and publish nothing
            self._abandon(f"cannot write snapshot {self.snapshot.snapshot_id}: {exc}")
            deferred_from_coro(
                self.crawler.engine.close_spider_async(reason="snapshot_write_failed")  # type: ignore[union-attr]
            )
            return None

    def item_scraped(self, item: Any, spider: Spider, **_: Any) -> None:
        if self.snapshot is None:
            return
        try:
            self._report(spider, self.snapshot.add(item))
        except OSError as exc:  # disk full, quota, file size limit: stop, publish nothing
            self._abandon(f"cannot write snapshot {self.snapshot.snapshot_id}: {exc}")
            deferred_from_coro(
                self.crawler.engine.close_spider_async(reason="snapshot_write_failed")  # type: ignore[union-attr]
            )

    def _report(self, spider: Spider, rejected: list[tuple[Any, Exception]]) -> None:
        """Rows that could not be written: their pages are not whole, so they are failed."""
        for item, exc in rejected:
            self.crawler.stats.inc_value("archiver/snapshot/row/unwritable")
            spider.record_failure(  # type: ignore[attr-defined]
                item.page_url,
                item.listing_url,
                f"entry {item.position} could not be written: {type(exc).__name__}: {exc}",
            )

    def _abandon(self, message: str) -> None:
        """Log one line, count it, and remove the unpublished files (they may fill a disk)."""
        logger.error("%s", message)
        self.crawler.stats.set_value("archiver/snapshot/error", message)
        self.crawler.stats.set_value("archiver/snapshot/status", "failed")
        if self.snapshot is not None:
            self.snapshot.discard()
        self.snapshot = None

    def spider_closed(self, spider: Spider, reason: str, **_: Any) -> None:
        if self.snapshot is None:
            return
        try:
            self._report(spider, self.snapshot.flush())
            self._store_profiles(spider)
            files = self.snapshot.close_files()
        except OSError as exc:
            self._abandon(f"cannot write snapshot {self.snapshot.snapshot_id}: {exc}")
            return
        try:
            manifest = self.build_manifest(spider, reason, files)
            target = self.snapshot.publish(manifest)
        except OSError as exc:
            self._abandon(f"cannot publish snapshot {self.snapshot.snapshot_id}: {exc}")
            return
        journal = getattr(spider, "journal", None)
        if journal is not None:
            journal.finish()
        self.crawler.stats.set_value("archiver/snapshot/status", manifest["status"])
        self.crawler.stats.set_value("archiver/snapshot/path", str(target))
        for listing in manifest["listings"]:
            if listing["announced"] is not None and listing["announced"] != listing["extracted"]:
                logger.warning(
                    "%s announces %d entries but %d were extracted",
                    listing["start_url"],
                    listing["announced"],
                    listing["extracted"],
                )
        logger.info(
            "snapshot published: %s (%d rows, %s)", target, manifest["rows"], manifest["status"]
        )

    def _store_profiles(self, spider: Spider) -> None:
        """The profiles the crawl read pages with, as TOML, so that it can be re-read
        exactly (``archiver reparse``) even after the profile file changed."""
        assert self.snapshot is not None
        folder = self.snapshot.path / PROFILES_FOLDER
        used = {state.profile for state in getattr(spider, "listings", {}).values()}
        for name in sorted(n for n in used if n):
            profile = spider.profiles[name]  # type: ignore[attr-defined]
            if profile.text:
                folder.mkdir(exist_ok=True)
                path = folder / f"{_safe_name(name)}.toml"
                with path.open("w", encoding="utf-8") as handle:
                    handle.write(profile.text)
                    handle.flush()
                    os.fsync(handle.fileno())

    def build_manifest(
        self, spider: Spider, reason: str, files: dict[str, dict[str, Any]]
    ) -> dict[str, Any]:
        assert self.snapshot is not None
        listings = list(getattr(spider, "listings", {}).values())
        failed = [f for state in listings for f in state.failed]
        pages = sum(state.pages_fetched for state in listings)
        stats = self.crawler.stats.get_stats()
        base = self.snapshot.base_manifest(files)
        head = {key: base.pop(key) for key in ("format", "snapshot_id")}
        derived = (
            {"derived_from": Path(self.replay_from).name.removeprefix(PARTITION)}
            if self.replay_from
            else {}
        )
        profiles_folder = self.snapshot.path / PROFILES_FOLDER
        return head | {
            "status": snapshot_status(reason, len(failed), self.snapshot.rows, pages),
            "close_reason": reason,
            **derived,
            **base,
            "spider": spider.name,
            "start_urls": list(getattr(spider, "start_urls", [])),
            "profile": getattr(spider, "profile_spec", None),
            "arguments": getattr(spider, "arguments", {}),
            "profiles": {
                p.stem: p.relative_to(self.snapshot.path).as_posix()
                for p in sorted(profiles_folder.glob("*.toml"))
            },
            "pages_fetched": pages,
            "pages_failed": failed,
            "listings": [
                {
                    "start_url": state.start_url,
                    "profile": state.profile,
                    "announced": state.announced,
                    "extracted": state.extracted,
                    "pages_fetched": state.pages_fetched,
                    "stopped": state.stopped,
                    "page_time_sources": dict(state.page_time_sources),
                }
                for state in listings
            ],
            "warc": {
                "files": sum(1 for name in files if name.startswith(f"{WARC_FOLDER}/")),
                "captured": self.warc,
                "records_written": self.snapshot.warc.records if self.snapshot.warc else 0,
            },
            "stats": {k: v for k, v in sorted(stats.items()) if k.startswith("archiver/")},
        }


def _safe_name(name: str) -> str:
    """A profile name as a file name: never a path (names come from profile files)."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name).lstrip(".") or "profile"


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
    for name in (PARQUET_FILE, JSONL_FILE):
        if name not in files:
            problems.append(f"{where}: manifest lists no {name}")
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
    parquet = info.path / PARQUET_FILE
    if parquet.is_file():
        problems += _verify_parquet(info, parquet, records)
    jsonl = info.path / JSONL_FILE
    if jsonl.is_file():
        lines = 0
        with jsonl.open("rb") as handle:
            for number, line in enumerate(handle, start=1):
                lines += 1
                try:
                    json.loads(line)
                except ValueError:
                    problems.append(f"{where}: {JSONL_FILE} line {number} is not JSON")
                    break
        rows = info.manifest.get("rows")
        if lines != rows:
            problems.append(f"{where}: {JSONL_FILE} has {lines} lines, manifest says {rows}")
    return problems


def _verify_parquet(
    info: SnapshotInfo, parquet: Path, records: dict[str, dict[str, str]]
) -> list[str]:
    where = f"snapshot {info.snapshot_id}"
    try:
        meta = pq.read_metadata(parquet)
        schema = pq.read_schema(parquet)
        links = (
            pq.read_table(parquet, columns=["warc_record_id", "warc_filename"])
            if "warc_record_id" in schema.names
            else None
        )
    except Exception as exc:  # any reader error means the file is damaged
        return [f"{where}: {PARQUET_FILE} is not readable Parquet: {exc}"]
    problems = []
    if meta.num_rows != info.manifest.get("rows"):
        problems.append(
            f"{where}: {PARQUET_FILE} has {meta.num_rows} rows, "
            f"manifest says {info.manifest.get('rows')}"
        )
    recorded = info.manifest.get("schema", {})
    actual = {field.name: str(field.type) for field in schema}
    if recorded and actual != recorded:
        problems.append(f"{where}: {PARQUET_FILE} schema differs from the manifest")
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
    return problems
