"""Calling containers: ``POST {base}/service_output``, chaining, streaming (docs/devnode.md).

Calls to a container go through one long-lived aiohttp session per container, whose keep-alive
pool is sized for ``server.max_container_calls``: one pool per container, so whatever a
container sends out of turn can only ever land on a call to that same container. Every call
holds a slot shared fairly between containers, clients and on-chain deliveries (``capacity``);
a call that finds none waits, and the container's ``timeout`` starts when the call gets its
slot, so time spent queued inside the node is never charged to the container. An
answer is read up to the container's ``max_answer_size`` and not a byte further: a larger one
fails the job and its connection is closed, so memory stays bounded and no unread byte can be
taken for the next call's answer.

Error mapping follows upstream: a connection error, a timeout or a body that is not JSON becomes a
ContainerError (the job fails). Deliberate differences: a non-2xx answer is also an error
(upstream stores e.g. a 500's JSON body as a successful output); framing errors, oversized or
too-deep answers and non-finite numbers each fail the job with a reason naming what the container
sent; only same-origin 307/308 redirects are followed (upstream's aiohttp defaults follow any);
an answer must be UTF-8; the node's own secrets for a container (its bearer, env values) are
redacted (redaction.py) from the parsed answer and from every reason before either is stored.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from collections.abc import Awaitable
from collections.abc import Callable
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
from multidict import CIMultiDict
from yarl import URL

from ._json import JsonRejected
from ._json import loads
from .capacity import CallLimits
from .capacity import CallSlots
from .config import ContainerConfig
from .container_http import AnswerRefused
from .container_http import check_charset
from .container_http import post_following_redirects
from .errors import StreamFailed
from .metrics import Metrics
from .redaction import REDACTED
from .redaction import Redactor
from .results import ContainerError
from .results import ContainerOutput
from .results import ContainerResult
from .results import JobLocation
from .version import __version__

__all__ = ["REDACTED", "ContainerCall", "ContainerClient", "Pipeline", "PipelineProgress"]

_JSON = "application/json"
_USER_AGENT = f"infernet-devnode/{__version__}"
# Cap on how much of a bad answer is quoted in a ContainerError.
_MAX_ERROR_BODY = 1_000
# Connections beyond the call slots, for /service-resources lookups and streams.
_SPARE_CONNECTIONS = 16
# Idle keep-alive connections are dropped after this long.
_KEEPALIVE_S = 30.0
# Read size while streaming an answer whose length is not declared up front.
_READ_CHUNK = 64 * 1024
# A call's own timeout is applied around it (asyncio.timeout), not by aiohttp.
_UNTIMED = aiohttp.ClientTimeout(total=None)


@dataclass(frozen=True)
class ContainerCall:
    """One request to one container: the ContainerInput body, and on whose behalf it is made
    (the client's address, or ``capacity.ONCHAIN``)."""

    container: str
    source: JobLocation
    destination: JobLocation
    data: Any
    requires_proof: bool
    owner: str

    def body(self) -> dict[str, Any]:
        return {
            "source": int(self.source),
            "destination": int(self.destination),
            "data": self.data,
            "requires_proof": self.requires_proof,
        }


@dataclass(frozen=True)
class Pipeline:
    """The outcome of running a chain of containers."""

    intermediate_results: tuple[ContainerResult, ...]
    result: ContainerResult | None


PipelineProgress = Callable[[tuple[ContainerResult, ...]], Awaitable[None] | None]


@dataclass(frozen=True)
class _Target:
    """A container as the client calls it: URL, headers and what to redact from answers."""

    config: ContainerConfig
    url: str
    # Parsed once: aiohttp otherwise parses the URL string and builds the header map per call.
    parsed_url: URL
    headers: CIMultiDict[str]
    redactor: Redactor

    @classmethod
    def of(cls, config: ContainerConfig) -> _Target:
        # Every header aiohttp would add by itself is given here instead (its per-call check
        # for them is then a lookup, not a merge): identity coding, since answers are read as
        # sent (RFC 9110 section 12.5.3), and the node's own User-Agent.
        headers = {
            "Content-Type": _JSON,
            "Accept": _JSON,
            "Accept-Encoding": "identity",
            "User-Agent": _USER_AGENT,
        }
        bearer = config.bearer.get_secret_value()
        if bearer:
            headers["Authorization"] = f"Bearer {bearer}"
        url = f"{config.base_url}/service_output"
        return cls(config, url, URL(url), CIMultiDict(headers), Redactor(config.secrets()))

    def redact(self, text: str) -> str:
        return self.redactor.text(text)


class _Connector(aiohttp.TCPConnector):
    """aiohttp's connector, minus reusing an idle connection that received bytes while idle.

    aiohttp parses whatever arrives on a pooled connection and hands it to the next request on
    it: a container that sends a stray answer after a complete one would have that stray answer
    taken for the next job's. Such a connection reports ``should_close``; it is closed here
    instead of reused. (A stray answer that races a new request on the connection cannot be told
    apart from its answer in HTTP/1.1; the pool is the container's own, so it can only ever
    mislead a call to the container that sent it.) ``_get`` is aiohttp's private pool lookup:
    node/pyproject.toml bounds aiohttp to the minor release
    tests/test_hostile_containers.py checks this on.
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


class ContainerClient:
    """HTTP client for the configured containers; owns their aiohttp sessions and the call
    slots."""

    def __init__(
        self,
        containers: Sequence[ContainerConfig],
        metrics: Metrics,
        limits: CallLimits,
        max_json_depth: int,
    ) -> None:
        self._targets = {c.id: _Target.of(c) for c in containers}
        self._metrics = metrics
        self._max_calls = limits.total
        self._max_json_depth = max_json_depth
        self.slots = CallSlots(limits)
        self._sessions: dict[str, aiohttp.ClientSession] = {}

    async def open(self) -> None:
        for container in self._targets:
            self._sessions[container] = self._new_session()

    def _new_session(self) -> aiohttp.ClientSession:
        connector = _Connector(
            limit=self._max_calls + _SPARE_CONNECTIONS,
            limit_per_host=0,
            keepalive_timeout=_KEEPALIVE_S,
        )
        return aiohttp.ClientSession(
            connector=connector,
            raise_for_status=False,
            # The container's own timeout is applied per call, after the call gets its slot.
            timeout=_UNTIMED,
            # Answers are read as sent: a compressed answer cannot inflate past the size cap.
            auto_decompress=False,
            # Containers set no cookies the node should send back; skipping the jar saves
            # a lookup and an update on every call.
            cookie_jar=aiohttp.DummyCookieJar(),
        )

    async def close(self) -> None:
        """Close the sessions; safe to call twice."""
        sessions, self._sessions = self._sessions, {}
        for session in sessions.values():
            await session.close()

    def _session(self, container: str) -> aiohttp.ClientSession:
        session = self._sessions.get(container)
        if session is None:
            raise RuntimeError("ContainerClient is not open")
        return session

    def config(self, container: str) -> ContainerConfig:
        return self._targets[container].config

    async def call(self, call: ContainerCall) -> ContainerResult:
        """Run one container call; never raises for container-side failures."""
        target = self._targets.get(call.container)
        if target is None:
            return ContainerError(call.container, "Container not supported")
        slots = self.slots
        if not slots.try_take(call.container, call.owner):
            await slots.wait(call.container, call.owner)
        started = time.perf_counter()
        result: ContainerResult = ContainerError(call.container, "cancelled")
        try:
            result = await self._post(target, call)
            return result
        finally:
            slots.release(call.container, call.owner)
            outcome = "ok" if isinstance(result, ContainerOutput) else "error"
            self._metrics.container_call(call.container, outcome, time.perf_counter() - started)

    async def _post(self, target: _Target, call: ContainerCall) -> ContainerResult:
        result = await self._exchange(target, call)
        if isinstance(result, ContainerError):
            # Every reason, whatever built it, may quote what the container sent.
            return ContainerError(result.container, target.redact(result.error))
        return result

    async def _exchange(self, target: _Target, call: ContainerCall) -> ContainerResult:
        config, url = target.config, target.url
        body = json.dumps(call.body()).encode()
        try:
            async with asyncio.timeout(config.timeout):
                response = await self._send(target, body)
                async with response:
                    try:
                        check_charset(response)
                        raw = await _read_capped(response, config.max_answer_size, url)
                    except AnswerRefused:
                        response.close()  # the rest is never read: the connection is spent
                        raise
                    status, content_type = response.status, response.content_type
        except AnswerRefused as e:
            return ContainerError(config.id, str(e))
        except TimeoutError:
            return ContainerError(config.id, f"timed out after {config.timeout:g} s calling {url}")
        except aiohttp.ClientError as e:
            return ContainerError(config.id, _client_error(url, e))
        except OSError as e:
            return ContainerError(config.id, f"cannot reach {url}: {e}")
        return self._result(target, status, content_type, _decode(raw))

    def _result(
        self, target: _Target, status: int, content_type: str, text: str
    ) -> ContainerResult:
        """An answer as a result: JSON 2xx is an output (its strings and keys redacted),
        anything else an error naming it (its quote redacted)."""
        container, redactor = target.config.id, target.redactor
        if content_type != _JSON:
            return ContainerError(
                container,
                f"answer is not JSON (HTTP {status}, Content-Type {content_type!r}):"
                f" {redactor.quote(text, _MAX_ERROR_BODY)}",
            )
        try:
            output = loads(text, self._max_json_depth)
        except JsonRejected as e:
            if e.reason.startswith("not valid JSON"):
                # Upstream: an invalid JSON body becomes the error text itself.
                return ContainerError(container, redactor.quote(text, _MAX_ERROR_BODY))
            return ContainerError(
                container,
                f"answer (HTTP {status}) {e.reason}: {redactor.quote(text, _MAX_ERROR_BODY)}",
            )
        if not 200 <= status < 300:
            return ContainerError(
                container, f"HTTP {status}: {redactor.quote(text, _MAX_ERROR_BODY)}"
            )
        return ContainerOutput(container, redactor.value(output, text))

    async def _send(
        self, target: _Target, body: bytes, limits: aiohttp.ClientTimeout = _UNTIMED
    ) -> aiohttp.ClientResponse:
        return await post_following_redirects(
            self._session(target.config.id),
            target.parsed_url,
            body,
            target.headers,
            target.redactor,
            limits,
        )

    async def run(
        self,
        containers: Sequence[str],
        source: JobLocation,
        destination: JobLocation,
        data: Any,
        requires_proof: bool,
        owner: str,
        progress: PipelineProgress | None = None,
    ) -> Pipeline:
        """Run containers in order, each output feeding the next, on behalf of ``owner`` (the
        client's address, or ``capacity.ONCHAIN``).

        The first error stops the chain. ``progress`` is told the intermediate results after
        each container but the last (used to persist them).
        """
        done: list[ContainerResult] = []
        for index, container in enumerate(containers):
            last = index == len(containers) - 1
            call = ContainerCall(
                container=container,
                source=source if index == 0 else JobLocation.OFFCHAIN,
                destination=destination if last else JobLocation.OFFCHAIN,
                data=data,
                requires_proof=requires_proof,
                owner=owner,
            )
            result = await self.call(call)
            if last or isinstance(result, ContainerError):
                return Pipeline(intermediate_results=tuple(done), result=result)
            done.append(result)
            data = result.output
            if progress is not None:
                waited = progress(tuple(done))
                if waited is not None:
                    await waited
        return Pipeline(intermediate_results=(), result=None)

    async def stream(self, container: str, data: Any, owner: str) -> AsyncIterator[bytes]:
        """Stream a container's raw answer to ``{source:1, destination:2, data}`` (no
        requires_proof, as upstream), up to its ``max_answer_size``, for client ``owner``.

        Raises:
            StreamFailed: the container could not be reached, answered non-2xx or too much.
        """
        target = self._targets[container]
        config, url = target.config, target.url
        body = {"source": int(JobLocation.OFFCHAIN), "destination": int(JobLocation.STREAM)}
        body["data"] = data
        timeout = aiohttp.ClientTimeout(total=config.stream_timeout)
        async with self.slots.slot(container, owner):
            started = time.perf_counter()
            outcome = "error"
            try:
                response = await self._send(target, json.dumps(body).encode(), timeout)
                async with response:
                    check_charset(response)
                    if not 200 <= response.status < 300:
                        # Read past the quoted part by the longest spelling of a secret, so
                        # none is cut in half before it is redacted.
                        extra = target.redactor.longest_spelling
                        raw = await _read_capped(
                            response, _MAX_ERROR_BODY + extra, url, truncate=True
                        )
                        quoted = target.redactor.quote(_decode(raw), _MAX_ERROR_BODY)
                        raise StreamFailed(f"HTTP {response.status}: {quoted}")
                    size = 0
                    redactor = target.redactor.stream()
                    async for chunk in response.content.iter_any():
                        size += len(chunk)
                        if size > config.max_answer_size:
                            response.close()
                            raise StreamFailed(_too_large(url, config.max_answer_size, size))
                        out = redactor.feed(chunk)
                        if out:
                            yield out
                    rest = redactor.flush()
                    if rest:
                        yield rest
                outcome = "ok"
            except TimeoutError as e:
                raise StreamFailed(
                    f"timed out after {config.stream_timeout:g} s calling {url}"
                ) from e
            except AnswerRefused as e:
                raise StreamFailed(target.redact(str(e))) from e
            except aiohttp.ClientError as e:
                raise StreamFailed(target.redact(_client_error(url, e))) from e
            finally:
                self._metrics.container_call(container, outcome, time.perf_counter() - started)

    async def resources(self, model_id: str | None) -> dict[str, Any]:
        """``GET {base}/service-resources[?model_id=]`` on every container, concurrently.

        Containers that fail or answer non-2xx are left out. Uses the container's base URL
        (upstream always uses host:port, even with a remote ``url``).
        """
        if not self._targets:
            return {}
        params = {"model_id": model_id} if model_id is not None else None
        timeout = min(t.config.timeout for t in self._targets.values())

        async def one(target: _Target) -> tuple[str, Any] | None:
            config = target.config
            url = f"{config.base_url}/service-resources"
            try:
                async with (
                    asyncio.timeout(timeout),
                    self._session(config.id).get(
                        url, params=params, headers=target.headers, allow_redirects=False
                    ) as response,
                ):
                    if not 200 <= response.status < 300:
                        return None
                    check_charset(response)
                    raw = await _read_capped(response, config.max_answer_size, url)
                    text = _decode(raw)
                    answer = loads(text, self._max_json_depth)
                    return config.id, target.redactor.value(answer, text)
            except (aiohttp.ClientError, TimeoutError, OSError, AnswerRefused, JsonRejected):
                return None

        answers = await asyncio.gather(*(one(t) for t in self._targets.values()))
        return dict(a for a in answers if a is not None)


async def _read_capped(
    response: aiohttp.ClientResponse, limit: int, url: str, truncate: bool = False
) -> bytes:
    """The answer's body, read up to ``limit`` bytes and not one chunk further.

    Raises:
        AnswerRefused: the body is (or is declared) larger than ``limit`` (unless ``truncate``).
    """
    declared = response.content_length
    if declared is not None and declared <= limit:
        # The framing says how much comes; aiohttp fails the read if the peer sends less.
        return await response.read()
    if declared is not None and not truncate:
        raise AnswerRefused(
            f"{url} answered with Content-Length {declared}, more than the limit of {limit} bytes"
            " (containers[].max_answer_size)"
        )
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(_READ_CHUNK):
        size += len(chunk)
        chunks.append(chunk)
        if size > limit:
            if truncate:
                return b"".join(chunks)[:limit]
            raise AnswerRefused(_too_large(url, limit, size))
    return b"".join(chunks)


def _too_large(url: str, limit: int, seen: int) -> str:
    return (
        f"{url} answered more than the limit of {limit} bytes (containers[].max_answer_size);"
        f" stopped reading after {seen} bytes"
    )


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace")


def _client_error(url: str, error: aiohttp.ClientError) -> str:
    """What went wrong talking to ``url``, in the words of what the container did."""
    if isinstance(error, aiohttp.ServerDisconnectedError):
        return f"{url} closed the connection before its answer was complete"
    if isinstance(error, aiohttp.ClientPayloadError):
        return f"{url} sent a malformed body: {_one_line(_cause(error))}"
    if isinstance(error, aiohttp.ClientConnectorError | aiohttp.ClientOSError):
        return f"cannot reach {url}: {error}"
    if isinstance(error, aiohttp.ClientResponseError):
        # aiohttp raises this for an answer its HTTP parser refuses (status line, headers,
        # Content-Length, chunk framing).
        return f"{url} sent an answer that is not valid HTTP: {_one_line(error.message)}"
    return f"calling {url} failed: {type(error).__name__}: {error}"


def _one_line(message: str) -> str:
    """aiohttp's parser messages quote the bad bytes on extra lines with a caret under them."""
    lines = (line.strip() for line in message.splitlines())
    return " ".join(line for line in lines if line and line.strip("^"))


def _cause(error: BaseException) -> str:
    """The innermost message of a chained error (aiohttp wraps the parser's reason)."""
    text = str(error)
    cause = error.__cause__
    while cause is not None:
        if str(cause):
            text = str(cause)
        cause = cause.__cause__
    return text
