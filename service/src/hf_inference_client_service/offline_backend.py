"""OFFLINE STAND-IN for Hugging Face inference: a local server speaking HF's wire protocol.

Not a model and not Hugging Face: answers are deterministic functions of the request (see
`offline_outputs`), so tests, the e2e suite and the offline demo run without network. It serves
exactly the routes huggingface_hub 2.4.0's AsyncInferenceClient calls when the service points
HF_INF_ENDPOINT at it:

- `POST /models/{model}`: text generation (JSON or server-sent-event stream, TGI format), text
  classification (`[[{label, score}]]`), token classification, summarization (`[{summary_text}]`);
- `POST /models/{model}/v1/chat/completions` and `POST /v1/chat/completions`: OpenAI-style chat
  completion, streamed or not;
- `POST /`: TGI's root route (what a URL model pointing at a TGI server is sent), as model "tgi";
- `GET /`: health, names itself a stand-in.

Test controls (not part of HF's protocol):
- `POST /_stand-in/faults` with `{"status", "times", "retry_after", "delay", "token_delay"}`
  (or a list of them): the next `times` inference requests get that HTTP status (429, 503, ...)
  with `Retry-After`, and/or are delayed `delay` seconds (slow backend), or stream tokens
  `token_delay` seconds apart. `DELETE` clears them.
- `GET /_stand-in/requests`: the last requests received (method, path, headers, JSON body);
  `DELETE` clears them.

Every response carries `x-stand-in: offline-hf-backend`.

Run: `python -m hf_inference_client_service.offline_backend --port N [--host 127.0.0.1]`; with
`--port 0` the OS picks the port. The first line on stdout is `listening on http://HOST:PORT`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
from collections import deque
from collections.abc import Awaitable
from collections.abc import Callable
from collections.abc import Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from .offline_outputs import Pipeline
from .offline_outputs import cut_at_stop
from .offline_outputs import generated_tokens
from .offline_outputs import is_chat_only
from .offline_outputs import pipeline_for
from .offline_outputs import summarize
from .offline_outputs import text_classification
from .offline_outputs import token_classification

__all__ = ["Fault", "OfflineBackend", "main"]

STAND_IN_HEADER = b"x-stand-in: offline-hf-backend\r\n"
_MODELS = "/models/"
_CHAT_SUFFIX = "/v1/chat/completions"
_ROOT_MODEL = "tgi"
_RECORDED = 256
_MAX_HEAD = 65_536
_CHUNK_END = b"0\r\n\r\n"


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
        """Build from the control endpoint's JSON (unknown keys are an error)."""
        retry_after = raw.get("retry_after")
        return cls(
            status=None if raw.get("status") is None else int(raw["status"]),
            times=int(raw.get("times", 1)),
            retry_after=None if retry_after is None else str(retry_after),
            delay=float(raw.get("delay", 0.0)),
            token_delay=float(raw.get("token_delay", 0.0)),
        )


@dataclass(frozen=True, slots=True)
class _Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class _Reply:
    """A complete response, or a stream of SSE events written as chunked transfer."""

    def __init__(
        self,
        status: int,
        body: Any = None,
        *,
        events: list[str] | None = None,
        headers: dict[str, str] | None = None,
        token_delay: float = 0.0,
    ) -> None:
        self.status = status
        self.body = body
        self.events = events
        self.headers = headers or {}
        self.token_delay = token_delay


def _error(status: int, message: str) -> _Reply:
    return _Reply(status, {"error": message})


class OfflineBackend:
    """The stand-in's state (faults, recorded requests) and request handling."""

    def __init__(self) -> None:
        self.faults: deque[Fault] = deque()
        self.requests: deque[dict[str, Any]] = deque(maxlen=_RECORDED)
        self._open: dict[asyncio.StreamWriter, asyncio.Task[None] | None] = {}

    async def close_connections(self) -> None:
        """Close open keep-alive connections so their handlers end normally (shutdown)."""
        for writer in list(self._open):
            writer.close()
        handlers = [task for task in self._open.values() if task is not None]
        if handlers:
            await asyncio.wait(handlers, timeout=2.0)

    # ------------------------------------------------------------------ HTTP/1.1 plumbing

    async def serve_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        """Answer requests on one keep-alive connection until the peer closes it."""
        self._open[writer] = asyncio.current_task()
        try:
            while True:
                request = await _read_request(reader)
                if request is None:
                    return
                reply = await self.handle(request)
                await _write_reply(writer, reply)
                if request.headers.get("connection", "").lower() == "close":
                    return
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            return
        finally:
            self._open.pop(writer, None)
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()

    # ------------------------------------------------------------------ routing

    async def handle(self, request: _Request) -> _Reply:
        """Route one request."""
        path = request.path.split("?", 1)[0]
        if path.startswith("/_stand-in/"):
            return self._control(request.method, path, request.body)
        if request.method == "GET" and path == "/":
            return _Reply(200, {"name": "offline Hugging Face stand-in", "stand_in": True})
        if request.method != "POST":
            return _error(405, f"{request.method} {path} is not served by the stand-in")
        try:
            body = json.loads(request.body or b"null")
        except ValueError:
            return _error(400, "request body is not JSON")
        if not isinstance(body, dict):
            return _error(400, "request body must be a JSON object")
        self.requests.append(
            {"method": request.method, "path": path, "headers": request.headers, "body": body}
        )
        fault = self._next_fault()
        if fault is not None and fault.delay:
            await asyncio.sleep(fault.delay)
        if fault is not None and fault.status is not None:
            headers = {"retry-after": fault.retry_after} if fault.retry_after else {}
            reply = _error(fault.status, f"stand-in fault: {HTTPStatus(fault.status).phrase}")
            reply.headers.update(headers)
            return reply
        token_delay = fault.token_delay if fault is not None else 0.0
        if path == "/":
            # TGI's compatibility route: a URL model pointing at the server root lands here.
            return _task(_ROOT_MODEL, body, token_delay)
        if path == _CHAT_SUFFIX:
            return _chat(str(body.get("model", "")), body, token_delay)
        if path.startswith(_MODELS):
            model = path[len(_MODELS) :]
            if model.endswith(_CHAT_SUFFIX):
                return _chat(
                    str(body.get("model") or model[: -len(_CHAT_SUFFIX)]), body, token_delay
                )
            return _task(model, body, token_delay)
        return _error(404, f"no route {path}")

    def _next_fault(self) -> Fault | None:
        if not self.faults:
            return None
        fault = self.faults[0]
        fault.times -= 1
        if fault.times <= 0:
            self.faults.popleft()
        return fault

    def _control(self, method: str, path: str, raw: bytes) -> _Reply:
        if path == "/_stand-in/faults":
            if method == "DELETE":
                self.faults.clear()
                return _Reply(200, {"faults": 0})
            if method == "POST":
                try:
                    spec = json.loads(raw)
                    specs = spec if isinstance(spec, list) else [spec]
                    self.faults.extend(Fault.from_json(s) for s in specs)
                except (ValueError, TypeError, AttributeError, KeyError) as e:
                    return _error(400, f"bad fault spec: {e}")
                return _Reply(200, {"faults": len(self.faults)})
        if path == "/_stand-in/requests":
            if method == "DELETE":
                self.requests.clear()
                return _Reply(200, {"requests": 0})
            if method == "GET":
                return _Reply(200, list(self.requests))
        return _error(404, f"no control route {method} {path}")


def _task(model: str, body: dict[str, Any], token_delay: float) -> _Reply:
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
        return _generate(model, inputs, params, bool(body.get("stream")), token_delay)
    if pipeline == Pipeline.TOKEN_CLASSIFICATION:
        entities = token_classification(
            inputs, params.get("aggregation_strategy"), params.get("ignore_labels")
        )
        return _Reply(200, entities)
    if pipeline == Pipeline.SUMMARIZATION:
        return _Reply(200, [{"summary_text": summarize(inputs, params)}])
    return _Reply(200, [text_classification(inputs, params.get("top_k"))])


def _generate(
    model: str, prompt: str, params: dict[str, Any], stream: bool, token_delay: float
) -> _Reply:
    tokens = generated_tokens(model, prompt, params.get("max_new_tokens"), params.get("seed"))
    text = cut_at_stop("".join(tokens), params.get("stop"))
    full = prompt + text if params.get("return_full_text") else text
    if not stream:
        return _Reply(200, [{"generated_text": full}])
    events, sent = [], ""
    for index, token in enumerate(tokens):
        if len(sent) >= len(text):
            break
        piece = token[: len(text) - len(sent)]
        sent += piece
        last = len(sent) >= len(text)
        event = {
            "index": index,
            "token": {"id": index, "text": piece, "logprob": 0.0, "special": False},
            "generated_text": full if last else None,
            "details": None,
        }
        events.append(json.dumps(event))
    return _Reply(200, events=events, token_delay=token_delay)


def _chat(model: str, body: dict[str, Any], token_delay: float) -> _Reply:
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
        return _Reply(
            200,
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
                    "prompt_tokens": len(prompt.split()),
                    "completion_tokens": len(tokens),
                    "total_tokens": len(prompt.split()) + len(tokens),
                },
            },
        )
    pieces = text.split(" ")
    events = []
    for i, word in enumerate(pieces):
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
    return _Reply(200, events=events, token_delay=token_delay)


async def _read_request(reader: asyncio.StreamReader) -> _Request | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    lines = head[:-4].decode("latin-1").split("\r\n")
    method, target, _ = lines[0].split(" ", 2)
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = await _read_chunked(reader)
    else:
        length = int(headers.get("content-length", "0") or 0)
        body = await reader.readexactly(length) if length else b""
    return _Request(method, target, headers, body)


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        if size == 0:
            await reader.readuntil(b"\r\n")
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)


def _head(status: int, content_type: str, extra: dict[str, str], length: int | None) -> bytes:
    lines = [f"HTTP/1.1 {status} {HTTPStatus(status).phrase}", f"content-type: {content_type}"]
    lines += [f"{k}: {v}" for k, v in extra.items()]
    lines.append(
        f"content-length: {length}" if length is not None else "transfer-encoding: chunked"
    )
    return ("\r\n".join(lines) + "\r\n").encode("latin-1") + STAND_IN_HEADER + b"\r\n"


async def _write_reply(writer: asyncio.StreamWriter, reply: _Reply) -> None:
    if reply.events is None:
        payload = json.dumps(reply.body, separators=(",", ":")).encode()
        writer.write(_head(reply.status, "application/json", reply.headers, len(payload)) + payload)
        await writer.drain()
        return
    writer.write(_head(reply.status, "text/event-stream", reply.headers, None))
    for event in reply.events:
        data = f"data: {event}\n\n".encode()
        writer.write(b"%x\r\n%s\r\n" % (len(data), data))
        await writer.drain()
        if reply.token_delay:
            await asyncio.sleep(reply.token_delay)
    writer.write(_CHUNK_END)
    await writer.drain()


async def serve(
    host: str, port: int, ready: Callable[[str, int], Awaitable[None] | None] | None = None
) -> None:
    """Serve until cancelled or SIGINT/SIGTERM; `ready(host, port)` runs once listening."""
    backend = OfflineBackend()
    server = await asyncio.start_server(backend.serve_connection, host, port, limit=_MAX_HEAD)
    bound_host, bound_port = server.sockets[0].getsockname()[:2]
    if ready is not None:
        result = ready(bound_host, bound_port)
        if result is not None:
            await result
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()
        server.close()
        await backend.close_connections()


def main(argv: Sequence[str] | None = None) -> int:
    """CLI: `python -m hf_inference_client_service.offline_backend --port N [--host H]`."""
    parser = argparse.ArgumentParser(
        prog="python -m hf_inference_client_service.offline_backend",
        description="Offline stand-in for Hugging Face inference (deterministic, no models).",
    )
    parser.add_argument("--port", type=int, required=True, help="TCP port; 0 picks a free one")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    args = parser.parse_args(argv)

    def announce(host: str, port: int) -> None:
        print(f"listening on http://{host}:{port}", flush=True)
        print("offline Hugging Face stand-in: deterministic answers, not a model", flush=True)

    asyncio.run(serve(args.host, args.port, announce))
    return 0


if __name__ == "__main__":
    sys.exit(main())
