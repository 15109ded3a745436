"""``archiver plot``: one listing at a glance, as PNG, SVG or PDF.

Two charts: views over time of the most viewed entries (or of one entry), and entries per
snapshot; crawls that archived nothing are marked, and the lines break there. matplotlib
draws them with its Agg backend: no screen needed.
The data behind each chart comes from small functions of their own, which the tests read.
"""

from __future__ import annotations

from io import BytesIO
from pathlib import Path
from typing import Any

import pandas as pd

from archiver.analyse.read import load, one_listing
from archiver.errors import ArchiverError
from archiver.store.layout import archive_dir, list_snapshots


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


def outages(data_dir: str | Path | None, urls: set[str] | None) -> pd.DataFrame:
    """The crawls of the listing that archived nothing (failed, or no row): ``snapshot_id``,
    ``time`` (when the crawl started), ``status``. A chart shows them as gaps, not as if no
    crawl had run."""
    records = []
    for info in list_snapshots(archive_dir(data_dir)):
        if info.usable or (
            urls is not None and not urls & set(info.manifest.get("start_urls", []))
        ):
            continue
        started = info.manifest.get("started_at")
        if started:
            records.append((info.snapshot_id, pd.Timestamp(started), info.status))
    frame = pd.DataFrame(records, columns=["snapshot_id", "time", "status"])
    return frame.astype({"time": "datetime64[us, UTC]"})


# Tick labels at every spacing, minutes to years: a label never stands alone as bare
# seconds ("30.0") or a bare hour, and the offset above the axis gives the day.
TICK_FORMATS = ["%Y", "%b %Y", "%d %b", "%H:%M", "%H:%M", "%H:%M:%S"]
ZERO_FORMATS = ["", "%Y", "%b %Y", "%d %b", "%H:%M", "%H:%M:%S"]
SHORTEST_AXIS = pd.Timedelta(minutes=10)  # crawls seconds apart still get a readable axis


def _time_axis(axes: Any, times: pd.Series) -> None:
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

    locator = AutoDateLocator(minticks=3, maxticks=8)
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(
        ConciseDateFormatter(locator, formats=TICK_FORMATS, zero_formats=ZERO_FORMATS)
    )
    axes.set_xlabel("time (UTC)")
    times = times.dropna()
    if len(times) and times.max() - times.min() < SHORTEST_AXIS:
        middle = times.min() + (times.max() - times.min()) / 2
        axes.set_xlim(middle - SHORTEST_AXIS / 2, middle + SHORTEST_AXIS / 2)


def _count_axis(axes: Any, values: pd.Series) -> None:
    """Counts are whole numbers: integer ticks, from 0, and at least 0-1 tall (a line of
    zeros is drawn on an axis of 0 and 1, not 0-0.05)."""
    from matplotlib.ticker import MaxNLocator

    axes.yaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=2))
    top = float(values.max()) if len(values) and values.notna().any() else 0.0
    axes.set_ylim(0, max(1.0, top * 1.08))


def _gaps(axes: Any, missing: pd.DataFrame) -> None:
    for n, when in enumerate(missing["time"]):
        axes.axvline(
            when, color="#c0392b", linestyle=":", linewidth=1.2,
            label="crawl archived nothing" if n == 0 else None,
        )  # fmt: skip


def _with_gaps(group: pd.DataFrame, missing: pd.DataFrame, column: str) -> pd.DataFrame:
    """A series with a blank point at each outage inside its span: the line breaks there."""
    inside = missing[
        (missing["time"] > group["time"].min()) & (missing["time"] < group["time"].max())
    ]
    if inside.empty:
        return group
    blanks = pd.DataFrame({"time": inside["time"], column: float("nan")})
    return pd.concat([group[["time", column]], blanks]).sort_values("time")


def _legend(axes: Any) -> None:
    handles, _ = axes.get_legend_handles_labels()
    if handles:  # beside the data, never over it
        axes.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)


def _draw_views(axes: Any, views: pd.DataFrame, missing: pd.DataFrame) -> pd.DataFrame:
    """One line per entry, most viewed first in the legend; the frame drawn, with ``time``."""
    views = views.rename(columns={"fetched_at": "time"})
    latest = views.groupby("entry_id", sort=False)["views"].last().sort_values(ascending=False)
    for entry_id in latest.index:  # the legend reads top down, most viewed first
        group = views[views["entry_id"] == entry_id]
        label = str(group["title"].iloc[-1])
        label = label if len(label) <= 40 else label[:39] + "…"
        series = _with_gaps(group.assign(views=group["views"].astype(float)), missing, "views")
        axes.plot(series["time"], series["views"], marker="o", label=label)
    axes.set_ylabel("views")
    if views.empty:
        axes.text(
            0.5, 0.5, "no view counts for this listing", ha="center", transform=axes.transAxes
        )
    elif (views["views"] == 0).all():
        axes.text(
            0.5, 0.6, "every view count is 0 on this listing", ha="center",
            transform=axes.transAxes, color="#555",
        )  # fmt: skip
    return views


def _finish(axes: Any, values: pd.Series, times: pd.Series, missing: pd.DataFrame) -> None:
    _gaps(axes, missing)
    _count_axis(axes, values.astype(float))
    _time_axis(axes, times)
    _legend(axes)


def _new_figure(size: tuple[float, float], rows: int) -> tuple[Any, Any]:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=size, layout="constrained")
    return figure, figure.subplots(rows, 1)


def views_chart(views: pd.DataFrame, missing: pd.DataFrame, title: str) -> Any:
    """The views-over-time chart alone (the report's), as a Figure."""
    figure, axes = _new_figure((9, 3.8), 1)
    drawn = _draw_views(axes, views, missing)
    axes.set_title(title)
    _finish(axes, drawn["views"], pd.concat([drawn["time"], missing["time"]]), missing)
    return figure


def _figure(views: pd.DataFrame, counts: pd.DataFrame, title: str, missing: pd.DataFrame) -> Any:
    figure, (top, bottom) = _new_figure((10, 7.5), 2)
    drawn = _draw_views(top, views, missing)
    top.set_title(title)
    for listing, group in counts.groupby("listing", sort=False):
        series = _with_gaps(group, missing, "entries")
        bottom.plot(series["time"], series["entries"], marker="s", label=str(listing)[:60])
    bottom.set_title("entries per snapshot")
    bottom.set_ylabel("entries")
    times = pd.concat([drawn["time"], counts["time"], missing["time"]])
    _finish(top, drawn["views"], times, missing)
    _finish(bottom, counts["entries"], times, missing)
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
    data_dir: str | Path | None,
    top: int = 10,
    entry: str | None = None,
    fmt: str = "png",
    listing: str | None = None,
) -> bytes:
    """The two charts of one listing as the bytes of a ``fmt`` file (see ``plot_figure``)."""
    buffer = BytesIO()
    plot_figure(data_dir, top, entry, listing).savefig(buffer, format=fmt, dpi=100)
    return buffer.getvalue()


def plot_figure(
    data_dir: str | Path | None,
    top: int = 10,
    entry: str | None = None,
    listing: str | None = None,
) -> Any:
    """The two charts of one listing (``listing``, or the archive's only one), as a
    matplotlib Figure. With several listings and none named, an ArchiverError names them;
    ``entry`` alone picks the entry's listing."""
    data_dir = archive_dir(data_dir)
    rows = load(data_dir)
    if rows.empty:
        raise ArchiverError(f"no snapshots with rows under {data_dir}")
    if entry is not None and listing is None:
        urls = set(rows.loc[rows["entry_id"] == entry, "listing_url"].dropna()) or None
    else:
        urls = one_listing(data_dir, listing)
    if urls is not None:
        rows = rows[rows["listing_url"].isin(urls)]
    views = views_over_time(rows, top, entry)
    name = listing or (next(iter(urls)) if urls and len(urls) == 1 else "")
    title = "views over time" + (f" of {entry}" if entry else f", top {top} entries")
    title += f": {name}" if name else ""
    return _figure(views, entries_per_snapshot(rows), title, outages(data_dir, urls))


def plot_png(
    data_dir: str | Path | None, top: int = 10, entry: str | None = None, listing: str | None = None
) -> bytes:
    """The two charts of one listing as PNG bytes."""
    return plot_image(data_dir, top, entry, "png", listing)
