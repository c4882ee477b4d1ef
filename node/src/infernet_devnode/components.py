"""What an optional component (the chain side) plugs into, and what it must provide.

The node builds a ``NodeContext`` (shared services) and, when ``chain.enabled`` is true, calls a
``ChainFactory`` with it. The returned ``ChainComponent`` is started before the REST server
serves and stopped after it; its ``start`` connects and returns, the initial sync runs in the
background (``/health`` says "syncing"; upstream's REST server waits for the sync).
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from typing import Protocol

from aiohttp import web

from .config import NodeConfig
from .containers import ContainerClient
from .guardian import Guardian
from .messages import DelegatedSubscriptionRequest
from .metrics import Metrics
from .store import Store

__all__ = ["ChainComponent", "ChainFactory", "NodeContext"]


@dataclass(frozen=True)
class NodeContext:
    """Services shared by every component of one node (all opened before factories run).

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


class ChainComponent(Protocol):
    """The chain side of the node, as the rest of the node sees it."""

    @property
    def address(self) -> str:
        """The node's EOA (checksummed), shown in ``/info`` chain.address."""
        ...

    def pending_onchain(self) -> int:
        """On-chain jobs in progress, shown in ``/info`` pending.onchain."""
        ...

    def health(self) -> dict[str, Any]:
        """What ``/health`` adds to ``{"status": "healthy"}``: nothing when the chain side does
        its work; ``{"status": "syncing", ...progress}`` during the initial sync;
        ``{"status": "degraded", "reason": ...}`` when it cannot (endpoint down, no protocol)."""
        ...

    async def start(self) -> None:
        """Connect and start background loops; returns once the node may serve requests.

        Raises:
            NodeError: the chain cannot be used (the node then exits with code 1).
        """
        ...

    async def stop(self) -> None:
        """Stop loops and release resources; safe to call twice."""
        ...

    async def submit_delegated(
        self, request: DelegatedSubscriptionRequest, client: str
    ) -> dict[str, Any]:
        """Accept a delegated subscription from POST /api/jobs (or one item of /batch).

        Returns the JSON body answered with 200 (upstream: ``{}``). Raise GuardianRejection
        (-> 405 ``{error, params}``) or InvalidField (-> 400 naming the field) to refuse.
        """
        ...

    def routes(self) -> Sequence[web.RouteDef]:
        """Extra REST routes (e.g. GET /api/subscriptions/{id}); rate limited like the rest."""
        ...

    def metrics_text(self) -> str:
        """Extra Prometheus text lines appended to GET /metrics (chain gauges)."""
        ...


ChainFactory = Callable[[NodeContext], ChainComponent]
