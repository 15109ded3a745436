"""The last step of ``scrapy crawl listing``: publish the snapshot the crawl sealed.

``archiver.commands.crawl`` replaces the crawl's process with this one (``os.execv``), so the
Parquet file is built by a process that never held the crawl's memory, and the crawl never
loads pyarrow: a crawl's peak memory stays close to Scrapy's own. The process id, the log,
the exit code and the journal's lock (its file descriptor is passed on) stay the same.

``python -m archiver.cli.publish STAGING_DIR [--journal-fd N] [--log-file PATH --log-level L]``

For a crawl shared by many workers (``archiver.distribute``), the pending file names the
crawl: this process holds the publishing claim while it builds, and tells every worker how
the crawl ended.
"""

from __future__ import annotations

import argparse
import importlib.abc
import json
import logging
import os
import shutil
import sys
from pathlib import Path
from typing import Any

from archiver.errors import EXIT_CODES
from archiver.store.layout import PENDING_FILE
from archiver.store.publishing import keep_for_resume, publish_sealed

logger = logging.getLogger("archiver.snapshots")


class WithoutPandas(importlib.abc.MetaPathFinder):
    """Refuses to import pandas in this process. pyarrow imports pandas, when installed,
    the first time it converts Python values (``pyarrow.array``), and treats an
    ImportError as "no pandas"; publishing never needs it, and it would add 40 MB."""

    def find_spec(self, name: str, path: Any, target: Any = None) -> None:
        if name == "pandas" or name.startswith("pandas."):
            raise ImportError(f"{name} is not used while publishing a snapshot")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m archiver.cli.publish")
    parser.add_argument("staging")
    parser.add_argument("--journal-fd", type=int)
    parser.add_argument("--lock-fd", type=int)
    parser.add_argument("--log-file")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    if "pandas" not in sys.modules:
        sys.meta_path.insert(0, WithoutPandas())
    handler = logging.FileHandler(args.log_file) if args.log_file else logging.StreamHandler()
    handler.setFormatter(
        logging.Formatter("%(asctime)s [%(name)s] %(levelname)s: %(message)s", "%Y-%m-%d %H:%M:%S")
    )
    logging.basicConfig(level=args.log_level, handlers=[handler])
    folder = Path(args.staging)
    pending = json.loads((folder / PENDING_FILE).read_text("utf-8"))
    manifest = pending["manifest"]
    stop_claim = _keep_claim(pending)
    try:
        target = publish_sealed(folder, manifest)
    except OSError as exc:
        if pending.get("shared"):  # many workers' parts: kept for the next publisher
            logger.error(
                "cannot publish snapshot %s: %s; the staged parts are kept in %s: start a "
                "worker again with ARCHIVER_CRAWL_ID=%s to publish them",
                manifest["snapshot_id"],
                exc,
                folder,
                pending["shared"]["crawl_id"],
            )
            _release_claim(pending)
            return 1
        journal = pending.get("journal")
        if journal and Path(journal).exists():
            # The journal will resume this snapshot: its WARC files are the evidence of the
            # pages it names, and cannot be fetched again as they were. Keep them.
            kept = keep_for_resume(folder, Path(journal))
            logger.error(
                "cannot publish snapshot %s: %s; %s",
                manifest["snapshot_id"],
                exc,
                f"its files are kept in {folder}: free the space and run the same crawl with "
                "the same JOBDIR to publish it"
                if kept
                else f"its files in {folder} could not be kept for resuming",
            )
        else:
            logger.error("cannot publish snapshot %s: %s", manifest["snapshot_id"], exc)
            shutil.rmtree(folder, ignore_errors=True)
        _tell_workers(pending, {"status": "failed", "error": str(exc)})
        return 1
    finally:
        stop_claim()
    status = manifest["status"]
    _tell_workers(pending, {"path": str(target), "status": status, "rows": manifest["rows"]})
    if pending.get("journal"):  # published: the journal has done its work
        Path(pending["journal"]).unlink(missing_ok=True)
    for fd in (args.journal_fd, args.lock_fd):
        if fd is not None:
            os.close(fd)
    sys.stdout.write(f"snapshot {status}: {target.resolve()} ({manifest['rows']} rows)\n")
    return EXIT_CODES.get(status, 1)


def _keep_claim(pending: dict[str, Any]) -> Any:
    """A shared crawl (``archiver.distribute``): keep this worker's claim on publishing alive
    while the files are built."""
    if not pending.get("shared"):
        return lambda: None
    from archiver.distribute.frontier import keep_claim

    return keep_claim(pending)


def _release_claim(pending: dict[str, Any]) -> None:
    from archiver.distribute.frontier import release_published

    release_published(pending)


def _tell_workers(pending: dict[str, Any], outcome: dict[str, Any]) -> None:
    if pending.get("shared"):
        from archiver.distribute.frontier import finish_published

        finish_published(pending, outcome)


if __name__ == "__main__":
    sys.exit(main())
