"""``archiver report``: one snapshot on one self-contained HTML page.

Styles are inline and charts are embedded as ``data:`` images; a Content-Security-Policy
forbids anything else, so the page makes no request when opened, online or off. It shows
what a person checking a crawl wants to know first: rows and status, how complete each
column is, announced against extracted per listing, failed pages, what changed since the
previous snapshot of the same listing, and the narrowed publication dates.
"""

from __future__ import annotations

import base64
from html import escape
from io import BytesIO
from pathlib import Path
from typing import Any

import pandas as pd

from archiver.analyse.diff import changes_since_previous
from archiver.analyse.history import published
from archiver.analyse.read import load
from archiver.errors import ArchiverError
from archiver.items import COLUMNS
from archiver.store.layout import find_snapshot, list_snapshots
from archiver.version import __version__

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 64rem;
       color: #1d1d1f; padding: 0 1rem; line-height: 1.4; }
h1 { font-size: 1.5rem; margin-bottom: .2rem; }
h2 { font-size: 1.15rem; margin-top: 2rem; border-bottom: 1px solid #ddd; padding-bottom: .2rem; }
.meta { color: #555; } table { border-collapse: collapse; width: 100%; font-size: .9rem; }
th, td { text-align: left; padding: .25rem .5rem; border-bottom: 1px solid #eee;
         vertical-align: top; }
th { background: #f5f5f7; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.date { white-space: nowrap; font-variant-numeric: tabular-nums; }
.status { display: inline-block; padding: .1rem .6rem; border-radius: 1rem; font-weight: 600; }
.complete { background: #dff5e1; color: #11602a; }
.partial { background: #fff3cd; color: #7a5a00; }
.failed { background: #fde2e1; color: #8a1c14; } .bar { background: #4a7dd8; height: .7rem; }
.barbox { background: #eee; width: 10rem; } .empty { color: #777; font-style: italic; }
img { max-width: 100%; }
"""
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"


def _table(
    headers: list[str],
    rows: list[list[Any]],
    numeric: set[int] | None = None,
    dates: set[int] | None = None,
) -> str:
    numeric, dates = numeric or set(), dates or set()

    def attributes(i: int) -> str:
        return " class=num" if i in numeric else " class=date" if i in dates else ""

    head = "".join(f"<th{attributes(i)}>{escape(h)}</th>" for i, h in enumerate(headers))
    body = "".join(
        "<tr>" + "".join(f"<td{attributes(i)}>{cell}</td>" for i, cell in enumerate(row)) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _text(value: Any) -> str:
    if value is None or (not isinstance(value, str | list | dict) and pd.isna(value)):
        return '<span class="empty">none</span>'
    return escape(str(value))


def _iso(value: Any) -> str | None:
    return None if pd.isna(value) else value.isoformat().replace("+00:00", "Z")


def coverage(rows: pd.DataFrame) -> list[tuple[str, int]]:
    """How many rows have each field (a value, not null; for maps, not empty)."""
    counts = []
    for name in COLUMNS:
        column = rows[name]
        if name in ("extra", "counts"):
            counts.append((name, int(column.map(lambda v: v is not None and len(v) > 0).sum())))
        else:
            counts.append((name, int(column.notna().sum())))
    extra = rows["extra"].dropna()
    keys = sorted({key for mapping in extra for key in mapping})
    counts += [(f"extra: {key}", int(extra.map(lambda m, k=key: k in m).sum())) for key in keys]
    return counts


def _when(value: Any) -> str:
    """A time as a person reads it (``2026-12-07 13:56 UTC``), exact to the microsecond in
    the ``<time datetime>`` a program reads."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return '<span class="empty">none</span>'
    stamp = pd.Timestamp(value)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    exact = stamp.isoformat().replace("+00:00", "Z")
    return f'<time datetime="{exact}">{stamp.strftime("%Y-%m-%d %H:%M")} UTC</time>'


def _day(value: Any) -> str:
    """A publication bound: its day, and the hour where the bound is not midnight."""
    if value is None or pd.isna(value):
        return '<span class="empty">none</span>'
    stamp = pd.Timestamp(value).tz_convert("UTC")
    shown = stamp.strftime("%Y-%m-%d") + (
        "" if stamp == stamp.normalize() else stamp.strftime(" %H:%M")
    )
    return f'<time datetime="{_iso(stamp)}">{shown}</time>'


def _change(field: str, before: Any, after: Any) -> str:
    """``views: 0 → 12 (+12)``: numbers get their delta."""
    text = f"{field}: {before!r} → {after!r}"
    numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (before, after))
    if numbers:
        text += f" ({after - before:+,})"
    return escape(text)


def _png(figure: Any, alt: str) -> str:
    buffer = BytesIO()
    figure.savefig(buffer, format="png", dpi=80)
    encoded = base64.b64encode(buffer.getvalue()).decode()
    return f'<img alt="{escape(alt)}" src="data:image/png;base64,{encoded}">'


def _listing_label(manifest: dict[str, Any]) -> str:
    urls = ", ".join(manifest.get("start_urls", [])) or "?"
    return f"{manifest['listing']} ({urls})" if manifest.get("listing") else urls


TOP_ENTRIES = 8  # lines in the report's views chart
TOP_MOVERS = 10


def _listing_rows(data_dir: str | Path, info: Any) -> pd.DataFrame:
    """Every row of the snapshot's listings, up to and including this snapshot."""
    urls = set(info.manifest.get("start_urls", []))
    rows = load(data_dir)
    rows = rows[(rows["snapshot_id"] <= info.snapshot_id) & rows["listing_url"].isin(urls)]
    return rows


def _views_section(data_dir: str | Path, info: Any, here: pd.DataFrame) -> str:
    from archiver.analyse.plot import outages, views_chart, views_over_time

    rows = _listing_rows(data_dir, info)
    counted = here.dropna(subset=["views"])
    head = '<section id="views"><h2>Views over time</h2>'
    if counted.empty:
        return head + '<p class="empty">No entry of this snapshot has a view count.</p></section>'
    chosen = counted.drop_duplicates("entry_id").nlargest(TOP_ENTRIES, "views", keep="first")
    series = views_over_time(rows[rows["entry_id"].isin(set(chosen["entry_id"]))], TOP_ENTRIES)
    missing = outages(data_dir, set(info.manifest.get("start_urls", [])))
    missing = missing[missing["snapshot_id"] <= info.snapshot_id]
    snapshots = rows["snapshot_id"].nunique()
    title = f"the {len(chosen)} most viewed entries, over {snapshots} snapshot(s)"
    return head + _png(views_chart(series, missing, title), "views over time chart") + "</section>"


def _movers_section(data_dir: str | Path, info: Any) -> str:
    from archiver.analyse.history import history

    head = '<section id="movers"><h2>Top movers since each entry\'s previous count</h2>'
    frame = history(data_dir)  # one read of the archive, then this snapshot's listings
    urls = set(info.manifest.get("start_urls", []))
    here = frame[
        (frame["snapshot_id"] == info.snapshot_id)
        & frame["listing_url"].isin(urls)
        & frame["views_delta"].notna()
    ]
    here = here.drop_duplicates("entry_id")
    if here.empty:
        return head + '<p class="empty">No earlier count to compare with.</p></section>'
    moved = here.sort_values(["views_delta", "entry_id"], ascending=[False, True])
    moved = moved.head(TOP_MOVERS)
    table = _table(
        ["title", "views", "gained", "per day"],
        [
            [
                escape(str(r.title)),
                f"{int(r.views):,}",
                f"{int(r.views_delta):+,}",
                "" if pd.isna(r.views_per_day) else f"{r.views_per_day:+,.1f}",
            ]
            for r in moved.itertuples()
        ],
        numeric={1, 2, 3},
    )
    return head + table + "</section>"


def build_report(data_dir: str | Path, snapshot_id: str | None = None) -> str:
    """The HTML page for ``snapshot_id`` (default: the newest snapshot)."""
    snapshots = list_snapshots(data_dir)
    if not snapshots:
        raise ArchiverError(f"no snapshots under {data_dir}")
    info = snapshots[-1]
    if snapshot_id is not None:
        info = find_snapshot(snapshots, snapshot_id, data_dir)
    if info.status == "damaged":
        raise ArchiverError(
            f"snapshot {info.snapshot_id}: manifest unreadable; see archiver verify"
        )
    manifest = info.manifest
    rows = load(data_dir, info.snapshot_id)
    total = len(rows)
    status = escape(info.status)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Snapshot {escape(info.snapshot_id)}</title><style>{STYLE}</style></head><body>",
        f"<h1>Snapshot {escape(info.snapshot_id)}</h1>",
        f'<p class="meta">Listing {escape(_listing_label(manifest))}</p>',
        f'<p class="meta">archiver report, archiver {__version__}</p>',
        '<section id="summary"><h2>Rows and status</h2>',
        f'<p><span class="status {status}">{status}</span> '
        f"<strong>{total}</strong> rows from {manifest.get('pages_fetched', '?')} pages, "
        f"{len(manifest.get('pages_failed', []))} failed; crawl "
        f"{_when(manifest.get('started_at'))} to "
        f"{_when(manifest.get('finished_at'))}"
        + (
            f"; re-read from {escape(manifest['derived_from'])}"
            if manifest.get("derived_from")
            else ""
        )
        + "</p>",
        f"<p>Sources: {escape(', '.join(manifest.get('sources', [])) or 'none')}. "
        f"Close reason: {escape(str(manifest.get('close_reason', '?')))}.</p></section>",
    ]
    counts = coverage(rows)
    parts += [
        '<section id="coverage"><h2>Field coverage</h2>',
        _table(
            ["column", "rows with a value", "share", ""],
            [
                [
                    escape(name),
                    str(count),
                    f"{(count / total * 100 if total else 0):.0f}%",
                    f'<div class="barbox"><div class="bar" style="width:'
                    f'{(count / total * 100 if total else 0):.0f}%"></div></div>',
                ]
                for name, count in counts
            ],
            numeric={1, 2},
        ),
        "</section>",
        _views_section(data_dir, info, rows),
        _movers_section(data_dir, info),
    ]
    listings = manifest.get("listings", [])
    parts += [
        '<section id="listings"><h2>Announced and extracted, per listing</h2>',
        _table(
            ["listing", "profile", "announced", "extracted", "pages", "stopped"],
            [
                [
                    escape(listing["start_url"]),
                    _text(listing.get("profile")),
                    _text(listing.get("announced")),
                    str(listing.get("extracted", 0)),
                    str(listing.get("pages_fetched", 0)),
                    _text(listing.get("stopped")),
                ]
                for listing in listings
            ],
            numeric={2, 3, 4},
        )
        if listings
        else '<p class="empty">No listing recorded.</p>',
        "</section>",
    ]
    failed = manifest.get("pages_failed", [])
    parts += [
        '<section id="failed"><h2>Failed pages</h2>',
        _table(["page", "reason"], [[escape(f["url"]), escape(f["reason"])] for f in failed])
        if failed
        else '<p class="empty">No page failed.</p>',
        "</section>",
    ]
    changes = changes_since_previous(data_dir, info.snapshot_id)
    parts.append('<section id="changes"><h2>Changes since the previous snapshot</h2>')
    if changes is None:
        parts.append('<p class="empty">This is the first snapshot of its listings.</p>')
    else:
        parts.append(
            f"<p>Against {escape(changes['from'])}: {len(changes['new'])} new, "
            f"{len(changes['vanished'])} vanished, {len(changes['changed'])} changed.</p>"
        )
        rows_out = [["new", escape(e["title"]), escape(e["entry_id"]), ""] for e in changes["new"]]
        rows_out += [
            ["vanished", escape(e["title"]), escape(e["entry_id"]), ""] for e in changes["vanished"]
        ]
        rows_out += [
            [
                "changed",
                escape(e["title"]),
                escape(e["entry_id"]),
                "; ".join(_change(k, a, b) for k, (a, b) in e["changes"].items()),
            ]
            for e in changes["changed"]
        ]
        if rows_out:
            parts.append(_table(["change", "title", "entry", "what"], rows_out))
    parts.append("</section>")
    dates = published(data_dir)
    dates = dates[dates["entry_id"].isin(set(rows["entry_id"]))]
    # Newest first, as a listing shows them; an entry without bounds last.
    dates = dates.sort_values(
        ["published_latest", "published_earliest", "title"],
        ascending=[False, False, True],
        na_position="last",
    )
    parts += [
        '<section id="published"><h2>Publication dates, narrowed across snapshots</h2>',
        _table(
            ["title", "earliest", "latest", "observations", "contradictions"],
            [
                [
                    escape(str(r.title)),
                    _day(r.published_earliest),
                    _day(r.published_latest),
                    str(r.observations),
                    str(r.contradictions),
                ]
                for r in dates.itertuples()
            ],
            numeric={3, 4},
            dates={1, 2},
        )
        if len(dates)
        else '<p class="empty">No entry has a readable date.</p>',
        "</section></body></html>",
    ]
    return "\n".join(parts) + "\n"
