"""The four Infernet flows, driven the way a user drives them (REST, web3, eth-abi, EIP-712).

Shared by the demo (scripts/demo.py) and the e2e suite. Nothing here knows about processes:
give it URLs and addresses.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import asdict
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from eth_abi.abi import decode
from eth_abi.abi import encode
from infernet_devnode.chain.eip712 import sign_delegation
from infernet_devnode.chain.subscriptions import Subscription
from onchain import CHAIN_ID
from onchain import CONTAINER_ID
from onchain import DEPLOYER_ADDRESS
from onchain import PROTOCOL
from onchain import SIGNER_ADDRESS
from onchain import SIGNER_KEY
from onchain import artifact
from onchain import container_id_hash
from onchain import deploy_contract
from onchain import wait_for
from web3 import Web3
from web3.contract import Contract
from web3.logs import DISCARD as DISCARD

SCORE_SCALE = 1_000_000  # scores on-chain are int(score * 1e6) (spec: hf-service §1.4)
JOB_DEADLINE_S = 60.0
ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"


class HFTaskId(IntEnum):
    """Task ids, wire-compatible with infernet-ml's HFTaskId (DESIGN.md)."""

    UNSET = 0
    TEXT_GENERATION = 1
    TEXT_CLASSIFICATION = 2
    TOKEN_CLASSIFICATION = 3
    SUMMARIZATION = 4


TASKS = (
    HFTaskId.TEXT_GENERATION,
    HFTaskId.TEXT_CLASSIFICATION,
    HFTaskId.TOKEN_CLASSIFICATION,
    HFTaskId.SUMMARIZATION,
)

# One input per task, as in Infernet's own examples and tests (spec: hf-service §5 Tests).
PROMPTS = {
    HFTaskId.TEXT_GENERATION: "Is the sky blue during a clear day?",
    HFTaskId.TEXT_CLASSIFICATION: "Decentralizing AI using crypto is awesome!",
    HFTaskId.TOKEN_CLASSIFICATION: "Ritual makes AI x crypto a great combination!",
    HFTaskId.SUMMARIZATION: (
        "Infernet lets smart contracts request off-chain compute from a network of nodes. A "
        "consumer contract asks the Coordinator for a subscription, a node notices it, runs the "
        "requested container, and delivers the output back on-chain in a transaction, where the "
        "consumer's callback decodes and stores it."
    ),
}


def offchain_data(task: HFTaskId, text: str, model: str = "") -> dict[str, Any]:
    """The `data` of an off-chain job (spec: hf-service §2.3)."""
    field = "prompt" if task == HFTaskId.TEXT_GENERATION else "text"
    data: dict[str, Any] = {"task_id": int(task), field: text}
    if model:
        data["model"] = model
    return data


def onchain_input(task: int, model: str, text: str) -> bytes:
    """abi.encode(uint8 task, string model, string input), the consumers' request bytes."""
    return encode(["uint8", "string", "string"], [task, model, text])


# ---------------------------------------------------------------- answers


@dataclass(frozen=True)
class Answer:
    """A decoded inference result: text (tasks 1, 4) or labels with scores (tasks 2, 3)."""

    task: HFTaskId
    text: str | None = None
    labels: tuple[str, ...] = ()
    scores: tuple[float, ...] = ()

    def show(self) -> str:
        if self.text is not None:
            return repr(self.text)
        pairs = ", ".join(f"{lab} {s:.3f}" for lab, s in zip(self.labels, self.scores, strict=True))
        return f"[{pairs}]"


def decode_raw_output(task: HFTaskId, raw: bytes) -> Answer:
    """raw_output: abi.encode(string) for tasks 1 and 4, (string[], uint256[]) for 2 and 3."""
    if task in (HFTaskId.TEXT_GENERATION, HFTaskId.SUMMARIZATION):
        (text,) = decode(["string"], raw)
        return Answer(task, text=text)
    labels, scores = decode(["string[]", "uint256[]"], raw)
    return Answer(task, labels=tuple(labels), scores=tuple(s / SCORE_SCALE for s in scores))


def decode_delivered_output(task: HFTaskId, output: bytes) -> Answer:
    """The node delivers abi.encode(bytes raw_output, bytes processed_output) (DESIGN.md)."""
    raw, _processed = decode(["bytes", "bytes"], output)
    return decode_raw_output(task, raw)


def answer_from_offchain(task: HFTaskId, output: Any) -> Answer:
    """The service's off-chain `output` (HF's JSON shapes, spec: hf-service §2.4)."""
    if task == HFTaskId.TEXT_GENERATION:
        return Answer(task, text=output if isinstance(output, str) else output["generated_text"])
    if task == HFTaskId.SUMMARIZATION:
        return Answer(task, text=output["summary_text"])
    key = "label" if task == HFTaskId.TEXT_CLASSIFICATION else "entity_group"
    return Answer(
        task,
        labels=tuple(str(e[key]) for e in output),
        scores=tuple(float(e["score"]) for e in output),
    )


# ---------------------------------------------------------------- node REST (flow 1, flow 4)


class NodeHTTPError(Exception):
    """The node answered with a non-2xx status; carries the status and the JSON body."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"HTTP {status}: {body}")
        self.status = status
        self.body = body


@dataclass(frozen=True)
class NodeREST:
    """The Infernet node REST API (spec: node §2) over plain HTTP."""

    url: str

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(  # noqa: S310 (http URL of our own node)
            self.url + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310
                return json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as e:
            payload = e.read()
            try:
                parsed = json.loads(payload)
            except ValueError:
                parsed = payload.decode(errors="replace")
            raise NodeHTTPError(e.code, parsed) from None

    def health(self) -> Any:
        return self._call("GET", "/health")

    def info(self) -> Any:
        return self._call("GET", "/info")

    def request_job(
        self, data: dict[str, Any], container: str, requires_proof: bool = False
    ) -> str:
        body = {"containers": [container], "data": data, "requires_proof": requires_proof}
        job_id: str = self._call("POST", "/api/jobs", body)["id"]
        return job_id

    def job(self, job_id: str) -> dict[str, Any] | None:
        results = self._call("GET", f"/api/jobs?id={job_id}")
        return results[0] if results else None

    def wait_job(self, job_id: str, deadline_s: float = JOB_DEADLINE_S) -> dict[str, Any]:
        """Poll GET /api/jobs?id= until the job leaves "running"."""
        end = time.monotonic() + deadline_s
        delay = 0.02
        while True:
            job = self.job(job_id)
            if job is not None and job.get("status") != "running":
                return job
            if time.monotonic() > end:
                raise TimeoutError(f"job {job_id} still running after {deadline_s:.0f} s: {job}")
            time.sleep(delay)
            delay = min(delay * 2, 0.25)

    def request_delegated(
        self, subscription: dict[str, Any], signature: dict[str, int], data: dict[str, Any]
    ) -> Any:
        body = {"subscription": subscription, "signature": signature, "data": data}
        return self._call("POST", "/api/jobs", body)

    def subscription_status(self, sub_id: int) -> Any:
        """GET /api/subscriptions/{id}: the devnode's view of a subscription (extension)."""
        return self._call("GET", f"/api/subscriptions/{sub_id}")

    def delegation_status(self, owner: str, nonce: int) -> Any:
        """GET /api/delegations/{owner}/{nonce}: what became of a delegated request (extension)."""
        return self._call("GET", f"/api/delegations/{owner}/{nonce}")


# ---------------------------------------------------------------- delegated subscriptions (flow 4)


@dataclass(frozen=True)
class DelegatedSubscription:
    """The Subscription struct a delegated signer signs (spec: sdk §3.1, node §2.4 B)."""

    owner: str
    active_at: int
    period: int
    frequency: int
    redundancy: int
    container_id: bytes  # keccak256(abi.encode(string)), not the string
    lazy: bool = False
    verifier: str = ZERO_ADDRESS
    payment_amount: int = 0
    payment_token: str = ZERO_ADDRESS
    wallet: str = ZERO_ADDRESS

    def subscription(self) -> Subscription:
        """The devnode's Subscription (id 0: a delegated one has none until it is created)."""
        return Subscription(id=0, **asdict(self))

    def rest(self) -> dict[str, Any]:
        """The node REST shape: snake_case, containers as 0x-hex bytes32."""
        return self.subscription().as_json()


def sign_delegated(
    sub: DelegatedSubscription,
    nonce: int,
    expiry: int,
    key: str,
    coordinator: str,
    chain_id: int,
) -> dict[str, int]:
    """EIP-712 DelegateSubscription signature, domain "InfernetCoordinator"/"1" (spec: sdk §4).

    Signed with the devnode's own EIP-712 code (checked against eth_account in its tests).
    """
    signed = sign_delegation(
        key,
        sub.subscription(),
        nonce=nonce,
        expiry=expiry,
        chain_id=chain_id,
        coordinator=coordinator,
    )
    return {"nonce": nonce, "expiry": expiry, "v": signed.v, "r": signed.r, "s": signed.s}


# ---------------------------------------------------------------- on-chain deliveries


@dataclass(frozen=True)
class Delivery:
    """One deliverCompute(-Delegatee) transaction, decoded from its calldata as a user would."""

    subscription_id: int
    interval: int
    node: str
    tx_hash: str
    output: bytes


def deliveries(w3: Web3, coordinator: Contract, subscription_id: int) -> list[Delivery]:
    """Every delivery to `subscription_id`: SubscriptionFulfilled logs, then each tx's calldata."""
    logs = coordinator.events.SubscriptionFulfilled().get_logs(
        from_block=0, argument_filters={"id": subscription_id}
    )
    found = []
    for log in logs:
        tx = w3.eth.get_transaction(log["transactionHash"])
        _fn, args = coordinator.decode_function_input(tx["input"])
        found.append(
            Delivery(
                subscription_id=subscription_id,
                interval=int(args["deliveryInterval"]),
                node=str(log["args"]["node"]),
                tx_hash="0x" + bytes(log["transactionHash"]).hex(),
                output=bytes(args["output"]),
            )
        )
    return found


@dataclass(frozen=True)
class FlowResult:
    """What a flow run shows: the decoded answer plus facts (ids, tx hashes, intervals)."""

    answer: Answer
    facts: dict[str, Any]

    def lines(self) -> list[str]:
        return [f"answer: {self.answer.show()}"] + [f"{k}: {v}" for k, v in self.facts.items()]


# ---------------------------------------------------------------- flows 2-4 through the consumers

USER_ADDRESS = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"  # anvil #0, an ordinary caller
DELIVERY_DEADLINE_S = 60.0
DEFAULT_PERIOD_S = 60  # chain seconds per interval of the recurring demo subscription
DELEGATION_EXPIRY_S = 3600
CONSUMERS = ("HFCallbackConsumer", "HFSubscriptionConsumer", "HFDelegatedConsumer")


def answer_from_contract(task: HFTaskId, stored: Any) -> Answer:
    """HFAnswerBook.getAnswer's tuple (task, node, redundancy, text, labels, scores)."""
    _task, _node, _redundancy, text, labels, scores = stored
    if task in (HFTaskId.TEXT_GENERATION, HFTaskId.SUMMARIZATION):
        return Answer(task, text=text)
    return Answer(task, labels=tuple(labels), scores=tuple(s / SCORE_SCALE for s in scores))


@dataclass
class ChainFlows:
    """Flows 2-4 against deployed consumers (name -> address), as a contract user drives them."""

    w3: Web3
    node: NodeREST
    consumers: dict[str, str]
    _nonce: int = 0

    def consumer(self, name: str) -> Contract:
        return self.w3.eth.contract(
            address=Web3.to_checksum_address(self.consumers[name]), abi=artifact(name)["abi"]
        )

    @property
    def coordinator(self) -> Contract:
        return self.w3.eth.contract(
            address=Web3.to_checksum_address(PROTOCOL.coordinator),
            abi=artifact("EIP712Coordinator")["abi"],
        )

    def transact(self, call: Any, sender: str) -> Any:
        tx = call.transact({"from": sender})
        receipt = self.w3.eth.wait_for_transaction_receipt(tx, timeout=DELIVERY_DEADLINE_S)
        if receipt["status"] != 1:
            raise RuntimeError(f"transaction {tx.hex()} reverted")
        return receipt

    def chain_time(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def advance(self, seconds: int) -> None:
        """Move chain time forward and mine a block: intervals follow chain time, not the clock."""
        self.w3.provider.make_request("evm_increaseTime", [seconds])  # type: ignore[arg-type]
        self.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]

    def wait_answer(self, consumer: Contract, sub_id: int, interval: int) -> Any:
        def ready() -> bool:
            return bool(consumer.functions.hasAnswer(sub_id, interval).call())

        try:
            wait_for(
                f"answer to subscription {sub_id} interval {interval}", ready, DELIVERY_DEADLINE_S
            )
        except TimeoutError as e:
            raise TimeoutError(f"{e}; the devnode says: {self.devnode_view(sub_id)}") from None
        return consumer.functions.getAnswer(sub_id, interval).call()

    def devnode_view(self, sub_id: int) -> Any:
        try:
            return self.node.subscription_status(sub_id)
        except NodeHTTPError as e:
            return e

    def delivered(self, task: HFTaskId, sub_id: int, interval: int) -> tuple[Answer, Delivery]:
        """The answer decoded from the delivery transaction's calldata (eth-abi, off-chain)."""
        for delivery in deliveries(self.w3, self.coordinator, sub_id):
            if delivery.interval == interval:
                return decode_delivered_output(task, delivery.output), delivery
        raise LookupError(f"no delivery transaction for subscription {sub_id} interval {interval}")

    def _checked(self, task: HFTaskId, stored: Any, sub_id: int, interval: int) -> Delivery:
        from_contract = answer_from_contract(task, stored)
        from_calldata, delivery = self.delivered(task, sub_id, interval)
        if from_contract != from_calldata:
            raise AssertionError(f"contract stored {from_contract}, tx carried {from_calldata}")
        return delivery

    # -- flow 2
    def callback(self, task: HFTaskId, text: str, model: str = "") -> FlowResult:
        consumer = self.consumer("HFCallbackConsumer")
        receipt = self.transact(
            consumer.functions.requestCompute(int(task), model, text, 1), USER_ADDRESS
        )
        (event,) = consumer.events.ComputeRequested().process_receipt(receipt, errors=DISCARD)
        sub_id = int(event["args"]["subscriptionId"])
        stored = self.wait_answer(consumer, sub_id, 1)
        delivery = self._checked(task, stored, sub_id, 1)
        return FlowResult(
            answer_from_contract(task, stored),
            {
                "subscription": sub_id,
                "request tx": "0x" + bytes(receipt["transactionHash"]).hex(),
                "delivery tx": delivery.tx_hash,
            },
        )

    # -- flow 3
    def recurring(
        self, task: HFTaskId, text: str, intervals: int = 2, period: int = DEFAULT_PERIOD_S
    ) -> FlowResult:
        consumer = self.consumer("HFSubscriptionConsumer")
        inputs = [f"{text} (interval {k})" for k in range(1, intervals + 1)]
        receipt = self.transact(
            consumer.functions.startSubscription(
                int(task), "", inputs, intervals, period, 1, False
            ),
            DEPLOYER_ADDRESS,
        )
        (event,) = consumer.events.SubscriptionStarted().process_receipt(receipt, errors=DISCARD)
        sub_id = int(event["args"]["subscriptionId"])
        facts: dict[str, Any] = {"subscription": sub_id, "period": f"{period} s (chain time)"}
        answer = Answer(task)
        for interval in range(1, intervals + 1):
            self.advance(period)  # interval k starts k periods after creation
            stored = self.wait_answer(consumer, sub_id, interval)
            delivery = self._checked(task, stored, sub_id, interval)
            answer = answer_from_contract(task, stored)
            facts[f"interval {interval}"] = f"{answer.show()} tx {delivery.tx_hash}"
        return FlowResult(answer, facts)

    # -- flow 4
    def delegated(self, task: HFTaskId, text: str, key: str = SIGNER_KEY) -> FlowResult:
        consumer = self.consumer("HFDelegatedConsumer")
        sub, signature = self.signed_request(consumer.address, key)
        self.node.request_delegated(sub.rest(), signature, offchain_data(task, text))
        sub_id = self.wait_delegated_id(consumer.address, signature["nonce"])
        stored = self.wait_answer(consumer, sub_id, 1)
        delivery = self._checked(task, stored, sub_id, 1)
        return FlowResult(
            answer_from_contract(task, stored),
            {"subscription": sub_id, "nonce": signature["nonce"], "delivery tx": delivery.tx_hash},
        )

    def signed_request(
        self, owner: str, key: str = SIGNER_KEY, **fields: Any
    ) -> tuple[DelegatedSubscription, dict[str, int]]:
        """A one-shot DelegateSubscription for `owner`, signed with `key`, fresh nonce."""
        now = self.chain_time()
        values: dict[str, Any] = {
            "owner": owner,
            "active_at": now,
            "period": 0,
            "frequency": 1,
            "redundancy": 1,
            "container_id": container_id_hash(CONTAINER_ID),
        }
        values.update(fields)
        sub = DelegatedSubscription(**values)
        # nonces need not be sequential (spec: sdk §4); above both the chain's highest and the
        # last one signed here, a nonce is unused even while an earlier request is in flight
        on_chain = int(self.coordinator.functions.maxSubscriberNonce(owner).call())
        self._nonce = nonce = max(on_chain, self._nonce) + 1
        signature = sign_delegated(
            sub, nonce, now + DELEGATION_EXPIRY_S, key, PROTOCOL.coordinator, CHAIN_ID
        )
        return sub, signature

    def wait_delegated_id(self, owner: str, nonce: int) -> int:
        key = Web3.keccak(encode(["address", "uint32"], [owner, nonce]))

        def created() -> int:
            return int(self.coordinator.functions.delegateCreatedIds(key).call())

        sub_id: int = wait_for(
            f"delegated subscription nonce {nonce}", created, DELIVERY_DEADLINE_S
        )
        return sub_id


def deploy_consumers(w3: Web3) -> dict[str, str]:
    """Fresh consumers (e2e: one set per test), deployed by anvil #2 like DeployConsumers.s.sol."""
    registry = PROTOCOL.registry
    return {
        "HFCallbackConsumer": deploy_contract(
            w3, "HFCallbackConsumer", registry, CONTAINER_ID, SIGNER_ADDRESS
        ).address,
        "HFSubscriptionConsumer": deploy_contract(
            w3, "HFSubscriptionConsumer", registry, CONTAINER_ID
        ).address,
        "HFDelegatedConsumer": deploy_contract(
            w3, "HFDelegatedConsumer", registry, SIGNER_ADDRESS
        ).address,
    }
