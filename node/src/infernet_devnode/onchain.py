"""The chain side of the node: follow the Coordinator, deliver every due interval exactly once.

One loop polls the head block every `snapshot_sync.sync_period` seconds. On each new block it
(1) settles broadcast transactions from their receipts, (2) reads the Coordinator's
SubscriptionCreated / SubscriptionCancelled logs up to `head - trail_head_blocks` and loads new
subscriptions with one Reader batch, (3) decides on chain time (the head's timestamp) which
(subscription, interval) pairs are due and starts one task per delivery. Idle cost is one
eth_getBlockByNumber per poll plus one eth_getLogs per block, whatever the number of
subscriptions; upstream instead re-reads every tracked subscription every 100 ms (spec
infernet-node.md §6.4).

Exactly once: a delivery's signed transaction is written to SQLite before it is broadcast. After a
crash, a SENT delivery is settled from its receipt; a transaction still in the mempool is waited
for; one the endpoint forgot is re-broadcast byte for byte (same hash, so it can mine at most
once), unless `nodeResponded` shows the interval already answered.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable
from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace
from enum import IntEnum
from typing import Any
from typing import Protocol

from ._abi import CONSUMER
from ._abi import COORDINATOR
from .chain import Block
from .chain import ChainClient
from .chain import ChainError
from .chain import Contracts
from .chain import Reverted
from .chain import RpcUnavailable
from .chain_store import ChainStore
from .delegated import Delegations
from .delegation import SignedDelegation
from .delivery import ChainPayload
from .delivery import Closed
from .delivery import ContainerOutputError
from .delivery import Delivery
from .delivery import DeliveryState
from .delivery import Failure
from .delivery import RetryPolicy
from .delivery import Verdict
from .delivery import encode_container_output
from .delivery import responded_key
from .delivery import verdict_for_revert
from .intervals import Phase
from .intervals import schedule_at
from .payments import PaymentCheck
from .sender import SignedTransaction
from .sender import TransactionSender
from .subscriptions import ZERO_ADDRESS
from .subscriptions import ContainerLookup
from .subscriptions import ContainerPolicy
from .subscriptions import Subscription
from .subscriptions import admit_subscription
from .sync import SubscriptionFeed
from .sync import SyncSettings

__all__ = ["ChainSettings", "ContainerRun", "ContainerRunner", "OnchainNode"]

log = logging.getLogger(__name__)

# JobLocation values (spec infernet-node.md §3): where input comes from and output goes.
_ONCHAIN = 0
_OFFCHAIN = 1
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


@dataclass(frozen=True)
class ContainerRun:
    """Outcome of running a container chain: the last output, or the first error."""

    output: Any = None
    error: str = ""


class ContainerRunner(Protocol):
    """Runs the containers in order with the node's container protocol (spec §4.1/§4.3)."""

    def __call__(
        self,
        containers: Sequence[str],
        *,
        source: int,
        destination: int,
        data: Any,
        requires_proof: bool,
    ) -> Awaitable[ContainerRun]: ...


class _Lifecycle(IntEnum):
    NEW = 0
    RUNNING = 1
    STOPPED = 2


_Key = tuple[int, int]


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
        self.rules = dict(rules)
        self.lookup = ContainerLookup.build(self.rules)
        self._runner = runner
        self.store = store
        self.retry = retry or RetryPolicy()
        self._on_final = on_final
        self.client = ChainClient(settings.rpc_url)
        self._lifecycle = _Lifecycle.NEW
        self._loop_task: asyncio.Task[None] | None = None
        self._tasks: dict[_Key | tuple[str, int], asyncio.Task[None]] = {}
        # chain facts, filled by start()
        self.chain_id = 0
        self.contracts: Contracts | None = None
        self.sender: TransactionSender | None = None
        self.payments: PaymentCheck | None = None
        self.head: Block | None = None
        self.feed: SubscriptionFeed | None = None
        self._processed = -1  # last head fully processed
        # tracked subscriptions and the ordered containers serving each
        self._tracked: dict[int, Subscription] = {}
        self._containers: dict[int, tuple[str, ...]] = {}
        # (subscription, interval) -> state, for every delivery this node has touched
        self._deliveries: dict[_Key, DeliveryState] = {}
        self.delegations = Delegations(self)
        # ids whose SubscriptionCreated this process saw (their first interval is unanswered)
        self._fresh: set[int] = set()
        self.rpc_healthy = False
        self.last_error = ""

    # ------------------------------------------------------------------ lifecycle

    @property
    def address(self) -> str:
        assert self.sender is not None
        return self.sender.address

    @property
    def node_wallet(self) -> str:
        return self.settings.payment_address or ZERO_ADDRESS

    async def start(self) -> None:
        """Connect, read the Registry, recover in-flight deliveries, sync, start the loop."""
        if self._lifecycle is not _Lifecycle.NEW:
            raise RuntimeError("OnchainNode.start() called twice")
        self._lifecycle = _Lifecycle.RUNNING
        identity = await self.client.identity()
        self.chain_id = identity.chain_id
        previous = self.store.adopt(identity)
        if previous is not None:
            log.warning(
                "chain: the store's chain state belongs to another chain (%s; now %s):"
                " deliveries, subscriptions and delegated requests recorded there were reset,"
                " job records kept",
                previous.describe(),
                identity.describe(),
            )
        self.contracts = await self.client.contracts(self.settings.registry_address)
        self.sender = TransactionSender(
            self.client, self.settings.private_key, self.chain_id, self.settings.max_gas_limit
        )
        self.payments = PaymentCheck(self.client, self.contracts, self.sender)
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
            len(self._tracked),
            self.feed.synced_block,
        )
        self._loop_task = asyncio.create_task(self._run(), name="devnode-chain-loop")
        self._loop_task.add_done_callback(self._loop_done)

    def _loop_done(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("chain loop stopped: %r", task.exception())

    async def stop(self) -> None:
        """Cancel the loop and in-flight work, close the RPC session; safe to call twice."""
        if self._lifecycle is _Lifecycle.STOPPED:
            return
        self._lifecycle = _Lifecycle.STOPPED
        tasks = [t for t in (self._loop_task, *self._tasks.values()) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
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
                if head.number < self._processed:
                    # The endpoint restarted from an older state: start over from a snapshot.
                    log.warning("chain: head went back from %d to %d", self._processed, head.number)
                    self._tracked.clear()
                    self._containers.clear()
                    assert self.feed is not None
                    await self.feed.snapshot(head)
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
        await self._settle_sent()
        await self.feed.follow(head)
        self.schedule(head.timestamp)

    # ------------------------------------------------------------------ discovery

    def consider(self, sub: Subscription, fresh: bool = False) -> None:
        """Guardian + bookkeeping for a subscription read from the chain."""
        if not sub.exists or sub.id in self._tracked:
            return
        admission = admit_subscription(sub, self.lookup, self.rules, self.settings.payment_address)
        if not admission.accepted:
            if admission.containers:  # ours by container, refused by a rule: worth showing
                self.store.put_subscription(sub, tracked=False, reason=admission.reason)
            log.debug("subscription %d not tracked: %s", sub.id, admission.reason)
            return
        phase = schedule_at(sub, self.head.timestamp if self.head else 0).phase
        if phase in (Phase.CANCELLED, Phase.COMPLETED):
            self.store.put_subscription(sub, tracked=False, reason=phase.name.lower())
            return
        self._tracked[sub.id] = sub
        self._containers[sub.id] = admission.containers
        if fresh:
            self._fresh.add(sub.id)
        self.store.put_subscription(sub, tracked=True)

    def _cancelled(self, subscription_id: int) -> None:
        sub = self._tracked.pop(subscription_id, None)
        if sub is None:
            return
        self._containers.pop(subscription_id, None)
        log.info("subscription cancelled: %d", subscription_id)
        self.store.put_subscription(sub, tracked=False, reason="cancelled")

    # ------------------------------------------------------------------ scheduling

    def schedule(self, now: int) -> None:
        """Start a task for every due (subscription, interval) not handled yet (chain time)."""
        for sub_id, sub in list(self._tracked.items()):
            schedule = schedule_at(sub, now)
            if schedule.phase is Phase.COMPLETED:
                self._untrack(sub, "completed")
                continue
            if schedule.phase is not Phase.ACTIVE:
                continue
            key = (sub_id, schedule.interval)
            state = self._deliveries.get(key)
            if state is None or state is DeliveryState.PENDING:
                if key not in self._tasks:
                    self.spawn(key, self._deliver(sub, schedule.interval))
            elif state.final and sub.is_callback:
                self._untrack(sub, "completed")
        self.delegations.schedule(now)

    def _untrack(self, sub: Subscription, reason: str) -> None:
        self._fresh.discard(sub.id)
        self._tracked.pop(sub.id, None)
        self._containers.pop(sub.id, None)
        self.store.put_subscription(sub, tracked=False, reason=reason)

    def busy(self, key: _Key | tuple[str, int]) -> bool:
        """Whether a delivery task for this key is running."""
        return key in self._tasks

    def spawn(self, key: _Key | tuple[str, int], work: Awaitable[None]) -> None:
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

    # ------------------------------------------------------------------ one delivery

    def record(self, delivery: Delivery) -> Delivery:
        key = (delivery.subscription_id, delivery.interval)
        before = self._deliveries.get(key)
        self._deliveries[key] = delivery.state
        if delivery.state.final and (before is None or not before.final) and self._on_final:
            self._on_final(delivery)
        return self.store.put_delivery(delivery)

    async def _deliver(self, sub: Subscription, interval: int) -> None:
        """Run and send one (subscription, interval), retrying up to the policy's attempts."""
        delivery = self.store.delivery(sub.id, interval) or Delivery(
            sub.id, interval, DeliveryState.PENDING
        )
        while True:
            delivery = self.record(replace(delivery, state=DeliveryState.RUNNING))
            try:
                await self._attempt(sub, interval, delivery)
                return
            except Closed as closed:
                state = (
                    DeliveryState.DELIVERED
                    if closed.verdict is Verdict.DONE
                    else DeliveryState.SKIPPED
                )
                self.record(replace(delivery, state=state, reason=closed.reason))
                log.info(
                    "subscription %d interval %d %s: %s",
                    sub.id,
                    interval,
                    state.name,
                    closed.reason,
                )
                return
            except RpcUnavailable as e:
                # An outage is not this delivery's fault: no attempt counted; the scheduler
                # starts it again on the first block after the endpoint is back.
                self.record(
                    replace(delivery, state=DeliveryState.PENDING, reason=f"waiting: {e.reason}")
                )
                return
            except Failure as failure:
                delivery = replace(
                    delivery,
                    attempts=delivery.attempts + 1,
                    reason=failure.reason,
                    container_error=failure.container_error,
                )
            except ChainError as e:  # a read that reverted or an RPC error: counts as a try
                delivery = replace(
                    delivery, attempts=delivery.attempts + 1, reason=e.reason, container_error=""
                )
            if self.retry.exhausted(delivery.attempts):
                self.record(replace(delivery, state=DeliveryState.FAILED))
                log.warning(
                    "subscription %d interval %d failed after %d attempts: %s",
                    sub.id,
                    interval,
                    delivery.attempts,
                    delivery.reason,
                )
                return
            delivery = self.record(replace(delivery, state=DeliveryState.PENDING))
            await asyncio.sleep(self.retry.delay_after(delivery.attempts))
            if self.head is not None and schedule_at(sub, self.head.timestamp).interval != interval:
                self.record(
                    replace(
                        delivery,
                        state=DeliveryState.SKIPPED,
                        reason=f"interval passed while retrying: {delivery.reason}",
                    )
                )
                return

    async def _attempt(self, sub: Subscription, interval: int, delivery: Delivery) -> None:
        assert self.contracts is not None
        assert self.sender is not None
        assert self.payments is not None
        coordinator = self.contracts.coordinator
        if not sub.requires_proof and not (interval == 1 and sub.id in self._fresh):
            # Pre-flight with an empty payload: skip the container run when the Coordinator
            # already refuses this interval (filled, passed, cancelled, answered). Not worth an
            # RPC for the first interval of a subscription created while we were watching.
            await self.simulate(
                COORDINATOR.deliver_compute.encode(
                    sub.id, interval, b"", bytes(32), b"", self.node_wallet
                ),
                closing_only=True,
            )
        if sub.pays:
            problem = await self.payments.consumer_problem(sub)
            if problem:
                raise Closed(Verdict.SKIP, problem)
        data = await self._container_inputs(sub, interval)
        payload = await self.run_containers(
            self._containers.get(sub.id) or self.lookup.resolve(sub.container_id),
            source=_ONCHAIN,
            data=data.hex(),
            requires_proof=sub.requires_proof,
        )
        if sub.requires_proof:
            await self.approve_escrow(sub)
        calldata = COORDINATOR.deliver_compute.encode(
            sub.id, interval, payload.input, payload.output, payload.proof, self.node_wallet
        )
        gas = await self.simulate(calldata)

        async def persist(signed: SignedTransaction) -> None:
            self.record(
                replace(
                    delivery,
                    state=DeliveryState.SENT,
                    tx_hash=signed.tx_hash,
                    raw_tx=signed.raw,
                    reason="",
                    container_error="",
                )
            )

        try:
            await self.sender.send(coordinator, calldata, gas, persist)
        except RpcUnavailable:
            if self._deliveries.get((sub.id, interval)) is DeliveryState.SENT:
                return  # persisted: settled (or re-broadcast) once the endpoint is back
            raise
        except ChainError as e:
            self.record(replace(delivery, state=DeliveryState.RUNNING))
            raise Failure(f"broadcast failed: {e.reason}") from e

    async def simulate(self, calldata: bytes, *, closing_only: bool = False) -> int:
        """Simulate a delivery; the gas to send it with.

        With `closing_only`, only reverts that close the interval count (the pre-flight runs with
        a dummy payload that a consumer may legitimately reject).
        """
        assert self.contracts is not None
        assert self.sender is not None
        try:
            return await self.sender.gas_for(
                self.contracts.coordinator,
                calldata,
                allowed_sim_errors=self.settings.allowed_sim_errors,
            )
        except Reverted as e:
            verdict = verdict_for_revert(e.name)
            if verdict is not Verdict.RETRY:
                raise Closed(verdict, e.name) from e
            if closing_only:
                return 0
            raise Failure(f"simulation reverted: {e.name}") from e
        except ChainError as e:
            if closing_only:
                return 0
            raise Failure(e.reason) from e

    async def _container_inputs(self, sub: Subscription, interval: int) -> bytes:
        """Owner's getContainerInputs at latest; empty when it fails, like upstream (§4.1)."""
        now = self.head.timestamp if self.head else 0
        try:
            (data,) = await self.client.call(
                sub.owner, CONSUMER.get_container_inputs, sub.id, interval, now, self.address
            )
            return bytes(data)
        except Reverted as e:
            log.info("getContainerInputs(%d, %d) reverted: %s", sub.id, interval, e.name)
            return b""

    async def run_containers(
        self, containers: Sequence[str], *, source: int, data: Any, requires_proof: bool
    ) -> ChainPayload:
        run = await self._runner(
            containers,
            source=source,
            destination=_ONCHAIN,
            data=data,
            requires_proof=requires_proof,
        )
        if run.error:
            raise Failure("container failed", container_error=run.error)
        try:
            return encode_container_output(run.output)
        except ContainerOutputError as e:
            raise Failure("container output not deliverable", container_error=str(e)) from e

    async def approve_escrow(self, sub: Subscription) -> None:
        assert self.payments is not None
        try:
            await self.payments.approve_escrow(sub, self.settings.payment_address)
        except ChainError as e:
            raise Failure(f"escrow approval failed: {e.reason}") from e

    # ------------------------------------------------------------------ settling

    async def _settle_sent(self) -> None:
        """Resolve every broadcast transaction from its receipt (one call per in-flight tx)."""
        for delivery in self.store.deliveries_in(DeliveryState.SENT):
            outcome = await self.tx_outcome(delivery.tx_hash, delivery.raw_tx)
            if outcome is None:
                continue
            if outcome == 1:
                self.record(replace(delivery, state=DeliveryState.DELIVERED, raw_tx=""))
                log.info(
                    "delivered subscription %d interval %d in %s",
                    delivery.subscription_id,
                    delivery.interval,
                    delivery.tx_hash,
                )
                continue
            await self._after_lost_or_reverted(delivery)
        await self.delegations.settle()

    async def tx_outcome(self, tx_hash: str, raw_tx: str) -> int | None:
        """1 mined ok, 0 reverted, -1 lost (endpoint forgot it), None still pending."""
        receipt = await self.client.receipt(tx_hash)
        if receipt is not None:
            return receipt.status
        if await self.client.transaction_known(tx_hash):
            return None  # in the mempool: wait, never send a second transaction
        return -1

    async def _after_lost_or_reverted(self, delivery: Delivery) -> None:
        assert self.contracts is not None
        assert self.sender is not None
        key = responded_key(delivery.subscription_id, delivery.interval, self.address)
        (responded,) = await self.client.call(
            self.contracts.coordinator, COORDINATOR.node_responded, key
        )
        if responded:
            self.record(
                replace(
                    delivery,
                    state=DeliveryState.DELIVERED,
                    raw_tx="",
                    reason="nodeResponded already true",
                )
            )
            return
        receipt = await self.client.receipt(delivery.tx_hash)
        if receipt is None and await self.rebroadcast(delivery.raw_tx):
            log.info("re-broadcast %s (the endpoint had forgotten it)", delivery.tx_hash)
            return
        attempts = delivery.attempts + 1
        reason = "transaction reverted" if receipt is not None else "transaction lost"
        state = DeliveryState.FAILED if self.retry.exhausted(attempts) else DeliveryState.PENDING
        self.record(replace(delivery, state=state, attempts=attempts, reason=reason, raw_tx=""))

    async def rebroadcast(self, raw_tx: str) -> bool:
        """Send the stored signed transaction again; False when its nonce is already used."""
        assert self.sender is not None
        if not raw_tx:
            return False
        try:
            await self.client.send_raw(raw_tx)
        except ChainError as e:
            log.info("re-broadcast refused: %s", e.reason)
            return False
        return True

    # ------------------------------------------------------------------ delegated

    async def submit_delegation(self, delegation: SignedDelegation) -> None:
        """See `Delegations.submit`."""
        await self.delegations.submit(delegation)

    # ------------------------------------------------------------------ status

    def tracks(self, subscription_id: int) -> bool:
        return subscription_id in self._tracked

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
            "chain_subscriptions_tracked": float(len(self._tracked)),
            "chain_deliveries_in_flight": float(self.in_flight()),
            "chain_delegations_pending": float(len(self.delegations.pending)),
            "chain_rpc_requests_total": float(self.client.requests_sent),
        }
        return values

    def last_outcomes(self) -> dict[int, tuple[int, DeliveryState]]:
        """Tracked subscription id -> (latest interval worked on, its state)."""
        latest: dict[int, tuple[int, DeliveryState]] = {}
        for (sub_id, interval), state in self._deliveries.items():
            if sub_id in self._tracked and interval >= latest.get(sub_id, (0, state))[0]:
                latest[sub_id] = (interval, state)
        return latest
