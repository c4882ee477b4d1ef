"""Delivery execution: one due (subscription, interval) from its inputs to a broadcast transaction.

An attempt reads the owner's `getContainerInputs`, runs the containers with `{source: 0,
destination: 0}`, simulates `deliverCompute` and sends it (docs/devnode.md, "Deliveries"). The
signed transaction is recorded (state SENT) before it is broadcast; receipts are `settlement`'s
job. Failures are retried up to the node's `RetryPolicy`, then recorded with their reason.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import replace

from ..results import JobLocation
from .abi import CONSUMER
from .abi import COORDINATOR
from .delivery import Closed
from .delivery import Delivery
from .delivery import DeliveryState
from .delivery import Failure
from .delivery import RetryPolicy
from .delivery import Verdict
from .intervals import schedule_at
from .ledger import DeliveryLedger
from .payments import PaymentCheck
from .rpc import ChainClient
from .rpc import ChainError
from .rpc import Reverted
from .rpc import RpcUnavailable
from .sender import SignedTransaction
from .steps import DeliverySteps
from .subscriptions import Subscription
from .tracking import TrackedSubscriptions

__all__ = ["DeliveryRunner"]

log = logging.getLogger(__name__)


class DeliveryRunner:
    """Runs the ordinary deliveries of one node.

    Args:
        client: reads the consumer's container inputs.
        steps: container run, escrow, simulation and broadcast.
        payments: the consumer wallet check.
        ledger: where each delivery's state is recorded.
        tracked: the subscriptions served (their containers, whether seen being created).
        retry: attempts and backoff per delivery.
        chain_now: timestamp of the latest head.
        node_address: the node's EOA (the `node` argument of getContainerInputs).
        node_wallet: where the node is paid (`deliverCompute`'s wallet argument).
    """

    def __init__(
        self,
        client: ChainClient,
        steps: DeliverySteps,
        payments: PaymentCheck,
        ledger: DeliveryLedger,
        tracked: TrackedSubscriptions,
        retry: RetryPolicy,
        chain_now: Callable[[], int],
        *,
        node_address: str,
        node_wallet: str,
    ) -> None:
        self._client = client
        self._steps = steps
        self._payments = payments
        self._ledger = ledger
        self._tracked = tracked
        self._retry = retry
        self._chain_now = chain_now
        self._node_address = node_address
        self._node_wallet = node_wallet

    async def deliver(self, sub: Subscription, interval: int) -> None:
        """Run and send one (subscription, interval), retrying up to the policy's attempts."""
        ledger = self._ledger
        delivery = ledger.delivery(sub.id, interval) or Delivery(
            sub.id, interval, DeliveryState.PENDING
        )
        while True:
            delivery = ledger.record(replace(delivery, state=DeliveryState.RUNNING))
            try:
                await self._attempt(sub, interval, delivery)
                return
            except Closed as closed:
                ledger.record(replace(delivery, state=closed.state, reason=closed.reason))
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
                ledger.record(
                    replace(delivery, state=DeliveryState.PENDING, reason=f"waiting: {e.reason}")
                )
                return
            except Failure as failure:
                delivery = delivery.failed_attempt(failure.reason, failure.container_error)
            except ChainError as e:  # a read that reverted or an RPC error: counts as a try
                delivery = delivery.failed_attempt(e.reason)
            if self._retry.exhausted(delivery.attempts):
                ledger.record(replace(delivery, state=DeliveryState.FAILED))
                log.warning(
                    "subscription %d interval %d failed after %d attempts: %s",
                    sub.id,
                    interval,
                    delivery.attempts,
                    delivery.reason,
                )
                return
            delivery = ledger.record(replace(delivery, state=DeliveryState.PENDING))
            await asyncio.sleep(self._retry.delay_after(delivery.attempts))
            now = self._chain_now()
            if now and schedule_at(sub, now).interval != interval:
                ledger.record(
                    replace(
                        delivery,
                        state=DeliveryState.SKIPPED,
                        reason=f"interval passed while retrying: {delivery.reason}",
                    )
                )
                return

    async def _attempt(self, sub: Subscription, interval: int, delivery: Delivery) -> None:
        if not sub.requires_proof and not (interval == 1 and self._tracked.is_fresh(sub.id)):
            # Pre-flight with an empty payload: skip the container run when the Coordinator
            # already refuses this interval (filled, passed, cancelled, answered). Not worth an
            # RPC for the first interval of a subscription created while we were watching.
            await self._steps.simulate(
                COORDINATOR.deliver_compute.encode(
                    sub.id, interval, b"", bytes(32), b"", self._node_wallet
                ),
                closing_only=True,
            )
        if sub.pays:
            problem = await self._payments.consumer_problem(sub)
            if problem:
                raise Closed(Verdict.SKIP, problem)
        data = await self._container_inputs(sub, interval)
        payload = await self._steps.payload(
            self._tracked.containers_for(sub),
            source=JobLocation.ONCHAIN,
            data=data.hex(),
            requires_proof=sub.requires_proof,
        )
        if sub.requires_proof:
            await self._steps.approve_escrow(sub)
        calldata = COORDINATOR.deliver_compute.encode(
            sub.id, interval, payload.input, payload.output, payload.proof, self._node_wallet
        )
        gas = await self._steps.simulate(calldata)

        async def persist(signed: SignedTransaction) -> None:
            self._ledger.record(delivery.sent(signed.tx_hash, signed.raw))

        await self._steps.broadcast(
            calldata,
            gas,
            persist,
            persisted=lambda: self._ledger.state(sub.id, interval) is DeliveryState.SENT,
        )

    async def _container_inputs(self, sub: Subscription, interval: int) -> bytes:
        """Owner's getContainerInputs at latest; empty when it reverts, like upstream."""
        try:
            (data,) = await self._client.call(
                sub.owner,
                CONSUMER.get_container_inputs,
                sub.id,
                interval,
                self._chain_now(),
                self._node_address,
            )
            return bytes(data)
        except Reverted as e:
            log.info("getContainerInputs(%d, %d) reverted: %s", sub.id, interval, e.name)
            return b""
