"""Exact publication dates in a real crawl: the entry's markup, the site's feed and, with
``ARCHIVER_FOLLOW_ENTRIES``, the post's own page, on a blog served on 127.0.0.1."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

import archiver
from archiver.store.layout import list_snapshots
from tests.conftest import SEED_CAPTURE, run_crawl
from tests.sites import Reply, ScriptedSite
from tests.test_evidence import reparse

# (path, age as printed, markup time, in the feed, what the post's page says)
POSTS = {
    1: ("5 days ago", "2025-10-10T08:00:00Z", None, "json_ld"),
    2: ("1 month ago", None, "Mon, 08 Sep 2025 07:30:00 +0000", "json_ld"),
    3: ("2 months ago", None, None, "json_ld"),
    4: ("3 months ago", None, None, "meta"),
    5: ("4 months ago", None, None, "none"),
    6: ("5 months ago", None, None, "missing"),
    7: ("1 day ago", "2024-01-01T00:00:00Z", None, "json_ld"),
    8: ("Date: May 1, 2025", None, None, "json_ld"),
}
POST_TIMES = {
    3: "2025-08-01T10:00:00+02:00",
    4: "2025-07-02T09:15:00Z",
}


def listing() -> bytes:
    items = []
    for n, (age, markup, _, _) in POSTS.items():
        time = f'<time datetime="{markup}">{age}</time>' if markup else age
        items.append(
            f'<li class="post"><span class="source">Dated Blog</span> '
            f'<span class="age">{time}</span>'
            f'<h2 class="post-title"><a href="/posts/{n}/">Post {n}</a></h2>'
            f'<span class="views">{n} views</span></li>'
        )
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        '<link rel="alternate" type="application/rss+xml" href="/feed.xml"></head><body>'
        f'<ol class="posts">{"".join(items)}</ol></body></html>'
    ).encode()


def feed(base: str) -> bytes:
    items = "".join(
        f"<item><title>Post {n}</title><link>{base}posts/{n}/</link><pubDate>{date}</pubDate></item>"
        for n, (_, _, date, _) in POSTS.items()
        if date
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel>{items}</channel></rss>'.encode()


def post(n: int) -> bytes:
    kind = POSTS[n][3]
    stated = POST_TIMES.get(n, "2025-06-01T00:00:00Z")
    head = {
        "json_ld": '<script type="application/ld+json">'
        + json.dumps({"@type": "BlogPosting", "headline": f"Post {n}", "datePublished": stated})
        + "</script>",
        "meta": f'<meta property="article:published_time" content="{stated}">',
        "none": "",
    }[kind]
    return f"<html><head>{head}</head><body><h1>Post {n}</h1></body></html>".encode()


def blog(robots: bytes = b"User-agent: *\nAllow: /\n", failing: set[int] = frozenset()):
    holder: dict[str, str] = {}

    def route(path: str, attempt: int) -> Reply:
        if path == "/robots.txt":
            return Reply(body=robots, headers={"Content-Type": "text/plain"})
        if path == "/":
            return Reply(body=listing())
        if path == "/feed.xml":
            return Reply(body=feed(holder["base"]), headers={"Content-Type": "application/rss+xml"})
        if path.startswith("/posts/"):
            n = int(path.split("/")[2])
            if POSTS[n][3] == "missing" or n in failing:
                return Reply(status=404, body=b"gone")
            return Reply(body=post(n))
        return Reply(status=404, body=b"not found")

    site = ScriptedSite(route)
    holder["base"] = site.url
    return site


def crawl(site: ScriptedSite, data_dir: Path, *settings: str):
    args = ["-a", f"start_urls={site.url}", "-a", "profile=demo"]
    for setting in settings:
        args += ["-s", setting]
    result = run_crawl(*args, data_dir=data_dir)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def post_requests(site: ScriptedSite) -> list[str]:
    return sorted(path for path, _ in site.log if path.startswith("/posts/"))


def by_post(frame: pd.DataFrame) -> dict[int, object]:
    return {int(row.url.rstrip("/").rsplit("/", 1)[1]): row for row in frame.itertuples()}


def at(text: str) -> pd.Timestamp:
    return pd.Timestamp(datetime.fromisoformat(text).astimezone(UTC))


def test_markup_and_feed_date_entries_without_following_them(tmp_path) -> None:
    site = blog()
    try:
        result = crawl(site, tmp_path)
    finally:
        site.stop()
    assert site.requests_for("/feed.xml") == 1 and post_requests(site) == []
    rows = by_post(archiver.load(tmp_path))
    assert rows[1].published_source == "markup"
    assert rows[1].published_earliest == at("2025-10-10T08:00:00+00:00")
    assert rows[1].age_text == "5 days ago"  # kept as printed
    assert rows[2].published_source == "feed"
    assert rows[2].published_earliest == at("2025-09-08T07:30:00+00:00")
    assert rows[2].published_raw == "Mon, 08 Sep 2025 07:30:00 +0000"
    for n in (3, 4, 5, 6):  # nothing states more than the age
        assert rows[n].published_source == "age" and pd.isna(rows[n].published_raw)
        assert rows[n].published_latest - rows[n].published_earliest > pd.Timedelta(days=27)
    # The markup contradicts "1 day ago": the markup is kept, the disagreement named.
    assert rows[7].published_source == "markup" and rows[7].published_conflict == "age"
    assert rows[7].published_earliest == at("2024-01-01T00:00:00+00:00")
    assert "disagrees with age" in result.stderr
    [snapshot] = list_snapshots(tmp_path)
    stats = snapshot.manifest["stats"]
    assert stats["archiver/published/age/contradicted"] == 1
    assert stats["archiver/dates/feed/read"] == 1
    assert snapshot.manifest["dating"]["follow_entries"] is False


def test_following_entries_reads_each_new_post_once_across_daily_crawls(tmp_path) -> None:
    site = blog()
    try:
        crawl(site, tmp_path, "ARCHIVER_FOLLOW_ENTRIES=True")
        first = post_requests(site)
        # Entries already dated to the day (1, 2, 7 by markup or feed, 8 by its printed
        # date) are not followed; the others are, once each.
        assert first == ["/posts/3/", "/posts/4/", "/posts/5/", "/posts/6/"]
        rows = by_post(archiver.load(tmp_path))
        assert rows[3].published_source == "post"
        assert rows[3].published_earliest == at(POST_TIMES[3])
        assert rows[3].published_latest - rows[3].published_earliest < pd.Timedelta(seconds=1)
        assert rows[4].published_source == "post" and rows[4].published_raw == POST_TIMES[4]
        assert rows[5].published_source == "age"  # its page states no date
        assert rows[6].published_source == "age"  # its page failed: the interval stands
        dating = list_snapshots(tmp_path)[-1].manifest["dating"]
        assert dating["posts_asked"] == 4 and dating["posts_undated"] == [f"{site.url}posts/5/"]

        site.log.clear()
        crawl(site, tmp_path, "ARCHIVER_FOLLOW_ENTRIES=True")
        # The next day: dates read before are carried, the undated post is not asked
        # again; only the post that failed is.
        assert post_requests(site) == ["/posts/6/"]
        rows = by_post(archiver.load(tmp_path, snapshot=list_snapshots(tmp_path)[-1].snapshot_id))
        assert rows[3].published_source == "carried"
        assert rows[3].published_earliest == at(POST_TIMES[3])
        assert rows[5].published_source == "age"
    finally:
        site.stop()


def test_an_unchanged_listing_makes_no_post_requests_once_dated(tmp_path) -> None:
    site = blog()
    try:
        crawl(site, tmp_path, "ARCHIVER_FOLLOW_ENTRIES=True")
        site.log.clear()
        crawl(site, tmp_path, "ARCHIVER_FOLLOW_ENTRIES=True")
        assert post_requests(site) == ["/posts/6/"]  # the one that failed, asked again
    finally:
        site.stop()
    # Post 6 is now gone for good, but its 404 is a failure, not "undated": it is asked on
    # each crawl. Posts 3 and 4 are carried from the snapshot that carried them.
    latest = list_snapshots(tmp_path)[-1]
    rows = by_post(archiver.load(tmp_path, snapshot=latest.snapshot_id))
    assert {rows[n].published_source for n in (3, 4)} == {"carried"}


def test_robots_txt_and_the_cap_hold_for_post_pages(tmp_path) -> None:
    site = blog(robots=b"User-agent: *\nDisallow: /posts/3/\n")
    try:
        crawl(site, tmp_path, "ARCHIVER_FOLLOW_ENTRIES=True", "ARCHIVER_FOLLOW_ENTRIES_MAX=2")
    finally:
        site.stop()
    assert post_requests(site) == ["/posts/4/"]  # 3 is disallowed, 5 and 6 over the cap
    rows = by_post(archiver.load(tmp_path))
    assert rows[3].published_source == "age" and rows[4].published_source == "post"
    stats = list_snapshots(tmp_path)[-1].manifest["stats"]
    assert stats["archiver/dates/post/over_max"] == 2
    assert stats["archiver/dates/post/failed"] == 1


def test_reparse_reads_the_feed_and_posts_again_from_the_warc(tmp_path) -> None:
    site = blog()
    try:
        crawl(site, tmp_path, "ARCHIVER_FOLLOW_ENTRIES=True")
    finally:
        site.stop()
    [snapshot] = list_snapshots(tmp_path)
    result = reparse(tmp_path, snapshot.snapshot_id)
    assert result.returncode == 0, result.stderr[-3000:]
    original = archiver.load(tmp_path, snapshot=snapshot.snapshot_id)
    derived = next(s for s in list_snapshots(tmp_path) if s.manifest.get("derived_from"))
    again = archiver.load(tmp_path, snapshot=derived.snapshot_id)
    columns = [c for c in original.columns if c.startswith("published_")]
    pd.testing.assert_frame_equal(original[columns], again[columns])
    assert set(again["published_source"]) == {"markup", "feed", "post", "age"}


@pytest.mark.parametrize("capture", [SEED_CAPTURE])
def test_no_stated_time_lies_after_the_page_that_lists_it(tmp_path, capture) -> None:
    site = blog()
    try:
        crawl(site, tmp_path, "ARCHIVER_FOLLOW_ENTRIES=True")
    finally:
        site.stop()
    frame = archiver.load(tmp_path)
    assert (frame["published_latest"] <= frame["page_time"]).all()
    assert (frame["published_earliest"] <= frame["published_latest"]).all()
    assert frame["page_time"].eq(pd.Timestamp(capture)).all()
