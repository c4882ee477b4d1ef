"""Test harness for the devnode: the node in a thread of the test process or as a subprocess.
The scripted container server, the HTTP client and process handling are the stack package's
(hf_infernet_stack).

Everything listens on 127.0.0.1 with ports the OS picks; every server is stopped in ``finally``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hf_infernet_stack.loop_thread import LoopThread
from hf_infernet_stack.processes import stop_process
from hf_infernet_stack.processes import wait_for
from hf_infernet_stack.rest import Http
from infernet_devnode.app import Node
from infernet_devnode.config import parse_config

READY_TIMEOUT_S = 15.0


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
        self._loop: LoopThread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.node.port}"

    def http(self, source: str = "127.0.0.1") -> Http:
        return Http(self.url, source)

    def __enter__(self) -> NodeThread:
        self._loop = LoopThread()
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

        wait_for(healthy, READY_TIMEOUT_S, "devnode /health")

    def wait(self) -> int:
        """Wait for the process to exit on its own; returns the exit code."""
        assert self.process is not None
        return self.process.wait(READY_TIMEOUT_S)

    def stop(self, hard: bool = False) -> int | None:
        """SIGINT (or SIGKILL when ``hard``), then terminate, then kill; returns the exit code."""
        return None if self.process is None else stop_process(self.process, hard=hard)
