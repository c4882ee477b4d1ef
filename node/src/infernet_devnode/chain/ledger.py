"""The ledger: what this node did about every delivery, in memory and durably in the store.

One object owns the state of deliveries of both kinds: a (subscription, interval) this node
serves, and a delegated request (keyed (owner, nonce), answered by the `deliverComputeDelegatee`
that creates its subscription). It holds the latest state of each, the requests not settled yet,
the broadcast transactions of either kind by hash, the delivery tasks in flight, and the hook told
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
from collections.abc import Iterator
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import replace

from .delivery import Delivery
from .delivery import DeliveryState
from .eip712 import SignedDelegation
from .rpc import ChainIdentity
from .scheduling import DeliveryKey
from .store import ChainStore
from .store import DelegationRecord

__all__ = ["DelegationKey", "DeliveryLedger", "Sent", "TaskKey", "task_key"]

log = logging.getLogger(__name__)

# A delegated request: (subscription owner, signature nonce), as the Coordinator keys it.
DelegationKey = tuple[str, int]
# A delivery task: (subscription, interval), or (owner, nonce) for a delegated request.
TaskKey = DeliveryKey | DelegationKey


def task_key(delivery: Delivery, request: SignedDelegation | None = None) -> TaskKey:
    """The key of a delivery: its request's (owner, nonce) when it answers a delegated request,
    else its (subscription, interval)."""
    if request is not None:
        return (request.subscription.owner, request.nonce)
    return (delivery.subscription_id, delivery.interval)


@dataclass(frozen=True)
class Sent:
    """A broadcast delivery waiting for its receipt, with the delegated request it answers
    (None for a subscription the node found on chain)."""

    delivery: Delivery
    request: SignedDelegation | None = None

    @property
    def key(self) -> TaskKey:
        return task_key(self.delivery, self.request)


def _ignore(delivery: Delivery) -> None:
    return None


def _close_unstarted(work: Awaitable[None]) -> None:
    """A task cancelled before its first step never awaited `work`: close it quietly."""
    if inspect.iscoroutine(work) and inspect.getcoroutinestate(work) == inspect.CORO_CREATED:
        work.close()


class DeliveryLedger:
    """Delivery records of both kinds, the requests not settled yet, and in-flight tasks.

    Args:
        store: the durable records.
        on_final: told once per (subscription, interval) when it becomes DELIVERED, SKIPPED or
            FAILED.
    """

    def __init__(self, store: ChainStore, on_final: Callable[[Delivery], None] = _ignore) -> None:
        self._store = store
        self._on_final = on_final
        self._states: dict[DeliveryKey, DeliveryState] = {}
        # Kept up to date with `_states` by `_set`, so that /metrics and the in-flight count,
        # read many times a second, cost the same however many deliveries were recorded.
        self._counts: Counter[DeliveryState] = Counter()
        self._latest: dict[int, int] = {}  # subscription id -> highest interval recorded
        # Delegated requests not final yet, and the state of each.
        self._requests: dict[DelegationKey, SignedDelegation] = {}
        self._request_states: dict[DelegationKey, DeliveryState] = {}
        # The SENT deliveries of both kinds, in the order they were sent, by key and by
        # transaction (lower case).
        self._sent: dict[TaskKey, str] = {}
        self._sent_by_tx: dict[str, TaskKey] = {}
        self._tasks: dict[TaskKey, asyncio.Task[None]] = {}

    # ------------------------------------------------------------------ records

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
            self._set(self._resumed(delivery))
        for record in self._store.delegations_in(
            DeliveryState.PENDING, DeliveryState.RUNNING, DeliveryState.SENT
        ):
            self._set_request(record.delegation, self._resumed(record.delivery, record.delegation))

    def _resumed(self, delivery: Delivery, request: SignedDelegation | None = None) -> Delivery:
        if delivery.state is not DeliveryState.RUNNING:
            return delivery
        pending = replace(delivery, state=DeliveryState.PENDING)
        if request is None:
            return self._store.put_delivery(pending)
        return self._store.put_delegation(request, pending)

    def record(self, delivery: Delivery, request: SignedDelegation | None = None) -> Delivery:
        """Persist a delivery's new state: of a (subscription, interval), or with `request` of
        that delegated request. A final one keeps no signed transaction.

        `on_final` is told once when a (subscription, interval) becomes final. A delegated
        request delivered is also recorded as its created subscription's delivery of that
        interval, so the scheduler sees the interval answered.
        """
        if delivery.state.final:
            delivery = replace(delivery, raw_tx="")
        if request is not None:
            self._set_request(request, delivery)
            stored = self._store.put_delegation(request, delivery)
            if delivery.state is DeliveryState.DELIVERED and delivery.subscription_id:
                self.record(delivery)
            return stored
        before = self._set(delivery)
        if delivery.state.final and (before is None or not before.final):
            self._on_final(delivery)
        return self._store.put_delivery(delivery)

    def _set(self, delivery: Delivery) -> DeliveryState | None:
        """Set one (subscription, interval)'s state in memory; returns the state it had."""
        sub_id, interval, state = delivery.subscription_id, delivery.interval, delivery.state
        key = (sub_id, interval)
        before = self._states.get(key)
        if before is not None:
            self._counts[before] -= 1
        self._states[key] = state
        self._counts[state] += 1
        self._index_sent(key, delivery)
        self._latest[sub_id] = max(interval, self._latest.get(sub_id, interval))
        return before

    def _set_request(self, request: SignedDelegation, delivery: Delivery) -> None:
        """Set one delegated request's state in memory (a final one is forgotten there)."""
        key = (request.subscription.owner, request.nonce)
        if delivery.state.final:
            self._requests.pop(key, None)
            self._request_states.pop(key, None)
        else:
            self._requests[key] = request
            self._request_states[key] = delivery.state
        self._index_sent(key, delivery)

    def _index_sent(self, key: TaskKey, delivery: Delivery) -> None:
        tx_hash = self._sent.pop(key, None)
        if tx_hash is not None:
            self._sent_by_tx.pop(tx_hash, None)
        if delivery.state is DeliveryState.SENT:
            self._sent[key] = delivery.tx_hash.lower()
            self._sent_by_tx[delivery.tx_hash.lower()] = key

    def _clear(self) -> None:
        self._states.clear()
        self._counts.clear()
        self._latest.clear()
        self._requests.clear()
        self._request_states.clear()
        self._sent.clear()
        self._sent_by_tx.clear()

    def delivery(self, subscription_id: int, interval: int) -> Delivery | None:
        """The durable record of one (subscription, interval)."""
        return self._store.delivery(subscription_id, interval)

    def delegation(self, owner: str, nonce: int) -> DelegationRecord | None:
        """The durable record of one delegated request."""
        return self._store.delegation(owner, nonce)

    def state(self, subscription_id: int, interval: int) -> DeliveryState | None:
        return self._states.get((subscription_id, interval))

    @property
    def states(self) -> Mapping[DeliveryKey, DeliveryState]:
        """(subscription, interval) -> state, for every delivery this node touched."""
        return self._states

    def counts(self) -> dict[DeliveryState, int]:
        """How many (subscription, interval) deliveries are in each state (states with none
        left out)."""
        return {state: n for state, n in self._counts.items() if n}

    @property
    def requests(self) -> Mapping[DelegationKey, SignedDelegation]:
        """The delegated requests not final yet (pending, running or sent)."""
        return self._requests

    def waiting_requests(self) -> Iterator[tuple[DelegationKey, SignedDelegation]]:
        """The delegated requests in state PENDING (accepted, not started or to try again)."""
        for key, request in list(self._requests.items()):
            if self._request_states.get(key) is DeliveryState.PENDING:
                yield key, request

    def is_sent(self, key: TaskKey) -> bool:
        """Whether the delivery is recorded SENT (its signed transaction persisted)."""
        return key in self._sent

    def sent(
        self, *, mined: Iterable[str] | None = None, also: Iterable[TaskKey] = ()
    ) -> list[Sent]:
        """Deliveries of both kinds broadcast and waiting for their receipt: all of them, or
        with `mined` (lower-case transaction hashes) those whose transaction is in it, and those
        in `also`.

        Every new block asks for the ones it mined, while the endpoint may still hold hundreds
        in its pool (a burst sends faster than anvil mines): finding them by hash keeps a
        block's cost to what it mined, whatever the number in flight.
        """
        if mined is None:  # one query per kind for all of them
            return [Sent(d) for d in self._store.deliveries_in(DeliveryState.SENT)] + [
                Sent(r.delivery, r.delegation)
                for r in self._store.delegations_in(DeliveryState.SENT)
            ]
        keys = dict.fromkeys(self._sent_by_tx[tx] for tx in mined if tx in self._sent_by_tx)
        keys.update(dict.fromkeys(key for key in also if key in self._sent))
        found = (self._stored(key) for key in keys)
        return [s for s in found if s is not None and s.delivery.state is DeliveryState.SENT]

    def _stored(self, key: TaskKey) -> Sent | None:
        first, second = key
        if isinstance(first, str):
            record = self._store.delegation(first, second)
            return None if record is None else Sent(record.delivery, record.delegation)
        delivery = self._store.delivery(first, second)
        return None if delivery is None else Sent(delivery)

    def last_outcomes(self, tracked: Iterable[int]) -> dict[int, tuple[int, DeliveryState]]:
        """Tracked subscription id -> (latest interval worked on, its state), for those with
        a recorded delivery."""
        latest: dict[int, tuple[int, DeliveryState]] = {}
        for sub_id in tracked:
            interval = self._latest.get(sub_id)
            if interval is not None:
                latest[sub_id] = (interval, self._states[(sub_id, interval)])
        return latest

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
        """Deliveries of both kinds being worked on or waiting for their receipt."""
        return len(self._tasks) + len(self._sent)

    async def cancel(self) -> None:
        """Cancel every delivery task and wait for them to end."""
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
