"""Payments at delivery time: the consumer's wallet must be valid and funded, and proofs need
the node's escrow approved (infernet-node v1.4.0).

The config-only rules (accepted tokens and minimum amounts) are decided at admission by
`subscriptions.payment_rule_violation`; here are the checks that need the chain.
"""

from __future__ import annotations

import asyncio

from .abi import ERC20
from .abi import WALLET
from .rpc import ChainClient
from .rpc import ChainError
from .rpc import Contracts
from .sender import SignedTransaction
from .sender import TransactionSender
from .subscriptions import ZERO_ADDRESS
from .subscriptions import Subscription

__all__ = ["PaymentCheck"]

# How long an escrow approval may take to be mined, and how often its receipt is polled.
_APPROVAL_TIMEOUT_S = 60.0
_APPROVAL_POLL_S = 0.1


class PaymentCheck:
    """Chain-side payment checks for one node."""

    def __init__(
        self, client: ChainClient, contracts: Contracts, sender: TransactionSender
    ) -> None:
        self._client = client
        self._contracts = contracts
        self._sender = sender

    async def _balance(self, token: str, holder: str) -> int:
        if token == ZERO_ADDRESS:
            return await self._client.balance(holder)
        (balance,) = await self._client.call(token, ERC20.balance_of, holder)
        return int(balance)

    async def consumer_problem(self, sub: Subscription) -> str:
        """Why the consumer's wallet cannot pay this delivery; "" when it can.

        Upstream stops tracking such a subscription for good; the devnode skips the interval with
        this reason, so a wallet funded later serves the next interval.
        """
        if not await self._client.is_valid_wallet(self._contracts, sub.wallet):
            return f"InvalidWallet: {sub.wallet} is not a WalletFactory wallet"
        balance = await self._balance(sub.payment_token, sub.wallet)
        if balance < sub.payment_amount:
            return (
                f"InsufficientFunds: wallet {sub.wallet} holds {balance},"
                f" payment is {sub.payment_amount}"
            )
        return ""

    async def approve_escrow(self, sub: Subscription, payment_address: str | None) -> None:
        """Let the Coordinator escrow `payment_amount` from the node's wallet (proof requests).

        Raises:
            ChainError: no payment wallet, or the approval did not succeed in time.
        """
        if not payment_address:
            raise ChainError("a proof request needs chain.wallet.payment_address")
        (allowance,) = await self._client.call(
            payment_address, WALLET.allowance, self._sender.address, sub.payment_token
        )
        if int(allowance) >= sub.payment_amount:
            return
        calldata = WALLET.approve.encode(
            self._sender.address, sub.payment_token, sub.payment_amount
        )
        gas = await self._sender.gas_for(payment_address, calldata, allowed_sim_errors=())

        async def nothing_to_persist(signed: SignedTransaction) -> None:
            return None  # an approval is idempotent: sending it twice is harmless

        signed = await self._sender.send(payment_address, calldata, gas, nothing_to_persist)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + _APPROVAL_TIMEOUT_S
        while loop.time() < deadline:
            receipt = await self._client.receipt(signed.tx_hash)
            if receipt is not None:
                if receipt.status != 1:
                    raise ChainError(f"escrow approval {signed.tx_hash} reverted")
                return
            await asyncio.sleep(_APPROVAL_POLL_S)
        raise ChainError(f"escrow approval {signed.tx_hash} not mined in {_APPROVAL_TIMEOUT_S} s")
