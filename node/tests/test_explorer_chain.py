"""The explorer's chain views over a real store: the phase filter in SQL agrees with the
interval maths (schedule_at) for any subscription and chain time, and `next_due` says which
interval is due next and when."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from infernet_devnode.chain.delivery import Delivery
from infernet_devnode.chain.delivery import DeliveryState
from infernet_devnode.chain.intervals import schedule_at
from infernet_devnode.chain.readout import ChainReadout
from infernet_devnode.chain.store import ChainStore
from infernet_devnode.chain.store import Fulfillment
from infernet_devnode.chain.subscriptions import ContainerLookup
from infernet_devnode.chain.subscriptions import Subscription
from infernet_devnode.chain.subscriptions import container_set_hash
from infernet_devnode.chain.views import ChainView
from infernet_devnode.chain.views import next_due
from infernet_devnode.explorer.queries import DELEGATION_STATES
from infernet_devnode.explorer.queries import SUBSCRIPTION_STATES
from infernet_devnode.explorer.queries import DelegationQuery
from infernet_devnode.explorer.queries import SubscriptionQuery
from infernet_devnode.store import Store

OWNER = "0x" + "11" * 20
ZERO = "0x" + "00" * 20
UINT32_MAX = 2**32 - 1
PHASES = ("active", "not_active", "completed", "cancelled")


def subscription(sub_id: int, active_at: int, period: int, frequency: int, *containers: str):
    return Subscription(
        id=sub_id,
        owner=OWNER,
        active_at=active_at,
        period=period,
        frequency=frequency,
        redundancy=1,
        container_id=container_set_hash(containers or ("echo",)),
        lazy=False,
        verifier=ZERO,
        payment_amount=0,
        payment_token=ZERO,
        wallet=ZERO,
    )


class Chain:
    """A store with chain tables and a view over it at a settable chain time."""

    def __init__(self, path: Path) -> None:
        self.db = Store(path).open()
        self.store = ChainStore(self.db)
        self.now = 0
        self.client: object = None  # these views make no RPC call unless a test sets one
        self.view = ChainView(self.readout, self.db.connection)

    def readout(self) -> ChainReadout:
        return ChainReadout(
            store=self.store,
            client=self.client,  # type: ignore[arg-type]
            lookup=ContainerLookup.build(["echo", "wrap"]),
            tracked=frozenset(),
            address=OWNER,
            chain_id=31337,
            genesis_hash="0x00",
            head_block=1,
            chain_time=self.now,
            fault="",
            in_flight=0,
        )

    def ids(self, **query: object) -> list[int]:
        page = self.view.subscriptions(SubscriptionQuery(limit=200, **query))  # type: ignore[arg-type]
        return [s["id"] for s in page["subscriptions"]]


class Unmined:
    """An endpoint that knows no receipt (block and gas used stay empty)."""

    async def receipt(self, tx_hash: str) -> None:
        return None


@pytest.fixture
def chain(tmp_path: Path):
    opened = Chain(tmp_path / "chain.sqlite3")
    yield opened
    opened.db.close()


schedules = st.tuples(
    st.one_of(st.integers(0, 10_000), st.just(UINT32_MAX)),  # active_at (max: cancelled)
    st.integers(0, 100),  # period
    st.integers(1, 20),  # frequency
)


@settings(max_examples=40, deadline=None)
@given(subs=st.lists(schedules, min_size=1, max_size=12), now=st.integers(0, 12_000))
def test_phase_filter_agrees_with_schedule_at(tmp_path_factory, subs, now):
    chain = Chain(tmp_path_factory.mktemp("phase") / "chain.sqlite3")
    try:
        made = [subscription(i + 1, *values) for i, values in enumerate(subs)]
        for sub in made:
            chain.store.put_subscription(sub, tracked=True)
        chain.now = now
        for phase in PHASES:
            expected = sorted(
                (s.id for s in made if schedule_at(s, now).phase.name.lower() == phase),
                reverse=True,
            )
            assert chain.ids(state=phase) == expected, phase
    finally:
        chain.db.close()


def test_next_due_follows_chain_time_and_deliveries(chain: Chain):
    sub = subscription(1, 1_000, 60, 3)
    chain.store.put_subscription(sub, tracked=True)
    due = lambda now: next_due(sub, now, chain.store.delivery)  # noqa: E731

    assert due(900) == {"interval": 1, "at": 1_000, "in_seconds": 100}
    assert due(1_010) == {"interval": 1, "at": 1_000, "in_seconds": 0}
    chain.store.put_delivery(Delivery(1, 1, DeliveryState.DELIVERED, tx_hash="0x01"))
    assert due(1_010) == {"interval": 2, "at": 1_060, "in_seconds": 50}
    chain.store.put_delivery(Delivery(1, 3, DeliveryState.FAILED, reason="reverted"))
    assert due(1_130) is None  # the last interval is over for this node
    assert due(1_200) is None  # completed


def test_subscription_list_filters_and_pages(chain: Chain):
    for sub_id in range(1, 8):
        containers = ("echo", "wrap") if sub_id % 2 else ("wrap",)
        chain.store.put_subscription(
            subscription(sub_id, 0, 10, 5, *containers), tracked=sub_id != 3, reason="x"
        )
    chain.now = 20

    assert chain.ids() == [7, 6, 5, 4, 3, 2, 1]
    assert chain.ids(state="ignored") == [3]
    assert chain.ids(container="echo") == [7, 5, 3, 1]
    assert chain.ids(container="nope") == []
    assert chain.ids(subscription_id=4) == [4]
    page = chain.view.subscriptions(SubscriptionQuery(limit=3))
    assert page["total"] == 7
    assert page["next"] == 5
    assert chain.ids(before=5) == [4, 3, 2, 1]
    first = page["subscriptions"][0]
    assert first["containers"] == ["echo", "wrap"]
    assert first["phase"] == "active"
    assert first["interval"] == 3
    assert first["next_due"] == {"interval": 3, "at": 20, "in_seconds": 0}


def test_subscription_page_lists_deliveries_newest_first(chain: Chain):
    chain.store.put_subscription(subscription(9, 0, 10, 5), tracked=True)
    for interval in (1, 2, 3):
        chain.store.put_delivery(Delivery(9, interval, DeliveryState.SKIPPED, reason="passed"))
    body = asyncio.run(chain.view.subscription(9, limit=2, before=None))
    assert body is not None
    assert [d["interval"] for d in body["deliveries"]] == [3, 2]
    assert body["deliveries_total"] == 3
    assert body["next"] == 2
    older = asyncio.run(chain.view.subscription(9, limit=2, before=2))
    assert older is not None
    assert [d["interval"] for d in older["deliveries"]] == [1]
    assert asyncio.run(chain.view.subscription(10, limit=2, before=None)) is None


def test_subscription_page_pages_every_interval_any_node_answered(chain: Chain):
    """Intervals delivered only by other nodes are listed too, with this node's fields empty;
    each lists every logged delivery in chain order, this node's marked."""
    other = "0x" + "22" * 20
    chain.client = Unmined()
    chain.store.put_subscription(subscription(9, 0, 10, 5), tracked=True)
    chain.store.put_delivery(Delivery(9, 1, DeliveryState.DELIVERED, tx_hash="0xaa"))
    logged = [
        Fulfillment(9, 1, other, "0xbb", block_number=5, log_index=0),
        Fulfillment(9, 1, OWNER, "0xaa", block_number=6, log_index=1),
        Fulfillment(9, 2, other, "0xcc", block_number=8, log_index=0),
        Fulfillment(9, 4, other, "0xdd", block_number=9, log_index=0),
    ]
    chain.store.put_fulfillments(logged)
    chain.store.put_fulfillments(logged[:1])  # a log read again is recorded once
    body = asyncio.run(chain.view.subscription(9, limit=2, before=None))
    assert body is not None
    assert body["deliveries_total"] == 3
    assert [d["interval"] for d in body["deliveries"]] == [4, 2]
    assert body["next"] == 2
    assert body["deliveries"][0]["state"] is None
    assert body["deliveries"][0]["nodes"] == [
        {"node": other, "this_node": False, "tx_hash": "0xdd", "block": 9}
    ]
    assert body["last"]["interval"] == 1  # this node's latest delivery
    older = asyncio.run(chain.view.subscription(9, limit=2, before=2))
    assert older is not None
    (first,) = older["deliveries"]
    assert first["state"] == "delivered"
    assert [(n["node"], n["this_node"]) for n in first["nodes"]] == [
        (other, False),
        (OWNER, True),
    ]


def test_states_are_the_documented_ones():
    assert set(SUBSCRIPTION_STATES) == {*PHASES, "tracked", "ignored"}
    # the explorer filters delegated requests by state name without importing the chain half
    assert tuple(state.name.lower() for state in DeliveryState) == DELEGATION_STATES


def test_delegations_empty(chain: Chain):
    page = chain.view.delegations(DelegationQuery(limit=10))
    assert page == {"total": 0, "delegations": [], "next": None}
