"""The explorer's HTTP surface: the page (GET /ui) and the read routes it polls.

Everything here is read-only (GET only) and is installed only when ``explorer.enabled`` is
true. Nothing runs in the background: every query, container probe and RPC call happens
because an open page asked for it, so a node nobody is looking at pays nothing.

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

import json
import time
from importlib import resources
from typing import Any

from aiohttp import web

from .. import __version__
from ..chain.component import ChainSide
from ..chain.delivery import DeliveryState
from ..components import ChainComponent
from ..components import NodeContext
from ..digits import parse_uint
from ..errors import InvalidField
from ..results import JobStatus
from ..store import JobRecords
from .chain import SUBSCRIPTION_STATES
from .chain import ChainView
from .chain import DelegationQuery
from .chain import SubscriptionQuery
from .health import HealthProbe
from .jobs import JobQuery
from .jobs import job_counts
from .jobs import job_detail
from .jobs import list_jobs
from .jobs import recent_failures

__all__ = ["CONTENT_SECURITY_POLICY", "DEFAULT_PAGE_SIZE", "install_explorer"]

DEFAULT_PAGE_SIZE = 50
# Failed jobs listed on the overview.
RECENT_FAILURES = 5
# The longest filter text (a container id, an owner) a list route accepts.
MAX_FILTER_CHARS = 256
_UINT32_MAX = 2**32 - 1
_CURSOR_MAX = 2**63 - 1

# Only the node's own files may load, nothing inline, nothing from elsewhere; the page cannot
# be framed and its forms cannot post anywhere.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self';"
    " connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
_SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
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
    chain: ChainComponent | None,
    *,
    chain_view: ChainView | None = None,
) -> None:
    """Add the explorer's routes to ``app`` and close what it opened on the app's cleanup.

    ``chain_view`` replaces the views read from ``chain`` (the bench's seeded stores use it).
    """
    explorer = _Explorer(context, records, chain, chain_view or _chain_view(chain, context))
    app.add_routes(explorer.routes())
    app.on_response_prepare.append(_add_security_headers)
    app.on_cleanup.append(explorer.close)


async def _add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """Every answer under the explorer's paths carries the headers (docs/explorer.md), errors
    included: the 400s, 404s, 405s, 429s and 500s made by the REST middleware too."""
    path = request.path
    if path in _PREFIXES or path.startswith(_PREFIXES_SLASHED):
        response.headers.update(_SECURITY_HEADERS)


def _chain_view(chain: ChainComponent | None, context: NodeContext) -> ChainView | None:
    # The explorer reads the chain side's own objects; another component has no views to show.
    if isinstance(chain, ChainSide):
        return ChainView(chain.readout, context.store.connection)
    return None


class _Explorer:
    def __init__(
        self,
        context: NodeContext,
        records: JobRecords,
        chain: ChainComponent | None,
        view: ChainView | None,
    ) -> None:
        self._context = context
        self._config = context.config.explorer
        self._db = context.store.connection
        self._records = records
        self._chain = chain
        self._view = view
        self._health = HealthProbe(context.config.containers)
        files = resources.files(__package__).joinpath("static")
        self._page = files.joinpath("index.html").read_bytes()
        self._assets = {name: files.joinpath(name).read_bytes() for name in _ASSETS}

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
            return _json({"error": f"no such explorer file: {name}", "field": "asset"}, 404)
        return _bytes(self._assets[name], _ASSETS[name])

    # ------------------------------------------------------------ data

    async def overview(self, request: web.Request) -> web.Response:
        now = time.time()
        health = {h.id: h.to_json() for h in await self._health.check()}
        chain: dict[str, Any] = {"enabled": self._context.config.chain.enabled}
        if self._view is not None:
            chain = await self._view.overview()
        running = self._records.count_running()
        server = self._context.config.server
        pending_onchain = self._chain.pending_onchain() if self._chain else 0
        return _json(
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
            before=_int(q, "before", 1, _CURSOR_MAX),
        )
        return _json(list_jobs(self._db, query, time.time()))

    async def job(self, request: web.Request) -> web.Response:
        # Query parameters, not path segments: ids reported with PUT /api/status may hold "/".
        client, job_id = request.query.get("client", ""), request.query.get("id", "")
        if not client:
            raise InvalidField("client", "required: the address the job was submitted from")
        if not job_id:
            raise InvalidField("id", "required: the job id")
        body = job_detail(self._db, client, job_id, time.time())
        if body is None:
            return _json({"error": f"no job {job_id} from {client}", "field": "id"}, 404)
        return _json(body)

    async def subscriptions(self, request: web.Request) -> web.Response:
        q = request.query
        query = SubscriptionQuery(
            limit=self._limit(q),
            state=_choice(q, "state", SUBSCRIPTION_STATES),
            container=_text(q, "container"),
            subscription_id=_int(q, "id", 1, _UINT32_MAX),
            before=_int(q, "before", 1, _UINT32_MAX),
        )
        if self._view is None:
            return _json({"total": 0, "subscriptions": [], "next": None, "chain_time": None})
        return _json(self._view.subscriptions(query))

    async def subscription(self, request: web.Request) -> web.Response:
        sub_id = parse_uint(request.match_info["id"], "id", 1, _UINT32_MAX, "a subscription id")
        q = request.query
        limit, before = self._limit(q), _int(q, "before", 1, _CURSOR_MAX)
        body = None
        if self._view is not None:
            body = await self._view.subscription(sub_id, limit, before)
        if body is None:
            return _json(
                {"error": f"subscription {sub_id} is not known to this node", "field": "id"}, 404
            )
        return _json(body)

    async def delegations(self, request: web.Request) -> web.Response:
        q = request.query
        state = _choice(q, "state", [s.name.lower() for s in DeliveryState])
        query = DelegationQuery(
            limit=self._limit(q),
            state=None if state is None else DeliveryState[state.upper()],
            subscription_id=_int(q, "subscription", 1, _UINT32_MAX),
            owner=_text(q, "owner"),
            before=_int(q, "before", 1, _CURSOR_MAX),
        )
        if self._view is None:
            return _json({"total": 0, "delegations": [], "next": None})
        return _json(self._view.delegations(query))

    def _limit(self, query: Any) -> int:
        most = self._config.max_page_size
        return _int(query, "limit", 1, most) or min(DEFAULT_PAGE_SIZE, most)


def _bytes(body: bytes, content_type: str) -> web.Response:
    response = web.Response(body=body, content_type=content_type)
    if content_type.startswith("text/"):
        response.charset = "utf-8"
    return response


def _json(body: Any, status: int = 200) -> web.Response:
    return web.Response(
        body=json.dumps(body).encode(),
        status=status,
        content_type="application/json",
    )


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


def _int(query: Any, field: str, low: int, high: int) -> int | None:
    value = query.get(field)
    if not value:
        return None
    return parse_uint(value, field, low, high)
