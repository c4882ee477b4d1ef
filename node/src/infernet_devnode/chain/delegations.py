"""Delegated subscriptions: admission of POST /api/jobs requests and their scheduling.

Requests are checked when they arrive (signature against the owner's `getSigner()`, expiry on
chain time) and recorded in the ledger (durably in `chain_delegations`) until settled, so a
restart resumes them. Each one is started as a delivery once its subscription is active; the
delivery itself (retries, the `deliverComputeDelegatee` that creates the subscription and
answers its first due interval, settlement) is the same pipeline ordinary deliveries go through
(`execution`, `settlement`). Later intervals of a recurring delegated subscription are ordinary
deliveries: the subscription exists on-chain by then and sync finds it.
"""

from __future__ import annotations

from collections.abc import Awaitable
from collections.abc import Callable

from eth_abi.exceptions import DecodingError

from ..errors import GuardianRejection
from ..errors import InvalidField
from .abi import CONSUMER
from .abi import COORDINATOR
from .delivery import Delivery
from .delivery import DeliveryState
from .eip712 import SignedDelegation
from .eip712 import delegate_key
from .eip712 import signature_problem
from .intervals import Phase
from .intervals import schedule_at
from .ledger import DeliveryLedger
from .rpc import ChainClient
from .rpc import Reverted
from .subscriptions import ZERO_ADDRESS
from .subscriptions import ContainerLookup
from .subscriptions import Subscription

__all__ = ["Delegations"]


class Delegations:
    """Admission and scheduling of the delegated requests of one node, keyed (owner, nonce).

    Args:
        client: reads `getSigner()`, `delegateCreatedIds` and stored subscriptions.
        ledger: the requests' records and their delivery tasks.
        lookup: container ids by container-set hash.
        deliver: runs one request's delivery of an interval (`DeliveryRunner.deliver_request`).
        consider: hands a subscription read from the chain to tracking.
        reschedule: plans the deliveries due at a chain time (after a request arrives).
        responded: whether this node has answered an interval of a subscription
            (`Settlement.responded`).
        chain_id: signatures are checked for this chain.
        coordinator: the Coordinator's address (EIP-712 verifying contract).
    """

    def __init__(
        self,
        client: ChainClient,
        ledger: DeliveryLedger,
        lookup: ContainerLookup,
        *,
        deliver: Callable[[SignedDelegation, int], Awaitable[None]],
        consider: Callable[[Subscription], None],
        reschedule: Callable[[int], None],
        responded: Callable[[int, int], Awaitable[bool]],
        chain_id: int,
        coordinator: str,
    ) -> None:
        self._client = client
        self._ledger = ledger
        self._lookup = lookup
        self._deliver = deliver
        self._consider = consider
        self._reschedule = reschedule
        self._responded = responded
        self._chain_id = chain_id
        self._coordinator = coordinator

    def schedule(self, now: int) -> None:
        """Start the delegated deliveries due at chain time `now` (from the ledger's memory:
        no store read, however many requests wait)."""
        for key, request in self._ledger.waiting_requests():
            if self._ledger.busy(key):
                continue
            schedule = schedule_at(request.subscription, now)
            if schedule.phase is Phase.ACTIVE:
                self._ledger.start(key, self._deliver(request, schedule.interval))
            elif schedule.phase is not Phase.NOT_ACTIVE:
                self._ledger.record(
                    Delivery(0, 0, DeliveryState.SKIPPED, reason=schedule.phase.name), request
                )

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
            # The Coordinator keeps the stored subscription, not the request's copy; its later
            # intervals follow from the stored one, and normal sync delivers them.
            (raw,) = await self._client.call(
                self._coordinator, COORDINATOR.get_subscription, existing_id
            )
            stored = Subscription.from_tuple(int(existing_id), raw)
            self._consider(stored)
            delivered_here = (
                existing is not None and existing.delivery.state is DeliveryState.DELIVERED
            )
            if not delivered_here and await self._to_answer(stored, now):
                # Another node's delivery created it (redundancy): this node answers the
                # current interval with the request's data too, through
                # deliverComputeDelegatee, which reuses the subscription (as Infernet Node does).
                self._ledger.record(Delivery(0, 0, DeliveryState.PENDING), delegation)
            elif not delivered_here:
                # (a request this node delivered keeps its record: tx and subscription id)
                self._ledger.record(
                    Delivery(
                        int(existing_id),
                        0,
                        DeliveryState.SKIPPED,
                        reason=f"nonce already used: subscription {existing_id}",
                    ),
                    delegation,
                )
            self._reschedule(now)
            return
        self._ledger.record(Delivery(0, 0, DeliveryState.PENDING), delegation)
        self._reschedule(now)

    async def _to_answer(self, stored: Subscription, now: int) -> bool:
        """Whether this node has yet to answer the interval of `stored` due at chain time
        `now` (a complete interval is refused by the delivery's simulation)."""
        schedule = schedule_at(stored, now)
        if schedule.phase is not Phase.ACTIVE:
            return False
        return not await self._responded(stored.id, schedule.interval)
