from __future__ import annotations

import pytest

from archiver.pipelines.text import clean_text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Lil'Log", "Lil'Log"),
        ("  Why   We\n\tThink ", "Why We Think"),
        ("A\xa0B", "A B"),
        # The parser has decoded the page: what is left is what the page showed, literally.
        ("how to size a <td>", "how to size a <td>"),
        ("<b>Bold</b> is markup shown as text", "<b>Bold</b> is markup shown as text"),
        ("AT&amp;T, as printed", "AT&amp;T, as printed"),
        ("“thinking time”", "“thinking time”"),
        ("bell\x07 char", "bell char"),
        ("\x00\x1f  ", None),
        ("", None),
        (None, None),
    ],
)
def test_clean_text(raw: str | None, expected: str | None) -> None:
    assert clean_text(raw) == expected
