"""The ``infernet-devnode`` command: config from flag or env, exit codes, logs, secrets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

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
