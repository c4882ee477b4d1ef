"""The chain side's answers to the REST API: its routes, its lines of ``GET /metrics``, its
health and the admission of delegated requests, over a started ``ChainSide`` (the process wiring
binds them to the REST API's ``ChainSlot`` once the chain side has started).

Routes (devnode extensions, not in Infernet Node 1.4; docs/devnode.md):
    GET /api/subscriptions/{id}               what this node knows and did about one subscription
    GET /api/delegations/{owner}/{nonce}      the state of one delegated request (POST /api/jobs
                                              with a `subscription`), keyed as the Coordinator
                                              keys it: subscription owner and signature nonce
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web
from eth_utils.address import to_checksum_address

from ..chain.component import ChainSide
from ..chain.delivery import DeliveryState
from ..chain.readout import ChainCounts
from ..chain.rpc import RpcUnavailable
from ..chain.status import delegation_status
from ..chain.status import subscription_status
from ..errors import ChainUnavailable
from ..errors import InvalidField
from ..messages import UINT32_MAX
from ..messages import DelegatedSubscriptionRequest
from .responses import error_response
from .responses import json_response
from .responses import parse_uint
from .responses import subscription_id

__all__ = ["ChainAnswers", "chain_metrics_text"]

_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_METRIC_PREFIX = "devnode_"
_STATE_LABELS = {state: state.name.lower() for state in DeliveryState}


class ChainAnswers:
    """What the REST API answers from one started chain side (``api.chain_slot.ChainFace``)."""

    def __init__(self, chain: ChainSide) -> None:
        self._chain = chain

    @property
    def address(self) -> str:
        return self._chain.address

    def health(self) -> dict[str, Any]:
        return self._chain.health()

    def pending_onchain(self) -> int:
        return self._chain.pending_onchain()

    def metrics_text(self) -> str:
        return chain_metrics_text(self._chain.counts())

    async def submit_delegated(
        self, request: DelegatedSubscriptionRequest, client: str
    ) -> dict[str, Any]:
        try:
            return await self._chain.submit_delegated(request, client)
        except RpcUnavailable as e:
            # A 503 naming the endpoint problem rather than a generic 500.
            raise ChainUnavailable(e.reason) from e

    async def subscription(self, request: web.Request) -> web.Response:
        sub_id = subscription_id(request.match_info["id"])
        body = subscription_status(self._chain.readout(), sub_id)
        if body is None:
            return error_response(
                404, f"subscription {sub_id} is not known to this node", field="id"
            )
        return json_response(body)

    async def delegation(self, request: web.Request) -> web.Response:
        owner, nonce = request.match_info["owner"], request.match_info["nonce"]
        if not _ADDRESS.match(owner):
            raise InvalidField("owner", "expected a 0x-prefixed 20-byte hex address")
        nonce_value = parse_uint(nonce, "nonce", 0, UINT32_MAX, "a signature nonce")
        chain = self._chain.readout()
        record = chain.store.delegation(to_checksum_address(owner), nonce_value)
        if record is None:
            return error_response(
                404,
                f"no delegated request from {owner} with nonce {nonce_value} is known to this node",
                field="nonce",
            )
        return json_response(delegation_status(chain, record))


def chain_metrics_text(counts: ChainCounts) -> str:
    """Prometheus lines for /metrics: deliveries by state, the latest interval per tracked
    subscription, the block loop's gauges and counters."""
    lines = [
        f"# HELP {_METRIC_PREFIX}chain_deliveries Deliveries recorded, by state.\n",
        f"# TYPE {_METRIC_PREFIX}chain_deliveries gauge\n",
    ]
    for state in DeliveryState:
        lines.append(
            f'{_METRIC_PREFIX}chain_deliveries{{state="{_STATE_LABELS[state]}"}}'
            f" {counts.deliveries.get(state, 0)}\n"
        )
    lines.append(
        f"# HELP {_METRIC_PREFIX}chain_subscription_interval Latest interval this node worked"
        " on per tracked subscription, labelled with that delivery's state.\n"
    )
    lines.append(f"# TYPE {_METRIC_PREFIX}chain_subscription_interval gauge\n")
    # One line per tracked subscription (a burst tracks hundreds): state labels made once.
    for sub_id, (interval, state) in sorted(counts.latest.items()):
        lines.append(
            f'{_METRIC_PREFIX}chain_subscription_interval{{id="{sub_id}",'
            f'state="{_STATE_LABELS[state]}"}} {interval}\n'
        )
    for name, value in counts.gauges.items():
        kind = "counter" if name.endswith("_total") else "gauge"
        lines.append(f"# TYPE {_METRIC_PREFIX}{name} {kind}\n")
        lines.append(f"{_METRIC_PREFIX}{name} {value:g}\n")
    return "".join(lines)
