"""The capture middleware writes evidence only for what was fetched now."""

from __future__ import annotations

import pytest
from scrapy.exceptions import NotConfigured
from scrapy.utils.test import get_crawler

from archiver.middlewares.capture import CaptureMiddleware
from archiver.spiders.listing import ListingSpider


def test_a_replay_never_captures_its_pages_again() -> None:
    """A page answered from a WARC file was not fetched: recording it again would make a
    reparse look like a new capture of the site. archiver reparse leaves the middleware
    out of its settings; if it is put back, it still declines."""
    replay = get_crawler(ListingSpider, {"ARCHIVER_REPLAY": "/data/snapshots/x"})
    with pytest.raises(NotConfigured, match="replaying from WARC files"):
        CaptureMiddleware.from_crawler(replay)
    crawl = get_crawler(ListingSpider, {"ARCHIVER_REPLAY": ""})
    assert isinstance(CaptureMiddleware.from_crawler(crawl), CaptureMiddleware)
