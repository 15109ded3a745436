"""Reading a snapshot again from its evidence alone: a download handler that answers every
request from the snapshot's WARC files, for ``archiver reparse``.

The crawl runs as it ran the first time (the same spider, the same pipelines, the same
pagination, redirects and failures), but every response comes from the archive, with the
time it was captured (``WARC-Date``) and the record it is. A URL is answered with its last
captured response: the one the first crawl read its rows from, after any retries. A URL
the archive does not hold is a failed page ("not in the archive"); a missing robots.txt is
answered 404, as a site without one would.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.core.downloader.handlers.base import BaseDownloadHandler
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Headers, Response
from scrapy.responsetypes import responsetypes
from scrapy.utils.asyncio import run_in_thread

from archiver.channels import META_FETCHED_AT, META_WARC_FILENAME, META_WARC_RECORD_ID
from archiver.evidence.reader import index_responses, read_response
from archiver.evidence.records import public_url


class NotArchived(IgnoreRequest):
    """The snapshot being re-read holds no response for this URL."""


class ReplayDownloadHandler(BaseDownloadHandler):
    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.snapshot_dir = Path(crawler.settings["ARCHIVER_REPLAY"])
        self.index = index_responses(self.snapshot_dir)

    async def download_request(self, request: Request) -> Response:
        url = public_url(request.url)
        found = self.index.get(url)
        if found is None:
            if urlsplit(url).path == "/robots.txt":
                return Response(url, status=404, request=request)
            raise NotArchived(f"not in the archive of {self.snapshot_dir.name}: {url}")
        stored = await run_in_thread(read_response, *found, self.snapshot_dir)
        headers = Headers()
        for name, value in stored.headers:
            headers.appendlist(name, value)
        kind = responsetypes.from_args(headers=headers, url=url, body=stored.body)
        request.meta[META_FETCHED_AT] = stored.fetched_at
        request.meta[META_WARC_RECORD_ID] = stored.capture.record_id
        request.meta[META_WARC_FILENAME] = stored.capture.filename
        return kind(url=url, status=stored.status, headers=headers, body=stored.body)
