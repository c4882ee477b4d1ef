"""The node-to-container protocol: request body, job locations and the on-chain answer (pure).

The container protocol (docs/devnode.md) and the service's routes (docs/service.md): the node POSTs
`{source, destination, data, requires_proof}` (streaming calls omit `requires_proof`); `source` and
`destination` are 0 on-chain, 1 off-chain, 2 stream; on-chain `data` is hex without 0x, off-chain
`data` a JSON object. Delegated subscriptions arrive as source 1, destination 0.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from pydantic import BaseModel
from pydantic import ConfigDict
from pydantic import ValidationError
from pydantic import field_validator

from .encoding import decode_onchain_input
from .encoding import encode_raw_output
from .encoding import parse_hex
from .errors import InvalidField
from .errors import UnsupportedRequest
from .onchain_limits import OnchainLimits
from .onchain_limits import bound_onchain_output
from .outputs import TaskOutput
from .tasks import InputPolicy
from .tasks import TaskId
from .tasks import TaskInput
from .tasks import parse_offchain

__all__ = [
    "ContainerCall",
    "ContainerInput",
    "JobLocation",
    "onchain_result",
    "parse_call",
    "reject_non_finite",
]


class JobLocation(IntEnum):
    """Where a job's input comes from / its output goes (infernet-ml's JobLocation)."""

    ONCHAIN = 0
    OFFCHAIN = 1
    STREAM = 2


class ContainerInput(BaseModel):
    """Body of POST /service_output as the node sends it."""

    model_config = ConfigDict(extra="ignore", strict=True)

    source: JobLocation
    destination: JobLocation
    data: Any
    # Optional in infernet-ml's InfernetInput; streaming calls leave it out, null means false.
    requires_proof: bool | None = False

    @field_validator("source", "destination", mode="before")
    @classmethod
    def _plain_integer(cls, value: object) -> object:
        # JSON `true` and `1.0` are not locations: only the integers 0, 1 and 2 are.
        if type(value) is not int:
            raise ValueError(f"must be the integer 0, 1 or 2, got {json.dumps(value)[:40]}")
        return value


@dataclass(frozen=True, slots=True)
class ContainerCall:
    """A validated call: the job to run, where its answer goes, and the on-chain input echo.

    Attributes:
        job: the task input.
        destination: on-chain, off-chain or stream.
        raw_input: hex (no 0x) of the on-chain input bytes; "" for off-chain sources.
    """

    job: TaskInput
    destination: JobLocation
    raw_input: str


def _load(body: bytes) -> ContainerInput:
    try:
        return ContainerInput.model_validate_json(body)
    except ValidationError as e:
        first = e.errors(include_url=False)[0]
        loc = ".".join(str(part) for part in first["loc"]) or "body"
        if first["type"] == "json_invalid":
            raise InvalidField("body", "not a JSON object") from e
        if first["type"] == "model_type":
            raise InvalidField("body", "must be a JSON object") from e
        raise InvalidField(loc, str(first["msg"]).removeprefix("Value error, ")) from e


def reject_non_finite(value: Any, field: str) -> None:
    """Refuse NaN and ±Infinity anywhere in `value` (JSON has no such numbers; Python reads them).

    Raises:
        InvalidField: naming the path of the first non-finite number.
    """
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidField(field, f"must be a finite number, got {value}")
    elif isinstance(value, dict):
        for key, item in value.items():
            reject_non_finite(item, f"{field}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            reject_non_finite(item, f"{field}[{index}]")


def parse_call(body: bytes, policy: InputPolicy) -> ContainerCall:
    """Validate a POST /service_output body into a ContainerCall.

    Raises:
        InvalidField: bad JSON, bad field types, bad hex/ABI, bad task input.
        UnsupportedRequest: proofs requested, or streaming a task that does not stream.
    """
    call = _load(body)
    reject_non_finite(call.data, "data")
    if call.requires_proof:
        raise UnsupportedRequest(
            "requires_proof", "this container makes no proofs (set generates_proofs: false)"
        )
    if call.source is JobLocation.ONCHAIN:
        if not isinstance(call.data, str):
            raise InvalidField("data", "must be a hex string when source is 0 (on-chain)")
        raw = parse_hex(call.data, "data")
        job = decode_onchain_input(raw, policy)
        raw_input = raw.hex()
    elif call.source is JobLocation.OFFCHAIN:
        if not isinstance(call.data, dict):
            raise InvalidField("data", "must be a JSON object when source is 1 (off-chain)")
        job = parse_offchain(call.data, policy)
        raw_input = ""
    else:
        raise InvalidField("source", "must be 0 (on-chain) or 1 (off-chain); 2 is a destination")
    if call.destination is JobLocation.STREAM and job.task is not TaskId.TEXT_GENERATION:
        raise UnsupportedRequest(
            "destination", "streaming (2) is only available for text generation (task_id 1)"
        )
    return ContainerCall(job, call.destination, raw_input)


def onchain_result(
    call: ContainerCall, output: TaskOutput, limits: OnchainLimits
) -> dict[str, str]:
    """The five hex fields (no 0x) the node turns into `deliverCompute` arguments.

    The output is cut to `limits` first, so that the answer fits one delivery.
    """
    task = call.job.task
    return {
        "raw_input": call.raw_input,
        "processed_input": "",
        "raw_output": encode_raw_output(task, bound_onchain_output(task, output, limits)).hex(),
        "processed_output": "",
        "proof": "",
    }
