"""Zero configuration: a profile suggested from one page's structure.

The fixtures (``tests/fixtures/suggest/``, written for these tests) are formats no built-in
profile reads, each with navigation, tag clouds, sidebars, adverts and pagination that must
never be taken for entries. Crawls run ``scrapy crawl listing -a profile=auto`` against a real
server on 127.0.0.1, and the suggested profile is checked to travel with the snapshot.
"""

from __future__ import annotations

import gc
import json
import random
import shutil
import subprocess

import pandas as pd
import pytest
from parsel import Selector

import archiver
from archiver.extract.profiles import builtin_profiles, parse_profile
from archiver.extract.suggest import SuggestError, suggest
from archiver.store.layout import list_snapshots
from tests.conftest import (
    FIXTURES,
    REALWORLD,
    ROOT,
    SEED_CAPTURE,
    module_command,
    module_env,
    needs_realworld,
)

SUGGEST = FIXTURES / "suggest"
BLOG_POSTS = [
    ("Measuring sea level with a tide gauge", "/2025/03/03/sea-level.html"),
    ("A week of rain, in numbers", "/2025/02/24/rain.html"),
    ("Why the river rose before the rain", "/2025/02/10/river.html"),
    ("Calibrating a cheap barometer", "/2025/01/28/barometer.html"),
    ("Notes from the coastal survey", "/2025/01/15/survey.html"),
]
FORUM_TOPICS = [
    "How do I archive a forum every day?",
    "Relative dates and time zones, once more",
    "Best way to store WARC files on a NAS",
    "Parquet or CSV for long-term archives?",
    "Robots.txt says no: what now?",
    "Showing off: my weather station logger",
]


def read(name: str, url: str):
    html = (SUGGEST / name).read_bytes()
    suggestion = suggest(html, url)
    page = suggestion.profile.extract(Selector(text=html.decode()).root, url)
    return suggestion, page


def test_a_blog_list_is_read_and_nothing_around_it() -> None:
    suggestion, page = read("blog.html", "https://notes.example/page2/")
    assert [(e["title"], e["url"]) for e in page.entries] == [
        (title, "https://notes.example" + path) for title, path in BLOG_POSTS
    ]
    # Never the menu, the advert, the pager, the tag cloud, the recent posts or the footer.
    assert len(page.entries) == 5
    assert [e["age"] for e in page.entries][:2] == ["Mar 3, 2025", "Feb 24, 2025"]
    assert page.entries[0]["summary"].startswith("Tide gauges have recorded")
    assert page.next_url == "https://notes.example/page3/"
    assert suggestion.sure, suggestion.unsure


def test_the_same_page_gets_the_same_suggestion_whatever_the_memory_holds() -> None:
    """A suggestion once told elements apart by ``id()`` of lxml proxies it no longer held;
    a freed proxy's address came back as another element's, and the next link was now
    and then taken for part of an entry (about 1 run in 20, depending on what the process
    had allocated before). The allocator is stirred between runs to give addresses back."""
    stir = random.Random(0)
    wrong = []
    for run in range(200):  # bounded: a few seconds
        held = [object() for _ in range(stir.randrange(2000))]  # noqa: F841 (its size matters)
        if stir.random() < 0.3:
            gc.collect()
        _, page = read("blog.html", "https://notes.example/page2/")
        if page.next_url != "https://notes.example/page3/" or len(page.entries) != 5:
            wrong.append((run, page.next_url, len(page.entries)))
    assert wrong == []


def test_a_forum_table_is_read_with_its_counts() -> None:
    suggestion, page = read("forum.html", "https://forum.example/latest")
    assert [e["title"] for e in page.entries] == FORUM_TOPICS
    assert page.entries[0]["url"] == "https://forum.example/t/topic-101/101"
    assert page.entries[0]["views"] == "1.2k views"
    assert page.entries[0]["comments"] == "12 replies"
    assert page.entries[2]["age"] == "1 day ago"
    assert suggestion.profile.counts == ("comments",)
    assert page.next_url == "https://forum.example/latest?page=2"


def test_bare_numbers_are_counts_when_their_column_header_names_them() -> None:
    """A topic table prints replies and views as bare numbers under "Replies" and "Views";
    the board's statistics below it ("Total posts 2345") are no entry's counts."""
    suggestion, page = read("board.html", "https://forum.example/viewforum.php?f=4")
    assert len(page.entries) == 6
    assert [(e["views"], e["comments"]) for e in page.entries[:3]] == [
        ("1,204", "12"),
        ("388", "3"),
        ("4,512", "27"),
    ]
    assert suggestion.profile.counts == ("comments",)
    assert "a number of views in 6 of 6 entries" in suggestion.text


def test_bare_numbers_are_counts_when_an_icon_names_them() -> None:
    """An eye, a star and a fork icon name the numbers beside them; a rank printed as a bare
    number, named by nothing, is left alone."""
    suggestion, page = read("cards.html", "https://code.example/explore")
    assert [(e["views"], e["stars"], e["forks"]) for e in page.entries] == [
        ("12k", "1,234", "56"),
        ("9.1k", "873", "41"),
        ("3.4k", "402", "12"),
        ("25k", "2,007", "133"),
        ("860", "95", "7"),
    ]
    assert set(suggestion.profile.counts) == {"stars", "forks"}
    assert "rank" not in suggestion.text


@pytest.mark.parametrize(
    ("noun", "kind"),
    [
        ("views", "views"), ("Reads", "views"), ("hits", "views"), ("浏览", "views"),
        ("просмотров", "views"), ("vues", "views"),
        ("votes", "points"), ("score", "points"), ("likes", "points"),
        ("replies", "comments"), ("Answers", "comments"), ("posts", "comments"),
        ("回复", "comments"), ("ответов", "comments"), ("réponses", "comments"),
        ("stars", "stars"), ("forks", "forks"), ("reviews", "reviews"), ("ratings", "reviews"),
        ("downloads", "downloads"),
    ],
)  # fmt: skip
def test_each_noun_names_its_kind_of_count(noun, kind) -> None:
    from archiver.extract.suggest.counts import kind_of

    assert kind_of(noun) == kind


def test_the_draft_is_a_readable_profile_that_says_why() -> None:
    suggestion, _ = read("forum.html", "https://forum.example/latest")
    text = suggestion.text
    again = parse_profile(text, "draft.toml")  # the usual format, ready to edit
    assert again.entries == suggestion.profile.entries
    assert "# Entries: 6 x 'tr.topic-list-item'" in text
    assert "# the title in 6 of 6 entries" in text
    assert "# Sure:" in text and "UNSURE" not in text


def two_lists_alike() -> str:
    """The blog page with a second list of posts, as alike as a 'popular posts' box."""
    html = (SUGGEST / "blog.html").read_text()
    return html.replace(
        '<aside class="sidebar">',
        '<section class="popular"><ul class="popular-list">'
        + "".join(
            f'<li><span class="post-meta">Dec {n}, 2024</span><h3><a class="post-link" '
            f'href="/2024/12/{n}/popular-{n}.html">A popular older post, number {n}</a></h3>'
            f"<p>{'An older post many people read, with a summary as long as the others. ' * 2}"
            "</p></li>"
            for n in range(1, 6)
        )
        + '</ul></section><aside class="sidebar">',
    )


def test_two_lists_alike_make_it_say_it_is_unsure() -> None:
    suggestion = suggest(two_lists_alike(), "https://notes.example/")
    assert not suggestion.sure
    assert any("another group scores nearly as high" in reason for reason in suggestion.unsure)
    assert "# UNSURE: another group scores nearly as high" in suggestion.text


def test_a_page_without_a_listing_fails_in_one_line() -> None:
    with pytest.raises(SuggestError) as failure:
        suggest((SUGGEST / "about.html").read_bytes(), "https://notes.example/about/")
    message = str(failure.value)
    assert message.startswith("https://notes.example/about/: no listing found")
    assert "\n" not in message


@pytest.mark.parametrize("name", ["demo", "papermod", "hn"])
def test_built_in_formats_are_found_without_their_profile(name: str) -> None:
    """The fixtures of the built-in formats, read by a suggestion as by their profile."""
    pages = {
        "demo": ROOT / "data" / "demo" / "index.html",
        "papermod": FIXTURES / "papermod_list.html",
        "hn": FIXTURES / "forum.html",
    }
    html = pages[name].read_bytes()
    root = Selector(text=html.decode()).root
    url = "https://site.example/list/"
    [profile] = [p for p in builtin_profiles() if p.name == name]
    expected = [e["url"] for e in profile.extract(root, url).entries if e.get("title")]
    suggested = suggest(html, url).profile.extract(root, url)
    assert [e["url"] for e in suggested.entries if e.get("title")] == expected


@needs_realworld()
@pytest.mark.parametrize(
    "page", sorted(p.relative_to(REALWORLD).as_posix() for p in REALWORLD.rglob("*.html"))
)
def test_real_pages_read_as_their_hand_written_profile_reads_them(page: str) -> None:
    html = (REALWORLD / page).read_bytes()
    root = Selector(text=html.decode("utf-8", "replace")).root
    url = "https://real.example/" + page
    profile = next(p for p in builtin_profiles() if p.matches(root))
    expected = [(e["title"], e["url"]) for e in profile.extract(root, url).entries]
    suggested = suggest(html, url).profile.extract(root, url).entries
    assert [e["url"] for e in suggested] == [url for _, url in expected]


# --- crawls and the command ----------------------------------------------------------------


@pytest.fixture
def forum_site(tmp_path, serve):
    """Two pages of the forum format, linked by rel=next."""
    root = tmp_path / "site"
    root.mkdir()
    first = (SUGGEST / "forum.html").read_text()
    (root / "index.html").write_text(first.replace("/latest?page=2", "/page2.html"))
    second = first.replace('<link rel="next" href="/latest?page=2">', "")
    for title in FORUM_TOPICS:
        second = second.replace(title, "Older: " + title)
    second = second.replace("/t/topic-", "/t/old-topic-")
    (root / "page2.html").write_text(second)
    (root / "robots.txt").write_text("User-agent: *\nAllow: /\n")
    return serve(root, date=SEED_CAPTURE)


def test_profile_auto_crawls_a_format_nobody_wrote_a_profile_for(forum_site, crawl, tmp_path):
    data = tmp_path / "data"
    result = crawl("-a", f"start_urls={forum_site.url}", "-a", "profile=auto", data_dir=data)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "with a profile suggested from the page: suggested-127.0.0.1" in result.stderr
    [snapshot] = list_snapshots(data)
    assert snapshot.status == "complete"
    [listing] = snapshot.manifest["listings"]
    assert listing["profile"] == "suggested-127.0.0.1"
    assert listing["pages_fetched"] == 2
    stored = snapshot.manifest["profiles"]["suggested-127.0.0.1"]
    profile = parse_profile((snapshot.path / stored).read_text(), "stored")
    assert profile.entries == "tr.topic-list-item"
    rows = archiver.load(data)
    assert rows["title"].tolist() == FORUM_TOPICS + ["Older: " + t for t in FORUM_TOPICS]
    assert rows["views"].tolist()[:2] == [1200, 230]
    assert dict(rows["counts"].iloc[0]) == {"comments": 12}

    # Read again offline, with the profile stored in the snapshot: the same rows.
    forum_site.stop()
    again = subprocess.run(
        module_command("archiver.cli", "reparse", snapshot.snapshot_id, "--data-dir", str(data)),
        cwd=ROOT, env=module_env(), capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert again.returncode == 0, again.stderr[-3000:]
    derived = next(s for s in list_snapshots(data) if s.manifest.get("derived_from"))
    reread = archiver.load(data, snapshot=derived.snapshot_id)
    columns = ["title", "url", "views", "age_text", "published_earliest", "position"]
    pd.testing.assert_frame_equal(rows[columns], reread[columns])


def test_profile_suggest_is_used_even_where_a_built_in_matches(serve, crawl, tmp_path):
    site = serve(ROOT / "data" / "demo", date=SEED_CAPTURE)
    data = tmp_path / "data"
    result = crawl("-a", f"start_urls={site.url}index.html", "-a", "profile=suggest",
                   "-a", "max_pages=1", data_dir=data)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    [snapshot] = list_snapshots(data)
    assert snapshot.manifest["listings"][0]["profile"] == "suggested-127.0.0.1"
    assert len(archiver.load(data)) == 8


def test_a_crawl_on_an_unsure_suggestion_warns_and_counts_it(serve, crawl, tmp_path):
    root = tmp_path / "site"
    root.mkdir()
    (root / "index.html").write_text(two_lists_alike())
    site = serve(root, date=SEED_CAPTURE)
    data = tmp_path / "data"
    result = crawl("-a", f"start_urls={site.url}", "-a", "profile=suggest", "-a", "max_pages=1",
                   data_dir=data)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    [warning] = [line for line in result.stderr.splitlines() if "may be wrong" in line]
    assert "WARNING" in warning and "the suggested profile suggested-127.0.0.1" in warning
    assert "another group scores nearly as high" in warning
    assert warning.endswith(f"See it with: archiver profile suggest {site.url}")
    [snapshot] = list_snapshots(data)
    assert snapshot.manifest["stats"]["archiver/profile/suggested_unsure"] == 1


def test_profile_auto_on_a_page_with_no_listing_fails_in_one_line(serve, crawl, tmp_path):
    root = tmp_path / "site"
    root.mkdir()
    shutil.copy(SUGGEST / "about.html", root / "index.html")
    site = serve(root)
    result = crawl("-a", f"start_urls={site.url}", data_dir=tmp_path / "data")
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if "no listing found" in line]
    assert len(lines) == 1 and "ERROR" in lines[0] and site.url in lines[0]


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        module_command("archiver.cli", *args),
        cwd=ROOT, env=module_env(), capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_profile_suggest_writes_a_draft_that_profile_check_accepts(tmp_path) -> None:
    draft = tmp_path / "forum.toml"
    page = str(SUGGEST / "forum.html")
    made = cli("profile", "suggest", page, "-o", str(draft))
    assert made.returncode == 0, made.stderr
    assert f"wrote {draft}" in made.stdout
    assert "6 entries read from" in made.stdout and "(sure)" in made.stdout
    # a saved file states no time: the preview says its ages count from today
    assert "ages read against the fetch time" in made.stdout
    assert "the page states no time of its own" in made.stdout
    checked = cli("profile", "check", str(draft), page, "--json")
    assert checked.returncode == 0, checked.stderr
    report = json.loads(checked.stdout)
    assert [e["title"] for e in report["entries"]] == FORUM_TOPICS
    assert report["entries"][0]["views"] == 1200


def test_profile_suggest_without_output_prints_the_profile(tmp_path) -> None:
    made = cli("profile", "suggest", str(SUGGEST / "blog.html"))
    assert made.returncode == 0, made.stderr
    assert parse_profile(made.stdout, "stdout").entries == "ul.post-list > li"
    assert "5 entries read from" in made.stderr


def test_profile_suggest_on_a_page_without_a_listing_says_so(tmp_path) -> None:
    made = cli("profile", "suggest", str(SUGGEST / "about.html"))
    assert made.returncode == 2
    assert made.stderr.count("\n") == 1 and "no listing found" in made.stderr


def test_a_resumed_crawl_reads_with_the_profile_it_was_suggested(tmp_path) -> None:
    """With a JOBDIR the suggestion is kept beside the journal, so a crawl resumed after a
    kill reads its journalled pages with the very same profile, not a new guess."""
    from scrapy.http import HtmlResponse
    from scrapy.utils.test import get_crawler

    from archiver.spiders.listing import ListingSpider

    def spider():
        settings = {"JOBDIR": str(tmp_path / "job"), "ARCHIVER_DATA_DIR": str(tmp_path / "d")}
        crawler = get_crawler(ListingSpider, settings)
        crawler.stats.open_spider()
        return ListingSpider.from_crawler(
            crawler, start_urls="https://blog.example/", profile="suggest"
        )

    first = spider()
    blog = (SUGGEST / "blog.html").read_bytes()
    forum = (SUGGEST / "forum.html").read_bytes()
    profile = first._suggested(HtmlResponse("https://blog.example/", body=blog), "")
    other = first._suggested(HtmlResponse("https://blog.example/f", body=forum), "")
    local = first._suggested(HtmlResponse("file:///tmp/saved.html", body=blog), "")
    assert (profile.name, other.name, local.name) == (
        "suggested-blog.example", "suggested-blog.example-1", "suggested-local",
    )  # fmt: skip
    kept = tmp_path / "job" / "profiles" / "suggested-blog.example.toml"
    assert kept.read_text("utf-8") == profile.text
    first.journal.close()

    resumed = spider()
    assert {name: p.text for name, p in resumed.profiles.items() if "suggested" in name} == {
        p.name: p.text for p in (profile, other, local)
    }
    resumed.journal.close()
