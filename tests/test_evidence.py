"""Every row has its evidence, and any snapshot can be read again from it, offline.

A real crawl over a local HTTP server (gzip bodies, a redirect, a 503 then a success,
robots.txt) is checked with warcio, traced row by row to its records, and re-read with
``archiver reparse`` after the server is gone.
"""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from warcio.archiveiterator import ArchiveIterator

import archiver
from archiver.evidence.records import parse_warc_date
from archiver.store.layout import SnapshotInfo, list_snapshots
from archiver.store.verify import verify_snapshot
from tests.conftest import module_command, module_env, run_crawl
from tests.pywb import replay
from tests.sites import Reply, ScriptedSite, listing_page

SECRETS = {"Authorization": "Basic YWxpY2U6czNjcmV0", "Cookie": "session=abc123"}
LINKS = ["warc_record_id", "warc_filename"]


def site_route(title_of_first: str = "Post number 1"):
    """Page 1 gzip-encoded; its next link redirects (301) to page 2, which answers 503 once."""
    page1 = listing_page(1, 2, 3, next_href="/older").replace(
        "Post number 1<", f"{title_of_first}<"
    )

    def route(path: str, attempt: int) -> Reply:
        if path == "/robots.txt":
            return Reply(body=b"User-agent: *\nAllow: /\n", headers={"Content-Type": "text/plain"})
        if path == "/":
            return Reply(body=gzip.compress(page1.encode()), headers={"Content-Encoding": "gzip"})
        if path == "/older":
            return Reply(301, b"", {"Location": "/page2.html"})
        if path == "/page2.html":
            if attempt == 1:
                return Reply(503, b"busy", {"Retry-After": "0"})
            return Reply(body=listing_page(2, 2, 3).encode())
        return Reply(404, b"no")

    return route


def crawl(site: ScriptedSite, data_dir: Path, *args: str):
    headers = json.dumps(SECRETS)
    result = run_crawl(
        "-a", f"start_urls={site.url}", "-s", "ARCHIVER_BACKOFF_BASE=0.05",
        "-s", f"DEFAULT_REQUEST_HEADERS={headers}", *args, data_dir=data_dir,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return list_snapshots(data_dir)[-1]


@pytest.fixture(scope="module")
def crawled(tmp_path_factory):
    """One crawl, its server stopped afterwards: everything after works offline."""
    data_dir = tmp_path_factory.mktemp("evidence")
    site = ScriptedSite(site_route())
    try:
        snapshot = crawl(site, data_dir)
    finally:
        site.stop()
    return snapshot, data_dir, site.url


def records(snapshot) -> list[dict]:
    out = []
    for path in sorted((snapshot.path / "_warc").glob("*.warc.gz")):
        with path.open("rb") as stream:
            for record in ArchiveIterator(stream):
                out.append({
                    "file": path.relative_to(snapshot.path).as_posix(),
                    "type": record.rec_type,
                    "id": record.rec_headers.get_header("WARC-Record-ID"),
                    "uri": record.rec_headers.get_header("WARC-Target-URI"),
                    "date": record.rec_headers.get_header("WARC-Date"),
                    "concurrent": record.rec_headers.get_header("WARC-Concurrent-To"),
                    "ip": record.rec_headers.get_header("WARC-IP-Address"),
                    "status": record.http_headers.get_statuscode() if record.http_headers and record.rec_type == "response" else None,
                    "http": record.http_headers,
                    "payload": record.raw_stream.read(),
                })  # fmt: skip
    return out


def located(crawled) -> SnapshotInfo:
    """The crawled snapshot where it is now: a reparse in an earlier test moves the reading
    it replaces from snapshots/ to superseded/."""
    original, data_dir, _ = crawled
    [found] = [
        s
        for s in list_snapshots(data_dir, superseded=True)
        if s.snapshot_id == original.snapshot_id
    ]
    return found


def reparse(data_dir: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        module_command("archiver.cli", "reparse", *args, "--data-dir", str(data_dir)),
        env=module_env(),
        capture_output=True,
        text=True,
        timeout=300,
        cwd="/",  # nothing from the project folder is needed, only the data
        check=False,
    )


def test_the_warc_files_pass_warcio_check(crawled) -> None:
    snapshot, _, _ = crawled
    paths = sorted((snapshot.path / "_warc").glob("*.warc.gz"))
    assert paths and not list((snapshot.path / "_warc").glob("*.open"))
    warcio = Path(sys.executable).parent / "warcio"  # installed with the project
    result = subprocess.run([str(warcio), "check", *map(str, paths)], capture_output=True)
    assert result.returncode == 0, result.stdout
    index = subprocess.run([str(warcio), "index", *map(str, paths)], capture_output=True, text=True)
    assert index.returncode == 0 and '"warc-type": "response"' in index.stdout


def test_every_response_is_kept_with_its_request(crawled) -> None:
    snapshot, _, url = crawled
    found = records(snapshot)
    assert found[0]["type"] == "warcinfo"
    # The file names the snapshot it belongs to, for a WARC read apart from its folder.
    assert f"isPartOf: {snapshot.snapshot_id}".encode() in found[0]["payload"]
    responses = [
        (r["uri"].removeprefix(url), r["status"]) for r in found if r["type"] == "response"
    ]
    assert responses == [
        ("robots.txt", "200"), ("", "200"), ("older", "301"), ("page2.html", "503"),
        ("page2.html", "200"),
    ]  # fmt: skip
    by_id = {r["id"]: r for r in found}
    requests = [r for r in found if r["type"] == "request"]
    assert len(requests) == len(responses)
    for request in requests:
        response = by_id[request["concurrent"]]
        assert (response["type"], response["uri"], response["date"]) == (
            "response", request["uri"], request["date"],
        )  # fmt: skip
    # The address each response came from, as WARC readers (pywb, warcio index) show it.
    assert {r["ip"] for r in found if r["type"] == "response"} == {"127.0.0.1"}


def test_bodies_are_stored_as_received_before_decompression(crawled) -> None:
    snapshot, _, url = crawled
    [first] = [r for r in records(snapshot) if r["type"] == "response" and r["uri"] == url]
    assert first["http"].get_header("Content-Encoding") == "gzip"
    assert first["payload"][:2] == b"\x1f\x8b"
    assert b"Post number 1" in gzip.decompress(first["payload"])


def test_nothing_secret_is_recorded(crawled) -> None:
    snapshot, _, _ = crawled
    blob = b"".join(gzip.decompress(p.read_bytes()) for p in (snapshot.path / "_warc").glob("*.gz"))
    assert b"User-Agent: archiver/" in blob
    for value in SECRETS.values():
        assert value.encode() not in blob
    assert b"Authorization:" not in blob and b"Cookie:" not in blob


def test_every_row_is_traced_to_the_response_it_was_read_from(crawled) -> None:
    snapshot, data_dir, _ = crawled
    rows = archiver.load(data_dir)
    assert len(rows) == 6 and rows[LINKS].notna().all().all()
    by_id = {r["id"]: r for r in records(snapshot)}
    for row in rows.itertuples():
        record = by_id[row.warc_record_id]
        assert record["file"] == row.warc_filename and record["type"] == "response"
        assert record["status"] == "200" and record["uri"] == row.page_url
        assert pd.Timestamp(parse_warc_date(record["date"])) == row.fetched_at  # one instant
        body = record["payload"]
        if record["http"].get_header("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        assert row.title.encode() in body
    assert verify_snapshot(snapshot) == []
    manifest = snapshot.manifest
    assert manifest["warc"]["files"] == 1 and manifest["files"][rows.warc_filename[0]]["sha256"]


def test_reparse_offline_equals_the_original(crawled) -> None:
    snapshot, data_dir, _ = crawled
    result = reparse(data_dir, snapshot.snapshot_id)
    assert result.returncode == 0, result.stderr[-3000:]
    derived = next(s for s in list_snapshots(data_dir) if s.manifest.get("derived_from"))
    assert derived.manifest["derived_from"] == snapshot.snapshot_id
    assert derived.snapshot_id.startswith(snapshot.snapshot_id + ".")
    assert f"-> {derived.snapshot_id}: complete, 6 rows" in result.stdout
    original = archiver.load(data_dir, snapshot=snapshot.snapshot_id)
    again = archiver.load(data_dir, snapshot=derived.snapshot_id)
    columns = [c for c in original.columns if c not in ["snapshot_id", *LINKS]]
    pd.testing.assert_frame_equal(original[columns], again[columns])  # fetched_at to the µs
    assert verify_snapshot(derived) == []
    # One capture, read twice: load() takes the latest reading, so nothing is counted twice.
    assert archiver.load(data_dir)["snapshot_id"].unique().tolist() == [derived.snapshot_id]
    assert len(archiver.load(data_dir, readings="all")) == 12


def test_every_reader_of_the_folder_sees_what_load_returns_after_reparse(tmp_path) -> None:
    """The README's first Python line double-counted once a capture was read twice."""
    import duckdb
    import polars
    import pyarrow.dataset as ds

    data_dir = tmp_path / "data"
    site = ScriptedSite(site_route())
    try:
        for _ in range(2):
            crawl(site, data_dir)
    finally:
        site.stop()
    first = list_snapshots(data_dir)[0]
    for args in ([first.snapshot_id], [first.snapshot_id, "--profile", "demo"], ["--all"]):
        result = reparse(data_dir, *args)
        assert result.returncode == 0, result.stderr[-2000:]
    loaded = archiver.load(data_dir)
    assert (
        len(loaded) == 12 and loaded["entry_id"].groupby(loaded["snapshot_id"]).size().eq(6).all()
    )
    expected = sorted(loaded["snapshot_id"].tolist())
    root = data_dir / "snapshots"
    assert sorted(pd.read_parquet(root)["snapshot_id"].tolist()) == expected
    hive = ds.dataset(root, format="parquet", partitioning="hive").to_table()
    assert sorted(hive.column("snapshot_id").to_pylist()) == expected
    duck = duckdb.sql(
        f"SELECT snapshot_id FROM read_parquet('{root}/*/*.parquet', hive_partitioning = true)"
    ).fetchall()
    assert sorted(row[0] for row in duck) == expected
    frame = polars.read_parquet(f"{root}/**/*.parquet", hive_partitioning=True)
    assert sorted(frame["snapshot_id"].to_list()) == expected
    # Nothing was lost: every reading is still there, and still sound.
    everything = list_snapshots(data_dir, superseded=True)
    assert len(everything) == 6 and len(list_snapshots(data_dir)) == 2
    assert sum(s.superseded for s in everything) == 4
    assert all(verify_snapshot(s) == [] for s in everything)
    assert len(archiver.load(data_dir, readings="all")) == 36
    assert len(archiver.load(data_dir, snapshot=first.snapshot_id)) == 6


def test_a_failed_reading_never_hides_the_rows_before_it(tmp_path) -> None:
    from archiver.store.publishing import settle_readings
    from tests.factories import entry, publish

    original = "20260101T000000000Z-aaaaaa"
    publish(tmp_path, original, [entry(original, "A", 1), entry(original, "B", 2)])
    failed = f"{original}.20260102T000000000Z-bbbbbb"
    publish(tmp_path, failed, [], status="failed")
    assert settle_readings(tmp_path) == [failed]  # out of snapshots/: it replaces nothing
    rows = archiver.load(tmp_path)
    assert set(rows["snapshot_id"]) == {original} and len(rows) == 2
    assert len(pd.read_parquet(tmp_path / "snapshots")) == 2
    assert [s.snapshot_id for s in list_snapshots(tmp_path, superseded=True)] == [original, failed]
    better = f"{original}.20260103T000000000Z-cccccc"
    publish(tmp_path, better, [entry(better, "A", 1), entry(better, "B", 2), entry(better, "C", 3)])
    assert settle_readings(tmp_path) == [original]
    assert set(pd.read_parquet(tmp_path / "snapshots")["snapshot_id"]) == {better}


def test_reparse_with_a_better_profile_recovers_what_was_missed(tmp_path) -> None:
    thin = tmp_path / "thin.toml"  # a profile that overlooked summaries and views
    thin.write_text(
        'name = "thin"\nentries = "ol.posts > li.post"\n[fields]\n'
        'title = "h2.post-title"\nurl = "h2.post-title a::attr(href)"\n'
        '[page]\nnext = "a[rel~=next]::attr(href)"\n'
    )
    site = ScriptedSite(site_route())
    try:
        snapshot = crawl(site, tmp_path / "data", "-a", f"profile={thin}")
    finally:
        site.stop()
    thin.unlink()  # the profile file is gone; the snapshot kept its own copy
    assert archiver.load(tmp_path / "data")["summary"].isna().all()
    same = reparse(tmp_path / "data", snapshot.snapshot_id)
    assert same.returncode == 0, same.stderr[-2000:]
    assert archiver.load(tmp_path / "data")["summary"].isna().all()
    better = reparse(tmp_path / "data", snapshot.snapshot_id, "--profile", "demo")
    assert better.returncode == 0, better.stderr[-2000:]
    rows = archiver.load(tmp_path / "data")
    assert rows["summary"].str.startswith("Summary of post").all()
    assert rows["views"].tolist() == [7, 14, 21, 28, 35, 42]


def test_reparse_all_shows_its_progress_and_skips_derived_snapshots(tmp_path) -> None:
    site = ScriptedSite(site_route())
    try:
        for _ in range(2):
            crawl(site, tmp_path / "data")
    finally:
        site.stop()
    first = reparse(tmp_path / "data", "--all")
    assert first.returncode == 0, first.stderr[-2000:]
    lines = first.stdout.strip().splitlines()
    assert [line[:6] for line in lines] == ["[1/2] ", "[2/2] "]
    again = reparse(tmp_path / "data", "--all")  # the originals again, not the readings
    assert again.stdout.count("complete, 6 rows") == 2
    assert len(list_snapshots(tmp_path / "data", superseded=True)) == 6
    assert len(list_snapshots(tmp_path / "data")) == 2  # the current reading of each


def test_reparse_refuses_what_it_cannot_do(tmp_path, crawled) -> None:
    _, data_dir, _ = crawled
    result = reparse(data_dir, "no-such-snapshot")
    assert result.returncode == 2
    assert (
        result.stderr.strip() == f"archiver: snapshot 'no-such-snapshot' not found under {data_dir}"
    )
    run_crawl("-s", "ARCHIVER_WARC=False", data_dir=tmp_path)  # the demo, without evidence
    [bare] = list_snapshots(tmp_path)
    result = reparse(tmp_path, bare.snapshot_id)
    assert result.returncode == 2 and "keeps no WARC files" in result.stderr


def test_verify_names_rows_whose_warc_file_is_not_in_the_snapshot(tmp_path, crawled) -> None:
    import pyarrow.parquet as pq

    snapshot = located(crawled)
    copy = tmp_path / "snapshots" / snapshot.path.name
    shutil.copytree(snapshot.path, copy)
    parquet = copy / "entries.parquet"
    table = pq.read_table(parquet)
    names = table.column("warc_filename").to_pylist()
    names[0] = "_warc/elsewhere.warc.gz"  # a file this snapshot never had
    column = table.schema.get_field_index("warc_filename")
    table = table.set_column(column, table.schema.field(column), pa.array(names, pa.string()))
    pq.write_table(table, parquet)
    [info] = list_snapshots(tmp_path)
    problems = verify_snapshot(info)
    assert any(
        "1 row(s) name no response record in their WARC file" in p
        and "in _warc/elsewhere.warc.gz" in p
        for p in problems
    ), problems


def test_a_changed_byte_in_a_warc_file_is_found_by_verify(tmp_path) -> None:
    site = ScriptedSite(site_route())
    try:
        snapshot = crawl(site, tmp_path)
    finally:
        site.stop()
    [path] = (snapshot.path / "_warc").glob("*.warc.gz")
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    problems = verify_snapshot(list_snapshots(tmp_path)[0])
    name = path.relative_to(snapshot.path).as_posix()
    assert (
        f"snapshot {snapshot.snapshot_id}: {name} checksum does not match the manifest" in problems
    )
    assert any(name in p and p != problems[0] for p in problems)  # and the record is named
    result = subprocess.run(
        module_command("archiver.cli", "verify", "--data-dir", str(tmp_path)),
        env=module_env(), capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 1


def test_a_title_that_shows_a_tag_keeps_it(tmp_path) -> None:
    title = "how to size a <td>"
    site = ScriptedSite(site_route(title_of_first="how to size a &lt;td&gt;"))
    try:
        crawl(site, tmp_path)
    finally:
        site.stop()
    assert archiver.load(tmp_path)["title"].iloc[0] == title


def test_reparse_brings_back_titles_an_old_version_damaged(tmp_path) -> None:
    """An old archiver stripped anything tag-like from text. Its snapshots kept the pages:
    re-read with this version, the titles come back whole."""
    from archiver.settings import ITEM_PIPELINES

    old = json.dumps(ITEM_PIPELINES | {"tests.injected.OldTagStrippingPipeline": 150})
    site = ScriptedSite(site_route(title_of_first="how to size a &lt;td&gt;"))
    try:
        snapshot = crawl(site, tmp_path, "-s", f"ITEM_PIPELINES={old}")
    finally:
        site.stop()
    assert archiver.load(tmp_path)["title"].iloc[0] == "how to size a"  # damaged
    result = reparse(tmp_path, snapshot.snapshot_id)
    assert result.returncode == 0, result.stderr[-2000:]
    assert archiver.load(tmp_path)["title"].iloc[0] == "how to size a <td>"


def test_reparse_reads_a_page_in_the_wrong_charset_as_the_crawl_did(tmp_path) -> None:
    """The WARC keeps the bytes as received; the reading is a function of the bytes and the
    header, so the offline reading has the same text, and says the same about it."""
    page2 = listing_page(2, 2, 3).replace("Post number", "Запись номер")
    page2 = page2.replace("<meta charset='utf-8'>", "").encode("cp1251")
    route = site_route()

    def wrong(path: str, attempt: int) -> Reply:
        if path == "/page2.html":
            return Reply(body=page2, headers={"Content-Type": "text/html; charset=utf-8"})
        return route(path, attempt)

    site = ScriptedSite(wrong)
    try:
        snapshot = crawl(site, tmp_path)
    finally:
        site.stop()
    stored = [r["payload"] for r in records(snapshot) if (r["uri"] or "").endswith("/page2.html")]
    assert page2 in stored  # the evidence is the bytes as received, not the reading
    result = reparse(tmp_path, snapshot.snapshot_id)
    assert result.returncode == 0, result.stderr[-3000:]
    derived = next(s for s in list_snapshots(tmp_path) if s.manifest.get("derived_from"))
    original = archiver.load(tmp_path, snapshot=snapshot.snapshot_id)
    again = archiver.load(tmp_path, snapshot=derived.snapshot_id)
    assert original["title"].tolist()[3:] == [f"Запись номер {n}" for n in (4, 5, 6)]
    columns = [c for c in original.columns if c not in ["snapshot_id", *LINKS]]
    pd.testing.assert_frame_equal(original[columns], again[columns])
    for key in ("encodings", "decode_problems"):
        assert derived.manifest["listings"][0][key] == snapshot.manifest["listings"][0][key]
    assert derived.manifest["stats"]["archiver/decode/page/declared_wrong"] == 1


def test_the_demo_states_its_own_time(tmp_path) -> None:
    """make crawl on any day: the demo is read against its capture time, October 2025."""
    result = run_crawl(data_dir=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    rows = archiver.load(tmp_path).set_index("title")
    assert set(rows["page_time"]) == {pd.Timestamp("2025-10-15 12:00", tz="UTC")}
    think = rows.loc["Why We Think"]
    assert (
        think["published_earliest"]
        <= pd.Timestamp("2025-05-01", tz="UTC")
        <= think["published_latest"]
    )
    [listing] = list_snapshots(tmp_path)[0].manifest["listings"]
    assert listing["page_time_sources"] == {"page": 2}


def test_pywb_replays_the_crawl(crawled, pywb, tmp_path) -> None:
    """The archivists' own replay tool reads the files: pywb serves each page back."""
    _, _, url = crawled
    paths = [str(p) for p in (located(crawled).path / "_warc").glob("*.warc.gz")]
    body, _ = replay(pywb, tmp_path, paths, f"2id_/{url}page2.html")
    assert b"Post number 4" in body and b"Post number 6" in body
