"""The services one node shares between its off-chain half, its chain side and its HTTP face."""

from __future__ import annotations

from dataclasses import dataclass

from .config import NodeConfig
from .containers import ContainerClient
from .guardian import Guardian
from .metrics import Metrics
from .store import Store

__all__ = ["NodeContext"]


@dataclass(frozen=True)
class NodeContext:
    """Services shared by every component of one node (all opened before the chain side is built).

    Attributes:
        config: the validated config.json.
        store: the open SQLite store; add tables with ``store.migrate(name, scripts)``.
        containers: container client; ``await containers.run(ids, source, destination, data,
            requires_proof)`` runs a pipeline (each output feeds the next container) and
            returns a Pipeline.
        guardian: admission rules; ``check_delegated(request, chain_enabled, now)`` returns the
            container ids or raises GuardianRejection; ``containers_for_hash(h)``; ``rules``.
        metrics: counters; call ``metrics.job_finished(JobLocation.ONCHAIN, status)``.
    """

    config: NodeConfig
    store: Store
    containers: ContainerClient
    guardian: Guardian
    metrics: Metrics
