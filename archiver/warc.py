"""The evidence of a snapshot: every HTTP exchange of its crawl, in WARC files (ISO 28500).

Written with warcio, the reference library, as Heritrix and Browsertrix write them:

* gzip WARC/1.1 files, one record per gzip member, each file opening with a ``warcinfo``
  record; ``WARC-Date`` has microseconds, the capture time the rows carry as ``fetched_at``;
* a ``response`` record with the status line, the headers and the body as they were
  received, *before* content decoding (a gzip body stays gzip), followed by the ``request``
  record that asked for it (``WARC-Concurrent-To``); pages read from ``file:`` URLs are
  ``resource`` records;
* nothing secret: request records carry no ``Cookie`` or ``Authorization`` header, and no
  user name or password appears in a ``WARC-Target-URI``.

A file being written is named ``*.warc.gz.open`` (Heritrix's convention) and only becomes
``*.warc.gz`` when the snapshot is published, so a killed crawl never leaves a WARC that
looks complete. A resumed crawl (``JOBDIR``) keeps its files: a torn last record is cut off
and writing goes on in a new file.

Scrapy hands us the body with its transfer encoding already undone, so a
``Transfer-Encoding: chunked`` header is left out of the stored headers, as capture proxies
that de-chunk do; everything else is stored as received.
"""

from __future__ import annotations

import contextlib
import io
import logging
import mimetypes
import os
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit, urlunsplit

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed
from warcio.statusandheaders import StatusAndHeaders
from warcio.timeutils import datetime_to_iso_date, iso_date_to_datetime
from warcio.warcwriter import WARCWriter

from archiver.version import PROJECT_URL, __version__

logger = logging.getLogger(__name__)

WARC_FOLDER = "_warc"
SUFFIX = ".warc.gz"
OPEN_SUFFIX = ".warc.gz.open"
WARC_VERSION = "1.1"
MAX_FILE_BYTES = 1_000_000_000  # the customary 1 GB per WARC file
# Request headers never written: credentials and session state.
SECRET_HEADERS = frozenset({"cookie", "authorization", "proxy-authorization"})
# Response headers that describe the transport, not the stored body.
TRANSPORT_HEADERS = frozenset({"transfer-encoding"})


def public_url(url: str) -> str:
    """``url`` without a user name or password: those never go into a WARC."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit(parts._replace(netloc=netloc))


def warc_date(moment: datetime) -> str:
    return datetime_to_iso_date(moment.astimezone(UTC).replace(tzinfo=None), use_micros=True)


def parse_warc_date(text: str) -> datetime:
    return iso_date_to_datetime(text, tz_aware=True)


def _header_pairs(headers: Any, drop: frozenset[str]) -> list[tuple[str, str]]:
    """(name, value) pairs from Scrapy ``Headers`` or a mapping, one per value."""
    pairs = []
    for name, values in headers.items():
        text = name.decode("latin-1") if isinstance(name, bytes) else str(name)
        if text.lower() in drop:
            continue
        for value in values if isinstance(values, list | tuple) else [values]:
            pairs.append(
                (text, value.decode("latin-1") if isinstance(value, bytes) else str(value))
            )
    return pairs


@dataclass(frozen=True)
class Exchange:
    """One HTTP exchange (or one file read) as the crawl saw it."""

    url: str
    fetched_at: datetime
    status: int = 200
    protocol: str = "HTTP/1.1"
    headers: Any = ()  # response headers
    body: bytes = b""
    method: str = "GET"
    request_headers: Any = ()
    ip_address: str | None = None


@dataclass(frozen=True)
class Capture:
    """Where an exchange's response record is: the row's evidence."""

    record_id: str
    filename: str  # relative to the snapshot directory, e.g. "_warc/ID-00000.warc.gz"


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
        response = self._builder.create_warc_record(
            url,
            "response",
            payload=io.BytesIO(exchange.body),
            length=len(exchange.body),
            warc_headers_dict=headers,
            http_headers=StatusAndHeaders(
                status_line,
                _header_pairs(exchange.headers, TRANSPORT_HEADERS),
                protocol=exchange.protocol or "HTTP/1.1",
            ),
        )
        parts = urlsplit(url)
        target = parts.path or "/"
        if parts.query:
            target += f"?{parts.query}"
        request_headers = _header_pairs(exchange.request_headers, SECRET_HEADERS)
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


def files(folder: Path) -> list[Path]:
    """The finished WARC files in ``folder``, in the order they were written."""
    return sorted(folder.glob(f"*{SUFFIX}")) if folder.is_dir() else []


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


# --- reading --------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredResponse:
    """A response (or resource) record read back: enough to replay the page."""

    url: str
    fetched_at: datetime
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    capture: Capture


def iter_records(path: Path) -> Iterator[tuple[int, Any]]:
    """(offset, record) for every record of a WARC file; the record's body must be read
    before the next one is taken."""
    with path.open("rb") as stream:
        iterator = ArchiveIterator(stream)
        for record in iterator:
            yield iterator.get_record_offset(), record


def read_response(path: Path, offset: int, snapshot_dir: Path) -> StoredResponse:
    """The response or resource record at ``offset`` in ``path``."""
    with path.open("rb") as stream:
        stream.seek(offset)
        record = next(iter(ArchiveIterator(stream)))
        body = record.raw_stream.read()
        headers = record.rec_headers
        if record.http_headers is not None and record.rec_type == "response":
            status = int(record.http_headers.get_statuscode() or 0)
            http = list(record.http_headers.headers)
        else:
            status, http = 200, []
        return StoredResponse(
            url=headers.get_header("WARC-Target-URI"),
            fetched_at=parse_warc_date(headers.get_header("WARC-Date")),
            status=status,
            headers=http,
            body=body,
            capture=Capture(
                headers.get_header("WARC-Record-ID"), path.relative_to(snapshot_dir).as_posix()
            ),
        )


def index_responses(snapshot_dir: Path) -> dict[str, tuple[Path, int]]:
    """URL -> (file, offset) of its last response or resource record in a snapshot."""
    index: dict[str, tuple[Path, int]] = {}
    for path in files(snapshot_dir / WARC_FOLDER):
        for offset, record in iter_records(path):
            if record.rec_type in ("response", "resource"):
                index[record.rec_headers.get_header("WARC-Target-URI")] = (path, offset)
    return index


def response_ids(snapshot_dir: Path) -> dict[str, set[str]]:
    """WARC file (as rows name it, ``_warc/...``) -> the ids of its response and resource
    records: what a resumed crawl checks its journal against. A file torn mid-record
    counts the records before the tear."""
    found: dict[str, set[str]] = {}
    for path in files(snapshot_dir / WARC_FOLDER):
        ids = found.setdefault(path.relative_to(snapshot_dir).as_posix(), set())
        try:
            for _, record in iter_records(path):
                if record.rec_type in ("response", "resource"):
                    ids.add(record.rec_headers.get_header("WARC-Record-ID"))
        except (ArchiveLoadFailed, EOFError, OSError, zlib.error, ValueError):
            continue
    return found


def verify_file(path: Path) -> tuple[list[str], dict[str, str]]:
    """Problems with one WARC file (unreadable, a block or payload digest that does not
    match), and the ids of its response and resource records with their types."""
    problems: list[str] = []
    ids: dict[str, str] = {}
    try:
        with path.open("rb") as stream:
            iterator = ArchiveIterator(stream, check_digests=True)
            for record in iterator:
                while record.raw_stream.read(1 << 20):
                    pass
                record_id = record.rec_headers.get_header("WARC-Record-ID")
                if record.digest_checker.passed is False:
                    problems += [f"record {record_id}: {p}" for p in record.digest_checker.problems]
                if record.rec_type in ("response", "resource"):
                    ids[record_id] = record.rec_type
    except (ArchiveLoadFailed, EOFError, OSError, zlib.error, ValueError) as exc:
        problems.append(f"unreadable: {type(exc).__name__}: {str(exc).strip().splitlines()[0]}")
    return problems, ids
