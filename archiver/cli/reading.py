"""The ``archiver`` sub-commands that read an archive: snapshots, diff, history, published,
top, plot, report.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TextIO

from archiver.cli.output import say, table
from archiver.errors import ArchiverError
from archiver.store.layout import list_snapshots


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
        say(out, json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    if not rows:
        say(out, f"no snapshots under {args.data_dir}")
        return 0
    say(out, f"{'snapshot_id':<26} {'started_at':<28} {'rows':>6}  {'status':<9} sources")
    for row in rows:
        say(
            out,
            f"{row['snapshot_id']:<26} {row['started_at'] or '-':<28} {row['rows'] or 0:>6}  "
            f"{row['status']:<9} {', '.join(row['sources'])}",
        )
    return 0


def cmd_diff(args: argparse.Namespace, out: TextIO) -> int:
    from archiver.analyse.diff import diff

    result = diff(args.data_dir, args.a, args.b, listing=args.listing)
    if args.json:
        say(out, json.dumps(result, indent=2, ensure_ascii=False))
        return 0
    say(out, f"from {result['from']} to {result['to']}")
    for key, mark in (("new", "+"), ("vanished", "-"), ("changed", "~")):
        say(out, f"{key}: {len(result[key])}")
        for entry in result[key]:
            detail = ""
            if "changes" in entry:
                detail = "  " + "; ".join(
                    f"{k}: {a!r} -> {b!r}" for k, (a, b) in entry["changes"].items()
                )
            say(out, f"  {mark} {entry['entry_id']}  {entry['title']}{detail}")
    return 0


def cmd_history(args: argparse.Namespace, out: TextIO) -> int:
    from archiver.analyse.history import HISTORY_COLUMNS, history

    frame = history(args.data_dir, listing=listing_of(args))
    if args.entry:
        if args.entry not in set(frame["entry_id"]):
            raise ArchiverError(f"entry {args.entry!r} is in no snapshot under {args.data_dir}")
        frame = frame[frame["entry_id"] == args.entry]
    if args.json:
        say(out, frame.to_json(orient="records", force_ascii=False, date_format="iso"))
    elif args.csv:
        say(out, frame.to_csv(index=False).rstrip("\n"))
    elif frame.empty:
        say(out, f"no entries under {args.data_dir}")
    else:
        people = [*HISTORY_COLUMNS[:7], "views_delta", "views_per_day"]
        say(out, table(frame[people].round({"views_per_day": 1}), {"title": 60, "source": 24}))
    return 0


def cmd_published(args: argparse.Namespace, out: TextIO) -> int:
    from archiver.analyse.history import published

    frame = published(args.data_dir, listing=listing_of(args))
    if args.json:
        say(out, frame.to_json(orient="records", force_ascii=False, date_format="iso"))
    elif frame.empty:
        say(out, f"no entry with a readable date under {args.data_dir}")
    else:
        say(out, table(frame, {"title": 60}))
    return 0


def listing_of(args: argparse.Namespace) -> str | None:
    """The listing a command looks at: ``--listing``, or the archive's only one; with
    several and none named, one line names them (never a mix of sites)."""
    from archiver.analyse.read import one_listing

    urls = one_listing(args.data_dir, args.listing)
    return args.listing if args.listing is not None else next(iter(urls or []), None)


def cmd_top(args: argparse.Namespace, out: TextIO) -> int:
    from archiver.analyse.history import top

    if args.n < 1:
        raise ArchiverError("-n must be at least 1")
    frame = top(args.data_dir, listing=args.listing, since=args.since, n=args.n)
    if args.json:
        document = {
            "from": frame.attrs.get("from"),
            "to": frame.attrs.get("to"),
            "days": frame.attrs.get("days"),
            "entries": json.loads(frame.to_json(orient="records", force_ascii=False)),
        }
        say(out, json.dumps(document, indent=2, ensure_ascii=False))
        return 0
    if frame.empty:
        say(out, "top needs two usable snapshots of the listing; there are fewer")
        return 0
    days = frame.attrs["days"]
    say(out, f"from {frame.attrs['from']} to {frame.attrs['to']} ({days:.1f} days)")
    shown = frame.drop(columns=["url"]).round({"views_per_day": 1})
    say(out, table(shown, {"title": 60}))
    return 0


def cmd_plot(args: argparse.Namespace, out: TextIO) -> int:
    from archiver.analyse.plot import image_format, plot_image

    if args.top < 1:
        raise ArchiverError("--top must be at least 1")
    fmt = image_format(args.output)
    image = plot_image(args.data_dir, args.top, args.entry, fmt, args.listing)
    Path(args.output).write_bytes(image)
    say(out, f"plot written: {Path(args.output).resolve()}")
    return 0


def cmd_report(args: argparse.Namespace, out: TextIO) -> int:
    from archiver.analyse.report import build_report

    html = build_report(args.data_dir, args.snapshot)
    Path(args.output).write_text(html, encoding="utf-8")
    say(out, f"report written: {Path(args.output).resolve()}")
    return 0
