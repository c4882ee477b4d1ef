"""The node's one transaction sender: its own nonce counter, gas from a simulation, and the
signed transaction handed to the caller for persisting before it is broadcast.

Upstream serialises sends behind a lock too (infernet-node v1.4.0) but lets web3 pick the
nonce and gas; here the gas estimate doubles as the simulation and `max_gas_limit` caps it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from collections.abc import Callable
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from typing import cast

from eth_account import Account
from eth_account.signers.local import LocalAccount

from .rpc import ChainClient
from .rpc import ChainError
from .rpc import Reverted
from .rpc import RpcFailed
from .rpc import RpcUnavailable

__all__ = ["SignedTransaction", "TransactionSender"]

log = logging.getLogger(__name__)

# Gas estimates get this headroom (percent) before the max_gas_limit cap applies.
_GAS_HEADROOM_PERCENT = 20
# maxFeePerGas = base fee * this + tip: survives a few full blocks of base-fee growth.
_BASE_FEE_MULTIPLIER = 2


@dataclass(frozen=True)
class SignedTransaction:
    tx_hash: str
    raw: str
    nonce: int
    gas: int


class TransactionSender:
    """Signs and broadcasts the node's transactions with its own nonce counter.

    Concurrent deliveries share one sender; `send` holds a lock from nonce assignment through
    persisting the signed transaction (`before_broadcast`) to the broadcast, so nonces are never
    reused or skipped, and the transaction is on disk before any endpoint can mine it.
    """

    def __init__(
        self, client: ChainClient, private_key: str, chain_id: int, max_gas_limit: int
    ) -> None:
        key = private_key if private_key.startswith("0x") else "0x" + private_key
        self._account: LocalAccount = Account.from_key(key)
        self._client = client
        self._chain_id = chain_id
        self.max_gas_limit = max_gas_limit
        self._lock = asyncio.Lock()
        self._next_nonce: int | None = None
        self._priority_fee: int | None = None
        self.base_fee = 0

    @property
    def address(self) -> str:
        return str(self._account.address)

    async def gas_for(self, to: str, data: bytes, *, allowed_sim_errors: Sequence[str]) -> int:
        """Simulate with eth_estimateGas; the gas limit to use, capped by max_gas_limit.

        Raises:
            Reverted: the simulation reverted (and the reason is not in allowed_sim_errors).
            ChainError: the estimate exceeds max_gas_limit.
        """
        try:
            estimate = await self._client.estimate_gas(self.address, to, data)
        except Reverted as e:
            # Upstream compat (infernet-node v1.4.0): a listed error text lets the tx go
            # out anyway with the full gas budget.
            if any(allowed.lower() in e.name.lower() for allowed in allowed_sim_errors):
                return self.max_gas_limit
            raise
        gas = estimate * (100 + _GAS_HEADROOM_PERCENT) // 100
        if estimate > self.max_gas_limit:
            raise ChainError(f"gas estimate {estimate} exceeds max_gas_limit {self.max_gas_limit}")
        return min(gas, self.max_gas_limit)

    async def _sign(self, to: str, data: bytes, gas: int, nonce: int) -> SignedTransaction:
        if self._priority_fee is None:
            self._priority_fee = await self._client.priority_fee()
        if not self.base_fee:
            self.base_fee = (await self._client.block("latest")).base_fee
        tx: dict[str, Any] = {
            "type": 2,
            "chainId": self._chain_id,
            "nonce": nonce,
            "to": to,
            "data": "0x" + data.hex(),
            "value": 0,
            "gas": gas,
            "maxPriorityFeePerGas": self._priority_fee,
            "maxFeePerGas": self.base_fee * _BASE_FEE_MULTIPLIER + self._priority_fee,
        }
        signed = self._account.sign_transaction(cast(Any, tx))
        return SignedTransaction(
            tx_hash="0x" + bytes(signed.hash).hex(),
            raw="0x" + bytes(signed.raw_transaction).hex(),
            nonce=nonce,
            gas=gas,
        )

    async def send(
        self,
        to: str,
        data: bytes,
        gas: int,
        before_broadcast: Callable[[SignedTransaction], Awaitable[None]],
    ) -> SignedTransaction:
        """Sign with the next nonce, await `before_broadcast(signed)`, then broadcast.

        A broadcast that fails because the nonce was taken (another process, a restart) resyncs
        the counter from the chain and signs again once.
        """
        async with self._lock:
            for attempt in range(2):
                if self._next_nonce is None or attempt > 0:
                    self._next_nonce = await self._client.nonce(self.address, "pending")
                signed = await self._sign(to, data, gas, self._next_nonce)
                await before_broadcast(signed)
                try:
                    await self._client.send_raw(signed.raw)
                except RpcFailed as e:
                    if "nonce" in e.reason.lower() and attempt == 0:
                        log.warning("nonce %d rejected, resyncing: %s", signed.nonce, e.reason)
                        continue
                    raise
                except RpcUnavailable:
                    # The endpoint may or may not have it; the persisted raw tx is re-broadcast
                    # by the receipt check, and the nonce stays consumed.
                    self._next_nonce += 1
                    raise
                self._next_nonce += 1
                return signed
            raise RpcFailed("eth_sendRawTransaction: nonce rejected twice")

    async def rebroadcast(self, raw: str) -> None:
        """Send an already signed transaction again (same hash, so it can mine at most once)."""
        try:
            await self._client.send_raw(raw)
        except RpcFailed as e:
            log.info("rebroadcast refused: %s", e.reason)

    def forget_nonce(self) -> None:
        """Read the nonce from the chain before the next send (after an endpoint restart)."""
        self._next_nonce = None
        self._priority_fee = None
