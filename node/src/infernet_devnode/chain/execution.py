"""Delivery execution: one due (subscription, interval) from its inputs to a broadcast transaction.

An attempt reads the owner's `getContainerInputs`, runs the containers with `{source: 0,
destination: 0}`, simulates `deliverCompute` and sends it (spec infernet-node.md §6.4). The signed
transaction is recorded (state SENT) before it is broadcast; receipts are `settlement`'s job.
Failures are retried up to the node's `RetryPolicy`, then recorded with their reason.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from collections.abc import Callable
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import replace
from typing import TYPE_CHECKING
from typing import Any
from typing import Protocol

from .abi import CONSUMER
from .abi import COORDINATOR
from .delivery import ChainPayload
from .delivery import Closed
from .delivery import ContainerOutputError
from .delivery import Delivery
from .delivery import DeliveryState
from .delivery import Failure
from .delivery import Verdict
from .delivery import encode_container_output
from .delivery import verdict_for_revert
from .intervals import schedule_at
from .rpc import ChainError
from .rpc import Reverted
from .rpc import RpcUnavailable
from .sender import SignedTransaction
from .subscriptions import Subscription

if TYPE_CHECKING:
    from .loop import OnchainNode

__all__ = ["ONCHAIN", "ContainerRun", "ContainerRunner", "DeliveryRunner"]

log = logging.getLogger(__name__)

# JobLocation.ONCHAIN (spec infernet-node.md §3): input read from the chain, output delivered to it.
ONCHAIN = 0


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


class DeliveryRunner:
    """Runs the deliveries of one node (and the container/simulation steps delegated ones share)."""

    def __init__(self, node: OnchainNode) -> None:
        self._node = node

    async def deliver(self, sub: Subscription, interval: int) -> None:
        """Run and send one (subscription, interval), retrying up to the policy's attempts."""
        node = self._node
        delivery = node.store.delivery(sub.id, interval) or Delivery(
            sub.id, interval, DeliveryState.PENDING
        )
        while True:
            delivery = node.record(replace(delivery, state=DeliveryState.RUNNING))
            try:
                await self._attempt(sub, interval, delivery)
                return
            except Closed as closed:
                node.record(replace(delivery, state=closed.state, reason=closed.reason))
                log.info(
                    "subscription %d interval %d %s: %s",
                    sub.id,
                    interval,
                    closed.state.name,
                    closed.reason,
                )
                return
            except RpcUnavailable as e:
                # An outage is not this delivery's fault: no attempt counted; the scheduler
                # starts it again on the first block after the endpoint is back.
                node.record(
                    replace(delivery, state=DeliveryState.PENDING, reason=f"waiting: {e.reason}")
                )
                return
            except Failure as failure:
                delivery = delivery.failed_attempt(failure.reason, failure.container_error)
            except ChainError as e:  # a read that reverted or an RPC error: counts as a try
                delivery = delivery.failed_attempt(e.reason)
            if node.retry.exhausted(delivery.attempts):
                node.record(replace(delivery, state=DeliveryState.FAILED))
                log.warning(
                    "subscription %d interval %d failed after %d attempts: %s",
                    sub.id,
                    interval,
                    delivery.attempts,
                    delivery.reason,
                )
                return
            delivery = node.record(replace(delivery, state=DeliveryState.PENDING))
            await asyncio.sleep(node.retry.delay_after(delivery.attempts))
            if node.head is not None and schedule_at(sub, node.head.timestamp).interval != interval:
                node.record(
                    replace(
                        delivery,
                        state=DeliveryState.SKIPPED,
                        reason=f"interval passed while retrying: {delivery.reason}",
                    )
                )
                return

    async def _attempt(self, sub: Subscription, interval: int, delivery: Delivery) -> None:
        node = self._node
        assert node.contracts is not None
        assert node.sender is not None
        assert node.payments is not None
        if not sub.requires_proof and not (interval == 1 and node.tracked.is_fresh(sub.id)):
            # Pre-flight with an empty payload: skip the container run when the Coordinator
            # already refuses this interval (filled, passed, cancelled, answered). Not worth an
            # RPC for the first interval of a subscription created while we were watching.
            await self.simulate(
                COORDINATOR.deliver_compute.encode(
                    sub.id, interval, b"", bytes(32), b"", node.node_wallet
                ),
                closing_only=True,
            )
        if sub.pays:
            problem = await node.payments.consumer_problem(sub)
            if problem:
                raise Closed(Verdict.SKIP, problem)
        data = await self._container_inputs(sub, interval)
        payload = await self.run_containers(
            node.tracked.containers_for(sub),
            source=ONCHAIN,
            data=data.hex(),
            requires_proof=sub.requires_proof,
        )
        if sub.requires_proof:
            await self.approve_escrow(sub)
        calldata = COORDINATOR.deliver_compute.encode(
            sub.id, interval, payload.input, payload.output, payload.proof, node.node_wallet
        )
        gas = await self.simulate(calldata)

        async def persist(signed: SignedTransaction) -> None:
            node.record(delivery.sent(signed.tx_hash, signed.raw))

        await self.broadcast(
            calldata,
            gas,
            persist,
            persisted=lambda: node.delivery_state(sub.id, interval) is DeliveryState.SENT,
        )

    async def broadcast(
        self,
        calldata: bytes,
        gas: int,
        persist: Callable[[SignedTransaction], Awaitable[None]],
        *,
        persisted: Callable[[], bool],
    ) -> None:
        """Send a delivery to the Coordinator, `persist`ing it as SENT before the broadcast.

        An outage after `persisted()` holds is no failure: the transaction is settled (or
        re-broadcast) once the endpoint is back.

        Raises:
            RpcUnavailable: the endpoint went away before the transaction was persisted.
            Failure: the broadcast failed.
        """
        node = self._node
        assert node.contracts is not None
        assert node.sender is not None
        try:
            await node.sender.send(node.contracts.coordinator, calldata, gas, persist)
        except RpcUnavailable:
            if persisted():
                return
            raise
        except ChainError as e:
            raise Failure(f"broadcast failed: {e.reason}") from e

    async def simulate(self, calldata: bytes, *, closing_only: bool = False) -> int:
        """Simulate a delivery; the gas to send it with.

        With `closing_only`, only reverts that close the interval count (the pre-flight runs with
        a dummy payload that a consumer may legitimately reject).
        """
        node = self._node
        assert node.contracts is not None
        assert node.sender is not None
        try:
            return await node.sender.gas_for(
                node.contracts.coordinator,
                calldata,
                allowed_sim_errors=node.settings.allowed_sim_errors,
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
        node = self._node
        try:
            (data,) = await node.client.call(
                sub.owner,
                CONSUMER.get_container_inputs,
                sub.id,
                interval,
                node.chain_now(),
                node.address,
            )
            return bytes(data)
        except Reverted as e:
            log.info("getContainerInputs(%d, %d) reverted: %s", sub.id, interval, e.name)
            return b""

    async def run_containers(
        self, containers: Sequence[str], *, source: int, data: Any, requires_proof: bool
    ) -> ChainPayload:
        """Run the containers for an on-chain destination; the payload to deliver.

        Raises:
            Failure: a container failed, or its output cannot be delivered.
        """
        run = await self._node.runner(
            containers,
            source=source,
            destination=ONCHAIN,
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
        node = self._node
        assert node.payments is not None
        try:
            await node.payments.approve_escrow(sub, node.settings.payment_address)
        except ChainError as e:
            raise Failure(f"escrow approval failed: {e.reason}") from e
