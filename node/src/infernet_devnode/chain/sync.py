"""Subscription discovery: the initial snapshot, then the Coordinator's logs block by block.

Upstream (infernet-node v1.4.0) polls `id()` and re-reads every tracked subscription every
100 ms; here new and cancelled subscriptions come from `SubscriptionCreated`
/ `SubscriptionCancelled` logs (one eth_getLogs per block, none when the block's log bloom rules
them out) and new ones are read with one `Reader.readSubscriptionBatch`. The cost of following
the chain therefore does not depend on how many subscriptions exist. The same eth_getLogs reads
`SubscriptionFulfilled(id, node)`, every node's deliveries, reported with their block's
timestamp (the head's when known, else one eth_getBlockByNumber per block holding such a log):
the explorer shows who answered each interval from them. A snapshot also reads them back over
the last `_FULFILLED_LOOKBACK_BLOCKS` blocks, the deliveries made while this node was stopped.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from collections.abc import Sequence
from dataclasses import dataclass

from eth_utils.address import to_checksum_address

from .abi import EVENT_SUBSCRIPTION_CANCELLED
from .abi import EVENT_SUBSCRIPTION_CREATED
from .abi import EVENT_SUBSCRIPTION_FULFILLED
from .abi import READER
from .bloom import bloom_may_contain
from .intervals import Phase
from .intervals import interval_at
from .intervals import schedule_at
from .rpc import Block
from .rpc import ChainClient
from .rpc import Contracts
from .rpc import Log
from .rpc import RpcFailed
from .rpc import RpcUnavailable
from .subscriptions import Subscription

__all__ = ["FulfilledLog", "SubscriptionFeed", "SyncSettings"]

log = logging.getLogger(__name__)

# Upper bound on blocks read by one eth_getLogs (public endpoints cap ranges; upstream uses 100).
_MAX_LOG_RANGE = 1_000
# Blocks before the snapshot whose SubscriptionFulfilled logs are read back (one eth_getLogs, plus
# one block read per block holding such a log); later blocks are followed as they come.
_FULFILLED_LOOKBACK_BLOCKS = _MAX_LOG_RANGE
# Head timestamps kept to date fulfilled logs without a block read (trail_head_blocks is small).
_BLOCK_TIMES_KEPT = 64
_ADDRESS_BYTES = 20
# Retries of one snapshot batch the endpoint pushed back on (timeout, rate limit); the pause
# starts at snapshot_sync.sleep and doubles each time.
_PUSHBACK_RETRIES = 5


def _pushback(error: Exception) -> bool:
    """Whether an endpoint error asks the caller to slow down (a timeout, a refused connection,
    an HTTP 429, a JSON-RPC "limit exceeded")."""
    return isinstance(error, RpcUnavailable) or (
        isinstance(error, RpcFailed) and "limit" in error.reason.lower()
    )


@dataclass(frozen=True)
class FulfilledLog:
    """A `SubscriptionFulfilled(id, node)` log with its block's timestamp."""

    subscription_id: int
    node: str  # checksummed
    block_number: int
    block_time: int
    tx_hash: str
    log_index: int


@dataclass(frozen=True)
class SyncSettings:
    """`chain.trail_head_blocks` and `chain.snapshot_sync` (infernet-node v1.4.0)."""

    trail_head_blocks: int = 1
    batch_size: int = 500
    starting_sub_id: int = 0
    # The pause after the endpoint pushes back on a snapshot batch (upstream pauses this long
    # between every two batches, whether the endpoint needs it or not).
    snapshot_sleep: float = 1.0


class SubscriptionFeed:
    """Reports subscriptions as they are created and cancelled, reading at head - trail.

    Args:
        on_created: called with the subscriptions of each batch read and whether they were just
            created (seen in a log, so their first interval cannot have been answered before).
        on_cancelled: called with the id of each cancelled subscription.
        on_fulfilled: called with the deliveries (of any node) logged in each range read, after
            the subscriptions created in that range were reported.
    """

    def __init__(
        self,
        client: ChainClient,
        contracts: Contracts,
        settings: SyncSettings,
        on_created: Callable[[Sequence[Subscription], bool], None],
        on_cancelled: Callable[[int], None],
        on_fulfilled: Callable[[Sequence[FulfilledLog]], None],
    ) -> None:
        self._client = client
        self._contracts = contracts
        self._settings = settings
        self._on_created = on_created
        self._on_cancelled = on_cancelled
        self._on_fulfilled = on_fulfilled
        self._block_times: dict[int, int] = {}
        self.synced_block = 0
        self.progress = (0, 0)  # (ids read, ids to read) by the latest snapshot

    async def snapshot(self, head: Block) -> None:
        """Initial sync (infernet-node v1.4.0): every id after starting_sub_id, in batches."""
        target = max(head.number - self._settings.trail_head_blocks, 0)
        next_id = await self._client.next_subscription_id(self._contracts, target)
        first = start = self._settings.starting_sub_id + 1
        self.progress = (0, max(next_id - first, 0))
        while start < next_id:
            end = min(start + self._settings.batch_size, next_id)
            await self._load_patiently(range(start, end), target, head.timestamp)
            self.progress = (end - first, next_id - first)
            start = end
        self.synced_block = target
        await self._backfill_fulfilled(target)

    async def _backfill_fulfilled(self, target: int) -> None:
        """Every node's deliveries logged in the `_FULFILLED_LOOKBACK_BLOCKS` blocks up to
        `target`: what this node missed while it was not following (stopped, restarted). Only
        the explorer reads them, so an endpoint refusing the range costs a log line, not the
        sync; an endpoint that does not answer fails the snapshot as any other read."""
        start = max(target - _FULFILLED_LOOKBACK_BLOCKS + 1, 0)
        try:
            logs = await self._client.logs(
                self._contracts.coordinator, [EVENT_SUBSCRIPTION_FULFILLED], start, target
            )
        except RpcFailed as e:
            log.info("snapshot: earlier deliveries of other nodes not read: %s", e.reason)
            return
        if logs:
            self._on_fulfilled(await self._dated(logs))

    async def _load_patiently(self, ids: range, block: int, now: int) -> None:
        """One snapshot batch; paused and retried only when the endpoint pushes back."""
        pause = self._settings.snapshot_sleep
        for attempt in range(_PUSHBACK_RETRIES + 1):
            try:
                await self._load(ids, block, fresh=False, now=now)
                return
            except (RpcUnavailable, RpcFailed) as e:
                if not _pushback(e) or attempt == _PUSHBACK_RETRIES:
                    raise
                log.info("snapshot: %s; pausing %.2f s before ids %s", e.reason, pause, ids)
                await asyncio.sleep(pause)
                pause *= 2

    async def follow(self, head: Block) -> None:
        """Read the logs of the blocks between the last synced one and head - trail."""
        target = head.number - self._settings.trail_head_blocks
        self._remember(head)
        if target == head.number == self.synced_block + 1 and not self._may_have_events(head):
            self.synced_block = target  # the bloom proves there is nothing to read
            return
        while self.synced_block < target:
            to_block = min(target, self.synced_block + _MAX_LOG_RANGE)
            logs = await self._client.logs(
                self._contracts.coordinator,
                [
                    EVENT_SUBSCRIPTION_CREATED,
                    EVENT_SUBSCRIPTION_CANCELLED,
                    EVENT_SUBSCRIPTION_FULFILLED,
                ],
                self.synced_block + 1,
                to_block,
            )
            created = sorted(
                {
                    int.from_bytes(entry.topics[1], "big")
                    for entry in logs
                    if entry.topics[0] == EVENT_SUBSCRIPTION_CREATED
                    and int.from_bytes(entry.topics[1], "big") > self._settings.starting_sub_id
                }
            )
            if created:
                # Read at the block being caught up to, not at the end of this log range: a node
                # far behind would otherwise ask for a state the endpoint no longer keeps (anvil
                # keeps 500, a non-archive geth 128). A later state only adds what later logs say.
                await self._load(range(created[0], created[-1] + 1), target, fresh=True)
            for entry in logs:
                if entry.topics[0] == EVENT_SUBSCRIPTION_CANCELLED:
                    self._on_cancelled(int.from_bytes(entry.topics[1], "big"))
            fulfilled = [e for e in logs if e.topics[0] == EVENT_SUBSCRIPTION_FULFILLED]
            if fulfilled:
                self._on_fulfilled(await self._dated(fulfilled))
            self.synced_block = to_block

    def _remember(self, head: Block) -> None:
        self._block_times[head.number] = head.timestamp
        while len(self._block_times) > _BLOCK_TIMES_KEPT:
            del self._block_times[min(self._block_times)]

    async def _dated(self, logs: Sequence[Log]) -> list[FulfilledLog]:
        """The logs with their block's timestamp (read once per block not seen as a head)."""
        times = dict(self._block_times)
        for number in sorted({e.block_number for e in logs} - set(times)):
            times[number] = (await self._client.block(number)).timestamp
        return [
            FulfilledLog(
                subscription_id=int.from_bytes(e.topics[1], "big"),
                node=to_checksum_address(e.topics[2][-_ADDRESS_BYTES:]),
                block_number=e.block_number,
                block_time=times[e.block_number],
                tx_hash=e.transaction_hash.lower(),
                log_index=e.log_index,
            )
            for e in logs
            if len(e.topics) == 3
            and int.from_bytes(e.topics[1], "big") > self._settings.starting_sub_id
        ]

    def _may_have_events(self, block: Block) -> bool:
        coordinator = bytes.fromhex(self._contracts.coordinator[2:])
        return bloom_may_contain(block.logs_bloom, coordinator) and any(
            bloom_may_contain(block.logs_bloom, topic)
            for topic in (
                EVENT_SUBSCRIPTION_CREATED,
                EVENT_SUBSCRIPTION_CANCELLED,
                EVENT_SUBSCRIPTION_FULFILLED,
            )
        )

    async def _load(self, ids: range, block: int, *, fresh: bool, now: int = 0) -> None:
        (values,) = await self._client.call(
            self._contracts.reader,
            READER.read_subscription_batch,
            ids.start,
            ids.stop,
            block=block,
        )
        subs = [
            Subscription.from_tuple(sub_id, raw) for sub_id, raw in zip(ids, values, strict=True)
        ]
        if not fresh:
            subs = await self._drop_completed(subs, block, now)
        self._on_created(subs, fresh)

    async def _drop_completed(
        self, subs: list[Subscription], block: int, now: int
    ) -> list[Subscription]:
        """Like upstream's snapshot: subscriptions on their last interval whose redundancy is
        already reached are done; one readRedundancyCountBatch call filters them out."""
        last = [
            s
            for s in subs
            if s.exists
            and not s.is_cancelled
            and schedule_at(s, now).phase is not Phase.NOT_ACTIVE
            and interval_at(s, now) >= s.frequency
        ]
        if not last:
            return subs
        (counts,) = await self._client.call(
            self._contracts.reader,
            READER.read_redundancy_count_batch,
            [s.id for s in last],
            [s.frequency for s in last],
            block=block,
        )
        done = {s.id for s, count in zip(last, counts, strict=True) if count >= s.redundancy}
        return [s for s in subs if s.id not in done]
