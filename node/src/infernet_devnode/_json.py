"""JSON in and out of the node with its bounds: nesting depth, finite numbers only.

Python's json module accepts ``NaN``, ``Infinity`` and numbers too large for a float (``1e999``
becomes ``inf``) and writes them back out as ``NaN``/``Infinity``, which no strict JSON parser
reads (RFC 8259 section 6 has no such numbers). It also parses with recursion, so a body nested
a few thousand levels deep raises RecursionError, and one nested just under that limit parses but
cannot be written back out inside the node's answer envelope. Everything the node reads from a
client or a container goes through ``loads`` and everything it serves or stores through
``dumps``.
"""

from __future__ import annotations

import json
import math
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


def loads(text: str | bytes, max_depth: int) -> Any:
    """Parse ``text``, refusing non-finite numbers and nesting deeper than ``max_depth``.

    Raises:
        JsonRejected: not JSON, too deep, or a number that is not finite.
    """
    try:
        value = json.loads(text, parse_constant=_no_constant, parse_float=_finite_float)
    except RecursionError:
        raise JsonRejected(f"nested more than {max_depth} levels deep") from None
    except JsonRejected:
        raise
    except ValueError as e:
        raise JsonRejected(f"not valid JSON ({e})") from None
    # Counting brackets is one pass in C; only text with enough of them can be too deep.
    if isinstance(text, bytes):
        brackets = text.count(b"[") + text.count(b"{")
    else:
        brackets = text.count("[") + text.count("{")
    if brackets > max_depth and too_deep(value, max_depth):
        raise JsonRejected(f"nested more than {max_depth} levels deep")
    return value


def too_deep(value: Any, max_depth: int) -> bool:
    """Whether ``value`` nests lists/objects more than ``max_depth`` levels (no recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > max_depth:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def dumps(value: Any) -> bytes:
    """Strict JSON bytes of ``value``.

    Raises:
        ValueError: ``value`` holds NaN or an infinity (never valid JSON).
    """
    return json.dumps(value, allow_nan=False).encode()
