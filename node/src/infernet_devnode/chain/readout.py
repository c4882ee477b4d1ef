"""A read-only window on the running chain side, for status pages (the explorer).

`ChainSide.readout()` fills one per request: the handles a page reads through (the chain tables,
the RPC client for a balance or a receipt, the container-set lookup) and a snapshot of the
loop's state. Nothing here writes or schedules anything.
"""

from __future__ import annotations

from dataclasses import dataclass

from .rpc import ChainClient
from .store import ChainStore
from .subscriptions import ContainerLookup

__all__ = ["ChainReadout"]


@dataclass(frozen=True)
class ChainReadout:
    """What the chain side knows right now, and where to read more.

    Attributes:
        store: the chain tables (subscriptions, deliveries, delegated requests); read only.
        client: the node's RPC client; a page may read a balance or a receipt, nothing else.
        lookup: container-set hash -> the configured container ids it names.
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
    address: str
    chain_id: int
    genesis_hash: str
    head_block: int | None
    chain_time: int
    fault: str
    in_flight: int
