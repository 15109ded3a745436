from __future__ import annotations

import pytest

from archiver.pipelines.text import clean_text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Lil&#39;Log", "Lil'Log"),
        ("  Why   We\n\tThink ", "Why We Think"),
        ("<b>Bold</b> and <i>italic</i>", "Bold and italic"),
        ("A&nbsp;B", "A B"),
        ("&lt;b&gt; is a tag", "<b> is a tag"),
        ("“thinking time”", "“thinking time”"),
        ("bell\x07 char", "bell char"),
        ("<p></p>   ", None),
        ("", None),
        (None, None),
    ],
)
def test_clean_text(raw: str | None, expected: str | None) -> None:
    assert clean_text(raw) == expected
