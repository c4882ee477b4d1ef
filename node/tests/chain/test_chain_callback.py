"""Callback and recurring subscriptions against a real anvil with the project's consumers."""

from __future__ import annotations

from chain_harness import running
from hf_infernet_stack.accounts import CONTAINER_ID
from hf_infernet_stack.consumers import ANSWER_COUNT
from hf_infernet_stack.consumers import REQUEST_COMPUTE
from hf_infernet_stack.consumers import START_SUBSCRIPTION
from hf_infernet_stack.consumers import STOP_SUBSCRIPTION
from hf_infernet_stack.consumers import TEXT_GENERATION
from hf_infernet_stack.consumers import Actor
from hf_infernet_stack.consumers import created_id
from hf_infernet_stack.consumers import deploy_subscription_consumer
from hf_infernet_stack.devnode import Devnode
from hf_infernet_stack.processes import wait_for
from hf_infernet_stack.rpc import Rpc

DELIVERY_TIMEOUT_S = 30.0
PERIOD_S = 60


def answers(rpc: Rpc, consumer: str, sub_id: int, interval: int) -> int:
    (count,) = rpc.call(consumer, ANSWER_COUNT, sub_id, interval)
    return int(count)


def test_callback_request_is_delivered_once(
    rpc: Rpc, deployer: Actor, callback_consumer: str, devnode: Devnode
) -> None:
    with running(devnode):
        receipt = deployer.transact(
            callback_consumer, REQUEST_COMPUTE, TEXT_GENERATION, "", "hello", 1
        )
        sub_id = created_id(receipt)
        devnode.wait_delivered(sub_id, 1, DELIVERY_TIMEOUT_S)
        assert answers(rpc, callback_consumer, sub_id, 1) == 1
        status = devnode.subscription(sub_id)
        assert status is not None
        assert status["containers"] == [CONTAINER_ID]
        assert status["last"]["tx_hash"].startswith("0x")
        assert rpc.transactions_from(devnode.address) >= 1


def test_recurring_subscription_delivers_every_interval_on_chain_time(
    rpc: Rpc, deployer: Actor, devnode: Devnode
) -> None:
    consumer = deploy_subscription_consumer(deployer)
    receipt = deployer.transact(
        consumer, START_SUBSCRIPTION, TEXT_GENERATION, "", ["a", "b"], 3, PERIOD_S, 1, False
    )
    sub_id = created_id(receipt)
    with running(devnode):
        # Active one period after creation: nothing is due until chain time moves.
        assert devnode.subscription(sub_id)["phase"] == "not_active"
        for interval in (1, 2, 3):
            rpc.advance(PERIOD_S)
            devnode.wait_delivered(sub_id, interval, DELIVERY_TIMEOUT_S)
            assert answers(rpc, consumer, sub_id, interval) == 1
        rpc.advance(PERIOD_S)
        wait_for(
            lambda: devnode.subscription(sub_id)["tracked"] is False,
            DELIVERY_TIMEOUT_S,
            "completion",
        )
        assert devnode.subscription(sub_id)["reason"] == "completed"


def test_cancelled_subscription_stops(rpc: Rpc, deployer: Actor, devnode: Devnode) -> None:
    consumer = deploy_subscription_consumer(deployer)
    sub_id = created_id(
        deployer.transact(
            consumer, START_SUBSCRIPTION, TEXT_GENERATION, "", ["a"], 5, PERIOD_S, 1, False
        )
    )
    with running(devnode):
        rpc.advance(PERIOD_S)
        devnode.wait_delivered(sub_id, 1, DELIVERY_TIMEOUT_S)
        deployer.transact(consumer, STOP_SUBSCRIPTION, sub_id)
        wait_for(
            lambda: devnode.subscription(sub_id)["reason"] == "cancelled",
            DELIVERY_TIMEOUT_S,
            "cancellation seen",
        )
        rpc.advance(PERIOD_S)
        rpc.advance(PERIOD_S)
        assert devnode.delivery_state(sub_id, 2) is None
        assert answers(rpc, consumer, sub_id, 2) == 0


def test_lazy_subscription_is_delivered_through_the_inbox(
    rpc: Rpc, deployer: Actor, devnode: Devnode
) -> None:
    consumer = deploy_subscription_consumer(deployer)
    with running(devnode):
        sub_id = created_id(
            deployer.transact(
                consumer, START_SUBSCRIPTION, TEXT_GENERATION, "", ["lazy"], 1, 0, 1, True
            )
        )
        devnode.wait_delivered(sub_id, 1, DELIVERY_TIMEOUT_S)
        # The consumer reads the output back from the Inbox; an answer means it was there.
        assert answers(rpc, consumer, sub_id, 1) == 1
        assert devnode.subscription(sub_id)["subscription"]["lazy"] is True


CONCURRENT_REQUESTS = 10


def test_requests_mined_together_are_each_delivered_once_with_consecutive_nonces(
    rpc: Rpc, deployer: Actor, callback_consumer: str, devnode: Devnode
) -> None:
    """Concurrent deliveries share one sender: no nonce reused or skipped."""
    sent = rpc.transactions_from(devnode.address)
    with running(devnode):
        rpc("evm_setAutomine", False)
        try:
            hashes = [
                deployer.broadcast(
                    callback_consumer,
                    REQUEST_COMPUTE.encode(TEXT_GENERATION, "", f"c{i}", 1),
                    gas=1_000_000,
                )
                for i in range(CONCURRENT_REQUESTS)
            ]
            rpc("evm_mine")
        finally:
            rpc("evm_setAutomine", True)
        ids = [created_id(rpc("eth_getTransactionReceipt", h)) for h in hashes]
        for sub_id in ids:
            devnode.wait_delivered(sub_id, 1, DELIVERY_TIMEOUT_S)
            assert answers(rpc, callback_consumer, sub_id, 1) == 1
    assert rpc.transactions_from(devnode.address) == sent + CONCURRENT_REQUESTS
