"""On-chain deliveries keep their reserved call slots while clients flood a hanging container
(docs/devnode.md, "Fair sharing"), against a real anvil."""

from __future__ import annotations

from pathlib import Path

from chain_harness import running
from hf_infernet_stack.accounts import CONTAINER_ID
from hf_infernet_stack.anvil import Anvil
from hf_infernet_stack.consumers import REQUEST_COMPUTE
from hf_infernet_stack.consumers import TEXT_GENERATION
from hf_infernet_stack.consumers import Actor
from hf_infernet_stack.consumers import created_id
from hf_infernet_stack.containers import Containers
from hf_infernet_stack.containers import EchoContainer
from hf_infernet_stack.devnode import Devnode
from hf_infernet_stack.processes import wait_for

DELIVERY_TIMEOUT_S = 30.0
FLOOD = 50


def test_a_callback_is_delivered_while_a_client_floods_a_hanging_container(
    tmp_path: Path,
    anvil: Anvil,
    echo: EchoContainer,
    last_id: int,
    deployer: Actor,
    callback_consumer: str,
) -> None:
    with Containers() as hanging:
        node = Devnode(
            workdir=tmp_path / "node",
            rpc_url=anvil.url,
            containers={CONTAINER_ID: echo.url, "hang": hanging.url("hang")},
            starting_sub_id=last_id,
            # One container may take every slot off-chain jobs may use: only the reserve is left.
            server_options={
                "max_container_calls": 3,
                "max_calls_per_container": 3,
                "reserved_onchain_calls": 1,
                "max_batch_size": FLOOD,
            },
        )
        with running(node):
            flood = [{"containers": ["hang"], "data": {"n": n}} for n in range(FLOOD)]
            status, _ = node.request("POST", "/api/jobs/batch", flood)
            assert status == 200
            wait_for(lambda: len(hanging.calls_to("hang")) >= 2, 10, "off-chain slots taken")
            receipt = deployer.transact(
                callback_consumer, REQUEST_COMPUTE, TEXT_GENERATION, "", "hello", 1
            )
            sub_id = created_id(receipt)
            node.wait_delivered(sub_id, 1, DELIVERY_TIMEOUT_S)
            assert len(hanging.calls_to("hang")) == 2
