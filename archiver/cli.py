"""The ``archiver`` command: list, compare, follow and check snapshots; try out profiles.

Every sub-command takes ``--data-dir``; bad input ends with one line on stderr and exit 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from archiver import __version__
from archiver.errors import ArchiverError
from archiver.snapshots import list_snapshots, verify_snapshot


def _out(stream: TextIO, text: str = "") -> None:
    stream.write(text + "\n")


def cmd_snapshots(args: argparse.Namespace, out: TextIO) -> int:
    rows = [
        {
            "snapshot_id": s.snapshot_id,
            "started_at": s.manifest.get("started_at"),
            "sources": s.manifest.get("sources", []),
            "rows": s.manifest.get("rows"),
            "status": s.status,
            "path": str(s.path),
        }
        for s in list_snapshots(args.data_dir)
    ]
    if args.json:
        _out(out, json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    if not rows:
        _out(out, f"no snapshots under {args.data_dir}")
        return 0
    _out(out, f"{'snapshot_id':<26} {'started_at':<28} {'rows':>6}  {'status':<9} sources")
    for row in rows:
        _out(
            out,
            f"{row['snapshot_id']:<26} {row['started_at'] or '-':<28} {row['rows'] or 0:>6}  "
            f"{row['status']:<9} {', '.join(row['sources'])}",
        )
    return 0


def cmd_diff(args: argparse.Namespace, out: TextIO) -> int:
    from archiver.dataset import diff

    result = diff(args.data_dir, args.a, args.b)
    if args.json:
        _out(out, json.dumps(result, indent=2, ensure_ascii=False))
        return 0
    _out(out, f"from {result['from']} to {result['to']}")
    for key, mark in (("new", "+"), ("vanished", "-"), ("changed", "~")):
        _out(out, f"{key}: {len(result[key])}")
        for entry in result[key]:
            detail = ""
            if "changes" in entry:
                detail = "  " + "; ".join(
                    f"{k}: {a!r} -> {b!r}" for k, (a, b) in entry["changes"].items()
                )
            _out(out, f"  {mark} {entry['entry_id']}  {entry['title']}{detail}")
    return 0


def cmd_history(args: argparse.Namespace, out: TextIO) -> int:
    from archiver.dataset import history

    frame = history(args.data_dir)
    if args.entry:
        frame = frame[frame["entry_id"] == args.entry]
    if args.json:
        _out(out, frame.to_json(orient="records", force_ascii=False))
    else:
        _out(out, frame.to_csv(index=False).rstrip("\n"))
    return 0


def cmd_verify(args: argparse.Namespace, out: TextIO) -> int:
    snapshots = list_snapshots(args.data_dir)
    problems = [line for s in snapshots for line in verify_snapshot(s)]
    for line in problems:
        _out(sys.stderr, line)
    staging = Path(args.data_dir) / ".staging"
    leftovers = sorted(p.name for p in staging.iterdir()) if staging.is_dir() else []
    if leftovers:
        _out(
            out, f"note: {len(leftovers)} unpublished crawl(s) in {staging}: {', '.join(leftovers)}"
        )
    _out(out, f"{len(snapshots)} snapshot(s) checked, {len(problems)} problem(s)")
    return 1 if problems else 0


def cmd_profile_check(args: argparse.Namespace, out: TextIO) -> int:
    from archiver.check import check_profile

    report = check_profile(args.profile, args.target)
    if args.json:
        _out(out, json.dumps(report, indent=2, ensure_ascii=False))
        return 0 if report["entries"] else 1
    _out(out, f"profile {report['profile']} on {report['page_url']}")
    _out(out, f"page time: {report['page_time']} (from {report['page_time_source']})")
    _out(out, f"entries: {len(report['entries'])}   announced total: {report['announced_total']}")
    for number, entry in enumerate(report["entries"], start=1):
        _out(out, f"\n#{number} {entry.get('title')}")
        for key, value in entry.items():
            if key not in ("title", "missing") and value not in (None, {}, []):
                text = " .. ".join(value) if isinstance(value, list) else str(value)
                _out(out, f"   {key:<12} {text[:100] + '…' if len(text) > 100 else text}")
        if entry["missing"]:
            _out(out, f"   missing      {', '.join(entry['missing'])}")
    _out(out, f"\nnext: {report['next'] or '(none: last page)'}")
    for name, count in report["pattern_unmatched"].items():
        _out(out, f"warning: pattern for {name!r} did not match {count} time(s)")
    for failure in report["failed"]:
        _out(out, f"warning: {failure['url']}: {failure['reason']}")
    return 0 if report["entries"] else 1


def cmd_reparse(args: argparse.Namespace, out: TextIO) -> int:
    from archiver import reparse

    sources = reparse.select(args.data_dir, args.snapshot, args.all, args.listing)
    jobs = [reparse.plan(args.data_dir, source, args.profile) for source in sources]
    width = len(str(len(jobs)))

    def progress(number: int, job: reparse.Job) -> None:
        result = job.result
        line = (
            f"[{number:>{width}}/{len(jobs)}] {job.source.snapshot_id} -> {job.snapshot_id}: "
            f"{result['status']}, {result.get('rows', 0)} rows"
        )
        if result.get("error"):
            line += f" ({result['error']})"
        _out(out, line)
        out.flush()

    done = reparse.run(jobs, progress)
    statuses = {job.result.get("status", "failed") for job in done}
    if len(done) < len(jobs):
        _out(sys.stderr, f"archiver: stopped after {len(done)} of {len(jobs)} snapshots")
    return 1 if "failed" in statuses else 3 if statuses != {"complete"} else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="archiver", description="Inspect archived listing snapshots and try out profiles."
    )
    parser.add_argument("--version", action="version", version=f"archiver {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", default="data", help="where snapshots live (default: data)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "snapshots", parents=[common], help="list snapshots (id, time, rows, status)"
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_snapshots)

    p = sub.add_parser("diff", parents=[common], help="new, vanished and changed entries")
    p.add_argument("a", nargs="?", help="older snapshot id (default: second newest)")
    p.add_argument("b", nargs="?", help="newer snapshot id (default: newest)")
    p.add_argument("--json", action="store_true", help="JSON with keys new, vanished, changed")
    p.set_defaults(func=cmd_diff)

    p = sub.add_parser("history", parents=[common], help="each entry across snapshots (CSV)")
    p.add_argument("--entry", help="only this entry_id")
    p.add_argument("--json", action="store_true", help="JSON records instead of CSV")
    p.set_defaults(func=cmd_history)

    p = sub.add_parser(
        "verify",
        parents=[common],
        help="check every snapshot against its manifest (exit 1 on damage)",
    )
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser(
        "reparse",
        parents=[common],
        help="rebuild a snapshot offline from its WARC files (a new, derived snapshot)",
        description="Read a snapshot's pages again from its WARC files alone, with the "
        "profile it was crawled with or another one, and publish the rows as a new snapshot "
        "(its manifest says derived_from). Exit 0 when every new snapshot is complete, "
        "3 when one is partial, 1 when one failed.",
    )
    p.add_argument("snapshot", nargs="?", help="the snapshot id to read again")
    p.add_argument("--all", action="store_true", help="every original snapshot (not derived)")
    p.add_argument("--listing", metavar="URL", help="with --all: only snapshots of this start URL")
    p.add_argument(
        "--profile",
        metavar="NAME|PATH",
        help="read with this profile (default: the ones stored with the snapshot)",
    )
    p.set_defaults(func=cmd_reparse)

    p = sub.add_parser("profile", help="work with site profiles")
    profile_sub = p.add_subparsers(dest="profile_command", required=True, metavar="ACTION")
    p = profile_sub.add_parser(
        "check", parents=[common], help="show what a profile extracts from one page"
    )
    p.add_argument("profile", help="built-in name, 'auto', or a .toml file")
    p.add_argument("target", help="an http(s) URL or a local HTML file")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_profile_check)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args, sys.stdout)
    except ArchiverError as exc:
        _out(sys.stderr, f"archiver: {exc}")
        return 2
    except OSError as exc:
        _out(sys.stderr, f"archiver: {exc}")
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
