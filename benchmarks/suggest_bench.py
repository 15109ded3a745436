"""How often ``archiver profile suggest`` reads a listing right, on real pages nobody wrote a
profile for: per format, the share of entries whose title and URL come out right.

``python benchmarks/suggest_bench.py [--split tune|held-out-1|held-out-2|all]
[--pages DIR] [--mirrors DIR] [--write benchmarks/SUGGEST.md] [--show]``

Pages come from ``benchmarks/suggest/corpus.toml`` (repository, commit, path, and the truth: the
entries as a person reads them, written as selectors). They are read from local snapshots of
their repositories (``--mirrors``, the workplace's ``/work/.mirror`` by default) or from a folder
of saved copies (``--pages``); a page found in neither is reported as not measured.

An entry is right when the suggestion reads it with the same title (whitespace aside) and the
same absolute URL. ``right`` is the share of the true entries read right; ``extra`` counts what
the suggestion read that is not an entry (a menu item taken for a post).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tomllib
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from archiver.profiles import parse_profile  # noqa: E402
from archiver.suggest import SuggestError, suggest  # noqa: E402


def cached_name(page: dict) -> str:
    return (
        f"{page['repo'].replace('/', '+')}-{page['commit'][:12]}-{page['path'].replace('/', '_')}"
    )


def load(page: dict, mirrors: Path, pages: Path | None) -> bytes | None:
    if pages is not None and (pages / cached_name(page)).is_file():
        data = (pages / cached_name(page)).read_bytes()
    else:
        git_dir = mirrors / page["repo"].replace("/", "+") / "repo"
        if (git_dir / ".git").is_dir():
            git_dir = git_dir / ".git"
        shown = subprocess.run(
            ["git", f"--git-dir={git_dir}", "show", f"{page['commit']}:{page['path']}"],
            capture_output=True,
            check=False,
        )
        if shown.returncode != 0:
            return None
        data = shown.stdout
    if not page["path"].endswith(".html"):  # saved inside source code, as a template string
        text = data.decode("utf-8")
        start = text.index("`") + 1
        data = text[start : text.index("`", start)].encode()
    return data


def entries(profile_text: str, html: bytes, url: str) -> list[tuple[str, str]]:
    from parsel import Selector

    profile = parse_profile(profile_text, "truth")
    root = Selector(text=html.decode("utf-8", "replace")).root
    found = profile.extract(root, url).entries
    return [
        (" ".join(e["title"].split()), e["url"]) for e in found if e.get("title") and e.get("url")
    ]


def truth_profile(truth: dict) -> str:
    return (
        f"name = 'truth'\nentries = {truth['entries']!r}\n[fields]\n"
        f"title = {truth['title']!r}\nurl = {truth['url']!r}\n"
    )


def measure(page: dict, html: bytes) -> dict:
    truth = entries(truth_profile(page["truth"]), html, page["url"])
    try:
        suggestion = suggest(html, page["url"])
    except SuggestError as exc:
        return {"truth": len(truth), "right": 0, "extra": 0, "unsure": True, "error": str(exc)}
    read = entries(suggestion.text, html, page["url"])
    wanted = Counter(truth)
    right = 0
    for entry in read:
        if wanted[entry] > 0:
            wanted[entry] -= 1
            right += 1
    return {
        "truth": len(truth),
        "right": right,
        "extra": len(read) - right,
        "unsure": not suggestion.sure,
        "entries": suggestion.profile.entries,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", default="all", help="tune, held-out-1, held-out-2, or all")
    parser.add_argument("--mirrors", type=Path, default=Path("/work/.mirror"))
    parser.add_argument("--pages", type=Path)
    parser.add_argument("--write", type=Path)
    parser.add_argument("--show", action="store_true", help="each page's result")
    args = parser.parse_args()
    corpus = tomllib.loads((HERE / "suggest" / "corpus.toml").read_text("utf-8"))["page"]
    rows = []
    for page in corpus:
        if args.split != "all" and page["split"] != args.split:
            continue
        html = load(page, args.mirrors, args.pages)
        result = measure(page, html) if html is not None else None
        rows.append((page, result))
        if args.show:
            sys.stdout.write(f"{page['format']:28} {page['repo']:40} {result}\n")
    text = report(rows, args.split)
    sys.stdout.write(text)
    if args.write:
        args.write.write_text(text, "utf-8")
    return 0


def report(rows: list, split: str) -> str:
    formats: dict[str, dict] = {}
    missing = []
    for page, result in rows:
        if result is None:
            missing.append(page)
            continue
        blank = {"pages": 0, "truth": 0, "right": 0, "extra": 0, "unsure": 0, "splits": set()}
        entry = formats.setdefault(page["format"], blank)
        entry["pages"] += 1
        entry["splits"].add(page["split"])
        for key in ("truth", "right", "extra"):
            entry[key] += result[key]
        entry["unsure"] += result["unsure"]
    lines = [
        f"## {datetime.now(UTC):%Y-%m-%d}: `archiver profile suggest` on real pages ({split})",
        "",
        "| format | split | pages | true entries | right | share right | extra read | unsure |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    passing = 0
    unreadable = [name for name, entry in formats.items() if entry["truth"] == 0]
    for name, entry in sorted(formats.items()):
        if not entry["truth"]:
            lines.append(f"| {name} | {', '.join(sorted(entry['splits']))} | {entry['pages']} | "
                         "0: lxml, the crawl's parser, reads none | | | | |")  # fmt: skip
            continue
        share = entry["right"] / entry["truth"]
        passing += share >= 0.9
        lines.append(
            f"| {name} | {', '.join(sorted(entry['splits']))} | {entry['pages']} | "
            f"{entry['truth']} | {entry['right']} | {share:.0%} | {entry['extra']} | "
            f"{entry['unsure']} |"
        )
    total = len(formats) - len(unreadable)
    lines += [
        "",
        f"Formats with at least 90% of entries right: **{passing} of {total}** "
        f"({passing / max(1, total):.0%}; the target is three quarters).",
    ]
    if unreadable:
        lines.append(
            f"Not counted: {', '.join(unreadable)} (no entries can be read from the page by any "
            f"profile; counting it as a failure: {passing} of {total + len(unreadable)}, "
            f"{passing / (total + len(unreadable)):.0%})."
        )
    if missing:
        lines.append(
            f"Not measured ({len(missing)} pages not found locally): "
            + ", ".join(f"{p['repo']}:{p['path']}" for p in missing)
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
