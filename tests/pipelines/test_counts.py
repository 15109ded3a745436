"""Extra counts (comments, points, ...) a profile names in ``counts`` become integers, each on
its own: one that is absent or unreadable never costs the others."""

from __future__ import annotations

import pytest

from archiver.pipelines.counts import extra_counts

NAMES = ("comments", "points", "replies")


@pytest.mark.parametrize(
    ("extra", "numbers", "reasons"),
    [
        ({"comments": "12", "points": "1.2k", "replies": "0"},
         {"comments": 12, "points": 1200, "replies": 0}, {}),
        ({"points": "5"}, {"points": 5}, {}),  # the first is absent: the rest still count
        ({"comments": "many", "replies": "3"}, {"replies": 3}, {"comments": "unparsed"}),
        ({"comments": "", "points": "-4"}, {}, {"comments": "empty", "points": "negative"}),
        ({"title": "7", "views": "8"}, {}, {}),  # only the named fields are counts
        ({}, {}, {}),
    ],
)  # fmt: skip
def test_extra_counts(extra: dict[str, str], numbers: dict, reasons: dict) -> None:
    assert extra_counts(extra, NAMES) == (numbers, reasons)
