"""HFInferenceClientWorkflow: the four tasks through huggingface_hub's AsyncInferenceClient.

One client is created in `setup()` and reused by every request (its httpx2 connection pool stays
warm). Models are addressed as `{base}/models/{model}` URLs whenever a base is known (an
HF_INF_ENDPOINT, or the hf-inference router): huggingface_hub 2.4.0 then uses the URL verbatim and
skips its synchronous Hub lookups (`_check_supported_task`, `_fetch_recommended_models`), which
would block the event loop and fail offline. Routes the client calls with such a URL (read from
huggingface_hub 2.4.0 `inference/_providers/hf_inference.py`):

- the four tasks: `POST {base}/models/{model}` with `{"inputs", "parameters"}`
  (text generation adds `"stream"`; streamed answers are server-sent events);
- chat completion: `POST {base}/models/{model}/v1/chat/completions`.

Errors become the service's typed errors: 429/503/connection failures are retried by the
RetryPolicy, and the final failure names the status, the backend's reason and the attempts.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from collections.abc import Awaitable
from collections.abc import Callable
from collections.abc import Mapping
from enum import Enum
from typing import Any
from typing import TypeVar

import httpx2
from huggingface_hub import AsyncInferenceClient
from huggingface_hub import set_async_client_factory
from huggingface_hub.errors import HfHubHTTPError
from huggingface_hub.errors import InferenceTimeoutError
from huggingface_hub.errors import TextGenerationError

from .config import ServiceConfig
from .config import TextGenerationMode
from .errors import BackendError
from .errors import BackendTimeout
from .errors import BackendUnavailable
from .errors import UnsupportedRequest
from .outputs import TaskOutput
from .outputs import summarization_output
from .outputs import text_classification_output
from .outputs import token_classification_output
from .tasks import TaskId
from .tasks import TaskInput
from .transport import CachingAsyncClient
from .transport import PooledTransport
from .transport import lean_transport_enabled

__all__ = ["HFInferenceClientWorkflow", "chat_parameters", "says_task_unsupported"]

logger = logging.getLogger(__name__)

_T = TypeVar("_T")
# Text-generation knobs that chat completion understands, with their chat names.
_CHAT_NAMES = {
    "max_new_tokens": "max_tokens",
    "temperature": "temperature",
    "top_p": "top_p",
    "seed": "seed",
    "stop": "stop",
    "frequency_penalty": "frequency_penalty",
}
_REASON_LIMIT = 300
# Markers of "this model is chat-only" answers: the router's "Task 'text-generation' not
# supported for provider. Available tasks: ['conversational']" (hub-docs#1766,
# huggingface_hub#3196) and huggingface_hub's own provider check.
_UNSUPPORTED_MARKERS = ("not supported", "conversational")
_CHAT_ONLY_MEMORY = 4096


# One transport (per-loop keep-alive pools) shared by every httpx2 client the hub creates.
_TRANSPORT = PooledTransport()


async def _read_error_bodies(response: httpx2.Response) -> None:
    # Like huggingface_hub's own response hook: error bodies are read so that streamed calls
    # can still explain a 4xx/5xx.
    if response.status_code >= 400:
        await response.aread()


def _lean_async_client() -> httpx2.AsyncClient:
    return CachingAsyncClient(
        transport=_TRANSPORT,
        event_hooks={"response": [_read_error_bodies]},
        follow_redirects=True,
        timeout=None,
    )


class _State(Enum):
    UNOPENED = "unopened"
    OPENED = "opened"
    CLOSED = "closed"


def chat_parameters(parameters: Mapping[str, Any]) -> dict[str, Any]:
    """Chat-completion keyword arguments for text-generation parameters (others are dropped)."""
    return {_CHAT_NAMES[k]: v for k, v in parameters.items() if k in _CHAT_NAMES}


def says_task_unsupported(error: BaseException) -> bool:
    """Whether an error means "this model does not do text generation, use chat"."""
    http = _http_error(error)
    if http is not None:
        if http.response.status_code not in (400, 404, 422):
            return False
        text = _response_text(http).lower()
    elif isinstance(error, ValueError):
        text = str(error).lower()
    else:
        return False
    return any(marker in text for marker in _UNSUPPORTED_MARKERS)


def _http_error(error: BaseException) -> HfHubHTTPError | None:
    # huggingface_hub re-raises TGI errors as TextGenerationError "from" the HTTP error.
    current: BaseException | None = error
    while current is not None:
        if isinstance(current, HfHubHTTPError):
            return current
        current = current.__cause__
    return None


def _response_text(error: HfHubHTTPError) -> str:
    try:
        text = error.response.text
    except httpx2.ResponseNotRead:
        return ""
    try:
        payload = json.loads(text)
    except ValueError:
        return text.strip()
    if isinstance(payload, dict) and "error" in payload:
        inner = payload["error"]
        if isinstance(inner, dict):
            return str(inner.get("message", inner))
        return str(inner)
    return text.strip()


def _backend_error(error: HfHubHTTPError, attempts: int, model: str) -> BackendError:
    status = error.response.status_code
    detail = _response_text(error)[:_REASON_LIMIT] or error.response.reason_phrase
    tries = f" after {attempts} attempts" if attempts > 1 else ""
    reason = f"backend answered {status} for model {model}{tries}: {detail}"
    if status in (429, 503):
        return BackendUnavailable(reason)
    if status == 504:
        return BackendTimeout(reason)
    return BackendError(reason)


class HFInferenceClientWorkflow:
    """Runs TaskInputs through one reused AsyncInferenceClient.

    Lifecycle: `setup()` once (the app does it in `before_serving`), then `inference()` /
    `stream()` per job, then `close()` (idempotent).
    """

    def __init__(self, config: ServiceConfig) -> None:
        self.config = config
        self._client: AsyncInferenceClient | None = None
        self._state = _State.UNOPENED
        # Targets that answered "text generation not supported": go straight to chat next time.
        self._chat_only: set[str] = set()

    def setup(self) -> HFInferenceClientWorkflow:
        """Create the shared client; returns self.

        Raises:
            RuntimeError: set up twice or after close.
        """
        if self._state is not _State.UNOPENED:
            raise RuntimeError(f"workflow is {self._state.value}; setup() runs once")
        if lean_transport_enabled():
            # huggingface_hub's documented hook for the httpx2 client behind AsyncInferenceClient.
            set_async_client_factory(_lean_async_client)
        self._client = self._new_client()
        self._state = _State.OPENED
        return self

    async def close(self) -> None:
        """Close the client's connections; safe to call twice."""
        client, self._client = self._client, None
        self._state = _State.CLOSED
        if client is not None:
            await _close(client)
            await _TRANSPORT.close_pools()

    def _new_client(self) -> AsyncInferenceClient:
        provider: Any = None if self.config.models_base_url is not None else self.config.provider
        return AsyncInferenceClient(
            provider=provider, token=self.config.token, timeout=self.config.timeout
        )

    def _opened(self) -> AsyncInferenceClient:
        if self._client is None:
            raise RuntimeError(f"workflow is {self._state.value}; call setup() first")
        return self._client

    def target(self, job: TaskInput) -> tuple[str, str]:
        """(model id, what the client is given as model: a URL when a base is known)."""
        model = job.model or self.config.default_models[job.task]
        base = self.config.models_base_url
        if base is None or model.startswith(("http://", "https://")):
            return model, model
        return model, f"{base}/models/{model}"

    # ------------------------------------------------------------------ non-streaming

    async def inference(self, job: TaskInput) -> TaskOutput:
        """Run one job and return its normalised output.

        Raises:
            BackendError: (and subclasses) the backend failed, timed out or stayed unavailable.
            UnsupportedRequest: huggingface_hub refused the model/task/provider combination.
        """
        try:
            async with asyncio.timeout(self.config.timeout):
                return await self._run(job)
        except TimeoutError as e:
            raise BackendTimeout(
                f"no answer from the backend within {self.config.timeout:g} s (HF_INF_TIMEOUT)"
            ) from e

    async def _run(self, job: TaskInput) -> TaskOutput:
        client = self._opened()
        model, target = self.target(job)
        params = job.parameters
        if job.task is TaskId.TEXT_GENERATION:
            return await self._generate(client, job, model, target)
        if job.task is TaskId.TEXT_CLASSIFICATION:
            elements = await self._call(
                lambda: client.text_classification(job.text, model=target, **params), model
            )
            return text_classification_output(elements)
        if job.task is TaskId.TOKEN_CLASSIFICATION:
            entities = await self._call(
                lambda: client.token_classification(job.text, model=target, **params), model
            )
            return token_classification_output(entities)
        summary = await self._call(
            lambda: client.summarization(job.text, model=target, **params), model
        )
        return summarization_output(summary)

    async def _generate(
        self, client: AsyncInferenceClient, job: TaskInput, model: str, target: str
    ) -> str:
        if not self._use_chat(target):
            try:
                text: Any = await self._call(
                    lambda: client.text_generation(job.text, model=target, **job.parameters),
                    model,
                    fallback_ok=self.config.text_generation_mode is TextGenerationMode.AUTO,
                )
                return str(text)
            except _ChatOnly:
                self._remember_chat_only(target)
        answer = await self._call(
            lambda: client.chat_completion(**self._chat_request(job, model, target)), model
        )
        content = answer.choices[0].message.content or ""
        return job.text + content if job.parameters.get("return_full_text") else content

    def _use_chat(self, target: str) -> bool:
        mode = self.config.text_generation_mode
        return mode is TextGenerationMode.CHAT or (
            mode is TextGenerationMode.AUTO and target in self._chat_only
        )

    def _remember_chat_only(self, target: str) -> None:
        if len(self._chat_only) >= _CHAT_ONLY_MEMORY:
            self._chat_only.clear()
        self._chat_only.add(target)
        logger.info("text generation unsupported by %s; using chat completion", target)

    def _chat_request(self, job: TaskInput, model: str, target: str) -> dict[str, Any]:
        request: dict[str, Any] = {
            "messages": [{"role": "user", "content": job.text}],
            "model": target,
            **chat_parameters(job.parameters),
        }
        if target != model:
            # With a URL as model, huggingface_hub would put "dummy" in the body's `model`;
            # the real id lets routers and the offline stand-in pick the model.
            request["extra_body"] = {"model": model}
        return request

    async def _call(
        self, call: Callable[[], Awaitable[_T]], model: str, *, fallback_ok: bool = False
    ) -> _T:
        """Await `call`, retrying per the RetryPolicy, and translate failures."""
        policy = self.config.retry
        attempt = 0
        while True:
            attempt += 1
            try:
                return await call()
            except InferenceTimeoutError as e:
                raise BackendTimeout(
                    f"backend did not answer for model {model} within {self.config.timeout:g} s"
                ) from e
            except (HfHubHTTPError, TextGenerationError) as e:
                if fallback_ok and says_task_unsupported(e):
                    raise _ChatOnly from e
                http = _http_error(e)
                if http is None:
                    raise BackendError(f"backend error for model {model}: {e}"[:400]) from e
                status = http.response.status_code
                if not policy.should_retry(attempt, status):
                    raise _backend_error(http, attempt, model) from e
                wait = policy.delay(attempt, http.response.headers.get("retry-after"))
            except httpx2.TransportError as e:
                if not policy.should_retry(attempt, None):
                    raise BackendUnavailable(
                        f"cannot reach the backend for model {model} after {attempt} attempts:"
                        f" {type(e).__name__}"
                    ) from e
                wait = policy.delay(attempt)
            except ValueError as e:
                # huggingface_hub's own checks: model/task/provider combinations it refuses.
                if fallback_ok and says_task_unsupported(e):
                    raise _ChatOnly from e
                raise UnsupportedRequest("data.model", str(e)[:_REASON_LIMIT]) from e
            except Exception as e:
                logger.warning("unexpected backend answer for %s: %r", model, e)
                raise BackendError(
                    f"backend answered model {model} with something unexpected: {type(e).__name__}"
                ) from e
            logger.warning(
                "backend busy for %s (attempt %d); retrying in %.2fs", model, attempt, wait
            )
            await asyncio.sleep(wait)

    # ------------------------------------------------------------------ streaming

    async def stream(self, job: TaskInput) -> AsyncIterator[str]:
        """Open a token stream for a text-generation job; failures before the first token raise.

        huggingface_hub 2.4.0 keeps every streamed response on the client's exit stack until the
        client closes (`_inner_post`, stream=True), so each stream gets a short-lived client of
        its own; the shared client stays leak-free.

        Raises:
            BackendError: (and subclasses) as for `inference`, before any text is produced.
        """
        client = self._new_client()
        try:
            async with asyncio.timeout(self.config.timeout):
                tokens = await self._open_stream(client, job)
                first = await anext(tokens, None)
        except TimeoutError as e:
            await _close(client)
            raise BackendTimeout(
                f"no answer from the backend within {self.config.timeout:g} s (HF_INF_TIMEOUT)"
            ) from e
        except BaseException:
            await _close(client)
            raise
        return self._relay(client, first, tokens)

    async def _relay(
        self, client: AsyncInferenceClient, first: str | None, tokens: AsyncIterator[str]
    ) -> AsyncIterator[str]:
        try:
            if first is None:
                return
            yield first
            async for token in tokens:
                yield token
        except Exception as e:
            # Status 200 is already sent; the node records a stream that ends early as failed.
            logger.warning("stream from the backend broke off: %s", type(e).__name__)
        finally:
            await _close(client)

    async def _open_stream(
        self, client: AsyncInferenceClient, job: TaskInput
    ) -> AsyncIterator[str]:
        model, target = self.target(job)
        if not self._use_chat(target):
            try:
                stream: Any = await self._call(
                    lambda: client.text_generation(
                        job.text, model=target, stream=True, **job.parameters
                    ),
                    model,
                    fallback_ok=self.config.text_generation_mode is TextGenerationMode.AUTO,
                )
                return _as_text(stream)
            except _ChatOnly:
                self._remember_chat_only(target)
        chunks: Any = await self._call(
            lambda: client.chat_completion(stream=True, **self._chat_request(job, model, target)),
            model,
        )
        return _chat_text(chunks)


async def _close(client: Any) -> None:
    # AsyncInferenceClient.close() carries no annotations; called through Any for mypy strict.
    await client.close()


class _ChatOnly(Exception):
    """Internal signal: the backend does not do text generation for this model."""


async def _as_text(tokens: AsyncIterator[Any]) -> AsyncIterator[str]:
    async for token in tokens:
        yield str(token)


async def _chat_text(chunks: AsyncIterator[Any]) -> AsyncIterator[str]:
    async for chunk in chunks:
        for choice in chunk.choices:
            if choice.delta.content:
                yield choice.delta.content
