"""The ``archiver`` sub-commands that look after an archive: prune, verify and export."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from archiver.cli.output import Progress, say
from archiver.errors import ArchiverError
from archiver.store.layout import find_snapshot, list_snapshots
from archiver.store.rows import published_rows
from archiver.store.verify import verify_snapshot


def cmd_prune(args: argparse.Namespace, out: TextIO) -> int:
    from archiver.store import prune

    planned = prune.plan(
        args.data_dir, args.keep_last, args.keep_daily, args.keep_weekly, args.keep_failed
    )
    verb = "would remove" if args.dry_run else "removing"
    for capture in planned.captures:
        ids = ", ".join(s.snapshot_id for s in capture.snapshots)
        when = capture.time.strftime("%Y-%m-%d %H:%M")
        kind = "" if capture.kind == "usable" else f"  [{capture.kind}]"
        if capture.keep:
            say(out, f"keep    {ids}  {when}{kind}  ({'; '.join(capture.keep)})")
        else:
            say(out, f"{verb:<7} {ids}  {when}{kind}")
    for folder, kept in planned.staging:
        if kept:
            say(out, f"keep    staging {folder.name}  ({kept})")
        else:
            say(out, f"{verb:<7} staging {folder.name}  (left by a crawl that did not finish)")
    doomed = sum(len(c.snapshots) for c in planned.removed)
    stale = sum(1 for _, kept in planned.staging if kept is None)
    if args.dry_run:
        say(out, f"dry run: {doomed} snapshot(s) and {stale} staging folder(s) would be removed")
        return 0
    removed = prune.execute(args.data_dir, planned, Progress("removing", doomed))
    say(out, f"{removed} snapshot(s) and {stale} staging folder(s) removed")
    return 0


def cmd_verify(args: argparse.Namespace, out: TextIO) -> int:
    snapshots = list_snapshots(args.data_dir, superseded=True)
    progress = Progress("verifying", len(snapshots))
    problems = []
    for number, snapshot in enumerate(snapshots, start=1):
        problems += verify_snapshot(snapshot)
        progress(number)
    for line in problems:
        say(sys.stderr, line)
    staging = Path(args.data_dir) / ".staging"
    leftovers = sorted(p.name for p in staging.iterdir()) if staging.is_dir() else []
    if leftovers:
        say(
            out, f"note: {len(leftovers)} unpublished crawl(s) in {staging}: {', '.join(leftovers)}"
        )
    say(out, f"{len(snapshots)} snapshot(s) checked, {len(problems)} problem(s)")
    return 1 if problems else 0


def cmd_export(args: argparse.Namespace, out: TextIO) -> int:
    """``archiver export --wacz SNAPSHOT``: its evidence as one WACZ package, checked first:
    a damaged snapshot is not exported as if it were sound."""
    from archiver.evidence.wacz import write_wacz

    snapshot = find_snapshot(
        list_snapshots(args.data_dir, superseded=True), args.snapshot, args.data_dir
    )
    problems = verify_snapshot(snapshot)
    if problems:
        raise ArchiverError(f"{problems[0]} (and {len(problems) - 1} more); not exported")
    target = Path(args.output or f"{snapshot.snapshot_id}.wacz")
    if target.is_dir():  # -o a folder: the package goes inside it, named after the snapshot
        target = target / f"{snapshot.snapshot_id}.wacz"
    if not target.parent.is_dir():
        raise ArchiverError(f"{target.parent} is not a folder")
    rows = published_rows(snapshot.path, snapshot.manifest)
    page_ids = {row.get("warc_record_id") for row in rows}
    try:
        package = write_wacz(snapshot.path, target, snapshot.manifest, page_ids - {None})
    except ValueError as exc:
        raise ArchiverError(str(exc)) from None
    except OSError as exc:
        raise ArchiverError(f"cannot write {target}: {exc.strerror or exc}") from None
    warcs = sum(1 for r in package["resources"] if r["path"].startswith("archive/"))
    say(out, f"wrote {target} ({warcs} WARC file(s), {target.stat().st_size:,} bytes)")
    return 0
