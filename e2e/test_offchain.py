"""Flow 1, the off-chain job: client -> node POST /api/jobs -> service -> GET /api/jobs?id=.

Driven three ways: the REST API as in Infernet's docs, the published infernet-client Python API,
and its CLI (`job` with an input.json). Every answer is compared with what the service itself
returns for the same input, so the node is shown to relay the service's JSON unchanged.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from hf_infernet_stack.accounts import PROOF_CONTAINER_ID
from hf_infernet_stack.codec import PROMPTS
from hf_infernet_stack.codec import TASKS
from hf_infernet_stack.codec import HFTaskId
from hf_infernet_stack.codec import answer_from_offchain
from hf_infernet_stack.codec import offchain_data
from hf_infernet_stack.rest import NodeHTTPError
from hf_infernet_stack.rest import NodeREST
from reference import CLIENT_TIMEOUT_S
from reference import call_service
from reference import client_bin
from target import Target


@pytest.mark.parametrize("task", TASKS, ids=lambda t: t.name.lower())
def test_rest_job_relays_the_service_answer(target: Target, node: NodeREST, task: HFTaskId):
    data = offchain_data(task, PROMPTS[task])

    job = node.wait_job(node.request_job(data, target.container_id))

    assert job["status"] == "success", job
    assert job["result"]["container"] == target.container_id
    status, direct = call_service(target, {"source": 1, "destination": 1, "data": data})
    assert status == 200
    assert job["result"]["output"] == direct
    answer = answer_from_offchain(task, job["result"]["output"]["output"])
    assert answer.text or answer.labels


def test_python_client_job_as_in_infernet_docs(target: Target):
    """infernet_client.NodeClient.request_job + get_job_result_sync, unchanged 1.4.0 code."""
    data = offchain_data(HFTaskId.TEXT_GENERATION, PROMPTS[HFTaskId.TEXT_GENERATION])
    program = (
        "import asyncio, json, sys\n"
        "from infernet_client import NodeClient\n"
        "from infernet_client.types import JobRequest\n"
        "async def main():\n"
        "    client = NodeClient(sys.argv[1])\n"
        "    job_id = await client.request_job(\n"
        "        JobRequest(containers=[sys.argv[2]], data=json.loads(sys.argv[3]))\n"
        "    )\n"
        "    result = await client.get_job_result_sync(job_id, retries=30)\n"
        "    print(json.dumps(result))\n"
        "asyncio.run(main())\n"
    )
    done = subprocess.run(
        [
            str(client_bin() / "python"),
            "-c",
            program,
            target.node_url,
            target.container_id,
            json.dumps(data),
        ],
        capture_output=True,
        text=True,
        timeout=CLIENT_TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 0, done.stderr

    result = json.loads(done.stdout)

    assert result["status"] == "success"
    _, direct = call_service(target, {"source": 1, "destination": 1, "data": data})
    assert result["result"]["output"] == direct


def test_cli_job_with_input_json(target: Target, tmp_path: Path):
    """`infernet-client job -c <container> -i input.json --sync`, as in Infernet's docs."""
    data = offchain_data(HFTaskId.TEXT_CLASSIFICATION, PROMPTS[HFTaskId.TEXT_CLASSIFICATION])
    (tmp_path / "input.json").write_text(json.dumps(data))

    done = subprocess.run(
        [
            str(client_bin() / "infernet-client"),
            "job",
            "-c",
            target.container_id,
            "-i",
            "input.json",
            "--sync",
            "--retries",
            "30",
        ],
        cwd=tmp_path,
        env=dict(os.environ, SERVER_URL=target.node_url),
        capture_output=True,
        text=True,
        timeout=CLIENT_TIMEOUT_S,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    _, direct = call_service(target, {"source": 1, "destination": 1, "data": data})
    assert json.loads(done.stdout) == direct


@pytest.mark.parametrize(
    ("container", "data", "requires_proof"),
    [
        pytest.param(None, {"task_id": 0, "prompt": "hi"}, False, id="task-unset"),
        pytest.param(None, {"task_id": 9, "text": "hi"}, False, id="task-unknown"),
        pytest.param(
            PROOF_CONTAINER_ID,
            offchain_data(HFTaskId.TEXT_GENERATION, "hi"),
            True,
            id="requires-proof",
        ),
    ],
)
def test_bad_job_shows_the_service_error(
    target: Target,
    node: NodeREST,
    container: str | None,
    data: dict[str, Any],
    requires_proof: bool,
):
    # the local stack also registers the service as a container that generates proofs
    container = container or target.container_id
    target.require_container(container)
    status, error = call_service(
        target, {"source": 1, "destination": 1, "data": data, "requires_proof": requires_proof}
    )
    assert 400 <= status < 500, error

    job = node.wait_job(node.request_job(data, container, requires_proof=requires_proof))

    shown = json.dumps(job["result"])
    assert error["description"] in shown or json.dumps(error["description"])[1:-1] in shown


def test_proof_request_to_a_container_without_proofs_is_refused(target: Target, node: NodeREST):
    """The node's admission rule (a proof needs generates_proofs), before the service is called."""
    data = offchain_data(HFTaskId.TEXT_GENERATION, "hi")

    with pytest.raises(NodeHTTPError) as refused:
        node.request_job(data, target.container_id, requires_proof=True)

    assert refused.value.status == 405
    assert refused.value.body["error"] == "Container does not generate proof"


@pytest.mark.own_stack("stops the service and starts it again")
def test_job_fails_with_reason_when_the_container_is_down(target: Target, node: NodeREST):
    stack = target.stack
    assert stack is not None
    data = offchain_data(HFTaskId.SUMMARIZATION, PROMPTS[HFTaskId.SUMMARIZATION])
    stack.stop_component("service")
    try:
        job = node.wait_job(node.request_job(data, target.container_id))
    finally:
        stack.start_service()

    assert job["status"] == "failed"
    assert job["result"]["container"] == target.container_id
    assert job["result"]["error"]
    # and the node recovers as soon as the container is back
    assert node.wait_job(node.request_job(data, target.container_id))["status"] == "success"
