"""The page journal: synced records, a torn tail cut off, and a resume only of the same crawl."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import pytest
from scrapy.utils.test import get_crawler

from archiver.errors import ArchiverError
from archiver.spiders.listing import ListingSpider
from archiver.store.journal import JOURNAL_FILE, JournalScheduler, PageJournal, replayable
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


def test_starting_a_new_crawl_empties_an_old_journal(tmp_path) -> None:
    """A JOBDIR reused by another crawl must not replay the old crawl's pages later."""
    old = PageJournal(tmp_path)
    old.start("old", ["https://a.example/"], "auto")
    old.record_page({"url": "https://a.example/", "entries": [{"title": "Old"}]})
    old.close()
    new = PageJournal(tmp_path)
    new.start("new", ["https://b.example/"], "auto")
    assert new.pages == []
    new.close()
    lines = (tmp_path / JOURNAL_FILE).read_text().splitlines()
    assert [json.loads(line)["snapshot_id"] for line in lines] == ["new"]
    again = PageJournal(tmp_path)
    assert again.snapshot_id == "new" and again.pages == []
    again.close()


def test_replayed_pages_keep_their_recorded_times(tmp_path) -> None:
    """Resuming re-creates a journaled page's rows exactly, its times and their source included."""
    first = spider_with_jobdir(tmp_path)
    start = first.start_urls[0]
    record = {
        "listing": start, "url": start, "page_no": 1, "offset": 0, "profile": "demo",
        "fetched_at": "2025-10-15T12:00:01.123456Z", "page_time": "2025-10-15T12:00:00Z",
        "page_time_source": "page", "announced": 15, "next_url": None,
        "entries": [{"title": "T", "source": "S"}],
    }  # fmt: skip
    first.journal.record_page(record)
    first.journal.close()
    resumed = spider_with_jobdir(tmp_path)
    [row] = asyncio.run(collect(resumed.start()))
    assert row.fetched_at == datetime(2025, 10, 15, 12, 0, 1, 123456, tzinfo=UTC)
    assert row.page_time == datetime(2025, 10, 15, 12, 0, tzinfo=UTC)
    assert (row.title, row.position, row.snapshot_id) == ("T", 1, first.snapshot_id)
    assert resumed.listings[start].page_time_sources == {"page": 1}  # where it came from, too
    resumed.journal.close()


async def collect(iterator):
    return [item async for item in iterator]


def test_a_journal_of_another_format_is_refused_not_misread(tmp_path) -> None:
    """A JOBDIR left by another version is never replayed by guesswork."""
    written = json.dumps({"type": "start", "format": 2, "snapshot_id": "s1"}) + '\n{"type": "pa'
    (tmp_path / JOURNAL_FILE).write_text(written)
    with pytest.raises(ArchiverError, match=rf"JOBDIR {tmp_path}: the journal is in format 2"):
        PageJournal(tmp_path)
    # It is left exactly as it was, even its torn tail, and the JOBDIR is not held.
    assert (tmp_path / JOURNAL_FILE).read_text() == written
    journal = tmp_path / JOURNAL_FILE
    journal.write_text(json.dumps({"type": "start", "snapshot_id": "s1"}) + "\n")
    with pytest.raises(ArchiverError, match="format None"):
        PageJournal(tmp_path)


def test_a_written_journal_names_its_format(tmp_path) -> None:
    journal = PageJournal(tmp_path)
    journal.start("s1", ["https://a.example/"], "demo")
    journal.close()
    [header] = [json.loads(line) for line in (tmp_path / JOURNAL_FILE).read_text().splitlines()]
    assert header == {
        "type": "start", "format": 1, "snapshot_id": "s1",
        "start_urls": ["https://a.example/"], "profile": "demo",
    }  # fmt: skip


def test_a_garbled_line_ends_the_journal_there(tmp_path, caplog) -> None:
    """A whole line that is not JSON (a disk error) is cut off with everything after it."""
    journal = PageJournal(tmp_path)
    journal.start("s1", [], "auto")
    journal.record_page({"url": "https://a.example/1", "entries": []})
    journal.close()
    with (tmp_path / JOURNAL_FILE).open("ab") as handle:
        handle.write(b"\x00\x00garbled\n")
        handle.write(b'{"type": "page", "url": "https://a.example/2", "entries": []}\n')
    with caplog.at_level("WARNING", logger="archiver.store.journal"):
        again = PageJournal(tmp_path)
    assert [page["url"] for page in again.pages] == ["https://a.example/1"]
    assert f"journal {tmp_path / JOURNAL_FILE}: dropping a torn last record" in caplog.text
    again.close()
    assert len((tmp_path / JOURNAL_FILE).read_text().splitlines()) == 2


def test_recorded_pages_are_kept_in_memory_as_on_disk(tmp_path) -> None:
    journal = PageJournal(tmp_path)
    journal.start("s1", [], "auto")
    journal.record_page({"url": "https://a.example/1", "entries": []})
    assert journal.pages == [{"url": "https://a.example/1", "entries": []}]
    journal.close()


def test_a_nested_jobdir_is_created(tmp_path) -> None:
    PageJournal(tmp_path / "jobs" / "blogs" / "daily").close()
    assert (tmp_path / "jobs" / "blogs" / "daily" / JOURNAL_FILE).exists()


def test_a_jobdir_that_cannot_hold_a_journal_is_named(tmp_path) -> None:
    (tmp_path / "job").write_text("a file, not a directory")
    with pytest.raises(ArchiverError, match=rf"^JOBDIR {tmp_path / 'job'}: cannot open"):
        PageJournal(tmp_path / "job")


def test_finish_tolerates_a_journal_already_removed(tmp_path) -> None:
    journal = PageJournal(tmp_path)
    journal.start("s1", [], "auto")
    (tmp_path / JOURNAL_FILE).unlink()
    journal.finish()  # publishing must not fail over a journal someone tidied away
    assert not (tmp_path / JOURNAL_FILE).exists()


def test_the_in_memory_scheduler_keeps_scrapys_debug_settings() -> None:
    crawler = get_crawler(ListingSpider, {"DUPEFILTER_DEBUG": True, "SCHEDULER_DEBUG": True})
    scheduler = JournalScheduler.from_crawler(crawler)
    assert scheduler.df.debug is True and scheduler.logunser is True
    assert scheduler.df.fingerprinter is crawler.request_fingerprinter
    assert scheduler.dqdir is None  # nothing of Scrapy's on disk, whatever JOBDIR says
    quiet = JournalScheduler.from_crawler(get_crawler(ListingSpider))
    assert quiet.df.debug is False and quiet.logunser is False


def page(listing: str, page_no: int, record: str | None, warc: str = "_warc/a.warc.gz") -> dict:
    return {"listing": listing, "page_no": page_no, "url": f"{listing}{page_no}",
            "warc_record_id": record, "warc_filename": warc if record else None}  # fmt: skip


A, B = "https://a.example/", "https://b.example/"


@pytest.mark.parametrize(
    ("pages", "evidence", "replayed", "refetch"),
    [
        # no WARC kept by the crawl: every page replays
        ([page(A, 1, "r1"), page(A, 2, "r2")], None, [0, 1], 0),
        # every record present
        ([page(A, 1, "r1"), page(A, 2, "r2")], {"_warc/a.warc.gz": {"r1", "r2"}}, [0, 1], 0),
        # page 2's record gone: page 2 and what follows it are fetched again
        (
            [page(A, 1, "r1"), page(A, 2, "r2"), page(A, 3, "r3")],
            {"_warc/a.warc.gz": {"r1", "r3"}},
            [0],
            2,
        ),
        # the whole WARC folder gone
        ([page(A, 1, "r1"), page(B, 1, "s1")], {}, [], 2),
        # the record is in another file than the one the page names
        ([page(A, 1, "r1")], {"_warc/b.warc.gz": {"r1"}}, [], 1),
        # one listing's loss costs the other nothing
        (
            [page(A, 1, "r1"), page(B, 1, "s1"), page(B, 2, "s2")],
            {"_warc/a.warc.gz": {"s1", "s2"}},
            [1, 2],
            1,
        ),
        # fetched anew after an earlier resume: the new records replace the chain
        (
            [page(A, 1, "r1"), page(A, 2, "r2"), page(A, 1, "n1"), page(A, 2, "n2")],
            {"_warc/a.warc.gz": {"n1", "n2"}},
            [2, 3],
            0,
        ),
        # a page the crawl kept no record for (WARC off then) needs none
        ([page(A, 1, None), page(A, 2, "r2")], {"_warc/a.warc.gz": {"r2"}}, [0, 1], 0),
    ],
    ids=[
        "no-warc",
        "all-present",
        "middle-gone",
        "folder-gone",
        "other-file",
        "listings-apart",
        "refetched-before",
        "no-record",
    ],
)
def test_replayable_pages_are_those_whose_evidence_is_kept(pages, evidence, replayed, refetch):
    kept, again = replayable(pages, evidence)
    assert kept == [pages[i] for i in replayed] and again == refetch
