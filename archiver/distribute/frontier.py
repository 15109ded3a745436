"""One crawl shared by many workers, kept in Redis: the frontier, leases, commits, and who
publishes the snapshot. No Scrapy here (``archiver.distribute`` plugs it into Scrapy through
scrapy-redis), and no pickle: requests travel as JSON.

Keys, under ``archiver:<crawl id>:``:

``frontier``            requests to fetch (a list; workers take from its right end)
``leases``              requests taken and not yet finished: token -> owner, request
``worker:<id>``         a worker's heartbeat (expires after ``lease`` seconds of silence)
``workers``             every worker that joined: id -> what it is and did
``committed``           pages whose rows are in a worker's part: listing + page -> worker
``failed``              pages that failed: url -> listing and reason
``listing:<url>``       per listing: pages, extracted rows, announced total, why it stopped
``next:<url>``, ``content:<url>``   pagination: who asked for a page, whose content a page has
``snapshot``, ``started``, ``epoch``, ``seeded``, ``publisher``, ``done``
``host:<name>:next``, ``host:<name>:active``    the politeness gate every worker shares

A request taken by a worker is leased to it; the lease ends when its page is committed or
failed (or when the request is scheduled again, after a redirect or for a retry). When a
worker's heartbeat expires, its leases go back to the frontier: a killed worker costs a
re-fetch, never a page. A page's rows count once: the first commit wins, and rows of pages a
worker did not win are left out when the snapshot is published.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import socket
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import redis

from archiver.distribute import scripts
from archiver.distribute.connection import OutageRetry, StateLost
from archiver.distribute.naming import digest, page_key, redacted, worker_name
from archiver.errors import ArchiverError

logger = logging.getLogger("archiver.workers")


# How long a finished crawl's id stays taken (its "done" record), so that a worker started
# late joins nothing and says so, instead of starting a second snapshot.
DONE_TTL = 7 * 24 * 3600


# How long a publishing claim lasts while its process becomes ``archiver.cli.publish``:
# this many leases, and never less than HAND_OVER_MIN seconds.
HAND_OVER_LEASES = 5
HAND_OVER_MIN = 10.0


class Frontier:
    """The shared state of one crawl id, seen from one worker."""

    def __init__(self, client: redis.Redis, crawl_id: str, lease: float, url: str = "") -> None:
        self.redis = client
        self.crawl_id = crawl_id
        self.lease = lease
        self.url = url
        self.prefix = f"archiver:{crawl_id}:"
        self.worker = worker_name()
        self.epoch = ""  # set by join
        self.stopped = False  # this worker stopped trusting Redis (archiver.distribute)
        self.failure_log: Any = None  # called with each failure (archiver.distribute)
        self.retry: OutageRetry | None = None
        self._take = client.register_script(scripts.TAKE)
        self._requeue = client.register_script(scripts.REQUEUE)
        self._seed = client.register_script(scripts.SEED)
        self._commit = client.register_script(scripts.COMMIT)
        self._claim = client.register_script(scripts.CLAIM)
        self._gate = client.register_script(scripts.GATE)
        self._hold = client.register_script(scripts.HOLD)
        self._release = client.register_script(scripts.RELEASE)
        self._keep = client.register_script(scripts.KEEP)

    @classmethod
    def connect(
        cls, url: str, crawl_id: str, lease: float = 60.0, outage: float = 120.0
    ) -> Frontier:
        """Connect and check; an ArchiverError names the URL if Redis cannot be reached.
        Afterwards each call waits up to ``outage`` seconds for a Redis that went away."""
        if not crawl_id or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}", crawl_id):
            raise ArchiverError(
                f"ARCHIVER_CRAWL_ID {crawl_id!r}: give every worker of the crawl the same "
                "name, made of letters, digits, '.', '_' and '-'"
            )
        if lease <= 0:
            raise ArchiverError(f"ARCHIVER_REDIS_LEASE {lease!r}: must be more than 0 seconds")
        if outage < 0:
            raise ArchiverError(f"ARCHIVER_REDIS_OUTAGE {outage!r}: must be 0 seconds or more")
        retry = OutageRetry(outage)
        try:
            client = redis.Redis.from_url(
                url,
                socket_connect_timeout=5,
                socket_timeout=min(30.0, max(5.0, outage)),
                retry=retry,
                retry_on_error=[redis.ConnectionError, redis.TimeoutError],
            )
            client.ping()
        except (redis.RedisError, ValueError) as exc:
            first = (str(exc).strip() or type(exc).__name__).splitlines()[0]
            raise ArchiverError(f"cannot reach Redis at {redacted(url)}: {first}") from exc
        retry.patient = True
        frontier = cls(client, crawl_id, lease, url)
        frontier.retry = retry
        return frontier

    def key(self, name: str) -> str:
        return self.prefix + name

    # --- joining and leaving --------------------------------------------------------------

    def join(self, candidate_snapshot_id: str, started: str | None = None) -> str:
        """Register this worker; return the crawl's snapshot id (the first worker's).
        ``started``: when the crawl began, if it began before this Redis knew it (a crawl
        resumed from its staged parts)."""
        self.redis.set(self.key("snapshot"), candidate_snapshot_id, nx=True)
        self.redis.set(self.key("started"), started or datetime.now(UTC).isoformat(), nx=True)
        # Which life of the crawl's state in Redis this worker joined: a Redis that restarts
        # empty, or is flushed, loses it, and the workers notice (``check``).
        self.redis.set(self.key("epoch"), secrets.token_hex(8), nx=True)
        self.epoch = (self.redis.get(self.key("epoch")) or b"").decode()
        self.heartbeat()
        self.report({"host": socket.gethostname(), "pid": os.getpid(), "sealed": False})
        return self.redis.get(self.key("snapshot")).decode()

    def check(self) -> None:
        """Raise ``StateLost`` when Redis no longer holds the crawl this worker joined."""
        if self.retry is not None and self.retry.lost is not None:
            raise StateLost(
                f"cannot reach Redis at {redacted(self.url)} for {self.retry.outage:.0f} s "
                f"({self.retry.lost})"
            )
        if self.epoch and (self.redis.get(self.key("epoch")) or b"").decode() != self.epoch:
            raise StateLost(
                f"Redis at {redacted(self.url)} no longer holds crawl {self.crawl_id} "
                "(restarted empty, or flushed)"
            )

    def report(self, fields: dict[str, Any]) -> None:
        """Merge ``fields`` into what the crawl knows of this worker (the manifest lists it)."""
        raw = self.redis.hget(self.key("workers"), self.worker)
        current = json.loads(raw) if raw else {}
        self.redis.hset(self.key("workers"), self.worker, json.dumps(current | fields))

    def workers(self) -> dict[str, dict[str, Any]]:
        """Every worker that joined, with whether its heartbeat is alive."""
        found = {}
        for worker, raw in sorted(self.redis.hgetall(self.key("workers")).items()):
            name = worker.decode()
            alive = bool(self.redis.exists(self.key(f"worker:{name}")))
            found[name] = json.loads(raw) | {"alive": alive}
        return found

    def heartbeat(self) -> None:
        self.redis.set(self.key(f"worker:{self.worker}"), "1", px=int(self.lease * 1000))

    def leave(self) -> None:
        """Stop the heartbeat: this worker's leases go back to the frontier at once."""
        self.redis.delete(self.key(f"worker:{self.worker}"))

    def seed(self, payloads: list[str]) -> bool:
        """Put the start requests in and mark the crawl seeded, in one step; True for the
        one worker that did. However the workers' starts interleave, each start URL enters
        the frontier once."""
        keys = [self.key("frontier"), self.key("seeded")]
        return bool(self._seed(keys=keys, args=[self.worker, *payloads]))

    def restore(self, state: dict[str, Any], payloads: list[str]) -> bool:
        """Seed a crawl resumed from its staged parts: the pages done, the listings' counts,
        the pagination claims, the earlier workers, and the requests to go on with, in one
        transaction, by the first worker to ask (as ``seed``). False if another did."""
        seeded = self.key("seeded")
        with self.redis.pipeline() as pipe:
            try:
                pipe.watch(seeded)
                if pipe.exists(seeded):
                    return False
                pipe.multi()
                if state["committed"]:
                    pipe.hset(self.key("committed"), mapping=state["committed"])
                for listing, counts in state["listings"].items():
                    if counts:
                        pipe.hset(self.key(f"listing:{listing}"), mapping=counts)
                for listing, claims in state["claims"].items():
                    pipe.hset(self.key(f"next:{listing}"), mapping=claims)
                for listing, contents in state["contents"].items():
                    pipe.hset(self.key(f"content:{listing}"), mapping=contents)
                if state.get("failed"):
                    pipe.hset(self.key("failed"), mapping=state["failed"])
                for worker, fields in state["workers"].items():
                    pipe.hsetnx(self.key("workers"), worker, json.dumps(fields))
                for payload in payloads:
                    pipe.lpush(self.key("frontier"), payload)
                pipe.set(seeded, self.worker)
                pipe.execute()
            except redis.WatchError:
                return False
        return True

    def is_seeded(self) -> bool:
        return bool(self.redis.exists(self.key("seeded")))

    # --- requests -------------------------------------------------------------------------

    def push(self, payload: str, releases: str | None = None) -> None:
        """Add a request; ``releases``: the lease it continues (a redirect, a retry)."""
        with self.redis.pipeline() as pipe:
            pipe.lpush(self.key("frontier"), payload)
            if releases:
                pipe.hdel(self.key("leases"), releases)
            pipe.execute()

    def take(self) -> tuple[str, str] | None:
        """The next request and its lease token, or None."""
        token = secrets.token_hex(8)
        payload = self._take(
            keys=[self.key("frontier"), self.key("leases")], args=[self.worker, token]
        )
        return (payload.decode("utf-8", "replace"), token) if payload else None

    def release(self, token: str | None) -> None:
        if token:
            self.redis.hdel(self.key("leases"), token)

    def requeue_orphans(self) -> int:
        """Give back the leases of workers whose heartbeat expired; how many."""
        return int(
            self._requeue(
                keys=[self.key("leases"), self.key("frontier")], args=[self.key("worker:")]
            )
        )

    def pending(self) -> tuple[int, int]:
        """(requests waiting, requests leased)."""
        with self.redis.pipeline() as pipe:
            pipe.llen(self.key("frontier"))
            pipe.hlen(self.key("leases"))
            waiting, leased = pipe.execute()
        return int(waiting), int(leased)

    # --- pages ------------------------------------------------------------------------------

    def commit(
        self,
        listing: str,
        page_url: str,
        token: str | None,
        read: dict[str, Any] | None = None,
    ) -> bool:
        """Record a page's rows as this worker's and end its lease; False when another
        worker's came first. ``read``: what the spider read of the page (entries, announced
        total, profile, page time source, why pagination stopped), counted once per page;
        without it (a page that failed before it was read, so has no rows) only the lease
        ends."""
        read = read or {}
        announced = read.get("announced")
        args = [
            page_key(listing, page_url),
            self.worker,
            token or "",
            "" if not read else int(read.get("entries", 0)),
            "" if announced is None else int(announced),
            read.get("profile") or "",
            read.get("time_source") or "",
            read.get("stopped") or "",
            self.epoch,
        ]
        keys = [
            self.key("committed"),
            self.key("leases"),
            self.key(f"listing:{listing}"),
            self.key("epoch"),
        ]
        won = int(self._commit(keys=keys, args=args))
        if won < 0:  # never into a Redis that forgot the crawl: the rows would not count
            self.check()
            raise StateLost(f"Redis no longer holds crawl {self.crawl_id}")
        return bool(won)

    def fail(self, url: str, listing: str, reason: str, token: str | None = None) -> None:
        """List ``url`` as failed (the first reason stays) and end its lease, if given."""
        if self.retry is not None and self.retry.lost is not None:
            return  # the worker is stopping (archiver.distribute); the page is fetched again
        if self.failure_log is not None:  # on disk too, should Redis forget it
            self.failure_log(url, listing, reason)
        with self.redis.pipeline() as pipe:
            pipe.hsetnx(self.key("failed"), url, json.dumps({"listing": listing, "reason": reason}))
            if token:
                pipe.hdel(self.key("leases"), token)
            pipe.execute()

    def claim_next(self, listing: str, url: str, asked_by: str) -> str:
        """``new``, ``again`` (the same page asks again) or ``other`` (another page asked
        first: pagination loops)."""
        args = [digest(url), digest(asked_by)]
        result = self._claim(keys=[self.key(f"next:{listing}")], args=args)
        return result.decode() if isinstance(result, bytes) else str(result)

    def first_content(self, listing: str, signature: str, page_url: str) -> bool:
        """False when another page of the listing already had this content."""
        key, page = self.key(f"content:{listing}"), digest(page_url)
        if self.redis.hsetnx(key, signature, page):
            return True
        owner = self.redis.hget(key, signature)
        return owner is not None and owner.decode() == page

    def committed(self) -> dict[str, str]:
        """Every committed page (``page_key``) and the worker whose rows count."""
        found = self.redis.hgetall(self.key("committed"))
        return {k.decode(): v.decode() for k, v in found.items()}

    def failures(self) -> list[dict[str, str]]:
        found = self.redis.hgetall(self.key("failed"))
        return [{"url": url.decode(), **json.loads(raw)} for url, raw in sorted(found.items())]

    def listing(self, url: str) -> dict[str, Any]:
        raw = {
            k.decode(): v.decode()
            for k, v in self.redis.hgetall(self.key(f"listing:{url}")).items()
        }
        return {
            "profile": raw.get("profile"),
            "announced": int(raw["announced"]) if "announced" in raw else None,
            "extracted": int(raw.get("extracted", 0)),
            "pages_fetched": int(raw.get("pages", 0)),
            "stopped": raw.get("stopped"),
            "page_time_sources": {
                k.removeprefix("time:"): int(v) for k, v in raw.items() if k.startswith("time:")
            },
        }

    # --- politeness -----------------------------------------------------------------------

    def gate(self, host: str, concurrency: int, delay: float, token: str, hold: float) -> float:
        """0 when this worker may start a request to ``host`` now (it then counts as
        active until ``leave_gate``, or ``hold`` seconds if its worker dies), else how many
        seconds to wait before asking again."""
        wait = self._gate(
            keys=[self.key(f"host:{host}:next"), self.key(f"host:{host}:active")],
            args=[time.time(), concurrency, delay, token, hold],
        )
        return float(wait)

    def leave_gate(self, host: str, token: str) -> None:
        self.redis.zrem(self.key(f"host:{host}:active"), token)

    def hold_host(self, host: str, seconds: float) -> None:
        """No worker starts a request to ``host`` in the next ``seconds``."""
        self._hold(keys=[self.key(f"host:{host}:next")], args=[time.time() + seconds])

    # --- the end ----------------------------------------------------------------------------

    def claim_publishing(self) -> bool:
        """True for the one worker that publishes (or, if it died, for the next to ask)."""
        key = self.key("publisher")
        if self.redis.set(key, self.worker, nx=True, px=int(self.lease * 1000)):
            return True
        owner = self.redis.get(key)
        return owner is not None and owner.decode() == self.worker

    def release_publishing(self) -> None:
        """Give up the claim (this worker could not publish): the next worker to ask may."""
        self._release(keys=[self.key("publisher")], args=[self.worker])

    def keep_publishing(self, seconds: float | None = None) -> bool:
        """Extend this worker's claim by a lease (or ``seconds``); False if it lost it."""
        ttl = int((self.lease if seconds is None else seconds) * 1000)
        return bool(self._keep(keys=[self.key("publisher")], args=[self.worker, ttl]))

    @staticmethod
    def is_outage(exc: BaseException) -> bool:
        """Whether ``exc`` is Redis failing (the spider tells it from a broken page)."""
        return isinstance(exc, redis.RedisError)

    def hold_publishing(self) -> Callable[[], None]:
        """Keep the claim alive from a thread until the returned callable is called.

        Publishing runs in blocking code (settling parts, building Parquet) where the
        reactor cannot beat: without this, a publisher slower than one lease (a loaded
        machine) would see a second worker claim and publish the same folder beside it.
        A process that dies stops beating, and its claim expires as before."""
        stop = threading.Event()

        def beat() -> None:
            while not stop.wait(self.lease / 3):
                try:
                    self.keep_publishing()
                except redis.RedisError:  # the worker's own checks report a lost Redis
                    logger.debug("crawl %s: cannot extend the claim", self.crawl_id)

        self.keep_publishing()
        beating = threading.Thread(target=beat, daemon=True, name="publisher-claim")
        beating.start()

        def stop_holding() -> None:  # joined: no late beat shortens a hand-over's claim
            stop.set()
            beating.join(timeout=5)

        return stop_holding

    def hand_over_publishing(self) -> None:
        """The claim outlives the moment this process becomes ``archiver.cli.publish``
        (Scrapy's shutdown, a new interpreter, pyarrow's import: seconds on a loaded
        machine, when nothing beats), then that process beats it back to one lease. A
        process that dies in between holds the claim at most ``HAND_OVER_LEASES`` leases."""
        self.keep_publishing(max(HAND_OVER_LEASES * self.lease, HAND_OVER_MIN))

    def publisher(self) -> str | None:
        value = self.redis.get(self.key("publisher"))
        return value.decode() if value else None

    def finish(self, outcome: dict[str, Any]) -> None:
        """Record how the crawl ended (``path``, ``status``, ``rows``), and drop its working
        state. The record and the workers' list are kept ``DONE_TTL`` seconds."""
        self.redis.set(self.key("done"), json.dumps(outcome), ex=DONE_TTL)
        kept = ("done", "workers", "snapshot", "started", "epoch")
        keep = {self.key(name).encode() for name in kept}
        doomed = [k for k in self.redis.scan_iter(match=self.prefix + "*", count=500)]
        doomed = [k for k in doomed if k not in keep]
        for start in range(0, len(doomed), 500):
            self.redis.delete(*doomed[start : start + 500])
        for name in kept[1:]:
            self.redis.expire(self.key(name), DONE_TTL)

    def done(self) -> dict[str, Any] | None:
        value = self.redis.get(self.key("done"))
        return json.loads(value) if value else None


def _pending_frontier(shared: dict[str, Any]) -> Frontier:
    """The publishing worker's view of the crawl, in ``archiver.cli.publish``."""
    frontier = Frontier.connect(shared["redis_url"], shared["crawl_id"], shared["lease"])
    frontier.worker = shared.get("worker") or frontier.worker
    return frontier


def finish_published(pending: dict[str, Any], outcome: dict[str, Any]) -> None:
    """Tell every worker of a shared crawl how it ended (``archiver.cli.publish`` calls this)."""
    shared = pending.get("shared")
    if shared:
        _pending_frontier(shared).finish(outcome)


def release_published(pending: dict[str, Any]) -> None:
    """``archiver.cli.publish`` could not publish: give up the claim, so that a waiting worker,
    or one started again with the same crawl id, publishes the staged parts instead."""
    shared = pending.get("shared")
    if shared:
        _pending_frontier(shared).release_publishing()


def keep_claim(pending: dict[str, Any]) -> Callable[[], None]:
    """Keep the publishing claim alive while ``archiver.cli.publish`` builds the files; returns
    a callable that stops it."""
    shared = pending.get("shared")
    if not shared:
        return lambda: None
    return _pending_frontier(shared).hold_publishing()
