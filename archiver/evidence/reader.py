"""Reading a snapshot's WARC files back: a response record by its offset (to replay a page),
the index of responses by record id, and ``archiver verify``'s check of every record.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from archiver.evidence.records import WARC_FOLDER, Capture, files, parse_warc_date

logger = logging.getLogger(__name__)


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
    """The response, resource or revisit record at ``offset`` in ``path``; a revisit's
    payload is read from the original it names (``archiver.evidence.revisits``)."""
    with path.open("rb") as stream:
        stream.seek(offset)
        record = next(iter(ArchiveIterator(stream)))
        body = record.raw_stream.read()
        headers = record.rec_headers
        if record.rec_type == "revisit":
            body = _original_payload(headers, snapshot_dir)
        if record.http_headers is not None and record.rec_type in ("response", "revisit"):
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


# Record offsets of the originals' files, read once a process: published files never change.
_OFFSETS: dict[Path, dict[str, int]] = {}


class MissingOriginal(OSError):
    """A revisit record whose original is not in the archive (pruned by hand, say)."""


def _original_payload(headers: Any, snapshot_dir: Path) -> bytes:
    from archiver.evidence.revisits import REFERS_TO, locate

    reference = headers.get_header(REFERS_TO) or ""
    original_id = headers.get_header("WARC-Refers-To") or ""
    found = locate(snapshot_dir.parent.parent, reference, original_id, _OFFSETS)
    if found is None:
        raise MissingOriginal(f"revisit of {original_id} in {reference}: original not found")
    with found[0].open("rb") as stream:
        stream.seek(found[1])
        return next(iter(ArchiveIterator(stream))).raw_stream.read()


def index_responses(snapshot_dir: Path) -> dict[str, tuple[Path, int]]:
    """URL -> (file, offset) of its last response, resource or revisit record."""
    index: dict[str, tuple[Path, int]] = {}
    for path in files(snapshot_dir / WARC_FOLDER):
        for offset, record in iter_records(path):
            if record.rec_type in ("response", "resource", "revisit"):
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
                if record.rec_type in ("response", "resource", "revisit"):
                    ids.add(record.rec_headers.get_header("WARC-Record-ID"))
        except (ArchiveLoadFailed, EOFError, OSError, zlib.error, ValueError):
            continue
    return found


def verify_file(
    path: Path, revisits: list[tuple[str, str, str]] | None = None
) -> tuple[list[str], dict[str, str]]:
    """Problems with one WARC file (unreadable, a block or payload digest that does not
    match), and the ids of its response, resource and revisit records with their types.
    ``revisits`` collects each revisit's (id, where its original is, the original's id)."""
    from archiver.evidence.revisits import REFERS_TO

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
                if record.rec_type in ("response", "resource", "revisit"):
                    ids[record_id] = record.rec_type
                if record.rec_type == "revisit" and revisits is not None:
                    headers = record.rec_headers
                    reference = headers.get_header(REFERS_TO) or ""
                    revisits.append((record_id, reference, headers.get_header("WARC-Refers-To")))
    except (ArchiveLoadFailed, EOFError, OSError, zlib.error, ValueError) as exc:
        problems.append(f"unreadable: {type(exc).__name__}: {str(exc).strip().splitlines()[0]}")
    return problems, ids
