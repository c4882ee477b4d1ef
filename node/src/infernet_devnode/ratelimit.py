"""Per-client, per-route rate limiting with the generic cell rate algorithm (GCRA).

Upstream uses quart-rate-limiter's GCRA with ``num_requests`` per ``period`` seconds; this is the
same algorithm: each request moves a "theoretical arrival time" forward by period/num_requests,
and a request is refused while that time is more than one period ahead of now.
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from dataclasses import dataclass

__all__ = ["RateDecision", "RateLimiter"]

# Forget idle keys once the table holds this many entries (bounds memory under many clients).
_PRUNE_AT = 10_000


@dataclass(frozen=True)
class RateDecision:
    """The verdict for one request, with what the RateLimit-* / Retry-After headers need."""

    allowed: bool
    limit: int
    remaining: int
    reset_after: float  # seconds until the bucket is full again
    retry_after: float  # seconds until the next request is allowed (0 when allowed)

    def headers(self) -> dict[str, str]:
        headers = {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(math.ceil(self.reset_after)),
        }
        if not self.allowed:
            headers["Retry-After"] = str(max(1, math.ceil(self.retry_after)))
        return headers


class RateLimiter:
    """GCRA state for every (client, route) key; time is passed in, so it is a pure machine."""

    def __init__(self, num_requests: int, period: float) -> None:
        self.limit = num_requests
        self.period = period
        self._interval = period / num_requests
        self._arrival: dict[Hashable, float] = {}

    def check(self, key: Hashable, now: float) -> RateDecision:
        """Account one request for ``key`` at time ``now`` (monotonic seconds)."""
        arrival = max(self._arrival.get(key, now), now)
        new_arrival = arrival + self._interval
        allow_at = new_arrival - self.period
        if now < allow_at:
            return RateDecision(False, self.limit, 0, arrival - now, allow_at - now)
        if len(self._arrival) >= _PRUNE_AT:
            self._arrival = {k: t for k, t in self._arrival.items() if t > now}
        self._arrival[key] = new_arrival
        remaining = math.floor((self.period - (new_arrival - now)) / self._interval + 1e-9)
        return RateDecision(True, self.limit, max(0, remaining), new_arrival - now, 0.0)
