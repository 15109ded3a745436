"""Every response is stamped with its capture time and kept as evidence in WARC files.

Placed next to the downloader (its ``process_response`` runs before decompression,
redirects and retries), so each response is recorded as it was received: pages,
``robots.txt``, redirects and error answers alike. The capture time goes to the spider as
``meta[META_FETCHED_AT]`` (the rows' ``fetched_at`` and the record's ``WARC-Date`` are one
value) and the record's id and file as ``meta[META_WARC_RECORD_ID]``/``meta[META_WARC_FILENAME]``.

Not used by ``archiver reparse``: there the responses come from WARC files already
(``archiver.evidence.replay``), with their own times and records.
"""

from __future__ import annotations

from datetime import UTC, datetime

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Response

from archiver.channels import META_FETCHED_AT, META_WARC_FILENAME, META_WARC_RECORD_ID
from archiver.evidence.records import Exchange
from archiver.extensions import SnapshotWriter


class CaptureMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CaptureMiddleware:
        if crawler.settings.get("ARCHIVER_REPLAY"):  # archiver reparse leaves it out anyway
            raise NotConfigured("replaying from WARC files: nothing new to capture")
        return cls(crawler)

    def process_response(self, request: Request, response: Response) -> Response:
        fetched_at = datetime.now(UTC)
        request.meta[META_FETCHED_AT] = fetched_at
        request.meta.pop("warc_record_id", None)
        request.meta.pop("warc_filename", None)
        writer = SnapshotWriter.of(self.crawler)
        if writer is None:
            return response
        ip = getattr(response, "ip_address", None)
        capture = writer.capture(
            Exchange(
                url=response.url,
                fetched_at=fetched_at,
                status=response.status,
                protocol=getattr(response, "protocol", None) or "HTTP/1.1",
                headers=response.headers,
                body=response.body,
                method=request.method,
                request_headers=request.headers,
                ip_address=str(ip) if ip is not None else None,
            )
        )
        if capture is not None:
            request.meta[META_WARC_RECORD_ID] = capture.record_id
            request.meta[META_WARC_FILENAME] = capture.filename
            self.stats.inc_value("archiver/warc/record/response")
        return response
