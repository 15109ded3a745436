"""The benchmark site: listings made from one real PaperMod page (benchmarks/data/), served
on 127.0.0.1 by a process of its own.

``LISTINGS`` listings of ``PAGES`` pages each (200 x 10 = 2,000 pages by default). Every page
is the real page with its titles made unique (``L3 P7 E12 ...``) and its pagination pointing
to the next page of its listing, so a crawler follows real markup through real pagination.
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from pathlib import Path

TEMPLATE = Path(__file__).parent / "data" / "papermod-page.html"
_TITLE = re.compile(r"(<h2 class=entry-hint-parent>)(.*?)(</h2>)", re.S)
_NEXT = re.compile(r"<a class=next href=[^>]*>")
_PREV = re.compile(r"<a class=prev href=[^>]*>")
_ABSOLUTE = "https://liudon.com/"


def page_html(template: str, listing: int, page: int, pages: int) -> str:
    counter = iter(range(1, 10_000))
    html = _TITLE.sub(lambda m: f"{m[1]}L{listing} P{page} E{next(counter)} {m[2]}{m[3]}", template)
    html = html.replace("href=https://liudon.com/posts/", f"href=/posts/l{listing}p{page}-")
    nxt = f"<a class=next href=/l{listing}/page/{page + 1}/>" if page < pages else ""
    html = _NEXT.sub(nxt, html)
    html = _PREV.sub(f"<a class=prev href=/l{listing}/>", html)
    return html.replace(_ABSOLUTE, "/")


def build(root: Path, listings: int = 200, pages: int = 10) -> list[str]:
    """Write the site under ``root``; return the start paths (one per listing)."""
    template = TEMPLATE.read_text("utf-8")
    starts = []
    for listing in range(1, listings + 1):
        for page in range(1, pages + 1):
            folder = root / f"l{listing}" / ("" if page == 1 else f"page/{page}")
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "index.html").write_text(page_html(template, listing, page, pages), "utf-8")
        starts.append(f"/l{listing}/")
    (root / "robots.txt").write_text("User-agent: *\nAllow: /\n")
    return starts


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """``python -m http.server``-like, but threaded and quiet, in its own process; on one
    host, or the same site on several (to a crawler, as many sites, each with its own
    politeness): ``Server(root, hosts=loopback(200))``."""

    def __init__(self, root: Path, host: str = "127.0.0.1", hosts: list[str] | None = None):
        self.hosts = hosts or [host]
        self.host = self.hosts[0]
        self.port = free_port()
        self.process = subprocess.Popen(
            [sys.executable, __file__, "serve", str(root), str(self.port), *self.hosts],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        for name in self.hosts:
            while True:
                try:
                    socket.create_connection((name, self.port), timeout=0.2).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise RuntimeError("benchmark server did not start") from None
                    time.sleep(0.05)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def url_for(self, n: int) -> str:
        """The site on the n-th host (wrapping around)."""
        return f"http://{self.hosts[n % len(self.hosts)]}:{self.port}"

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def loopback(count: int) -> list[str]:
    """``count`` loopback addresses: 127.0.0.2, 127.0.0.3, ..."""
    return [f"127.0.0.{2 + n}" for n in range(count)]


def _serve(root: str, port: int, hosts: list[str]) -> None:
    import threading
    from functools import partial
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    class Quiet(SimpleHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

    ThreadingHTTPServer.daemon_threads = True
    servers = [ThreadingHTTPServer((h, port), partial(Quiet, directory=root)) for h in hosts]
    for server in servers[1:]:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    servers[0].serve_forever()


if __name__ == "__main__" and sys.argv[1:2] == ["serve"]:
    _serve(sys.argv[2], int(sys.argv[3]), sys.argv[4:])
