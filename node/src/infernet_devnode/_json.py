"""JSON in and out of the node with its bounds: nesting depth, finite numbers only.

Python's json module accepts ``NaN``, ``Infinity`` and numbers too large for a float (``1e999``
becomes ``inf``) and writes them back out as ``NaN``/``Infinity``, which no strict JSON parser
reads (RFC 8259 section 6 has no such numbers). It also parses and writes with recursion, so a
deeply nested body can exhaust the stack, and one nested just under the limit parses but cannot
be written back out inside the node's answer envelope. Everything the node reads from a
client or a container goes through ``loads`` and everything it serves or stores through
``dumps``.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

__all__ = ["JsonRejected", "dumps", "loads"]


class JsonRejected(ValueError):
    """The text is not JSON the node accepts; ``reason`` says why in a few words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _no_constant(name: str) -> Any:
    raise JsonRejected(f"contains {name}, which is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JsonRejected(f"contains the number {text[:40]}, too large for a float")
    return value


# Built once: json.loads and json.dumps with options build a new decoder/encoder per call.
_DECODER = json.JSONDecoder(parse_constant=_no_constant, parse_float=_finite_float)
_ENCODER = json.JSONEncoder(allow_nan=False)


def loads(text: str | bytes, max_depth: int) -> Any:
    """Parse ``text``, refusing non-finite numbers and nesting deeper than ``max_depth``.

    Raises:
        JsonRejected: not JSON, too deep, or a number that is not finite.
    """
    # The depth is checked before parsing, never by catching RecursionError: the parser recurses
    # in C, and once a library raises the recursion limit (py_ecc, imported with the chain side,
    # sets 100,000) a deep enough body overflows the C stack before RecursionError is raised.
    if too_deep(text, max_depth):
        raise JsonRejected(f"nested more than {max_depth} levels deep")
    try:
        if isinstance(text, bytes):
            text = text.decode("utf-8")  # RFC 8259 section 8.1: JSON is exchanged as UTF-8
        return _DECODER.decode(text)
    except UnicodeDecodeError as e:
        raise JsonRejected(f"not UTF-8 ({e.reason} at byte {e.start})") from None
    except JsonRejected:
        raise
    except RecursionError:
        raise JsonRejected(f"nested more than {max_depth} levels deep") from None
    except ValueError as e:
        raise JsonRejected(f"not valid JSON ({e})") from None


_SPECIAL_BYTES = re.compile(rb'[\[\]{}"\\]')
_SPECIAL_TEXT = re.compile(r'[\[\]{}"\\]')
_OPENING = frozenset("[{") | frozenset(b"[{")
_CLOSING = frozenset("]}") | frozenset(b"]}")
_QUOTE = frozenset('"') | frozenset(b'"')
_BACKSLASH = frozenset("\\") | frozenset(b"\\")


def too_deep(text: str | bytes, max_depth: int) -> bool:
    """Whether JSON ``text`` opens more than ``max_depth`` arrays/objects inside each other.

    Linear and without recursion; brackets inside strings do not count. Text that is not JSON
    may pass: the parser then refuses it, at no more than ``max_depth`` levels.
    """
    # Counting brackets is one pass in C; only text with enough of them can be too deep.
    if isinstance(text, bytes):
        if text.count(b"[") + text.count(b"{") <= max_depth:
            return False
        specials = _SPECIAL_BYTES.finditer(text)
    else:
        if text.count("[") + text.count("{") <= max_depth:
            return False
        specials = _SPECIAL_TEXT.finditer(text)  # type: ignore[assignment]
    depth = 0
    in_string = False
    escaped_at = -1
    for match in specials:
        position = match.start()
        if position == escaped_at:
            continue
        char = text[position]
        if in_string:
            if char in _BACKSLASH:
                escaped_at = position + 1
            elif char in _QUOTE:
                in_string = False
        elif char in _QUOTE:
            in_string = True
        elif char in _OPENING:
            depth += 1
            if depth > max_depth:
                return True
        elif char in _CLOSING:
            depth -= 1
    return False


def dumps(value: Any) -> bytes:
    """Strict JSON bytes of ``value``.

    Raises:
        ValueError: ``value`` holds NaN or an infinity (never valid JSON).
    """
    return _ENCODER.encode(value).encode()
