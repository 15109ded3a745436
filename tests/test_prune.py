"""archiver prune keeps what its policies keep, never the newest, never what is in use, and
removes a snapshot in one step that a crash cannot leave half done."""

from __future__ import annotations

import json
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

import archiver
from archiver.errors import ArchiverError
from archiver.store import prune
from archiver.store.layout import RESUME_FILE, SnapshotInfo, list_snapshots
from archiver.store.locks import holding
from archiver.store.staging import StagedSnapshot
from tests.conftest import module_command, module_env
from tests.factories import entry, publish

MONDAY = datetime(2026, 11, 2, 3, 15, tzinfo=UTC)  # an ISO week starts on Monday
SITE_A, SITE_B = ["https://a.example/"], ["https://b.example/"]


def daily(data_dir: Path, days: int, start_urls=SITE_A, per_day: int = 1, prefix="a") -> list[str]:
    """One snapshot (or ``per_day``) a day for ``days`` days from MONDAY, oldest first."""
    ids = []
    for day in range(days):
        for n in range(per_day):
            when = MONDAY + timedelta(days=day, hours=n)
            snapshot_id = f"{when:%Y%m%dT%H%M%S}Z-{prefix}{n}"
            publish(data_dir, snapshot_id, [entry(snapshot_id, f"Post {day}", 1, when=when)],
                    start_urls=start_urls, started_at=when)  # fmt: skip
            ids.append(snapshot_id)
    return ids


def kept(data_dir: Path, **policy) -> list[str]:
    planned = prune.plan(data_dir, **policy)
    return [s.snapshot_id for c in planned.captures if c.keep for s in c.snapshots]


@pytest.mark.parametrize(
    ("snapshot_id", "expected"),
    [
        ("20261102T031500042Z-ab12cd", datetime(2026, 11, 2, 3, 15, tzinfo=UTC)),
        ("20261102T031500Z-ab12cd", datetime(2026, 11, 2, 3, 15, tzinfo=UTC)),  # before ms ids
        (
            "20261102T031500042Z-ab12cd.20261103T000000000Z-ef",
            datetime(2026, 11, 2, 3, 15, tzinfo=UTC),
        ),
        ("hand-named", datetime.min.replace(tzinfo=UTC)),
    ],
)
def test_a_snapshot_without_a_start_time_is_placed_by_its_id(snapshot_id, expected) -> None:
    info = SnapshotInfo(snapshot_id, Path(snapshot_id), {"snapshot_id": snapshot_id})
    assert prune.snapshot_time(info) == expected


def test_keep_last(tmp_path) -> None:
    ids = daily(tmp_path, 5)
    assert kept(tmp_path, keep_last=2) == ids[-2:]


def test_keep_daily_keeps_the_newest_of_each_day(tmp_path) -> None:
    ids = daily(tmp_path, 4, per_day=3)  # three a day
    assert kept(tmp_path, keep_daily=2) == [ids[8], ids[11]]  # the last of days 3 and 4


def test_keep_weekly_keeps_the_newest_of_each_iso_week(tmp_path) -> None:
    ids = daily(tmp_path, 21)  # three weeks, Monday to Sunday
    assert kept(tmp_path, keep_weekly=2) == [ids[13], ids[20]]  # the Sundays of weeks 2, 3


def test_policies_combine_as_a_union(tmp_path) -> None:
    ids = daily(tmp_path, 21)
    assert kept(tmp_path, keep_last=2, keep_weekly=3) == [ids[6], ids[13], ids[19], ids[20]]


def test_each_listing_keeps_its_own_newest(tmp_path) -> None:
    a = daily(tmp_path, 3, SITE_A, prefix="a")
    b = daily(tmp_path, 3, SITE_B, prefix="b")
    assert kept(tmp_path, keep_last=1) == [a[-1], b[-1]]


def test_the_newest_is_never_removed(tmp_path) -> None:
    ids = daily(tmp_path, 3)
    planned = prune.plan(tmp_path, keep_daily=1)
    newest = next(c for c in planned.captures if c.keep)
    assert [s.snapshot_id for s in newest.snapshots] == [ids[-1]] and "newest usable" in newest.keep


def failed_run(data_dir: Path, when: datetime, start_urls=SITE_A, name="f") -> str:
    """What a failed start publishes: a 0-row ``failed`` snapshot."""
    snapshot_id = f"{when:%Y%m%dT%H%M%S}Z-{name}"
    publish(data_dir, snapshot_id, [], status="failed", start_urls=start_urls, started_at=when)
    return snapshot_id


def test_a_failed_run_never_pushes_good_snapshots_out(tmp_path) -> None:
    """The new user's loss: one failed run, then --keep-last 1, removed every good one."""
    good = daily(tmp_path, 11)
    failed = failed_run(tmp_path, MONDAY + timedelta(days=12))
    planned = prune.plan(tmp_path, keep_last=1)
    assert kept(tmp_path, keep_last=1) == [good[-1], failed]
    by_id = {c.root: c for c in planned.captures}
    assert by_id[good[-1]].keep == ["newest usable", "last 1"]
    assert by_id[failed].kind == "failed" and "--keep-failed" in by_id[failed].keep[0]


def test_failures_are_kept_apart_and_only_the_newest_of_them(tmp_path) -> None:
    good = daily(tmp_path, 3)
    failures = [
        failed_run(tmp_path, MONDAY + timedelta(days=5 + n), name=f"f{n}") for n in range(4)
    ]
    assert kept(tmp_path, keep_last=2) == [*good[1:], failures[-1]]
    assert kept(tmp_path, keep_last=2, keep_failed=0) == good[1:]
    assert kept(tmp_path, keep_last=2, keep_failed=2) == [*good[1:], *failures[-2:]]


def test_an_empty_complete_snapshot_is_not_usable(tmp_path) -> None:
    good = daily(tmp_path, 2)
    empty = f"{MONDAY + timedelta(days=3):%Y%m%dT%H%M%S}Z-empty"
    publish(tmp_path, empty, [], status="complete", start_urls=SITE_A)
    assert kept(tmp_path, keep_last=1) == [good[-1], empty]  # kept as the newest failure


def test_a_damaged_snapshot_is_never_pruned(tmp_path) -> None:
    ids = daily(tmp_path, 3)
    manifest = tmp_path / "snapshots" / f"snapshot_id={ids[0]}" / "_meta" / "manifest.json"
    manifest.write_text("{ torn")
    planned = prune.plan(tmp_path, keep_last=1)
    damaged = next(c for c in planned.captures if c.root == ids[0])
    assert damaged.kind == "damaged" and damaged.keep
    assert kept(tmp_path, keep_last=1) == [ids[0], ids[2]]


def test_a_listing_with_only_failures_keeps_its_newest_failure(tmp_path) -> None:
    failures = [failed_run(tmp_path, MONDAY + timedelta(days=n), name=f"f{n}") for n in range(3)]
    assert kept(tmp_path, keep_last=1) == [failures[-1]]


def test_a_capture_and_its_readings_go_together(tmp_path) -> None:
    ids = daily(tmp_path, 2)
    reading = f"{ids[0]}.20261201T000000Z-r1"  # a reparse of the first capture
    publish(tmp_path, reading, [entry(reading, "Post 0", 1)], start_urls=SITE_A)
    planned = prune.plan(tmp_path, keep_last=1)
    [gone] = planned.removed
    assert [s.snapshot_id for s in gone.snapshots] == [ids[0], reading]


def test_a_policy_is_required_and_counts_are_not_negative(tmp_path) -> None:
    with pytest.raises(ArchiverError, match="needs a policy"):
        prune.plan(tmp_path)
    with pytest.raises(ArchiverError, match="cannot be negative"):
        prune.plan(tmp_path, keep_last=-1)


def test_removal_renames_out_of_sight_then_deletes(tmp_path, monkeypatch) -> None:
    """A crash between the two steps leaves the snapshot in .trash, never half in
    snapshots/; the next prune finishes the job."""
    ids = daily(tmp_path, 3)
    real_rmtree = prune.shutil.rmtree
    seen: list[bool] = []

    def crash(path, *args, **kwargs):
        seen.append((tmp_path / "snapshots" / f"snapshot_id={ids[0]}").exists())
        raise KeyboardInterrupt  # the process dies while deleting

    monkeypatch.setattr(prune.shutil, "rmtree", crash)
    with pytest.raises(KeyboardInterrupt):
        prune.execute(tmp_path, prune.plan(tmp_path, keep_last=2), lambda *_: None)
    assert seen == [False]  # already out of snapshots/ when deletion began
    assert [s.snapshot_id for s in list_snapshots(tmp_path)] == ids[1:]
    assert len(list((tmp_path / ".trash").iterdir())) == 1
    monkeypatch.setattr(prune.shutil, "rmtree", real_rmtree)
    prune.execute(tmp_path, prune.plan(tmp_path, keep_last=2), lambda *_: None)
    assert not any((tmp_path / ".trash").iterdir())


def test_a_snapshot_in_use_is_kept(tmp_path) -> None:
    ids = daily(tmp_path, 3)
    first = tmp_path / "snapshots" / f"snapshot_id={ids[0]}"
    with holding(first):  # archiver reparse reading it
        planned = prune.plan(tmp_path, keep_last=1)
        assert "in use by a running process" in planned.captures[0].keep
        prune.execute(tmp_path, planned, lambda *_: None)
    assert [s.snapshot_id for s in list_snapshots(tmp_path)] == [ids[0], ids[2]]


def test_staging_folders(tmp_path) -> None:
    """Left by a killed crawl: removed. Being written, or due to be resumed: kept."""
    daily(tmp_path, 1)
    left = StagedSnapshot(tmp_path, "left-by-a-kill")
    left.release()  # the crawl died: nobody holds it
    running = StagedSnapshot(tmp_path, "being-written")  # holds its lock, like a crawl
    resumable = StagedSnapshot(tmp_path, "will-resume")
    journal = tmp_path / "job" / "archiver-journal.jsonl"
    journal.parent.mkdir()
    journal.write_text(json.dumps({"type": "start", "snapshot_id": "will-resume"}) + "\n")
    (resumable.path / RESUME_FILE).write_text(json.dumps({"journal": str(journal)}))
    resumable.release()
    planned = prune.plan(tmp_path, keep_last=1)
    reasons = {folder.name: why for folder, why in planned.staging}
    assert reasons["left-by-a-kill"] is None
    assert reasons["being-written"] == "a running crawl is writing it"
    assert reasons["will-resume"].startswith("a crawl will resume it (journal ")
    prune.execute(tmp_path, planned, lambda *_: None)
    assert sorted(p.name for p in (tmp_path / ".staging").iterdir()) == [
        "being-written", "will-resume",
    ]  # fmt: skip
    running.discard()


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        module_command("archiver.cli", "prune", *args),
        env=module_env(), capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip


def test_dry_run_lists_and_removes_nothing(tmp_path) -> None:
    ids = daily(tmp_path, 4)
    before = sorted(p.name for p in (tmp_path / "snapshots").iterdir())
    result = run("--keep-last", "1", "--dry-run", "--data-dir", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "snapshots").iterdir()) == before
    lines = result.stdout.splitlines()
    assert [line.split()[2] for line in lines if line.startswith("would remove")] == ids[:3]
    assert lines[-1] == "dry run: 3 snapshot(s) and 0 staging folder(s) would be removed"


def test_prune_for_real_and_the_archive_still_loads(tmp_path) -> None:
    ids = daily(tmp_path, 4)
    result = run("--keep-last", "2", "--data-dir", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "2 snapshot(s) and 0 staging folder(s) removed"
    assert archiver.load(tmp_path)["snapshot_id"].tolist() == ids[2:]


def test_the_plan_says_which_snapshots_failed(tmp_path) -> None:
    good = daily(tmp_path, 2)
    failed = failed_run(tmp_path, MONDAY + timedelta(days=4))
    result = run("--keep-last", "1", "--data-dir", str(tmp_path))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    [failed_line] = [line for line in lines if failed in line]
    assert failed_line.startswith("keep ") and "[failed]" in failed_line
    assert any(line.startswith("removing") and good[0] in line for line in lines)
    assert [s.snapshot_id for s in list_snapshots(tmp_path)] == [good[1], failed]


def test_bad_input_is_one_line(tmp_path) -> None:
    result = run("--data-dir", str(tmp_path))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "archiver: prune needs a policy: --keep-last, --keep-daily or --keep-weekly"
    ]


def test_a_running_crawl_keeps_its_staging_folder(tmp_path) -> None:
    """A real crawl, held between pages: its staging folder survives a prune."""
    from tests.conftest import ROOT, crawl_command
    from tests.sites import ScriptedSite, serve_files, write_listing

    site = ScriptedSite(serve_files(write_listing(tmp_path / "site", 6, 3), delay=0.5))
    process = subprocess.Popen(
        crawl_command("-a", f"start_urls={site.url}", data_dir=tmp_path / "data"),
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        staging = tmp_path / "data" / ".staging"
        for _ in range(300):  # bounded: 30 s
            if staging.is_dir() and any(staging.iterdir()):
                break
            time.sleep(0.1)
        daily(tmp_path / "data", 1)
        result = run("--keep-last", "1", "--data-dir", str(tmp_path / "data"))
        assert (
            "keep    staging" in result.stdout and "a running crawl is writing it" in result.stdout
        )
        assert any(staging.iterdir())
    finally:
        process.wait(timeout=60)
        site.stop()
    assert process.returncode == 0
    assert len(list_snapshots(tmp_path / "data")) == 2  # the crawl published all the same


def test_a_capture_removed_goes_with_its_superseded_readings(tmp_path) -> None:
    ids = daily(tmp_path, 2)
    reading = f"{ids[0]}.20261201T000000Z-r1"
    publish(tmp_path, reading, [entry(reading, "Post 0", 1)], start_urls=SITE_A)
    from archiver.store.publishing import settle_readings

    assert settle_readings(tmp_path) == [ids[0]]  # the reading replaced it in snapshots/
    prune.execute(tmp_path, prune.plan(tmp_path, keep_last=1), lambda *_: None)
    assert [s.snapshot_id for s in list_snapshots(tmp_path, superseded=True)] == [ids[1]]
    assert not any((tmp_path / "superseded").iterdir())


def test_prune_settles_an_archive_made_before_superseded_readings(tmp_path) -> None:
    """Readings an older archiver left side by side in snapshots/ (pandas counted both)."""
    ids = daily(tmp_path, 2)
    reading = f"{ids[1]}.20261201T000000Z-r1"
    publish(tmp_path, reading, [entry(reading, "Post 1", 1)], start_urls=SITE_A)
    assert len(pd.read_parquet(tmp_path / "snapshots")) == 3
    prune.execute(tmp_path, prune.plan(tmp_path, keep_last=5), lambda *_: None)
    assert sorted(pd.read_parquet(tmp_path / "snapshots")["snapshot_id"]) == [ids[0], reading]
    assert [s.snapshot_id for s in list_snapshots(tmp_path, superseded=True)] == [*ids, reading]
