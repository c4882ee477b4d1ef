"""Redundancy 2 on a stack of two nodes (`make e2e-nodes`, or STACK= the description `make up
NODES=2` writes): callback, recurring and delegated subscriptions each answered by both nodes in
every interval, a third delivery refused by the Coordinator, Infernet's documented delegated
example as written (redundancy 2, period 3, frequency 2), and one node stopped mid-subscription
(docs/devnode.md, "Redundancy").

Skipped where the stack describes one node (the compose network's offline profile, `make e2e`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import replace
from typing import Any

import pytest
from eth_abi.abi import encode
from hf_infernet_stack.accounts import ZERO_ADDRESS
from hf_infernet_stack.chain_flows import DELIVERY_DEADLINE_S
from hf_infernet_stack.chain_flows import ChainFlows
from hf_infernet_stack.chain_flows import Delivery
from hf_infernet_stack.chain_flows import deliveries
from hf_infernet_stack.chain_flows import deploy_consumers
from hf_infernet_stack.codec import PROMPTS
from hf_infernet_stack.codec import HFTaskId
from hf_infernet_stack.codec import decode_delivered_output
from hf_infernet_stack.codec import offchain_data
from hf_infernet_stack.processes import wait_for
from hf_infernet_stack.rest import Http
from hf_infernet_stack.rest import NodeREST
from hf_infernet_stack.stack_config import node_name
from target import Target
from web3 import Web3
from web3.exceptions import ContractCustomError
from web3.logs import DISCARD

REDUNDANCY = 2
PERIOD_S = 60  # the recurring subscriptions' (chain time, moved)
# Infernet's documented delegated subscription: "2 nodes respond each time", every 3 s, twice
DOCS_PERIOD_S = 3
DOCS_FREQUENCY = 2
TASK = HFTaskId.TEXT_CLASSIFICATION
INTERVAL_COMPLETED = "0x" + Web3.keccak(text="IntervalCompleted()")[:4].hex()


@dataclass(frozen=True)
class Nodes:
    """The first two nodes of the stack: their REST faces and the accounts they deliver from."""

    rest: tuple[NodeREST, ...]
    urls: tuple[str, ...]
    addresses: tuple[str, ...]


@pytest.fixture(scope="module")
def nodes(target: Target) -> Nodes:
    urls = target.description.node_urls[:REDUNDANCY]
    if len(urls) < REDUNDANCY:
        pytest.skip(
            f"the stack describes {len(urls)} node; redundancy {REDUNDANCY} needs two "
            "(make e2e-nodes, or a `make up NODES=2` stack's description)"
        )
    rest = tuple(NodeREST(url) for url in urls)
    addresses = tuple(Web3.to_checksum_address(r.info()["chain"]["address"]) for r in rest)
    assert len(set(addresses)) == REDUNDANCY, f"the nodes share an account: {addresses}"
    return Nodes(rest, urls, addresses)


@pytest.fixture
def chain(target: Target, nodes: Nodes) -> ChainFlows:
    """Fresh consumers that take deliveries from both nodes."""
    setup = replace(target.chain_setup(), nodes=nodes.addresses)
    return ChainFlows(target.w3, nodes.rest[0], deploy_consumers(target.w3, setup), setup)


def interval_deliveries(chain: ChainFlows, sub_id: int, interval: int) -> list[Delivery]:
    return [d for d in deliveries(chain.w3, chain.coordinator, sub_id) if d.interval == interval]


def wait_both(chain: ChainFlows, sub_id: int, interval: int) -> list[Delivery]:
    """Both deliveries of an interval, as the Coordinator logged them (SubscriptionFulfilled)."""

    def both() -> list[Delivery] | None:
        found = interval_deliveries(chain, sub_id, interval)
        return found if len(found) >= REDUNDANCY else None

    found: list[Delivery] = wait_for(
        both, DELIVERY_DEADLINE_S, f"two deliveries of subscription {sub_id} interval {interval}"
    )
    return found


def redundancy_count(chain: ChainFlows, sub_id: int, interval: int) -> int:
    """The Coordinator's count for the interval, keyed keccak256(abi.encode(uint32 id, uint32
    interval)) (docs/contracts.md)."""
    key = Web3.keccak(encode(["uint32", "uint32"], [sub_id, interval]))
    return int(chain.coordinator.functions.redundancyCount(key).call())


def assert_answered_by_both(
    chain: ChainFlows, nodes: Nodes, consumer: Any, sub_id: int, interval: int
) -> None:
    both = wait_both(chain, sub_id, interval)
    assert sorted(d.node for d in both) == sorted(nodes.addresses)
    # the same service behind both nodes: the same answer twice
    first, second = (decode_delivered_output(TASK, d.output) for d in both)
    assert first == second
    assert redundancy_count(chain, sub_id, interval) == REDUNDANCY
    assert consumer.functions.answerCount(sub_id, interval).call() == REDUNDANCY
    # a third delivery, from an account that is neither node: the interval is complete
    coordinator = chain.coordinator.functions
    third = coordinator.deliverCompute(sub_id, interval, b"", b"", b"", ZERO_ADDRESS)
    with pytest.raises(ContractCustomError) as refused:
        third.call({"from": chain.setup.user})
    assert str(refused.value.data).startswith(INTERVAL_COMPLETED)


def test_callback_with_redundancy_2_is_answered_by_both_nodes(chain: ChainFlows, nodes: Nodes):
    consumer = chain.consumer("HFCallbackConsumer")

    receipt = chain.transact(
        consumer.functions.requestCompute(int(TASK), "", PROMPTS[TASK], REDUNDANCY),
        chain.setup.user,
    )

    (event,) = consumer.events.ComputeRequested().process_receipt(receipt, errors=DISCARD)
    assert_answered_by_both(chain, nodes, consumer, int(event["args"]["subscriptionId"]), 1)


def test_recurring_subscription_with_redundancy_2_is_answered_by_both_nodes_each_interval(
    target: Target, chain: ChainFlows, nodes: Nodes
):
    target.require_recurring()
    consumer = chain.consumer("HFSubscriptionConsumer")
    period = chain.setup.period(PERIOD_S)
    inputs = [f"{PROMPTS[TASK]} ({k})" for k in (1, 2)]

    receipt = chain.transact(
        consumer.functions.startSubscription(int(TASK), "", inputs, 2, period, REDUNDANCY, False),
        chain.setup.deployer,
    )

    (event,) = consumer.events.SubscriptionStarted().process_receipt(receipt, errors=DISCARD)
    sub_id = int(event["args"]["subscriptionId"])
    for interval in (1, 2):
        if chain.setup.moves_time:
            chain.advance(period)
        assert_answered_by_both(chain, nodes, consumer, sub_id, interval)


@pytest.fixture
def frozen_chain_time(target: Target, chain: ChainFlows) -> Iterator[None]:
    """Chain time stands still between the moves a test makes (anvil: every new block keeps the
    last timestamp), so a 3-second interval is not over before both nodes answered it."""
    if not (target.on_anvil and target.description.automine):
        pytest.skip("a 3 s period is only deterministic where chain time is ours (anvil, automine)")
    provider: Any = chain.w3.provider
    provider.make_request("anvil_setBlockTimestampInterval", [0])
    try:
        yield
    finally:
        provider.make_request("anvil_removeBlockTimestampInterval", [])


def move_chain_time(chain: ChainFlows, seconds: int) -> None:
    """Next block `seconds` later (under frozen chain time, evm_increaseTime has no effect)."""
    provider: Any = chain.w3.provider
    provider.make_request("evm_setNextBlockTimestamp", [chain.chain_time() + seconds])
    provider.make_request("evm_mine", [])


@pytest.mark.usefixtures("frozen_chain_time")
def test_documented_delegated_example_gets_four_deliveries(chain: ChainFlows, nodes: Nodes):
    """Infernet's documented DelegateSubscription as written: redundancy 2 ("2 nodes respond
    each time"), period 3, frequency 2; the same signed request sent to both nodes, the second
    interval's input set on the consumer once the first delivery created the subscription."""
    consumer = chain.consumer("HFDelegatedConsumer")
    sub, signature = chain.signed_request(
        consumer.address,
        period=DOCS_PERIOD_S,
        frequency=DOCS_FREQUENCY,
        redundancy=REDUNDANCY,
    )
    data = offchain_data(TASK, PROMPTS[TASK])

    for node in nodes.rest:
        node.request_delegated(sub.rest(), signature, data)

    sub_id = chain.wait_delegated_id(consumer.address, signature["nonce"])
    assert_answered_by_both(chain, nodes, consumer, sub_id, 1)
    # interval 2 is read from the consumer, like any subscription's (docs/contracts.md)
    chain.transact(
        consumer.functions.setSubscriptionInput(sub_id, int(TASK), "", PROMPTS[TASK]),
        chain.setup.deployer,
    )
    move_chain_time(chain, DOCS_PERIOD_S)
    assert_answered_by_both(chain, nodes, consumer, sub_id, 2)
    every = deliveries(chain.w3, chain.coordinator, sub_id)
    assert sorted((d.interval, d.node) for d in every) == sorted(
        (interval, node) for interval in (1, 2) for node in nodes.addresses
    )


def explorer_rows(url: str, sub_id: int) -> dict[int, list[dict[str, Any]]]:
    """Interval -> the deliveries a node's explorer lists for it (every node's, from the chain)."""
    answer = Http(url, keep_alive=True).get(f"/api/explorer/subscriptions/{sub_id}")
    if answer.status == 404:  # not seen yet
        return {}
    assert answer.status == 200, answer.parsed()
    return {row["interval"]: row["nodes"] for row in answer.parsed()["deliveries"]}


def listed(url: str, sub_id: int, interval: int) -> list[tuple[str, bool]]:
    """(node, this_node) for each delivery the explorer at `url` lists for the interval."""
    rows = explorer_rows(url, sub_id).get(interval, [])
    return sorted((Web3.to_checksum_address(r["node"]), bool(r["this_node"])) for r in rows)


@pytest.mark.devnode("the explorer is the devnode's")
@pytest.mark.own_stack("stops and restarts the second devnode")
def test_a_stopped_node_leaves_the_interval_half_filled(
    target: Target, chain: ChainFlows, nodes: Nodes
):
    target.require_recurring()
    assert target.stack is not None
    stack = target.stack
    consumer = chain.consumer("HFSubscriptionConsumer")
    period = chain.setup.period(PERIOD_S)
    first, second = nodes.addresses
    first_url, second_url = nodes.urls
    receipt = chain.transact(
        consumer.functions.startSubscription(
            int(TASK), "", ["one", "two"], 2, period, REDUNDANCY, False
        ),
        chain.setup.deployer,
    )
    (event,) = consumer.events.SubscriptionStarted().process_receipt(receipt, errors=DISCARD)
    sub_id = int(event["args"]["subscriptionId"])
    chain.advance(period)
    assert_answered_by_both(chain, nodes, consumer, sub_id, 1)

    stack.stop_component(node_name(1))
    try:
        chain.advance(period)
        (only,) = wait_for(
            lambda: interval_deliveries(chain, sub_id, 2),
            DELIVERY_DEADLINE_S,
            "the running node's delivery of interval 2",
        )
        assert only.node == first
        assert redundancy_count(chain, sub_id, 2) == 1  # one of two
        assert consumer.functions.answerCount(sub_id, 2).call() == 1
        wait_for(
            lambda: listed(first_url, sub_id, 2) == [(first, True)],
            DELIVERY_DEADLINE_S,
            "the running node's explorer listing its own delivery of interval 2",
        )
        assert listed(first_url, sub_id, 1) == sorted([(first, True), (second, False)])
        chain.advance(period)  # the subscription is over while the second node is down
    finally:
        stack.start_node(1)
    # back, the second node reads back what happened meanwhile: interval 2 was the first's alone
    wait_for(
        lambda: listed(second_url, sub_id, 2) == [(first, False)],
        DELIVERY_DEADLINE_S,
        "the restarted node's explorer listing the other node's delivery of interval 2",
    )
    assert listed(second_url, sub_id, 1) == sorted([(first, False), (second, True)])
    assert redundancy_count(chain, sub_id, 2) == 1
