"""Scrapy add-ons (``ADDONS``): a setting switches a crawl into a mode with its own parts.

``Distributed``: with ``-s ARCHIVER_REDIS_URL=redis://HOST:6379/0``, the crawl is one worker
of many that share a crawl in Redis (``archiver.distribute``). Without that setting it changes
nothing, and a crawl by one process never imports Redis.
"""

from __future__ import annotations

from scrapy.settings import Settings

# Above -s (cmdline, 40): what a shared crawl replaces is replaced whatever was given.
SHARED = 50


class Distributed:
    def update_settings(self, settings: Settings) -> None:
        if not settings.get("ARCHIVER_REDIS_URL"):
            return
        settings.set("SCHEDULER", "archiver.distribute.scheduler.SharedScheduler", SHARED)
        settings.replace_in_component_priority_dict(
            "EXTENSIONS",
            _load("archiver.extensions.SnapshotWriter"),
            _load("archiver.distribute.writer.SharedSnapshotWriter"),
        )
        settings.set_in_component_priority_dict(
            "DOWNLOADER_MIDDLEWARES",
            _load("archiver.distribute.politeness.SharedPolitenessMiddleware"),
            900,
        )
        # Next to the page-error middleware (1000), so it sees what a page finally gave.
        settings.set_in_component_priority_dict(
            "SPIDER_MIDDLEWARES", _load("archiver.distribute.pages.SharedPagesMiddleware"), 990
        )
        # Politeness per host is kept by a gate every worker shares (SharedPolitenessMiddleware):
        # it takes the delay and concurrency asked for; each worker's own delay would add to
        # it, and AutoThrottle, which measures one worker's responses only, is replaced by it.
        settings.set("ARCHIVER_HOST_DELAY", settings.getfloat("DOWNLOAD_DELAY"), SHARED)
        settings.set(
            "ARCHIVER_HOST_CONCURRENCY", settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN"), SHARED
        )
        settings.set("DOWNLOAD_DELAY", 0, SHARED)
        settings.set("AUTOTHROTTLE_ENABLED", False, SHARED)


def _load(path: str) -> type:
    from scrapy.utils.misc import load_object

    return load_object(path)
