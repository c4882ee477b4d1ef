"""The stack launcher's own promises: `up` then `down` leaves nothing behind, a busy port is
named, and `down` never signals a process it did not start."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from components import Stack
from processes import LOCALHOST
from processes import RunningProcess
from processes import StackError
from processes import is_alive
from processes import start_ticks
from processes import stop_process
from run_folder import recorded_processes
from stack_config import REPO
from stack_config import Ports
from stack_config import StackConfig

STACK_CLI = [sys.executable, str(REPO / "scripts" / "stack.py")]
CLI_TIMEOUT_S = 300


@pytest.fixture
def listener() -> Iterator[int]:
    with socket.socket() as s:
        s.bind((LOCALHOST, 0))
        s.listen()
        yield s.getsockname()[1]


def test_busy_port_is_named_before_anything_starts(tmp_path: Path, listener: int):
    config = StackConfig.with_free_ports(tmp_path, quiet=True)
    config = replace(config, ports=replace(config.ports, node=listener))
    stack = Stack(config)

    with pytest.raises(StackError) as busy:
        stack.start()

    assert busy.value.component == "devnode"
    assert f"port {listener}" in busy.value.reason
    assert "NODE_PORT" in busy.value.reason
    assert stack.processes == {}


def test_down_leaves_alone_a_process_that_reused_a_recorded_pid():
    # a session leader, like the processes `up` starts: the riskiest pid to confuse
    bystander = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True
    )
    try:
        ticks = start_ticks(bystander.pid)
        assert ticks is not None
        stale = RunningProcess("old", bystander.pid, ticks - 1, ("old",), "/dev/null")

        stop_process(stale)

        with pytest.raises(subprocess.TimeoutExpired):  # still running: nothing was signalled
            bystander.wait(timeout=0.5)
    finally:
        bystander.kill()
        bystander.wait()


def test_up_then_down_leaves_no_process_behind(tmp_path: Path):
    ports = Ports.free()
    env_ports = [
        f"--anvil-port={ports.anvil}",
        f"--node-port={ports.node}",
        f"--service-port={ports.service}",
        f"--backend-port={ports.backend}",
    ]
    run_dir = ["--run-dir", str(tmp_path)]
    # a store left by an earlier stack must not be reused against the fresh chain
    (tmp_path / "devnode.sqlite").write_bytes(b"left by an earlier run")
    up = subprocess.run(
        [*STACK_CLI, *run_dir, "up", *env_ports],
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_S,
        check=False,
    )
    recorded = recorded_processes(tmp_path)
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        assert "Local Infernet stack is up." in up.stdout
        assert {p.name for p in recorded} == {"anvil", "backend", "service", "devnode"}
        assert all(is_alive(p) for p in recorded)
        # the pid recorded for anvil is anvil's own, not a wrapper's that would not pass signals on
        anvil = next(p for p in recorded if p.name == "anvil")
        assert Path(f"/proc/{anvil.pid}/exe").resolve().name == "anvil"
        assert (tmp_path / "devnode.sqlite").read_bytes()[:16] == b"SQLite format 3\x00"
        state = json.loads((tmp_path / "stack.json").read_text())
        assert set(state["consumers"]) >= {"HFCallbackConsumer", "HFDelegatedConsumer"}

        again = subprocess.run(
            [*STACK_CLI, *run_dir, "up", *env_ports],
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT_S,
            check=False,
        )
        assert again.returncode == 1
        assert "already running" in again.stderr
    finally:
        down = subprocess.run(
            [*STACK_CLI, *run_dir, "down"],
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT_S,
            check=False,
        )
        for proc in recorded:  # never leave processes behind, even if `down` is broken
            stop_process(proc)

    assert down.returncode == 0, down.stderr
    assert not [p.name for p in recorded if is_alive(p)]
    assert recorded_processes(tmp_path) == []


@pytest.mark.parametrize(
    ("env", "offline"),
    [
        pytest.param({}, True, id="no-token"),
        pytest.param({"HF_INF_TOKEN": "hf_secret_e2e"}, False, id="token"),
        pytest.param({"HF_INF_TOKEN": "hf_secret_e2e", "OFFLINE": "1"}, True, id="token-offline"),
    ],
)
def test_backend_choice_and_the_token_stays_out_of_state(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, env: dict[str, str], offline: bool
):
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    stack = Stack(StackConfig.from_env(tmp_path))

    assert stack.config.offline is offline
    assert (stack.urls.backend is not None) is offline
    service_env = stack.service_env()
    assert ("HF_INF_ENDPOINT" in service_env) is offline
    assert service_env.get("HF_INF_TOKEN") == (None if offline else "hf_secret_e2e")
    assert "hf_secret_e2e" not in json.dumps(stack.state()) + repr(stack.config) + stack.summary()
