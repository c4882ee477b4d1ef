"""Redundancy 2 with two devnodes on one anvil: each node's explorer says, per interval, every
node the Coordinator logged a delivery from (SubscriptionFulfilled), its own marked, including
an interval left half-filled because one node was stopped, which that node reads back when it
starts again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from chain_harness import running
from chain_harness import second_node
from hf_infernet_stack.accounts import SIGNER_KEY
from hf_infernet_stack.consumers import ANSWER_COUNT
from hf_infernet_stack.consumers import START_SUBSCRIPTION
from hf_infernet_stack.consumers import TEXT_GENERATION
from hf_infernet_stack.consumers import Actor
from hf_infernet_stack.consumers import created_id
from hf_infernet_stack.consumers import delegate_created_id
from hf_infernet_stack.consumers import deploy_subscription_consumer
from hf_infernet_stack.delegation import signed_delegated_request as delegated_request
from hf_infernet_stack.devnode import Devnode
from hf_infernet_stack.processes import wait_for
from hf_infernet_stack.rpc import Rpc

DELIVERY_TIMEOUT_S = 30.0
PERIOD_S = 60
REDUNDANCY = 2
EXPIRY_MARGIN_S = 3_600


def answered_by(node: Devnode, sub_id: int) -> dict[int, list[dict[str, Any]]]:
    """Interval -> the deliveries `node`'s explorer lists for it (none before it saw the
    subscription)."""
    status, body = node.get(f"/api/explorer/subscriptions/{sub_id}")
    if status == 404:  # not seen yet
        return {}
    assert status == 200, body
    return {row["interval"]: row["nodes"] for row in body["deliveries"]}


def addresses(rows: list[dict[str, Any]]) -> set[str]:
    return {row["node"] for row in rows}


def redundant_request(rpc: Rpc, consumer: str, data: dict[str, Any]) -> dict[str, Any]:
    """A signed delegated request (nonce 1) for two intervals, active now, redundancy 2."""
    now = rpc.block()["timestamp"]
    return delegated_request(
        SIGNER_KEY,
        consumer,
        nonce=1,
        expiry=now + EXPIRY_MARGIN_S,
        data=data,
        period=PERIOD_S,
        frequency=2,
        active_at=now,
        redundancy=REDUNDANCY,
    )


def test_explorer_lists_every_node_that_answered_each_interval(
    rpc: Rpc, deployer: Actor, devnode: Devnode, tmp_path: Path
) -> None:
    devnode.explorer = True
    second = second_node(devnode, tmp_path / "second", explorer=True)
    consumer = deploy_subscription_consumer(deployer)
    sub_id = created_id(
        deployer.transact(
            consumer, START_SUBSCRIPTION, TEXT_GENERATION, "", ["a"], 2, PERIOD_S, REDUNDANCY, False
        )
    )
    both = {devnode.address, second.address}
    with running(devnode):
        with running(second):
            rpc.advance(PERIOD_S)
            for node in (devnode, second):
                node.wait_delivered(sub_id, 1, DELIVERY_TIMEOUT_S)
            for node in (devnode, second):
                wait_for(
                    lambda node=node: addresses(answered_by(node, sub_id).get(1, [])) == both,
                    DELIVERY_TIMEOUT_S,
                    "both deliveries of interval 1 listed",
                )
                (own,) = [n for n in answered_by(node, sub_id)[1] if n["this_node"]]
                assert own["node"] == node.address
                assert own["tx_hash"] == node.subscription(sub_id)["last"]["tx_hash"].lower()
        # The second node is stopped: interval 2 gets one answer of two.
        rpc.advance(PERIOD_S)
        devnode.wait_delivered(sub_id, 2, DELIVERY_TIMEOUT_S)
        wait_for(lambda: 2 in answered_by(devnode, sub_id), DELIVERY_TIMEOUT_S, "interval 2 listed")
        page = answered_by(devnode, sub_id)
        assert [(n["node"], n["this_node"]) for n in page[2]] == [(devnode.address, True)]
        assert addresses(page[1]) == both
        (count,) = rpc.call(consumer, ANSWER_COUNT, sub_id, 2)
        assert count == 1
    # Back after the subscription ended: the stopped node reads back who answered meanwhile.
    rpc.advance(PERIOD_S)
    with running(second):
        page = answered_by(second, sub_id)
        assert [(n["node"], n["this_node"]) for n in page[2]] == [(devnode.address, False)]
        assert addresses(page[1]) == both


def test_delegated_subscription_answered_by_both_nodes_lists_both_each_interval(
    rpc: Rpc, delegated_consumer: str, devnode: Devnode, tmp_path: Path
) -> None:
    """The same signed request sent to both nodes: the first delivery creates the subscription
    (SubscriptionCreated and SubscriptionFulfilled in one transaction), the other node delivers
    to the id it got; both intervals list both nodes on both explorers."""
    consumer = delegated_consumer
    devnode.explorer = True
    second = second_node(devnode, tmp_path / "second", explorer=True)
    body = redundant_request(rpc, consumer, {"input": "two nodes"})
    both = {devnode.address, second.address}
    with running(devnode, second):
        for node in (devnode, second):
            assert node.request("POST", "/api/jobs", body) == (200, {})
        sub_id = wait_for(
            lambda: delegate_created_id(rpc, consumer, 1), DELIVERY_TIMEOUT_S, "created"
        )
        for interval in (1, 2):
            if interval == 2:
                rpc.advance(PERIOD_S)
            for node in (devnode, second):
                wait_for(
                    lambda node=node, i=interval: (
                        addresses(answered_by(node, sub_id).get(i, [])) == both
                    ),
                    DELIVERY_TIMEOUT_S,
                    f"both deliveries of interval {interval} listed",
                )
            (count,) = rpc.call(consumer, ANSWER_COUNT, sub_id, interval)
            assert count == REDUNDANCY


def test_a_node_sent_the_request_after_another_created_the_subscription_still_answers(
    rpc: Rpc, delegated_consumer: str, devnode: Devnode, tmp_path: Path
) -> None:
    """The same signed request reaches the second node only once the first node's delivery has
    created the subscription: the second node still answers interval 1 with the request's data
    (deliverComputeDelegatee reuses the subscription), as Infernet Node does; the consumer has
    no input of its own for that interval."""
    consumer = delegated_consumer
    second = second_node(devnode, tmp_path / "second")
    body = redundant_request(rpc, consumer, {"input": "late second node"})
    with running(devnode, second):
        assert devnode.request("POST", "/api/jobs", body) == (200, {})
        sub_id = wait_for(
            lambda: delegate_created_id(rpc, consumer, 1), DELIVERY_TIMEOUT_S, "created"
        )
        wait_for(
            lambda: rpc.call(consumer, ANSWER_COUNT, sub_id, 1)[0] == 1,
            DELIVERY_TIMEOUT_S,
            "the first node's answer",
        )
        assert second.request("POST", "/api/jobs", body) == (200, {})
        wait_for(
            lambda: rpc.call(consumer, ANSWER_COUNT, sub_id, 1)[0] == REDUNDANCY,
            DELIVERY_TIMEOUT_S,
            "the second node's answer to interval 1",
        )
        record = wait_for(
            lambda: _delivered(second, f"/api/delegations/{consumer}/1"),
            DELIVERY_TIMEOUT_S,
            "the second node's record delivered",
        )
        assert record["subscription_id"] == sub_id


def _delivered(node: Devnode, path: str) -> dict[str, Any] | None:
    status, record = node.get(path)
    assert status == 200, record
    return dict(record) if record["state"] == "delivered" else None
