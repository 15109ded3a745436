"""Groups of alike sibling blocks, scored: the listing is the group whose blocks each hold a
titled link and more (a date, a heading, a paragraph), outside the page's chrome.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from lxml import etree

from archiver.extract.suggest.blocks import (
    SKIPPED,
    Block,
    chrome_factor,
    css_step,
    elements,
    read_block,
)


@dataclass
class Group:
    """Sibling blocks built alike, under one container (or alike containers)."""

    container: etree._Element
    step: str  # the blocks' CSS step, e.g. ``article.post-entry``
    blocks: list[Block]
    loose: bool = False  # grouped by tag alone
    score: float = 0.0
    why: list[str] = field(default_factory=list)

    def describe(self) -> str:
        return f"{len(self.blocks)} x {self.step!r} under {css_step(self.container)!r}"


def find_groups(root: etree._Element, now: datetime) -> list[Group]:
    """Every group of at least two alike siblings holding a link, scored, best first."""
    groups: dict[tuple[str, str, int], Group] = {}
    for container in elements(root):
        children = [c for c in container if isinstance(c.tag, str) and c.tag not in SKIPPED]
        if len(children) < 2:
            continue
        alike: dict[str, list[etree._Element]] = {}
        for child in children:
            alike.setdefault(css_step(child), []).append(child)
            # Also by tag alone: li, li.sticky, li.featured are one list.
            alike.setdefault(css_step(child, with_classes=False) + "*", []).append(child)
        for step, members in alike.items():
            if len(members) < 2:
                continue
            loose = step.endswith("*")
            if loose:
                if all(css_step(m) == css_step(members[0]) for m in members):
                    continue  # the same group as the classed one
                step = step[:-1]
            blocks = [read_block(m, now) for m in members]
            if sum(1 for b in blocks if b.href) < 2:
                continue
            # Alike containers side by side (one per year, one per day) hold one listing.
            # The parent itself, not its id(): lxml makes a new proxy object for a node each
            # time it is reached and frees it when unused, so the id of a proxy no longer held
            # may come back as another node's. The key holds the proxy, so it stays one node's.
            key = (css_step(container), step + "*" * loose, container.getparent())
            if key in groups:
                groups[key].blocks += blocks
            else:
                groups[key] = Group(container, step, blocks, loose=loose)
    scored = [_score(group) for group in groups.values()]
    # A group by tag alone (li, tr) is for lists whose items differ in class; where one
    # class of its items carries most of its score (tr.athing among the rows of a table),
    # that class is the list.
    for loose in [g for g in scored if g.loose]:
        members = {id(b.element) for b in loose.blocks}
        for tight in scored:
            if tight.loose or "." not in tight.step or tight.score < 0.5 * loose.score:
                continue
            inside = {id(b.element) for b in tight.blocks}
            if not inside < members:
                continue
            rest = [b.score() for b in loose.blocks if id(b.element) not in inside]
            mean = sum(b.score() for b in tight.blocks) / len(tight.blocks)
            if sum(rest) / max(1, len(rest)) < 0.5 * mean:  # the others are not entries
                loose.score = 0.0
                break
    return sorted((g for g in scored if g.score > 0), key=lambda g: g.score, reverse=True)


def _score(group: Group) -> Group:
    blocks = group.blocks
    scores = [b.score() for b in blocks]
    titled = [b for b, s in zip(blocks, scores, strict=True) if s > 0]
    if len(titled) < 2:
        group.score = 0.0
        return group
    consistency = len(titled) / len(blocks)
    hrefs = [b.href for b in titled]
    distinct = len(set(hrefs)) / len(hrefs)
    bare = sum(b.other_text for b in titled) / len(titled) < 8 and not any(
        b.has_date for b in titled
    )
    factor = chrome_factor(group.container) * consistency * distinct**2
    if bare:  # menus, tag clouds, archive and category lists: links and nothing else
        factor *= 0.3
        group.why.append("its blocks are bare links")
    group.score = sum(scores) * factor
    return group


def innermost(best: Group, groups: list[Group]) -> Group:
    """Past the layout: when the best group is a few big wrappers (the main column and the
    sidebar) and one of them holds a strong group of its own, that group is the listing."""
    if len(best.blocks) > 3:
        return best
    for other in groups[1:]:
        if other.score < 0.3 * best.score or not nested(other, best):
            continue
        holders = [b for b in best.blocks if _holds(b, other)]
        if len(holders) == 1:
            other.why.append(f"it lies in one block of {best.describe()}, a page layout")
            return other
    return best


def outermost(best: Group, groups: list[Group]) -> Group:
    """The entry level: when the best group lies inside the blocks of another whose blocks
    each have a heading (posts whose bodies hold lists of links), that other group."""
    for other in groups[1:]:
        if other.score < 0.25 * best.score or not nested(best, other):
            continue
        headed = [b for b in other.blocks if b.has_heading and b.score() > 0]
        # Each post holds some of the links; not one wrapper holding the whole list.
        holding = [b for b in other.blocks if _holds(b, best)]
        if len(headed) >= 0.8 * len(other.blocks) and len(holding) >= 0.8 * len(other.blocks):
            other.why.append(f"its blocks hold the lists of {best.describe()}")
            return other
    return best


def _holds(block: Block, group: Group) -> bool:
    inside = {id(e) for e in block.element.iterdescendants()}
    return any(id(b.element) in inside for b in group.blocks)


def nested(inner: Group, outer: Group) -> bool:
    """True when ``inner``'s blocks lie inside ``outer``'s (a sub-list of the entries)."""
    outer_ids = {id(b.element) for b in outer.blocks}
    return any(id(ancestor) in outer_ids for ancestor in inner.blocks[0].element.iterancestors())
