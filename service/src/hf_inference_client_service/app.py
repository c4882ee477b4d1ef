"""The Quart application: routes of the Infernet container protocol.

Routes: `GET /` (name and version; the health check), `POST /service_output` (jobs),
`GET /service-resources[?model_id=]` (capabilities). Every failure is answered as JSON
`{"code": "<status>", "name": <reason phrase>, "description": <text naming the field>}` with that
HTTP status: the node reads `code`, and anything but "200" stops an on-chain delivery
(docs/devnode.md, "The Infernet node protocol"). Never HTML, never a traceback.

The request path is kept lean: one workflow (one HTTP client) per process, documents computed at
startup, the body validated straight from bytes by pydantic, responses serialised once.
"""

from __future__ import annotations

import gc
import json
import logging
from collections.abc import AsyncIterator
from http import HTTPStatus
from importlib.metadata import version
from typing import Any

from quart import Quart
from quart import Response
from quart import request
from werkzeug.exceptions import HTTPException

from .config import ServiceConfig
from .errors import ServiceError
from .hf_backend import HFInferenceClientWorkflow
from .lifetime import exit_with_parent
from .protocol import JobLocation
from .protocol import onchain_result
from .protocol import parse_call
from .redaction import REDACTED
from .request_body import BodyLimits
from .request_body import read_body
from .resources import SERVICE_ID
from .resources import model_supported
from .resources import service_resources

__all__ = ["create_app"]

logger = logging.getLogger("hf_inference_client_service")

_JSON = "application/json"
_TEXT_STREAM = "text/plain; charset=utf-8"
# Hex doubles the on-chain input and JSON escaping can multiply off-chain text; the per-field
# limit (HF_INF_MAX_INPUT_BYTES) is the real check, this only bounds what is read at all.
_BODY_FACTOR = 8
_BODY_SLACK = 16_384
# Upstream's GET / message, kept for clients that look for it.
_UPSTREAM_MESSAGE = "Infernet-ML HuggingFace Model Inference Service"
_LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def _dumps(value: Any) -> bytes:
    # allow_nan=False: NaN and Infinity are not JSON; answers are validated finite before this.
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


class _RedactingFormatter(logging.Formatter):
    """Formats records with the token replaced, tracebacks included.

    Redacting the formatted text rather than the message also covers `exc_info`, whose
    exception text may carry a URL or header the backend library echoed.
    """

    def __init__(self, fmt: str, token: str) -> None:
        super().__init__(fmt)
        self._token = token

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        return text.replace(self._token, REDACTED) if self._token else text


def _configure_logging(config: ServiceConfig) -> None:
    if not logger.handlers:
        logger.addHandler(logging.StreamHandler())
        logger.setLevel(logging.INFO)
        logger.propagate = False
    for handler in logger.handlers:
        handler.setFormatter(_RedactingFormatter(_LOG_FORMAT, config.token or ""))


def create_app(config: ServiceConfig | None = None) -> Quart:
    """Build the service app; `config` defaults to ServiceConfig.from_env().

    The workflow (and its HTTP client) is opened in `before_serving` and closed in
    `after_serving`.
    """
    config = ServiceConfig.from_env() if config is None else config
    exit_with_parent()
    _configure_logging(config)
    app = Quart(__name__)
    # The route reads bodies itself (`request_body`): within the size limit, draining an oversized
    # one so its sender can read the 413, and giving a client that trickles its body a 408 after
    # HF_INF_BODY_TIMEOUT seconds instead of a connection (and a worker slot) held forever.
    app.config["MAX_CONTENT_LENGTH"] = None
    body_limits = BodyLimits(
        max_bytes=config.inputs.max_input_bytes * _BODY_FACTOR + _BODY_SLACK,
        max_drain_bytes=config.max_drain_bytes,
        timeout=config.body_timeout,
    )
    # Responses are bounded by HF_INF_TIMEOUT (streams included, read by read), so Quart's own
    # response timeout, which would cut a slow reader's stream, stays off.
    app.config["RESPONSE_TIMEOUT"] = None
    workflow = HFInferenceClientWorkflow(config)
    token = config.token
    onchain = config.onchain
    index_body = _dumps(
        {"name": SERVICE_ID, "version": version(SERVICE_ID), "message": _UPSTREAM_MESSAGE}
    )
    resources_body = _dumps(service_resources(config))

    def error_response(status: HTTPStatus, description: str) -> Response:
        if token:
            description = description.replace(token, REDACTED)
        body = {"code": str(status.value), "name": status.phrase, "description": description}
        return Response(_dumps(body), status=status.value, content_type=_JSON)

    @app.before_serving
    async def _open_workflow() -> None:
        workflow.setup()
        # Everything allocated so far (modules, app, client) lives as long as the process: keep
        # it out of the collector's full passes. Measured here: CPU per job -20 to -25%.
        gc.freeze()

    @app.after_serving
    async def _close_workflow() -> None:
        await workflow.close()

    @app.get("/")
    async def index() -> Response:
        return Response(index_body, content_type=_JSON)

    @app.get("/service-resources")
    async def resources() -> Response:
        model_id = request.args.get("model_id")
        if model_id is None:
            return Response(resources_body, content_type=_JSON)
        return Response(
            _dumps({"supported": model_supported(model_id, config)}), content_type=_JSON
        )

    @app.post("/service_output")
    async def service_output() -> Response:
        body = await read_body(request.body, request.content_length, body_limits)
        call = parse_call(body, config.inputs)
        if call.destination is JobLocation.STREAM:
            tokens = await workflow.stream(call.job)
            return Response(_encoded(tokens), content_type=_TEXT_STREAM)
        output = await workflow.inference(call.job)
        if call.destination is JobLocation.OFFCHAIN:
            return Response(_dumps({"output": output}), content_type=_JSON)
        return Response(_dumps(onchain_result(call, output, onchain)), content_type=_JSON)

    @app.errorhandler(ServiceError)
    async def _service_error(error: ServiceError) -> Response:
        if error.status >= HTTPStatus.INTERNAL_SERVER_ERROR:
            logger.warning("%s: %s", error.status.phrase, error.description)
        return error_response(error.status, error.description)

    @app.errorhandler(HTTPException)
    async def _http_error(error: HTTPException) -> Response:
        status = HTTPStatus(error.code or HTTPStatus.INTERNAL_SERVER_ERROR)
        return error_response(status, error.description or status.description)

    @app.errorhandler(Exception)
    async def _unexpected(error: Exception) -> Response:
        logger.error("unexpected error: %s", type(error).__name__, exc_info=error)
        return error_response(
            HTTPStatus.INTERNAL_SERVER_ERROR, f"internal error ({type(error).__name__})"
        )

    return app


async def _encoded(tokens: AsyncIterator[str]) -> AsyncIterator[bytes]:
    async for token in tokens:
        yield token.encode()
