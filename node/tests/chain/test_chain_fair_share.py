"""On-chain deliveries keep their reserved call slots while clients flood a hanging container
(docs/devnode.md, "Fair sharing"), against a real anvil."""

from __future__ import annotations

from pathlib import Path

from chain_harness import CONTAINER_ID
from chain_harness import REQUEST_COMPUTE
from chain_harness import TEXT_GENERATION
from chain_harness import Actor
from chain_harness import Anvil
from chain_harness import Devnode
from chain_harness import EchoContainer
from chain_harness import created_id
from chain_harness import running
from chain_harness import wait_until
from devnode_harness import Containers

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
            wait_until(lambda: len(hanging.calls_to("hang")) >= 2, 10, "off-chain slots taken")
            receipt = deployer.transact(
                callback_consumer, REQUEST_COMPUTE, TEXT_GENERATION, "", "hello", 1
            )
            sub_id = created_id(receipt)
            node.wait_delivered(sub_id, 1, DELIVERY_TIMEOUT_S)
            assert len(hanging.calls_to("hang")) == 2
