"""Paid subscriptions: served only when the consumer's wallet can pay, and the node gets paid,
in ETH or in an ERC-20 token (the SDK's Wallet holds both)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from chain_harness import running
from chain_harness import second_node
from eth_abi.abi import encode as abi_encode
from eth_account import Account
from hf_infernet_stack.accounts import CONTAINER_ID
from hf_infernet_stack.accounts import PROTOCOL
from hf_infernet_stack.accounts import SECOND_NODE_KEY
from hf_infernet_stack.accounts import ZERO_ADDRESS
from hf_infernet_stack.consumers import TEXT_GENERATION
from hf_infernet_stack.consumers import Actor
from hf_infernet_stack.consumers import created_id
from hf_infernet_stack.devnode import Devnode
from hf_infernet_stack.processes import wait_for
from hf_infernet_stack.rpc import Rpc
from infernet_devnode.chain.abi import Function

DELIVERY_TIMEOUT_S = 30.0
PRICE_WEI = 1_000
FUNDING_WEI = 10**18
WALLET_FACTORY = "0xF6168876932289D073567f347121A267095f3DD6"
CREATE_WALLET = Function("createWallet", ("address",), ("address",))
APPROVE = Function("approve", ("address", "address", "uint256"))
CREATE_MOCK_REQUEST = Function(
    "createMockRequest",
    ("string", "bytes", "uint16", "address", "uint256", "address", "address"),
    ("uint32",),
)


SECOND_NODE = Account.from_key(SECOND_NODE_KEY).address
MINT = Function("mint", ("address", "uint256"))
BALANCE_OF = Function("balanceOf", ("address",), ("uint256",))


@dataclass(frozen=True)
class Token:
    """What a subscription pays in: ETH (the zero address) or an ERC-20 contract."""

    address: str

    def balance(self, rpc: Rpc, holder: str) -> int:
        if self.address == ZERO_ADDRESS:
            return balance(rpc, holder)
        (amount,) = rpc.call(self.address, BALANCE_OF, holder)
        return int(amount)

    def fund(self, payer: Actor, holder: str, amount: int) -> None:
        if self.address == ZERO_ADDRESS:
            payer.send(holder, b"", value=amount)
        else:
            payer.transact(self.address, MINT, holder, amount)


def balance(rpc: Rpc, address: str) -> int:
    return int(rpc("eth_getBalance", address, "latest"), 16)


@pytest.fixture(params=["eth", "erc20"])
def token(request: pytest.FixtureRequest, deployer: Actor) -> Token:
    if request.param == "eth":
        return Token(ZERO_ADDRESS)
    return Token(deployer.deploy("MockToken", "MockToken"))


@pytest.fixture
def paying_consumer(deployer: Actor) -> str:
    return deployer.deploy("MockCallbackConsumer", "MockCallbackConsumer", PROTOCOL.registry, [])


def consumer_wallet(
    rpc: Rpc, owner: Actor, consumer: str, funding: int, token: Token = Token(ZERO_ADDRESS)
) -> str:
    """A WalletFactory wallet owned by `owner` that lets `consumer` spend `token`."""
    (wallet,) = rpc.call(WALLET_FACTORY, CREATE_WALLET, owner.address)
    owner.transact(WALLET_FACTORY, CREATE_WALLET, owner.address)
    owner.transact(wallet, APPROVE, consumer, token.address, 10 * PRICE_WEI)
    if funding:
        token.fund(owner, wallet, funding)
    return str(wallet)


def request(
    owner: Actor,
    consumer: str,
    wallet: str,
    amount: int,
    token: Token = Token(ZERO_ADDRESS),
    redundancy: int = 1,
) -> int:
    inputs = abi_encode(["uint8", "string", "string"], [TEXT_GENERATION, "", "paid"])
    receipt = owner.transact(
        consumer,
        CREATE_MOCK_REQUEST,
        CONTAINER_ID,
        inputs,
        redundancy,
        token.address,
        amount,
        wallet,
        ZERO_ADDRESS,
    )
    return created_id(receipt)


def paid_node(
    devnode: Devnode, token: Token = Token(ZERO_ADDRESS), wallet: str = PROTOCOL.node_wallet
) -> Devnode:
    devnode.extra_wallet = {"payment_address": wallet}
    devnode.container_options = {"accepted_payments": {token.address: PRICE_WEI}}
    return devnode


def test_funded_wallet_pays_the_node(
    rpc: Rpc, deployer: Actor, paying_consumer: str, devnode: Devnode, token: Token
) -> None:
    wallet = consumer_wallet(rpc, deployer, paying_consumer, FUNDING_WEI, token)
    before = token.balance(rpc, PROTOCOL.node_wallet)
    with running(paid_node(devnode, token)):
        sub_id = request(deployer, paying_consumer, wallet, PRICE_WEI, token)
        devnode.wait_delivered(sub_id, 1, DELIVERY_TIMEOUT_S)
    assert token.balance(rpc, PROTOCOL.node_wallet) == before + PRICE_WEI  # protocol fee is 0 here


def test_redundancy_two_pays_each_delivering_node(
    rpc: Rpc,
    deployer: Actor,
    paying_consumer: str,
    devnode: Devnode,
    token: Token,
    tmp_path: Path,
) -> None:
    """Two nodes, each with its own payment wallet: each delivery is paid to its node's wallet,
    and the consumer's wallet pays once per delivery."""
    second_wallet = str(rpc.call(WALLET_FACTORY, CREATE_WALLET, SECOND_NODE)[0])
    deployer.transact(WALLET_FACTORY, CREATE_WALLET, SECOND_NODE)
    second = second_node(devnode, tmp_path / "second")
    wallet = consumer_wallet(rpc, deployer, paying_consumer, FUNDING_WEI, token)
    wallets = (PROTOCOL.node_wallet, second_wallet)
    before = [token.balance(rpc, w) for w in (*wallets, wallet)]
    with running(paid_node(devnode, token), paid_node(second, token, second_wallet)):
        sub_id = request(deployer, paying_consumer, wallet, PRICE_WEI, token, redundancy=2)
        for node in (devnode, second):
            node.wait_delivered(sub_id, 1, DELIVERY_TIMEOUT_S)
    after = [token.balance(rpc, w) for w in (*wallets, wallet)]
    # the protocol fee is 0 on this chain: each node wallet gets the whole price
    assert after == [before[0] + PRICE_WEI, before[1] + PRICE_WEI, before[2] - 2 * PRICE_WEI]


def test_unfunded_wallet_is_skipped_with_the_reason(
    rpc: Rpc, deployer: Actor, paying_consumer: str, devnode: Devnode, token: Token
) -> None:
    wallet = consumer_wallet(rpc, deployer, paying_consumer, 0, token)
    sent = rpc.transactions_from(devnode.address)
    with running(paid_node(devnode, token)):
        sub_id = request(deployer, paying_consumer, wallet, PRICE_WEI, token)
        wait_for(lambda: devnode.delivery_state(sub_id, 1) == "skipped", DELIVERY_TIMEOUT_S, "skip")
        last: dict[str, Any] = devnode.subscription(sub_id)["last"]
        assert last["reason"].startswith("InsufficientFunds")
    assert rpc.transactions_from(devnode.address) == sent


def test_payment_below_the_containers_minimum_is_not_tracked(
    rpc: Rpc, deployer: Actor, paying_consumer: str, devnode: Devnode
) -> None:
    wallet = consumer_wallet(rpc, deployer, paying_consumer, FUNDING_WEI)
    with running(paid_node(devnode)):
        sub_id = request(deployer, paying_consumer, wallet, PRICE_WEI - 1)
        status = wait_for(lambda: devnode.subscription(sub_id), DELIVERY_TIMEOUT_S, "status")
        assert status["tracked"] is False
        assert "below the minimum" in status["reason"]
        assert status["deliveries"] == []


SET_FEE = Function("setFee", ("address", "uint256"))
VERIFIER_FEE_WEI = 100


def test_subscription_with_a_verifier_escrows_from_the_node_wallet_and_pays(
    rpc: Rpc, deployer: Actor, paying_consumer: str, devnode: Devnode
) -> None:
    """The node approves its own wallet's escrow before delivering with a proof, as upstream."""
    verifier = deployer.deploy("MockVerifier", "MockAtomicVerifier", PROTOCOL.coordinator)
    deployer.transact(verifier, SET_FEE, ZERO_ADDRESS, VERIFIER_FEE_WEI)
    wallet = consumer_wallet(rpc, deployer, paying_consumer, FUNDING_WEI)
    deployer.send(PROTOCOL.node_wallet, b"", value=FUNDING_WEI)  # the node's slashable stake
    before = balance(rpc, PROTOCOL.node_wallet)
    paid_node(devnode).container_options["generates_proofs"] = True
    with running(devnode):
        inputs = abi_encode(["uint8", "string", "string"], [TEXT_GENERATION, "", "proved"])
        sub_id = created_id(
            deployer.transact(
                paying_consumer,
                CREATE_MOCK_REQUEST,
                CONTAINER_ID,
                inputs,
                1,
                ZERO_ADDRESS,
                PRICE_WEI,
                wallet,
                verifier,
            )
        )
        devnode.wait_delivered(sub_id, 1, DELIVERY_TIMEOUT_S)
    # valid proof: the escrow is released to the node, minus the verifier's fee
    assert balance(rpc, PROTOCOL.node_wallet) == before + PRICE_WEI - VERIFIER_FEE_WEI
