"""Is the RPC endpoint still answering? A short-timeout probe (docs/devnode.md, "Chain faults").

Every JSON-RPC request waits up to 30 s for its answer (a log read over many blocks may take
that long), so an endpoint that accepts connections and then never answers (a stopped process,
a hung proxy) would look healthy for that long. The probe notices within about
``PROBE_PERIOD_S + QUIET_S + timeout`` seconds: whenever the endpoint has answered nothing for
``QUIET_S``, it asks for ``eth_chainId`` and waits ``timeout`` seconds (``chain.liveness_timeout``).
While the loop polls the head more often than ``QUIET_S`` the probe sends nothing at all.

An endpoint that refuses connections or answers with errors is the loop's to report: the probe
only says "no answer in time", once when it starts and once when it ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Protocol

from .rpc import ChainError

__all__ = ["LivenessProbe", "ProbedEndpoint"]

log = logging.getLogger(__name__)

PROBE_PERIOD_S = 1.0
QUIET_S = 1.0


class ProbedEndpoint(Protocol):
    """What the probe needs of the chain client."""

    rpc_url: str

    @property
    def last_answer(self) -> float:
        """time.monotonic() of the last answer the endpoint sent (any answer)."""
        ...

    async def chain_id(self) -> int: ...


class LivenessProbe:
    """Watches one endpoint; ``stalled`` says why it is not answering ("" while it answers)."""

    def __init__(self, endpoint: ProbedEndpoint, timeout: float) -> None:
        self._endpoint = endpoint
        self._timeout = timeout
        self.stalled = ""
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name="devnode-chain-liveness"
            )

    async def stop(self) -> None:
        """Stop probing; safe to call twice."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(PROBE_PERIOD_S)
            if time.monotonic() - self._endpoint.last_answer < QUIET_S:
                self._answering()
                continue
            await self.probe()

    async def probe(self) -> None:
        """Ask once and record the outcome."""
        try:
            async with asyncio.timeout(self._timeout):
                await self._endpoint.chain_id()
        except TimeoutError:
            if not self.stalled:
                self.stalled = (
                    f"{self._endpoint.rpc_url} accepts connections but did not answer"
                    f" eth_chainId within {self._timeout:g} s (chain.liveness_timeout)"
                )
                log.warning("chain: %s", self.stalled)
            return
        except ChainError:
            pass  # it answered, with an error, or refused the connection: the loop says so
        self._answering()

    def _answering(self) -> None:
        if self.stalled:
            log.info("chain: %s answers again", self._endpoint.rpc_url)
            self.stalled = ""
