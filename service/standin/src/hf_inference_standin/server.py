"""The stand-in's HTTP server (aiohttp.web): Hugging Face's inference routes plus test controls.

Routes, exactly those huggingface-style clients call when pointed at it as an endpoint:

- `POST /models/{model}`: text generation (JSON or server-sent-event stream, TGI format), text
  classification (`[[{label, score}]]`), token classification, summarization (`[{summary_text}]`);
- `POST /models/{model}/v1/chat/completions` and `POST /v1/chat/completions`: OpenAI-style chat
  completion, streamed or not;
- `POST /`: TGI's root route (what a URL model pointing at a TGI server is sent), as model "tgi";
- `GET /`: health; names itself a stand-in.

Test controls (not part of Hugging Face's protocol):
- `POST /_stand-in/faults` with `{"status", "times", "retry_after", "delay", "token_delay"}` (or
  a list of them): the next `times` inference requests get that HTTP status (429, 503, ...) with
  `Retry-After`, and/or wait `delay` seconds (slow backend), or stream tokens `token_delay`
  seconds apart. `DELETE` clears them.
- `GET /_stand-in/requests`: the last requests received (method, path, headers, JSON body);
  `DELETE` clears them.

Every response carries `x-stand-in: offline-hf-backend`.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from aiohttp import web

from .answers import Pipeline
from .answers import cut_at_stop
from .answers import generated_tokens
from .answers import is_chat_only
from .answers import pipeline_for
from .answers import summarize
from .answers import text_classification
from .answers import token_classification
from .answers import unused_model_kwargs

__all__ = ["STAND_IN_HEADER", "Fault", "StandIn", "create_app"]

STAND_IN_HEADER = ("x-stand-in", "offline-hf-backend")
_CHAT_SUFFIX = "/v1/chat/completions"
_ROOT_MODEL = "tgi"
_RECORDED = 256
# Bodies the service sends are bounded by its own input limit; this only bounds the stand-in.
_MAX_BODY = 8 * 1024 * 1024


@dataclass(slots=True)
class Fault:
    """An injected misbehaviour for the next `times` inference requests."""

    status: int | None = None
    times: int = 1
    retry_after: str | None = None
    delay: float = 0.0
    token_delay: float = 0.0

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Fault:
        """Build from the control endpoint's JSON."""
        retry_after = raw.get("retry_after")
        return cls(
            status=None if raw.get("status") is None else int(raw["status"]),
            times=int(raw.get("times", 1)),
            retry_after=None if retry_after is None else str(retry_after),
            delay=float(raw.get("delay", 0.0)),
            token_delay=float(raw.get("token_delay", 0.0)),
        )


class StandIn:
    """The stand-in's state: pending faults and the requests it recorded."""

    def __init__(self) -> None:
        self.faults: deque[Fault] = deque()
        self.requests: deque[dict[str, Any]] = deque(maxlen=_RECORDED)

    def next_fault(self) -> Fault | None:
        """The fault for this request, if any (consumes one of its `times`)."""
        if not self.faults:
            return None
        fault = self.faults[0]
        fault.times -= 1
        if fault.times <= 0:
            self.faults.popleft()
        return fault


_STANDIN_KEY = web.AppKey("standin", StandIn)


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response(body, status=status, headers=headers)


def _error(status: int, message: str) -> web.Response:
    return _json({"error": message}, status)


@web.middleware
async def _label(request: web.Request, handler: Any) -> web.StreamResponse:
    # Every answer, error pages included, says it comes from the stand-in.
    try:
        response: web.StreamResponse = await handler(request)
    except web.HTTPException as e:
        e.headers[STAND_IN_HEADER[0]] = STAND_IN_HEADER[1]
        raise
    if not response.prepared:
        response.headers[STAND_IN_HEADER[0]] = STAND_IN_HEADER[1]
    return response


def create_app() -> web.Application:
    """The stand-in as an aiohttp application (fresh state per app)."""
    app = web.Application(middlewares=[_label], client_max_size=_MAX_BODY)
    app[_STANDIN_KEY] = StandIn()
    app.router.add_get("/", _health)
    app.router.add_post("/_stand-in/faults", _add_faults)
    app.router.add_delete("/_stand-in/faults", _clear_faults)
    app.router.add_get("/_stand-in/requests", _list_requests)
    app.router.add_delete("/_stand-in/requests", _clear_requests)
    app.router.add_post("/", _inference)
    app.router.add_post("/v1/chat/completions", _inference)
    app.router.add_post("/models/{model:.+}", _inference)
    return app


async def _health(request: web.Request) -> web.Response:
    return _json({"name": "offline Hugging Face stand-in", "stand_in": True})


async def _add_faults(request: web.Request) -> web.Response:
    standin = request.app[_STANDIN_KEY]
    try:
        spec = await request.json()
        specs = spec if isinstance(spec, list) else [spec]
        standin.faults.extend(Fault.from_json(s) for s in specs)
    except (ValueError, TypeError, AttributeError, KeyError) as e:
        return _error(400, f"bad fault spec: {e}")
    return _json({"faults": len(standin.faults)})


async def _clear_faults(request: web.Request) -> web.Response:
    request.app[_STANDIN_KEY].faults.clear()
    return _json({"faults": 0})


async def _list_requests(request: web.Request) -> web.Response:
    return _json(list(request.app[_STANDIN_KEY].requests))


async def _clear_requests(request: web.Request) -> web.Response:
    request.app[_STANDIN_KEY].requests.clear()
    return _json({"requests": 0})


async def _inference(request: web.Request) -> web.StreamResponse:
    standin = request.app[_STANDIN_KEY]
    try:
        body = json.loads(await request.read() or b"null")
    except ValueError:
        return _error(400, "request body is not JSON")
    if not isinstance(body, dict):
        return _error(400, "request body must be a JSON object")
    path = request.path
    headers = {k.lower(): v for k, v in request.headers.items()}
    standin.requests.append(
        {"method": request.method, "path": path, "headers": headers, "body": body}
    )
    fault = standin.next_fault()
    if fault is not None and fault.delay:
        await asyncio.sleep(fault.delay)
    if fault is not None and fault.status is not None:
        extra = {"retry-after": fault.retry_after} if fault.retry_after else None
        message = f"stand-in fault: {HTTPStatus(fault.status).phrase}"
        return _json({"error": message}, fault.status, extra)
    token_delay = fault.token_delay if fault is not None else 0.0
    if path == "/":
        # TGI's compatibility route: a URL model pointing at the server root lands here.
        return await _task(request, _ROOT_MODEL, body, token_delay)
    if path == _CHAT_SUFFIX:
        return await _chat(request, str(body.get("model", "")), body, token_delay)
    model = request.match_info["model"]
    if model.endswith(_CHAT_SUFFIX):
        chat_model = str(body.get("model") or model[: -len(_CHAT_SUFFIX)])
        return await _chat(request, chat_model, body, token_delay)
    return await _task(request, model, body, token_delay)


async def _task(
    request: web.Request, model: str, body: dict[str, Any], token_delay: float
) -> web.StreamResponse:
    inputs = body.get("inputs")
    if not isinstance(inputs, str):
        return _error(400, "`inputs` must be a string")
    params = body.get("parameters") or {}
    if not isinstance(params, dict):
        return _error(400, "`parameters` must be an object")
    pipeline = pipeline_for(model, body)
    if pipeline == Pipeline.TEXT_GENERATION:
        if is_chat_only(model):
            return _error(
                400,
                f"Model {model} is not supported for task text-generation and provider"
                " hf-inference. Supported task: conversational.",
            )
        unused = unused_model_kwargs(model, params)
        if unused:
            return _error(
                400,
                f"The following `model_kwargs` are not used by the model: {unused!r} (note:"
                " typos in the generate arguments will also show up in this list)",
            )
        return await _generate(
            request, model, inputs, params, bool(body.get("stream")), token_delay
        )
    if pipeline == Pipeline.TOKEN_CLASSIFICATION:
        entities = token_classification(
            inputs, params.get("aggregation_strategy"), params.get("ignore_labels")
        )
        return _json(entities)
    if pipeline == Pipeline.SUMMARIZATION:
        return _json([{"summary_text": summarize(inputs, params)}])
    return _json([text_classification(inputs, params.get("top_k"))])


async def _generate(
    request: web.Request,
    model: str,
    prompt: str,
    params: dict[str, Any],
    stream: bool,
    token_delay: float,
) -> web.StreamResponse:
    tokens = generated_tokens(model, prompt, params.get("max_new_tokens"), params.get("seed"))
    text = cut_at_stop("".join(tokens), params.get("stop"))
    full = prompt + text if params.get("return_full_text") else text
    if not stream:
        return _json([{"generated_text": full}])
    events, sent = [], ""
    for index, token in enumerate(tokens):
        if len(sent) >= len(text):
            break
        piece = token[: len(text) - len(sent)]
        sent += piece
        last = len(sent) >= len(text)
        events.append(
            {
                "index": index,
                "token": {"id": index, "text": piece, "logprob": 0.0, "special": False},
                "generated_text": full if last else None,
                "details": None,
            }
        )
    return await _events(request, [json.dumps(e) for e in events], token_delay)


async def _chat(
    request: web.Request, model: str, body: dict[str, Any], token_delay: float
) -> web.StreamResponse:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return _error(400, "`messages` must be a non-empty list")
    prompt = next(
        (str(m.get("content", "")) for m in reversed(messages) if isinstance(m, dict)), ""
    )
    tokens = generated_tokens(model, prompt, body.get("max_tokens"), body.get("seed"))
    text = cut_at_stop("".join(tokens), body.get("stop")).lstrip()
    ident, created = "chatcmpl-stand-in", 0
    if not body.get("stream"):
        prompt_tokens = len(prompt.split())
        return _json(
            {
                "id": ident,
                "object": "chat.completion",
                "created": created,
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": text},
                        "finish_reason": "length",
                    }
                ],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": len(tokens),
                    "total_tokens": prompt_tokens + len(tokens),
                },
            }
        )
    events = []
    for i, word in enumerate(text.split(" ")):
        delta = {"role": "assistant", "content": word if i == 0 else " " + word}
        chunk = {
            "id": ident,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": None}],
        }
        events.append(json.dumps(chunk))
    events.append("[DONE]")
    return await _events(request, events, token_delay)


async def _events(
    request: web.Request, events: list[str], token_delay: float
) -> web.StreamResponse:
    response = web.StreamResponse(headers={"content-type": "text/event-stream"})
    response.headers[STAND_IN_HEADER[0]] = STAND_IN_HEADER[1]
    response.enable_chunked_encoding()
    await response.prepare(request)
    for event in events:
        await response.write(f"data: {event}\n\n".encode())
        if token_delay:
            await asyncio.sleep(token_delay)
    await response.write_eof()
    return response
