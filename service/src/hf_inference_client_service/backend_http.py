"""HTTP to the inference backend: one aiohttp session, owned by the workflow that opened it.

Why aiohttp and not huggingface_hub's own httpx2 client: httpcore2 2.16.2 puts a keep-alive
connection back into its pool with whatever the backend sent beyond the declared end of an answer
still buffered in h11, and parses those bytes as the next answer on that connection. One backend
answer with a wrong Content-Length (or a whole extra answer) then shifts every later job's output
onto the next job. aiohttp's client closes a connection whose buffer is not empty when the
response is released (`ResponseHandler.should_close`), and the connector below also drops a
pooled connection that received bytes while idle, so a stray byte costs one connection, never
another job's answer. The service's tests replay that case against a scripted backend.

Other guarantees:
- bounded: at most `connections` concurrent connections (also kept alive), answers larger than
  `max_response_bytes` are refused, heads are limited by aiohttp's parser (8 KiB lines);
- redirects are followed only to the same origin (scheme, host, port), a few hops at most;
- proxies: HTTP_PROXY / HTTPS_PROXY / NO_PROXY are honoured (an http:// proxy, credentials in
  its URL), read once per backend URL;
- no cookies: a cookie one answer sets is never sent with another job's request.

Cost per call (measured with a sampling profiler, docs/benchmarks.md): aiohttp's `trust_env`
re-reads the proxy variables and the netrc file on every request, each time in a worker thread
(two thread hops per call, a quarter of the service's CPU per job). The variables do not change
while the process runs, so the proxy of each backend URL is looked up once here and handed to
aiohttp with the request; the netrc file is not read (the backend is authenticated by the token).

Errors: `BackendStatus` (the backend answered >= 400, body kept for the reason),
`MalformedAnswer` (the answer broke HTTP or a limit: 502), `BackendUnreachable` (connection
failures, worth retrying).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from collections.abc import Mapping
from contextlib import asynccontextmanager
from enum import Enum
from typing import Any
from urllib.parse import urljoin
from urllib.parse import urlsplit
from urllib.request import getproxies
from urllib.request import proxy_bypass

import aiohttp

from .config import ConnectionLimits

__all__ = [
    "BackendHTTP",
    "BackendStatus",
    "BackendUnreachable",
    "MalformedAnswer",
]

# 307/308 keep the method and body (RFC 9110 15.4.8, 15.4.9); 301/302/303 would turn the
# inference POST into a GET, which no inference route answers.
_FOLLOWED_REDIRECTS = frozenset({307, 308})
_MAX_REDIRECTS = 3
_READ_CHUNK = 65_536
_REASON_LIMIT = 200
# Backend URLs whose origin and proxy are remembered before the memory starts over.
_ROUTE_MEMORY = 1024

_Origin = tuple[str, str, int | None]


class BackendUnreachable(Exception):
    """No answer at all: refused, reset or dropped before an HTTP response arrived."""


class MalformedAnswer(Exception):
    """The backend's answer broke HTTP framing, a limit, or the expected JSON shape."""


class BackendStatus(Exception):
    """The backend answered with an error status; `body` is its (bounded) explanation."""

    def __init__(self, status: int, body: bytes, headers: Mapping[str, str]) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.body = body
        self.headers = headers


class _State(Enum):
    UNOPENED = "unopened"
    OPENED = "opened"
    CLOSED = "closed"


def _origin(url: str) -> _Origin:
    parts = urlsplit(url)
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), parts.port or default


def env_proxy(url: str) -> str | None:
    """The proxy the standard variables name for `url`, as aiohttp's `trust_env` picks it.

    HTTP_PROXY / HTTPS_PROXY by the URL's scheme (Python's `urllib.request.getproxies`), none
    when NO_PROXY matches its host (`proxy_bypass`); only http:// proxies (aiohttp ignores
    others read from the environment too).
    """
    scheme, host, _ = _origin(url)
    proxy = getproxies().get(scheme)
    if not proxy or not proxy.startswith("http://") or (host and proxy_bypass(host)):
        return None
    return proxy


def _describe(error: BaseException) -> str:
    # aiohttp's parser messages quote the offending bytes on later lines; the first line says
    # what was wrong, which is what the caller needs (the rest may hold another job's data).
    text = error.message if isinstance(error, aiohttp.ClientResponseError) else str(error)
    lines = (text or "").split(": b'", 1)[0].strip().splitlines()
    first = lines[0].rstrip(": ") if lines else ""
    return (first or type(error).__name__)[:_REASON_LIMIT]


class _IdleCheckedConnector(aiohttp.TCPConnector):
    """aiohttp's connector, minus reusing a pooled connection that received bytes while idle.

    aiohttp closes a connection that holds unread bytes when its response is released, but bytes
    that arrive later, while the connection waits in the pool, are parsed as an answer and handed
    to the next request on it: a backend that sends a stray answer after a complete one would
    give the next job that stray answer. Such a connection reports `should_close`; it is closed
    here instead of reused. (`_get` is aiohttp's private pool lookup: pyproject.toml bounds
    aiohttp to the minor release tests/test_backend_faults.py checks this on.)
    """

    async def _get(self, key: Any, *args: Any, **kwargs: Any) -> Any:
        while True:
            connection = await super()._get(key, *args, **kwargs)
            if connection is None:
                return None
            protocol = connection.protocol
            if protocol is not None and not protocol.should_close:
                return connection
            connection.close()


class BackendHTTP:
    """The backend client; `open()` in the serving loop, `close()` (idempotent) at shutdown."""

    def __init__(self, limits: ConnectionLimits) -> None:
        self.limits = limits
        self._session: aiohttp.ClientSession | None = None
        self._state = _State.UNOPENED
        # Per backend URL: its origin (for redirects) and its proxy, looked up once.
        self._routes: dict[str, tuple[_Origin, str | None]] = {}

    def open(self) -> None:
        """Create the session on the running event loop.

        Raises:
            RuntimeError: opened twice or after close.
        """
        if self._state is not _State.UNOPENED:
            raise RuntimeError(f"backend client is {self._state.value}; open() runs once")
        connector = _IdleCheckedConnector(
            limit=self.limits.connections, limit_per_host=self.limits.connections
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            # Proxies come from `env_proxy`, once per URL (see the module's docstring).
            trust_env=False,
            # Backend answers set no state for later jobs, and jobs skip the jar's lookups.
            cookie_jar=aiohttp.DummyCookieJar(),
            # Time is bounded per job by the workflow (HF_INF_TIMEOUT), not per request here.
            timeout=aiohttp.ClientTimeout(total=None),
            raise_for_status=False,
        )
        self._state = _State.OPENED

    async def close(self) -> None:
        """Close every connection; safe to call twice."""
        session, self._session = self._session, None
        self._state = _State.CLOSED
        if session is not None:
            await session.close()

    def _opened(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError(f"backend client is {self._state.value}; call open() first")
        return self._session

    async def post(self, url: str, payload: Any, headers: Mapping[str, str]) -> bytes:
        """POST JSON and return the whole answer body (status < 400).

        Raises:
            BackendStatus: the backend answered >= 400.
            MalformedAnswer: bad framing, too large, or a redirect elsewhere.
            BackendUnreachable: no HTTP answer at all.
        """
        async with self.stream(url, payload, headers) as response:
            return await self._read_body(response)

    @asynccontextmanager
    async def stream(
        self, url: str, payload: Any, headers: Mapping[str, str]
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        """POST JSON and yield the open response (status < 400); released on exit.

        Raises:
            BackendStatus, MalformedAnswer, BackendUnreachable: as for `post`.
        """
        response = await self._send(url, payload, headers)
        try:
            if response.status >= 400:
                body = await self._read_body(response)
                raise BackendStatus(response.status, body, dict(response.headers))
            yield response
        except aiohttp.ClientPayloadError as e:
            raise MalformedAnswer(f"the answer's body is malformed: {_describe(e)}") from e
        except aiohttp.ClientResponseError as e:
            raise MalformedAnswer(f"the answer is not valid HTTP: {_describe(e)}") from e
        finally:
            response.release()

    async def lines(self, response: aiohttp.ClientResponse) -> AsyncIterator[bytes]:
        """The lines of a streamed answer, each bounded by `max_response_bytes`.

        Raises:
            MalformedAnswer: a line is too long or the framing breaks mid-stream.
        """
        limit = self.limits.max_response_bytes
        try:
            while True:
                line = await response.content.readuntil(b"\n")
                if not line:
                    return
                if len(line) > limit:
                    raise MalformedAnswer(f"a streamed line is larger than {limit} bytes")
                yield line
        except ValueError as e:
            # StreamReader.readuntil raises ValueError when a line passes its buffer limit.
            raise MalformedAnswer(f"a streamed line is too long: {_describe(e)}") from e
        except aiohttp.ClientPayloadError as e:
            raise MalformedAnswer(f"the stream's framing is broken: {_describe(e)}") from e

    async def _send(
        self, url: str, payload: Any, headers: Mapping[str, str]
    ) -> aiohttp.ClientResponse:
        session = self._opened()
        origin, proxy = self._route(url)
        for _hop in range(_MAX_REDIRECTS + 1):
            try:
                response = await session.post(
                    url, json=payload, headers=headers, allow_redirects=False, proxy=proxy
                )
            except (aiohttp.ClientPayloadError, aiohttp.ClientResponseError) as e:
                raise MalformedAnswer(f"the answer is not valid HTTP: {_describe(e)}") from e
            except (TimeoutError, aiohttp.ClientConnectionError, OSError) as e:
                raise BackendUnreachable(_describe(e)) from e
            if response.status not in _FOLLOWED_REDIRECTS and not 300 <= response.status < 400:
                return response
            location = response.headers.get("location", "")
            response.release()
            if response.status not in _FOLLOWED_REDIRECTS:
                raise MalformedAnswer(
                    f"the backend answered {response.status} to an inference POST; only"
                    " same-origin 307/308 redirects (which keep the job's body) are followed"
                )
            target = urljoin(url, location)
            if _origin(target) != origin:
                scheme, host, port = _origin(target)
                raise MalformedAnswer(
                    f"the backend redirected to another origin ({scheme}://{host}:{port});"
                    " redirects are followed only to the same origin"
                )
            url = target
        raise MalformedAnswer(f"the backend redirected more than {_MAX_REDIRECTS} times")

    def _route(self, url: str) -> tuple[_Origin, str | None]:
        route = self._routes.get(url)
        if route is None:
            if len(self._routes) >= _ROUTE_MEMORY:
                self._routes.clear()
            route = self._routes[url] = (_origin(url), env_proxy(url))
        return route

    async def _read_body(self, response: aiohttp.ClientResponse) -> bytes:
        limit = self.limits.max_response_bytes
        if response.content_length is not None and response.content_length > limit:
            raise MalformedAnswer(
                f"the answer declares {response.content_length} bytes; the limit is {limit}"
                " (HF_INF_MAX_RESPONSE_BYTES)"
            )
        parts: list[bytes] = []
        size = 0
        try:
            while chunk := await response.content.read(_READ_CHUNK):
                size += len(chunk)
                if size > limit:
                    raise MalformedAnswer(
                        f"the answer is larger than {limit} bytes (HF_INF_MAX_RESPONSE_BYTES)"
                    )
                parts.append(chunk)
        except aiohttp.ClientPayloadError as e:
            raise MalformedAnswer(f"the answer's body is malformed: {_describe(e)}") from e
        return b"".join(parts)
