"""Real servers for the service tests: the offline HF stand-in as a subprocess, the service on
Hypercorn in a thread, both on ports the OS picked, both stopped even when a test fails."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx
from hf_inference_client_service import ServiceConfig
from hf_inference_client_service import create_app
from hf_infernet_stack.processes import stop_process
from hypercorn.asyncio import serve
from hypercorn.config import Config

READY_DEADLINE = 20.0


def listening_socket() -> socket.socket:
    """A TCP socket bound to 127.0.0.1 on a port the OS picked, already listening."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    return sock


class OfflineBackendProcess:
    """`hf-inference-standin --port 0` (the offline stand-in) with its port read back."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""

    def __enter__(self) -> OfflineBackendProcess:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "hf_inference_standin", "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert self.proc.stdout is not None
        first = self.proc.stdout.readline().strip()  # "listening on http://127.0.0.1:PORT"
        if not first.startswith("listening on "):
            stop_process(self.proc)
            raise RuntimeError(f"offline backend did not start: {first!r}")
        self.url = first.removeprefix("listening on ")
        _wait_ready(self.url + "/")
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            stop_process(self.proc)
            if self.proc.stdout is not None:
                self.proc.stdout.close()

    # test controls of the stand-in
    def reset(self) -> None:
        httpx.delete(self.url + "/_stand-in/faults")
        httpx.delete(self.url + "/_stand-in/requests")

    def fault(self, **spec: Any) -> None:
        httpx.post(self.url + "/_stand-in/faults", json=spec).raise_for_status()

    def received(self) -> list[dict[str, Any]]:
        answer: list[dict[str, Any]] = httpx.get(self.url + "/_stand-in/requests").json()
        return answer


def _wait_ready(url: str) -> None:
    deadline = time.monotonic() + READY_DEADLINE
    delay = 0.01
    while True:
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} not ready after {READY_DEADLINE} s")
        time.sleep(delay)
        delay = min(delay * 2, 0.2)


@dataclass
class ServiceThread:
    """The service app on a real Hypercorn, in a thread with its own event loop."""

    config: ServiceConfig

    def __post_init__(self) -> None:
        self.url = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def __enter__(self) -> ServiceThread:
        sock = listening_socket()
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        hyper = Config()
        hyper.bind = [f"fd://{sock.detach()}"]  # Hypercorn owns the descriptor from here
        hyper.graceful_timeout = 1.0
        app = create_app(self.config)
        started = threading.Event()

        async def run() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            started.set()
            await serve(app, hyper, shutdown_trigger=self._stop.wait)  # type: ignore[arg-type]

        def main() -> None:
            try:
                asyncio.run(run())
            except BaseException as e:  # reported by __exit__
                self._error = e
                started.set()

        self._thread = threading.Thread(target=main, name="service", daemon=True)
        self._thread.start()
        started.wait(READY_DEADLINE)
        _wait_ready(self.url + "/")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._loop is not None and self._stop is not None:
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._error is not None:
            raise RuntimeError("service thread failed") from self._error

    def post(self, body: Any, **kwargs: Any) -> httpx.Response:
        return httpx.post(self.url + "/service_output", json=body, timeout=30, **kwargs)


def clean_env() -> dict[str, str]:
    """The current environment without the variables that steer the service or the hub."""
    prefixes = ("HF_", "HUGGING", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")
    return {k: v for k, v in os.environ.items() if not k.upper().startswith(prefixes)}
