"""The subscriptions this node serves: admitted by the guardian rules, until done or cancelled.

Every decision is written to the chain store with its reason, so `GET /api/subscriptions/{id}`
can say why a subscription for one of our container sets is (no longer) served.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Mapping
from collections.abc import Sequence

from .intervals import Phase
from .intervals import interval_at
from .intervals import schedule_at
from .store import ChainStore
from .store import Fulfillment
from .subscriptions import ContainerLookup
from .subscriptions import ContainerPolicy
from .subscriptions import Subscription
from .subscriptions import admit_subscription
from .sync import FulfilledLog

__all__ = ["TrackedSubscriptions"]

log = logging.getLogger(__name__)


class TrackedSubscriptions(Mapping[int, Subscription]):
    """Subscription id -> subscription for every subscription this node serves.

    Args:
        rules: the configured containers' admission rules, by container id.
        payment_address: the node's wallet (`chain.wallet.payment_address`), if any.
        store: where each decision and its reason is recorded.
    """

    def __init__(
        self,
        rules: Mapping[str, ContainerPolicy],
        payment_address: str | None,
        store: ChainStore,
    ) -> None:
        self.rules = dict(rules)
        self.lookup = ContainerLookup.build(self.rules)
        self._payment_address = payment_address
        self._store = store
        self._subs: dict[int, Subscription] = {}
        # the ordered containers serving each tracked subscription
        self._containers: dict[int, tuple[str, ...]] = {}
        # ids whose SubscriptionCreated this process saw (their first interval is unanswered)
        self._fresh: set[int] = set()

    def __getitem__(self, subscription_id: int) -> Subscription:
        return self._subs[subscription_id]

    def __iter__(self) -> Iterator[int]:
        return iter(self._subs)

    def __len__(self) -> int:
        return len(self._subs)

    def consider(self, sub: Subscription, *, fresh: bool, now: int) -> None:
        """Guardian + bookkeeping for a subscription read from the chain at chain time `now`."""
        if not sub.exists or sub.id in self._subs:
            return
        admission = admit_subscription(sub, self.lookup, self.rules, self._payment_address)
        if not admission.accepted:
            if admission.containers:  # ours by container, refused by a rule: worth showing
                self._store.put_subscription(sub, tracked=False, reason=admission.reason)
            log.debug("subscription %d not tracked: %s", sub.id, admission.reason)
            return
        phase = schedule_at(sub, now).phase
        if phase in (Phase.CANCELLED, Phase.COMPLETED):
            self._store.put_subscription(sub, tracked=False, reason=phase.name.lower())
            return
        self._subs[sub.id] = sub
        self._containers[sub.id] = admission.containers
        if fresh:
            self._fresh.add(sub.id)
        self._store.put_subscription(sub, tracked=True)

    def consider_all(self, subs: Iterable[Subscription], *, fresh: bool, now: int) -> None:
        """`consider` each, with their records written in one transaction."""
        with self._store.batch():
            for sub in subs:
                self.consider(sub, fresh=fresh, now=now)

    def cancelled(self, subscription_id: int) -> None:
        """A SubscriptionCancelled log: stop serving it."""
        sub = self._subs.pop(subscription_id, None)
        if sub is None:
            return
        self._containers.pop(subscription_id, None)
        log.info("subscription cancelled: %d", subscription_id)
        self._store.put_subscription(sub, tracked=False, reason="cancelled")

    def fulfilled(self, logs: Sequence[FulfilledLog]) -> None:
        """Record every node's logged deliveries to subscriptions this node knows (served or
        refused by a rule), with the interval current at their block (see `Fulfillment`)."""
        known: list[Fulfillment] = []
        for entry in logs:
            sub = self._subs.get(entry.subscription_id)
            if sub is None:
                record = self._store.subscription(entry.subscription_id)
                if record is None:
                    continue
                sub = record.subscription
            known.append(
                Fulfillment(
                    subscription_id=sub.id,
                    interval=interval_at(sub, entry.block_time),
                    node=entry.node,
                    tx_hash=entry.tx_hash,
                    block_number=entry.block_number,
                    log_index=entry.log_index,
                )
            )
        if known:
            self._store.put_fulfillments(known)

    def untrack(self, sub: Subscription, reason: str) -> None:
        """Nothing left for this node to do (e.g. "completed")."""
        self._fresh.discard(sub.id)
        self._subs.pop(sub.id, None)
        self._containers.pop(sub.id, None)
        self._store.put_subscription(sub, tracked=False, reason=reason)

    def forget_all(self) -> None:
        """Drop every tracked subscription (the next snapshot finds them again)."""
        self._subs.clear()
        self._containers.clear()

    def reset(self) -> None:
        """Forget everything, fresh ids included (the endpoint now serves another chain)."""
        self.forget_all()
        self._fresh.clear()

    def containers_for(self, sub: Subscription) -> tuple[str, ...]:
        """The ordered container ids that serve `sub`."""
        return self._containers.get(sub.id) or self.lookup.resolve(sub.container_id)

    def is_fresh(self, subscription_id: int) -> bool:
        """Whether this process saw the subscription being created."""
        return subscription_id in self._fresh
