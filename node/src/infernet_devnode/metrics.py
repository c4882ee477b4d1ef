"""In-process counters and the Prometheus text exposition of ``GET /metrics``.

Kept dependency-free: a handful of labelled counters and one histogram, rendered in the text
format version 0.0.4.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterator

from .results import JobLocation
from .results import JobStatus

__all__ = ["CONTENT_TYPE", "Metrics"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Container call latency buckets, seconds: loopback echo (sub-ms) up to model inference (minutes).
LATENCY_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class _Histogram:
    def __init__(self) -> None:
        self.counts = [0] * (len(LATENCY_BUCKETS_S) + 1)
        self.total = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(LATENCY_BUCKETS_S, value)] += 1
        self.total += value


class Metrics:
    """Counters of one node process."""

    def __init__(self) -> None:
        self.jobs: dict[tuple[str, str], int] = defaultdict(int)
        self.http: dict[tuple[str, str, int], int] = defaultdict(int)
        self.container_outcomes: dict[tuple[str, str], int] = defaultdict(int)
        self._latency: dict[str, _Histogram] = defaultdict(_Histogram)

    def job_finished(self, location: JobLocation, status: JobStatus) -> None:
        """Count a finished job (on-chain jobs are counted by the chain side through this)."""
        self.jobs[(_location_label(location), status.value)] += 1

    def http_request(self, method: str, route: str, status: int) -> None:
        self.http[(method, route, status)] += 1

    def container_call(self, container: str, outcome: str, seconds: float) -> None:
        self.container_outcomes[(container, outcome)] += 1
        self._latency[container].observe(seconds)

    def job_counts(self) -> dict[str, dict[str, int]]:
        """``{offchain: {success, failed}, onchain: {success, failed}}`` as upstream's stats."""
        counts: dict[str, dict[str, int]] = {}
        for location in ("offchain", "onchain"):
            counts[location] = {
                name: self.jobs.get((location, name), 0) for name in ("success", "failed")
            }
        return counts

    def render(self, running_offchain: int, pending_onchain: int) -> str:
        """The Prometheus text exposition."""
        return "".join(self._lines(running_offchain, pending_onchain))

    def _lines(self, running_offchain: int, pending_onchain: int) -> Iterator[str]:
        yield "# HELP devnode_jobs_total Jobs finished, by location and status.\n"
        yield "# TYPE devnode_jobs_total counter\n"
        for (location, status), count in sorted(self.jobs.items()):
            yield f'devnode_jobs_total{{location="{location}",status="{status}"}} {count}\n'
        yield "# HELP devnode_jobs_running Jobs in progress, by location.\n"
        yield "# TYPE devnode_jobs_running gauge\n"
        yield f'devnode_jobs_running{{location="offchain"}} {running_offchain}\n'
        yield f'devnode_jobs_running{{location="onchain"}} {pending_onchain}\n'
        yield "# HELP devnode_http_requests_total HTTP requests, by method, route and status.\n"
        yield "# TYPE devnode_http_requests_total counter\n"
        for (method, route, code), count in sorted(self.http.items()):
            labels = f'method="{method}",route="{_escape(route)}",status="{code}"'
            yield f"devnode_http_requests_total{{{labels}}} {count}\n"
        yield "# HELP devnode_container_calls_total Container calls, by container and outcome.\n"
        yield "# TYPE devnode_container_calls_total counter\n"
        for (container, outcome), count in sorted(self.container_outcomes.items()):
            labels = f'container="{_escape(container)}",outcome="{outcome}"'
            yield f"devnode_container_calls_total{{{labels}}} {count}\n"
        yield "# HELP devnode_container_call_seconds Container call latency.\n"
        yield "# TYPE devnode_container_call_seconds histogram\n"
        for container, histogram in sorted(self._latency.items()):
            name = _escape(container)
            cumulative = 0
            for bound, count in zip(LATENCY_BUCKETS_S, histogram.counts, strict=False):
                cumulative += count
                yield (
                    f'devnode_container_call_seconds_bucket{{container="{name}",le="{bound:g}"}}'
                    f" {cumulative}\n"
                )
            cumulative += histogram.counts[-1]
            inf = f'container="{name}",le="+Inf"'
            yield f"devnode_container_call_seconds_bucket{{{inf}}} {cumulative}\n"
            yield f'devnode_container_call_seconds_sum{{container="{name}"}} {histogram.total}\n'
            yield f'devnode_container_call_seconds_count{{container="{name}"}} {cumulative}\n'


def _location_label(location: JobLocation) -> str:
    return "onchain" if location is JobLocation.ONCHAIN else "offchain"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
