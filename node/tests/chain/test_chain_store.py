"""Chain tables in the node's SQLite store: what a restart reads back is what was written."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from infernet_devnode.chain.delivery import Delivery
from infernet_devnode.chain.delivery import DeliveryState
from infernet_devnode.chain.eip712 import SignedDelegation
from infernet_devnode.chain.rpc import ChainIdentity
from infernet_devnode.chain.store import ChainStore
from infernet_devnode.store import Store
from samples import make_sub

BIG = 2**255 + 12345  # r and s are full uint256 values


@pytest.fixture
def store() -> Iterator[Store]:
    opened = Store(":memory:").open()
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def chain_store(store: Store) -> ChainStore:
    return ChainStore(store)


ANVIL_A = ChainIdentity(31337, "0x" + "aa" * 32)
ANVIL_B = ChainIdentity(31337, "0x" + "bb" * 32)


def test_deliveries_round_trip_and_filter_by_state(chain_store: ChainStore) -> None:
    sent = Delivery(7, 2, DeliveryState.SENT, attempts=1, tx_hash="0xab", raw_tx="0xcd")
    chain_store.put_delivery(sent)
    chain_store.put_delivery(Delivery(7, 1, DeliveryState.DELIVERED))
    again = chain_store.delivery(7, 2)
    assert again is not None
    assert (again.state, again.attempts, again.tx_hash, again.raw_tx) == (
        DeliveryState.SENT,
        1,
        "0xab",
        "0xcd",
    )
    assert [d.interval for d in chain_store.deliveries_in(DeliveryState.SENT)] == [2]
    assert [d.interval for d in chain_store.deliveries_of(7)] == [1, 2]
    assert chain_store.delivery_counts() == {DeliveryState.SENT: 1, DeliveryState.DELIVERED: 1}


def test_subscriptions_and_delegations_round_trip(chain_store: ChainStore) -> None:
    sub = make_sub(payment_amount=BIG)
    chain_store.put_subscription(sub, tracked=False, reason="cancelled")
    record = chain_store.subscription(sub.id)
    assert record is not None
    assert (record.subscription, record.tracked, record.reason) == (sub, False, "cancelled")

    delegation = SignedDelegation(make_sub(id=0), 5, 99, 28, BIG, BIG - 1, {"input": "x"})
    chain_store.put_delegation(delegation, Delivery(0, 1, DeliveryState.PENDING))
    back = chain_store.delegation(delegation.subscription.owner, 5)
    assert back is not None
    assert back.delegation == delegation
    assert [r.delegation.nonce for r in chain_store.delegations_in(DeliveryState.PENDING)] == [5]


def test_same_chain_keeps_the_rows(chain_store: ChainStore) -> None:
    assert chain_store.adopt(ANVIL_A) is None  # a new store takes the first chain it meets
    chain_store.put_delivery(Delivery(1, 1, DeliveryState.DELIVERED))
    assert chain_store.adopt(ANVIL_A) is None
    assert chain_store.delivery(1, 1) is not None
    assert chain_store.identity() == ANVIL_A


def test_another_chain_clears_chain_rows_but_not_job_records(
    store: Store, chain_store: ChainStore
) -> None:
    chain_store.adopt(ANVIL_A)
    chain_store.put_delivery(Delivery(1, 1, DeliveryState.DELIVERED))
    chain_store.put_subscription(make_sub(id=1), tracked=True)
    delegation = SignedDelegation(make_sub(id=0), 5, 99, 28, BIG, BIG - 1, {"input": "x"})
    chain_store.put_delegation(delegation, Delivery(0, 0, DeliveryState.PENDING))
    store.connection.execute("CREATE TABLE offchain_marker (id INTEGER)")
    store.connection.execute("INSERT INTO offchain_marker VALUES (1)")

    assert chain_store.adopt(ANVIL_B) == ANVIL_A
    assert chain_store.identity() == ANVIL_B
    assert chain_store.delivery(1, 1) is None
    assert chain_store.subscription(1) is None
    assert chain_store.delegation(delegation.subscription.owner, 5) is None
    assert store.connection.execute("SELECT COUNT(*) FROM offchain_marker").fetchone()[0] == 1
