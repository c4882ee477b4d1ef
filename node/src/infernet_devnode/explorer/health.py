"""Whether each configured container answers HTTP, checked only while someone looks.

A probe is a ``GET`` of the container's base URL: any HTTP answer means the container is up
(its routes are the container protocol's, not ours to judge); a refused connection or a timeout
means it is down. Results are cached for ``CACHE_S`` so an open page costs at most one probe per
container per ``CACHE_S``, and nothing at all when no page is open.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp

from ..config import ContainerConfig

__all__ = ["CACHE_S", "PROBE_TIMEOUT_S", "ContainerHealth", "HealthProbe"]

CACHE_S = 5.0
PROBE_TIMEOUT_S = 1.0
# At most this much of a probe's error is shown.
_ERROR_CHARS = 200


@dataclass(frozen=True)
class ContainerHealth:
    id: str
    up: bool
    status: int | None
    error: str
    checked_at: float

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "up": self.up,
            "status": self.status,
            "error": self.error,
            "checked_at": self.checked_at,
        }


class HealthProbe:
    """Probes containers on demand; owns one client session, closed by ``close``."""

    def __init__(self, containers: Sequence[ContainerConfig]) -> None:
        self._containers = list(containers)
        self._session: aiohttp.ClientSession | None = None
        self._cache: dict[str, ContainerHealth] = {}
        self._lock = asyncio.Lock()

    async def check(self) -> list[ContainerHealth]:
        """The health of every container, probing those whose cached answer is stale."""
        async with self._lock:
            now = time.time()
            stale = [c for c in self._containers if _stale(self._cache.get(c.id), now)]
            if stale:
                results = await asyncio.gather(*(self._probe(c) for c in stale))
                self._cache.update((h.id, h) for h in results)
            return [self._cache[c.id] for c in self._containers]

    async def _probe(self, container: ContainerConfig) -> ContainerHealth:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=PROBE_TIMEOUT_S)
            )
        try:
            async with self._session.get(container.base_url + "/", allow_redirects=False) as r:
                return ContainerHealth(container.id, True, r.status, "", time.time())
        except (aiohttp.ClientError, TimeoutError, OSError) as e:
            error = f"{type(e).__name__}: {e}"[:_ERROR_CHARS]
            return ContainerHealth(container.id, False, None, error, time.time())

    async def close(self) -> None:
        """Close the session; safe to call twice."""
        if self._session is not None:
            await self._session.close()
            self._session = None


def _stale(health: ContainerHealth | None, now: float) -> bool:
    return health is None or now - health.checked_at >= CACHE_S
