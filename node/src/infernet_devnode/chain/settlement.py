"""Settlement of broadcast deliveries: receipts, and recovery of transactions a crash left behind.

Every block, each SENT delivery is resolved from its receipt. A transaction still in the mempool is
waited for (upstream sends a second one after a restart, which reverts and wastes gas); one the
endpoint forgot is re-broadcast byte for byte (same hash, so it can mine at most once), unless
`nodeResponded` shows the interval already answered; a reverted one counts as a failed attempt.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from enum import IntEnum
from typing import TYPE_CHECKING

from .abi import COORDINATOR
from .delivery import Delivery
from .delivery import DeliveryState
from .delivery import responded_key
from .rpc import ChainError

if TYPE_CHECKING:
    from .loop import OnchainNode

__all__ = ["Settlement", "TxOutcome"]

log = logging.getLogger(__name__)


class TxOutcome(IntEnum):
    """What became of a broadcast transaction (values as the receipt's status where one exists)."""

    LOST = -1  # neither mined nor in the endpoint's pool
    REVERTED = 0
    MINED = 1


class Settlement:
    """Resolves the node's broadcast transactions from the chain."""

    def __init__(self, node: OnchainNode) -> None:
        self._node = node

    async def settle_sent(self) -> None:
        """Resolve every broadcast transaction from its receipt (one call per in-flight tx)."""
        node = self._node
        for delivery in node.store.deliveries_in(DeliveryState.SENT):
            outcome = await self.tx_outcome(delivery.tx_hash)
            if outcome is None:
                continue
            if outcome is TxOutcome.MINED:
                node.record(replace(delivery, state=DeliveryState.DELIVERED, raw_tx=""))
                log.info(
                    "delivered subscription %d interval %d in %s",
                    delivery.subscription_id,
                    delivery.interval,
                    delivery.tx_hash,
                )
                continue
            await self._after_lost_or_reverted(delivery)
        await node.delegations.settle()

    async def tx_outcome(self, tx_hash: str) -> TxOutcome | None:
        """What became of the transaction; None while it is still pending."""
        client = self._node.client
        receipt = await client.receipt(tx_hash)
        if receipt is not None:
            return TxOutcome.MINED if receipt.status == TxOutcome.MINED else TxOutcome.REVERTED
        if await client.transaction_known(tx_hash):
            return None  # in the mempool: wait, never send a second transaction
        return TxOutcome.LOST

    async def _after_lost_or_reverted(self, delivery: Delivery) -> None:
        node = self._node
        assert node.contracts is not None
        key = responded_key(delivery.subscription_id, delivery.interval, node.address)
        (responded,) = await node.client.call(
            node.contracts.coordinator, COORDINATOR.node_responded, key
        )
        if responded:
            node.record(
                replace(
                    delivery,
                    state=DeliveryState.DELIVERED,
                    raw_tx="",
                    reason="nodeResponded already true",
                )
            )
            return
        receipt = await node.client.receipt(delivery.tx_hash)
        if receipt is None and await self.rebroadcast(delivery.raw_tx):
            log.info("re-broadcast %s (the endpoint had forgotten it)", delivery.tx_hash)
            return
        attempts = delivery.attempts + 1
        reason = "transaction reverted" if receipt is not None else "transaction lost"
        state = DeliveryState.FAILED if node.retry.exhausted(attempts) else DeliveryState.PENDING
        node.record(replace(delivery, state=state, attempts=attempts, reason=reason, raw_tx=""))

    async def rebroadcast(self, raw_tx: str) -> bool:
        """Send the stored signed transaction again; False when its nonce is already used."""
        if not raw_tx:
            return False
        try:
            await self._node.client.send_raw(raw_tx)
        except ChainError as e:
            log.info("re-broadcast refused: %s", e.reason)
            return False
        return True
