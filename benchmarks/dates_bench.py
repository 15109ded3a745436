"""Exact publication dates on real blogs: how many entries a crawl dates to the day, that the
true date is inside every interval, and what following posts costs.

``python benchmarks/dates_bench.py [--mirrors DIR] [--site FORMAT] [--write FILE]``

Sites come from ``benchmarks/dates/corpus.toml`` (a held-out corpus: real GitHub Pages
repositories of eight blog engines and themes, each post labelled with the day a reader sees
on its page). Each site is served from its repository at the recorded commit by a local HTTP
server on 127.0.0.1 (the site's own host rewritten to it in every body), and crawled the way a
user would, ``scrapy crawl listing -a start_urls=... -a max_pages=1`` with ``profile=auto``
(a built-in profile where one matches, else one suggested from the page), four times:

* ``age``: ``ARCHIVER_FEEDS=False``: the printed ages and dates only (the old behaviour, but
  for the markup, which needs no request and cannot be turned off);
* ``default``: the feed too, as a crawl does by default;
* ``follow``: ``ARCHIVER_FOLLOW_ENTRIES=True``, in a fresh archive;
* ``again``: the same, once more, into that archive: an unchanged listing.

For each labelled post that the crawl read (matched by canonical URL): ``day``: the interval
is day-exact (at most 50 hours wide: one calendar day in an unknown zone); ``holds``: the
labelled day (in any zone, UTC-12 to UTC+14) overlaps the interval. ``holds`` must be 100%.
Cost: post requests and extra seconds per entry followed, against the ``default`` run of
the same session; ``again`` must make no post request.
"""

from __future__ import annotations

import argparse
import json
import mimetypes
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from collections import Counter
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

import archiver  # noqa: E402
from archiver.pipelines.identity import canonical_post_key  # noqa: E402

CORPUS = HERE / "dates" / "corpus.toml"
RUNS = {
    "age": ["ARCHIVER_FEEDS=False"],
    "default": [],
    "follow": ["ARCHIVER_FOLLOW_ENTRIES=True"],
    # Without the feed, so that posts are followed wherever the listing does not date them
    # to the day: what following costs, and what the crawl reads from post pages.
    "posts": ["ARCHIVER_FEEDS=False", "ARCHIVER_FOLLOW_ENTRIES=True"],
}
AGAIN = {"again": "follow", "posts_again": "posts"}  # a second crawl into that run's archive
DAY_EXACT = timedelta(hours=50)


class Repository:
    """A repository's files at one commit, read with ``git cat-file``."""

    def __init__(self, git_dir: Path, commit: str) -> None:
        self.git_dir, self.commit = git_dir, commit
        listed = subprocess.run(
            ["git", f"--git-dir={git_dir}", "ls-tree", "-r", "--name-only", commit],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        self.paths = set(listed.splitlines())

    def read(self, path: str) -> bytes | None:
        if path not in self.paths:
            return None
        return subprocess.run(
            ["git", f"--git-dir={self.git_dir}", "show", f"{self.commit}:{path}"],
            capture_output=True, check=True,
        ).stdout  # fmt: skip

    def resolve(self, url_path: str) -> str | None:
        """The file a static host serves for ``url_path``."""
        for candidate in (url_path, unquote(url_path)):
            name = candidate.lstrip("/")
            for path in (name, f"{name.rstrip('/')}/index.html" if name else "index.html"):
                if path in self.paths:
                    return path
        return None


class Site:
    """The repository served on 127.0.0.1, its host rewritten to the local one (and, for the
    seed aggregator, the project's demo listing under ``/demo/``)."""

    def __init__(self, repo: Repository, base_url: str, overlay: Path | None = None) -> None:
        self.repo = repo
        self.log: list[str] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = urlsplit(self.path).path
                site.log.append(path)
                if overlay is not None and path.startswith("/demo/"):
                    file = overlay / (path.removeprefix("/demo/") or "index.html")
                    if file.is_file():
                        self.answer(site.rewrite(file.read_bytes()), file.name)
                        return
                found = site.repo.resolve(path)
                if found is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.answer(site.rewrite(site.repo.read(found) or b""), found)

            def answer(self, body: bytes, name: str) -> None:
                kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        host = urlsplit(base_url).netloc
        self.replacements = [
            (f"{scheme}{host}".encode(), self.url.rstrip("/").encode())
            for scheme in ("https://", "http://", "//")
        ]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def rewrite(self, body: bytes) -> bytes:
        for old, new in self.replacements:
            body = body.replace(old, new)
        return body

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def crawl(start: str, data_dir: Path, settings: list[str], pages: str) -> tuple[float, str]:
    command = [
        sys.executable, "-m", "scrapy", "crawl", "listing", "-a", f"start_urls={start}",
        "-a", f"max_pages={pages}", "-s", f"ARCHIVER_DATA_DIR={data_dir}", "-s", "DOWNLOAD_DELAY=0",
        "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "LOG_LEVEL=INFO",
    ]  # fmt: skip
    for setting in settings:
        command += ["-s", setting]
    started = time.monotonic()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    return time.monotonic() - started, done.stderr


def day_window(label: str) -> tuple[datetime, datetime]:
    day = datetime.fromisoformat(label[:10]).replace(tzinfo=UTC)
    return day - timedelta(hours=14), day + timedelta(days=1, hours=12)


def measure(frame, posts: list[dict], site: Site, base_url: str) -> dict:
    local = site.url.rstrip("/")
    rows = {}
    for row in frame.itertuples():
        if isinstance(row.url, str):
            key = canonical_post_key(row.url.replace(local, base_url.rstrip("/")))
            rows.setdefault(key, row)
    found = dated = day = holds = exact = 0
    sources: Counter[str] = Counter()
    broken = []
    for post in posts:
        row = rows.get(canonical_post_key(post["url"]))
        if row is None or not post["date"]:
            continue
        found += 1
        sources[str(row.published_source)] += 1
        earliest, latest = row.published_earliest, row.published_latest
        if earliest is None or str(earliest) == "NaT":
            continue
        dated += 1
        start, end = day_window(post["date"])
        if earliest <= end and latest >= start:
            holds += 1
        else:
            broken.append((post["url"], post["date"], str(earliest), str(latest)))
        if latest - earliest <= DAY_EXACT:
            day += 1
        if latest - earliest < timedelta(minutes=1):
            exact += 1
    return {
        "labelled": len(posts), "found": found, "dated": dated, "day": day, "holds": holds,
        "exact": exact, "sources": dict(sources), "broken": broken,
    }  # fmt: skip


def read_posts(repo: Repository, posts: list[dict]) -> dict:
    """``post_date`` on each labelled post's page, as the crawl would read it when following."""
    from lxml import html

    from archiver.extract.published import post_date, stated_interval

    found = day = holds = 0
    hows: Counter[str] = Counter()
    for post in posts:
        path = repo.resolve(urlsplit(post["url"]).path) or post["path"]
        body = repo.read(path)
        if body is None or not post["date"]:
            continue
        stated = post_date(html.fromstring(body), post["url"])
        interval = stated_interval(stated.raw) if stated else None
        if interval is None:
            continue
        found += 1
        hows[stated.how] += 1
        start, end = day_window(post["date"])
        holds += interval.earliest <= end and interval.latest >= start
        day += interval.latest - interval.earliest <= DAY_EXACT
    return {"labelled": len(posts), "stated": found, "day": day, "holds": holds, "how": hows}


def seed_spec(blog: dict, mirrors: Path) -> dict:
    """The seed aggregator (the project's demo: "1 years ago" and the like), whose entries
    link Lil'Log's posts; the truth is the blog's own feed at the corpus's commit."""
    from lxml import etree

    from archiver.extract.dates import iso_utc
    from archiver.extract.published import stated_interval

    repo = Repository(git_dir_of(blog, mirrors), blog["commit"])
    feed = etree.fromstring(repo.read(blog["feed"]) or b"")
    posts = []
    for item in feed.iter("item"):
        interval = stated_interval(item.findtext("pubDate"))
        assert interval is not None
        posts.append({"url": item.findtext("link"), "date": iso_utc(interval.earliest)})
    return blog | {
        "format": "seed aggregator -> Lil'Log posts", "listing": "demo/index.html",
        "overlay": ROOT / "data" / "demo", "post": posts, "feed": "", "max_pages": 2,
    }  # fmt: skip


def git_dir_of(site_spec: dict, mirrors: Path) -> Path:
    git_dir = mirrors / site_spec["repo"].replace("/", "+") / "repo"
    return git_dir / ".git" if (git_dir / ".git").is_dir() else git_dir


def run_site(site_spec: dict, mirrors: Path) -> dict:
    repo = Repository(git_dir_of(site_spec, mirrors), site_spec["commit"])
    site = Site(repo, site_spec["base_url"], site_spec.get("overlay"))
    listing = site_spec["listing"].removesuffix("index.html")
    start = site.url + listing
    result: dict = {"format": site_spec["format"], "repo": site_spec["repo"]}
    try:
        with tempfile.TemporaryDirectory() as temp:
            runs = [*RUNS.items(), *((again, RUNS[run]) for again, run in AGAIN.items())]
            for name, settings in runs:
                data_dir = Path(temp) / AGAIN.get(name, name)
                site.log.clear()
                pages = str(site_spec.get("max_pages", 1))
                seconds, log = crawl(start, data_dir, [*settings], pages)
                snapshots = sorted((data_dir / "snapshots").glob("snapshot_id=*"))
                if not snapshots:
                    result[name] = {"error": log.strip().splitlines()[-1:]}
                    continue
                snapshot_id = snapshots[-1].name.removeprefix("snapshot_id=")
                frame = archiver.load(data_dir, snapshot=snapshot_id)
                manifest = json.loads((snapshots[-1] / "_meta" / "manifest.json").read_text())
                feed = site_spec.get("feed") or ""
                requests = Counter(
                    "robots" if p == "/robots.txt"
                    else "feed" if feed and p.lstrip("/") == feed
                    else "listing" if p.lstrip("/") in (listing, site_spec["listing"])
                    else "other"
                    for p in site.log
                )  # fmt: skip
                result[name] = {
                    "seconds": round(seconds, 2),
                    "rows": len(frame),
                    "profile": manifest["listings"][0]["profile"],
                    "requests": dict(requests),
                    "posts_asked": (manifest.get("dating") or {}).get("posts_asked", 0),
                    **measure(frame, site_spec["post"], site, site_spec["base_url"]),
                }
    finally:
        site.stop()
    seed = "overlay" in site_spec  # labelled: the feed's posts the listing shows
    result["labelled"] = result["default"].get("found", 0) if seed else len(site_spec["post"])
    result["pages"] = read_posts(repo, site_spec["post"] if "overlay" not in site_spec else [])
    return result


COLUMNS = (
    "format", "profile", "labelled", "read", "day-exact: age only", "default (feed)",
    "follow", "no feed, follow", "to the second: default / follow", "intervals holding the truth",
    "posts followed / again", "s per post followed", "post pages stating the day",
)  # fmt: skip


def report(results: list[dict]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + " --- |" * len(COLUMNS)]
    totals: Counter[str] = Counter()
    for r in results:
        runs = {name: r.get(name) or {} for name in [*RUNS, *AGAIN]}
        if any("error" in run or not run for run in runs.values()):
            failed = {k: v.get("error") for k, v in runs.items() if "error" in v or not v}
            lines.append(f"| {r['format']} | crawl failed: {failed} |")
            continue
        found = runs["default"]["found"]
        dated = sum(run["dated"] for run in runs.values())
        holds = sum(run["holds"] for run in runs.values())
        asked = runs["posts"]["posts_asked"]
        extra = (runs["posts"]["seconds"] - runs["age"]["seconds"]) / asked if asked else None
        cells = [
            r["format"], runs["default"]["profile"], r["labelled"], found,
            *(f"{runs[k]['day']}/{found}" for k in ("age", "default", "follow", "posts")),
            f"{runs['default']['exact']} / {runs['follow']['exact']}", f"{holds}/{dated}",
            f"{asked} / {runs['posts_again']['posts_asked']}",
            "-" if extra is None else f"{extra:.3f}",
            f"{r['pages']['stated']}/{r['pages']['labelled']} (holds {r['pages']['holds']})",
        ]  # fmt: skip
        lines.append("| " + " | ".join(map(str, cells)) + " |")
        for k in ("age", "default", "follow", "posts"):
            totals[k] += runs[k]["day"]
        totals["exact"] += runs["default"]["exact"]
        totals["follow_exact"] += runs["follow"]["exact"]
        totals.update(
            found=found, dated=dated, holds=holds, labelled=r["labelled"],
            stated=r["pages"]["stated"], post_holds=r["pages"]["holds"], asked=asked,
            pages=r["pages"]["labelled"],
            again=runs["posts_again"]["posts_asked"],
        )  # fmt: skip
    t = totals
    cells = [
        "**all**", "", t["labelled"], t["found"],
        *(f"{t[k]}/{t['found']}" for k in ("age", "default", "follow", "posts")),
        f"{t['exact']} / {t['follow_exact']}", f"{t['holds']}/{t['dated']}",
        f"{t['asked']} / {t['again']}",
        "", f"{t['stated']}/{t['pages']} (holds {t['post_holds']})",
    ]  # fmt: skip
    lines.append("| " + " | ".join(map(str, cells)) + " |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mirrors", type=Path, default=Path("/work/.mirror"))
    parser.add_argument("--site", help="only the site of this format")
    parser.add_argument("--json", type=Path, help="write every figure here")
    args = parser.parse_args()
    sites = tomllib.loads(CORPUS.read_text("utf-8"))["site"]
    sites.insert(1, seed_spec(sites[0], args.mirrors))
    results = []
    for spec in sites:
        if args.site and spec["format"] != args.site:
            continue
        results.append(run_site(spec, args.mirrors))
        sys.stderr.write(json.dumps(results[-1], default=str)[:2000] + "\n")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=str))
    sys.stdout.write(report(results) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
