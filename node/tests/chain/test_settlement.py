"""chain/settlement.py: what the check of every in-flight delivery leaves alone."""

from __future__ import annotations

import asyncio

from devnode_harness import free_port
from infernet_devnode.chain.delivery import Delivery
from infernet_devnode.chain.delivery import DeliveryState
from infernet_devnode.chain.delivery import RetryPolicy
from infernet_devnode.chain.ledger import DeliveryLedger
from infernet_devnode.chain.rpc import ChainClient
from infernet_devnode.chain.settlement import Settlement
from infernet_devnode.chain.store import ChainStore
from samples import COORDINATOR_ADDRESS
from samples import OWNER


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
