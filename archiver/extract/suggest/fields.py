"""The field finders: within the entry blocks, which element is the date or age, which are
the counts, which is the summary; and the page's next link.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from urllib.parse import urljoin, urlsplit

from lxml import etree

from archiver.extract.suggest.blocks import (
    NEXT_TEXT,
    Block,
    classes,
    css_ident,
    css_step,
    date_in,
    elements,
    text_of,
    weight,
)
from archiver.extract.suggest.selectors import attribute, choose, matches


def _leaves(block: Block) -> Iterable[etree._Element]:
    for element in elements(block.element):
        if element is block.element:
            continue
        if len(element) == 0 or element.tag == "time":
            yield element


def find_date(blocks: list[Block], now: datetime) -> tuple[str, int] | None:
    """``time::attr(datetime)`` when the blocks have one, else the element whose text reads
    as a date or an age ("3 days ago")."""
    times = []
    for block in blocks:
        stamped = [e for e in elements(block.element) if e.tag == "time" and e.get("datetime")]
        times.append(stamped[0] if stamped else None)
    if sum(t is not None for t in times) >= 0.6 * len(blocks):
        chosen = choose(blocks, times)
        if chosen:
            return attribute(chosen[0], "datetime"), chosen[1]
    targets = []
    for block in blocks:
        found = [e for e in _leaves(block) if e is not block.title and date_in(text_of(e), now)]
        targets.append(found[0] if found else None)
    if sum(t is not None for t in targets) < 0.6 * len(blocks):
        return None
    return choose(blocks, targets, accept=lambda a, b: date_in(text_of(a), now))


def find_summary(blocks: list[Block], taken: set[int]) -> tuple[str, int] | None:
    """The element with the most text that is neither the title nor a date, when blocks
    have a paragraph's worth of it."""
    targets: list[etree._Element | None] = []
    for block in blocks:
        best, best_weight = None, 0
        for element in elements(block.element):
            if element is block.element or id(element) in taken or element.tag == "a":
                continue
            if block.title is not None and (
                element is block.title
                or block.title in element.iterdescendants()
                or element in block.title.iterdescendants()
            ):
                continue
            text = text_of(element)
            if weight(text) > best_weight and element.tag in ("p", "div", "section", "span", "td"):
                best, best_weight = element, weight(text)
        targets.append(best if best_weight >= 40 else None)
    if sum(t is not None for t in targets) < 0.5 * len(blocks):
        return None
    return choose(blocks, targets, accept=lambda a, b: weight(text_of(a)) >= 40)


def find_next(root: etree._Element, page_url: str, blocks: list[Block]) -> tuple[str, str]:
    """The next-page link: ``rel=next``, a link named next/older/more, or one whose class
    says next; never one inside an entry. (selector, why); an empty selector when none."""
    inside = {e for b in blocks for e in elements(b.element)}  # held: see find_groups
    host = urlsplit(page_url).hostname

    def ok(a: etree._Element) -> bool:
        href = (a.get("href") or "").strip()
        if not href or href.startswith(("#", "javascript:")) or a in inside:
            return False
        target = urljoin(page_url, href)
        return urlsplit(target).hostname == host and target.rstrip("/") != page_url.rstrip("/")

    links = [a for a in elements(root) if a.tag == "a" and ok(a)]
    rel = [a for a in links if "next" in (a.get("rel") or "").lower().split()]
    if rel:
        return 'a[rel~="next"]::attr(href)', "a link marked rel=next"
    head = matches('link[rel~="next"]', root)
    if head:
        return 'link[rel~="next"]::attr(href)', "the page's <link rel=next>"
    named = [a for a in links if NEXT_TEXT.match(text_of(a) or a.get("aria-label") or "")]
    classed = [
        a
        for a in links
        if any("next" in c.lower() for c in (a.get("class") or "").split())
        or any("next" in c.lower() for c in (a.getparent().get("class") or "").split())
    ]
    for found, why in ((classed, "a link whose class says next"), (named, "a link named next")):
        if not found:
            continue
        a = found[0]
        query = f"{css_step(a)}::attr(href)"
        if len(matches(css_step(a), root)) == 1:
            return query, why
        parent = a.getparent()
        query = f"{css_step(parent)} > {css_step(a)}"
        if len(matches(query, root)) == 1:
            return f"{query}::attr(href)", why
        label = text_of(a)
        if label and '"' not in label:
            return f'//a[normalize-space()="{label}"]/@href', why
    previous = [a for a in links if "prev" in (a.get("rel") or "").lower().split()]
    if previous:  # the last page: the next link is built like the previous one
        return 'a[rel~="next"]::attr(href)', "as the rel=prev link (this page has no next)"
    previous = [a for a in links if any("prev" in c.lower() for c in classes(a))]
    if previous:
        names = [c.replace("prev", "next") for c in classes(previous[0])]
        query = "a" + "".join(f".{css_ident(c)}" for c in names)
        return f"{query}::attr(href)", "as the previous-page link (this page has no next)"
    return "", "no next link found (a single page, or pages loaded by script)"
