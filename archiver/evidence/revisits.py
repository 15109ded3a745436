"""Revisits: a response whose payload an earlier snapshot of the listing already keeps is
written as a WARC ``revisit`` record that points to it, not stored again.

This is WARC 1.1's identical-payload-digest profile, as Heritrix and Browsertrix write it:
the revisit keeps the HTTP status and headers of this capture and names the original by
``WARC-Refers-To`` (record id), ``WARC-Refers-To-Target-URI`` and ``WARC-Refers-To-Date``,
which pywb resolves through its index. One more field, ``Archiver-Refers-To``
(``<snapshot id>/<file>``), says where the original is in the archive, so that
``archiver reparse`` and ``verify`` find it without an index; the manifest lists the
snapshots a snapshot's revisits need (``revisits.of``), and ``archiver prune`` keeps them.

Every revisit points to an original response, never to another revisit: one hop. A daily
crawl of an unchanged listing stores its pages once.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from pathlib import Path

from archiver.evidence.reader import iter_records
from archiver.evidence.records import WARC_FOLDER, files

REFERS_TO = "Archiver-Refers-To"  # "<snapshot id>/_warc/<file>"


@dataclass(frozen=True)
class Original:
    """A response record holding a payload, where a revisit can find it."""

    uri: str
    date: str  # its WARC-Date, as written
    record_id: str
    snapshot_id: str
    filename: str  # relative to its snapshot folder: "_warc/<file>"

    @property
    def reference(self) -> str:
        return f"{self.snapshot_id}/{self.filename}"


def payload_digest(body: bytes) -> str:
    """The ``WARC-Payload-Digest`` warcio writes for ``body``: SHA-1, base32."""
    return "sha1:" + base64.b32encode(hashlib.sha1(body).digest()).decode("ascii")


def originals_of(snapshot: Path, snapshot_id: str) -> dict[str, Original]:
    """Payload digest -> the original that holds it, for every response of a snapshot (its
    revisits included: they lead to their originals)."""
    found: dict[str, Original] = {}
    for path in files(snapshot / WARC_FOLDER):
        filename = path.relative_to(snapshot).as_posix()
        for _, record in iter_records(path):
            headers = record.rec_headers
            digest = headers.get_header("WARC-Payload-Digest")
            if digest is None:
                continue
            if record.rec_type == "response":
                found.setdefault(
                    digest,
                    Original(
                        headers.get_header("WARC-Target-URI"),
                        headers.get_header("WARC-Date"),
                        headers.get_header("WARC-Record-ID"),
                        snapshot_id,
                        filename,
                    ),
                )
            elif record.rec_type == "revisit" and headers.get_header(REFERS_TO):
                original_id, _, original_file = headers.get_header(REFERS_TO).partition("/")
                found.setdefault(
                    digest,
                    Original(
                        headers.get_header("WARC-Refers-To-Target-URI"),
                        headers.get_header("WARC-Refers-To-Date"),
                        headers.get_header("WARC-Refers-To"),
                        original_id,
                        original_file,
                    ),
                )
    return found


def snapshot_folder(data_dir: Path, snapshot_id: str) -> Path | None:
    """Where a published snapshot is now (``snapshots/``, or ``superseded/`` once read
    again), or None when it is gone."""
    for home in ("snapshots", "superseded"):
        folder = data_dir / home / f"snapshot_id={snapshot_id}"
        if folder.is_dir():
            return folder
    return None


def previous_originals(data_dir: Path, start_urls: list[str]) -> dict[str, Original]:
    """The originals of the newest usable snapshot that crawled any of ``start_urls``: what
    this crawl's responses may revisit. Empty for a first crawl."""
    from archiver.store.layout import current_readings, list_snapshots

    for info in reversed(current_readings(list_snapshots(data_dir))):
        if info.usable and set(start_urls) & set(info.manifest.get("start_urls") or []):
            return originals_of(info.path, root_of(info.snapshot_id, info.manifest))
    return {}


def root_of(snapshot_id: str, manifest: dict) -> str:
    """The snapshot whose files hold a reading's WARC records: a reparse's records are its
    original's (hard-linked), and are named after it."""
    return str(manifest.get("derived_from") or snapshot_id)


def locate(
    data_dir: Path, reference: str, record_id: str, cache: dict[Path, dict[str, int]] | None = None
) -> tuple[Path, int] | None:
    """The file and offset of the original ``record_id`` that ``reference`` names.
    ``cache`` keeps each file's record offsets, for a caller resolving many revisits."""
    snapshot_id, _, filename = reference.partition("/")
    folder = snapshot_folder(data_dir, snapshot_id)
    candidates = [folder / filename] if folder is not None else []
    # A reading of that capture (reparse) shares its files: look there too.
    for home in ("snapshots", "superseded"):
        candidates += sorted((data_dir / home).glob(f"snapshot_id={snapshot_id}.*/{filename}"))
    cache = {} if cache is None else cache
    for path in candidates:
        if not path.is_file():
            continue
        if path not in cache:
            cache[path] = {
                record.rec_headers.get_header("WARC-Record-ID"): offset
                for offset, record in iter_records(path)
                if record.rec_type == "response"
            }
        if record_id in cache[path]:
            return path, cache[path][record_id]
    return None


def referenced(manifest: dict) -> list[str]:
    """The snapshots whose originals a snapshot's revisits need."""
    return list((manifest.get("revisits") or {}).get("of") or [])


def summary(records: int, of: set[str]) -> dict:
    return {"records": records, "of": sorted(of)}
