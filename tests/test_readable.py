"""An element's text as a reader sees it: inline runs on, blocks apart, hidden parts gone."""

from __future__ import annotations

import pytest
from parsel import Selector

from archiver.extract.readable import element_text


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("<h2>Why We <em>Think</em></h2>", "Why We Think"),
        ("<h2>Hel<b>lo</b></h2>", "Hello"),  # inline markup inside a word
        ("<p>Line one.<br>Line&nbsp;two</p>", "Line one. Line two"),
        ("<div><p>One</p><p>Two</p></div>", "One Two"),  # blocks never run together
        ("<td>how to size a &lt;td&gt;</td>", "how to size a <td>"),  # text, not a tag
        ("<p>AT&amp;amp;T</p>", "AT&amp;T"),  # double-escaped: the page shows "&amp;"
        ("<div>Text<script>var x = '<b>';</script><style>p{}</style> after</div>", "Text after"),
        ("<div>a<!-- a comment -->b</div>", "ab"),
        ("<ul><li>first</li><li>second</li></ul>", "first second"),
        ("<p>   </p>", ""),
    ],
)
def test_element_text(html: str, expected: str) -> None:
    root = Selector(text=html).xpath("//body/*")[0].root
    assert element_text(root) == expected
