"""A read-only window on the running chain side, for the status routes, metrics and the explorer.

`ChainSide.readout()` fills one per request: the handles a page reads through (the chain tables,
the RPC client for a balance or a receipt, the container-set lookup, the subscriptions served)
and a snapshot of the loop's state. `ChainSide.counts()` fills a `ChainCounts` per scrape.
Nothing here writes or schedules anything.
"""

from __future__ import annotations

from collections.abc import Container
from collections.abc import Mapping
from dataclasses import dataclass

from .delivery import DeliveryState
from .rpc import ChainClient
from .store import ChainStore
from .subscriptions import ContainerLookup

__all__ = ["ChainCounts", "ChainReadout"]


@dataclass(frozen=True)
class ChainReadout:
    """What the chain side knows right now, and where to read more.

    Attributes:
        store: the chain tables (subscriptions, deliveries, delegated requests); read only.
        client: the node's RPC client; a page may read a balance or a receipt, nothing else.
        lookup: container-set hash -> the configured container ids it names.
        tracked: the ids of the subscriptions this node serves.
        address: the node's address (checksummed).
        chain_id: the chain the store belongs to (0 before the first connection).
        genesis_hash: its genesis block's hash ("" before the first connection).
        head_block: the last head block seen (None before the loop started).
        chain_time: that block's timestamp (0 before the loop started).
        fault: why the loop cannot do its work right now ("" when it can).
        in_flight: deliveries being worked on or waiting for their receipt.
    """

    store: ChainStore
    client: ChainClient
    lookup: ContainerLookup
    tracked: Container[int]
    address: str
    chain_id: int
    genesis_hash: str
    head_block: int | None
    chain_time: int
    fault: str
    in_flight: int


@dataclass(frozen=True)
class ChainCounts:
    """The chain side's numbers for ``GET /metrics``.

    Attributes:
        deliveries: deliveries recorded, by state (states without one are absent).
        latest: per tracked subscription, the latest interval this node worked on and the state
            of that delivery.
        gauges: the block loop's gauges and counters (names without the ``devnode_`` prefix;
            counters end in ``_total``).
    """

    deliveries: Mapping[DeliveryState, int]
    latest: Mapping[int, tuple[int, DeliveryState]]
    gauges: Mapping[str, float]
