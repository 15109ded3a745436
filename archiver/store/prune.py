"""``archiver prune``: remove old snapshots safely, as restic and borg forget old backups.

Policies (combinable; a snapshot any of them keeps is kept), applied to each listing set
(snapshots that crawled the same start URLs) on its own, and counting only *usable*
snapshots (``complete`` or ``partial``, with at least one row):

* ``--keep-last N``: the N newest usable snapshots;
* ``--keep-daily N``: the newest usable snapshot of each of the last N days that have one;
* ``--keep-weekly N``: the newest of each of the last N ISO weeks that have one.

Failed and empty snapshots (a bad setting, a DNS error, a site that was down) are never
counted by those policies, so a run of failures cannot push good snapshots out: the newest
``--keep-failed`` (1) of them per listing set are kept as the evidence of what went wrong,
the older ones are removed. A capture and its readings (``archiver reparse``) go together,
dated by the capture; the capture is usable when any of its readings is.

What is never removed: the newest usable snapshot of each listing set; a damaged snapshot
(its manifest unreadable: ``archiver verify`` says what is wrong, and a person decides); a
snapshot a running process holds (``archiver reparse`` reading it); a staging folder a
running crawl holds, or that a crawl with ``JOBDIR`` will resume. Staging folders that killed
runs left behind are removed.

A removal is atomic per snapshot: the folder is renamed out of ``snapshots/`` (into
``.trash/``) first, then deleted, so a crash never leaves a half-deleted snapshot visible;
the next prune finishes what a crashed one left in ``.trash/``.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from archiver.errors import ArchiverError
from archiver.store.durable import fsync_dir
from archiver.store.journal import read_records
from archiver.store.layout import (
    RESUME_FILE,
    SNAPSHOTS,
    STAGING,
    SnapshotInfo,
    archive_dir,
    list_snapshots,
    root_id,
)
from archiver.store.locks import held
from archiver.store.publishing import settle_readings

TRASH = ".trash"


@dataclass
class Capture:
    """A capture and its readings: pruned together."""

    root: str
    time: datetime
    group: tuple[str, ...]
    snapshots: list[SnapshotInfo] = field(default_factory=list)
    keep: list[str] = field(default_factory=list)  # why it is kept

    @property
    def usable(self) -> bool:
        """Some reading of it holds rows and did not fail: what the policies count."""
        return any(info.usable for info in self.snapshots)

    @property
    def damaged(self) -> bool:
        return any(info.status == "damaged" for info in self.snapshots)

    @property
    def kind(self) -> str:
        """How the plan names it: ``usable``, ``failed`` (or empty), ``damaged``."""
        return "damaged" if self.damaged else "usable" if self.usable else "failed"


@dataclass
class Plan:
    captures: list[Capture]
    staging: list[tuple[Path, str | None]]  # (folder, why it is kept, or None: remove it)

    @property
    def removed(self) -> list[Capture]:
        return [c for c in self.captures if not c.keep]


def snapshot_time(info: SnapshotInfo) -> datetime:
    """When a snapshot's crawl started (its manifest), else the time its id names."""
    started = info.manifest.get("started_at")
    if started:
        with contextlib.suppress(ValueError):
            return datetime.fromisoformat(started).astimezone(UTC)
    with contextlib.suppress(ValueError):
        return datetime.strptime(root_id(info.snapshot_id)[:15], "%Y%m%dT%H%M%S").replace(
            tzinfo=UTC
        )
    return datetime.min.replace(tzinfo=UTC)


def _resumable(folder: Path) -> str | None:
    """The journal that will resume this staging folder, if a crawl left one naming it."""
    try:
        journal = Path(json.loads((folder / RESUME_FILE).read_text("utf-8"))["journal"])
        records, _ = read_records(journal)
    except (OSError, ValueError, KeyError):
        return None
    if records and records[0].get("snapshot_id") == folder.name:
        return str(journal)
    return None


def plan(
    data_dir: str | Path,
    keep_last: int = 0,
    keep_daily: int = 0,
    keep_weekly: int = 0,
    keep_failed: int = 1,
) -> Plan:
    if not (keep_last or keep_daily or keep_weekly):
        raise ArchiverError("prune needs a policy: --keep-last, --keep-daily or --keep-weekly")
    if min(keep_last, keep_daily, keep_weekly, keep_failed) < 0:
        raise ArchiverError("prune: a --keep-* count cannot be negative")
    data_dir = archive_dir(data_dir)
    captures: dict[str, Capture] = {}
    for info in list_snapshots(data_dir, superseded=True):
        root = root_id(info.snapshot_id)
        if root not in captures:
            group = tuple(sorted(info.manifest.get("start_urls", []))) or ("(unknown)",)
            captures[root] = Capture(root, snapshot_time(info), group)
        captures[root].snapshots.append(info)
        if root == info.snapshot_id:  # the capture itself dates the group
            captures[root].time = snapshot_time(info)
    groups: dict[tuple[str, ...], list[Capture]] = {}
    for capture in captures.values():
        groups.setdefault(capture.group, []).append(capture)
    for members in groups.values():
        members.sort(key=lambda c: (c.time, c.root), reverse=True)
        _keep_by_policy(
            [c for c in members if c.kind == "usable"], keep_last, keep_daily, keep_weekly
        )
        failed = [c for c in members if c.kind == "failed"]
        for capture in failed[:keep_failed]:
            capture.keep.append(f"failed or empty: newest {keep_failed} kept (--keep-failed)")
        for capture in members:
            if capture.kind == "damaged":
                capture.keep.append("damaged: never pruned; see `archiver verify`")
            if not capture.keep and any(held(s.path, exclusive=True) for s in capture.snapshots):
                capture.keep.append("in use by a running process")
    _keep_originals(captures)
    staging: list[tuple[Path, str | None]] = []
    staging_dir = Path(data_dir) / STAGING
    for folder in sorted(staging_dir.iterdir()) if staging_dir.is_dir() else []:
        if held(folder):
            staging.append((folder, "a running crawl is writing it"))
        elif journal := _resumable(folder):
            staging.append((folder, f"a crawl will resume it (journal {journal})"))
        else:
            staging.append((folder, None))
    ordered = sorted(captures.values(), key=lambda c: (c.group, c.time))
    return Plan(ordered, staging)


def _keep_originals(captures: dict[str, Capture]) -> None:
    """A kept snapshot whose WARC revisit records point into an older one needs that one:
    it is kept too, and the plan says for whom (and so on, for the snapshots it needs)."""
    changed = True
    while changed:
        changed = False
        for capture in list(captures.values()):
            if not capture.keep:
                continue
            for info in capture.snapshots:
                for needed in (info.manifest.get("revisits") or {}).get("of") or []:
                    original = captures.get(root_id(needed))
                    if original is None or original is capture:
                        continue
                    why = f"holds the originals that {capture.root} revisits"
                    if not original.keep:
                        changed = True
                    if why not in original.keep:
                        original.keep.append(why)


def _keep_by_policy(
    members: list[Capture], keep_last: int, keep_daily: int, keep_weekly: int
) -> None:
    """Mark what the policies keep among one listing set's usable captures, newest first."""
    if not members:
        return
    members[0].keep.append("newest usable")
    for capture in members[:keep_last]:
        capture.keep.append(f"last {keep_last}")
    for rule, key, count in (
        ("daily", lambda c: c.time.date(), keep_daily),
        ("weekly", lambda c: c.time.isocalendar()[:2], keep_weekly),
    ):
        seen: set = set()
        for capture in members:
            period = key(capture)
            if period not in seen and len(seen) < count:
                seen.add(period)
                capture.keep.append(rule)


def _remove(folder: Path, trash: Path) -> None:
    """Rename ``folder`` out of sight first, then delete it."""
    trash.mkdir(exist_ok=True)
    moved = trash / f"{folder.name}.{secrets.token_hex(4)}"
    os.rename(folder, moved)
    fsync_dir(folder.parent)
    shutil.rmtree(moved)


def execute(data_dir: str | Path, pruned: Plan, progress: Callable[[int, int], None]) -> int:
    """Carry out ``pruned``; return how many snapshots were removed."""
    trash = Path(data_dir) / TRASH
    for leftover in sorted(trash.iterdir()) if trash.is_dir() else []:
        shutil.rmtree(leftover, ignore_errors=True)  # a crashed prune's
    removed = 0
    doomed = [s for c in pruned.removed for s in c.snapshots]
    for number, info in enumerate(doomed, start=1):
        if held(info.path):  # taken since the plan was made: leave it
            continue
        _remove(info.path, trash)
        removed += 1
        progress(number, len(doomed))
    for folder, kept in pruned.staging:
        if kept is None and not held(folder):
            _remove(folder, trash)
    settle_readings(data_dir)  # archives from before superseded/ existed, or a crashed reparse
    return removed


__all__ = ["SNAPSHOTS", "Plan", "execute", "plan"]
