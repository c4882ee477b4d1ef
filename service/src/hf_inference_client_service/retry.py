"""Retry policy for backend calls: which failures to retry and how long to wait (pure).

Hugging Face answers 429 when rate limited and 503 while a model loads (hub issues #2175, #1454);
huggingface_hub >= 0.29 no longer retries either, and 0.25.1 waited for 503s without a bound. The
policy here is bounded: at most `max_attempts` calls, exponential backoff from `base_delay`,
`Retry-After` honoured when the backend sends it, every wait capped at `max_delay`, and the whole
job still bounded by the service's request timeout.
"""

from __future__ import annotations

import email.utils
import time
from dataclasses import dataclass
from dataclasses import field

__all__ = ["RETRYABLE_STATUSES", "RetryPolicy", "parse_retry_after"]

# 429 Too Many Requests (rate limit) and 503 Service Unavailable (model loading, overload).
RETRYABLE_STATUSES = frozenset({429, 503})


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date, RFC 9110 10.2.3)."""
    if value is None:
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how patiently to retry a backend call.

    Attributes:
        max_attempts: total calls including the first (1 disables retries).
        base_delay: seconds before the second attempt; doubles for each further one.
        max_delay: cap on any single wait, Retry-After included.
        statuses: HTTP statuses worth retrying; connection errors are always retried.
    """

    max_attempts: int = 3
    base_delay: float = 0.5
    max_delay: float = 10.0
    statuses: frozenset[int] = field(default=RETRYABLE_STATUSES)

    def should_retry(self, attempt: int, status: int | None) -> bool:
        """Whether failed attempt number `attempt` (1-based) gets another try.

        Args:
            attempt: the attempt that just failed.
            status: its HTTP status, or None for a connection error.
        """
        if attempt >= self.max_attempts:
            return False
        return status is None or status in self.statuses

    def delay(self, attempt: int, retry_after: str | None = None) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based)."""
        hinted = parse_retry_after(retry_after)
        wait = hinted if hinted is not None else self.base_delay * 2 ** (attempt - 1)
        return min(self.max_delay, wait)
