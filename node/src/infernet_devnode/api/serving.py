"""Serving the node's application on its REST port, with its open connections counted.

aiohttp's ``web.Server`` is the protocol factory of the listening socket (asyncio's
``create_server``); the one here also tells the node's ``ConnectionCap``
(``server.max_connections``, docs/devnode.md) when a connection opens and closes. The
application's handler and request factory are taken from an ``AppRunner``, which also runs the
application's startup and cleanup signals.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

from aiohttp import web

from ..config import ServerConfig
from ..connections import ConnectionCap

__all__ = ["LINGERING_S", "LISTEN_BACKLOG", "SHUTDOWN_GRACE_S", "ApiServer"]

# Listen backlog: a burst of thousands of concurrent clients is queued by the kernel instead of
# their connection attempts being dropped and retried a second later (Linux caps it at
# net.core.somaxconn, 4096 by default).
LISTEN_BACKLOG = 4096
# On stop, requests still in progress (e.g. a stream) get this long before being cut.
SHUTDOWN_GRACE_S = 2.0
# After answering a request whose body was not read in full (408, 413), aiohttp reads and drops
# the rest for this long before closing, so the client gets the answer instead of a reset; it
# bounds what a trickling client costs after server.body_timeout (aiohttp's default is 10 s).
LINGERING_S = 2.0


class _CountedServer(web.Server):
    """aiohttp's server, telling ``cap`` about every connection it opens and closes."""

    def __init__(self, cap: ConnectionCap, handler: Any, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self._cap = cap

    def connection_made(self, handler: web.RequestHandler, transport: asyncio.Transport) -> None:
        super().connection_made(handler, transport)
        self._cap.opened(handler)

    def connection_lost(
        self, handler: web.RequestHandler, exc: BaseException | None = None
    ) -> None:
        super().connection_lost(handler, exc)
        self._cap.closed(handler)


class ApiServer:
    """Serves one application on ``server.host``:``server.port``; ``stop`` is safe to call
    twice."""

    def __init__(self, app: web.Application, config: ServerConfig, cap: ConnectionCap) -> None:
        self._app = app
        self._config = config
        self._cap = cap
        self._runner: web.AppRunner | None = None
        self._server: web.Server | None = None
        self._listener: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        """Run the application's startup signals and begin accepting connections.

        Raises:
            OSError: the port cannot be bound.
        """
        self._runner = web.AppRunner(self._app, handle_signals=False)
        await self._runner.setup()
        made = self._runner.server
        assert made is not None  # set by setup()
        # handler_cancellation: a client that hangs up stops its handler (e.g. a stream's
        # container call) instead of leaving it to run to the end.
        # keepalive_timeout: aiohttp closes a connection that has no complete request head this
        # long after it opened or after its last answer (idle keep-alive and trickled heads).
        self._server = _CountedServer(
            self._cap,
            made.request_handler,
            request_factory=made.request_factory,
            handler_cancellation=True,
            keepalive_timeout=self._config.keepalive_timeout,
            lingering_time=LINGERING_S,
            access_log=None,
        )
        sock = _listen(self._config.host, self._config.port)
        self.port = sock.getsockname()[1]
        loop = asyncio.get_running_loop()
        self._listener = await loop.create_server(self._server, sock=sock, backlog=LISTEN_BACKLOG)

    async def stop(self) -> None:
        """Stop accepting, give requests in progress ``SHUTDOWN_GRACE_S``, then run the
        application's cleanup signals."""
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        if self._server is not None:
            # One turn of the loop first: requests that arrived before the close start being
            # handled, and are then not taken for idle connections.
            await asyncio.sleep(0)
            self._server.pre_shutdown()
            await self._server.shutdown(SHUTDOWN_GRACE_S)
            self._server = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


def _listen(host: str, port: int) -> socket.socket:
    """A bound socket with TCP_NODELAY set (the upstream's keep-alive latency comes from
    Nagle's algorithm meeting delayed ACKs)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock
