"""anvil processes for tests and benchmarks, and a JSON-RPC proxy that can switch, count and
refuse what a node sends to its chain."""

from __future__ import annotations

import http.client
import json
import subprocess
import threading
from collections import Counter
from dataclasses import dataclass
from dataclasses import field
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .foundry import ANVIL_STATE_ARGS
from .foundry import foundry_tool
from .processes import LOCALHOST
from .processes import free_port
from .processes import process_output
from .processes import stop_process
from .processes import wait_for
from .rpc import rpc_ok

READY_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0


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
    JSON-RPC error instead (an endpoint that answers, but with errors). It forwards bytes as they
    are (it is not a client: web3 would re-encode them), on one keep-alive connection upstream
    per proxy thread."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.refuse: str | None = None
        self.count = 0
        self.methods: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._local = threading.local()
        self._opened: list[http.client.HTTPConnection] = []  # closed by close()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                request = outer._count(body)
                try:
                    answer, status = outer._refusal(request) or outer._forward(body)
                except OSError:
                    outer._drop()
                    answer, status = b"", 502
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        self.server = ThreadingHTTPServer((LOCALHOST, 0), Handler)
        self.url = f"http://{LOCALHOST}:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _count(self, body: bytes) -> Any:
        """Count the request's calls; returns it parsed ({} when it is not JSON)."""
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = {}
        items = parsed if isinstance(parsed, list) else [parsed]
        with self._lock:
            self.count += len(items)
            self.methods.update(str(i.get("method")) if isinstance(i, dict) else "?" for i in items)
        return parsed

    def _refusal(self, request: Any) -> tuple[bytes, int] | None:
        message = self.refuse  # read once: a test may switch it while requests run
        if message is None or not isinstance(request, dict):
            return None
        error = {"code": -32000, "message": message}
        return json.dumps({"jsonrpc": "2.0", "id": request.get("id"), "error": error}).encode(), 200

    def _forward(self, body: bytes) -> tuple[bytes, int]:
        upstream = self.upstream  # read once: a test may switch it while requests run
        held = getattr(self._local, "connection", None)
        if held is None or held[0] != upstream:
            self._drop()
            target = urlsplit(upstream)
            connection = http.client.HTTPConnection(
                target.hostname or LOCALHOST, target.port, timeout=30
            )
            with self._lock:
                self._opened.append(connection)
            held = self._local.connection = (upstream, connection)
        held[1].request("POST", "/", body, {"Content-Type": "application/json"})
        response = held[1].getresponse()
        return response.read(), response.status

    def _drop(self) -> None:
        """Close this thread's upstream connection, if any."""
        held = getattr(self._local, "connection", None)
        self._local.connection = None
        if held is not None:
            held[1].close()

    def start(self) -> RpcProxy:
        self._thread.start()
        return self

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        with self._lock:
            for connection in self._opened:
                connection.close()

    def __enter__(self) -> RpcProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
