"""Where snapshots live and what they are called: the data directory, snapshot ids and
folders, the file names inside one, and the published snapshots as listed (``SnapshotInfo``).

A snapshot is found by id once (``find_snapshot``), for every command that takes one.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from archiver.errors import ArchiverError

logger = logging.getLogger(__name__)


MANIFEST_FORMAT = 2  # 2: rows gzipped (_meta/entries.jsonl.gz), dating, published_* sources
SNAPSHOTS = "snapshots"
# Earlier readings of a capture, moved here when `archiver reparse` reads it again (see
# settle_readings): outside snapshots/, so that a reader of that folder counts no row twice.
SUPERSEDED = "superseded"
STAGING = ".staging"
PARTITION = "snapshot_id="
PARQUET_FILE = "entries.parquet"
JSONL_FILE = "_meta/entries.jsonl"  # as staged (and published, before compression)
# The rows as JSON Lines in a published snapshot, gzipped, which pandas, DuckDB, polars, jq
# (zcat) and every language read without an extra library, at a fifth of the bytes.
COMPRESSED = ".gz"
MANIFEST_FILE = "_meta/manifest.json"
PROFILES_FOLDER = "_meta/profiles"
# A sealed snapshot waiting for `archiver.cli.publish` (see SnapshotWriter.spider_closed).
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


def read_manifest(folder: Path) -> dict[str, Any]:
    """A snapshot folder's manifest; ``{}`` when it has none a reader can use (a reader that
    needs it whole lists the folder instead, and sees it as ``damaged``)."""
    try:
        manifest = json.loads((folder / MANIFEST_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return manifest if isinstance(manifest, dict) else {}


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
