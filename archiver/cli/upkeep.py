"""The ``archiver`` sub-commands that look after an archive: prune and verify."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from archiver.cli.output import Progress, say
from archiver.store.layout import list_snapshots
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
