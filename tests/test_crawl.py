"""Whole crawls, as users run them: ``scrapy crawl listing`` against a real HTTP server on
127.0.0.1, and the snapshot read back by pandas, pyarrow and DuckDB."""

from __future__ import annotations

import gzip
import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from html import unescape
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow.dataset as ds
import pytest

import archiver
from archiver.store.layout import list_snapshots
from archiver.store.verify import verify_snapshot
from tests.conftest import (
    DEMO,
    FIXTURES,
    REALWORLD,
    ROOT,
    SEED_CAPTURE,
    SHARED,
    crawl_command,
    module_command,
    module_env,
    needs_realworld,
)
from tests.sites import ScriptedSite, serve_files


@pytest.fixture
def demo_crawl(serve, crawl, tmp_path):
    """The demo site served over HTTP with a Date header of the seed's capture time."""
    site = serve(DEMO, date=SEED_CAPTURE)
    result = crawl("-a", f"start_urls={site.url}index.html", data_dir=tmp_path)
    return result, tmp_path


def test_crawl_publishes_one_complete_snapshot(demo_crawl) -> None:
    result, data_dir = demo_crawl
    assert result.returncode == 0, result.stderr[-3000:]
    [snapshot] = list_snapshots(data_dir)
    assert snapshot.status == "complete"
    assert "snapshot published: " + str(snapshot.path) in result.stderr
    assert re.search(r"profile auto: demo matches http://127\.0\.0\.1:\d+/index\.html\n",
                     result.stderr)  # which profile read which page  # fmt: skip
    assert (
        result.stdout.strip().splitlines()[-1]
        == f"snapshot complete: {snapshot.path.resolve()} (15 rows)"
    )
    assert not any((data_dir / ".staging").iterdir())  # nothing left half-written
    manifest = snapshot.manifest
    assert manifest["rows"] == 15 and manifest["pages_fetched"] == 2
    started, finished = (datetime.fromisoformat(manifest[k]) for k in ("started_at", "finished_at"))
    assert started <= finished <= datetime.now(UTC) and started.tzinfo is not None
    [listing] = manifest["listings"]
    assert (listing["announced"], listing["extracted"], listing["profile"]) == (15, 15, "demo")
    assert manifest["pages_failed"] == []
    assert verify_snapshot(snapshot) == []


def test_every_seed_entry_arrives_exactly_as_printed(demo_crawl) -> None:
    _, data_dir = demo_crawl
    frame = archiver.load(data_dir)
    seed = (DEMO.parent.parent / "tests" / "fixtures" / "seed_titles.txt").read_text("utf-8")
    assert frame["title"].tolist() == seed.splitlines()
    assert frame["position"].tolist() == list(range(1, 16))
    assert set(frame["source"]) == {"Lil'Log"}
    assert set(frame["views_text"]) == {"0 views"} and set(frame["views"]) == {0}
    assert frame["age_text"].iloc[0] == "5 months ago"
    assert frame["summary"].iloc[0].startswith("Special thanks to John Schulman")
    assert frame["entry_id"].is_unique


def test_page_time_is_the_servers_date(demo_crawl) -> None:
    _, data_dir = demo_crawl
    frame = archiver.load(data_dir)
    assert set(frame["page_time"]) == {pd.Timestamp(SEED_CAPTURE)}
    assert (frame["fetched_at"] > frame["page_time"]).all()
    # "5 months ago" against 2025-10-15 12:00 UTC: 6 calendar months .. 150 days back.
    first = frame.iloc[0]
    assert first["published_earliest"] == pd.Timestamp("2025-04-15 12:00", tz="UTC")
    assert first["published_latest"] == pd.Timestamp("2025-05-18 12:00", tz="UTC")


@needs_realworld()
def test_intervals_contain_the_real_publication_dates(demo_crawl) -> None:
    """The truncation rule, checked against the blog's own RSS dates for all fifteen posts."""
    _, data_dir = demo_crawl
    rss = (REALWORLD / "lillog-papermod" / "index.xml").read_text("utf-8")
    real = {
        unescape(title): parsedate_to_datetime(date).astimezone(UTC)
        for title, date in re.findall(
            r"<title>(.*?)</title>\s*<link>.*?</link>\s*<pubDate>(.*?)</pubDate>", rss
        )
    }
    frame = archiver.load(data_dir)
    for row in frame.itertuples():
        truth = pd.Timestamp(real[row.title])
        assert row.published_earliest <= truth <= row.published_latest, row.title


def test_pandas_pyarrow_and_duckdb_read_the_snapshots_directory(demo_crawl) -> None:
    _, data_dir = demo_crawl
    root = data_dir / "snapshots"
    frame = pd.read_parquet(root)  # the README's one-liner
    assert len(frame) == 15
    assert str(frame["views"].dtype) == "Int64"
    assert str(frame["published_earliest"].dtype) == "datetime64[us, UTC]"
    assert str(frame["position"].dtype) == "int32"

    table = ds.dataset(root, format="parquet", partitioning="hive").to_table()
    assert table.num_rows == 15 and table.schema.field("page_time").type.tz == "UTC"

    con = duckdb.connect()
    rows = con.execute(
        f"SELECT snapshot_id, count(*), min(published_earliest), typeof(views) "
        f"FROM read_parquet('{root}/*/*.parquet', hive_partitioning = true) GROUP BY ALL"
    ).fetchall()
    [(snapshot_id, count, earliest, views_type)] = rows
    assert count == 15 and views_type == "BIGINT"
    assert snapshot_id == list_snapshots(data_dir)[0].snapshot_id
    assert isinstance(earliest, datetime) and earliest.tzinfo is not None


@pytest.mark.skipif(
    "MUTANT_UNDER_TEST" in os.environ,
    reason="under make mutate: polars's thread pool does not survive mutmut's fork (it hangs)",
)
def test_polars_reads_the_snapshots_directory(demo_crawl) -> None:
    import polars

    _, data_dir = demo_crawl
    root = data_dir / "snapshots"
    frame = polars.read_parquet(f"{root}/**/*.parquet", hive_partitioning=True)
    assert frame.height == 15 and frame.schema["views"] == polars.Int64
    assert frame.schema["page_time"] == polars.Datetime("us", "UTC")
    assert frame["snapshot_id"].unique().to_list() == [list_snapshots(data_dir)[0].snapshot_id]


def test_the_jsonl_copy_is_gzip_that_pandas_duckdb_and_polars_read(demo_crawl) -> None:
    import duckdb
    import polars

    _, data_dir = demo_crawl
    [snapshot] = list_snapshots(data_dir)
    path = snapshot.path / "_meta" / "entries.jsonl.gz"
    assert not (snapshot.path / "_meta" / "entries.jsonl").exists()
    titles = archiver.load(data_dir)["title"].tolist()
    assert pd.read_json(path, lines=True)["title"].tolist() == titles
    assert [
        r[0] for r in duckdb.sql(f"SELECT title FROM read_json_auto('{path}')").fetchall()
    ] == titles
    assert polars.read_ndjson(path)["title"].to_list() == titles
    plain = len(gzip.decompress(path.read_bytes()))
    assert path.stat().st_size < plain / 3  # text compresses; the figure is in RESULTS.md


def test_jsonl_holds_the_same_rows(demo_crawl) -> None:
    """Every column of every row, value for value, in both files of the snapshot."""
    _, data_dir = demo_crawl
    [snapshot] = list_snapshots(data_dir)
    compressed = snapshot.path / "_meta" / "entries.jsonl.gz"
    lines = gzip.decompress(compressed.read_bytes()).decode("utf-8").splitlines()
    from_json = [json.loads(line) for line in lines]
    from_parquet = archiver.load(data_dir)
    assert [list(row) for row in from_json] == [list(from_parquet.columns)] * 15
    for row, (_, expected) in zip(from_json, from_parquet.iterrows(), strict=True):
        for column, value in row.items():
            want = expected[column]
            if column in ("extra", "counts"):
                assert value == dict(want or []), column
            elif isinstance(want, pd.Timestamp):
                assert pd.Timestamp(value) == want, column
            elif pd.isna(want):
                assert value is None, column
            else:
                assert value == want, column
    assert from_json[0]["page_time"] == "2025-10-15T12:00:00Z"


def test_polite_defaults_reach_the_server(tmp_path) -> None:
    """With no -s at all: robots.txt first, an honest User-Agent, and at least half of
    DOWNLOAD_DELAY (1 s; Scrapy randomises 0.5x to 1.5x) between two requests' starts."""
    site = ScriptedSite(serve_files(DEMO, delay=0.2, robots=(DEMO / "robots.txt").read_bytes()))
    try:
        command = [sys.executable, "-m", "scrapy", "crawl", "listing"]
        command += ["-a", f"start_urls={site.url}index.html", "-s", f"ARCHIVER_DATA_DIR={tmp_path}"]
        result = subprocess.run(
            command, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
        )
    finally:
        site.stop()
    assert result.returncode == 0, result.stderr[-2000:]
    assert [path for path, _ in site.log] == ["/robots.txt", "/index.html", "/page2.html"]
    assert all(re.fullmatch(r"archiver/\S+ \(\+https?://\S+\)", agent) for agent in site.agents)
    pages = [when for path, when in site.log if path != "/robots.txt"]
    assert pages[1] - pages[0] >= 0.5  # with FAST test settings it is about 0.2 s


def test_robots_disallow_is_obeyed(serve, crawl, tmp_path) -> None:
    root = tmp_path / "site"
    root.mkdir()
    for name in ("index.html", "page2.html"):
        (root / name).write_bytes((DEMO / name).read_bytes())
    (root / "robots.txt").write_text("User-agent: *\nDisallow: /page2.html\n")
    site = serve(root)
    result = crawl("-a", f"start_urls={site.url}index.html", data_dir=tmp_path / "data")
    assert result.returncode == 3, result.stderr[-2000:]  # partial: a page was not fetched
    [snapshot] = list_snapshots(tmp_path / "data")
    assert snapshot.status == "partial" and snapshot.manifest["rows"] == 8
    [failed] = snapshot.manifest["pages_failed"]
    assert failed["url"].endswith("/page2.html") and "robots" in failed["reason"].lower()


def test_file_start_url_and_max_pages(crawl, tmp_path) -> None:
    result = crawl(
        "-a", f"start_urls={DEMO / 'index.html'}", "-a", "max_pages=1", data_dir=tmp_path
    )
    assert result.returncode == 0, result.stderr[-2000:]
    [snapshot] = list_snapshots(tmp_path)
    assert snapshot.manifest["rows"] == 8
    assert snapshot.manifest["listings"][0]["stopped"].startswith("max_pages (1)")
    assert "announces 15 entries but 8 were extracted" in result.stderr
    # What repeats this crawl, as archiver reparse and a reader of the manifest take it.
    assert snapshot.manifest["arguments"] == {
        "start_urls": [(DEMO / "index.html").as_uri()],
        "profile": "auto",
        "max_pages": 1,
    }


def test_feed_export_flag_writes_typed_files(crawl, tmp_path) -> None:
    out_parquet, out_jsonl = tmp_path / "out.parquet", tmp_path / "out.jsonl"
    result = crawl("-o", str(out_parquet), "-o", str(out_jsonl), data_dir=tmp_path / "data")
    assert result.returncode == 0, result.stderr[-2000:]
    frame = pd.read_parquet(out_parquet)
    assert len(frame) == 15 and str(frame["views"].dtype) == "Int64"
    assert frame["snapshot_id"].nunique() == 1  # a lone file keeps the id as a column
    assert len(Path(out_jsonl).read_text("utf-8").splitlines()) == 15


def test_every_feed_carries_the_contracts_columns_and_no_hints(crawl, tmp_path) -> None:
    """``-O out.csv`` is data for a spreadsheet: the pipelines' hints (date_order,
    count_fields, rejected) are no columns of it."""
    import csv

    from archiver.items import COLUMNS

    out_csv, out_json = tmp_path / "out.csv", tmp_path / "out.json"
    result = crawl("-O", str(out_csv), "-O", str(out_json), data_dir=tmp_path / "data")
    assert result.returncode == 0, result.stderr[-2000:]
    with out_csv.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == COLUMNS and len(rows) == 15
    assert {"date_order", "count_fields", "rejected"}.isdisjoint(rows[0])
    assert all(set(row) == set(COLUMNS) for row in json.loads(out_json.read_text("utf-8")))


def test_scrapy_parse_shows_a_page_and_archives_nothing(tmp_path) -> None:
    data_dir = tmp_path / "data"
    command = module_command(
        "scrapy", "parse", "--spider=listing", "-s", f"ARCHIVER_DATA_DIR={data_dir}",
        (DEMO / "index.html").as_uri(),
    )  # fmt: skip
    result = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "'title': 'Prompt Engineering'" in result.stdout
    assert "page2.html" in result.stdout  # the next page, shown as a request
    assert "Traceback" not in result.stderr and "TypeError" not in result.stderr
    assert not data_dir.exists()  # no snapshot, no journal, no WARC
    bad = subprocess.run(
        [*command, "-a", "max_page=1"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert bad.returncode == 2
    assert (
        bad.stderr.strip()
        .splitlines()[-1]
        .endswith(
            "did you mean max_pages? it takes start_urls, profile, max_pages, listing, listings"
        )
    )
    assert not data_dir.exists()


def test_unwritable_data_dir_fails_in_one_line(crawl, tmp_path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the data directory should be")
    result = crawl(data_dir=blocker)
    assert result.returncode == 1
    assert "cannot write snapshots under" in result.stderr
    assert "downloader/request_count" not in result.stderr  # nothing was crawled


def test_bad_argument_fails_before_crawling(crawl, tmp_path) -> None:
    result = crawl("-a", "profile=no-such-profile", data_dir=tmp_path)
    assert result.returncode == 2
    assert "profile 'no-such-profile'" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "snapshots").exists()


def test_forum_extras_are_kept_typed(crawl, tmp_path) -> None:
    result = crawl(
        "-a", f"start_urls={FIXTURES / 'forum.html'}", "-a", "max_pages=1", data_dir=tmp_path
    )
    assert result.returncode == 0, result.stderr[-2000:]
    frame = archiver.load(tmp_path).set_index("title")
    first = frame.loc["Rust in the kernel, three years on"]
    assert first["extra"]["points"] == "1,024 points"  # load() gives dicts
    assert first["counts"] == {"points": 1024, "comments": 312}
    assert frame["counts"].str.get("points").loc[first.name] == 1024
    ask = frame.loc["Ask TN: How do you archive the web you read?"]
    assert ask["counts"] == {"points": 56}  # "discuss" is no number: left out, counted
    manifest = list_snapshots(tmp_path)[0].manifest
    assert manifest["stats"]["archiver/counts/comments/unparsed"] == 1
    assert manifest["stats"]["archiver/counts/points/missing"] == 1  # the job post


def test_page_no_profile_matches_fails_in_one_line(crawl, tmp_path) -> None:
    page = tmp_path / "plain.html"
    page.write_text("<html><body><p>Just a page</p></body></html>")
    result = crawl("-a", f"start_urls={page}", data_dir=tmp_path / "data")
    assert result.returncode == 1
    line = next(x for x in result.stderr.splitlines() if "no profile matches" in x)
    assert page.as_uri() in line and "tried: demo, hn, papermod" in line
    [snapshot] = list_snapshots(tmp_path / "data")
    assert snapshot.status == "failed"


def test_broken_profile_file_fails_at_start_naming_file_and_key(crawl, tmp_path) -> None:
    profile = tmp_path / "site.toml"
    profile.write_text("name = 'site'\nentries = 'li'\n[fields]\ntitle = 'a:::text'\n")
    result = crawl("-a", f"profile={profile}", data_dir=tmp_path / "data")
    assert result.returncode == 2
    assert f"profile {profile}: key 'fields.title': invalid selector" in result.stderr
    assert not (tmp_path / "data" / "snapshots").exists()


@pytest.mark.skipif(not (SHARED / "seed").is_dir(), reason=f"seed listing not present at {SHARED}")
def test_demo_reproduces_the_seed_listing_exactly(demo_crawl) -> None:
    """Source, age, title, summary and views of all fifteen entries, as the seed prints them."""
    text = (SHARED / "seed" / "listing.txt").read_text("utf-8")
    lines = text.splitlines()
    assert lines[0] == "Latest Posts (15 found)"
    seed = []
    for i, line in enumerate(lines):
        if line.startswith("Lil'Log "):
            seed.append(
                ("Lil'Log", line.removeprefix("Lil'Log "), lines[i + 2], lines[i + 4], lines[i + 6])
            )
    _, data_dir = demo_crawl
    frame = archiver.load(data_dir)
    crawled = list(
        frame[["source", "age_text", "title", "summary", "views_text"]].itertuples(
            index=False, name=None
        )
    )
    assert len(seed) == 15 and crawled == seed


PER_CAPTURE = ["snapshot_id", "fetched_at", "warc_record_id", "warc_filename"]
ASCII_LOCALE = {"LC_ALL": "C", "LANG": "C", "PYTHONCOERCECLOCALE": "0", "PYTHONUTF8": "0"}


def test_a_crawl_under_cron_s_bare_ascii_locale_archives_the_same_rows(serve, tmp_path) -> None:
    """cron and some containers run jobs with LANG unset: Python then reads and writes
    files as ASCII unless told otherwise. Profiles, pages, journal and snapshot are read
    and written as UTF-8 whatever the locale, so the rows are those of any other crawl."""
    site = serve(DEMO, date=SEED_CAPTURE)
    snapshots = []
    for name, extra in (("utf8", {}), ("ascii", ASCII_LOCALE)):
        data_dir = tmp_path / name
        result = subprocess.run(
            crawl_command("-a", f"start_urls={site.url}index.html", "-s",
                          f"JOBDIR={tmp_path / name / 'job'}", data_dir=data_dir),
            cwd=ROOT, capture_output=True, timeout=120, check=False,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **extra},
        )  # fmt: skip
        assert result.returncode == 0, result.stderr[-3000:].decode("utf-8", "replace")
        snapshots.append(archiver.load(data_dir).drop(columns=PER_CAPTURE))
    plain, bare = snapshots
    assert bare["summary"].str.contains("“thinking time”").any()  # not ASCII, kept as printed
    pd.testing.assert_frame_equal(plain, bare)
    # And reading it back in the same cron job: tables shorten long titles with "…".
    for command in ("history", "published"):
        shown = subprocess.run(
            module_command("archiver.cli", command, "--data-dir", str(tmp_path / "ascii")),
            capture_output=True, timeout=120, check=False, env={**module_env(), **ASCII_LOCALE},
        )  # fmt: skip
        assert shown.returncode == 0, shown.stderr.decode("utf-8", "replace")[-2000:]
        assert "Semi-Supervised Learn…" in shown.stdout.decode("utf-8"), command


def test_the_warc_says_which_http_version_the_server_spoke(demo_crawl) -> None:
    """The demo server speaks HTTP/1.0 (Python's http.server); the evidence says so, not a
    default of HTTP/1.1."""
    from warcio.archiveiterator import ArchiveIterator

    _, data_dir = demo_crawl
    [snapshot] = list_snapshots(data_dir)
    protocols = set()
    for path in (snapshot.path / "_warc").glob("*.warc.gz"):
        with path.open("rb") as stream:
            for record in ArchiveIterator(stream):
                if record.rec_type == "response":
                    protocols.add(record.http_headers.protocol)
    assert protocols == {"HTTP/1.0"}
