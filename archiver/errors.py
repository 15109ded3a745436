"""Errors that carry a short machine-readable reason, so callers can count them in stats."""

from __future__ import annotations


class Rejected(ValueError):
    """A value that cannot be normalised; ``reason`` is a stats-friendly slug."""

    def __init__(self, reason: str, value: object = None) -> None:
        super().__init__(f"{reason}: {value!r}")
        self.reason = reason
        self.value = value


class ArchiverError(Exception):
    """A user-facing failure whose message is one line naming what was wrong and where."""
