"""Delegated subscriptions: POST /api/jobs {subscription, signature, data} on a real anvil."""

from __future__ import annotations

from typing import Any

import pytest
from chain_harness import running
from hf_infernet_stack.accounts import CONTAINER_ID
from hf_infernet_stack.accounts import SECOND_NODE_KEY
from hf_infernet_stack.accounts import SIGNER_KEY
from hf_infernet_stack.consumers import ANSWER_COUNT
from hf_infernet_stack.consumers import Actor
from hf_infernet_stack.consumers import delegate_created_id
from hf_infernet_stack.delegation import signed_delegated_request as delegated_request
from hf_infernet_stack.devnode import Devnode
from hf_infernet_stack.processes import free_port
from hf_infernet_stack.processes import wait_for
from hf_infernet_stack.rpc import Rpc

DELIVERY_TIMEOUT_S = 30.0
EXPIRY_MARGIN_S = 3_600
PERIOD_S = 60


def answers(rpc: Rpc, consumer: str, sub_id: int, interval: int) -> int:
    (count,) = rpc.call(consumer, ANSWER_COUNT, sub_id, interval)
    return int(count)


def test_delegated_request_is_created_and_delivered_once_even_when_replayed(
    rpc: Rpc, delegated_consumer: str, devnode: Devnode
) -> None:
    now = rpc.block()["timestamp"]
    body = delegated_request(
        SIGNER_KEY,
        delegated_consumer,
        nonce=1,
        expiry=now + EXPIRY_MARGIN_S,
        data={"input": "hello"},
    )
    with running(devnode):
        status, answer = devnode.request("POST", "/api/jobs", body)
        assert (status, answer) == (200, {})
        sub_id = wait_for(
            lambda: delegate_created_id(rpc, delegated_consumer, 1),
            DELIVERY_TIMEOUT_S,
            "subscription created",
        )
        devnode.wait_delivered(sub_id, 1, DELIVERY_TIMEOUT_S)
        assert answers(rpc, delegated_consumer, sub_id, 1) == 1
        status, view = devnode.get(f"/api/delegations/{delegated_consumer}/1")
        assert status == 200
        assert (view["state"], view["subscription_id"], view["interval"]) == (
            "delivered",
            sub_id,
            1,
        )
        assert view["tx_hash"] == devnode.subscription(sub_id)["last"]["tx_hash"]
        assert view["containers"] == [CONTAINER_ID]
        sent = rpc.transactions_from(devnode.address)

        # The same signed request again: the nonce is used, the interval answered.
        status, answer = devnode.request("POST", "/api/jobs", body)
        assert (status, answer) == (200, {})
        rpc.advance(1)
        block = rpc.block()["number"]
        wait_for(lambda: devnode.sees_block(block), DELIVERY_TIMEOUT_S, "node at head")
        assert rpc.transactions_from(devnode.address) == sent
        assert answers(rpc, delegated_consumer, sub_id, 1) == 1
        # the replay did not overwrite what happened to the request
        assert devnode.get(f"/api/delegations/{delegated_consumer.lower()}/1")[1] == view


@pytest.mark.parametrize(
    ("key", "nonce", "expiry_offset", "field", "error"),
    [
        pytest.param(SIGNER_KEY, 2, -1, "signature.expiry", "SignatureExpired", id="expired"),
        pytest.param(
            SECOND_NODE_KEY, 3, EXPIRY_MARGIN_S, "signature", "SignerMismatch", id="wrong-signer"
        ),
    ],
)
def test_bad_signature_is_refused_with_400_and_nothing_is_created(
    rpc: Rpc,
    delegated_consumer: str,
    devnode: Devnode,
    key: str,
    nonce: int,
    expiry_offset: int,
    field: str,
    error: str,
) -> None:
    now = rpc.block()["timestamp"]
    body = delegated_request(
        key, delegated_consumer, nonce=nonce, expiry=now + expiry_offset, data={"input": "bad"}
    )
    with running(devnode):
        status, answer = devnode.request("POST", "/api/jobs", body)
    assert status == 400
    assert answer["field"] == field
    assert error in answer["error"]
    assert delegate_created_id(rpc, delegated_consumer, nonce) == 0


def test_owner_without_contract_code_is_refused_with_400_naming_the_owner(
    rpc: Rpc, signer: Actor, devnode: Devnode
) -> None:
    now = rpc.block()["timestamp"]
    # the signer's own account: an EOA, whose eth_call answers are empty
    body = delegated_request(
        SIGNER_KEY, signer.address, nonce=1, expiry=now + EXPIRY_MARGIN_S, data={"input": "x"}
    )
    with running(devnode):
        status, answer = devnode.request("POST", "/api/jobs", body)
        assert status == 400
        assert answer["field"] == "subscription.owner"
        assert "no contract code" in answer["error"]
        # the node is unharmed: the same request again gets the same answer
        assert devnode.request("POST", "/api/jobs", body)[0] == 400


def test_recurring_delegated_subscription_continues_through_sync(
    rpc: Rpc, delegated_consumer: str, devnode: Devnode
) -> None:
    now = rpc.block()["timestamp"]
    body = delegated_request(
        SIGNER_KEY,
        delegated_consumer,
        nonce=4,
        expiry=now + EXPIRY_MARGIN_S,
        data={"input": "tick"},
        period=PERIOD_S,
        frequency=2,
        active_at=now,
    )
    with running(devnode):
        assert devnode.request("POST", "/api/jobs", body)[0] == 200
        sub_id = wait_for(
            lambda: delegate_created_id(rpc, delegated_consumer, 4),
            DELIVERY_TIMEOUT_S,
            "subscription created",
        )
        devnode.wait_delivered(sub_id, 1, DELIVERY_TIMEOUT_S)
        rpc.advance(PERIOD_S)
        devnode.wait_delivered(sub_id, 2, DELIVERY_TIMEOUT_S)
        assert answers(rpc, delegated_consumer, sub_id, 2) == 1


def test_failed_delegated_request_shows_why_through_the_devnode(
    rpc: Rpc, delegated_consumer: str, devnode: Devnode
) -> None:
    devnode.containers = {CONTAINER_ID: f"http://127.0.0.1:{free_port()}"}  # nobody listens
    now = rpc.block()["timestamp"]
    body = delegated_request(
        SIGNER_KEY, delegated_consumer, nonce=5, expiry=now + EXPIRY_MARGIN_S, data={"input": "x"}
    )
    sent = rpc.transactions_from(devnode.address)
    with running(devnode):
        assert devnode.request("POST", "/api/jobs", body)[0] == 200
        path = f"/api/delegations/{delegated_consumer}/5"

        def given_up() -> dict[str, Any] | None:
            view: dict[str, Any] = devnode.get(path)[1]
            return view if view["state"] == "failed" else None

        view = wait_for(given_up, DELIVERY_TIMEOUT_S, "delegated request given up")
        assert (view["subscription_id"], view["tx_hash"], view["attempts"]) == (None, None, 3)
        assert view["reason"] == "container failed"
        assert CONTAINER_ID in view["container_error"]
        assert "cannot reach" in view["container_error"]
        # the route names what is wrong with a bad key, and what it does not know
        assert devnode.get("/api/delegations/0x1234/5")[1]["field"] == "owner"
        assert devnode.get(f"/api/delegations/{delegated_consumer}/-1")[1]["field"] == "nonce"
        # digits int() refuses (a superscript two, 5,000 digits) are named 400s, not 500s
        for nonce in ("%C2%B2", "1" * 5_000):
            status, refused = devnode.get(f"/api/delegations/{delegated_consumer}/{nonce}")
            assert (status, refused["field"]) == (400, "nonce")
        status, missing = devnode.get(f"/api/delegations/{delegated_consumer}/6")
        assert (status, missing["field"]) == (404, "nonce")
    assert rpc.transactions_from(devnode.address) == sent
    assert delegate_created_id(rpc, delegated_consumer, 5) == 0


def test_a_delegated_delivery_waiting_for_its_block_counts_in_flight(
    rpc: Rpc, delegated_consumer: str, devnode: Devnode
) -> None:
    """Broadcast and not mined yet, a delegated delivery is in flight like an ordinary one
    (the node's in-flight gauge, which the explorer and the benches read), until it settles."""
    now = rpc.block()["timestamp"]
    body = delegated_request(
        SIGNER_KEY, delegated_consumer, nonce=6, expiry=now + EXPIRY_MARGIN_S, data={"input": "w"}
    )
    path = f"/api/delegations/{delegated_consumer}/6"
    with running(devnode):
        rpc("evm_setAutomine", False)
        try:
            assert devnode.request("POST", "/api/jobs", body)[0] == 200
            wait_for(lambda: devnode.get(path)[1]["state"] == "sent", DELIVERY_TIMEOUT_S, "sent")
            wait_for(
                lambda: devnode.metric("devnode_chain_deliveries_in_flight") == 1,
                DELIVERY_TIMEOUT_S,
                "the sent delegated delivery counted in flight",
            )
            assert devnode.metric("devnode_chain_delegations_pending") == 1
        finally:
            rpc("evm_setAutomine", True)
        rpc("evm_mine")
        sub_id = wait_for(
            lambda: delegate_created_id(rpc, delegated_consumer, 6),
            DELIVERY_TIMEOUT_S,
            "subscription created",
        )
        devnode.wait_delivered(sub_id, 1, DELIVERY_TIMEOUT_S)
        assert devnode.get(path)[1]["state"] == "delivered"
        assert devnode.metric("devnode_chain_deliveries_in_flight") == 0
        assert devnode.metric("devnode_chain_delegations_pending") == 0
