"""The end of a shared crawl: wait for another worker to publish the snapshot, or win the
claim and publish it. Every step can be redone by the next worker to claim, after this one
dies at any point.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import redis
from scrapy import Spider

from archiver.channels import (
    STAT_SNAPSHOT_ERROR,
    STAT_SNAPSHOT_PATH,
    STAT_SNAPSHOT_PENDING,
    STAT_SNAPSHOT_ROWS,
    STAT_SNAPSHOT_STATUS,
)
from archiver.distribute.recovery import clear_unfinished_publication, settle_parts
from archiver.errors import ArchiverError
from archiver.store.layout import MANIFEST_FILE
from archiver.store.publishing import publish_sealed
from archiver.store.staging import snapshot_status

logger = logging.getLogger("archiver.workers")


class Publishing:
    """The publishing half of ``SharedSnapshotWriter`` (``self.frontier``, ``self.snapshot``
    and ``self.crawler`` are the writer's)."""

    def _finish(self, spider: Spider) -> None:
        """Wait for the snapshot to be published by another worker, or publish it. Any
        live worker can take over: a publisher that dies at any point leaves its claim to
        expire, and the next worker to claim redoes what it left (``_publish``). Whatever
        goes wrong, this worker never ends without a snapshot's outcome or one line
        saying why and how to go on."""
        try:
            self._wait_or_publish(spider)
        except (ArchiverError, redis.RedisError) as exc:  # Redis forgot or went away
            self.lose_redis(exc)
            self.crawler.stats.set_value(STAT_SNAPSHOT_PENDING, None)
            if self.snapshot is not None:
                self.snapshot.release()
        except Exception as exc:  # never a silent exit 0 from a signal handler
            logger.debug("crawl %s: publishing failed", self.frontier.crawl_id, exc_info=True)
            self._give_up(f"publishing failed: {type(exc).__name__}: {exc}; {self._resume_hint()}")

    def _wait_or_publish(self, spider: Spider) -> None:
        # Waiting is bounded only while nobody holds the claim: a live publisher (its claim
        # kept alive) may take as long as building the files takes.
        patience = max(600.0, 20 * self.frontier.lease)
        deadline = time.monotonic() + patience
        while time.monotonic() < deadline:
            done = self.frontier.done()
            if done is not None:
                self._adopt(done)
                return
            self.frontier.check()  # never publish what a Redis that forgot the crawl says
            if self.frontier.claim_publishing():
                stop_holding = self.frontier.hold_publishing()
                try:
                    handed_over = self._publish(spider, deadline)
                finally:
                    stop_holding()
                if handed_over:
                    self.frontier.hand_over_publishing()
                return
            if self.frontier.publisher() is not None:
                deadline = time.monotonic() + patience
            time.sleep(0.2)
        self._give_up(f"no worker published the snapshot in time; {self._resume_hint()}")

    def _resume_hint(self) -> str:
        where = self.snapshot.path if self.snapshot is not None else "the staging folder"
        return (
            f"the staged parts are kept in {where}: start a worker again with "
            f"ARCHIVER_CRAWL_ID={self.frontier.crawl_id} to publish them"
        )

    def _give_up(self, why: str) -> None:
        message = f"crawl {self.frontier.crawl_id}: {why}"
        logger.error("%s", message)
        self.crawler.stats.set_value(STAT_SNAPSHOT_ERROR, message)
        self.crawler.stats.set_value(STAT_SNAPSHOT_STATUS, None)
        if self.snapshot is not None:
            self.snapshot.release()

    def _adopt(self, done: dict[str, Any]) -> None:
        """This worker's exit tells what the crawl published."""
        stats = self.crawler.stats
        stats.set_value(STAT_SNAPSHOT_STATUS, done.get("status", "failed"))
        if done.get("path"):
            stats.set_value(STAT_SNAPSHOT_PATH, done["path"])
            stats.set_value(STAT_SNAPSHOT_ROWS, done.get("rows", 0))
        if done.get("error"):
            stats.set_value(STAT_SNAPSHOT_ERROR, done["error"])
        if self.snapshot is not None:
            self.snapshot.release()

    def _published(self, target: Path) -> dict[str, Any] | None:
        """A publisher that died after its rename, before it told Redis: the outcome, read
        from the published manifest, recorded for every worker."""
        if not target.exists():
            return None
        manifest = json.loads((target / MANIFEST_FILE).read_text("utf-8"))
        outcome = {"path": str(target), "status": manifest["status"], "rows": manifest["rows"]}
        self.frontier.finish(outcome)
        return outcome

    def _publish(self, spider: Spider, deadline: float) -> bool:
        """Publish the crawl's snapshot: every step can be redone by the next worker to
        claim it, after this one dies at any point. True when the publishing is left to
        ``archiver.cli.publish``, which this process becomes."""
        assert self.snapshot is not None
        outcome = self._published(self.snapshot.target)
        if outcome is not None:
            self._adopt(outcome)
            return False
        while time.monotonic() < deadline:  # every other worker sealed, or gone
            unsettled = [
                name
                for name, worker in self.frontier.workers().items()
                if name != self.frontier.worker and worker["alive"] and not worker.get("sealed")
            ]
            if not unsettled:
                break
            time.sleep(0.2)
        else:
            self.frontier.release_publishing()
            self._give_up("workers still running when the publishing worker gave up waiting")
            return False
        workers = self.frontier.workers()
        committed = self.frontier.committed()
        self.frontier.check()
        exact = {
            name
            for name, worker in workers.items()
            if worker.get("sealed") and not worker.get("commits", {}).get("lost")
        }
        folder = self.snapshot.path
        try:
            clear_unfinished_publication(folder)
            rows, sources = settle_parts(folder, self.snapshot.snapshot_id, committed, exact)
        except OSError as exc:
            self.frontier.release_publishing()
            self._give_up(f"cannot publish snapshot {self.snapshot.snapshot_id}: {exc}; "
                          f"{self._resume_hint()}")  # fmt: skip
            return False
        manifest = self.shared_manifest(spider, workers, committed, rows, sources)
        stats = self.crawler.stats
        shared = {
            "redis_url": self.frontier.url,
            "crawl_id": self.frontier.crawl_id,
            "lease": self.frontier.lease,
            "worker": self.frontier.worker,
        }
        if self.hand_on({"manifest": manifest, "shared": shared}):  # type: ignore[attr-defined]
            stats.set_value(STAT_SNAPSHOT_STATUS, manifest["status"])
            stats.set_value(STAT_SNAPSHOT_ROWS, manifest["rows"])
            return True
        try:
            target = publish_sealed(folder, manifest)
        except OSError as exc:
            self.frontier.release_publishing()
            self._give_up(f"cannot publish snapshot {self.snapshot.snapshot_id}: {exc}; "
                          f"{self._resume_hint()}")  # fmt: skip
            return False
        finally:
            if self.snapshot is not None:
                self.snapshot.release()
        outcome = {"path": str(target), "status": manifest["status"], "rows": manifest["rows"]}
        self.frontier.finish(outcome)
        stats.set_value(STAT_SNAPSHOT_STATUS, manifest["status"])
        stats.set_value(STAT_SNAPSHOT_ROWS, manifest["rows"])
        stats.set_value(STAT_SNAPSHOT_PATH, str(target))
        return False

    def shared_manifest(
        self,
        spider: Spider,
        workers: dict[str, dict[str, Any]],
        committed: dict[str, str],
        rows: dict[str, int],
        sources: set[str],
    ) -> dict[str, Any]:
        """The usual manifest, with what the whole crawl did: every worker's rows, the
        listings' counts and the failed pages as Redis has them, and the workers."""
        listings = [
            {"start_url": url, **self.frontier.listing(url)}
            for url in spider.start_urls  # type: ignore[attr-defined]
        ]
        self._store_profiles(spider, {listing["profile"] for listing in listings})
        manifest = self.build_manifest(spider, "finished")
        failed = [{"url": f["url"], "reason": f["reason"]} for f in self.frontier.failures()]
        pages = sum(listing["pages_fetched"] for listing in listings)
        total = sum(rows.values())
        pages_by_worker: dict[str, int] = {}
        for owner in committed.values():
            pages_by_worker[owner] = pages_by_worker.get(owner, 0) + 1
        manifest.update(
            status=snapshot_status("finished", len(failed), total, pages),
            rows=total,
            sources=sorted(sources),
            pages_fetched=pages,
            pages_failed=failed,
            listings=listings,
            crawl_id=self.frontier.crawl_id,
            started_at=self.frontier_started() or manifest["started_at"],
            workers=[
                {
                    "worker": name,
                    "host": worker.get("host"),
                    "pid": worker.get("pid"),
                    # a worker that left without sealing a part says why; else it was lost
                    "ended": worker.get("close_reason") or "lost",
                    "pages": pages_by_worker.get(name, 0),
                    "rows": rows.get(name, 0),
                    "published": name == self.frontier.worker,
                }
                for name, worker in workers.items()
            ],
        )
        records = sum(worker.get("warc_records", 0) for worker in workers.values())
        manifest["warc"]["records_written"] = records
        return manifest

    def frontier_started(self) -> str | None:
        raw = self.frontier.redis.get(self.frontier.key("started"))
        return raw.decode() if raw else None
