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
# UTF-32 read as UTF-8: each character followed by three NULs.
_CONTROL_SPREAD = 4


def _char_spellings(char: str) -> list[str]:
    """Regular expressions matching every way ``char`` can be written (see the module doc).

    Each starts with a literal character (a backslash, a percent sign or ``char`` itself), so
    an expression starting with a choice among them lets the regex engine skip every position
    that holds none of those characters."""
    code = ord(char)
    utf8 = char.encode()
    # After the backslash: the UTF-8 bytes as bytes repr writes them (xc3\xa9), the
    # code point as str repr writes it, and the JSON \u escape (a surrogate pair above the BMP).
    backslashed = ["x" + "\\\\x".join(f"{byte:02x}" for byte in utf8)]
    if 0x80 <= code < 0x100:
        backslashed.append(f"x{code:02x}")
    if code < 0x10000:
        backslashed.append(f"u{code:04x}")
    else:
        high, low = divmod(code - 0x10000, 0x400)
        backslashed.append(f"u{0xD800 + high:04x}\\\\u{0xDC00 + low:04x}")
        backslashed.append(f"U{code:08x}")
    percent = "%".join(f"{byte:02x}" for byte in utf8)  # URL percent-encoding: c3%a9
    # Escapes before the character itself: a backslash that starts an escape is then taken as
    # the escape, not as a literal backslash ending the secret a character early.
    spellings = [f"\\\\(?i:{'|'.join(backslashed)})", f"%(?i:{percent})"]
    if char in _SHORT_ESCAPES:
        spellings.append(re.escape(_SHORT_ESCAPES[char]))
    spellings.append(re.escape(char))
    return spellings


def _longest_spelling(secret: str) -> int:
    """At least the bytes in the longest spelling of ``secret``: per character, its bytes
    escaped (four bytes each) or a JSON surrogate pair (twelve)."""
    return sum(max(4 * len(c.encode()), 12) for c in secret)


def _pattern(secrets: tuple[str, ...]) -> str:
    """One expression for every spelling of every secret. The first character's spellings are
    spread over the whole choice, so that the choice starts with literal characters only."""
    choices = []
    for secret in secrets:
        rest = "".join(f"(?:{'|'.join(_char_spellings(c))})" for c in secret[1:])
        choices += [first + rest for first in _char_spellings(secret[0])]
    return "|".join(choices)


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
        if "\\" not in text and "%" not in text:
            # Every spelling but the secret itself needs one of them: a substring search is
            # all it takes, and far faster than the expression.
            for secret in self.secrets:
                if secret in text:
                    text = text.replace(secret, REDACTED)
            return text
        return self._text.sub(REDACTED, text)

    def quote(self, text: str, limit: int) -> str:
        """At most ``limit`` characters of a peer's ``text`` for an error reason, redacted.

        Redacts a little past ``limit``, so a secret spelled across the cut is still found
        whole; redacts again once control characters are dropped, so one spelled between NULs
        (UTF-16 or UTF-32 read as UTF-8) is found too.
        """
        reach = limit + self.longest_spelling
        # Up to four characters of text per character shown, once the controls are gone.
        head = _CONTROLS.sub("", self.text(text[: _CONTROL_SPREAD * reach]))[:reach]
        return self.text(head)[:limit]

    def value(self, value: Any, source: str | None = None) -> Any:
        """A parsed JSON value with every string and every key redacted, and every number
        whose digits hold an all-digit secret replaced by ``"[redacted]"``.

        ``source`` is the text ``value`` was parsed from: when it holds no escape and no secret
        as is, no string parsed from it can hold one, and the walk is skipped.
        """
        if self._text is None:
            return value
        if (
            source is not None
            and "\\" not in source
            and "%" not in source
            and not any(secret in source for secret in self.secrets)
        ):
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
    """Redacts secrets from a byte stream whose chunks may split one.

    Bytes at a chunk's end that could begin a spelling of a secret (some of its characters
    spelled whole, then maybe part of the next) are held back until the next chunk (or the end)
    shows whether they do; anything else passes at once, so a stream is not delayed by the
    length of the longest spelling.
    """

    def __init__(self, redactor: Redactor) -> None:
        pattern = _pattern(redactor.secrets)
        self._pattern = re.compile(pattern.encode()) if pattern else None
        self._window = max(redactor.longest_spelling - 1, 0)
        # Per secret, per character, each spelling on its own: which one a chunk's end holds
        # is not known until the next chunk.
        self._chars = tuple(
            tuple(tuple(re.compile(s.encode()) for s in _char_spellings(c)) for c in secret)
            for secret in redactor.secrets
        )
        self._starts = frozenset(b"\\%") | {secret[0].encode()[0] for secret in redactor.secrets}
        self._literals = tuple(secret.encode() for secret in redactor.secrets)
        self._pending = b""

    def feed(self, chunk: bytes) -> bytes:
        if self._pattern is None:
            return chunk
        data = self._pending + chunk
        # Without a backslash or a percent sign a secret can only be spelled as is, which
        # bytes.find finds far faster than the expression of every spelling.
        spelled = b"\\" in data or b"%" in data
        hold = self._held_from(data, 0)
        out: list[bytes] = []
        position = 0
        while (found := self._search(data, position, spelled)) is not None:
            start, end = found
            if start >= hold or (spelled and _may_grow(data, start, end)):
                # It may be the start of a longer secret, or its last character the start of
                # a longer escape: decided with the next chunk.
                hold = min(hold, start)
                break
            out += (data[position:start], _REDACTED_BYTES)
            position = end
            hold = max(hold, self._held_from(data, position))
        out.append(data[position:hold])
        self._pending = data[hold:]
        return b"".join(out)

    def flush(self) -> bytes:
        data, self._pending = self._pending, b""
        if self._pattern is None:
            return data
        return self._pattern.sub(_REDACTED_BYTES, data)

    def _search(self, data: bytes, position: int, spelled: bool) -> tuple[int, int] | None:
        """The first (start, end) of a secret in ``data`` from ``position``, if any."""
        if spelled:
            assert self._pattern is not None
            match = self._pattern.search(data, position)
            return None if match is None else match.span()
        first: tuple[int, int] | None = None
        for secret in self._literals:  # longest first: it wins a tie
            at = data.find(secret, position)
            if at >= 0 and (first is None or at < first[0]):
                first = (at, at + len(secret))
        return first

    def _held_from(self, data: bytes, start: int) -> int:
        """Where the bytes that could begin a spelling of a secret start (``len(data)`` when
        none could), looking no further back than the longest spelling."""
        for position in range(max(start, len(data) - self._window), len(data)):
            if data[position] in self._starts and any(
                _could_begin(data, position, chars) for chars in self._chars
            ):
                return position
        return len(data)


# The longest spelling of one character: four UTF-8 bytes, each written \\xHH.
_LONGEST_CHAR = 16
# The unfinished end of one character's spelling: an escape cut short, or part of a UTF-8
# sequence. Generous on purpose: holding a few bytes too many only delays them.
_PARTIAL = re.compile(rb"[\\%][\\%0-9a-zA-Z]{0,14}|[\x80-\xff]{1,3}")


def _may_grow(data: bytes, start: int, end: int) -> bool:
    """Whether more data could spell the matched secret's last character longer: the match
    ends where an unfinished escape runs to the end of ``data`` (a backslash matched as
    itself may be the start of ``\\u005c``)."""
    if len(data) - end >= _LONGEST_CHAR:
        return False
    return any(
        _PARTIAL.fullmatch(data, k) for k in range(max(start, end - _LONGEST_CHAR), len(data))
    )


def _could_begin(
    data: bytes, position: int, chars: tuple[tuple[re.Pattern[bytes], ...], ...]
) -> bool:
    """Whether ``data[position:]`` could be the unfinished beginning of a spelling of the secret
    whose characters' spellings are ``chars`` (a whole spelling is the search's to find).

    Every way of spelling each character is tried (a backslash may be one character or start
    an escape); each (position, character) pair is looked at once, so this stays linear."""
    todo = [(position, 0)]
    seen: set[tuple[int, int]] = set()
    while todo:
        state = todo.pop()
        if state in seen:
            continue
        seen.add(state)
        at, index = state
        if at == len(data):
            return True
        if index == len(chars):
            continue
        if len(data) - at < _LONGEST_CHAR and _PARTIAL.fullmatch(data, at):
            return True
        for spelling in chars[index]:
            match = spelling.match(data, at)
            if match is not None:
                todo.append((match.end(), index + 1))
    return False
