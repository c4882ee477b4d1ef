"""Slow and idle clients (docs/devnode.md, "Limits and what trips them"): a request head or body
that never finishes, idle keep-alive connections and more connections than the process has
descriptors for cost the node a bounded time and never its `/health`."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from devnode_harness import READY_TIMEOUT_S
from devnode_harness import NodeFactory
from devnode_harness import node_config
from hf_infernet_stack.processes import free_port
from hf_infernet_stack.processes import stop_process
from hf_infernet_stack.processes import wait_for
from hf_infernet_stack.rest import Http

# How long the test waits for the node to close a connection with a 1 s timeout.
CLOSE_WAIT_S = 10.0
# The node process runs with this descriptor limit; the flood opens more connections than that.
DESCRIPTOR_LIMIT = 200
FLOOD = 400
PARTIAL_HEAD = b"POST /api/jobs HTTP/1.1\r\nHost: devnode\r\nContent-Type: applic"


def _connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=CLOSE_WAIT_S)
    sock.settimeout(CLOSE_WAIT_S)
    return sock


def _read_until_closed(sock: socket.socket) -> bytes:
    """Everything the node sends until it closes the connection (socket.timeout if it never
    does)."""
    data = b""
    while True:
        chunk = sock.recv(65_536)
        if not chunk:
            return data
        data += chunk


def test_an_unfinished_head_and_an_idle_keepalive_connection_are_closed(
    start_node: NodeFactory,
) -> None:
    node = start_node([], server={"keepalive_timeout": 1})
    with _connect(node.node.port) as trickle, _connect(node.node.port) as idle:
        trickle.sendall(PARTIAL_HEAD)
        idle.sendall(b"GET /health HTTP/1.1\r\nHost: devnode\r\n\r\n")
        assert _read_until_closed(trickle) == b""
        answer = _read_until_closed(idle)
    assert answer.startswith(b"HTTP/1.1 200")
    assert answer.endswith(b'{"status": "healthy"}')


def test_a_body_that_never_finishes_is_a_408_naming_the_limit(start_node: NodeFactory) -> None:
    node = start_node([], server={"body_timeout": 1})
    head = (
        b"POST /api/jobs HTTP/1.1\r\nHost: devnode\r\nContent-Type: application/json\r\n"
        b"Content-Length: 100\r\n\r\n"
    )
    with _connect(node.node.port) as sock:
        sock.sendall(head + b'{"containers": ')
        answer = _read_until_closed(sock)
    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line == b"HTTP/1.1 408 Request Timeout"
    body = json.loads(rest.partition(b"\r\n\r\n")[2])
    assert body["limit"] == "server.body_timeout"
    assert "did not arrive within 1 s (server.body_timeout)" in body["error"]


@pytest.fixture
def node_with_few_descriptors(tmp_path: Path) -> Iterator[str]:
    """A devnode process whose descriptor limit is DESCRIPTOR_LIMIT (default max_connections)."""
    port = free_port()
    config: dict[str, Any] = node_config(tmp_path, [], server={"port": port})
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    command = f"ulimit -n {DESCRIPTOR_LIMIT} && exec {sys.executable} -m infernet_devnode"
    log = (tmp_path / "node.log").open("wb")
    process = subprocess.Popen(
        ["sh", "-c", f"{command} --config {path}"], stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    try:

        def ready() -> bool:
            if process.poll() is not None:
                raise RuntimeError((tmp_path / "node.log").read_text())
            try:
                return Http(url).get("/health").status == 200
            except OSError:
                return False

        wait_for(ready, READY_TIMEOUT_S, "devnode /health")
        yield url
    finally:
        stop_process(process)
        log.close()


def test_health_answers_while_more_connections_than_descriptors_hang_half_sent(
    node_with_few_descriptors: str,
) -> None:
    port = int(node_with_few_descriptors.rpartition(":")[2])
    flood: list[socket.socket] = []
    try:
        for _ in range(FLOOD):
            sock = _connect(port)
            sock.sendall(PARTIAL_HEAD)
            flood.append(sock)
        http = Http(node_with_few_descriptors)
        for _ in range(3):
            answer = http.get("/health")
            assert answer.status == 200
            assert answer.json == {"status": "healthy"}
    finally:
        for sock in flood:
            sock.close()
