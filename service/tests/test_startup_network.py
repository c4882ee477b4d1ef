"""Starting the service asks Hugging Face's Hub nothing: the backend is the only peer it calls."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
from aiohttp import web
from hf_infernet_stack.processes import stop_process
from service_harness import OfflineBackendProcess
from service_harness import _wait_ready
from service_harness import clean_env
from service_harness import listening_socket
from threaded_server import ThreadedServer

COMMAND = Path(sys.executable).with_name("hf-inference-client-service")


def test_start_and_a_job_make_no_request_to_the_hub(
    backend: OfflineBackendProcess, tmp_path: Path
) -> None:
    hub_paths: list[str] = []

    async def record(request: web.Request) -> web.Response:
        hub_paths.append(request.path)
        return web.json_response({"error": "not found"}, status=404)

    hub = web.Application()
    hub.router.add_route("*", "/{tail:.*}", record)
    with ThreadedServer(hub) as server:
        sock = listening_socket()
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        env = clean_env() | {
            "HF_INF_ENDPOINT": backend.url,
            # huggingface_hub's Hub address, and a home without any cached Hub data.
            "HF_ENDPOINT": server.url,
            "HF_HOME": str(tmp_path / "hf-home"),
        }
        proc = subprocess.Popen(
            [str(COMMAND), f"--bind=fd://{sock.fileno()}", "--workers=1"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=[sock.fileno()],
        )
        sock.close()
        try:
            _wait_ready(url + "/")
            job = {"source": 1, "destination": 1, "data": {"task_id": 2, "text": "hello"}}
            assert httpx.post(url + "/service_output", json=job).status_code == 200
        finally:
            stop_process(proc)
    assert hub_paths == []
