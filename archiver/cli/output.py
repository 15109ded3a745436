"""How the ``archiver`` command speaks: one line at a time, tables for people, progress on
stderr.
"""

from __future__ import annotations

import sys
from typing import TextIO

import pandas as pd


def say(stream: TextIO, text: str = "") -> None:
    stream.write(text + "\n")


class Progress:
    """Counts long work on stderr: a line rewritten in place on a terminal, else a line
    every tenth of the way (for logs and cron mails)."""

    def __init__(self, what: str, total: int, stream: TextIO | None = None) -> None:
        self.what, self.total = what, total
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.step = max(1, total // 10)

    def __call__(self, done: int, _total: int | None = None) -> None:
        if self.total < 50:  # short work needs no counter
            return
        if self.tty:
            end = "\n" if done >= self.total else ""
            self.stream.write(f"\r{self.what}: {done}/{self.total}{end}")
        elif done % self.step == 0 or done == self.total:
            self.stream.write(f"{self.what}: {done}/{self.total}\n")
        self.stream.flush()


def table(frame: pd.DataFrame, limits: dict[str, int] | None = None) -> str:
    """A DataFrame as aligned text columns a person reads; long cells cut with an ellipsis."""
    limits = limits or {}

    def cell(name: str, value: object) -> str:
        if value is None or (not isinstance(value, str | list | dict) and pd.isna(value)):
            return "-"
        if isinstance(value, pd.Timestamp):
            text = value.isoformat().replace("+00:00", "Z")
        elif isinstance(value, bool):
            text = "yes" if value else "no"
        else:
            text = str(value)
        limit = limits.get(name)
        return text if not limit or len(text) <= limit else text[: limit - 1] + "…"

    rows = [[cell(name, value) for name, value in zip(frame.columns, values, strict=True)]
            for values in frame.itertuples(index=False)]  # fmt: skip
    headers = [str(name) for name in frame.columns]
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]
    numeric = [pd.api.types.is_numeric_dtype(frame[name]) and not pd.api.types.is_bool_dtype(
        frame[name]) for name in frame.columns]  # fmt: skip

    def line(values: list[str]) -> str:
        return "  ".join(
            v.rjust(w) if n else v.ljust(w) for v, w, n in zip(values, widths, numeric, strict=True)
        ).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *map(line, rows)])
