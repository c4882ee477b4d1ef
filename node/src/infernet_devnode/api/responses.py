"""Integers read from request paths and queries: ASCII decimal digits of a bounded length.

``str.isdigit()`` also accepts digits from other scripts and superscripts (``²``, ``①``) that
``int()`` refuses, and ``int()`` refuses strings longer than Python's integer-string limit (4,300
digits by default); either way a handler would fail with a 500. Every path or query integer goes
through ``parse_uint``, which refuses both before ``int()`` runs.
"""

from __future__ import annotations

from .errors import InvalidField

__all__ = ["parse_uint"]

_ASCII_DIGITS = frozenset("0123456789")


def parse_uint(raw: str, field: str, low: int, high: int, what: str = "an integer") -> int:
    """``raw`` as an integer in ``[low, high]``, written with ASCII digits only.

    Raises:
        InvalidField: ``raw`` is empty, holds anything but 0-9, is longer than ``high`` can be
            written in, or is out of range (the message names ``field`` and the range).
    """
    # Leading zeros are allowed, up to the width of ``high`` itself.
    if raw and len(raw) <= len(str(high)) and _ASCII_DIGITS.issuperset(raw):
        value = int(raw)
        if low <= value <= high:
            return value
    raise InvalidField(field, f"expected {what} between {low} and {high} (ASCII digits)")
