"""Flows 2-4 on the chain: callback, direct recurring subscription, delegated subscription.

Each test deploys fresh consumers. Answers are read back three ways and must agree: what the
consumer stored (HFAnswerBook.getAnswer), what the delivery transaction carried (its calldata,
decoded with eth-abi), and what the service answers for the same input when called directly.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_abi import encode
from hf_infernet_stack.accounts import PROOF_CONTAINER_ID
from hf_infernet_stack.accounts import ZERO_ADDRESS
from hf_infernet_stack.accounts import container_id_hash
from hf_infernet_stack.chain_flows import DELIVERY_DEADLINE_S
from hf_infernet_stack.chain_flows import ChainFlows
from hf_infernet_stack.chain_flows import deliveries
from hf_infernet_stack.chain_flows import deploy_consumers
from hf_infernet_stack.codec import PROMPTS
from hf_infernet_stack.codec import TASKS
from hf_infernet_stack.codec import HFTaskId
from hf_infernet_stack.codec import answer_from_contract
from hf_infernet_stack.codec import offchain_data
from hf_infernet_stack.forge import artifact
from hf_infernet_stack.forge import deploy_contract
from hf_infernet_stack.processes import wait_for
from hf_infernet_stack.rest import Http
from hf_infernet_stack.rest import NodeHTTPError
from hf_infernet_stack.rest import NodeREST
from reference import CLIENT_TIMEOUT_S
from reference import call_service
from reference import client_bin
from reference import onchain_hex
from reference import service_answer
from target import Target
from web3 import Web3
from web3.exceptions import ContractCustomError
from web3.logs import DISCARD

ids = pytest.mark.parametrize("task", TASKS, ids=lambda t: t.name.lower())


@pytest.fixture
def chain(target: Target, node: NodeREST) -> ChainFlows:
    setup = target.chain_setup()
    return ChainFlows(target.w3, node, deploy_consumers(target.w3, setup), setup)


def test_the_stacks_own_consumers_answer(target: Target, node: NodeREST):
    """The sample consumers the stack came with, or ones deployed here when it has none."""
    setup = target.chain_setup()
    chain = ChainFlows(target.w3, node, target.sample_consumers(), setup)
    task = HFTaskId.TEXT_CLASSIFICATION

    result = chain.callback(task, PROMPTS[task])

    assert result.answer == service_answer(target, task, 0, onchain_hex(task, PROMPTS[task]))


@ids
def test_callback_answer_is_delivered_and_decoded(
    target: Target, chain: ChainFlows, task: HFTaskId
):
    result = chain.callback(task, PROMPTS[task])

    assert result.answer == service_answer(target, task, 0, onchain_hex(task, PROMPTS[task]))


@ids
def test_recurring_subscription_delivers_every_interval_once(
    target: Target, chain: ChainFlows, task: HFTaskId
):
    target.require_recurring()
    result = chain.recurring(task, PROMPTS[task], intervals=2)

    sub_id = result.facts["subscription"]
    consumer = chain.consumer("HFSubscriptionConsumer")
    for interval in (1, 2):
        text = consumer.functions.inputForInterval(sub_id, interval).call()
        stored = consumer.functions.getAnswer(sub_id, interval).call()
        expected = service_answer(target, task, 0, onchain_hex(task, text))
        assert answer_from_contract(task, stored) == expected
    delivered = deliveries(chain.w3, chain.coordinator, sub_id)
    assert sorted(d.interval for d in delivered) == [1, 2]


@ids
def test_delegated_subscription_signed_off_chain(target: Target, chain: ChainFlows, task: HFTaskId):
    result = chain.delegated(task, PROMPTS[task])

    expected = service_answer(target, task, 1, offchain_data(task, PROMPTS[task]))
    assert result.answer == expected


def test_docs_eth_abi_input_is_what_the_consumer_sends(target: Target, chain: ChainFlows):
    """eth_abi.encode(["uint8","string","string"], [HFTaskId.TEXT_GENERATION, "", prompt])."""
    from eth_abi import encode

    prompt = "Is the sky blue during a clear day?"
    data = encode(["uint8", "string", "string"], [HFTaskId.TEXT_GENERATION, "", prompt])

    result = chain.callback(HFTaskId.TEXT_GENERATION, prompt)

    consumer = chain.consumer("HFCallbackConsumer")
    sub_id = result.facts["subscription"]
    assert consumer.functions.getContainerInputs(sub_id, 1, 0, target.node_address).call() == data
    assert result.answer == service_answer(target, HFTaskId.TEXT_GENERATION, 0, data.hex())


def test_docs_style_consumer_receives_its_completion(target: Target, chain: ChainFlows):
    """HFExampleConsumer: a CallbackConsumer written as Infernet's documentation writes one."""
    example = deploy_contract(
        chain.w3,
        "HFExampleConsumer",
        chain.setup.registry,
        list(chain.setup.nodes),
        sender=chain.setup.deployer,
    )
    prompt = "Is the sky blue during a clear day?"

    receipt = chain.transact(example.functions.generate(prompt), chain.setup.user)

    (created,) = chain.coordinator.events.SubscriptionCreated().process_receipt(receipt)
    sub_id = created["args"]["id"]
    text = wait_for(
        lambda: example.functions.completions(sub_id).call(),
        DELIVERY_DEADLINE_S,
        "completion",
    )
    expected = service_answer(
        target, HFTaskId.TEXT_GENERATION, 0, onchain_hex(HFTaskId.TEXT_GENERATION, prompt)
    )
    assert text == expected.text


def test_cli_sub_with_params_json(target: Target, chain: ChainFlows, tmp_path: Path):
    """`infernet-client sub --params params.json --key ... -i input.json`, as in Infernet's docs."""
    consumer = chain.consumer("HFDelegatedConsumer")
    task = HFTaskId.SUMMARIZATION
    nonce = 7
    params = {
        "owner": consumer.address,
        "active_at": chain.chain_time(),
        "period": 0,
        "frequency": 1,
        "redundancy": 1,
        "containers": [target.container_id],
        "lazy": False,
        "verifier": ZERO_ADDRESS,
        "payment_amount": 0,
        "payment_token": ZERO_ADDRESS,
        "wallet": ZERO_ADDRESS,
    }
    (tmp_path / "params.json").write_text(json.dumps(params))
    (tmp_path / "input.json").write_text(json.dumps(offchain_data(task, PROMPTS[task])))
    (tmp_path / "key").write_text(chain.setup.signer_key)
    argv = [
        str(client_bin() / "infernet-client"), "sub",
        "--url", target.node_url, "--rpc-url", target.rpc_url,
        "--address", chain.setup.coordinator,
        "--params", "params.json", "--key", "key", "-i", "input.json",
        "--expiry", str(chain.chain_time() + 3600), "--nonce", str(nonce),
    ]  # fmt: skip

    done = subprocess.run(
        argv, cwd=tmp_path, capture_output=True, text=True, timeout=CLIENT_TIMEOUT_S, check=False
    )

    assert done.returncode == 0, done.stderr
    assert "Success: Subscription created." in done.stdout
    sub_id = chain.wait_delegated_id(consumer.address, nonce)
    stored = chain.wait_answer(consumer, sub_id, 1)
    expected = service_answer(target, task, 1, offchain_data(task, PROMPTS[task]))
    assert answer_from_contract(task, stored) == expected


def test_python_client_delegated_subscription(target: Target, chain: ChainFlows):
    """infernet_client.NodeClient.request_delegated_subscription, unchanged 1.4.0 code."""
    consumer = chain.consumer("HFDelegatedConsumer")
    task = HFTaskId.TOKEN_CLASSIFICATION
    nonce = 11
    program = (
        "import asyncio, json, sys\n"
        "from infernet_client import NodeClient\n"
        "from infernet_client.chain.rpc import RPC\n"
        "from infernet_client.chain.subscription import Subscription\n"
        "node, rpc_url, coordinator, owner, key, expiry, nonce, data, container = sys.argv[1:]\n"
        "zero = '0x' + '0' * 40\n"
        "sub = Subscription(owner, 0, 0, 1, 1, [container], False, zero, 0, zero, zero)\n"
        "rpc = RPC(rpc_url)\n"
        "asyncio.run(NodeClient(node).request_delegated_subscription(\n"
        "    sub, rpc, rpc.get_checksum_address(coordinator), int(expiry), int(nonce), key,\n"
        "    json.loads(data)))\n"
    )
    argv = [
        str(client_bin() / "python"), "-c", program,
        target.node_url, target.rpc_url, chain.setup.coordinator, consumer.address,
        chain.setup.signer_key, str(chain.chain_time() + 3600), str(nonce),
        json.dumps(offchain_data(task, PROMPTS[task])), target.container_id,
    ]  # fmt: skip

    done = subprocess.run(
        argv, capture_output=True, text=True, timeout=CLIENT_TIMEOUT_S, check=False
    )

    assert done.returncode == 0, done.stderr
    sub_id = chain.wait_delegated_id(consumer.address, nonce)
    stored = chain.wait_answer(consumer, sub_id, 1)
    expected = service_answer(target, task, 1, offchain_data(task, PROMPTS[task]))
    assert answer_from_contract(task, stored) == expected


# ---------------------------------------------------------------- error paths


def test_consumer_refuses_an_unsupported_task_before_any_node_sees_it(chain: ChainFlows):
    consumer = chain.consumer("HFCallbackConsumer")
    selector = Web3.keccak(text="UnsupportedTask(uint8)")[:4]

    with pytest.raises(ContractCustomError) as refused:
        consumer.functions.requestCompute(int(HFTaskId.UNSET), "", "hi", 1).call(
            {"from": chain.setup.user}
        )

    assert str(refused.value.data).startswith("0x" + selector.hex())


@pytest.fixture
def failing_backend(target: Target) -> Iterator[None]:
    """The offline backend answers 400 to the next inference requests (its test control)."""
    backend = target.description.backend_url
    if backend is None:
        pytest.skip("the stack describes no offline backend whose faults the suite can control")

    def control(method: str, body: Any = None) -> None:
        answer = Http(backend).request(method, "/_stand-in/faults", body)
        assert answer.status < 300, answer.body

    control("POST", {"status": 400, "times": 100})
    try:
        yield
    finally:
        control("DELETE")


@pytest.mark.devnode("reads the devnode's verdict from its subscription status route")
@pytest.mark.usefixtures("failing_backend")
def test_failed_inference_is_not_delivered_and_the_devnode_says_why(chain: ChainFlows):
    consumer = chain.consumer("HFCallbackConsumer")
    call = consumer.functions.requestCompute(int(HFTaskId.TEXT_CLASSIFICATION), "", "hi", 1)
    receipt = chain.transact(call, chain.setup.user)
    (event,) = consumer.events.ComputeRequested().process_receipt(receipt, errors=DISCARD)
    sub_id = event["args"]["subscriptionId"]

    def settled() -> Any:
        try:
            last = chain.node.subscription_status(sub_id).get("last")
        except NodeHTTPError as e:
            if e.status == 404:  # not synced yet
                return None
            raise
        return last if last and last["state"] in ("skipped", "failed") else None

    last = wait_for(settled, DELIVERY_DEADLINE_S, f"devnode verdict on {sub_id}")

    assert last["state"] == "failed"
    assert "backend answered 400" in last["container_error"]
    assert not consumer.functions.hasAnswer(sub_id, 1).call()
    assert deliveries(chain.w3, chain.coordinator, sub_id) == []


@pytest.mark.devnode(
    "Infernet Node 1.4 accepts a wrongly signed delegated request and drops it silently later"
)
def test_delegated_request_with_a_wrong_signer_gets_400(chain: ChainFlows):
    consumer = chain.consumer("HFDelegatedConsumer")
    stranger = "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a"  # anvil #5
    sub, signature = chain.signed_request(consumer.address, key=stranger)
    data = offchain_data(HFTaskId.TEXT_CLASSIFICATION, "hi")

    with pytest.raises(NodeHTTPError) as refused:
        chain.node.request_delegated(sub.rest(), signature, data)

    assert refused.value.status == 400
    assert "signature" in json.dumps(refused.value.body)


def deploy_verifier(chain: ChainFlows) -> str:
    """MockAtomicVerifier (contracts/test/mocks) from its out/ artifact: a real verifier address."""
    art = artifact("MockAtomicVerifier", "MockVerifier")
    factory = chain.w3.eth.contract(abi=art["abi"], bytecode=art["bytecode"]["object"])
    tx = factory.constructor(chain.setup.coordinator).transact({"from": chain.setup.deployer})
    receipt = chain.w3.eth.wait_for_transaction_receipt(tx, timeout=60)
    assert receipt["status"] == 1
    return str(receipt["contractAddress"])


@pytest.mark.devnode("reads the devnode's verdict from its delegation status route")
def test_delegated_proof_request_is_not_delivered_and_the_devnode_says_why(
    target: Target, chain: ChainFlows
):
    """A signed subscription with a verifier: only a generates_proofs container may take it
    (the guardian), and when that container refuses (the service makes no proofs) nothing is
    delivered and the service's 400 shows through the devnode."""
    consumer = chain.consumer("HFDelegatedConsumer")
    target.require_container(PROOF_CONTAINER_ID)
    verifier = deploy_verifier(chain)
    data = offchain_data(HFTaskId.TEXT_GENERATION, "prove it")

    # the guardian: a container without generates_proofs never sees a verifier subscription
    sub, signature = chain.signed_request(consumer.address, verifier=verifier)
    with pytest.raises(NodeHTTPError) as refused:
        chain.node.request_delegated(sub.rest(), signature, data)
    assert refused.value.status == 405
    assert refused.value.body["error"] == "Container does not generate proof"

    # the proof container takes it, the service refuses it
    sub, signature = chain.signed_request(
        consumer.address,
        verifier=verifier,
        container_id=container_id_hash(PROOF_CONTAINER_ID),
    )
    nonce = signature["nonce"]
    chain.node.request_delegated(sub.rest(), signature, data)

    def settled() -> Any:
        view = chain.node.delegation_status(consumer.address, nonce)
        return view if view["state"] in ("delivered", "skipped", "failed") else None

    view = wait_for(settled, DELIVERY_DEADLINE_S, f"devnode verdict on nonce {nonce}")

    status, error = call_service(
        target, {"source": 1, "destination": 0, "data": data, "requires_proof": True}
    )
    assert status == 400
    assert view["state"] == "failed"
    assert view["containers"] == [PROOF_CONTAINER_ID]
    assert view["subscription"]["verifier"] == verifier
    assert (view["subscription_id"], view["tx_hash"]) == (None, None)
    assert view["reason"] == "container failed"
    assert PROOF_CONTAINER_ID in view["container_error"]
    assert "requires_proof" in view["container_error"]
    assert error["description"] in view["container_error"]
    key = Web3.keccak(encode(["address", "uint32"], [consumer.address, nonce]))
    assert chain.coordinator.functions.delegateCreatedIds(key).call() == 0


@pytest.mark.own_stack("stops the devnode and starts it again")
def test_devnode_restart_loses_nothing_and_duplicates_nothing(target: Target, chain: ChainFlows):
    stack = target.stack
    assert stack is not None
    consumer = chain.consumer("HFCallbackConsumer")
    before = chain.callback(HFTaskId.TEXT_CLASSIFICATION, "delivered before the restart")

    def request(text: str) -> Any:
        call = consumer.functions.requestCompute(int(HFTaskId.SUMMARIZATION), "", text, 1)
        return chain.transact(call, chain.setup.user)

    # in flight when the devnode stops (SIGINT right after the requests), then while it is down
    receipts = [request(f"in flight {i}") for i in range(2)]
    stack.stop_component("devnode")
    try:
        receipts += [request(f"while down {i}") for i in range(2)]
    finally:
        stack.start_node()
    waiting = [
        e["args"]["subscriptionId"]
        for r in receipts
        for e in consumer.events.ComputeRequested().process_receipt(r, errors=DISCARD)
    ]
    for sub_id in waiting:
        chain.wait_answer(consumer, sub_id, 1)
    after = chain.callback(HFTaskId.TEXT_GENERATION, "requested after the restart")

    for sub_id in [before.facts["subscription"], *waiting, after.facts["subscription"]]:
        assert len(deliveries(chain.w3, chain.coordinator, sub_id)) == 1, sub_id
        assert consumer.functions.answerCount(sub_id, 1).call() == 1
