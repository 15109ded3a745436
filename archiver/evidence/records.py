"""What a WARC record of archiver holds and how it is named: the folder and file names, a URL
with no credentials in it, the ``WARC-Date`` format, the headers kept, and the exchange a
crawl hands to the writer (``Exchange``) with where its record went (``Capture``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from warcio.timeutils import datetime_to_iso_date, iso_date_to_datetime

logger = logging.getLogger(__name__)


WARC_FOLDER = "_warc"
SUFFIX = ".warc.gz"
OPEN_SUFFIX = ".warc.gz.open"
WARC_VERSION = "1.1"
MAX_FILE_BYTES = 1_000_000_000  # the customary 1 GB per WARC file
# Request headers never written: credentials and session state.
SECRET_HEADERS = frozenset({"cookie", "authorization", "proxy-authorization"})
# Response headers that describe the transport, not the stored body.
TRANSPORT_HEADERS = frozenset({"transfer-encoding"})


def public_url(url: str) -> str:
    """``url`` without a user name or password: those never go into a WARC."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit(parts._replace(netloc=netloc))


def warc_date(moment: datetime) -> str:
    return datetime_to_iso_date(moment.astimezone(UTC).replace(tzinfo=None), use_micros=True)


def parse_warc_date(text: str) -> datetime:
    return iso_date_to_datetime(text, tz_aware=True)


def header_pairs(headers: Any, drop: frozenset[str]) -> list[tuple[str, str]]:
    """(name, value) pairs from Scrapy ``Headers`` or a mapping, one per value."""
    pairs = []
    for name, values in headers.items():
        text = name.decode("latin-1") if isinstance(name, bytes) else str(name)
        if text.lower() in drop:
            continue
        for value in values if isinstance(values, list | tuple) else [values]:
            pairs.append(
                (text, value.decode("latin-1") if isinstance(value, bytes) else str(value))
            )
    return pairs


@dataclass(frozen=True)
class Exchange:
    """One HTTP exchange (or one file read) as the crawl saw it."""

    url: str
    fetched_at: datetime
    status: int = 200
    protocol: str = "HTTP/1.1"
    headers: Any = ()  # response headers
    body: bytes = b""
    method: str = "GET"
    request_headers: Any = ()
    ip_address: str | None = None


@dataclass(frozen=True)
class Capture:
    """Where an exchange's response record is: the row's evidence."""

    record_id: str
    filename: str  # relative to the snapshot directory, e.g. "_warc/ID-00000.warc.gz"


def files(folder: Path) -> list[Path]:
    """The finished WARC files in ``folder``, in the order they were written."""
    return sorted(folder.glob(f"*{SUFFIX}")) if folder.is_dir() else []
