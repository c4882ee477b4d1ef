"""An aiohttp.web application served on 127.0.0.1 (a free port) from a thread of its own."""

from __future__ import annotations

import asyncio
import threading

from aiohttp import web
from service_harness import listening_socket


class ThreadedServer:
    """`with ThreadedServer(app) as server:` serves `app` at `server.url` until the block ends."""

    def __init__(self, app: web.Application) -> None:
        self._app = app
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._sock = listening_socket()
        self.port: int = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"

    async def _start(self) -> web.AppRunner:
        runner = web.AppRunner(self._app)
        await runner.setup()
        await web.SockSite(runner, self._sock).start()
        return runner

    def __enter__(self) -> ThreadedServer:
        self._thread.start()
        self._runner = asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()
