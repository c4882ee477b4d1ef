"""Settlement of broadcast deliveries, ordinary and delegated alike: receipts, and recovery of
transactions a crash left behind.

Each new block's transaction list says which SENT deliveries it mined: only those are read from
the store and get a receipt read, so the cost per block follows what the block mined, not how
many deliveries of either kind are in flight (reading every in-flight one at every block would
make a burst of n deliveries cost n^2 reads). Every `SWEEP_PERIOD_S` seconds, after a fault and
after a gap of more than `MAX_BLOCK_READS` blocks, every SENT delivery is checked one by one,
which is how a lost transaction is found. A transaction still in the mempool is waited for
(upstream sends a second one after a restart, which reverts and wastes gas); one the endpoint
forgot is re-broadcast byte for byte (same hash, so it can mine at most once), unless
`nodeResponded` shows the interval already answered; a reverted one counts as a failed attempt.
A delegated delivery learns the id of the subscription it created from the Coordinator's
`delegateCreatedIds` (zero while none was created).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from enum import IntEnum

from .abi import COORDINATOR
from .delivery import DeliveryState
from .delivery import RetryPolicy
from .delivery import responded_key
from .eip712 import delegate_key
from .ledger import DeliveryLedger
from .ledger import Sent
from .ledger import TaskKey
from .rpc import ChainClient
from .rpc import ChainError

__all__ = ["MAX_BLOCK_READS", "SWEEP_PERIOD_S", "Settlement", "TxOutcome"]

log = logging.getLogger(__name__)

# Seconds between two checks of every in-flight delivery (finds transactions the endpoint lost,
# a rare event). Not a number of blocks: during a burst on automine blocks come every few
# milliseconds, and checking hundreds of pending transactions that often would make a burst's
# cost grow with its size.
SWEEP_PERIOD_S = 30.0
# More new blocks than this between two polls: check every in-flight delivery instead of reading
# the blocks one by one.
MAX_BLOCK_READS = 64


class TxOutcome(IntEnum):
    """What became of a broadcast transaction (values as the receipt's status where one exists)."""

    LOST = -1  # neither mined nor in the endpoint's pool
    REVERTED = 0
    MINED = 1


class Settlement:
    """Resolves the node's broadcast transactions from the chain.

    Args:
        client: receipts, transactions, `nodeResponded`, re-broadcasts.
        ledger: where the outcome of each delivery is recorded.
        retry: how many attempts a delivery gets.
        coordinator: the Coordinator's address.
        node_address: the node's EOA (`nodeResponded` is keyed by it).
    """

    def __init__(
        self,
        client: ChainClient,
        ledger: DeliveryLedger,
        retry: RetryPolicy,
        *,
        coordinator: str,
        node_address: str,
    ) -> None:
        self._client = client
        self._ledger = ledger
        self._retry = retry
        self._coordinator = coordinator
        self._node_address = node_address
        # deliveries a sweep left alone because their task was still sending: checked again
        self._recheck: set[TaskKey] = set()

    @property
    def rechecks(self) -> bool:
        """Whether deliveries a sweep left alone wait for another check."""
        return bool(self._recheck)

    async def settle(self, mined: frozenset[str] | None, *, sweep: bool) -> None:
        """Resolve the broadcast deliveries whose transaction is in `mined` (lower-case hashes of
        the new blocks' transactions) and, with `sweep`, every other one from its receipt.

        The sweep leaves a delivery whose task still runs alone: it is recorded SENT before its
        broadcast, so a check between the two would find the transaction unknown and call it
        lost. Each one left alone is checked at the next call (see `rechecks`).
        """
        waiting = self._ledger.sent(
            mined=None if sweep else (mined or frozenset()), also=set(self._recheck)
        )
        for sent in waiting:
            key = sent.key
            if mined is not None and sent.delivery.tx_hash.lower() in mined:
                self._recheck.discard(key)
            elif sweep or key in self._recheck:
                if self._ledger.busy(key):
                    self._recheck.add(key)
                    continue
                self._recheck.discard(key)
            else:
                continue
            outcome = await self.tx_outcome(sent.delivery.tx_hash)
            if outcome is not None:
                await self._settle(sent, outcome)

    async def _settle(self, sent: Sent, outcome: TxOutcome) -> None:
        delivery, request = sent.delivery, sent.request
        if request is not None:
            (created,) = await self._client.call(
                self._coordinator,
                COORDINATOR.delegate_created_ids,
                delegate_key(request.subscription.owner, request.nonce),
            )
            delivery = replace(delivery, subscription_id=int(created))
        if outcome is TxOutcome.MINED:
            self._ledger.record(replace(delivery, state=DeliveryState.DELIVERED), request)
            log.info(
                "delivered subscription %d interval %d in %s",
                delivery.subscription_id,
                delivery.interval,
                delivery.tx_hash,
            )
            return
        if delivery.subscription_id and await self.responded(
            delivery.subscription_id, delivery.interval
        ):
            self._ledger.record(
                replace(
                    delivery, state=DeliveryState.DELIVERED, reason="nodeResponded already true"
                ),
                request,
            )
            return
        if outcome is TxOutcome.LOST and await self.rebroadcast(delivery.raw_tx):
            log.info("re-broadcast %s (the endpoint had forgotten it)", delivery.tx_hash)
            return
        attempts = delivery.attempts + 1
        reason = "transaction reverted" if outcome is TxOutcome.REVERTED else "transaction lost"
        state = DeliveryState.FAILED if self._retry.exhausted(attempts) else DeliveryState.PENDING
        self._ledger.record(
            replace(delivery, state=state, attempts=attempts, reason=reason, raw_tx=""), request
        )

    async def tx_outcome(self, tx_hash: str) -> TxOutcome | None:
        """What became of the transaction; None while it is still pending."""
        receipt = await self._client.receipt(tx_hash)
        if receipt is not None:
            return TxOutcome.MINED if receipt.status == TxOutcome.MINED else TxOutcome.REVERTED
        if await self._client.transaction_known(tx_hash):
            return None  # in the mempool: wait, never send a second transaction
        return TxOutcome.LOST

    async def responded(self, subscription_id: int, interval: int) -> bool:
        """Whether the Coordinator records this node's answer for the interval."""
        key = responded_key(subscription_id, interval, self._node_address)
        (responded,) = await self._client.call(self._coordinator, COORDINATOR.node_responded, key)
        return bool(responded)

    async def rebroadcast(self, raw_tx: str) -> bool:
        """Send the stored signed transaction again; False when its nonce is already used."""
        if not raw_tx:
            return False
        try:
            await self._client.send_raw(raw_tx)
        except ChainError as e:
            log.info("re-broadcast refused: %s", e.reason)
            return False
        return True
