"""The ``archiver`` command: list, compare, follow, look at, check and prune snapshots; read
them again; try out profiles.

Every sub-command takes ``--data-dir`` and ``--help``; bad input ends with one line on
stderr and exit 2. Tables are for people; ``--json`` is for scripts.
"""

from __future__ import annotations

import argparse
import codecs
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

import pandas as pd

from archiver.errors import ArchiverError
from archiver.snapshots import archive_dir, list_snapshots, verify_snapshot
from archiver.version import __version__


def _out(stream: TextIO, text: str = "") -> None:
    stream.write(text + "\n")


class Progress:
    """Counts long work on stderr: a line rewritten in place on a terminal, else a line
    every tenth of the way (for logs and cron mails)."""

    def __init__(self, what: str, total: int, stream: TextIO | None = None) -> None:
        self.what, self.total = what, total
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.step = max(1, total // 10)

    def __call__(self, done: int, _total: int | None = None) -> None:
        if self.total < 50:  # short work needs no counter
            return
        if self.tty:
            end = "\n" if done >= self.total else ""
            self.stream.write(f"\r{self.what}: {done}/{self.total}{end}")
        elif done % self.step == 0 or done == self.total:
            self.stream.write(f"{self.what}: {done}/{self.total}\n")
        self.stream.flush()


def table(frame: pd.DataFrame, limits: dict[str, int] | None = None) -> str:
    """A DataFrame as aligned text columns a person reads; long cells cut with an ellipsis."""
    limits = limits or {}

    def cell(name: str, value: object) -> str:
        if value is None or (not isinstance(value, str | list | dict) and pd.isna(value)):
            return "-"
        if isinstance(value, pd.Timestamp):
            text = value.isoformat().replace("+00:00", "Z")
        elif isinstance(value, bool):
            text = "yes" if value else "no"
        else:
            text = str(value)
        limit = limits.get(name)
        return text if not limit or len(text) <= limit else text[: limit - 1] + "…"

    rows = [[cell(name, value) for name, value in zip(frame.columns, values, strict=True)]
            for values in frame.itertuples(index=False)]  # fmt: skip
    headers = [str(name) for name in frame.columns]
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]
    numeric = [pd.api.types.is_numeric_dtype(frame[name]) and not pd.api.types.is_bool_dtype(
        frame[name]) for name in frame.columns]  # fmt: skip

    def line(values: list[str]) -> str:
        return "  ".join(
            v.rjust(w) if n else v.ljust(w) for v, w, n in zip(values, widths, numeric, strict=True)
        ).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *map(line, rows)])


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

    result = diff(args.data_dir, args.a, args.b, listing=args.listing)
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
    from archiver.dataset import HISTORY_COLUMNS, history

    frame = history(args.data_dir, listing=_listing(args))
    if args.entry:
        if args.entry not in set(frame["entry_id"]):
            raise ArchiverError(f"entry {args.entry!r} is in no snapshot under {args.data_dir}")
        frame = frame[frame["entry_id"] == args.entry]
    if args.json:
        _out(out, frame.to_json(orient="records", force_ascii=False, date_format="iso"))
    elif args.csv:
        _out(out, frame.to_csv(index=False).rstrip("\n"))
    elif frame.empty:
        _out(out, f"no entries under {args.data_dir}")
    else:
        people = [*HISTORY_COLUMNS[:7], "views_delta", "views_per_day"]
        _out(out, table(frame[people].round({"views_per_day": 1}), {"title": 60, "source": 24}))
    return 0


def cmd_published(args: argparse.Namespace, out: TextIO) -> int:
    from archiver.dataset import published

    frame = published(args.data_dir, listing=_listing(args))
    if args.json:
        _out(out, frame.to_json(orient="records", force_ascii=False, date_format="iso"))
    elif frame.empty:
        _out(out, f"no entry with a readable date under {args.data_dir}")
    else:
        _out(out, table(frame, {"title": 60}))
    return 0


def _listing(args: argparse.Namespace) -> str | None:
    """The listing a command looks at: ``--listing``, or the archive's only one; with
    several and none named, one line names them (never a mix of sites)."""
    from archiver.dataset import one_listing

    urls = one_listing(args.data_dir, args.listing)
    return args.listing if args.listing is not None else next(iter(urls or []), None)


def cmd_top(args: argparse.Namespace, out: TextIO) -> int:
    from archiver.dataset import top

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
        _out(out, json.dumps(document, indent=2, ensure_ascii=False))
        return 0
    if frame.empty:
        _out(out, "top needs two usable snapshots of the listing; there are fewer")
        return 0
    days = frame.attrs["days"]
    _out(out, f"from {frame.attrs['from']} to {frame.attrs['to']} ({days:.1f} days)")
    shown = frame.drop(columns=["url"]).round({"views_per_day": 1})
    _out(out, table(shown, {"title": 60}))
    return 0


def cmd_plot(args: argparse.Namespace, out: TextIO) -> int:
    from archiver.plot import image_format, plot_image

    if args.top < 1:
        raise ArchiverError("--top must be at least 1")
    fmt = image_format(args.output)
    image = plot_image(args.data_dir, args.top, args.entry, fmt, args.listing)
    Path(args.output).write_bytes(image)
    _out(out, f"plot written: {Path(args.output).resolve()}")
    return 0


def cmd_report(args: argparse.Namespace, out: TextIO) -> int:
    from archiver.report import build_report

    html = build_report(args.data_dir, args.snapshot)
    Path(args.output).write_text(html, encoding="utf-8")
    _out(out, f"report written: {Path(args.output).resolve()}")
    return 0


def cmd_prune(args: argparse.Namespace, out: TextIO) -> int:
    from archiver import prune

    planned = prune.plan(
        args.data_dir, args.keep_last, args.keep_daily, args.keep_weekly, args.keep_failed
    )
    verb = "would remove" if args.dry_run else "removing"
    for capture in planned.captures:
        ids = ", ".join(s.snapshot_id for s in capture.snapshots)
        when = capture.time.strftime("%Y-%m-%d %H:%M")
        kind = "" if capture.kind == "usable" else f"  [{capture.kind}]"
        if capture.keep:
            _out(out, f"keep    {ids}  {when}{kind}  ({'; '.join(capture.keep)})")
        else:
            _out(out, f"{verb:<7} {ids}  {when}{kind}")
    for folder, kept in planned.staging:
        if kept:
            _out(out, f"keep    staging {folder.name}  ({kept})")
        else:
            _out(out, f"{verb:<7} staging {folder.name}  (left by a crawl that did not finish)")
    doomed = sum(len(c.snapshots) for c in planned.removed)
    stale = sum(1 for _, kept in planned.staging if kept is None)
    if args.dry_run:
        _out(out, f"dry run: {doomed} snapshot(s) and {stale} staging folder(s) would be removed")
        return 0
    removed = prune.execute(args.data_dir, planned, Progress("removing", doomed))
    _out(out, f"{removed} snapshot(s) and {stale} staging folder(s) removed")
    return 0


def cmd_verify(args: argparse.Namespace, out: TextIO) -> int:
    snapshots = list_snapshots(args.data_dir, superseded=True)
    progress = Progress("verifying", len(snapshots))
    problems = []
    for number, snapshot in enumerate(snapshots, start=1):
        problems += verify_snapshot(snapshot)
        progress(number)
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


def ages_against(page_time: str | None, source: str | None) -> str:
    """The line saying which time the preview's relative ages were read against: a saved
    page that states no time of its own is read against the fetch, today, and its "3 days
    ago" then means three days before today, which the person must know to judge it."""
    if source == "fetched_at":
        return (
            f"ages read against the fetch time {page_time}: the page states no time of its "
            "own (a saved page's ages then count from today; give the profile a [page] time "
            "selector if the page prints one)"
        )
    said = {"page": "the time the page states", "date_header": "the server's Date header"}
    return f"ages read against {said.get(source or '', source)}: {page_time}"


def cmd_profile_suggest(args: argparse.Namespace, out: TextIO) -> int:
    """A draft profile from one page: the TOML to ``-o`` (or standard output), and what it
    reads, the way a crawl would, so the person can judge it."""
    from archiver.check import check_profile

    report = check_profile("suggest", args.target)
    suggested = report.get("suggested")
    if not suggested:
        failure = (report["failed"] or [{"reason": f"{args.target}: no listing found"}])[0]
        raise ArchiverError(failure["reason"])
    notes = sys.stderr if args.output is None else out
    if args.output is not None:
        Path(args.output).write_text(suggested["text"], encoding="utf-8")
        _out(notes, f"wrote {args.output}")
    else:
        out.write(suggested["text"])
    entries = report["entries"]
    verdict = "UNSURE: " + "; ".join(suggested["unsure"]) if suggested["unsure"] else "sure"
    _out(notes, f"{len(entries)} entries read from {report['page_url']} ({verdict})")
    _out(notes, ages_against(report.get("page_time"), report.get("page_time_source")))
    for entry in entries[:5]:
        when = entry.get("published") or entry.get("age") or ""
        when = when[0][:10] if isinstance(when, list) else when
        _out(notes, f"  {entry.get('title')} | {entry.get('url')} | {when}")
    if len(entries) > 5:
        _out(notes, f"  ... and {len(entries) - 5} more")
    _out(notes, f"next page: {report['next'] or '(none found)'}")
    target = args.output or "PROFILE.toml"
    _out(notes, f"check it: archiver profile check {target} {args.target}")
    return 0 if entries else 1


def cmd_profile_list(args: argparse.Namespace, out: TextIO) -> int:
    """The built-in profiles, in the order ``profile=auto`` tries them, or the profiles a
    ``-a profile=`` value names (a file's own description included)."""
    from archiver.profiles import builtin_profiles, resolve_profile

    profiles = resolve_profile(args.spec) if args.spec else builtin_profiles()
    if args.json:
        rows = [{"name": p.name, "description": p.description, "path": p.path} for p in profiles]
        _out(out, json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    if not profiles:  # profile=suggest
        _out(out, "none fixed: each listing is read with a profile suggested from its first page")
        return 0
    width = max(len(p.name) for p in profiles)
    for profile in profiles:
        _out(out, f"{profile.name:<{width}}  {profile.description or '-'}  ({profile.path})")
    return 0


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


# Commands that read an archive: the data directory must hold one. `snapshots` lists an
# empty one (a project before its first crawl) as empty; the folder must still exist.
_READERS = {
    cmd_diff, cmd_history, cmd_published, cmd_top, cmd_plot, cmd_report, cmd_verify, cmd_reparse,
}  # fmt: skip


LISTING_HELP = (
    "the listing to look at: its name or start URL (needed when the archive holds several)"
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="archiver", description="Inspect archived listing snapshots and try out profiles."
    )
    parser.add_argument("--version", action="version", version=f"archiver {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--data-dir",
        default=None,
        help="where snapshots live (default: where the crawl writes: $ARCHIVER_DATA_DIR, "
        "else data beside scrapy.cfg)",
    )
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
    p.add_argument("--listing", metavar="NAME|URL", help=LISTING_HELP)
    p.set_defaults(func=cmd_diff)

    p = sub.add_parser(
        "history",
        parents=[common],
        help="each entry across snapshots: views, position, presence",
        description="One row per entry and snapshot, in time order. 'present' is no only where "
        "a complete snapshot of the entry's listing did not list it.",
    )
    p.add_argument("--entry", metavar="ID", help="only this entry_id")
    output = p.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="JSON records, for scripts")
    output.add_argument("--csv", action="store_true", help="CSV (the default before 0.2)")
    p.add_argument("--listing", metavar="NAME|URL", help=LISTING_HELP)
    p.set_defaults(func=cmd_history)

    p = sub.add_parser(
        "published",
        parents=[common],
        help="each entry's publication interval, narrowed across snapshots",
    )
    p.add_argument("--json", action="store_true", help="JSON records, for scripts")
    p.add_argument("--listing", metavar="NAME|URL", help=LISTING_HELP)
    p.set_defaults(func=cmd_published)

    p = sub.add_parser(
        "top",
        parents=[common],
        help="what moved in a listing: most views gained, new and vanished entries",
        description="The latest usable snapshot of the listing against the latest one at "
        "least --since older (else the oldest): the entries that gained most views (with "
        "views per day), then the new and the vanished ones.",
    )
    p.add_argument("--listing", metavar="NAME|URL", help=LISTING_HELP)
    p.add_argument("--since", default="7d", help="how far back: 30m, 24h, 7d, 2w (default 7d)")
    p.add_argument("-n", type=int, default=10, help="how many gainers (default 10)")
    p.add_argument("--json", action="store_true", help="JSON: from, to, days, entries")
    p.set_defaults(func=cmd_top)

    p = sub.add_parser(
        "plot",
        parents=[common],
        help="views over time and entries per snapshot of one listing, as PNG, SVG or PDF",
        description="Draw the views of the most viewed entries of one listing over time (or "
        "of one entry) and the entries of each snapshot; crawls that archived nothing are "
        "marked. The format follows the file's suffix. No screen is needed.",
    )
    p.add_argument("-o", "--output", required=True, metavar="FILE.png|.svg|.pdf")
    p.add_argument("--listing", metavar="NAME|URL", help=LISTING_HELP)
    p.add_argument("--top", type=int, default=10, help="how many entries (default 10)")
    p.add_argument("--entry", metavar="ID", help="only this entry_id")
    p.set_defaults(func=cmd_plot)

    p = sub.add_parser(
        "report",
        parents=[common],
        help="one self-contained HTML page about a snapshot",
        description="Rows and status, field coverage, announced vs extracted, failed pages, "
        "changes since the previous snapshot of the listing and the narrowed publication "
        "dates, on one page that loads nothing from anywhere.",
    )
    p.add_argument("snapshot", nargs="?", help="a snapshot id (default: the newest)")
    p.add_argument("-o", "--output", required=True, metavar="FILE.html")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser(
        "prune",
        parents=[common],
        help="remove old snapshots safely (--keep-last/--keep-daily/--keep-weekly)",
        description="Keep, for each listing, the usable snapshots (complete or partial, with "
        "rows) any of the policies keeps, and the newest usable one always; failed and empty "
        "snapshots are not counted by the policies: the newest --keep-failed of them are kept. "
        "Remove the others, and staging folders that killed crawls left. Never removes a "
        "damaged snapshot, what a running crawl or reparse holds, nor a crawl a JOBDIR will "
        "resume.",
    )
    p.add_argument("--keep-last", type=int, default=0, metavar="N", help="the N newest usable")
    p.add_argument("--keep-daily", type=int, default=0, metavar="N", help="one a day, N days")
    p.add_argument("--keep-weekly", type=int, default=0, metavar="N", help="one a week, N weeks")
    p.add_argument(
        "--keep-failed",
        type=int,
        default=1,
        metavar="N",
        help="failed or empty snapshots kept per listing, newest first (default 1)",
    )
    p.add_argument("--dry-run", action="store_true", help="say what would go; remove nothing")
    p.set_defaults(func=cmd_prune)

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
        "list",
        parents=[common],
        help="name and describe the built-in profiles (or the ones a profile= value names)",
    )
    p.add_argument(
        "spec", nargs="?", help="as -a profile= takes it: names and .toml files, comma-separated"
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_profile_list)
    p = profile_sub.add_parser(
        "check", parents=[common], help="show what a profile extracts from one page"
    )
    p.add_argument("profile", help="built-in name, 'auto', or a .toml file")
    p.add_argument("target", help="an http(s) URL or a local HTML file")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_profile_check)
    p = profile_sub.add_parser(
        "suggest",
        parents=[common],
        help="write a draft profile for a listing format nobody wrote one for",
        description="Find the repeated entry blocks of one listing page and write a profile "
        "for them, with comments saying why each selector was chosen and when it is unsure. "
        "The page is fetched as a crawl fetches it (robots.txt, User-Agent).",
    )
    p.add_argument("target", help="an http(s) URL or a local HTML file")
    p.add_argument("-o", "--output", help="write the profile here (default: standard output)")
    p.set_defaults(func=cmd_profile_suggest)
    return parser


def _speak_utf8_under_an_ascii_locale() -> None:
    """cron and minimal containers run with LANG unset, and Python then writes ASCII: the
    first title with a curly quote ended ``archiver history > file`` with a traceback.
    Such a locale can show nothing else, so write UTF-8 there; other locales are kept."""
    for stream in (sys.stdout, sys.stderr):
        encoding = getattr(stream, "encoding", None)
        if encoding and codecs.lookup(encoding).name == "ascii" and hasattr(stream, "reconfigure"):
            stream.reconfigure(encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    _speak_utf8_under_an_ascii_locale()
    args = build_parser().parse_args(argv)
    try:
        if hasattr(args, "data_dir"):  # a typo names no archive: say so, never read nothing
            args.data_dir = archive_dir(args.data_dir, require_archive=args.func in _READERS)
        return args.func(args, sys.stdout)
    except ArchiverError as exc:
        _out(sys.stderr, f"archiver: {exc}")
        return 2
    except OSError as exc:
        _out(sys.stderr, f"archiver: {exc}")
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
