"""The chain side of the node: its parts built from config, started and stopped together.

`ChainSide` wires the chain half (client, store, ledger, tracked subscriptions, block loop) to
the node's context and answers the HTTP face (``infernet_devnode.api``) in plain data: health,
counts, a read-only readout and the admission of delegated requests.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import IntEnum
from typing import Any

from eth_account import Account
from eth_utils.address import to_checksum_address

from ..capacity import ONCHAIN
from ..components import NodeContext
from ..config import NodeConfig
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
from .ledger import DeliveryLedger
from .loop import ChainLoop
from .loop import ChainSettings
from .readout import ChainCounts
from .readout import ChainReadout
from .rpc import ChainClient
from .rpc import ChainError
from .store import ChainStore
from .subscriptions import ContainerPolicy
from .tracking import TrackedSubscriptions

__all__ = [
    "ChainSide",
    "chain_settings",
    "container_policies",
]


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
    """Builds the chain half's parts from the node's context and runs the block loop.

    Started before the REST server serves and stopped after it: ``start`` connects and returns,
    the initial sync runs in the background (``/health`` says "syncing"; upstream's REST server
    waits for the sync).
    """

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
        """The node's EOA (checksummed), shown in ``/info`` chain.address."""
        return self._address

    def pending_onchain(self) -> int:
        """On-chain jobs in progress, shown in ``/info`` pending.onchain."""
        return self._ledger.in_flight()

    def health(self) -> dict[str, Any]:
        """What ``/health`` adds to ``{"status": "healthy"}``: nothing when the chain side does
        its work; ``{"status": "syncing", ...progress}`` during the initial sync;
        ``{"status": "degraded", "reason": ...}`` when it cannot (endpoint down, no protocol)."""
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
        """A snapshot for the status routes and the explorer."""
        identity = self._store.identity()
        head = self._loop.head if self._loop is not None else None
        return ChainReadout(
            store=self._store,
            client=self._client,
            lookup=self._tracked.lookup,
            tracked=self._tracked,
            address=self._address,
            chain_id=identity.chain_id if identity else 0,
            genesis_hash=identity.genesis_hash if identity else "",
            head_block=head.number if head else None,
            chain_time=head.timestamp if head else 0,
            fault=self._loop.health().reason if self._loop is not None else "not started",
            in_flight=self._ledger.in_flight(),
        )

    def counts(self) -> ChainCounts:
        """Deliveries by state, the latest outcome per tracked subscription and the loop's
        gauges, for ``GET /metrics``."""
        if self._loop is None:
            # Until the loop has loaded the ledger, the store counts the recorded deliveries.
            return ChainCounts(self._store.delivery_counts(), {}, {})
        # The ledger keeps its counts as deliveries change state: a scrape costs the same
        # however many deliveries were recorded.
        return ChainCounts(
            deliveries=self._ledger.counts(),
            latest=self._ledger.last_outcomes(self._tracked),
            gauges=self._loop.metrics(),
        )

    async def start(self) -> None:
        """Connect and start the block loop; returns once the node may serve requests.

        Raises:
            ChainNotAvailable: the chain cannot be used (the node then exits with code 1).
        """
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
        """Stop the loop and release the client; safe to call twice."""
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
        """Admit a delegated subscription from POST /api/jobs (or one item of /batch); returns
        the body answered with 200 (upstream: ``{}``).

        Raises:
            InvalidField: the signature has expired on chain time or is malformed.
            GuardianRejection: an admission rule refuses it.
            RpcUnavailable: the chain endpoint did not answer.
        """
        delegation = SignedDelegation.from_message(request)
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
