"""Which encoding a page's bytes are read with, and what could not be read.

Scrapy reads a page in the charset its ``Content-Type`` declares (else its ``<meta>``), and
replaces whatever does not decode with U+FFFD, without a word; a single-byte charset
"decodes" any bytes, so UTF-8 declared as windows-1251 comes out as mojibake. Here the
declaration is checked against the bytes:

* a declaration the bytes fit is believed, except that bytes that are valid UTF-8 (with
  text beyond ASCII) are UTF-8 whatever a legacy charset declaration says: real text in a
  legacy charset is practically never valid UTF-8;
* a declaration the bytes do not fit is wrong: the page's other declaration, UTF-8, then
  what the bytes look like (charset-normalizer, as Scrapy uses for undeclared pages) are
  tried, and the first that reads every byte, confidently, is used;
* UTF-8 with a few invalid bytes among valid text is damaged UTF-8, not another charset:
  the bytes that cannot be read are replaced, and counted;
* nothing fits: the declared charset (else windows-1252, Scrapy's fallback), with the bytes
  that do not decode replaced, and counted.

Only the reading changes: the WARC keeps the bytes as received, and the choice is a pure
function of the bytes and the header, so ``archiver reparse`` reads the same text.
"""

from __future__ import annotations

import codecs
import threading
from dataclasses import dataclass
from typing import Any

from w3lib.encoding import (
    html_body_declared_encoding,
    http_content_type_encoding,
    read_bom,
    resolve_encoding,
)

UTF8 = "utf-8"
FALLBACK = "cp1252"  # what Scrapy reads an undeclared, undetectable page as
# charset-normalizer's "mess" (0: reads as plausible text); above this, it is a guess.
CONFIDENT_CHAOS = 0.1

_counter = threading.local()


def _count_and_replace(error: UnicodeError) -> tuple[str, int]:
    assert isinstance(error, UnicodeDecodeError)
    _counter.bytes += error.end - error.start
    return "\ufffd", error.end


codecs.register_error("archiver.count", _count_and_replace)


@dataclass(frozen=True)
class PageDecoding:
    """How one page was read. ``reason`` says why it was not simply read as declared:
    ``declared_wrong`` (the declaration did not fit; read as detected), ``undeclared`` (no
    declaration; read as detected), ``undecodable`` (bytes no encoding reads were replaced);
    None when the page reads as it says."""

    encoding: str
    declared: str | None = None  # the Content-Type charset
    declared_in_page: str | None = None  # the byte-order mark, else <meta charset>
    detected: str | None = None  # what the bytes were found to be, when it was looked at
    reason: str | None = None
    undecodable_bytes: int = 0

    def record(self) -> dict[str, Any]:
        """The journal's and manifest's form."""
        return {
            "encoding": self.encoding,
            "declared": self.declared,
            "declared_in_page": self.declared_in_page,
            "detected": self.detected,
            "reason": self.reason,
            "undecodable_bytes": self.undecodable_bytes,
        }


def fits(body: bytes, encoding: str) -> bool:
    """Whether every byte of ``body`` reads in ``encoding``."""
    try:
        body.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return False
    return True


def undecodable_bytes(body: bytes, encoding: str) -> int:
    """How many bytes of ``body`` ``encoding`` cannot read (each becomes U+FFFD)."""
    _counter.bytes = 0
    try:
        body.decode(encoding, "archiver.count")
    except LookupError:
        return len(body)
    return _counter.bytes


def damaged_utf8(body: bytes) -> bool:
    """UTF-8 with some invalid bytes (at most as many as its valid characters beyond ASCII),
    rather than text in another charset."""
    text = body.decode(UTF8, "surrogateescape")
    invalid = sum(1 for char in text if "\udc80" <= char <= "\udcff")
    beyond_ascii = sum(1 for char in text if char > "\x7f") - invalid
    return 0 < invalid <= beyond_ascii


# What a misreading produces and real text rarely holds much of: half-width katakana
# (Cyrillic read as Shift JIS), Hangul jamo (EUC-JP read as EUC-KR), C1 controls, private use.
ODD_RANGES = ((0xFF61, 0xFF9F), (0x3130, 0x318F), (0x80, 0x9F), (0xE000, 0xF8FF))


def plausible(text: str) -> bool:
    """At most one character in ten beyond ASCII is of the kinds a misreading makes."""
    beyond = [ord(char) for char in text if char > "\x7f"]
    odd = sum(1 for code in beyond if any(lo <= code <= hi for lo, hi in ODD_RANGES))
    return odd * 10 <= len(beyond)


def detect(body: bytes) -> str | None:
    """The encoding the bytes look like, when charset-normalizer is confident and what it
    reads is plausible text (on a few short lines it guesses)."""
    from charset_normalizer import from_bytes  # only for pages whose charset is in doubt

    matches = from_bytes(body)
    match = matches.best()
    if match is None or match.chaos > CONFIDENT_CHAOS:
        return None
    encoding = resolve_encoding(match.encoding) or match.encoding
    # Western text fits several legacy charsets equally well (à is ŕ in windows-1250): on a
    # tie, windows-1252, the web's usual one (and what WHATWG browsers fall back to).
    # (charset-normalizer folds charsets that read the bytes alike into one match.)
    tied = {
        resolve_encoding(name)
        for m in matches
        if (m.chaos, round(m.coherence, 2)) == (match.chaos, round(match.coherence, 2))
        for name in (m.encoding, *m.could_be_from_charset)
    }
    if FALLBACK in tied:
        encoding = FALLBACK
    if not fits(body, encoding) or not plausible(body.decode(encoding)):
        return None
    return encoding


def read_page(body: bytes, content_type: bytes | str | None) -> PageDecoding:
    """How to read ``body``, served with the ``Content-Type`` header ``content_type``."""
    header = content_type.decode("latin-1") if isinstance(content_type, bytes) else content_type
    declared = http_content_type_encoding(header or "")
    bom, _ = read_bom(body)
    in_page = bom or html_body_declared_encoding(body)
    said = {"declared": declared, "declared_in_page": in_page}
    if bom is not None:  # a byte-order mark decides (HTML's rule, and Scrapy's)
        return _read_as(body, bom, said, reason=None)
    claim = declared or in_page
    if claim is not None:
        if fits(body, claim):
            if claim == UTF8 or body.isascii() or not fits(body, UTF8):
                return PageDecoding(claim, **said)
            return PageDecoding(UTF8, **said, detected=UTF8, reason="declared_wrong")
        for other in (in_page, UTF8):
            if other is not None and other != claim and fits(body, other):
                return PageDecoding(other, **said, detected=other, reason="declared_wrong")
        if claim == UTF8 and damaged_utf8(body):
            return _read_as(body, UTF8, said, reason="undecodable")
        detected = detect(body)
        if detected is not None:
            return PageDecoding(detected, **said, detected=detected, reason="declared_wrong")
        return _read_as(body, claim, said, reason="undecodable")
    if fits(body, UTF8):
        return PageDecoding(UTF8, **said, detected=UTF8 if not body.isascii() else None)
    if damaged_utf8(body):
        return _read_as(body, UTF8, said, reason="undecodable")
    detected = detect(body)
    if detected is not None:
        return PageDecoding(detected, **said, detected=detected, reason="undeclared")
    return _read_as(body, FALLBACK, said, reason="undecodable")


def _read_as(body: bytes, encoding: str, said: dict[str, str | None], reason: str | None):
    lost = undecodable_bytes(body, encoding)
    if lost == 0 and reason == "undecodable":
        reason = "undeclared"  # the fallback read it all: a guess, not a loss
    return PageDecoding(
        encoding, **said, reason="undecodable" if lost else reason, undecodable_bytes=lost
    )
