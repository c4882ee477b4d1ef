"""A cap on the REST server's open connections (``server.max_connections``, docs/devnode.md).

Every open connection holds a file descriptor. Clients that open connections and never finish a
request (or keep idle keep-alive connections) could otherwise use up the process's descriptor
limit, after which no new connection, ``GET /health`` included, can be accepted at all. So when a
new connection takes the count past the cap, the connections that have been open longest without
a request in progress are closed, down to ``LOW_WATER`` of the cap (a client whose idle
keep-alive connection is closed simply opens a new one). Connections whose request is being
handled are never closed here: those are bounded by the body timeout and the job limits.
"""

from __future__ import annotations

import logging
import resource
from typing import Protocol

__all__ = ["Connection", "ConnectionCap", "default_max_connections"]

log = logging.getLogger(__name__)

# Shedding goes below the cap, so a burst of new connections costs one pass, not one per
# connection.
LOW_WATER = 0.9
MIN_CONNECTIONS = 16


def default_max_connections() -> int:
    """Half the process's descriptor limit: the rest is for container and RPC connections,
    the store and the logs."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        soft = 65_536
    return max(MIN_CONNECTIONS, soft // 2)


class Connection(Protocol):
    """What the cap needs of a server connection (aiohttp's RequestHandler has it)."""

    def force_close(self) -> None: ...


class ConnectionCap:
    """Tracks open connections, oldest first, and which of them are handling a request."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._open: dict[Connection, None] = {}
        self._busy: set[Connection] = set()
        self._shedding = False

    @property
    def open(self) -> int:
        return len(self._open)

    def opened(self, connection: Connection) -> None:
        self._open[connection] = None
        if len(self._open) > self.limit:
            self._shed(connection)
        elif self._shedding and len(self._open) < self.limit * LOW_WATER:
            self._shedding = False

    def closed(self, connection: Connection) -> None:
        self._open.pop(connection, None)
        self._busy.discard(connection)

    def request_started(self, connection: Connection) -> None:
        """``connection`` handles a request until ``request_ended``: it is not closed for the
        cap meanwhile."""
        self._busy.add(connection)

    def request_ended(self, connection: Connection) -> None:
        self._busy.discard(connection)

    def _shed(self, newest: Connection) -> None:
        target = int(self.limit * LOW_WATER)
        idle = [c for c in self._open if c not in self._busy and c is not newest]
        excess = len(self._open) - target
        if not self._shedding:
            self._shedding = True
            log.warning(
                "%d connections open, more than server.max_connections (%d): closing the"
                " longest-open ones without a request in progress",
                len(self._open),
                self.limit,
            )
        for connection in idle[:excess]:
            del self._open[connection]
            connection.force_close()
