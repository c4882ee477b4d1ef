"""The published infernet-client 1.4.0 (Python NodeClient and CLI) against the devnode.

The client lives in its own venv (its metadata pins an infernet-ml that was never published);
the Makefile passes its bin directory as INFERNET_CLIENT_BIN.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
from devnode_harness import NodeThread
from hf_infernet_stack.containers import Containers

REPO = Path(__file__).resolve().parents[2]
CLIENT_TIMEOUT_S = 60


def _client_bin() -> Path:
    configured = os.environ.get("INFERNET_CLIENT_BIN")
    path = Path(configured) if configured else REPO / ".venv-client" / "bin"
    if not (path / "infernet-client").exists():
        pytest.skip(f"infernet-client not installed in {path} (run `make test-node`)")
    return path


@pytest.fixture
def client_node(start_node: Any, containers: Containers) -> NodeThread:
    return start_node(  # type: ignore[no-any-return]
        [
            {"id": "hf_inference_client_service", "url": containers.url("echo")},
            {"id": "stream", "url": containers.url("stream")},
            {"id": "wrap", "url": containers.url("wrap"), "external": False},
        ]
    )


def _cli_all(commands: dict[str, list[str]], cwd: Path) -> dict[str, str]:
    """Run several infernet-client commands at once (each spends seconds importing web3)."""
    program = str(_client_bin() / "infernet-client")
    running = {
        name: subprocess.Popen(
            [program, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd
        )
        for name, args in commands.items()
    }
    outputs: dict[str, str] = {}
    try:
        for name, process in running.items():
            stdout, stderr = process.communicate(timeout=CLIENT_TIMEOUT_S)
            assert process.returncode == 0, f"{name}: {stdout}{stderr}"
            outputs[name] = stdout
    finally:
        for process in running.values():
            if process.poll() is None:
                process.kill()
                process.wait()
    return outputs


_PYTHON_CLIENT = """
import asyncio, json, sys
from infernet_client.error import APIError
from infernet_client.node import NodeClient

async def main(url):
    client = NodeClient(url)
    out = {"health": await client.health(), "info": await client.get_info()}
    job_id = await client.request_job(
        {"containers": ["hf_inference_client_service"], "data": {"prompt": "hi"}}
    )
    out["sync"] = await client.get_job_result_sync(job_id, retries=10)
    out["chained"] = await client.get_job_result_sync(
        await client.request_job(
            {"containers": ["hf_inference_client_service", "wrap"], "data": {"x": 1}}
        ),
        retries=10,
    )
    out["batch"] = await client.request_jobs(
        [{"containers": ["hf_inference_client_service"], "data": {"n": 2}},
         {"containers": ["nope"], "data": {}}]
    )
    out["results"] = await client.get_job_results([job_id], intermediate=True)
    out["ids"] = await client.get_jobs()
    out["completed"] = await client.get_jobs(pending=False)
    chunks = [c async for c in client.request_stream({"containers": ["stream"], "data": {}})]
    out["stream"] = [c if isinstance(c, str) else c.decode() for c in chunks]
    out["after_stream"] = await client.get_jobs()
    await client.record_status("external-1", "success", {"containers": ["stream"], "data": {}})
    try:
        await client.request_job({"containers": ["nope"], "data": {}})
    except APIError as e:
        out["rejected"] = [e.status_code, e.message, e.params]
    print(json.dumps(out))

asyncio.run(main(sys.argv[1]))
"""


def test_python_node_client(client_node: NodeThread, tmp_path: Path) -> None:
    script = tmp_path / "client.py"
    script.write_text(_PYTHON_CLIENT)
    done = subprocess.run(
        [str(_client_bin() / "python"), str(script), client_node.url],
        capture_output=True,
        text=True,
        timeout=CLIENT_TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = json.loads(done.stdout)
    assert out["health"] is True
    assert out["info"]["version"] == "1.4.0"
    assert out["info"]["containers"][0]["id"] == "hf_inference_client_service"
    sync = out["sync"]
    assert sync["status"] == "success"
    assert sync["result"]["output"]["echo"] == {"prompt": "hi"}
    assert out["chained"]["result"]["container"] == "wrap"
    assert "id" in out["batch"][0]
    assert out["batch"][1] == {"error": "Container not supported", "params": {"container": "nope"}}
    assert out["results"][0]["intermediate_results"] == []
    assert sync["id"] in out["ids"]
    assert sync["id"] in out["completed"]
    # The stream is the job id, a newline, then the output. TCP keeps no chunk boundaries, and
    # the client takes its first chunk (stripped) for the id: whatever of the output arrived
    # with the id, and the whitespace at its end, is in that first item.
    streamed = "".join(out["stream"])
    job_id, output = streamed[:36], streamed[36:]
    assert str(uuid.UUID(job_id)) == job_id
    assert job_id in out["after_stream"]
    assert "".join(output.split()) == "onetwothree"
    assert out["rejected"] == [405, "Container not supported", {"container": "nope"}]


def test_cli_health_info_job_results_ids(client_node: NodeThread, tmp_path: Path) -> None:
    url = client_node.url
    http = client_node.http()  # same client address as the CLI: results are scoped per client
    job_id = http.job(["hf_inference_client_service"], {"prompt": "over http"})
    http.result(job_id)
    (tmp_path / "input.json").write_text(json.dumps({"prompt": "from the cli"}))
    job = ["job", "--url", url, "-c", "hf_inference_client_service", "-i", "input.json", "--sync"]
    out = _cli_all(
        {
            "health": ["health", "--url", url],
            "info": ["info", "--url", url],
            "job": job,
            "results": ["results", "--url", url, "--id", job_id],
            "ids": ["ids", "--url", url],
        },
        cwd=tmp_path,
    )
    assert "healthy" in out["health"].lower()
    assert json.loads(out["info"])["chain"] == {"enabled": False, "address": ""}
    assert json.loads(out["job"])["echo"] == {"prompt": "from the cli"}  # --sync prints output
    results = json.loads(out["results"])
    assert results[0]["id"] == job_id
    assert results[0]["result"]["output"]["echo"] == {"prompt": "over http"}
    assert job_id in json.loads(out["ids"])
