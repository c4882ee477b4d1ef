"""Delivery execution: one due delivery, ordinary or delegated, from its inputs to a broadcast
transaction, through one retry loop.

An ordinary (subscription, interval) reads the owner's `getContainerInputs`, runs the containers
with `{source: 0, destination: 0}` and calls `deliverCompute`; a delegated request runs them with
its own data (`{source: 1, destination: 0}`) and calls `deliverComputeDelegatee`, which creates
the subscription (docs/devnode.md, "The Infernet node protocol"). Both simulate the call and
record the signed transaction (state SENT) before it is broadcast; receipts are `settlement`'s
job. Failures are retried up to the node's `RetryPolicy`, then recorded with their reason; an
interval that passes while a delivery waits to retry is skipped.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
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
from .eip712 import SignedDelegation
from .intervals import schedule_at
from .ledger import DeliveryLedger
from .ledger import task_key
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


@dataclass(frozen=True)
class _Order:
    """One delivery to make: a (subscription, interval), or with `request` the interval of that
    delegated request (whose subscription the delivery creates)."""

    sub: Subscription
    interval: int
    request: SignedDelegation | None = None

    def describe(self) -> str:
        """How the log names the delivery."""
        if self.request is None:
            return f"subscription {self.sub.id} interval {self.interval}"
        return f"delegated request {self.sub.owner}/{self.request.nonce} interval {self.interval}"


class DeliveryRunner:
    """Runs the deliveries of one node, ordinary and delegated.

    Args:
        client: reads the consumer's container inputs.
        steps: container run, escrow, simulation and broadcast.
        payments: the consumer wallet check.
        ledger: where each delivery's state is recorded.
        tracked: the subscriptions served (their containers, whether seen being created).
        retry: attempts and backoff per delivery.
        chain_now: timestamp of the latest head.
        node_address: the node's EOA (the `node` argument of getContainerInputs).
        node_wallet: where the node is paid (the Coordinator calls' wallet argument).
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
        delivery = self._ledger.delivery(sub.id, interval)
        pending = Delivery(sub.id, interval, DeliveryState.PENDING)
        await self._run(_Order(sub, interval), delivery or pending)

    async def deliver_request(self, request: SignedDelegation, interval: int) -> None:
        """Run and send a delegated request's due interval (the transaction creates its
        subscription), retrying up to the policy's attempts."""
        record = self._ledger.delegation(request.subscription.owner, request.nonce)
        delivery = record.delivery if record else Delivery(0, interval, DeliveryState.PENDING)
        await self._run(_Order(request.subscription, interval, request), delivery)

    async def _run(self, order: _Order, delivery: Delivery) -> None:
        """The retry loop both kinds share."""
        ledger, request = self._ledger, order.request
        while True:
            delivery = ledger.record(
                replace(delivery, interval=order.interval, state=DeliveryState.RUNNING), request
            )
            try:
                await self._attempt(order, delivery)
                return
            except Closed as closed:
                ledger.record(replace(delivery, state=closed.state, reason=closed.reason), request)
                log.info("%s %s: %s", order.describe(), closed.state.name, closed.reason)
                return
            except RpcUnavailable as e:
                # An outage is not this delivery's fault: no attempt counted; the scheduler
                # starts it again on the first block after the endpoint is back.
                ledger.record(
                    replace(delivery, state=DeliveryState.PENDING, reason=f"waiting: {e.reason}"),
                    request,
                )
                return
            except Failure as failure:
                delivery = delivery.failed_attempt(failure.reason, failure.container_error)
            except ChainError as e:  # a read that reverted or an RPC error: counts as a try
                delivery = delivery.failed_attempt(e.reason)
            if self._retry.exhausted(delivery.attempts):
                ledger.record(replace(delivery, state=DeliveryState.FAILED), request)
                log.warning(
                    "%s failed after %d attempts: %s",
                    order.describe(),
                    delivery.attempts,
                    delivery.reason,
                )
                return
            delivery = ledger.record(replace(delivery, state=DeliveryState.PENDING), request)
            await asyncio.sleep(self._retry.delay_after(delivery.attempts))
            now = self._chain_now()
            if now and schedule_at(order.sub, now).interval != order.interval:
                ledger.record(
                    replace(
                        delivery,
                        state=DeliveryState.SKIPPED,
                        reason=f"interval passed while retrying: {delivery.reason}",
                    ),
                    request,
                )
                return

    async def _attempt(self, order: _Order, delivery: Delivery) -> None:
        if order.request is None:
            calldata = await self._ordinary_call(order.sub, order.interval)
        else:
            calldata = await self._delegated_call(order.request, order.interval)
        gas = await self._steps.simulate(calldata)
        key = task_key(delivery, order.request)

        async def persist(signed: SignedTransaction) -> None:
            self._ledger.record(delivery.sent(signed.tx_hash, signed.raw), order.request)

        await self._steps.broadcast(
            calldata, gas, persist, persisted=lambda: self._ledger.is_sent(key)
        )

    async def _ordinary_call(self, sub: Subscription, interval: int) -> bytes:
        """The `deliverCompute` call answering (sub, interval), its containers run.

        Raises:
            Closed: the Coordinator refuses the interval, or the consumer cannot pay.
            Failure: a container failed, or the escrow approval did.
        """
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
        return COORDINATOR.deliver_compute.encode(
            sub.id, interval, payload.input, payload.output, payload.proof, self._node_wallet
        )

    async def _delegated_call(self, request: SignedDelegation, interval: int) -> bytes:
        """The `deliverComputeDelegatee` call answering the request's interval, its containers
        run on the request's own data.

        Raises:
            Failure: a container failed, or the escrow approval did.
        """
        sub = request.subscription
        payload = await self._steps.payload(
            self._tracked.lookup.resolve(sub.container_id),
            source=JobLocation.OFFCHAIN,
            data=request.data,
            requires_proof=sub.requires_proof,
        )
        if sub.requires_proof:
            await self._steps.approve_escrow(sub)
        return COORDINATOR.deliver_compute_delegatee.encode(
            request.nonce,
            request.expiry,
            sub.as_tuple(),
            request.v,
            request.r.to_bytes(32, "big"),
            request.s.to_bytes(32, "big"),
            interval,
            payload.input,
            payload.output,
            payload.proof,
            self._node_wallet,
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
