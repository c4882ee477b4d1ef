"""The block loop: follow the Coordinator, deliver every due interval exactly once.

One loop polls the head block every `snapshot_sync.sync_period` seconds. On each new block it
(1) settles broadcast transactions of both kinds, ordinary and delegated, from their receipts
(`settlement`), (2) reads the Coordinator's SubscriptionCreated / SubscriptionCancelled /
SubscriptionFulfilled logs up to `head - trail_head_blocks`, loads new subscriptions with one
Reader batch (`sync`, admitted by `tracking`) and records every node's deliveries (`tracking`),
(3) decides on chain time (the head's timestamp) which (subscription, interval) pairs and which
delegated requests are due (`scheduling`, `delegations`) and starts one task per delivery
(`execution`). Idle cost is one eth_getBlockByNumber per poll plus one eth_getLogs per block,
whatever the number of subscriptions; upstream instead re-reads every tracked subscription every
100 ms.

The loop also watches the chain itself: an endpoint that stops answering, a head that does not
descend from the last one processed (a fresh anvil, a reorg), a chain without the protocol. Each
is said in one log line and in `health()`; the loop recovers by itself when the fault goes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from enum import IntEnum

from .delegations import Delegations
from .delivery import RetryPolicy
from .eip712 import SignedDelegation
from .execution import DeliveryRunner
from .ledger import DeliveryLedger
from .liveness import LivenessProbe
from .payments import PaymentCheck
from .rpc import Block
from .rpc import ChainClient
from .rpc import ChainIdentity
from .rpc import Contracts
from .rpc import ProtocolMissing
from .rpc import RpcFailed
from .rpc import RpcUnavailable
from .scheduling import plan_deliveries
from .sender import TransactionSender
from .settlement import MAX_BLOCK_READS
from .settlement import SWEEP_PERIOD_S
from .settlement import Settlement
from .steps import ContainerRunner
from .steps import DeliverySteps
from .subscriptions import ZERO_ADDRESS
from .subscriptions import Subscription
from .sync import SubscriptionFeed
from .sync import SyncSettings
from .tracking import TrackedSubscriptions

__all__ = ["ChainLoop", "ChainSettings", "Health"]

log = logging.getLogger(__name__)

# While the endpoint is down, polls back off up to this many seconds.
_MAX_OUTAGE_BACKOFF_S = 2.0
# The same fault is logged again at most this often (a fault that persists is not news).
_FAULT_LOG_PERIOD_S = 60.0


@dataclass(frozen=True)
class ChainSettings:
    """The `chain` section of config.json, resolved (docs/configuration.md)."""

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
    liveness_timeout: float = 2.0

    @property
    def node_wallet(self) -> str:
        """Where the node is paid (the zero address when it has no payment wallet)."""
        return self.payment_address or ZERO_ADDRESS

    @property
    def sync(self) -> SyncSettings:
        return SyncSettings(
            trail_head_blocks=self.trail_head_blocks,
            batch_size=self.batch_size,
            starting_sub_id=self.starting_sub_id,
            snapshot_sleep=self.snapshot_sleep,
        )


@dataclass(frozen=True)
class Health:
    """Whether the loop can do its work (shown by GET /health): `reason` says why not; while the
    initial sync runs, `syncing` is true and `progress` is (ids read, ids to read)."""

    ok: bool
    reason: str = ""
    syncing: bool = False
    progress: tuple[int, int] = (0, 0)


class _Lifecycle(IntEnum):
    NEW = 0
    RUNNING = 1
    STOPPED = 2


@dataclass(frozen=True)
class _Workers:
    """Everything that depends on which chain the endpoint serves, built together."""

    identity: ChainIdentity
    contracts: Contracts
    sender: TransactionSender
    feed: SubscriptionFeed
    settlement: Settlement
    execution: DeliveryRunner
    delegations: Delegations


class ChainLoop:
    """Subscription sync, delivery scheduling and delegated requests for one node key.

    Built by `open`, which connects first: every collaborator exists from construction on.
    """

    def __init__(
        self,
        settings: ChainSettings,
        client: ChainClient,
        ledger: DeliveryLedger,
        tracked: TrackedSubscriptions,
        run_containers: ContainerRunner,
        retry: RetryPolicy,
        identity: ChainIdentity,
        contracts: Contracts,
        head: Block,
    ) -> None:
        self._settings = settings
        self._client = client
        self._ledger = ledger
        self._tracked = tracked
        self._run_containers = run_containers
        self._retry = retry
        self.head = head
        self._workers = self._wire(identity, contracts)
        self._lifecycle = _Lifecycle.NEW
        self._task: asyncio.Task[None] | None = None
        self._processed: Block | None = None  # last head fully processed
        self._resync = False
        self._synced = False  # the initial sync is over
        self._sweep = False  # check every in-flight delivery at the next head
        self._last_sweep = 0.0  # time.monotonic() of the last check of every in-flight one
        self._fault = ""  # why the last poll failed ("" when it went through)
        self._fault_logged: dict[str, float] = {}
        self._rpc_answers = True
        self._liveness = LivenessProbe(client, settings.liveness_timeout)
        # The last processed block the head was seen going back from (said once per episode).
        self._went_back_from = ""

    @classmethod
    async def open(
        cls,
        settings: ChainSettings,
        client: ChainClient,
        ledger: DeliveryLedger,
        tracked: TrackedSubscriptions,
        run_containers: ContainerRunner,
        retry: RetryPolicy,
    ) -> ChainLoop:
        """Connect, read the Registry and start the loop, which recovers in-flight deliveries and
        runs the initial sync first (the REST API serves meanwhile; `health` says "syncing").

        Raises:
            ChainError: the endpoint cannot be used (unreachable, no protocol at the Registry).
        """
        identity = await client.identity()
        _adopt(ledger, identity)
        contracts = await client.contracts(settings.registry_address)
        head = await client.block("latest")
        loop = cls(
            settings, client, ledger, tracked, run_containers, retry, identity, contracts, head
        )
        await loop._start()
        return loop

    def _wire(self, identity: ChainIdentity, contracts: Contracts) -> _Workers:
        """Build the workers for one chain (again when the endpoint starts serving another)."""
        settings, client, ledger, retry = self._settings, self._client, self._ledger, self._retry
        sender = TransactionSender(
            client, settings.private_key, identity.chain_id, settings.max_gas_limit
        )
        payments = PaymentCheck(client, contracts, sender)
        steps = DeliverySteps(
            sender,
            payments,
            self._run_containers,
            coordinator=contracts.coordinator,
            payment_address=settings.payment_address,
            allowed_sim_errors=settings.allowed_sim_errors,
        )
        settlement = Settlement(
            client, ledger, retry, coordinator=contracts.coordinator, node_address=sender.address
        )
        execution = DeliveryRunner(
            client,
            steps,
            payments,
            ledger,
            self._tracked,
            retry,
            self.chain_now,
            node_address=sender.address,
            node_wallet=settings.node_wallet,
        )
        delegations = Delegations(
            client,
            ledger,
            self._tracked.lookup,
            deliver=execution.deliver_request,
            consider=self._consider,
            reschedule=self._reschedule,
            responded=settlement.responded,
            chain_id=identity.chain_id,
            coordinator=contracts.coordinator,
        )
        feed = SubscriptionFeed(
            client,
            contracts,
            settings.sync,
            self._consider_read,
            self._tracked.cancelled,
            self._tracked.fulfilled,
        )
        return _Workers(identity, contracts, sender, feed, settlement, execution, delegations)

    async def _start(self) -> None:
        if self._lifecycle is not _Lifecycle.NEW:
            raise RuntimeError("ChainLoop started twice")
        self._lifecycle = _Lifecycle.RUNNING
        self._ledger.load()
        # The first poll runs the initial sync, then settles what a previous run left in flight
        # and starts what is already due, without waiting for a new block.
        self._resync = True
        self._task = asyncio.create_task(self._run(), name="devnode-chain-loop")
        self._task.add_done_callback(_loop_done)
        self._liveness.start()

    async def stop(self) -> None:
        """Cancel the loop and in-flight work; safe to call twice."""
        if self._lifecycle is _Lifecycle.STOPPED:
            return
        self._lifecycle = _Lifecycle.STOPPED
        await self._liveness.stop()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._ledger.cancel()

    # ------------------------------------------------------------------ the loop

    async def _run(self) -> None:
        backoff = self._settings.sync_period
        while True:
            try:
                await self._poll()
                self._recovered()
                backoff = self._settings.sync_period
            except asyncio.CancelledError:
                raise
            except RpcUnavailable as e:
                self._rpc_answers = False
                self._faulted(e.reason)
                backoff = min(backoff * 2, _MAX_OUTAGE_BACKOFF_S)
            except ProtocolMissing as e:
                self._faulted(e.reason)
                backoff = _MAX_OUTAGE_BACKOFF_S
            except RpcFailed as e:
                # The endpoint answers, but with an error: its fault, said in its own words.
                self._faulted(f"the endpoint answered with an error: {e.reason}")
                backoff = min(backoff * 2, _MAX_OUTAGE_BACKOFF_S)
            except Exception as e:  # the loop must outlive any single bad block
                log.exception("chain: block processing failed")
                self._fault = f"{type(e).__name__}: {e}"
            await asyncio.sleep(backoff)

    async def _poll(self) -> None:
        head = await self._client.block("latest")
        if self._fault:
            # The endpoint may have restarted meanwhile: read the nonce and fees again, and
            # check every in-flight transaction (the endpoint may have lost some).
            self._workers.sender.forget_nonce()
            self._sweep = True
        processed = self._processed
        moved = processed is not None and head.hash != processed.hash
        if moved and processed is not None and not await self._descends(head, processed):
            self._sweep = True  # blocks were replaced: their transaction lists say nothing
            await self._follow_identity()
        if self._resync:
            self._tracked.forget_all()
            await self._workers.feed.snapshot(head)
            self._resync = False
            if not self._synced:
                self._synced = True
                log.info(
                    "chain: node %s, coordinator %s, tracking %d subscriptions from block %d",
                    self._workers.sender.address,
                    self._workers.contracts.coordinator,
                    len(self._tracked),
                    self._workers.feed.synced_block,
                )
        if processed is None or moved:
            await self._on_head(head)
        elif self._rechecks or self._sweep:
            await self._settle(None, sweep=self._sweep)

    async def _descends(self, head: Block, processed: Block) -> bool:
        """Whether `head` is on the chain the last processed block belongs to (one extra read
        at most, only when blocks were skipped between two polls)."""
        if head.number == processed.number + 1:
            return head.parent_hash == processed.hash
        if head.number > processed.number:
            return (await self._client.block(processed.number)).hash == processed.hash
        if head.number < processed.number:
            # The endpoint restarted from an older state: start over from a snapshot. Until a
            # poll goes through, every poll sees the same thing: it is said once.
            if self._went_back_from != processed.hash:
                self._went_back_from = processed.hash
                log.warning("chain: head went back from %d to %d", processed.number, head.number)
            self._resync = True
        return False

    async def _follow_identity(self) -> None:
        """The head does not descend from the last processed block: when the endpoint now
        serves another chain (anvil restarted fresh), drop everything known about the old one
        and sync the new one; on the same chain (a reorg) carry on from the new head."""
        identity = await self._client.identity()
        if identity == self._workers.identity:
            return
        contracts = await self._client.contracts(self._settings.registry_address)
        await self._ledger.cancel()
        _adopt(self._ledger, identity)
        self._tracked.reset()
        self._workers = self._wire(identity, contracts)
        self._resync = True

    async def _on_head(self, head: Block) -> None:
        """Process a new head; only marked done once it went through without an error."""
        self._workers.sender.base_fee = head.base_fee
        self.head = head
        mined, sweep = await self._mined_since(head)
        await self._settle(mined, sweep=sweep)
        await self._workers.feed.follow(head)
        self._reschedule(head.timestamp)
        self._processed = head

    async def _settle(self, mined: frozenset[str] | None, *, sweep: bool) -> None:
        """Settle what `mined` holds and, with `sweep`, check every other in-flight delivery
        (those still being sent are checked again at the next poll)."""
        self._sweep = False
        await self._workers.settlement.settle(mined, sweep=sweep)

    @property
    def _rechecks(self) -> bool:
        return self._workers.settlement.rechecks

    async def _mined_since(self, head: Block) -> tuple[frozenset[str] | None, bool]:
        """The transactions of the blocks after the last processed one up to `head` (None when
        unknown: the first head, a gap too wide to read block by block), and whether every
        in-flight delivery is to be checked: then, after a fault, and once every SWEEP_PERIOD_S."""
        processed = self._processed
        now = time.monotonic()
        if processed is None or head.number - processed.number > MAX_BLOCK_READS:
            self._last_sweep = now
            return None, True
        mined = set(head.transactions)
        for number in range(processed.number + 1, head.number):
            mined |= (await self._client.block(number)).transactions
        sweep = self._sweep or now - self._last_sweep >= SWEEP_PERIOD_S
        if sweep:
            self._last_sweep = now
        return frozenset(mined), sweep

    def _faulted(self, reason: str) -> None:
        """Say a chain fault once (and again once a period while it lasts)."""
        now = time.monotonic()
        if now - self._fault_logged.get(reason, -_FAULT_LOG_PERIOD_S) >= _FAULT_LOG_PERIOD_S:
            log.warning("chain: %s", reason)
            self._fault_logged[reason] = now
        self._fault = reason

    def _recovered(self) -> None:
        if self._fault:
            log.info("chain: working again at block %d (was: %s)", self.head.number, self._fault)
            self._fault = ""
            self._fault_logged.clear()
        self._rpc_answers = True

    # ------------------------------------------------------------------ discovery, scheduling

    def _consider_read(self, subs: Sequence[Subscription], fresh: bool) -> None:
        self._tracked.consider_all(subs, fresh=fresh, now=self.chain_now())

    def _consider(self, sub: Subscription) -> None:
        self._tracked.consider(sub, fresh=False, now=self.chain_now())

    def _reschedule(self, now: int) -> None:
        """Start a task for every due (subscription, interval) not handled yet (chain time)."""
        now = max(now, self.chain_now())
        plan = plan_deliveries(self._tracked, self._ledger.states, self._ledger.running, now)
        for sub in plan.completed:
            self._tracked.untrack(sub, "completed")
        for sub, interval in plan.start:
            self._ledger.start((sub.id, interval), self._workers.execution.deliver(sub, interval))
        self._workers.delegations.schedule(now)

    # ------------------------------------------------------------------ requests and status

    async def submit_delegation(self, delegation: SignedDelegation, now: int) -> None:
        """See `Delegations.submit`."""
        await self._workers.delegations.submit(delegation, now)

    def chain_now(self) -> int:
        """Timestamp of the last head seen."""
        return self.head.timestamp

    async def chain_time(self) -> int:
        """The latest block's timestamp (fresh read; the cached head when the endpoint is down)."""
        try:
            return (await self._client.block("latest")).timestamp
        except RpcUnavailable:
            return self.head.timestamp

    def health(self) -> Health:
        # A stalled endpoint is said first: the loop may be waiting on it without a fault yet.
        reason = self._liveness.stalled or self._fault
        return Health(
            ok=not reason and self._synced,
            reason=reason,
            syncing=not self._synced,
            progress=self._workers.feed.progress,
        )

    def metrics(self) -> dict[str, float]:
        """Gauges for /metrics (names without the devnode_ prefix)."""
        return {
            "chain_rpc_healthy": float(self._rpc_answers and not self._liveness.stalled),
            "chain_head_block": float(self.head.number),
            "chain_head_timestamp": float(self.head.timestamp),
            "chain_synced_block": float(self._workers.feed.synced_block),
            "chain_subscriptions_tracked": float(len(self._tracked)),
            "chain_deliveries_in_flight": float(self._ledger.in_flight()),
            "chain_delegations_pending": float(len(self._ledger.requests)),
            "chain_rpc_requests_total": float(self._client.requests_sent),
        }


def _adopt(ledger: DeliveryLedger, identity: ChainIdentity) -> None:
    """Bind the store to the endpoint's chain; state recorded for another chain is reset."""
    previous = ledger.adopt(identity)
    if previous is not None:
        log.warning(
            "chain: the store's chain state belongs to another chain (%s; now %s):"
            " deliveries, subscriptions and delegated requests recorded there were reset,"
            " job records kept",
            previous.describe(),
            identity.describe(),
        )


def _loop_done(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("chain loop stopped: %r", task.exception())
