"""The real HF service (over the offline Hugging Face stand-in) behind the devnode, on-chain."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from chain_harness import running
from hf_infernet_stack.accounts import CONTAINER_ID
from hf_infernet_stack.consumers import ANSWER_COUNT
from hf_infernet_stack.consumers import REQUEST_COMPUTE
from hf_infernet_stack.consumers import TEXT_GENERATION
from hf_infernet_stack.consumers import Actor
from hf_infernet_stack.consumers import created_id
from hf_infernet_stack.devnode import READY_TIMEOUT_S
from hf_infernet_stack.devnode import Devnode
from hf_infernet_stack.processes import free_port
from hf_infernet_stack.processes import stop_process
from hf_infernet_stack.processes import wait_for
from hf_infernet_stack.rest import http_ok
from hf_infernet_stack.rpc import Rpc
from infernet_devnode.chain.abi import Function

DELIVERY_TIMEOUT_S = 60.0
GET_ANSWER = Function(
    "getAnswer",
    ("uint32", "uint32"),
    ("(uint8,address,uint16,string,string[],uint256[])",),
)


@pytest.fixture(scope="module")
def hf_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Offline backend + hf-inference-client-service on free ports; yields the service URL."""
    logs = tmp_path_factory.mktemp("hf")
    backend_port, service_port = free_port(), free_port()
    procs: list[subprocess.Popen[bytes]] = []
    try:
        with (logs / "backend.log").open("ab") as log:
            procs.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "hf_inference_standin",
                        "--port",
                        str(backend_port),
                    ],
                    stdout=log,
                    stderr=log,
                )
            )
        env = {
            **os.environ,
            "HF_INF_ENDPOINT": f"http://127.0.0.1:{backend_port}",
            "HF_INF_TOKEN": "hf_offline_test_token",
        }
        service = Path(sys.executable).parent / "hf-inference-client-service"
        with (logs / "service.log").open("ab") as log:
            procs.append(
                subprocess.Popen(
                    [str(service), f"--bind=127.0.0.1:{service_port}"],
                    stdout=log,
                    stderr=log,
                    env=env,
                )
            )
        url = f"http://127.0.0.1:{service_port}"
        wait_for(lambda: http_ok(f"http://127.0.0.1:{backend_port}/"), READY_TIMEOUT_S, "backend")
        wait_for(lambda: http_ok(url + "/"), READY_TIMEOUT_S, "service")
        yield url
    finally:
        for proc in procs:
            stop_process(proc)


def test_callback_answered_by_the_hf_service(
    rpc: Rpc, deployer: Actor, callback_consumer: str, devnode: Devnode, hf_service: str
) -> None:
    devnode.containers = {CONTAINER_ID: hf_service}
    with running(devnode):
        sub_id = created_id(
            deployer.transact(
                callback_consumer, REQUEST_COMPUTE, TEXT_GENERATION, "", "Once upon a time", 1
            )
        )
        devnode.wait_delivered(sub_id, 1, DELIVERY_TIMEOUT_S)
    (count,) = rpc.call(callback_consumer, ANSWER_COUNT, sub_id, 1)
    assert count == 1
    ((task, node, redundancy, text, _labels, _scores),) = rpc.call(
        callback_consumer, GET_ANSWER, sub_id, 1
    )
    assert (task, node.lower(), redundancy) == (TEXT_GENERATION, devnode.address.lower(), 1)
    assert text  # the offline backend's deterministic continuation
