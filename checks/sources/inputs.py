"""Reading manifest inputs as bytes, within their limits, and decoding them per document.

An input is read as bytes (a file, a pipe such as ``<(helm template …)``, stdin) and never past
``limits.file_bytes`` (what is left of ``limits.input_bytes``): a bigger one stops being read at
the limit. Text is UTF-8, as Kubernetes and kubectl write it; a UTF-8 byte order mark is
dropped, and UTF-16 or UTF-32 (which YAML allows), with a byte order mark or told by the zero
bytes of its first characters, is decoded as such.
Bytes that are not valid UTF-8 do not fail the input: they are carried as lone surrogates
(``surrogateescape``), so the document holding them is reported with its byte offset and line
while the others are read.
"""

from __future__ import annotations

import codecs
import os
import re
import stat
from dataclasses import dataclass
from typing import IO, Any

BLOCK = 1 << 20  # pipes and stdin are read a MiB at a time, so reading stops at the limit

# Longest first: the UTF-32 LE mark starts with the UTF-16 LE one.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_ESCAPED = re.compile("[\udc80-\udcff]")  # an undecodable byte, as surrogateescape carries it


class TooLarge(Exception):
    """An input bigger than the bytes it may use; ``size`` is None when it was not known in
    advance (a pipe: reading stopped at the limit)."""

    def __init__(self, size: int | None, limit: int) -> None:
        super().__init__(size, limit)
        self.size = size
        self.limit = limit


class NotText(Exception):
    """UTF-16/32 input (after its byte order mark) that does not decode; ``offset`` in bytes."""

    def __init__(self, encoding: str, offset: int, reason: str) -> None:
        super().__init__(encoding, offset, reason)
        self.encoding = encoding
        self.offset = offset
        self.reason = reason


def read_path(path: str, limit: int) -> bytes:
    """The bytes of ``path`` (a file or a pipe), or :class:`TooLarge`; ``OSError`` as raised."""
    with open(path, "rb") as stream:
        info = os.fstat(stream.fileno())
        if stat.S_ISREG(info.st_mode):
            if info.st_size > limit:
                raise TooLarge(info.st_size, limit)
            data = stream.read(info.st_size + 1)  # one read; +1 notices a file still growing
            if len(data) > limit:
                raise TooLarge(None, limit)
            return data
        return read_stream(stream, limit)


def read_stream(stream: IO[Any], limit: int) -> bytes | str:
    """At most ``limit`` bytes of a stream (stdin: its binary buffer when it has one), or
    :class:`TooLarge` once more arrive. A text stream (``io.StringIO``) gives text."""
    raw = getattr(stream, "buffer", stream)
    if _is_terminal(raw):
        # Unbuffered: a buffered read of a MiB swallows the Ctrl-D that ends typed input and waits
        # for a second one.
        raw = getattr(raw, "raw", raw)
    parts: list[Any] = []
    total = 0
    while True:
        block = raw.read(min(BLOCK, limit + 1 - total))
        if not block:
            break
        parts.append(block)
        total += len(block)
        if total > limit:
            raise TooLarge(None, limit)
    if not parts:
        return b""
    return parts[0][:0].join(parts)


def _is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


@dataclass
class Decoded:
    text: str
    encoding: str  # utf-8, utf-16 or utf-32
    clean: bool  # False: some bytes are not valid UTF-8 (carried as surrogates, see bad_byte)
    skipped: int  # bytes of a byte order mark before ``text`` starts
    cut: int | None = None  # UTF-16/32 cut short: the offset of the last, incomplete character


def decode(data: bytes) -> Decoded:
    """``data`` as text; raises :class:`NotText` for a UTF-16/32 input that does not decode."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            if encoding == "utf-8":
                return _utf8(data[len(bom) :], len(bom))
            return _wide(data, encoding, encoding)  # the codec drops the mark
    codec = _unmarked(data[:4])
    if codec is not None:
        return _wide(data, codec, codec[:6])
    return _utf8(data, 0)


def _wide(data: bytes, codec: str, encoding: str) -> Decoded:
    """UTF-16/32 text. Cut short (a killed writer, a full disk: the last character incomplete),
    the whole characters before the cut are the text, as a cut UTF-8 or JSON input keeps what
    arrived whole; anything else that does not decode is :class:`NotText`."""
    try:
        return Decoded(data.decode(codec), encoding, True, 0)
    except UnicodeDecodeError as exc:
        if exc.end != len(data) or exc.start == 0:
            raise NotText(encoding, exc.start, exc.reason) from None
        cut = exc.start
    try:
        return Decoded(data[:cut].decode(codec), encoding, True, 0, cut)
    except UnicodeDecodeError as exc:
        raise NotText(encoding, exc.start, exc.reason) from None


def _unmarked(head: bytes) -> str | None:
    """UTF-16/32 without a byte order mark, told by where the zero bytes of its first (ASCII)
    characters are, as YAML 1.2 (5.2) and JSON (RFC 4627) detect it: ``x00 x00 x00 x??`` is
    UTF-32 BE, ``x?? x00 x00 x00`` UTF-32 LE; two characters of ``x00 x??`` UTF-16 BE, of
    ``x?? x00`` UTF-16 LE. UTF-8 text never has a zero byte among its first characters."""
    if len(head) < 4 or 0 not in head:
        return None
    a, b, c, d = head
    if a == b == c == 0 and d:
        return "utf-32-be"
    if a and b == c == d == 0:
        return "utf-32-le"
    if a == c == 0 and b and d:
        return "utf-16-be"
    if b == d == 0 and a and c:
        return "utf-16-le"
    return None


def _utf8(data: bytes, skipped: int) -> Decoded:
    try:
        return Decoded(data.decode("utf-8"), "utf-8", True, skipped)
    except UnicodeDecodeError:
        return Decoded(data.decode("utf-8", "surrogateescape"), "utf-8", False, skipped)


def first_bad_char(chunk: str) -> int | None:
    """Where in ``chunk`` the first undecodable byte is, or None when it has none."""
    match = _ESCAPED.search(chunk)
    return None if match is None else match.start()


class Positions:
    """Line numbers and byte offsets of positions in ``text``, counted forward from the last
    position asked for: problems come in document order, so a whole file costs one pass."""

    def __init__(self, text: str, skipped: int = 0) -> None:
        self.text = text
        self.skipped = skipped
        self._at = 0
        self._line = 0
        self._byte = 0

    def _advance(self, pos: int) -> None:
        if pos < self._at:
            self._at = self._line = self._byte = 0
        segment = self.text[self._at : pos]
        self._line += segment.count("\n")
        self._byte += len(segment) if segment.isascii() else len(segment.encode("utf-8", "surrogateescape"))
        self._at = pos

    def line(self, pos: int) -> int:
        """The 0-based line of character ``pos``."""
        self._advance(pos)
        return self._line

    def byte(self, pos: int) -> int:
        """The byte offset in the input of character ``pos`` (a byte order mark included)."""
        self._advance(pos)
        return self._byte + self.skipped

    def bad_byte(self, pos: int) -> str:
        """``byte 0xff at byte offset 12 (line 3)`` for the undecodable character at ``pos``."""
        value = ord(self.text[pos]) - 0xDC00
        return f"byte 0x{value:02x} at byte offset {self.byte(pos):,} (line {self.line(pos) + 1})"
