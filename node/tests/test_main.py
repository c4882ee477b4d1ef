"""The ``infernet-devnode`` command: config from flag or env, exit codes, logs, secrets."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from devnode_harness import DELEGATED
from devnode_harness import NodeProcess
from devnode_harness import node_config
from hf_infernet_stack.containers import Containers
from hf_infernet_stack.processes import free_port
from hf_infernet_stack.rest import Http

BEARER = "bearer-value-that-must-not-leak"
KEY = "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6"


def _write(tmp_path: Path, config: dict[str, Any]) -> Path:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    return path


def test_console_script_serves_and_stops_on_sigint(tmp_path: Path, containers: Containers) -> None:
    port = free_port()
    config = node_config(
        tmp_path,
        [{"id": "echo", "url": containers.url("echo"), "bearer": BEARER, "image": "x/y"}],
        server={"port": port},
        log={"level": "DEBUG"},
        mystery=1,
    )
    node = NodeProcess(_write(tmp_path, config)).start(console=True)
    try:
        node.wait_ready(f"http://127.0.0.1:{port}")
        http = Http(f"http://127.0.0.1:{port}")
        http.result(http.job(["echo"], {}))
    finally:
        assert node.stop() == 0
    output = node.output
    assert output.count("ignored (the devnode runs no Docker") == 1
    assert "containers[0].image" in output
    assert "unknown config keys (ignored): mystery" in output
    assert BEARER not in output


def test_config_path_from_environment(tmp_path: Path) -> None:
    port = free_port()
    path = _write(tmp_path, node_config(tmp_path, [], server={"port": port}))
    node = NodeProcess(path, env={"INFERNET_CONFIG_PATH": str(path)}).start(args=[])
    try:
        node.wait_ready(f"http://127.0.0.1:{port}")
    finally:
        assert node.stop() == 0


def test_invalid_config_exits_2_naming_the_key(tmp_path: Path) -> None:
    path = _write(tmp_path, {"server": {"port": "four thousand"}})
    node = NodeProcess(path).start()
    assert node.wait() == 2
    assert "config key server.port: expected an integer" in node.output
    assert "Traceback" not in node.output


def test_missing_config_file_exits_2(tmp_path: Path) -> None:
    node = NodeProcess(tmp_path / "absent.json").start()
    assert node.wait() == 2
    assert "cannot read" in node.output


def test_port_in_use_exits_1(tmp_path: Path) -> None:
    port = free_port()
    path = _write(tmp_path, node_config(tmp_path, [], server={"port": port}))
    first = NodeProcess(path).start()
    try:
        first.wait_ready(f"http://127.0.0.1:{port}")
        second = NodeProcess(path.with_name("second.json"))
        path.with_name("second.json").write_text(path.read_text())
        second.start()
        assert second.wait() == 1
        assert "devnode stopped" in second.output
    finally:
        first.stop()


def test_json_logs_to_stderr_and_log_file_without_secrets(tmp_path: Path) -> None:
    port = free_port()
    config = node_config(
        tmp_path,
        [{"id": "echo", "url": "http://127.0.0.1:9", "bearer": BEARER, "command": "x"}],
        server={"port": port},
        log={"json": True, "path": str(tmp_path / "node.log")},
    )
    node = NodeProcess(_write(tmp_path, config)).start()
    try:
        node.wait_ready(f"http://127.0.0.1:{port}")
    finally:
        assert node.stop() == 0
    lines = [json.loads(line) for line in node.output.splitlines() if line.strip()]
    assert {line["level"] for line in lines} >= {"warning", "info"}
    assert any("devnode listening" in line["message"] for line in lines)
    assert BEARER not in node.output
    # log.path given explicitly: the same lines also go to that (rotating) file
    logged = (tmp_path / "node.log").read_text().splitlines()
    assert [json.loads(line)["message"] for line in logged] == [line["message"] for line in lines]


def test_unreachable_chain_endpoint_exits_1_after_serving(tmp_path: Path) -> None:
    """The REST API serves while the chain side starts; a chain side that cannot start still
    stops the process with code 1, naming why."""
    chain = {
        "enabled": True,
        "rpc_url": f"http://127.0.0.1:{free_port()}",
        "registry_address": "0x" + "11" * 20,
        "wallet": {"private_key": KEY},
    }
    node = NodeProcess(_write(tmp_path, node_config(tmp_path, [], chain=chain))).start()
    assert node.wait() == 1
    # REST served first; then the chain side's failure stopped the node.
    listening = node.output.index("devnode listening")
    assert node.output.index("devnode stopped: chain side not available", listening)
    assert KEY[2:] not in node.output


# Modules an off-chain node has no use for (docs/devnode.md, "Start, sync and health"): the
# chain half's libraries, and the face's modules that import them.
CHAIN_ONLY_MODULES = (
    "web3",
    "eth_account",
    "eth_abi",
    "infernet_devnode.chain",
    "infernet_devnode.api.chain",
)

_SERVE_AND_LIST_MODULES = """
import asyncio, json, sys, urllib.request
from infernet_devnode.__main__ import main
from infernet_devnode.app import Node
from infernet_devnode.config import load_config

async def serve() -> None:
    node = Node(load_config(sys.argv[1]).config)
    await node.start()
    try:
        for path in ("/health", "/info", "/metrics", *sys.argv[2:]):
            url = f"http://127.0.0.1:{node.port}{path}"
            await asyncio.to_thread(lambda: urllib.request.urlopen(url, timeout=10).read())
    finally:
        await node.stop()

asyncio.run(serve())
print(json.dumps(sorted(sys.modules)))
"""


EXPLORER_PATHS = (
    "/ui",
    "/api/explorer/overview",
    "/api/explorer/jobs",
    "/api/explorer/subscriptions?state=active",
    "/api/explorer/delegations?state=failed",
)


@pytest.mark.parametrize("explorer", [False, True], ids=["plain", "with-explorer"])
def test_an_off_chain_node_imports_no_chain_library(tmp_path: Path, explorer: bool) -> None:
    path = _write(tmp_path, node_config(tmp_path, [], explorer={"enabled": explorer}))
    paths = EXPLORER_PATHS if explorer else ()
    done = subprocess.run(
        [sys.executable, "-c", _SERVE_AND_LIST_MODULES, str(path), *paths],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    loaded = set(json.loads(done.stdout.splitlines()[-1]))
    assert "infernet_devnode.api.rest" in loaded
    assert sorted(name for name in CHAIN_ONLY_MODULES if name in loaded) == []


def test_rest_serves_while_the_chain_side_starts_and_a_signal_stops_it(tmp_path: Path) -> None:
    """A chain endpoint that accepts connections and never answers holds the chain side in its
    start: meanwhile /health says so, the chain routes and delegated requests are 503 naming
    it, off-chain routes answer, and SIGINT stops the node at once."""
    with socket.create_server(("127.0.0.1", 0)) as silent:
        port = free_port()
        chain = {
            "enabled": True,
            "rpc_url": f"http://127.0.0.1:{silent.getsockname()[1]}",
            "registry_address": "0x" + "11" * 20,
            "wallet": {"private_key": KEY},
        }
        config = node_config(tmp_path, [], chain=chain, server={"port": port})
        node = NodeProcess(_write(tmp_path, config)).start()
        try:
            node.wait_ready(f"http://127.0.0.1:{port}")
            http = Http(f"http://127.0.0.1:{port}")
            health = http.get("/health")
            assert health.json == {
                "status": "starting",
                "reason": "chain: the chain side is starting",
            }
            info = http.get("/info").json
            assert info["chain"] == {"enabled": True, "address": ""}
            for answer in (
                http.get("/api/subscriptions/1"),
                http.get(f"/api/delegations/0x{'22' * 20}/1"),
                http.post("/api/jobs", DELEGATED),
            ):
                assert answer.status == 503
                assert answer.json == {"error": "chain unavailable: the chain side is starting"}
                assert answer.headers["retry-after"] == "1"
            assert http.get("/api/jobs").json == []
        finally:
            assert node.stop() == 0
    assert "chain side started" not in node.output
