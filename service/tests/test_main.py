"""The console command as the node runs it, and secret hygiene of its output."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
from hf_inference_client_service import encode_input
from hf_inference_client_service.__main__ import main
from service_harness import OfflineBackendProcess
from service_harness import _wait_ready
from service_harness import clean_env
from service_harness import listening_socket
from service_harness import stop_process

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
