"""Many workers, one snapshot: real ``scrapy crawl`` workers sharing a real Redis, against a
real HTTP server on 127.0.0.1.

Redis is the one on 127.0.0.1:6379 that these machines run; without it, a ``redis-server`` of
the tests' own is started on a free port (and the tests skip, saying so, when there is none).
Each test uses a crawl id of its own and removes its keys.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import pickle
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pandas as pd
import pytest
import redis

import archiver
from archiver.distribute.frontier import Frontier
from archiver.distribute.naming import page_key
from archiver.distribute.recovery import settle_parts
from archiver.distribute.serializer import dumps, loads
from archiver.store.layout import list_snapshots
from archiver.store.verify import verify_snapshot
from tests.conftest import ROOT, crawl_command
from tests.sites import Reply, ScriptedSite, listing_page

PER_PAGE = 5


# --- Redis, a site of many listings, workers ------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def redis_server() -> Iterator[str]:
    """The URL of a running Redis: the machine's, or one started for the tests."""
    url = "redis://127.0.0.1:6379/0"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
        yield url
        return
    except redis.RedisError:
        pass
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("no Redis at 127.0.0.1:6379 and no redis-server to start one")
    port = _free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    for _ in range(50):
        try:
            redis.Redis.from_url(url).ping()
            break
        except redis.RedisError:
            time.sleep(0.1)
    yield url
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def crawl_id(redis_server: str) -> Iterator[str]:
    name = f"test-{uuid.uuid4().hex[:10]}"
    yield name
    client = redis.Redis.from_url(redis_server)
    keys = list(client.scan_iter(match=f"archiver:{name}:*"))
    if keys:
        client.delete(*keys)


def listing_route(listings: int, pages: int, delay: float = 0.0):
    """``/l<n>/`` and ``/l<n>/page<p>.html``: ``listings`` listings of ``pages`` pages in the
    demo format, every entry unique across the site."""

    def route(path: str, attempt: int) -> Reply:
        if path == "/robots.txt":
            return Reply(body=b"User-agent: *\nAllow: /\n", headers={"Content-Type": "text/plain"})
        parts = path.strip("/").split("/")
        try:
            listing = int(parts[0].removeprefix("l"))
            page = 1 if len(parts) == 1 else int(parts[1].removeprefix("page").split(".")[0])
        except (ValueError, IndexError):
            return Reply(status=404, body=b"not found")
        if not (1 <= listing <= listings and 1 <= page <= pages):
            return Reply(status=404, body=b"not found")
        following = f"/l{listing}/page{page + 1}.html" if page < pages else ""
        html = listing_page(page, pages, PER_PAGE, next_href=following)
        html = html.replace('href="/posts/', f'href="/l{listing}/posts/')
        html = html.replace("Post number", f"Listing {listing} post")
        return Reply(body=html.encode(), delay=delay)

    return route


@pytest.fixture
def many_listings() -> Iterator[ScriptedSite]:
    site = ScriptedSite(listing_route(listings=8, pages=4))
    yield site
    site.stop()


def starts(site: ScriptedSite, listings: int = 8) -> str:
    return ",".join(f"{site.url}l{n}/" for n in range(1, listings + 1))


def worker(
    site_starts: str,
    data_dir: Path,
    redis_url: str,
    crawl: str,
    *extra: str,
    env: dict[str, str] | None = None,
):
    command = crawl_command(
        "-a",
        f"start_urls={site_starts}",
        "-a",
        "profile=demo",
        "-s",
        f"ARCHIVER_REDIS_URL={redis_url}",
        "-s",
        f"ARCHIVER_CRAWL_ID={crawl}",
        # Each worker takes two requests at a time, so that all three get work.
        "-s",
        "CONCURRENT_REQUESTS=2",
        *extra,
        data_dir=data_dir,
    )
    return subprocess.Popen(
        command,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
    )


def finish(processes: list[subprocess.Popen], timeout: float = 120) -> list[tuple[int, str, str]]:
    results = []
    try:
        for process in processes:
            out, err = process.communicate(timeout=timeout)
            results.append((process.returncode, out, err))
    except subprocess.TimeoutExpired:  # fail the test, and leave no worker running
        for process in processes:
            process.kill()
            process.communicate()
        raise
    return results


def comparable(frame: pd.DataFrame) -> pd.DataFrame:
    """Every column but those that differ between two captures of the same pages."""
    drop = ["snapshot_id", "fetched_at", "warc_record_id", "warc_filename"]
    frame = frame.drop(columns=[c for c in drop if c in frame.columns])
    frame = frame.sort_values(["listing_url", "position"]).reset_index(drop=True)
    return frame.astype({c: "object" for c in frame.columns if frame[c].dtype == "category"})


# --- whole crawls ----------------------------------------------------------------------------


def test_three_workers_publish_the_snapshot_one_process_would(
    many_listings, redis_server, crawl_id, tmp_path
) -> None:
    single = tmp_path / "single"
    alone = subprocess.run(
        crawl_command("-a", f"start_urls={starts(many_listings)}", "-a", "profile=demo",
                      data_dir=single),
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert alone.returncode == 0, alone.stderr[-2000:]

    shared = tmp_path / "shared"
    processes = [worker(starts(many_listings), shared, redis_server, crawl_id) for _ in range(3)]
    results = finish(processes)
    for code, out, err in results:
        assert code == 0, err[-3000:]
        assert out.startswith("snapshot complete: "), out
    assert len({out for _, out, _ in results}) == 1  # all three name the same snapshot

    [snapshot] = list_snapshots(shared)
    manifest = snapshot.manifest
    assert manifest["status"] == "complete"
    assert manifest["rows"] == 8 * 4 * PER_PAGE
    assert len(manifest["workers"]) == 3
    assert sum(w["published"] for w in manifest["workers"]) == 1
    assert sum(w["rows"] for w in manifest["workers"]) == manifest["rows"]
    assert all(w["pages"] > 0 for w in manifest["workers"]), manifest["workers"]
    parquet_parts = sorted(snapshot.path.glob("entries-*.parquet"))
    assert len(parquet_parts) == 3
    assert verify_snapshot(snapshot) == []
    assert [(x["start_url"], x["extracted"], x["pages_fetched"]) for x in manifest["listings"]] == [
        (f"{many_listings.url}l{n}/", 4 * PER_PAGE, 4) for n in range(1, 9)
    ]

    one = comparable(archiver.load(single))
    many = comparable(archiver.load(shared))
    pd.testing.assert_frame_equal(one, many)
    # Read as usual by the other readers too: the parts are one dataset.
    import duckdb

    pattern = f"{shared}/snapshots/*/*.parquet"
    assert duckdb.sql(f"select count(*) from read_parquet('{pattern}', hive_partitioning=true)"
                      ).fetchall()[0][0] == manifest["rows"]  # fmt: skip


def test_a_worker_killed_mid_crawl_costs_a_refetch_never_a_page(
    redis_server, crawl_id, tmp_path
) -> None:
    site = ScriptedSite(listing_route(listings=8, pages=4))
    try:
        processes = [
            worker(starts(site), tmp_path, redis_server, crawl_id,
                   "-s", "ARCHIVER_REDIS_LEASE=3", "-s", "DOWNLOAD_DELAY=0.12")
            for _ in range(3)
        ]  # fmt: skip
        client = redis.Redis.from_url(redis_server)
        victim = None
        deadline = time.monotonic() + 60
        while victim is None and time.monotonic() < deadline:
            # Kill a worker that has committed pages and holds one in flight right now.
            committed = {v.decode() for v in client.hvals(f"archiver:{crawl_id}:committed")}
            for lease in client.hvals(f"archiver:{crawl_id}:leases"):
                owner = lease.split(b"\n", 1)[0].decode()
                if owner in committed:
                    victim = owner
                    break
            time.sleep(0.05)
        assert victim is not None, "no worker was ever seen holding a page"
        pid = int(victim.rsplit("-", 2)[1])
        killed = next(p for p in processes if p.pid == pid)
        # Stopped first, so that what it held is read while it can change nothing.
        os.kill(pid, signal.SIGSTOP)
        held = {
            urlsplit(loads(value.split(b"\n", 1)[1])["url"]).path
            for value in client.hvals(f"archiver:{crawl_id}:leases")
            if value.split(b"\n", 1)[0].decode() == victim
        }
        os.kill(pid, signal.SIGKILL)
        results = finish(processes)
    finally:
        site.stop()

    for process, (code, out, err) in zip(processes, results, strict=True):
        if process is killed:
            assert code == -signal.SIGKILL
        else:
            assert code == 0, err[-3000:]
            assert out.startswith("snapshot complete: ")
    assert any("go back to the frontier" in err for _, _, err in results)
    [snapshot] = list_snapshots(tmp_path)
    assert snapshot.status == "complete"
    assert verify_snapshot(snapshot) == []  # the killed worker's WARC file was closed whole
    frame = archiver.load(tmp_path)
    expected = {f"Listing {n} post {i}" for n in range(1, 9) for i in range(1, 4 * PER_PAGE + 1)}
    assert sorted(frame["title"]) == sorted(expected)  # every entry, each once
    lost = [w for w in snapshot.manifest["workers"] if w["worker"] == victim]
    assert lost and lost[0]["ended"] == "lost"
    # The killed worker's committed pages are kept, not fetched again.
    assert lost[0]["rows"] > 0
    # Only pages it held when it died are fetched again; start pages are fetched once, by
    # whichever worker took them, however slow the machine.
    refetched = {path for path, count in site.counts.items() if count > 1 and path != "/robots.txt"}
    assert refetched <= held, (refetched, held)


# --- the publisher killed at any instant ------------------------------------------------------


def instant_hooks(tmp_path: Path, instants: Path, die_at: int) -> dict[str, str]:
    """The environment under which a worker's publishing dies at instant ``die_at``
    (tests/injected.py): a ``sitecustomize`` that installs the counting in every process."""
    hooks = tmp_path / "hooks"
    hooks.mkdir(exist_ok=True)
    (hooks / "sitecustomize.py").write_text(
        "import os\nif os.environ.get('ARCHIVER_TEST_INSTANTS'):\n"
        "    from tests.injected import count_instants\n    count_instants()\n"
    )
    path = os.pathsep.join(filter(None, [str(hooks), str(ROOT), os.environ.get("PYTHONPATH")]))
    return {"PYTHONPATH": path, "ARCHIVER_TEST_INSTANTS": str(instants),
            "ARCHIVER_TEST_DIE_AT": str(die_at)}  # fmt: skip


def saved_crawl(client: redis.Redis, crawl: str) -> list[tuple[bytes, int, bytes]]:
    return [
        (key, max(client.pttl(key), 0), client.dump(key))
        for key in client.scan_iter(match=f"archiver:{crawl}:*")
    ]


def restore_crawl(client: redis.Redis, crawl: str, saved: list[tuple[bytes, int, bytes]]) -> None:
    for key in client.scan_iter(match=f"archiver:{crawl}:*"):
        client.delete(key)
    for key, ttl, value in saved:
        client.restore(key, ttl, value, replace=True)


def test_a_publisher_killed_at_any_instant_is_replaced_by_the_next_worker(
    redis_server, crawl_id, tmp_path
) -> None:
    """Publishing a shared crawl is a step any worker can finish or redo. The crawl is
    crawled once; its publisher dies as it claims the publication. Then, for every instant
    of publishing (each sync, rename, removal, and each word to Redis, in the crawl process
    and in the ``archiver.cli.publish`` it becomes), a worker started with the same crawl id
    claims, and dies at that instant; a third worker then publishes the same snapshot,
    every entry once, and exits 0 naming it."""
    site = ScriptedSite(listing_route(listings=3, pages=2))
    client = redis.Redis.from_url(redis_server)
    lease = ("-s", "ARCHIVER_REDIS_LEASE=1")
    expected = sorted(
        f"Listing {n} post {i}" for n in range(1, 4) for i in range(1, 2 * PER_PAGE + 1)
    )
    base = tmp_path / "base"
    try:
        hooks = instant_hooks(tmp_path, tmp_path / "first.log", die_at=1)
        [(code, _, err)] = finish([worker(starts(site, 3), base, redis_server, crawl_id, *lease,
                                          env=hooks)])  # fmt: skip
        assert code == -signal.SIGKILL, err[-3000:]
        fetched = dict(site.counts)
        saved = saved_crawl(client, crawl_id)
        seen: list[str] = []
        for die_at in itertools.count(1):
            data = tmp_path / f"at-{die_at}"
            shutil.copytree(base, data, symlinks=True)
            restore_crawl(client, crawl_id, saved)
            instants = tmp_path / f"at-{die_at}.log"
            hooks = instant_hooks(tmp_path, instants, die_at)
            [(code, out, err)] = finish([worker(starts(site, 3), data, redis_server, crawl_id,
                                                *lease, env=hooks)])  # fmt: skip
            steps = instants.read_text().splitlines() if instants.exists() else []
            if code != -signal.SIGKILL:  # every instant has been tried: this one published
                assert code == 0, err[-3000:]
                break
            seen.append(steps[-1])
            [(code, out, err)] = finish([worker(starts(site, 3), data, redis_server, crawl_id,
                                                *lease)])  # fmt: skip
            where = f"publisher killed at instant {die_at} ({steps[-1]})"
            assert code == 0, f"{where}: {err[-3000:]}"
            assert out.startswith("snapshot complete: "), f"{where}: {out!r}"
            [snapshot] = list_snapshots(data)
            assert out.split()[2] == str(snapshot.path.resolve()), where
            assert snapshot.status == "complete", where
            assert verify_snapshot(snapshot) == [], where
            assert sorted(archiver.load(data)["title"]) == expected, where
            assert not (data / ".staging" / snapshot.snapshot_id).exists(), where
            assert json.loads(client.get(f"archiver:{crawl_id}:done"))["path"] == str(
                snapshot.path
            ), where
    finally:
        site.stop()
    assert site.counts == fetched  # publishing fetched nothing again
    # Every kind of step was tried, in both processes: syncs, renames, removals, Redis.
    assert {"claimed", "os.fsync", "os.rename", "os.unlink", "Frontier.finish"} <= set(seen)
    assert len(seen) >= 10, seen


def two_workers(
    site: ScriptedSite, data: Path, redis_server: str, crawl_id: str, hooks: dict[str, str]
) -> tuple[list[subprocess.Popen], list[tuple[int, str, str]]]:
    """Two workers of one crawl of ``site``'s four listings, with a one-second lease and
    ``hooks`` (instant_hooks) in their environment; each one's (code, stdout, stderr)."""
    try:
        processes = [
            worker(starts(site, 4), data, redis_server, crawl_id,
                   "-s", "ARCHIVER_REDIS_LEASE=1", env=hooks)
            for _ in range(2)
        ]  # fmt: skip
        return processes, finish(processes)
    finally:
        site.stop()


def test_a_worker_waiting_publishes_when_the_publisher_dies_renaming(
    redis_server, crawl_id, tmp_path
) -> None:
    """The issue's case: two workers, the publisher killed in ``archiver.cli.publish`` just
    before its rename. The other worker, waiting, takes over: exit 0, the snapshot named."""
    site = ScriptedSite(listing_route(listings=4, pages=2))
    hooks = instant_hooks(tmp_path, tmp_path / "instants.log", die_at=0)
    hooks["ARCHIVER_TEST_DIE_ON"] = "os.rename"
    processes, results = two_workers(site, tmp_path / "data", redis_server, crawl_id, hooks)
    codes = sorted(code for code, _, _ in results)
    assert codes == [-signal.SIGKILL, 0], [err[-2000:] for _, _, err in results]
    [out] = [out for code, out, _ in results if code == 0]
    [snapshot] = list_snapshots(tmp_path / "data")
    assert out == f"snapshot complete: {snapshot.path.resolve()} ({4 * 2 * PER_PAGE} rows)\n"
    assert verify_snapshot(snapshot) == []
    assert archiver.load(tmp_path / "data")["entry_id"].is_unique
    [publisher] = [w for w in snapshot.manifest["workers"] if w["published"]]
    assert publisher["pid"] == next(p.pid for p in processes if p.returncode == 0)


def test_a_publisher_slower_than_its_lease_keeps_its_claim(
    redis_server, crawl_id, tmp_path
) -> None:
    """A publisher that stalls (a loaded machine) for four leases while it settles the parts
    is still the only one: the other worker waits, nothing is published twice, both exit 0
    naming the one snapshot. (Before, the claim lapsed after one lease and the second
    worker published the same folder beside it: one of them exited 1.)"""
    site = ScriptedSite(listing_route(listings=4, pages=2))
    hooks = instant_hooks(tmp_path, tmp_path / "instants.log", die_at=-1)
    hooks.update(ARCHIVER_TEST_PAUSE_ON="os.replace", ARCHIVER_TEST_PAUSE="4")
    _, results = two_workers(site, tmp_path / "data", redis_server, crawl_id, hooks)
    assert [code for code, _, _ in results] == [0, 0], [err[-2000:] for _, _, err in results]
    [snapshot] = list_snapshots(tmp_path / "data")
    for _, out, _ in results:
        assert out == f"snapshot complete: {snapshot.path.resolve()} ({4 * 2 * PER_PAGE} rows)\n"
    assert verify_snapshot(snapshot) == []
    assert archiver.load(tmp_path / "data")["entry_id"].is_unique
    assert (tmp_path / "instants.log").read_text().count("claimed") == 1


def test_a_worker_stopped_with_ctrl_c_leaves_and_the_others_finish(
    redis_server, crawl_id, tmp_path
) -> None:
    site = ScriptedSite(listing_route(listings=6, pages=4))
    try:
        processes = [
            worker(starts(site, 6), tmp_path, redis_server, crawl_id, "-s", "DOWNLOAD_DELAY=0.2")
            for _ in range(2)
        ]
        client = redis.Redis.from_url(redis_server)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # the worker to stop has committed a page
            joined = client.hgetall(f"archiver:{crawl_id}:workers").items()
            names = {name for name, raw in joined if json.loads(raw)["pid"] == processes[0].pid}
            if names & set(client.hvals(f"archiver:{crawl_id}:committed")):
                break
            time.sleep(0.05)
        processes[0].send_signal(signal.SIGINT)
        results = finish(processes)
    finally:
        site.stop()
    (stopped_code, stopped_out, stopped_err), (code, out, err) = results
    assert out.startswith("snapshot complete: ")
    assert stopped_code == 1
    assert "worker stopped (shutdown); crawl" in stopped_err, stopped_err[-3000:]
    assert "goes on with the other workers" in stopped_err
    assert stopped_out == ""  # it published nothing and claims nothing
    assert code == 0, err[-2000:]
    [snapshot] = list_snapshots(tmp_path)
    assert snapshot.status == "complete"
    assert snapshot.manifest["rows"] == 6 * 4 * PER_PAGE
    assert archiver.load(tmp_path)["entry_id"].is_unique
    ended = {w["ended"] for w in snapshot.manifest["workers"]}
    assert ended == {"shutdown", "finished"}


def test_a_page_that_fails_in_a_shared_crawl_is_listed_once_and_ends_its_lease(
    redis_server, crawl_id, tmp_path
) -> None:
    """A page whose download fails (the connection drops, retries spent) is done, as a
    committed one is: its lease ends at once, else the crawl would wait for it (a live
    worker's lease never expires) and never finish. The manifest lists it once."""
    pages = listing_route(listings=3, pages=3)

    def route(path: str, attempt: int) -> Reply:
        return Reply(reset=True) if path == "/l2/page2.html" else pages(path, attempt)

    site = ScriptedSite(route)
    try:
        processes = [
            worker(starts(site, 3), tmp_path, redis_server, crawl_id, "-s", "RETRY_TIMES=0")
            for _ in range(2)
        ]
        results = finish(processes, timeout=50)
    finally:
        site.stop()
    for code, _, err in results:
        assert code == 3, err[-3000:]
    [snapshot] = list_snapshots(tmp_path)
    assert snapshot.status == "partial"
    [failed] = snapshot.manifest["pages_failed"]
    assert failed["url"] == f"{site.url}l2/page2.html" and failed["reason"]
    assert snapshot.manifest["rows"] == (3 * 3 - 2) * PER_PAGE  # l2 stops at its page 2


def test_a_shared_crawl_sees_pagination_loop_back_to_a_middle_page(
    redis_server, crawl_id, tmp_path
) -> None:
    from tests.test_faults import loop_back_to_b

    site = ScriptedSite(loop_back_to_b)
    try:
        [(code, _, err)] = finish([worker(site.url, tmp_path, redis_server, crawl_id)])
    finally:
        site.stop()
    assert code == 0, err[-3000:]
    [snapshot] = list_snapshots(tmp_path)
    [listing] = snapshot.manifest["listings"]
    assert snapshot.manifest["rows"] == 9
    assert listing["stopped"] == f"pagination loops back to {site.url}b"


def two_listings_one_next_page(path: str, attempt: int) -> Reply:
    """/a/ and /b/ both go on to /common: each listing reads it, as its own second page."""
    pages = {
        "/a/": listing_page(1, 2, 3, next_href="/common"),
        "/b/": listing_page(1, 2, 3, next_href="/common").replace("Post number", "B post"),
        "/common": listing_page(2, 2, 3),
    }
    if path == "/robots.txt":
        return Reply(body=b"User-agent: *\nAllow: /\n", headers={"Content-Type": "text/plain"})
    return Reply(body=pages[path].encode()) if path in pages else Reply(404, b"not found")


def test_two_listings_of_a_shared_crawl_may_go_on_to_the_same_page(
    redis_server, crawl_id, tmp_path
) -> None:
    """Pagination claims belong to a listing: a page that another listing reached first is
    not a loop, and the shared crawl archives what one process would."""
    site = ScriptedSite(two_listings_one_next_page)
    both = f"{site.url}a/,{site.url}b/"
    try:
        alone = subprocess.run(
            crawl_command("-a", f"start_urls={both}", "-a", "profile=demo",
                          data_dir=tmp_path / "single"),
            cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        [(code, _, err)] = finish([worker(both, tmp_path / "shared", redis_server, crawl_id)])
    finally:
        site.stop()
    assert alone.returncode == 0, alone.stderr[-2000:]
    assert code == 0, err[-3000:]
    [snapshot] = list_snapshots(tmp_path / "shared")
    listings = snapshot.manifest["listings"]
    assert [(x["pages_fetched"], x["extracted"], x["stopped"]) for x in listings] == [
        (2, 6, None),
        (2, 6, None),
    ]
    one = comparable(archiver.load(tmp_path / "single"))
    pd.testing.assert_frame_equal(one, comparable(archiver.load(tmp_path / "shared")))


def test_workers_together_keep_one_hosts_delay(redis_server, crawl_id, tmp_path) -> None:
    site = ScriptedSite(listing_route(listings=6, pages=3))
    delay = 0.25
    try:
        processes = [
            worker(starts(site, 6), tmp_path, redis_server, crawl_id,
                   "-s", f"DOWNLOAD_DELAY={delay}", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=1")
            for _ in range(3)
        ]  # fmt: skip
        results = finish(processes)
    finally:
        site.stop()
    assert [code for code, _, _ in results] == [0, 0, 0], results[0][2][-2000:]
    times = sorted(moment for _, moment in site.log)
    assert len(times) >= 18
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    # Never faster than one worker would go: every start about the delay after the last
    # (the gate lets requests go; a busy machine may send one a little late, the next on
    # time), and over the crawl, no more requests than one per delay.
    assert min(gaps) >= delay * 0.8, sorted(gaps)[:5]
    assert times[-1] - times[0] >= (len(times) - 1) * delay * 0.98


def test_unreachable_redis_fails_in_one_line_and_publishes_nothing(tmp_path) -> None:
    url = f"redis://:secret@127.0.0.1:{_free_port()}/0"
    result = subprocess.run(
        crawl_command("-s", f"ARCHIVER_REDIS_URL={url}", "-s", "ARCHIVER_CRAWL_ID=x",
                      data_dir=tmp_path),
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if "error" in line.lower()]
    assert len(errors) == 1, result.stderr[-2000:]
    assert "cannot reach Redis at redis://:***@127.0.0.1:" in errors[0]
    assert "secret" not in result.stderr
    assert list_snapshots(tmp_path) == []


def test_a_pickle_in_the_frontier_is_never_unpickled(
    many_listings, redis_server, crawl_id, tmp_path
) -> None:
    trap = tmp_path / "unpickled"

    class Trap:
        def __reduce__(self):
            return (Path.touch, (trap,))

    client = redis.Redis.from_url(redis_server)
    client.lpush(f"archiver:{crawl_id}:frontier", pickle.dumps(Trap()))
    [(code, _, err)] = finish([worker(starts(many_listings, 1), tmp_path, redis_server, crawl_id)])
    assert not trap.exists()
    assert "an unreadable request was dropped" in err
    assert code == 0, err[-2000:]
    assert json.loads(client.get(f"archiver:{crawl_id}:done"))["rows"] == 4 * PER_PAGE


def test_a_late_worker_joins_nothing_once_the_crawl_is_published(
    many_listings, redis_server, crawl_id, tmp_path
) -> None:
    first = finish([worker(starts(many_listings, 2), tmp_path, redis_server, crawl_id)])
    assert first[0][0] == 0, first[0][2][-2000:]
    fetched = sum(many_listings.counts.values())
    [(code, out, err)] = finish(
        [worker(starts(many_listings, 2), tmp_path, redis_server, crawl_id)]
    )
    assert code == 0
    assert "was already published" in err
    assert out == first[0][1]  # the same snapshot, not a second one
    assert len(list_snapshots(tmp_path)) == 1
    assert sum(many_listings.counts.values()) == fetched  # it fetched nothing
    client = redis.Redis.from_url(redis_server)
    assert not client.exists(f"archiver:{crawl_id}:frontier")  # nothing seeded again


def test_shared_crawl_refuses_jobdir(tmp_path, redis_server) -> None:
    result = subprocess.run(
        crawl_command("-s", f"ARCHIVER_REDIS_URL={redis_server}", "-s", "ARCHIVER_CRAWL_ID=x",
                      "-s", f"JOBDIR={tmp_path / 'job'}", data_dir=tmp_path),
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert "JOBDIR and ARCHIVER_REDIS_URL" in result.stderr


# --- the frontier, directly --------------------------------------------------------------------


@pytest.fixture
def frontier(redis_server, crawl_id) -> Frontier:
    return Frontier.connect(redis_server, crawl_id, lease=0.5)


def test_requests_travel_as_json_with_bytes_and_times(frontier) -> None:
    from datetime import UTC, datetime

    document = {
        "url": "http://x/",
        "body": b"\x00\xff",
        "meta": {"at": datetime(2026, 1, 1, tzinfo=UTC)},
    }
    text = dumps(document)
    json.loads(text)  # plain JSON
    assert loads(text) == document
    with pytest.raises(TypeError, match="cannot put object"):
        dumps({"meta": {"x": object()}})


def test_the_first_commit_of_a_page_wins_and_counts_once(frontier, redis_server, crawl_id) -> None:
    other = Frontier.connect(redis_server, crawl_id, lease=0.5)
    frontier.push("a")
    _, token = frontier.take()
    read = {"entries": 5, "announced": 40, "profile": "demo", "time_source": "date_header"}
    assert frontier.commit("L", "L/p1", token, read) is True
    assert other.commit("L", "L/p1", None, read) is False
    assert frontier.committed() == {page_key("L", "L/p1"): frontier.worker}
    assert frontier.listing("L") == {
        "profile": "demo", "announced": 40, "extracted": 5, "pages_fetched": 1,
        "stopped": None, "page_time_sources": {"date_header": 1},
    }  # fmt: skip
    assert frontier.pending() == (0, 0)


def test_a_worker_stopped_before_its_spider_opened_leaves_at_once(redis_server, crawl_id) -> None:
    """It joined when its spider was made, then Ctrl-C: with no part to seal it says how it
    ended, and the publisher need not wait a lease (60 s by default) for its heartbeat."""
    from types import SimpleNamespace

    from archiver.distribute.joining import leave_unopened

    stopped = Frontier.connect(redis_server, crawl_id, lease=60)
    stopped.join("20260101T000000000Z-aaaaaa")
    assert stopped.workers()[stopped.worker]["alive"]
    crawler = SimpleNamespace(_archiver_frontier=stopped, settings={})
    assert leave_unopened(crawler, "shutdown") == crawl_id
    seen = Frontier.connect(redis_server, crawl_id, lease=60).workers()[stopped.worker]
    assert not seen["alive"] and seen["close_reason"] == "shutdown" and not seen["sealed"]
    assert seen["pid"] == os.getpid()  # what it said when it joined is kept


def test_a_silent_workers_leases_go_back_to_the_frontier(frontier) -> None:
    frontier.heartbeat()
    frontier.push("page-1")
    frontier.push("page-2")
    frontier.take()
    assert frontier.pending() == (1, 1)
    assert frontier.requeue_orphans() == 0  # its heartbeat is alive
    time.sleep(0.6)  # lease 0.5 s, no heartbeat
    assert frontier.requeue_orphans() == 1
    assert frontier.pending() == (2, 0)


def test_a_redirect_or_retry_ends_the_lease_it_continues(frontier) -> None:
    frontier.push("page")
    _, token = frontier.take()
    frontier.push("page-again", releases=token)
    assert frontier.pending() == (1, 0)


def test_seeding_is_claimed_once_whatever_the_timing(redis_server, crawl_id) -> None:
    """Workers that start together, each slower than its lease (no heartbeat alive, as on a
    loaded machine), still seed once: each start URL enters the frontier exactly once, and
    no worker fetches start URLs of its own."""
    import threading

    workers = [Frontier.connect(redis_server, crawl_id, lease=0.01) for _ in range(8)]
    payloads = [f"start-{n}" for n in range(8)]
    barrier = threading.Barrier(len(workers))
    won: list[bool] = []

    def start(frontier: Frontier) -> None:
        frontier.heartbeat()
        barrier.wait()
        time.sleep(0.02)  # every heartbeat has expired by now
        won.append(frontier.seed(payloads))

    threads = [threading.Thread(target=start, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(won) == [False] * 7 + [True]
    client = redis.Redis.from_url(redis_server)
    queued = [v.decode() for v in client.lrange(f"archiver:{crawl_id}:frontier", 0, -1)]
    assert sorted(queued) == payloads
    assert workers[0].is_seeded()
    assert not workers[0].seed(payloads)  # a late worker: nothing more goes in


def test_claims_tell_a_second_reading_from_a_loop(frontier) -> None:
    assert frontier.claim_next("L", "L/p2", "L/p1") == "new"
    assert frontier.claim_next("L", "L/p2", "L/p1") == "again"
    assert frontier.claim_next("L", "L/p2", "L/p5") == "other"
    assert frontier.first_content("L", "sig", "L/p1") is True
    assert frontier.first_content("L", "sig", "L/p1") is True  # the same page, read again
    assert frontier.first_content("L", "sig", "L/p3") is False


def test_a_held_claim_outlives_its_lease_and_only_its_owner_extends_it(
    frontier, redis_server, crawl_id
) -> None:
    other = Frontier.connect(redis_server, crawl_id, lease=0.5)
    assert frontier.claim_publishing()
    stop = frontier.hold_publishing()
    time.sleep(1.5)  # three leases
    assert not other.claim_publishing()
    assert other.keep_publishing() is False  # never stretches a claim it does not hold
    stop()
    time.sleep(1.0)
    assert other.claim_publishing()
    assert frontier.keep_publishing() is False
    other.hand_over_publishing()  # the claim outlives the exec into archiver.cli.publish
    assert other.redis.pttl(other.key("publisher")) > 5000


def test_the_host_gate_spaces_starts_and_caps_concurrency(frontier) -> None:
    assert frontier.gate("h", 1, 0.3, "a", hold=5) == 0
    assert 0.2 < frontier.gate("h", 2, 0.3, "b", hold=5) <= 0.3  # too soon
    assert frontier.gate("h", 1, 0.0, "b", hold=5) > 0  # one already active
    frontier.leave_gate("h", "a")
    time.sleep(0.3)
    assert frontier.gate("h", 1, 0.0, "b", hold=5) == 0
    frontier.hold_host("h", 2.0)
    assert frontier.gate("h", 5, 0.0, "c", hold=5) > 1.5


def test_finishing_keeps_the_outcome_and_drops_the_working_state(frontier, redis_server) -> None:
    frontier.join("snap")
    frontier.push("x")
    frontier.finish({"path": "/p", "status": "complete", "rows": 3})
    client = redis.Redis.from_url(redis_server)
    left = {
        k.decode().removeprefix(frontier.prefix)
        for k in client.scan_iter(match=frontier.prefix + "*")
    }
    assert left == {"done", "workers", "snapshot", "started", "epoch"}
    assert 0 < client.ttl(frontier.key("done")) <= 7 * 24 * 3600
    assert frontier.done() == {"path": "/p", "status": "complete", "rows": 3}


# --- settling the parts ----------------------------------------------------------------------


def _row(listing: str, page: str, position: int) -> bytes:
    return (json.dumps({"listing_url": listing, "page_url": page, "position": position,
                        "source": "S"}) + "\n").encode()  # fmt: skip


def test_parts_keep_only_their_committed_pages_once(tmp_path) -> None:
    meta = tmp_path / "_meta"
    meta.mkdir()
    (meta / "entries-a.jsonl").write_bytes(
        _row("L", "p1", 1) + _row("L", "p1", 2) + _row("L", "p2", 3)  # p2: b committed it
        + _row("L", "p1", 1)  # p1 read twice by a
        + b'{"listing_url": "L", "page_u'  # torn by the kill
    )  # fmt: skip
    (meta / "entries-b.jsonl").write_bytes(_row("L", "p2", 3))
    (tmp_path / "entries-a.parquet").write_bytes(b"half-built by a killed publisher")
    committed = {page_key("L", "p1"): "a", page_key("L", "p2"): "b"}
    rows, sources = settle_parts(tmp_path, "snap", committed, exact={"b"})
    assert rows == {"a": 2, "b": 1}
    assert sources == {"S"}
    assert (meta / "entries-a.jsonl").read_bytes() == _row("L", "p1", 1) + _row("L", "p1", 2)
    assert not (tmp_path / "entries-a.parquet").exists()


# --- Redis restarted, or out of reach for a while ---------------------------------------------


class OwnRedis:
    """A redis-server of the test's own on a free port of 127.0.0.1, which the test stops
    and starts again: empty (these machines keep nothing on disk), or from its dump (a
    Redis that was only out of reach). The shared one on 6379 is never touched."""

    def __init__(self, folder: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.skip("redis-server is not installed")
        self.binary, self.folder, self.port = binary, folder, _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None
        self.start()

    def start(self, keep: bool = False) -> None:
        dump = self.folder / "dump.rdb"
        if not keep:
            dump.unlink(missing_ok=True)
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.folder), "--dbfilename", dump.name],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        for _ in range(100):
            try:
                redis.Redis.from_url(self.url).ping()
                return
            except redis.RedisError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self, save: bool = False) -> None:
        with contextlib.suppress(redis.RedisError):
            redis.Redis.from_url(self.url).shutdown(save=save, nosave=not save)
        assert self.process is not None
        self.process.wait(timeout=10)


@pytest.fixture
def own_redis(tmp_path) -> Iterator[OwnRedis]:
    server = OwnRedis(tmp_path)
    yield server
    if server.process is not None and server.process.poll() is None:
        server.process.kill()
        server.process.wait(timeout=10)


def wait_for_commits(url: str, crawl: str, count: int) -> None:
    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + 60
    while client.hlen(f"archiver:{crawl}:committed") < count:
        assert time.monotonic() < deadline, "the workers never committed pages"
        time.sleep(0.05)


def test_redis_restarted_empty_mid_crawl_loses_nothing_and_the_rerun_resumes(
    own_redis, tmp_path
) -> None:
    site = ScriptedSite(listing_route(listings=6, pages=4))
    crawl, data = "restarted", tmp_path / "data"
    every = sorted(f"Listing {n} post {i}" for n in range(1, 7) for i in range(1, 4 * PER_PAGE + 1))
    slow = ("-s", "DOWNLOAD_DELAY=0.1", "-s", "ARCHIVER_REDIS_LEASE=2")
    try:
        processes = [worker(starts(site, 6), data, own_redis.url, crawl, *slow) for _ in range(2)]
        wait_for_commits(own_redis.url, crawl, 6)
        own_redis.stop()
        own_redis.start()  # empty
        first = finish(processes)
        fetched = sum(count for path, count in site.counts.items() if path != "/robots.txt")
        published_before = list_snapshots(data)
        staged = {
            part.name: part.read_bytes().count(b"\n")
            for part in data.glob(".staging/*/_meta/entries-*.jsonl")
        }
        again = finish(
            [worker(starts(site, 6), data, own_redis.url, crawl, *slow) for _ in range(2)]
        )
    finally:
        site.stop()
    for code, out, err in first:
        assert code == 1, err[-3000:]
        assert out == ""  # no snapshot claimed
        assert "Traceback" not in err, err[-3000:]
        errors = [x for x in err.splitlines() if "] ERROR: " in x]
        assert len(errors) == 1, errors
        [line] = errors
        assert f"no longer holds crawl {crawl}" in line and "restarted empty" in line
        assert f"start the workers again with ARCHIVER_CRAWL_ID={crawl} to resume" in line
    assert published_before == []
    assert sum(staged.values()) >= 6 * PER_PAGE, staged  # nothing staged was removed
    for code, out, err in again:
        assert code == 0, err[-3000:]
        assert out.startswith("snapshot complete: "), out
    assert any("resumed from its staged parts" in err for _, _, err in again)
    [snapshot] = list_snapshots(data)
    assert verify_snapshot(snapshot) == []
    assert sorted(archiver.load(data)["title"]) == every  # every entry, once
    assert [x["extracted"] for x in snapshot.manifest["listings"]] == [4 * PER_PAGE] * 6
    assert [x["pages_fetched"] for x in snapshot.manifest["listings"]] == [4] * 6
    earlier = [
        w for w in snapshot.manifest["workers"] if w["ended"] == "before Redis lost the crawl"
    ]
    assert earlier and sum(w["rows"] for w in earlier) >= 6 * PER_PAGE
    # The pages read before the restart were not fetched again.
    refetched = sum(count for path, count in site.counts.items() if path != "/robots.txt") - fetched
    assert refetched <= 6 * 4 - 6, (fetched, refetched)


def test_redis_out_of_reach_for_a_while_is_waited_for(own_redis, tmp_path) -> None:
    site = ScriptedSite(listing_route(listings=4, pages=4))
    crawl, data = "outage", tmp_path / "data"
    try:
        processes = [
            worker(starts(site, 4), data, own_redis.url, crawl, "-s", "DOWNLOAD_DELAY=0.1")
            for _ in range(2)
        ]
        wait_for_commits(own_redis.url, crawl, 4)
        own_redis.stop(save=True)
        time.sleep(2)
        own_redis.start(keep=True)  # as it was: only out of reach
        results = finish(processes)
    finally:
        site.stop()
    for code, out, err in results:
        assert code == 0, err[-3000:]
        assert out.startswith("snapshot complete: ")
    assert any("Redis cannot be reached" in err for _, _, err in results)
    [snapshot] = list_snapshots(data)
    assert verify_snapshot(snapshot) == []
    assert archiver.load(data)["entry_id"].is_unique
    assert snapshot.manifest["rows"] == 4 * 4 * PER_PAGE


def _page_line(listing: str, url: str, **fields) -> bytes:
    record = {"listing": listing, "url": url, "page_no": 1, "offset": 0, "entries": 5,
              "rows": 5, "profile": "demo", "time_source": "date_header", "stopped": None,
              "announced": None, "next_url": None, "signature": None} | fields  # fmt: skip
    return json.dumps(record).encode() + b"\n"


def test_the_page_logs_tell_what_redis_held_and_where_each_listing_goes_on(tmp_path) -> None:
    from archiver.distribute.naming import digest
    from archiver.distribute.recovery import CRAWL_FOLDER, rebuild_state

    logs = tmp_path / CRAWL_FOLDER
    logs.mkdir(parents=True)
    (logs / "pages-a.jsonl").write_bytes(
        _page_line("A", "A", announced=15, next_url="A2", signature="s1")
        + _page_line("A", "A2", page_no=2, offset=5, next_url="A3", signature="s2")
        + _page_line("B", "B", entries=0, rows=0, next_url="B2")  # no entries: read again
        + b'{"failed": "A2", "listing": "A", "reason": "entry 7 could not be archived"}\n'
        + b'{"failed": "B", "listing": "B", "reason": "HTTP 500"}\n'  # fetched again instead
        + b'{"listing": "C", "url": "C", "entr'  # torn by a kill: not committed
    )  # fmt: skip
    (logs / "pages-b.jsonl").write_bytes(
        _page_line("A", "A2", page_no=2, offset=5, next_url="A3")  # read twice: a's counts
        + _page_line("D", "D", next_url="D9", stopped="max_pages (1) reached at D")
    )
    state = rebuild_state(tmp_path, ["A", "B", "C", "D"])
    assert state is not None
    assert state.committed == {page_key("A", "A"): "a", page_key("A", "A2"): "a",
                               page_key("D", "D"): "b"}  # fmt: skip
    assert state.to_fetch == [("A3", "A", 3, 10, "demo"), ("B", "B", 1, 0, None),
                              ("C", "C", 1, 0, None)]  # fmt: skip
    assert state.listings["A"] == {"pages": 2, "extracted": 10, "announced": 15,
                                   "profile": "demo", "time:date_header": 2}  # fmt: skip
    assert state.listings["B"] == {} and state.listings["D"]["stopped"].startswith("max_pages")
    assert state.claims == {"A": {digest("A2"): digest("A"), digest("A3"): digest("A2")}}
    assert state.contents == {"A": {"s1": digest("A"), "s2": digest("A2")}}
    assert state.parts == ["a", "b"]
    assert state.failed == {"A2": json.dumps({"listing": "A",
                                              "reason": "entry 7 could not be archived"})}  # fmt: skip
    assert rebuild_state(tmp_path / "nothing", ["A"]) is None  # nothing staged: seed as usual


def test_a_rebuilt_crawl_is_seeded_once(redis_server, crawl_id, tmp_path) -> None:
    from archiver.distribute.recovery import Rebuilt

    state = Rebuilt({page_key("A", "A"): "old"}, {"A": {"pages": 1, "extracted": 5}}, {}, {},
                    ["old"], [("A2", "A", 2, 5, "demo")])  # fmt: skip
    first, second = (Frontier.connect(redis_server, crawl_id) for _ in range(2))
    assert first.restore(state.redis_state(), ["next"]) is True
    assert second.restore(state.redis_state(), ["next"]) is False
    assert first.is_seeded() and first.pending() == (1, 0)
    assert first.committed() == {page_key("A", "A"): "old"}
    assert first.listing("A")["extracted"] == 5
    assert first.workers()["old"]["close_reason"] == "before Redis lost the crawl"


def test_redis_gone_longer_than_the_workers_wait_stops_them_in_one_line_then_resumes(
    own_redis, tmp_path
) -> None:
    site = ScriptedSite(listing_route(listings=4, pages=4))
    crawl, data = "gone", tmp_path / "data"
    every = sorted(f"Listing {n} post {i}" for n in range(1, 5) for i in range(1, 4 * PER_PAGE + 1))
    settings = ("-s", "DOWNLOAD_DELAY=0.1", "-s", "ARCHIVER_REDIS_OUTAGE=1")
    try:
        processes = [worker(starts(site, 4), data, own_redis.url, crawl, *settings)]
        wait_for_commits(own_redis.url, crawl, 3)
        own_redis.stop()
        [(code, out, err)] = finish(processes)
        own_redis.start()  # empty: the crawl resumes from what was staged
        [(again, again_out, again_err)] = finish(
            [worker(starts(site, 4), data, own_redis.url, crawl, *settings)]
        )
    finally:
        site.stop()
    assert code == 1 and out == ""
    assert "Traceback" not in err, err[-3000:]
    errors = [x for x in err.splitlines() if "] ERROR: " in x]
    assert len(errors) == 1, errors
    assert "cannot reach Redis at redis://127.0.0.1:" in errors[0] and "for 1 s" in errors[0]
    assert f"ARCHIVER_CRAWL_ID={crawl} to resume from them" in errors[0]
    assert again == 0, again_err[-3000:]
    assert again_out.startswith("snapshot complete: ")
    assert sorted(archiver.load(data)["title"]) == every


def test_a_rerun_with_other_start_urls_is_refused_and_joins_nothing(
    redis_server, crawl_id, tmp_path
) -> None:
    """Redis forgot the crawl; its staging folder says what it was crawling. A worker
    started with the same crawl id but other start URLs would mix two crawls: refused, in
    one line naming the folder and what it was staged with."""
    from archiver.distribute.recovery import CRAWL_FOLDER, CRAWL_RECORD

    folder = tmp_path / ".staging" / "20260101T000000000Z-aaaaaa"
    (folder / CRAWL_FOLDER).mkdir(parents=True)
    record = {"crawl_id": crawl_id, "snapshot_id": folder.name, "started": None,
              "start_urls": ["http://127.0.0.1:9/a/"], "profile": "demo"}  # fmt: skip
    (folder / CRAWL_FOLDER / CRAWL_RECORD).write_text(json.dumps(record))
    [(code, out, err)] = finish([worker("http://127.0.0.1:9/b/", tmp_path, redis_server, crawl_id)])
    assert code == 1 and out == ""
    errors = [x for x in err.splitlines() if "] ERROR: " in x]
    assert len(errors) == 1, err[-3000:]
    assert f"was staged in {folder} with other start URLs" in errors[0]
    assert "start_urls=http://127.0.0.1:9/a/, profile=demo" in errors[0]
    client = redis.Redis.from_url(redis_server)
    assert not client.exists(f"archiver:{crawl_id}:frontier")  # nothing seeded
    assert list_snapshots(tmp_path) == []


def test_a_crawl_published_before_redis_forgot_it_is_not_crawled_again(own_redis, tmp_path) -> None:
    site = ScriptedSite(listing_route(listings=2, pages=2))
    crawl, data = "published", tmp_path / "data"
    try:
        [(code, out, err)] = finish([worker(starts(site, 2), data, own_redis.url, crawl)])
        assert code == 0, err[-3000:]
        fetched = dict(site.counts)
        own_redis.stop()
        own_redis.start()  # empty: the "done" record is gone
        [(again, again_out, again_err)] = finish(
            [worker(starts(site, 2), data, own_redis.url, crawl)]
        )
    finally:
        site.stop()
    assert again == 0, again_err[-3000:]
    assert "was already published" in again_err
    assert again_out == out  # the same snapshot, named again
    assert len(list_snapshots(data)) == 1
    assert site.counts == fetched  # nothing fetched again


def test_redis_failing_while_a_page_is_read_is_no_failed_page(frontier) -> None:
    """Redis can fail inside a page's callback before the worker notices the outage: that
    page was not committed and goes back to the frontier; it is not a broken page of the
    site (which would make the snapshot partial and log a second ERROR line)."""
    from scrapy.utils.test import get_crawler

    from archiver.spiders.listing import ListingSpider

    listing, url = "https://agg.example/", "https://agg.example/?page=2"
    spider = ListingSpider.from_crawler(get_crawler(ListingSpider), start_urls=listing)
    spider.shared = frontier
    spider.page_error(url, listing, redis.ConnectionError("Connection refused"))
    assert spider.listings[listing].failed == []
    assert spider.crawler.stats.get_value("archiver/pages/abandoned/redis_error") == 1
    spider.page_error(url, listing, ValueError("no such field"))  # the site's fault: listed
    assert [f["url"] for f in spider.listings[listing].failed] == [url]
