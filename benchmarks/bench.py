"""``make bench``: archiver measured against the floor it is built on, side by side.

Every figure is a ratio against a baseline measured in the same run (these machines are
noisy); runs alternate baseline and archiver and the median of each is kept. Peak memory is
the crawl process's own high-water mark (``wait4``), across its whole life.

1. crawl: ``scrapy crawl listing`` (default settings but for 16 requests per site, no delay,
   no AutoThrottle: WARC capture on, snapshots on) against a bare parsel spider with
   Scrapy's JSONL feed (benchmarks/bare_spider.py), over 2,000 PaperMod pages on 127.0.0.1;
2. WARC capture: the same crawl with ``ARCHIVER_WARC=False``: time and bytes per page;
3. writing 1,000,000 rows through the ``FEED_EXPORTERS`` classes (dict items) against
   pyarrow's ``ParquetWriter`` plus ``json.dumps`` lines, same rows and schema;
4. ``archiver.load()`` of 100 snapshots x 10,000 rows against a ``pyarrow.dataset`` read;
5. extraction per page against hand-written lxml reading the same fields;
6. many workers: pages per second with 1, 2 and 4 workers sharing a crawl in Redis, against
   one process, over listings on many loopback hosts, with and without per-host politeness;
7. (``--long``) a 100,000-page crawl, its memory sampled every second: benchmarks/rss.png.

``python benchmarks/bench.py [--quick] [--long] [--write benchmarks/RESULTS.md]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import listing_site  # noqa: E402

PYTHON = sys.executable
FAST = [
    "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=16", "-s", "DOWNLOAD_DELAY=0",
    "-s", "AUTOTHROTTLE_ENABLED=0", "-s", "LOG_LEVEL=INFO",
]  # fmt: skip


TIME = Path("/usr/bin/time")  # GNU time: the peak RSS of a child started by a small parent


def run_measured(command: list[str], cwd: Path, samples: list | None = None) -> dict:
    """Wall time, peak RSS (MiB) and exit status of ``command``; with ``samples``, its RSS
    every second, as (seconds, MiB).

    The peak is measured by GNU time (``/usr/bin/time -f %M``), not by this process's
    ``wait4``: a child of a process that has grown (this one, after ``bench_load`` read a
    million rows) starts with its parent's high-water mark in ``ru_maxrss``, so the figure
    said 2,393 MiB for a crawl that peaked at 175. Without GNU time, VmHWM sampled from
    /proc (the child's own high-water mark since exec) is used."""
    started = time.perf_counter()
    peak_file = Path(tempfile.mkstemp(prefix="archiver-bench-rss-")[1])
    measured = [str(TIME), "-f", "%M", "-o", str(peak_file), *command] if TIME.exists() else command
    hwm: list[float] = []
    process = subprocess.Popen(measured, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    stderr: list[bytes] = []
    reader = threading.Thread(target=lambda: stderr.append(process.stderr.read()), daemon=True)
    reader.start()

    def sample() -> None:
        while process.poll() is None:
            for pid in _tree(process.pid):  # the command, under GNU time: its child
                try:
                    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
                except OSError:
                    continue
                values = dict(line.split(":", 1) for line in lines if ":" in line)
                if pid != process.pid or not TIME.exists():
                    hwm.append(int(values.get("VmHWM", "0 kB").split()[0]) / 1024)
                    if samples is not None:
                        rss = int(values.get("VmRSS", "0 kB").split()[0]) / 1024
                        samples.append((time.perf_counter() - started, rss))
            time.sleep(1 if samples is not None else 0.2)

    threading.Thread(target=sample, daemon=True).start()
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    reader.join(timeout=10)
    try:
        peak = int(peak_file.read_text().split()[-1]) / 1024
    except (OSError, ValueError, IndexError):
        peak = max(hwm, default=0.0)
    peak_file.unlink(missing_ok=True)
    return {"seconds": elapsed, "cpu": usage.ru_utime + usage.ru_stime,
            "rss": peak, "status": status,
            "stderr": b"".join(stderr).decode("utf-8", "replace")}  # fmt: skip


def _tree(pid: int) -> list[int]:
    """``pid`` and its children (GNU time's one child is the command)."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        children = []
    return [pid, *map(int, children)]


def crawl_commands(urls: str, out: Path, n: int) -> dict[str, list[str]]:
    crawl = [PYTHON, "-m", "scrapy", "crawl", "listing", "-a", f"start_urls={urls}",
             "-a", "profile=papermod", *FAST]  # fmt: skip
    return {
        "bare": [PYTHON, "-m", "scrapy", "runspider", str(HERE / "bare_spider.py"),
                 "-a", f"start_urls={urls}", "-O", str(out / f"bare{n}.jsonl"), *FAST],
        "archiver": [*crawl, "-s", f"ARCHIVER_DATA_DIR={out / f'warc{n}'}"],
        "archiver, WARC off": [*crawl, "-s", f"ARCHIVER_DATA_DIR={out / f'nowarc{n}'}",
                               "-s", "ARCHIVER_WARC=False"],
    }  # fmt: skip


def bench_crawl(listings: int, pages: int, rounds: int) -> dict:
    with tempfile.TemporaryDirectory() as scratch:
        scratch_dir = Path(scratch)
        starts = listing_site.build(scratch_dir / "site", listings, pages)
        server = listing_site.Server(scratch_dir / "site")
        urls = ",".join(server.url + start for start in starts)
        results: dict[str, list[dict]] = {}
        try:
            for n in range(rounds):
                for name, command in crawl_commands(urls, scratch_dir, n).items():
                    cwd = scratch_dir if name == "bare" else ROOT
                    result = run_measured(command, cwd)
                    if result["status"] != 0:
                        raise RuntimeError(f"{name} failed: {result['stderr'][-2000:]}")
                    results.setdefault(name, []).append(result)
        finally:
            server.stop()
        warc = sum(p.stat().st_size for p in scratch_dir.glob("warc*/snapshots/*/_warc/*.gz"))
        published = scratch_dir.glob("warc*/snapshots/*/_meta/entries*.jsonl*")
        jsonl = sum(p.stat().st_size for p in published)
        parquet = sum(p.stat().st_size for p in scratch_dir.glob("warc*/snapshots/*/*.parquet"))
        rows = sum(1 for _ in (scratch_dir / "bare0.jsonl").open())
    keys = ("seconds", "cpu", "rss")
    median = {name: {key: statistics.median(r[key] for r in runs) for key in keys}
              for name, runs in results.items()}  # fmt: skip
    seconds = {name: [round(r["seconds"], 2) for r in runs] for name, runs in results.items()}
    return {"pages": listings * pages, "rows": rows, "median": median, "runs": seconds,
            "warc_bytes_per_page": warc / rounds / (listings * pages),
            "jsonl_bytes_per_page": jsonl / rounds / (listings * pages),
            "parquet_bytes_per_page": parquet / rounds / (listings * pages)}  # fmt: skip


def bench_workers(listings: int, pages: int, hosts: int, rounds: int) -> dict:
    """Pages per second with 1, 2 and 4 workers of one shared crawl (a real Redis at
    ARCHIVER_BENCH_REDIS, default 127.0.0.1:6379), against one process without Redis, over
    listings spread across ``hosts`` loopback hosts. Two politeness regimes: none (the
    machine's limit), and one request per host at a time, 0.5 s apart (a polite crawl's)."""
    import redis

    url = os.environ.get("ARCHIVER_BENCH_REDIS", "redis://127.0.0.1:6379/0")
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=2)
        client.ping()
    except redis.RedisError as exc:
        return {"skipped": f"no Redis at {url}: {exc}"}
    regimes = {
        "no delay": ["-s", "CONCURRENT_REQUESTS_PER_DOMAIN=16", "-s", "DOWNLOAD_DELAY=0"],
        "polite (1 per host, 0.5 s)": ["-s", "CONCURRENT_REQUESTS_PER_DOMAIN=1",
                                       "-s", "DOWNLOAD_DELAY=0.5"],
    }  # fmt: skip
    results: dict[str, dict[str, list[float]]] = {}
    memory: list[float] = []  # Redis bytes per page at the crawl's peak
    with tempfile.TemporaryDirectory() as scratch:
        scratch_dir = Path(scratch)
        starts = listing_site.build(scratch_dir / "site", listings, pages)
        server = listing_site.Server(scratch_dir / "site", hosts=listing_site.loopback(hosts))
        urls = ",".join(server.url_for(n) + start for n, start in enumerate(starts))
        base = [PYTHON, "-m", "scrapy", "crawl", "listing", "-a", f"start_urls={urls}",
                "-a", "profile=papermod", "-s", "AUTOTHROTTLE_ENABLED=0", "-s", "LOG_LEVEL=INFO",
                "-s", "CONCURRENT_REQUESTS=16"]  # fmt: skip
        try:
            for n in range(rounds):
                for regime, politeness in regimes.items():
                    for workers in (0, 1, 2, 4):  # 0: one process, no Redis
                        data = scratch_dir / f"data-{regime[:2]}-{workers}-{n}"
                        crawl_id = f"bench-{os.getpid()}-{n}-{regime[:2].strip()}-{workers}"
                        shared = ["-s", f"ARCHIVER_REDIS_URL={url}",
                                  "-s", f"ARCHIVER_CRAWL_ID={crawl_id}"]  # fmt: skip
                        command = [*base, *politeness, "-s", f"ARCHIVER_DATA_DIR={data}",
                                   *(shared if workers else [])]  # fmt: skip
                        baseline = client.info("memory")["used_memory"]
                        peak = [baseline]
                        started = time.perf_counter()
                        processes = [
                            subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL,
                                             stderr=subprocess.DEVNULL)
                            for _ in range(max(1, workers))
                        ]  # fmt: skip
                        while any(process.poll() is None for process in processes):
                            peak.append(client.info("memory")["used_memory"])
                            time.sleep(0.1)
                        codes = [process.wait() for process in processes]
                        elapsed = time.perf_counter() - started
                        if workers:
                            memory.append((max(peak) - baseline) / (listings * pages))
                        if any(codes):
                            raise RuntimeError(f"{regime}, {workers} workers: exit {codes}")
                        name = "one process, no Redis" if not workers else f"{workers} worker(s)"
                        results.setdefault(regime, {}).setdefault(name, []).append(elapsed)
                        for key in client.scan_iter(match=f"archiver:{crawl_id}:*"):
                            client.delete(key)
        finally:
            server.stop()
    total = listings * pages
    return {
        "pages": total,
        "hosts": hosts,
        "redis_bytes_per_page": statistics.median(memory),
        "pages_per_second": {
            regime: {name: total / statistics.median(times) for name, times in runs.items()}
            for regime, runs in results.items()
        },
    }


def rows(n: int):
    t = datetime(2026, 1, 1, tzinfo=UTC)
    for i in range(n):
        yield {
            "snapshot_id": "bench", "source": "Bench Blog", "entry_id": f"{i:016x}",
            "url": f"https://bench.example/posts/{i}/", "title": f"Post number {i} about things",
            "summary": "A summary of a post, long enough to look like a real one. " * 3,
            "age_text": f"{i % 30} days ago", "published_earliest": t - timedelta(days=i % 30 + 1),
            "published_latest": t - timedelta(days=i % 30), "published_source": "age",
            "published_raw": None, "published_conflict": None, "views": i,
            "views_text": f"{i} views",
            "position": i % 1000 + 1, "page_url": f"https://bench.example/page/{i // 20}/",
            "listing_url": "https://bench.example/", "listing_name": "bench",
            "fetched_at": t, "page_time": t,
            "extra": {"comments": f"{i % 50} comments"}, "counts": {"comments": i % 50},
            "warc_record_id": f"<urn:uuid:{i:032x}>", "warc_filename": "_warc/bench.warc.gz",
        }  # fmt: skip


EXPORT_CODE = """
import io, json, sys, time, resource
sys.path.insert(0, {here!r})
from bench import rows
n, way = {n}, {way!r}
from archiver.items import arrow_schema
from archiver.extract.dates import iso_utc
schema = arrow_schema()
started = time.perf_counter()
parquet, lines = open('/dev/null', 'wb'), open('/dev/null', 'wb')
if way == "floor":
    import pyarrow as pa, pyarrow.parquet as pq
    writer = pq.ParquetWriter(parquet, schema, compression="zstd")
    batch = []
    def flush():
        table = pa.Table.from_arrays(
            [pa.array([r[f.name] for r in batch], type=f.type) for f in schema], schema=schema)
        writer.write_table(table)
    for row in rows(n):
        line = {{k: iso_utc(v) if hasattr(v, "isoformat") else v for k, v in row.items()}}
        lines.write(json.dumps(line, ensure_ascii=False).encode() + b"\\n")
        batch.append(row)
        if len(batch) == 1000:
            flush(); batch = []
    if batch: flush()
    writer.close()
else:
    from archiver.exporters import JsonLinesExporter, ParquetExporter
    exporters = [ParquetExporter(parquet), JsonLinesExporter(lines)]
    for e in exporters: e.start_exporting()
    for row in rows(n):
        for e in exporters: e.export_item(row)
    for e in exporters: e.finish_exporting()
print(json.dumps({{"seconds": time.perf_counter() - started,
                  "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def bench_export(n: int, rounds: int) -> dict:
    out: dict[str, list[dict]] = {"floor": [], "archiver": []}
    for _ in range(rounds):
        for way in out:
            code = EXPORT_CODE.format(here=str(HERE), n=n, way=way)
            result = subprocess.run(
                [PYTHON, "-c", code], capture_output=True, text=True, check=True
            )
            out[way].append(json.loads(result.stdout))
    return {way: {k: statistics.median(r[k] for r in runs) for k in ("seconds", "rss")}
            for way, runs in out.items()}  # fmt: skip


def bench_load(snapshots: int, per: int, rounds: int) -> dict:
    import pyarrow.dataset as ds

    import archiver
    from archiver.store.staging import StagedSnapshot

    timings: dict[str, list[float]] = {"pyarrow.dataset": [], "archiver.load": []}
    with tempfile.TemporaryDirectory() as data_dir:
        for s in range(snapshots):
            staged = StagedSnapshot(data_dir, f"{s:04d}")
            for row in rows(per):
                staged.add(row | {"snapshot_id": f"{s:04d}"})
            staged.publish(staged.base_manifest(staged.close_files()) | {"status": "complete"})
        root = Path(data_dir) / "snapshots"
        for _ in range(rounds):
            started = time.perf_counter()
            ds.dataset(root, format="parquet", partitioning="hive").to_table().to_pandas()
            timings["pyarrow.dataset"].append(time.perf_counter() - started)
            started = time.perf_counter()
            frame = archiver.load(data_dir)
            timings["archiver.load"].append(time.perf_counter() - started)
        assert len(frame) == snapshots * per
    return {name: statistics.median(values) for name, values in timings.items()}


def bench_extract(rounds: int = 300) -> dict:
    from lxml import html as lxml_html
    from parsel import Selector

    from archiver.extract.profiles import resolve_profile

    page = (HERE / "data" / "papermod-page.html").read_text("utf-8")
    [profile] = resolve_profile("papermod")

    def by_hand(root) -> list[dict]:
        out = []
        for entry in root.xpath("//main//article[contains(@class, 'post-entry')]"):
            title = " ".join(entry.xpath(".//header[contains(@class,'entry-header')]//h2/text()"))
            if not title.strip():
                continue
            summary = entry.xpath(".//*[contains(@class,'entry-content')]//p//text()")
            footer = entry.xpath(".//footer[contains(@class,'entry-footer')]//text()")
            out.append({
                "title": title.strip(),
                "url": (entry.xpath(".//a[contains(@class,'entry-link')]/@href") or [None])[0],
                "summary": " ".join(" ".join(summary).split()),
                "age": " ".join(footer).split("·")[0].strip(),
            })  # fmt: skip
        return out

    timings: dict[str, list[float]] = {"lxml by hand": [], "profile": []}
    for _ in range(rounds):
        started = time.perf_counter()
        by_hand(lxml_html.fromstring(page))
        timings["lxml by hand"].append(time.perf_counter() - started)
        started = time.perf_counter()
        profile.extract(Selector(text=page), "https://blog.example/page/2/")
        timings["profile"].append(time.perf_counter() - started)
    return {name: statistics.median(values) * 1e6 for name, values in timings.items()}


def bench_long(pages: int) -> dict:
    samples: list[tuple[float, float]] = []
    listings = 200  # deep listings: 10,000 start URLs would not fit in one argument
    with tempfile.TemporaryDirectory() as scratch:
        scratch_dir = Path(scratch)
        starts = listing_site.build(scratch_dir / "site", listings, pages // listings)
        server = listing_site.Server(scratch_dir / "site")
        try:
            command = crawl_commands(",".join(server.url + s for s in starts), scratch_dir, 0)
            result = run_measured(command["archiver"], ROOT, samples)
        finally:
            server.stop()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(8, 3.5))
    axes.plot([s for s, _ in samples], [m for _, m in samples])
    axes.set_xlabel("seconds")
    axes.set_ylabel("RSS (MiB)")
    axes.set_ylim(bottom=0)
    axes.set_title(f"scrapy crawl listing, {pages:,} pages: resident memory over time")
    figure.tight_layout()
    figure.savefig(HERE / "rss.png", dpi=100)
    third = len(samples) // 3
    return {"pages": pages, "seconds": result["seconds"], "peak": result["rss"],
            "first_third_max": max(m for _, m in samples[:third]),
            "last_third_max": max(m for _, m in samples[-third:])}  # fmt: skip


def versions() -> str:
    from importlib.metadata import version

    names = ("scrapy", "pyarrow", "lxml", "warcio", "pandas")
    return f"Python {platform.python_version()}, " + ", ".join(
        f"{name} {version(name)}" for name in names
    )


def report(results: dict) -> str:
    crawl = results["crawl"]["median"]
    bare, ours, nowarc = crawl["bare"], crawl["archiver"], crawl["archiver, WARC off"]
    export, load, extract = results["export"], results["load"], results["extract"]
    lines = [
        f"## {datetime.now(UTC):%Y-%m-%d}, archiver on {os.cpu_count()} cores "
        f"({platform.machine()}, {platform.system()})",
        "",
        versions(),
        "",
        f"Reproduce: `{results['command']}`",
        "",
        "| measure | floor | archiver | ratio | target |",
        "| --- | --- | --- | --- | --- |",
        f"| full crawl, {results['crawl']['pages']:,} pages, {results['crawl']['rows']:,} rows "
        f"(median of {len(results['crawl']['runs']['bare'])}) | bare spider "
        f"{bare['seconds']:.1f} s | {ours['seconds']:.1f} s | "
        f"**{ours['seconds'] / bare['seconds']:.2f}x** | <= 1.2x |",
        f"| the same crawls' CPU time (user + system) | {bare['cpu']:.1f} s | "
        f"{ours['cpu']:.1f} s | {ours['cpu'] / bare['cpu']:.2f}x | |",
        f"| crawl peak RSS | {bare['rss']:.0f} MiB | {ours['rss']:.0f} MiB | "
        f"**{ours['rss'] / bare['rss']:.2f}x** | <= 1.3x |",
        f"| writing {results['export_rows']:,} rows, Parquet + JSONL | pyarrow + json.dumps "
        f"{export['floor']['seconds']:.1f} s | {export['archiver']['seconds']:.1f} s | "
        f"**{export['archiver']['seconds'] / export['floor']['seconds']:.2f}x** | <= 1.3x |",
        f"| peak RSS writing them | {export['floor']['rss']:.0f} MiB | "
        f"{export['archiver']['rss']:.0f} MiB | | < 250 MB |",
        f"| `archiver.load()`, 100 snapshots x 10,000 rows | pyarrow.dataset "
        f"{load['pyarrow.dataset']:.2f} s | {load['archiver.load']:.2f} s | "
        f"**{load['archiver.load'] / load['pyarrow.dataset']:.2f}x** | <= 1.5x |",
        f"| WARC capture: crawl time, on vs off | {nowarc['seconds']:.1f} s | "
        f"{ours['seconds']:.1f} s | **{ours['seconds'] / nowarc['seconds']:.2f}x** | <= 1.1x |",
        f"| WARC capture: CPU time, on vs off | {nowarc['cpu']:.1f} s | {ours['cpu']:.1f} s | "
        f"{ours['cpu'] / nowarc['cpu']:.2f}x | |",
        f"| WARC bytes on disk per page (gzip) | | "
        f"{results['crawl']['warc_bytes_per_page'] / 1024:.1f} KiB | | |",
        f"| rows on disk per page: JSON Lines (gzip) + Parquet | | "
        f"{results['crawl']['jsonl_bytes_per_page'] / 1024:.1f} KiB + "
        f"{results['crawl']['parquet_bytes_per_page'] / 1024:.1f} KiB | | |",
        f"| extraction per page (20 entries, 5 fields) | lxml by hand "
        f"{extract['lxml by hand']:.0f} µs | {extract['profile']:.0f} µs | "
        f"{extract['profile'] / extract['lxml by hand']:.2f}x | |",
        "",
        f"Crawl runs (seconds): {json.dumps(results['crawl']['runs'])}",
    ]
    workers = results.get("workers")
    if workers and "skipped" in workers:
        lines += ["", f"Many workers: not measured ({workers['skipped']})."]
    elif workers:
        lines += [
            "",
            f"Many workers: pages per second over {workers['pages']:,} pages on "
            f"{workers['hosts']} loopback hosts, each worker `CONCURRENT_REQUESTS=16`, one "
            "Redis, all on this machine (median of the rounds).",
            "",
            "| regime | one process, no Redis | 1 worker | 2 workers | 4 workers |",
            "| --- | --- | --- | --- | --- |",
        ]
        for regime, rates in workers["pages_per_second"].items():
            alone = rates["one process, no Redis"]
            cells = [f"{alone:.0f}"] + [
                f"{rates[name]:.0f} ({rates[name] / alone:.2f}x)"
                for name in ("1 worker(s)", "2 worker(s)", "4 worker(s)")
            ]
            lines.append(f"| {regime} | " + " | ".join(cells) + " |")
        lines += [
            "",
            f"Redis memory at a shared crawl's peak: {workers['redis_bytes_per_page']:.0f} bytes "
            "per page crawled (median over the shared runs; freed when the crawl is published).",
        ]
    if "long" in results and "skipped" in results["long"]:
        lines += ["", f"Long crawl: not measured ({results['long']['skipped']})."]
    elif "long" in results:
        long = results["long"]
        lines += [
            "",
            f"Long crawl: {long['pages']:,} pages in {long['seconds']:.0f} s, peak RSS "
            f"{long['peak']:.0f} MiB; highest RSS in the first third {long['first_third_max']:.0f} "
            f"MiB, in the last third {long['last_third_max']:.0f} MiB (`benchmarks/rss.png`).",
        ]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, one round")
    parser.add_argument("--long", action="store_true", help="also the 100,000-page crawl")
    parser.add_argument("--write", type=Path, help="prepend the results to this Markdown file")
    args = parser.parse_args()
    rounds = 1 if args.quick else 5
    export_rows = 100_000 if args.quick else 1_000_000
    results = {
        "command": "make bench" + (" BENCH_ARGS=--long" if args.long else ""),
        "crawl": bench_crawl(200, 2 if args.quick else 10, rounds),
        "export": bench_export(export_rows, min(rounds, 3)),
        "export_rows": export_rows,
        "load": bench_load(10 if args.quick else 100, 10_000, min(rounds, 3)),
        "extract": bench_extract(),
        "workers": bench_workers(
            200 if args.quick else 400,
            2 if args.quick else 5,
            50 if args.quick else 200,
            1 if args.quick else 2,
        ),
    }
    if args.long:
        try:
            results["long"] = bench_long(100_000)
        except Exception as exc:  # the other figures are still worth writing down
            results["long"] = {"skipped": f"{type(exc).__name__}: {exc}"}
    text = report(results)
    sys.stdout.write(text)
    if args.write:
        previous = args.write.read_text("utf-8") if args.write.exists() else ""
        head, marker, rest = previous.partition("\n## ")
        args.write.write_text(f"{head.rstrip()}\n\n{text}\n{marker.strip()} {rest}".rstrip() + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
