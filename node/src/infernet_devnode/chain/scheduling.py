"""Which (subscription, interval) deliveries to start at a given chain time (pure).

The decision reads only chain time (the head block's timestamp, where upstream uses wall-clock
time), the tracked subscriptions and what this node already
recorded for each interval; starting the work is the caller's job.
"""

from __future__ import annotations

from collections.abc import Container
from collections.abc import Mapping
from dataclasses import dataclass

from .delivery import DeliveryState
from .intervals import Phase
from .intervals import schedule_at
from .subscriptions import Subscription

__all__ = ["DeliveryKey", "SchedulePlan", "plan_deliveries"]

# (subscription id, interval)
DeliveryKey = tuple[int, int]


@dataclass(frozen=True)
class SchedulePlan:
    """Deliveries to start now, and subscriptions with nothing left for this node to do."""

    start: tuple[tuple[Subscription, int], ...] = ()
    completed: tuple[Subscription, ...] = ()


def plan_deliveries(
    tracked: Mapping[int, Subscription],
    states: Mapping[DeliveryKey, DeliveryState],
    running: Container[object],
    now: int,
) -> SchedulePlan:
    """Plan the deliveries due at chain time `now`.

    Args:
        tracked: subscription id -> subscription, for every subscription this node serves.
        states: the recorded state of every (subscription, interval) this node touched.
        running: keys whose delivery task is already running.
        now: chain time (unix seconds of the head block).
    """
    start: list[tuple[Subscription, int]] = []
    completed: list[Subscription] = []
    for sub_id, sub in tracked.items():
        schedule = schedule_at(sub, now)
        if schedule.phase is Phase.COMPLETED:
            completed.append(sub)
            continue
        if schedule.phase is not Phase.ACTIVE:
            continue
        key = (sub_id, schedule.interval)
        state = states.get(key)
        if state is None or state is DeliveryState.PENDING:
            if key not in running:
                start.append((sub, schedule.interval))
        elif state.final and sub.is_callback:
            # a callback has one interval: once it is settled there is nothing left to do
            completed.append(sub)
    return SchedulePlan(tuple(start), tuple(completed))
