"""How often ``archiver profile suggest`` reads a listing right, on real pages nobody wrote a
profile for: per format, the share of entries whose title and URL come out right, and, where the
page shows them, the share whose age, counts and summary come out right.

``python benchmarks/suggest_bench.py [--split tune|held-out-1|held-out-2|held-out-3|all]
[--pages DIR] [--mirrors DIR] [--write benchmarks/SUGGEST.md] [--show] [--fields]``

Pages come from ``benchmarks/suggest/corpus.toml`` (repository, commit, path, and the truth: the
entries as a person reads them, written as selectors). They are read from local snapshots of
their repositories (``--mirrors``, the workplace's ``/work/.mirror`` by default) or from a folder
of saved copies (``--pages``); a page found in neither is reported as not measured.

An entry is right when the suggestion reads it with the same title (whitespace aside) and the
same absolute URL. ``right`` is the share of the true entries read right; ``extra`` counts what
the suggestion read that is not an entry (a menu item taken for a post).

Per field (printed when a page's truth names more than title and URL, or with ``--fields``).
Each true entry is paired with one suggested entry: the suggested entry that is the same
element, else one inside it (the one holding the true title, else the first), else one around
it that holds no other true entry, else one with the same absolute URL; each suggested entry is
paired once. For each field the truth shows for that entry (a selector that reads text there):

* ``title``: the paired entry's title equals the true one, whitespace aside.
* ``url``: the paired entry's absolute URL equals the true one.
* ``age``: the truth is the age or date as printed. Right when the paired entry's ``age`` text
  equals it, whitespace aside, or when archiver reads both as dates that agree: both parse with
  ``archiver.extract.dates.parse_age`` (page time fixed at the bench's start, the suggested
  profile's ``date_order``) and the two intervals overlap. A machine ``time[datetime]`` for a
  printed "May 4, 2019" is right; a last-post date for a thread's start date is wrong (they differ).
* ``count``: the truth names each count the entry shows (``count.views``, ``count.replies``, ...)
  and reads the printed number. Each is right when the suggestion has a count of the same kind
  whose number is the same, both read by ``archiver.pipelines.views.parse_count``, as the crawl
  reads ``views`` and a profile's ``counts``. Kinds follow the suggester's own three names:
  views (views, reads, hits, visits, plays), points (points, votes, score, likes) and comments
  (comments, replies, answers, posts); any other count (seeders, downloads, stars) is its own
  kind, which the suggester never names. An entry is right for ``count`` when every count the
  truth shows for it is right.
* ``summary``: both texts whitespace-normalised, a trailing ellipsis dropped; right when equal,
  or when one begins the other and the shorter is at least 80% of the longer's length.

A format is right for a field when at least 90% of its entries that show the field are right;
the report counts, per field, the formats right among those whose pages show the field.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tomllib
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from archiver.errors import Rejected  # noqa: E402
from archiver.extract.dates import parse_age  # noqa: E402
from archiver.extract.profiles import compile_query, parse_profile  # noqa: E402
from archiver.extract.suggest import SuggestError, suggest  # noqa: E402
from archiver.pipelines.views import parse_count  # noqa: E402

FIELDS = ("title", "url", "age", "count", "summary")
# A count's kind, as the suggester names counts (archiver.extract.suggest.counts.KINDS).
KINDS = {
    "views": "views", "reads": "views", "hits": "views", "visits": "views", "plays": "views",
    "points": "points", "votes": "points", "score": "points", "likes": "points",
    "comments": "comments", "replies": "comments", "answers": "comments", "posts": "comments",
}  # fmt: skip
PAGE_TIME = datetime.now(UTC)


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
    if page.get("extract") == "vcr":  # an HTTP response recorded by vcrpy, in a YAML cassette
        return vcr_body(data.decode("utf-8"), page.get("body", 0))
    if not page["path"].endswith(".html"):  # saved inside source code, as a template string
        text = data.decode("utf-8")
        start = text.index("`") + 1
        data = text[start : text.index("`", start)].encode()
    return data


def vcr_body(text: str, index: int) -> bytes:
    """The ``index``-th response body of a vcrpy cassette, stored base64 (``!!binary``) and
    gzipped as the server sent it."""
    import base64
    import gzip

    bodies = re.findall(r"string: !!binary \|\n((?:[ \t]+[A-Za-z0-9+/=]+\n)+)", text)
    raw = base64.b64decode("".join(bodies[index].split()))
    return gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw


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


def field_truth_profile(truth: dict) -> str:
    """The truth as a profile whose fields are title, url, age, summary and count_<name>."""
    fields = {"title": truth["title"], "url": truth["url"]}
    for name in ("age", "summary"):
        if truth.get(name):
            fields[name] = truth[name]
    for name, query in truth.get("count", {}).items():
        fields[f"count_{name}"] = query
    body = "".join(f"{key} = {value!r}\n" for key, value in fields.items())
    return f"name = 'truth'\nentries = {truth['entries']!r}\n[fields]\n{body}"


def _norm(text: str | None) -> str:
    return " ".join((text or "").split())


def _summary_right(got: str | None, want: str) -> bool:
    a, b = (re.sub(r"\s*(\.\.\.|…|\[…\]|\[\.\.\.\])$", "", _norm(t)) for t in (got, want))
    if not a or not b:
        return False
    short, long = sorted((a, b), key=len)
    return long.startswith(short) and len(short) >= 0.8 * len(long)


def _age_right(got: str | None, want: str, order: str) -> bool:
    if _norm(got) == _norm(want):
        return True
    if not got:
        return False
    try:
        a = parse_age(got, PAGE_TIME, order)  # type: ignore[arg-type]
        b = parse_age(want, PAGE_TIME, order)  # type: ignore[arg-type]
    except Rejected:
        return False
    return a.earliest <= b.latest and b.earliest <= a.latest


def _number(text: str | None) -> int | None:
    try:
        return parse_count(text) if text else None
    except Rejected:
        return None


def suggested_counts(profile, entry: dict) -> dict[str, int]:
    """kind -> number, for the counts the suggested profile reads from one entry."""
    found = {}
    for name in ("views", *profile.counts):
        number = _number(entry.get(name))
        if number is not None:
            found.setdefault(KINDS.get(name, name), number)
    return found


def pair(true_nodes: list, suggested_nodes: list, true_entries: list, found: list) -> list:
    """For each true entry, the index of its suggested entry (see the module's docstring)."""
    position = {id(node): index for index, node in enumerate(suggested_nodes)}
    true_ids = {id(node) for node in true_nodes}
    used: set[int] = set()
    pairs: list[int | None] = []
    for node, entry in zip(true_nodes, true_entries, strict=True):
        chosen = None
        if id(node) in position:
            chosen = position[id(node)]
        if chosen is None or chosen in used:
            inside = [position[id(n)] for n in node.iterdescendants() if id(n) in position]
            inside = [i for i in inside if i not in used]
            holding = [i for i in inside if _norm(found[i].get("title")) == _norm(entry["title"])]
            chosen = (holding or inside or [None])[0]
        if chosen is None:
            for ancestor in node.iterancestors():
                if id(ancestor) in position:
                    others = [n for n in ancestor.iterdescendants() if id(n) in true_ids]
                    if len(others) == 1 and position[id(ancestor)] not in used:
                        chosen = position[id(ancestor)]
                    break
        if chosen is None and entry.get("url"):
            same = [
                i for i, e in enumerate(found) if i not in used and e.get("url") == entry["url"]
            ]
            chosen = (same or [None])[0]
        if chosen is not None:
            used.add(chosen)
        pairs.append(chosen)
    return pairs


def measure_fields(page: dict, html: bytes, suggestion) -> dict:
    """Per field: [entries showing it, entries read right]; and a sample of what went wrong."""
    from parsel import Selector

    root = Selector(text=html.decode("utf-8", "replace")).root
    truth = parse_profile(field_truth_profile(page["truth"]), "truth")
    true_nodes = compile_query(truth.entries)(root)
    true_entries = truth.extract(root, page["url"]).entries
    kept = [(n, e) for n, e in zip(true_nodes, true_entries, strict=True) if e.get("title")]
    counts = {name: [0, 0] for name in FIELDS}
    wrong: dict[str, list] = {name: [] for name in FIELDS}
    if suggestion is None:
        nodes, found, profile = [], [], None
    else:
        profile = suggestion.profile
        nodes = compile_query(profile.entries)(root)
        found = profile.extract(root, page["url"]).entries
    pairs = pair([n for n, _ in kept], nodes, [e for _, e in kept], found)
    for (_, want), index in zip(kept, pairs, strict=True):
        got = found[index] if index is not None else {}
        checks = {
            "title": (want.get("title"), _norm(got.get("title")) == _norm(want.get("title"))),
            "url": (want.get("url"), got.get("url") == want.get("url")),
        }
        if want.get("age"):
            order = profile.date_order if profile else "mdy"
            checks["age"] = (want["age"], _age_right(got.get("age"), want["age"], order))
        true_counts = {
            KINDS.get(key[6:], key[6:]): _number(value)
            for key, value in want.items()
            if key.startswith("count_") and _number(value) is not None
        }
        if true_counts:
            read = suggested_counts(profile, got) if profile and got else {}
            checks["count"] = (true_counts, all(read.get(k) == v for k, v in true_counts.items()))
            if not checks["count"][1]:
                got = {**got, "counts read": read}
        if want.get("summary"):
            checks["summary"] = (
                want["summary"],
                _summary_right(got.get("summary"), want["summary"]),
            )
        for name, (value, right) in checks.items():
            if not value:
                continue
            counts[name][0] += 1
            counts[name][1] += right
            if not right and len(wrong[name]) < 2:
                shown = got.get("counts read") if name == "count" else got.get(name)
                wrong[name].append((value, shown))
    return {"fields": counts, "wrong": wrong}


def measure(page: dict, html: bytes, fields: bool = False) -> dict:
    truth = entries(truth_profile(page["truth"]), html, page["url"])
    try:
        suggestion = suggest(html, page["url"])
    except SuggestError as exc:
        result = {"truth": len(truth), "right": 0, "extra": 0, "unsure": True, "error": str(exc)}
        if fields:
            result |= measure_fields(page, html, None)
        return result
    read = entries(suggestion.text, html, page["url"])
    wanted = Counter(truth)
    right = 0
    for entry in read:
        if wanted[entry] > 0:
            wanted[entry] -= 1
            right += 1
    result = {
        "truth": len(truth),
        "right": right,
        "extra": len(read) - right,
        "unsure": not suggestion.sure,
        "entries": suggestion.profile.entries,
    }
    if fields:
        result |= measure_fields(page, html, suggestion)
    return result


def has_fields(page: dict) -> bool:
    return any(page["truth"].get(name) for name in ("age", "summary", "count"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--split", default="all", help="tune, held-out-1, held-out-2, held-out-3, or all"
    )
    parser.add_argument("--mirrors", type=Path, default=Path("/work/.mirror"))
    parser.add_argument("--pages", type=Path)
    parser.add_argument("--write", type=Path)
    parser.add_argument("--show", action="store_true", help="each page's result")
    parser.add_argument("--fields", action="store_true", help="the per-field report, always")
    args = parser.parse_args()
    corpus = tomllib.loads((HERE / "suggest" / "corpus.toml").read_text("utf-8"))["page"]
    rows = []
    for page in corpus:
        if args.split != "all" and page["split"] != args.split:
            continue
        html = load(page, args.mirrors, args.pages)
        fields = args.fields or has_fields(page)
        result = measure(page, html, fields) if html is not None else None
        rows.append((page, result))
        if args.show:
            sys.stdout.write(f"{page['format']:28} {page['repo']:40} {result}\n")
    text = report(rows, args.split)
    if args.show:
        sys.stdout.write(field_failures(rows))
    if any(result and "fields" in result for _, result in rows):
        text += "\n" + field_report(rows, args.split)
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


def field_report(rows: list, split: str) -> str:
    """Per format and per field: entries right of those that show the field; formats right."""
    formats: dict[str, dict] = {}
    for page, result in rows:
        if not result or "fields" not in result:
            continue
        entry = formats.setdefault(
            page["format"], {"pages": 0, "fields": {n: [0, 0] for n in FIELDS}, "wrong": {}}
        )
        entry["pages"] += 1
        for name, (shown, right) in result["fields"].items():
            entry["fields"][name][0] += shown
            entry["fields"][name][1] += right
        for name, samples in result["wrong"].items():
            entry["wrong"].setdefault(name, []).extend(samples)
    lines = [
        f"### Per field ({split}): entries read right, of those that show the field",
        "",
        "| format | pages | " + " | ".join(FIELDS) + " |",
        "| --- | --- | " + " | ".join("---" for _ in FIELDS) + " |",
    ]
    tally = {name: [0, 0] for name in FIELDS}
    for name, entry in sorted(formats.items()):
        cells = []
        for field in FIELDS:
            shown, right = entry["fields"][field]
            if not shown:
                cells.append("")
                continue
            tally[field][0] += 1
            tally[field][1] += right >= 0.9 * shown
            cells.append(f"{right}/{shown} ({right / shown:.0%})")
        lines.append(f"| {name} | {entry['pages']} | " + " | ".join(cells) + " |")
    lines += ["", "Formats with at least 90% of their entries right, per field:", ""]
    for field in FIELDS:
        shown, right = tally[field]
        share = f"{right / shown:.0%}" if shown else "-"
        lines.append(f"- {field}: **{right} of {shown}** formats that show it ({share})")
    return "\n".join(lines) + "\n"


def field_failures(rows: list) -> str:
    """What went wrong, a sample per format and field (for reading, not for the report)."""
    out = []
    for page, result in rows:
        for name, samples in (result or {}).get("wrong", {}).items():
            for want, got in samples[:1]:
                out.append(f"{page['format']:28} {name:8} want {want!r:.70} got {got!r:.70}")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    sys.exit(main())
