"""Following entries across snapshots: ``history`` (one row per entry and snapshot, with
growth), ``top`` (who gained most, the new, the vanished) and ``published`` (each entry's
publication interval, narrowed by every observation).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from archiver.analyse.read import listing_urls, load, one_listing, select_snapshots
from archiver.errors import ArchiverError
from archiver.extract.published import DAY_EXACT
from archiver.store.layout import (
    SnapshotInfo,
    archive_dir,
)


def _coverage(snapshots: list[SnapshotInfo]) -> pd.DataFrame:
    """(snapshot_id, scope) for every complete snapshot and each listing it crawled whole.

    A scope is a start URL; snapshots and rows written before ``listing_url`` existed fall
    back to the source name.
    """
    rows = [
        {"snapshot_id": s.snapshot_id, "scope": scope}
        for s in snapshots
        if s.status == "complete"
        for scope in {*s.manifest.get("start_urls", []), *s.manifest.get("sources", [])}
    ]
    return pd.DataFrame(rows, columns=["snapshot_id", "scope"])


HISTORY_COLUMNS = [
    "entry_id", "snapshot_id", "source", "title", "views", "position", "present",
    "listing_url", "fetched_at", "views_delta", "views_per_day",
]  # fmt: skip


def snapshot_times(snapshots: list[SnapshotInfo]) -> dict[str, pd.Timestamp]:
    """When each snapshot's crawl started (UTC): the time of an absence it records."""
    times = {}
    for info in snapshots:
        started = info.manifest.get("started_at")
        times[info.snapshot_id] = pd.Timestamp(started) if started else pd.NaT
    return times


def history(data_dir: str | Path | None = None, listing: str | None = None) -> pd.DataFrame:
    """One row per entry and snapshot, in time order, with ``present`` telling whether the
    entry was listed, and its growth: ``views_delta`` and ``views_per_day`` since the
    entry's previous observation with a view count (the first has none).

    Absence is only claimed where it is evidence: a row with ``present=False`` comes from a
    *complete* snapshot, later than the entry's first sighting, that crawled the listing the
    entry was found through. Partial and failed snapshots add rows only for what they saw.
    ``fetched_at`` is when the entry's page was fetched, or for an absence when that
    snapshot's crawl started. ``listing``: one listing's entries (a name or start URL).
    """
    data_dir = archive_dir(data_dir)
    wanted = listing_urls(data_dir, listing)
    rows = load(data_dir)
    if wanted is not None:
        rows = rows[rows["listing_url"].isin(wanted)]
    if rows.empty:
        return _typed_history(pd.DataFrame(columns=HISTORY_COLUMNS))
    rows["scope"] = rows["listing_url"].fillna(rows["source"])
    seen = (
        rows.sort_values(["snapshot_id", "position"])
        .drop_duplicates(["snapshot_id", "entry_id"])
        .assign(present=True)
    )
    latest = seen.drop_duplicates("entry_id", keep="last")
    snapshots = select_snapshots(data_dir, None)
    candidates = latest[["entry_id", "source", "title", "scope", "listing_url"]].merge(
        _coverage(snapshots), on="scope"
    )
    missing = candidates.merge(
        seen[["entry_id", "snapshot_id"]],
        on=["entry_id", "snapshot_id"],
        how="left",
        indicator=True,
    )
    first_seen = seen.groupby("entry_id")["snapshot_id"].min()
    missing = missing[
        (missing["_merge"] == "left_only")
        & (missing["snapshot_id"] > missing["entry_id"].map(first_seen))
    ].drop(columns="_merge")
    started = snapshot_times(snapshots)
    missing = missing.assign(
        views=pd.NA,
        position=pd.NA,
        present=False,
        fetched_at=missing["snapshot_id"].map(started),
    )
    columns = HISTORY_COLUMNS[:-2]
    seen = seen[columns]
    out = pd.concat([seen, missing[columns]], ignore_index=True) if len(missing) else seen
    out = out.sort_values(["snapshot_id", "position", "entry_id"], na_position="last")
    return _typed_history(_with_growth(out.reset_index(drop=True)))


def _with_growth(frame: pd.DataFrame) -> pd.DataFrame:
    """``views_delta`` and ``views_per_day`` against each entry's previous counted view."""
    frame = frame.assign(views_delta=pd.NA, views_per_day=float("nan"))
    counted = frame[frame["views"].notna()].sort_values(["entry_id", "snapshot_id"])
    previous = counted.groupby("entry_id")[["views", "fetched_at"]].shift()
    delta = counted["views"] - previous["views"]
    days = (counted["fetched_at"] - previous["fetched_at"]).dt.total_seconds() / 86400
    frame.loc[counted.index, "views_delta"] = delta
    per_day = delta.astype("Float64") / days.where(days > 0)
    frame.loc[counted.index, "views_per_day"] = per_day.astype(float)
    return frame


def _typed_history(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.astype(
        {
            "views": "Int64",
            "position": "Int32",
            "present": bool,
            "views_delta": "Int64",
            "views_per_day": "float64",
            "fetched_at": "datetime64[us, UTC]",
        }
    )[HISTORY_COLUMNS]


def top(
    data_dir: str | Path | None = None,
    listing: str | None = None,
    since: str = "7d",
    n: int | None = 10,
) -> pd.DataFrame:
    """What moved in one listing over ``since`` (``7d``, ``24h``, ``2w``): each entry of the
    latest usable snapshot against the latest usable one at least ``since`` older (else the
    oldest), as ``change`` ``gained`` (views rose, most first; ``n`` of them), ``new`` or
    ``vanished``, with ``views_before``, ``views_after``, ``views_gained`` and
    ``views_per_day``. With several listings, name one."""
    data_dir = archive_dir(data_dir)
    span = parse_span(since)
    snapshots = [s for s in select_snapshots(data_dir, None) if s.usable]
    wanted = one_listing(data_dir, listing) or set()
    ours = [s for s in snapshots if wanted & set(s.manifest.get("start_urls", []))]
    columns = ["entry_id", "title", "change", "views_before", "views_after", "views_gained",
               "views_per_day", "url"]  # fmt: skip
    if len(ours) < 2:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    times = snapshot_times(ours)
    after = ours[-1]
    cutoff = times[after.snapshot_id] - span
    before = next((s for s in reversed(ours[:-1]) if times[s.snapshot_id] <= cutoff), ours[0])
    old, new = (
        frame[frame["listing_url"].isin(wanted)].drop_duplicates("entry_id")
        for frame in (load(data_dir, before.snapshot_id), load(data_dir, after.snapshot_id))
    )
    merged = old[["entry_id", "title", "views", "url"]].merge(
        new[["entry_id", "title", "views", "url"]],
        on="entry_id",
        how="outer",
        suffixes=("_before", "_after"),
        indicator=True,
    )
    days = (times[after.snapshot_id] - times[before.snapshot_id]).total_seconds() / 86400
    merged["title"] = merged["title_after"].fillna(merged["title_before"])
    merged["url"] = merged["url_after"].fillna(merged["url_before"])
    merged["change"] = (
        merged["_merge"]
        .astype(str)
        .map({"both": "gained", "right_only": "new", "left_only": "vanished"})
    )
    merged["views_gained"] = (merged["views_after"] - merged["views_before"]).astype("Int64")
    merged["views_per_day"] = (
        merged["views_gained"].astype("Float64") / days if days > 0 else float("nan")
    )
    merged["views_per_day"] = merged["views_per_day"].astype(float)
    gained = merged[(merged["change"] == "gained") & (merged["views_gained"] > 0)]
    gained = gained.sort_values(["views_gained", "entry_id"], ascending=[False, True])
    if n is not None:
        gained = gained.head(n)
    rest = merged[merged["change"] != "gained"].sort_values(["change", "entry_id"])
    out = pd.concat([gained, rest], ignore_index=True)[columns]
    out.attrs |= {"from": before.snapshot_id, "to": after.snapshot_id, "days": days}
    return out.astype({"views_before": "Int64", "views_after": "Int64", "change": "string"})


_SPAN_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_span(text: str) -> pd.Timedelta:
    """``7d``, ``24h``, ``30m``, ``2w`` as a time span; an ArchiverError says what is wrong."""
    number, unit = text[:-1].strip(), text[-1:].lower()
    if unit not in _SPAN_UNITS or not number.isdigit():
        raise ArchiverError(f"--since {text!r}: a whole number and m, h, d or w (e.g. 7d)")
    return pd.Timedelta(**{_SPAN_UNITS[unit]: int(number)})


def published(data_dir: str | Path | None = None, listing: str | None = None) -> pd.DataFrame:
    """One row per entry: the publication interval every observation allows.

    Each snapshot's row implies an interval (from its ``age_text``, or the time its markup,
    feed or post page stated); the truth lies in all of them, so the narrowed interval is
    their intersection. ``published_source`` and ``published_raw`` are those of the
    narrowest observation (where the best date came from, as found), ``day_exact`` says
    whether the day is known. ``contradictions`` counts observations that are disjoint from
    at least one other (the site changed a date, or printed a wrong one); the narrowed
    bounds are then left empty rather than invented.
    """
    data_dir = archive_dir(data_dir)
    columns = [
        "entry_id",
        "title",
        "published_earliest",
        "published_latest",
        "published_source",
        "published_raw",
        "day_exact",
        "observations",
        "contradictions",
    ]
    rows = load(data_dir).dropna(subset=["published_earliest", "published_latest"])
    wanted = listing_urls(data_dir, listing)
    if wanted is not None:
        rows = rows[rows["listing_url"].isin(wanted)]
    if rows.empty:
        return pd.DataFrame(columns=columns)
    rows = rows.sort_values("snapshot_id")
    by_entry = rows.groupby("entry_id", sort=True)
    latest_start = by_entry["published_earliest"].transform("max")
    earliest_end = by_entry["published_latest"].transform("min")
    # An observation is disjoint from some other one exactly when it ends before the latest
    # start or starts after the earliest end of its entry's observations.
    rows["disjoint"] = (rows["published_latest"] < latest_start) | (
        rows["published_earliest"] > earliest_end
    )
    frame = by_entry.agg(
        title=("title", "last"),
        published_earliest=("published_earliest", "max"),
        published_latest=("published_latest", "min"),
        observations=("title", "size"),
    )
    frame["contradictions"] = rows.groupby("entry_id", sort=True)["disjoint"].sum()
    # The narrowest observation (the first of equals, in snapshot order) names the source.
    rows["width"] = rows["published_latest"] - rows["published_earliest"]
    narrowest = rows.loc[rows.groupby("entry_id", sort=True)["width"].idxmin()]
    narrowest = narrowest.set_index("entry_id")
    frame["published_source"] = narrowest["published_source"]
    frame["published_raw"] = narrowest["published_raw"]
    contradicted = frame["contradictions"] > 0
    frame.loc[contradicted, ["published_earliest", "published_latest"]] = pd.NaT
    frame.loc[contradicted, ["published_source", "published_raw"]] = None
    width = frame["published_latest"] - frame["published_earliest"]
    frame["day_exact"] = (width <= DAY_EXACT).astype("boolean")
    frame.loc[contradicted, "day_exact"] = pd.NA
    return frame.reset_index()[columns]
