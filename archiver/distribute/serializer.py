"""JSON, not pickle: how requests travel between the workers of a shared crawl. scrapy-redis
takes any module with ``loads`` and ``dumps`` as its serializer; this is that module.
"""

from __future__ import annotations

import base64
import json
import logging
from datetime import datetime
from typing import Any

logger = logging.getLogger("archiver.workers")


def _encode(value: Any) -> Any:
    if isinstance(value, bytes):
        return {"__bytes__": base64.b64encode(value).decode()}
    if isinstance(value, datetime):
        return {"__datetime__": value.isoformat()}
    raise TypeError(f"cannot put {type(value).__name__} in a shared frontier: {value!r:.80}")


def _decode(document: dict[str, Any]) -> Any:
    if "__bytes__" in document:
        return base64.b64decode(document["__bytes__"])
    if "__datetime__" in document:
        return datetime.fromisoformat(document["__datetime__"])
    return document


def dumps(obj: Any) -> str:
    """A request dict (``Request.to_dict``) as JSON; bytes and datetimes tagged."""
    return json.dumps(obj, default=_encode, separators=(",", ":"))


def loads(text: str | bytes) -> Any:
    return json.loads(text, object_hook=_decode)
