"""Snapshots made directly (no crawl), published exactly as a crawl publishes them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from archiver.extract.dates import parse_age
from archiver.items import ListingEntry
from archiver.pipelines.identity import make_entry_id
from archiver.store.staging import StagedSnapshot, snapshot_status

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def entry(
    snapshot_id: str, title: str, position: int, *, when: datetime = T0, **fields
) -> ListingEntry:
    url = fields.pop("url", f"https://blog.example/{title.lower().replace(' ', '-')}/")
    item = ListingEntry(
        snapshot_id=snapshot_id,
        source=fields.pop("source", "Blog"),
        title=title,
        page_url="https://agg.example/",
        position=position,
        fetched_at=when,
        page_time=when,
        url=url,
        **fields,
    )
    item.entry_id = make_entry_id(url, item.source, title)
    if item.age_text and item.published_earliest is None:
        item.published_earliest, item.published_latest = parse_age(item.age_text, when)
        item.published_source = item.published_source or "age"
    return item


def publish(
    data_dir: Path,
    snapshot_id: str,
    items: list[ListingEntry],
    status: str = "complete",
    start_urls: list[str] | None = None,
    started_at: datetime | None = None,
) -> Path:
    staged = StagedSnapshot(data_dir, snapshot_id)
    if started_at is not None:
        staged.started_at = started_at
    for item in items:
        assert staged.add(item) == []
    assert staged.flush() == []
    manifest = staged.base_manifest(staged.close_files())
    manifest |= {"status": status, "start_urls": start_urls or []}
    return staged.publish(manifest)


def day(n: int) -> datetime:
    return T0 + timedelta(days=n)


__all__ = ["T0", "day", "entry", "publish", "snapshot_status"]
