"""Site profiles: how to read one listing format, declared as data in a TOML file.

A profile names CSS or XPath selectors for the entries of a page, for each entry's fields,
and for the page's next link and announced total. Loading one only parses TOML, compiles
selectors and regular expressions: it never runs code from the file. Every problem is
reported at start-up as one line naming the file and the key.
"""

from __future__ import annotations

import functools
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

from cssselect import SelectorError
from lxml import etree
from parsel import Selector
from parsel.csstranslator import HTMLTranslator

from archiver.errors import ArchiverError
from archiver.extract.published import entry_markups
from archiver.extract.readable import element_text

# Profile field name -> ListingEntry attribute, for the contract's fields.
CONTRACT_FIELDS = {
    "title": "title",
    "url": "url",
    "summary": "summary",
    "age": "age_text",
    "views": "views_text",
    "source": "source",
}
# The field naming an entry's machine-readable publication time (``<time datetime>``, a
# ``title`` attribute): not a column of its own; the dating step reads it as ``markup``.
# Left out of a profile, the entry's standard markup is looked for (``extract.published``).
PUBLISHED_FIELD = "published"
PAGE_KEYS = {"next", "total", "source", "time"}
TOP_KEYS = {
    "name", "description", "entries", "detect", "date_order", "counts", "fields", "page",
    "patterns",
}  # fmt: skip
RESERVED = {
    "snapshot_id", "entry_id", "title", "url", "summary", "age_text", "published_earliest",
    "published_latest", "views", "views_text", "position", "page_url", "fetched_at",
    "page_time", "extra", "counts", "source", "listing_url", "warc_record_id", "warc_filename",
    "published_source", "published_raw", "published_conflict", "listing_name",
}  # fmt: skip
_EXTRA_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_TOTAL = re.compile(r"\d[\d,]*")


class ProfileError(ArchiverError):
    """A profile file that cannot be used; the message names the file and the key."""


def is_xpath(query: str) -> bool:
    return query.startswith(("/", "./", "("))


# Parsel's extension functions, as its own selectors have them (re:test, set:difference).
_NAMESPACES = {"re": "http://exslt.org/regular-expressions", "set": "http://exslt.org/sets"}


@functools.lru_cache(maxsize=1024)
def compile_query(query: str) -> Callable[[etree._Element], Any]:
    """``query`` (CSS in parsel's dialect, or XPath) compiled once, to run on lxml nodes.

    Each profile applies the same few selectors to every entry of every page; compiling
    them once instead of at each call is most of what extraction costs. A query using
    parsel's extension prefixes (``re:``, ``set:``) is run as parsel runs it, through the
    element: lxml's compiled XPath leaks memory on every call when given namespaces.
    """
    xpath = query if is_xpath(query) else HTMLTranslator().css_to_xpath(query)
    if not any(f"{prefix}:" in xpath for prefix in _NAMESPACES):
        return etree.XPath(xpath, smart_strings=False)
    etree.XPath(xpath, namespaces=_NAMESPACES)  # fails now, not at the first page

    def evaluate(node: etree._Element) -> Any:
        return node.xpath(xpath, namespaces=_NAMESPACES, smart_strings=False)

    return evaluate


def _compile_selector(query: str) -> None:
    """Raise ValueError when ``query`` is not a valid CSS (parsel dialect) or XPath selector,
    or when a regular expression it gives EXSLT (``re:test``, ``re:match``, ``re:replace``)
    does not compile: lxml compiles those only when a page is read, so every page would fail."""
    try:
        compile_query(query)
    except (SelectorError, etree.XPathSyntaxError, ValueError) as exc:
        raise ValueError(str(exc) or type(exc).__name__) from exc
    xpath = query if is_xpath(query) else HTMLTranslator().css_to_xpath(query)
    for function, pattern in regex_arguments(xpath):
        try:
            re.compile(pattern)  # as lxml's EXSLT functions compile it (Python's re)
        except re.error as exc:
            raise ValueError(
                f"invalid regular expression {pattern!r} in re:{function}(): {exc}"
            ) from exc


_REGEX_CALL = re.compile(r"\bre:(test|match|replace)\s*\(")


def regex_arguments(xpath: str) -> list[tuple[str, str]]:
    """The EXSLT regex calls of ``xpath`` whose pattern (the second argument) is a string
    literal, as (function, pattern); patterns computed by the query cannot be known here."""
    found = []
    for call in _REGEX_CALL.finditer(xpath):
        arguments = _call_arguments(xpath, call.end())
        if len(arguments) >= 2:
            pattern = arguments[1].strip()
            if len(pattern) >= 2 and pattern[0] == pattern[-1] and pattern[0] in "'\"":
                found.append((call.group(1), pattern[1:-1]))
    return found


def _call_arguments(xpath: str, start: int) -> list[str]:
    """The top-level arguments of the call whose '(' ends just before ``start`` (XPath 1.0
    string literals have no escapes: a quote ends them)."""
    arguments, depth, quote, current = [], 0, "", []
    for char in xpath[start:]:
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "([":
            depth += 1
        elif char in ")]":
            if depth == 0:
                arguments.append("".join(current))
                return arguments
            depth -= 1
        elif char == "," and depth == 0:
            arguments.append("".join(current))
            current = []
            continue
        current.append(char)
    return arguments  # unbalanced: XPath compilation has already refused it


# An entries selector must yield elements, the entries whose fields are then read. XPath
# that ends on text or an attribute yields text (CSS ``::text`` and ``::attr()`` translate
# to it); what this cannot see, such as a union with text, ``Profile.extract`` refuses.
_YIELDS_TEXT = re.compile(
    r"(?:/|::)(?:text\(\)|@[\w:.*-]+|attribute::[\w:.*-]+)(?:\[[^\]]*\])*\s*$"
)


def yields_text(query: str) -> bool:
    """True when ``query`` (valid CSS or XPath) plainly selects text, not elements."""
    xpath = query if is_xpath(query) else HTMLTranslator().css_to_xpath(query)
    return bool(_YIELDS_TEXT.search(xpath))


def _node(page: Selector | etree._Element) -> etree._Element:
    return page.root if isinstance(page, Selector) else page


def select_text(node: Selector | etree._Element, query: str) -> str | None:
    """All text ``query`` yields under ``node``, joined by spaces; None when there is none.

    A selector that ends in ``::text`` or an attribute yields text, already decoded by the
    HTML parser, and it is kept as it is. One that yields elements yields their text as a
    reader sees it (``archiver.extract.readable``): markup is never stripped from text by a pattern.
    """
    found = compile_query(query)(_node(node))
    if not isinstance(found, list):  # string(), count(): one value
        found = [found]
    pieces = [element_text(hit) if isinstance(hit, etree._Element) else str(hit) for hit in found]
    text = " ".join(" ".join(pieces).split())
    return text or None


@dataclass(frozen=True)
class PageData:
    """What a profile reads from one page, before any normalisation."""

    entries: list[dict[str, str | None]]
    next_url: str | None
    total: int | None
    source: str | None
    time: str | None = None  # the time the page states about itself, as printed
    # field name -> count of entries where the profile's pattern did not match.
    unmatched: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Profile:
    name: str
    path: str
    entries: str
    fields: dict[str, str]
    page: dict[str, str] = field(default_factory=dict)
    patterns: dict[str, re.Pattern[str]] = field(default_factory=dict)
    detect: str = ""
    date_order: str = "mdy"
    counts: tuple[str, ...] = ()
    description: str = ""
    # The TOML the profile was read from: stored with each snapshot, so that it can be
    # re-extracted (archiver reparse) exactly as it was read.
    text: str = field(default="", repr=False, compare=False)

    @property
    def extra_fields(self) -> list[str]:
        return [
            name for name in self.fields if name not in CONTRACT_FIELDS and name != PUBLISHED_FIELD
        ]

    def matches(self, page: Selector | etree._Element) -> bool:
        """True when the page looks like this format (used by ``profile=auto``)."""
        return bool(compile_query(self.detect or self.entries)(_node(page)))

    def _value(
        self, node: etree._Element, name: str, query: str, unmatched: dict[str, int]
    ) -> str | None:
        text = select_text(node, query) if query else None
        pattern = self.patterns.get(name)
        if text is None or pattern is None:
            return text
        match = pattern.search(text)
        if match is None:
            unmatched[name] = unmatched.get(name, 0) + 1
            return None
        return (match.group(1) if pattern.groups else match.group(0)).strip() or None

    def extract(self, page: Selector | etree._Element, page_url: str) -> PageData:
        """Apply the profile to one page (a parsel Selector or its lxml root); relative links
        are resolved against ``page_url``."""
        unmatched: dict[str, int] = {}
        page = _node(page)
        nodes = compile_query(self.entries)(page)
        if not isinstance(nodes, list) or not all(isinstance(n, etree._Element) for n in nodes):
            raise _fail(self.path, "entries", f"{self.entries!r} selects text, not elements")
        entries = [
            {name: self._value(node, name, query, unmatched) for name, query in self.fields.items()}
            for node in nodes
        ]
        if PUBLISHED_FIELD not in self.fields:  # not declared: the entry's standard markup
            for entry, markup in zip(entries, entry_markups(page, nodes), strict=True):
                entry[PUBLISHED_FIELD] = markup
        page_source = self._value(page, "source", self.page.get("source", ""), unmatched)
        default_source = page_source or urlsplit(page_url).hostname or "local file"
        for entry in entries:
            url = entry.get("url")
            if url and not url.startswith(("https://", "http://")):  # absolute: as it is
                entry["url"] = urljoin(page_url, url)
            # An entry's own source, else the name the page shows, else the host.
            entry["source"] = entry.get("source") or default_source
        next_href = self._value(page, "next", self.page.get("next", ""), unmatched)
        total_text = self._value(page, "total", self.page.get("total", ""), unmatched)
        total_match = _TOTAL.search(total_text) if total_text else None
        return PageData(
            entries=entries,
            next_url=urljoin(page_url, next_href) if next_href else None,
            total=int(total_match[0].replace(",", "")) if total_match else None,
            source=page_source,
            time=self._value(page, "time", self.page.get("time", ""), unmatched),
            unmatched=unmatched,
        )


def _fail(path: str, key: str, problem: str) -> ProfileError:
    return ProfileError(f"profile {path}: key '{key}': {problem}")


def _string_table(data: dict[str, Any], table: str, path: str) -> dict[str, str]:
    value = data.get(table, {})
    if not isinstance(value, dict):
        raise _fail(path, table, "must be a table")
    for key, item in value.items():
        if not isinstance(item, str):
            raise _fail(path, f"{table}.{key}", "must be a string")
    return dict(value)


def parse_profile(text: str, path: str) -> Profile:
    """Validate a profile's TOML text; ``path`` only names it in error messages."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"profile {path}: not valid TOML: {exc}") from exc
    for key in data:
        if key not in TOP_KEYS:
            raise _fail(path, key, f"unknown key (known: {', '.join(sorted(TOP_KEYS))})")
    for key in ("name", "entries"):
        if not isinstance(data.get(key), str) or not data[key].strip():
            raise _fail(path, key, "missing or empty")
    fields = _string_table(data, "fields", path)
    page = _string_table(data, "page", path)
    raw_patterns = _string_table(data, "patterns", path)
    if not fields.get("title"):
        raise _fail(path, "fields.title", "missing or empty: every entry needs a title")
    for name in fields:
        if name in CONTRACT_FIELDS or name == PUBLISHED_FIELD:
            continue
        if name in RESERVED or not _EXTRA_NAME.match(name):
            raise _fail(path, f"fields.{name}", "not a usable extra field name (a-z, 0-9, _)")
    for name in page:
        if name not in PAGE_KEYS:
            raise _fail(
                path, f"page.{name}", f"unknown key (known: {', '.join(sorted(PAGE_KEYS))})"
            )
    selectors = {"entries": data["entries"], "detect": data.get("detect", "")}
    selectors |= {f"fields.{k}": v for k, v in fields.items()}
    selectors |= {f"page.{k}": v for k, v in page.items()}
    for key, query in selectors.items():
        if not isinstance(query, str):
            raise _fail(path, key, "must be a string")
        if query:
            try:
                _compile_selector(query)
            except ValueError as exc:
                raise _fail(path, key, f"invalid selector {query!r}: {exc}") from exc
    if yields_text(data["entries"]):
        raise _fail(path, "entries", f"{data['entries']!r} selects text, not elements")
    patterns = {}
    for name, pattern in raw_patterns.items():
        if name not in fields and name not in page:
            raise _fail(path, f"patterns.{name}", "names no field of this profile")
        try:
            patterns[name] = re.compile(pattern)
        except re.error as exc:
            raise _fail(path, f"patterns.{name}", f"invalid regular expression: {exc}") from exc
    date_order = data.get("date_order", "mdy")
    if date_order not in ("mdy", "dmy"):
        raise _fail(path, "date_order", "must be 'mdy' or 'dmy'")
    counts = data.get("counts", [])
    if not isinstance(counts, list) or not all(isinstance(c, str) for c in counts):
        raise _fail(path, "counts", "must be a list of extra field names")
    for name in counts:
        if name not in fields or name in CONTRACT_FIELDS or name == PUBLISHED_FIELD:
            raise _fail(path, "counts", f"{name!r} is not an extra field of this profile")
    return Profile(
        name=data["name"].strip(),
        path=path,
        entries=data["entries"],
        fields=fields,
        page=page,
        patterns=patterns,
        detect=data.get("detect", ""),
        date_order=date_order,
        counts=tuple(counts),
        description=str(data.get("description", "")),
        text=text,
    )


def load_profile_file(path: str | Path) -> Profile:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ProfileError(f"profile {path}: cannot be read: {exc}") from exc
    return parse_profile(text, str(path))


def builtin_profiles() -> list[Profile]:
    """The profiles shipped in this package, in the order ``auto`` tries them."""
    folder = resources.files(__name__)
    names = sorted(p.name for p in folder.iterdir() if p.name.endswith(".toml"))
    return [parse_profile(folder.joinpath(n).read_text("utf-8"), f"builtin:{n}") for n in names]


def resolve_profile(spec: str) -> list[Profile]:
    """Candidates for ``-a profile=``: ``auto`` -> every built-in (then, if none matches, a
    profile suggested from the page), ``suggest`` -> none (always a suggested profile), a
    name -> that built-in, anything else -> a file path; several, separated by commas, are
    tried in that order."""
    builtins = builtin_profiles()
    if spec == "auto":  # the built-ins, then a profile suggested from the page (suggest.py)
        return builtins
    if spec == "suggest":  # always a profile suggested from each listing's first page
        return []
    by_name = {profile.name: profile for profile in builtins}
    candidates = []
    for part in (p.strip() for p in spec.split(",")):
        if part in by_name:
            candidates.append(by_name[part])
        elif part and (Path(part).suffix == ".toml" or Path(part).exists()):
            candidates.append(load_profile_file(part))
        else:
            known = ", ".join(by_name)
            raise ProfileError(f"profile {part!r}: no such built-in profile ({known}) or file")
    names = [profile.name for profile in candidates]
    if len(set(names)) != len(names):
        raise ProfileError(f"profile {spec!r}: two profiles are named alike ({', '.join(names)})")
    return candidates


def detect_profile(candidates: list[Profile], page: Selector, url: str) -> Profile:
    """The first candidate that matches ``page``; a ProfileError naming the URL otherwise."""
    for profile in candidates:
        if profile.matches(page):
            return profile
    tried = ", ".join(p.name for p in candidates)
    raise ProfileError(f"{url}: no profile matches this page (tried: {tried})")
