"""Interval and activeAt math on chain time (pure).

`now` is always a block timestamp, never the local clock: upstream compares against wall-clock
time (infernet-node v1.4.0), which breaks as soon as a chain's clock is moved with
`evm_increaseTime` or drifts. The rules match Coordinator.deliverCompute (infernet-sdk v1.1.0):
active once `now >= activeAt`, interval k covers `[activeAt + (k-1)*period, activeAt + k*period)`,
one-shot subscriptions are always interval 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from .subscriptions import Subscription

__all__ = [
    "Phase",
    "Schedule",
    "interval_at",
    "interval_start",
    "schedule_at",
]


class Phase(IntEnum):
    """Where a subscription stands at a given chain time."""

    NOT_ACTIVE = 0  # before activeAt: nothing can be delivered yet
    ACTIVE = 1  # `interval` can be delivered now
    COMPLETED = 2  # past its last interval (interval > frequency)
    CANCELLED = 3  # activeAt == type(uint32).max
    MISSING = 4  # the id does not exist (all-zero struct)


@dataclass(frozen=True)
class Schedule:
    """The phase at `now`, the interval deliverable now (0 when none) and when to look again.

    `wake_at` is the next chain time at which the answer changes (the next interval start, or
    activeAt), or None when it never will.
    """

    phase: Phase
    interval: int
    wake_at: int | None


def interval_at(sub: Subscription, now: int) -> int:
    """Coordinator.getSubscriptionInterval for an active subscription (1-based)."""
    if sub.period == 0:
        return 1
    return (now - sub.active_at) // sub.period + 1


def interval_start(sub: Subscription, interval: int) -> int:
    """First chain time at which `interval` is deliverable."""
    return sub.active_at + (interval - 1) * sub.period


def schedule_at(sub: Subscription, now: int) -> Schedule:
    """What the subscription allows at chain time `now`."""
    if not sub.exists:
        return Schedule(Phase.MISSING, 0, None)
    if sub.is_cancelled:
        return Schedule(Phase.CANCELLED, 0, None)
    if now < sub.active_at:
        return Schedule(Phase.NOT_ACTIVE, 0, sub.active_at)
    interval = interval_at(sub, now)
    if interval > sub.frequency:
        return Schedule(Phase.COMPLETED, 0, None)
    wake_at = None
    if sub.period > 0 and interval < sub.frequency:
        wake_at = interval_start(sub, interval + 1)
    return Schedule(Phase.ACTIVE, interval, wake_at)
