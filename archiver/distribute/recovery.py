"""What the parts on disk tell, should Redis forget a shared crawl: the page logs beside each
worker's part, the crawl's record, and the settling of the parts into one snapshot.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from scrapy import Spider

from archiver.distribute.frontier import Frontier
from archiver.distribute.naming import digest, page_key
from archiver.evidence.records import WARC_FOLDER
from archiver.evidence.writer import recover as recover_warc
from archiver.store.durable import write_synced
from archiver.store.layout import MANIFEST_FILE, PENDING_FILE, STAGING
from archiver.store.publishing import parts, uncompress_parts

logger = logging.getLogger("archiver.workers")


CRAWL_FOLDER = "_meta/crawl"  # what a crawl resumed after Redis forgot it is rebuilt from
CRAWL_RECORD = "crawl.json"


@dataclass
class PageInFlight:
    listing: str
    url: str
    token: str
    expected: int | None = None  # rows the callback gave; None until it finished
    done: int = 0  # rows that went through the pipelines (written, dropped or failed)
    read: dict[str, Any] | None = field(default=None)


# --- what the parts on disk tell, should Redis forget the crawl -----------------------------
#
# Beside its part, each worker keeps ``_meta/crawl/pages-<worker>.jsonl``: one line per page
# whose rows are in its part, written and synced after the rows and before the page is
# committed in Redis. With the crawl's record (``_meta/crawl/crawl.json``), they are enough to
# rebuild what Redis held that matters: which pages are done and whose rows count, each
# listing's counts, and the frontier (each listing's next page not yet read).


def open_page_log(folder: Path, frontier: Frontier, spider: Spider) -> BinaryIO:
    """This worker's page log, and the crawl's record if no worker wrote it yet."""
    crawl = folder / CRAWL_FOLDER
    crawl.mkdir(exist_ok=True)
    record = {
        "crawl_id": frontier.crawl_id,
        "snapshot_id": folder.name,
        "started": (frontier.redis.get(frontier.key("started")) or b"").decode() or None,
        "start_urls": list(spider.start_urls),  # type: ignore[attr-defined]
        "profile": spider.profile_spec,  # type: ignore[attr-defined]
    }
    with contextlib.suppress(FileExistsError):
        write_synced(crawl / CRAWL_RECORD, record)
    return (crawl / f"pages-{frontier.worker}.jsonl").open("ab")


def page_record(page: PageInFlight) -> dict[str, Any]:
    return {"listing": page.listing, "url": page.url, "rows": page.expected, **(page.read or {})}


def log_pages(log: BinaryIO | None, records: list[dict[str, Any]]) -> None:
    if log is None or not records:
        return
    log.write(b"".join(json.dumps(r, separators=(",", ":")).encode() + b"\n" for r in records))
    log.flush()
    os.fsync(log.fileno())


def find_staged(data_dir: Path, crawl_id: str, where: str = STAGING) -> dict[str, Any] | None:
    """The newest staging folder of ``crawl_id`` (its crawl record, and ``folder``); with
    ``where=SNAPSHOTS``, the newest snapshot it published."""
    found = []
    for path in (data_dir / where).glob(f"*/{CRAWL_FOLDER}/{CRAWL_RECORD}"):
        with contextlib.suppress(OSError, ValueError):
            record = json.loads(path.read_text("utf-8"))
            if record.get("crawl_id") == crawl_id:
                found.append(record | {"folder": str(path.parents[2])})
    return max(found, key=lambda r: r["snapshot_id"]) if found else None


@dataclass
class Rebuilt:
    """A crawl's state as its parts tell it (``rebuild_state``)."""

    committed: dict[str, str]  # page_key -> the part whose rows count
    listings: dict[str, dict[str, Any]]  # listing -> the fields of its Redis hash
    claims: dict[str, dict[str, str]]  # listing -> next page digest -> asking page digest
    contents: dict[str, dict[str, str]]  # listing -> content signature -> page digest
    parts: list[str]
    to_fetch: list[tuple[str, str, int, int, str | None]]  # url, listing, page no, offset, profile
    failed: dict[str, str] = field(default_factory=dict)  # url -> listing and reason (JSON)

    def redis_state(self) -> dict[str, Any]:
        return {
            "committed": self.committed,
            "listings": self.listings,
            "claims": self.claims,
            "contents": self.contents,
            "failed": self.failed,
            "workers": {
                part: {"sealed": False, "close_reason": "before Redis lost the crawl"}
                for part in self.parts
            },
        }


def rebuild_state(folder: Path, start_urls: list[str]) -> Rebuilt | None:
    """What Redis held of a crawl, from the page logs its workers staged; None when no
    page log holds a page (nothing to resume: seed as usual).

    A page counts when a log names it with rows (the first log to name it, in name order,
    owns it: its rows were synced before the line was written), or when it ended its
    listing; a page read with no entries is fetched again, so that its failure is seen
    again. Each listing goes on from its last page counted; a listing with none, from its
    start URL. A failure is kept when its page is (rows that could not be made); a page
    that failed to be read is fetched again instead.
    """
    logs = sorted((folder / CRAWL_FOLDER).glob("pages-*.jsonl"))
    pages: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}
    failures: dict[tuple[str, str], str] = {}
    for log in logs:
        part = log.stem.removeprefix("pages-")
        with log.open("rb") as handle:
            for line in handle:
                try:
                    record = json.loads(line)
                except ValueError:  # torn by a kill: that page was not committed
                    continue
                if "failed" in record:
                    failures.setdefault((record["listing"], record["failed"]), record["reason"])
                    continue
                if not record.get("entries") and not record.get("stopped"):
                    continue
                pages.setdefault((record["listing"], record["url"]), (part, record))
    if not pages:
        return None
    committed: dict[str, str] = {}
    listings: dict[str, dict[str, Any]] = {url: {} for url in start_urls}
    claims: dict[str, dict[str, str]] = {}
    contents: dict[str, dict[str, str]] = {}
    to_fetch: list[tuple[str, str, int, int, str | None]] = []
    for (listing, url), (part, record) in pages.items():
        committed[page_key(listing, url)] = part
        counts = listings.setdefault(listing, {})
        counts["pages"] = counts.get("pages", 0) + 1
        counts["extracted"] = counts.get("extracted", 0) + int(record.get("entries") or 0)
        for name in ("announced", "profile", "stopped"):
            if record.get(name) is not None:
                counts.setdefault(name, record[name])
        if record.get("time_source"):
            name = f"time:{record['time_source']}"
            counts[name] = counts.get(name, 0) + 1
        if record.get("signature"):
            contents.setdefault(listing, {}).setdefault(record["signature"], digest(url))
        following = record.get("next_url")
        if following and not record.get("stopped"):
            claims.setdefault(listing, {}).setdefault(digest(following), digest(url))
            if (listing, following) not in pages:
                page_no = int(record.get("page_no") or 1) + 1
                offset = int(record.get("offset") or 0) + int(record.get("entries") or 0)
                to_fetch.append((following, listing, page_no, offset, record.get("profile")))
    for url in start_urls:
        if (url, url) not in pages:
            to_fetch.append((url, url, 1, 0, None))
    parts = sorted({part for part, _ in pages.values()})
    failed = {
        url: json.dumps({"listing": listing, "reason": reason})
        for (listing, url), reason in failures.items()
        if (listing, url) in pages  # a page kept with a failure; others are fetched again
    }
    to_fetch = list(dict.fromkeys(to_fetch))
    return Rebuilt(committed, listings, claims, contents, parts, to_fetch, failed)


def clear_unfinished_publication(folder: Path) -> None:
    """What a publisher that died left in the staging folder, removed so the next one can
    redo its work: the pending and final manifests (both rewritten from Redis and the parts)
    and half-written settled parts. The parts themselves are never touched here."""
    (folder / PENDING_FILE).unlink(missing_ok=True)
    (folder / MANIFEST_FILE).unlink(missing_ok=True)
    for stale in (folder / "_meta").glob("entries*.jsonl.settled"):
        stale.unlink()


def settle_parts(
    folder: Path, snapshot_id: str, committed: dict[str, str], exact: set[str]
) -> tuple[dict[str, int], set[str]]:
    """Make each worker's part hold exactly the rows of the pages that worker committed,
    once each; return every part's rows and the entries' sources.

    A part whose worker sealed it and never lost a commit is already exact. Any other (a
    killed worker's, or one whose page another worker committed first) keeps only its
    committed pages' rows, each once; a torn last line is dropped, as are the killed
    worker's torn WARC records. Parquet files a killed publisher began are removed (they
    are rebuilt from the JSON Lines).
    """
    for stale in folder.glob("entries*.parquet"):
        stale.unlink()
    uncompress_parts(folder)  # a killed publisher may have begun compressing them
    rows: dict[str, int] = {}
    sources: set[str] = set()
    for _, jsonl in parts(folder):
        part = Path(jsonl).stem.removeprefix("entries-")
        path = folder / jsonl
        kept = 0
        seen: set[tuple[str, str, Any]] = set()
        settled = path.with_name(path.name + ".settled")
        with path.open("rb") as source, settled.open("wb") as target:
            for line in source:
                try:
                    row = json.loads(line)
                except ValueError:
                    continue
                if part not in exact:
                    key = (row.get("listing_url"), row.get("page_url"), row.get("position"))
                    owner = committed.get(page_key(key[0] or "", key[1] or ""))
                    if owner != part or key in seen or not line.endswith(b"\n"):
                        continue
                    seen.add(key)
                target.write(line)
                kept += 1
                if row.get("source"):
                    sources.add(row["source"])
            target.flush()
            os.fsync(target.fileno())
        os.replace(settled, path)
        rows[part] = kept
        if part not in exact and (folder / WARC_FOLDER).is_dir():
            recover_warc(folder / WARC_FOLDER, f"{snapshot_id}-{part}")
    return rows, sources
