"""Service configuration, read once from the environment (the node passes `env` from config.json).

Every variable is optional; see the README's configuration table. Invalid values fail at startup
with an error naming the variable, never at the first request. The token is kept out of `repr`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from enum import StrEnum

from huggingface_hub import constants

from .backend_http import ConnectionLimits
from .errors import InvalidField
from .retry import RetryPolicy
from .tasks import InputPolicy
from .tasks import TaskId

__all__ = [
    "DEFAULT_MODELS",
    "DEFAULT_PROVIDER",
    "DEFAULT_TIMEOUT",
    "ServiceConfig",
    "TextGenerationMode",
]

# The first `widgetModels` entry of each task in Hugging Face's task data: what upstream's
# huggingface_hub 0.25.1 picked for model=None (../shared/spec/hf-service.md section 3).
DEFAULT_MODELS: Mapping[TaskId, str] = {
    TaskId.TEXT_GENERATION: "mistralai/Mistral-Nemo-Instruct-2407",
    TaskId.TEXT_CLASSIFICATION: "distilbert/distilbert-base-uncased-finetuned-sst-2-english",
    TaskId.TOKEN_CLASSIFICATION: "FacebookAI/xlm-roberta-large-finetuned-conll03-english",
    TaskId.SUMMARIZATION: "facebook/bart-large-cnn",
}
DEFAULT_PROVIDER = "hf-inference"
# Seconds per job, retries included; well under the node's 180 s container-call timeout
# (infernet-node orchestrator, aiohttp ClientTimeout(total=180)).
DEFAULT_TIMEOUT = 60.0

_MODEL_VARS = {
    TaskId.TEXT_GENERATION: "HF_INF_TEXT_GENERATION_MODEL",
    TaskId.TEXT_CLASSIFICATION: "HF_INF_TEXT_CLASSIFICATION_MODEL",
    TaskId.TOKEN_CLASSIFICATION: "HF_INF_TOKEN_CLASSIFICATION_MODEL",
    TaskId.SUMMARIZATION: "HF_INF_SUMMARIZATION_MODEL",
}
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


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
        endpoint = env.get("HF_INF_ENDPOINT", "").strip().rstrip("/") or None
        if endpoint is not None and not endpoint.startswith(("http://", "https://")):
            raise InvalidField("HF_INF_ENDPOINT", "must be an http:// or https:// URL")
        models = dict(DEFAULT_MODELS)
        for task, var in _MODEL_VARS.items():
            if env.get(var, "").strip():
                models[task] = env[var].strip()
        mode = env.get("HF_INF_TEXT_GENERATION_MODE", "auto").strip().lower()
        if mode not in TextGenerationMode.__members__.values():
            raise InvalidField("HF_INF_TEXT_GENERATION_MODE", "must be auto, text or chat")
        retry = RetryPolicy(
            max_attempts=_integer(env, "HF_INF_MAX_ATTEMPTS", 3, minimum=1),
            base_delay=_number(env, "HF_INF_RETRY_BASE_DELAY", 0.5),
            max_delay=_number(env, "HF_INF_RETRY_MAX_DELAY", 10.0),
        )
        inputs = InputPolicy(
            max_input_bytes=_integer(env, "HF_INF_MAX_INPUT_BYTES", 65_536, minimum=1),
            allow_url_models=_flag(env, "HF_INF_ALLOW_URL_MODELS"),
        )
        connections = ConnectionLimits(
            connections=_integer(env, "HF_INF_MAX_CONNECTIONS", 64, minimum=1),
            max_response_bytes=_integer(
                env, "HF_INF_MAX_RESPONSE_BYTES", 4 * 1024 * 1024, minimum=1024
            ),
        )
        timeout = _number(env, "HF_INF_TIMEOUT", DEFAULT_TIMEOUT)
        if timeout <= 0:
            raise InvalidField("HF_INF_TIMEOUT", "must be a positive number of seconds")
        return cls(
            token=env.get("HF_INF_TOKEN", "").strip() or None,
            endpoint=endpoint,
            provider=env.get("HF_INF_PROVIDER", "").strip() or DEFAULT_PROVIDER,
            default_models=models,
            timeout=timeout,
            retry=retry,
            inputs=inputs,
            text_generation_mode=TextGenerationMode(mode),
            connections=connections,
        )


def _integer(env: Mapping[str, str], name: str, default: int, minimum: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError as e:
        raise InvalidField(name, f"must be an integer, got {raw[:40]!r}") from e
    if value < minimum:
        raise InvalidField(name, f"must be at least {minimum}")
    return value


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError as e:
        raise InvalidField(name, f"must be a number of seconds, got {raw[:40]!r}") from e
    if value < 0:
        raise InvalidField(name, "must not be negative")
    return value


def _flag(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise InvalidField(name, "must be true or false")
