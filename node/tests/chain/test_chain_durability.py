"""Exactly once across crashes, failures with reasons, and an RPC endpoint that restarts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from chain_harness import fresh_chain
from chain_harness import later_genesis
from chain_harness import protocol_and_consumer
from chain_harness import request_on
from chain_harness import running
from chain_harness import second_node
from hf_infernet_stack.accounts import CONTAINER_ID
from hf_infernet_stack.accounts import PROTOCOL
from hf_infernet_stack.accounts import SIGNER_KEY
from hf_infernet_stack.anvil import Anvil
from hf_infernet_stack.consumers import ALLOWED_NODES
from hf_infernet_stack.consumers import REQUEST_COMPUTE
from hf_infernet_stack.consumers import TEXT_GENERATION
from hf_infernet_stack.consumers import Actor
from hf_infernet_stack.consumers import answers
from hf_infernet_stack.consumers import created_id
from hf_infernet_stack.consumers import creation_code
from hf_infernet_stack.consumers import delegate_created_id
from hf_infernet_stack.containers import EchoContainer
from hf_infernet_stack.delegation import signed_delegated_request as delegated_request
from hf_infernet_stack.devnode import Devnode
from hf_infernet_stack.processes import free_port
from hf_infernet_stack.processes import wait_for
from hf_infernet_stack.rpc import Rpc

DELIVERY_TIMEOUT_S = 30.0
SLOW_CONTAINER_S = 3.0


@pytest.fixture
def manual_mining(rpc: Rpc) -> Iterator[None]:
    """Blocks only when the test mines them; automine is restored for the next tests."""
    rpc("evm_setAutomine", False)
    try:
        yield
    finally:
        rpc("evm_setAutomine", True)


def pending_nonce(rpc: Rpc, address: str) -> int:
    return int(rpc("eth_getTransactionCount", address, "pending"), 16)


def test_crash_with_delivery_in_the_mempool_sends_no_second_transaction(
    rpc: Rpc, deployer: Actor, callback_consumer: str, devnode: Devnode, manual_mining: None
) -> None:
    """Upstream re-sends after a restart and wastes a reverting transaction; we wait for it."""
    tx = deployer.broadcast(
        callback_consumer, REQUEST_COMPUTE.encode(TEXT_GENERATION, "", "mempool", 1)
    )
    rpc("evm_mine")
    sub_id = created_id(rpc("eth_getTransactionReceipt", tx))
    mined = rpc.transactions_from(devnode.address)
    try:
        devnode.start()
        wait_for(
            lambda: devnode.delivery_state(sub_id, 1) == "sent",
            DELIVERY_TIMEOUT_S,
            "delivery broadcast",
        )
        assert pending_nonce(rpc, devnode.address) == mined + 1
        devnode.stop(hard=True)  # SIGKILL: no cleanup, the tx stays in anvil's mempool

        devnode.start()
        assert devnode.delivery_state(sub_id, 1) == "sent"
        assert pending_nonce(rpc, devnode.address) == mined + 1  # nothing re-sent
        rpc("evm_mine")
        devnode.wait_delivered(sub_id, 1, DELIVERY_TIMEOUT_S)
        rpc("evm_mine")
        block = rpc.block()["number"]
        wait_for(lambda: devnode.sees_block(block), DELIVERY_TIMEOUT_S, "node at head")
        assert rpc.transactions_from(devnode.address) == mined + 1
        assert answers(rpc, callback_consumer, sub_id) == 1
    finally:
        devnode.stop()


def test_crash_while_the_container_runs_delivers_exactly_once(
    rpc: Rpc, deployer: Actor, callback_consumer: str, devnode: Devnode, echo: EchoContainer
) -> None:
    sent_before = rpc.transactions_from(devnode.address)
    echo.delay = SLOW_CONTAINER_S
    try:
        devnode.start()
        calls = len(echo.calls)
        sub_id = created_id(
            deployer.transact(callback_consumer, REQUEST_COMPUTE, TEXT_GENERATION, "", "slow", 1)
        )
        wait_for(lambda: len(echo.calls) > calls, DELIVERY_TIMEOUT_S, "container called")
        devnode.stop(hard=True)
        echo.delay = 0.0
        devnode.start()
        devnode.wait_delivered(sub_id, 1, DELIVERY_TIMEOUT_S)
        assert answers(rpc, callback_consumer, sub_id) == 1
        assert rpc.transactions_from(devnode.address) == sent_before + 1
    finally:
        echo.delay = 0.0
        devnode.stop()


def test_container_down_means_no_delivery_and_a_visible_reason(
    rpc: Rpc, deployer: Actor, callback_consumer: str, devnode: Devnode
) -> None:
    devnode.containers = {CONTAINER_ID: f"http://127.0.0.1:{free_port()}"}  # nobody listens
    sent_before = rpc.transactions_from(devnode.address)
    with running(devnode):
        sub_id = created_id(
            deployer.transact(callback_consumer, REQUEST_COMPUTE, TEXT_GENERATION, "", "x", 1)
        )
        wait_for(
            lambda: devnode.delivery_state(sub_id, 1) == "failed",
            DELIVERY_TIMEOUT_S,
            "delivery given up",
        )
        last = devnode.subscription(sub_id)["last"]
        assert last["attempts"] == 3
        assert last["reason"] == "container failed"
        assert CONTAINER_ID in last["container_error"]
        assert "cannot reach" in last["container_error"]
        assert 'devnode_chain_deliveries{state="failed"}' in devnode.get("/metrics")[1]
    assert rpc.transactions_from(devnode.address) == sent_before
    assert answers(rpc, callback_consumer, sub_id) == 0


def test_redundancy_two_with_two_nodes_each_delivering_once(
    rpc: Rpc, deployer: Actor, callback_consumer: str, devnode: Devnode, tmp_path: Path
) -> None:
    second = second_node(devnode, tmp_path / "second")
    with running(devnode, second):
        sub_id = created_id(
            deployer.transact(callback_consumer, REQUEST_COMPUTE, TEXT_GENERATION, "", "r2", 2)
        )
        for node in (devnode, second):
            node.wait_delivered(sub_id, 1, DELIVERY_TIMEOUT_S)
        assert answers(rpc, callback_consumer, sub_id) == 2


def test_node_recovers_when_anvil_restarts(
    tmp_path: Path, deployer: Actor, echo: EchoContainer
) -> None:
    """A private anvil with --state: stopped and started again on the same port."""

    chain = Anvil(state_path=tmp_path / "anvil-state.json").start()
    node: Devnode | None = None
    try:
        private, consumer = protocol_and_consumer(chain, deployer, tmp_path / "protocol")
        owner = Actor(private, deployer.account.key.hex())
        node = Devnode(
            workdir=tmp_path / "node", rpc_url=chain.url, containers={CONTAINER_ID: echo.url}
        )
        node.start()
        first = created_id(owner.transact(consumer, REQUEST_COMPUTE, TEXT_GENERATION, "", "a", 1))
        node.wait_delivered(first, 1, DELIVERY_TIMEOUT_S)
        chain.stop()
        wait_for(
            lambda: node.metric("devnode_chain_rpc_healthy") == 0,
            DELIVERY_TIMEOUT_S,
            "outage noticed",
        )
        chain.start()
        second = created_id(owner.transact(consumer, REQUEST_COMPUTE, TEXT_GENERATION, "", "b", 1))
        node.wait_delivered(second, 1, DELIVERY_TIMEOUT_S)
        assert answers(private, consumer, second) == 1
    finally:
        if node is not None:
            node.stop()
        chain.stop()


def test_store_reused_against_a_fresh_chain_resets_and_delivers(
    tmp_path: Path, deployer: Actor, echo: EchoContainer
) -> None:
    """Old store + new anvil: the recorded deliveries belong to the old chain, not this one."""
    port = free_port()
    node = Devnode(
        workdir=tmp_path / "node",
        rpc_url=f"http://127.0.0.1:{port}",
        containers={CONTAINER_ID: echo.url},
    )
    chain, private, consumer = fresh_chain(port, deployer, tmp_path / "first")
    try:
        with running(node):
            first = request_on(private, deployer, consumer)
            node.wait_delivered(first, 1, DELIVERY_TIMEOUT_S)
            status, job = node.request(
                "POST", "/api/jobs", {"containers": [CONTAINER_ID], "data": {"input": "kept"}}
            )
            assert status == 200
        restart_args = later_genesis(private)
        chain.stop()
        chain, private, consumer = fresh_chain(port, deployer, tmp_path / "second", restart_args)
        with running(node):
            second = request_on(private, deployer, consumer)
            assert second == first
            wait_for(
                lambda: answers(private, consumer, second) == 1,
                DELIVERY_TIMEOUT_S,
                "delivery on the new chain",
            )
            node.wait_delivered(second, 1, DELIVERY_TIMEOUT_S)
            status, jobs = node.get(f"/api/jobs?id={job['id']}")
            assert status == 200
            assert [j["id"] for j in jobs] == [job["id"]]  # off-chain job records are kept
        assert node.logs().count("belongs to another chain") == 1
    finally:
        node.stop()
        chain.stop()


def test_running_node_follows_anvil_restarted_fresh(
    tmp_path: Path, deployer: Actor, echo: EchoContainer
) -> None:
    """The chain changes under a running node: it notices after the outage and starts over."""
    port = free_port()
    node = Devnode(
        workdir=tmp_path / "node",
        rpc_url=f"http://127.0.0.1:{port}",
        containers={CONTAINER_ID: echo.url},
    )
    chain, private, consumer = fresh_chain(port, deployer, tmp_path / "first")
    try:
        with running(node):
            first = request_on(private, deployer, consumer)
            node.wait_delivered(first, 1, DELIVERY_TIMEOUT_S)
            restart_args = later_genesis(private)
            chain.stop()
            wait_for(
                lambda: node.metric("devnode_chain_rpc_healthy") == 0,
                DELIVERY_TIMEOUT_S,
                "outage noticed",
            )
            chain, private, consumer = fresh_chain(
                port, deployer, tmp_path / "second", restart_args
            )
            second = request_on(private, deployer, consumer)
            assert second == first
            wait_for(
                lambda: answers(private, consumer, second) == 1,
                DELIVERY_TIMEOUT_S,
                "delivery on the new chain",
            )
            assert node.logs().count("belongs to another chain") == 1
    finally:
        node.stop()
        chain.stop()


def test_snapshot_leaves_out_subscriptions_already_answered(
    rpc: Rpc, deployer: Actor, callback_consumer: str, devnode: Devnode, tmp_path: Path
) -> None:
    """A node joining late does not even look at callbacks whose redundancy is reached."""
    with running(devnode):
        answered = created_id(
            deployer.transact(callback_consumer, REQUEST_COMPUTE, TEXT_GENERATION, "", "old", 1)
        )
        devnode.wait_delivered(answered, 1, DELIVERY_TIMEOUT_S)
    unanswered = created_id(
        deployer.transact(callback_consumer, REQUEST_COMPUTE, TEXT_GENERATION, "", "new", 1)
    )
    late = second_node(devnode, tmp_path / "late")
    with running(late):
        late.wait_delivered(unanswered, 1, DELIVERY_TIMEOUT_S)
        assert late.subscription(answered) is None


def test_gas_estimate_above_max_gas_limit_fails_with_the_reason(
    rpc: Rpc, deployer: Actor, callback_consumer: str, devnode: Devnode
) -> None:
    """max_gas_limit is a cap (upstream only uses it as a fallback gas value)."""
    devnode.extra_wallet = {"max_gas_limit": 50_000}
    sent = rpc.transactions_from(devnode.address)
    with running(devnode):
        sub_id = created_id(
            deployer.transact(callback_consumer, REQUEST_COMPUTE, TEXT_GENERATION, "", "gas", 1)
        )
        wait_for(
            lambda: devnode.delivery_state(sub_id, 1) == "failed",
            DELIVERY_TIMEOUT_S,
            "gas cap failure",
        )
        assert "exceeds max_gas_limit 50000" in devnode.subscription(sub_id)["last"]["reason"]
        # the status API names bad and unknown ids
        assert devnode.get("/api/subscriptions/abc")[0] == 400
        # digits int() refuses (a circled one, 5,000 digits) are named 400s, not 500s
        for raw in ("%E2%91%A0", "1" * 5_000):
            status, refused = devnode.get(f"/api/subscriptions/{raw}")
            assert (status, refused["field"]) == (400, "id")
        status, body = devnode.get(f"/api/subscriptions/{sub_id + 1000}")
        assert (status, body["field"]) == (404, "id")
    assert rpc.transactions_from(devnode.address) == sent


def test_crash_with_delegated_delivery_in_the_mempool_sends_no_second_transaction(
    rpc: Rpc, deployer: Actor, signer: Actor, devnode: Devnode, manual_mining: None
) -> None:
    tx = deployer.broadcast(
        None,
        creation_code(
            "HFDelegatedConsumer",
            "HFDelegatedConsumer",
            PROTOCOL.registry,
            signer.address,
            ALLOWED_NODES,
        ),
    )
    rpc("evm_mine")
    consumer = rpc("eth_getTransactionReceipt", tx)["contractAddress"]
    mined = rpc.transactions_from(devnode.address)
    body = delegated_request(
        SIGNER_KEY,
        consumer,
        nonce=7,
        expiry=rpc.block()["timestamp"] + 3_600,
        data={"input": "pooled"},
    )
    try:
        devnode.start()
        assert devnode.request("POST", "/api/jobs", body)[0] == 200
        wait_for(
            lambda: pending_nonce(rpc, devnode.address) == mined + 1,
            DELIVERY_TIMEOUT_S,
            "delegated delivery broadcast",
        )
        devnode.stop(hard=True)
        devnode.start()
        assert pending_nonce(rpc, devnode.address) == mined + 1
        rpc("evm_mine")
        sub_id = wait_for(
            lambda: delegate_created_id(rpc, consumer, 7), DELIVERY_TIMEOUT_S, "created"
        )
        devnode.wait_delivered(sub_id, 1, DELIVERY_TIMEOUT_S)
        rpc("evm_mine")
        block = rpc.block()["number"]
        wait_for(lambda: devnode.sees_block(block), DELIVERY_TIMEOUT_S, "node at head")
        assert rpc.transactions_from(devnode.address) == mined + 1
    finally:
        devnode.stop()
