"""A lean HTTP/1.1 keep-alive transport for the AsyncInferenceClient's httpx2 client.

Why: measured on the 2-core reference machine, huggingface_hub 2.4.0's default httpx2 transport
(httpcore2 over anyio) costs about 0.57 ms CPU per call on its own, and its pool keeps only 20
idle connections, so 64 concurrent jobs churn TCP connections (2.9 ms CPU per job measured).
This transport speaks plain HTTP/1.1 on asyncio streams and keeps every idle connection per origin
(bounded), which brings a backend call to about a third of that. Everything above the transport
is unchanged: AsyncInferenceClient builds the requests and parses the answers, httpx2 handles
headers, content decoding and redirects.

Scope: http and https origins, Content-Length or chunked bodies both ways, close-delimited
responses. Proxies are not supported; `lean_transport_enabled()` is false when proxy variables
are set, and the service then keeps httpx2's own transport.

Connections belong to the event loop that opened them, so pools are kept per running loop
(several test servers may run in one process, each on its own loop).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import ssl
import weakref
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

import httpx2

__all__ = ["CachingAsyncClient", "PooledTransport", "lean_transport_enabled"]

_PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")
_MAX_IDLE_PER_ORIGIN = 512
_HEAD_LIMIT = 65_536
_DEFAULT_PORTS = {"http": 80, "https": 443}
_NO_BODY_STATUSES = frozenset({204, 304})

_Origin = tuple[str, str, int]
_URL_CACHE_SIZE = 1024
_CLOSE_WAIT = 1.0


def lean_transport_enabled() -> bool:
    """False when proxy variables are set (httpx2's transport honours them, this one does not)."""
    return not any(os.environ.get(name) for name in _PROXY_VARS)


class CachingAsyncClient(httpx2.AsyncClient):
    """An httpx2 client that parses each absolute URL once.

    huggingface_hub passes the URL as a string on every call and httpx2 parses it each time
    (about 8% of a job's CPU here); a service sends to a handful of URLs. httpx2 URLs are
    immutable, so sharing the parsed value is safe. If httpx2 renames `_merge_url`, this
    override is simply never called.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._parsed: dict[str, httpx2.URL] = {}

    def _merge_url(self, url: httpx2.URL | str) -> httpx2.URL:
        if not isinstance(url, str):
            return super()._merge_url(url)
        parsed = self._parsed.get(url)
        if parsed is None:
            parsed = super()._merge_url(url)
            if len(self._parsed) >= _URL_CACHE_SIZE:
                self._parsed.clear()
            self._parsed[url] = parsed
        return parsed


class _Connection:
    __slots__ = ("reader", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    def usable(self) -> bool:
        return not self.writer.is_closing() and not self.reader.at_eof()

    def close(self) -> None:
        self.writer.close()


class _Pool:
    """Idle connections of one event loop, per origin."""

    def __init__(self) -> None:
        self.idle: dict[_Origin, deque[_Connection]] = {}

    def take(self, origin: _Origin) -> _Connection | None:
        idle = self.idle.get(origin)
        while idle:
            conn = idle.pop()
            if conn.usable():
                return conn
            conn.close()
        return None

    def give(self, origin: _Origin, conn: _Connection) -> None:
        idle = self.idle.setdefault(origin, deque())
        if len(idle) >= _MAX_IDLE_PER_ORIGIN or not conn.usable():
            conn.close()
            return
        idle.append(conn)

    async def close(self) -> None:
        conns = [conn for idle in self.idle.values() for conn in idle]
        self.idle.clear()
        for conn in conns:
            conn.close()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(_CLOSE_WAIT):  # TLS shutdown needs a few loop turns
                for conn in conns:
                    with contextlib.suppress(ConnectionError, OSError, ssl.SSLError):
                        await conn.writer.wait_closed()


def _timeouts(request: httpx2.Request) -> tuple[float | None, float | None]:
    timeout: dict[str, float | None] = request.extensions.get("timeout", {})
    return timeout.get("connect"), timeout.get("read")


class PooledTransport(httpx2.AsyncBaseTransport):
    """HTTP/1.1 over asyncio streams with per-loop, per-origin keep-alive pools.

    `aclose()` is a no-op so that several httpx2 clients can share the pools; `close_pools()`
    closes the idle connections of the running loop.
    """

    def __init__(self, ssl_context: ssl.SSLContext | None = None) -> None:
        self._ssl = ssl_context
        self._pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Pool] = (
            weakref.WeakKeyDictionary()
        )

    def _pool(self) -> _Pool:
        loop = asyncio.get_running_loop()
        pool = self._pools.get(loop)
        if pool is None:
            pool = self._pools[loop] = _Pool()
        return pool

    async def aclose(self) -> None:
        """Shared transport: closing one client must not close the pool."""

    async def close_pools(self) -> None:
        """Close the idle connections of the running loop (idempotent)."""
        pool = self._pools.pop(asyncio.get_running_loop(), None)
        if pool is not None:
            await pool.close()

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        """Send one request, reusing an idle connection when there is one."""
        url = request.url
        origin = (url.scheme, url.host, url.port or _DEFAULT_PORTS.get(url.scheme, 80))
        connect_timeout, read_timeout = _timeouts(request)
        payload = _request_bytes(request, await request.aread())
        pool = self._pool()
        conn = pool.take(origin)
        if conn is not None:
            try:
                return await self._exchange(pool, origin, conn, payload, request, read_timeout)
            except _StaleConnection:
                pass  # the server closed an idle connection: retry once on a fresh one
        conn = await self._connect(origin, connect_timeout)
        try:
            return await self._exchange(pool, origin, conn, payload, request, read_timeout)
        except _StaleConnection as e:
            raise httpx2.RemoteProtocolError(
                "server closed the connection without answering", request=request
            ) from e

    async def _connect(self, origin: _Origin, limit: float | None) -> _Connection:
        scheme, host, port = origin
        context: ssl.SSLContext | None = None
        if scheme == "https":
            if self._ssl is None:
                # Loading the CA bundle takes tens of milliseconds: once per transport.
                self._ssl = httpx2.create_ssl_context()
            context = self._ssl
        try:
            async with asyncio.timeout(limit):
                reader, writer = await asyncio.open_connection(
                    host, port, ssl=context, limit=_HEAD_LIMIT
                )
        except TimeoutError as e:
            raise httpx2.ConnectTimeout(f"connecting to {host}:{port} timed out") from e
        except OSError as e:
            raise httpx2.ConnectError(f"cannot connect to {host}:{port}: {e}") from e
        return _Connection(reader, writer)

    async def _exchange(
        self,
        pool: _Pool,
        origin: _Origin,
        conn: _Connection,
        payload: bytes,
        request: httpx2.Request,
        read_timeout: float | None,
    ) -> httpx2.Response:
        try:
            conn.writer.write(payload)
            async with asyncio.timeout(read_timeout):
                head = await conn.reader.readuntil(b"\r\n\r\n")
        except TimeoutError as e:
            conn.close()
            raise httpx2.ReadTimeout("timed out waiting for the response", request=request) from e
        except asyncio.IncompleteReadError as e:
            conn.close()
            if not e.partial:
                raise _StaleConnection from e
            raise httpx2.RemoteProtocolError("truncated response head", request=request) from e
        except (ConnectionError, asyncio.LimitOverrunError) as e:
            conn.close()
            raise _StaleConnection from e
        except BaseException:
            conn.close()  # cancelled (the job's deadline): the connection is mid-exchange
            raise
        status, reason, headers = _parse_head(head, request)
        stream = _ResponseBody(pool, origin, conn, headers, status, request, read_timeout)
        return httpx2.Response(
            status,
            headers=headers,
            stream=stream,
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": reason},
        )


class _StaleConnection(Exception):
    """A reused connection failed before any response byte arrived."""


def _request_bytes(request: httpx2.Request, body: bytes) -> bytes:
    target = request.url.raw_path
    lines = [request.method.encode() + b" " + target + b" HTTP/1.1"]
    has_length = False
    for name, value in request.headers.raw:
        lowered = name.lower()
        if lowered == b"transfer-encoding":
            continue
        has_length = has_length or lowered == b"content-length"
        lines.append(name + b": " + value)
    if not has_length and (body or request.method in ("POST", "PUT", "PATCH")):
        lines.append(b"content-length: " + str(len(body)).encode())
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def _parse_head(
    head: bytes, request: httpx2.Request
) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
    lines = head[:-4].split(b"\r\n")
    parts = lines[0].split(b" ", 2)
    try:
        status = int(parts[1])
    except (IndexError, ValueError) as e:
        raise httpx2.RemoteProtocolError(
            f"bad status line {lines[0]!r:.80}", request=request
        ) from e
    reason = parts[2] if len(parts) > 2 else b""
    headers = []
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        headers.append((name.strip(), value.strip()))
    return status, reason, headers


class _ResponseBody(httpx2.AsyncByteStream):
    """Reads one response body; gives the connection back to the pool once fully read."""

    def __init__(
        self,
        pool: _Pool,
        origin: _Origin,
        conn: _Connection,
        headers: list[tuple[bytes, bytes]],
        status: int,
        request: httpx2.Request,
        read_timeout: float | None,
    ) -> None:
        self._pool, self._origin, self._conn = pool, origin, conn
        self._request, self._timeout = request, read_timeout
        self._length: int | None = None
        self._chunked = False
        self._keep_alive = True
        self._done = False
        self._closed = False
        for name, value in headers:
            lowered = name.lower()
            if lowered == b"content-length":
                self._length = int(value)
            elif lowered == b"transfer-encoding":
                self._chunked = b"chunked" in value.lower()
            elif lowered == b"connection":
                self._keep_alive = b"close" not in value.lower()
        if status in _NO_BODY_STATUSES or request.method == "HEAD":
            self._length = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        reader = self._conn.reader
        try:
            async with asyncio.timeout(self._timeout) as deadline:
                if self._chunked:
                    async for chunk in self._chunks(reader, deadline):
                        yield chunk
                elif self._length is not None:
                    if self._length:
                        yield await reader.readexactly(self._length)
                else:
                    self._keep_alive = False
                    while chunk := await reader.read(65_536):
                        deadline.reschedule(_later(self._timeout))
                        yield chunk
        except TimeoutError as e:
            self._conn.close()
            raise httpx2.ReadTimeout("timed out reading the response", request=self._request) from e
        except (ConnectionError, asyncio.IncompleteReadError) as e:
            self._conn.close()
            raise httpx2.ReadError(f"response body cut short: {e}", request=self._request) from e
        except BaseException:
            self._conn.close()  # cancelled mid-body: the connection cannot be reused
            raise
        self._done = True

    async def _chunks(
        self, reader: asyncio.StreamReader, deadline: asyncio.Timeout
    ) -> AsyncIterator[bytes]:
        while True:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.split(b";", 1)[0], 16)
            if size == 0:
                while await reader.readuntil(b"\r\n") != b"\r\n":
                    pass  # trailers
                return
            data = await reader.readexactly(size + 2)
            deadline.reschedule(_later(self._timeout))
            yield data[:-2]

    async def aclose(self) -> None:
        """Return the connection when the body was read to the end, else close it."""
        if self._closed:
            return
        self._closed = True
        conn = self._conn
        if self._done and self._keep_alive:
            self._pool.give(self._origin, conn)
        else:
            conn.close()
            with contextlib.suppress(ConnectionError, OSError):
                await conn.writer.wait_closed()


def _later(timeout: float | None) -> float | None:
    # Each chunk of a streamed body gets the full read timeout again.
    return None if timeout is None else asyncio.get_running_loop().time() + timeout
