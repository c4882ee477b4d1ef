"""Errors raised by the service, each carrying the HTTP status it maps to.

Hierarchy::

    ServiceError                       root; `status` is the HTTP status the app answers with
    +-- InvalidField(field, reason)    400, also a ValueError: bad input, names the field
    +-- UnsupportedRequest(field, reason)
    |                                  400: well-formed but not something this container does
    |                                  (proofs, streaming a non-streaming task)
    +-- BodyTimeout(seconds)           408: the request body did not arrive in time
    +-- BodyTooLarge(limit)            413: the request body is larger than the service reads
    +-- BackendError(reason)           502: the inference backend failed, answered an error,
        |                              rejected the token or sent a malformed answer
        +-- BackendUnavailable         503: 429/503/connection errors that survived every retry
        +-- BackendTimeout             504: the job's time budget ran out
        +-- StreamBroken               a stream already answered 200 broke off, was corrupted or
                                       overran its time; the connection is dropped mid-body

Messages never contain the Hugging Face token: the backend layer builds them from status codes
and response bodies only, and the HTTP layer scrubs the configured token as a last line of defence.
"""

from __future__ import annotations

from http import HTTPStatus

__all__ = [
    "BackendError",
    "BackendTimeout",
    "BackendUnavailable",
    "BodyTimeout",
    "BodyTooLarge",
    "InvalidField",
    "ServiceError",
    "StreamBroken",
    "UnsupportedRequest",
]


class ServiceError(Exception):
    """Root of every error the service turns into an HTTP answer."""

    status: HTTPStatus = HTTPStatus.INTERNAL_SERVER_ERROR

    @property
    def description(self) -> str:
        """The text shown to the caller in the error body."""
        return str(self)


class InvalidField(ServiceError, ValueError):
    """A request field is missing, of the wrong type, or out of range.

    Args:
        field: dotted path of the offending field, e.g. `data.prompt`.
        reason: what is wrong with it.
    """

    status = HTTPStatus.BAD_REQUEST

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class UnsupportedRequest(ServiceError):
    """A well-formed request for something this container does not do."""

    status = HTTPStatus.BAD_REQUEST

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class BodyTimeout(ServiceError):
    """The caller did not send the whole request body within `seconds` (HF_INF_BODY_TIMEOUT)."""

    status = HTTPStatus.REQUEST_TIMEOUT

    def __init__(self, seconds: float) -> None:
        super().__init__(f"body: not received within {seconds:g} s (HF_INF_BODY_TIMEOUT)")
        self.seconds = seconds


class BodyTooLarge(ServiceError):
    """The request body is larger than `limit` bytes (derived from HF_INF_MAX_INPUT_BYTES)."""

    status = HTTPStatus.REQUEST_ENTITY_TOO_LARGE

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"body: larger than {limit} bytes (the limit follows HF_INF_MAX_INPUT_BYTES)"
        )
        self.limit = limit


class BackendError(ServiceError):
    """The inference backend failed; `reason` is its own explanation, secrets removed."""

    status = HTTPStatus.BAD_GATEWAY

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class BackendUnavailable(BackendError):
    """The backend stayed rate-limited, loading or unreachable through every retry."""

    status = HTTPStatus.SERVICE_UNAVAILABLE


class BackendTimeout(BackendError):
    """The job's time budget ran out before the backend answered."""

    status = HTTPStatus.GATEWAY_TIMEOUT


class StreamBroken(BackendError):
    """A stream failed after its 200 status was sent: cut short, corrupted or out of time.

    Raised from the response body, so the server drops the connection without the chunked
    body's terminating chunk; HTTP clients (and the node) see an incomplete answer, not a
    successful short one.
    """
