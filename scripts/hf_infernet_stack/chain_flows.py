"""Flows 2-4 (callback, recurring subscription, delegated subscription), driven through the
sample consumers the way a contract user drives them (web3, eth-abi, EIP-712), each answer read
from the consumer and checked against the delivery transaction's calldata.

Shared by the demo (scripts/demo.py) and the e2e suite. Nothing here knows about processes:
give it URLs and addresses.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from eth_abi.abi import encode
from web3 import Web3
from web3.contract import Contract
from web3.logs import DISCARD

from .accounts import CHAIN_ID
from .accounts import CONTAINER_ID
from .accounts import DEPLOYER_ADDRESS
from .accounts import NODE_ADDRESS
from .accounts import PROTOCOL
from .accounts import SIGNER_KEY
from .accounts import USER_ADDRESS
from .accounts import address_of
from .accounts import container_id_hash
from .codec import Answer
from .codec import HFTaskId
from .codec import answer_from_contract
from .codec import decode_delivered_output
from .codec import offchain_data
from .delegation import DelegatedSubscription
from .delegation import sign_delegated
from .forge import artifact
from .forge import deployed
from .forge import send_deployment
from .processes import wait_for
from .rest import NodeHTTPError
from .rest import NodeREST

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
    # nodes asked to answer each interval; a delegated request goes to `node` and `more_nodes`
    redundancy: int = 1
    more_nodes: tuple[NodeREST, ...] = ()
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
            count = int(consumer.functions.answerCount(sub_id, interval).call())
            return count >= self.redundancy

        try:
            wait_for(
                ready,
                DELIVERY_DEADLINE_S + extra_s,
                f"{self.redundancy} answer(s) to subscription {sub_id} interval {interval}",
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

    def answered_by(self, task: HFTaskId, sub_id: int, interval: int) -> dict[str, str]:
        """Who answered the interval and what (each delivery's calldata, decoded), when more than
        one node was asked to: "interval k answered by 0x...": answer."""
        if self.redundancy == 1:
            return {}
        return {
            f"interval {interval} answered by {d.node}": decode_delivered_output(
                task, d.output
            ).show()
            for d in deliveries(self.w3, self.coordinator, sub_id)
            if d.interval == interval
        }

    # -- flow 2
    def callback(self, task: HFTaskId, text: str, model: str = "") -> FlowResult:
        consumer = self.consumer("HFCallbackConsumer")
        receipt = self.transact(
            consumer.functions.requestCompute(int(task), model, text, self.redundancy),
            self.setup.user,
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
                **self.answered_by(task, sub_id, 1),
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
                int(task), "", inputs, intervals, period, self.redundancy, False
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
            facts.update(self.answered_by(task, sub_id, interval))
        return FlowResult(answer, facts)

    # -- flow 4
    def delegated(self, task: HFTaskId, text: str, key: str | None = None) -> FlowResult:
        consumer = self.consumer("HFDelegatedConsumer")
        sub, signature = self.signed_request(consumer.address, key, redundancy=self.redundancy)
        # the same signed request to every node asked to answer: the first delivery creates the
        # subscription, the others deliver to it (docs/devnode.md, "Redundancy")
        for node in (self.node, *self.more_nodes):
            node.request_delegated(sub.rest(), signature, offchain_data(task, text))
        sub_id = self.wait_delegated_id(consumer.address, signature["nonce"])
        stored = self.wait_answer(consumer, sub_id, 1)
        delivery = self._checked(task, stored, sub_id, 1)
        return FlowResult(
            answer_from_contract(task, stored),
            {
                "subscription": sub_id,
                "nonce": signature["nonce"],
                "delivery tx": delivery.tx_hash,
                **self.answered_by(task, sub_id, 1),
            },
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
            created, DELIVERY_DEADLINE_S, f"delegated subscription nonce {nonce}"
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
