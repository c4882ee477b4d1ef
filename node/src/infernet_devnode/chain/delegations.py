"""Delegated subscriptions: from POST /api/jobs to the mined `deliverComputeDelegatee` that
creates the subscription and answers its first due interval.

Requests are checked when they arrive (signature against the owner's `getSigner()`, expiry on
chain time) and persisted in `chain_delegations` until settled, so a restart resumes them. Later
intervals of a recurring delegated subscription are ordinary deliveries: the subscription exists
on-chain by then and sync finds it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace

from eth_abi.exceptions import DecodingError

from ..errors import GuardianRejection
from ..errors import InvalidField
from ..results import JobLocation
from .abi import CONSUMER
from .abi import COORDINATOR
from .delivery import Closed
from .delivery import Delivery
from .delivery import DeliveryState
from .delivery import Failure
from .delivery import RetryPolicy
from .eip712 import SignedDelegation
from .eip712 import delegate_key
from .eip712 import signature_problem
from .intervals import Phase
from .intervals import schedule_at
from .ledger import DeliveryLedger
from .rpc import ChainClient
from .rpc import ChainError
from .rpc import Reverted
from .rpc import RpcUnavailable
from .sender import SignedTransaction
from .settlement import Settlement
from .settlement import TxOutcome
from .steps import DeliverySteps
from .subscriptions import ZERO_ADDRESS
from .subscriptions import ContainerLookup
from .subscriptions import Subscription

__all__ = ["Delegations"]


class Delegations:
    """Pending delegated requests of one node, keyed by (owner, nonce).

    Args:
        client: reads `getSigner()`, `delegateCreatedIds` and stored subscriptions.
        steps: container run, escrow, simulation and broadcast.
        settlement: receipts, `nodeResponded` and re-broadcasts.
        ledger: the requests' records and their delivery tasks.
        lookup: container ids by container-set hash.
        retry: attempts and backoff per request.
        consider: hands a subscription read from the chain to tracking.
        reschedule: plans the deliveries due at a chain time (after a request arrives).
        chain_id: signatures are checked for this chain.
        coordinator: the Coordinator's address (EIP-712 verifying contract).
        node_address: the node's EOA (`nodeResponded` is keyed by it).
        node_wallet: where the node is paid.
    """

    def __init__(
        self,
        client: ChainClient,
        steps: DeliverySteps,
        settlement: Settlement,
        ledger: DeliveryLedger,
        lookup: ContainerLookup,
        retry: RetryPolicy,
        *,
        consider: Callable[[Subscription], None],
        reschedule: Callable[[int], None],
        chain_id: int,
        coordinator: str,
        node_wallet: str,
    ) -> None:
        self._client = client
        self._steps = steps
        self._settlement = settlement
        self._ledger = ledger
        self._lookup = lookup
        self._retry = retry
        self._consider = consider
        self._reschedule = reschedule
        self._chain_id = chain_id
        self._coordinator = coordinator
        self._node_wallet = node_wallet
        self.pending: dict[tuple[str, int], SignedDelegation] = {}

    def load(self) -> None:
        """Resume what a previous run left pending."""
        for record in self._ledger.delegations_in(
            DeliveryState.PENDING, DeliveryState.RUNNING, DeliveryState.SENT
        ):
            d = record.delegation
            self.pending[(d.subscription.owner, d.nonce)] = d

    def schedule(self, now: int) -> None:
        """Start the delegated deliveries due at chain time `now`."""
        for owner_nonce, delegation in list(self.pending.items()):
            if self._ledger.busy(owner_nonce):
                continue
            record = self._ledger.delegation(*owner_nonce)
            if record is None or record.delivery.state is not DeliveryState.PENDING:
                continue
            schedule = schedule_at(delegation.subscription, now)
            if schedule.phase is Phase.ACTIVE:
                self._ledger.start(owner_nonce, self._deliver(delegation, schedule.interval))
            elif schedule.phase is not Phase.NOT_ACTIVE:
                self._finish(delegation, DeliveryState.SKIPPED, schedule.phase.name)

    async def settle(self, mined: frozenset[str] | None, *, sweep: bool) -> int:
        """Settle broadcast delegated deliveries from their receipts, as `Settlement.settle`
        does; returns how many the sweep left alone because their task still runs."""
        skipped = 0
        for record in self._ledger.delegations_in(DeliveryState.SENT):
            key = (record.delegation.subscription.owner, record.delegation.nonce)
            if mined is None or record.delivery.tx_hash.lower() not in mined:
                if not sweep:
                    continue
                if self._ledger.busy(key):
                    skipped += 1  # recorded SENT, maybe not broadcast yet
                    continue
            outcome = await self._settlement.tx_outcome(record.delivery.tx_hash)
            if outcome is None:
                continue
            await self._settle(record.delegation, record.delivery, outcome)
        return skipped

    async def submit(self, delegation: SignedDelegation, now: int) -> None:
        """Admit a delegated subscription request (POST /api/jobs) at chain time `now`, or
        raise why not.

        Raises:
            GuardianRejection: an admission rule refused it (upstream answers 405).
            InvalidField: the signature is expired or not the owner's signer (400; upstream
                accepts these and drops them silently), or the owner is not a consumer
                contract (400 naming subscription.owner).
        """
        sub = delegation.subscription
        if not self._lookup.resolve(sub.container_id):
            raise GuardianRejection(
                "Container not supported", {"containers_hash": "0x" + sub.container_id.hex()}
            )
        try:
            (signer,) = await self._client.call(sub.owner, CONSUMER.get_signer)
        except Reverted:
            signer = ZERO_ADDRESS  # upstream treats a failing getSigner() as the zero address
        except DecodingError:
            # An account without code answers every eth_call with no bytes (upstream: a 500).
            raise InvalidField(
                "subscription.owner",
                f"{sub.owner} has no contract code, or its getSigner() answer is not an address",
            ) from None
        problem = signature_problem(
            delegation,
            chain_id=self._chain_id,
            coordinator=self._coordinator,
            now=now,
            expected_signer=signer,
        )
        if problem:
            raise InvalidField("signature", problem)
        key = (sub.owner, delegation.nonce)
        existing = self._ledger.delegation(*key)
        if existing is not None and not existing.delivery.state.final:
            return  # same request already in progress
        (existing_id,) = await self._client.call(
            self._coordinator,
            COORDINATOR.delegate_created_ids,
            delegate_key(sub.owner, delegation.nonce),
        )
        if existing_id:
            # The Coordinator keeps the stored subscription, not the request's copy; its next
            # due interval follows from the stored one, and normal sync delivers it.
            (raw,) = await self._client.call(
                self._coordinator, COORDINATOR.get_subscription, existing_id
            )
            self._consider(Subscription.from_tuple(int(existing_id), raw))
            if existing is None or existing.delivery.state is not DeliveryState.DELIVERED:
                # (a request this node delivered keeps its record: tx and subscription id)
                self._ledger.record_delegation(
                    delegation,
                    Delivery(
                        int(existing_id),
                        0,
                        DeliveryState.SKIPPED,
                        reason=f"nonce already used: subscription {existing_id}",
                    ),
                )
            self._reschedule(now)
            return
        self.pending[key] = delegation
        self._ledger.record_delegation(delegation, Delivery(0, 0, DeliveryState.PENDING))
        self._reschedule(now)

    async def _deliver(self, delegation: SignedDelegation, interval: int) -> None:
        sub = delegation.subscription
        key = (sub.owner, delegation.nonce)
        record = self._ledger.delegation(*key)
        delivery = record.delivery if record else Delivery(0, interval, DeliveryState.PENDING)
        while True:
            delivery = replace(delivery, interval=interval, state=DeliveryState.RUNNING)
            self._ledger.record_delegation(delegation, delivery)
            try:
                await self._attempt(delegation, interval, delivery)
                return
            except Closed as closed:
                self._finish(delegation, closed.state, closed.reason, delivery)
                return
            except RpcUnavailable as e:
                self._ledger.record_delegation(
                    delegation,
                    replace(delivery, state=DeliveryState.PENDING, reason=f"waiting: {e.reason}"),
                )
                return
            except Failure as failure:
                delivery = delivery.failed_attempt(failure.reason, failure.container_error)
            except ChainError as e:
                delivery = delivery.failed_attempt(e.reason)
            if self._retry.exhausted(delivery.attempts):
                self._finish(delegation, DeliveryState.FAILED, delivery.reason, delivery)
                return
            self._ledger.record_delegation(
                delegation, replace(delivery, state=DeliveryState.PENDING)
            )
            await asyncio.sleep(self._retry.delay_after(delivery.attempts))

    async def _attempt(
        self, delegation: SignedDelegation, interval: int, delivery: Delivery
    ) -> None:
        sub = delegation.subscription
        key = (sub.owner, delegation.nonce)
        payload = await self._steps.payload(
            self._lookup.resolve(sub.container_id),
            source=JobLocation.OFFCHAIN,
            data=delegation.data,
            requires_proof=sub.requires_proof,
        )
        if sub.requires_proof:
            await self._steps.approve_escrow(sub)
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
            self._node_wallet,
        )
        gas = await self._steps.simulate(calldata)

        async def persist(signed: SignedTransaction) -> None:
            self._ledger.record_delegation(delegation, delivery.sent(signed.tx_hash, signed.raw))

        def persisted() -> bool:
            stored = self._ledger.delegation(*key)
            return stored is not None and stored.delivery.state is DeliveryState.SENT

        await self._steps.broadcast(calldata, gas, persist, persisted=persisted)

    def _finish(
        self,
        delegation: SignedDelegation,
        state: DeliveryState,
        reason: str,
        delivery: Delivery | None = None,
    ) -> None:
        key = (delegation.subscription.owner, delegation.nonce)
        base = delivery or Delivery(0, 0, state)
        self._ledger.record_delegation(
            delegation, replace(base, state=state, reason=reason, raw_tx="")
        )
        self.pending.pop(key, None)

    async def _settle(
        self, delegation: SignedDelegation, delivery: Delivery, outcome: TxOutcome
    ) -> None:
        (sub_id,) = await self._client.call(
            self._coordinator,
            COORDINATOR.delegate_created_ids,
            delegate_key(delegation.subscription.owner, delegation.nonce),
        )
        sub_id = int(sub_id)
        if outcome is TxOutcome.MINED:
            self._delivered(delegation, replace(delivery, subscription_id=sub_id), "")
            return
        if sub_id and await self._settlement.responded(sub_id, delivery.interval):
            self._delivered(
                delegation, replace(delivery, subscription_id=sub_id), "nodeResponded already true"
            )
            return
        if outcome is TxOutcome.LOST and await self._settlement.rebroadcast(delivery.raw_tx):
            return
        attempts = delivery.attempts + 1
        reason = "transaction reverted" if outcome is TxOutcome.REVERTED else "transaction lost"
        if self._retry.exhausted(attempts):
            self._finish(
                delegation, DeliveryState.FAILED, reason, replace(delivery, attempts=attempts)
            )
            return
        self._ledger.record_delegation(
            delegation,
            replace(
                delivery, state=DeliveryState.PENDING, attempts=attempts, reason=reason, raw_tx=""
            ),
        )

    def _delivered(self, delegation: SignedDelegation, delivery: Delivery, reason: str) -> None:
        """The request was answered: its record, and the created subscription's delivery."""
        delivered = replace(delivery, state=DeliveryState.DELIVERED)
        self._finish(delegation, DeliveryState.DELIVERED, reason, delivered)
        self._ledger.record(replace(delivered, raw_tx=""))
