"""Ritual's node simulates every delivery with a placeholder output before running the container.

It eth_calls deliverCompute with an empty input, 32 zero bytes as output and an empty proof; a
consumer that reverts on it costs every job a logged error and three retries. The HF consumers
record such an output as malformed instead: the simulation succeeds, and mined, the delivery
succeeds and is recorded, next to the devnode's real answer.
"""

from __future__ import annotations

import pytest
from hf_infernet_stack.accounts import NODE_ADDRESS
from hf_infernet_stack.accounts import USER_ADDRESS
from hf_infernet_stack.accounts import ZERO_ADDRESS
from hf_infernet_stack.chain_flows import ChainFlows
from hf_infernet_stack.chain_flows import ChainSetup
from hf_infernet_stack.chain_flows import deploy_consumers
from hf_infernet_stack.codec import HFTaskId
from hf_infernet_stack.rest import NodeREST
from web3 import Web3
from web3.exceptions import ContractCustomError
from web3.logs import DISCARD

# anvil #4: a node of its own, so the devnode (anvil #1) still answers the interval
PLACEHOLDER_NODE = "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65"
# anvil #5: a node the consumers never allowed
STRANGER = "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc"
PLACEHOLDER_OUTPUT = bytes(32)
TWO_NODES = 2
ONE_NODE = 1
# Allowlist.NodeNotAllowed() (infernet-sdk's pattern/Allowlist.sol)
NODE_NOT_ALLOWED = "0x42764946"


@pytest.fixture
def chain(w3: Web3, node: NodeREST) -> ChainFlows:
    # the consumers allow the devnode and the placeholder's own node, not the stranger
    setup = ChainSetup(nodes=(NODE_ADDRESS, PLACEHOLDER_NODE))
    return ChainFlows(w3, node, deploy_consumers(w3, setup), setup)


def test_placeholder_delivery_is_simulated_and_mined_without_revert(chain: ChainFlows):
    consumer = chain.consumer("HFCallbackConsumer")
    call = consumer.functions.requestCompute(
        int(HFTaskId.SUMMARIZATION), "", "a text to summarise", TWO_NODES
    )
    receipt = chain.transact(call, USER_ADDRESS)
    (event,) = consumer.events.ComputeRequested().process_receipt(receipt, errors=DISCARD)
    sub_id = event["args"]["subscriptionId"]
    placeholder = chain.coordinator.functions.deliverCompute(
        sub_id, 1, b"", PLACEHOLDER_OUTPUT, b"", ZERO_ADDRESS
    )

    # eth_call at the request's block, as Ritual's node does before running the container
    # (web3 raises ContractCustomError if the consumer reverts)
    placeholder.call({"from": PLACEHOLDER_NODE}, block_identifier=receipt["blockNumber"])
    mined = chain.transact(placeholder, PLACEHOLDER_NODE)
    answer = chain.wait_answer(consumer, sub_id, 1)

    assert mined["status"] == 1
    assert consumer.functions.malformedCount(sub_id, 1).call() == 1
    ((node, _redundancy),) = consumer.functions.getMalformed(sub_id, 1).call()
    assert node == PLACEHOLDER_NODE
    assert answer[3]  # the devnode's summary, recorded as the interval's answer


def test_a_strangers_delivery_is_refused_and_the_nodes_answer_kept(chain: ChainFlows):
    consumer = chain.consumer("HFCallbackConsumer")
    call = consumer.functions.requestCompute(
        int(HFTaskId.SUMMARIZATION), "", "a text to summarise", ONE_NODE
    )
    receipt = chain.transact(call, USER_ADDRESS)
    (event,) = consumer.events.ComputeRequested().process_receipt(receipt, errors=DISCARD)
    sub_id = event["args"]["subscriptionId"]
    forged = chain.coordinator.functions.deliverCompute(
        sub_id, 1, b"", PLACEHOLDER_OUTPUT, b"", ZERO_ADDRESS
    )

    # at the request's block, before the devnode answered: the only slot is still free
    with pytest.raises(ContractCustomError) as refused:
        forged.call({"from": STRANGER}, block_identifier=receipt["blockNumber"])
    answer = chain.wait_answer(consumer, sub_id, 1)

    assert NODE_NOT_ALLOWED in str(refused.value)
    assert answer[1] == NODE_ADDRESS
    assert answer[3]  # the devnode's summary
    assert consumer.functions.malformedCount(sub_id, 1).call() == 0
