"""An asyncio loop in a daemon thread, for the aiohttp servers that tests and benchmarks run
beside their own synchronous code."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

READY_TIMEOUT_S = 15.0
STOP_TIMEOUT_S = 5.0


class LoopThread:
    """An asyncio loop running in a daemon thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, coroutine: Any, timeout: float = READY_TIMEOUT_S) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(STOP_TIMEOUT_S)
        self.loop.close()
