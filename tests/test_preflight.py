"""A run that cannot do what it was asked ends before crawling: one line naming the argument
or setting, its value and what it takes; exit 2; nothing published.

The tables walk every ``ARCHIVER_*`` setting a crawl reads and every ``-a`` argument the
spider takes: a setting or argument added without a row here fails the first test of each.
"""

from __future__ import annotations

import re
import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scrapy.settings import Settings

from archiver.errors import ArchiverError
from archiver.scope.arguments import ARGUMENTS
from archiver.scope.preflight import INTERNAL, check_settings, check_start, known_settings
from archiver.spiders.listing import ListingSpider
from tests.conftest import DEMO, FIXTURES, ROOT, module_command

# Bad values of each setting, as ``-s NAME=VALUE`` hands them over (strings), and what the
# one line must say. Every known setting has a row.
BAD_SETTINGS: dict[str, list[str]] = {
    "ARCHIVER_ALLOWED_HOSTS": ["http://x.example/path"],
    "ARCHIVER_ALLOW_PRIVATE_ADDRESSES": ["maybe", "yes"],
    "ARCHIVER_BACKOFF_BASE": ["abc", "-1", "nan", "inf"],
    "ARCHIVER_BACKOFF_MAX": ["soon", "-0.5"],
    "ARCHIVER_CRAWL_ID": ["a b", "../up", "-leading-dash"],
    "ARCHIVER_DATA_DIR": ["", "   "],
    "ARCHIVER_DNS_RESOLVER": ["no.such.Resolver", "archiver.settings.BOT_NAME"],
    "ARCHIVER_FEEDS": ["maybe", "yes"],
    "ARCHIVER_FOLLOW_ENTRIES": ["sometimes"],
    "ARCHIVER_FOLLOW_ENTRIES_MAX": ["-1", "many", "2.5"],
    "ARCHIVER_HOST_CONCURRENCY": ["0", "two", "1.5"],
    "ARCHIVER_HOST_DELAY": ["-1", "later"],
    "ARCHIVER_LISTINGS": ["/no/such/listings.toml", "/"],
    "ARCHIVER_MAX_PAGES": ["abc", "0", "-3", "2.5", ""],
    "ARCHIVER_NORMALISERS": [
        '{"no.such.Stage": 100}',
        '{"archiver.pipelines.text.CleanTextPipeline": "first"}',
        "not json",
    ],
    "ARCHIVER_PUBLISH_BY_EXEC": ["yes please"],
    "ARCHIVER_REDIS_LEASE": ["0", "-5", "forever"],
    "ARCHIVER_REDIS_OUTAGE": ["-1", "long"],
    "ARCHIVER_REDIS_URL": ["http://127.0.0.1:6379", "127.0.0.1:6379"],
    "ARCHIVER_REPLAY": ["/no/such/snapshot"],
    "ARCHIVER_RETRY_AFTER_MAX": ["-2", "x"],
    "ARCHIVER_SNAPSHOTS": ["maybe", "on"],
    "ARCHIVER_WARC": ["maybe", "yes"],
    "ARCHIVER_REVISITS": ["perhaps"],
}


def project_settings(**overrides: str) -> Settings:
    """The crawl's settings as ``scrapy crawl -s NAME=VALUE`` would see them."""
    crawl = Settings()
    crawl.setmodule("archiver.settings", priority="project")
    for name, value in overrides.items():
        crawl.set(name, value, priority="cmdline")
    return crawl


def test_every_setting_a_crawl_reads_has_bad_values_in_the_table() -> None:
    assert set(BAD_SETTINGS) == set(known_settings())
    assert set(INTERNAL) <= set(BAD_SETTINGS)


def test_the_defaults_pass() -> None:
    check_settings(project_settings())  # no error: what the project ships is readable


@pytest.mark.parametrize(
    ("name", "value"),
    [(name, value) for name, values in sorted(BAD_SETTINGS.items()) for value in values],
)
def test_a_bad_setting_value_is_one_line_naming_setting_and_value(name, value) -> None:
    with pytest.raises(ArchiverError) as caught:
        check_settings(project_settings(**{name: value}))
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{name}: "), message
    assert repr(value) in message or value in message, message


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ARCHIVER_MAX_PAGES", "3"),
        ("ARCHIVER_WARC", "False"),
        ("ARCHIVER_WARC", "0"),
        ("ARCHIVER_SNAPSHOTS", "true"),
        ("ARCHIVER_BACKOFF_BASE", "0"),
        ("ARCHIVER_REDIS_URL", "redis://127.0.0.1:6379/0"),
        ("ARCHIVER_CRAWL_ID", "lab-2026.12_07"),
        ("ARCHIVER_REDIS_OUTAGE", "0"),
        ("ARCHIVER_NORMALISERS", '{"archiver.pipelines.text.CleanTextPipeline": 100}'),
    ],
)
def test_good_values_in_their_string_form_pass(name, value) -> None:
    check_settings(project_settings(**{name: value}))


@pytest.mark.parametrize(
    ("name", "meant"),
    [
        ("ARCHIVER_MAXPAGES", "ARCHIVER_MAX_PAGES"),
        ("ARCHIVER_WARCS", "ARCHIVER_WARC"),
        ("ARCHIVER_DATADIR", "ARCHIVER_DATA_DIR"),
    ],
)
def test_an_unknown_setting_is_refused_with_the_likely_one(name, meant) -> None:
    with pytest.raises(ArchiverError, match=rf"^{name}: no such setting; did you mean {meant}\?$"):
        check_settings(project_settings(**{name: "3"}))


def test_an_unknown_setting_far_from_any_lists_them_all() -> None:
    with pytest.raises(ArchiverError) as caught:
        check_settings(project_settings(ARCHIVER_QQQQQQQQQQQQ="1"))
    assert "ARCHIVER_QQQQQQQQQQQQ: no such setting; archiver's settings are" in str(caught.value)
    assert "ARCHIVER_MAX_PAGES" in str(caught.value)


@settings(max_examples=150, deadline=None)
@given(
    name=st.sampled_from(sorted(BAD_SETTINGS)),
    value=st.text(max_size=20),
)
def test_any_value_of_any_setting_is_taken_or_refused_in_one_line(name, value) -> None:
    """Whatever a cron line hands a setting, the check takes it or says so in one line,
    never with another exception."""
    try:
        check_settings(project_settings(**{name: value}))
    except ArchiverError as exc:
        assert "\n" not in str(exc).strip()
        assert str(exc).startswith(f"{name}: ")


# --- -a arguments --------------------------------------------------------------------------

BAD_ARGUMENTS: dict[str, list[tuple[str, str]]] = {
    # argument: [(value, what the one line says)]
    "start_urls": [
        ("", r"^-a start_urls: empty; give URL"),
        (" , ", r"^start_urls: no URL given"),
        ("http://[::1", r"^start_urls: 'http://\[::1' is not a URL \("),
        ("http://127.0.0.1:99999/", r"^start_urls: 'http://127.0.0.1:99999/' is not a URL \("),
        ("http://127.0.0.1:0/", r"port 0 is not a port"),
        ("http:///index.html", r"names no host; give http://HOST/PATH"),
        ("ftp://example.org/", r"is not an http, https or file URL"),
        ("missing.html", r"^start_urls: no such file 'missing.html' \(in "),
    ],
    "profile": [
        ("", r"^-a profile: empty; give a built-in profile"),
        ("no-such-profile", r"profile 'no-such-profile'"),
    ],
    "max_pages": [
        ("", r"^-a max_pages: empty; give the most pages"),
        ("three", r"^max_pages: 'three' is not a whole number; give the most pages"),
        ("0", r"^max_pages: '0' must be at least 1"),
        ("-2", r"must be at least 1"),
    ],
    "listing": [
        ("", r"^-a listing: empty; give the name of a listing"),
        ("a b", r"^-a listing: 'a b' is not a listing name"),
        ("demo", r"^-a listing=demo: the listing's start URLs come from the listings file"),
    ],
    "listings": [
        ("", r"^-a listings: empty; give all"),
        ("all", r"^-a listings=all: each listing is crawled by its own run"),
    ],
}


def test_every_argument_the_spider_takes_has_bad_values_in_the_table() -> None:
    assert set(BAD_ARGUMENTS) == set(ARGUMENTS)


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [(name, v, says) for name, rows in sorted(BAD_ARGUMENTS.items()) for v, says in rows],
)
def test_a_bad_argument_is_one_line_naming_it(name, value, says) -> None:
    with pytest.raises(ArchiverError) as caught:
        check_start(ListingSpider, {name: value}, project_settings())
    assert "\n" not in str(caught.value)
    assert re.search(says, str(caught.value)), str(caught.value)


@pytest.mark.parametrize(
    ("name", "meant"),
    [("start_url", "start_urls"), ("max_page", "max_pages"), ("profiles", "profile")],
)
def test_an_argument_the_spider_does_not_take_is_refused_with_the_likely_one(name, meant):
    with pytest.raises(ArchiverError) as caught:
        check_start(ListingSpider, {name: "3"}, project_settings())
    assert str(caught.value) == (
        f"-a {name}: the listing spider takes no such argument; did you mean {meant}? "
        "it takes start_urls, profile, max_pages, listing, listings"
    )


def test_a_file_start_url_names_a_file_that_exists(tmp_path) -> None:
    gone = (tmp_path / "gone.html").as_uri()
    with pytest.raises(ArchiverError, match=r"^start_urls: no such file .*gone\.html"):
        check_start(ListingSpider, {"start_urls": gone}, project_settings())


def test_what_scrapyd_and_reparse_pass_is_taken() -> None:
    check_start(
        ListingSpider,
        {"_job": "abc123", "snapshot_id": "20261207T000000Z-abcdef", "max_pages": "2"},
        project_settings(),
    )


def test_a_local_path_becomes_its_file_url() -> None:
    page = FIXTURES / "forum.html"
    spider = ListingSpider(start_urls=str(page))
    assert spider.start_urls == [page.resolve().as_uri()]


# --- profiles whose regular expressions do not compile -------------------------------------


@pytest.mark.parametrize(
    "selector",
    [
        "//a[re:test(@href, '([unclosed')]/text()",  # lxml compiles it only on a page
        "//a[re:match(text(), '*oops')]",
        "//a[re:replace(text(), '(?P<x', 'g', '')]",
    ],
)
def test_a_profile_with_a_regex_that_cannot_compile_is_refused_at_start(tmp_path, selector):
    profile = tmp_path / "site.toml"
    profile.write_text(f'name = "site"\nentries = "li"\n[fields]\ntitle = "{selector}"\n')
    with pytest.raises(ArchiverError) as caught:
        check_start(ListingSpider, {"profile": str(profile)}, project_settings())
    message = str(caught.value)
    assert f"profile {profile}: key 'fields.title'" in message
    assert "invalid regular expression" in message and "\n" not in message


def test_a_profile_with_a_good_regex_passes(tmp_path) -> None:
    profile = tmp_path / "site.toml"
    profile.write_text(
        'name = "site"\nentries = "li"\n[fields]\n'
        "title = \"//a[re:test(@href, '^/post/[0-9]+$')]/text()\"\n"
    )
    check_start(ListingSpider, {"profile": str(profile)}, project_settings())


def test_the_regex_check_finds_the_pattern_argument() -> None:
    from archiver.extract.profiles import regex_arguments

    assert regex_arguments("//a[re:test(@href, 'x(y', 'i')]") == [("test", "x(y")]
    assert regex_arguments("//a[re:match(concat('a', 'b'), \"[z\")]") == [("match", "[z")]
    assert regex_arguments("//a[re:test(@href, @data-pattern)]") == []  # computed: unknown
    assert regex_arguments("//a[contains(@href, 'x(')]") == []


# --- as a cron line runs it: scrapy crawl, exit 2, one line last, nothing published --------

CRAWLS_THAT_CANNOT_START = [
    (["-a", "start_url=http://127.0.0.1:9/"], "-a start_url: the listing spider takes no such"),
    (["-a", "max_page=3"], "did you mean max_pages?"),
    (["-a", "start_urls="], "-a start_urls: empty"),
    (["-s", "ARCHIVER_MAX_PAGES=abc"], "ARCHIVER_MAX_PAGES: 'abc' is not a whole number"),
    (["-s", "ARCHIVER_WARC=maybe"], "ARCHIVER_WARC: 'maybe' is not True or False"),
    (["-s", "ARCHIVER_MAXPAGES=3"], "ARCHIVER_MAXPAGES: no such setting"),
    (["-a", "start_urls=http://[::1"], "start_urls: 'http://[::1' is not a URL"),
    (["-a", "start_urls=http://127.0.0.1:99999/"], "is not a URL (Port out of range"),
    (["-a", "start_urls=missing.html"], "start_urls: no such file 'missing.html'"),
]


@pytest.mark.parametrize(
    ("args", "says"),
    CRAWLS_THAT_CANNOT_START,
    ids=[" ".join(a) for a, _ in CRAWLS_THAT_CANNOT_START],
)
def test_a_crawl_that_cannot_start_exits_2_in_one_line_and_publishes_nothing(
    crawl, tmp_path, args, says
) -> None:
    data_dir = tmp_path / "data"
    result = crawl(*args, data_dir=data_dir)
    assert result.returncode == 2, result.stderr[-2000:]
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("scrapy: error: ") and says in last, last
    assert "Traceback" not in result.stderr
    assert "downloader/request_count" not in result.stderr  # nothing was fetched
    assert not (data_dir / "snapshots").exists()


def test_a_profile_regex_that_cannot_compile_ends_the_crawl_at_start(crawl, tmp_path) -> None:
    profile = tmp_path / "site.toml"
    profile.write_text(
        'name = "site"\nentries = "//li"\n[fields]\n'
        "title = \"//a[re:test(@href, '([unclosed')]/text()\"\n"
    )
    result = crawl(
        "-a", f"profile={profile}", "-a", f"start_urls={FIXTURES / 'forum.html'}",
        data_dir=tmp_path / "data",
    )  # fmt: skip
    assert result.returncode == 2
    last = result.stderr.strip().splitlines()[-1]
    assert "key 'fields.title'" in last and "invalid regular expression '([unclosed'" in last
    assert not (tmp_path / "data" / "snapshots").exists()


def test_the_one_line_is_also_in_the_log_file(crawl, tmp_path) -> None:
    log = tmp_path / "crawl.log"
    result = crawl("-s", "ARCHIVER_MAX_PAGES=abc", "-s", f"LOG_FILE={log}", data_dir=tmp_path)
    assert result.returncode == 2
    assert "ARCHIVER_MAX_PAGES: 'abc' is not a whole number" in log.read_text("utf-8")


def test_a_spider_name_that_is_no_spider_is_one_line(tmp_path) -> None:
    result = subprocess.run(
        module_command("scrapy", "crawl", "listings", "-s", f"ARCHIVER_DATA_DIR={tmp_path}"),
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    last = result.stderr.strip().splitlines()[-1]
    assert last == "scrapy: error: no spider named 'listings'; this project has listing"
    assert not (tmp_path / "snapshots").exists()


def test_scrapy_parse_refuses_a_bad_setting_as_crawl_does(tmp_path) -> None:
    result = subprocess.run(
        module_command(
            "scrapy", "parse", "--spider=listing", "-s", "ARCHIVER_MAX_PAGES=abc",
            "-s", f"ARCHIVER_DATA_DIR={tmp_path}", (DEMO / "index.html").as_uri(),
        ),
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert "ARCHIVER_MAX_PAGES: 'abc' is not a whole number" in result.stderr.splitlines()[-1]
