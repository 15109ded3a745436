"""The pieces of a page the suggester looks at: elements worth reading, their text, links,
classes and CSS steps, whether they sit in the page's chrome (menus, sidebars), and one
repeated block read (``Block``: its title link, dates, text).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from lxml import etree

from archiver.extract.dates import Rejected, parse_date, parse_relative
from archiver.extract.readable import element_text

SKIPPED = frozenset({"script", "style", "noscript", "template", "svg", "head", "iframe", "form"})
HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
# Where site chrome lives: a group inside one of these is rarely the listing.
CHROME_TAGS = frozenset({"nav", "aside", "footer", "header"})
CHROME_WORDS = re.compile(
    r"(?:^|[-_\s])(nav|navbar|navigation|menus?|sidebar|side-bar|widgets?|footer|breadcrumbs?|"
    r"pagination|pager|page-numbers?|tags?|tag-?cloud|tagcloud|clouds?|share|sharing|social|"
    r"advert\w*|ads?|sponsor\w*|banner|toc|friends?|blogroll|links)(?:$|[-_\s])",
    re.I,
)
# Links that are never an entry's own: its tags, categories, author, comments anchor.
AUX_HREF = re.compile(
    r"/(tags?|categor(y|ies)|authors?|users?|u|archives?|search|page)/|^#|^javascript:|"
    r"[?&](tag|category|author)=",
    re.I,
)
PAGE_NUMBER = re.compile(r"^\s*(\d{1,4}|[‹«<>»›…]+|prev(ious)?|next|older|newer)\s*$", re.I)
NEXT_TEXT = re.compile(
    r"^\s*(next|older|next page|older posts|older entries|more|下一页|下页|后一页|›|»|→|>|>>)"
    r"\s*[›»→>]*\s*$",
    re.I,
)
# Below this, the best group is a couple of bare links (a menu), not a listing: a listing of
# three posts with short titles and dates scores a few hundred.
MIN_SCORE = 30.0
CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")
DIGITS = re.compile(r"\d")


def weight(text: str) -> int:
    """How much reading ``text`` holds: a CJK character says about as much as a short word."""
    return len(text) + len(CJK.findall(text))


def classes(element: etree._Element) -> tuple[str, ...]:
    """The element's classes that name a kind, not one item (``post-123``, ``active`` out)."""
    found = (element.get("class") or "").split()
    state = {"active", "current", "selected", "first", "last", "odd", "even", "open", "show"}
    return tuple(
        sorted(c for c in set(found) if not DIGITS.search(c) and c not in state and c.isascii())
    )


def css_step(element: etree._Element, with_classes: bool = True) -> str:
    tag = element.tag if isinstance(element.tag, str) else "*"
    names = classes(element) if with_classes else ()
    return tag + "".join(f".{css_ident(c)}" for c in names)


def css_ident(name: str) -> str:
    return re.sub(r"([^A-Za-z0-9_-])", r"\\\1", name)


def elements(node: etree._Element) -> Iterator[etree._Element]:
    """Every element under ``node`` (itself included), skipping scripts, styles, forms."""
    stack = [node]
    while stack:
        current = stack.pop()
        if not isinstance(current.tag, str) or current.tag in SKIPPED:
            continue
        yield current
        stack.extend(reversed(current))


def usable_links(node: etree._Element) -> list[etree._Element]:
    return [
        a
        for a in elements(node)
        if a.tag == "a" and (a.get("href") or "").strip() and not AUX_HREF.search(a.get("href"))
    ]


def text_of(element: etree._Element) -> str:
    return " ".join(element_text(element).split())


def date_in(text: str, now: datetime) -> bool:
    if not text or len(text) > 80:
        return False
    try:
        return bool(parse_relative(text, now) or parse_date(text))
    except Rejected:  # a date, but not a usable one ("in 2 days", 31 February)
        return True


def chrome_factor(container: etree._Element) -> float:
    """Below 1 when the group sits in site chrome (navigation, sidebars, footers, tags)."""
    factor = 1.0
    node: etree._Element | None = container
    depth = 0
    while node is not None and depth < 8:
        if node.tag in CHROME_TAGS and not _inside(node, "article"):
            factor *= 0.2
        names = f"{node.get('class') or ''} {node.get('id') or ''}"
        if CHROME_WORDS.search(names):
            factor *= 0.35
        node = node.getparent()
        depth += 1
    return factor


def _inside(node: etree._Element, tag: str) -> bool:
    return any(parent.tag == tag for parent in node.iterancestors())


@dataclass
class Block:
    """One candidate entry: its element, and what reading it found."""

    element: etree._Element
    title: etree._Element | None = None  # the element whose text is the title
    link: etree._Element | None = None  # the <a> whose href is the entry's URL
    title_text: str = ""
    href: str = ""
    other_text: int = 0  # weight of the text that is not the title
    has_date: bool = False
    has_heading: bool = False

    def score(self) -> float:
        if not self.title_text or not self.href:
            return 0.0
        if PAGE_NUMBER.match(self.title_text):
            return 0.0
        value = min(weight(self.title_text), 60) + 0.25 * min(self.other_text, 400)
        value += 25 * self.has_date + 15 * self.has_heading
        return value


def read_block(element: etree._Element, now: datetime) -> Block:
    block = Block(element)
    links = usable_links(element)
    headings = [e for e in elements(element) if e.tag in HEADINGS]
    block.has_heading = bool(headings)
    for heading in headings:
        inner = usable_links(heading)
        if inner and text_of(inner[0]):
            block.title, block.link = inner[0], inner[0]
            break
        if text_of(heading):
            block.title = heading
            # The heading is not a link: the entry's own link is one nearby with no text of
            # its own (a card-wide overlay link) or the first that is not a tag or author.
            block.link = next((a for a in links if not text_of(a)), links[0] if links else None)
            break
    if block.title is None and links:
        titled = [a for a in links if "title" in f"{a.get('class')} {a.getparent().get('class')}"]
        block.link = block.title = (
            titled[0] if titled else max(links, key=lambda a: weight(text_of(a)))
        )
    if block.title is not None:
        block.title_text = text_of(block.title)
    if block.link is not None:
        block.href = (block.link.get("href") or "").strip()
    whole = weight(text_of(element))
    block.other_text = max(0, whole - weight(block.title_text))
    block.has_date = any(e.tag == "time" for e in elements(element)) or any(
        date_in(text_of(e), now) for e in elements(element) if len(e) == 0 and e is not block.title
    )
    return block
