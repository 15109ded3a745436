"""The page journal: synced records, a torn tail cut off, and a resume only of the same crawl."""

from __future__ import annotations

import json

import pytest
from scrapy.utils.test import get_crawler

from archiver.errors import ArchiverError
from archiver.journal import JOURNAL_FILE, PageJournal
from archiver.spiders.listing import ListingSpider
from tests.conftest import DEMO


def test_records_survive_reopening(tmp_path) -> None:
    journal = PageJournal(tmp_path)
    journal.start("s1", ["https://a.example/"], "auto")
    journal.record_page({"url": "https://a.example/", "entries": [{"title": "T"}]})
    journal.close()
    again = PageJournal(tmp_path)
    assert again.snapshot_id == "s1"
    assert again.pages == [{"url": "https://a.example/", "entries": [{"title": "T"}]}]


def test_a_torn_last_record_is_cut_off(tmp_path) -> None:
    journal = PageJournal(tmp_path)
    journal.start("s1", ["https://a.example/"], "auto")
    journal.record_page({"url": "https://a.example/", "entries": []})
    journal.close()
    with (tmp_path / JOURNAL_FILE).open("ab") as handle:
        handle.write(b'{"type": "page", "url": "https://a.exa')  # the kill came mid-write
    again = PageJournal(tmp_path)
    assert len(again.pages) == 1
    again.record_page({"url": "https://a.example/2", "entries": []})
    again.close()
    lines = (tmp_path / JOURNAL_FILE).read_text().splitlines()
    assert [json.loads(line)["type"] for line in lines] == ["start", "page", "page"]


def test_finish_removes_the_journal(tmp_path) -> None:
    journal = PageJournal(tmp_path)
    journal.start("s1", [], "auto")
    journal.finish()
    assert not (tmp_path / JOURNAL_FILE).exists()


def test_one_journal_one_crawl(tmp_path) -> None:
    first = PageJournal(tmp_path)
    with pytest.raises(ArchiverError, match="in use by another running crawl"):
        PageJournal(tmp_path)
    first.close()
    PageJournal(tmp_path).close()


def spider_with_jobdir(tmp_path, **arguments) -> ListingSpider:
    crawler = get_crawler(
        ListingSpider,
        {"JOBDIR": str(tmp_path / "job"), "ARCHIVER_DATA_DIR": str(tmp_path / "data")},
    )
    return ListingSpider.from_crawler(crawler, **arguments)


def test_the_same_crawl_resumes_its_snapshot(tmp_path) -> None:
    first = spider_with_jobdir(tmp_path)
    first.journal.close()
    second = spider_with_jobdir(tmp_path)
    assert second.snapshot_id == first.snapshot_id
    second.journal.close()


def test_another_crawl_on_the_same_jobdir_starts_afresh(tmp_path) -> None:
    first = spider_with_jobdir(tmp_path)
    first.journal.close()
    other = spider_with_jobdir(tmp_path, start_urls=str(DEMO / "page2.html"))
    assert other.snapshot_id != first.snapshot_id
    assert other.journal.header["start_urls"] == [(DEMO / "page2.html").as_uri()]
    other.journal.close()
