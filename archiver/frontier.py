"""One crawl shared by many workers, kept in Redis: the frontier, leases, commits, and who
publishes the snapshot. No Scrapy here (``archiver.workers`` plugs it into Scrapy through
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

import base64
import hashlib
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
from urllib.parse import urlsplit, urlunsplit

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from archiver.errors import ArchiverError

logger = logging.getLogger("archiver.workers")

# How long a finished crawl's id stays taken (its "done" record), so that a worker started
# late joins nothing and says so, instead of starting a second snapshot.
DONE_TTL = 7 * 24 * 3600
PAGE_KEY_SEPARATOR = "\x1f"
# How long a publishing claim lasts while its process becomes ``archiver.publish``:
# this many leases, and never less than HAND_OVER_MIN seconds.
HAND_OVER_LEASES = 5
HAND_OVER_MIN = 10.0

# --- JSON, not pickle: scrapy-redis takes any module with loads/dumps as its serializer ----


def _encode(value: Any) -> Any:
    if isinstance(value, bytes):
        return {"__bytes__": base64.b64encode(value).decode()}
    if isinstance(value, datetime):
        return {"__datetime__": value.isoformat()}
    raise TypeError(f"cannot put {type(value).__name__} in a shared frontier: {value!r:.80}")


def _decode(document: dict[str, Any]) -> Any:
    if "__bytes__" in document:
        return base64.b64decode(document["__bytes__"])
    if "__datetime__" in document:
        return datetime.fromisoformat(document["__datetime__"])
    return document


def dumps(obj: Any) -> str:
    """A request dict (``Request.to_dict``) as JSON; bytes and datetimes tagged."""
    return json.dumps(obj, default=_encode, separators=(",", ":"))


def loads(text: str | bytes) -> Any:
    return json.loads(text, object_hook=_decode)


def digest(text: str) -> str:
    """32 hex characters standing for ``text`` in Redis: a day's crawl has millions of pages,
    and Redis holds every key in memory."""
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def page_key(listing: str, page_url: str) -> str:
    """What a commit is keyed by: the rows' ``listing_url`` and ``page_url``."""
    return digest(f"{listing}{PAGE_KEY_SEPARATOR}{page_url}")


def redacted(url: str) -> str:
    """A Redis URL fit for a log line: its password replaced by ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    netloc = f"{user}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def worker_name() -> str:
    """``<host>-<pid>-<4 hex>``, safe as part of a file name."""
    host = re.sub(r"[^A-Za-z0-9_-]", "-", socket.gethostname())[:40] or "host"
    return f"{host}-{os.getpid()}-{secrets.token_hex(2)}"


# --- Lua: each step that must not be split between two Redis calls ------------------------

_TAKE = """
local payload = redis.call('RPOP', KEYS[1])
if payload then redis.call('HSET', KEYS[2], ARGV[2], ARGV[1] .. '\\n' .. payload) end
return payload
"""
# Leases whose owner's heartbeat expired go back to the frontier, to be taken next.
_REQUEUE = """
local moved = 0
local leases = redis.call('HGETALL', KEYS[1])
for i = 1, #leases, 2 do
  local value = leases[i + 1]
  local cut = string.find(value, '\\n', 1, true)
  local owner = string.sub(value, 1, cut - 1)
  if redis.call('EXISTS', ARGV[1] .. owner) == 0 then
    redis.call('RPUSH', KEYS[2], string.sub(value, cut + 1))
    redis.call('HDEL', KEYS[1], leases[i])
    moved = moved + 1
  end
end
return moved
"""
# Seeding is one step: the start requests go in, and the crawl is marked seeded, together
# or not at all, by the first worker to ask; every other worker only takes from the frontier.
_SEED = """
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
for i = 2, #ARGV do redis.call('LPUSH', KEYS[1], ARGV[i]) end
redis.call('SET', KEYS[2], ARGV[1])
return 1
"""
# A page's rows count once: the first commit wins, and only it adds to the listing's counts.
_COMMIT = """
if ARGV[9] ~= '' and redis.call('GET', KEYS[4]) ~= ARGV[9] then return -1 end
redis.call('HDEL', KEYS[2], ARGV[3])
if ARGV[4] == '' then return 1 end
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('HINCRBY', KEYS[3], 'pages', 1)
redis.call('HINCRBY', KEYS[3], 'extracted', tonumber(ARGV[4]))
if ARGV[5] ~= '' then redis.call('HSETNX', KEYS[3], 'announced', ARGV[5]) end
if ARGV[6] ~= '' then redis.call('HSETNX', KEYS[3], 'profile', ARGV[6]) end
if ARGV[7] ~= '' then redis.call('HINCRBY', KEYS[3], 'time:' .. ARGV[7], 1) end
if ARGV[8] ~= '' then redis.call('HSETNX', KEYS[3], 'stopped', ARGV[8]) end
return 1
"""
# Who asked for a page first: "new" for the first, "again" when the same page asks again (it
# was read twice, after a worker died), "other" when another page already asked (a loop).
_CLAIM = """
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 1 then return 'new' end
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then return 'again' end
return 'other'
"""
# A shared politeness gate per host: at most ARGV[2] requests at once across all workers,
# and starts at least ARGV[3] seconds apart. Returns 0 (go) or how long to wait.
_GATE = """
local now = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[2]) then return '0.05' end
local next_start = tonumber(redis.call('GET', KEYS[1]) or '0')
if now < next_start then return tostring(next_start - now) end
redis.call('SET', KEYS[1], tostring(now + tonumber(ARGV[3])), 'EX', 3600)
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[5]), ARGV[4])
redis.call('EXPIRE', KEYS[2], 3600)
return '0'
"""
# A host asked everyone to wait (429/503): no worker starts a request there before then.
_HOLD = """
local until_ = tonumber(ARGV[1])
local next_start = tonumber(redis.call('GET', KEYS[1]) or '0')
if until_ > next_start then redis.call('SET', KEYS[1], tostring(until_), 'EX', 3600) end
return 1
"""

# A claim is given up only by its owner: another worker may hold it by now.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

# Extend a claim only while this worker holds it: a publisher that stalled past its lease
# must never stretch the claim of the worker that took over.
_KEEP = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""


class StateLost(ArchiverError):
    """Redis no longer holds this crawl as this worker joined it (restarted empty, or
    flushed), or cannot be reached for longer than the worker waits."""


class OutageRetry(Retry):
    """Every Redis call of a worker waits out a Redis that cannot be reached (restarting,
    a network cut), retrying with growing pauses, for at most ``outage`` seconds counted
    from the first failure; then the error is raised, and every later call fails at once,
    so that the worker stops in one step (``archiver.workers``) instead of waiting again at
    each call."""

    def __init__(self, outage: float) -> None:
        super().__init__(ExponentialBackoff(cap=2.0, base=0.1), retries=-1)
        self.outage = outage
        self.patient = False  # off while connecting: Redis unreachable at start is one line
        self.lost: Exception | None = None
        self.waited = False

    def __deepcopy__(self, memo: dict[int, Any]) -> OutageRetry:
        # redis-py copies the retry into each connection; one outage is the worker's, seen
        # by all its connections.
        return self

    def call_with_retry(  # type: ignore[override]
        self,
        do: Any,
        fail: Any,
        is_retryable: Any = None,
        with_failure_count: bool = False,
    ) -> Any:
        first = None
        failures = 0
        while True:
            try:
                result = do()
            except self._supported_errors as error:
                failures += 1
                fail(error, failures) if with_failure_count else fail(error)
                now = time.monotonic()
                first = first if first is not None else now
                if not self.patient or self.lost is not None or now - first >= self.outage:
                    if self.patient:
                        self.lost = self.lost or error
                    raise
                if not self.waited:
                    self.waited = True
                    logger.warning(
                        "Redis cannot be reached (%s): waiting up to %.0f s for it",
                        error,
                        self.outage,
                    )
                time.sleep(min(2.0, 0.1 * 2**failures, max(0.0, first + self.outage - now)))
                continue
            if first is not None and self.waited:
                self.waited = False
                logger.warning("Redis is back after %.1f s", time.monotonic() - first)
            return result


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
        self.stopped = False  # this worker stopped trusting Redis (archiver.workers)
        self.failure_log: Any = None  # called with each failure (archiver.workers)
        self.retry: OutageRetry | None = None
        self._take = client.register_script(_TAKE)
        self._requeue = client.register_script(_REQUEUE)
        self._seed = client.register_script(_SEED)
        self._commit = client.register_script(_COMMIT)
        self._claim = client.register_script(_CLAIM)
        self._gate = client.register_script(_GATE)
        self._hold = client.register_script(_HOLD)
        self._release = client.register_script(_RELEASE)
        self._keep = client.register_script(_KEEP)

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
            return  # the worker is stopping (archiver.workers); the page is fetched again
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
        """The claim outlives the moment this process becomes ``archiver.publish``
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
    """The publishing worker's view of the crawl, in ``archiver.publish``."""
    frontier = Frontier.connect(shared["redis_url"], shared["crawl_id"], shared["lease"])
    frontier.worker = shared.get("worker") or frontier.worker
    return frontier


def finish_published(pending: dict[str, Any], outcome: dict[str, Any]) -> None:
    """Tell every worker of a shared crawl how it ended (``archiver.publish`` calls this)."""
    shared = pending.get("shared")
    if shared:
        _pending_frontier(shared).finish(outcome)


def release_published(pending: dict[str, Any]) -> None:
    """``archiver.publish`` could not publish: give up the claim, so that a waiting worker,
    or one started again with the same crawl id, publishes the staged parts instead."""
    shared = pending.get("shared")
    if shared:
        _pending_frontier(shared).release_publishing()


def keep_claim(pending: dict[str, Any]) -> Callable[[], None]:
    """Keep the publishing claim alive while ``archiver.publish`` builds the files; returns
    a callable that stops it."""
    shared = pending.get("shared")
    if not shared:
        return lambda: None
    return _pending_frontier(shared).hold_publishing()
