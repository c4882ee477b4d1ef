"""Test harness for the devnode (part 1): a scriptable container server, the node in a thread or
a subprocess, and a small HTTP client that can choose its source address.

Everything listens on 127.0.0.1 with ports the OS picks; every server is stopped in ``finally``.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web
from infernet_devnode.app import Node
from infernet_devnode.config import parse_config

READY_TIMEOUT_S = 15.0
STOP_TIMEOUT_S = 5.0
# A second loopback address: requests from it are "another client" for the node.
OTHER_CLIENT = "127.0.0.2"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(predicate: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    """Poll ``predicate`` with a capped backoff until it returns something truthy."""
    deadline = time.monotonic() + timeout
    delay = 0.005
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not reached within {timeout} s")
        time.sleep(delay)
        delay = min(delay * 2, 0.2)


def stop_process(
    process: subprocess.Popen[bytes], *, hard: bool = False, timeout: float = STOP_TIMEOUT_S
) -> int | None:
    """SIGINT (or SIGKILL when ``hard``), then terminate, then kill, each with a bounded wait;
    returns the exit code."""
    steps: list[Callable[[], None]] = (
        [process.kill]
        if hard
        else [lambda: process.send_signal(signal.SIGINT), process.terminate, process.kill]
    )
    for step in steps:
        if process.poll() is not None:
            break
        step()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout)
    return process.returncode


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


class Http:
    """A tiny HTTP/1.1 client (one connection per request) bound to a chosen source address."""

    def __init__(self, base: str, source: str = "127.0.0.1") -> None:
        host, port = base.removeprefix("http://").split(":")
        self.host, self.port, self.source = host, int(port), source

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        connection = http.client.HTTPConnection(
            self.host, self.port, timeout=30, source_address=(self.source, 0)
        )
        try:
            payload = raw if raw is not None else None if body is None else json.dumps(body)
            sent = {"Content-Type": "application/json"} if payload is not None else {}
            connection.request(method, path, body=payload, headers={**sent, **(headers or {})})
            response = connection.getresponse()
            return Answer(
                response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
            )
        finally:
            connection.close()

    def get(self, path: str) -> Answer:
        return self.request("GET", path)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> Answer:
        return self.request("POST", path, body, **kwargs)

    def put(self, path: str, body: Any = None, **kwargs: Any) -> Answer:
        return self.request("PUT", path, body, **kwargs)

    def job(self, containers: list[str], data: dict[str, Any], **extra: Any) -> str:
        answer = self.post("/api/jobs", {"containers": containers, "data": data, **extra})
        assert answer.status == 200, answer.body
        return str(answer.json["id"])

    def result(self, job_id: str, intermediate: bool = False) -> dict[str, Any]:
        """Poll until the job is no longer running; returns its JobResult."""
        query = f"/api/jobs?id={job_id}" + ("&intermediate=true" if intermediate else "")

        def done() -> dict[str, Any] | None:
            jobs = self.get(query).json
            return jobs[0] if jobs and jobs[0]["status"] != "running" else None

        return dict(wait_until(done, what=f"job {job_id} finished"))


class _LoopThread:
    """An asyncio loop running in a daemon thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, coroutine: Any, timeout: float = READY_TIMEOUT_S) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(STOP_TIMEOUT_S)
        self.loop.close()


class Containers:
    """One HTTP server playing many containers, one per path prefix:

    /echo       answers {"echo": data, "source", "destination", "requires_proof", "auth"}
    /wrap       answers {"wrapped": data, "source", "destination"} (second link of a chain)
    /slow       sleeps ``slow_seconds`` then echoes
    /hang       waits until ``release()`` then echoes
    /text       200 text/plain
    /badjson    200 application/json with a body that is not JSON
    /fail       500 {"error": "boom"}
    /stream     streams b"one ", b"two ", b"three" (chunked)
    /hangstream streams b"first" then waits until ``release()``, then b"last"
    /streamfail 500 before streaming
    each prefix also serves GET /service-resources[?model_id=] ("/fail" answers 500).
    """

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any], dict[str, str]]] = []
        self.slow_seconds = 2.0
        self._loop = _LoopThread()
        self._release: asyncio.Event | None = None
        self._runner: web.AppRunner | None = None
        self.port = 0

    def url(self, prefix: str) -> str:
        return f"http://127.0.0.1:{self.port}/{prefix}"

    def __enter__(self) -> Containers:
        self._loop.run(self._start())
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
        if self._runner is not None:
            self._loop.run(self._runner.cleanup())
        self._loop.close()

    def release(self) -> None:
        """Let every /hang call made so far finish (later calls hang again)."""

        def release() -> None:
            if self._release is not None:
                self._release.set()
            self._release = asyncio.Event()

        self._loop.loop.call_soon_threadsafe(release)

    def calls_to(self, prefix: str) -> list[dict[str, Any]]:
        return [body for path, body, _ in self.calls if path.startswith(f"/{prefix}/")]

    async def _start(self) -> None:
        self._release = asyncio.Event()
        app = web.Application()
        app.add_routes(
            [
                web.post("/{prefix}/service_output", self._output),
                web.get("/{prefix}/service-resources", self._resources),
            ]
        )
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def _output(self, request: web.Request) -> web.StreamResponse:
        prefix = request.match_info["prefix"]
        body = await request.json()
        self.calls.append((request.path, body, dict(request.headers)))
        echo = {
            "echo": body.get("data"),
            "source": body.get("source"),
            "destination": body.get("destination"),
            "requires_proof": body.get("requires_proof"),
            "auth": request.headers.get("Authorization"),
        }
        if prefix == "wrap":
            return web.json_response(
                {
                    "wrapped": body.get("data"),
                    "source": body.get("source"),
                    "destination": body.get("destination"),
                }
            )
        if prefix == "slow":
            await asyncio.sleep(self.slow_seconds)
        if prefix == "hang":
            assert self._release is not None
            await self._release.wait()  # the event current when the call arrived
        if prefix == "text":
            return web.Response(text="plain words", content_type="text/plain")
        if prefix == "badjson":
            return web.Response(text="{not json", content_type="application/json")
        if prefix in ("fail", "streamfail"):
            return web.json_response({"error": "boom"}, status=500)
        if prefix == "stream":
            response = web.StreamResponse()
            response.enable_chunked_encoding()
            await response.prepare(request)
            for chunk in (b"one ", b"two ", b"three"):
                await response.write(chunk)
                await asyncio.sleep(0.01)
            await response.write_eof()
            return response
        if prefix == "hangstream":
            assert self._release is not None
            release = self._release
            response = web.StreamResponse()
            response.enable_chunked_encoding()
            await response.prepare(request)
            await response.write(b"first")
            await release.wait()
            await response.write(b"last")
            await response.write_eof()
            return response
        return web.json_response(echo)

    async def _resources(self, request: web.Request) -> web.Response:
        prefix = request.match_info["prefix"]
        if prefix == "fail":
            return web.json_response({"error": "boom"}, status=500)
        model_id = request.query.get("model_id")
        if model_id is not None:
            return web.json_response({"supported": model_id == "good-model"})
        return web.json_response({"service_id": prefix, "compute_capability": []})


def node_config(tmp: Path, containers: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    """A config for a test node: loopback, a free port, the store under ``tmp``, no rate limit."""
    config: dict[str, Any] = {
        "containers": containers,
        "server": {
            "host": "127.0.0.1",
            "port": 0,
            "rate_limit": {"num_requests": 100_000, "period": 1},
        },
        "storage": {"path": str(tmp / "devnode.sqlite3")},
    }
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(config.get(key), dict):
            config[key] = {**config[key], **value}
        else:
            config[key] = value
    return config


class NodeThread:
    """A devnode running in a thread of the test process (real HTTP on 127.0.0.1)."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = parse_config(config).config
        self.node = Node(self.config)
        self._loop: _LoopThread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.node.port}"

    def http(self, source: str = "127.0.0.1") -> Http:
        return Http(self.url, source)

    def __enter__(self) -> NodeThread:
        self._loop = _LoopThread()
        try:
            self._loop.run(self.node.start())
        except BaseException:
            self._loop.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        if self._loop is not None:
            try:
                self._loop.run(self.node.stop())
            finally:
                self._loop.close()
                self._loop = None


NodeFactory = Callable[..., NodeThread]

# A well-formed delegated subscription request (it fails admission on a node without chain).
DELEGATED: dict[str, Any] = {
    "subscription": {
        "owner": "0x" + "11" * 20,
        "active_at": 0,
        "period": 0,
        "frequency": 1,
        "redundancy": 1,
        "containers": "0x" + "00" * 32,
        "lazy": False,
        "verifier": "0x" + "00" * 20,
        "payment_amount": 0,
        "payment_token": "0x" + "00" * 20,
        "wallet": "0x" + "22" * 20,
    },
    "signature": {"nonce": 1, "expiry": 2**32 - 1, "v": 27, "r": 1, "s": 2},
    "data": {"x": 1},
}


class NodeProcess:
    """``infernet-devnode --config PATH`` as a subprocess; output captured to a file."""

    def __init__(self, config_path: Path, env: dict[str, str] | None = None) -> None:
        self.config_path = config_path
        self.log_path = config_path.with_suffix(".log")
        self.env = {**os.environ, **(env or {})}
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, args: list[str] | None = None, console: bool = False) -> NodeProcess:
        """Start ``python -m infernet_devnode`` (or the console script) with ``args``
        (default: --config <path>)."""
        argv = args if args is not None else ["--config", str(self.config_path)]
        program = (
            [str(Path(sys.executable).parent / "infernet-devnode")]
            if console
            else [sys.executable, "-m", "infernet_devnode"]
        )
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [*program, *argv],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=self.config_path.parent,
            )
        return self

    @property
    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait_ready(self, url: str) -> None:
        def healthy() -> bool:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"devnode exited early:\n{self.output}")
            try:
                return Http(url).get("/health").status == 200
            except OSError:
                return False

        wait_until(healthy, READY_TIMEOUT_S, "devnode /health")

    def wait(self) -> int:
        """Wait for the process to exit on its own; returns the exit code."""
        assert self.process is not None
        return self.process.wait(READY_TIMEOUT_S)

    def stop(self, hard: bool = False) -> int | None:
        """SIGINT (or SIGKILL when ``hard``), then terminate, then kill; returns the exit code."""
        return None if self.process is None else stop_process(self.process, hard=hard)
