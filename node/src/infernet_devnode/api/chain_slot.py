"""The chain side as the HTTP face sees it: interfaces, and slots that hold them once started.

The REST API and the explorer serve before the chain half is imported (web3 and eth_account are
most of a chain-enabled node's start, docs/benchmarks.md), and aiohttp's router cannot take
routes once it serves; so the chain routes and the explorer's chain-reading routes are registered
up front over slots, and the process wiring (``app``) binds the chain side's answers
(``api.chain.ChainAnswers``, and ``chain.views.ChainView`` for the explorer) to them once the chain
side has started. Until then (docs/devnode.md, "Start, sync and health"):

- ``GET /health`` is 200 with ``{"status": "starting", "reason": "chain: ..."}``;
- the chain routes and delegated requests are 503 naming that the chain side is starting, with
  ``Retry-After``;
- ``/info`` shows ``pending.onchain`` 0 and an empty ``chain.address``; ``/metrics`` has no
  chain lines;
- the explorer's subscription and delegation routes are the same 503; its overview says the
  chain side is starting (docs/explorer.md).

If the chain side cannot start, the node stops and the process exits with code 1, as it does
when the chain side fails before serving.
"""

from __future__ import annotations

from typing import Any
from typing import Generic
from typing import Protocol
from typing import TypeVar

from aiohttp import web

from ..errors import ChainUnavailable
from ..explorer.queries import DelegationQuery
from ..explorer.queries import SubscriptionQuery
from ..messages import DelegatedSubscriptionRequest

__all__ = [
    "STARTING",
    "STARTING_RETRY_AFTER_S",
    "ChainFace",
    "ChainSlot",
    "ExplorerChainFace",
    "Slot",
]

STARTING = "the chain side is starting"
# The chain side's start is its imports and a few RPC calls: about a second.
STARTING_RETRY_AFTER_S = 1


class ChainFace(Protocol):
    """What the REST API asks of a started chain side."""

    @property
    def address(self) -> str:
        """The node's EOA (checksummed), ``/info`` chain.address."""
        ...

    def health(self) -> dict[str, Any]:
        """What ``/health`` adds to ``{"status": "healthy"}`` (nothing when all is well)."""
        ...

    def pending_onchain(self) -> int: ...

    def metrics_text(self) -> str:
        """The chain side's lines of ``GET /metrics``."""
        ...

    async def submit_delegated(
        self, request: DelegatedSubscriptionRequest, client: str
    ) -> dict[str, Any]:
        """Admit a delegated subscription; the body answered with 200.

        Raises:
            InvalidField, GuardianRejection: the request is refused.
            ChainUnavailable: the chain endpoint did not answer.
        """
        ...

    async def subscription(self, request: web.Request) -> web.Response:
        """``GET /api/subscriptions/{id}``."""
        ...

    async def delegation(self, request: web.Request) -> web.Response:
        """``GET /api/delegations/{owner}/{nonce}``."""
        ...


class ExplorerChainFace(Protocol):
    """What the explorer reads from a started chain side (``chain.views.ChainView``)."""

    async def overview(self) -> dict[str, Any]:
        """The overview's ``chain`` part."""
        ...

    def subscriptions(self, query: SubscriptionQuery) -> dict[str, Any]: ...

    async def subscription(
        self, subscription_id: int, limit: int, before: int | None
    ) -> dict[str, Any] | None:
        """One subscription and a page of its deliveries; None when the node knows neither."""
        ...

    def delegations(self, query: DelegationQuery) -> dict[str, Any]: ...


FaceT = TypeVar("FaceT")


class Slot(Generic[FaceT]):
    """Empty while the chain side starts; holds its answers once it has started."""

    def __init__(self) -> None:
        self._face: FaceT | None = None

    def bind(self, face: FaceT) -> None:
        self._face = face

    @property
    def face(self) -> FaceT | None:
        """The started chain side's answers; None while it starts."""
        return self._face

    def started(self) -> FaceT:
        """The started chain side's answers.

        Raises:
            ChainUnavailable: the chain side is still starting (a 503 with Retry-After).
        """
        if self._face is None:
            raise ChainUnavailable(STARTING, STARTING_RETRY_AFTER_S)
        return self._face


class ChainSlot(Slot[ChainFace]):
    """The REST API's slot, which also answers ``/health`` while the chain side starts."""

    def health(self) -> dict[str, Any]:
        if self._face is None:
            return {"status": "starting", "reason": f"chain: {STARTING}"}
        return self._face.health()
