"""The four Infernet flows, driven the way a user drives them (REST, web3, eth-abi, EIP-712).

Shared by the demo (scripts/demo.py) and the e2e suite. Nothing here knows about processes:
give it URLs and addresses.
"""

from __future__ import annotations

import json
import math
import time
import urllib.error
import urllib.request
from dataclasses import asdict
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace
from enum import IntEnum
from typing import Any

from eth_abi.abi import decode
from eth_abi.abi import encode
from infernet_devnode.chain.eip712 import sign_delegation
from infernet_devnode.chain.subscriptions import Subscription
from onchain import CHAIN_ID
from onchain import CONTAINER_ID
from onchain import DEPLOYER_ADDRESS
from onchain import NODE_ADDRESS
from onchain import PROTOCOL
from onchain import SIGNER_KEY
from onchain import USER_ADDRESS as USER_ADDRESS
from onchain import address_of
from onchain import artifact
from onchain import container_id_hash
from onchain import deployed
from onchain import send_deployment
from onchain import wait_for
from web3 import Web3
from web3.contract import Contract
from web3.logs import DISCARD as DISCARD

SCORE_SCALE = 1_000_000  # on-chain scores are int(score * 1e6) (docs/contracts.md, wire formats)
JOB_DEADLINE_S = 60.0
ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"


class HFTaskId(IntEnum):
    """Task ids, wire-compatible with infernet-ml's HFTaskId (docs/contracts.md, wire formats)."""

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

# One input per task: the examples of docs/service.md.
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
    """The `data` of an off-chain job (docs/service.md: task ids and input fields)."""
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
    """A decoded inference result: text (tasks 1, 4) or labels with scores (tasks 2, 3).

    `words` are the entities' words of a token classification. Only the off-chain answer carries
    them: on-chain, the service encodes labels and scores alone.
    """

    task: HFTaskId
    text: str | None = None
    labels: tuple[str, ...] = ()
    scores: tuple[float, ...] = ()
    words: tuple[str, ...] = ()

    def show(self) -> str:
        """One line a person can read: `'text'`, `POSITIVE 0.78, ...`, `Ritual -> ORG 0.96, ...`."""
        if self.text is not None:
            return repr(self.text)
        if not self.labels:
            return "(no labels)"
        pairs = zip(self.labels, self.scores, strict=True)
        shown = [f"{label} {score:.2f}" for label, score in pairs]
        if self.words:
            shown = [f"{word} -> {s}" for word, s in zip(self.words, shown, strict=True)]
        return ", ".join(shown)

    def with_words_of(self, offchain: Answer) -> Answer:
        """This answer with the words of `offchain`, the same entities answered off-chain.

        The entities match when their labels agree and their scores agree to the on-chain
        precision (1e-6); otherwise this answer is returned unchanged.
        """
        same = bool(offchain.words) and (
            offchain.labels == self.labels
            # the service truncates to integers; back from the chain, round off float error
            and [int(s * SCORE_SCALE) for s in offchain.scores]
            == [round(s * SCORE_SCALE) for s in self.scores]
        )
        return replace(self, words=offchain.words) if same else self


def decode_raw_output(task: HFTaskId, raw: bytes) -> Answer:
    """raw_output: abi.encode(string) for tasks 1 and 4, (string[], uint256[]) for 2 and 3."""
    if task in (HFTaskId.TEXT_GENERATION, HFTaskId.SUMMARIZATION):
        (text,) = decode(["string"], raw)
        return Answer(task, text=text)
    labels, scores = decode(["string[]", "uint256[]"], raw)
    return Answer(task, labels=tuple(labels), scores=tuple(s / SCORE_SCALE for s in scores))


def decode_delivered_output(task: HFTaskId, output: bytes) -> Answer:
    """Decode what the node delivers: abi.encode(bytes raw_output, bytes processed_output)."""
    raw, _processed = decode(["bytes", "bytes"], output)
    return decode_raw_output(task, raw)


def answer_from_offchain(task: HFTaskId, output: Any) -> Answer:
    """The service's off-chain `output`: Hugging Face's JSON shapes (docs/service.md)."""
    if task == HFTaskId.TEXT_GENERATION:
        return Answer(task, text=output if isinstance(output, str) else output["generated_text"])
    if task == HFTaskId.SUMMARIZATION:
        return Answer(task, text=output["summary_text"])
    if task == HFTaskId.TEXT_CLASSIFICATION:
        return Answer(
            task,
            labels=tuple(str(e["label"]) for e in output),
            scores=tuple(float(e["score"]) for e in output),
        )
    return Answer(
        task,
        labels=tuple(str(e.get("entity_group", e.get("entity"))) for e in output),
        scores=tuple(float(e["score"]) for e in output),
        words=tuple(str(e["word"]).strip() for e in output)
        if all("word" in e for e in output)
        else (),
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
    """The Infernet node REST API (docs/devnode.md) over plain HTTP."""

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
    """The Subscription struct a delegated signer signs (docs/contracts.md, wire formats)."""

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
    """EIP-712 DelegateSubscription signature, domain "InfernetCoordinator"/"1" (docs/contracts.md).

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

DELIVERY_DEADLINE_S = 60.0
DEFAULT_PERIOD_S = 60  # chain seconds per interval of the recurring demo subscription
# On timed blocks the flows wait for chain time instead of moving it. An interval then lasts a few
# blocks: long enough for a node to notice it, run the service and land the delivery inside it,
# also for a node that counts intervals on its own clock (Ritual's node does).
TIMED_PERIOD_BLOCKS = 6
TIMED_MIN_PERIOD_S = 6
DELEGATION_EXPIRY_S = 3600
# the sample consumers DeployConsumers.s.sol deploys, by contract name
CONSUMERS = ("HFCallbackConsumer", "HFSubscriptionConsumer", "HFDelegatedConsumer")


def answer_from_contract(task: HFTaskId, stored: Any) -> Answer:
    """HFAnswerBook.getAnswer's tuple (task, node, redundancy, text, labels, scores)."""
    _task, _node, _redundancy, text, labels, scores = stored
    if task in (HFTaskId.TEXT_GENERATION, HFTaskId.SUMMARIZATION):
        return Answer(task, text=text)
    return Answer(task, labels=tuple(labels), scores=tuple(s / SCORE_SCALE for s in scores))


@dataclass(frozen=True)
class ChainSetup:
    """Where the protocol is, who acts on it, and how the chain mines (a stack description's
    chain half). The defaults are the local stack's: anvil's accounts, automine."""

    registry: str = PROTOCOL.registry
    coordinator: str = PROTOCOL.coordinator
    chain_id: int = CHAIN_ID
    container_id: str = CONTAINER_ID
    user: str = USER_ADDRESS  # sends callback requests
    deployer: str = DEPLOYER_ADDRESS  # deploys (so owns) the consumers
    signer_key: str = field(default=SIGNER_KEY, repr=False)  # the delegated consumers' signer
    # the nodes the sample consumers take deliveries from (their allowlist, docs/contracts.md)
    nodes: tuple[str, ...] = (NODE_ADDRESS,)
    block_time: float | None = None  # None: automine, and chain time is moved (anvil)

    @property
    def signer(self) -> str:
        return address_of(self.signer_key)

    @property
    def moves_time(self) -> bool:
        """Automine: nothing advances chain time but us. Timed blocks: time passes by itself."""
        return self.block_time is None

    def period(self, requested: int) -> int:
        """The recurring period to use: as requested when time is moved, a few blocks if not."""
        if self.block_time is None:
            return requested
        return max(TIMED_MIN_PERIOD_S, math.ceil(TIMED_PERIOD_BLOCKS * self.block_time))


@dataclass
class ChainFlows:
    """Flows 2-4 against deployed consumers (name -> address), as a contract user drives them."""

    w3: Web3
    node: NodeREST
    consumers: dict[str, str]
    setup: ChainSetup = field(default_factory=ChainSetup)
    _nonce: int = 0

    def consumer(self, name: str) -> Contract:
        return self.w3.eth.contract(
            address=Web3.to_checksum_address(self.consumers[name]), abi=artifact(name)["abi"]
        )

    @property
    def coordinator(self) -> Contract:
        return self.w3.eth.contract(
            address=Web3.to_checksum_address(self.setup.coordinator),
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

    def wait_answer(
        self, consumer: Contract, sub_id: int, interval: int, extra_s: float = 0.0
    ) -> Any:
        def ready() -> bool:
            return bool(consumer.functions.hasAnswer(sub_id, interval).call())

        try:
            wait_for(
                f"answer to subscription {sub_id} interval {interval}",
                ready,
                DELIVERY_DEADLINE_S + extra_s,
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
            consumer.functions.requestCompute(int(task), model, text, 1), self.setup.user
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
        period = self.setup.period(period)
        receipt = self.transact(
            consumer.functions.startSubscription(
                int(task), "", inputs, intervals, period, 1, False
            ),
            self.setup.deployer,
        )
        (event,) = consumer.events.SubscriptionStarted().process_receipt(receipt, errors=DISCARD)
        sub_id = int(event["args"]["subscriptionId"])
        how = "moved" if self.setup.moves_time else "waited for"
        facts: dict[str, Any] = {
            "subscription": sub_id,
            "period": f"{period} s (chain time, {how})",
        }
        answer = Answer(task)
        for interval in range(1, intervals + 1):
            # interval k starts k periods after creation
            if self.setup.moves_time:
                self.advance(period)
                stored = self.wait_answer(consumer, sub_id, interval)
            else:
                stored = self.wait_answer(consumer, sub_id, interval, extra_s=2 * period)
            delivery = self._checked(task, stored, sub_id, interval)
            answer = answer_from_contract(task, stored)
            facts[f"interval {interval}"] = f"{answer.show()} tx {delivery.tx_hash}"
        return FlowResult(answer, facts)

    # -- flow 4
    def delegated(self, task: HFTaskId, text: str, key: str | None = None) -> FlowResult:
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
        self, owner: str, key: str | None = None, **fields: Any
    ) -> tuple[DelegatedSubscription, dict[str, int]]:
        """A one-shot DelegateSubscription for `owner`, signed with `key` (default: the
        consumers' signer), fresh nonce."""
        now = self.chain_time()
        values: dict[str, Any] = {
            "owner": owner,
            "active_at": now,
            "period": 0,
            "frequency": 1,
            "redundancy": 1,
            "container_id": container_id_hash(self.setup.container_id),
        }
        values.update(fields)
        sub = DelegatedSubscription(**values)
        # nonces need not be consecutive (docs/contracts.md, wire formats); above both the
        # chain's highest and the last one signed here, a nonce is unused even while an earlier
        # request is in flight
        on_chain = int(self.coordinator.functions.maxSubscriberNonce(owner).call())
        self._nonce = nonce = max(on_chain, self._nonce) + 1
        signature = sign_delegated(
            sub,
            nonce,
            now + DELEGATION_EXPIRY_S,
            key or self.setup.signer_key,
            self.setup.coordinator,
            self.setup.chain_id,
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


def deploy_consumers(w3: Web3, setup: ChainSetup | None = None) -> dict[str, str]:
    """Fresh consumers (e2e: one set per test), deployed like DeployConsumers.s.sol: by the
    deployer (anvil #2 by default), answering to the signer (anvil #3), taking deliveries from
    the setup's nodes only."""
    s = setup or ChainSetup()
    by = s.deployer
    nodes = list(s.nodes)
    sent = [
        send_deployment(
            w3, "HFCallbackConsumer", s.registry, s.container_id, s.signer, nodes, sender=by
        ),
        send_deployment(w3, "HFSubscriptionConsumer", s.registry, s.container_id, nodes, sender=by),
        send_deployment(w3, "HFDelegatedConsumer", s.registry, s.signer, nodes, sender=by),
    ]
    # sent together, so on timed blocks they share a block instead of waiting for one each
    return {name: deployed(w3, name, tx).address for name, tx in sent}
