"""Names in a shared crawl: a page's key in Redis, a worker's id, a Redis URL fit for a log."""

from __future__ import annotations

import hashlib
import logging
import os
import re
import secrets
import socket
from urllib.parse import urlsplit, urlunsplit

logger = logging.getLogger("archiver.workers")


PAGE_KEY_SEPARATOR = "\x1f"


def digest(text: str) -> str:
    """32 hex characters standing for ``text`` in Redis: a day's crawl has millions of pages,
    and Redis holds every key in memory."""
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def page_key(listing: str, page_url: str) -> str:
    """What a commit is keyed by: the rows' ``listing_url`` and ``page_url``."""
    return digest(f"{listing}{PAGE_KEY_SEPARATOR}{page_url}")


def redacted(url: str) -> str:
    """A Redis URL fit for a log line: its password replaced by ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    netloc = f"{user}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def worker_name() -> str:
    """``<host>-<pid>-<4 hex>``, safe as part of a file name."""
    host = re.sub(r"[^A-Za-z0-9_-]", "-", socket.gethostname())[:40] or "host"
    return f"{host}-{os.getpid()}-{secrets.token_hex(2)}"
