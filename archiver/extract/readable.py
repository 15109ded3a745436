"""The text of an HTML element as a reader sees it, taken from the parsed document.

Markup is removed here, where a selector returned *elements*, by walking the tree lxml
already built; never by a pattern run over text. Text a page shows literally, such as a
title about ``<td>`` (``&lt;td&gt;`` in the source), is text and is kept.
"""

from __future__ import annotations

from lxml import etree

# Elements that break a line (or a cell) for a reader; text inside inline elements
# (<b>, <a>, <span>...) runs on: "Hel<b>lo</b>" reads "Hello".
BLOCK = frozenset({
    "address", "article", "aside", "blockquote", "br", "dd", "details", "div", "dl", "dt",
    "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6",
    "header", "hr", "li", "main", "nav", "ol", "p", "pre", "section", "summary", "table",
    "tbody", "td", "tfoot", "th", "thead", "tr", "ul",
})  # fmt: skip
# Never shown as text.
HIDDEN = frozenset({"script", "style", "template", "noscript", "head", "title"})


def element_text(element: etree._Element) -> str:
    """The reader's text of ``element``: inline runs joined, blocks apart, whitespace as
    HTML collapses it (single spaces, none at the ends)."""
    parts: list[str] = []

    def walk(node: etree._Element) -> None:
        tag = node.tag if isinstance(node.tag, str) else ""  # comments, PIs: no text
        if tag in HIDDEN:
            return
        block = tag in BLOCK
        if block:
            parts.append(" ")
        if tag and node.text:
            parts.append(node.text)
        for child in node:
            walk(child)
            if child.tail:
                parts.append(child.tail)
        if block:
            parts.append(" ")

    walk(element)
    return " ".join("".join(parts).split())
