"""A kill loses nothing: SIGKILL at any moment, resume with the same JOBDIR, and the snapshot
holds every entry exactly once, as an uninterrupted crawl would."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import pandas as pd
import pytest

import archiver
from archiver.store.layout import list_snapshots
from archiver.store.verify import verify_snapshot
from tests.conftest import ROOT, crawl_command, module_command, module_env, run_crawl
from tests.sites import ScriptedSite, serve_files, write_listing

PAGES, PER_PAGE = 8, 5
COMPARED = [
    "entry_id",
    "position",
    "title",
    "url",
    "age_text",
    "views",
    "published_earliest",
    "published_latest",
    "page_time",
    "page_url",
]


@pytest.fixture(scope="module")
def slow_site(tmp_path_factory):
    root = write_listing(tmp_path_factory.mktemp("site"), PAGES, PER_PAGE)
    site = ScriptedSite(serve_files(root, delay=0.4))
    yield site
    site.stop()


@pytest.fixture(scope="module")
def reference(slow_site, tmp_path_factory):
    """The uninterrupted crawl the resumed ones must equal."""
    data_dir = tmp_path_factory.mktemp("reference")
    result = run_crawl("-a", f"start_urls={slow_site.url}", data_dir=data_dir)
    assert result.returncode == 0, result.stderr[-2000:]
    frame = archiver.load(data_dir)
    assert len(frame) == PAGES * PER_PAGE
    return frame[COMPARED].reset_index(drop=True)


def start_crawl(url: str, data_dir, jobdir, stderr=subprocess.DEVNULL) -> subprocess.Popen:
    """A crawl in the background. Its log is discarded unless asked for: an unread pipe
    would fill and stall the crawl."""
    command = crawl_command("-s", f"JOBDIR={jobdir}", "-a", f"start_urls={url}", data_dir=data_dir)
    return subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=stderr, text=True)


def journal_fetch_times(jobdir) -> dict[str, str]:
    path = jobdir / "archiver-journal.jsonl"
    if not path.exists():
        return {}
    records = [json.loads(line) for line in path.read_text("utf-8").splitlines()]
    return {r["url"]: r["fetched_at"] for r in records if r.get("type") == "page"}


def journal_owner(jobdir) -> str | None:
    """The start URL the journal's header names (its crawl), once it has one."""
    path = jobdir / "archiver-journal.jsonl"
    try:
        header = json.loads(path.read_text("utf-8").partition("\n")[0])
    except (OSError, ValueError):
        return None
    return header.get("start_urls", [None])[0]


def journal_pages(jobdir) -> int:
    path = jobdir / "archiver-journal.jsonl"
    return max(0, path.read_bytes().count(b"\n") - 1) if path.exists() else 0


@pytest.mark.parametrize("kill_after_pages", [0, 1, 3, 6])
def test_sigkill_then_resume_archives_every_entry_once(
    slow_site, reference, tmp_path, kill_after_pages: int
) -> None:
    data_dir, jobdir = tmp_path / "data", tmp_path / "job"
    before = sum(n for path, n in slow_site.counts.items() if path != "/robots.txt")
    process = start_crawl(slow_site.url, data_dir, jobdir)
    deadline = time.monotonic() + 60
    while (
        journal_pages(jobdir) < kill_after_pages
        and time.monotonic() < deadline
        and process.poll() is None
    ):
        time.sleep(0.02)
    if kill_after_pages == 0:
        time.sleep(2.5)  # into start-up or the first page, before anything is journaled
    time.sleep(0.15)  # a page is in flight (the server takes 0.4 s a page)
    assert process.poll() is None, "the crawl finished before it could be killed"
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    assert list_snapshots(data_dir) == []  # nothing that looks complete
    journaled = journal_pages(jobdir)
    recorded = journal_fetch_times(jobdir)
    warc_left = list((data_dir / ".staging").glob("*/_warc/*"))
    assert all(p.name.endswith(".warc.gz.open") for p in warc_left)  # no WARC looks finished

    result = run_crawl(
        "-a", f"start_urls={slow_site.url}", "-s", f"JOBDIR={jobdir}", data_dir=data_dir
    )
    assert result.returncode == 0, result.stderr[-3000:]
    [snapshot] = list_snapshots(data_dir)
    assert snapshot.status == "complete" and snapshot.manifest["rows"] == PAGES * PER_PAGE
    rows = archiver.load(data_dir)
    resumed = rows[COMPARED].reset_index(drop=True)
    assert resumed.equals(reference)
    # Replayed pages keep the time they were fetched at, to the microsecond.
    replayed = rows[rows["page_url"].isin(recorded)]
    assert len(replayed) == len(recorded) * PER_PAGE
    for page_url, fetched_at in replayed[["page_url", "fetched_at"]].itertuples(index=False):
        assert fetched_at == pd.Timestamp(recorded[page_url])
    if journaled:
        assert f"({journaled} pages already read)" in result.stderr
    fetched = sum(n for path, n in slow_site.counts.items() if path != "/robots.txt") - before
    # Journaled pages are not fetched again; the page in flight at the kill is.
    assert PAGES <= fetched <= PAGES + 1
    assert not (jobdir / "archiver-journal.jsonl").exists()  # done: the next run starts afresh
    assert not any((data_dir / ".staging").iterdir())
    # Every row, replayed or fetched after the resume, resolves to its response record.
    assert verify_snapshot(snapshot) == []
    assert rows["warc_record_id"].notna().all()
    if journaled:  # the killed run's file was closed and kept; the resumed run wrote on
        assert rows["warc_filename"].nunique() == 2


def test_repeated_kills_still_converge(slow_site, reference, tmp_path) -> None:
    data_dir, jobdir = tmp_path / "data", tmp_path / "job"
    for attempt in range(1, 4):  # bounded: three kills, then a run to the end
        process = start_crawl(slow_site.url, data_dir, jobdir)
        deadline = time.monotonic() + 60
        while (
            journal_pages(jobdir) < 1 + attempt
            and time.monotonic() < deadline
            and process.poll() is None
        ):
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    result = run_crawl(
        "-a", f"start_urls={slow_site.url}", "-s", f"JOBDIR={jobdir}", data_dir=data_dir
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert archiver.load(data_dir)[COMPARED].reset_index(drop=True).equals(reference)
    assert verify_snapshot(list_snapshots(data_dir)[0]) == []


def test_sigterm_once_publishes_what_is_complete_as_partial(slow_site, tmp_path) -> None:
    data_dir = tmp_path / "data"
    process = start_crawl(slow_site.url, data_dir, tmp_path / "job", stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while journal_pages(tmp_path / "job") < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 3, stderr[-2000:]
    [snapshot] = list_snapshots(data_dir)
    assert snapshot.status == "partial" and snapshot.manifest["close_reason"] == "shutdown"
    rows = archiver.load(data_dir)
    assert 0 < len(rows) < PAGES * PER_PAGE and rows["entry_id"].is_unique
    assert rows["position"].tolist() == list(range(1, len(rows) + 1))  # whole pages, in order


def test_a_second_crawl_cannot_share_a_running_jobdir(slow_site, tmp_path) -> None:
    process = start_crawl(slow_site.url, tmp_path / "data", tmp_path / "job")
    try:
        deadline = time.monotonic() + 60
        while (
            not (tmp_path / "job" / "archiver-journal.jsonl").exists()
            and time.monotonic() < deadline
        ):
            time.sleep(0.02)
        result = run_crawl(
            "-a",
            f"start_urls={slow_site.url}",
            "-s",
            f"JOBDIR={tmp_path / 'job'}",
            data_dir=tmp_path / "data",
        )
        assert result.returncode == 1
        assert "in use by another running crawl" in result.stderr
        assert "Traceback" not in result.stderr
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def test_a_jobdir_reused_after_a_publish_starts_a_new_snapshot(slow_site, reference, tmp_path):
    data_dir, jobdir = tmp_path / "data", tmp_path / "job"
    for _ in range(2):
        result = run_crawl(
            "-a", f"start_urls={slow_site.url}", "-s", f"JOBDIR={jobdir}", data_dir=data_dir
        )
        assert result.returncode == 0, result.stderr[-3000:]
    first, second = list_snapshots(data_dir)
    assert first.snapshot_id != second.snapshot_id
    assert [first.manifest["rows"], second.manifest["rows"]] == [PAGES * PER_PAGE] * 2
    assert "pages already read" not in result.stderr  # nothing replayed from the first
    second_rows = archiver.load(data_dir, snapshot=second.snapshot_id)
    assert second_rows[COMPARED].reset_index(drop=True).equals(reference)


def test_a_jobdir_left_by_another_crawl_is_never_replayed(slow_site, tmp_path) -> None:
    """Crawl B is killed with pages journaled; crawl A then takes the JOBDIR, is killed in
    turn and resumed: A's snapshot holds A's pages only, each once."""
    data_dir, jobdir = tmp_path / "data", tmp_path / "job"
    other = f"{slow_site.url}page5.html"  # another listing: starts on page 5
    for url in (other, slow_site.url):
        process = start_crawl(url, data_dir, jobdir)
        deadline = time.monotonic() + 60
        while (journal_owner(jobdir) != url or journal_pages(jobdir) < 2) and (
            time.monotonic() < deadline
        ):
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    result = run_crawl(
        "-a", f"start_urls={slow_site.url}", "-s", f"JOBDIR={jobdir}", data_dir=data_dir
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "(2 pages already read)" in result.stderr
    [snapshot] = list_snapshots(data_dir)
    # the log names the snapshot it resumes: the one that was published
    assert f"resuming snapshot {snapshot.snapshot_id} from {jobdir}" in result.stderr
    rows = archiver.load(data_dir)
    assert len(rows) == PAGES * PER_PAGE and rows["entry_id"].is_unique
    assert set(rows["listing_url"]) == {slow_site.url}
    assert rows["position"].tolist() == list(range(1, PAGES * PER_PAGE + 1))


# --- Resume never publishes rows whose evidence is gone ------------------------------------

PUBLISH_DISK_FULL = """\
import resource, signal, sys
if "archiver.cli.publish" in sys.orig_argv:  # only the process that builds the Parquet files
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (2000, 2000))
"""


def test_a_publish_that_meets_a_full_disk_keeps_what_a_resume_needs(
    slow_site, reference, tmp_path
) -> None:
    """The disk fills as the snapshot is published: the staging folder (WARC files too)
    stays, prune leaves it alone, and once there is room the same crawl publishes it with
    every row's record present."""
    data_dir, jobdir = tmp_path / "data", tmp_path / "job"
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(PUBLISH_DISK_FULL)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(hooks), os.environ.get("PYTHONPATH")])),
    }
    command = crawl_command(
        "-a", f"start_urls={slow_site.url}", "-s", f"JOBDIR={jobdir}", data_dir=data_dir
    )
    failed = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert failed.returncode == 1, failed.stderr[-3000:]
    [line] = [line for line in failed.stderr.splitlines() if "cannot publish snapshot" in line]
    assert "File too large" in line and "run the same crawl with the same JOBDIR" in line
    assert list_snapshots(data_dir) == []
    [staging] = list((data_dir / ".staging").iterdir())
    assert list((staging / "_warc").glob("*.warc.gz"))  # the evidence is still there
    assert (jobdir / "archiver-journal.jsonl").exists()
    pruned = subprocess.run(
        [*module_command("archiver.cli", "prune"), "--keep-last", "1", "--data-dir", str(data_dir)],
        env=module_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert pruned.returncode == 0 and "a crawl will resume it" in pruned.stdout, pruned.stdout
    before = sum(n for path, n in slow_site.counts.items() if path != "/robots.txt")

    result = run_crawl(
        "-a", f"start_urls={slow_site.url}", "-s", f"JOBDIR={jobdir}", data_dir=data_dir
    )
    assert result.returncode == 0, result.stderr[-3000:]
    [snapshot] = list_snapshots(data_dir)
    assert snapshot.snapshot_id == staging.name and snapshot.status == "complete"
    assert verify_snapshot(snapshot) == []
    assert archiver.load(data_dir)[COMPARED].reset_index(drop=True).equals(reference)
    assert sum(n for path, n in slow_site.counts.items() if path != "/robots.txt") == before
    assert not (snapshot.path / "_meta" / "resume.json").exists()


def test_a_resume_whose_evidence_was_removed_fetches_those_pages_again(
    slow_site, reference, tmp_path
) -> None:
    data_dir, jobdir = tmp_path / "data", tmp_path / "job"
    process = start_crawl(slow_site.url, data_dir, jobdir)
    deadline = time.monotonic() + 60
    while journal_pages(jobdir) < 3 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    journaled = journal_pages(jobdir)
    assert journaled >= 3
    for path in (data_dir / ".staging").glob("*/_warc/*"):
        path.unlink()  # a full disk's clean-up, or a hand, took the WARC files
    before = sum(n for path, n in slow_site.counts.items() if path != "/robots.txt")

    result = run_crawl(
        "-a", f"start_urls={slow_site.url}", "-s", f"JOBDIR={jobdir}", data_dir=data_dir
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"{journaled} journaled page(s) have no response record left" in result.stderr
    [snapshot] = list_snapshots(data_dir)
    assert verify_snapshot(snapshot) == []  # every row names a record the snapshot holds
    assert archiver.load(data_dir)[COMPARED].reset_index(drop=True).equals(reference)
    fetched = sum(n for path, n in slow_site.counts.items() if path != "/robots.txt") - before
    assert fetched == PAGES  # every page again: none could be replayed
    assert snapshot.manifest["stats"]["archiver/resume/page/evidence_missing"] == journaled
