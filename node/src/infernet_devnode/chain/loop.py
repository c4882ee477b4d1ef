"""The chain side of the node: follow the Coordinator, deliver every due interval exactly once.

One loop polls the head block every `snapshot_sync.sync_period` seconds. On each new block it
(1) settles broadcast transactions from their receipts (`settlement`), (2) reads the Coordinator's
SubscriptionCreated / SubscriptionCancelled logs up to `head - trail_head_blocks` and loads new
subscriptions with one Reader batch (`sync`, admitted by `tracking`), (3) decides on chain time
(the head's timestamp) which (subscription, interval) pairs are due (`scheduling`) and starts one
task per delivery (`execution`). Idle cost is one eth_getBlockByNumber per poll plus one
eth_getLogs per block, whatever the number of subscriptions; upstream instead re-reads every
tracked subscription every 100 ms (spec infernet-node.md §6.4).

Exactly once: a delivery's signed transaction is written to SQLite before it is broadcast, and
`settlement` resolves it after a crash without ever sending a second transaction for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace
from enum import IntEnum

from .delegations import Delegations
from .delivery import Delivery
from .delivery import DeliveryState
from .delivery import RetryPolicy
from .eip712 import SignedDelegation
from .execution import ContainerRunner
from .execution import DeliveryRunner
from .payments import PaymentCheck
from .rpc import Block
from .rpc import ChainClient
from .rpc import ChainIdentity
from .rpc import Contracts
from .rpc import RpcUnavailable
from .scheduling import DeliveryKey
from .scheduling import plan_deliveries
from .sender import TransactionSender
from .settlement import Settlement
from .store import ChainStore
from .subscriptions import ZERO_ADDRESS
from .subscriptions import ContainerPolicy
from .subscriptions import Subscription
from .sync import SubscriptionFeed
from .sync import SyncSettings
from .tracking import TrackedSubscriptions

__all__ = ["ChainSettings", "OnchainNode"]

log = logging.getLogger(__name__)

# While the endpoint is down, polls back off up to this many seconds.
_MAX_OUTAGE_BACKOFF_S = 2.0


@dataclass(frozen=True)
class ChainSettings:
    """The `chain` section of config.json, resolved (spec infernet-node.md §7)."""

    rpc_url: str
    registry_address: str
    private_key: str = field(repr=False)
    payment_address: str | None = None
    max_gas_limit: int = 5_000_000
    allowed_sim_errors: tuple[str, ...] = ()
    trail_head_blocks: int = 1
    snapshot_sleep: float = 1.0
    batch_size: int = 500
    starting_sub_id: int = 0
    sync_period: float = 0.5


class _Lifecycle(IntEnum):
    NEW = 0
    RUNNING = 1
    STOPPED = 2


# A delivery task: (subscription, interval), or (owner, nonce) for a delegated request.
_TaskKey = DeliveryKey | tuple[str, int]


class OnchainNode:
    """Subscription sync, delivery scheduling and delegated requests for one node key."""

    def __init__(
        self,
        settings: ChainSettings,
        rules: Mapping[str, ContainerPolicy],
        runner: ContainerRunner,
        store: ChainStore,
        *,
        retry: RetryPolicy | None = None,
        on_final: Callable[[Delivery], None] | None = None,
    ) -> None:
        self.settings = settings
        self.runner = runner
        self.store = store
        self.retry = retry or RetryPolicy()
        self._on_final = on_final
        self.client = ChainClient(settings.rpc_url)
        self._lifecycle = _Lifecycle.NEW
        self._loop_task: asyncio.Task[None] | None = None
        self._tasks: dict[_TaskKey, asyncio.Task[None]] = {}
        # chain facts, filled by start()
        self.contracts: Contracts | None = None
        self.sender: TransactionSender | None = None
        self.payments: PaymentCheck | None = None
        self.head: Block | None = None
        self.feed: SubscriptionFeed | None = None
        self._processed = -1  # last head fully processed
        self.identity = ChainIdentity(0, "")
        # set by an outage or a rewind: is it still the same chain? then: re-read the snapshot
        self._check_identity = False
        self._resync = False
        self.tracked = TrackedSubscriptions(rules, settings.payment_address, store)
        self.lookup = self.tracked.lookup
        # (subscription, interval) -> state, for every delivery this node has touched
        self._deliveries: dict[DeliveryKey, DeliveryState] = {}
        self.execution = DeliveryRunner(self)
        self.settlement = Settlement(self)
        self.delegations = Delegations(self)
        self.rpc_healthy = False
        self.last_error = ""

    # ------------------------------------------------------------------ lifecycle

    @property
    def address(self) -> str:
        assert self.sender is not None
        return self.sender.address

    @property
    def chain_id(self) -> int:
        return self.identity.chain_id

    @property
    def node_wallet(self) -> str:
        return self.settings.payment_address or ZERO_ADDRESS

    async def start(self) -> None:
        """Connect, read the Registry, recover in-flight deliveries, sync, start the loop."""
        if self._lifecycle is not _Lifecycle.NEW:
            raise RuntimeError("OnchainNode.start() called twice")
        self._lifecycle = _Lifecycle.RUNNING
        self.identity = await self.client.identity()
        self._adopt(self.identity)
        self.contracts = await self.client.contracts(self.settings.registry_address)
        self._connect_sender()
        self._load_deliveries()
        self.head = await self.client.block("latest")
        self.feed = SubscriptionFeed(
            self.client,
            self.contracts,
            SyncSettings(
                trail_head_blocks=self.settings.trail_head_blocks,
                batch_size=self.settings.batch_size,
                starting_sub_id=self.settings.starting_sub_id,
                snapshot_sleep=self.settings.snapshot_sleep,
            ),
            self.consider,
            self._cancelled,
        )
        await self.feed.snapshot(self.head)
        self.rpc_healthy = True
        # Settle what a previous run left in flight and start what is already due, without
        # waiting for the next block (with automine there may be none for a while).
        await self._on_head(self.head)
        log.info(
            "chain: node %s, coordinator %s, tracking %d subscriptions from block %d",
            self.address,
            self.contracts.coordinator,
            len(self.tracked),
            self.feed.synced_block,
        )
        self._loop_task = asyncio.create_task(self._run(), name="devnode-chain-loop")
        self._loop_task.add_done_callback(self._loop_done)

    def _adopt(self, identity: ChainIdentity) -> None:
        """Bind the store to the endpoint's chain; state recorded for another chain is reset."""
        previous = self.store.adopt(identity)
        if previous is not None:
            log.warning(
                "chain: the store's chain state belongs to another chain (%s; now %s):"
                " deliveries, subscriptions and delegated requests recorded there were reset,"
                " job records kept",
                previous.describe(),
                identity.describe(),
            )

    def _connect_sender(self) -> None:
        assert self.contracts is not None
        self.sender = TransactionSender(
            self.client,
            self.settings.private_key,
            self.identity.chain_id,
            self.settings.max_gas_limit,
        )
        self.payments = PaymentCheck(self.client, self.contracts, self.sender)

    async def _follow_identity(self) -> None:
        """After an outage or a rewind: when the endpoint now serves another chain (anvil
        restarted fresh), drop everything known about the old one and sync the new one."""
        identity = await self.client.identity()
        if identity == self.identity:
            return
        await self._cancel(list(self._tasks.values()))
        self._adopt(identity)
        self._deliveries.clear()
        self.delegations.pending.clear()
        self.tracked.reset()
        self.identity = identity
        self._connect_sender()
        self._resync = True

    async def _cancel(self, tasks: list[asyncio.Task[None]]) -> None:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def _loop_done(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("chain loop stopped: %r", task.exception())

    async def stop(self) -> None:
        """Cancel the loop and in-flight work, close the RPC session; safe to call twice."""
        if self._lifecycle is _Lifecycle.STOPPED:
            return
        self._lifecycle = _Lifecycle.STOPPED
        await self._cancel([t for t in (self._loop_task, *self._tasks.values()) if t is not None])
        self._tasks.clear()
        await self.client.close()

    def _load_deliveries(self) -> None:
        """Rebuild in-memory state from SQLite: a RUNNING row never reached the broadcast."""
        for delivery in self.store.deliveries_in(*DeliveryState):
            state = delivery.state
            if state is DeliveryState.RUNNING:
                state = DeliveryState.PENDING
                self.store.put_delivery(replace(delivery, state=state))
            self._deliveries[(delivery.subscription_id, delivery.interval)] = state
        self.delegations.load()

    # ------------------------------------------------------------------ the loop

    async def _run(self) -> None:
        backoff = self.settings.sync_period
        while True:
            try:
                head = await self.client.block("latest")
                if not self.rpc_healthy:
                    log.info(
                        "chain: %s answers again at block %d", self.client.rpc_url, head.number
                    )
                    assert self.sender is not None
                    self.sender.forget_nonce()
                    self.rpc_healthy = True
                    self._check_identity = True
                if head.number < self._processed:
                    # The endpoint restarted from an older state: start over from a snapshot.
                    log.warning("chain: head went back from %d to %d", self._processed, head.number)
                    self._check_identity = self._resync = True
                if self._check_identity:
                    await self._follow_identity()
                    self._check_identity = False
                if self._resync:
                    self.tracked.forget_all()
                    assert self.feed is not None
                    await self.feed.snapshot(head)
                    self._resync = False
                if head.number != self._processed:
                    await self._on_head(head)
                backoff = self.settings.sync_period
            except asyncio.CancelledError:
                raise
            except RpcUnavailable as e:
                if self.rpc_healthy:
                    log.warning("chain: %s", e.reason)
                self.rpc_healthy = False
                self.last_error = e.reason
                backoff = min(backoff * 2, _MAX_OUTAGE_BACKOFF_S)
            except Exception as e:  # the loop must outlive any single bad block
                log.exception("chain: block processing failed")
                self.last_error = f"{type(e).__name__}: {e}"
            await asyncio.sleep(backoff)

    async def _on_head(self, head: Block) -> None:
        """Process a new head; only marked done once it went through without an error."""
        assert self.sender is not None
        self.sender.base_fee = head.base_fee
        self.head = head
        await self._on_block(head)
        self._processed = head.number

    async def _on_block(self, head: Block) -> None:
        assert self.feed is not None
        await self.settlement.settle_sent()
        await self.feed.follow(head)
        self.schedule(head.timestamp)

    # ------------------------------------------------------------------ discovery

    def consider(self, sub: Subscription, fresh: bool = False) -> None:
        """Guardian + bookkeeping for a subscription read from the chain."""
        self.tracked.consider(sub, fresh=fresh, now=self.chain_now())

    def _cancelled(self, subscription_id: int) -> None:
        self.tracked.cancelled(subscription_id)

    # ------------------------------------------------------------------ scheduling

    def schedule(self, now: int) -> None:
        """Start a task for every due (subscription, interval) not handled yet (chain time)."""
        plan = plan_deliveries(self.tracked, self._deliveries, self._tasks, now)
        for sub in plan.completed:
            self.tracked.untrack(sub, "completed")
        for sub, interval in plan.start:
            self.spawn((sub.id, interval), self.execution.deliver(sub, interval))
        self.delegations.schedule(now)

    def busy(self, key: _TaskKey) -> bool:
        """Whether a delivery task for this key is running."""
        return key in self._tasks

    def spawn(self, key: _TaskKey, work: Awaitable[None]) -> None:
        async def run() -> None:
            try:
                await work
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug: keep the node alive, leave the trace in the log
                log.exception("delivery %s crashed", key)
            finally:
                self._tasks.pop(key, None)

        self._tasks[key] = asyncio.create_task(run(), name=f"devnode-delivery-{key}")

    # ------------------------------------------------------------------ delivery records

    def record(self, delivery: Delivery) -> Delivery:
        """Persist a delivery's new state (and count it once when it becomes final)."""
        key = (delivery.subscription_id, delivery.interval)
        before = self._deliveries.get(key)
        self._deliveries[key] = delivery.state
        if delivery.state.final and (before is None or not before.final) and self._on_final:
            self._on_final(delivery)
        return self.store.put_delivery(delivery)

    def delivery_state(self, subscription_id: int, interval: int) -> DeliveryState | None:
        return self._deliveries.get((subscription_id, interval))

    # ------------------------------------------------------------------ delegated

    async def submit_delegation(self, delegation: SignedDelegation) -> None:
        """See `Delegations.submit`."""
        await self.delegations.submit(delegation)

    # ------------------------------------------------------------------ status

    def tracks(self, subscription_id: int) -> bool:
        return subscription_id in self.tracked

    def chain_now(self) -> int:
        """Timestamp of the last head seen (0 before the first)."""
        return self.head.timestamp if self.head else 0

    def in_flight(self) -> int:
        """Deliveries being worked on or waiting for their receipt."""
        sent = sum(1 for state in self._deliveries.values() if state is DeliveryState.SENT)
        return len(self._tasks) + sent

    async def chain_time(self) -> int:
        """The latest block's timestamp (fresh read; the cached head when the endpoint is down)."""
        try:
            return (await self.client.block("latest")).timestamp
        except RpcUnavailable:
            if self.head is None:
                raise
            return self.head.timestamp

    def metrics(self) -> dict[str, float]:
        """Gauges for /metrics (names without the devnode_ prefix)."""
        values: dict[str, float] = {
            "chain_rpc_healthy": float(self.rpc_healthy),
            "chain_head_block": float(self.head.number if self.head else 0),
            "chain_head_timestamp": float(self.head.timestamp if self.head else 0),
            "chain_synced_block": float(self.feed.synced_block if self.feed else 0),
            "chain_subscriptions_tracked": float(len(self.tracked)),
            "chain_deliveries_in_flight": float(self.in_flight()),
            "chain_delegations_pending": float(len(self.delegations.pending)),
            "chain_rpc_requests_total": float(self.client.requests_sent),
        }
        return values

    def last_outcomes(self) -> dict[int, tuple[int, DeliveryState]]:
        """Tracked subscription id -> (latest interval worked on, its state)."""
        latest: dict[int, tuple[int, DeliveryState]] = {}
        for (sub_id, interval), state in self._deliveries.items():
            if sub_id in self.tracked and interval >= latest.get(sub_id, (0, state))[0]:
                latest[sub_id] = (interval, state)
        return latest
