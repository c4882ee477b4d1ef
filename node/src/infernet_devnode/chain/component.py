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
from enum import IntEnum
from typing import Any

from aiohttp import web
from eth_account import Account
from eth_utils.address import to_checksum_address

from ..capacity import ONCHAIN
from ..components import NodeContext
from ..config import NodeConfig
from ..digits import parse_uint
from ..errors import ChainNotAvailable
from ..errors import InvalidField
from ..messages import DelegatedSubscriptionRequest
from ..results import ContainerResult
from ..results import JobLocation
from ..results import JobStatus
from .delivery import Delivery
from .delivery import DeliveryState
from .delivery import RetryPolicy
from .eip712 import SignedDelegation
from .intervals import schedule_at
from .ledger import DeliveryLedger
from .loop import ChainLoop
from .loop import ChainSettings
from .readout import ChainReadout
from .rpc import ChainClient
from .rpc import ChainError
from .rpc import RpcUnavailable
from .store import ChainStore
from .store import DelegationRecord
from .subscriptions import ContainerPolicy
from .tracking import TrackedSubscriptions

__all__ = [
    "ChainSide",
    "chain_settings",
    "container_policies",
]

_UINT32_MAX = 2**32 - 1
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_METRIC_PREFIX = "devnode_"
_STATE_LABELS = {state: state.name.lower() for state in DeliveryState}


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
        liveness_timeout=chain.liveness_timeout,
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


class _Lifecycle(IntEnum):
    NEW = 0
    STARTED = 1
    STOPPED = 2


class ChainSide:
    """Implements `components.ChainComponent`: builds the chain half's parts from the node's
    context and starts the block loop."""

    def __init__(self, context: NodeContext) -> None:
        self._context = context
        self._settings = chain_settings(context.config)
        key = self._settings.private_key
        self._address = str(Account.from_key(key if key.startswith("0x") else "0x" + key).address)
        self._client = ChainClient(self._settings.rpc_url)
        self._store = ChainStore(context.store)
        self._ledger = DeliveryLedger(self._store, on_final=self._count)
        self._tracked = TrackedSubscriptions(
            container_policies(context.config), self._settings.payment_address, self._store
        )
        self._lifecycle = _Lifecycle.NEW
        self._loop: ChainLoop | None = None

    def _count(self, delivery: Delivery) -> None:
        status = (
            JobStatus.SUCCESS if delivery.state is DeliveryState.DELIVERED else JobStatus.FAILED
        )
        self._context.metrics.job_finished(JobLocation.ONCHAIN, status)

    async def _run_containers(
        self,
        containers: Sequence[str],
        source: JobLocation,
        destination: JobLocation,
        data: Any,
        requires_proof: bool,
    ) -> ContainerResult | None:
        pipeline = await self._context.containers.run(
            containers, source, destination, data, requires_proof, owner=ONCHAIN
        )
        return pipeline.result

    @property
    def address(self) -> str:
        return self._address

    def pending_onchain(self) -> int:
        return self._ledger.in_flight()

    def health(self) -> dict[str, Any]:
        if self._loop is None:
            return {"status": "degraded", "reason": "chain: not started"}
        health = self._loop.health()
        if health.reason:
            return {"status": "degraded", "reason": f"chain: {health.reason}"}
        if health.syncing:
            read, total = health.progress
            return {"status": "syncing", "subscriptions_read": read, "subscriptions": total}
        return {}

    def readout(self) -> ChainReadout:
        """A snapshot for read-only status pages (the explorer)."""
        identity = self._store.identity()
        head = self._loop.head if self._loop is not None else None
        return ChainReadout(
            store=self._store,
            client=self._client,
            lookup=self._tracked.lookup,
            address=self._address,
            chain_id=identity.chain_id if identity else 0,
            genesis_hash=identity.genesis_hash if identity else "",
            head_block=head.number if head else None,
            chain_time=head.timestamp if head else 0,
            fault=self._loop.health().reason if self._loop is not None else "not started",
            in_flight=self._ledger.in_flight(),
        )

    async def start(self) -> None:
        if self._lifecycle is not _Lifecycle.NEW:
            raise RuntimeError("ChainSide.start() called twice")
        self._lifecycle = _Lifecycle.STARTED
        try:
            self._loop = await ChainLoop.open(
                self._settings,
                self._client,
                self._ledger,
                self._tracked,
                self._run_containers,
                RetryPolicy(),
            )
        except ChainError as e:
            await self.stop()
            raise ChainNotAvailable(e.reason) from e

    async def stop(self) -> None:
        if self._lifecycle is _Lifecycle.STOPPED:
            return
        self._lifecycle = _Lifecycle.STOPPED
        if self._loop is not None:
            await self._loop.stop()
        await self._ledger.cancel()
        await self._client.close()

    def _started(self) -> ChainLoop:
        if self._loop is None:
            raise ChainNotAvailable("the chain side is not started")
        return self._loop

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
        loop = self._started()
        now = await loop.chain_time()
        # Expiry first, on chain time, as a 400 that says so (upstream: silent drop later).
        if now >= delegation.expiry:
            raise InvalidField(
                "signature.expiry",
                f"SignatureExpired: expiry {delegation.expiry} is not after chain time {now}",
            )
        self._context.guardian.check_delegated(request, True, now)
        await loop.submit_delegation(delegation, now)
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
        nonce_value = parse_uint(nonce, "nonce", 0, _UINT32_MAX, "a signature nonce")
        record = self._store.delegation(to_checksum_address(owner), nonce_value)
        if record is None:
            return _not_found(
                f"no delegated request from {owner} with nonce {nonce_value} is known to this node",
                "nonce",
            )
        return _json(self._delegation_status(record))

    async def _subscription(self, request: web.Request) -> web.Response:
        sub_id = parse_uint(request.match_info["id"], "id", 1, _UINT32_MAX, "a subscription id")
        body = self._subscription_status(sub_id)
        if body is None:
            return _not_found(f"subscription {sub_id} is not known to this node", "id")
        return _json(body)

    def metrics_text(self) -> str:
        """Prometheus lines for /metrics: chain gauges and deliveries by state."""
        lines = [
            f"# HELP {_METRIC_PREFIX}chain_deliveries Deliveries recorded, by state.\n",
            f"# TYPE {_METRIC_PREFIX}chain_deliveries gauge\n",
        ]
        # Once the loop runs, the ledger counts deliveries as they change: a scrape then costs
        # the same however many were recorded (counting rows made a long burst ever slower).
        counts = self._ledger.counts() if self._loop is not None else self._store.delivery_counts()
        for state in DeliveryState:
            lines.append(
                f'{_METRIC_PREFIX}chain_deliveries{{state="{_STATE_LABELS[state]}"}}'
                f" {counts.get(state, 0)}\n"
            )
        lines.append(
            f"# HELP {_METRIC_PREFIX}chain_subscription_interval Latest interval this node worked"
            " on per tracked subscription, labelled with that delivery's state.\n"
        )
        lines.append(f"# TYPE {_METRIC_PREFIX}chain_subscription_interval gauge\n")
        # One line per tracked subscription (a burst tracks hundreds): state labels made once.
        for sub_id, (interval, state) in sorted(self._ledger.last_outcomes(self._tracked).items()):
            lines.append(
                f'{_METRIC_PREFIX}chain_subscription_interval{{id="{sub_id}",'
                f'state="{_STATE_LABELS[state]}"}} {interval}\n'
            )
        gauges = self._loop.metrics() if self._loop is not None else {}
        for name, value in gauges.items():
            kind = "counter" if name.endswith("_total") else "gauge"
            lines.append(f"# TYPE {_METRIC_PREFIX}{name} {kind}\n")
            lines.append(f"{_METRIC_PREFIX}{name} {value:g}\n")
        return "".join(lines)

    def _subscription_status(self, subscription_id: int) -> dict[str, Any] | None:
        """GET /api/subscriptions/{id}: what the node knows and did about one subscription."""
        record = self._store.subscription(subscription_id)
        deliveries = self._store.deliveries_of(subscription_id)
        if record is None and not deliveries:
            return None
        body: dict[str, Any] = {"id": subscription_id}
        if record is not None:
            sub = record.subscription
            schedule = schedule_at(sub, self._loop.chain_now() if self._loop else 0)
            body.update(
                tracked=sub.id in self._tracked,
                reason=record.reason,
                containers=list(self._tracked.lookup.resolve(sub.container_id)),
                phase=schedule.phase.name.lower(),
                interval=schedule.interval,
                subscription=sub.as_json(),
            )
        body["deliveries"] = [_delivery_json(d) for d in deliveries]
        body["last"] = _delivery_json(deliveries[-1]) if deliveries else None
        return body

    def _delegation_status(self, record: DelegationRecord) -> dict[str, Any]:
        """GET /api/delegations/{owner}/{nonce}: one delegated request and what became of it."""
        delegation, delivery = record.delegation, record.delivery
        sub = delegation.subscription
        return {
            "owner": sub.owner,
            "nonce": delegation.nonce,
            "expiry": delegation.expiry,
            "containers": list(self._tracked.lookup.resolve(sub.container_id)),
            "subscription": sub.as_json(),
            # the Coordinator's id once deliverComputeDelegatee created it (null before)
            "subscription_id": delivery.subscription_id or None,
            **_delivery_json(delivery),
        }


def _json(body: dict[str, Any], status: int = 200) -> web.Response:
    return web.Response(
        body=json.dumps(body).encode(), status=status, content_type="application/json"
    )


def _not_found(error: str, field: str) -> web.Response:
    return _json({"error": error, "field": field}, status=404)


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
