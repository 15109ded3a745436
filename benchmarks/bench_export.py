"""Benchmark: snapshot writing speed and memory as the number of entries grows.

Run on demand (``make bench``); not part of the test suite. Figures are ratios against a
baseline measured in the same process, since these machines are noisy:

* time per entry of a full snapshot (Parquet + JSONL + publish) relative to writing the
  same entries with Scrapy's stock JsonLinesItemExporter alone;
* peak resident memory (a fresh process per size, so Arrow's own allocations count too)
  while writing N entries, relative to N = 10,000: flat when rows are streamed in row
  groups, proportional when they are buffered.
"""

from __future__ import annotations

import io
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta

from scrapy.exporters import JsonLinesItemExporter

from archiver.items import ListingEntry
from archiver.snapshots import StagedSnapshot

T = datetime(2026, 1, 1, tzinfo=UTC)


def entries(n: int):
    for i in range(n):
        yield ListingEntry(
            snapshot_id="bench",
            source="Bench Blog",
            title=f"Post number {i} about something interesting",
            page_url=f"https://bench.example/page/{i // 20}/",
            position=i + 1,
            fetched_at=T,
            page_time=T,
            url=f"https://bench.example/posts/{i}/",
            summary="A summary of a post, long enough to look like a real one. " * 4,
            age_text=f"{i % 30} days ago",
            views_text=f"{i} views",
            entry_id=f"{i:016x}",
            published_earliest=T - timedelta(days=i % 30 + 1),
            published_latest=T - timedelta(days=i % 30),
            views=i,
        )


def write_snapshot(n: int) -> float:
    with tempfile.TemporaryDirectory() as data_dir:
        started = time.perf_counter()
        staged = StagedSnapshot(data_dir, f"bench-{n}")
        for item in entries(n):
            staged.add(item)
        staged.flush()
        staged.publish(staged.base_manifest(staged.close_files()) | {"status": "complete"})
        return time.perf_counter() - started


def write_baseline(n: int) -> float:
    started = time.perf_counter()
    exporter = JsonLinesItemExporter(io.BytesIO())
    exporter.start_exporting()
    for item in entries(n):
        exporter.export_item(item)
    exporter.finish_exporting()
    return time.perf_counter() - started


def peak_memory(n: int) -> int:
    """Peak RSS (KiB) of a fresh interpreter that writes one snapshot of ``n`` entries."""
    code = (
        "import resource, sys; sys.path.insert(0, 'benchmarks'); import bench_export as b; "
        f"b.write_snapshot({n}); print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    return int(result.stdout.strip())


def main() -> None:
    out = sys.stdout
    n = 20_000
    write_snapshot(1000), write_baseline(1000)  # warm up imports and caches
    snapshot = min(write_snapshot(n) for _ in range(3))
    baseline = min(write_baseline(n) for _ in range(3))
    out.write(f"entries: {n}\n")
    out.write(
        f"snapshot (Parquet + JSONL + publish) vs stock JSONL exporter: {snapshot / baseline:.2f}x time\n"
    )
    out.write(
        f"snapshot throughput: {n / snapshot:,.0f} entries/s on this machine (indicative only)\n"
    )
    base_peak = peak_memory(10_000)
    for size in (10_000, 50_000, 200_000):
        out.write(
            f"peak memory writing {size:>7,} entries: {peak_memory(size) / base_peak:.2f}x that of 10,000\n"
        )


if __name__ == "__main__":
    main()
