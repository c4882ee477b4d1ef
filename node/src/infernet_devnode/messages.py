"""Request bodies of the REST API (docs/devnode.md), validated at the wire edge.

Types are strict like upstream's dacite parsing (no "1" for 1), unknown keys are ignored like
upstream. Unlike upstream (500), a malformed body raises InvalidField naming the field.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic import ConfigDict
from pydantic import StrictBool
from pydantic import StrictInt
from pydantic import StrictStr
from pydantic import ValidationError

from .errors import InvalidField
from .errors import field_path

__all__ = [
    "UINT32_MAX",
    "DelegatedSubscription",
    "DelegatedSubscriptionRequest",
    "JobRequest",
    "Signature",
    "StatusReport",
    "parse_job_message",
    "parse_status_report",
]

# type(uint32).max: a subscription's id, activeAt, period and frequency and a delegation's nonce
# and expiry are uint32 in the Coordinator (infernet-sdk v1.1.0).
UINT32_MAX = 2**32 - 1


class _Message(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class JobRequest(_Message):
    """An off-chain job: ``{containers, data, requires_proof?}``."""

    containers: list[StrictStr]
    data: dict[str, Any]
    requires_proof: StrictBool | None = False


class DelegatedSubscription(_Message):
    """The ``subscription`` object of a delegated subscription request (snake_case, 2.4 B)."""

    owner: StrictStr
    active_at: StrictInt
    period: StrictInt
    frequency: StrictInt
    redundancy: StrictInt
    containers: StrictStr  # 0x-hex bytes32 container-set hash (4.2), not a list
    lazy: StrictBool
    verifier: StrictStr
    payment_amount: StrictInt
    payment_token: StrictStr
    wallet: StrictStr


class Signature(_Message):
    """EIP-712 signature parts; r and s are integers, not hex (2.4 B)."""

    nonce: StrictInt
    expiry: StrictInt
    v: StrictInt
    r: StrictInt
    s: StrictInt


class DelegatedSubscriptionRequest(_Message):
    """``{subscription, signature, data}``; ``requires_proof`` is ignored (verifier decides)."""

    subscription: DelegatedSubscription
    signature: Signature
    data: dict[str, Any]


class StatusReport(_Message):
    """``PUT /api/status`` body from an independent container (2.8)."""

    id: StrictStr
    status: StrictStr
    containers: list[StrictStr]
    data: Any = None


def parse_job_message(body: object) -> JobRequest | DelegatedSubscriptionRequest:
    """Parse a POST /api/jobs item: a delegated subscription if it has ``subscription``, else a
    job request.

    Raises:
        InvalidField: the body is not an object or a field is missing or of the wrong type.
    """
    if not isinstance(body, dict):
        raise InvalidField("body", "expected a JSON object")
    model: type[JobRequest] | type[DelegatedSubscriptionRequest]
    model = DelegatedSubscriptionRequest if "subscription" in body else JobRequest
    try:
        return model.model_validate(body)
    except ValidationError as e:
        raise _invalid(e) from None


def parse_status_report(body: object) -> StatusReport:
    """Parse a PUT /api/status body.

    Raises:
        InvalidField: the body is not an object or a field is missing or of the wrong type.
    """
    if not isinstance(body, dict):
        raise InvalidField("body", "expected a JSON object")
    try:
        return StatusReport.model_validate(body)
    except ValidationError as e:
        raise _invalid(e) from None


_EXPECTED: dict[str, str] = {
    "string_type": "expected a string",
    "int_type": "expected an integer",
    "bool_type": "expected a boolean",
    "list_type": "expected a list",
    "dict_type": "expected an object",
    "model_type": "expected an object",
    "model_attributes_type": "expected an object",
    "missing": "required field is missing",
}


def _invalid(error: ValidationError) -> InvalidField:
    first = error.errors(include_url=False)[0]
    return InvalidField(
        field_path(first["loc"]), _EXPECTED.get(str(first["type"]), str(first["msg"]))
    )
