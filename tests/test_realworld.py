"""Real pages no one here wrote (../shared/realworld), archived exactly.

The PaperMod blog is served by a local mirror that answers for the site's absolute links, and
the crawl is compared entry by entry with the blog's own RSS feed.
"""

from __future__ import annotations

import re
import threading
from datetime import UTC, timedelta
from email.utils import parsedate_to_datetime
from html import unescape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pandas as pd
import pytest
from parsel import Selector

import archiver
from archiver.extract.profiles import resolve_profile
from archiver.extract.published import stated_interval
from archiver.store.layout import list_snapshots
from tests.conftest import REALWORLD, needs_realworld

pytestmark = needs_realworld()
BLOG = REALWORLD / "lillog-papermod"
ORIGIN = "https://lilianweng.github.io/"


class Mirror:
    """Serves the saved blog at /, /page/N/ and /index.xml, with the site's own absolute
    links rewritten to point here, as a replay of the real site would."""

    def __init__(self) -> None:
        self.requested: list[str] = []
        mirror = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                mirror.requested.append(self.path)
                match = re.fullmatch(r"/(?:page/(\d+)/)?", self.path)
                if self.path == "/index.xml":
                    name, kind = "index.xml", "application/rss+xml"
                elif match:
                    name = f"page{match[1]}.html" if match[1] else "index.html"
                    kind = "text/html; charset=utf-8"
                else:
                    self.send_error(404)
                    return
                body = (BLOG / name).read_bytes().replace(ORIGIN.encode(), mirror.url.encode())
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def rss_items() -> list[dict]:
    text = (BLOG / "index.xml").read_text("utf-8")
    items = []
    for block in re.findall(r"<item>(.*?)</item>", text, re.S):
        field = {
            k: re.search(rf"<{k}>(.*?)</{k}>", block, re.S)[1]
            for k in ("title", "link", "pubDate", "description")
        }
        items.append(
            {
                "title": unescape(field["title"]),
                "url": field["link"],
                "published": parsedate_to_datetime(field["pubDate"]).astimezone(UTC),
                # The description is escaped HTML whose text is escaped again.
                "summary": unescape(re.sub(r"<[^>]+>", " ", unescape(field["description"]))),
            }
        )
    return items


def squash(text: str) -> str:
    """Text without whitespace: markup-stripping leaves spaces where the page has none."""
    return "".join(text.split())


@pytest.fixture(scope="module")
def papermod_snapshot(tmp_path_factory):
    from tests.conftest import run_crawl

    mirror = Mirror()
    data_dir = tmp_path_factory.mktemp("papermod")
    try:
        result = run_crawl("-a", f"start_urls={mirror.url}", data_dir=data_dir)
    finally:
        mirror.stop()
    return result, data_dir, mirror


def test_crawl_follows_the_live_pagination_to_its_end(papermod_snapshot) -> None:
    result, data_dir, mirror = papermod_snapshot
    assert result.returncode == 0, result.stderr[-3000:]
    [snapshot] = list_snapshots(data_dir)
    assert snapshot.manifest["rows"] == 52 and snapshot.status == "complete"
    assert snapshot.manifest["listings"][0]["profile"] == "papermod"
    assert "profile auto: papermod matches" in result.stderr
    pages = [p for p in mirror.requested if p not in ("/robots.txt", "/index.xml")]
    assert pages == ["/", "/page/2/", "/page/3/", "/page/4/", "/page/5/", "/page/6/"]
    # The feed every page links is asked for once in the crawl, not once a page.
    assert mirror.requested.count("/index.xml") == 1
    assert snapshot.manifest["dating"]["feeds_read"] == {f"{mirror.url}index.xml": len(rss_items())}


def test_the_feed_dates_every_entry_to_its_second(papermod_snapshot) -> None:
    _, data_dir, mirror = papermod_snapshot
    frame = archiver.load(data_dir)
    truth = {item["url"]: item["published"] for item in rss_items()}
    assert (frame["published_source"] == "feed").all()
    assert frame["published_conflict"].isna().all()  # the printed dates agree with the feed
    for row in frame.itertuples():
        published = pd.Timestamp(truth[row.url.replace(mirror.url, ORIGIN)])
        assert row.published_earliest == published
        assert row.published_latest - row.published_earliest < pd.Timedelta(seconds=1)
        assert parsedate_to_datetime(row.published_raw).astimezone(UTC) == published


def test_every_entry_matches_the_sites_rss(papermod_snapshot) -> None:
    _, data_dir, mirror = papermod_snapshot
    frame = archiver.load(data_dir)
    truth = {item["url"]: item for item in rss_items()}
    assert frame["position"].tolist() == list(range(1, 53))
    for row in frame.itertuples():
        url = row.url.replace(mirror.url, ORIGIN)
        assert url in truth, url
        real = truth[url]
        assert row.title == real["title"]
        assert squash(row.summary) == squash(real["summary"]), row.title
        assert row.published_earliest <= pd.Timestamp(real["published"]) <= row.published_latest
        # One calendar day in every time zone, or better: 24 h + 26 h of zone offsets.
        assert (row.published_latest - row.published_earliest) <= pd.Timedelta(hours=50)
        assert row.source == "Lil'Log" and row.age_text.startswith(
            (
                "January",
                "February",
                "March",
                "April",
                "May",
                "June",
                "July",
                "August",
                "September",
                "October",
                "November",
                "December",
            )
        )


def test_the_stale_pages_nothing_links_to_are_not_archived(papermod_snapshot) -> None:
    _, data_dir, mirror = papermod_snapshot
    assert "/page/7/" not in mirror.requested and "/page/8/" not in mirror.requested
    assert archiver.load(data_dir)["entry_id"].is_unique


@pytest.mark.parametrize(
    ("page", "count"), [("page1.html", 30), ("page2.html", 30), ("page3.html", 30)]
)
def test_hn_pages_extract_thirty_entries_each(page: str, count: int) -> None:
    [profile] = resolve_profile("hn")
    data = profile.extract(
        Selector(text=(REALWORLD / "hn" / page).read_text("utf-8")),
        "https://news.ycombinator.com/news",
    )
    assert len(data.entries) == count
    assert all(e["title"] and e["age"] and e["age"].endswith("ago") for e in data.entries)
    assert data.next_url and "p=" in data.next_url
    # Each age's title states its instant ("2025-09-20T16:12:56 1758384776"): to the second.
    stated = [stated_interval(e["published"]) for e in data.entries]
    assert all(s is not None and s.latest - s.earliest < timedelta(seconds=1) for s in stated)
    without_score = [e for e in data.entries if e["points"] is None]
    assert len(without_score) == (1 if page == "page2.html" else 0)  # the job post
