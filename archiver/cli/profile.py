"""``archiver profile suggest | list | check``: try out a site profile before a crawl."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TextIO

from archiver.cli.output import say
from archiver.errors import ArchiverError


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
    from archiver.cli.check import check_profile

    report = check_profile("suggest", args.target)
    suggested = report.get("suggested")
    if not suggested:
        failure = (report["failed"] or [{"reason": f"{args.target}: no listing found"}])[0]
        raise ArchiverError(failure["reason"])
    notes = sys.stderr if args.output is None else out
    if args.output is not None:
        Path(args.output).write_text(suggested["text"], encoding="utf-8")
        say(notes, f"wrote {args.output}")
    else:
        out.write(suggested["text"])
    entries = report["entries"]
    verdict = "UNSURE: " + "; ".join(suggested["unsure"]) if suggested["unsure"] else "sure"
    say(notes, f"{len(entries)} entries read from {report['page_url']} ({verdict})")
    say(notes, ages_against(report.get("page_time"), report.get("page_time_source")))
    for entry in entries[:5]:
        when = entry.get("published") or entry.get("age") or ""
        when = when[0][:10] if isinstance(when, list) else when
        say(notes, f"  {entry.get('title')} | {entry.get('url')} | {when}")
    if len(entries) > 5:
        say(notes, f"  ... and {len(entries) - 5} more")
    say(notes, f"next page: {report['next'] or '(none found)'}")
    target = args.output or "PROFILE.toml"
    say(notes, f"check it: archiver profile check {target} {args.target}")
    return 0 if entries else 1


def cmd_profile_list(args: argparse.Namespace, out: TextIO) -> int:
    """The built-in profiles, in the order ``profile=auto`` tries them, or the profiles a
    ``-a profile=`` value names (a file's own description included)."""
    from archiver.extract.profiles import builtin_profiles, resolve_profile

    profiles = resolve_profile(args.spec) if args.spec else builtin_profiles()
    if args.json:
        rows = [{"name": p.name, "description": p.description, "path": p.path} for p in profiles]
        say(out, json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    if not profiles:  # profile=suggest
        say(out, "none fixed: each listing is read with a profile suggested from its first page")
        return 0
    width = max(len(p.name) for p in profiles)
    for profile in profiles:
        say(out, f"{profile.name:<{width}}  {profile.description or '-'}  ({profile.path})")
    return 0


def cmd_profile_check(args: argparse.Namespace, out: TextIO) -> int:
    from archiver.cli.check import check_profile

    report = check_profile(args.profile, args.target)
    if args.json:
        say(out, json.dumps(report, indent=2, ensure_ascii=False))
        return 0 if report["entries"] else 1
    say(out, f"profile {report['profile']} on {report['page_url']}")
    say(out, f"page time: {report['page_time']} (from {report['page_time_source']})")
    say(out, f"entries: {len(report['entries'])}   announced total: {report['announced_total']}")
    for number, entry in enumerate(report["entries"], start=1):
        say(out, f"\n#{number} {entry.get('title')}")
        for key, value in entry.items():
            if key not in ("title", "missing") and value not in (None, {}, []):
                text = " .. ".join(value) if isinstance(value, list) else str(value)
                say(out, f"   {key:<12} {text[:100] + '…' if len(text) > 100 else text}")
        if entry["missing"]:
            say(out, f"   missing      {', '.join(entry['missing'])}")
    say(out, f"\nnext: {report['next'] or '(none: last page)'}")
    for name, count in report["pattern_unmatched"].items():
        say(out, f"warning: pattern for {name!r} did not match {count} time(s)")
    for failure in report["failed"]:
        say(out, f"warning: {failure['url']}: {failure['reason']}")
    return 0 if report["entries"] else 1
