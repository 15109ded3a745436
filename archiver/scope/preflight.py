"""What a crawl checks before it starts: every ``-s ARCHIVER_*`` setting, every ``-a``
argument, the start URLs and the profiles.

A run that cannot do what it was asked (a typo in a cron line, ``ARCHIVER_MAX_PAGES=abc``)
must not crawl something else, or publish a ``failed`` snapshot that retention then has to
keep apart: it ends before the crawl with one ``ArchiverError`` line naming the argument or
setting, the value, and what it takes (``scrapy crawl`` turns it into exit 2). The rules for
each setting are here, beside the list of names a crawl knows, so that the README's table,
this check and its test walk the same list.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from scrapy.utils.misc import load_object

from archiver import settings as defaults
from archiver.errors import ArchiverError

PREFIX = "ARCHIVER_"
# Set by archiver itself (the crawl command, the shared-crawl add-on), never by hand; known,
# so that a crawl given them is not refused, and read with the same rules.
INTERNAL = {
    "ARCHIVER_PUBLISH_BY_EXEC": False,
    "ARCHIVER_HOST_DELAY": 0.0,
    "ARCHIVER_HOST_CONCURRENCY": 1,
}
_CRAWL_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")


@dataclass(frozen=True)
class Rule:
    """How one setting is read: ``accepts`` says it in words (the message and the README),
    ``check`` raises ValueError (or TypeError) on a value it cannot take."""

    accepts: str
    check: Callable[[Any], Any]


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("0", "1", "true", "false"):
        return value.strip().lower() in ("1", "true")
    raise ValueError(value)


def _whole(minimum: int) -> Callable[[Any], int]:
    def check(value: Any) -> int:
        if isinstance(value, bool | float):
            raise ValueError(value)
        number = int(str(value).strip())
        if number < minimum:
            raise ValueError(value)
        return number

    return check


def _seconds(minimum: float, *, above: bool = False) -> Callable[[Any], float]:
    def check(value: Any) -> float:
        if isinstance(value, bool):
            raise ValueError(value)
        number = float(str(value).strip())
        if number != number or number in (float("inf"), float("-inf")):  # nan, inf
            raise ValueError(value)
        if number < minimum or (above and number == minimum):
            raise ValueError(value)
        return number

    return check


def _folder(value: Any) -> str:
    if not isinstance(value, str | Path) or not str(value).strip():
        raise ValueError(value)
    return str(value)


def _listings_file(value: Any) -> str:
    if value and not Path(str(value)).is_file():
        raise ValueError(value)
    return str(value or "")


def _replay(value: Any) -> str:
    if value and not Path(str(value)).is_dir():
        raise ValueError(value)
    return str(value or "")


def _redis_url(value: Any) -> str:
    text = str(value or "")
    if text and urlsplit(text).scheme not in ("redis", "rediss", "unix"):
        raise ValueError(value)
    return text


def _crawl_id(value: Any) -> str:
    text = str(value or "")
    if text and not _CRAWL_ID.fullmatch(text):
        raise ValueError(value)
    return text


def _normalisers(value: Any) -> dict[str, Any]:
    from scrapy.settings import BaseSettings

    stages = BaseSettings({"x": value}).getdict("x")  # a dict, or its JSON (-s)
    for path, order in stages.items():
        if order is not None and (isinstance(order, bool) or not isinstance(order, int | float)):
            raise ValueError(value)
        load_object(path)  # ImportError, NameError, AttributeError, ValueError
    return stages


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(value)
    return value


RULES: dict[str, Rule] = {
    "ARCHIVER_DATA_DIR": Rule("a folder (not empty)", _folder),
    "ARCHIVER_LISTINGS": Rule("empty, or a listings file that exists (TOML)", _listings_file),
    "ARCHIVER_SNAPSHOTS": Rule("True or False", _boolean),
    "ARCHIVER_WARC": Rule("True or False", _boolean),
    "ARCHIVER_REVISITS": Rule("True or False", _boolean),
    "ARCHIVER_MAX_PAGES": Rule("a whole number of pages, at least 1", _whole(1)),
    "ARCHIVER_FEEDS": Rule("True or False", _boolean),
    "ARCHIVER_FOLLOW_ENTRIES": Rule("True or False", _boolean),
    "ARCHIVER_FOLLOW_ENTRIES_MAX": Rule("a whole number of post pages, 0 or more", _whole(0)),
    "ARCHIVER_BACKOFF_BASE": Rule("a number of seconds, 0 or more", _seconds(0)),
    "ARCHIVER_BACKOFF_MAX": Rule("a number of seconds, 0 or more", _seconds(0)),
    "ARCHIVER_RETRY_AFTER_MAX": Rule("a number of seconds, 0 or more", _seconds(0)),
    "ARCHIVER_NORMALISERS": Rule(
        "a dict of importable stage paths to their order (JSON with -s)", _normalisers
    ),
    "ARCHIVER_REPLAY": Rule("empty, or a snapshot folder (set by archiver reparse)", _replay),
    "ARCHIVER_REDIS_URL": Rule(
        "empty, or a Redis URL: redis://HOST:PORT/DB, rediss://..., unix://PATH", _redis_url
    ),
    "ARCHIVER_CRAWL_ID": Rule("a name of letters, digits, '.', '_' and '-'", _crawl_id),
    "ARCHIVER_REDIS_LEASE": Rule("a number of seconds, more than 0", _seconds(0, above=True)),
    "ARCHIVER_REDIS_OUTAGE": Rule("a number of seconds, 0 or more", _seconds(0)),
    "ARCHIVER_PUBLISH_BY_EXEC": Rule("True or False", _boolean),
    "ARCHIVER_HOST_DELAY": Rule("a number of seconds, 0 or more", _seconds(0)),
    "ARCHIVER_HOST_CONCURRENCY": Rule("a whole number, at least 1", _whole(1)),
}
# Checked by archiver.scope.resolver.check_reach_settings, which says what they take.
REACH = ("ARCHIVER_ALLOWED_HOSTS", "ARCHIVER_ALLOW_PRIVATE_ADDRESSES", "ARCHIVER_DNS_RESOLVER")


def known_settings() -> dict[str, Any]:
    """Every ``ARCHIVER_*`` setting a crawl reads, with its default."""
    names = {name: getattr(defaults, name) for name in dir(defaults) if name.startswith(PREFIX)}
    return names | INTERNAL


def rule_for(name: str, default: Any) -> Rule | None:
    """The rule of ``name``; a setting added to archiver/settings.py without one is read as
    its default's type is (None: any value, as for a free string)."""
    if name in RULES:
        return RULES[name]
    if name in REACH:
        return None
    if isinstance(default, bool):
        return Rule("True or False", _boolean)
    if isinstance(default, int):
        return Rule("a whole number, 0 or more", _whole(0))
    if isinstance(default, float):
        return Rule("a number, 0 or more", _seconds(0))
    if isinstance(default, str):
        return Rule("a string", _string)
    return None


def unknown_setting(name: str, known: Iterable[str]) -> str:
    """The line for an ``ARCHIVER_*`` name no part of archiver reads (a typo, mostly)."""
    names = sorted(known)
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    if close:
        return f"{name}: no such setting; did you mean {close[0]}?"
    return f"{name}: no such setting; archiver's settings are {', '.join(names)}"


def check_settings(settings: Mapping[str, Any] | Any) -> None:
    """Every ``ARCHIVER_*`` setting known and readable; else an ``ArchiverError`` in one line
    naming the setting, its value and what it takes."""
    known = known_settings()
    given = sorted(name for name in settings if str(name).startswith(PREFIX))
    for name in given:
        if name not in known:
            raise ArchiverError(unknown_setting(name, known))
    for name in given:
        rule = rule_for(name, known[name])
        if rule is None:
            continue
        value = settings[name]
        try:
            rule.check(value)
        except (ValueError, TypeError, ImportError, NameError, AttributeError) as exc:
            raise ArchiverError(_bad_value(name, value, rule, known[name], exc)) from exc
    from archiver.scope.resolver import check_reach_settings

    check_reach_settings(settings)


def _bad_value(name: str, value: Any, rule: Rule, default: Any, exc: BaseException) -> str:
    why = ""
    if isinstance(exc, ImportError | NameError | AttributeError):
        why = f" ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})"
    scalar = isinstance(default, bool | int | float | str) and default != ""
    example = f"; for example -s {name}={default}" if scalar else ""
    return f"{name}: {value!r} is not {rule.accepts}{why}{example}"


def check_start_files(start_urls: Iterable[str]) -> None:
    """A ``file:`` start URL names a file that exists (a crawl of nothing is no crawl).

    Checked here, at the start of a new crawl, and not by the spider: ``archiver reparse``
    builds the spider with the original start URLs to re-read a file crawl from its WARC,
    and that file may long be gone."""
    for url in start_urls:
        parts = urlsplit(url)
        if parts.scheme == "file" and not Path(unquote(parts.path)).is_file():
            raise ArchiverError(
                f"start_urls: no such file {unquote(parts.path)} ({url}); give an existing "
                "file, or an http or https URL"
            )


def check_start(spidercls: type, arguments: Mapping[str, Any], settings: Any) -> None:
    """Everything ``scrapy crawl`` can know to be wrong before it crawls: the settings, the
    spider's ``-a`` arguments (its ``check_arguments``: names, values, start URLs and the
    profiles, every selector compiled) and that local start files exist."""
    check_settings(settings)
    check = getattr(spidercls, "check_arguments", None)
    if check is None:
        return
    parsed = check(**arguments)
    check_start_files(parsed.get("start_urls", ()) if isinstance(parsed, dict) else ())
