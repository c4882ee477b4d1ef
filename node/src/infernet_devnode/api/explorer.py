"""The explorer's routes: the page (GET /ui) and the read routes it polls (docs/explorer.md).

Everything here is read-only (GET only) and is installed only when ``explorer.enabled`` is
true. Nothing runs in the background: every query, container probe and RPC call happens
because an open page asked for it, so a node nobody is looking at pays nothing.

The routes are installed before the node serves, and the chain half is not imported here: the
chain side's views reach the explorer through a slot the process wiring binds once the chain
side has started (``api.chain_slot``). Until then the page, the job routes and the overview's
off-chain figures answer; the overview's ``chain`` says the chain side is starting, and the
subscription and delegation routes are 503 with Retry-After, as the REST API's chain routes are.

Routes (devnode extensions):
    GET /ui                                      the page (plus /ui/explorer.js, .css, icon)
    GET /api/explorer/overview                   chain, node, containers, counts, recent errors
    GET /api/explorer/jobs                       off-chain jobs, newest first (paged, filtered)
    GET /api/explorer/job?client=&id=            one job: input, intermediate results, result
    GET /api/explorer/subscriptions              subscriptions with their next interval due
    GET /api/explorer/subscriptions/{id}         one subscription and its deliveries
    GET /api/explorer/delegations                delegated requests, newest first
"""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from ..components import NodeContext
from ..errors import InvalidField
from ..explorer import PAGE_FILES
from ..explorer.health import HealthProbe
from ..explorer.jobs import JobQuery
from ..explorer.jobs import job_counts
from ..explorer.jobs import job_detail
from ..explorer.jobs import list_jobs
from ..explorer.jobs import recent_failures
from ..explorer.queries import DELEGATION_STATES
from ..explorer.queries import SUBSCRIPTION_STATES
from ..explorer.queries import DelegationQuery
from ..explorer.queries import SubscriptionQuery
from ..messages import UINT32_MAX
from ..results import JobStatus
from ..store import JobRecords
from ..version import __version__
from .chain_slot import STARTING
from .chain_slot import ChainSlot
from .chain_slot import ExplorerChainFace
from .chain_slot import Slot
from .responses import SECURITY_HEADERS
from .responses import error_response
from .responses import json_response
from .responses import query_uint
from .responses import subscription_id

__all__ = ["DEFAULT_PAGE_SIZE", "install_explorer"]

DEFAULT_PAGE_SIZE = 50
# Failed jobs listed on the overview.
RECENT_FAILURES = 5
# The longest filter text (a container id, an owner) a list route accepts.
MAX_FILTER_CHARS = 256
# Row ids and job cursors are SQLite integers (signed 64-bit).
_CURSOR_MAX = 2**63 - 1
# The explorer's paths: the page and its files, and its read routes.
_PREFIXES = ("/ui", "/api/explorer")
_PREFIXES_SLASHED = tuple(f"{prefix}/" for prefix in _PREFIXES)
_ASSETS = {
    "explorer.js": "text/javascript",
    "explorer.css": "text/css",
    "favicon.svg": "image/svg+xml",
}


def install_explorer(
    app: web.Application,
    context: NodeContext,
    records: JobRecords,
    chain: ChainSlot | None,
    views: Slot[ExplorerChainFace] | None,
) -> None:
    """Add the explorer's routes to ``app`` and close what it opened on the app's cleanup.

    ``chain`` and ``views`` are None when ``chain.enabled`` is false; otherwise the REST API's
    slot (on-chain jobs in flight) and the one the chain side's views are bound to.
    """
    explorer = _Explorer(context, records, chain, views)
    app.add_routes(explorer.routes())
    app.on_response_prepare.append(_add_security_headers)
    app.on_cleanup.append(explorer.close)


async def _add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """Every answer under the explorer's paths carries the headers (docs/explorer.md), errors
    included: the 400s, 404s, 405s, 429s and 500s made by the REST middleware too."""
    path = request.path
    if path in _PREFIXES or path.startswith(_PREFIXES_SLASHED):
        response.headers.update(SECURITY_HEADERS)


class _Explorer:
    def __init__(
        self,
        context: NodeContext,
        records: JobRecords,
        chain: ChainSlot | None,
        views: Slot[ExplorerChainFace] | None,
    ) -> None:
        self._context = context
        self._config = context.config.explorer
        self._db = context.store.connection
        self._records = records
        self._chain = chain
        self._views = views
        self._health = HealthProbe(context.config.containers)
        self._page = PAGE_FILES.joinpath("index.html").read_bytes()
        self._assets = {name: PAGE_FILES.joinpath(name).read_bytes() for name in _ASSETS}

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/ui", self.page),
            web.get("/ui/", self.page),
            web.get("/ui/{asset}", self.asset),
            web.get("/api/explorer/overview", self.overview),
            web.get("/api/explorer/jobs", self.jobs),
            web.get("/api/explorer/job", self.job),
            web.get("/api/explorer/subscriptions", self.subscriptions),
            web.get("/api/explorer/subscriptions/{id}", self.subscription),
            web.get("/api/explorer/delegations", self.delegations),
        ]

    async def close(self, app: web.Application) -> None:
        await self._health.close()

    # ------------------------------------------------------------ the page

    async def page(self, request: web.Request) -> web.Response:
        return _bytes(self._page, "text/html")

    async def asset(self, request: web.Request) -> web.Response:
        name = request.match_info["asset"]
        if name not in self._assets:
            return error_response(404, f"no such explorer file: {name}", field="asset")
        return _bytes(self._assets[name], _ASSETS[name])

    # ------------------------------------------------------------ data

    async def overview(self, request: web.Request) -> web.Response:
        now = time.time()
        health = {h.id: h.to_json() for h in await self._health.check()}
        chain: dict[str, Any] = {"enabled": False}
        views = self._views.face if self._views is not None else None
        if views is not None:
            chain = await views.overview()
        elif self._views is not None:
            chain = {"enabled": True, "status": "starting", "reason": STARTING}
        running = self._records.count_running()
        server = self._context.config.server
        face = self._chain.face if self._chain is not None else None
        pending_onchain = face.pending_onchain() if face is not None else 0
        return json_response(
            {
                "poll_interval": self._config.poll_interval,
                "node": {"version": __version__, "time": now},
                "containers": [
                    {
                        "id": c.id,
                        "description": c.description,
                        "external": c.external,
                        "generates_proofs": c.generates_proofs,
                        "health": health[c.id],
                    }
                    for c in self._context.config.containers
                ],
                "jobs": job_counts(self._db),
                "queue": {
                    "offchain_running": running,
                    "onchain_in_flight": pending_onchain,
                    # jobs the node takes at once, calling or waiting for a call slot
                    "offchain_capacity": server.max_container_calls + server.max_queued_jobs,
                },
                "recent_failures": recent_failures(self._db, RECENT_FAILURES, now),
                "chain": chain,
            }
        )

    async def jobs(self, request: web.Request) -> web.Response:
        q = request.query
        status = _choice(q, "status", [s.value for s in JobStatus])
        query = JobQuery(
            limit=self._limit(q),
            status=None if status is None else JobStatus(status),
            container=_text(q, "container"),
            before=query_uint(q, "before", 1, _CURSOR_MAX),
        )
        return json_response(list_jobs(self._db, query, time.time()))

    async def job(self, request: web.Request) -> web.Response:
        # Query parameters, not path segments: ids reported with PUT /api/status may hold "/".
        client, job_id = request.query.get("client", ""), request.query.get("id", "")
        if not client:
            raise InvalidField("client", "required: the address the job was submitted from")
        if not job_id:
            raise InvalidField("id", "required: the job id")
        body = job_detail(self._db, client, job_id, time.time())
        if body is None:
            return error_response(404, f"no job {job_id} from {client}", field="id")
        return json_response(body)

    async def subscriptions(self, request: web.Request) -> web.Response:
        q = request.query
        query = SubscriptionQuery(
            limit=self._limit(q),
            state=_choice(q, "state", SUBSCRIPTION_STATES),
            container=_text(q, "container"),
            subscription_id=query_uint(q, "id", 1, UINT32_MAX),
            before=query_uint(q, "before", 1, UINT32_MAX),
        )
        if self._views is None:
            return json_response(
                {"total": 0, "subscriptions": [], "next": None, "chain_time": None}
            )
        return json_response(self._views.started().subscriptions(query))

    async def subscription(self, request: web.Request) -> web.Response:
        sub_id = subscription_id(request.match_info["id"])
        q = request.query
        limit, before = self._limit(q), query_uint(q, "before", 1, _CURSOR_MAX)
        body = None
        if self._views is not None:
            body = await self._views.started().subscription(sub_id, limit, before)
        if body is None:
            return error_response(
                404, f"subscription {sub_id} is not known to this node", field="id"
            )
        return json_response(body)

    async def delegations(self, request: web.Request) -> web.Response:
        q = request.query
        query = DelegationQuery(
            limit=self._limit(q),
            state=_choice(q, "state", DELEGATION_STATES),
            subscription_id=query_uint(q, "subscription", 1, UINT32_MAX),
            owner=_text(q, "owner"),
            before=query_uint(q, "before", 1, _CURSOR_MAX),
        )
        if self._views is None:
            return json_response({"total": 0, "delegations": [], "next": None})
        return json_response(self._views.started().delegations(query))

    def _limit(self, query: Any) -> int:
        most = self._config.max_page_size
        return query_uint(query, "limit", 1, most) or min(DEFAULT_PAGE_SIZE, most)


def _bytes(body: bytes, content_type: str) -> web.Response:
    response = web.Response(body=body, content_type=content_type)
    if content_type.startswith("text/"):
        response.charset = "utf-8"
    return response


def _text(query: Any, field: str) -> str | None:
    value = query.get(field)
    if not value:
        return None
    if len(value) > MAX_FILTER_CHARS:
        raise InvalidField(field, f"longer than {MAX_FILTER_CHARS} characters")
    return str(value)


def _choice(query: Any, field: str, allowed: Any) -> str | None:
    value = query.get(field)
    if not value:
        return None
    if value not in allowed:
        raise InvalidField(field, "expected one of " + ", ".join(allowed))
    return str(value)
