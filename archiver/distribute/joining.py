"""Joining a shared crawl: one connection to the frontier per crawler, the start requests
seeded once for all workers (or rebuilt from the staged parts when Redis forgot the crawl),
and requests as the JSON that travels between workers.
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path
from typing import Any

import redis
from scrapy import Request, Spider
from scrapy.crawler import Crawler

from archiver.channels import (
    META_FETCHED_AT,
    META_GATE,
    META_LEASE,
    META_PAGE,
    META_WARC_FILENAME,
    META_WARC_RECORD_ID,
)
from archiver.distribute import serializer as json_serializer
from archiver.distribute.frontier import Frontier
from archiver.distribute.recovery import Rebuilt, find_staged, rebuild_state
from archiver.errors import ArchiverError
from archiver.store.layout import SNAPSHOTS, STAGING

logger = logging.getLogger("archiver.workers")


# Set by a worker's own middlewares for its own use; never sent to another worker.
LOCAL_META = frozenset(
    {
        META_LEASE,
        META_GATE,
        META_PAGE,
        "download_slot",
        "download_latency",
        META_FETCHED_AT,
        META_WARC_RECORD_ID,
        META_WARC_FILENAME,
    }
)


def shared_frontier(crawler: Crawler) -> Frontier:
    """The crawl's shared state, connected once per crawler (spider, scheduler, writer and
    middlewares use the same connection and the same worker id)."""
    found = getattr(crawler, "_archiver_frontier", None)
    if found is None:
        settings = crawler.settings
        found = Frontier.connect(
            settings["ARCHIVER_REDIS_URL"],
            settings.get("ARCHIVER_CRAWL_ID") or "",
            settings.getfloat("ARCHIVER_REDIS_LEASE", 60.0),
            settings.getfloat("ARCHIVER_REDIS_OUTAGE", 120.0),
        )
        crawler._archiver_frontier = found  # type: ignore[attr-defined]
    return found


def leave_unopened(crawler: Crawler, reason: str) -> str:
    """A worker stopped after it joined the crawl (when its spider was made) but before its
    spider opened has no part to seal. Say how it ended and stop its heartbeat, so that the
    publishing worker does not wait a whole lease for it; returns the crawl id."""
    frontier = getattr(crawler, "_archiver_frontier", None)
    if frontier is None:
        return crawler.settings.get("ARCHIVER_CRAWL_ID") or "(its default id)"
    with contextlib.suppress(ArchiverError, redis.RedisError):
        frontier.report({"close_reason": reason})
        frontier.leave()
    return frontier.crawl_id


# --- the frontier: scrapy-redis, with leases and JSON --------------------------------------


def encode_request(request: Request, spider: Spider, stats: Any) -> str:
    """A request as JSON for the shared frontier: what only this worker uses (its lease, its
    gate, objects JSON cannot hold) is left out, counted."""
    document = request.to_dict(spider=spider)
    meta = {}
    for name, value in document.get("meta", {}).items():
        if name in LOCAL_META:
            continue
        try:
            json_serializer.dumps(value)
        except (TypeError, ValueError):  # a worker's own object: not for other workers
            stats.inc_value(f"archiver/frontier/meta_dropped/{name}")
            continue
        meta[name] = value
    document["meta"] = meta
    # Header names are bytes: JSON objects take only text keys, so headers go as pairs.
    document["headers"] = [
        [name, value] for name, values in document.get("headers", {}).items() for value in values
    ]
    return json_serializer.dumps(document)


def seed_frontier(crawler: Crawler, spider: Spider) -> bool:
    """Put the start requests in the shared frontier unless a worker already did: one
    atomic step in Redis, so each start URL is fetched once however the workers' starts
    interleave (a worker never fetches start URLs itself; all take from the frontier).
    A crawl resumed from its staged parts (Redis forgot it) is seeded instead with the
    state the parts tell (``rebuild_state``). True for the worker that seeded."""
    frontier = shared_frontier(crawler)
    if getattr(crawler, "_archiver_refused", None):
        return False
    if frontier.done() is not None or frontier.is_seeded():
        return False
    folder = Path(crawler.settings.get("ARCHIVER_DATA_DIR", "data")) / STAGING
    start_urls: list[str] = spider.start_urls  # type: ignore[attr-defined]
    state = rebuild_state(folder / spider.snapshot_id, start_urls)  # type: ignore[attr-defined]
    if state is not None:
        return _reseed(crawler, spider, frontier, state)
    requests = spider.start_requests_shared()  # type: ignore[attr-defined]
    payloads = [encode_request(request, spider, crawler.stats) for request in requests]
    seeded = frontier.seed(payloads)
    if seeded:
        crawler.stats.inc_value("scheduler/enqueued/redis", len(payloads))
        logger.info("crawl %s: seeded with %d start URL(s)", frontier.crawl_id, len(payloads))
    return seeded


def _reseed(crawler: Crawler, spider: Spider, frontier: Frontier, state: Rebuilt) -> bool:
    requests = [
        spider._page_request(  # type: ignore[attr-defined]
            url, listing=listing, page_no=page_no, offset=offset, profile=profile
        )
        for url, listing, page_no, offset, profile in state.to_fetch
    ]
    payloads = [encode_request(request, spider, crawler.stats) for request in requests]
    if not frontier.restore(state.redis_state(), payloads):
        return False
    crawler.stats.inc_value("archiver/workers/resumed_pages", len(state.committed))
    logger.warning(
        "crawl %s resumed from its staged parts: %d page(s) already read by %d earlier "
        "worker(s) are kept, %d page(s) to fetch",
        frontier.crawl_id,
        len(state.committed),
        len(state.parts),
        len(payloads),
    )
    return True


def join_crawl(crawler: Crawler, spider: Spider) -> str:
    """Join the shared crawl; the snapshot id it writes. When Redis knows nothing of the
    crawl id (a first start, or a Redis that restarted empty) but a staging folder of that
    crawl id holds parts, the crawl resumes into it rather than starting a second
    snapshot; one staged with other start URLs or another profile is refused."""
    frontier = shared_frontier(crawler)
    candidate = spider.snapshot_id  # type: ignore[attr-defined]
    if frontier.redis.exists(frontier.key("snapshot")) or frontier.done() is not None:
        return frontier.join(candidate)
    data_dir = Path(crawler.settings.get("ARCHIVER_DATA_DIR", "data"))
    staged = find_staged(data_dir, frontier.crawl_id)
    if staged is None:  # published while Redis was away: the worker adopts it as it opens
        published = find_staged(data_dir, frontier.crawl_id, SNAPSHOTS)
        return frontier.join(published["snapshot_id"] if published else candidate)
    profile = spider.profile_spec  # type: ignore[attr-defined]
    ours = {"start_urls": list(spider.start_urls), "profile": profile}  # type: ignore[attr-defined]
    theirs = {"start_urls": staged.get("start_urls"), "profile": staged.get("profile")}
    if ours != theirs:  # said by the writer as the spider opens; nothing is joined
        crawler._archiver_refused = (  # type: ignore[attr-defined]
            f"crawl {frontier.crawl_id} was staged in {staged['folder']} with other start "
            f"URLs or another profile (start_urls={','.join(theirs['start_urls'] or [])}, "
            f"profile={theirs['profile']}): run it with those to resume it, or use a new "
            "ARCHIVER_CRAWL_ID"
        )
        return candidate
    return frontier.join(staged["snapshot_id"], staged.get("started"))
