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
}
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
    """The repository served on 127.0.0.1, its host rewritten to the local one."""

    def __init__(self, repo: Repository, base_url: str) -> None:
        self.repo = repo
        self.log: list[str] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = urlsplit(self.path).path
                site.log.append(path)
                found = site.repo.resolve(path)
                if found is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = site.rewrite(site.repo.read(found) or b"")
                kind = mimetypes.guess_type(found)[0] or "application/octet-stream"
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


def crawl(start: str, data_dir: Path, settings: list[str]) -> tuple[float, str]:
    command = [
        sys.executable, "-m", "scrapy", "crawl", "listing", "-a", f"start_urls={start}",
        "-a", "max_pages=1", "-s", f"ARCHIVER_DATA_DIR={data_dir}", "-s", "DOWNLOAD_DELAY=0",
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
    found = day = holds = exact = 0
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
        start, end = day_window(post["date"])
        if earliest <= end and latest >= start:
            holds += 1
        else:
            broken.append((post["url"], post["date"], str(earliest), str(latest)))
        if latest - earliest <= DAY_EXACT:
            day += 1
        if latest - earliest < timedelta(minutes=1):
            exact += 1
    dated = sum(v for k, v in sources.items() if k != "None")
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


def run_site(site_spec: dict, mirrors: Path) -> dict:
    git_dir = mirrors / site_spec["repo"].replace("/", "+") / "repo"
    if (git_dir / ".git").is_dir():
        git_dir = git_dir / ".git"
    repo = Repository(git_dir, site_spec["commit"])
    site = Site(repo, site_spec["base_url"])
    listing = site_spec["listing"].removesuffix("index.html")
    start = site.url + listing
    result: dict = {"format": site_spec["format"], "repo": site_spec["repo"]}
    try:
        with tempfile.TemporaryDirectory() as temp:
            for name, settings in [*RUNS.items(), ("again", RUNS["follow"])]:
                data_dir = Path(temp) / ("follow" if name == "again" else name)
                site.log.clear()
                seconds, log = crawl(start, data_dir, settings)
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
    result["posts"] = read_posts(repo, site_spec["post"])
    return result


def report(results: list[dict]) -> str:
    lines = [
        "| format | profile | labelled | read | day-exact: age only | default (feed) | "
        "follow | to the second (follow) | holds | post requests (follow / again) | "
        "s per post followed | post pages stating a date (holds) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    totals: Counter[str] = Counter()
    for r in results:
        age, default, follow, again = (r.get(k, {}) for k in ("age", "default", "follow", "again"))
        if "error" in follow or not follow:
            lines.append(f"| {r['format']} | crawl failed: {follow.get('error')} |")
            continue
        found = follow["found"]
        asked = follow["posts_asked"]
        extra = (follow["seconds"] - default["seconds"]) / asked if asked else 0.0
        holds = min(age["holds"], default["holds"], follow["holds"])
        lines.append(
            f"| {r['format']} | {follow['profile']} | {follow['labelled']} | {found} | "
            f"{age['day']}/{found} | {default['day']}/{found} | {follow['day']}/{found} | "
            f"{follow['exact']}/{found} | {holds}/{found} | {follow['requests'].get('other', 0)}"
            f" / {again['requests'].get('other', 0)} | {extra:.2f} | "
            f"{r['posts']['stated']}/{r['posts']['labelled']} ({r['posts']['holds']}) |"
        )
        totals["exact"] += follow["exact"]
        totals["posts_stated"] += r["posts"]["stated"]
        totals["posts_holds"] += r["posts"]["holds"]
        for name, run in (("age", age), ("default", default), ("follow", follow)):
            totals[f"{name}_day"] += run["day"]
        totals["found"] += found
        totals["holds"] += holds
        totals["labelled"] += follow["labelled"]
    lines.append(
        f"| **all** | | {totals['labelled']} | {totals['found']} | {totals['age_day']}/"
        f"{totals['found']} | {totals['default_day']}/{totals['found']} | "
        f"{totals['follow_day']}/{totals['found']} | {totals['exact']}/{totals['found']} | "
        f"{totals['holds']}/{totals['found']} | | | {totals['posts_stated']}/"
        f"{totals['labelled']} ({totals['posts_holds']}) |"
    )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mirrors", type=Path, default=Path("/work/.mirror"))
    parser.add_argument("--site", help="only the site of this format")
    parser.add_argument("--json", type=Path, help="write every figure here")
    args = parser.parse_args()
    sites = tomllib.loads(CORPUS.read_text("utf-8"))["site"]
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
