"""The steps every delivery takes after its inputs are known, ordinary or delegated: run the
containers, approve the escrow for a proof, simulate the Coordinator call, broadcast it.
"""

from __future__ import annotations

from collections.abc import Awaitable
from collections.abc import Callable
from collections.abc import Sequence
from typing import Any
from typing import Protocol

from ..results import ContainerResult
from ..results import JobLocation
from .delivery import ChainPayload
from .delivery import Closed
from .delivery import Failure
from .delivery import Verdict
from .delivery import payload_for
from .delivery import verdict_for_revert
from .payments import PaymentCheck
from .rpc import ChainError
from .rpc import Reverted
from .rpc import RpcUnavailable
from .sender import SignedTransaction
from .sender import TransactionSender
from .subscriptions import Subscription

__all__ = ["ContainerRunner", "DeliverySteps"]


class ContainerRunner(Protocol):
    """Runs containers in order with the node's container protocol; the last result (None when
    no container ran). The node's container client, seen from the chain side."""

    def __call__(
        self,
        containers: Sequence[str],
        source: JobLocation,
        destination: JobLocation,
        data: Any,
        requires_proof: bool,
    ) -> Awaitable[ContainerResult | None]: ...


class DeliverySteps:
    """Container run, escrow, simulation and broadcast against one Coordinator.

    Args:
        sender: the node's transaction sender.
        payments: chain-side payment checks (escrow approval).
        run_containers: the node's container runner.
        coordinator: the Coordinator's address.
        payment_address: the node's wallet (`chain.wallet.payment_address`), if any.
        allowed_sim_errors: simulation errors that let a delivery go out anyway.
    """

    def __init__(
        self,
        sender: TransactionSender,
        payments: PaymentCheck,
        run_containers: ContainerRunner,
        *,
        coordinator: str,
        payment_address: str | None,
        allowed_sim_errors: Sequence[str],
    ) -> None:
        self._sender = sender
        self._payments = payments
        self._run_containers = run_containers
        self._coordinator = coordinator
        self._payment_address = payment_address
        self._allowed_sim_errors = tuple(allowed_sim_errors)

    async def payload(
        self, containers: Sequence[str], *, source: JobLocation, data: Any, requires_proof: bool
    ) -> ChainPayload:
        """Run the containers for an on-chain destination; the payload to deliver.

        Raises:
            Failure: a container failed, or its output cannot be delivered.
        """
        result = await self._run_containers(
            containers, source, JobLocation.ONCHAIN, data, requires_proof
        )
        return payload_for(result)

    async def approve_escrow(self, sub: Subscription) -> None:
        """Let the Coordinator escrow the payment from the node's wallet (proof requests)."""
        try:
            await self._payments.approve_escrow(sub, self._payment_address)
        except ChainError as e:
            raise Failure(f"escrow approval failed: {e.reason}") from e

    async def simulate(self, calldata: bytes, *, closing_only: bool = False) -> int:
        """Simulate a delivery; the gas to send it with.

        With `closing_only`, only reverts that close the interval count (the pre-flight runs with
        a dummy payload that a consumer may legitimately reject).

        Raises:
            Closed: the Coordinator refuses this interval for good.
            Failure: the simulation failed (not `closing_only`).
        """
        try:
            return await self._sender.gas_for(
                self._coordinator, calldata, allowed_sim_errors=self._allowed_sim_errors
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
        try:
            await self._sender.send(self._coordinator, calldata, gas, persist)
        except RpcUnavailable:
            if persisted():
                return
            raise
        except ChainError as e:
            raise Failure(f"broadcast failed: {e.reason}") from e
