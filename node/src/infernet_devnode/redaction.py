"""Removing the node's secrets from what it serves, stores and logs (docs/devnode.md, secrets).

A secret is redacted in every spelling a peer can hand back without the node noticing: as is,
and with any of its characters written as a JSON escape (``\\u0062``, ``\\"``, a surrogate pair),
a Python ``str`` or ``bytes`` escape (``\\x62``, ``\\xc3\\xa9``: aiohttp quotes the bytes of a
malformed answer that way) or a URL percent escape (``%62``), each character spelled its own way.
Text is matched against one regular expression per secret built from those spellings; parsed
JSON is redacted string by string and key by key, so an answer cannot hide a secret behind an
escape its parser resolves.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

__all__ = ["MIN_SECRET_LENGTH", "REDACTED", "Redactor", "StreamRedactor"]

REDACTED = "[redacted]"
_REDACTED_BYTES = REDACTED.encode()
# Container env values shorter than this are not secrets worth redacting: "1" or "true" would
# mangle every answer.
MIN_SECRET_LENGTH = 8
# Characters every spelling but the literal one needs: text without any of them can only hold
# a secret as is, which a plain substring search finds faster than the expression.
_ESCAPE_MARKS = ("\\", "%")
# JSON's two-character escapes (RFC 8259 section 7), also Python's for these characters.
_SHORT_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "/": "\\/",
    "'": "\\'",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
}
# Control characters other than tab and newline carry no text: a body whose characters are
# interleaved with NULs (UTF-16 read as UTF-8) is quoted without them.
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f]")


def _char_spellings(char: str) -> list[str]:
    """Regular expressions matching every way ``char`` can be written (see the module doc)."""
    code = ord(char)
    utf8 = char.encode()
    escapes = [
        "".join(f"\\\\x{byte:02x}" for byte in utf8),  # bytes repr
        "".join(f"%{byte:02x}" for byte in utf8),  # URL percent-encoding
    ]
    if code < 0x100:
        escapes.append(f"\\\\x{code:02x}")  # str repr
    if code < 0x10000:
        escapes.append(f"\\\\u{code:04x}")  # JSON, str repr
    else:
        high, low = divmod(code - 0x10000, 0x400)
        escapes.append(f"\\\\u{0xD800 + high:04x}\\\\u{0xDC00 + low:04x}")  # JSON pair
        escapes.append(f"\\\\U{code:08x}")  # str repr
    spellings = [re.escape(char), f"(?i:{'|'.join(escapes)})"]
    if char in _SHORT_ESCAPES:
        spellings.append(re.escape(_SHORT_ESCAPES[char]))
    return spellings


def _longest_spelling(secret: str) -> int:
    """At least the bytes in the longest spelling of ``secret``: per character, its bytes
    escaped (four bytes each) or a JSON surrogate pair (twelve)."""
    return sum(max(4 * len(c.encode()), 12) for c in secret)


def _pattern(secrets: tuple[str, ...]) -> str:
    return "|".join(
        "".join(f"(?:{'|'.join(_char_spellings(c))})" for c in secret) for secret in secrets
    )


class Redactor:
    """The node's secrets for one peer, and the ways to remove them from what the peer sent."""

    def __init__(self, secrets: Iterable[str]) -> None:
        # Longest first, so a secret containing another is replaced whole.
        self.secrets = tuple(sorted({s for s in secrets if s}, key=len, reverse=True))
        self._text = re.compile(_pattern(self.secrets)) if self.secrets else None
        self._digits = tuple(s for s in self.secrets if s.isascii() and s.isdigit())
        self.longest_spelling = max((_longest_spelling(s) for s in self.secrets), default=0)

    def __bool__(self) -> bool:
        return bool(self.secrets)

    def text(self, text: str) -> str:
        """``text`` with every spelling of every secret replaced by ``[redacted]``."""
        if self._text is None:
            return text
        if not any(mark in text for mark in _ESCAPE_MARKS):
            for secret in self.secrets:
                if secret in text:
                    text = text.replace(secret, REDACTED)
            return text
        return self._text.sub(REDACTED, text)

    def quote(self, text: str, limit: int) -> str:
        """At most ``limit`` characters of a peer's ``text`` for an error reason, redacted.

        Redacts a little past ``limit`` first, so a secret spelled across the cut is still
        found whole; drops control characters first, so one spelled between NULs is too.
        """
        head = _CONTROLS.sub("", text)[: limit + self.longest_spelling]
        return self.text(head)[:limit]

    def value(self, value: Any) -> Any:
        """A parsed JSON value with every string and every key redacted, and every number
        whose digits hold an all-digit secret replaced by ``"[redacted]"``."""
        if self._text is None:
            return value
        return self._value(value)

    def _value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(k): self._value(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._value(v) for v in value]
        if self._digits and isinstance(value, int | float) and not isinstance(value, bool):
            digits = str(value)
            if any(secret in digits for secret in self._digits):
                return REDACTED
        return value

    def stream(self) -> StreamRedactor:
        """A redactor for one byte stream of UTF-8 text."""
        return StreamRedactor(self)


class StreamRedactor:
    """Redacts secrets from a byte stream whose chunks may split one: the last bytes that could
    still start a spelling of a secret are held back until the next chunk (or the end) shows
    whether they do."""

    def __init__(self, redactor: Redactor) -> None:
        pattern = _pattern(redactor.secrets)
        self._pattern = re.compile(pattern.encode()) if pattern else None
        self._hold = max(redactor.longest_spelling - 1, 0)
        self._pending = b""

    def feed(self, chunk: bytes) -> bytes:
        if self._pattern is None:
            return chunk
        data = self._pending + chunk
        cut = len(data) - self._hold
        out: list[bytes] = []
        position = 0
        for match in self._pattern.finditer(data):
            # A match starting before the cut is complete: the held bytes cover its longest
            # spelling. One starting later is looked at again with the next chunk.
            if match.start() >= cut:
                break
            out += (data[position : match.start()], _REDACTED_BYTES)
            position = match.end()
        cut = max(cut, position)
        out.append(data[position:cut])
        self._pending = data[cut:]
        return b"".join(out)

    def flush(self) -> bytes:
        data, self._pending = self._pending, b""
        if self._pattern is None:
            return data
        return self._pattern.sub(_REDACTED_BYTES, data)
