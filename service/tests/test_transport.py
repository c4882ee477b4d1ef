"""The pooled HTTP/1.1 transport against small real servers: framing, reuse, TLS, failures."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import ssl
import subprocess
from collections.abc import Awaitable
from collections.abc import Callable
from pathlib import Path

import httpx2
import pytest
from hf_inference_client_service.transport import CachingAsyncClient
from hf_inference_client_service.transport import PooledTransport

Reply = Callable[[bytes], bytes]


async def _serve(reply: Reply, ssl_context: ssl.SSLContext | None = None):
    connections: list[int] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                body = await reader.readexactly(length)
                writer.write(reply(head + body))
                await writer.drain()
                if b"connection: close" in reply(b"").lower():
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError, OSError, ssl.SSLError):
                await writer.wait_closed()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=ssl_context)
    return server, server.sockets[0].getsockname()[1], connections


def _run(test: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(test())


async def _client_calls(url: str, n: int, transport: PooledTransport) -> list[httpx2.Response]:
    async with CachingAsyncClient(transport=transport, timeout=5.0) as client:
        answers = [await client.post(url, json={"n": i}) for i in range(n)]
    await transport.close_pools()
    return answers


def test_content_length_bodies_reuse_one_connection() -> None:
    def reply(_: bytes) -> bytes:
        return (
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 7\r\n\r\n[1,2,3]"
        )

    async def test() -> None:
        server, port, connections = await _serve(reply)
        async with server:
            answers = await _client_calls(f"http://127.0.0.1:{port}/x", 5, PooledTransport())
        assert [a.json() for a in answers] == [[1, 2, 3]] * 5
        assert len(connections) == 1

    _run(test)


def test_chunked_body_with_trailers() -> None:
    def reply(_: bytes) -> bytes:
        return (
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
            b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nx-trailer: 1\r\n\r\n"
        )

    async def test() -> None:
        server, port, connections = await _serve(reply)
        async with server:
            answers = await _client_calls(f"http://127.0.0.1:{port}/", 3, PooledTransport())
        assert [a.text for a in answers] == ["hello world"] * 3
        assert len(connections) == 1

    _run(test)


def test_connection_close_is_honoured() -> None:
    def reply(_: bytes) -> bytes:
        return b"HTTP/1.1 503 Busy\r\nconnection: close\r\ncontent-length: 2\r\n\r\nno"

    async def test() -> None:
        server, port, connections = await _serve(reply)
        async with server:
            answers = await _client_calls(f"http://127.0.0.1:{port}/", 3, PooledTransport())
        assert [(a.status_code, a.text, a.reason_phrase) for a in answers] == [
            (503, "no", "Busy")
        ] * 3
        assert len(connections) == 3

    _run(test)


def test_refused_connection_is_a_connect_error() -> None:
    async def test() -> None:
        server, port, _ = await _serve(lambda _: b"")
        server.close()
        await server.wait_closed()
        with pytest.raises(httpx2.ConnectError):
            await _client_calls(f"http://127.0.0.1:{port}/", 1, PooledTransport())

    _run(test)


def test_silent_server_is_a_read_timeout() -> None:
    async def test() -> None:
        accepted: list[asyncio.StreamWriter] = []

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            accepted.append(writer)  # never answers

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        client = CachingAsyncClient(transport=PooledTransport(), timeout=0.2)
        async with server, client:
            with pytest.raises(httpx2.ReadTimeout):
                await client.post(f"http://127.0.0.1:{port}/", json={})
            for writer in accepted:
                writer.close()
                await writer.wait_closed()

    _run(test)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl to make a certificate")
def test_https_with_a_trusted_certificate(tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    client_ctx = ssl.create_default_context(cafile=str(cert))

    def reply(_: bytes) -> bytes:
        return b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"

    async def test() -> None:
        server, port, connections = await _serve(reply, server_ctx)
        async with server:
            answers = await _client_calls(
                f"https://127.0.0.1:{port}/", 2, PooledTransport(ssl_context=client_ctx)
            )
        assert [a.text for a in answers] == ["ok", "ok"]
        assert len(connections) == 1

    _run(test)
