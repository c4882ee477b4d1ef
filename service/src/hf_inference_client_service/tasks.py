"""The four Hugging Face tasks: ids, typed inputs, off-chain parsing and output shapes.

Task ids and the off-chain input dicts are wire-compatible with infernet-ml 2.0.0's `HFTaskId` and
`HF*InferenceInput` models (its `utils/hf_types.py`; docs/service.md): `task_id` plus `model`
plus `prompt` (task 1) or `text` (tasks 2-4) plus optional task parameters; unknown keys are
ignored as infernet-ml did. Unlike infernet-ml, a missing or unknown `task_id` is a 400 naming the
field, and parameter types are checked strictly (no silent "20" -> 20 coercion).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum
from functools import partial
from typing import Any
from typing import Literal
from typing import TypeVar

from pydantic import BaseModel
from pydantic import ConfigDict
from pydantic import Field
from pydantic import ValidationError
from pydantic import field_validator

from .errors import InvalidField

__all__ = [
    "DEFAULT_MAX_NEW_TOKENS",
    "InputPolicy",
    "TaskId",
    "TaskInput",
    "check_model",
    "check_text",
    "parse_offchain",
]

# infernet-ml's HFTextGenerationInferenceInput default; also what on-chain jobs (which carry no
# parameters) get, so the answer fits a transaction.
DEFAULT_MAX_NEW_TOKENS = 20

# Hugging Face repo ids: optional namespace, then name; letters, digits, '-', '_', '.'
# (huggingface_hub's validate_repo_id allows at most 96 characters per part).
_REPO_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,95}(/[A-Za-z0-9][A-Za-z0-9._-]{0,95})?")
_URL_PREFIXES = ("http://", "https://")

_Data = TypeVar("_Data", bound="_OffchainData")


class TaskId(IntEnum):
    """Task ids, identical to infernet-ml's HFTaskId (0 is the unset value and is refused)."""

    UNSET = 0
    TEXT_GENERATION = 1
    TEXT_CLASSIFICATION = 2
    TOKEN_CLASSIFICATION = 3
    SUMMARIZATION = 4


# Upper bounds of the generation parameters; each is a config key (docs/configuration.md).
DEFAULT_MAX_NEW_TOKENS_LIMIT = 1024
DEFAULT_MAX_LENGTH_LIMIT = 1024
DEFAULT_MAX_TIME_LIMIT = 60.0
# Fixed bounds on lists and small integer knobs: far above any real use, low enough that a job
# cannot make the backend (or the service) do unbounded work.
MAX_LIST_ITEMS = 16
MAX_STOP_CHARS = 256
MAX_TOP_K = 1000
MAX_BEST_OF = 8
MAX_TOP_N_TOKENS = 10
# Sampling knobs: a finite value can still be absurd (`temperature: 1e308`). Generation is
# already near-uniform sampling at a temperature of a few units, and a repetition penalty of 2
# all but forbids repeats; 100 leaves every real use alone. frequency_penalty keeps the range
# OpenAI's chat-completion API documents for it (chat models receive it through chat).
MAX_TEMPERATURE = 100.0
MAX_REPETITION_PENALTY = 100.0
MIN_FREQUENCY_PENALTY = -2.0
MAX_FREQUENCY_PENALTY = 2.0


@dataclass(frozen=True, slots=True)
class InputPolicy:
    """Limits applied to every input, off-chain or on-chain.

    Attributes:
        max_input_bytes: largest prompt/text accepted, in UTF-8 bytes.
        allow_url_models: whether `model` may be a URL (otherwise refused: SSRF guard).
        max_new_tokens: largest `max_new_tokens` a text-generation job may ask for.
        max_length: largest summarization `max_length`/`min_length` and generation `truncate`.
        max_time: largest summarization `max_time`, in seconds.
    """

    max_input_bytes: int = 65_536
    allow_url_models: bool = False
    max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS_LIMIT
    max_length: int = DEFAULT_MAX_LENGTH_LIMIT
    max_time: float = DEFAULT_MAX_TIME_LIMIT


@dataclass(frozen=True, slots=True)
class TaskInput:
    """One validated inference job.

    Attributes:
        task: which of the four tasks.
        model: Hugging Face model id or (if allowed) URL; None means the task's default model.
        text: the prompt (task 1) or the text (tasks 2-4).
        parameters: validated keyword arguments for the huggingface_hub client method.
    """

    task: TaskId
    model: str | None
    text: str
    parameters: Mapping[str, Any]


def check_model(value: str | None, field: str, policy: InputPolicy) -> str | None:
    """Return the model to use (None for the default), refusing URLs unless allowed.

    Raises:
        InvalidField: the value is a URL while URL models are off, or not a repo id.
    """
    if value is None or value == "":
        return None
    if value.startswith(_URL_PREFIXES):
        if not policy.allow_url_models:
            raise InvalidField(
                field, "URL models are refused (set HF_INF_ALLOW_URL_MODELS=true to allow them)"
            )
        return value
    if ".." in value or _REPO_ID.fullmatch(value) is None:
        raise InvalidField(field, f"{value[:100]!r} is not a Hugging Face model id (owner/name)")
    return value


def check_text(value: str, field: str, policy: InputPolicy) -> str:
    """Refuse empty or oversized text.

    Raises:
        InvalidField: the text is empty or longer than the policy allows.
    """
    if not value.strip():
        raise InvalidField(field, "must not be empty")
    size = len(value.encode())
    if size > policy.max_input_bytes:
        raise InvalidField(
            field,
            f"is {size} bytes; the limit is {policy.max_input_bytes} (HF_INF_MAX_INPUT_BYTES)",
        )
    return value


# ------------------------------------------------------------------ off-chain wire models


class _OffchainData(BaseModel):
    # Unknown keys are ignored like infernet-ml (pydantic's default); types are strict.
    model_config = ConfigDict(extra="ignore", strict=True, protected_namespaces=())

    task_id: int
    model: str | None = None


class _TextGenerationData(_OffchainData):
    prompt: str
    max_new_tokens: int = Field(DEFAULT_MAX_NEW_TOKENS, ge=1)
    return_full_text: bool = False
    temperature: float | None = Field(None, ge=0, le=MAX_TEMPERATURE)
    top_p: float | None = Field(None, gt=0, le=1)
    top_k: int | None = Field(None, ge=1, le=MAX_TOP_K)
    seed: int | None = Field(None, ge=0, lt=2**64)
    stop: list[str] | None = Field(None, max_length=MAX_LIST_ITEMS)
    stop_sequences: list[str] | None = Field(None, max_length=MAX_LIST_ITEMS)
    do_sample: bool | None = None
    repetition_penalty: float | None = Field(None, gt=0, le=MAX_REPETITION_PENALTY)
    frequency_penalty: float | None = Field(
        None, ge=MIN_FREQUENCY_PENALTY, le=MAX_FREQUENCY_PENALTY
    )
    truncate: int | None = Field(None, ge=1)
    typical_p: float | None = Field(None, gt=0, le=1)
    watermark: bool | None = None
    best_of: int | None = Field(None, ge=1, le=MAX_BEST_OF)
    top_n_tokens: int | None = Field(None, ge=1, le=MAX_TOP_N_TOKENS)

    @field_validator("stop", "stop_sequences", mode="before")
    @classmethod
    def _one_stop_is_a_list(cls, value: object) -> object:
        # infernet-ml typed `stop_sequences` as one string; huggingface_hub wants list[str].
        return [value] if isinstance(value, str) else value

    @field_validator("stop", "stop_sequences")
    @classmethod
    def _short_stops(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and any(len(stop) > MAX_STOP_CHARS for stop in value):
            raise ValueError(f"each stop string must be at most {MAX_STOP_CHARS} characters")
        return value


class _TextClassificationData(_OffchainData):
    text: str
    top_k: int | None = Field(None, ge=1, le=MAX_TOP_K)
    function_to_apply: Literal["sigmoid", "softmax", "none"] | None = None


class _TokenClassificationData(_OffchainData):
    text: str
    aggregation_strategy: Literal["none", "simple", "first", "average", "max"] | None = None
    ignore_labels: list[str] | None = Field(None, max_length=MAX_LIST_ITEMS)
    stride: int | None = Field(None, ge=0, le=DEFAULT_MAX_LENGTH_LIMIT)


class _SummarizationConfig(BaseModel):
    # infernet-ml's HFSummarizationConfig keys (generation knobs) plus the two task-level
    # options huggingface_hub >= 0.26 added.
    model_config = ConfigDict(extra="forbid", strict=True)

    max_length: int | None = Field(None, ge=1)
    min_length: int | None = Field(None, ge=0)
    top_k: int | None = Field(None, ge=1, le=MAX_TOP_K)
    top_p: float | None = Field(None, gt=0, le=1)
    temperature: float | None = Field(None, ge=0, le=MAX_TEMPERATURE)
    repetition_penalty: float | None = Field(None, gt=0, le=MAX_REPETITION_PENALTY)
    max_time: float | None = Field(None, gt=0)
    clean_up_tokenization_spaces: bool | None = None
    truncation: Literal["do_not_truncate", "longest_first", "only_first", "only_second"] | None = (
        None
    )


class _SummarizationData(_OffchainData):
    text: str
    parameters: _SummarizationConfig | None = None


_TASK_FIELDS = ("clean_up_tokenization_spaces", "truncation")
_NEW_TOKENS_KEY = "HF_INF_MAX_NEW_TOKENS"
_LENGTH_KEY = "HF_INF_MAX_LENGTH"
_TIME_KEY = "HF_INF_MAX_TIME"


def _text_generation(data: _TextGenerationData) -> dict[str, Any]:
    params = data.model_dump(exclude_none=True, exclude={"task_id", "model", "prompt"})
    extra_stops = params.pop("stop_sequences", [])
    if extra_stops:
        params["stop"] = [*params.get("stop", []), *extra_stops]
    return params


def _summarization(data: _SummarizationData) -> dict[str, Any]:
    if data.parameters is None:
        return {}
    given = data.parameters.model_dump(exclude_none=True)
    # huggingface_hub >= 0.29 sends generation knobs as parameters.generate_parameters.
    params: dict[str, Any] = {k: given.pop(k) for k in _TASK_FIELDS if k in given}
    if given:
        params["generate_parameters"] = given
    return params


def _field_name(error: Mapping[str, Any]) -> str:
    return ".".join(["data", *(str(part) for part in error["loc"])])


def _validate(model: type[_Data], data: Mapping[str, Any]) -> _Data:
    try:
        return model.model_validate(data)
    except ValidationError as e:
        first = e.errors(include_url=False)[0]
        raise InvalidField(
            _field_name(first), str(first["msg"]).removeprefix("Value error, ")
        ) from e


def _at_most(value: float | None, limit: float, field: str, key: str) -> None:
    if value is not None and value > limit:
        raise InvalidField(field, f"is {value:g}; the limit is {limit:g} ({key})")


def parse_offchain(data: Mapping[str, Any], policy: InputPolicy) -> TaskInput:
    """Validate an infernet-ml style input dict into a TaskInput.

    Raises:
        InvalidField: naming the first offending field (`data.task_id`, `data.prompt`, ...).
    """
    if "task_id" not in data:
        raise InvalidField("data.task_id", "missing; expected 1 (text generation) .. 4")
    raw_task = data["task_id"]
    if type(raw_task) is not int:
        raise InvalidField("data.task_id", f"must be an integer 1..4, got {raw_task!r:.40}")
    if raw_task not in _PARSERS:
        raise InvalidField("data.task_id", f"{raw_task} is not a task; expected 1..4")
    return _PARSERS[TaskId(raw_task)](data, policy)


def _parse_text_generation(data: Mapping[str, Any], policy: InputPolicy) -> TaskInput:
    parsed = _validate(_TextGenerationData, data)
    _at_most(parsed.max_new_tokens, policy.max_new_tokens, "data.max_new_tokens", _NEW_TOKENS_KEY)
    _at_most(parsed.truncate, policy.max_length, "data.truncate", _LENGTH_KEY)
    return TaskInput(
        TaskId.TEXT_GENERATION,
        check_model(parsed.model, "data.model", policy),
        check_text(parsed.prompt, "data.prompt", policy),
        _text_generation(parsed),
    )


def _parse_classification(
    task: TaskId,
    schema: type[_TextClassificationData] | type[_TokenClassificationData],
    data: Mapping[str, Any],
    policy: InputPolicy,
) -> TaskInput:
    # Classification parameters go to the backend as they are: no renaming, no defaults.
    parsed = _validate(schema, data)
    params = parsed.model_dump(exclude_none=True, exclude={"task_id", "model", "text"})
    return TaskInput(
        task,
        check_model(parsed.model, "data.model", policy),
        check_text(parsed.text, "data.text", policy),
        params,
    )


def _parse_summarization(data: Mapping[str, Any], policy: InputPolicy) -> TaskInput:
    parsed = _validate(_SummarizationData, data)
    if parsed.parameters is not None:
        given = parsed.parameters
        _at_most(given.max_length, policy.max_length, "data.parameters.max_length", _LENGTH_KEY)
        _at_most(given.min_length, policy.max_length, "data.parameters.min_length", _LENGTH_KEY)
        _at_most(given.max_time, policy.max_time, "data.parameters.max_time", _TIME_KEY)
    return TaskInput(
        TaskId.SUMMARIZATION,
        check_model(parsed.model, "data.model", policy),
        check_text(parsed.text, "data.text", policy),
        _summarization(parsed),
    )


_PARSERS: dict[TaskId, Callable[[Mapping[str, Any], InputPolicy], TaskInput]] = {
    TaskId.TEXT_GENERATION: _parse_text_generation,
    TaskId.TEXT_CLASSIFICATION: partial(
        _parse_classification, TaskId.TEXT_CLASSIFICATION, _TextClassificationData
    ),
    TaskId.TOKEN_CLASSIFICATION: partial(
        _parse_classification, TaskId.TOKEN_CLASSIFICATION, _TokenClassificationData
    ),
    TaskId.SUMMARIZATION: _parse_summarization,
}
