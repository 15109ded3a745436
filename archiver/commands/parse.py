"""``scrapy parse`` as Scrapy's own: it shows what the spider makes of one page (its items
and requests) and archives nothing.

Trying a page is no crawl: no snapshot is published (it would be an empty ``failed`` one
that retention then has to keep apart), no journal is written, no WARC kept. Bad ``-a``
arguments and settings end in one line, exit 2, as for ``scrapy crawl``.
"""

from __future__ import annotations

import argparse
import contextlib

from scrapy.commands.parse import Command as ScrapyParseCommand

from archiver.commands.crawl import refuse
from archiver.errors import ArchiverError
from archiver.scope.preflight import check_settings, check_start


class Command(ScrapyParseCommand):
    def process_options(self, args: list[str], opts: argparse.Namespace) -> None:
        super().process_options(args, opts)
        assert self.settings is not None
        self.settings.set("ARCHIVER_SNAPSHOTS", False, priority="cmdline")
        self.settings.set("JOBDIR", None, priority="cmdline")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        spidercls = None
        if opts.spider and self.crawler_process is not None:
            with contextlib.suppress(KeyError):  # no such spider: Scrapy's message follows
                spidercls = self.crawler_process.spider_loader.load(opts.spider)
        try:  # the same start-up check as scrapy crawl's
            if spidercls is None:
                check_settings(self.settings)
            else:
                check_start(spidercls, opts.spargs, self.settings)
        except ArchiverError as exc:
            self.exitcode = refuse(str(exc), self.settings)
            return
        super().run(args, opts)
