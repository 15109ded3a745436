"""The ``listing`` spider: start, read each page with its profile, follow the next link.

It only crawls. What to read is the profile's business (``archiver.extract.profiles``), what the
text means is the pipelines' (``archiver.pipelines``), where rows go is the snapshot
writer's (``archiver.store``).
"""

from __future__ import annotations

import functools
import hashlib
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import scrapy
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.http import Response
from scrapy.utils.job import job_dir
from twisted.python.failure import Failure

from archiver.channels import (
    META_FETCHED_AT,
    META_LEASE,
    META_LISTING,
    META_PAGE,
    META_PROFILE,
    META_WARC_FILENAME,
    META_WARC_RECORD_ID,
)
from archiver.errors import describe
from archiver.evidence.reader import response_ids
from archiver.extract.dates import iso_utc, page_time
from archiver.extract.decoding import PageDecoding, read_page
from archiver.extract.profiles import (
    CONTRACT_FIELDS,
    Profile,
    ProfileError,
    detect_profile,
    load_profile_file,
)
from archiver.items import ListingEntry
from archiver.scope.arguments import check_arguments
from archiver.scope.reach import HostPattern, parse_allowed_hosts, reach_failure, same_site
from archiver.scope.resolver import GuardedResolver, NotFetched
from archiver.spiders.dating import EntryDating
from archiver.store.journal import PageJournal, replayable
from archiver.store.layout import new_snapshot_id, snapshot_dir

if TYPE_CHECKING:
    from archiver.distribute.frontier import Frontier

DECODE_PROBLEMS_LISTED = 100  # per listing in the manifest; a whole site in the wrong charset
# would otherwise list every page


@dataclass
class ListingState:
    """What one start URL's pagination chain has seen, for the manifest."""

    start_url: str
    profile: str | None = None
    announced: int | None = None
    extracted: int = 0
    pages_fetched: int = 0
    failed: list[dict[str, str]] = field(default_factory=list)
    stopped: str | None = None  # why pagination ended early, if it did
    # Where each page's time came from: "page" ([page] time), "date_header", "fetched_at".
    page_time_sources: Counter[str] = field(default_factory=Counter)
    # The encodings pages were read with, and the pages not read as they declared (the first
    # DECODE_PROBLEMS_LISTED; the stats count them all).
    encodings: Counter[str] = field(default_factory=Counter)
    decode_problems: list[dict[str, Any]] = field(default_factory=list)
    last_page: dict[str, Any] | None = None  # the latest page record (profile check shows it)
    # Loop detection: pages and page contents seen so far, kept as hashes so that memory
    # stays small on crawls of 100,000 pages.
    seen_pages: set[int] = field(default_factory=set)
    seen_content: set[int] = field(default_factory=set)


def content_signature(entries: list[dict[str, Any]]) -> str:
    """What tells a page's entries apart from another page's, as a shared crawl keeps it."""
    pairs = tuple((e.get("title"), e.get("url")) for e in entries)
    return hashlib.blake2b(repr(pairs).encode(), digest_size=12).hexdigest()


class ListingSpider(scrapy.Spider):
    name = "listing"
    # Parse ``-a`` arguments before any crawl (``archiver.scope.arguments``).
    check_arguments = staticmethod(check_arguments)

    def __init__(
        self,
        start_urls: str | list[str] | None = None,
        profile: str = "auto",
        max_pages: str | int | None = None,
        snapshot_id: str | None = None,
        listing: str | None = None,
        **kwargs: Any,
    ) -> None:
        arguments = self.check_arguments(
            start_urls, profile, max_pages, snapshot_id, listing, **kwargs
        )
        super().__init__(**kwargs)
        # The listing's name in the listings file: the manifest and every row keep it.
        self.listing_name = listing
        self.start_urls = arguments["start_urls"]
        self.candidates = arguments["candidates"]
        self.profiles = {profile.name: profile for profile in self.candidates}
        # Profiles suggested from pages no built-in profile matches (profile=auto/suggest).
        self.suggestions: dict[str, Any] = {}
        self.max_pages = arguments["max_pages"]
        self.snapshot_id = snapshot_id or new_snapshot_id()
        self.profile_spec = profile
        self.listings = {url: ListingState(url) for url in self.start_urls}
        self.journal: PageJournal | None = None
        # The crawl's shared state when many workers crawl together (archiver.distribute).
        self.shared: Frontier | None = None
        self.resumed = False  # True when a killed run of this snapshot is being resumed
        # What repeats this crawl (the manifest keeps it; archiver reparse reuses it).
        self.arguments = {
            "start_urls": self.start_urls,
            "profile": profile,
            "max_pages": self.max_pages,
        }
        if listing is not None:
            self.arguments["listing"] = listing

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> ListingSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider.item_failed, signal=signals.item_error)
        spider.dating = EntryDating(spider)
        if crawler.settings.get("ARCHIVER_REDIS_URL"):
            from archiver.distribute.joining import join_crawl, shared_frontier

            spider.shared = shared_frontier(crawler)
            spider.snapshot_id = join_crawl(crawler, spider)
            return spider
        jobdir = job_dir(crawler.settings)
        spider.journal = PageJournal(jobdir) if jobdir else None
        if spider.journal is not None:
            spider._open_journal(crawler.settings.get("ARCHIVER_DATA_DIR", "data"))
            if spider.resumed:
                spider._load_suggested()
        return spider

    def _open_journal(self, data_dir: str) -> None:
        journal = self.journal
        assert journal is not None
        recorded = journal.snapshot_id
        header = journal.header or {}
        same_crawl = (header.get("start_urls"), header.get("profile")) == (
            self.start_urls,
            self.profile_spec,
        )
        if recorded and not same_crawl:
            self.logger.warning(
                "journal %s is for another crawl (%s, profile %s); starting afresh",
                journal.path,
                ",".join(header.get("start_urls", [])),
                header.get("profile"),
            )
        elif recorded and not snapshot_dir(data_dir, recorded).exists():
            self.snapshot_id = recorded
            self.resumed = True
            self.logger.info(
                "resuming snapshot %s from %s (%d pages already read)",
                recorded,
                journal.path,
                len(journal.pages),
            )
            return
        elif recorded:
            self.logger.info(
                "journal %s: snapshot %s was published; starting afresh", journal.path, recorded
            )
        journal.start(self.snapshot_id, self.start_urls, self.profile_spec)

    async def start(self) -> AsyncIterator[ListingEntry | scrapy.Request]:
        if self.shared is not None:  # one worker seeds the shared frontier; all take from it
            from archiver.distribute.joining import seed_frontier

            seed_frontier(self.crawler, self)
            return
        frontier: dict[str, scrapy.Request | None] = {
            url: self._page_request(url, listing=url, page_no=1, offset=0)
            for url in self.start_urls
        }
        for record in self._replayable():
            try:
                entries, frontier[record["listing"]] = self._take(record)
            except Exception as exc:  # a replayed page is a page: never lost without a word
                self.page_error(record["url"], record["listing"], exc)
                frontier[record["listing"]] = None
                continue
            for entry in entries:
                yield entry
        for request in frontier.values():
            if request is not None:
                yield request

    def _replayable(self) -> list[dict[str, Any]]:
        """The journal's pages to replay: those whose response records are still in the
        staging folder's WARC files (a full disk or a hand may have removed them); the rest
        are fetched again rather than published as rows that name no evidence."""
        if self.journal is None or not self.resumed:
            return self.journal.pages if self.journal else []
        from archiver.extensions import SnapshotWriter

        writer = SnapshotWriter.of(self.crawler)
        staged = writer.snapshot if writer is not None else None
        evidence = response_ids(staged.path) if staged is not None else None
        pages, refetch = replayable(self.journal.pages, evidence)
        if refetch:
            self.crawler.stats.inc_value("archiver/resume/page/evidence_missing", refetch)
            self.logger.warning(
                "resuming snapshot %s: %d journaled page(s) have no response record left in "
                "%s; fetching them again",
                self.snapshot_id,
                refetch,
                staged.path if staged is not None else "the staging folder",
            )
        return pages

    def start_requests_shared(self) -> list[scrapy.Request]:
        """The first page of every listing, to seed a shared crawl (``archiver.distribute``)."""
        return [
            self._page_request(url, listing=url, page_no=1, offset=0) for url in self.start_urls
        ]

    def _page_request(
        self, url: str, *, listing: str, page_no: int, offset: int, profile: str | None = None
    ) -> scrapy.Request:
        meta = {META_LISTING: listing} | ({META_PROFILE: profile} if profile else {})
        return scrapy.Request(
            url,
            callback=self.parse,
            errback=self.page_failed,
            cb_kwargs={"listing": listing, "page_no": page_no, "offset": offset},
            meta=meta,
            # Pagination loops are caught by the spider (seen pages, repeated content); the
            # dupefilter would instead drop a page silently, e.g. at the end of a redirect loop.
            dont_filter=True,
        )

    def _profile_for(self, state: ListingState, response: Response) -> Profile:
        # The listing's profile, chosen on its first page (the request for each next page
        # carries it: in a shared crawl, another worker may have read the first page).
        known = state.profile or response.meta.get(META_PROFILE)
        if known in self.profiles:
            return self.profiles[known]
        if self.profile_spec == "suggest":
            return self._suggested(response, "")
        try:
            profile = detect_profile(self.candidates, response.selector, response.url)
        except ProfileError as exc:
            if self.profile_spec != "auto":
                raise
            return self._suggested(response, f" ({exc})")
        if self.profile_spec == "auto":
            self.logger.info("profile auto: %s matches %s", profile.name, response.url)
        return profile

    def _suggested(self, response: Response, why: str) -> Profile:
        """A profile suggested from this page (``archiver.extract.suggest``): zero
        configuration. It is kept with the snapshot like any profile, so the crawl can be
        repeated and re-read."""
        from archiver.extract.suggest import SuggestError, suggest

        host = urlsplit(response.url).hostname or "local"
        name = f"suggested-{host}"
        if name in self.profiles:  # another listing of this host, in another format
            name = f"{name}-{len(self.profiles)}"
        try:
            suggestion = suggest(response.text, response.url, name=name)
        except SuggestError as exc:  # the URL is said once, by whoever reports the failure
            raise ProfileError(str(exc).removeprefix(f"{response.url}: ") + why) from exc
        self.profiles[name] = suggestion.profile
        self.suggestions[name] = suggestion
        self._keep_suggested(suggestion.profile)
        self.crawler.stats.inc_value("archiver/profile/suggested")
        self.logger.info(
            "profile %s: reading %s with a profile suggested from the page: %s "
            "(%d entries, entries = %r)%s",
            self.profile_spec,
            response.url,
            name,
            suggestion.entries,
            suggestion.profile.entries,
            why,
        )
        if suggestion.unsure:
            self.crawler.stats.inc_value("archiver/profile/suggested_unsure")
            self.logger.warning(
                "the suggested profile %s may be wrong: %s. See it with: archiver profile "
                "suggest %s",
                name,
                "; ".join(suggestion.unsure),
                response.url,
            )
        return suggestion.profile

    def _keep_suggested(self, profile: Profile) -> None:
        """With a JOBDIR, the suggested profile is kept beside the journal: a resumed crawl
        reads its journalled pages with the very same profile."""
        if self.journal is None:
            return
        folder = self.journal.path.parent / "profiles"
        folder.mkdir(exist_ok=True)
        (folder / f"{profile.name}.toml").write_text(profile.text, encoding="utf-8")

    def _load_suggested(self) -> None:
        if self.journal is None:
            return
        for path in sorted((self.journal.path.parent / "profiles").glob("suggested-*.toml")):
            try:
                profile = load_profile_file(path)
            except ProfileError as exc:
                self.logger.warning("%s", exc)
                continue
            self.profiles.setdefault(profile.name, profile)

    async def parse(
        self,
        response: Response,
        listing: str | None = None,
        page_no: int = 1,
        offset: int = 0,
    ) -> AsyncIterator[ListingEntry | scrapy.Request]:
        """Read one page into a record, date its entries, journal it, then hand its entries
        on and follow.

        Called without a listing (``scrapy parse --spider=listing URL``), the page is the
        first of a listing of its own."""
        # The capture time the downloader stamped (and the WARC record carries).
        fetched_at = response.meta.get(META_FETCHED_AT) or datetime.now(UTC)
        if listing is None:
            listing = response.meta.get(META_LISTING) or response.url
        state = self.listings.setdefault(listing, ListingState(listing))
        if not hasattr(response, "selector"):
            self._fail(state, response.url, f"not an HTML page ({type(response).__name__})")
            return
        if b"\x00" in response.body[:4096]:
            self._fail(state, response.url, "binary content served as a web page")
            return
        decoding = read_page(response.body, response.headers.get(b"Content-Type"))
        if decoding.encoding != response.encoding:  # the declaration was wrong: read it right
            response = response.replace(encoding=decoding.encoding)
        if decoding.reason is not None:
            self._say_decoding(response.url, decoding)
        try:
            profile = self._profile_for(state, response)
        except ProfileError as exc:
            self._fail(state, response.url, str(exc))
            return
        page = profile.extract(response.selector, response.url)
        for name, count in page.unmatched.items():
            self.crawler.stats.inc_value(f"archiver/extract/{name}/pattern_unmatched", count)
        when = page_time(response.headers.get(b"Date"), fetched_at, page.time)
        if page.time and when.source != "page":
            self.crawler.stats.inc_value("archiver/page_time/stated/unusable")
            self.logger.warning(
                "%s: the time the page states (%r) is not a time with a zone, or lies in the "
                "future; using its %s",
                response.url,
                page.time,
                when.source.replace("_", " "),
            )
        record = {
            "listing": listing,
            "url": response.url,
            "page_no": page_no,
            "offset": offset,
            "profile": profile.name,
            "fetched_at": iso_utc(fetched_at),
            "page_time": iso_utc(when.time),
            "page_time_source": when.source,
            "warc_record_id": response.meta.get(META_WARC_RECORD_ID),
            "warc_filename": response.meta.get(META_WARC_FILENAME),
            "announced": page.total,
            "next_url": page.next_url,
            "encoding": decoding.encoding,
            # How the page was read, when not simply as it declared (archiver.extract.decoding).
            **({"decoding": decoding.record()} if decoding.reason else {}),
            "entries": page.entries,
        }
        # The times stated in markup, the feed and the posts' pages (archiver.spiders.dating).
        await self.dating.gather(response, record, when.time, profile)
        if self.journal is not None:
            self.journal.record_page(record)
        stopped = state.stopped
        entries, request = self._take(record)
        # What a shared crawl counts once this page's rows are committed (archiver.distribute).
        response.meta[META_PAGE] = {
            "entries": len(record["entries"]),
            "announced": page.total if page_no == 1 else None,
            "profile": profile.name,
            "time_source": when.source,
            "stopped": state.stopped if state.stopped != stopped else None,
            # What a shared crawl rebuilds its frontier from if Redis forgets it.
            "page_no": page_no,
            "offset": offset,
            "next_url": page.next_url,
            "signature": content_signature(record["entries"]) if record["entries"] else None,
        }
        # The next page first: once a shared crawl commits this page, its successor is
        # already in the frontier.
        if request is not None:
            yield request
        for entry in entries:
            yield entry

    def _take(self, record: dict[str, Any]) -> tuple[list[ListingEntry], scrapy.Request | None]:
        """A page record's rows and the request for the next page, updating the listing's
        state. Live pages and pages replayed from the journal go through here alike, so the
        same record always gives the same rows."""
        state = self.listings[record["listing"]]
        profile = self.profiles[record["profile"]]
        state.profile = profile.name
        state.pages_fetched += 1
        state.last_page = {k: v for k, v in record.items() if k != "entries"}
        # Every record has it: journals are refused unless in JOURNAL_FORMAT 1, which came
        # after page times had sources.
        source = record["page_time_source"]
        state.page_time_sources[source] += 1
        if record.get("encoding"):  # journals written before 0.2 do not say
            state.encodings[record["encoding"]] += 1
        if record.get("decoding"):
            self._count_decoding(state, record)
        self.crawler.stats.inc_value(f"archiver/page_time/source/{source}")
        state.seen_pages.add(hash(record["url"]))
        if record["page_no"] == 1:
            state.announced = record["announced"]
        if record["entries"] and not self._first_content(state, record):
            state.stopped = f"{record['url']} repeats an earlier page: not archived again"
            self.crawler.stats.inc_value("archiver/follow/next/repeated_page")
            self.logger.warning("%s", state.stopped)
            return [], None
        if not record["entries"]:
            # A listing page without entries is a broken page far more often than an empty
            # listing; saying so keeps the snapshot from claiming to be complete.
            self.crawler.stats.inc_value("archiver/extract/page/no_entries")
            self._fail(state, record["url"], f"no entries found (profile {profile.name})")
        state.extracted += len(record["entries"])
        fetched_at = datetime.fromisoformat(record["fetched_at"])
        page_time = datetime.fromisoformat(record["page_time"])
        entries = [
            ListingEntry(
                snapshot_id=self.snapshot_id,
                **{attribute: fields.get(name) for name, attribute in CONTRACT_FIELDS.items()},
                page_url=record["url"],
                listing_url=record["listing"],
                listing_name=self.listing_name,
                position=record["offset"] + index,
                fetched_at=fetched_at,
                page_time=page_time,
                extra={n: v for n in profile.extra_fields if (v := fields.get(n)) is not None},
                warc_record_id=record.get("warc_record_id"),
                warc_filename=record.get("warc_filename"),
                date_order=profile.date_order,
                count_fields=profile.counts,
                stated=fields.get("stated") or [],
            )
            for index, fields in enumerate(record["entries"], start=1)
        ]
        return entries, self._next_request(record)

    def _say_decoding(self, url: str, decoding: PageDecoding) -> None:
        """One line for a page not read as it declared (the counts are made in ``_take``)."""
        said = decoding.declared or decoding.declared_in_page
        if decoding.reason == "declared_wrong":
            self.logger.warning(
                "%s: the page is not %s, as it declares; read as %s, which its bytes are",
                url,
                said,
                decoding.encoding,
            )
        elif decoding.reason == "undecodable":
            self.logger.warning(
                "%s: %d bytes are not %s%s and no other encoding reads the page; they are "
                "archived as U+FFFD (the WARC keeps the bytes as received)",
                url,
                decoding.undecodable_bytes,
                decoding.encoding,
                " (as declared)" if said == decoding.encoding else "",
            )
        else:
            self.logger.info("%s: no charset declared; read as %s", url, decoding.encoding)

    def _count_decoding(self, state: ListingState, record: dict[str, Any]) -> None:
        """Stats and the manifest's ``decode_problems`` for a page not read as it declared:
        how many pages, why, the bytes lost, and the fields holding replaced text."""
        decoding = record["decoding"]
        stats = self.crawler.stats
        stats.inc_value(f"archiver/decode/page/{decoding['reason']}")
        if decoding["undecodable_bytes"]:
            stats.inc_value("archiver/decode/bytes/undecodable", decoding["undecodable_bytes"])
            for fields in record["entries"]:
                for name, value in fields.items():
                    if isinstance(value, str) and "\ufffd" in value:
                        stats.inc_value(f"archiver/decode/{name}/replaced")
        if len(state.decode_problems) < DECODE_PROBLEMS_LISTED:
            state.decode_problems.append({"url": record["url"], **decoding})

    def _first_content(self, state: ListingState, record: dict[str, Any]) -> bool:
        """False when an earlier page of the listing had the same entries (a pagination
        that serves its last page for every page number)."""
        if self.shared is not None:
            signature = content_signature(record["entries"])
            return self.shared.first_content(state.start_url, signature, record["url"])
        signature = hash(tuple((e.get("title"), e.get("url")) for e in record["entries"]))
        if signature in state.seen_content:
            return False
        state.seen_content.add(signature)
        return True

    def _next_request(self, record: dict[str, Any]) -> scrapy.Request | None:
        """The request for the page after ``record``, or None with the reason recorded."""
        state = self.listings[record["listing"]]
        next_url = record["next_url"]
        if not next_url:
            return None
        page_no = record["page_no"]
        limit = min(self.max_pages or 10**9, self.settings.getint("ARCHIVER_MAX_PAGES", 1000))
        if page_no >= limit:
            state.stopped = f"max_pages ({limit}) reached at {record['url']}"
            self.crawler.stats.inc_value("archiver/follow/next/max_pages")
            return None
        if not same_site(state.start_url, next_url, self.allowed_hosts):
            state.stopped = f"next link leaves the site: {next_url}"
            self.crawler.stats.inc_value("archiver/follow/next/offsite")
            self.logger.warning(
                "not following %s from %s: other host or scheme", next_url, record["url"]
            )
            return None
        if self.shared is not None:
            claim = self.shared.claim_next(state.start_url, next_url, record["url"])
            if claim == "again":  # this page was read before (its worker died): asked already
                self.crawler.stats.inc_value("archiver/follow/next/already_requested")
                return None
            looped = claim == "other" or next_url == state.start_url
        else:
            looped = hash(next_url) in state.seen_pages
        if looped:
            state.stopped = f"pagination loops back to {next_url}"
            self.crawler.stats.inc_value("archiver/follow/next/loop")
            return None
        offset = record["offset"] + len(record["entries"])
        return self._page_request(
            next_url,
            listing=state.start_url,
            page_no=page_no + 1,
            offset=offset,
            profile=record["profile"],
        )

    @functools.cached_property
    def allowed_hosts(self) -> tuple[HostPattern, ...]:
        """``ARCHIVER_ALLOWED_HOSTS``: origins beyond the start URLs' own that pagination may
        reach (the site guard checks redirects against the same)."""
        return parse_allowed_hosts(self.settings.getlist("ARCHIVER_ALLOWED_HOSTS"))

    def _fail(self, state: ListingState, url: str, reason: str, lease: str | None = None) -> None:
        if self.shared is not None and self.shared.stopped:
            # This worker stopped trusting Redis (archiver.distribute said why, once): its pages
            # in flight are not failed pages of the site; they are fetched again on resume.
            self.crawler.stats.inc_value("archiver/pages/abandoned/redis_lost")
            return
        state.failed.append({"url": url, "reason": reason})
        self.crawler.stats.inc_value("archiver/pages/failed")
        self.logger.error("%s: %s", url, reason)
        if self.shared is not None:  # the manifest of a shared crawl lists every worker's
            self.shared.fail(url, state.start_url, reason, lease)

    def record_failure(self, url: str, listing: str | None, reason: str) -> None:
        """List ``url`` as failed once, whatever part of the crawl found it broken.

        A page whose rows could not all be made is not whole in the snapshot: saying so
        makes the snapshot ``partial``, so no scheduler is told "all good" about it.
        """
        state = self.listings.get(listing or "") or next(iter(self.listings.values()))
        if any(failure["url"] == url for failure in state.failed):
            self.crawler.stats.inc_value("archiver/pages/more_errors")
            self.logger.error("%s: %s", url, reason)
            return
        self._fail(state, url, reason)

    def page_error(self, url: str, listing: str | None, exc: BaseException) -> None:
        """An unexpected error while a page was read or its rows were made."""
        if self.shared is not None and self.shared.is_outage(exc):
            # Redis, not the site, failed (before the worker noticed the outage): the page
            # was not committed, so it goes back to the frontier; never a failed page.
            self.crawler.stats.inc_value("archiver/pages/abandoned/redis_error")
            self.logger.warning("%s: not committed, Redis failed: %s", url, describe(exc))
            return
        self.crawler.stats.inc_value(f"archiver/pages/error/{type(exc).__name__}")
        self.record_failure(url, listing, f"error while reading the page: {describe(exc)}")

    def item_failed(self, item: Any, response: Response | None, failure: Failure, **_: Any) -> None:
        """``item_error``: a pipeline raised on one entry (DropItem is not an error)."""
        url = getattr(item, "page_url", None) or (response.url if response else "?")
        position = getattr(item, "position", "?")
        self.crawler.stats.inc_value(f"archiver/pages/error/{type(failure.value).__name__}")
        self.record_failure(
            url,
            getattr(item, "listing_url", None),
            f"entry {position} could not be archived: {describe(failure.value)}",
        )

    def page_failed(self, failure: Failure) -> None:
        request = failure.request  # type: ignore[attr-defined]
        state = self.listings[request.meta[META_LISTING]]
        value = failure.value
        lease = request.meta.get(META_LEASE)  # a shared crawl: this request is done
        # A host that could not be reached says what happened (refused, no such name, an
        # address the crawl may not connect to), not an exception's name.
        unreachable = (
            str(value)
            if isinstance(value, NotFetched)
            else reach_failure(value, request.url, GuardedResolver.refused)
        )
        if unreachable is not None:
            self._fail(state, request.url, unreachable, lease)
            return
        response = getattr(value, "response", None)
        if response is None:
            reason = failure.getErrorMessage()
        elif 300 <= response.status < 400 and response.headers.get(b"Location"):
            # Scrapy follows redirects only to http(s); say where this one pointed.
            location = response.headers[b"Location"].decode("latin-1")
            reason = f"HTTP {response.status}: redirect to {location} not followed"
        else:
            reason = f"HTTP {response.status}"
        self._fail(state, request.url, f"{type(value).__name__}: {reason}", lease)
