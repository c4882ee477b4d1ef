"""The chain side as the node's `ChainComponent`: wiring from config, REST routes, metrics.

Routes (devnode extensions, not in Infernet Node 1.4):
    GET /api/subscriptions/{id}               what this node knows and did about one subscription
    GET /api/delegations/{owner}/{nonce}      the state of one delegated request (POST /api/jobs
                                              with a `subscription`), keyed as the Coordinator
                                              keys it: subscription owner and signature nonce
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from aiohttp import web
from eth_utils.address import to_checksum_address

from ..components import NodeContext
from ..config import NodeConfig
from ..errors import ChainNotAvailable
from ..errors import InvalidField
from ..messages import DelegatedSubscriptionRequest
from ..results import ContainerError
from ..results import ContainerOutput
from ..results import JobLocation
from ..results import JobStatus
from .delivery import Delivery
from .delivery import DeliveryState
from .eip712 import SignedDelegation
from .execution import ContainerRun
from .intervals import schedule_at
from .loop import ChainSettings
from .loop import OnchainNode
from .rpc import ChainError
from .rpc import RpcUnavailable
from .store import ChainStore
from .store import DelegationRecord
from .subscriptions import ContainerPolicy

__all__ = [
    "ChainSide",
    "chain_settings",
    "container_policies",
    "delegation_status",
    "subscription_status",
]

_UINT32_MAX = 2**32 - 1
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_METRIC_PREFIX = "devnode_"


def chain_settings(config: NodeConfig) -> ChainSettings:
    """The resolved `chain` section (config validation already required the keys)."""
    chain = config.chain
    wallet = chain.wallet
    if chain.rpc_url is None or chain.registry_address is None or wallet is None:
        raise ChainNotAvailable("chain.rpc_url, chain.registry_address and chain.wallet are needed")
    if wallet.private_key is None:
        raise ChainNotAvailable("chain.wallet.private_key is needed")
    sync = chain.snapshot_sync
    return ChainSettings(
        rpc_url=chain.rpc_url,
        registry_address=chain.registry_address,
        private_key=wallet.private_key.get_secret_value(),
        payment_address=(
            to_checksum_address(wallet.payment_address) if wallet.payment_address else None
        ),
        max_gas_limit=wallet.max_gas_limit,
        allowed_sim_errors=tuple(wallet.allowed_sim_errors),
        trail_head_blocks=chain.trail_head_blocks,
        snapshot_sleep=sync.sleep,
        batch_size=sync.batch_size,
        starting_sub_id=sync.starting_sub_id,
        sync_period=sync.sync_period,
    )


def container_policies(config: NodeConfig) -> dict[str, ContainerPolicy]:
    return {
        c.id: ContainerPolicy(
            id=c.id,
            external=c.external,
            generates_proofs=c.generates_proofs,
            allowed_addresses=frozenset(a.lower() for a in c.allowed_addresses),
            allowed_delegate_addresses=frozenset(a.lower() for a in c.allowed_delegate_addresses),
            accepted_payments=dict(c.accepted_payments),
        )
        for c in config.containers
    }


class ChainSide:
    """Implements `components.ChainComponent` on top of `OnchainNode`."""

    def __init__(self, context: NodeContext) -> None:
        self._context = context
        self.node = OnchainNode(
            chain_settings(context.config),
            container_policies(context.config),
            self._run_containers,
            ChainStore(context.store),
            on_final=self._count,
        )

    def _count(self, delivery: Delivery) -> None:
        status = (
            JobStatus.SUCCESS if delivery.state is DeliveryState.DELIVERED else JobStatus.FAILED
        )
        self._context.metrics.job_finished(JobLocation.ONCHAIN, status)

    async def _run_containers(
        self,
        containers: Sequence[str],
        *,
        source: int,
        destination: int,
        data: Any,
        requires_proof: bool,
    ) -> ContainerRun:
        pipeline = await self._context.containers.run(
            containers, JobLocation(source), JobLocation(destination), data, requires_proof
        )
        result = pipeline.result
        if isinstance(result, ContainerOutput):
            return ContainerRun(output=result.output)
        if isinstance(result, ContainerError):
            return ContainerRun(error=f"{result.container}: {result.error}")
        return ContainerRun(error="no container ran")

    @property
    def address(self) -> str:
        return self.node.address

    def pending_onchain(self) -> int:
        return self.node.in_flight()

    async def start(self) -> None:
        try:
            await self.node.start()
        except ChainError as e:
            await self.node.stop()
            raise ChainNotAvailable(e.reason) from e

    async def stop(self) -> None:
        await self.node.stop()

    async def submit_delegated(
        self, request: DelegatedSubscriptionRequest, client: str
    ) -> dict[str, Any]:
        delegation = SignedDelegation.from_message(request)
        try:
            return await self._submit(request, delegation)
        except RpcUnavailable as e:
            # 503 naming the endpoint problem rather than a generic 500.
            raise web.HTTPServiceUnavailable(reason=f"chain unavailable: {e.reason}") from e

    async def _submit(
        self, request: DelegatedSubscriptionRequest, delegation: SignedDelegation
    ) -> dict[str, Any]:
        now = await self.node.chain_time()
        # Expiry first, on chain time, as a 400 that says so (upstream: silent drop later).
        if now >= delegation.expiry:
            raise InvalidField(
                "signature.expiry",
                f"SignatureExpired: expiry {delegation.expiry} is not after chain time {now}",
            )
        self._context.guardian.check_delegated(request, True, now)
        await self.node.submit_delegation(delegation)
        return {}

    def routes(self) -> Sequence[web.RouteDef]:
        return [
            web.get("/api/subscriptions/{id}", self._subscription),
            web.get("/api/delegations/{owner}/{nonce}", self._delegation),
        ]

    async def _delegation(self, request: web.Request) -> web.Response:
        owner, nonce = request.match_info["owner"], request.match_info["nonce"]
        if not _ADDRESS.match(owner):
            raise InvalidField("owner", "expected a 0x-prefixed 20-byte hex address")
        if not nonce.isdigit() or int(nonce) > _UINT32_MAX:
            raise InvalidField("nonce", "expected a signature nonce between 0 and 2**32-1")
        record = self.node.store.delegation(to_checksum_address(owner), int(nonce))
        if record is None:
            return _not_found(
                f"no delegated request from {owner} with nonce {nonce} is known to this node",
                "nonce",
            )
        return _json(delegation_status(self.node, record))

    async def _subscription(self, request: web.Request) -> web.Response:
        raw = request.match_info["id"]
        if not raw.isdigit() or not 0 < int(raw) <= _UINT32_MAX:
            raise InvalidField("id", "expected a subscription id between 1 and 2**32-1")
        body = subscription_status(self.node, int(raw))
        if body is None:
            return _not_found(f"subscription {raw} is not known to this node", "id")
        return _json(body)

    def metrics_text(self) -> str:
        """Prometheus lines for /metrics: chain gauges and deliveries by state."""
        lines = [
            f"# HELP {_METRIC_PREFIX}chain_deliveries Deliveries recorded, by state.\n",
            f"# TYPE {_METRIC_PREFIX}chain_deliveries gauge\n",
        ]
        counts = self.node.store.delivery_counts()
        for state in DeliveryState:
            lines.append(
                f'{_METRIC_PREFIX}chain_deliveries{{state="{state.name.lower()}"}}'
                f" {counts.get(state, 0)}\n"
            )
        lines.append(
            f"# HELP {_METRIC_PREFIX}chain_subscription_interval Latest interval this node worked"
            " on per tracked subscription, labelled with that delivery's state.\n"
        )
        lines.append(f"# TYPE {_METRIC_PREFIX}chain_subscription_interval gauge\n")
        for sub_id, (interval, state) in sorted(self.node.last_outcomes().items()):
            lines.append(
                f'{_METRIC_PREFIX}chain_subscription_interval{{id="{sub_id}",'
                f'state="{state.name.lower()}"}} {interval}\n'
            )
        for name, value in self.node.metrics().items():
            kind = "counter" if name.endswith("_total") else "gauge"
            lines.append(f"# TYPE {_METRIC_PREFIX}{name} {kind}\n")
            lines.append(f"{_METRIC_PREFIX}{name} {value:g}\n")
        return "".join(lines)


def _json(body: dict[str, Any], status: int = 200) -> web.Response:
    return web.Response(
        body=json.dumps(body).encode(), status=status, content_type="application/json"
    )


def _not_found(error: str, field: str) -> web.Response:
    return _json({"error": error, "field": field}, status=404)


def subscription_status(node: OnchainNode, subscription_id: int) -> dict[str, Any] | None:
    """GET /api/subscriptions/{id}: what the node knows and did about one subscription."""
    record = node.store.subscription(subscription_id)
    deliveries = node.store.deliveries_of(subscription_id)
    if record is None and not deliveries:
        return None
    body: dict[str, Any] = {"id": subscription_id}
    if record is not None:
        sub = record.subscription
        schedule = schedule_at(sub, node.chain_now())
        body.update(
            tracked=node.tracks(sub.id),
            reason=record.reason,
            containers=list(node.lookup.resolve(sub.container_id)),
            phase=schedule.phase.name.lower(),
            interval=schedule.interval,
            subscription=sub.as_json(),
        )
    body["deliveries"] = [_delivery_json(d) for d in deliveries]
    body["last"] = _delivery_json(deliveries[-1]) if deliveries else None
    return body


def _delivery_json(d: Delivery) -> dict[str, Any]:
    return {
        "interval": d.interval,
        "state": d.state.name.lower(),
        "attempts": d.attempts,
        "tx_hash": d.tx_hash or None,
        "reason": d.reason,
        "container_error": d.container_error,
        "updated_at": d.updated_at,
    }


def delegation_status(node: OnchainNode, record: DelegationRecord) -> dict[str, Any]:
    """GET /api/delegations/{owner}/{nonce}: one delegated request and what became of it."""
    delegation, delivery = record.delegation, record.delivery
    sub = delegation.subscription
    return {
        "owner": sub.owner,
        "nonce": delegation.nonce,
        "expiry": delegation.expiry,
        "containers": list(node.lookup.resolve(sub.container_id)),
        "subscription": sub.as_json(),
        # the Coordinator's id once deliverComputeDelegatee created it (null before)
        "subscription_id": delivery.subscription_id or None,
        **_delivery_json(delivery),
    }
