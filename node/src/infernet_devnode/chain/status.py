"""What this node knows and did about one subscription or one delegated request, as plain data.

The bodies of ``GET /api/subscriptions/{id}`` and ``GET /api/delegations/{owner}/{nonce}``
(docs/devnode.md), read from the chain tables and the tracked subscriptions of a `ChainReadout`.
"""

from __future__ import annotations

from typing import Any

from .delivery import Delivery
from .intervals import schedule_at
from .readout import ChainReadout
from .store import DelegationRecord

__all__ = ["delegation_status", "delivery_json", "subscription_status"]


def subscription_status(chain: ChainReadout, subscription_id: int) -> dict[str, Any] | None:
    """The subscription as last read from the chain, whether and why it is served, its phase on
    chain time and every delivery of it; None when the node knows nothing of it."""
    record = chain.store.subscription(subscription_id)
    deliveries = chain.store.deliveries_of(subscription_id)
    if record is None and not deliveries:
        return None
    body: dict[str, Any] = {"id": subscription_id}
    if record is not None:
        sub = record.subscription
        schedule = schedule_at(sub, chain.chain_time)
        body.update(
            tracked=sub.id in chain.tracked,
            reason=record.reason,
            containers=list(chain.lookup.resolve(sub.container_id)),
            phase=schedule.phase.name.lower(),
            interval=schedule.interval,
            subscription=sub.as_json(),
        )
    body["deliveries"] = [delivery_json(d) for d in deliveries]
    body["last"] = delivery_json(deliveries[-1]) if deliveries else None
    return body


def delegation_status(chain: ChainReadout, record: DelegationRecord) -> dict[str, Any]:
    """One delegated request and what became of its delivery."""
    delegation, delivery = record.delegation, record.delivery
    sub = delegation.subscription
    return {
        "owner": sub.owner,
        "nonce": delegation.nonce,
        "expiry": delegation.expiry,
        "containers": list(chain.lookup.resolve(sub.container_id)),
        "subscription": sub.as_json(),
        # the Coordinator's id once deliverComputeDelegatee created it (null before)
        "subscription_id": delivery.subscription_id or None,
        **delivery_json(delivery),
    }


def delivery_json(d: Delivery) -> dict[str, Any]:
    """One delivery: its interval, state, attempts, transaction and why it failed, if it did."""
    return {
        "interval": d.interval,
        "state": d.state.name.lower(),
        "attempts": d.attempts,
        "tx_hash": d.tx_hash or None,
        "reason": d.reason,
        "container_error": d.container_error,
        "updated_at": d.updated_at,
    }
