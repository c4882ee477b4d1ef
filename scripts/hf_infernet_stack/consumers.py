"""Accounts sending raw transactions, and the calls chain tests and benchmarks make to the
protocol and the sample consumers (calldata from eth-abi, as any client would build it)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_abi.abi import decode
from eth_abi.abi import encode
from eth_account import Account
from web3 import Web3

from .accounts import CONTAINER_ID
from .accounts import DEPLOYER_ADDRESS
from .accounts import DEPLOYER_KEY
from .accounts import NODE_KEY
from .accounts import PROTOCOL
from .accounts import SECOND_NODE_KEY
from .accounts import SIGNER_KEY
from .accounts import address_of
from .forge import artifact
from .forge import forge_script
from .processes import wait_for
from .rpc import Rpc

RECEIPT_TIMEOUT_S = 30.0
# forge script compiles nothing when out/ is fresh; a loaded machine still needs a while.
DEPLOY_TIMEOUT_S = 300.0
TX_GAS = 8_000_000
MAX_FEE_WEI = 10 * 10**9
PRIORITY_FEE_WEI = 10**9
EIP1559_TX_TYPE = 2
# the nodes the sample consumers deployed here take deliveries from (their allowlist)
ALLOWED_NODES = [address_of(key) for key in (NODE_KEY, SECOND_NODE_KEY)]
TEXT_GENERATION = 1


@dataclass(frozen=True)
class Call:
    """A contract function by its Solidity signature: calldata out, return values in."""

    name: str
    inputs: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()

    def encode(self, *args: Any) -> bytes:
        selector = Web3.keccak(text=f"{self.name}({','.join(self.inputs)})")[:4]
        return bytes(selector) + encode(list(self.inputs), list(args))

    def decode(self, data: bytes) -> tuple[Any, ...]:
        return tuple(decode(list(self.outputs), data))


REQUEST_COMPUTE = Call("requestCompute", ("uint8", "string", "string", "uint16"), ("uint32",))
START_SUBSCRIPTION = Call(
    "startSubscription",
    ("uint8", "string", "string[]", "uint32", "uint32", "uint16", "bool"),
    ("uint32",),
)
STOP_SUBSCRIPTION = Call("stopSubscription", ("uint32",))
ANSWER_COUNT = Call("answerCount", ("uint32", "uint32"), ("uint256",))
NEXT_ID = Call("id", (), ("uint32",))  # the Coordinator's next subscription id
DELEGATE_CREATED_IDS = Call("delegateCreatedIds", ("bytes32",), ("uint32",))
SUBSCRIPTION_CREATED = Web3.keccak(text="SubscriptionCreated(uint32)")
SUBSCRIPTION_FULFILLED = Web3.keccak(text="SubscriptionFulfilled(uint32,address)")


class Actor:
    """An externally owned account sending transactions with its own key."""

    def __init__(self, rpc: Rpc, key: str) -> None:
        self.rpc = rpc
        self.account = Account.from_key(key)
        self.address = str(self.account.address)

    def send(self, to: str | None, data: bytes, *, value: int = 0) -> dict[str, Any]:
        tx_hash = self.broadcast(to, data, value=value)
        receipt = wait_for(
            lambda: self.rpc("eth_getTransactionReceipt", tx_hash), RECEIPT_TIMEOUT_S, "receipt"
        )
        if int(receipt["status"], 16) != 1:
            raise AssertionError(f"transaction {tx_hash} reverted")
        return dict(receipt)

    def broadcast(self, to: str | None, data: bytes, *, value: int = 0, gas: int = TX_GAS) -> str:
        """Sign and send without waiting for a receipt (for blocks mined by hand)."""
        tx: dict[str, Any] = {
            "from": self.address,
            "data": "0x" + data.hex(),
            "value": value,
            "nonce": int(self.rpc("eth_getTransactionCount", self.address, "pending"), 16),
            "gas": gas,
            "maxFeePerGas": MAX_FEE_WEI,
            "maxPriorityFeePerGas": PRIORITY_FEE_WEI,
            "chainId": int(self.rpc("eth_chainId"), 16),
            "type": EIP1559_TX_TYPE,
        }
        if to is not None:
            tx["to"] = Web3.to_checksum_address(to)
        signed = self.account.sign_transaction(tx)
        return str(self.rpc("eth_sendRawTransaction", "0x" + bytes(signed.raw_transaction).hex()))

    def transact(self, to: str, fn: Call, *args: Any) -> dict[str, Any]:
        return self.send(to, fn.encode(*args))

    def deploy(self, file: str, contract: str, *args: Any) -> str:
        receipt = self.send(None, creation_code(file, contract, *args))
        return Web3.to_checksum_address(receipt["contractAddress"])


def creation_code(file: str, contract: str, *args: Any) -> bytes:
    """Bytecode plus ABI-encoded constructor arguments, from the out/ artifact."""
    art = artifact(contract, file)
    ctor: dict[str, Any] = next(
        (x for x in art["abi"] if x["type"] == "constructor"), {"inputs": []}
    )
    types = [i["type"] for i in ctor["inputs"]]
    code = bytes.fromhex(art["bytecode"]["object"].removeprefix("0x"))
    return code + encode(types, list(args))


def deploy_protocol(rpc: Rpc, workdir: Path) -> None:
    """The protocol as `make up` and e2e deploy it: `forge script DeployProtocol.s.sol` run by
    anvil #2 on a fresh anvil, which lands every contract at infernet-anvil's address."""
    assert rpc.transactions_from(DEPLOYER_ADDRESS) == 0, "protocol needs a fresh anvil"
    workdir.mkdir(parents=True, exist_ok=True)
    forge_script(
        "DeployProtocol.s.sol",
        rpc.url,
        DEPLOYER_KEY,
        workdir / "broadcast",
        workdir / "forge.log",
        DEPLOY_TIMEOUT_S,
    )


def deploy_callback_consumer(owner: Actor) -> str:
    """An HFCallbackConsumer owned by `owner`, on the chain `owner` sends to, taking deliveries
    from the test nodes (ALLOWED_NODES), with anvil #3 as its delegated signer."""
    return owner.deploy(
        "HFCallbackConsumer",
        "HFCallbackConsumer",
        PROTOCOL.registry,
        CONTAINER_ID,
        address_of(SIGNER_KEY),
        ALLOWED_NODES,
    )


def deploy_subscription_consumer(owner: Actor) -> str:
    """An HFSubscriptionConsumer owned by `owner`, taking deliveries from the test nodes."""
    return owner.deploy(
        "HFSubscriptionConsumer",
        "HFSubscriptionConsumer",
        PROTOCOL.registry,
        CONTAINER_ID,
        ALLOWED_NODES,
    )


def created_id(receipt: dict[str, Any]) -> int:
    """Subscription id from the Coordinator's SubscriptionCreated log in a receipt."""
    topic = "0x" + SUBSCRIPTION_CREATED.hex().removeprefix("0x")
    for entry in receipt["logs"]:
        if entry["topics"][0] == topic:
            return int(entry["topics"][1], 16)
    raise AssertionError("no SubscriptionCreated in receipt")


def answers(rpc: Rpc, consumer: str, sub_id: int) -> int:
    (count,) = rpc.call(consumer, ANSWER_COUNT, sub_id, 1)
    return int(count)


def delegate_created_id(rpc: Rpc, owner: str, nonce: int) -> int:
    """The subscription id the Coordinator created for the delegated request (owner, nonce)."""
    key = Web3.keccak(encode(["address", "uint32"], [Web3.to_checksum_address(owner), nonce]))
    (sub_id,) = rpc.call(PROTOCOL.coordinator, DELEGATE_CREATED_IDS, key)
    return int(sub_id)
