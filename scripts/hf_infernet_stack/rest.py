"""HTTP to the stack's servers through httpx: readiness probes, a raw client that can choose its
source address (another client for the node's per-client limits), and the node's REST API
(docs/devnode.md)."""

from __future__ import annotations

import atexit
import json
import threading
from dataclasses import dataclass
from typing import Any

import httpx

from .processes import wait_for

HTTP_TIMEOUT_S = 30.0
PROBE_TIMEOUT_S = 1.0
JOB_DEADLINE_S = 60.0
# What a devnode's GET /health says while its chain side starts.
STARTING = "starting"
# A second loopback address: requests from it are "another client" for a node.
OTHER_CLIENT = "127.0.0.2"


# Every client shares one TLS context: building one (the CA certificates) costs ~0.1 s, far more
# than a request to a local server.
_TLS = httpx.create_ssl_context()
# Per thread: (source address, keep-alive) -> that thread's client. httpcore's synchronous pool
# can close a connection it has just handed to a request of another thread (the request then
# reads a closed socket: EBADF), so threads do not share one.
_THREAD_CLIENTS = threading.local()
_ALL_CLIENTS: list[httpx.Client] = []


def _client(source: str | None, keep_alive: bool) -> httpx.Client:
    """This thread's client for a source address and connection policy.

    Without keep-alive every request has a connection of its own, closed by us once answered, so
    none waits behind another's; each then holds a local port in TIME_WAIT for a minute, so
    whatever polls (readiness, node state) keeps its connections instead.
    """
    clients: dict[tuple[str | None, bool], httpx.Client] | None
    clients = getattr(_THREAD_CLIENTS, "clients", None)
    if clients is None:
        clients = _THREAD_CLIENTS.clients = {}
    client = clients.get((source, keep_alive))
    if client is None:
        limits = httpx.Limits() if keep_alive else httpx.Limits(max_keepalive_connections=0)
        transport = httpx.HTTPTransport(verify=_TLS, local_address=source, limits=limits)
        client = clients[(source, keep_alive)] = httpx.Client(
            transport=transport, timeout=HTTP_TIMEOUT_S
        )
        if keep_alive:
            _ALL_CLIENTS.append(client)  # its idle connections are closed at exit
    return client


@atexit.register
def _close_clients() -> None:
    for client in _ALL_CLIENTS:
        client.close()


def http_ok(url: str) -> bool:
    """Whether `url` answers GET with a 2xx."""
    try:
        return _client(None, True).get(url, timeout=PROBE_TIMEOUT_S).is_success
    except httpx.HTTPError:
        return False


def node_ready(node_url: str) -> bool:
    """Whether the devnode at `node_url` is ready: its GET /health answers 200 and no longer says
    "starting". The REST API serves while the chain side starts, and until then chain routes
    are 503 (docs/devnode.md, "Start, sync and health"); Infernet Node 1.4 never says it."""
    try:
        answer = _client(None, True).get(node_url + "/health", timeout=PROBE_TIMEOUT_S)
        return answer.is_success and answer.json().get("status") != STARTING
    except (httpx.HTTPError, ValueError, AttributeError):
        return False


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    headers: dict[str, str]  # names in lower case
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    def parsed(self) -> Any:
        """The body as JSON, or as text when it is not JSON."""
        try:
            return self.json
        except ValueError:
            return self.body.decode(errors="replace")


class Http:
    """A client of one server from `source` (a local address; None lets the OS choose): every
    request on a connection of its own, or with `keep_alive` on pooled ones."""

    def __init__(self, base: str, source: str | None = None, keep_alive: bool = False) -> None:
        self.base = base.rstrip("/")
        self.source = source
        self.keep_alive = keep_alive

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> HttpAnswer:
        """Send `body` as JSON (or `raw` bytes as they are); any status is an answer.

        Raises:
            ConnectionError: the server could not be reached or did not answer in time (an
                OSError, as the JSON-RPC client raises).
        """
        content = raw if raw is not None else None if body is None else json.dumps(body).encode()
        sent = {"Content-Type": "application/json"} if content is not None else {}
        try:
            response = _client(self.source, self.keep_alive).request(
                method, self.base + path, content=content, headers={**sent, **(headers or {})}
            )
        except httpx.TransportError as e:
            raise ConnectionError(f"{method} {self.base}{path}: {e!r}") from e
        return HttpAnswer(
            response.status_code,
            {k.lower(): v for k, v in response.headers.items()},
            response.content,
        )

    def get(self, path: str) -> HttpAnswer:
        return self.request("GET", path)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> HttpAnswer:
        return self.request("POST", path, body, **kwargs)

    def put(self, path: str, body: Any = None, **kwargs: Any) -> HttpAnswer:
        return self.request("PUT", path, body, **kwargs)

    def job(self, containers: list[str], data: dict[str, Any], **extra: Any) -> str:
        answer = self.post("/api/jobs", {"containers": containers, "data": data, **extra})
        assert answer.status == 200, answer.body
        return str(answer.json["id"])

    def result(self, job_id: str, intermediate: bool = False) -> dict[str, Any]:
        """Poll until the job is no longer running; returns its JobResult."""
        query = f"/api/jobs?id={job_id}" + ("&intermediate=true" if intermediate else "")

        def done() -> dict[str, Any] | None:
            jobs = self.get(query).json
            return jobs[0] if jobs and jobs[0]["status"] != "running" else None

        return dict(wait_for(done, what=f"job {job_id} finished"))


class NodeHTTPError(Exception):
    """The node answered with a non-2xx status; carries the status and the JSON body."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"HTTP {status}: {body}")
        self.status = status
        self.body = body


@dataclass(frozen=True)
class NodeREST:
    """The Infernet node REST API (docs/devnode.md): answers as JSON, other statuses raised."""

    url: str

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        answer = Http(self.url, keep_alive=True).request(method, path, body)
        if not 200 <= answer.status < 300:
            raise NodeHTTPError(answer.status, answer.parsed())
        return json.loads(answer.body or b"null")

    def health(self) -> Any:
        return self._call("GET", "/health")

    def info(self) -> Any:
        return self._call("GET", "/info")

    def request_job(
        self, data: dict[str, Any], container: str, requires_proof: bool = False
    ) -> str:
        body = {"containers": [container], "data": data, "requires_proof": requires_proof}
        job_id: str = self._call("POST", "/api/jobs", body)["id"]
        return job_id

    def job(self, job_id: str) -> dict[str, Any] | None:
        results = self._call("GET", f"/api/jobs?id={job_id}")
        return results[0] if results else None

    def wait_job(self, job_id: str, deadline_s: float = JOB_DEADLINE_S) -> dict[str, Any]:
        """Poll GET /api/jobs?id= until the job leaves "running"."""

        def finished() -> dict[str, Any] | None:
            job = self.job(job_id)
            return job if job is not None and job.get("status") != "running" else None

        try:
            return wait_for(finished, deadline_s, f"job {job_id} finished")
        except TimeoutError:
            raise TimeoutError(
                f"job {job_id} still running after {deadline_s:.0f} s: {self.job(job_id)}"
            ) from None

    def request_delegated(
        self, subscription: dict[str, Any], signature: dict[str, int], data: dict[str, Any]
    ) -> Any:
        body = {"subscription": subscription, "signature": signature, "data": data}
        return self._call("POST", "/api/jobs", body)

    def subscription_status(self, sub_id: int) -> Any:
        """GET /api/subscriptions/{id}: the devnode's view of a subscription (extension)."""
        return self._call("GET", f"/api/subscriptions/{sub_id}")

    def delegation_status(self, owner: str, nonce: int) -> Any:
        """GET /api/delegations/{owner}/{nonce}: what became of a delegated request (extension)."""
        return self._call("GET", f"/api/delegations/{owner}/{nonce}")
