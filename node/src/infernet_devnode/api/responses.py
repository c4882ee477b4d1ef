"""What every route of the node answers with: JSON, the error shape, headers, bounded integers.

Every body is written by the node's encoder (``_json.dumps``: strict JSON, never NaN or
Infinity). Every error is ``{"error": <text>, ...}``, with ``"field"`` naming the part of the
request that was wrong where there is one.

Integers read from request paths and queries are ASCII decimal digits of a bounded length:
``str.isdigit()`` also accepts digits from other scripts and superscripts (``²``, ``①``) that
``int()`` refuses, and ``int()`` refuses strings longer than Python's integer-string limit (4,300
digits by default); either way a handler would fail with a 500. Every path or query integer goes
through ``parse_uint``, which refuses both before ``int()`` runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from .._json import dumps
from ..errors import InvalidField
from ..messages import UINT32_MAX

__all__ = [
    "CONTENT_SECURITY_POLICY",
    "SECURITY_HEADERS",
    "error_response",
    "json_response",
    "parse_uint",
    "query_uint",
    "subscription_id",
]

_ASCII_DIGITS = frozenset("0123456789")

# Only the node's own files may load, nothing inline, nothing from elsewhere; the page cannot
# be framed and its forms cannot post anywhere (docs/explorer.md).
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self';"
    " connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


def json_response(body: Any, status: int = 200) -> web.Response:
    return web.Response(body=dumps(body), status=status, content_type="application/json")


def error_response(status: int, error: str, **extra: Any) -> web.Response:
    """The node's error shape: ``{"error": error, **extra}`` (e.g. ``field``, ``limit``)."""
    return json_response({"error": error, **extra}, status)


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


def subscription_id(raw: str, field: str = "id") -> int:
    """A Coordinator subscription id (1 to uint32 max, the width of the Coordinator's ids).

    Raises:
        InvalidField: not such an id (the message names ``field``).
    """
    return parse_uint(raw, field, 1, UINT32_MAX, "a subscription id")


def query_uint(query: Mapping[str, str], field: str, low: int, high: int) -> int | None:
    """The optional query parameter ``field`` as an integer in ``[low, high]`` (None when absent
    or empty).

    Raises:
        InvalidField: present but not such an integer.
    """
    value = query.get(field)
    if not value:
        return None
    return parse_uint(value, field, low, high)
