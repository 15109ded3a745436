"""Listing sites made up for fault tests: many pages in the demo format, and a server whose
every answer a test can script (status, headers, delay, body), all on 127.0.0.1."""

from __future__ import annotations

import ipaddress
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import format_datetime
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.error import DNSLookupError
from twisted.internet.interfaces import IResolverSimple
from zope.interface import implementer

from tests.conftest import SEED_CAPTURE


def listing_page(page: int, pages: int, per_page: int, next_href: str | None = None) -> str:
    """One page of a made-up aggregator in the demo format (profile ``demo``)."""
    items = []
    for i in range(per_page):
        n = (page - 1) * per_page + i + 1
        items.append(
            f'<li class="post"><div class="post-meta"><span class="source">Made-up Blog</span> '
            f'<span class="age">{n} days ago</span></div>'
            f'<h2 class="post-title"><a href="/posts/{n}/">Post number {n}</a></h2>'
            f'<p class="post-summary">Summary of post {n} &amp; more.</p>'
            f'<span class="views">{n * 7} views</span></li>'
        )
    if next_href is None and page < pages:
        next_href = f"/page{page + 1}.html"
    nav = f'<a rel="next" href="{escape(next_href)}">Older</a>' if next_href else ""
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Page {page}</title></head><body>"
        f'<h1>Latest Posts <span class="found">({pages * per_page} found)</span></h1>'
        f'<ol class="posts">{"".join(items)}</ol><nav>{nav}</nav></body></html>'
    )


def write_listing(root: Path, pages: int, per_page: int) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for page in range(1, pages + 1):
        name = "index.html" if page == 1 else f"page{page}.html"
        body = listing_page(page, pages, per_page).replace(
            'href="/page2.html"', 'href="/page2.html"'
        )
        (root / name).write_text(body, encoding="utf-8")
    return root


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering
    truncate: bool = False  # announce a longer body than is sent, then close
    reset: bool = False  # close the connection without answering


class ScriptedSite:
    """A real HTTP server; ``route(path, attempt)`` decides each answer.

    ``attempt`` counts requests to that path from 1, so a test can fail the first tries and
    succeed later. Every request is logged with its time, for backoff assertions.
    """

    def __init__(self, route: Callable[[str, int], Reply], date=SEED_CAPTURE) -> None:
        self.log: list[tuple[str, float]] = []
        self.agents: list[str] = []
        self.counts: dict[str, int] = {}
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                site.log.append((self.path, time.monotonic()))
                site.agents.append(self.headers.get("User-Agent", ""))
                site.counts[self.path] = site.counts.get(self.path, 0) + 1
                reply = route(self.path, site.counts[self.path])
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.reset:
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                self.send_response(reply.status)
                self.send_header("Date", format_datetime(date, usegmt=True))
                headers = {"Content-Type": "text/html; charset=utf-8"} | reply.headers
                for name, value in headers.items():
                    self.send_header(name, value)
                length = len(reply.body) * (2 if reply.truncate else 1)
                self.send_header("Content-Length", str(length))
                self.end_headers()
                try:
                    self.wfile.write(reply.body)
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    pass
                if reply.truncate:
                    self.close_connection = True

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def requests_for(self, path: str) -> int:
        return self.counts.get(path, 0)

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def serve_files(
    root: Path, delay: float = 0.0, robots: bytes = b"User-agent: *\nAllow: /\n"
) -> Callable[[str, int], Reply]:
    """A route serving ``root`` (``/`` is ``index.html``), each page after ``delay``."""

    def route(path: str, attempt: int) -> Reply:
        if path == "/robots.txt":
            return Reply(body=robots, headers={"Content-Type": "text/plain"})
        name = "index.html" if path == "/" else path.lstrip("/")
        file = root / name
        if "/" in name or not file.is_file():
            return Reply(status=404, body=b"not found")
        return Reply(body=file.read_bytes(), delay=delay)

    return route


@implementer(IResolverSimple)
class FakeDNS:
    """A name server of the test's own, for the crawl process: ``-s ARCHIVER_DNS_RESOLVER=
    tests.sites.FakeDNS -s 'FAKE_DNS={"listing.example": "127.0.0.1"}'``. A name it does not
    hold does not exist (NXDOMAIN); nothing is asked of the machine's DNS."""

    def __init__(self, names: dict[str, str]) -> None:
        self.names = {name.lower(): address for name, address in names.items()}

    @classmethod
    def from_crawler(cls, crawler, reactor=None) -> FakeDNS:
        return cls(crawler.settings.getdict("FAKE_DNS"))

    def getHostByName(self, name: str, timeout=()) -> Deferred:
        if name in self.names or _is_ip(name):
            return succeed(self.names.get(name.lower(), name))
        return fail(DNSLookupError(f"no such name: {name}"))


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def fake_dns(names: dict[str, str]) -> list[str]:
    """The crawl arguments that make the crawl resolve ``names`` (and nothing else)."""
    return [
        "-s",
        "ARCHIVER_DNS_RESOLVER=tests.sites.FakeDNS",
        "-s",
        f"FAKE_DNS={json.dumps(names)}",
    ]
