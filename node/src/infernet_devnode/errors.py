"""Errors raised by the devnode.

Hierarchy::

    NodeError                      root of everything the devnode raises on purpose
    +-- ConfigError(field, reason)     config.json is invalid (also a ValueError)
    +-- InvalidField(field, reason)    a request body is malformed (also a ValueError) -> HTTP 400
    +-- GuardianRejection(error, params)  an admission rule refused a request -> HTTP 405
    +-- NodeBusy(reason, retry_after, limit)  a job bound is reached -> HTTP 503 with Retry-After
    +-- JobConflict(job_id)            PUT /api/status may not change this record -> HTTP 409
    |   +-- JobFinished(job_id)            the job has finished: its record is final
    |   +-- JobRunByNode(job_id)           the node itself is running the job
    +-- RequestTimeout(reason, limit)  a request body arrived too slowly -> HTTP 408
    +-- StoreUnavailable(path, reason) the SQLite store cannot be opened or read (exit code 1)
    +-- ChainNotAvailable(reason)      chain.enabled is true but the chain side cannot start
    +-- ChainUnavailable(reason, retry_after)  a request needs the chain side, which is starting
    |                                  or whose endpoint did not answer -> HTTP 503
    +-- StreamFailed                   a streaming container call failed (the stream just ends)
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Sequence

__all__ = [
    "ChainNotAvailable",
    "ChainUnavailable",
    "ConfigError",
    "GuardianRejection",
    "InvalidField",
    "JobConflict",
    "JobFinished",
    "JobRunByNode",
    "NodeBusy",
    "NodeError",
    "RequestTimeout",
    "StoreUnavailable",
    "StreamFailed",
    "field_path",
]


class NodeError(Exception):
    """Root of the devnode's own errors."""


class ConfigError(NodeError, ValueError):
    """A config.json key is missing or holds a value of the wrong type."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"config key {field}: {reason}")
        self.field = field
        self.reason = reason


class InvalidField(NodeError, ValueError):
    """A request body field is missing or malformed (HTTP 400 naming the field)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}" if field else reason)
        self.field = field
        self.reason = reason


class GuardianRejection(NodeError):
    """An admission rule (docs/devnode.md) refused a job; upstream answers 405 with this body."""

    def __init__(self, error: str, params: Mapping[str, object] | None = None) -> None:
        super().__init__(error)
        self.error = error
        self.params: dict[str, object] = dict(params or {})


class NodeBusy(NodeError):
    """Admitting the request would pass a bound (the config key ``limit``, e.g.
    ``server.max_jobs_per_client``); the caller should retry later."""

    def __init__(self, reason: str, retry_after: int, limit: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after
        self.limit = limit


class JobConflict(NodeError):
    """A status report that would change a job record it may not change (HTTP 409 naming id)."""

    def __init__(self, job_id: str, message: str) -> None:
        super().__init__(message)
        self.job_id = job_id


class JobFinished(JobConflict):
    """A status report for a job that has already finished (its record is final)."""

    def __init__(self, job_id: str) -> None:
        super().__init__(job_id, f"job {job_id} has already finished; its record cannot be changed")


class JobRunByNode(JobConflict):
    """A status report for a job the node itself is running: only the node reports on it."""

    def __init__(self, job_id: str) -> None:
        super().__init__(
            job_id,
            f"job {job_id} is run by this node; only the node reports its status"
            " (PUT /api/status is for jobs run outside the node)",
        )


class RequestTimeout(NodeError):
    """A client took longer than the bound (the config key ``limit``) to send its request."""

    def __init__(self, reason: str, limit: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.limit = limit


class StoreUnavailable(NodeError):
    """The SQLite store cannot be opened or read (corrupt, not a database, unreadable)."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(
            f"cannot use the store {path}: {reason}. Move the file aside (for example"
            f" mv {path} {path}.broken) and start again: the node then starts with an empty"
            " store (storage.path)"
        )
        self.path = path
        self.reason = reason


class ChainNotAvailable(NodeError):
    """chain.enabled is true but the chain component could not be loaded or started."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"chain side not available: {reason}")
        self.reason = reason


class ChainUnavailable(NodeError):
    """A request needs the chain side and it cannot answer now: it is still starting, or its
    endpoint did not answer. ``retry_after`` (seconds) when waiting is known to help."""

    def __init__(self, reason: str, retry_after: int | None = None) -> None:
        super().__init__(f"chain unavailable: {reason}")
        self.reason = reason
        self.retry_after = retry_after


class StreamFailed(NodeError):
    """A streaming container call failed before or while streaming."""


def field_path(loc: Sequence[int | str]) -> str:
    """A pydantic error location as the errors above name fields: `containers[0].env`."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path = f"{path}[{part}]"
        else:
            path = f"{path}.{part}" if path else str(part)
    return path
