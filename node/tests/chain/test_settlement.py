"""chain/settlement.py: what the check of every in-flight delivery leaves alone, and what a new
block reads."""

from __future__ import annotations

import asyncio

import pytest
from hf_infernet_stack.processes import free_port
from infernet_devnode.chain.delivery import Delivery
from infernet_devnode.chain.delivery import DeliveryState
from infernet_devnode.chain.delivery import RetryPolicy
from infernet_devnode.chain.eip712 import SignedDelegation
from infernet_devnode.chain.ledger import DeliveryLedger
from infernet_devnode.chain.rpc import ChainClient
from infernet_devnode.chain.rpc import RpcUnavailable
from infernet_devnode.chain.settlement import Settlement
from infernet_devnode.chain.store import ChainStore
from infernet_devnode.store import Store
from samples import COORDINATOR_ADDRESS
from samples import OWNER
from samples import make_sub

# Delegated deliveries waiting for their receipt at once.
BURST = 50


def test_a_delivery_still_being_sent_is_not_called_lost(chain_store: ChainStore) -> None:
    """SENT is recorded before the broadcast: between the two, the endpoint does not know the
    transaction yet, and a check then must not count it lost (nor touch the endpoint)."""

    async def scenario() -> None:
        ledger = DeliveryLedger(chain_store)
        ledger.record(Delivery(1, 1, DeliveryState.SENT, tx_hash="0xab", raw_tx="0xcd"))
        broadcast = asyncio.Event()
        ledger.start((1, 1), broadcast.wait())  # the task between persist and broadcast
        # Nothing listens there: any call the check made would fail the test.
        client = ChainClient(f"http://127.0.0.1:{free_port()}", retries=0)
        settlement = Settlement(
            client, ledger, RetryPolicy(), coordinator=COORDINATOR_ADDRESS, node_address=OWNER
        )
        try:
            await settlement.settle(None, sweep=True)
            assert ledger.state(1, 1) is DeliveryState.SENT
            assert settlement.rechecks  # checked again at the next call
            assert client.requests_sent == 0
        finally:
            broadcast.set()
            await ledger.cancel()
            await client.close()

    asyncio.run(scenario())


def test_a_new_block_checks_only_the_deliveries_it_mined(chain_store: ChainStore) -> None:
    """Outside a sweep, a block's settlement reads the receipts of the deliveries whose
    transaction it holds, and of no other pending one (a burst keeps hundreds pending)."""

    async def scenario() -> None:
        ledger = DeliveryLedger(chain_store)
        first, second, other = ("0x" + c * 32 for c in ("AA", "bb", "cc"))
        for sub_id, tx in ((1, first), (2, second)):
            ledger.record(Delivery(sub_id, 1, DeliveryState.SENT, tx_hash=tx, raw_tx="0xcd"))
        # Nothing listens there: each receipt read is one request, and fails as unavailable.
        client = ChainClient(f"http://127.0.0.1:{free_port()}", retries=0)
        settlement = Settlement(
            client, ledger, RetryPolicy(), coordinator=COORDINATOR_ADDRESS, node_address=OWNER
        )
        try:
            await settlement.settle(frozenset({other}), sweep=False)  # mined neither
            assert client.requests_sent == 0
            with pytest.raises(RpcUnavailable, match="eth_getTransactionReceipt"):
                await settlement.settle(frozenset({other, first.lower()}), sweep=False)
            assert client.requests_sent == 1  # the first one's receipt only
            with pytest.raises(RpcUnavailable):
                await settlement.settle(frozenset({other}), sweep=True)  # a sweep: every one
            assert client.requests_sent == 2
            assert [ledger.state(s, 1) for s in (1, 2)] == [DeliveryState.SENT] * 2
        finally:
            await client.close()

    asyncio.run(scenario())


def test_a_new_block_reads_only_the_delegated_deliveries_it_mined() -> None:
    """A burst of delegated requests keeps many of them SENT: a block's settlement reads from
    the store only the ones whose transaction it mined (statements counted with sqlite3's
    trace callback on the node's connection), and reads their receipts through the same path as
    ordinary deliveries."""

    async def scenario() -> None:
        store = Store(":memory:").open()
        reads: list[str] = []
        client = ChainClient(f"http://127.0.0.1:{free_port()}", retries=0)
        try:
            ledger = DeliveryLedger(ChainStore(store))
            hashes = [f"0x{nonce:064x}" for nonce in range(BURST)]
            for nonce, tx in enumerate(hashes):
                request = SignedDelegation(make_sub(id=0), nonce, 99, 28, 1, 2, {"input": "x"})
                ledger.record(
                    Delivery(0, 1, DeliveryState.SENT, tx_hash=tx, raw_tx="0xcd"), request
                )
            settlement = Settlement(
                client, ledger, RetryPolicy(), coordinator=COORDINATOR_ADDRESS, node_address=OWNER
            )
            store.connection.set_trace_callback(
                lambda sql: reads.append(sql) if "FROM chain_delegations" in sql else None
            )
            await settlement.settle(frozenset({"0x" + "ee" * 32}), sweep=False)  # mined none
            assert (reads, client.requests_sent) == ([], 0)
            with pytest.raises(RpcUnavailable, match="eth_getTransactionReceipt"):
                await settlement.settle(frozenset({hashes[3]}), sweep=False)
            assert (len(reads), client.requests_sent) == (1, 1)  # that one, and its receipt
            assert ledger.in_flight() == BURST
        finally:
            store.connection.set_trace_callback(None)
            await client.close()
            store.close()

    asyncio.run(scenario())
