"""Faults injected against a real local server: each ends in its documented outcome.

See the README's "Faults and their outcomes" table; every row has a test here or in
test_resume.py.
"""

from __future__ import annotations

import gzip
import itertools
import json
import re
import resource
import socket
import subprocess
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

import archiver
from archiver.store.layout import list_snapshots
from tests.conftest import ROOT, SEED_CAPTURE, crawl_command, run_crawl
from tests.sites import Reply, ScriptedSite, fake_dns, listing_page

RETRY = ["-s", "RETRY_TIMES=2", "-s", "ARCHIVER_BACKOFF_BASE=0.2", "-s", "DOWNLOAD_TIMEOUT=2"]
ROBOTS_OK = Reply(body=b"User-agent: *\nAllow: /\n", headers={"Content-Type": "text/plain"})


def two_pages(page2: Callable[[int], Reply | None] | None = None, robots: Reply = ROBOTS_OK):
    """A two-page listing; ``page2(attempt)`` may replace the second page's answer."""
    bodies = {"/": listing_page(1, 2, 3).encode(), "/page2.html": listing_page(2, 2, 3).encode()}

    def route(path: str, attempt: int) -> Reply:
        if path == "/robots.txt":
            return robots
        if path == "/page2.html" and page2 is not None:
            reply = page2(attempt)
            if reply is not None:
                return reply
        if path in bodies:
            return Reply(body=bodies[path])
        return Reply(status=404, body=b"no")

    return route


@pytest.fixture
def site():
    sites: list[ScriptedSite] = []

    def start(route) -> ScriptedSite:
        sites.append(ScriptedSite(route))
        return sites[-1]

    yield start
    for s in sites:
        s.stop()


def crawl_site(site: ScriptedSite, data_dir, *args: str):
    result = run_crawl("-a", f"start_urls={site.url}", *RETRY, *args, data_dir=data_dir)
    snapshots = list_snapshots(data_dir)
    return result, (snapshots[0] if snapshots else None)


def gaps(site: ScriptedSite, path: str) -> list[float]:
    times = [t for p, t in site.log if p == path]
    return [b - a for a, b in itertools.pairwise(times)]


# --- Faulty servers -------------------------------------------------------------------------


def test_429_retry_after_is_honoured(site, tmp_path) -> None:
    s = site(
        two_pages(lambda n: Reply(429, b"slow down", {"Retry-After": "1"}) if n == 1 else None)
    )
    result, snapshot = crawl_site(s, tmp_path)
    assert result.returncode == 0 and snapshot.status == "complete"
    assert s.requests_for("/page2.html") == 2
    assert gaps(s, "/page2.html")[0] >= 0.95  # waited as asked, not the 0.2 s backoff
    assert snapshot.manifest["stats"]["archiver/retry/retry_after/honoured"] == 1


def test_retry_after_is_capped(site, tmp_path) -> None:
    s = site(two_pages(lambda n: Reply(503, b"", {"Retry-After": "86400"}) if n == 1 else None))
    started = time.monotonic()
    result, snapshot = crawl_site(s, tmp_path, "-s", "ARCHIVER_RETRY_AFTER_MAX=1")
    assert result.returncode == 0 and snapshot.status == "complete"
    assert time.monotonic() - started < 60  # a day was asked; the cap is one second
    assert 0.95 <= gaps(s, "/page2.html")[0] < 10


def test_retry_after_as_an_http_date_is_honoured(site, tmp_path) -> None:
    def page2(n: int) -> Reply | None:
        if n > 1:
            return None
        when = format_datetime(datetime.now(UTC) + timedelta(seconds=2), usegmt=True)
        return Reply(503, b"maintenance", {"Retry-After": when})

    s = site(two_pages(page2))
    result, snapshot = crawl_site(s, tmp_path)
    assert result.returncode == 0 and snapshot.status == "complete"
    # The date has whole seconds: the wait is between 1 and 2 s, not the 0.2 s backoff.
    assert 0.9 <= gaps(s, "/page2.html")[0] < 10
    assert snapshot.manifest["stats"]["archiver/retry/retry_after/honoured"] == 1


def test_backoff_stops_growing_at_its_cap(site, tmp_path) -> None:
    s = site(two_pages(lambda n: Reply(503, b"busy") if n <= 3 else None))
    result, snapshot = crawl_site(
        s, tmp_path, "-s", "RETRY_TIMES=3", "-s", "ARCHIVER_BACKOFF_BASE=0.3",
        "-s", "ARCHIVER_BACKOFF_MAX=0.3",
    )  # fmt: skip
    assert result.returncode == 0 and snapshot.manifest["rows"] == 6
    # Uncapped, the waits would be 0.3, 0.6 and 1.2 s.
    assert [round(g, 1) >= 0.3 for g in gaps(s, "/page2.html")] == [True] * 3
    assert max(gaps(s, "/page2.html")) < 0.9
    assert snapshot.manifest["stats"]["archiver/retry/wait_max_seconds"] == 0.3


def test_5xx_is_retried_with_growing_backoff(site, tmp_path) -> None:
    s = site(two_pages(lambda n: Reply(503, b"busy") if n <= 2 else None))
    result, snapshot = crawl_site(s, tmp_path)
    assert (
        result.returncode == 0 and snapshot.status == "complete" and snapshot.manifest["rows"] == 6
    )
    first, second = gaps(s, "/page2.html")
    assert first >= 0.19 and second >= 0.39  # 0.2 s, then 0.4 s


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_a_page_that_keeps_failing_is_listed_and_the_snapshot_is_partial(
    site, tmp_path, status: int
) -> None:
    s = site(two_pages(lambda n: Reply(status, b"broken")))
    result, snapshot = crawl_site(s, tmp_path, "-s", "ARCHIVER_BACKOFF_BASE=0.05")
    assert result.returncode == 3, result.stderr[-2000:]
    assert snapshot.status == "partial" and snapshot.manifest["rows"] == 3
    [failed] = snapshot.manifest["pages_failed"]
    assert failed["url"] == f"{s.url}page2.html" and f"HTTP {status}" in failed["reason"]
    assert s.requests_for("/page2.html") == 3  # the first try and RETRY_TIMES=2 retries


def test_connection_reset_is_retried(site, tmp_path) -> None:
    # Twisted itself retries a request once when a kept-alive connection drops; the second
    # reset reaches archiver's retry, which waits its backoff and tries again.
    s = site(two_pages(lambda n: Reply(reset=True) if n <= 2 else None))
    result, snapshot = crawl_site(s, tmp_path)
    assert result.returncode == 0 and snapshot.manifest["rows"] == 6
    assert snapshot.manifest["stats"]["archiver/retry/wait_max_seconds"] == 0.2
    # Scrapy's retry bookkeeping names the error it retried (its class), not "None"
    assert re.search(r"'retry/reason_count/[a-z_.]+\.[A-Z]\w+': 1", result.stderr)


def test_timeout_then_give_up(site, tmp_path) -> None:
    s = site(two_pages(lambda n: Reply(body=b"late", delay=3)))
    result, snapshot = crawl_site(
        s, tmp_path, "-s", "DOWNLOAD_TIMEOUT=1", "-s", "ARCHIVER_BACKOFF_BASE=0.05"
    )
    assert result.returncode == 3
    [failed] = snapshot.manifest["pages_failed"]
    assert "Timeout" in failed["reason"] or "timeout" in failed["reason"]


def test_truncated_body_is_retried_then_reported(site, tmp_path) -> None:
    s = site(two_pages(lambda n: Reply(body=listing_page(2, 2, 3).encode()[:200], truncate=True)))
    result, snapshot = crawl_site(s, tmp_path, "-s", "ARCHIVER_BACKOFF_BASE=0.05")
    assert result.returncode == 3 and snapshot.manifest["rows"] == 3
    [failed] = snapshot.manifest["pages_failed"]
    assert "DataLoss" in failed["reason"] or "data loss" in failed["reason"].lower()


def test_redirect_loop_ends(site, tmp_path) -> None:
    def page2(n: int) -> Reply:
        return Reply(302, b"", {"Location": "/page2b.html"})

    route = two_pages(page2)

    def looping(path: str, attempt: int) -> Reply:
        if path == "/page2b.html":
            return Reply(302, b"", {"Location": "/page2.html"})
        return route(path, attempt)

    s = site(looping)
    result, snapshot = crawl_site(s, tmp_path)
    assert result.returncode == 3 and snapshot.manifest["rows"] == 3
    assert len(snapshot.manifest["pages_failed"]) == 1
    assert s.requests_for("/page2.html") <= 6  # REDIRECT_MAX_TIMES bounds it


def test_slow_server_is_waited_for(site, tmp_path) -> None:
    s = site(two_pages(lambda n: Reply(body=listing_page(2, 2, 3).encode(), delay=1.0)))
    result, snapshot = crawl_site(s, tmp_path)
    assert result.returncode == 0 and snapshot.manifest["rows"] == 6


@pytest.mark.parametrize("status", [500, 503])
def test_robots_txt_5xx_means_disallow(site, tmp_path, status: int) -> None:
    s = site(two_pages(robots=Reply(status, b"oops")))
    result, snapshot = crawl_site(s, tmp_path, "-s", "ARCHIVER_BACKOFF_BASE=0.05")
    assert result.returncode == 1  # nothing archived
    assert snapshot.status == "failed" and snapshot.manifest["rows"] == 0
    assert "robots" in snapshot.manifest["pages_failed"][0]["reason"].lower()
    assert s.requests_for("/") == 0  # the listing itself was never fetched


@pytest.mark.parametrize(
    ("robots", "why", "page"),
    [
        (Reply(429, b"slow down"), "answered HTTP 429", "answered HTTP 429; the site is"),
        # Twisted's error or Scrapy's
        (
            Reply(reset=True),
            r"could not be fetched \(\w+Error\)",
            r"could not be fetched \(\w+Error\): \w+Error: ",
        ),
    ],
    ids=["429", "reset"],
)
def test_robots_txt_429_or_unreachable_means_disallow(site, tmp_path, robots, why, page) -> None:
    s = site(two_pages(robots=robots))
    result, snapshot = crawl_site(s, tmp_path, "-s", "ARCHIVER_BACKOFF_BASE=0.05")
    assert result.returncode == 1, result.stderr[-2000:]
    assert snapshot.status == "failed" and snapshot.manifest["rows"] == 0
    assert s.requests_for("/") == 0 and s.requests_for("/page2.html") == 0
    assert snapshot.manifest["stats"]["archiver/robots/site/disallowed_unreachable"] == 1
    netloc = s.url.split("/")[2]
    # The page says what happened to robots.txt: the site's rules never forbade it.
    [failed] = snapshot.manifest["pages_failed"]
    assert re.fullmatch(
        rf"not fetched: robots.txt of {netloc} {page}.* treated as disallowed \(RFC 9309\)",
        failed["reason"],
    ), failed["reason"]
    assert "Forbidden by robots.txt" not in result.stderr
    assert re.search(
        rf"robots.txt of {netloc} {why}: treating the site as disallowed\n", result.stderr
    )
    assert "Traceback" not in result.stderr  # one line, not Scrapy's traceback


def test_every_page_waiting_for_a_refused_robots_txt_is_released(site, tmp_path) -> None:
    """Two listings on one host wait for the same robots.txt: when it is refused, both are
    listed as failed and the crawl ends (a waiter left behind would hang it for good)."""
    s = site(two_pages(robots=Reply(429, b"slow down")))
    starts = f"start_urls={s.url},{s.url}page2.html"
    result = run_crawl("-a", starts, *RETRY, data_dir=tmp_path, timeout=60)
    assert result.returncode == 1, result.stderr[-2000:]
    [snapshot] = list_snapshots(tmp_path)
    reasons = [f["reason"] for f in snapshot.manifest["pages_failed"]]
    assert len(reasons) == 2 and all("robots.txt of" in r and "HTTP 429" in r for r in reasons)


def test_robots_txt_404_means_allowed(site, tmp_path) -> None:
    s = site(two_pages(robots=Reply(404, b"none")))
    result, snapshot = crawl_site(s, tmp_path)
    assert result.returncode == 0 and snapshot.manifest["rows"] == 6


def test_robots_txt_that_redirects_without_end_means_allowed(site, tmp_path) -> None:
    """RFC 9309, 2.3.1.2: after too many redirects robots.txt may be taken as unavailable,
    which (as a 404) allows everything. Scrapy gives up on the chain with IgnoreRequest,
    which is not a server failure: the site is crawled, not refused."""
    pages = two_pages()

    def route(path: str, attempt: int) -> Reply:
        if path == "/robots.txt" or path.startswith("/robots-"):
            hop = int(path.removeprefix("/robots-") or 0) if path != "/robots.txt" else 0
            return Reply(302, b"", headers={"Location": f"/robots-{hop + 1}"})
        return pages(path, attempt)

    s = site(route)
    result, snapshot = crawl_site(s, tmp_path, "-s", "REDIRECT_MAX_TIMES=3")
    assert result.returncode == 0, result.stderr[-2000:]
    assert snapshot.status == "complete" and snapshot.manifest["rows"] == 6
    assert s.requests_for("/robots-3") == 1 and s.requests_for("/robots-4") == 0
    assert "treating the site as disallowed" not in result.stderr


# --- Leaving the site -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("location", "reason"),
    [
        ("http://localhost:{port}/page2.html", "offsite: http://localhost:{port}/page2.html"),
        ("http://169.254.169.254/latest/meta-data/", "offsite: http://169.254.169.254/"),
        # Scrapy itself follows redirects only to http(s); the page says where it pointed.
        ("file:///etc/passwd", "HTTP 302: redirect to file:///etc/passwd not followed"),
        ("ftp://127.0.0.1/x", "HTTP 302: redirect to ftp://127.0.0.1/x not followed"),
    ],
)
def test_redirects_off_the_site_are_not_followed(site, tmp_path, location: str, reason) -> None:
    holder: dict = {}
    s = site(
        two_pages(lambda n: Reply(302, b"", {"Location": location.format(port=holder["port"])}))
    )
    holder["port"] = s.httpd.server_address[1]
    result, snapshot = crawl_site(s, tmp_path)
    assert result.returncode == 3 and snapshot.manifest["rows"] == 3
    [failed] = snapshot.manifest["pages_failed"]
    assert reason.format(port=holder["port"]) in failed["reason"]
    assert s.requests_for("/page2.html") == 1  # followed nowhere, and not re-fetched via localhost


@pytest.mark.parametrize(
    "href",
    [
        "https://elsewhere.example/page2.html",
        "file:///etc/passwd",
        "data:text/html,<li class=post>x</li>",
        "ftp://127.0.0.1/p2",
        "javascript:alert(1)",
        "http://10.0.0.1/page2.html",
    ],
)
def test_next_links_off_the_site_are_not_followed(site, tmp_path, href: str) -> None:
    page = listing_page(1, 2, 3, next_href=href).encode()
    s = site(lambda path, n: ROBOTS_OK if path == "/robots.txt" else Reply(body=page))
    result, snapshot = crawl_site(s, tmp_path)
    assert result.returncode == 0 and snapshot.manifest["rows"] == 3
    assert "leaves the site" in snapshot.manifest["listings"][0]["stopped"]
    assert snapshot.manifest["stats"]["archiver/follow/next/offsite"] == 1


def internal_service(site) -> ScriptedSite:
    """Another service on the same machine (another port of 127.0.0.1), with rows of its own."""
    page = listing_page(1, 1, 2).replace("Post number", "Internal row").encode()
    return site(lambda path, n: ROBOTS_OK if path == "/robots.txt" else Reply(body=page))


def test_a_next_link_to_another_port_of_the_host_is_not_followed(site, tmp_path) -> None:
    internal = internal_service(site)
    page = listing_page(1, 2, 3, next_href=f"{internal.url}page2.html").encode()
    s = site(lambda path, n: ROBOTS_OK if path == "/robots.txt" else Reply(body=page))
    result, snapshot = crawl_site(s, tmp_path)
    assert result.returncode == 0 and snapshot.manifest["rows"] == 3
    assert internal.log == []  # not even its robots.txt
    assert "leaves the site" in snapshot.manifest["listings"][0]["stopped"]
    assert snapshot.manifest["stats"]["archiver/follow/next/offsite"] == 1


def test_a_redirect_to_another_port_of_the_host_is_not_followed(site, tmp_path) -> None:
    internal = internal_service(site)
    s = site(two_pages(lambda n: Reply(302, b"", {"Location": f"{internal.url}rows"})))
    result, snapshot = crawl_site(s, tmp_path)
    assert result.returncode == 3 and snapshot.manifest["rows"] == 3
    [failed] = snapshot.manifest["pages_failed"]
    assert f"offsite: {internal.url}rows is not on the site of {s.url}" in failed["reason"]
    assert internal.log == []
    assert "Internal row" not in json.dumps(archiver.load(tmp_path)["title"].tolist())


def test_allowed_hosts_widen_the_site_to_another_port(site, tmp_path) -> None:
    internal = internal_service(site)
    page = listing_page(1, 2, 3, next_href=f"{internal.url}page2.html").encode()
    s = site(lambda path, n: ROBOTS_OK if path == "/robots.txt" else Reply(body=page))
    netloc = internal.url.split("/")[2]
    result, snapshot = crawl_site(s, tmp_path, "-s", f"ARCHIVER_ALLOWED_HOSTS={netloc}")
    assert result.returncode == 0 and snapshot.manifest["rows"] == 5, result.stderr[-2000:]
    assert internal.requests_for("/page2.html") == 1


@pytest.mark.parametrize(
    "setting", [[], ["-s", "ROBOTSTXT_OBEY=False"]], ids=["robots", "no-robots"]
)
def test_a_host_that_refuses_connections_says_so(tmp_path, setting) -> None:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there now
    url = f"http://127.0.0.1:{port}/"
    result = run_crawl("-a", f"start_urls={url}", *RETRY, *setting, data_dir=tmp_path)
    assert result.returncode == 1, result.stderr[-2000:]
    [snapshot] = list_snapshots(tmp_path)
    [failed] = snapshot.manifest["pages_failed"]
    said = f"cannot reach 127.0.0.1:{port}: connection refused"
    if setting:
        assert failed["reason"] == said
    else:
        assert failed["reason"] == f"{said} (while fetching robots.txt)"
    assert f"ERROR: {url}: {failed['reason']}\n" in result.stderr
    assert "Forbidden by robots.txt" not in result.stderr and "Traceback" not in result.stderr


def test_a_name_that_does_not_exist_says_dns_lookup_failed(site, tmp_path) -> None:
    result = run_crawl(
        "-a", "start_urls=http://gone.example/", *RETRY, *fake_dns({}), data_dir=tmp_path
    )
    assert result.returncode == 1, result.stderr[-2000:]
    [snapshot] = list_snapshots(tmp_path)
    [failed] = snapshot.manifest["pages_failed"]
    assert (
        failed["reason"]
        == "cannot reach gone.example: DNS lookup failed (while fetching robots.txt)"
    )
    assert "Forbidden by robots.txt" not in result.stderr and "Traceback" not in result.stderr


def test_a_public_name_resolving_to_a_loopback_address_is_refused(site, tmp_path) -> None:
    """DNS rebinding: the name looks public, its address is this machine. The crawl's own
    resolver (tests.sites.FakeDNS) answers 127.0.0.1; the guard refuses the address it
    would connect to, so the server sees nothing."""
    s = site(two_pages())
    port = s.httpd.server_address[1]
    url = f"http://listing.example:{port}/"
    dns = fake_dns({"listing.example": "127.0.0.1"})
    result = run_crawl("-a", f"start_urls={url}", *RETRY, *dns, data_dir=tmp_path / "refused")
    assert result.returncode == 1, result.stderr[-2000:]
    assert s.log == []
    [snapshot] = list_snapshots(tmp_path / "refused")
    [failed] = snapshot.manifest["pages_failed"]
    assert failed["reason"].startswith(
        f"cannot reach listing.example:{port}: 127.0.0.1 is a loopback address, which this "
        "crawl may not connect to (set ARCHIVER_ALLOW_PRIVATE_ADDRESSES=True to allow it)"
    )
    assert (
        "WARNING: not connecting to listing.example: 127.0.0.1 is a loopback address\n"
        in result.stderr
    )
    # The same crawl, allowed: the name does lead to the server, so the guard was what refused.
    allowed = ["-s", "ARCHIVER_ALLOW_PRIVATE_ADDRESSES=True"]
    result = run_crawl("-a", f"start_urls={url}", *RETRY, *dns, *allowed, data_dir=tmp_path / "ok")
    assert result.returncode == 0, result.stderr[-2000:]
    [snapshot] = list_snapshots(tmp_path / "ok")
    assert snapshot.manifest["rows"] == 6 and s.requests_for("/page2.html") == 1


def test_pagination_loop_a_b_a_ends(site, tmp_path) -> None:
    pages = {"/": listing_page(1, 2, 3, next_href="/b"), "/b": listing_page(2, 2, 3, next_href="/")}
    s = site(
        lambda path, n: ROBOTS_OK if path == "/robots.txt" else Reply(body=pages[path].encode())
    )
    result, snapshot = crawl_site(s, tmp_path)
    assert result.returncode == 0 and snapshot.manifest["rows"] == 6
    assert archiver.load(tmp_path)["entry_id"].is_unique


def loop_back_to_b(path: str, n: int) -> Reply:
    """/ -> /b -> /c -> /b: the third page links back to the second."""
    pages = {
        "/": listing_page(1, 3, 3, next_href="/b"),
        "/b": listing_page(2, 3, 3, next_href="/c"),
        "/c": listing_page(3, 3, 3, next_href="/b"),
    }
    return ROBOTS_OK if path == "/robots.txt" else Reply(body=pages[path].encode())


@pytest.mark.parametrize(
    ("stated", "why"),
    [("2999-01-01T00:00:00Z", "lies in the future"), ("2025-10-15 noon", "not a time")],
)
def test_a_time_the_page_states_that_cannot_be_used_gives_way_to_the_date_header(
    site, tmp_path, stated: str, why: str
) -> None:
    """The demo format states its capture time; a page stating one that is in the future or
    not a time is read against its Date header instead, and the crawl says so."""
    footer = f'<footer class="capture">Captured <time datetime="{stated}">then</time></footer>'
    page = listing_page(1, 1, 3).replace("</body>", footer + "</body>")
    s = site(lambda path, n: ROBOTS_OK if path == "/robots.txt" else Reply(body=page.encode()))
    result, snapshot = crawl_site(s, tmp_path)
    assert result.returncode == 0 and snapshot.manifest["rows"] == 3, result.stderr[-2000:]
    assert (
        f"{s.url}: the time the page states ({stated!r}) is not a time with a zone, or lies "
        "in the future; using its date header"
    ) in result.stderr
    assert snapshot.manifest["stats"]["archiver/page_time/stated/unusable"] == 1
    assert snapshot.manifest["listings"][0]["page_time_sources"] == {"date_header": 1}
    [page_time] = archiver.load(tmp_path)["page_time"].unique()
    assert page_time == SEED_CAPTURE, why  # the Date header ScriptedSite sends


def test_pagination_that_loops_back_to_a_middle_page_ends_and_says_so(site, tmp_path) -> None:
    s = site(loop_back_to_b)
    result, snapshot = crawl_site(s, tmp_path)
    assert result.returncode == 0 and snapshot.manifest["rows"] == 9
    [listing] = snapshot.manifest["listings"]
    assert listing["stopped"] == f"pagination loops back to {s.url}b"
    assert snapshot.manifest["stats"]["archiver/follow/next/loop"] == 1


def test_endless_query_string_pagination_ends(site, tmp_path) -> None:
    def route(path: str, n: int) -> Reply:
        if path == "/robots.txt":
            return ROBOTS_OK
        page = int(path.partition("?p=")[2] or 1)
        return Reply(body=listing_page(1, 2, 3, next_href=f"/?p={page + 1}").encode())

    s = site(route)
    result, snapshot = crawl_site(s, tmp_path)
    assert result.returncode == 0 and snapshot.manifest["rows"] == 3
    assert "repeats an earlier page" in snapshot.manifest["listings"][0]["stopped"]
    assert len(s.log) <= 3  # robots.txt, page 1, the repeat


# --- Hostile pages ----------------------------------------------------------------------------


def hostile(page2_body: bytes, headers: dict | None = None):
    return two_pages(lambda n: Reply(body=page2_body, headers=headers or {}))


def test_page_over_the_size_limit_is_refused(site, tmp_path) -> None:
    huge = listing_page(2, 2, 3).encode().replace(b"</ol>", b"<!--" + b"x" * 300_000 + b"--></ol>")
    s = site(hostile(huge))
    result, snapshot = crawl_site(s, tmp_path, "-s", "DOWNLOAD_MAXSIZE=100000")
    assert result.returncode == 3 and snapshot.manifest["rows"] == 3


def test_compression_bomb_is_refused(site, tmp_path) -> None:
    # 50 MB of a readable listing page (no NUL bytes, so nothing else refuses it) in 50 kB.
    page = listing_page(2, 2, 3).encode()
    bomb = gzip.compress(page.replace(b"</ol>", b"<!--" + b"x" * 50_000_000 + b"--></ol>"), 9)
    assert len(bomb) < 100_000
    s = site(hostile(bomb, {"Content-Encoding": "gzip"}))
    result, snapshot = crawl_site(s, tmp_path, "-s", "DOWNLOAD_MAXSIZE=1000000")
    assert result.returncode == 3 and snapshot.manifest["rows"] == 3
    [failed] = snapshot.manifest["pages_failed"]
    assert "exceeded DOWNLOAD_MAXSIZE (1000000 B) during decompression" in failed["reason"]


def test_deeply_nested_markup_is_a_failed_page_not_a_crash(site, tmp_path) -> None:
    """lxml stops at its depth limit (256): what lies deeper is not read, and the page,
    whose entries are all deeper, is listed as failed."""
    body = listing_page(2, 2, 3).replace(
        '<ol class="posts">', '<ol class="posts">' + "<div>" * 50_000
    )
    s = site(hostile(body.encode()))
    result, snapshot = crawl_site(s, tmp_path, "-a", "profile=demo")
    assert result.returncode == 3, result.stderr[-2000:]
    assert snapshot.status == "partial" and snapshot.manifest["rows"] == 3
    [failed] = snapshot.manifest["pages_failed"]
    assert failed["url"].endswith("/page2.html") and "no entries found" in failed["reason"]
    assert "Traceback" not in result.stderr


def test_binary_served_as_html_is_a_failed_page(site, tmp_path) -> None:
    s = site(hostile(bytes(range(256)) * 400))
    result, snapshot = crawl_site(s, tmp_path)
    assert result.returncode == 3 and snapshot.manifest["rows"] == 3
    assert "binary content" in snapshot.manifest["pages_failed"][0]["reason"]


RUSSIAN = {"Post number": "Запись номер", "Summary of post": "Краткое содержание"}
JAPANESE = {"Post number": "投稿番号", "Summary of post": "日本語の要約"}
FRENCH = {"Summary of post": "Résumé café of post"}


def page2_in(words: dict[str, str]) -> str:
    page = listing_page(2, 2, 3)
    for english, other in words.items():
        page = page.replace(english, other)
    return page


@pytest.mark.parametrize(
    ("words", "sent_as", "declared", "declared_as", "read_as"),
    [
        (RUSSIAN, "cp1251", "utf-8", "utf-8", "cp1251"),  # not UTF-8: detected
        (JAPANESE, "utf-8", "shift_jis", "cp932", "utf-8"),
        (RUSSIAN, "utf-8", "windows-1251", "cp1251", "utf-8"),  # "decodes", as mojibake
        (FRENCH, "latin-1", "utf-8", "utf-8", "cp1252"),
    ],
    ids=["cp1251-as-utf-8", "utf-8-as-shift_jis", "utf-8-as-cp1251", "latin-1-as-utf-8"],
)
def test_a_page_in_another_charset_than_it_declares_is_read_right_and_said(
    site, tmp_path, words, sent_as, declared, declared_as, read_as
) -> None:
    page = page2_in(words).replace("<meta charset='utf-8'>", "")
    s = site(hostile(page.encode(sent_as), {"Content-Type": f"text/html; charset={declared}"}))
    result, snapshot = crawl_site(s, tmp_path)
    assert result.returncode == 0 and snapshot.manifest["rows"] == 6, result.stderr[-2000:]
    rows = archiver.load(tmp_path)
    expected = [f"{words.get('Post number', 'Post number')} {n}" for n in (4, 5, 6)]
    assert rows["title"].tolist()[3:] == expected
    if "Summary of post" in words:
        assert rows["summary"].iloc[3] == f"{words['Summary of post']} 4 & more."
    [listing] = snapshot.manifest["listings"]
    assert listing["encodings"] == (
        {"utf-8": 2} if read_as == "utf-8" else {"utf-8": 1, read_as: 1}
    )
    [problem] = listing["decode_problems"]
    assert problem == {
        "url": f"{s.url}page2.html",
        "encoding": read_as,
        "declared": declared_as,
        "declared_in_page": None,
        "detected": read_as,
        "reason": "declared_wrong",
        "undecodable_bytes": 0,
    }
    assert snapshot.manifest["stats"]["archiver/decode/page/declared_wrong"] == 1
    assert (
        f"WARNING: {s.url}page2.html: the page is not {declared_as}, as it declares; read as "
        f"{read_as}, which its bytes are\n" in result.stderr
    )


def test_bytes_no_encoding_reads_are_counted_not_hidden(site, tmp_path) -> None:
    """Invalid UTF-8 among valid UTF-8: damaged UTF-8, not another charset. What cannot be
    read is replaced, and the page, the bytes and the fields are counted."""
    page = page2_in(JAPANESE).encode("utf-8").replace("要約".encode(), b"\xff\xfe")
    s = site(hostile(page))
    result, snapshot = crawl_site(s, tmp_path)
    assert result.returncode == 0 and snapshot.manifest["rows"] == 6, result.stderr[-2000:]
    summaries = archiver.load(tmp_path)["summary"].tolist()[3:]
    assert summaries == [f"日本語の\ufffd\ufffd {n} & more." for n in (4, 5, 6)]
    stats = snapshot.manifest["stats"]
    assert stats["archiver/decode/page/undecodable"] == 1
    assert stats["archiver/decode/bytes/undecodable"] == 6
    assert stats["archiver/decode/summary/replaced"] == 3
    assert "archiver/decode/title/replaced" not in stats
    [problem] = snapshot.manifest["listings"][0]["decode_problems"]
    assert problem["reason"] == "undecodable" and problem["undecodable_bytes"] == 6
    assert problem["encoding"] == problem["declared"] == "utf-8"
    assert (
        f"WARNING: {s.url}page2.html: 6 bytes are not utf-8 (as declared) and no other "
        "encoding reads the page; they are archived as U+FFFD" in result.stderr
    )


def test_pages_read_as_they_declare_say_nothing(site, tmp_path) -> None:
    page = page2_in(RUSSIAN).replace("<meta charset='utf-8'>", "").encode("cp1251")
    s = site(hostile(page, {"Content-Type": "text/html; charset=windows-1251"}))
    result, snapshot = crawl_site(s, tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert archiver.load(tmp_path)["title"].iloc[3] == "Запись номер 4"
    [listing] = snapshot.manifest["listings"]
    assert listing["encodings"] == {"utf-8": 1, "cp1251": 1}
    assert listing["decode_problems"] == []
    assert not any(key.startswith("archiver/decode/") for key in snapshot.manifest["stats"])


def test_malformed_and_truncated_html_still_yields_entries(site, tmp_path) -> None:
    body = listing_page(2, 2, 3).encode()
    cut = body[: body.index(b"Post number 6")]  # the third entry is cut mid-tag
    s = site(hostile(cut.replace(b"</li>", b"")))
    result, snapshot = crawl_site(s, tmp_path, "-a", "profile=demo")
    assert result.returncode == 0
    assert snapshot.manifest["rows"] >= 5


def test_nonsense_values_are_counted_not_fatal(site, tmp_path) -> None:
    body = (
        listing_page(2, 2, 3)
        .replace("4 days ago", "in 3 days")
        .replace("35 views", "lots of views")
        .replace("28 views", "-5 views")
        .replace("42 views", "1e309 views")
        .replace("6 days ago", "ages ago")
    )
    s = site(hostile(body.encode()))
    result, snapshot = crawl_site(s, tmp_path)
    assert result.returncode == 0 and snapshot.manifest["rows"] == 6
    stats = snapshot.manifest["stats"]
    assert (
        stats["archiver/age/age_text/future"] == 1 and stats["archiver/age/age_text/unparsed"] == 1
    )
    assert (
        stats["archiver/views/views_text/unparsed"] == 2
        and stats["archiver/views/views_text/negative"] == 1
    )


def test_entries_missing_every_optional_field(site, tmp_path) -> None:
    body = b"<html><body><h1>Latest</h1><ol class='posts'><li class='post'><h2 class='post-title'>Bare</h2></li><li class='post'></li></ol></body></html>"
    s = site(hostile(body))
    result, snapshot = crawl_site(s, tmp_path)
    assert result.returncode == 0 and snapshot.manifest["rows"] == 4
    stats = snapshot.manifest["stats"]
    assert stats["archiver/validate/title/missing"] == 1
    bare = archiver.load(tmp_path).set_index("title").loc["Bare"]
    assert bare[["url", "summary", "age_text", "views"]].isna().all()


def test_page_with_no_entries_makes_the_snapshot_partial(site, tmp_path) -> None:
    s = site(hostile(b"<html><body><ol class='posts'></ol></body></html>"))
    result, snapshot = crawl_site(s, tmp_path, "-a", "profile=demo")
    assert result.returncode == 3 and snapshot.manifest["rows"] == 3
    assert snapshot.manifest["stats"]["archiver/extract/page/no_entries"] == 1
    assert "no entries found" in snapshot.manifest["pages_failed"][0]["reason"]


# --- Output stays where it belongs ------------------------------------------------------------


def test_snapshots_off_writes_no_snapshot_but_the_feed(site, tmp_path) -> None:
    s = site(two_pages())
    out = tmp_path / "out.jsonl"
    result, snapshot = crawl_site(
        s, tmp_path / "data", "-s", "ARCHIVER_SNAPSHOTS=False", "-O", str(out)
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert snapshot is None and not (tmp_path / "data").exists()
    assert len(out.read_text("utf-8").splitlines()) == 6
    assert "snapshot" not in result.stdout


def test_several_start_urls_make_one_snapshot_with_a_listing_each(site, tmp_path) -> None:
    pages = {
        "/a/": listing_page(1, 2, 3, next_href="/a/2"),
        "/a/2": listing_page(2, 2, 3, next_href=""),
        "/b/": listing_page(1, 1, 2).replace("Post number", "B post"),
    }
    s = site(
        lambda path, n: (
            ROBOTS_OK
            if path == "/robots.txt"
            else Reply(body=pages[path].encode())
            if path in pages
            else Reply(404, b"no")
        )
    )
    a, b = f"{s.url}a/", f"{s.url}b/"
    result = run_crawl("-a", f"start_urls={a},{b}", *RETRY, data_dir=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    [snapshot] = list_snapshots(tmp_path)
    listings = {x["start_url"]: x for x in snapshot.manifest["listings"]}
    assert list(listings) == [a, b] and snapshot.manifest["start_urls"] == [a, b]
    assert (listings[a]["pages_fetched"], listings[a]["extracted"]) == (2, 6)
    assert (listings[b]["pages_fetched"], listings[b]["extracted"]) == (1, 2)
    frame = archiver.load(tmp_path)
    by_listing = frame.groupby("listing_url")["position"].apply(list).to_dict()
    assert by_listing == {a: [1, 2, 3, 4, 5, 6], b: [1, 2]}  # positions count per listing
    assert set(frame.loc[frame["listing_url"] == b, "title"]) == {"B post 1", "B post 2"}


def test_full_disk_fails_in_one_line_and_leaves_nothing(tmp_path) -> None:
    def limit_file_size() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (12_000, 12_000))
        import signal

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)

    result = run_crawl(data_dir=tmp_path, preexec_fn=limit_file_size)
    assert result.returncode == 1, result.stderr[-2000:]
    errors = [line for line in result.stderr.splitlines() if "cannot write snapshot" in line]
    assert errors and "File too large" in errors[0]
    assert list_snapshots(tmp_path) == []
    assert not any((tmp_path / ".staging").iterdir())


def test_two_crawls_at_once_publish_two_snapshots(tmp_path) -> None:
    command = crawl_command(data_dir=tmp_path)
    processes = [
        subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(2)
    ]
    assert [p.wait(timeout=120) for p in processes] == [0, 0]
    snapshots = list_snapshots(tmp_path)
    assert len(snapshots) == 2 and snapshots[0].snapshot_id != snapshots[1].snapshot_id
    assert [s.manifest["rows"] for s in snapshots] == [15, 15]


def test_page_content_never_names_a_path(site, tmp_path) -> None:
    body = listing_page(2, 2, 3).replace("Made-up Blog", "../../../../etc/evil").encode()
    s = site(hostile(body))
    result, _snapshot = crawl_site(s, tmp_path / "data")
    assert result.returncode == 0
    created = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*"))
    assert all(path.startswith("data") for path in created)
    assert "../../../../etc/evil" in archiver.load(tmp_path / "data")["source"].tolist()


# --- An error while a page is read: the page is failed, never silently lost -------------------

BOOM_PROFILE = """
name = "boom"
entries = "ol.posts > li.post"
[fields]
title = "h2.post-title ::text"
url = "h2.post-title a::attr(href)"
# Valid XPath that fails when evaluated, and only where a p.boom exists (page 2): its pattern
# is computed, so the start-up check (which compiles literal patterns) cannot know it.
flag = ".//p[contains(@class, 'boom')][re:test(., concat('(', ''))]"
[page]
next = "a[rel~=next]::attr(href)"
"""


def assert_page2_failed(result, snapshot, s: ScriptedSite, reason: str) -> None:
    assert result.returncode == 3, result.stderr[-3000:]
    assert snapshot.status == "partial"
    [failed] = snapshot.manifest["pages_failed"]
    assert failed["url"] == f"{s.url}page2.html" and reason in failed["reason"]
    lines = [line for line in result.stderr.splitlines() if f"{s.url}page2.html: " in line]
    assert len(lines) == 1 and reason in lines[0]
    assert result.stdout.strip().splitlines()[-1].startswith("snapshot partial: ")


def test_an_error_while_reading_a_page_fails_the_page(site, tmp_path) -> None:
    profile = tmp_path / "boom.toml"
    profile.write_text(BOOM_PROFILE)
    s = site(
        two_pages(
            lambda n: Reply(
                body=listing_page(2, 2, 3).replace('"post-summary"', '"post-summary boom"').encode()
            )
        )
    )
    result, snapshot = crawl_site(s, tmp_path / "data", "-a", f"profile={profile}")
    assert_page2_failed(result, snapshot, s, "error while reading the page: re.error")
    assert snapshot.manifest["rows"] == 3  # page 1 only: nothing of page 2 was read


@pytest.mark.parametrize(
    ("pipeline", "reason"),
    [
        ("tests.injected.ExplodingPipeline", "entry 5 could not be archived: RuntimeError"),
        (
            "tests.injected.WrongTypePipeline",
            "entry 5 could not be written: TypeError: column 'views'",
        ),
    ],
)
def test_an_error_while_making_a_row_fails_its_page(site, tmp_path, pipeline, reason) -> None:
    from archiver.settings import ITEM_PIPELINES

    pipelines = json.dumps(ITEM_PIPELINES | {pipeline: 700})
    s = site(two_pages())
    result, snapshot = crawl_site(s, tmp_path / "data", "-s", f"ITEM_PIPELINES={pipelines}")
    assert_page2_failed(result, snapshot, s, reason)
    frame = archiver.load(tmp_path / "data")
    assert frame["position"].tolist() == [1, 2, 3, 4, 6]  # every other row is kept
    jsonl = snapshot.path / "_meta" / "entries.jsonl.gz"
    assert len(gzip.decompress(jsonl.read_bytes()).splitlines()) == 5  # the two files agree


def test_a_crawl_that_publishes_nothing_never_exits_0(site, tmp_path) -> None:
    extensions = json.dumps(
        {"archiver.extensions.SnapshotWriter": None, "tests.injected.BrokenSnapshotWriter": 500}
    )
    s = site(two_pages())
    result, snapshot = crawl_site(s, tmp_path / "data", "-s", f"EXTENSIONS={extensions}")
    assert result.returncode == 1 and snapshot is None
    assert "the crawl ended without publishing a snapshot" in result.stderr
