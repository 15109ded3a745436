"""Publication times a page states for a machine, and how they narrow a printed age.

A listing prints "1 years ago", but the same entry's markup often says the instant
(``<time datetime="2024-03-07T09:12:00Z">``, ``itemprop="datePublished"``, JSON-LD), the
site's feed says it (``pubDate``), and the post's own page says it (JSON-LD
``datePublished``, ``article:published_time``). Each is kept as found (the raw text) with
its source; the pipelines turn it into an interval with ``stated_interval`` and narrow the
age's interval with ``combine``. Nothing here fetches anything: the spider's dating step
(``archiver.spiders.dating``) does, and hands the raw values on.

The sources, most trusted first: ``markup`` (the listing's own markup, in the very response
the row is read from), ``feed`` (the site's feed), ``post`` (the post's page), ``carried``
(a post date read in an earlier snapshot of the same listing), then ``age`` (the printed age).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, NamedTuple
from urllib.parse import urljoin

from lxml import etree

from archiver.extract.dates import Interval, parse_date

STATED_SOURCES = ("markup", "feed", "post", "carried")
# A calendar day in an unknown zone (UTC-12 to UTC+14) spans 50 hours: a date that says its
# day, and no more, is "day-exact".
DAY_EXACT = timedelta(hours=50)
_SECOND = timedelta(seconds=1)
_TICK = timedelta(microseconds=1)
_CLOCK_SKEW = timedelta(minutes=10)  # a server's clock may be this far ahead of the page's
# Unix time in seconds (or milliseconds), as Hacker News prints it after its ISO time.
_EPOCH = re.compile(r"(?<![\d.])(\d{10}|\d{13})(?![\d.])")
_EARLIEST_EPOCH = datetime(1995, 1, 1, tzinfo=UTC)  # before the web's first blogs: not a time


class Stated(NamedTuple):
    """One machine-readable publication time, as found, and the interval it implies."""

    source: str
    raw: str
    interval: Interval


class Dated(NamedTuple):
    """The publication interval all of an entry's agreeing evidence implies."""

    earliest: datetime
    latest: datetime
    source: str  # the narrowest evidence: age, markup, feed, post or carried
    raw: str | None  # that evidence as found (None for age: age_text keeps it)
    conflict: str | None  # the sources that contradicted it, comma-joined, or None


def width(interval: Interval) -> timedelta:
    return interval.latest - interval.earliest


def day_exact(interval: Interval | None) -> bool:
    """True when the interval says the day (or better)."""
    return interval is not None and width(interval) <= DAY_EXACT


def stated_interval(raw: str | None) -> Interval | None:
    """The interval of a time stated for machines: ISO 8601 (with or without a zone, or a
    day alone), RFC 2822 (feeds), Unix time, or a printed date as a last resort. None when
    it is not a time. A time without a zone covers every zone; a day covers the whole day."""
    if not raw or not raw.strip():
        return None
    text = raw.strip()
    if (epoch := _EPOCH.search(text)) is not None:
        seconds = int(epoch[1]) / (1000 if len(epoch[1]) == 13 else 1)
        moment = datetime.fromtimestamp(seconds, UTC)
        if moment >= _EARLIEST_EPOCH:
            return Interval(moment, moment + _SECOND - _TICK)
    if re.match(r"[A-Za-z]{3},?\s+\d", text):  # "Thu, 07 Mar 2024 09:12:00 +0000"
        try:
            moment = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            moment = None
        if moment is not None and moment.utcoffset() is not None:
            start = moment.astimezone(UTC)
            return Interval(start, start + _SECOND - _TICK)
    try:
        return parse_date(text)
    except ValueError:  # Rejected: an impossible date is no evidence
        return None


# Where an entry's markup states when it was published, most explicit first; an element
# marked as the time of an update is not a publication time. itemprop and class are lists
# of tokens ("dateCreated datePublished"). One cheap union query finds the candidates, in
# document order (ties go to the first); the tokens are then read in Python.
_CANDIDATES = etree.XPath(
    "descendant-or-self::*[@itemprop] | descendant-or-self::*[@class][@datetime or @title]"
    " | descendant-or-self::time[@datetime]"
)
_UPDATE_CLASSES = ("updated", "modified")


def _rules(element: etree._Element) -> list[tuple[int, str]]:
    """(rank, value) of each publication-time rule ``element`` meets (0 is the best)."""
    found = []
    props = (element.get("itemprop") or "").split()
    classes = (element.get("class") or "").split()
    if "datePublished" in props:
        found += [(0, element.get("content")), (1, element.get("datetime"))]
    if "dt-published" in classes:
        found.append((2, element.get("datetime")))
    if "published" in classes:
        found += [(3, element.get("datetime")), (4, element.get("title"))]
    if (
        element.tag == "time"
        and "dateModified" not in props
        and not any(word in (element.get("class") or "") for word in _UPDATE_CLASSES)
    ):
        found.append((5, element.get("datetime")))
    return [(rank, value) for rank, value in found if value]


def entry_markups(page: etree._Element, nodes: list[etree._Element]) -> list[str | None]:
    """The publication time each entry element states in its markup, as written (None
    where it states none a reader could take for it): the best rule met, and of equals the
    first in document order. One query over the page, not one per entry and rule."""
    index = {node: number for number, node in enumerate(nodes)}
    best: list[tuple[int, str] | None] = [None] * len(nodes)
    for element in _CANDIDATES(page):
        owner = index.get(element)
        if owner is None:
            owner = next((index[a] for a in element.iterancestors() if a in index), None)
        if owner is None:
            continue
        for rank, value in _rules(element):
            current = best[owner]
            if (current is None or rank < current[0]) and stated_interval(value) is not None:
                best[owner] = (rank, value.strip())
    return [found[1] if found else None for found in best]


def entry_markup(node: etree._Element) -> str | None:
    """``entry_markups`` of one entry element."""
    return entry_markups(node, [node])[0]


def _json_ld(root: etree._Element) -> Iterator[Any]:
    for script in root.xpath("//script[@type='application/ld+json']/text()"):
        try:
            yield json.loads(script)
        except ValueError:  # a broken block is no evidence; the page is read without it
            continue


def _objects(data: Any) -> Iterator[dict[str, Any]]:
    if isinstance(data, dict):
        yield data
        for value in data.values():
            yield from _objects(value)
    elif isinstance(data, list):
        for value in data:
            yield from _objects(value)


def _url_of(thing: dict[str, Any]) -> str | None:
    for key in ("url", "mainEntityOfPage", "@id"):
        value = thing.get(key)
        if isinstance(value, dict):
            value = value.get("@id") or value.get("url")
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def json_ld_dates(root: etree._Element, page_url: str) -> dict[str, str]:
    """Post URL -> ``datePublished``, for every object with both in the page's JSON-LD
    (a listing's ``ItemList`` or ``Blog.blogPost``, a post's ``BlogPosting``)."""
    found: dict[str, str] = {}
    for data in _json_ld(root):
        for thing in _objects(data):
            published = thing.get("datePublished")
            url = _url_of(thing)
            if isinstance(published, str) and url:
                found.setdefault(urljoin(page_url, url), published.strip())
    return found


_PUBLISHED_PROP = "contains(concat(' ', normalize-space(@itemprop), ' '), ' datePublished ')"
_POST_META = (
    ("meta", "//meta[@property='article:published_time']/@content"),
    ("meta", f"//meta[{_PUBLISHED_PROP}]/@content"),
    ("meta", "//meta[@name='article:published_time' or @name='pubdate' or @name='publishdate'"
     " or @name='DC.date.issued' or @name='dc.date.issued' or @name='date']/@content"),
    ("microdata", f"//*[{_PUBLISHED_PROP}]/@datetime"),
    ("microdata", f"//*[{_PUBLISHED_PROP}]/@content"),
    ("time", "//time[@pubdate]/@datetime"),
    ("time", "//article//time[@datetime][not(contains(@class, 'updated'))]/@datetime"),
)  # fmt: skip


class PostDate(NamedTuple):
    raw: str
    how: str  # json_ld, meta, microdata, time


def post_date(root: etree._Element, url: str) -> PostDate | None:
    """The publication time a post's own page states: JSON-LD ``datePublished`` (the one
    about this URL, else the only one), ``article:published_time`` and other meta tags,
    microdata, ``<time pubdate>``, a ``<time>`` in the article. None when it states none."""
    dated = json_ld_dates(root, url)
    chosen = dated.get(url)
    if chosen is None and len(set(dated.values())) == 1:
        chosen = next(iter(dated.values()))
    if chosen is None:  # JSON-LD without a url: the page's own BlogPosting
        for data in _json_ld(root):
            for thing in _objects(data):
                if isinstance(thing.get("datePublished"), str):
                    chosen = chosen or thing["datePublished"].strip()
    if chosen and stated_interval(chosen) is not None:
        return PostDate(chosen, "json_ld")
    for how, xpath in _POST_META:
        for value in root.xpath(xpath):
            if stated_interval(str(value)) is not None:
                return PostDate(str(value).strip(), how)
    return None


def combine(
    age: Interval | None, stated: list[Stated], page_time: datetime
) -> tuple[Dated | None, list[Stated]]:
    """The interval all agreeing evidence implies, and the stated evidence set aside.

    Stated times are taken in the order given (most trusted first) and intersected; one
    that cannot hold with those before it is a conflict, kept out and named. The printed
    age narrows the result when it agrees and is named as a conflict when it does not: a
    post's own statement of its time outweighs a rounded "1 years ago", but the
    disagreement is never silent. A time later than the page that lists the post is not
    its publication time (a wrong clock, an update time) and is set aside too.
    """
    current: Interval | None = None
    narrowest: Stated | None = None
    conflicts: list[str] = []
    set_aside: list[Stated] = []
    for evidence in stated:
        interval = evidence.interval
        if interval.earliest > page_time + _CLOCK_SKEW:
            set_aside.append(evidence)
            conflicts.append(f"{evidence.source}:future")
            continue
        latest = max(interval.earliest, min(interval.latest, page_time))
        interval = Interval(interval.earliest, latest)
        overlap = interval if current is None else _overlap(current, interval)
        if overlap is None:
            set_aside.append(evidence)
            conflicts.append(evidence.source)
            continue
        current = overlap
        if narrowest is None or width(interval) < width(narrowest.interval):
            narrowest = evidence
    if current is None or narrowest is None:
        if age is None:
            return None, set_aside
        return Dated(age.earliest, age.latest, "age", None, _joined(conflicts)), set_aside
    if age is not None:
        overlap = _overlap(current, age)
        if overlap is None:
            conflicts.append("age")
        else:
            current = overlap
    dated = Dated(
        current.earliest, current.latest, narrowest.source, narrowest.raw, _joined(conflicts)
    )
    return dated, set_aside


def _overlap(a: Interval, b: Interval) -> Interval | None:
    earliest, latest = max(a.earliest, b.earliest), min(a.latest, b.latest)
    return Interval(earliest, latest) if earliest <= latest else None


def _joined(conflicts: list[str]) -> str | None:
    return ",".join(dict.fromkeys(conflicts)) or None
