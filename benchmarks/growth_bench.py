"""How an archive grows with daily crawls: bytes on disk per listing page per day.

``python benchmarks/growth_bench.py [--days 30] [--listings 2] [--pages 10]``

The benchmark site (``listing_site``: real PaperMod pages) is crawled once a "day", ``--days``
times, into one archive, in three ways, in the same session:

* ``baseline``: the layout before revisits and compressed rows (``ARCHIVER_REVISITS=False``,
  and the JSON Lines copy counted at its uncompressed size, as it was stored);
* ``archiver``: today's defaults (revisits, gzipped JSON Lines).

and two sites: (a) ``unchanged``: the same pages every day; (b) ``tenth``: a tenth of the
entries change every day (their titles), chosen at random (seed 0), so that most pages
change a little. Reported: bytes per page per day after the first day, the whole archive
against one snapshot (target for (a): at most 1.1x one snapshot plus 1 KB per page per
crawl), and crawl-and-publish seconds, archiver against baseline (target <= 1.05x).
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import listing_site  # noqa: E402

MODES = {"baseline": ["ARCHIVER_REVISITS=False"], "archiver": []}
_TITLE = re.compile(r"(<h2 class=entry-hint-parent>)(L\d+ P\d+ E\d+ )")


def crawl(urls: str, data_dir: Path, settings: list[str]) -> float:
    command = [
        sys.executable, "-m", "scrapy", "crawl", "listing", "-a", f"start_urls={urls}",
        "-s", f"ARCHIVER_DATA_DIR={data_dir}", "-s", "DOWNLOAD_DELAY=0",
        "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "LOG_LEVEL=WARNING",
        "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=8",
    ]  # fmt: skip
    for setting in settings:
        command += ["-s", setting]
    started = time.monotonic()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    return time.monotonic() - started


def change_a_tenth(root: Path, day: int, rng: random.Random) -> None:
    """Rewrite a tenth of the entries' titles (a new day's edit counter in each)."""
    for page in sorted(root.glob("l*/**/index.html")):
        html = page.read_text("utf-8")

        def edit(match: re.Match[str]) -> str:
            if rng.random() < 0.1:
                return f"{match[1]}{match[2]}(edited day {day}) "
            return match[0]

        page.write_text(_TITLE.sub(edit, html), "utf-8")


def sizes(data_dir: Path, plain_rows: bool) -> list[int]:
    """Bytes of each snapshot on disk, in crawl order (rows uncompressed for the baseline)."""
    out = []
    for snapshot in sorted((data_dir / "snapshots").glob("snapshot_id=*")):
        total = 0
        for path in snapshot.rglob("*"):
            if not path.is_file():
                continue
            if plain_rows and path.name.endswith(".jsonl.gz"):
                total += len(gzip.decompress(path.read_bytes()))
            else:
                total += path.stat().st_size
        out.append(total)
    return out


def run(days: int, listings: int, pages: int) -> dict:
    results: dict = {}
    for scenario in ("unchanged", "tenth"):
        for mode, settings in MODES.items():
            with tempfile.TemporaryDirectory() as scratch:
                scratch_dir = Path(scratch)
                site = scratch_dir / "site"
                starts = listing_site.build(site, listings, pages)
                server = listing_site.Server(site)
                urls = ",".join(server.url + start for start in starts)
                rng = random.Random(0)
                seconds = []
                try:
                    for day in range(days):
                        if scenario == "tenth" and day:
                            change_a_tenth(site, day, rng)
                        seconds.append(crawl(urls, scratch_dir / "data", settings))
                finally:
                    server.stop()
                per = sizes(scratch_dir / "data", plain_rows=mode == "baseline")
                results[f"{scenario}/{mode}"] = {"bytes": per, "seconds": seconds}
        sys.stderr.write(
            json.dumps({scenario: {m: sum(results[f"{scenario}/{m}"]["bytes"]) for m in MODES}})
            + "\n"
        )
    return {"days": days, "pages": listings * pages, "results": results}


def report(figures: dict) -> str:
    days, pages = figures["days"], figures["pages"]
    lines = [
        f"{days} daily crawls of {pages} listing pages (real PaperMod pages, 20 entries each).",
        "",
        "| site | layout | first snapshot | each later day, per page | whole archive "
        "| against one snapshot + 1 KB/page/crawl | crawl + publish s (median) |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for key, run in figures["results"].items():
        scenario, mode = key.split("/")
        sizes_, seconds = run["bytes"], run["seconds"]
        later = (sum(sizes_[1:]) / (len(sizes_) - 1) / pages) if len(sizes_) > 1 else 0
        allowed = sizes_[0] * 1.1 + 1024 * pages * (len(sizes_) - 1)
        median = sorted(seconds)[len(seconds) // 2]
        lines.append(
            f"| {scenario} | {mode} | {sizes_[0] / 1024:.0f} KiB | {later / 1024:.2f} KiB | "
            f"{sum(sizes_) / 1024:.0f} KiB | {sum(sizes_) / allowed:.2f}x | {median:.2f} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--listings", type=int, default=2)
    parser.add_argument("--pages", type=int, default=10)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    figures = run(args.days, args.listings, args.pages)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))
    sys.stdout.write(report(figures) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
