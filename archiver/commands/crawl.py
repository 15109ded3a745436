"""``scrapy crawl`` as Scrapy's own, plus what a scheduler and a small machine need.

* Bad spider arguments, settings, start URLs or profiles (``archiver.scope.preflight``) end
  before crawling with one line, exit 2, and nothing published.
* The exit code says what was archived (see README, "Exit codes"):
  0 complete, 3 partial, 1 failed (nothing archived, or the crawl could not start).
* The snapshot is published by ``archiver.cli.publish``, which this process becomes when the
  crawl ends (``os.execv``: same process, log and exit code): the Parquet file is built
  without the crawl's memory, and a crawl never loads pyarrow.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, NoReturn

from scrapy.commands.crawl import Command as ScrapyCrawlCommand
from scrapy.crawler import Crawler
from scrapy.exceptions import UsageError
from scrapy.settings import SETTINGS_PRIORITIES, BaseSettings
from scrapy.utils.job import job_dir

from archiver import version
from archiver.channels import (
    STAT_SNAPSHOT_ERROR,
    STAT_SNAPSHOT_PATH,
    STAT_SNAPSHOT_PENDING,
    STAT_SNAPSHOT_ROWS,
    STAT_SNAPSHOT_STATUS,
)
from archiver.distribute.frontier import Frontier
from archiver.errors import BAD_INPUT, EXIT_CODES, STATUS_OF_EXIT, ArchiverError
from archiver.extensions import SnapshotWriter
from archiver.scope.listings import ALL, NamedListing, listings_path, named_listings
from archiver.scope.preflight import check_settings, check_start
from archiver.store.journal import PageJournal

logger = logging.getLogger(__name__)


def crawl_each(listings: list[NamedListing], spargs: dict[str, Any], settings: Any) -> int:
    """Crawl each named listing as its own ``scrapy crawl listing -a listing=NAME`` run, one
    after another (each with its own snapshot, publisher and exit code); the exit code is
    the worst of theirs: bad input, then failed, then partial."""
    command = [sys.executable, "-m", _entry_module()]
    given = [
        f"{name}={_setting_text(settings[name])}"
        for name in settings
        if settings.getpriority(name) == SETTINGS_PRIORITIES["cmdline"]
        and name not in ("ARCHIVER_PUBLISH_BY_EXEC", "JOBDIR")
    ]
    jobdir = job_dir(settings)
    codes: dict[str, int] = {}
    for listing in listings:
        argv = [*command, "crawl", "listing", "-a", f"listing={listing.name}"]
        for key, value in spargs.items():
            if key != "listing":
                argv += ["-a", f"{key}={value}"]
        for text in given:
            argv += ["-s", text]
        if jobdir:  # each listing resumes from its own journal
            argv += ["-s", f"JOBDIR={Path(jobdir) / listing.name}"]
        logger.info("crawling listing %s (%d of %d)", listing.name, len(codes) + 1, len(listings))
        codes[listing.name] = subprocess.run(argv, check=False).returncode
    summary = ", ".join(
        f"{name} {STATUS_OF_EXIT.get(code, f'exit {code}')}" for name, code in codes.items()
    )
    sys.stdout.write(f"listings crawled: {summary}\n")
    for worst in (BAD_INPUT, EXIT_CODES["failed"], EXIT_CODES["partial"]):
        if worst in codes.values():
            return worst
    return max(codes.values(), default=0)


def _entry_module() -> str:
    """``scrapy``, or Scrapyd's runner when Scrapyd started this run: the children then
    find the project's egg as this process did."""
    return "scrapyd.runner" if Path(sys.argv[0]).match("scrapyd/runner.py") else "scrapy"


def _setting_text(value: Any) -> str:
    return json.dumps(value) if isinstance(value, dict | list) else str(value)


def refuse(message: str, settings: Any) -> int:
    """A run that cannot start: the one line on stderr, last, with nothing after it (no
    usage text), and in the log file too when there is one; the exit code for bad input."""
    if settings is not None and settings.get("LOG_FILE"):
        logger.error("%s", message)
    sys.stdout.flush()
    sys.stderr.write(f"scrapy: error: {message}\n")
    sys.stderr.flush()
    return BAD_INPUT


class Command(ScrapyCrawlCommand):
    def process_options(self, args: list[str], opts: argparse.Namespace) -> None:
        super().process_options(args, opts)
        assert self.settings is not None
        self.settings.set("ARCHIVER_PUBLISH_BY_EXEC", True, priority="cmdline")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if len(args) != 1:
            super().run(args, opts)
            return
        assert self.crawler_process is not None
        loader = self.crawler_process.spider_loader
        try:
            spidercls = loader.load(args[0])
        except KeyError:
            spiders = ", ".join(loader.list())
            self.exitcode = refuse(
                f"no spider named {args[0]!r}; this project has {spiders}", self.settings
            )
            return
        try:  # -a listing=NAME / listings=all: the listings file says what to crawl
            several = self._named_listings(spidercls, opts)
        except ArchiverError as exc:
            self.exitcode = refuse(str(exc), self.settings)
            return
        if several is not None:
            self.exitcode = crawl_each(several, opts.spargs, self.settings)
            return
        try:  # bad -a arguments, settings, start URLs, profiles: one line, before any crawl
            check_start(spidercls, opts.spargs, self.settings)
        except ArchiverError as exc:
            self.exitcode = refuse(str(exc), self.settings)
            return
        if self.settings.get("ARCHIVER_REDIS_URL"):
            problem = self._check_shared()
            if problem:
                sys.stderr.write(f"scrapy: error: {problem}\n")
                self.exitcode = 1
                return
        jobdir = job_dir(self.settings)
        if jobdir:
            try:  # a second crawl on a running crawl's JOBDIR: say so, start nothing
                PageJournal(jobdir).close()
            except ArchiverError as exc:
                sys.stderr.write(f"scrapy: error: {exc}\n")
                self.exitcode = 1
                return
        crawler = self._create_crawler(spidercls)
        self.crawler_process.crawl(crawler, **opts.spargs)
        self.crawler_process.start()
        if self.crawler_process.bootstrap_failed:
            self.exitcode = 1
            return
        stats = crawler.stats
        status = stats.get_value(STAT_SNAPSHOT_STATUS) if stats else None
        if status is None and self.settings.getbool("ARCHIVER_SNAPSHOTS", True):
            # Snapshots were on, yet none was published: never let a scheduler read that as
            # success. Say so, unless the writer already said why.
            if stats.get_value(STAT_SNAPSHOT_ERROR):
                pass  # the writer said why
            elif self.settings.get("ARCHIVER_REDIS_URL"):  # stopped before its spider opened
                from archiver.distribute.joining import leave_unopened

                crawl = leave_unopened(crawler, stats.get_value("finish_reason") or "shutdown")
                sys.stderr.write(
                    f"scrapy: error: worker stopped before it took any page; crawl {crawl} "
                    "goes on with the other workers\n"
                )
            else:
                sys.stderr.write("scrapy: error: the crawl ended without publishing a snapshot\n")
            self.exitcode = 1
            return
        if status is None:  # snapshots off (-s ARCHIVER_SNAPSHOTS=0)
            self.exitcode = 0 if stats and stats.get_value("finish_reason") == "finished" else 1
            return
        pending = stats.get_value(STAT_SNAPSHOT_PENDING)
        if pending:
            self._become_publisher(pending, crawler)
        self.exitcode = EXIT_CODES.get(status, 1)
        path = stats.get_value(STAT_SNAPSHOT_PATH)
        if path:  # the one line a person or a cron mail needs: where the snapshot went
            scraped = stats.get_value("item_scraped_count", 0)
            rows = stats.get_value(STAT_SNAPSHOT_ROWS, scraped)
            sys.stdout.write(f"snapshot {status}: {Path(path).resolve()} ({rows} rows)\n")

    def _named_listings(
        self, spidercls: type, opts: argparse.Namespace
    ) -> list[NamedListing] | None:
        """Put a named listing's arguments and settings in place of ``-a listing=NAME``;
        with several listings named (``listings=all``, ``listing=a,b``), return them: each
        is crawled as its own run, into its own snapshot."""
        if getattr(spidercls, "name", None) != "listing":
            return None
        spargs = opts.spargs
        every = spargs.pop("listings", None)
        if every is not None:
            if "listing" in spargs:
                raise ArchiverError("-a listing and -a listings: give one of them")
            if every.strip() != ALL:
                raise ArchiverError(
                    f"-a listings={every}: give listings=all, or listing=NAME[,NAME...]"
                )
        names = every if every is not None else spargs.get("listing")
        if names is None:
            return None
        path = listings_path(self.settings.get("ARCHIVER_LISTINGS"))
        picked = named_listings(path, names)
        for key in ("start_urls", "profile", "max_pages"):
            if key in spargs:
                raise ArchiverError(
                    f"-a listing={names} and -a {key}: the listing's {key} is in {path}; "
                    "give one of them"
                )
        for listing in picked:  # a bad setting in the file is named with its file
            try:
                check_settings(BaseSettings(listing.settings))
            except ArchiverError as exc:
                raise ArchiverError(f"{path} [{listing.name}] settings: {exc}") from exc
        if len(picked) > 1:
            if opts.output or opts.overwrite_output:
                raise ArchiverError(
                    "-o/-O with several listings: each listing is its own crawl; give the "
                    "feed with one listing"
                )
            return picked
        listing = picked[0]
        spargs.update(listing.spider_arguments())
        for settings in {id(s): s for s in (self.settings, self.crawler_process.settings)}.values():
            for key, value in listing.settings.items():
                settings.set(key, value, priority="spider")  # -s on the command line wins
        return None

    def _check_shared(self) -> str | None:
        """A worker of a shared crawl (``archiver.distribute``): the settings that cannot go
        together, and Redis reachable; one line saying what is wrong, or None."""
        settings = self.settings
        assert settings is not None
        if job_dir(settings):
            raise UsageError(
                "JOBDIR and ARCHIVER_REDIS_URL: a shared crawl keeps its state in Redis "
                "(start the workers again with the same ARCHIVER_CRAWL_ID to resume)",
                print_help=False,
            )
        if not settings.getbool("ARCHIVER_SNAPSHOTS", True):
            raise UsageError(
                "ARCHIVER_SNAPSHOTS=False and ARCHIVER_REDIS_URL: the workers of a shared "
                "crawl exist to publish one snapshot together",
                print_help=False,
            )
        try:
            Frontier.connect(
                settings["ARCHIVER_REDIS_URL"],
                settings.get("ARCHIVER_CRAWL_ID") or "",
                settings.getfloat("ARCHIVER_REDIS_LEASE", 60.0),
            ).redis.close()
        except ArchiverError as exc:
            return str(exc)
        return None

    def _become_publisher(self, staging: str, crawler: Crawler) -> NoReturn:
        """Replace this process with ``archiver.cli.publish``, keeping the journal's lock."""
        command = [sys.executable, "-m", "archiver.cli.publish", staging]
        journal = getattr(crawler.spider, "journal", None)
        if journal is not None and not journal.closed:
            fd = journal.fileno()
            os.set_inheritable(fd, True)
            command += ["--journal-fd", str(fd)]
        writer = SnapshotWriter.of(crawler)
        if writer is not None and writer.snapshot is not None and writer.snapshot.lock_fd:
            os.set_inheritable(writer.snapshot.lock_fd, True)  # prune keeps off until published
            command += ["--lock-fd", str(writer.snapshot.lock_fd)]
        settings = crawler.settings
        if settings.get("LOG_FILE"):
            command += ["--log-file", settings["LOG_FILE"]]
        command += ["--log-level", str(settings.get("LOG_LEVEL", "INFO"))]
        # Where archiver was imported from (a Scrapyd egg, say) must be importable there too.
        source = str(Path(version.__file__).resolve().parents[1])
        paths = [source, *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
        os.environ["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
        sys.stdout.flush()
        sys.stderr.flush()
        logging.shutdown()
        os.execv(sys.executable, command)
