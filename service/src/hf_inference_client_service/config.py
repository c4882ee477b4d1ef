"""Service configuration, read once from the environment (the node passes `env` from config.json).

Every variable is optional (docs/configuration.md lists them with their defaults). The variables
are validated by one pydantic model whose field aliases are the variable names; invalid values
fail at startup with a one-line error naming the variable, never at the first request. The token
is kept out of `repr`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from enum import StrEnum
from typing import Any

from huggingface_hub import constants
from pydantic import BaseModel
from pydantic import ConfigDict
from pydantic import Field
from pydantic import ValidationError
from pydantic import field_validator

from .errors import InvalidField
from .onchain_limits import DEFAULT_MAX_ONCHAIN_LABEL_BYTES
from .onchain_limits import DEFAULT_MAX_ONCHAIN_LABELS
from .onchain_limits import DEFAULT_MAX_ONCHAIN_TEXT_BYTES
from .onchain_limits import OnchainLimits
from .request_body import DEFAULT_MAX_DRAIN_BYTES
from .retry import RetryPolicy
from .tasks import DEFAULT_MAX_LENGTH_LIMIT
from .tasks import DEFAULT_MAX_NEW_TOKENS_LIMIT
from .tasks import DEFAULT_MAX_TIME_LIMIT
from .tasks import InputPolicy
from .tasks import TaskId

__all__ = [
    "DEFAULT_MODELS",
    "DEFAULT_PROVIDER",
    "DEFAULT_TIMEOUT",
    "ConnectionLimits",
    "ServiceConfig",
    "TextGenerationMode",
]

# The first `widgetModels` entry of each task in Hugging Face's task data: what upstream's
# huggingface_hub 0.25.1 picked for model=None (docs/configuration.md).
DEFAULT_MODELS: Mapping[TaskId, str] = {
    TaskId.TEXT_GENERATION: "mistralai/Mistral-Nemo-Instruct-2407",
    TaskId.TEXT_CLASSIFICATION: "distilbert/distilbert-base-uncased-finetuned-sst-2-english",
    TaskId.TOKEN_CLASSIFICATION: "FacebookAI/xlm-roberta-large-finetuned-conll03-english",
    TaskId.SUMMARIZATION: "facebook/bart-large-cnn",
}
DEFAULT_PROVIDER = "hf-inference"
# huggingface_hub's policy "the first provider serving the model" (not a provider of its own).
_AUTO_PROVIDER = "auto"
# Seconds per job, retries included; well under the node's 180 s container-call timeout
# (infernet-node orchestrator, aiohttp ClientTimeout(total=180)).
DEFAULT_TIMEOUT = 60.0
# Seconds to receive a request body; the node sends its bodies at once.
DEFAULT_BODY_TIMEOUT = 30.0

_MODEL_VARS = {
    TaskId.TEXT_GENERATION: "HF_INF_TEXT_GENERATION_MODEL",
    TaskId.TEXT_CLASSIFICATION: "HF_INF_TEXT_CLASSIFICATION_MODEL",
    TaskId.TOKEN_CLASSIFICATION: "HF_INF_TOKEN_CLASSIFICATION_MODEL",
    TaskId.SUMMARIZATION: "HF_INF_SUMMARIZATION_MODEL",
}


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    """Pool and size limits of the backend client.

    Attributes:
        connections: concurrent (and kept-alive) connections; sized to the jobs one worker
            runs at once, so busy periods reuse connections instead of opening new ones.
        max_response_bytes: largest backend answer accepted (a stream counts per line).
    """

    connections: int = 64
    max_response_bytes: int = 4 * 1024 * 1024


class TextGenerationMode(StrEnum):
    """How task 1 reaches the backend.

    AUTO tries text generation and falls back to chat completion when the backend says the model
    does not support it (most chat models today); TEXT never falls back; CHAT always uses chat.
    """

    AUTO = "auto"
    TEXT = "text"
    CHAT = "chat"


@dataclass(frozen=True, slots=True)
class ServiceConfig:
    """Everything the service reads from the environment.

    Attributes:
        token: Hugging Face token (HF_INF_TOKEN); never logged, echoed or repr'd.
        endpoint: base URL of a server speaking HF's inference protocol (HF_INF_ENDPOINT);
            requests go to `{endpoint}/models/{model}`.
        provider: huggingface_hub inference provider used when no endpoint is set.
        default_models: model used per task when a job names none.
        timeout: seconds allowed per job, retries included.
        retry: backoff policy for 429/503/connection errors.
        inputs: size limit and URL-model (SSRF) policy.
        text_generation_mode: text generation, chat completion, or text with chat fallback.
        connections: backend connection pool size and answer size limit.
        body_timeout: seconds a caller may take to send a request body.
        onchain: how much of an answer goes on chain (labels kept, label and text bytes).
        max_drain_bytes: the largest oversized request body read (and thrown away) so that its
            sender can read the 413.
    """

    token: str | None = field(default=None, repr=False)
    endpoint: str | None = None
    provider: str = DEFAULT_PROVIDER
    default_models: Mapping[TaskId, str] = field(default_factory=lambda: dict(DEFAULT_MODELS))
    timeout: float = DEFAULT_TIMEOUT
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    inputs: InputPolicy = field(default_factory=InputPolicy)
    text_generation_mode: TextGenerationMode = TextGenerationMode.AUTO
    connections: ConnectionLimits = field(default_factory=ConnectionLimits)
    body_timeout: float = DEFAULT_BODY_TIMEOUT
    onchain: OnchainLimits = field(default_factory=OnchainLimits)
    max_drain_bytes: int = DEFAULT_MAX_DRAIN_BYTES

    @property
    def models_base_url(self) -> str | None:
        """Base of `{base}/models/{model}` URLs, or None when the provider routes by model id.

        Without an endpoint, the hf-inference provider is addressed by URL too: that is the
        same route huggingface_hub would build, minus its blocking model-info lookups.
        """
        if self.endpoint is not None:
            return self.endpoint
        if self.provider == DEFAULT_PROVIDER:
            return constants.INFERENCE_PROXY_TEMPLATE.format(provider=DEFAULT_PROVIDER)
        return None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ServiceConfig:
        """Read the configuration from `env` (default: os.environ).

        Raises:
            InvalidField: naming the variable whose value is invalid.
        """
        env = os.environ if env is None else env
        # Unset and blank variables both mean "the default".
        given = {k: v for k, v in env.items() if k.startswith(_PREFIX) and v.strip()}
        try:
            read = _Environment.model_validate(given)
        except ValidationError as e:
            first = e.errors(include_url=False)[0]
            name = str(first["loc"][0]) if first["loc"] else "environment"
            raise InvalidField(name, _explain(first, given.get(name, ""))) from e
        models = dict(DEFAULT_MODELS)
        for task, var in _MODEL_VARS.items():
            model = getattr(read, var.removeprefix(_PREFIX).lower())
            if model:
                models[task] = model
        return cls(
            token=read.token,
            endpoint=read.endpoint.rstrip("/") if read.endpoint else None,
            provider=read.provider,
            default_models=models,
            timeout=read.timeout,
            retry=RetryPolicy(
                max_attempts=read.max_attempts,
                base_delay=read.retry_base_delay,
                max_delay=read.retry_max_delay,
            ),
            inputs=InputPolicy(
                max_input_bytes=read.max_input_bytes,
                allow_url_models=read.allow_url_models,
                max_new_tokens=read.max_new_tokens,
                max_length=read.max_length,
                max_time=read.max_time,
            ),
            text_generation_mode=read.text_generation_mode,
            connections=ConnectionLimits(
                connections=read.max_connections, max_response_bytes=read.max_response_bytes
            ),
            body_timeout=read.body_timeout,
            onchain=OnchainLimits(
                max_labels=read.max_onchain_labels,
                max_label_bytes=read.max_onchain_label_bytes,
                max_text_bytes=read.max_onchain_text_bytes,
            ),
            max_drain_bytes=read.max_drain_bytes,
        )


_PREFIX = "HF_INF_"


def _variable(name: str) -> str:
    return _PREFIX + name.upper()


class _Environment(BaseModel):
    """The HF_INF_* variables, each validated on its own (the field alias is the variable)."""

    model_config = ConfigDict(
        alias_generator=_variable,
        extra="ignore",
        str_strip_whitespace=True,
        allow_inf_nan=False,
        frozen=True,
    )

    token: str | None = None
    endpoint: str | None = None
    provider: str = DEFAULT_PROVIDER
    text_generation_model: str | None = None
    text_classification_model: str | None = None
    token_classification_model: str | None = None
    summarization_model: str | None = None
    text_generation_mode: TextGenerationMode = TextGenerationMode.AUTO
    timeout: float = Field(DEFAULT_TIMEOUT, gt=0)
    body_timeout: float = Field(DEFAULT_BODY_TIMEOUT, gt=0)
    max_attempts: int = Field(3, ge=1)
    retry_base_delay: float = Field(0.5, ge=0)
    retry_max_delay: float = Field(10.0, ge=0)
    max_input_bytes: int = Field(65_536, ge=1)
    allow_url_models: bool = False
    max_new_tokens: int = Field(DEFAULT_MAX_NEW_TOKENS_LIMIT, ge=1)
    max_length: int = Field(DEFAULT_MAX_LENGTH_LIMIT, ge=1)
    max_time: float = Field(DEFAULT_MAX_TIME_LIMIT, gt=0)
    max_connections: int = Field(64, ge=1)
    max_response_bytes: int = Field(4 * 1024 * 1024, ge=1024)
    max_onchain_labels: int = Field(DEFAULT_MAX_ONCHAIN_LABELS, ge=1)
    # At least one character of any label or text fits (UTF-8 takes up to 4 bytes per character).
    max_onchain_label_bytes: int = Field(DEFAULT_MAX_ONCHAIN_LABEL_BYTES, ge=4)
    max_onchain_text_bytes: int = Field(DEFAULT_MAX_ONCHAIN_TEXT_BYTES, ge=4)
    max_drain_bytes: int = Field(DEFAULT_MAX_DRAIN_BYTES, ge=0)

    @field_validator("endpoint")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value

    @field_validator("provider")
    @classmethod
    def _known_provider(cls, value: str) -> str:
        # A misspelt provider would otherwise be found only by the first job, as a 400 blaming
        # the caller's `data.model` (huggingface_hub refuses unknown providers per request).
        if value == DEFAULT_PROVIDER:
            return value
        known = inference_providers()
        if value not in known:
            raise ValueError(
                f"{value[:40]!r} is not a Hugging Face inference provider;"
                f" expected one of {', '.join(known)}"
            )
        return value

    @field_validator("text_generation_mode", "provider", mode="before")
    @classmethod
    def _any_case(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value


def inference_providers() -> list[str]:
    """The providers huggingface_hub can route to, plus its `auto` policy, sorted.

    Read from the table `get_provider_helper` consults (huggingface_hub 2.x,
    `inference/_providers/__init__.py`), so the list follows the installed version. Imported
    here, not at the top: it loads huggingface_hub's whole Hub API, which the default provider
    never needs.
    """
    from huggingface_hub.inference._providers import PROVIDERS

    return sorted({*PROVIDERS, _AUTO_PROVIDER})


def _explain(error: Mapping[str, Any], raw: str) -> str:
    """One line naming what is wrong with a variable's value (never echoing a long value)."""
    kind = error["type"]
    shown = repr(raw[:40])
    bound = error.get("ctx") or {}
    if kind in ("int_parsing", "int_from_float"):
        return f"must be an integer, got {shown}"
    if kind in ("float_parsing", "finite_number"):
        return f"must be a number of seconds, got {shown}"
    if kind == "greater_than":
        return "must be a positive number" if bound.get("gt") == 0 else f"must be > {bound['gt']}"
    if kind == "greater_than_equal":
        return "must not be negative" if bound.get("ge") == 0 else f"must be at least {bound['ge']}"
    if kind == "bool_parsing":
        return "must be true or false"
    if kind == "enum":
        names = [mode.value for mode in TextGenerationMode]
        return f"must be {', '.join(names[:-1])} or {names[-1]}"
    return str(error["msg"]).removeprefix("Value error, ")
