"""anvil processes for tests and benchmarks, and a JSON-RPC proxy that can switch, count, hold
and refuse what a node sends to its chain."""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections import Counter
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from .foundry import ANVIL_STATE_ARGS
from .foundry import foundry_tool
from .loop_thread import LoopThread
from .processes import LOCALHOST
from .processes import free_port
from .processes import process_output
from .processes import stop_process
from .processes import wait_for
from .rpc import rpc_ok

READY_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
UPSTREAM_TIMEOUT_S = 30.0
MAX_REQUEST_BYTES = 64 * 1024 * 1024  # a test proxy: large batches pass


@dataclass
class Anvil:
    """One anvil on 127.0.0.1 (the real binary, never the npm wrapper whose pid is not anvil's)."""

    port: int = field(default_factory=free_port)
    state_path: Path | None = None
    block_time: float | None = None
    extra_args: tuple[str, ...] = ()
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{LOCALHOST}:{self.port}"

    def start(self) -> Anvil:
        argv = [foundry_tool("anvil"), "--port", str(self.port), "--host", LOCALHOST, "--silent"]
        argv += ANVIL_STATE_ARGS
        if self.state_path is not None:
            argv += ["--state", str(self.state_path)]
        if self.block_time is not None:
            argv += ["--block-time", str(self.block_time)]
        argv += list(self.extra_args)
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

        def ready() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"anvil exited: {process_output(self.proc)}")
            return rpc_ok(self.url)

        wait_for(ready, READY_TIMEOUT_S, "anvil")
        return self

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc, grace_s=STOP_TIMEOUT_S)
            if self.proc.stderr is not None:
                self.proc.stderr.close()
            self.proc = None


class RpcProxy:
    """A JSON-RPC endpoint in front of an anvil. A test can point it at another anvil at once
    (`proxy.upstream = url`: the node behind it sees a different chain without any outage), and
    it counts the requests it forwards (`count`, `methods`; batch items counted each) for the
    bench's idle-load figures. `proxy.refuse = "message"` answers every single request with that
    JSON-RPC error instead (an endpoint that answers, but with errors); `proxy.hold()` keeps
    every request waiting until `proxy.release()` (an endpoint slow to answer). It forwards bytes
    as they are (it is not a client: web3 would re-encode them), over one keep-alive pool
    upstream; an upstream that fails or does not answer within UPSTREAM_TIMEOUT_S is a 502."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.refuse: str | None = None
        self.count = 0
        self.methods: Counter[str] = Counter()
        self.url = ""
        self._loop = LoopThread()
        self._released: asyncio.Event | None = None
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    async def _start(self) -> None:
        timeout = aiohttp.ClientTimeout(
            sock_connect=UPSTREAM_TIMEOUT_S, sock_read=UPSTREAM_TIMEOUT_S
        )
        self._session = aiohttp.ClientSession(timeout=timeout)
        self._released = asyncio.Event()
        self._released.set()
        app = web.Application(client_max_size=MAX_REQUEST_BYTES)
        app.add_routes([web.post("/{path:.*}", self._relay)])
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, LOCALHOST, 0).start()
        self.url = f"http://{LOCALHOST}:{self._runner.addresses[0][1]}"

    async def _relay(self, request: web.Request) -> web.Response:
        body = await request.read()
        answer, status = self._refusal(self._count(body)) or await self._forward(body)
        return web.Response(body=answer, status=status, content_type="application/json")

    def _count(self, body: bytes) -> Any:
        """Count the request's calls; returns it parsed ({} when it is not JSON)."""
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = {}
        items = parsed if isinstance(parsed, list) else [parsed]
        self.count += len(items)
        self.methods.update(str(i.get("method")) if isinstance(i, dict) else "?" for i in items)
        return parsed

    def _refusal(self, request: Any) -> tuple[bytes, int] | None:
        message = self.refuse  # read once: a test may switch it while requests run
        if message is None or not isinstance(request, dict):
            return None
        error = {"code": -32000, "message": message}
        return json.dumps({"jsonrpc": "2.0", "id": request.get("id"), "error": error}).encode(), 200

    async def _forward(self, body: bytes) -> tuple[bytes, int]:
        assert self._session is not None
        assert self._released is not None
        try:
            await asyncio.wait_for(self._released.wait(), UPSTREAM_TIMEOUT_S)
        except TimeoutError:
            return b"", 502
        upstream = self.upstream  # read once: a test may switch it while requests run
        headers = {"Content-Type": "application/json"}
        try:
            async with self._session.post(upstream, data=body, headers=headers) as response:
                return await response.read(), response.status
        except (TimeoutError, aiohttp.ClientError, OSError):
            return b"", 502

    async def _stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    def start(self) -> RpcProxy:
        self._loop.run(self._start())
        return self

    def hold(self) -> None:
        """Keep requests waiting from now on until `release()` (each at most
        UPSTREAM_TIMEOUT_S, then a 502)."""
        self._loop.run(self._gate(False))

    def release(self) -> None:
        self._loop.run(self._gate(True))

    async def _gate(self, released: bool) -> None:
        assert self._released is not None
        if released:
            self._released.set()
        else:
            self._released.clear()

    def close(self) -> None:
        self._loop.run(self._stop())
        self._loop.close()

    def __enter__(self) -> RpcProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
