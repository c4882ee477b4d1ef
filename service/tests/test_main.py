"""The console command as the node runs it, and secret hygiene of its output."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from hf_inference_client_service import encode_input
from hf_inference_client_service.__main__ import main
from hf_infernet_stack.processes import stop_process
from service_harness import OfflineBackendProcess
from service_harness import _wait_ready
from service_harness import clean_env
from service_harness import listening_socket

TOKEN = "hf_TopSecretTokenValue1234567890"
COMMAND = Path(sys.executable).with_name("hf-inference-client-service")


def test_console_command_serves_with_node_style_arguments(
    backend: OfflineBackendProcess, tmp_path: Path
) -> None:
    sock = listening_socket()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    env = clean_env() | {
        "HF_INF_TOKEN": TOKEN,
        "HF_INF_ENDPOINT": backend.url,
        "HF_INF_MAX_ATTEMPTS": "2",
        "HF_INF_RETRY_BASE_DELAY": "0.01",
    }
    log = tmp_path / "service.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            # the node's `command` form; the socket is passed in so the port is known exactly
            [str(COMMAND), f"--bind=fd://{sock.fileno()}", "--workers=1", "--access-logfile=-"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            pass_fds=[sock.fileno()],
        )
    sock.close()
    answers = []
    try:
        _wait_ready(url + "/")
        answers.append(httpx.get(url + "/"))
        job = {"source": 1, "destination": 1, "data": {"task_id": 2, "text": "good"}}
        answers.append(httpx.post(url + "/service_output", json=job, timeout=30))
        onchain = {"source": 0, "destination": 0, "data": encode_input(4, "", "A text.").hex()}
        answers.append(httpx.post(url + "/service_output", json=onchain, timeout=30))
        backend.fault(status=401, times=1)
        answers.append(httpx.post(url + "/service_output", json=job, timeout=30))
        backend.fault(status=503, times=2)
        answers.append(httpx.post(url + "/service_output", json=job, timeout=30))
        bad = {
            "source": 1,
            "destination": 1,
            "data": {"task_id": 1, "prompt": TOKEN, "model": "x/" + TOKEN + "/.."},
        }
        answers.append(httpx.post(url + "/service_output", json=bad, timeout=30))
    finally:
        stop_process(proc)
    assert [a.status_code for a in answers] == [200, 200, 200, 502, 503, 400]
    # The token was used (sent to the backend as a bearer) ...
    assert backend.received()[0]["headers"]["authorization"] == f"Bearer {TOKEN}"
    # ... but never appears in any response or in the service's output.
    for answer in answers:
        assert TOKEN not in answer.text
    output = log.read_text()
    assert "Running on" in output
    assert "Service Unavailable" in output  # failures are logged ...
    assert TOKEN not in output  # ... without the token


def test_invalid_configuration_fails_fast(monkeypatch, capsys) -> None:
    monkeypatch.setenv("HF_INF_TIMEOUT", "soon")
    assert main(["--bind=127.0.0.1:1"]) == 2
    assert "HF_INF_TIMEOUT: must be a number of seconds" in capsys.readouterr().err


def _start(workers: int, backend_url: str) -> tuple[subprocess.Popen[bytes], str, int]:
    sock = listening_socket()
    port = sock.getsockname()[1]
    proc = subprocess.Popen(
        [str(COMMAND), f"--bind=fd://{sock.fileno()}", f"--workers={workers}"],
        env=clean_env() | {"HF_INF_ENDPOINT": backend_url},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        pass_fds=[sock.fileno()],
    )
    sock.close()  # only the service holds the port now
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url + "/")
    except BaseException:
        stop_process(proc)
        raise
    return proc, url, port


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def _port_open(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _eventually(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 20
    delay = 0.02
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"still {what} after 20 s")
        time.sleep(delay)
        delay = min(delay * 2, 0.5)


def test_one_worker_is_one_process_and_sigkill_frees_the_port(
    backend: OfflineBackendProcess,
) -> None:
    proc, _url, port = _start(1, backend.url)
    try:
        assert _children(proc.pid) == []
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        _eventually(lambda: not _port_open(port), "listening")
    finally:
        stop_process(proc)


def test_workers_exit_when_the_master_is_killed(backend: OfflineBackendProcess) -> None:
    proc, _url, port = _start(2, backend.url)
    workers: list[int] = []
    try:
        # Two workers, plus multiprocessing's resource tracker: every child must go.
        _eventually(lambda: len(_children(proc.pid)) >= 2, "waiting for two workers")
        workers = _children(proc.pid)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        _eventually(lambda: not any(_alive(pid) for pid in workers), "running orphaned workers")
        _eventually(lambda: not _port_open(port), "listening")
    finally:
        stop_process(proc)
        for pid in workers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
