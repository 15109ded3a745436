"""A snapshot's evidence as one WACZ 1.1.1 package: the format web archivists' tools
(ReplayWeb.page, pywb, Browsertrix) exchange archives in.

A WACZ is a ZIP holding the WARC files as they are (``archive/``, stored, not compressed
again: each gzip member stays seekable), a CDXJ index of every response (``indexes/``: the
SURT key replay tools look up, with each record's file, offset and length), the pages a
viewer starts from (``pages/pages.jsonl``: each listing page the rows were read from, at the
exact ``WARC-Date`` of its record) and ``datapackage.json``, the Frictionless data package
listing every file with its SHA-256, with ``datapackage-digest.json`` holding the digest of
that. Specification: https://specs.webrecorder.net/wacz/1.1.1/.

Keys are SURTs from the ``surt`` library, the one pywb and the Internet Archive's tools use,
so a replay tool that reads the index finds every page.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from archiver.evidence.reader import iter_records
from archiver.evidence.records import WARC_FOLDER, files, parse_warc_date
from archiver.version import PROJECT_URL, __version__

WACZ_VERSION = "1.1.1"
PAGES_HEADER = {"format": "json-pages-1.0", "id": "pages", "title": "All Pages"}


@dataclass(frozen=True)
class IndexedRecord:
    key: str  # SURT
    timestamp: str  # 14 digits, from WARC-Date
    fields: dict[str, Any]  # url, mime, status, digest, length, offset, filename, recordId
    date: str  # WARC-Date as written


def _surt(url: str) -> str:
    import surt  # only exporting needs it

    return surt.surt(url)


def index_records(warc_files: Iterable[Path]) -> list[IndexedRecord]:
    """One CDXJ entry per response, resource and revisit record, in file order."""
    found = []
    for path in warc_files:
        size = path.stat().st_size
        records: list[tuple[int, Any]] = []
        for offset, record in iter_records(path):
            headers = record.rec_headers
            kept = None
            if record.rec_type in ("response", "resource", "revisit"):
                http = record.http_headers
                url = headers.get_header("WARC-Target-URI")
                date = headers.get_header("WARC-Date")
                fields: dict[str, Any] = {
                    "url": url,
                    "mime": (http.get_header("Content-Type") if http else None)
                    or headers.get_header("Content-Type")
                    or "unk",
                    "digest": headers.get_header("WARC-Payload-Digest"),
                    "filename": path.name,
                    "recordId": headers.get_header("WARC-Record-ID"),
                }
                if http is not None and record.rec_type != "resource":
                    fields["status"] = str(http.get_statuscode())
                if record.rec_type == "revisit":
                    fields["mime"] = "warc/revisit"
                stamp = parse_warc_date(date).strftime("%Y%m%d%H%M%S")
                kept = IndexedRecord(_surt(url), stamp, fields, date)
            while record.raw_stream.read(1 << 20):
                pass
            records.append((offset, kept))
        ends = [offset for offset, _ in records[1:]] + [size]
        for (offset, kept), end in zip(records, ends, strict=True):
            if kept is not None:
                kept.fields["mime"] = kept.fields["mime"].split(";")[0].strip()
                kept.fields["offset"] = str(offset)
                kept.fields["length"] = str(end - offset)
                found.append(kept)
    return found


# The field order of cdxj-indexer, the reference indexer: lines are sorted whole, as it sorts
# them, so that of two captures in one second pywb finds the one that succeeded (a 200
# before the 503 retried), as it does in an index of its own making.
_FIELDS = ("url", "mime", "status", "digest", "length", "offset", "filename", "recordId")


def cdxj(records: list[IndexedRecord]) -> bytes:
    lines = sorted(
        f"{r.key} {r.timestamp} "
        f"{json.dumps({k: r.fields[k] for k in _FIELDS if r.fields.get(k)})}\n"
        for r in records
    )
    return "".join(lines).encode("utf-8")


def pages_jsonl(records: list[IndexedRecord], page_ids: set[str]) -> bytes:
    """The listing pages the rows were read from (``page_ids``: their record ids), in time
    order, at their records' exact ``WARC-Date``."""
    pages = sorted((r for r in records if r.fields["recordId"] in page_ids), key=lambda r: r.date)
    lines = [json.dumps(PAGES_HEADER)]
    for number, r in enumerate(pages, start=1):
        page = {"id": f"page-{number}", "url": r.fields["url"], "ts": r.date}
        lines.append(json.dumps(page, ensure_ascii=False))
    return ("\n".join(lines) + "\n").encode("utf-8")


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return "sha256:" + digest.hexdigest()


def write_wacz(
    snapshot: Path, target: Path, manifest: dict[str, Any], page_ids: set[str]
) -> dict[str, Any]:
    """Write ``snapshot``'s evidence to ``target`` (written beside it, then renamed: a
    reader never finds half a package). Returns the package's datapackage.json."""
    warcs = files(snapshot / WARC_FOLDER)
    if not warcs:
        raise ValueError(f"{snapshot.name} keeps no WARC files (crawled with ARCHIVER_WARC off?)")
    records = index_records(warcs)
    members: list[tuple[str, bytes | Path]] = [(f"archive/{p.name}", p) for p in warcs]
    members.append(("indexes/index.cdx", cdxj(records)))
    members.append(("pages/pages.jsonl", pages_jsonl(records, page_ids)))
    resources = []
    for name, content in members:
        if isinstance(content, Path):
            hashed, size = _file_sha256(content), content.stat().st_size
        else:
            hashed, size = _sha256(content), len(content)
        # Frictionless names are lowercase letters, digits and -._/ (snapshot ids are not).
        resource_name = re.sub(r"[^-a-z0-9._/]", "-", Path(name).name.lower())
        resources.append({"name": resource_name, "path": name, "hash": hashed, "bytes": size})
    first = next((r for r in records if r.fields["recordId"] in page_ids), None)
    package: dict[str, Any] = {
        "profile": "data-package",
        "wacz_version": WACZ_VERSION,
        "title": f"archiver snapshot {manifest.get('snapshot_id', snapshot.name)}",
        "description": "Listing pages archived by archiver: "
        + ", ".join(manifest.get("start_urls") or []),
        "created": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "software": f"archiver/{__version__} (+{PROJECT_URL})",
        **({"mainPageUrl": first.fields["url"], "mainPageDate": first.date} if first else {}),
        "resources": resources,
    }
    package_bytes = json.dumps(package, indent=2).encode("utf-8")
    digest = {"path": "datapackage.json", "hash": _sha256(package_bytes)}
    partial = target.with_name(target.name + ".partial")
    try:
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_STORED) as package_zip:
            for name, content in members:
                if isinstance(content, Path):
                    package_zip.write(content, name)
                else:
                    package_zip.writestr(name, content)
            package_zip.writestr("datapackage.json", package_bytes)
            package_zip.writestr("datapackage-digest.json", json.dumps(digest, indent=2))
        with partial.open("rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(partial, target)
    except BaseException:  # a full disk, Ctrl-C: no half package left beside the target
        partial.unlink(missing_ok=True)
        raise
    return package
