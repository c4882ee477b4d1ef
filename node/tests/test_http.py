"""The keep-alive container client (_http.py) against a raw TCP server scripted byte by byte."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from collections.abc import Iterator

import pytest
from infernet_devnode._http import HttpPool
from infernet_devnode._http import HttpProtocolError

JSON_OK = (
    b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 12\r\n\r\n{"ok": true}'
)
Script = Callable[[int], tuple[bytes, bool]]  # request number -> (answer bytes, close after)


class RawServer:
    """Answers each request on a connection with ``script(n)``; counts connections."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.connections = 0
        self.requests: list[bytes] = []
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.port = 0

    def __enter__(self) -> RawServer:
        self._thread.start()
        server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._serve, "127.0.0.1", 0), self.loop
        ).result(5)
        self._server = server
        self.port = server.sockets[0].getsockname()[1]
        return self

    def __exit__(self, *exc: object) -> None:
        async def shutdown() -> None:
            self._server.close()
            await self._server.wait_closed()

        try:
            asyncio.run_coroutine_threadsafe(shutdown(), self.loop).result(5)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(5)
            self.loop.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/c/service_output"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length")
                )
                self.requests.append(head + await reader.readexactly(length))
                answer, close = self.script(len(self.requests))
                writer.write(answer)
                await writer.drain()
                if close:
                    break
        except asyncio.IncompleteReadError:
            pass
        finally:
            writer.close()


@pytest.fixture
def serve() -> Iterator[Callable[[Script], RawServer]]:
    servers: list[RawServer] = []

    def start(script: Script) -> RawServer:
        server = RawServer(script).__enter__()
        servers.append(server)
        return server

    try:
        yield start
    finally:
        for server in servers:
            server.__exit__(None, None, None)


def _post_twice(url: str) -> list[tuple[int, str, str]]:
    async def run() -> list[tuple[int, str, str]]:
        pool = HttpPool()
        try:
            answers = []
            for _ in range(2):
                answer = await pool.post(url, b'{"data": 1}', {"Content-Type": "application/json"})
                answers.append((answer.status, answer.content_type, answer.text()))
            return answers
        finally:
            await pool.close()

    return asyncio.run(run())


def test_content_length_answer_and_connection_reuse(serve: Callable[[Script], RawServer]) -> None:
    server = serve(lambda n: (JSON_OK, False))
    assert _post_twice(server.url) == [(200, "application/json", '{"ok": true}')] * 2
    assert server.connections == 1
    first = server.requests[0]
    assert first.startswith(b"POST /c/service_output HTTP/1.1\r\n")
    assert f"Host: 127.0.0.1:{server.port}".encode() in first
    assert first.endswith(b'\r\n\r\n{"data": 1}')


def test_chunked_answer(serve: Callable[[Script], RawServer]) -> None:
    chunked = (
        b"HTTP/1.1 500 Oops\r\nContent-Type: application/json; charset=utf-8\r\n"
        b'Transfer-Encoding: chunked\r\n\r\n5\r\n{"a":\r\n3;ext=1\r\n 1}\r\n0\r\nX-T: 1\r\n\r\n'
    )
    server = serve(lambda n: (chunked, False))
    assert _post_twice(server.url) == [(500, "application/json", '{"a": 1}')] * 2
    assert server.connections == 1


def test_connection_close_is_honoured(serve: Callable[[Script], RawServer]) -> None:
    close = JSON_OK.replace(b"Content-Length", b"Connection: close\r\nContent-Length")
    server = serve(lambda n: (close, True))
    assert [a[0] for a in _post_twice(server.url)] == [200, 200]
    assert server.connections == 2


def test_body_until_close_without_length(serve: Callable[[Script], RawServer]) -> None:
    server = serve(lambda n: (b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nplain", True))
    assert _post_twice(server.url) == [(200, "text/plain", "plain")] * 2
    assert server.connections == 2


def test_idle_connection_closed_by_peer_is_replaced(
    serve: Callable[[Script], RawServer],
) -> None:
    # The server closes after each answer without saying so: the pooled connection is stale.
    server = serve(lambda n: (JSON_OK, True))
    assert [a[0] for a in _post_twice(server.url)] == [200, 200]
    assert server.connections == 2
    assert len(server.requests) == 2  # each request reached the server exactly once


def test_garbage_answer_is_a_protocol_error(serve: Callable[[Script], RawServer]) -> None:
    server = serve(lambda n: (b"SSH-2.0-OpenSSH\r\n\r\n", True))
    with pytest.raises(HttpProtocolError, match="bad status line"):
        _post_twice(server.url)


def test_only_plain_http_is_supported() -> None:
    assert HttpPool.supports("http://x:1/a")
    assert not HttpPool.supports("https://x/a")
