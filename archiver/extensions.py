"""Scrapy extensions: what a crawl does besides crawling.

``SnapshotWriter`` streams every scraped item into a staging snapshot
(``archiver.store.staging.StagedSnapshot``), keeps the crawl's evidence (``capture``, called by
``archiver.middlewares.capture``), and seals and publishes the snapshot when the spider
closes.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Any

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import CloseSpider, NotConfigured
from scrapy.utils.defer import deferred_from_coro
from scrapy.utils.job import job_dir

from archiver.channels import (
    STAT_SNAPSHOT_ERROR,
    STAT_SNAPSHOT_PATH,
    STAT_SNAPSHOT_PENDING,
    STAT_SNAPSHOT_STATUS,
)
from archiver.evidence.records import WARC_FOLDER, Capture, Exchange
from archiver.evidence.records import files as warc_files
from archiver.store.durable import write_synced
from archiver.store.layout import PARTITION, PENDING_FILE, PROFILES_FOLDER, RESUME_FILE
from archiver.store.publishing import publish_sealed
from archiver.store.staging import StagedSnapshot, snapshot_status

logger = logging.getLogger("archiver.snapshots")


class SnapshotWriter:
    """Scrapy extension: streams every scraped item into a staging snapshot, keeps the
    crawl's evidence (``capture``, called by ``CaptureMiddleware``) and publishes both.

    Signal handlers take ``**_``: Scrapy passes a handler only the arguments it names, unless
    the handler is wrapped (a decorator, mutmut's trampolines) and names none.
    """

    def __init__(self, crawler: Crawler, data_dir: Path) -> None:
        self.crawler = crawler
        self.data_dir = data_dir
        self.snapshot: StagedSnapshot | None = None
        settings = crawler.settings
        self.replay_from = settings.get("ARCHIVER_REPLAY") or None
        self.warc = settings.getbool("ARCHIVER_WARC", True) and not self.replay_from
        # With a JOBDIR, a page's record must be durable before the journal names it.
        self.sync = bool(job_dir(settings))

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SnapshotWriter:
        if not crawler.settings.getbool("ARCHIVER_SNAPSHOTS", True):
            raise NotConfigured("ARCHIVER_SNAPSHOTS is off")
        writer = cls(crawler, Path(crawler.settings.get("ARCHIVER_DATA_DIR", "data")))
        crawler.signals.connect(writer.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(writer.item_scraped, signal=signals.item_scraped)
        crawler.signals.connect(writer.spider_closed, signal=signals.spider_closed)
        return writer

    @staticmethod
    def of(crawler: Crawler) -> SnapshotWriter | None:
        """The crawl's snapshot writer, if snapshots are on."""
        extensions = getattr(crawler, "extensions", None)
        for extension in getattr(extensions, "middlewares", ()):
            if isinstance(extension, SnapshotWriter):
                return extension
        return None

    def spider_opened(self, spider: Spider, **_: Any) -> None:
        try:
            self.snapshot = StagedSnapshot(
                self.data_dir,
                spider.snapshot_id,  # type: ignore[attr-defined]
                **self.staging_options(),
                resume=bool(getattr(spider, "resumed", False)),
                warc=self.warc,
                warc_info={
                    "robots": "obey" if self.crawler.settings.getbool("ROBOTSTXT_OBEY") else "",
                    "http-header-user-agent": self.crawler.settings.get("USER_AGENT", ""),
                },
                evidence_from=Path(self.replay_from) if self.replay_from else None,
                originals=self.originals(spider),
            )
        except OSError as exc:
            logger.error("cannot write snapshots under %s: %s", self.data_dir, exc)
            self.crawler.stats.set_value(STAT_SNAPSHOT_ERROR, str(exc))
            raise CloseSpider("snapshot_unwritable") from exc
        journal = getattr(spider, "journal", None)
        if journal is not None:  # archiver prune keeps a folder a crawl will resume
            write_synced(self.snapshot.path / RESUME_FILE, {"journal": str(journal.path)})
        logger.info("snapshot %s: writing to %s", self.snapshot.snapshot_id, self.snapshot.path)

    def originals(self, spider: Spider) -> dict[str, Any] | None:
        """What this crawl's responses may revisit: the payloads the listing's last
        snapshot keeps (``ARCHIVER_REVISITS``, on). A reparse writes no WARC records."""
        if not self.warc or self.replay_from:
            return None
        if not self.crawler.settings.getbool("ARCHIVER_REVISITS", True):
            return None
        from archiver.evidence.revisits import previous_originals

        try:
            return previous_originals(self.data_dir, list(getattr(spider, "start_urls", [])))
        except OSError as exc:  # an unreadable earlier snapshot: store every payload again
            logger.warning("revisits off for this crawl: %s", exc)
            return None

    def staging_options(self) -> dict[str, Any]:
        """More for ``StagedSnapshot``: a worker of a shared crawl writes a part."""
        return {}

    def capture(self, exchange: Exchange) -> Capture | None:
        """Keep one response as evidence; its record id and file, or None."""
        if self.snapshot is None:
            return None
        try:
            return self.snapshot.capture(exchange, sync=self.sync)
        except OSError as exc:  # disk full: as for rows, stop and publish nothing
            self._abandon(f"cannot write snapshot {self.snapshot.snapshot_id}: {exc}")
            deferred_from_coro(
                self.crawler.engine.close_spider_async(reason="snapshot_write_failed")  # type: ignore[union-attr]
            )
            return None

    def item_scraped(self, item: Any, spider: Spider, **_: Any) -> None:
        if self.snapshot is None:
            return
        try:
            self._report(spider, self.snapshot.add(item))
        except OSError as exc:  # disk full, quota, file size limit: stop, publish nothing
            self._abandon(f"cannot write snapshot {self.snapshot.snapshot_id}: {exc}")
            deferred_from_coro(
                self.crawler.engine.close_spider_async(reason="snapshot_write_failed")  # type: ignore[union-attr]
            )

    def _report(self, spider: Spider, rejected: list[tuple[Any, Exception]]) -> None:
        """Rows that could not be written: their pages are not whole, so they are failed."""
        for item, exc in rejected:
            self.crawler.stats.inc_value("archiver/snapshot/row/unwritable")
            spider.record_failure(  # type: ignore[attr-defined]
                item.page_url,
                item.listing_url,
                f"entry {item.position} could not be written: {type(exc).__name__}: {exc}",
            )

    def _abandon(self, message: str) -> None:
        """Log one line, count it, and remove the unpublished files (they may fill a disk),
        unless a journal will resume them: then they are kept, and the line says how to
        finish the snapshot."""
        journal = getattr(getattr(self.crawler, "spider", None), "journal", None)
        if self.snapshot is not None and journal is not None:
            if self.snapshot.abandon_for_resume(journal.path):
                message += (
                    f"; its files are kept in {self.snapshot.path}: free the space and run "
                    "the same crawl with the same JOBDIR to finish it"
                )
            self.snapshot = None
        logger.error("%s", message)
        self.crawler.stats.set_value(STAT_SNAPSHOT_ERROR, message)
        self.crawler.stats.set_value(STAT_SNAPSHOT_STATUS, "failed")
        if self.snapshot is not None:
            self.snapshot.discard()
        self.snapshot = None

    def spider_closed(self, spider: Spider, reason: str, **_: Any) -> None:
        if self.snapshot is None:
            return
        try:
            self._report(spider, self.snapshot.flush())
            self._store_profiles(spider)
            self.snapshot.seal()
        except OSError as exc:
            self._abandon(f"cannot write snapshot {self.snapshot.snapshot_id}: {exc}")
            return
        manifest = self.build_manifest(spider, reason)
        for listing in manifest["listings"]:
            if listing["announced"] is not None and listing["announced"] != listing["extracted"]:
                logger.warning(
                    "%s announces %d entries but %d were extracted",
                    listing["start_url"],
                    listing["announced"],
                    listing["extracted"],
                )
        journal = getattr(spider, "journal", None)
        self.crawler.stats.set_value(STAT_SNAPSHOT_STATUS, manifest["status"])
        if self.hand_on({"manifest": manifest, "journal": str(journal.path) if journal else None}):
            return
        try:
            target = publish_sealed(self.snapshot.path, manifest)
        except OSError as exc:
            self._abandon(f"cannot publish snapshot {self.snapshot.snapshot_id}: {exc}")
            return
        finally:
            if self.snapshot is not None:
                self.snapshot.release()
        if journal is not None:
            journal.finish()
        self.crawler.stats.set_value(STAT_SNAPSHOT_PATH, str(target))

    def hand_on(self, pending: dict[str, Any]) -> bool:
        """Publish here, or hand on: with ``ARCHIVER_PUBLISH_BY_EXEC`` (``scrapy crawl`` sets
        it) the crawl finishes in a fresh process (``archiver.cli.publish``), since building
        the Parquet file needs pyarrow, which the crawl process never loaded. Then the sealed
        folder gets ``pending`` and the stats say where it is; False: publish here."""
        if not self.crawler.settings.getbool("ARCHIVER_PUBLISH_BY_EXEC"):
            return False
        assert self.snapshot is not None
        write_synced(self.snapshot.path / PENDING_FILE, pending)
        self.crawler.stats.set_value(STAT_SNAPSHOT_PENDING, str(self.snapshot.path))
        return True

    def _store_profiles(self, spider: Spider, used: set[str | None] | None = None) -> None:
        """The profiles the crawl read pages with (``used``: by name, else the spider's
        listings'), as TOML, so that it can be re-read exactly (``archiver reparse``) even
        after the profile file changed."""
        assert self.snapshot is not None
        folder = self.snapshot.path / PROFILES_FOLDER
        if used is None:
            used = {state.profile for state in getattr(spider, "listings", {}).values()}
        for name in sorted(n for n in used if n):
            profile = spider.profiles.get(name)  # type: ignore[attr-defined]
            if profile is not None and profile.text:
                folder.mkdir(exist_ok=True)
                path = folder / f"{_safe_name(name)}.toml"
                with path.open("w", encoding="utf-8") as handle:
                    handle.write(profile.text)
                    handle.flush()
                    os.fsync(handle.fileno())

    def _revisits(self) -> dict[str, Any]:
        assert self.snapshot is not None
        warc = self.snapshot.warc
        if warc is not None:
            return {"records": warc.revisits, "of": sorted(warc.revisited)}
        if self.replay_from:  # a reparse: its WARC files, and so their revisits, are its source's
            from archiver.store.layout import read_manifest

            return read_manifest(Path(self.replay_from)).get("revisits") or {"records": 0, "of": []}
        return {"records": 0, "of": []}

    def build_manifest(self, spider: Spider, reason: str) -> dict[str, Any]:
        """Everything the manifest says but the files' checksums and the schema."""
        assert self.snapshot is not None
        listings = list(getattr(spider, "listings", {}).values())
        failed = [f for state in listings for f in state.failed]
        pages = sum(state.pages_fetched for state in listings)
        stats = self.crawler.stats.get_stats()
        base = self.snapshot.base_manifest()
        head = {key: base.pop(key) for key in ("format", "snapshot_id")}
        derived = (
            {"derived_from": Path(self.replay_from).name.removeprefix(PARTITION)}
            if self.replay_from
            else {}
        )
        profiles_folder = self.snapshot.path / PROFILES_FOLDER
        return head | {
            "status": snapshot_status(reason, len(failed), self.snapshot.rows, pages),
            "close_reason": reason,
            **derived,
            **base,
            "spider": spider.name,
            "listing": getattr(spider, "listing_name", None),
            "start_urls": list(getattr(spider, "start_urls", [])),
            "profile": getattr(spider, "profile_spec", None),
            "arguments": getattr(spider, "arguments", {}),
            "profiles": {
                p.stem: p.relative_to(self.snapshot.path).as_posix()
                for p in sorted(profiles_folder.glob("*.toml"))
            },
            "pages_fetched": pages,
            "pages_failed": failed,
            # How entries were dated: feeds read, posts followed, posts stating no date.
            **({"dating": dating.summary()} if (dating := getattr(spider, "dating", None)) else {}),
            "listings": [
                {
                    "start_url": state.start_url,
                    "profile": state.profile,
                    "announced": state.announced,
                    "extracted": state.extracted,
                    "pages_fetched": state.pages_fetched,
                    "stopped": state.stopped,
                    "page_time_sources": dict(state.page_time_sources),
                    # How the pages' bytes were read (archiver.extract.decoding): each encoding
                    # used, and the pages not read as they declared, with what they declared.
                    "encodings": dict(getattr(state, "encodings", {})),
                    "decode_problems": list(getattr(state, "decode_problems", [])),
                }
                for state in listings
            ],
            "warc": {
                "files": len(warc_files(self.snapshot.path / WARC_FOLDER)),
                "captured": self.warc,
                "records_written": self.snapshot.warc.records if self.snapshot.warc else 0,
            },
            # The snapshots whose originals this one's revisit records point to (prune keeps
            # them); a reparse shares its original's WARC files, and so its revisits.
            "revisits": self._revisits(),
            "stats": {k: v for k, v in sorted(stats.items()) if k.startswith("archiver/")},
        }


def _safe_name(name: str) -> str:
    """A profile name as a file name: never a path (names come from profile files)."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name).lstrip(".") or "profile"
