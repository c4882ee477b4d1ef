"""The REST API (docs/devnode.md) on aiohttp's server, and the application that serves it.

Routes, JSON shapes and status codes are upstream's, with these deliberate differences:
malformed or invalid bodies (too deep, non-finite numbers included) get 400 naming the field
(upstream: 500); unknown routes, wrong methods and oversized bodies get JSON errors; a batch is
capped at ``server.max_batch_size`` items; a full job queue is a 503 with Retry-After; every
route is rate limited, PUT /api/status included, and a status report cannot change a job the
node runs nor a finished one (409); a client-supplied ``id``/``ip`` in the body cannot override
the node's own; the client is always the TCP peer address (no X-Forwarded-For). Nothing is
served as NaN/Infinity.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import time
from collections.abc import Awaitable
from collections.abc import Callable
from collections.abc import Iterable
from typing import Any

from aiohttp import web

from .._json import JsonRejected
from .._json import loads
from ..components import NodeContext
from ..connections import ConnectionCap
from ..errors import ChainUnavailable
from ..errors import GuardianRejection
from ..errors import InvalidField
from ..errors import JobConflict
from ..errors import NodeBusy
from ..errors import RequestTimeout
from ..jobs import OffchainJobs
from ..jobs import StartedJob
from ..messages import DelegatedSubscriptionRequest
from ..messages import JobRequest
from ..messages import parse_job_message
from ..messages import parse_status_report
from ..metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from ..ratelimit import RateLimiter
from ..version import UPSTREAM_VERSION
from ..version import __version__
from .chain_slot import ChainFace
from .chain_slot import ChainSlot
from .responses import error_response
from .responses import json_response

__all__ = ["create_app", "status_caller_allowed"]

log = logging.getLogger(__name__)

STATUS_INVALID = "Status is invalid"
_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def status_caller_allowed(
    client: str, networks: Iterable[ipaddress.IPv4Network | ipaddress.IPv6Network]
) -> bool:
    """Whether ``client`` may report job status: it is in one of ``networks``
    (``server.status_networks``, docs/configuration.md)."""
    try:
        address = ipaddress.ip_address(client)
    except ValueError:
        return False
    return any(address in network for network in networks)


def create_app(
    context: NodeContext,
    jobs: OffchainJobs,
    chain: ChainSlot | None,
    connection_cap: ConnectionCap | None = None,
) -> web.Application:
    """Build the aiohttp application serving the REST API, and the chain side's routes over
    ``chain`` when ``chain.enabled`` (``connection_cap``: the one the ApiServer serving it counts
    connections with; requests in progress are marked there). The process wiring adds the
    explorer's routes when ``explorer.enabled``."""
    api = _Api(context, jobs, chain, connection_cap)
    app = web.Application(
        client_max_size=context.config.server.max_body_size, middlewares=[api.middleware]
    )
    app.add_routes(
        [
            web.get("/health", api.health),
            web.get("/info", api.info),
            web.get("/resources", api.resources),
            web.get("/metrics", api.metrics),
            web.post("/api/jobs", api.create_job),
            web.post("/api/jobs/batch", api.create_jobs),
            web.post("/api/jobs/stream", api.stream_job),
            web.get("/api/jobs", api.get_jobs),
            web.put("/api/status", api.put_status),
        ]
    )
    if chain is not None:
        app.add_routes(
            [
                web.get("/api/subscriptions/{id}", api.subscription),
                web.get("/api/delegations/{owner}/{nonce}", api.delegation),
            ]
        )
    return app


class _Api:
    def __init__(
        self,
        context: NodeContext,
        jobs: OffchainJobs,
        chain: ChainSlot | None,
        connection_cap: ConnectionCap | None,
    ) -> None:
        self._context = context
        self._connection_cap = connection_cap
        self._config = context.config
        self._jobs = jobs
        self._chain = chain
        self._metrics = context.metrics
        self._status_networks = context.config.server.status_ranges
        self._limiter = RateLimiter(
            context.config.server.rate_limit.num_requests, context.config.server.rate_limit.period
        )

    # ------------------------------------------------------------------ middleware

    @web.middleware
    async def middleware(self, request: web.Request, handler: _Handler) -> web.StreamResponse:
        """Run the request, its connection marked as busy (the connection cap closes idle
        connections only)."""
        cap = self._connection_cap
        if cap is None:
            return await self._answer(request, handler)
        connection = request.protocol
        cap.request_started(connection)
        try:
            return await self._answer(request, handler)
        finally:
            cap.request_ended(connection)

    async def _answer(self, request: web.Request, handler: _Handler) -> web.StreamResponse:
        """Rate limit, then run the handler, mapping every error to a JSON answer."""
        resource = request.match_info.route.resource
        route = resource.canonical if resource is not None else "<unmatched>"
        decision = None
        if resource is not None:
            decision = self._limiter.check((request.remote, route), time.monotonic())
        try:
            if decision is not None and not decision.allowed:
                response: web.StreamResponse = error_response(429, "Too many requests")
            else:
                response = await handler(request)
        except InvalidField as e:
            response = error_response(400, str(e), **({"field": e.field} if e.field else {}))
        except GuardianRejection as e:
            response = error_response(405, e.error, params=e.params)
        except NodeBusy as e:
            response = error_response(503, e.reason, limit=e.limit)
            response.headers["Retry-After"] = str(e.retry_after)
        except ChainUnavailable as e:
            response = error_response(503, str(e))
            if e.retry_after is not None:
                response.headers["Retry-After"] = str(e.retry_after)
        except JobConflict as e:
            response = error_response(409, str(e), field="id")
        except RequestTimeout as e:
            response = error_response(408, str(e), limit=e.limit)
            response.force_close()  # the rest of the body is unread
        except web.HTTPRequestEntityTooLarge:
            response = error_response(
                413, f"request body is larger than {self._config.server.max_body_size} bytes"
            )
        except web.HTTPException as e:
            response = error_response(e.status, e.reason)
        except Exception:
            # One place turns unexpected errors into answers; CancelledError is not an
            # Exception, so a client disconnect still cancels the handler.
            log.exception("unhandled error on %s %s", request.method, request.path)
            response = error_response(500, "Internal server error")
        if decision is not None and not response.prepared:
            response.headers.update(decision.headers())
        self._metrics.http_request(request.method, route, response.status)
        return response

    # ------------------------------------------------------------------ info routes

    async def health(self, request: web.Request) -> web.Response:
        # Always 200: off-chain jobs are served whatever the chain side says.
        chain = self._chain.health() if self._chain is not None else {}
        return json_response({"status": "healthy", **chain})

    def _chain_face(self) -> ChainFace | None:
        """The started chain side's answers; None off-chain or while it starts."""
        return self._chain.face if self._chain is not None else None

    async def info(self, request: web.Request) -> web.Response:
        chain = self._chain_face()
        return json_response(
            {
                "version": UPSTREAM_VERSION,
                "containers": [
                    {
                        "id": c.id,
                        "description": c.description,
                        "external": c.external,
                        "image": c.image,
                    }
                    for c in self._config.containers
                ],
                "pending": {
                    "offchain": self._jobs.records.count_running(),
                    "onchain": chain.pending_onchain() if chain else 0,
                },
                "chain": {
                    "enabled": self._config.chain.enabled,
                    "address": chain.address if chain else "",
                },
                # devnode extension: its own version and finished-job counters.
                "devnode": {"version": __version__, "jobs": self._metrics.job_counts()},
            }
        )

    async def resources(self, request: web.Request) -> web.Response:
        model_id = request.query.get("model_id")
        return json_response(await self._context.containers.resources(model_id))

    async def metrics(self, request: web.Request) -> web.Response:
        chain = self._chain_face()
        text = self._metrics.render(
            running_offchain=self._jobs.records.count_running(),
            pending_onchain=chain.pending_onchain() if chain else 0,
        )
        if chain is not None:
            text += chain.metrics_text()
        return web.Response(
            body=text.encode(), headers={"Content-Type": METRICS_CONTENT_TYPE}, status=200
        )

    # ------------------------------------------------------------------ chain routes

    async def subscription(self, request: web.Request) -> web.Response:
        assert self._chain is not None  # the route exists only with chain.enabled
        return await self._chain.started().subscription(request)

    async def delegation(self, request: web.Request) -> web.Response:
        assert self._chain is not None  # the route exists only with chain.enabled
        return await self._chain.started().delegation(request)

    # ------------------------------------------------------------------ jobs

    async def create_job(self, request: web.Request) -> web.Response:
        message = parse_job_message(await self._read_json(request))
        client = _client(request)
        if isinstance(message, JobRequest):
            self._jobs.admit(client, 1)
        answer, started = await self._accept(message, client)
        await self._jobs.settle(started, self._config.server.submit_wait)
        return json_response(answer)

    async def create_jobs(self, request: web.Request) -> web.Response:
        body = await self._read_json(request)
        if not isinstance(body, list):
            return error_response(400, "Expected a list")
        cap = self._config.server.max_batch_size
        if len(body) > cap:
            raise InvalidField(
                "body", f"a batch of {len(body)} items is more than {cap} (server.max_batch_size)"
            )
        messages = []
        for index, item in enumerate(body):
            try:
                messages.append(parse_job_message(item))
            except InvalidField as e:
                raise InvalidField(f"[{index}].{e.field}", e.reason) from None
        # All or nothing: a batch that does not fit in the queue is refused whole.
        client = _client(request)
        self._jobs.admit(client, sum(isinstance(m, JobRequest) for m in messages))
        answers: list[dict[str, Any]] = []
        started: list[StartedJob] = []
        for message in messages:
            try:
                answer, job = await self._accept(message, client)
            except GuardianRejection as e:
                answers.append({"error": e.error, "params": e.params})
                continue
            answers.append(answer)
            started += job
        await self._jobs.settle(started, self._config.server.submit_wait)
        return json_response(answers)

    async def _accept(
        self, message: JobRequest | DelegatedSubscriptionRequest, client: str
    ) -> tuple[dict[str, Any], list[StartedJob]]:
        """Admit one job or delegated subscription; returns the answer and the job started."""
        if isinstance(message, DelegatedSubscriptionRequest):
            if self._chain is None:
                raise GuardianRejection("Chain not enabled")
            return await self._chain.started().submit_delegated(message, client), []
        self._context.guardian.check_offchain(
            message.containers, bool(message.requires_proof), client
        )
        job = self._jobs.start(client, message)
        return {"id": job.id}, [job]

    async def stream_job(self, request: web.Request) -> web.StreamResponse:
        message = parse_job_message(await self._read_json(request))
        if isinstance(message, DelegatedSubscriptionRequest):
            return error_response(405, "Streaming only supported for OffchainJob requests.")
        client = _client(request)
        self._context.guardian.check_offchain(
            message.containers, bool(message.requires_proof), client
        )
        self._jobs.admit(client, 1)
        response = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
        await response.prepare(request)
        stream = self._jobs.stream(client, message)
        try:
            async for chunk in stream:
                await response.write(chunk)
            await response.write_eof()
        except ConnectionResetError:
            log.info("stream client %s went away", client)
        finally:
            await stream.aclose()  # records the job even when the client left early
        return response

    async def get_jobs(self, request: web.Request) -> web.Response:
        client = _client(request)
        ids = request.query.getall("id", [])
        if not ids:
            pending = {"true": True, "false": False}.get(request.query.get("pending", ""))
            return json_response(self._jobs.ids(client, pending))
        intermediate = request.query.get("intermediate") == "true"
        return json_response([job.to_json(intermediate) for job in self._jobs.get(client, ids)])

    async def put_status(self, request: web.Request) -> web.Response:
        client = _client(request)
        if not status_caller_allowed(client, self._status_networks):
            return error_response(403, "Unauthorized")
        report = parse_status_report(await self._read_json(request))
        if report.status not in ("running", "success", "failed"):
            return error_response(400, STATUS_INVALID)
        self._jobs.report_status(client, report)
        return json_response(None)

    async def _read_json(self, request: web.Request) -> Any:
        """The body as JSON, whatever the Content-Type (upstream 500s without it on
        /api/jobs).

        Raises:
            InvalidField: the body is not JSON, nests deeper than ``server.max_json_depth``
                or holds a non-finite number.
        """
        timeout = self._config.server.body_timeout
        try:
            if request.content.is_eof():
                # The whole body has arrived (the usual case): reading it waits for nothing,
                # so it needs no timer.
                raw = await request.read()
            else:
                async with asyncio.timeout(timeout):
                    raw = await request.read()
        except TimeoutError:
            raise RequestTimeout(
                f"the request body did not arrive within {timeout:g} s (server.body_timeout)",
                "server.body_timeout",
            ) from None
        try:
            return loads(raw, self._config.server.max_json_depth)
        except JsonRejected as e:
            reason = e.reason
            if "levels deep" in reason:
                reason += " (server.max_json_depth)"
            raise InvalidField("body", reason) from None


def _client(request: web.Request) -> str:
    """The caller's address: the TCP peer (results are scoped by it, docs/devnode.md).

    Raises:
        InvalidField: no peer address (e.g. a Unix socket), upstream's 400.
    """
    if not request.remote:
        raise InvalidField("", "Could not get client IP address")
    return request.remote
