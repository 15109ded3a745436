from __future__ import annotations

import pytest

from archiver.errors import Rejected
from archiver.pipelines.views import parse_count


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0 views", 0),
        ("1 view", 1),
        ("1,234 views", 1234),
        ("1 234 views", 1234),
        ("1.2k views", 1200),
        ("1.25K", 1250),
        ("2.01k views", 2010),  # exact decimal arithmetic: a float gives 2009
        ("1.15k", 1150),
        ("0.001k views", 1),
        ("9007199254740993 views", 9_007_199_254_740_993),  # beyond a float's 2**53
        ("9223372036854775807 views", 2**63 - 1),  # the largest int64
        ("3M views", 3_000_000),
        ("2.5b views", 2_500_000_000),
        ("42", 42),
        ("141 comments", 141),
        ("118 points", 118),
        ("no views", 0),
        ("  7   views ", 7),
    ],
)
def test_counts(text: str, expected: int) -> None:
    assert parse_count(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("lots of views", "unparsed"),
        ("-5 views", "negative"),
        ("1e309 views", "unparsed"),
        ("12abc", "unparsed"),
        ("99999999999999999999 views", "out_of_range"),
        ("9223372036854775808 views", "out_of_range"),  # one past int64
        ("views: 5", "unparsed"),
    ],
)
def test_rejections(text: str, reason: str) -> None:
    with pytest.raises(Rejected) as caught:
        parse_count(text)
    # Both go into the one-line log: why, and the text exactly as printed.
    assert (caught.value.reason, caught.value.value) == (reason, text)
