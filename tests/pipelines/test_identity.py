from __future__ import annotations

import hashlib

import pytest

from archiver.pipelines.identity import canonical_post_key, make_entry_id

POST = "https://lilianweng.github.io/posts/2025-05-01-thinking/"


@pytest.mark.parametrize(
    "variant",
    [
        POST,
        "http://lilianweng.github.io/posts/2025-05-01-thinking/",
        "https://www.lilianweng.github.io/posts/2025-05-01-thinking",
        "https://LILIANWENG.github.io:443/posts/2025-05-01-thinking/#section-2",
    ],
)
def test_same_post_same_id(variant: str) -> None:
    assert make_entry_id(variant, "x", "y") == make_entry_id(POST, "other", "other")


def test_query_order_does_not_matter() -> None:
    assert canonical_post_key("https://a.example/p?b=2&a=1") == "a.example/p?a=1&b=2"


def test_without_url_the_id_comes_from_source_and_title() -> None:
    assert make_entry_id(None, "Lil'Log", "Why We Think") == make_entry_id(
        "javascript:void(0)", "lil'log", "  Why  we think "
    )
    assert make_entry_id(None, "Lil'Log", "Why We Think") != make_entry_id(
        None, "Other blog", "Why We Think"
    )


# Ids are a promise across versions: a year of history joins on them. These were written by
# archiver 0.1.0; a change here silently splits every entry's history in two.
@pytest.mark.parametrize(
    ("url", "source", "title", "entry_id"),
    [
        (POST, None, None, "b4ee62a133bbdd6d"),
        ("https://news.ycombinator.com/item?id=45312345", None, None, "d80358b6c01c0853"),
        ("https://a.example/p?b=2&a=1", None, None, "5b7b30d83ea4456b"),
        (None, "Lil'Log", "Why We Think", "fc2b919c4010cfa0"),
        (None, None, "Ask TN: How do you archive the web you read?", "09038f31e709878e"),
    ],
)
def test_ids_are_pinned_across_versions(url, source, title, entry_id: str) -> None:
    assert make_entry_id(url, source, title) == entry_id


def test_an_id_is_the_start_of_the_sha256_of_the_canonical_key() -> None:
    key = "lilianweng.github.io/posts/2025-05-01-thinking"
    assert canonical_post_key(POST) == key
    assert make_entry_id(POST, None, None) == hashlib.sha256(key.encode()).hexdigest()[:16]


@pytest.mark.parametrize("url", ["http://host:443%7E/p", "http://[::1/p", "https://a.example:x/"])
def test_a_url_w3lib_cannot_read_falls_back_to_source_and_title(url: str) -> None:
    assert canonical_post_key(url) is None
    assert make_entry_id(url, "Blog", "A post") == make_entry_id(None, "Blog", "A post")


@pytest.mark.parametrize(
    ("url", "key"),
    [
        # URLs that take the general path (a query, an escape, a fragment with a query).
        ("https://blog.example/p?id=7#comments", "blog.example/p?id=7"),
        ("https://www.blog.example/a%20b/?x=1", "blog.example/a%20b?x=1"),
        ("https://blog.example/EX/?a=1", "blog.example/EX?a=1"),
        ("https://blog.example/?a=1", "blog.example/?a=1"),
        # Dot segments, alone or together, are resolved as a browser resolves them.
        ("https://blog.example/2025/./post/", "blog.example/2025/post"),
        ("https://blog.example/2025/x/../post", "blog.example/2025/post"),
        ("https://blog.example/a/./b/../c", "blog.example/a/c"),
        # Not a post URL of the web: no key, so the id falls back to source and title.
        ("ftp://blog.example/p?x=1", None),
        ("mailto:someone@blog.example?subject=x", None),
        ("https:///p?x=1", None),
        ("https://blog.example:80x/p", None),
    ],
)
def test_general_urls_have_one_key(url: str, key: str | None) -> None:
    assert canonical_post_key(url) == key
