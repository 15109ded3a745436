"""Writing a snapshot's WARC files with warcio, off the crawl's thread, and closing the
``.open`` files a killed crawl left (a torn last record cut off).
"""

from __future__ import annotations

import contextlib
import io
import logging
import mimetypes
import os
import zlib
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from http import HTTPStatus
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from archiver.evidence.records import (
    MAX_FILE_BYTES,
    OPEN_SUFFIX,
    SECRET_HEADERS,
    SUFFIX,
    TRANSPORT_HEADERS,
    WARC_FOLDER,
    WARC_VERSION,
    Capture,
    Exchange,
    files,
    header_pairs,
    public_url,
    warc_date,
)
from archiver.evidence.revisits import REFERS_TO, Original, payload_digest
from archiver.version import PROJECT_URL, __version__

logger = logging.getLogger(__name__)


class WarcWriter:
    """Appends records to one snapshot's WARC files in ``folder``, rotating at ``max_bytes``
    (of records before compression).

    Records are built by warcio (headers, digests) in the caller's thread; compressing each
    into a gzip member of its own (zlib's default level, so readers seek to any record) and
    writing it happen in order on one background thread: zlib releases Python's lock, so a
    crawl goes on parsing while its evidence is compressed. A write error is raised by the
    next call. At most ``QUEUE`` records wait; ``sync`` and ``close`` wait for all of them.
    """

    QUEUE = 64

    def __init__(
        self,
        folder: Path,
        prefix: str,
        *,
        info: dict[str, str] | None = None,
        max_bytes: int = MAX_FILE_BYTES,
        level: int = 6,
        originals: dict[str, Original] | None = None,
    ) -> None:
        self.folder = folder
        self.prefix = prefix
        self.info = info or {}
        self.max_bytes = max_bytes
        self.level = level
        self.folder.mkdir(parents=True, exist_ok=True)
        self.recovered = recover(folder, prefix)
        self._serial = len(list(self.folder.glob(f"{prefix}-*{SUFFIX}*")))
        self._handle: BinaryIO | None = None
        self._path: Path | None = None
        self._name: str | None = None  # the file records go to, as the caller sees it
        self._size = 0
        self.records = 0
        # Payloads an earlier snapshot keeps (archiver.evidence.revisits): written as revisits.
        self.originals = originals or {}
        self.revisits = 0
        self.revisited: set[str] = set()  # the snapshots those revisits need
        self._builder = WARCWriter(io.BytesIO(), gzip=False, warc_version=WARC_VERSION)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="warc")
        self._pending: deque[Future[None]] = deque()
        self._error: BaseException | None = None

    # --- writing ----------------------------------------------------------------------------

    def _serialise(self, records: Iterable[Any]) -> list[bytes]:
        """Each record as warcio writes it, uncompressed (headers, digests: this thread)."""
        out = []
        for record in records:
            buffer = io.BytesIO()
            self._builder.out = buffer
            self._builder.write_record(record)
            out.append(buffer.getvalue())
        return out

    def _compress(self, records: list[bytes]) -> bytes:
        out = bytearray()
        for data in records:
            compressor = zlib.compressobj(self.level, zlib.DEFLATED, zlib.MAX_WBITS | 16)
            out += compressor.compress(data) + compressor.flush()
        return bytes(out)

    def _submit(self, job: Callable[[], None]) -> None:
        self._raise_error()
        while len(self._pending) >= self.QUEUE:
            self._pending.popleft().result()
        while self._pending and self._pending[0].done():
            self._pending.popleft().result()
        self._pending.append(self._pool.submit(self._guarded, job))

    def _guarded(self, job: Callable[[], None]) -> None:
        if self._error is not None:
            return  # a write failed: the snapshot is being abandoned, write nothing more
        try:
            job()
        except BaseException as exc:
            self._error = exc

    def _raise_error(self) -> None:
        if self._error is not None:
            raise self._error

    def _drain(self) -> None:
        while self._pending:
            self._pending.popleft().result()
        self._raise_error()

    def _start_file(self) -> str:
        """Name the next file and have it opened (with its warcinfo record) in order."""
        name = f"{self.prefix}-{self._serial:05d}{SUFFIX}"
        self._serial += 1
        info = {
            "software": f"archiver/{__version__} (+{PROJECT_URL}) with warcio",
            "format": "WARC File Format 1.1",
            "conformsTo": "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/",
            **self.info,
        }
        warcinfo = self._serialise([self._builder.create_warcinfo_record(name, info)])
        if self._name is not None:
            self._submit(self._finish_file)
        self._submit(lambda: self._open_file(name, warcinfo))
        self._name = name
        self._size = sum(map(len, warcinfo))
        return name

    def _open_file(self, name: str, warcinfo: list[bytes]) -> None:  # on the writer thread
        self._path = self.folder / (name + ".open")
        self._handle = self._path.open("xb")
        self._handle.write(self._compress(warcinfo))

    def _finish_file(self) -> None:  # on the writer thread
        if self._handle is None or self._path is None:
            return
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self._handle.close()
        os.rename(self._path, self._path.with_name(self._path.name.removesuffix(".open")))
        self._handle = self._path = None

    def _write(self, records: list[Any]) -> str:
        data = self._serialise(records)
        size = sum(map(len, data))
        if self._name is None or (self._size and self._size + size > self.max_bytes):
            self._start_file()
        self._size += size
        self.records += len(records)

        def write() -> None:
            assert self._handle is not None
            self._handle.write(self._compress(data))

        self._submit(write)
        return f"{WARC_FOLDER}/{self._name}"

    def capture(self, exchange: Exchange) -> Capture:
        """Write ``exchange`` (a response and its request, or a file as a resource)."""
        url = public_url(exchange.url)
        headers = {"WARC-Date": warc_date(exchange.fetched_at)}
        if urlsplit(url).scheme == "file":
            kind = mimetypes.guess_type(urlsplit(url).path)[0] or "application/octet-stream"
            record = self._builder.create_warc_record(
                url,
                "resource",
                payload=io.BytesIO(exchange.body),
                length=len(exchange.body),
                warc_content_type=kind,
                warc_headers_dict=headers,
            )
            filename = self._write([record])
            return Capture(record.rec_headers.get_header("WARC-Record-ID"), filename)
        if exchange.ip_address:
            headers["WARC-IP-Address"] = exchange.ip_address
        try:
            phrase = HTTPStatus(exchange.status).phrase
        except ValueError:
            phrase = ""
        status_line = f"{exchange.status} {phrase}".strip()
        http_headers = StatusAndHeaders(
            status_line,
            header_pairs(exchange.headers, TRANSPORT_HEADERS),
            protocol=exchange.protocol or "HTTP/1.1",
        )
        original = None
        if self.originals and exchange.body:  # no digest to compute on a listing's first crawl
            original = self.originals.get(payload_digest(exchange.body))
        if original is not None:  # kept by an earlier snapshot: point to it
            response = self._builder.create_revisit_record(
                url,
                payload_digest(exchange.body),
                original.uri,
                original.date,
                http_headers=http_headers,
                warc_headers_dict=headers,
            )
            response.rec_headers.add_header("WARC-Refers-To", original.record_id)
            response.rec_headers.add_header(REFERS_TO, original.reference)
            self.revisits += 1
            self.revisited.add(original.snapshot_id)
        else:
            response = self._builder.create_warc_record(
                url,
                "response",
                payload=io.BytesIO(exchange.body),
                length=len(exchange.body),
                warc_headers_dict=headers,
                http_headers=http_headers,
            )
        parts = urlsplit(url)
        target = parts.path or "/"
        if parts.query:
            target += f"?{parts.query}"
        request_headers = header_pairs(exchange.request_headers, SECRET_HEADERS)
        if not any(name.lower() == "host" for name, _ in request_headers):
            request_headers.insert(0, ("Host", parts.netloc))
        request = self._builder.create_warc_record(
            url,
            "request",
            warc_headers_dict=dict(headers),
            http_headers=StatusAndHeaders(
                f"{exchange.method} {target} HTTP/1.1", request_headers, is_http_request=True
            ),
        )
        record_id = response.rec_headers.get_header("WARC-Record-ID")
        request.rec_headers.add_header("WARC-Concurrent-To", record_id)
        return Capture(record_id, self._write([response, request]))

    # --- durability -------------------------------------------------------------------------

    def sync(self) -> None:
        """Make every record written so far durable (before a journal names one of them)."""

        def flush() -> None:
            if self._handle is not None:
                self._handle.flush()
                os.fsync(self._handle.fileno())

        self._submit(flush)
        self._drain()

    def close(self) -> list[Path]:
        """Finish the open file; return every WARC file of the snapshot, in order."""
        if self._name is not None:
            self._submit(self._finish_file)
        self._drain()
        self._pool.shutdown()
        return files(self.folder)

    def abort(self) -> None:
        """Stop writing (the snapshot is abandoned); the files are removed by the caller."""
        self._error = self._error or OSError("WARC writing abandoned")
        self._pool.shutdown(wait=True, cancel_futures=True)
        if self._handle is not None:
            with contextlib.suppress(OSError):
                self._handle.close()
        self._handle = self._path = None


def _whole_record(member: bytes) -> bool:
    """True when a decompressed gzip member holds one whole WARC record."""
    head, separator, _ = member.partition(b"\r\n\r\n")
    if not separator or not head.startswith(b"WARC/"):
        return False
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            try:
                return len(member) == len(head) + 4 + int(value) + 4
            except ValueError:
                return False
    return False


def complete_length(path: Path) -> int:
    """The length of ``path``'s leading run of whole records: every gzip member must end
    (a truncated member still decompresses, in part) and hold a record of the length its
    header states."""
    good = offset = 0
    decompressor = zlib.decompressobj(zlib.MAX_WBITS | 16)
    member = bytearray()
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            data = chunk
            while data:
                try:
                    member += decompressor.decompress(data)
                except zlib.error:
                    return good
                if not decompressor.eof:
                    offset += len(data)
                    break
                offset += len(data) - len(decompressor.unused_data)
                if not _whole_record(bytes(member)):
                    return good
                good, member = offset, bytearray()
                data = decompressor.unused_data
                decompressor = zlib.decompressobj(zlib.MAX_WBITS | 16)
    return good


def recover(folder: Path, prefix: str = "") -> list[Path]:
    """Close the ``.open`` files a killed crawl left: keep their whole records, cut off a
    torn last one, and give them their final name. Returns the files recovered.

    ``prefix``: only the files of one writer (the workers of a shared crawl write side by
    side, and a live worker's open file is not another's to close)."""
    recovered = []
    pattern = f"{prefix}-*{OPEN_SUFFIX}" if prefix else f"*{OPEN_SUFFIX}"
    for path in sorted(folder.glob(pattern)):
        good = complete_length(path)
        if good < path.stat().st_size:
            logger.warning("%s: cutting off a torn last record (%d bytes kept)", path, good)
            with path.open("r+b") as handle:
                handle.truncate(good)
                handle.flush()
                os.fsync(handle.fileno())
        final = path.with_name(path.name.removesuffix(".open"))
        os.rename(path, final)
        recovered.append(final)
    return recovered
