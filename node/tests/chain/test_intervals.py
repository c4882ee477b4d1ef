"""chain/intervals.py: the Coordinator's interval rules on chain time."""

from __future__ import annotations

import pytest
from infernet_devnode.chain.intervals import Phase
from infernet_devnode.chain.intervals import schedule_at
from infernet_devnode.chain.subscriptions import CANCELLED_ACTIVE_AT
from infernet_devnode.chain.subscriptions import ZERO_ADDRESS
from samples import make_sub


@pytest.mark.parametrize(
    ("now", "phase", "interval", "wake_at"),
    [
        pytest.param(999, Phase.NOT_ACTIVE, 0, 1_000, id="before-activeAt"),
        pytest.param(1_000, Phase.ACTIVE, 1, 1_060, id="at-activeAt"),
        pytest.param(1_059, Phase.ACTIVE, 1, 1_060, id="end-of-first"),
        pytest.param(1_060, Phase.ACTIVE, 2, 1_120, id="second"),
        pytest.param(1_120, Phase.ACTIVE, 3, None, id="last"),
        pytest.param(1_180, Phase.COMPLETED, 0, None, id="past-frequency"),
    ],
)
def test_schedule_follows_the_coordinator_rules(
    now: int, phase: Phase, interval: int, wake_at: int | None
) -> None:
    schedule = schedule_at(make_sub(), now)
    assert (schedule.phase, schedule.interval, schedule.wake_at) == (phase, interval, wake_at)


def test_callback_is_always_interval_one() -> None:
    sub = make_sub(period=0, frequency=1)
    assert schedule_at(sub, 10**9).interval == 1


def test_cancelled_and_missing() -> None:
    assert schedule_at(make_sub(active_at=CANCELLED_ACTIVE_AT), 5_000).phase is Phase.CANCELLED
    assert schedule_at(make_sub(owner=ZERO_ADDRESS), 5_000).phase is Phase.MISSING
