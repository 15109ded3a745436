"""``archiver export --wacz``: a snapshot's evidence as one WACZ package, checked with the
reference tools (py-wacz's validator, pywb's replay), not only by reading it back ourselves."""

from __future__ import annotations

import hashlib
import json
import subprocess
import zipfile
from pathlib import Path

import pytest

import archiver
from archiver.store.layout import list_snapshots
from tests.conftest import ROOT, module_command, module_env
from tests.pywb import replay
from tests.sites import ScriptedSite
from tests.test_evidence import crawl, located, records, site_route


@pytest.fixture(scope="module")
def crawled(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("wacz")
    site = ScriptedSite(site_route())
    try:
        snapshot = crawl(site, data_dir)
    finally:
        site.stop()
    return snapshot, data_dir, site.url


def export(data_dir: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        module_command("archiver.cli", "export", *args, "--data-dir", str(data_dir)),
        env=module_env(), capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


@pytest.fixture(scope="module")
def package(crawled, tmp_path_factory) -> Path:
    snapshot, data_dir, _ = crawled
    target = tmp_path_factory.mktemp("out") / "crawl.wacz"
    result = export(data_dir, "--wacz", snapshot.snapshot_id, "-o", str(target))
    assert result.returncode == 0, result.stderr
    assert f"wrote {target}" in result.stdout
    return target


def test_the_package_lists_every_file_with_its_digest(package) -> None:
    with zipfile.ZipFile(package) as wacz:
        names = set(wacz.namelist())
        datapackage = json.loads(wacz.read("datapackage.json"))
        digest = json.loads(wacz.read("datapackage-digest.json"))
        assert {"indexes/index.cdx", "pages/pages.jsonl", "datapackage.json"} <= names
        assert any(n.startswith("archive/") and n.endswith(".warc.gz") for n in names)
        assert datapackage["wacz_version"] == "1.1.1"
        listed = {r["path"] for r in datapackage["resources"]}
        assert listed == names - {"datapackage.json", "datapackage-digest.json"}
        for resource in datapackage["resources"]:
            data = wacz.read(resource["path"])
            assert resource["hash"] == "sha256:" + hashlib.sha256(data).hexdigest()
            assert resource["bytes"] == len(data)
        assert (
            digest["hash"] == "sha256:" + hashlib.sha256(wacz.read("datapackage.json")).hexdigest()
        )
        # The WARC files go in as they are: stored, byte for byte, each gzip member seekable.
        for info in wacz.infolist():
            if info.filename.startswith("archive/"):
                assert info.compress_type == zipfile.ZIP_STORED


def test_pages_are_the_listing_pages_at_their_exact_warc_date(crawled, package) -> None:
    snapshot, data_dir, _ = crawled
    rows = archiver.load(data_dir, snapshot=snapshot.snapshot_id)
    by_id = {r["id"]: r for r in records(located(crawled))}
    expected = sorted(
        {(by_id[i]["uri"], by_id[i]["date"]) for i in rows["warc_record_id"]}, key=lambda p: p[1]
    )
    with zipfile.ZipFile(package) as wacz:
        header, *pages = [json.loads(line) for line in wacz.read("pages/pages.jsonl").splitlines()]
    assert header == {"format": "json-pages-1.0", "id": "pages", "title": "All Pages"}
    assert [(p["url"], p["ts"]) for p in pages] == expected
    assert len(expected) == 2  # the two listing pages, not robots.txt nor the failed tries


def test_the_index_points_at_each_record(crawled, package) -> None:
    with zipfile.ZipFile(package) as wacz:
        lines = wacz.read("indexes/index.cdx").decode().splitlines()
        keys = [(line.split(" ")[0], line.split(" ")[1]) for line in lines]
        assert keys == sorted(keys)
        for line in lines:
            fields = json.loads(line.split(" ", 2)[2])
            warc = wacz.read(f"archive/{fields['filename']}")
            start, length = int(fields["offset"]), int(fields["length"])
            member = warc[start : start + length]
            import gzip

            assert fields["url"].encode() in gzip.decompress(member)


@pytest.fixture(scope="session")
def wacz_tool() -> Path:
    tool = ROOT / ".venv-wacz" / "bin" / "wacz"
    if not tool.exists():
        pytest.skip(f"py-wacz is not installed at {tool.parent} (make test installs it)")
    return tool


def test_py_wacz_validates_the_package(package, wacz_tool) -> None:
    result = subprocess.run(
        [str(wacz_tool), "validate", "-f", str(package)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_pywb_replays_the_package(crawled, package, pywb, tmp_path) -> None:
    _, _, url = crawled
    body, _ = replay(pywb, tmp_path, ["--unpack-wacz", str(package)], f"2id_/{url}page2.html")
    assert b"Post number 4" in body and b"Post number 6" in body


def test_a_damaged_snapshot_is_not_exported(tmp_path, crawled) -> None:
    import shutil

    snapshot, data_dir, _ = crawled
    copy = tmp_path / "data"
    shutil.copytree(data_dir, copy)
    [info] = [
        s for s in list_snapshots(copy, superseded=True) if s.snapshot_id == snapshot.snapshot_id
    ]
    warc = next((info.path / "_warc").glob("*.warc.gz"))
    data = bytearray(warc.read_bytes())
    data[len(data) // 2] ^= 0x01
    warc.write_bytes(bytes(data))
    result = export(copy, "--wacz", snapshot.snapshot_id, "-o", str(tmp_path / "x.wacz"))
    assert result.returncode != 0 and "not exported" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x.wacz").exists()


def test_an_unknown_snapshot_is_one_line(crawled, tmp_path) -> None:
    _, data_dir, _ = crawled
    result = export(data_dir, "--wacz", "nope", "-o", str(tmp_path / "x.wacz"))
    assert result.returncode == 2
    assert result.stderr.strip() == f"archiver: snapshot 'nope' not found under {data_dir}"


def test_output_into_a_folder_or_nowhere_says_so_in_one_line(crawled, tmp_path) -> None:
    snapshot, data_dir, _ = crawled
    result = export(data_dir, "--wacz", snapshot.snapshot_id, "-o", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / f"{snapshot.snapshot_id}.wacz").is_file()  # named after the snapshot
    # /proc takes no new files, even from root: the write fails after the checks pass.
    result = export(data_dir, "--wacz", snapshot.snapshot_id, "-o", "/proc/x.wacz")
    assert result.returncode == 2
    assert result.stderr.strip() == "archiver: cannot write /proc/x.wacz: No such file or directory"
    assert not list(tmp_path.glob("*.partial"))
