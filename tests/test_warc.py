"""WARC files as archivists expect them: valid for warcio, nothing secret, torn tails cut."""

from __future__ import annotations

import gzip
import subprocess
import sys
import zlib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from archiver.evidence.reader import index_responses, read_response, verify_file
from archiver.evidence.records import OPEN_SUFFIX, Exchange, files, public_url
from archiver.evidence.writer import WarcWriter, recover

T = datetime(2025, 10, 15, 12, 0, 0, 123456, tzinfo=UTC)
BODY = b"<html><body><h2>A page</h2></body></html>"


def exchange(url: str = "https://blog.example/page/2", **fields) -> Exchange:
    return Exchange(
        **{
            "url": url,
            "fetched_at": T,
            "status": 200,
            "headers": {b"Content-Type": [b"text/html"], b"Content-Encoding": [b"gzip"]},
            "body": gzip.compress(BODY),
            "request_headers": {b"User-Agent": [b"archiver/test"]},
            "ip_address": "192.0.2.7",
        }
        | fields
    )


def records(path: Path) -> list:
    out = []
    with path.open("rb") as stream:
        for record in ArchiveIterator(stream):
            out.append(
                (record.rec_type, record.rec_headers, record.http_headers, record.raw_stream.read())
            )
    return out


@pytest.fixture
def folder(tmp_path) -> Path:
    return tmp_path / "snap" / "_warc"


def test_a_response_and_its_request_as_received(folder) -> None:
    writer = WarcWriter(folder, "snap", info={"isPartOf": "snap"})
    capture = writer.capture(exchange())
    [path] = writer.close()
    assert path.name == "snap-00000.warc.gz" and capture.filename == "_warc/snap-00000.warc.gz"
    kinds = records(path)
    assert [kind for kind, *_ in kinds] == ["warcinfo", "response", "request"]
    _, response, http, payload = kinds[1]
    assert response.get_header("WARC-Record-ID") == capture.record_id
    assert response.get_header("WARC-Date") == "2025-10-15T12:00:00.123456Z"  # microseconds
    assert response.get_header("WARC-IP-Address") == "192.0.2.7"
    assert response.protocol == "WARC/1.1"
    assert payload == gzip.compress(BODY) and payload[:2] == b"\x1f\x8b"  # not decompressed
    assert http.get_header("Content-Encoding") == "gzip"
    _, request, request_http, _ = kinds[2]
    assert request.get_header("WARC-Concurrent-To") == capture.record_id
    assert request_http.protocol == "GET" and request_http.get_header("Host") == "blog.example"


def test_each_record_is_a_gzip_member_of_its_own(folder) -> None:
    writer = WarcWriter(folder, "snap")
    writer.capture(exchange())
    [path] = writer.close()
    data, members = path.read_bytes(), 0
    while data:
        decompressor = zlib.decompressobj(zlib.MAX_WBITS | 16)
        text = decompressor.decompress(data)
        assert text.startswith(b"WARC/1.1\r\n")
        data = decompressor.unused_data
        members += 1
    assert members == 3  # warcinfo, response, request


def test_nothing_secret_is_written(folder) -> None:
    writer = WarcWriter(folder, "snap")
    writer.capture(
        exchange(
            url="https://alice:s3cret@blog.example/page/2",
            request_headers={
                b"User-Agent": [b"archiver/test"],
                b"Cookie": [b"session=abc"],
                b"Authorization": [b"Basic YWxpY2U6czNjcmV0"],
                b"Proxy-Authorization": [b"Basic x"],
            },
        )
    )
    [path] = writer.close()
    text = gzip.decompress(path.read_bytes())
    for secret in (b"s3cret", b"alice", b"session=abc", b"YWxpY2U6czNjcmV0", b"Authorization"):
        assert secret not in text
    assert b"WARC-Target-URI: https://blog.example/page/2" in text


def test_a_file_page_is_a_resource_record(folder) -> None:
    writer = WarcWriter(folder, "snap")
    capture = writer.capture(Exchange(url="file:///srv/demo/index.html", fetched_at=T, body=BODY))
    [path] = writer.close()
    [(kind, headers, http, payload)] = records(path)[1:]
    assert (kind, headers.get_header("Content-Type"), payload) == ("resource", "text/html", BODY)
    assert headers.get_header("WARC-Record-ID") == capture.record_id and http is None


def test_warcio_check_passes(folder) -> None:
    writer = WarcWriter(folder, "snap")
    writer.capture(exchange())
    writer.capture(exchange(status=503, body=b"busy", headers={b"Retry-After": [b"2"]}))
    writer.capture(Exchange(url="file:///srv/x.html", fetched_at=T, body=BODY))
    [path] = writer.close()
    warcio = Path(sys.executable).parent / "warcio"
    result = subprocess.run([str(warcio), "check", "-v", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout
    assert result.stdout.count("digest pass") == 6  # warcinfo + 2 pairs + the resource


def test_open_until_closed_and_rotated_at_the_size_limit(folder) -> None:
    writer = WarcWriter(folder, "snap", max_bytes=2000)
    for n in range(4):
        writer.capture(exchange(url=f"https://blog.example/{n}"))
    writer.sync()
    assert files(folder) == [p.with_name(p.name.removesuffix(".open")) for p in files(folder)]
    assert list(folder.glob(f"*{OPEN_SUFFIX}"))  # the one being written looks unfinished
    closed = writer.close()
    assert len(closed) >= 2 and not list(folder.glob(f"*{OPEN_SUFFIX}"))
    for path in closed:
        assert records(path)[0][0] == "warcinfo"  # every file opens with its warcinfo
    assert sorted(index_responses(folder.parent)) == [f"https://blog.example/{n}" for n in range(4)]


def test_a_torn_last_record_is_cut_off_and_the_file_closed(folder) -> None:
    writer = WarcWriter(folder, "snap")
    writer.capture(exchange(url="https://blog.example/kept"))
    writer.sync()
    [open_file] = folder.glob(f"*{OPEN_SUFFIX}")
    good = open_file.stat().st_size
    writer.capture(exchange(url="https://blog.example/torn"))
    writer.sync()
    with open_file.open("r+b") as handle:  # a kill in the middle of the second pair
        handle.truncate(good + 100)
    [recovered] = recover(folder)
    assert recovered.stat().st_size == good and recovered.name == "snap-00000.warc.gz"
    assert verify_file(recovered)[0] == []
    resumed = WarcWriter(folder, "snap")  # a resumed crawl writes on in a new file
    resumed.capture(exchange(url="https://blog.example/again"))
    assert [p.name for p in resumed.close()] == ["snap-00000.warc.gz", "snap-00001.warc.gz"]


def test_read_back_what_was_written(folder) -> None:
    writer = WarcWriter(folder, "snap")
    writer.capture(exchange(status=503, body=b"busy"))
    capture = writer.capture(exchange())  # the retry: the last capture of the URL wins
    writer.close()
    index = index_responses(folder.parent)
    stored = read_response(*index["https://blog.example/page/2"], folder.parent)
    assert (stored.status, stored.fetched_at, stored.capture) == (200, T, capture)
    assert gzip.decompress(stored.body) == BODY
    assert ("Content-Encoding", "gzip") in stored.headers


def test_verify_finds_a_changed_payload_behind_a_valid_gzip(folder) -> None:
    writer = WarcWriter(folder, "snap")
    writer.capture(exchange(body=b"<p>the original words</p>", headers={}))
    [path] = writer.close()
    text = gzip.decompress(path.read_bytes()).replace(b"original", b"replaced")
    path.write_bytes(gzip.compress(text))  # still valid gzip: only the digests can tell
    problems, _ = verify_file(path)
    assert any("payload" in p.lower() or "block" in p.lower() for p in problems), problems


@pytest.mark.parametrize(
    ("url", "public"),
    [
        ("https://a:b@host.example:8443/x?y=1", "https://host.example:8443/x?y=1"),
        ("https://host.example/x", "https://host.example/x"),
        ("http://user@host.example/", "http://host.example/"),
    ],
)
def test_public_url(url: str, public: str) -> None:
    assert public_url(url) == public
