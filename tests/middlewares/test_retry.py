"""How long a retry waits: Retry-After in either of its forms, else capped exponential backoff."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from archiver.middlewares.retry import backoff_seconds, retry_after_seconds

NOW = datetime(2026, 11, 27, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        (b"120", 120.0),
        ("7", 7.0),
        (b" 30 ", 30.0),
        (b"0", 0.0),
        (b"Fri, 27 Nov 2026 12:01:30 GMT", 90.0),  # an HTTP date: that moment minus now
        ("Fri, 27 Nov 2026 11:59:00 GMT", 0.0),  # already past: retry at once
        (None, None),
        (b"", None),
        (b"soon", None),
        (b"-5", None),
        (b"2026-11-27T12:01:30", None),  # not an HTTP date
    ],
)
def test_retry_after(header, seconds) -> None:
    assert retry_after_seconds(header, now=NOW) == seconds


@pytest.mark.parametrize(
    ("retry_number", "base", "cap", "seconds"),
    [
        (1, 1.0, 30.0, 1.0),
        (2, 1.0, 30.0, 2.0),
        (3, 1.0, 30.0, 4.0),
        (5, 1.0, 30.0, 16.0),
        (6, 1.0, 30.0, 30.0),  # 32 capped
        (20, 1.0, 30.0, 30.0),
        (3, 0.2, 0.25, 0.25),
        (0, 1.0, 30.0, 1.0),  # no retry yet counts as the first
    ],
)
def test_backoff_doubles_up_to_its_cap(retry_number, base, cap, seconds) -> None:
    assert backoff_seconds(retry_number, base, cap) == seconds
