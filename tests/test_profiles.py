"""Profiles are data: they load safely, fail clearly, and read the formats they claim."""

from __future__ import annotations

import builtins
import importlib
import json
import re

import pytest
from parsel import Selector

from archiver.extract.profiles import (
    ProfileError,
    builtin_profiles,
    detect_profile,
    load_profile_file,
    parse_profile,
    resolve_profile,
    yields_text,
)
from tests.conftest import DEMO, FIXTURES

MINIMAL = """
name = "mini"
entries = "li"
[fields]
title = "a::text"
"""


def test_builtins_load_and_have_distinct_names() -> None:
    names = [p.name for p in builtin_profiles()]
    assert {"demo", "papermod", "hn"} <= set(names)
    assert len(names) == len(set(names))


def test_minimal_profile() -> None:
    profile = parse_profile(MINIMAL, "mini.toml")
    page = Selector(text="<ul><li><a href='/x'>One</a></li><li><a>Two</a></li></ul>")
    data = profile.extract(page, "https://site.example/list")
    assert [e["title"] for e in data.entries] == ["One", "Two"]
    assert data.entries[0]["source"] == "site.example"
    assert data.next_url is None and data.total is None


@pytest.mark.parametrize(
    ("text", "key", "problem"),
    [
        (
            "name = 'x'\nentries = 'li'\n[fields]\ntitle = 'a::text'\n[fields.nested]\n",
            "fields.nested",
            "must be a string",
        ),
        ("fields = 'a'\n" + MINIMAL.split("[fields]")[0], "fields", "must be a table"),
        (
            "name = 'x'\nentries = 'li'\n[fields]\nurl = 'a::attr(href)'\n",
            "fields.title",
            "missing or empty: every entry needs a title",
        ),
        ("name = 'x'\n[fields]\ntitle = 'a::text'\n", "entries", "missing or empty"),
        ("entries = 'li'\n[fields]\ntitle = 'a::text'\n", "name", "missing or empty"),
        ("colour = 'red'\n" + MINIMAL, "colour", "unknown key (known: counts, date_order, "),
        ("detect = 5\n" + MINIMAL, "detect", "must be a string"),
        (MINIMAL.replace('"li"', '"li[[["'), "entries", "invalid selector 'li[[['"),
        (MINIMAL.replace('"a::text"', '"//a[@"'), "fields.title", "invalid selector '//a[@'"),
        (MINIMAL + "[page]\nnext = 'a:::nope'\n", "page.next", "invalid selector 'a:::nope'"),
        (MINIMAL + "[page]\nprevious = 'a'\n", "page.previous", "unknown key (known: next, "),
        (
            MINIMAL + "[patterns]\ntitle = '(unclosed'\n",
            "patterns.title",
            "invalid regular expression: ",
        ),
        (
            MINIMAL + "[patterns]\nviews = '\\\\d+'\n",
            "patterns.views",
            "names no field of this profile",
        ),
        ("date_order = 'ymd'\n" + MINIMAL, "date_order", "must be 'mdy' or 'dmy'"),
        ("counts = 'views'\n" + MINIMAL, "counts", "must be a list of extra field names"),
        ("counts = ['title']\n" + MINIMAL, "counts", "'title' is not an extra field"),
        (
            MINIMAL + "position = 'td::text'\n",
            "fields.position",
            "not a usable extra field name (a-z, 0-9, _)",
        ),
        (
            MINIMAL.replace("[fields]", "[fields]\nentry_id = 'a::text'"),
            "fields.entry_id",
            "not a usable extra field name",
        ),
        # entries must select elements
        (MINIMAL.replace('"li"', '"h2 a::text"'), "entries", "'h2 a::text' selects text, not"),
    ],
)
def test_broken_profiles_name_the_key_and_what_is_wrong(text: str, key: str, problem: str) -> None:
    with pytest.raises(ProfileError) as caught:
        parse_profile(text, "site.toml")
    message = str(caught.value)
    assert message.startswith(f"profile site.toml: key '{key}': {problem}"), message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("entries", "text"),
    [
        ("li", False),
        ("li > a", False),
        ("//ul/li", False),
        ("//li[text()='x']", False),  # text in a condition still selects elements
        ("//li[@class]", False),
        ("p:nth-child(2n+1)", False),
        ("h2 a::text", True),
        ("a::attr(href)", True),
        ("li ::text", True),
        ("//li/text()", True),
        ("(//a)[1]/@href", True),
        ("//a/@data-x", True),
        ("//a/@*", True),
        ("//li/text()[1]", True),
        ("//li/attribute::id", True),
    ],
)
def test_an_entries_selector_that_yields_text_is_refused(entries: str, text: bool) -> None:
    assert yields_text(entries) is text


def test_entries_that_turn_out_to_be_text_fail_the_page_naming_the_key() -> None:
    """What loading cannot tell from the selector, the page tells: one line, naming the key."""
    profile = parse_profile(MINIMAL.replace('"li"', '"(//li/a/text())[1]"'), "site.toml")
    page = Selector(text="<ul><li><a>One</a></li></ul>")
    with pytest.raises(ProfileError, match=r"^profile site\.toml: key 'entries': .* selects text"):
        profile.extract(page, "https://site.example/list")


def test_bad_toml_names_the_file(tmp_path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("name = 'unterminated\n")
    with pytest.raises(ProfileError, match=f"profile {path}: not valid TOML"):
        load_profile_file(path)


CODE = "__import__('os').system('touch {marker}')"


def test_loading_and_using_a_profile_never_runs_code(tmp_path, monkeypatch) -> None:
    """Code-like text anywhere in a profile stays text: loading the profile and reading a
    page with it must not evaluate, compile or import anything named by the file."""
    marker = tmp_path / "ran"
    code = CODE.format(marker=marker)
    selector = json.dumps("./@data-x[" + code + "]")
    pattern = json.dumps("(" + re.escape(code) + ")?(.*)")
    text = f"""
name = {json.dumps(code)}
description = {json.dumps(code)}
entries = "li"
[fields]
title = "a::text"
note = {selector}
[patterns]
title = {pattern}
"""

    def refuse(*args, **kwargs):
        raise AssertionError(f"a profile made archiver run code: {args[:1]!r}")

    monkeypatch.setattr("scrapy.utils.misc.load_object", refuse)
    monkeypatch.setattr(builtins, "eval", refuse)
    monkeypatch.setattr(builtins, "exec", refuse)
    monkeypatch.setattr(importlib, "import_module", refuse)
    try:
        profile = parse_profile(text, "evil.toml")
    except ProfileError:
        profile = None  # refusing it is fine too; running it is not
    if profile is not None:
        profile.extract(Selector(text="<ul><li><a data-x='1'>One</a></li></ul>"), "https://a/")
    assert not marker.exists()


def test_a_key_naming_code_to_load_is_refused() -> None:
    """A loader that imported what a profile names (``processor = "os.system"``) would run
    code; unknown keys are refused instead."""
    for key in ("processor", "pipeline", "callback", "module"):
        with pytest.raises(ProfileError, match=f"key '{key}': unknown key"):
            parse_profile(f'{key} = "os.system"\n' + MINIMAL, "evil.toml")


def test_resolve_by_name_path_or_auto(tmp_path) -> None:
    assert [p.name for p in resolve_profile("demo")] == ["demo"]
    assert len(resolve_profile("auto")) == len(builtin_profiles())
    path = tmp_path / "mine.toml"
    path.write_text(MINIMAL)
    assert resolve_profile(str(path))[0].name == "mini"
    with pytest.raises(ProfileError, match="no such built-in profile"):
        resolve_profile("nonesuch")
    with pytest.raises(ProfileError, match="cannot be read"):
        resolve_profile(str(tmp_path / "missing.toml"))


@pytest.mark.parametrize(
    ("page", "expected"),
    [
        (DEMO / "index.html", "demo"),
        (FIXTURES / "aggregator_edge.html", "demo"),
        (FIXTURES / "forum.html", "hn"),
        (FIXTURES / "papermod_list.html", "papermod"),
    ],
)
def test_auto_detection(page, expected: str) -> None:
    selector = Selector(text=page.read_text("utf-8"))
    assert detect_profile(builtin_profiles(), selector, page.as_uri()).name == expected


def test_forum_profile_reads_rows_that_span_two_siblings() -> None:
    [profile] = resolve_profile("hn")
    url = "https://news.example/news"
    data = profile.extract(Selector(text=(FIXTURES / "forum.html").read_text()), url)
    first, ask, job = data.entries
    assert first["title"] == "Rust in the kernel, three years on"
    assert (first["age"], first["points"], first["source"]) == (
        "3 hours ago",
        "1,024 points",
        "example.org",
    )
    assert first["comments"].replace("\xa0", " ") == "312 comments"
    assert first["rank"] == "1"
    assert ask["url"] == "https://news.example/item?id=9002"
    assert ask["source"] == "news.example"  # a self post: the host
    assert ask["comments"] == "discuss"
    assert job["points"] is None and job["comments"] is None  # job posts have neither
    assert data.next_url == "https://news.example/news?p=2"


def test_papermod_profile_cuts_the_footer() -> None:
    [profile] = resolve_profile("papermod")
    data = profile.extract(
        Selector(text=(FIXTURES / "papermod_list.html").read_text()), "https://blog.example/"
    )
    first, second = data.entries
    assert first["age"] == "May 1, 2025"
    assert second["age"] == "March 3, 2024"  # the "·"-separated footer of newer PaperMod
    assert first["summary"].endswith("test-time compute.")  # the "..." is cut
    assert first["source"] == "A Blog"
    assert data.next_url == "https://blog.example/page/2/"


PAGE_KEYS_WITH_PATTERNS = """
[page]
time = "footer::text"
total = "h1::text"
next = "nav a::attr(href)"
source = "header::text"
[patterns]
time = "captured (\\\\S+)"
total = "(\\\\d+) posts"
next = "(.*)#pager"
source = "from (.*)"
"""


@pytest.mark.parametrize(
    ("page_html", "time", "total", "next_url", "source", "unmatched"),
    [
        (
            "<header>from Some Blog</header><h1>12 posts</h1><ul><li><a>One</a></li></ul>"
            "<nav><a href='/p2#pager'>Older</a></nav><footer>captured 2025-10-15T12:00Z</footer>",
            "2025-10-15T12:00Z", 12, "https://site.example/p2", "Some Blog", {},
        ),
        (
            "<header>Some Blog</header><h1>posts</h1><ul><li><a>One</a></li></ul>"
            "<nav><a href='/p2'>Older</a></nav><footer>a while ago</footer>",
            None, None, None, "site.example", {"time": 1, "total": 1, "next": 1, "source": 1},
        ),
    ],
    ids=["matched", "unmatched"],
)  # fmt: skip
def test_page_keys_go_through_their_patterns_and_misses_are_counted(
    page_html, time, total, next_url, source, unmatched
) -> None:
    """Every [page] value is cut by its pattern like a field, and a value its pattern does
    not match is counted under its own key (a crawl's stats and `profile check` show it)."""
    profile = parse_profile(MINIMAL + PAGE_KEYS_WITH_PATTERNS, "site.toml")
    data = profile.extract(Selector(text=page_html), "https://site.example/list")
    assert (data.time, data.total, data.next_url) == (time, total, next_url)
    assert data.entries[0]["source"] == source
    assert data.unmatched == unmatched


def test_detect_decides_which_pages_a_profile_claims() -> None:
    """``detect`` lets a profile claim only its own format (``profile=auto`` tries each in
    turn); without it, a page the entries selector finds anything on is claimed."""
    strict = parse_profile("detect = 'ul.posts li'\n" + MINIMAL, "site.toml")
    loose = parse_profile(MINIMAL, "site.toml")
    ours = Selector(text="<ul class='posts'><li><a>A</a></li></ul>")
    other = Selector(text="<ul class='menu'><li><a>Home</a></li></ul>")
    nothing = Selector(text="<p>no list</p>")
    assert [strict.matches(p) for p in (ours, other, nothing)] == [True, False, False]
    assert [loose.matches(p) for p in (ours, other, nothing)] == [True, True, False]
