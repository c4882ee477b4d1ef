"""Request bodies: an oversized one is read to its end, so a client that sends its whole body
before reading gets the 413 JSON instead of a broken pipe."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
from hf_inference_client_service import InputPolicy
from hf_inference_client_service import ServiceConfig
from hf_inference_client_service.errors import BodyTimeout
from hf_inference_client_service.errors import BodyTooLarge
from hf_inference_client_service.request_body import BodyLimits
from hf_inference_client_service.request_body import read_body

# Larger than what loopback socket buffers absorb, so the server must read it for the client
# to finish writing; below the drain bound the tests configure.
OVERSIZED = 24 * 1024 * 1024
DRAIN = 64 * 1024 * 1024
SMALL_INPUTS = InputPolicy(max_input_bytes=16)


def _job(text: str) -> bytes:
    data = {"task_id": 2, "text": text}
    return json.dumps({"source": 1, "destination": 1, "data": data}).encode()


def _post_head(length: int | None) -> bytes:
    framing = b"transfer-encoding: chunked" if length is None else b"content-length: %d" % length
    return (
        b"POST /service_output HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
        + framing
        + b"\r\n\r\n"
    )


def _read_answer(conn: socket.socket) -> tuple[int, dict[str, Any]]:
    """Status and JSON body of one answer (Content-Length framed), read from `conn`."""
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = conn.recv(65_536)
        assert chunk, f"connection closed after {received!r}"
        received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        chunk = conn.recv(65_536)
        assert chunk, "connection closed mid-answer"
        body += chunk
    return int(head.split(b" ", 2)[1]), json.loads(body[:length])


def _connect(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=30)


# ------------------------------------------------------------------ over HTTP


def test_client_writing_its_whole_oversized_body_first_reads_the_413(start_service) -> None:
    service = start_service(inputs=SMALL_INPUTS, max_drain_bytes=DRAIN)
    body = _job("x" * OVERSIZED)
    with _connect(service.url) as conn:
        conn.sendall(_post_head(len(body)) + body)  # a broken pipe here is the bug
        status, error = _read_answer(conn)
    assert (status, error["code"]) == (413, "413")
    assert error["description"] == (
        "body: larger than 16512 bytes (the limit follows HF_INF_MAX_INPUT_BYTES)"
    )


def test_chunked_oversized_body_is_read_to_its_end_too(start_service) -> None:
    service = start_service(inputs=SMALL_INPUTS, max_drain_bytes=DRAIN)
    piece = b"x" * 1_048_576
    chunk = b"%x\r\n%s\r\n" % (len(piece), piece)
    with _connect(service.url) as conn:
        conn.sendall(_post_head(None) + chunk * (OVERSIZED // len(piece)) + b"0\r\n\r\n")
        status, error = _read_answer(conn)
    assert (status, error["code"]) == (413, "413")


def test_connection_serves_the_next_job_after_a_drained_413(start_service) -> None:
    service = start_service(inputs=SMALL_INPUTS, max_drain_bytes=DRAIN)
    oversized = _job("x" * 100_000)
    fine = _job("good")
    with _connect(service.url) as conn:
        conn.sendall(_post_head(len(oversized)) + oversized)
        assert _read_answer(conn)[0] == 413
        conn.sendall(_post_head(len(fine)) + fine)
        status, answer = _read_answer(conn)
    assert status == 200
    assert answer["output"][0]["label"] in ("POSITIVE", "NEGATIVE")


def test_body_declared_beyond_the_drain_bound_is_refused_before_it_is_sent(
    start_service,
) -> None:
    service = start_service(inputs=SMALL_INPUTS, max_drain_bytes=0)
    with _connect(service.url) as conn:
        conn.sendall(_post_head(1_000_000))  # only the head: nothing of the body is read
        status, error = _read_answer(conn)
    assert (status, error["code"]) == (413, "413")


def test_drain_bound_is_a_config_key() -> None:
    assert ServiceConfig.from_env({}).max_drain_bytes == 16 * 1024 * 1024
    assert ServiceConfig.from_env({"HF_INF_MAX_DRAIN_BYTES": "0"}).max_drain_bytes == 0


# ------------------------------------------------------------------ read_body


async def _arriving(*chunks: bytes, seen: list[int] | None = None) -> AsyncIterator[bytes]:
    for chunk in chunks:
        if seen is not None:
            seen.append(len(chunk))
        yield chunk


def _read(chunks: AsyncIterator[bytes], declared: int | None, limits: BodyLimits) -> bytes:
    return asyncio.run(read_body(chunks, declared, limits))


def test_a_body_within_the_limit_is_returned_whole() -> None:
    limits = BodyLimits(max_bytes=10, max_drain_bytes=100)
    assert _read(_arriving(b"abc", b"defghij"), 10, limits) == b"abcdefghij"


def test_an_oversized_body_is_read_to_its_end_before_the_413() -> None:
    seen: list[int] = []
    limits = BodyLimits(max_bytes=10, max_drain_bytes=100)
    with pytest.raises(BodyTooLarge):
        _read(_arriving(b"x" * 8, b"x" * 8, b"x" * 8, seen=seen), None, limits)
    assert seen == [8, 8, 8]


def test_reading_stops_past_the_drain_bound() -> None:
    seen: list[int] = []
    limits = BodyLimits(max_bytes=10, max_drain_bytes=20)
    with pytest.raises(BodyTooLarge):
        _read(_arriving(*[b"x" * 8] * 10, seen=seen), None, limits)
    assert seen == [8, 8, 8]  # 24 bytes read: past the bound of 20


def test_a_trickled_body_times_out() -> None:
    async def trickle() -> AsyncIterator[bytes]:
        yield b"{"
        await asyncio.sleep(10)
        yield b"}"

    with pytest.raises(BodyTimeout, match=r"body: not received within 0\.05 s"):
        _read(trickle(), 2, BodyLimits(max_bytes=10, timeout=0.05))
