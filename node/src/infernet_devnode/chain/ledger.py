"""The ledger: what this node did about every delivery, in memory and durably in the store.

One object owns the state of deliveries: the latest state of each (subscription, interval) this
node touched, the delegated requests' records, the delivery tasks in flight, and the hook told
once when a delivery becomes final. Workers record through it; nothing else writes deliveries.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections import Counter
from collections.abc import Awaitable
from collections.abc import Callable
from collections.abc import Container
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import replace

from .delivery import Delivery
from .delivery import DeliveryState
from .eip712 import SignedDelegation
from .rpc import ChainIdentity
from .scheduling import DeliveryKey
from .store import ChainStore
from .store import DelegationRecord

__all__ = ["DeliveryLedger", "TaskKey"]

log = logging.getLogger(__name__)

# A delivery task: (subscription, interval), or (owner, nonce) for a delegated request.
TaskKey = DeliveryKey | tuple[str, int]


def _ignore(delivery: Delivery) -> None:
    return None


def _close_unstarted(work: Awaitable[None]) -> None:
    """A task cancelled before its first step never awaited `work`: close it quietly."""
    if inspect.iscoroutine(work) and inspect.getcoroutinestate(work) == inspect.CORO_CREATED:
        work.close()


class DeliveryLedger:
    """Delivery records, delegated-request records and in-flight delivery tasks of one node.

    Args:
        store: the durable records.
        on_final: told once per delivery when it becomes DELIVERED, SKIPPED or FAILED.
    """

    def __init__(self, store: ChainStore, on_final: Callable[[Delivery], None] = _ignore) -> None:
        self._store = store
        self._on_final = on_final
        self._states: dict[DeliveryKey, DeliveryState] = {}
        # Kept up to date with `_states` by `_set`, so that /metrics and the in-flight count,
        # read many times a second, cost the same however many deliveries were recorded.
        self._counts: Counter[DeliveryState] = Counter()
        self._latest: dict[int, int] = {}  # subscription id -> highest interval recorded
        # The SENT ones, in the order they were sent, by key and by transaction (lower case).
        self._sent: dict[DeliveryKey, str] = {}
        self._sent_by_tx: dict[str, DeliveryKey] = {}
        self._tasks: dict[TaskKey, asyncio.Task[None]] = {}

    # ------------------------------------------------------------------ deliveries

    def adopt(self, identity: ChainIdentity) -> ChainIdentity | None:
        """Bind the records to the endpoint's chain; returns the previous chain when the
        records described another one (they are then reset, in the store and in memory)."""
        previous = self._store.adopt(identity)
        if previous is not None:
            self._clear()
        return previous

    def load(self) -> None:
        """Rebuild the in-memory states from the store: a RUNNING row never reached the
        broadcast, so it is PENDING again (delegated requests too)."""
        self._clear()
        for delivery in self._store.deliveries_in(*DeliveryState):
            state = delivery.state
            if state is DeliveryState.RUNNING:
                state = DeliveryState.PENDING
                self._store.put_delivery(replace(delivery, state=state))
            self._set(replace(delivery, state=state))
        for record in self._store.delegations_in(DeliveryState.RUNNING):
            self._store.put_delegation(
                record.delegation, replace(record.delivery, state=DeliveryState.PENDING)
            )

    def record(self, delivery: Delivery) -> Delivery:
        """Persist a delivery's new state (and tell `on_final` once when it becomes final)."""
        before = self._set(delivery)
        if delivery.state.final and (before is None or not before.final):
            self._on_final(delivery)
        return self._store.put_delivery(delivery)

    def _set(self, delivery: Delivery) -> DeliveryState | None:
        """Set one delivery's state in memory; returns the state it had."""
        sub_id, interval, state = delivery.subscription_id, delivery.interval, delivery.state
        key = (sub_id, interval)
        before = self._states.get(key)
        if before is not None:
            self._counts[before] -= 1
        self._states[key] = state
        self._counts[state] += 1
        tx_hash = self._sent.pop(key, None)
        if tx_hash is not None:
            self._sent_by_tx.pop(tx_hash, None)
        if state is DeliveryState.SENT:
            self._sent[key] = delivery.tx_hash.lower()
            self._sent_by_tx[delivery.tx_hash.lower()] = key
        self._latest[sub_id] = max(interval, self._latest.get(sub_id, interval))
        return before

    def _clear(self) -> None:
        self._states.clear()
        self._counts.clear()
        self._latest.clear()
        self._sent.clear()
        self._sent_by_tx.clear()

    def delivery(self, subscription_id: int, interval: int) -> Delivery | None:
        """The durable record of one delivery."""
        return self._store.delivery(subscription_id, interval)

    def state(self, subscription_id: int, interval: int) -> DeliveryState | None:
        return self._states.get((subscription_id, interval))

    @property
    def states(self) -> Mapping[DeliveryKey, DeliveryState]:
        """(subscription, interval) -> state, for every delivery this node touched."""
        return self._states

    def counts(self) -> dict[DeliveryState, int]:
        """How many deliveries are in each state (states with none left out)."""
        return {state: n for state, n in self._counts.items() if n}

    def sent(
        self, *, mined: Iterable[str] | None = None, also: Iterable[DeliveryKey] = ()
    ) -> list[Delivery]:
        """Deliveries broadcast and waiting for their receipt: all of them, or with `mined`
        (lower-case transaction hashes) those whose transaction is in it, and those in `also`.

        Every new block asks for the ones it mined, while the endpoint may still hold hundreds
        in its pool (a burst sends faster than anvil mines): finding them by hash keeps a block's
        cost to what it mined, where reading every pending one made a burst cost n^2.
        """
        if mined is None:
            return self._store.deliveries_in(DeliveryState.SENT)  # one query for all of them
        keys = dict.fromkeys(self._sent_by_tx[tx] for tx in mined if tx in self._sent_by_tx)
        keys.update(dict.fromkeys(key for key in also if key in self._sent))
        found = (self._store.delivery(*key) for key in keys)
        return [d for d in found if d is not None and d.state is DeliveryState.SENT]

    def last_outcomes(self, tracked: Iterable[int]) -> dict[int, tuple[int, DeliveryState]]:
        """Tracked subscription id -> (latest interval worked on, its state), for those with
        a recorded delivery."""
        latest: dict[int, tuple[int, DeliveryState]] = {}
        for sub_id in tracked:
            interval = self._latest.get(sub_id)
            if interval is not None:
                latest[sub_id] = (interval, self._states[(sub_id, interval)])
        return latest

    # ------------------------------------------------------------------ delegated requests

    def delegation(self, owner: str, nonce: int) -> DelegationRecord | None:
        return self._store.delegation(owner, nonce)

    def delegations_in(self, *states: DeliveryState) -> list[DelegationRecord]:
        return self._store.delegations_in(*states)

    def record_delegation(self, delegation: SignedDelegation, delivery: Delivery) -> Delivery:
        """Persist a delegated request's new state."""
        return self._store.put_delegation(delegation, delivery)

    # ------------------------------------------------------------------ work in flight

    def busy(self, key: TaskKey) -> bool:
        """Whether a delivery task for this key is running."""
        return key in self._tasks

    @property
    def running(self) -> Container[object]:
        return self._tasks

    def start(self, key: TaskKey, work: Awaitable[None]) -> None:
        """Run one delivery task; a crash is logged, never fatal to the node."""

        async def run() -> None:
            try:
                await work
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug: keep the node alive, leave the trace in the log
                log.exception("delivery %s crashed", key)
            finally:
                self._tasks.pop(key, None)

        task = asyncio.create_task(run(), name=f"devnode-delivery-{key}")
        task.add_done_callback(lambda _: _close_unstarted(work))
        self._tasks[key] = task

    def in_flight(self) -> int:
        """Deliveries being worked on or waiting for their receipt."""
        return len(self._tasks) + self._counts[DeliveryState.SENT]

    async def cancel(self) -> None:
        """Cancel every delivery task and wait for them to end."""
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
