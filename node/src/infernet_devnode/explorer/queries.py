"""The explorer's queries over the chain side's tables: what a page of subscriptions or of
delegated requests asks for, and the states each list filters on (docs/explorer.md).

Plain values, so the HTTP face parses and bounds them without importing the chain half; the
chain side's views (``chain.views``) answer them.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DELEGATION_STATES", "SUBSCRIPTION_STATES", "DelegationQuery", "SubscriptionQuery"]

# A subscription's phase on chain time, or whether this node serves it.
SUBSCRIPTION_STATES = ("active", "not_active", "completed", "cancelled", "tracked", "ignored")
# The states of a delegated request: ``chain.delivery.DeliveryState``'s names, in lower case.
DELEGATION_STATES = ("pending", "running", "sent", "delivered", "skipped", "failed")


@dataclass(frozen=True)
class SubscriptionQuery:
    limit: int
    state: str | None = None  # one of SUBSCRIPTION_STATES
    container: str | None = None
    subscription_id: int | None = None
    before: int | None = None  # only ids below this cursor


@dataclass(frozen=True)
class DelegationQuery:
    limit: int
    state: str | None = None  # one of DELEGATION_STATES
    subscription_id: int | None = None
    owner: str | None = None
    before: int | None = None  # only rows below this cursor (a row id)
