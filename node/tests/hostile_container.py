"""A scriptable misbehaving container: a raw asyncio socket server on 127.0.0.1.

It has to send malformed HTTP on purpose, which no HTTP server library will do, so it writes
bytes itself. Each request says how to answer it in its job data: ``{"case": NAME, "token": T}``.
The well-behaved case ("ok") answers ``{"token": T}``, so a test can tell whose answer a job
got. Big answers are generated while sending (nothing large is ever held in memory), and a
sender stops as soon as the node hangs up.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import threading
from collections.abc import Awaitable
from collections.abc import Callable
from typing import Any

GIB = 1024**3
BIG_JSON_BYTES = 200 * 1000**2
DEEP_LEVELS = 100_000
# Spacing of the bytes of the slow answer, and the stale answer sent to an idle connection.
TRICKLE_GAP_S = 0.05
LATE_GAP_S = 0.05
# Bytes per chunk of the streamed echo.
STREAM_PIECE = 7
SLOW_ANSWER_S = 0.05
_CHUNK = 64 * 1024
# How long handlers get to notice the hang-up at shutdown before they are cancelled.
SHUTDOWN_S = 2.0
# What the container "has in its environment" and leaks in its echo case.
LEAKED_ENV_VALUE = "env-secret-value-0123456789"

Writer = asyncio.StreamWriter
Case = Callable[[Writer, Any, bytes], Awaitable[bool]]  # -> keep the connection open


def _answer(
    body: bytes,
    *,
    status: str = "200 OK",
    version: str = "HTTP/1.1",
    headers: str = "",
    length: str | None = None,
) -> bytes:
    declared = str(len(body)) if length is None else length
    return (
        f"{version} {status}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {declared}\r\n{headers}\r\n"
    ).encode() + body


def _own(token: Any) -> bytes:
    return json.dumps({"token": token}).encode()


STALE = _answer(json.dumps({"token": "stale"}).encode())


async def _ok(writer: Writer, token: Any, head: bytes) -> bool:
    writer.write(_answer(_own(token)))
    return True


async def _slow(writer: Writer, token: Any, head: bytes) -> bool:
    await asyncio.sleep(SLOW_ANSWER_S)
    writer.write(_answer(_own(token)))
    return True


async def _informational(writer: Writer, token: Any, head: bytes) -> bool:
    writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    writer.write(b"HTTP/1.1 103 Early Hints\r\nLink: </x>; rel=preload\r\n\r\n")
    writer.write(_answer(_own(token)))
    return True


async def _extra_bytes(writer: Writer, token: Any, head: bytes) -> bool:
    # A whole second answer right behind the first: it answers nobody.
    writer.write(_answer(_own(token)) + STALE)
    return True


async def _extra_bytes_later(writer: Writer, token: Any, head: bytes) -> bool:
    # The stray answer arrives while the connection sits idle in the node's pool.
    writer.write(_answer(_own(token)))
    await writer.drain()
    await asyncio.sleep(LATE_GAP_S)
    writer.write(STALE)
    return True


async def _http10_keep_alive(writer: Writer, token: Any, head: bytes) -> bool:
    writer.write(_answer(_own(token), version="HTTP/1.0", headers="Connection: keep-alive\r\n"))
    return True


async def _negative_length(writer: Writer, token: Any, head: bytes) -> bool:
    writer.write(_answer(_own(token), length="-5") + STALE)
    return True


async def _garbage_length(writer: Writer, token: Any, head: bytes) -> bool:
    writer.write(_answer(_own(token), length="12abc") + STALE)
    return True


async def _chunked(writer: Writer, size_line: bytes) -> None:
    writer.write(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        + size_line
        + b"\r\n"
        + b'{"token": "bad"}\r\n0\r\n\r\n'
        + STALE
    )


async def _bad_chunk_size(writer: Writer, token: Any, head: bytes) -> bool:
    await _chunked(writer, b"zz")
    return True


async def _negative_chunk_size(writer: Writer, token: Any, head: bytes) -> bool:
    await _chunked(writer, b"-10")
    return True


async def _short_body(writer: Writer, token: Any, head: bytes) -> bool:
    writer.write(_answer(b'{"tok', length="100"))
    return False


async def _stream(writer: Writer, chunks: int, chunk: bytes, chunked: bool) -> None:
    """Send ``chunks`` copies of ``chunk`` (chunked framing or raw), stopping if the peer
    hangs up."""
    with contextlib.suppress(ConnectionError):
        for _ in range(chunks):
            if chunked:
                writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            else:
                writer.write(chunk)
            await writer.drain()
            if writer.is_closing():
                return


async def _gib_until_close(writer: Writer, token: Any, head: bytes) -> bool:
    # No Content-Length, no chunking, Connection: close: the body ends when the socket does.
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n")
    await _stream(writer, GIB // _CHUNK, b" " * _CHUNK, chunked=False)
    return False


async def _big_json(writer: Writer, token: Any, head: bytes) -> bool:
    # 200 MB of a valid JSON list, chunked, so its size shows only while reading it.
    writer.write(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    item = b"1," * (_CHUNK // 2)
    await _stream(writer, 1, b"[", chunked=True)
    await _stream(writer, BIG_JSON_BYTES // len(item), item, chunked=True)
    await _stream(writer, 1, b"1]", chunked=True)
    with contextlib.suppress(ConnectionError):
        writer.write(b"0\r\n\r\n")
    return False


async def _big_declared(writer: Writer, token: Any, head: bytes) -> bool:
    writer.write(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {BIG_JSON_BYTES}\r\n\r\n".encode()
    )
    await _stream(writer, BIG_JSON_BYTES // _CHUNK, b" " * _CHUNK, chunked=False)
    return False


async def _deep(writer: Writer, token: Any, head: bytes) -> bool:
    writer.write(_answer(b"[" * DEEP_LEVELS + b"]" * DEEP_LEVELS))
    return True


async def _nan(writer: Writer, token: Any, head: bytes) -> bool:
    writer.write(_answer(b'{"token": NaN}'))
    return True


async def _infinity(writer: Writer, token: Any, head: bytes) -> bool:
    writer.write(_answer(b'{"token": 1e999}'))
    return True


async def _echo_headers(writer: Writer, token: Any, head: bytes) -> bool:
    leak = {"error": "bad input", "request": head.decode("latin-1"), "env": LEAKED_ENV_VALUE}
    writer.write(_answer(json.dumps(leak).encode(), status="500 Internal Server Error"))
    return True


async def _echo_headers_ok(writer: Writer, token: Any, head: bytes) -> bool:
    writer.write(_answer(json.dumps({"token": token, "request": head.decode("latin-1")}).encode()))
    return True


async def _stream_echo(writer: Writer, token: Any, head: bytes) -> bool:
    # The request head, chunked in small pieces so a secret in it is split across chunks.
    writer.write(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    for start in range(0, len(head), STREAM_PIECE):
        piece = head[start : start + STREAM_PIECE]
        writer.write(b"%x\r\n%s\r\n" % (len(piece), piece))
        await writer.drain()
    writer.write(b"0\r\n\r\n")
    return True


async def _trickle(writer: Writer, token: Any, head: bytes) -> bool:
    with contextlib.suppress(ConnectionError):
        for byte in _answer(_own(token)):
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(TRICKLE_GAP_S)
    return False


async def _verbatim(writer: Writer, token: Any, head: bytes) -> bool:
    # The whole answer, written by the test (base64 in the token): any bytes at all. The
    # connection closes after it, wherever a malformed answer leaves the framing.
    writer.write(base64.b64decode(token))
    return False


def verbatim(answer: bytes) -> dict[str, str]:
    """Job data that has the container send ``answer`` (status line on) as it is."""
    return {"case": "verbatim", "token": base64.b64encode(answer).decode()}


# A request to this path (a redirect's target) is answered {"token": "followed"}.
FOLLOWED_PATH = "/followed"


CASES: dict[str, Case] = {
    "ok": _ok,
    "slow": _slow,
    "1xx": _informational,
    "extra-bytes": _extra_bytes,
    "extra-bytes-later": _extra_bytes_later,
    "http10-keep-alive": _http10_keep_alive,
    "negative-length": _negative_length,
    "garbage-length": _garbage_length,
    "bad-chunk-size": _bad_chunk_size,
    "negative-chunk-size": _negative_chunk_size,
    "short-body": _short_body,
    "1gib-until-close": _gib_until_close,
    "200mb-json": _big_json,
    "200mb-declared": _big_declared,
    "nested-100000": _deep,
    "nan": _nan,
    "infinity": _infinity,
    "echo-headers": _echo_headers,
    "echo-headers-ok": _echo_headers_ok,
    "trickle": _trickle,
    "stream-echo": _stream_echo,
    "verbatim": _verbatim,
}


class HostileContainer:
    """The server, in a thread with its own loop; ``url`` is the container's base URL."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self._writers: set[Writer] = set()
        self.port = 0
        # Stray answers sent to idle connections so far ("extra-bytes-later").
        self.strays = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> HostileContainer:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._serve, "127.0.0.1", 0), self.loop
        )
        self._server = future.result(5)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def __exit__(self, *exc: object) -> None:
        async def shutdown() -> None:
            if self._server is not None:
                self._server.close()
            # Hang up on every client: each handler then ends on its own at its next read or
            # write (cancelling them instead makes asyncio's stream callback log an error).
            for writer in list(self._writers):
                writer.close()
            if self._connections:
                await asyncio.wait(set(self._connections), timeout=SHUTDOWN_S)
            for task in list(self._connections):
                task.cancel()

        try:
            asyncio.run_coroutine_threadsafe(shutdown(), self.loop).result(5)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(5)
            self.loop.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: Writer) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        self._writers.add(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                body = json.loads(await reader.readexactly(length)) if length else {}
                data = body.get("data") or {}
                case = CASES[data.get("case", "ok")]
                if head.split(b" ", 2)[1].startswith(FOLLOWED_PATH.encode()):
                    case, data = _ok, {"token": "followed"}
                keep = await case(writer, data.get("token"), head)
                await writer.drain()
                if case is _extra_bytes_later:
                    self.strays += 1
                if not keep:
                    break
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            self._connections.discard(task)
            self._writers.discard(writer)
            writer.close()
