"""chain/ledger.py: one owner for delivery state, in memory and in the store."""

from __future__ import annotations

import asyncio
import random

from infernet_devnode.chain.delivery import Delivery
from infernet_devnode.chain.delivery import DeliveryState
from infernet_devnode.chain.eip712 import SignedDelegation
from infernet_devnode.chain.ledger import DeliveryLedger
from infernet_devnode.chain.rpc import ChainIdentity
from infernet_devnode.chain.store import ChainStore
from samples import OWNER
from samples import make_sub


def test_final_outcome_is_told_once(chain_store: ChainStore) -> None:
    finals: list[Delivery] = []
    ledger = DeliveryLedger(chain_store, on_final=finals.append)
    ledger.record(Delivery(1, 1, DeliveryState.RUNNING))
    ledger.record(Delivery(1, 1, DeliveryState.DELIVERED))
    ledger.record(Delivery(1, 1, DeliveryState.DELIVERED, reason="again"))
    assert [d.state for d in finals] == [DeliveryState.DELIVERED]
    assert ledger.state(1, 1) is DeliveryState.DELIVERED
    assert ledger.delivery(1, 1) == chain_store.delivery(1, 1)


def test_load_resumes_what_never_reached_the_broadcast(chain_store: ChainStore) -> None:
    chain_store.put_delivery(Delivery(1, 1, DeliveryState.RUNNING))
    chain_store.put_delivery(Delivery(2, 1, DeliveryState.SENT, tx_hash="0xab", raw_tx="0xcd"))
    ledger = DeliveryLedger(chain_store)
    ledger.load()
    assert ledger.state(1, 1) is DeliveryState.PENDING
    assert [s.delivery.subscription_id for s in ledger.sent()] == [2]
    assert ledger.in_flight() == 1  # the SENT one, no task running


def test_last_outcomes_cover_tracked_subscriptions_only(chain_store: ChainStore) -> None:
    ledger = DeliveryLedger(chain_store)
    for interval, state in ((1, DeliveryState.DELIVERED), (2, DeliveryState.FAILED)):
        ledger.record(Delivery(5, interval, state))
    ledger.record(Delivery(6, 1, DeliveryState.DELIVERED))
    assert ledger.last_outcomes({5}) == {5: (2, DeliveryState.FAILED)}


def test_adopting_another_chain_forgets_its_deliveries(chain_store: ChainStore) -> None:
    ledger = DeliveryLedger(chain_store)
    first = ChainIdentity(31337, "0x" + "aa" * 32)
    assert ledger.adopt(first) is None
    ledger.record(Delivery(1, 1, DeliveryState.DELIVERED))
    assert ledger.adopt(ChainIdentity(31337, "0x" + "bb" * 32)) == first
    assert ledger.state(1, 1) is None
    assert chain_store.delivery(1, 1) is None


def test_tasks_are_tracked_until_they_end_and_cancelled_on_request(
    chain_store: ChainStore,
) -> None:
    async def scenario() -> None:
        ledger = DeliveryLedger(chain_store)
        done = asyncio.Event()
        ledger.start((1, 1), done.wait())
        ledger.start(("0xowner", 3), asyncio.sleep(3600))
        assert ledger.busy((1, 1))
        assert ledger.in_flight() == 2
        done.set()
        for _ in range(100):  # a few loop turns let the finished task remove itself
            if not ledger.busy((1, 1)):
                break
            await asyncio.sleep(0)
        assert not ledger.busy((1, 1))
        await ledger.cancel()
        assert ledger.in_flight() == 0

    asyncio.run(scenario())


def test_tallies_agree_with_the_stored_rows_through_any_history(chain_store: ChainStore) -> None:
    """Counts, SENT deliveries, the in-flight number and each subscription's latest outcome are
    kept up to date as deliveries change rather than read from every row: after each step they
    must say what the rows say, also after a reload and after another chain is adopted."""

    def check(ledger: DeliveryLedger) -> None:
        rows = chain_store.deliveries_in(*DeliveryState)
        assert ledger.counts() == chain_store.delivery_counts()
        by_key = _by_key(chain_store.deliveries_in(DeliveryState.SENT))
        assert _by_key([s.delivery for s in ledger.sent()]) == by_key
        # what a new block settles: the deliveries whose transaction it mined, and the rechecks
        mined = {d.tx_hash for d in list(by_key.values())[::2]} | {"0x" + "ee" * 32}
        also = {(1, 1), (2, 2)}
        assert _by_key([s.delivery for s in ledger.sent(mined=mined, also=also)]) == {
            key: d for key, d in by_key.items() if d.tx_hash in mined or key in also
        }
        assert ledger.in_flight() == sum(d.state is DeliveryState.SENT for d in rows)
        expected: dict[int, tuple[int, DeliveryState]] = {}
        for d in sorted(rows, key=lambda d: d.interval):
            expected[d.subscription_id] = (d.interval, d.state)
        assert ledger.last_outcomes(range(10)) == expected
        assert ledger.last_outcomes({3}) == {k: v for k, v in expected.items() if k == 3}

    rng = random.Random(7)
    identity = ChainIdentity(31337, "0x" + "aa" * 32)
    ledger = DeliveryLedger(chain_store)
    ledger.adopt(identity)
    for step in range(400):
        sub_id, interval = rng.randrange(1, 8), rng.randrange(1, 5)
        state = rng.choice(list(DeliveryState))
        tx = f"0x{step:064x}" if state is DeliveryState.SENT else ""
        ledger.record(Delivery(sub_id, interval, state, tx_hash=tx, raw_tx=tx))
        check(ledger)
        if step % 100 == 99:  # a restart: the ledger rebuilt from the store
            ledger = DeliveryLedger(chain_store)
            ledger.load()
            check(ledger)
    ledger.adopt(ChainIdentity(31337, "0x" + "bb" * 32))
    assert ledger.counts() == {}
    check(ledger)


def _by_key(deliveries: list[Delivery]) -> dict[tuple[int, int], Delivery]:
    return {(d.subscription_id, d.interval): d for d in deliveries}


def _request(nonce: int) -> SignedDelegation:
    return SignedDelegation(make_sub(id=0), nonce, 99, 28, 1, 2, {"input": "x"})


def test_delegated_deliveries_count_in_flight_and_are_found_by_transaction(
    chain_store: ChainStore,
) -> None:
    """A delegated delivery broadcast and waiting for its receipt is in flight like an
    ordinary one, and a block that mined its transaction finds it by hash."""
    ledger = DeliveryLedger(chain_store)
    ledger.record(Delivery(1, 1, DeliveryState.SENT, tx_hash="0xAA", raw_tx="0x01"))
    request = _request(7)
    ledger.record(Delivery(0, 1, DeliveryState.SENT, tx_hash="0xBB", raw_tx="0x02"), request)
    assert ledger.in_flight() == 2
    (found,) = ledger.sent(mined={"0xbb"})
    assert (found.request, found.delivery.tx_hash, found.key) == (request, "0xBB", (OWNER, 7))
    assert {s.key for s in ledger.sent()} == {(1, 1), (OWNER, 7)}
    assert ledger.requests == {(OWNER, 7): request}
    # delivered: no longer in flight, and the created subscription's interval is answered
    ledger.record(Delivery(12, 1, DeliveryState.DELIVERED, tx_hash="0xBB", raw_tx="0x02"), request)
    assert ledger.in_flight() == 1
    assert ledger.sent(mined={"0xbb"}) == []
    assert ledger.requests == {}
    assert ledger.state(12, 1) is DeliveryState.DELIVERED
    stored = ledger.delegation(OWNER, 7)
    assert stored is not None
    assert (stored.delivery.subscription_id, stored.delivery.raw_tx) == (12, "")


def test_load_resumes_delegated_requests_from_the_store(chain_store: ChainStore) -> None:
    running, sent, failed = _request(1), _request(2), _request(3)
    chain_store.put_delegation(running, Delivery(0, 1, DeliveryState.RUNNING))
    chain_store.put_delegation(sent, Delivery(0, 1, DeliveryState.SENT, tx_hash="0xcc"))
    chain_store.put_delegation(failed, Delivery(0, 1, DeliveryState.FAILED))
    ledger = DeliveryLedger(chain_store)
    ledger.load()
    assert set(ledger.requests) == {(OWNER, 1), (OWNER, 2)}
    assert list(ledger.waiting_requests()) == [((OWNER, 1), running)]
    assert ledger.in_flight() == 1
    assert [s.key for s in ledger.sent(mined={"0xcc"})] == [(OWNER, 2)]
    resumed = chain_store.delegation(OWNER, 1)
    assert resumed is not None
    assert resumed.delivery.state is DeliveryState.PENDING
