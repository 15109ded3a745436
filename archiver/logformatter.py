"""Scrapy's log lines, as an archive's log needs them.

A dropped entry (one without a title: an advert among the posts, an empty row) is an
ordinary event on real listing pages, counted in the stats (``archiver/validate/title/
missing``). Scrapy logs each as a WARNING followed by the whole item, several lines long;
here it is one INFO line naming the entry and its page.
"""

from __future__ import annotations

import logging
from typing import Any

from scrapy import Spider
from scrapy.http import Response
from scrapy.logformatter import LogFormatter, LogFormatterResult
from twisted.python.failure import Failure


class ArchiverLogFormatter(LogFormatter):
    def dropped(
        self,
        item: Any,
        exception: BaseException,
        response: Response | Failure | None,
        spider: Spider,
    ) -> LogFormatterResult:
        return {
            "level": logging.INFO,
            "msg": "Dropped: %(exception)s",
            "args": {"exception": exception},
        }
