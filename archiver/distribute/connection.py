"""How a worker talks to Redis: every call waits out a short outage, and after a long one the
worker stops in one step (``StateLost``).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from archiver.errors import ArchiverError

logger = logging.getLogger("archiver.workers")


class StateLost(ArchiverError):
    """Redis no longer holds this crawl as this worker joined it (restarted empty, or
    flushed), or cannot be reached for longer than the worker waits."""


class OutageRetry(Retry):
    """Every Redis call of a worker waits out a Redis that cannot be reached (restarting,
    a network cut), retrying with growing pauses, for at most ``outage`` seconds counted
    from the first failure; then the error is raised, and every later call fails at once,
    so that the worker stops in one step (``archiver.distribute``) instead of waiting again at
    each call."""

    def __init__(self, outage: float) -> None:
        super().__init__(ExponentialBackoff(cap=2.0, base=0.1), retries=-1)
        self.outage = outage
        self.patient = False  # off while connecting: Redis unreachable at start is one line
        self.lost: Exception | None = None
        self.waited = False

    def __deepcopy__(self, memo: dict[int, Any]) -> OutageRetry:
        # redis-py copies the retry into each connection; one outage is the worker's, seen
        # by all its connections.
        return self

    def call_with_retry(  # type: ignore[override]
        self,
        do: Any,
        fail: Any,
        is_retryable: Any = None,
        with_failure_count: bool = False,
    ) -> Any:
        first = None
        failures = 0
        while True:
            try:
                result = do()
            except self._supported_errors as error:
                failures += 1
                fail(error, failures) if with_failure_count else fail(error)
                now = time.monotonic()
                first = first if first is not None else now
                if not self.patient or self.lost is not None or now - first >= self.outage:
                    if self.patient:
                        self.lost = self.lost or error
                    raise
                if not self.waited:
                    self.waited = True
                    logger.warning(
                        "Redis cannot be reached (%s): waiting up to %.0f s for it",
                        error,
                        self.outage,
                    )
                time.sleep(min(2.0, 0.1 * 2**failures, max(0.0, first + self.outage - now)))
                continue
            if first is not None and self.waited:
                self.waited = False
                logger.warning("Redis is back after %.1f s", time.monotonic() - first)
            return result
