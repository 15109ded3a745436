"""The ``archiver`` command's parser and entry point: every sub-command takes ``--data-dir``
and ``--help``; bad input ends with one line on stderr and exit 2.
"""

from __future__ import annotations

import argparse
import codecs
import sys
from collections.abc import Sequence
from typing import TextIO

from archiver.cli.output import say
from archiver.cli.profile import cmd_profile_check, cmd_profile_list, cmd_profile_suggest
from archiver.cli.reading import (
    cmd_diff,
    cmd_history,
    cmd_plot,
    cmd_published,
    cmd_report,
    cmd_snapshots,
    cmd_top,
)
from archiver.cli.upkeep import cmd_export, cmd_prune, cmd_verify
from archiver.errors import ArchiverError
from archiver.store.layout import archive_dir
from archiver.version import __version__


def cmd_reparse(args: argparse.Namespace, out: TextIO) -> int:
    from archiver.cli import reparse

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
        say(out, line)
        out.flush()

    done = reparse.run(jobs, progress)
    statuses = {job.result.get("status", "failed") for job in done}
    if len(done) < len(jobs):
        say(sys.stderr, f"archiver: stopped after {len(done)} of {len(jobs)} snapshots")
    return 1 if "failed" in statuses else 3 if statuses != {"complete"} else 0


# Commands that read an archive: the data directory must hold one. `snapshots` lists an
# empty one (a project before its first crawl) as empty; the folder must still exist.
_READERS = {
    cmd_diff, cmd_history, cmd_published, cmd_top, cmd_plot, cmd_report, cmd_verify, cmd_reparse,
    cmd_export,
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
        "export",
        parents=[common],
        help="write a snapshot's evidence as a WACZ package (ReplayWeb.page, pywb)",
        description="Write one snapshot's WARC files, a CDXJ index, the listing pages its "
        "rows were read from and a datapackage.json with every file's SHA-256 as one WACZ "
        "1.1.1 file. The snapshot is verified first; a damaged one is not exported.",
    )
    p.add_argument("snapshot", help="the snapshot id")
    p.add_argument("--wacz", action="store_true", required=True, help="as WACZ (the format)")
    p.add_argument(
        "-o", "--output", help="the file, or a folder, to write to (default: <snapshot id>.wacz)"
    )
    p.set_defaults(func=cmd_export)

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
        say(sys.stderr, f"archiver: {exc}")
        return 2
    except OSError as exc:
        say(sys.stderr, f"archiver: {exc}")
        return 2
