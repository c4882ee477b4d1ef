"""Delegated subscriptions (spec infernet-node.md §6.7): from POST /api/jobs to the mined
`deliverComputeDelegatee` that creates the subscription and answers its first due interval.

Requests are checked when they arrive (signature against the owner's `getSigner()`, expiry on
chain time) and persisted in `chain_delegations` until settled, so a restart resumes them. Later
intervals of a recurring delegated subscription are ordinary deliveries: the subscription exists
on-chain by then and sync finds it.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import TYPE_CHECKING

from ..errors import GuardianRejection
from ..errors import InvalidField
from .abi import CONSUMER
from .abi import COORDINATOR
from .delivery import Closed
from .delivery import Delivery
from .delivery import DeliveryState
from .delivery import Failure
from .delivery import responded_key
from .eip712 import SignedDelegation
from .eip712 import delegate_key
from .eip712 import signature_problem
from .intervals import Phase
from .intervals import schedule_at
from .rpc import ChainError
from .rpc import Reverted
from .rpc import RpcUnavailable
from .sender import SignedTransaction
from .settlement import TxOutcome
from .subscriptions import ZERO_ADDRESS
from .subscriptions import Subscription

if TYPE_CHECKING:
    from .loop import OnchainNode

__all__ = ["Delegations"]

# JobLocation.OFFCHAIN: a delegated request's data comes from the client, not the chain.
_OFFCHAIN = 1


class Delegations:
    """Pending delegated requests of one node, keyed by (owner, nonce)."""

    def __init__(self, node: OnchainNode) -> None:
        self._node = node
        self.pending: dict[tuple[str, int], SignedDelegation] = {}

    def load(self) -> None:
        """Resume what a previous run left pending (a RUNNING row never reached the broadcast)."""
        store = self._node.store
        for record in store.delegations_in(
            DeliveryState.PENDING, DeliveryState.RUNNING, DeliveryState.SENT
        ):
            d = record.delegation
            self.pending[(d.subscription.owner, d.nonce)] = d
            if record.delivery.state is DeliveryState.RUNNING:
                store.put_delegation(d, replace(record.delivery, state=DeliveryState.PENDING))

    def schedule(self, now: int) -> None:
        """Start the delegated deliveries due at chain time `now`."""
        for owner_nonce, delegation in list(self.pending.items()):
            if self._node.busy(owner_nonce):
                continue
            record = self._node.store.delegation(*owner_nonce)
            if record is None or record.delivery.state is not DeliveryState.PENDING:
                continue
            schedule = schedule_at(delegation.subscription, now)
            if schedule.phase is Phase.ACTIVE:
                self._node.spawn(owner_nonce, self._deliver(delegation, schedule.interval))
            elif schedule.phase is not Phase.NOT_ACTIVE:
                self._finish(delegation, DeliveryState.SKIPPED, schedule.phase.name)

    async def settle(self) -> None:
        """Settle broadcast delegated deliveries from their receipts."""
        for record in self._node.store.delegations_in(DeliveryState.SENT):
            outcome = await self._node.settlement.tx_outcome(record.delivery.tx_hash)
            if outcome is None:
                continue
            await self._settle(record.delegation, record.delivery, outcome)

    async def submit(self, delegation: SignedDelegation) -> None:
        """Admit a delegated subscription request (POST /api/jobs), or raise why not.

        Raises:
            GuardianRejection: an admission rule refused it (upstream answers 405).
            InvalidField: the signature is expired or not the owner's signer (400; upstream
                accepts these and drops them silently).
        """
        assert self._node.contracts is not None
        sub = delegation.subscription
        if not self._node.lookup.resolve(sub.container_id):
            raise GuardianRejection(
                "Container not supported", {"containers_hash": "0x" + sub.container_id.hex()}
            )
        head = await self._node.client.block("latest")
        try:
            (signer,) = await self._node.client.call(sub.owner, CONSUMER.get_signer)
        except Reverted:
            signer = ZERO_ADDRESS  # upstream treats a failing getSigner() as the zero address
        problem = signature_problem(
            delegation,
            chain_id=self._node.chain_id,
            coordinator=self._node.contracts.coordinator,
            now=head.timestamp,
            expected_signer=signer,
        )
        if problem:
            raise InvalidField("signature", problem)
        key = (sub.owner, delegation.nonce)
        existing = self._node.store.delegation(*key)
        if existing is not None and not existing.delivery.state.final:
            return  # same request already in progress
        (existing_id,) = await self._node.client.call(
            self._node.contracts.coordinator,
            COORDINATOR.delegate_created_ids,
            delegate_key(sub.owner, delegation.nonce),
        )
        if existing_id:
            # The Coordinator keeps the stored subscription, not the request's copy; its next
            # due interval follows from the stored one, and normal sync delivers it.
            (raw,) = await self._node.client.call(
                self._node.contracts.coordinator, COORDINATOR.get_subscription, existing_id
            )
            stored = Subscription.from_tuple(int(existing_id), raw)
            self._node.consider(stored)
            if existing is None or existing.delivery.state is not DeliveryState.DELIVERED:
                # (a request this node delivered keeps its record: tx and subscription id)
                self._node.store.put_delegation(
                    delegation,
                    Delivery(
                        int(existing_id),
                        0,
                        DeliveryState.SKIPPED,
                        reason=f"nonce already used: subscription {existing_id}",
                    ),
                )
            self._node.schedule(head.timestamp)
            return
        self.pending[key] = delegation
        self._node.store.put_delegation(delegation, Delivery(0, 0, DeliveryState.PENDING))
        self._node.schedule(
            max(head.timestamp, self._node.head.timestamp if self._node.head else 0)
        )

    async def _deliver(self, delegation: SignedDelegation, interval: int) -> None:
        assert self._node.contracts is not None
        assert self._node.sender is not None
        sub = delegation.subscription
        key = (sub.owner, delegation.nonce)
        record = self._node.store.delegation(*key)
        delivery = record.delivery if record else Delivery(0, interval, DeliveryState.PENDING)
        while True:
            delivery = replace(delivery, interval=interval, state=DeliveryState.RUNNING)
            self._node.store.put_delegation(delegation, delivery)
            try:
                payload = await self._node.execution.run_containers(
                    self._node.lookup.resolve(sub.container_id),
                    source=_OFFCHAIN,
                    data=delegation.data,
                    requires_proof=sub.requires_proof,
                )
                if sub.requires_proof:
                    await self._node.execution.approve_escrow(sub)
                calldata = COORDINATOR.deliver_compute_delegatee.encode(
                    delegation.nonce,
                    delegation.expiry,
                    sub.as_tuple(),
                    delegation.v,
                    delegation.r.to_bytes(32, "big"),
                    delegation.s.to_bytes(32, "big"),
                    interval,
                    payload.input,
                    payload.output,
                    payload.proof,
                    self._node.node_wallet,
                )
                gas = await self._node.execution.simulate(calldata)

                async def persist(signed: SignedTransaction, delivery: Delivery = delivery) -> None:
                    self._node.store.put_delegation(
                        delegation, delivery.sent(signed.tx_hash, signed.raw)
                    )

                def persisted() -> bool:
                    stored = self._node.store.delegation(*key)
                    return stored is not None and stored.delivery.state is DeliveryState.SENT

                await self._node.execution.broadcast(calldata, gas, persist, persisted=persisted)
                return
            except Closed as closed:
                self._finish(delegation, closed.state, closed.reason, delivery)
                return
            except RpcUnavailable as e:
                self._node.store.put_delegation(
                    delegation,
                    replace(delivery, state=DeliveryState.PENDING, reason=f"waiting: {e.reason}"),
                )
                return
            except Failure as failure:
                delivery = delivery.failed_attempt(failure.reason, failure.container_error)
            except ChainError as e:
                delivery = delivery.failed_attempt(e.reason)
            if self._node.retry.exhausted(delivery.attempts):
                self._finish(delegation, DeliveryState.FAILED, delivery.reason, delivery)
                return
            self._node.store.put_delegation(
                delegation, replace(delivery, state=DeliveryState.PENDING)
            )
            await asyncio.sleep(self._node.retry.delay_after(delivery.attempts))

    def _finish(
        self,
        delegation: SignedDelegation,
        state: DeliveryState,
        reason: str,
        delivery: Delivery | None = None,
    ) -> None:
        key = (delegation.subscription.owner, delegation.nonce)
        base = delivery or Delivery(0, 0, state)
        self._node.store.put_delegation(
            delegation, replace(base, state=state, reason=reason, raw_tx="")
        )
        self.pending.pop(key, None)

    async def _settle(
        self, delegation: SignedDelegation, delivery: Delivery, outcome: TxOutcome
    ) -> None:
        assert self._node.contracts is not None
        (sub_id,) = await self._node.client.call(
            self._node.contracts.coordinator,
            COORDINATOR.delegate_created_ids,
            delegate_key(delegation.subscription.owner, delegation.nonce),
        )
        sub_id = int(sub_id)
        if outcome is TxOutcome.MINED:
            delivered = replace(delivery, subscription_id=sub_id, state=DeliveryState.DELIVERED)
            self._finish(delegation, DeliveryState.DELIVERED, "", delivered)
            self._node.record(replace(delivered, raw_tx=""))
            return
        if sub_id:
            key = responded_key(sub_id, delivery.interval, self._node.address)
            (responded,) = await self._node.client.call(
                self._node.contracts.coordinator, COORDINATOR.node_responded, key
            )
            if responded:
                delivered = replace(delivery, subscription_id=sub_id, state=DeliveryState.DELIVERED)
                self._finish(
                    delegation, DeliveryState.DELIVERED, "nodeResponded already true", delivered
                )
                self._node.record(replace(delivered, raw_tx=""))
                return
        if outcome is TxOutcome.LOST and await self._node.settlement.rebroadcast(delivery.raw_tx):
            return
        attempts = delivery.attempts + 1
        reason = "transaction reverted" if outcome is TxOutcome.REVERTED else "transaction lost"
        if self._node.retry.exhausted(attempts):
            self._finish(
                delegation, DeliveryState.FAILED, reason, replace(delivery, attempts=attempts)
            )
            return
        self._node.store.put_delegation(
            delegation,
            replace(
                delivery, state=DeliveryState.PENDING, attempts=attempts, reason=reason, raw_tx=""
            ),
        )
