"""``archiver verify``: every way a published snapshot differs from its manifest."""

from __future__ import annotations

import json
import logging

from archiver.evidence.reader import verify_file as verify_warc_file
from archiver.evidence.records import WARC_FOLDER
from archiver.store.durable import sha256_file
from archiver.store.layout import JSONL_FILE, PARQUET_FILE, SnapshotInfo
from archiver.store.rows import open_jsonl

logger = logging.getLogger(__name__)


def verify_snapshot(info: SnapshotInfo) -> list[str]:
    """Every way ``info`` differs from its manifest, one line each; empty when sound.

    Checksums catch any changed byte; the Parquet footer, row counts and schema are checked
    as well, so a problem is described, not just detected. WARC files are read through:
    every record's block and payload digests, and every row's ``warc_record_id`` must name
    a response (or resource) record in its ``warc_filename``.
    """
    where = f"snapshot {info.snapshot_id}"
    if info.status == "damaged":
        return [f"{where}: manifest unreadable: {info.manifest.get('error')}"]
    problems = []
    if info.manifest.get("snapshot_id") != info.snapshot_id:
        problems.append(f"{where}: manifest names snapshot {info.manifest.get('snapshot_id')!r}")
    files = info.manifest.get("files", {})
    data = [name for name in files if not name.startswith(f"{WARC_FOLDER}/")]
    if not any(name.endswith(".parquet") for name in data):
        problems.append(f"{where}: manifest lists no {PARQUET_FILE}")
    if not any(name.endswith((".jsonl", ".jsonl.gz")) for name in data):
        problems.append(f"{where}: manifest lists no {JSONL_FILE}")
    records: dict[str, dict[str, str]] = {}
    revisits: list[tuple[str, str, str]] = []
    for name, expected in files.items():
        path = info.path / name
        if not path.is_file():
            problems.append(f"{where}: {name} is missing")
            continue
        size = path.stat().st_size
        if size != expected.get("bytes"):
            problems.append(
                f"{where}: {name} has {size} bytes, manifest says {expected.get('bytes')}"
            )
        if sha256_file(path) != expected.get("sha256"):
            problems.append(f"{where}: {name} checksum does not match the manifest")
        if name.startswith(f"{WARC_FOLDER}/"):
            warc_problems, records[name] = verify_warc_file(path, revisits)
            problems += [f"{where}: {name}: {problem}" for problem in warc_problems]
    problems += _verify_revisits(info, revisits)
    rows = {"parquet": 0, "jsonl": 0}
    for name in data:
        path = info.path / name
        if not path.is_file():
            continue
        if name.endswith(".parquet"):
            found, more = _verify_parquet(info, name, records)
            rows["parquet"] += found
            problems += more
        elif name.endswith((".jsonl", ".jsonl.gz")):
            lines = 0
            try:
                with open_jsonl(path) as handle:
                    for number, line in enumerate(handle, start=1):
                        lines += 1
                        try:
                            json.loads(line)
                        except ValueError:
                            problems.append(f"{where}: {name} line {number} is not JSON")
                            break
            except (OSError, EOFError) as exc:  # gzip.BadGzipFile is an OSError
                problems.append(f"{where}: {name} cannot be read: {exc}")
            rows["jsonl"] += lines
    expected_rows = info.manifest.get("rows")
    for kind, found in rows.items():
        jsonl = next((n for n in data if n.endswith((".jsonl", ".jsonl.gz"))), JSONL_FILE)
        name = PARQUET_FILE if kind == "parquet" else jsonl
        if found != expected_rows:
            unit = "rows" if kind == "parquet" else "lines"
            problems.append(f"{where}: {name} has {found} {unit}, manifest says {expected_rows}")
    return problems


def _verify_revisits(info: SnapshotInfo, revisits: list[tuple[str, str, str]]) -> list[str]:
    """A revisit record is evidence only while its original exists: say which do not."""
    from archiver.evidence.revisits import locate

    data_dir = info.path.parent.parent
    cache: dict = {}
    missing = [
        (record_id, reference)
        for record_id, reference, original in revisits
        if not original or locate(data_dir, reference, original, cache) is None
    ]
    if not missing:
        return []
    record_id, reference = missing[0]
    return [
        f"snapshot {info.snapshot_id}: {len(missing)} revisit record(s) whose original is "
        f"missing (first: {record_id}, original in {reference or '?'})"
    ]


def _verify_parquet(
    info: SnapshotInfo, name: str, records: dict[str, dict[str, str]]
) -> tuple[int, list[str]]:
    """(rows in one Parquet file, what is wrong with it)."""
    import pyarrow.parquet as pq

    where = f"snapshot {info.snapshot_id}"
    parquet = info.path / name
    try:
        meta = pq.read_metadata(parquet)
        schema = pq.read_schema(parquet)
        links = (
            pq.read_table(parquet, columns=["warc_record_id", "warc_filename"])
            if "warc_record_id" in schema.names
            else None
        )
    except Exception as exc:  # any reader error means the file is damaged
        return 0, [f"{where}: {name} is not readable Parquet: {exc}"]
    problems = []
    recorded = info.manifest.get("schema", {})
    actual = {field.name: str(field.type) for field in schema}
    if recorded and actual != recorded:
        problems.append(f"{where}: {name} schema differs from the manifest")
    if links is not None:
        unresolved = [
            (record_id, filename)
            for record_id, filename in zip(
                links.column("warc_record_id").to_pylist(),
                links.column("warc_filename").to_pylist(),
                strict=True,
            )
            if record_id is not None and record_id not in records.get(filename or "", {})
        ]
        if unresolved:
            record_id, filename = unresolved[0]
            problems.append(
                f"{where}: {len(unresolved)} row(s) name no response record in their WARC "
                f"file (first: {record_id} in {filename})"
            )
    return meta.num_rows, problems
