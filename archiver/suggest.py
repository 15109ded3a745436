"""A draft profile from one page: the page's repeated entry blocks, found from its structure.

No model and no network: a listing is a run of sibling blocks built alike (``article.post``,
``li``, ``tr.athing``), each with a link that has a title, most with a date, a summary or
counts. Menus, tag clouds, archives and pagination repeat too, so every group of alike
siblings is scored:

* each block counts by the text of its title link and by what else it holds (a date, a
  heading, a paragraph): a menu item or a tag is a bare short link and scores little;
* groups inside ``nav``, ``aside``, ``footer`` or ``header``, or whose names say menu, sidebar,
  widget, tags, pagination, share or ads, score a fraction;
* a group whose links all go to one place, or whose titles are page numbers, scores nothing.

The best group becomes ``entries``; within its blocks, the title link, the date, the counts
and the summary are found by what their text is, and each selector is the shortest one that
picks the same element in (nearly) every block. The result is checked by applying the profile
to the page. It says when it is unsure: few blocks, a runner-up group that scores almost as
high, titles or links missing in many blocks.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

from lxml import etree
from parsel import Selector
from parsel.csstranslator import HTMLTranslator

from archiver.dates import Rejected, parse_date, parse_relative
from archiver.errors import ArchiverError
from archiver.profiles import Profile, compile_query, is_xpath, parse_profile
from archiver.readable import element_text
from archiver.version import __version__

# Never entry blocks, and never inside one.
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
COUNT = re.compile(
    r"(?P<n>\d[\d,.]*\s*[kKmM]?)\s*(?P<what>views?|reads?|visits?|points?|votes?|likes?|"
    r"comments?|replies|answers?|阅读|浏览|评论|点赞)",
    re.I,
)
COUNT_NAMES = {
    "view": "views", "read": "views", "visit": "views", "阅读": "views", "浏览": "views",
    "point": "points", "vote": "points", "like": "points", "点赞": "points",
    "comment": "comments", "repl": "comments", "answer": "comments", "评论": "comments",
}  # fmt: skip
NEXT_TEXT = re.compile(
    r"^\s*(next|older|next page|older posts|older entries|more|下一页|下页|后一页|›|»|→|>|>>)"
    r"\s*[›»→>]*\s*$",
    re.I,
)
# Below this, the best group is a couple of bare links (a menu), not a listing: a listing of
# three posts with short titles and dates scores a few hundred.
MIN_SCORE = 30.0
CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")
_DIGITS = re.compile(r"\d")


class SuggestError(ArchiverError):
    """No listing could be recognised; the message says what was looked for, and where."""


@dataclass
class Suggestion:
    """A draft profile, what it read from the page, and why it may be wrong."""

    profile: Profile
    text: str  # the profile as TOML, with comments saying why each selector was chosen
    entries: int
    unsure: list[str] = field(default_factory=list)
    sample: list[dict[str, str | None]] = field(default_factory=list)

    @property
    def sure(self) -> bool:
        return not self.unsure


# --- small pieces ------------------------------------------------------------------------


def weight(text: str) -> int:
    """How much reading ``text`` holds: a CJK character says about as much as a short word."""
    return len(text) + len(CJK.findall(text))


def classes(element: etree._Element) -> tuple[str, ...]:
    """The element's classes that name a kind, not one item (``post-123``, ``active`` out)."""
    found = (element.get("class") or "").split()
    state = {"active", "current", "selected", "first", "last", "odd", "even", "open", "show"}
    return tuple(
        sorted(c for c in set(found) if not _DIGITS.search(c) and c not in state and c.isascii())
    )


def css_step(element: etree._Element, with_classes: bool = True) -> str:
    tag = element.tag if isinstance(element.tag, str) else "*"
    names = classes(element) if with_classes else ()
    return tag + "".join(f".{_css_ident(c)}" for c in names)


def _css_ident(name: str) -> str:
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


# --- blocks and groups -------------------------------------------------------------------


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


# --- selectors -----------------------------------------------------------------------------


def _matches(query: str, node: etree._Element) -> list[Any]:
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
        if ident and not _DIGITS.search(ident):
            steps.append(f"{node.tag}#{_css_ident(ident)}")
            break
        steps.append(css_step(node))
        node = node.getparent()
    best: tuple[str, int] | None = None
    for length in range(1, len(steps) + 1):
        query = " > ".join(reversed(steps[:length]))
        found = {id(e) for e in _matches(query, root)}
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
            found = _matches(query, block.element)
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


# --- fields --------------------------------------------------------------------------------


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


def find_counts(blocks: list[Block]) -> dict[str, tuple[str, int]]:
    """``views``, ``points``, ``comments``: an element whose text is a number and its noun."""
    found: dict[str, list[etree._Element | None]] = {}
    for index, block in enumerate(blocks):
        # Deepest first: "<div><span>5</span> votes</div>" is read as the div's text.
        small = [e for e in elements(block.element) if e is not block.element]
        for element in sorted(small, key=lambda e: -sum(1 for _ in e.iterancestors())):
            if len(text_of(element)) > 40:
                continue
            match = COUNT.fullmatch(text_of(element).strip())
            if not match:
                continue
            noun = match["what"].lower()
            name = next(v for k, v in COUNT_NAMES.items() if noun.startswith(k))
            slots = found.setdefault(name, [None] * len(blocks))
            if slots[index] is None:
                slots[index] = element
    chosen = {}
    for name, targets in found.items():
        if sum(t is not None for t in targets) >= 0.5 * len(blocks):
            best = choose(blocks, targets, accept=lambda a, b: bool(COUNT.search(text_of(a))))
            if best and best[1] >= 0.5 * len(blocks):
                chosen[name] = best
    return chosen


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
    head = _matches('link[rel~="next"]', root)
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
        if len(_matches(css_step(a), root)) == 1:
            return query, why
        parent = a.getparent()
        query = f"{css_step(parent)} > {css_step(a)}"
        if len(_matches(query, root)) == 1:
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
        query = "a" + "".join(f".{_css_ident(c)}" for c in names)
        return f"{query}::attr(href)", "as the previous-page link (this page has no next)"
    return "", "no next link found (a single page, or pages loaded by script)"


# --- the suggestion ----------------------------------------------------------------------------


def suggest(html: str | bytes, page_url: str, name: str | None = None) -> Suggestion:
    """A draft profile for the listing on one page; a SuggestError when there is none."""
    text = html.decode("utf-8", "replace") if isinstance(html, bytes) else html
    root = Selector(text=text).root
    now = datetime.now(UTC)
    groups = find_groups(root, now)
    if not groups or groups[0].score < MIN_SCORE:
        raise SuggestError(
            f"{page_url}: no listing found (no group of alike blocks with a titled link each)"
        )
    best = _outermost(_innermost(groups[0], groups), groups)
    blocks = [b for b in best.blocks if b.score() > 0]
    unsure: list[str] = []
    if len(blocks) < 3:
        unsure.append(f"only {len(blocks)} entry blocks were found")
    # Other groups, apart from the entries' own parts (a post's list of links) and wrappers.
    others = [g for g in groups if g is not best and not _nested(g, best) and not _nested(best, g)]
    runner = others[0] if others else None
    if runner is not None and runner.score >= 0.6 * best.score:
        unsure.append(
            f"another group scores nearly as high ({runner.describe()}, "
            f"{runner.score / best.score:.0%} of the chosen one): check that the entries are "
            "the posts"
        )
    entries, extra = entries_selector(root, best)
    if extra:
        unsure.append(f"the entries selector also picks {extra} other element(s)")
    title = choose(blocks, [b.title for b in blocks])
    url = choose(blocks, [b.link for b in blocks])
    if title is None or url is None:
        raise SuggestError(f"{page_url}: entry blocks found ({best.describe()}) but no title link")
    hollow = len(best.blocks) - len(blocks)
    if hollow and not extra:
        # Blocks built like entries but without a title link (an advert, a placeholder):
        # only those holding the entry's link are entries.
        link = url[0] if is_xpath(url[0]) else _simple_xpath(url[0], ".//")
        entries = f"{_simple_xpath(entries, '//')}[{link}]"
    fields: dict[str, tuple[str, str]] = {
        "title": (title[0], f"the title in {title[1]} of {len(blocks)} entries"),
        "url": (attribute(url[0], "href"), f"the title link in {url[1]} of {len(blocks)} entries"),
    }
    if title[1] < 0.8 * len(blocks):
        unsure.append(f"the title selector reads only {title[1]} of {len(blocks)} entries")
    taken = {id(b.title) for b in blocks} | {id(b.link) for b in blocks}
    if date := find_date(blocks, now):
        fields["age"] = (date[0], f"a date or an age in {date[1]} of {len(blocks)} entries")
    counts = find_counts(blocks)
    for count_name, (query, hits) in counts.items():
        key = "views" if count_name == "views" else count_name
        fields[key] = (query, f"a number of {count_name} in {hits} of {len(blocks)} entries")
    if summary := find_summary(blocks, taken):
        fields["summary"] = (
            summary[0],
            f"the most text besides the title, in {summary[1]} entries",
        )
    next_query, next_why = find_next(root, page_url, blocks)
    host = urlsplit(page_url).hostname or "local"
    profile_name = name or f"suggested-{host}"
    toml = render(profile_name, page_url, best, others, entries, fields, next_query, next_why,
                  unsure, [n for n in counts if n != "views"])  # fmt: skip
    profile = parse_profile(toml, f"suggested for {page_url}")
    page = profile.extract(root, page_url)
    readable = [e for e in page.entries if e.get("title") and e.get("url")]
    if len(readable) < 0.8 * max(1, len(page.entries)):
        unsure.append(
            f"the draft reads a title and a link in only {len(readable)} of "
            f"{len(page.entries)} entries"
        )
        toml = render(profile_name, page_url, best, others, entries, fields, next_query,
                      next_why, unsure, [n for n in counts if n != "views"])  # fmt: skip
        profile = parse_profile(toml, f"suggested for {page_url}")
    return Suggestion(profile, toml, len(page.entries), unsure, page.entries[:5])


def _innermost(best: Group, groups: list[Group]) -> Group:
    """Past the layout: when the best group is a few big wrappers (the main column and the
    sidebar) and one of them holds a strong group of its own, that group is the listing."""
    if len(best.blocks) > 3:
        return best
    for other in groups[1:]:
        if other.score < 0.3 * best.score or not _nested(other, best):
            continue
        holders = [b for b in best.blocks if _holds(b, other)]
        if len(holders) == 1:
            other.why.append(f"it lies in one block of {best.describe()}, a page layout")
            return other
    return best


def _outermost(best: Group, groups: list[Group]) -> Group:
    """The entry level: when the best group lies inside the blocks of another whose blocks
    each have a heading (posts whose bodies hold lists of links), that other group."""
    for other in groups[1:]:
        if other.score < 0.25 * best.score or not _nested(best, other):
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


def _simple_xpath(css: str, start: str) -> str:
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


def _nested(inner: Group, outer: Group) -> bool:
    """True when ``inner``'s blocks lie inside ``outer``'s (a sub-list of the entries)."""
    outer_ids = {id(b.element) for b in outer.blocks}
    return any(id(ancestor) in outer_ids for ancestor in inner.blocks[0].element.iterancestors())


def _toml_string(value: str) -> str:
    if "'" not in value and "\n" not in value:
        return f"'{value}'"
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render(
    name: str,
    page_url: str,
    best: Group,
    others: list[Group],
    entries: str,
    fields: dict[str, tuple[str, str]],
    next_query: str,
    next_why: str,
    unsure: list[str],
    counts: list[str],
) -> str:
    """The profile as TOML a person can read and edit: each selector with why it was chosen."""
    lines = [
        f"# Suggested by archiver {__version__} from {page_url}",
        f"# on {datetime.now(UTC):%Y-%m-%d}. A draft: check it with `archiver profile check`, then",
        "# edit what it got wrong.",
        "#",
        f"# Entries: {best.describe()}, the highest-scoring group of alike blocks that",
        "# each hold a titled link (a block scores by its title and by the date, heading and",
        "# text around it; groups in navigation, sidebars, footers, tag clouds or pagination",
        "# score a fraction).",
    ]
    for other in others[:3]:
        share = other.score / best.score if best.score else 0
        lines.append(f"# Runner-up: {other.describe()} ({share:.0%} of its score).")
    if unsure:
        lines.append("#")
        lines += [f"# UNSURE: {reason}." for reason in unsure]
    else:
        lines += ["#", "# Sure: one clear group, titles and links read in (nearly) every entry."]
    lines += [
        "",
        f"name = {_toml_string(name)}",
        f"description = {_toml_string('Suggested from ' + page_url)}",
        f"entries = {_toml_string(entries)}",
        "date_order = \"mdy\"  # how an all-numeric date like 01/05/2025 is read; 'dmy' else",
    ]
    if counts:
        lines.append(f"counts = [{', '.join(_toml_string(c) for c in counts)}]")
    lines += ["", "[fields]"]
    order = ["title", "url", "summary", "age", "views", "source"]
    for key in order + [k for k in fields if k not in order]:
        if key in fields:
            query, why = fields[key]
            lines.append(f"{key} = {_toml_string(query)}  # {why}")
        elif key in ("summary", "age", "views"):
            lines.append(f"{key} = ''  # not found in the entries")
        elif key == "source":
            lines.append("source = ''  # the site's host")
    lines += [
        "",
        "[page]",
        f"next = {_toml_string(next_query)}  # {next_why}",
        "total = ''",
        "",
    ]
    return "\n".join(lines)
