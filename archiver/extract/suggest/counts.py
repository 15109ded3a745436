"""Which numbers in an entry are counts, and of what: "96 comments" says so itself; a bare
"1,227" is named by what stands around it: its table column's header ("Views"), its own or a
parent's class, title or aria-label ("post-views", "12 replies"), or the icon before it (an
eye, a speech bubble, a star). A number nothing names is left alone: a researcher is better
served by an empty column than by a year or a page number taken for views.
"""

from __future__ import annotations

import re

from lxml import etree

from archiver.extract.suggest.blocks import Block, elements, text_of
from archiver.extract.suggest.selectors import choose

# A count with its noun, as printed: "96 comments", "1.2k views", "12 回复".
NOUNS = (
    r"views?|reads?|visits?|hits|plays|points?|votes?|score|likes?|comments?|replies|reply|"
    r"answers?|posts|stars?|forks?|reviews?|ratings|downloads?|"
    r"阅读|浏览|查看|评论|回复|点赞|просмотр\w*|ответ\w*|коммент\w*|vues?|réponses?|commentaires?"
)
COUNT = re.compile(rf"(?P<n>\d[\d,.]*\s*[kKmM]?)\s*(?P<what>{NOUNS})", re.I)
# A number alone: "1,227", "12k" ("(41)" is left for later: parse_count does not read it).
BARE = re.compile(r"\d[\d,.]*\s*[kKmM]?")
NOUN = re.compile(rf"(?<![a-z])({NOUNS})", re.I)
# Icon names that mean a kind of count (Font Awesome, Octicons, Material, Bootstrap icons).
ICONS = re.compile(
    r"(?<![a-z])(eye|comment|chat|bubble|message|reply|star|heart|thumbs?-?up|fork)", re.I
)
ICON_KINDS = {
    "eye": "views", "comment": "comments", "chat": "comments", "bubble": "comments",
    "message": "comments", "reply": "comments", "star": "stars", "heart": "points",
    "thumb": "points", "fork": "forks",
}  # fmt: skip
# A noun's kind (the first prefix that fits): the three names archiver has always used
# (views, points, comments), and others by their own name.
KINDS = {
    "view": "views", "read": "views", "visit": "views", "hit": "views", "play": "views",
    "阅读": "views", "浏览": "views", "查看": "views", "просмотр": "views", "vue": "views",
    "point": "points", "vote": "points", "score": "points", "like": "points", "点赞": "points",
    "comment": "comments", "repl": "comments", "answer": "comments", "post": "comments",
    "评论": "comments", "回复": "comments", "ответ": "comments", "коммент": "comments",
    "réponse": "comments", "commentaire": "comments",
    "star": "stars", "fork": "forks", "review": "reviews", "rating": "reviews",
    "download": "downloads",
}  # fmt: skip
LABELS = ("class", "title", "aria-label", "data-original-title")
XLINK_HREF = "{http://www.w3.org/1999/xlink}href"


def kind_of(noun: str) -> str:
    noun = noun.lower()
    return next((kind for prefix, kind in KINDS.items() if noun.startswith(prefix)), noun)


def _named_by_markup(element: etree._Element, block: Block) -> str | None:
    """The kind a bare number's own markup, or its parents' up to the entry, gives it."""
    node: etree._Element | None = element
    for _ in range(3):
        if node is None or node is block.element:
            break
        for name in LABELS:
            found = NOUN.search(node.get(name) or "")
            if found:
                return kind_of(found[1])
        node = node.getparent()
    return None


def _named_by_icon(element: etree._Element) -> str | None:
    """The kind an icon gives the number: one just before it (``<i class="fa fa-eye"></i>
    12``) or inside its element (``<span><svg aria-label="star">...</svg> 1,234</span>``)."""
    icons = [c for c in element.iter() if c is not element and isinstance(c.tag, str)]
    before = element.getprevious()
    if before is not None and not text_of(before):
        icons.append(before)
    for icon in icons:
        if text_of(icon):
            continue  # a word is not an icon
        marks = " ".join(
            " ".join(e.get(name) or "" for name in (*LABELS, "href", XLINK_HREF))
            for e in icon.iter()
            if isinstance(e.tag, str)
        )
        found = ICONS.search(marks)
        if found:
            word = found[1].lower()
            return next(kind for prefix, kind in ICON_KINDS.items() if word.startswith(prefix))
    return None


def _colspan(cell: etree._Element) -> int:
    """How many columns a cell spans: its ``colspan`` when that is a number (1 to 20)."""
    span = (cell.get("colspan") or "1").strip()
    return max(1, min(int(span), 20)) if span.isdigit() else 1


def _column_headers(row: etree._Element) -> list[str]:
    """The header texts of a table row's columns, when its table has a header row."""
    table = next((a for a in row.iterancestors() if a.tag == "table"), None)
    if table is None:
        return []
    for candidate in table.iter("tr"):
        cells = [c for c in candidate if c.tag in ("th", "td")]
        if any(c.tag == "th" for c in cells) and candidate is not row:
            headers: list[str] = []
            for cell in cells:
                headers += [text_of(cell)] * _colspan(cell)
            return headers
    return []


def _named_by_column(element: etree._Element, block: Block, headers: list[str]) -> str | None:
    if not headers:
        return None
    cell = next((a for a in [element, *element.iterancestors()] if a.tag in ("td", "th")), None)
    if cell is None or cell.getparent() is not block.element:
        return None
    index = 0
    for sibling in block.element:
        if sibling is cell:
            break
        if sibling.tag in ("td", "th"):
            index += _colspan(sibling)
    if index >= len(headers):
        return None
    found = NOUN.fullmatch(headers[index].strip()) or (
        len(headers[index]) <= 20 and NOUN.search(headers[index])
    )
    return kind_of(found[1]) if found else None


def counts_in(block: Block, headers: list[str]) -> dict[str, etree._Element]:
    """The counts of one entry block, by kind. A number printed with its noun ("96 comments",
    read deepest first: "<div><span>5</span> votes</div>" is the div's text) is surer than a
    bare number named by its surroundings, which fills only a kind the text did not name:
    an asker's "reputation-score" is no question's score when the question prints "0 votes"."""
    said: dict[str, etree._Element] = {}
    named: dict[str, etree._Element] = {}
    small = [e for e in elements(block.element) if e is not block.element]
    for element in sorted(small, key=lambda e: -sum(1 for _ in e.iterancestors())):
        text = text_of(element).strip()
        if not text or len(text) > 40 or element is block.title:
            continue
        if match := COUNT.fullmatch(text):
            said.setdefault(kind_of(match["what"]), element)
        elif BARE.fullmatch(text) and element is not block.link:
            kind = (
                _named_by_column(element, block, headers)
                or _named_by_markup(element, block)
                or _named_by_icon(element)
            )
            if kind is not None:
                named.setdefault(kind, element)
    return named | said


def find_counts(blocks: list[Block]) -> dict[str, tuple[str, int]]:
    """Each kind of count at least half the blocks show, with the selector that reads it."""
    headers = _column_headers(blocks[0].element) if blocks and blocks[0].element.tag == "tr" else []
    found: dict[str, list[etree._Element | None]] = {}
    for index, block in enumerate(blocks):
        for kind, element in counts_in(block, headers).items():
            found.setdefault(kind, [None] * len(blocks))[index] = element
    chosen = {}
    for kind, targets in found.items():
        if sum(t is not None for t in targets) >= 0.5 * len(blocks):
            best = choose(blocks, targets, accept=_reads_a_number)
            if best and best[1] >= 0.5 * len(blocks):
                chosen[kind] = best
    return chosen


def _reads_a_number(element: etree._Element, _block: Block) -> bool:
    text = text_of(element).strip()
    return bool(COUNT.search(text) or BARE.fullmatch(text))
