"""Retries that wait: exponential backoff, and ``Retry-After`` honoured up to a cap.

Scrapy retries 5xx, 429 and network errors at once; a struggling server then gets hit
again immediately. This keeps Scrapy's retry bookkeeping (``RETRY_TIMES``, stats, give-up
logging) and only adds the wait before each retry:

* ``Retry-After`` (seconds or an HTTP date) on 429/503 is obeyed, capped at
  ``ARCHIVER_RETRY_AFTER_MAX`` seconds;
* otherwise the n-th retry waits ``ARCHIVER_BACKOFF_BASE * 2**(n-1)`` seconds, capped at
  ``ARCHIVER_BACKOFF_MAX``.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from scrapy import Request
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.http import Response
from scrapy.utils.response import response_status_message


def retry_after_seconds(value: bytes | str | None, now: datetime | None = None) -> float | None:
    """Seconds a ``Retry-After`` header asks for; None when absent or unreadable."""
    if not value:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def backoff_seconds(retry_number: int, base: float, cap: float) -> float:
    return min(cap, base * 2 ** max(0, retry_number - 1))


class BackoffRetryMiddleware(RetryMiddleware):
    def __init__(self, settings) -> None:
        super().__init__(settings)
        self.base = settings.getfloat("ARCHIVER_BACKOFF_BASE", 1.0)
        self.cap = settings.getfloat("ARCHIVER_BACKOFF_MAX", 30.0)
        self.retry_after_cap = settings.getfloat("ARCHIVER_RETRY_AFTER_MAX", 120.0)

    async def _wait(self, retry: Request, response: Response | None) -> Request:
        wait = backoff_seconds(retry.meta.get("retry_times", 1), self.base, self.cap)
        if response is not None:
            asked = retry_after_seconds(response.headers.get(b"Retry-After"))
            if asked is not None:
                wait = min(asked, self.retry_after_cap)
                self.crawler.stats.inc_value("archiver/retry/retry_after/honoured")
        self.crawler.stats.max_value("archiver/retry/wait_max_seconds", round(wait, 3))
        if wait > 0:
            await asyncio.sleep(wait)
        return retry

    async def process_response(self, request: Request, response: Response, spider=None):
        if request.meta.get("dont_retry", False) or response.status not in self.retry_http_codes:
            return response
        retry = self._retry(request, response_status_message(response.status))
        if retry is None:
            return response
        return await self._wait(retry, response)

    async def process_exception(self, request: Request, exception: Exception, spider=None):
        if not isinstance(exception, self.exceptions_to_retry) or request.meta.get("dont_retry"):
            return None
        retry = self._retry(request, exception)
        if retry is None:
            return None
        return await self._wait(retry, None)
