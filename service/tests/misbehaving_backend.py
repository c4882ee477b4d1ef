"""A scriptable misbehaving backend: a raw asyncio socket server on 127.0.0.1, in its own thread.

It speaks just enough HTTP/1.1 to read the service's requests, because its job is to answer with
malformed HTTP on purpose (which no maintained server would send). What it answers is chosen per
request by the job's own input text, `<case>:<nonce>`, so concurrent jobs each get the behaviour
they asked for regardless of arrival order:

- `ok:<n>` (or anything without a known case): a well-formed keep-alive answer whose label (or
  streamed text) is the input itself, so every job can check it got its own answer;
- `unused-kwargs:<a,b,...>` answers like Hugging Face does for a model served by transformers
  rather than TGI: a 400 "The following `model_kwargs` are not used by the model: [...]" naming
  those of `a, b, ...` the request's parameters hold, else a text-generation answer (JSON or
  stream) whose text lists the parameters it received; `unused-kwargs-one-by-one:<...>` names
  only the first of them, so dropping the named ones once is not enough;
- `echo-token:<n>` answers 200 with the request's bearer token inside the answer, every
  character JSON-escaped (`\\u0068\\u0066...`): as the label of a classification, inside the
  text of a generation, or split across two events of a stream;
- every other case in `CASES`: one misbehaviour, named after what it does.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import threading
from collections.abc import Awaitable
from collections.abc import Callable
from typing import Any

# (writer, the job's input text, the request's JSON body, the request's head) -> keep-alive
Behaviour = Callable[[asyncio.StreamWriter, str, str, bytes], Awaitable[bool]]

_STREAM_HEAD = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
)
_LENGTH = re.compile(rb"content-length:\s*(\d+)", re.IGNORECASE)
_REDIRECTED = b"/after-redirect"
TRICKLE_SECONDS = 0.3
LATE_STRAY_DELAY_S = 0.05
# Set once "late-stray-answer" has sent its stray answer (the server runs in its own thread).
LATE_STRAY_SENT = threading.Event()
OVERSIZED_ANSWER_BYTES = 64 * 1024
OVERSIZED_HEAD_BYTES = 64 * 1024


def _answer(status: str, body: bytes, *, version: str = "HTTP/1.1", extra: str = "") -> bytes:
    head = (
        f"{version} {status}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\n{extra}\r\n"
    )
    return head.encode() + body


def labels(text: str, score: str = "0.5") -> bytes:
    """A text-classification answer whose only label is `text`."""
    return b'[[{"label": %s, "score": %s}]]' % (json.dumps(text).encode(), score.encode())


def _sse(events: list[dict[str, Any]]) -> bytes:
    return b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in events)


def _token(text: str, final: str | None = None) -> dict[str, Any]:
    return {"token": {"id": 0, "text": text, "special": False}, "generated_text": final}


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


async def _send(writer: asyncio.StreamWriter, data: bytes) -> None:
    writer.write(data)
    await writer.drain()


async def ok(writer: asyncio.StreamWriter, text: str, body: str, _head: bytes) -> bool:
    if '"stream": true' in body or '"stream":true' in body:
        head = _STREAM_HEAD
        events = _sse([_token(text), _token("", final=text)])
        await _send(writer, head + _chunk(events) + b"0\r\n\r\n")
        return True
    await _send(writer, _answer("200 OK", labels(text)))
    return True


def _fixed(data: Callable[[str], bytes], keep_alive: bool = True) -> Behaviour:
    async def behave(writer: asyncio.StreamWriter, text: str, _body: str, _head: bytes) -> bool:
        await _send(writer, data(text))
        return keep_alive

    return behave


async def _stream_cut(writer: asyncio.StreamWriter, text: str, _body: str, _head: bytes) -> bool:
    # Two tokens, then the connection closes mid-body (no terminating chunk, no final event).
    head = (
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
    )
    await _send(writer, head + _chunk(_sse([_token("one "), _token("two ")])))
    return False


async def _stream_ends_early(
    writer: asyncio.StreamWriter, text: str, _body: str, _head: bytes
) -> bool:
    # Two tokens and a well-framed end, but no final event: the text is incomplete.
    head = (
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
    )
    await _send(writer, head + _chunk(_sse([_token("one "), _token("two ")])) + b"0\r\n\r\n")
    return True


async def _stream_trickles(
    writer: asyncio.StreamWriter, text: str, _body: str, _head: bytes
) -> bool:
    # A token every TRICKLE_SECONDS, forever (until the service gives up and hangs up).
    head = (
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
    )
    await _send(writer, head)
    while True:
        await _send(writer, _chunk(_sse([_token("tick ")])))
        await asyncio.sleep(TRICKLE_SECONDS)


async def _garbage_stream(
    writer: asyncio.StreamWriter, text: str, _body: str, _head: bytes
) -> bool:
    head = (
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
    )
    await _send(
        writer, head + _chunk(_sse([_token("one ")]) + b"data: {not json\n\n") + b"0\r\n\r\n"
    )
    return True


async def _late_stray_answer(
    writer: asyncio.StreamWriter, text: str, _body: str, _head: bytes
) -> bool:
    # A complete answer, then, once the client has had time to put the connection back in its
    # pool, a second answer nobody asked for on the idle connection.
    await _send(writer, _answer("200 OK", labels(text)))
    await asyncio.sleep(LATE_STRAY_DELAY_S)
    await _send(writer, _answer("200 OK", labels("WRONG: late stray answer")))
    LATE_STRAY_SENT.set()
    return True


def unused_kwargs_message(names: list[str]) -> str:
    """Hugging Face's answer to generation parameters a transformers model does not use."""
    return (
        f"The following `model_kwargs` are not used by the model: {names!r} (note: typos in the"
        " generate arguments will also show up in this list)"
    )


def received_parameters(names: list[str]) -> str:
    """The text `unused-kwargs` generates: the parameters the successful request held."""
    return "parameters: " + ",".join(sorted(names))


def _unused_kwargs(one_by_one: bool) -> Behaviour:
    async def behave(writer: asyncio.StreamWriter, text: str, body: str, _head: bytes) -> bool:
        request = json.loads(body)
        parameters = request.get("parameters") or {}
        unusable = text.split(":", 2)[1].split(",")
        named = [name for name in unusable if name in parameters]
        if named:
            names = named[:1] if one_by_one else named
            error = json.dumps({"error": unused_kwargs_message(names)}).encode()
            await _send(writer, _answer("400 Bad Request", error))
            return True
        generated = received_parameters(list(parameters))
        if request.get("stream"):
            events = _sse([_token(generated, final=generated)])
            await _send(writer, _STREAM_HEAD + _chunk(events) + b"0\r\n\r\n")
            return True
        answer = json.dumps([{"generated_text": generated}]).encode()
        await _send(writer, _answer("200 OK", answer))
        return True

    return behave


_BEARER = re.compile(rb"authorization:\s*Bearer\s+(\S+)", re.IGNORECASE)


def _escaped(text: str) -> str:
    """A JSON string literal of `text` with every character escaped (same value once parsed)."""
    return '"' + "".join(f"\\u{ord(c):04x}" for c in text) + '"'


async def _echo_token(writer: asyncio.StreamWriter, text: str, body: str, head: bytes) -> bool:
    match = _BEARER.search(head)
    token = match.group(1).decode() if match else "no token"
    request = json.loads(body)
    if request.get("stream"):
        half = len(token) // 2
        first = '{"token": {"id": 0, "text": ' + _escaped(token[:half]) + ', "special": false}}'
        last = (
            '{"token": {"id": 1, "text": ' + _escaped(token[half:]) + ', "special": false},'
            ' "generated_text": "done"}'
        )
        events = f"data: {first}\n\ndata: {last}\n\n".encode()
        await _send(writer, _STREAM_HEAD + _chunk(events) + b"0\r\n\r\n")
    elif "max_new_tokens" in (request.get("parameters") or {}):
        generated = '[{"generated_text": ' + _escaped(f"your token is {token}.") + "}]"
        await _send(writer, _answer("200 OK", generated.encode()))
    else:
        answer = '[[{"label": ' + _escaped(token) + ', "score": 0.5}]]'
        await _send(writer, _answer("200 OK", answer.encode()))
    return True


def _extra_answer(text: str) -> bytes:
    return _answer("200 OK", labels(text)) + _answer("200 OK", labels("WRONG: stray answer"))


def _short_length(text: str) -> bytes:
    body = labels(text)
    head = f"HTTP/1.1 200 OK\r\ncontent-length: {len(body) - 5}\r\n\r\n"
    return head.encode() + body + _answer("200 OK", labels("WRONG: stray answer"))


def _bad_length(value: str) -> Callable[[str], bytes]:
    def data(text: str) -> bytes:
        body = labels(text)
        return f"HTTP/1.1 200 OK\r\ncontent-length: {value}\r\n\r\n".encode() + body

    return data


def _bad_chunks(text: str) -> bytes:
    return (
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n"
        + labels(text)
        + b"\r\n0\r\n\r\n"
    )


def _oversized_head(text: str) -> bytes:
    filler = "x" * OVERSIZED_HEAD_BYTES
    return _answer("200 OK", labels(text), extra=f"x-filler: {filler}\r\n")


def _redirect(location: str) -> Callable[[str], bytes]:
    return lambda text: _answer("307 Temporary Redirect", b"{}", extra=f"location: {location}\r\n")


CASES: dict[str, Behaviour] = {
    "extra-answer": _fixed(_extra_answer),
    "late-stray-answer": _late_stray_answer,
    "short-length": _fixed(_short_length),
    "continue-first": _fixed(
        lambda t: b"HTTP/1.1 100 Continue\r\n\r\n" + _answer("200 OK", labels(t))
    ),
    "early-hints-first": _fixed(
        lambda t: b"HTTP/1.1 103 Early Hints\r\nlink: </x>\r\n\r\n" + _answer("200 OK", labels(t))
    ),
    "http10-keep-open": _fixed(lambda t: _answer("200 OK", labels(t), version="HTTP/1.0")),
    "negative-length": _fixed(_bad_length("-5")),
    "garbage-length": _fixed(_bad_length("abc")),
    "bad-chunk-size": _fixed(_bad_chunks),
    "oversized-head": _fixed(_oversized_head),
    "oversized-answer": _fixed(
        lambda t: _answer(
            "200 OK", b'[[{"label": "' + b"x" * OVERSIZED_ANSWER_BYTES + b'", "score": 1}]]'
        )
    ),
    "oversized-chunked-answer": _fixed(
        lambda t: (
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
            + _chunk(b"[" * OVERSIZED_ANSWER_BYTES)
            + b"0\r\n\r\n"
        )
    ),
    "not-json": _fixed(lambda t: _answer("200 OK", b"<html>gateway</html>")),
    "wrong-shape": _fixed(lambda t: _answer("200 OK", b'{"result": "positive"}')),
    "missing-score": _fixed(lambda t: _answer("200 OK", b'[[{"label": "POSITIVE"}]]')),
    "nan-score": _fixed(lambda t: _answer("200 OK", labels(t, "NaN"))),
    "infinite-score": _fixed(lambda t: _answer("200 OK", labels(t, "Infinity"))),
    "huge-score": _fixed(lambda t: _answer("200 OK", labels(t, "1e400"))),
    "score-too-large": _fixed(lambda t: _answer("200 OK", labels(t, "1e300"))),
    "redirect-elsewhere": _fixed(_redirect("http://attacker.invalid/steal")),
    "redirect-same-origin": _fixed(_redirect("/models/after-redirect")),
    "token-rejected": _fixed(
        lambda t: _answer(
            "401 Unauthorized", b'{"error": "Invalid credentials in Authorization header"}'
        )
    ),
    "forbidden": _fixed(lambda t: _answer("403 Forbidden", b'{"error": "no access"}')),
    "parameter-refused": _fixed(
        lambda t: _answer(
            "422 Unprocessable Entity",
            b'{"error": "Input validation error: `max_new_tokens` must be <= 64. Given: 500",'
            b' "error_type": "validation"}',
        )
    ),
    "echo-token": _echo_token,
    "unused-kwargs": _unused_kwargs(one_by_one=False),
    "unused-kwargs-one-by-one": _unused_kwargs(one_by_one=True),
    "stream-cut": _stream_cut,
    "stream-ends-early": _stream_ends_early,
    "stream-trickles": _stream_trickles,
    "stream-garbage": _garbage_stream,
}


class MisbehavingBackend:
    """The server; `with MisbehavingBackend() as backend:` gives `backend.url`."""

    def __init__(self) -> None:
        self.url = ""
        self.requests = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                match = _LENGTH.search(head)
                raw = await reader.readexactly(int(match.group(1))) if match else b""
                self.requests += 1
                body = raw.decode()
                text = str(json.loads(body).get("inputs") or _last_message(body))
                case = text.split(":", 1)[0]
                if _REDIRECTED in head.split(b"\r\n", 1)[0]:
                    case = "ok"  # the target of the same-origin redirect answers normally
                if not await CASES.get(case, ok)(writer, text, body, head):
                    return
        except (ConnectionError, asyncio.CancelledError):
            return
        finally:
            self._tasks.discard(task)
            writer.close()

    def __enter__(self) -> MisbehavingBackend:
        ready = threading.Event()

        async def run() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            server = await asyncio.start_server(self._connection, "127.0.0.1", 0)
            self.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
            ready.set()
            async with server:
                await self._stop.wait()
                server.close()
                for task in list(self._tasks):
                    task.cancel()

        self._thread = threading.Thread(target=lambda: asyncio.run(run()), daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise TimeoutError("misbehaving backend did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._loop is not None and self._stop is not None:
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(timeout=10)


def _last_message(body: str) -> str:
    messages = json.loads(body).get("messages") or [{}]
    return str(messages[-1].get("content", ""))
