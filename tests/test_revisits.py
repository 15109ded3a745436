"""Revisits: a page unchanged since the listing's last snapshot is stored once. Each later
capture is a WARC revisit record naming the original, and everything that reads evidence
(reparse, verify, pywb, prune) follows it there."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

import archiver
from archiver.store.layout import list_snapshots
from archiver.store.verify import verify_snapshot
from tests.conftest import module_command, module_env, run_crawl
from tests.pywb import replay
from tests.sites import ScriptedSite, serve_files, write_listing
from tests.test_evidence import records, reparse


def crawl(site: ScriptedSite, data_dir: Path, *args: str):
    result = run_crawl(
        "-a", f"start_urls={site.url}", "-a", "profile=demo", *args, data_dir=data_dir
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return list_snapshots(data_dir)[-1]


def kinds(snapshot) -> dict[str, str]:
    """URL -> the type of its last response-ish record."""
    return {
        r["uri"]: r["type"]
        for r in records(snapshot)
        if r["type"] in ("response", "revisit") and not r["uri"].endswith("robots.txt")
    }


@pytest.fixture(scope="module")
def three_days(tmp_path_factory):
    """Day 1 and 2: the same two pages. Day 3: page 2 changed."""
    root = tmp_path_factory.mktemp("site")
    data_dir = tmp_path_factory.mktemp("data")
    write_listing(root, pages=2, per_page=40)  # pages of a real size: payload outweighs headers
    site = ScriptedSite(serve_files(root))
    try:
        first = crawl(site, data_dir)
        second = crawl(site, data_dir)
        page2 = root / "page2.html"
        page2.write_text(page2.read_text().replace("Post number 4", "Post number four"))
        third = crawl(site, data_dir)
    finally:
        site.stop()
    return data_dir, site.url, first, second, third


def test_an_unchanged_page_is_a_revisit_of_the_first_capture(three_days) -> None:
    _, url, first, second, third = three_days
    assert set(kinds(first).values()) == {"response"}
    assert kinds(second) == {url: "revisit", f"{url}page2.html": "revisit"}
    # The two pages and robots.txt: nothing changed.
    assert second.manifest["revisits"] == {"records": 3, "of": [first.snapshot_id]}
    original = {r["uri"]: r for r in records(first) if r["type"] == "response"}
    for record in records(second):
        if record["type"] == "revisit":
            assert record["payload"] == b""
            headers = record["http"]
            assert headers.get_statuscode() == "200"  # this capture's own status and headers
            assert record["date"] != original[record["uri"]]["date"]
    # Day 3: page 2 changed and is stored; page 1 still points to day 1, not to day 2.
    assert kinds(third) == {url: "revisit", f"{url}page2.html": "response"}
    assert third.manifest["revisits"]["of"] == [first.snapshot_id]
    warc_bytes = [
        sum(p.stat().st_size for p in (s.path / "_warc").glob("*.gz")) for s in (first, second)
    ]
    # What a revisit costs is its headers and the request's (benchmarks/RESULTS.md measures it
    # on pages of a real size); here, at least, no payload is stored twice.
    assert warc_bytes[1] < warc_bytes[0]


def test_the_rows_of_a_revisit_are_the_rows_of_its_page(three_days) -> None:
    data_dir, _, first, second, _ = three_days
    one = archiver.load(data_dir, snapshot=first.snapshot_id)
    two = archiver.load(data_dir, snapshot=second.snapshot_id)
    assert one["title"].tolist() == two["title"].tolist()
    by_id = {r["id"]: r for r in records(second)}
    assert {by_id[i]["type"] for i in two["warc_record_id"]} == {"revisit"}
    for snapshot in (first, second):
        assert verify_snapshot(snapshot) == []


def test_reparse_reads_a_revisit_from_its_original(three_days) -> None:
    data_dir, _, _, second, _ = three_days
    result = reparse(data_dir, second.snapshot_id)
    assert result.returncode == 0, result.stderr[-3000:]
    derived = next(
        s for s in list_snapshots(data_dir) if s.manifest.get("derived_from") == second.snapshot_id
    )
    assert derived.manifest["revisits"] == second.manifest["revisits"]
    before = archiver.load(data_dir, snapshot=second.snapshot_id, readings="all")
    after = archiver.load(data_dir, snapshot=derived.snapshot_id)
    columns = ["entry_id", "title", "summary", "views", "position", "fetched_at", "page_time"]
    pd.testing.assert_frame_equal(before[columns], after[columns])


def test_prune_keeps_the_originals_a_kept_snapshot_revisits(three_days, tmp_path) -> None:
    data_dir, _, first, _, _ = three_days
    copy = tmp_path / "data"
    shutil.copytree(data_dir, copy)
    result = subprocess.run(
        module_command("archiver.cli", "prune", "--keep-last", "1", "--data-dir", str(copy)),
        env=module_env(), capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    kept = [line for line in result.stdout.splitlines() if first.snapshot_id in line]
    assert kept and kept[0].startswith("keep") and "holds the originals" in kept[0]
    assert any(s.snapshot_id == first.snapshot_id for s in list_snapshots(copy))
    for snapshot in list_snapshots(copy, superseded=True):
        assert verify_snapshot(snapshot) == []


def test_verify_says_when_an_original_is_gone(three_days, tmp_path) -> None:
    data_dir, _, first, second, _ = three_days
    copy = tmp_path / "data"
    shutil.copytree(data_dir, copy)
    shutil.rmtree(copy / "snapshots" / first.path.name)
    [info] = [
        s for s in list_snapshots(copy, superseded=True) if s.snapshot_id == second.snapshot_id
    ]
    [problem] = verify_snapshot(info)
    assert "3 revisit record(s) whose original is missing" in problem
    assert first.snapshot_id in problem


def test_revisits_can_be_turned_off(tmp_path) -> None:
    root = write_listing(tmp_path / "site", pages=1, per_page=3)
    site = ScriptedSite(serve_files(root))
    try:
        crawl(site, tmp_path / "data")
        second = crawl(site, tmp_path / "data", "-s", "ARCHIVER_REVISITS=False")
    finally:
        site.stop()
    assert set(kinds(second).values()) == {"response"}
    assert second.manifest["revisits"] == {"records": 0, "of": []}


def test_pywb_replays_a_revisit_from_its_original(three_days, pywb, tmp_path) -> None:
    data_dir, url, first, second, _ = three_days
    # Where they are now: a reparse in an earlier test moved the reading it replaced.
    now = {s.snapshot_id: s for s in list_snapshots(data_dir, superseded=True)}
    first, second = now[first.snapshot_id], now[second.snapshot_id]
    warcs = [str(p) for s in (first, second) for p in (s.path / "_warc").glob("*.warc.gz")]
    [revisit] = [
        r for r in records(second) if r["type"] == "revisit" and r["uri"].endswith("page2.html")
    ]
    stamp = "".join(ch for ch in revisit["date"] if ch.isdigit())[:14]
    body, headers = replay(pywb, tmp_path, warcs, f"{stamp}id_/{url}page2.html")
    memento = headers.get("Memento-Datetime")
    assert b"Post number 4" in body
    assert memento is not None
