"""``scrapy parse`` as Scrapy's own: it shows what the spider makes of one page (its items
and requests) and archives nothing.

Trying a page is no crawl: no snapshot is published (it would be an empty ``failed`` one
that retention then has to keep apart), no journal is written, no WARC kept. Bad ``-a``
arguments and settings end in one line, exit 2, as for ``scrapy crawl``.
"""

from __future__ import annotations

import argparse

from scrapy.commands.parse import Command as ScrapyParseCommand

from archiver.commands.crawl import refuse
from archiver.errors import ArchiverError
from archiver.preflight import check_settings


class Command(ScrapyParseCommand):
    def process_options(self, args: list[str], opts: argparse.Namespace) -> None:
        super().process_options(args, opts)
        assert self.settings is not None
        self.settings.set("ARCHIVER_SNAPSHOTS", False, priority="cmdline")
        self.settings.set("JOBDIR", None, priority="cmdline")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        try:
            check_settings(self.settings)
            if opts.spider and self.crawler_process is not None:
                spidercls = self.crawler_process.spider_loader.load(opts.spider)
                check = getattr(spidercls, "check_arguments", None)
                if check is not None:
                    check(**opts.spargs)
        except ArchiverError as exc:
            self.exitcode = refuse(str(exc), self.settings)
            return
        except KeyError:  # no such spider: Scrapy's own message follows
            pass
        super().run(args, opts)
