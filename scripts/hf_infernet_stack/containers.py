"""Containers for tests and benchmarks: an echo container answering like the HF service, and one
server playing many scripted containers (slow, hanging, failing, streaming...). Both listen on
127.0.0.1 with ports the OS picks."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web
from eth_abi.abi import decode
from eth_abi.abi import encode

from .loop_thread import LoopThread
from .processes import LOCALHOST


class EchoContainer:
    """A container answering like the HF service with text "echo:<input>" (task 1 shape)."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.delay = 0.0  # seconds each answer takes (to catch a delivery in flight)
        self.url = ""
        self._loop = LoopThread()
        self._runner: web.AppRunner | None = None

    def __enter__(self) -> EchoContainer:
        self._loop.run(self._start())
        return self

    def __exit__(self, *exc: object) -> None:
        if self._runner is not None:
            self._loop.run(self._runner.cleanup())
        self._loop.close()

    async def _start(self) -> None:
        app = web.Application()
        app.add_routes([web.post("/service_output", self._output)])
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, LOCALHOST, 0).start()
        self.url = f"http://{LOCALHOST}:{self._runner.addresses[0][1]}"

    async def _output(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.calls.append(body)
        if self.delay:
            await asyncio.sleep(self.delay)
        data = body.get("data")
        if body.get("source") == 0:
            text = "echo:" + _onchain_input(str(data))
        else:
            text = "echo:" + str(data.get("input", json.dumps(data)))
        return web.json_response(
            {
                "raw_input": "",
                "processed_input": "",
                "raw_output": encode(["string"], [text]).hex(),
                "processed_output": "",
                # what MockAtomicVerifier accepts: keccak256(proof) == keccak256("valid")
                "proof": b"valid".hex() if body.get("requires_proof") else "",
            }
        )


def _onchain_input(data_hex: str) -> str:
    if not data_hex:
        return ""
    _task, _model, text = decode(["uint8", "string", "string"], bytes.fromhex(data_hex))
    return str(text)


class Containers:
    """One HTTP server playing many containers, one per path prefix:

    /echo       answers {"echo": data, "source", "destination", "requires_proof", "auth"}
    /wrap       answers {"wrapped": data, "source", "destination"} (second link of a chain)
    /slow       sleeps ``slow_seconds`` then echoes
    /hang       waits until ``release()`` then echoes
    /text       200 text/plain
    /badjson    200 application/json with a body that is not JSON
    /fail       500 {"error": "boom"}
    /stream     streams b"one ", b"two ", b"three" (chunked)
    /hangstream streams b"first" then waits until ``release()``, then b"last"
    /streamfail 500 before streaming
    each prefix also serves GET /service-resources[?model_id=] ("/fail" answers 500).
    """

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any], dict[str, str]]] = []
        self.slow_seconds = 2.0
        self._loop = LoopThread()
        self._release: asyncio.Event | None = None
        self._runner: web.AppRunner | None = None
        self.port = 0

    def url(self, prefix: str) -> str:
        return f"http://{LOCALHOST}:{self.port}/{prefix}"

    def __enter__(self) -> Containers:
        self._loop.run(self._start())
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
        if self._runner is not None:
            self._loop.run(self._runner.cleanup())
        self._loop.close()

    def release(self) -> None:
        """Let every /hang call made so far finish (later calls hang again)."""

        def release() -> None:
            if self._release is not None:
                self._release.set()
            self._release = asyncio.Event()

        self._loop.loop.call_soon_threadsafe(release)

    def calls_to(self, prefix: str) -> list[dict[str, Any]]:
        return [body for path, body, _ in self.calls if path.startswith(f"/{prefix}/")]

    async def _start(self) -> None:
        self._release = asyncio.Event()
        app = web.Application()
        app.add_routes(
            [
                web.post("/{prefix}/service_output", self._output),
                web.get("/{prefix}/service-resources", self._resources),
            ]
        )
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, LOCALHOST, 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def _output(self, request: web.Request) -> web.StreamResponse:
        prefix = request.match_info["prefix"]
        body = await request.json()
        self.calls.append((request.path, body, dict(request.headers)))
        echo = {
            "echo": body.get("data"),
            "source": body.get("source"),
            "destination": body.get("destination"),
            "requires_proof": body.get("requires_proof"),
            "auth": request.headers.get("Authorization"),
        }
        if prefix == "wrap":
            return web.json_response(
                {
                    "wrapped": body.get("data"),
                    "source": body.get("source"),
                    "destination": body.get("destination"),
                }
            )
        if prefix == "slow":
            await asyncio.sleep(self.slow_seconds)
        if prefix == "hang":
            assert self._release is not None
            await self._release.wait()  # the event current when the call arrived
        if prefix == "text":
            return web.Response(text="plain words", content_type="text/plain")
        if prefix == "badjson":
            return web.Response(text="{not json", content_type="application/json")
        if prefix in ("fail", "streamfail"):
            return web.json_response({"error": "boom"}, status=500)
        if prefix == "stream":
            response = web.StreamResponse()
            response.enable_chunked_encoding()
            await response.prepare(request)
            for chunk in (b"one ", b"two ", b"three"):
                await response.write(chunk)
                await asyncio.sleep(0.01)
            await response.write_eof()
            return response
        if prefix == "hangstream":
            assert self._release is not None
            release = self._release
            response = web.StreamResponse()
            response.enable_chunked_encoding()
            await response.prepare(request)
            await response.write(b"first")
            await release.wait()
            await response.write(b"last")
            await response.write_eof()
            return response
        return web.json_response(echo)

    async def _resources(self, request: web.Request) -> web.Response:
        prefix = request.match_info["prefix"]
        if prefix == "fail":
            return web.json_response({"error": "boom"}, status=500)
        model_id = request.query.get("model_id")
        if model_id is not None:
            return web.json_response({"supported": model_id == "good-model"})
        return web.json_response({"service_id": prefix, "compute_capability": []})
