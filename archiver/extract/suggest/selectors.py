"""Selectors for what was found: the entries' selector, and within a block the shortest
selector that picks the same element in (nearly) every block.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from typing import Any

from lxml import etree
from parsel.csstranslator import HTMLTranslator

from archiver.extract.profiles import compile_query, is_xpath
from archiver.extract.suggest.blocks import DIGITS, Block, classes, css_ident, css_step
from archiver.extract.suggest.groups import Group


def matches(query: str, node: etree._Element) -> list[Any]:
    try:
        return list(compile_query(query)(node))
    except (etree.XPathError, ValueError):
        return []


def entries_selector(root: etree._Element, group: Group) -> tuple[str, int]:
    """The shortest CSS selector that picks the group's blocks on the page, and how many
    other elements it also picks (0 when exact)."""
    wanted = {id(b.element) for b in group.blocks}
    steps = [group.step]
    node = group.container
    for _ in range(4):
        if node is None or not isinstance(node.tag, str):
            break
        ident = node.get("id")
        if ident and not DIGITS.search(ident):
            steps.append(f"{node.tag}#{css_ident(ident)}")
            break
        steps.append(css_step(node))
        node = node.getparent()
    best: tuple[str, int] | None = None
    for length in range(1, len(steps) + 1):
        query = " > ".join(reversed(steps[:length]))
        found = {id(e) for e in matches(query, root)}
        if not wanted <= found:
            continue
        extra = len(found - wanted)
        if best is None or extra < best[1]:
            best = (query, extra)
        if extra == 0:
            break
    return best or (group.step, 0)


def relative_selectors(block: Block, target: etree._Element) -> list[str]:
    """CSS selectors, short to long, that reach ``target`` from its block."""
    path: list[etree._Element] = []
    node: etree._Element | None = target
    while node is not None and node is not block.element:
        path.append(node)
        node = node.getparent()
    if node is None:
        return []
    if not path:  # the block is the link itself (a list of bare links)
        return ["./self::*"]
    path.reverse()
    last = path[-1]
    candidates = [css_step(last), css_step(last, with_classes=False)]
    if len(path) > 1:
        candidates.append(f"{css_step(path[-2])} > {css_step(last)}")
        candidates.append(f"{css_step(path[-2])} {css_step(last, with_classes=False)}")
    candidates.append(" > ".join(css_step(step) for step in path))
    # Alike siblings (two <time>s, three <span>s): say which one, by its place among them.
    candidates.append(" > ".join(_positional(step) for step in path))
    # A child of the block itself (CSS cannot say "a child of the entry", XPath can).
    if len(path) <= 2:
        candidates.append("./" + "/".join(_xpath_step(step) for step in path))
    return list(dict.fromkeys(candidates))


def attribute(query: str, name: str) -> str:
    """The selector for ``name``'s value on what ``query`` picks, CSS or XPath."""
    return f"{query}/@{name}" if is_xpath(query) else f"{query}::attr({name})"


def _xpath_step(element: etree._Element) -> str:
    names = classes(element)
    return element.tag + "".join(f"[contains(@class, '{n}')]" for n in names)


def _positional(element: etree._Element) -> str:
    parent = element.getparent()
    step = css_step(element)
    if parent is None:
        return step
    same = [c for c in parent if c.tag == element.tag]
    if len(same) < 2:
        return step
    return f"{element.tag}:nth-of-type({same.index(element) + 1})"


def choose(
    blocks: list[Block],
    targets: list[etree._Element | None],
    accept: Callable[[etree._Element, etree._Element], bool] | None = None,
) -> tuple[str, int] | None:
    """The relative selector that picks, alone, the chosen element in the most blocks."""
    tally: Counter[str] = Counter()
    for block, target in zip(blocks, targets, strict=True):
        if target is not None:
            tally.update(relative_selectors(block, target))
    best: tuple[str, int] | None = None
    for query, _ in tally.most_common(12):
        hits = 0
        for block, target in zip(blocks, targets, strict=True):
            found = matches(query, block.element)
            if (
                target is not None
                and len(found) == 1
                and (found[0] is target or (accept is not None and accept(found[0], target)))
            ):
                hits += 1
        if best is None or (hits, *_preference(query)) > (best[1], *_preference(best[0])):
            best = (query, hits)
    return best if best and best[1] > 0 else None


def _preference(query: str) -> tuple[int, int, int]:
    """On a tie: a last step that names a class (it says what the element is), then fewer
    steps (fewer ways to break when the markup shifts), then no positions."""
    steps = query.replace(" > ", " ").split(" ")
    return ("." in steps[-1], -len(steps), -query.count(":nth-of-type"))


def simple_xpath(css: str, start: str) -> str:
    """``main > article.post-entry`` as ``//main/article[contains(@class, 'post-entry')]``:
    the XPath a person would write, for the selectors this module makes."""
    parts = []
    for token in css.replace(" > ", " >").split(" "):
        child = token.startswith(">")
        tag, *names = token.lstrip(">").split(".")
        if not re.fullmatch(r"[a-z][a-z0-9]*|\*", tag) or any(
            not re.fullmatch(r"[\w-]+", n) for n in names
        ):
            translator = HTMLTranslator()
            return "(" + translator.css_to_xpath(css, prefix="descendant-or-self::") + ")"
        test = "".join(f"[contains(@class, '{n}')]" for n in names)
        parts.append(("/" if child else "//") + tag + test)
    return start + "".join(parts)[2 if parts[0].startswith("//") else 1 :]
