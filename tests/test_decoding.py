"""Which encoding a page is read with, and what is counted (archiver/extract/decoding.py)."""

from __future__ import annotations

import codecs

import pytest

from archiver.extract.decoding import plausible, read_page, undecodable_bytes

RUSSIAN = "<html><body><h2>Запись номер один</h2><p>Краткое содержание записи</p></body></html>"
JAPANESE = "<html><body><h2>投稿番号</h2><p>日本語の要約です</p></body></html>"
FRENCH = "<html><body><h2>Résumé</h2><p>Un café, à la française.</p></body></html>"
META_1251 = '<html><head><meta charset="windows-1251"></head><body><p>Краткое содержание</p>'


@pytest.mark.parametrize(
    ("body", "content_type", "encoding", "reason", "lost"),
    [
        # read as declared
        (RUSSIAN.encode("utf-8"), "text/html; charset=utf-8", "utf-8", None, 0),
        (RUSSIAN.encode("cp1251"), "text/html; charset=windows-1251", "cp1251", None, 0),
        (JAPANESE.encode("shift_jis"), "text/html; charset=shift_jis", "cp932", None, 0),
        (b"<p>plain</p>", "text/html; charset=iso-8859-1", "cp1252", None, 0),  # ASCII
        (META_1251.encode("cp1251"), "text/html", "cp1251", None, 0),  # <meta> only
        (codecs.BOM_UTF8 + JAPANESE.encode(), "text/html; charset=cp1251", "utf-8", None, 0),
        # the declaration is wrong
        (RUSSIAN.encode("cp1251"), "text/html; charset=utf-8", "cp1251", "declared_wrong", 0),
        ((RUSSIAN * 4).encode("koi8-r"), "text/html; charset=utf-8", "koi8-r", "declared_wrong", 0),
        (JAPANESE.encode("shift_jis"), "text/html; charset=utf-8", "cp932", "declared_wrong", 0),
        (JAPANESE.encode(), "text/html; charset=shift_jis", "utf-8", "declared_wrong", 0),
        (RUSSIAN.encode(), "text/html; charset=windows-1251", "utf-8", "declared_wrong", 0),
        (FRENCH.encode("latin-1"), "text/html; charset=utf-8", "cp1252", "declared_wrong", 0),
        (META_1251.encode("cp1251"), "text/html; charset=utf-8", "cp1251", "declared_wrong", 0),
        # nothing declared
        (JAPANESE.encode(), "text/html", "utf-8", None, 0),
        (RUSSIAN.encode("cp1251"), None, "cp1251", "undeclared", 0),
        # bytes nothing reads: counted
        (
            JAPANESE.encode().replace("要約".encode(), b"\xff"),
            "text/html; charset=utf-8",
            "utf-8",
            "undecodable",
            1,
        ),
        (JAPANESE.encode().replace("要約".encode(), b"\xff"), None, "utf-8", "undecodable", 1),
        (bytes(range(128, 256)) * 8, "text/html; charset=utf-8", "utf-8", "undecodable", 1024),
        # too little text to tell: a detector's guess (Cyrillic as half-width katakana, EUC-JP
        # as Hangul jamo) is not taken for the page's encoding
        (RUSSIAN.encode("koi8-r"), "text/html; charset=utf-8", "utf-8", "undecodable", 38),
        (JAPANESE.encode("euc-jp"), "text/html; charset=utf-8", "utf-8", "undecodable", 18),
    ],
)
def test_read_page(body: bytes, content_type, encoding: str, reason, lost: int) -> None:
    decoding = read_page(body, content_type)
    assert (decoding.encoding, decoding.reason, decoding.undecodable_bytes) == (
        encoding,
        reason,
        lost,
    )
    if reason == "declared_wrong":
        assert decoding.detected == encoding
    if reason != "undecodable":  # what is read is every byte
        body.decode(encoding)


def test_what_was_declared_is_recorded_apart_from_what_was_read() -> None:
    decoding = read_page(META_1251.encode("cp1251"), b"text/html; charset=UTF-8")
    assert decoding.record() == {
        "encoding": "cp1251",
        "declared": "utf-8",
        "declared_in_page": "cp1251",
        "detected": "cp1251",
        "reason": "declared_wrong",
        "undecodable_bytes": 0,
    }


@pytest.mark.parametrize(
    ("text", "plausible_text"),
    [
        ("Запись номер один", True),
        ("投稿番号（１）", True),  # full-width forms are ordinary Japanese
        ("酤ﾐﾉﾓﾘ ﾎﾏﾍﾅﾒ ﾏﾄﾉﾎ", False),  # KOI8-R read as Shift JIS
        ("톳뮷휘방 폽居몄ㅞ斛驚ㅗㅉ", False),  # EUC-JP read as EUC-KR
        ("plain ASCII", True),
    ],
)
def test_a_misreading_is_not_plausible_text(text: str, plausible_text: bool) -> None:
    assert plausible(text) is plausible_text


def test_undecodable_bytes_are_what_the_replacement_replaces() -> None:
    body = "ok é ok".encode() + b"\xff\xfe" + b"\xc3"  # two stray bytes and a cut sequence
    assert undecodable_bytes(body, "utf-8") == 3
    assert body.decode("utf-8", "replace").count("\ufffd") == 3
    assert undecodable_bytes(b"fine", "no-such-codec") == 4
