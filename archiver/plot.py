"""``archiver plot``: an archive at a glance, as a PNG.

Two charts: views over time of the most viewed entries (or of one entry), and entries per
snapshot for each listing. matplotlib draws them with its Agg backend: no screen needed.
The data behind each chart comes from small functions of their own, which the tests read.
"""

from __future__ import annotations

from io import BytesIO
from pathlib import Path
from typing import Any

import pandas as pd

from archiver.dataset import load
from archiver.errors import ArchiverError


def views_over_time(rows: pd.DataFrame, top: int = 10, entry: str | None = None) -> pd.DataFrame:
    """Views of the ``top`` entries with the most views at their latest sighting (or of
    ``entry``), one row per sighting: ``entry_id``, ``title``, ``fetched_at``, ``views``."""
    seen = rows.dropna(subset=["views"])
    if entry is not None:
        if entry not in set(rows["entry_id"]):
            raise ArchiverError(f"entry {entry!r} is in no snapshot")
        chosen = [entry]
    else:
        latest = seen.sort_values("fetched_at").drop_duplicates("entry_id", keep="last")
        chosen = latest.nlargest(top, "views", keep="first")["entry_id"].tolist()
    picked = seen[seen["entry_id"].isin(chosen)]
    columns = ["entry_id", "title", "fetched_at", "views"]
    return picked.sort_values(["entry_id", "fetched_at"])[columns].reset_index(drop=True)


def entries_per_snapshot(rows: pd.DataFrame) -> pd.DataFrame:
    """How many entries each snapshot holds per listing: ``listing``, ``snapshot_id``,
    ``time`` (the snapshot's first fetch), ``entries``."""
    listing = rows["listing_url"].fillna(rows["source"])
    counts = (
        rows.assign(listing=listing)
        .groupby(["listing", "snapshot_id"], sort=True)
        .agg(time=("fetched_at", "min"), entries=("entry_id", "nunique"))
        .reset_index()
    )
    return counts.sort_values(["listing", "time"]).reset_index(drop=True)


def _figure(views: pd.DataFrame, counts: pd.DataFrame, title: str) -> Any:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
    from matplotlib.figure import Figure

    figure = Figure(figsize=(10, 7.5), layout="constrained")
    top, bottom = figure.subplots(2, 1)
    for _, group in views.groupby("entry_id", sort=False):
        label = str(group["title"].iloc[-1])
        label = label if len(label) <= 48 else label[:47] + "…"
        top.plot(group["fetched_at"], group["views"].astype(float), marker="o", label=label)
    top.set_title(title)
    top.set_ylabel("views")
    if len(views):
        top.legend(fontsize="small", loc="upper left")
    else:
        top.text(0.5, 0.5, "no view counts in this archive", ha="center", transform=top.transAxes)
    for listing, group in counts.groupby("listing", sort=False):
        bottom.plot(group["time"], group["entries"], marker="s", label=str(listing))
    bottom.set_title("entries per snapshot, per listing")
    bottom.set_ylabel("entries")
    bottom.set_ylim(bottom=0)
    if len(counts):
        bottom.legend(fontsize="small", loc="lower left")
    for axes in (top, bottom):
        locator = AutoDateLocator()
        axes.xaxis.set_major_locator(locator)
        axes.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    top.set_ylim(bottom=0)
    return figure


# The formats matplotlib's Agg backend writes, by the suffix a user gives ``-o``.
FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}


def image_format(path: str | Path) -> str:
    """The format ``-o path`` asks for, by its suffix: a file named ``x.svg`` that holds PNG
    bytes opens nowhere, so an unknown suffix is refused rather than guessed."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise ArchiverError(
            f"-o {path}: cannot tell the image format from {suffix or 'no suffix'!r}; "
            f"end the name with {', '.join(FORMATS)}"
        )
    return FORMATS[suffix]


def plot_image(
    data_dir: str | Path | None, top: int = 10, entry: str | None = None, fmt: str = "png"
) -> bytes:
    """The two charts of ``data_dir``'s archive as the bytes of a ``fmt`` file."""
    rows = load(data_dir)
    if rows.empty:
        raise ArchiverError(f"no snapshots with rows under {data_dir}")
    views = views_over_time(rows, top, entry)
    title = "views over time" + (f" of {entry}" if entry else f", top {top} entries")
    figure = _figure(views, entries_per_snapshot(rows), title)
    buffer = BytesIO()
    figure.savefig(buffer, format=fmt, dpi=100)
    return buffer.getvalue()


def plot_png(data_dir: str | Path | None, top: int = 10, entry: str | None = None) -> bytes:
    """The two charts of ``data_dir``'s archive as PNG bytes."""
    return plot_image(data_dir, top, entry, "png")
