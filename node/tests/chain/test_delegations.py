"""chain/delegations.py: which delegated requests are due, decided from the ledger's memory."""

from __future__ import annotations

import asyncio

from hf_infernet_stack.processes import free_port
from infernet_devnode.chain.delegations import Delegations
from infernet_devnode.chain.delivery import Delivery
from infernet_devnode.chain.delivery import DeliveryState
from infernet_devnode.chain.eip712 import SignedDelegation
from infernet_devnode.chain.ledger import DeliveryLedger
from infernet_devnode.chain.rpc import ChainClient
from infernet_devnode.chain.store import ChainStore
from infernet_devnode.chain.subscriptions import ContainerLookup
from infernet_devnode.store import Store
from samples import CHAIN_ID
from samples import COORDINATOR_ADDRESS
from samples import make_sub

# Delegated requests waiting at once.
WAITING = 50
ACTIVE_AT = 1_000


def _ignore(_: object) -> None:
    return None


async def _never_responded(subscription_id: int, interval: int) -> bool:
    return False


def test_every_block_schedules_waiting_requests_without_reading_the_store() -> None:
    """Each new head asks which delegated requests are due: the answer comes from the ledger's
    memory however many wait (SELECT statements counted with sqlite3's trace callback on the
    node's connection), and each due request starts once, on its first due interval."""

    async def scenario() -> None:
        store = Store(":memory:").open()
        reads: list[str] = []
        started: list[tuple[int, int]] = []
        client = ChainClient(f"http://127.0.0.1:{free_port()}", retries=0)

        async def deliver(request: SignedDelegation, interval: int) -> None:
            started.append((request.nonce, interval))

        try:
            ledger = DeliveryLedger(ChainStore(store))
            sub = make_sub(id=0, active_at=ACTIVE_AT)
            for nonce in range(WAITING):
                request = SignedDelegation(sub, nonce, 99, 28, 1, 2, {"input": "x"})
                ledger.record(Delivery(0, 0, DeliveryState.PENDING), request)
            delegations = Delegations(
                client,
                ledger,
                ContainerLookup.build(["echo"]),
                deliver=deliver,
                consider=_ignore,
                reschedule=_ignore,
                responded=_never_responded,
                chain_id=CHAIN_ID,
                coordinator=COORDINATOR_ADDRESS,
            )
            store.connection.set_trace_callback(
                lambda sql: reads.append(sql) if sql.lstrip().upper().startswith("SELECT") else None
            )
            for _ in range(3):  # blocks before the requests are active
                delegations.schedule(ACTIVE_AT - 1)
            assert (reads, started) == ([], [])
            delegations.schedule(ACTIVE_AT)
            delegations.schedule(ACTIVE_AT)  # the next block: their tasks still run
            for _ in range(100):  # a few loop turns let the tasks run and end
                if len(started) == WAITING and ledger.in_flight() == 0:
                    break
                await asyncio.sleep(0)
            assert sorted(started) == [(nonce, 1) for nonce in range(WAITING)]
            assert reads == []
            assert client.requests_sent == 0
        finally:
            store.connection.set_trace_callback(None)
            await client.close()
            store.close()

    asyncio.run(scenario())
