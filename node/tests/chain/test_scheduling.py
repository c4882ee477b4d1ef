"""Which deliveries start at a given chain time (pure: no chain, no disk)."""

from __future__ import annotations

from infernet_devnode.chain.delivery import DeliveryState
from infernet_devnode.chain.scheduling import plan_deliveries
from samples import make_sub

# make_sub: active_at 1_000, period 60, frequency 3 (intervals 1..3 over [1_000, 1_180))
RECURRING = make_sub(id=7)
CALLBACK = make_sub(id=8, period=0, frequency=1)


def test_due_intervals_start_unless_recorded_or_running() -> None:
    tracked = {7: RECURRING, 8: CALLBACK}
    plan = plan_deliveries(tracked, {}, set(), 1_061)
    assert [(s.id, i) for s, i in plan.start] == [(7, 2), (8, 1)]
    assert plan.completed == ()

    pending = {(7, 2): DeliveryState.PENDING, (8, 1): DeliveryState.SENT}
    plan = plan_deliveries(tracked, pending, {(7, 2)}, 1_061)
    assert plan.start == ()  # (7, 2) has a task, (8, 1) waits for its receipt


def test_not_yet_active_waits_and_past_the_last_interval_completes() -> None:
    assert plan_deliveries({7: RECURRING}, {}, set(), 999) == plan_deliveries({}, {}, set(), 0)
    plan = plan_deliveries({7: RECURRING}, {}, set(), 1_180)
    assert (plan.start, plan.completed) == ((), (RECURRING,))


def test_a_settled_callback_is_completed_a_settled_interval_is_not() -> None:
    states = {(7, 1): DeliveryState.DELIVERED, (8, 1): DeliveryState.FAILED}
    plan = plan_deliveries({7: RECURRING, 8: CALLBACK}, states, set(), 1_010)
    assert plan.start == ()
    assert plan.completed == (CALLBACK,)
