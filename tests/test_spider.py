"""The listing spider against saved pages: what it yields and which links it follows."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from scrapy.http import HtmlResponse, Request, Response
from scrapy.utils.test import get_crawler

from archiver.errors import ArchiverError, describe
from archiver.items import ListingEntry
from archiver.scope.arguments import parse_start_urls
from archiver.scope.reach import same_site
from archiver.spiders.listing import ListingSpider
from tests.conftest import DEMO, FIXTURES

LISTING = "https://agg.example/latest?page=2"


def make_spider(**kwargs: object) -> ListingSpider:
    crawler = get_crawler(ListingSpider, {"ARCHIVER_MAX_PAGES": 1000})
    return ListingSpider.from_crawler(crawler, start_urls=LISTING, **kwargs)


def response_for(path: Path, url: str, headers: dict | None = None) -> HtmlResponse:
    request = Request(url, cb_kwargs={"listing": LISTING, "page_no": 2, "offset": 8})
    return HtmlResponse(url, body=path.read_bytes(), request=request, headers=headers or {})


def drain(output: Any) -> list[Any]:
    """What an async callback yields, when it awaits nothing (no feed, no post to fetch)."""

    async def collect() -> list[Any]:
        return [item async for item in output]

    return asyncio.run(collect())


def run_parse(
    spider: ListingSpider, response: HtmlResponse
) -> tuple[list[ListingEntry], list[Request]]:
    output = drain(spider.parse(response, **response.request.cb_kwargs))
    return (
        [o for o in output if isinstance(o, ListingEntry)],
        [o for o in output if isinstance(o, Request)],
    )


def test_yields_raw_entries_with_positions_across_pages() -> None:
    spider = make_spider()
    entries, requests = run_parse(spider, response_for(FIXTURES / "aggregator_edge.html", LISTING))
    assert [e.position for e in entries] == [9, 10, 11]  # offset 8 from the earlier page
    first = entries[0]
    assert first.url == "https://agg.example/posts/ice-cream/?utm=x#top"
    assert first.age_text == "an hour ago" and first.views_text == "1.2k views"
    assert first.snapshot_id == spider.snapshot_id
    # Raw text is handed on as printed; cleaning is the pipelines' job.
    assert "Ice" in first.title and "science" in first.title
    assert entries[1].title is None
    assert entries[2].source == "agg.example"  # no source printed: the host
    assert [r.url for r in requests] == ["https://agg.example/latest?page=3"]
    assert requests[0].cb_kwargs == {"listing": LISTING, "page_no": 3, "offset": 11}
    assert spider.listings[LISTING].announced is None  # totals are read on page 1 only


def test_first_page_records_the_announced_total() -> None:
    spider = make_spider()
    response = response_for(FIXTURES / "aggregator_edge.html", LISTING)
    drain(spider.parse(response, listing=LISTING, page_no=1, offset=0))
    assert spider.listings[LISTING].announced == 1204
    assert spider.listings[LISTING].profile == "demo"


def test_demo_pages_parse_into_fifteen_entries() -> None:
    spider = ListingSpider.from_crawler(get_crawler(ListingSpider))
    start = spider.start_urls[0]
    assert start == (DEMO / "index.html").as_uri()
    first = HtmlResponse(start, body=(DEMO / "index.html").read_bytes(), request=Request(start))
    entries, requests = run_parse_from(spider, first, start, 1, 0)
    second = HtmlResponse(
        requests[0].url, body=(DEMO / "page2.html").read_bytes(), request=requests[0]
    )
    more, after = run_parse_from(spider, second, start, 2, len(entries))
    assert len(entries) + len(more) == 15 and not after
    assert [e.position for e in entries + more] == list(range(1, 16))
    assert spider.listings[start].announced == 15


def run_parse_from(spider, response, listing, page_no, offset):
    output = drain(spider.parse(response, listing=listing, page_no=page_no, offset=offset))
    return (
        [o for o in output if isinstance(o, ListingEntry)],
        [o for o in output if isinstance(o, Request)],
    )


def test_next_link_to_another_host_is_not_followed() -> None:
    spider = make_spider()
    html = (
        (FIXTURES / "aggregator_edge.html")
        .read_text()
        .replace('href="/latest?page=3"', 'href="https://elsewhere.example/latest?page=3"')
    )
    response = HtmlResponse(LISTING, body=html.encode(), encoding="utf-8", request=Request(LISTING))
    _, requests = run_parse_from(spider, response, LISTING, 2, 0)
    assert requests == []
    assert "leaves the site" in spider.listings[LISTING].stopped


def test_max_pages_stops_pagination() -> None:
    spider = make_spider(max_pages="2")
    response = response_for(FIXTURES / "aggregator_edge.html", LISTING)
    _, requests = run_parse(spider, response)
    assert requests == []
    assert spider.listings[LISTING].stopped.startswith("max_pages (2)")


def test_a_page_no_profile_matches_is_a_failed_page_not_a_crash() -> None:
    spider = make_spider(profile="demo")
    response = HtmlResponse(
        LISTING, body=b"<html><body><p>Nothing here</p></body></html>", request=Request(LISTING)
    )
    entries, requests = run_parse_from(spider, response, LISTING, 1, 0)
    assert entries == [] and requests == []
    [failure] = spider.listings[LISTING].failed
    assert failure["url"] == LISTING and "no profile matches" in failure["reason"]


def test_binary_response_is_a_failed_page() -> None:
    spider = make_spider()
    response = Response(
        LISTING,
        body=b"\x89PNG\r\n\x1a\n\x00\x00",
        headers={"Content-Type": "image/png"},
        request=Request(LISTING),
    )
    assert run_parse_from(spider, response, LISTING, 1, 0) == ([], [])
    [failure] = spider.listings[LISTING].failed
    assert "not an HTML page" in failure["reason"]


@pytest.mark.parametrize(
    ("start", "target", "allowed"),
    [
        ("https://a.example/", "https://a.example/page/2", True),
        ("https://a.example/", "http://a.example/page/2", False),  # never down to http
        ("http://a.example/", "https://a.example/page/2", True),  # the site's own upgrade
        ("http://a.example:8001/", "http://a.example:8002/page/2", False),  # another service
        ("https://a.example/", "https://b.example/page/2", False),
        ("https://a.example/", "ftp://a.example/page/2", False),
        ("https://a.example/", "file:///etc/passwd", False),
        ("https://a.example/", "javascript:alert(1)", False),
        ("file:///srv/demo/index.html", "file:///srv/demo/page2.html", True),
        ("file:///srv/demo/index.html", "file:///srv/demo/older/page3.html", True),
        ("file:///srv/demo/index.html", "file:///etc/passwd", False),
        ("file:///srv/demo/index.html", "file:///srv/demo/../../etc/passwd", False),
        ("file:///srv/demo/index.html", "file://otherhost/srv/demo/page2.html", False),
        ("file:///srv/demo/index.html", "http://a.example/", False),
    ],
)
def test_same_site(start: str, target: str, allowed: bool) -> None:
    assert same_site(start, target) is allowed


def test_start_urls_argument() -> None:
    assert parse_start_urls("https://a.example/, https://b.example/x") == [
        "https://a.example/",
        "https://b.example/x",
    ]
    assert parse_start_urls(str(DEMO / "index.html")) == [(DEMO / "index.html").as_uri()]


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("ftp://a.example/", "start_urls: 'ftp://a.example/' is not an http, https or file URL"),
        ("javascript:alert(1)", "start_urls: 'javascript:alert(1)' is not an http, https or"),
        ("no/such/file.html", "start_urls: no such file 'no/such/file.html' (in "),
        ("http://[::1", "start_urls: 'http://[::1' is not a URL (Invalid IPv6 URL)"),
        (",,", "start_urls: no URL given"),
        ([" ", ""], "start_urls: no URL given"),
    ],
)
def test_bad_start_urls_say_which_and_why(bad, message: str) -> None:
    with pytest.raises(ArchiverError) as caught:
        parse_start_urls(bad)
    assert str(caught.value).startswith(message)


@pytest.mark.parametrize(
    ("error", "described"),
    [
        (ValueError("XPath error: Invalid type\nat line 3"), "ValueError: XPath error: Invalid type"),
        (RuntimeError(), "RuntimeError"),  # no message: the kind alone, never "RuntimeError: "
        (KeyError("title"), "KeyError: 'title'"),
        (UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"),
         "UnicodeDecodeError: 'utf-8' codec can't decode byte 0xff in position 0: invalid start byte"),
        (ArchiverError("  padded  "), "archiver.errors.ArchiverError: padded"),  # module named
    ],
)  # fmt: skip
def test_a_failed_page_names_the_errors_kind_and_first_line(error, described: str) -> None:
    assert describe(error) == described


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"max_pages": "x"}, "max_pages"),
        ({"max_pages": "0"}, "max_pages"),
        ({"profile": "nope"}, "profile 'nope'"),
        ({"snapshot_id": "../../etc"}, "snapshot id"),
    ],
)
def test_bad_arguments_name_the_argument(arguments: dict, message: str) -> None:
    with pytest.raises(ArchiverError, match=message):
        ListingSpider.check_arguments(**arguments)


def test_errors_are_listed_once_per_page_under_their_own_listing(caplog) -> None:
    """What the manifest and the log say about a broken page: its listing, the error's kind
    and first line, once per page however many of its entries failed."""
    from twisted.python.failure import Failure

    x, y = "https://agg.example/x", "https://agg.example/y"
    crawler = get_crawler(ListingSpider)
    crawler.stats.open_spider()
    spider = ListingSpider.from_crawler(crawler, start_urls=f"{x},{y}")
    page = f"{y}?page=2"
    caplog.set_level("ERROR")
    spider.page_error(page, y, ValueError("XPath error: Invalid type\nat line 2"))
    now = datetime.now(UTC)
    entry = ListingEntry(snapshot_id="s", source="S", title="T", page_url=page, position=4,
                         fetched_at=now, page_time=now, listing_url=y)  # fmt: skip
    spider.item_failed(entry, None, Failure(RuntimeError("injected")))
    # Nothing to go by but the response: the page still gets listed, under the first listing.
    spider.item_failed(object(), HtmlResponse(f"{x}?page=3", body=b""), Failure(KeyError()))

    assert spider.listings[y].failed == [
        {
            "url": page,
            "reason": "error while reading the page: ValueError: XPath error: Invalid type",
        }
    ]
    assert spider.listings[x].failed == [
        {"url": f"{x}?page=3", "reason": "entry ? could not be archived: KeyError"}
    ]
    stats = crawler.stats.get_stats()
    assert {k: v for k, v in stats.items() if k.startswith("archiver/pages/")} == {
        "archiver/pages/error/ValueError": 1,
        "archiver/pages/error/RuntimeError": 1,
        "archiver/pages/error/KeyError": 1,
        "archiver/pages/failed": 2,
        "archiver/pages/more_errors": 1,
    }
    assert caplog.messages == [
        f"{page}: error while reading the page: ValueError: XPath error: Invalid type",
        f"{page}: entry 4 could not be archived: RuntimeError: injected",
        f"{x}?page=3: entry ? could not be archived: KeyError",
    ]


def test_a_page_replayed_from_the_journal_is_counted_as_it_was_read() -> None:
    """A resumed crawl replays journalled pages through the same step as live ones: a page
    read in another charset than it declared is counted, and listed, once more."""
    from tests.sites import listing_page

    class Journal:
        def __init__(self) -> None:
            self.records: list[dict] = []

        def record_page(self, record: dict) -> None:
            self.records.append(record)

    live = make_spider()
    live.journal = Journal()  # type: ignore[assignment]
    body = listing_page(2, 2, 3).replace("Post number", "Запись номер")
    body = body.replace("<meta charset='utf-8'>", "").encode("cp1251")
    request = Request(LISTING, cb_kwargs={"listing": LISTING, "page_no": 2, "offset": 3})
    response = HtmlResponse(
        LISTING, body=body, request=request, headers={"Content-Type": "text/html; charset=utf-8"}
    )
    entries, _ = run_parse(live, response)
    assert [e.title for e in entries] == [f"Запись номер {n}" for n in (4, 5, 6)]
    [record] = live.journal.records  # type: ignore[union-attr]
    assert record["encoding"] == "cp1251" and record["decoding"]["reason"] == "declared_wrong"

    resumed = make_spider()
    replayed, _ = resumed._take(json.loads(json.dumps(record)))  # as the journal keeps it
    assert [e.title for e in replayed] == [e.title for e in entries]
    state = resumed.listings[LISTING]
    assert state.encodings == {"cp1251": 1}
    assert state.decode_problems == [{"url": LISTING, **record["decoding"]}]
    assert resumed.crawler.stats.get_value("archiver/decode/page/declared_wrong") == 1


def test_a_page_parsed_on_its_own_is_the_first_of_its_listing() -> None:
    """``scrapy parse --spider=listing URL`` calls parse without a listing or page number:
    the page is page 1 of a listing of its own, so its announced total is read."""
    spider = make_spider()
    response = HtmlResponse(
        LISTING, body=(FIXTURES / "aggregator_edge.html").read_bytes(), request=Request(LISTING)
    )
    drain(spider.parse(response))
    assert spider.listings[LISTING].announced == 1204


def test_unmatched_patterns_are_counted_per_field(tmp_path) -> None:
    demo = (Path(__file__).parents[1] / "archiver/extract/profiles/demo.toml").read_text()
    profile = tmp_path / "strict.toml"
    profile.write_text(
        demo.replace('name = "demo"', 'name = "strict"') + "\n[patterns]\nviews = '^(\\d+) hits$'\n"
    )
    spider = make_spider(profile=str(profile))
    entries, _ = run_parse(spider, response_for(FIXTURES / "aggregator_edge.html", LISTING))
    assert len(entries) == 3 and all(e.views_text is None for e in entries)
    assert spider.crawler.stats.get_value("archiver/extract/views/pattern_unmatched") == 3


def test_a_location_header_on_a_non_redirect_is_no_redirect() -> None:
    from scrapy.spidermiddlewares.httperror import HttpError
    from twisted.python.failure import Failure

    spider = make_spider()
    request = Request(LISTING, meta={"listing": LISTING})
    response = HtmlResponse(LISTING, status=404, headers={"Location": "/elsewhere"}, body=b"")
    failure = Failure(HttpError(response))
    failure.request = request  # type: ignore[attr-defined]
    spider.page_failed(failure)
    assert spider.listings[LISTING].failed == [{"url": LISTING, "reason": "HttpError: HTTP 404"}]


def demo_page(entries: list[tuple[str, str | None]]) -> bytes:
    items = "".join(
        '<li class="post"><h2 class="post-title">'
        + (f'<a href="{url}">{title}</a>' if url else title)
        + "</h2></li>"
        for title, url in entries
    )
    return f'<html><body><ol class="posts">{items}</ol></body></html>'.encode()


@pytest.mark.parametrize(
    ("first", "second"),
    [
        # Entries without links: only their titles tell the pages apart.
        ([("Alpha", None), ("Beta", None)], [("Gamma", None), ("Delta", None)]),
        # The same titles on another page ("Weekly notes"): only the links differ.
        ([("Weekly notes", "/w/1"), ("Links", "/l/1")], [("Weekly notes", "/w/2"), ("Links", "/l/2")]),
    ],
)  # fmt: skip
def test_a_page_is_a_repeat_only_when_titles_and_links_both_repeat(first, second) -> None:
    spider = make_spider(profile="demo")
    one = HtmlResponse(LISTING, body=demo_page(first), request=Request(LISTING), encoding="utf-8")
    two = HtmlResponse(
        f"{LISTING}&n=2", body=demo_page(second), request=Request(LISTING), encoding="utf-8"
    )
    entries, _ = run_parse_from(spider, one, LISTING, 1, 0)
    more, _ = run_parse_from(spider, two, LISTING, 2, 2)
    assert [e.title for e in entries + more] == [t for t, _ in first + second]
    assert spider.listings[LISTING].stopped is None
    again = HtmlResponse(
        f"{LISTING}&n=3", body=demo_page(second), request=Request(LISTING), encoding="utf-8"
    )
    repeated, _ = run_parse_from(spider, again, LISTING, 3, 4)
    assert repeated == [] and "repeats an earlier page" in spider.listings[LISTING].stopped
