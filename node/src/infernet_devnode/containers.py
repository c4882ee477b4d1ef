"""Calling containers (spec section 4): ``POST {base}/service_output``, chaining, streaming.

Calls to plain http:// containers use the small keep-alive client in _http.py (the hot path of
every job); https, streaming and resources use aiohttp.

Error mapping follows upstream: a connection error, a timeout or a body that is not JSON becomes a
ContainerError (the job fails). One deliberate difference: a non-2xx answer is also an error
(upstream ignores the status code and stores e.g. a 500's JSON body as a successful output).
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

from ._http import HttpPool
from ._http import HttpProtocolError
from .config import ContainerConfig
from .errors import StreamFailed
from .metrics import Metrics
from .results import ContainerError
from .results import ContainerOutput
from .results import ContainerResult
from .results import JobLocation

__all__ = ["ContainerCall", "ContainerClient", "Pipeline", "PipelineProgress"]

_JSON = "application/json"
# Cap on how much of a bad answer is quoted in a ContainerError.
_MAX_ERROR_BODY = 1_000
# Keep-alive connections per container host; more concurrent calls open extra connections.
_CONNECTIONS_PER_HOST = 64


@dataclass(frozen=True)
class ContainerCall:
    """One request to one container: the ContainerInput body of spec 4.1."""

    container: str
    source: JobLocation
    destination: JobLocation
    data: Any
    requires_proof: bool

    def body(self) -> dict[str, Any]:
        return {
            "source": int(self.source),
            "destination": int(self.destination),
            "data": self.data,
            "requires_proof": self.requires_proof,
        }


@dataclass(frozen=True)
class Pipeline:
    """The outcome of running a chain of containers (spec 4.3)."""

    intermediate_results: tuple[ContainerResult, ...]
    result: ContainerResult | None


PipelineProgress = Callable[[tuple[ContainerResult, ...]], Awaitable[None] | None]


class ContainerClient:
    """HTTP client for the configured containers; owns one aiohttp session."""

    def __init__(self, containers: Sequence[ContainerConfig], metrics: Metrics) -> None:
        self._containers = {c.id: c for c in containers}
        self._metrics = metrics
        self._session: aiohttp.ClientSession | None = None
        self._pool = HttpPool()

    async def open(self) -> None:
        connector = aiohttp.TCPConnector(limit=0, limit_per_host=_CONNECTIONS_PER_HOST)
        self._session = aiohttp.ClientSession(connector=connector, raise_for_status=False)

    async def close(self) -> None:
        """Close the session; safe to call twice."""
        await self._pool.close()
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError("ContainerClient is not open")
        return self._session

    def config(self, container: str) -> ContainerConfig:
        return self._containers[container]

    async def call(self, call: ContainerCall) -> ContainerResult:
        """Run one container call; never raises for container-side failures."""
        config = self._containers.get(call.container)
        if config is None:
            return ContainerError(call.container, "Container not supported")
        started = time.perf_counter()
        outcome = "error"
        try:
            result = await self._post(config, call)
            outcome = "ok" if isinstance(result, ContainerOutput) else "error"
            return result
        finally:
            self._metrics.container_call(call.container, outcome, time.perf_counter() - started)

    async def _post(self, config: ContainerConfig, call: ContainerCall) -> ContainerResult:
        url = f"{config.base_url}/service_output"
        body = json.dumps(call.body()).encode()
        try:
            if HttpPool.supports(url):
                async with asyncio.timeout(config.timeout):
                    answer = await self._pool.post(url, body, _headers(config))
                status, content_type, text = answer.status, answer.content_type, answer.text()
            else:
                timeout = aiohttp.ClientTimeout(total=config.timeout)
                async with self.session.post(
                    url, data=body, headers=_headers(config), timeout=timeout
                ) as response:
                    text = await response.text(errors="replace")
                    content_type = response.content_type
                    status = response.status
        except TimeoutError:
            return ContainerError(config.id, f"timed out after {config.timeout:g} s calling {url}")
        except asyncio.IncompleteReadError:
            return ContainerError(config.id, f"{url} closed the connection mid-answer")
        except (aiohttp.ClientError, OSError, HttpProtocolError) as e:
            return ContainerError(config.id, f"cannot reach {url}: {e}")
        return _result(config.id, status, content_type, text)

    async def run(
        self,
        containers: Sequence[str],
        source: JobLocation,
        destination: JobLocation,
        data: Any,
        requires_proof: bool,
        progress: PipelineProgress | None = None,
    ) -> Pipeline:
        """Run containers in order, each output feeding the next (spec 4.3).

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

    async def stream(self, container: str, data: Any) -> AsyncIterator[bytes]:
        """Stream a container's raw answer to ``{source:1, destination:2, data}`` (no
        requires_proof, as upstream).

        Raises:
            StreamFailed: the container could not be reached or answered non-2xx.
        """
        config = self._containers[container]
        url = f"{config.base_url}/service_output"
        body = {"source": int(JobLocation.OFFCHAIN), "destination": int(JobLocation.STREAM)}
        body["data"] = data
        timeout = aiohttp.ClientTimeout(total=config.stream_timeout)
        started = time.perf_counter()
        outcome = "error"
        try:
            async with self.session.post(
                url, data=json.dumps(body), headers=_headers(config), timeout=timeout
            ) as response:
                if not 200 <= response.status < 300:
                    text = await response.text(errors="replace")
                    raise StreamFailed(f"HTTP {response.status}: {text[:_MAX_ERROR_BODY]}")
                async for chunk in response.content.iter_any():
                    yield chunk
            outcome = "ok"
        except TimeoutError as e:
            raise StreamFailed(f"timed out after {config.stream_timeout:g} s calling {url}") from e
        except aiohttp.ClientError as e:
            raise StreamFailed(f"cannot reach {url}: {e}") from e
        finally:
            self._metrics.container_call(container, outcome, time.perf_counter() - started)

    async def resources(self, model_id: str | None) -> dict[str, Any]:
        """``GET {base}/service-resources[?model_id=]`` on every container, concurrently (2.3).

        Containers that fail or answer non-2xx are left out. Uses the container's base URL
        (upstream always uses host:port, even with a remote ``url``).
        """
        params = {"model_id": model_id} if model_id is not None else None
        timeout = aiohttp.ClientTimeout(total=min(c.timeout for c in self._containers.values()))

        async def one(config: ContainerConfig) -> tuple[str, Any] | None:
            try:
                async with self.session.get(
                    f"{config.base_url}/service-resources",
                    params=params,
                    headers=_headers(config),
                    timeout=timeout,
                ) as response:
                    if not 200 <= response.status < 300:
                        return None
                    return config.id, await response.json(content_type=None)
            except (aiohttp.ClientError, TimeoutError, ValueError):
                return None

        if not self._containers:
            return {}
        answers = await asyncio.gather(*(one(c) for c in self._containers.values()))
        return dict(a for a in answers if a is not None)


def _result(container: str, status: int, content_type: str, text: str) -> ContainerResult:
    """Spec 4.4's mapping of an answer to a result (plus: non-2xx is an error)."""
    if content_type != _JSON:
        return ContainerError(
            container,
            f"answer is not JSON (HTTP {status}, Content-Type {content_type!r}):"
            f" {text[:_MAX_ERROR_BODY]}",
        )
    try:
        output = json.loads(text)
    except ValueError:
        # Upstream: an invalid JSON body becomes the error text itself.
        return ContainerError(container, text[:_MAX_ERROR_BODY])
    if not 200 <= status < 300:
        return ContainerError(container, f"HTTP {status}: {text[:_MAX_ERROR_BODY]}")
    return ContainerOutput(container, output)


def _headers(config: ContainerConfig) -> dict[str, str]:
    headers = {"Content-Type": _JSON}
    bearer = config.bearer.get_secret_value()
    if bearer:
        headers["Authorization"] = f"Bearer {bearer}"
    return headers
