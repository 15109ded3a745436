from __future__ import annotations

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


def test_ids_are_short_hex() -> None:
    entry_id = make_entry_id(POST, None, None)
    assert len(entry_id) == 16 and int(entry_id, 16) >= 0
