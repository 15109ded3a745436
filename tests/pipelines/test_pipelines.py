"""The pipelines in the order settings.py runs them: values normalised, every change counted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from scrapy.exceptions import DropItem
from scrapy.utils.test import get_crawler

from archiver.items import ListingEntry
from archiver.pipelines import NormalisePipeline
from archiver.settings import ARCHIVER_NORMALISERS


@pytest.fixture
def crawler():
    crawler = get_crawler(settings_dict={"ARCHIVER_NORMALISERS": ARCHIVER_NORMALISERS})
    crawler.stats.open_spider()
    return crawler


def run_pipelines(crawler, item: ListingEntry) -> ListingEntry:
    """The normalisers as a crawl runs them: in order, inside the one Scrapy pipeline."""
    return NormalisePipeline.from_crawler(crawler).process_item(item)


def entry(capture_time: datetime, **fields: object) -> ListingEntry:
    base = {
        "snapshot_id": "s1",
        "source": " Lil'Log\n",
        "title": " Why  We\tThink ",
        "page_url": "https://agg.example/",
        "position": 1,
        "fetched_at": capture_time,
        "page_time": capture_time,
        "url": "https://lilianweng.github.io/posts/2025-05-01-thinking/",
        "age_text": "5 months ago",
        "views_text": "1,234 views",
    }
    return ListingEntry(**(base | fields))


def test_a_good_entry_is_normalised(crawler, capture_time) -> None:
    item = run_pipelines(crawler, entry(capture_time))
    assert (item.source, item.title, item.views) == ("Lil'Log", "Why We Think", 1234)
    assert item.published_earliest < item.published_latest <= capture_time - timedelta(days=150)
    assert len(item.entry_id) == 16
    stats = crawler.stats.get_stats()
    assert stats["archiver/text/title/cleaned"] == 1
    assert stats["archiver/text/source/cleaned"] == 1


def test_a_summary_of_only_blanks_is_emptied_and_counted(crawler, capture_time) -> None:
    item = run_pipelines(crawler, entry(capture_time, summary=" \u00a0\n\t "))
    assert item.summary is None  # missing, as a summary the page does not have
    stats = crawler.stats.get_stats()
    assert stats["archiver/text/summary/emptied"] == 1
    assert "archiver/text/summary/cleaned" not in stats


def test_untitled_entry_is_dropped_and_counted(crawler, capture_time) -> None:
    with pytest.raises(DropItem, match="no title"):
        run_pipelines(crawler, entry(capture_time, title=" \n\x00 "))
    assert crawler.stats.get_value("archiver/validate/title/missing") == 1


def test_unparseable_fields_stay_null_and_are_counted(crawler, capture_time, caplog) -> None:
    caplog.set_level("INFO", logger="archiver.pipelines")
    item = run_pipelines(
        crawler, entry(capture_time, age_text="in 3 days", views_text="lots of views", url=None)
    )
    assert item.published_earliest is None and item.published_latest is None
    assert item.views is None
    assert item.views_text == "lots of views"  # what was printed is kept
    # `archiver profile check` shows these reasons beside each field.
    assert item.rejected == {"age_text": "future", "views_text": "unparsed"}
    stats = crawler.stats.get_stats()
    assert stats["archiver/age/age_text/future"] == 1
    assert stats["archiver/views/views_text/unparsed"] == 1
    assert stats["archiver/identity/entry_id/from_title"] == 1
    assert (
        "entry 1 on https://agg.example/: views_text 'lots of views' not read (unparsed)"
        in caplog.messages
    )


def test_missing_optional_fields_are_counted(crawler, capture_time) -> None:
    item = run_pipelines(crawler, entry(capture_time, age_text=None, views_text=None))
    assert item.views is None and item.published_earliest is None
    assert crawler.stats.get_value("archiver/age/age_text/missing") == 1
    assert crawler.stats.get_value("archiver/views/views_text/missing") == 1


def test_profile_date_order_reaches_the_age_pipeline(crawler) -> None:
    page_time = datetime(2025, 12, 1, tzinfo=UTC)
    item = run_pipelines(crawler, entry(page_time, age_text="01/05/2025", date_order="dmy"))
    assert item.published_earliest.month == 4 and item.published_latest.month == 5


def test_the_normalisers_run_in_their_setting_order_and_can_be_turned_off(capture_time) -> None:
    settings = dict(ARCHIVER_NORMALISERS) | {"archiver.pipelines.views.ViewsPipeline": None}
    crawler = get_crawler(settings_dict={"ARCHIVER_NORMALISERS": settings})
    crawler.stats.open_spider()
    pipeline = NormalisePipeline.from_crawler(crawler)
    names = [stage.__self__.__class__.__name__ for stage in pipeline.stages]
    assert names == [
        "CleanTextPipeline", "RequireTitlePipeline", "EntryIdPipeline", "AgePipeline",
        "PublishedPipeline", "ExtraCountsPipeline",
    ]  # fmt: skip
    item = pipeline.process_item(entry(capture_time))
    assert item.views is None and item.entry_id  # views not read: that stage is off
