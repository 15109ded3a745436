"""The listing spider run inside this process, as ``archiver profile check`` and
``archiver reparse`` run it: the project's settings, the caller's on top, Scrapy's reactor."""

from __future__ import annotations

from typing import Any

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings
from scrapy.utils.reactor import install_reactor


def crawler_process(overrides: dict[str, Any]) -> tuple[CrawlerProcess, Settings]:
    """A Scrapy process with archiver's settings and ``overrides`` (as if given with ``-s``).
    Once per process: Twisted's reactor cannot be started twice."""
    settings = Settings()
    settings.setmodule("archiver.settings", priority="project")
    settings.update(overrides, priority="cmdline")
    install_reactor(settings["TWISTED_REACTOR"])
    return CrawlerProcess(settings), settings
