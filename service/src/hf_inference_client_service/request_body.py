"""Reading a request body within its limits, so that even an oversized one gets its 413 read.

A server that refuses an oversized body as soon as the head declares it, and then closes the
connection, leaves the rest of the body unread: its TCP stack answers the bytes still arriving
with a reset, which may also erase the answer before the client reads it (RFC 9112 section 9.6,
"Tear-down"). A client that writes its whole body before reading its answer, as most HTTP
libraries do, then sees a broken pipe or a reset instead of the 413. The body is therefore read
to its end and thrown away, up to `max_drain_bytes`, before the 413 is answered; the connection
then stays usable. A body larger still is refused at once (the connection is closed): reading it
would cost more than the client's clear answer is worth.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable
from dataclasses import dataclass

from .errors import BodyTimeout
from .errors import BodyTooLarge

__all__ = ["DEFAULT_MAX_DRAIN_BYTES", "BodyLimits", "read_body"]

# 16 MiB: a 4 MiB prompt JSON-escaped several times over is still answered with a readable 413.
DEFAULT_MAX_DRAIN_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class BodyLimits:
    """How much of a request body is accepted, read at all, and for how long.

    Attributes:
        max_bytes: the largest body accepted.
        max_drain_bytes: the largest oversized body read (and thrown away) before its 413.
        timeout: seconds allowed to receive the body, drained or not.
    """

    max_bytes: int
    max_drain_bytes: int = DEFAULT_MAX_DRAIN_BYTES
    timeout: float = 30.0


async def read_body(
    chunks: AsyncIterable[bytes], declared: int | None, limits: BodyLimits
) -> bytes:
    """The whole body, at most `limits.max_bytes` of it.

    Args:
        chunks: the body as it arrives.
        declared: its Content-Length, if the client sent one.

    Raises:
        BodyTooLarge: the body is larger than `max_bytes` (read to its end when it is at most
            `max_drain_bytes`).
        BodyTimeout: the body did not arrive within `timeout` seconds.
    """
    drain = max(limits.max_bytes, limits.max_drain_bytes)
    if declared is not None and declared > drain:
        raise BodyTooLarge(limits.max_bytes)
    parts: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(limits.timeout):
            async for chunk in chunks:
                size += len(chunk)
                if size <= limits.max_bytes:
                    parts.append(chunk)
                elif size > drain:
                    break  # a body without Content-Length that keeps coming
    except TimeoutError as e:
        if size > limits.max_bytes:
            raise BodyTooLarge(limits.max_bytes) from e
        raise BodyTimeout(limits.timeout) from e
    if size > limits.max_bytes:
        raise BodyTooLarge(limits.max_bytes)
    return b"".join(parts)
