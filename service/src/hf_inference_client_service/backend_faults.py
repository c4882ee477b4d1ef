"""Backend failures as the service's errors, each blamed on whoever caused it (pure).

- 401/403: the backend rejected the Hugging Face token: a 502 that says so, never the token;
- 422 naming one of the job's parameters: the caller's fault, a 400 naming `data.<parameter>`
  with the backend's reason;
- 429/503 after the retries: 503; 504: 504; any other status: 502 with the backend's reason;
- "this model does not do text generation" answers (400/404/422 with the router's wording)
  are recognised so the workflow can fall back to chat completion;
- "The following `model_kwargs` are not used by the model: [...]" (a 400 from models served by
  transformers rather than TGI, gpt2 or flan-t5 for instance) is recognised so the workflow can
  ask once more without exactly the named parameters, as huggingface_hub's own
  `InferenceClient.text_generation` does (huggingface_hub 2.x, `inference/_client.py`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import replace
from http import HTTPStatus

from .backend_http import BackendStatus
from .errors import BackendError
from .errors import BackendTimeout
from .errors import BackendUnavailable
from .errors import InvalidField
from .errors import ServiceError
from .tasks import TaskId
from .tasks import TaskInput

__all__ = [
    "CHAT_NAMES",
    "REASON_LIMIT",
    "backend_reason",
    "says_task_unsupported",
    "status_error",
    "without_unused_parameters",
]

# Text-generation knobs that chat completion understands, with their chat names.
CHAT_NAMES = {
    "max_new_tokens": "max_tokens",
    "temperature": "temperature",
    "top_p": "top_p",
    "seed": "seed",
    "stop": "stop",
    "frequency_penalty": "frequency_penalty",
}
REASON_LIMIT = 300
# Markers of "this model is chat-only" answers: the router's "Task 'text-generation' not
# supported for provider. Available tasks: ['conversational']" (hub-docs#1766,
# huggingface_hub#3196) and huggingface_hub's own provider check.
_UNSUPPORTED_MARKERS = ("not supported", "conversational")
_FALLBACK_STATUSES = frozenset({400, 404, 422})
# transformers' `generate` refuses keyword arguments the model does not use with this message
# (`GenerationMixin._validate_model_kwargs`), which Hugging Face answers as a 400; the list is a
# Python list repr of the names.
_UNUSED_MODEL_KWARGS = re.compile(
    r"The following `model_kwargs` are not used by the model: \[(.*?)\]"
)


def says_task_unsupported(error: BaseException) -> bool:
    """Whether an error means "this model does not do text generation, use chat"."""
    if isinstance(error, BackendStatus):
        if error.status not in _FALLBACK_STATUSES:
            return False
        text = backend_reason(error.body).lower()
    elif isinstance(error, ValueError):
        text = str(error).lower()
    else:
        return False
    return any(marker in text for marker in _UNSUPPORTED_MARKERS)


def without_unused_parameters(error: BackendStatus, job: TaskInput) -> TaskInput | None:
    """`job` without the parameters a 400 says the model does not use; None if it says none.

    Only names the job sent are dropped: a 400 naming none of them (or any other answer) gets
    None, since asking again would be refused the same way.
    """
    if error.status != HTTPStatus.BAD_REQUEST:
        return None
    match = _UNUSED_MODEL_KWARGS.search(backend_reason(error.body))
    if match is None:
        return None
    named = {name.strip().strip("'\"") for name in match.group(1).split(",")}
    if named.isdisjoint(job.parameters):
        return None
    kept = {name: value for name, value in job.parameters.items() if name not in named}
    return replace(job, parameters=kept)


def backend_reason(body: bytes) -> str:
    """The backend's own explanation: `error` (or `error.message`) of a JSON body, else text."""
    text = body[:4096].decode("utf-8", errors="replace").strip()
    try:
        payload = json.loads(text)
    except ValueError:
        return text
    if isinstance(payload, dict) and "error" in payload:
        inner = payload["error"]
        if isinstance(inner, dict):
            return str(inner.get("message", inner))
        return str(inner)
    return text


def _parameter_fields(job: TaskInput) -> dict[str, str]:
    """Wire name of each parameter the job sent -> the caller's field naming it."""
    fields: dict[str, str] = {}
    for name, value in job.parameters.items():
        if name == "generate_parameters" and isinstance(value, Mapping):
            fields.update({inner: f"data.parameters.{inner}" for inner in value})
        elif job.task is TaskId.SUMMARIZATION:
            fields[name] = f"data.parameters.{name}"
        else:
            fields[name] = f"data.{name}"
    for generation, chat in CHAT_NAMES.items():
        if generation in fields:
            fields.setdefault(chat, fields[generation])
    return fields


def status_error(error: BackendStatus, attempts: int, model: str, job: TaskInput) -> ServiceError:
    """The service error for a backend's error status (pure; the token is never in it)."""
    status = error.status
    phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else ""
    detail = backend_reason(error.body)[:REASON_LIMIT] or phrase
    tries = f" after {attempts} attempts" if attempts > 1 else ""
    if status in (HTTPStatus.UNAUTHORIZED, HTTPStatus.FORBIDDEN):
        return BackendError(
            f"the backend rejected the Hugging Face token (HTTP {status}) for model {model}"
            f" (HF_INF_TOKEN): {detail}"
        )
    if status == HTTPStatus.UNPROCESSABLE_ENTITY:
        fields = _parameter_fields(job)
        named = [name for name in fields if re.search(rf"\b{re.escape(name)}\b", detail)]
        if named:
            return InvalidField(fields[named[0]], f"refused by the backend: {detail}")
    reason = f"backend answered {status} for model {model}{tries}: {detail}"
    if status in (HTTPStatus.TOO_MANY_REQUESTS, HTTPStatus.SERVICE_UNAVAILABLE):
        return BackendUnavailable(reason)
    if status == HTTPStatus.GATEWAY_TIMEOUT:
        return BackendTimeout(reason)
    return BackendError(reason)
