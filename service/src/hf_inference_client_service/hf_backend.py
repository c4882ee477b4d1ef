"""HFInferenceClientWorkflow: the four tasks against a Hugging Face-compatible backend.

The workflow owns its HTTP client (`BackendHTTP`, opened in `setup()`, closed in `close()`); no
process-wide client or factory exists. Requests follow Hugging Face's inference wire protocol
(the routes huggingface_hub 2.4.0's `inference/_providers/hf_inference.py` builds for a URL
model), answers are validated by `answers` so a malformed answer is the backend's fault:

- the four tasks: `POST {base}/models/{model}` with `{"inputs", "parameters"}` (text generation
  adds `"stream": true` when streaming; streamed answers are server-sent events);
- chat completion: `POST {base}/models/{model}/v1/chat/completions`, OpenAI-style body.

`{base}` is HF_INF_ENDPOINT or the hf-inference router. With another HF_INF_PROVIDER and no
endpoint, huggingface_hub's provider helper builds the request (in a thread: it may ask the Hub
for the provider's model id).

Failures become the service's typed errors (docs/service.md has the table): 429/503/connection
failures are retried by the RetryPolicy; 401/403 mean the token was rejected; a 422 naming one of
the job's parameters is the caller's fault; everything else the backend does wrong is a 502.
Successful answers and streams reach the caller with the token redacted (`redaction`).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import platform
from collections.abc import AsyncIterator
from collections.abc import Awaitable
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from importlib.metadata import version
from typing import Any
from typing import TypeVar
from urllib.parse import urlsplit
from urllib.parse import urlunsplit

import huggingface_hub
from huggingface_hub.utils import get_token_to_send  # type: ignore[attr-defined]

from . import answers
from .answers import StreamEvent
from .backend_faults import CHAT_NAMES
from .backend_faults import REASON_LIMIT
from .backend_faults import says_task_unsupported
from .backend_faults import status_error
from .backend_faults import without_unused_parameters
from .backend_http import BackendHTTP
from .backend_http import BackendStatus
from .backend_http import BackendUnreachable
from .backend_http import MalformedAnswer
from .config import ServiceConfig
from .config import TextGenerationMode
from .errors import BackendError
from .errors import BackendTimeout
from .errors import BackendUnavailable
from .errors import StreamBroken
from .errors import UnsupportedRequest
from .outputs import TaskOutput
from .redaction import StreamRedactor
from .redaction import redact_output
from .tasks import TaskId
from .tasks import TaskInput

__all__ = ["HFInferenceClientWorkflow", "chat_parameters"]

logger = logging.getLogger(__name__)

_T = TypeVar("_T")
_LIBRARY = "hf-inference-client-service"
# Targets remembered as chat-only, or with unused parameters, before the memory starts over.
_TARGET_MEMORY = 4096
_HUB_TASKS = {
    TaskId.TEXT_GENERATION: "text-generation",
    TaskId.TEXT_CLASSIFICATION: "text-classification",
    TaskId.TOKEN_CLASSIFICATION: "token-classification",
    TaskId.SUMMARIZATION: "summarization",
}
_CHAT_TASK = "conversational"
_CHAT_PATH = "/v1/chat/completions"
_PARSERS: dict[TaskId, Callable[[bytes], TaskOutput]] = {
    TaskId.TEXT_GENERATION: answers.parse_generation,
    TaskId.TEXT_CLASSIFICATION: answers.parse_text_classification,
    TaskId.TOKEN_CLASSIFICATION: answers.parse_token_classification,
    TaskId.SUMMARIZATION: answers.parse_summarization,
}


class _State(Enum):
    UNOPENED = "unopened"
    OPENED = "opened"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class _Request:
    url: str
    payload: Any
    headers: Mapping[str, str]
    # A provider's answer in its own shape -> Hugging Face's (huggingface_hub's provider helper).
    convert: Callable[[bytes], bytes] | None = None


def chat_parameters(parameters: Mapping[str, Any]) -> dict[str, Any]:
    """Chat-completion keyword arguments for text-generation parameters (others are dropped)."""
    return {CHAT_NAMES[k]: v for k, v in parameters.items() if k in CHAT_NAMES}


def _chat_url(url: str) -> str:
    # The route huggingface_hub builds for a URL model: `/v1/chat/completions` appended unless
    # the path already ends with it (or with `/v1`).
    parts = urlsplit(url)
    path = parts.path.rstrip("/")
    if path.endswith("/chat/completions"):
        return url
    path = path + "/chat/completions" if path.endswith("/v1") else path + _CHAT_PATH
    return urlunsplit(parts._replace(path=path))


def _backend_headers(token: str | None) -> dict[str, str]:
    """The headers of every backend request: user agent, JSON body, the token as a bearer.

    The token is HF_INF_TOKEN, else huggingface_hub's implicit one (its `get_token_to_send`:
    HF_TOKEN or the stored login, unless HF_HUB_DISABLE_IMPLICIT_TOKEN). The user agent names
    the service, huggingface_hub and Python, as huggingface_hub's `build_hf_headers` does, without
    its telemetry: that asks the Hub for a list of coding agents to look for in the environment
    (an HTTP client built and a network call, up to 3 s, on every start) and looks for torch.
    """
    headers = {
        "user-agent": f"{_LIBRARY}/{version(_LIBRARY)}; hf_hub/{huggingface_hub.__version__};"
        f" python/{platform.python_version()}",
        "content-type": "application/json",
    }
    sent = get_token_to_send(token)
    if sent is not None:
        headers["authorization"] = f"Bearer {sent}"
    return headers


class _ChatOnly(Exception):
    """Internal signal: the backend does not do text generation for this model."""


class _UnusedParameters(Exception):
    """Internal signal: the model does not use some parameters; `job` is the job without them."""

    def __init__(self, job: TaskInput) -> None:
        super().__init__("unused parameters")
        self.job = job


class HFInferenceClientWorkflow:
    """Runs TaskInputs against the backend through the workflow's own HTTP client.

    Lifecycle: `setup()` once on the serving event loop (the app does it in `before_serving`),
    then `inference()` / `stream()` per job, then `close()` (idempotent).
    """

    def __init__(self, config: ServiceConfig) -> None:
        self.config = config
        self.http = BackendHTTP(config.connections)
        self._headers: dict[str, str] = {}
        self._state = _State.UNOPENED
        # Targets that answered "text generation not supported": go straight to chat next time.
        self._chat_only: set[str] = set()
        # Per target, generation parameters it said it does not use: left out from then on.
        self._unused: dict[str, frozenset[str]] = {}

    def setup(self) -> HFInferenceClientWorkflow:
        """Open the HTTP client; returns self.

        Raises:
            RuntimeError: set up twice or after close.
        """
        if self._state is not _State.UNOPENED:
            raise RuntimeError(f"workflow is {self._state.value}; setup() runs once")
        self._headers = _backend_headers(self.config.token)
        self.http.open()
        self._state = _State.OPENED
        return self

    async def close(self) -> None:
        """Close the client's connections; safe to call twice."""
        self._state = _State.CLOSED
        await self.http.close()

    def target(self, job: TaskInput) -> tuple[str, str]:
        """(model id, where requests go: a URL when a base is known, else the model id)."""
        model = job.model or self.config.default_models[job.task]
        base = self.config.models_base_url
        if base is None or model.startswith(("http://", "https://")):
            return model, model
        return model, f"{base}/models/{model}"

    # ------------------------------------------------------------------ requests

    async def _request(
        self, task: str, target: str, inputs: Any, parameters: Mapping[str, Any], **extra: Any
    ) -> _Request:
        if target.startswith(("http://", "https://")):
            if task == _CHAT_TASK:
                return _Request(_chat_url(target), {**parameters, **extra}, self._headers)
            body = {"inputs": inputs, "parameters": dict(parameters), **extra}
            return _Request(target, body, self._headers)
        # Imported here, not at the top: the provider helpers load huggingface_hub's whole Hub
        # API (about 0.4 s at startup), and only a deployment with another provider uses them.
        from huggingface_hub.inference._providers import get_provider_helper

        helper = get_provider_helper(self.config.provider, task=task, model=target)  # type: ignore[arg-type]
        prepared = await asyncio.to_thread(
            helper.prepare_request,
            inputs=inputs,
            parameters=dict(parameters),
            headers={},
            model=target,
            api_key=self.config.token,
            extra_payload=extra or None,
        )

        def convert(body: bytes) -> bytes:
            try:
                converted = helper.get_response(json.loads(body), prepared)
                return json.dumps(converted, allow_nan=False).encode()
            except (ValueError, TypeError, KeyError, AttributeError) as e:
                reason = f"the {self.config.provider} answer cannot be read: {type(e).__name__}"
                raise MalformedAnswer(reason) from e

        return _Request(prepared.url, prepared.json, prepared.headers, convert)

    def _chat_request(self, job: TaskInput, model: str, target: str) -> dict[str, Any]:
        # The real model id in the body lets routers and the offline stand-in pick the model.
        return {
            "model": model,
            "messages": [{"role": "user", "content": job.text}],
            **chat_parameters(job.parameters),
        }

    # ------------------------------------------------------------------ non-streaming

    async def inference(self, job: TaskInput) -> TaskOutput:
        """Run one job and return its normalised output.

        Raises:
            BackendError: (and subclasses) the backend failed, timed out, stayed unavailable,
                rejected the token or answered something malformed.
            InvalidField: the backend refused one of the job's parameters (422).
            UnsupportedRequest: huggingface_hub refused the model/task/provider combination.
        """
        try:
            async with asyncio.timeout(self.config.timeout):
                output = await self._run(job)
        except TimeoutError as e:
            raise BackendTimeout(
                f"no answer from the backend within {self.config.timeout:g} s (HF_INF_TIMEOUT)"
            ) from e
        token = self.config.token
        return redact_output(output, token) if token else output

    async def _run(self, job: TaskInput) -> TaskOutput:
        model, target = self.target(job)
        if job.task is TaskId.TEXT_GENERATION:
            return await self._generate(job, model, target)
        parse = _PARSERS[job.task]
        request = await self._prepare(_HUB_TASKS[job.task], target, job.text, job.parameters)
        return await self._call(request, parse, job, model)

    async def _prepare(
        self, task: str, target: str, inputs: Any, parameters: Mapping[str, Any], **extra: Any
    ) -> _Request:
        try:
            return await self._request(task, target, inputs, parameters, **extra)
        except ValueError as e:
            # huggingface_hub's own checks: model/task/provider combinations it refuses.
            raise UnsupportedRequest("data.model", str(e)[:REASON_LIMIT]) from e
        except Exception as e:
            # With another provider, huggingface_hub asks the Hub for the provider's model id;
            # the Hub being unreachable or refusing is not the caller's fault.
            raise BackendUnavailable(
                f"cannot route model {target} to provider {self.config.provider}:"
                f" {type(e).__name__}"
            ) from e

    async def _generate(self, job: TaskInput, model: str, target: str) -> str:
        if not self._use_chat(target):

            async def generate(attempted: TaskInput, drop_unused: bool) -> str:
                request = await self._prepare(
                    _HUB_TASKS[job.task], target, attempted.text, attempted.parameters
                )
                return await self._call(
                    request,
                    answers.parse_generation,
                    attempted,
                    model,
                    fallback_ok=self.config.text_generation_mode is TextGenerationMode.AUTO,
                    drop_unused=drop_unused,
                )

            try:
                return await self._without_unused(job, model, target, generate)
            except _ChatOnly:
                self._remember_chat_only(target)
        body = {**self._chat_request(job, model, target), "stream": False}
        request = await self._prepare(_CHAT_TASK, target, None, body)
        content = await self._call(request, answers.parse_chat, job, model)
        return job.text + content if job.parameters.get("return_full_text") else content

    async def _without_unused(
        self,
        job: TaskInput,
        model: str,
        target: str,
        send: Callable[[TaskInput, bool], Awaitable[_T]],
    ) -> _T:
        """`send(job, True)`; if the model does not use some parameters, once more without them.

        The second call may not drop parameters again: a model that names other parameters
        after the first are gone gets its 400 reported. The dropped names are remembered per
        target and left out of later jobs, as huggingface_hub's client does, so a model costs
        the extra request once, not on every job.
        """
        known = self._unused.get(target)
        if known is not None and not known.isdisjoint(job.parameters):
            kept = {k: v for k, v in job.parameters.items() if k not in known}
            job = dataclasses.replace(job, parameters=kept)
        try:
            return await send(job, True)
        except _UnusedParameters as unused:
            dropped = frozenset(job.parameters) - frozenset(unused.job.parameters)
            self._remember_unused(target, dropped | (known or frozenset()))
            logger.info(
                "model %s does not use %s; asking again without them", model, sorted(dropped)
            )
            return await send(unused.job, False)

    def _remember_unused(self, target: str, names: frozenset[str]) -> None:
        if len(self._unused) >= _TARGET_MEMORY and target not in self._unused:
            self._unused.clear()
        self._unused[target] = names

    def _use_chat(self, target: str) -> bool:
        mode = self.config.text_generation_mode
        return mode is TextGenerationMode.CHAT or (
            mode is TextGenerationMode.AUTO and target in self._chat_only
        )

    def _remember_chat_only(self, target: str) -> None:
        if len(self._chat_only) >= _TARGET_MEMORY:
            self._chat_only.clear()
        self._chat_only.add(target)
        logger.info("text generation unsupported by %s; using chat completion", target)

    async def _call(
        self,
        request: _Request,
        parse: Callable[[bytes], _T],
        job: TaskInput,
        model: str,
        *,
        fallback_ok: bool = False,
        drop_unused: bool = False,
    ) -> _T:
        async def once() -> _T:
            body = await self.http.post(request.url, request.payload, request.headers)
            return parse(request.convert(body) if request.convert else body)

        return await self._attempts(
            once, job, model, fallback_ok=fallback_ok, drop_unused=drop_unused
        )

    async def _attempts(
        self,
        send: Callable[[], Awaitable[_T]],
        job: TaskInput,
        model: str,
        *,
        fallback_ok: bool = False,
        drop_unused: bool = False,
    ) -> _T:
        """Await `send`, retrying per the RetryPolicy, and translate failures.

        Args:
            fallback_ok: a "use chat completion" answer raises _ChatOnly.
            drop_unused: a "these parameters are not used" answer raises _UnusedParameters.
        """
        policy = self.config.retry
        attempt = 0
        while True:
            attempt += 1
            try:
                return await send()
            except BackendStatus as e:
                if drop_unused and (lean := without_unused_parameters(e, job)) is not None:
                    raise _UnusedParameters(lean) from e
                if fallback_ok and says_task_unsupported(e):
                    raise _ChatOnly from e
                if not policy.should_retry(attempt, e.status):
                    raise status_error(e, attempt, model, job) from e
                wait = policy.delay(attempt, e.headers.get("retry-after"))
            except BackendUnreachable as e:
                if not policy.should_retry(attempt, None):
                    raise BackendUnavailable(
                        f"cannot reach the backend for model {model} after {attempt} attempts: {e}"
                    ) from e
                wait = policy.delay(attempt)
            except MalformedAnswer as e:
                raise BackendError(f"backend answered model {model} with a bad answer: {e}") from e
            logger.warning(
                "backend busy for %s (attempt %d); retrying in %.2fs", model, attempt, wait
            )
            await asyncio.sleep(wait)

    # ------------------------------------------------------------------ streaming

    async def stream(self, job: TaskInput) -> AsyncIterator[str]:
        """Open a token stream for a text-generation job.

        Failures before the first token raise (the caller still gets an error status). After
        that, the returned iterator raises StreamBroken when the backend cuts the stream short,
        corrupts it, or the whole stream overruns HF_INF_TIMEOUT: the HTTP layer then drops the
        connection without ending the chunked body, which the node records as a failed job.

        Raises:
            BackendError: (and subclasses) as for `inference`, before any text is produced.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.config.timeout
        stack = contextlib.AsyncExitStack()
        model, _ = self.target(job)
        try:
            async with asyncio.timeout_at(deadline):
                events = await self._open_stream(stack, job)
                first = await anext(events, None)
        except TimeoutError as e:
            await stack.aclose()
            raise BackendTimeout(
                f"no answer from the backend within {self.config.timeout:g} s (HF_INF_TIMEOUT)"
            ) from e
        except MalformedAnswer as e:
            await stack.aclose()
            raise BackendError(f"backend answered model {model} with a bad stream: {e}") from e
        except BaseException:
            await stack.aclose()
            raise
        return self._relay(stack, first, events, deadline, model)

    async def _relay(
        self,
        stack: contextlib.AsyncExitStack,
        first: StreamEvent | None,
        events: AsyncIterator[StreamEvent],
        deadline: float,
        model: str,
    ) -> AsyncIterator[str]:
        event = first
        done = False
        token = self.config.token
        redactor = StreamRedactor(token) if token else None
        try:
            while event is not None:
                done = done or event.done
                text = redactor.feed(event.text) if redactor else event.text
                if text:
                    yield text
                # The deadline bounds every read, never the caller's own pace of consuming.
                async with asyncio.timeout_at(deadline):
                    event = await anext(events, None)
        except TimeoutError as e:
            raise StreamBroken(
                f"the stream for model {model} did not finish within"
                f" {self.config.timeout:g} s (HF_INF_TIMEOUT)"
            ) from e
        except MalformedAnswer as e:
            raise StreamBroken(f"the stream for model {model} broke off: {e}") from e
        finally:
            await stack.aclose()
        if not done:
            raise StreamBroken(f"the stream for model {model} ended before its final event")
        if redactor is not None and (rest := redactor.flush()):
            yield rest

    async def _open_stream(
        self, stack: contextlib.AsyncExitStack, job: TaskInput
    ) -> AsyncIterator[StreamEvent]:
        model, target = self.target(job)
        if not self._use_chat(target):

            async def open_stream(
                attempted: TaskInput, drop_unused: bool
            ) -> AsyncIterator[StreamEvent]:
                request = await self._prepare(
                    _HUB_TASKS[job.task], target, attempted.text, attempted.parameters, stream=True
                )
                return await self._open(
                    stack,
                    request,
                    answers.tgi_stream_event,
                    attempted,
                    model,
                    fallback_ok=self.config.text_generation_mode is TextGenerationMode.AUTO,
                    drop_unused=drop_unused,
                )

            try:
                return await self._without_unused(job, model, target, open_stream)
            except _ChatOnly:
                self._remember_chat_only(target)
        body = {**self._chat_request(job, model, target), "stream": True}
        request = await self._prepare(_CHAT_TASK, target, None, body)
        return await self._open(stack, request, answers.chat_stream_event, job, model)

    async def _open(
        self,
        stack: contextlib.AsyncExitStack,
        request: _Request,
        decode: Callable[[bytes], StreamEvent],
        job: TaskInput,
        model: str,
        *,
        fallback_ok: bool = False,
        drop_unused: bool = False,
    ) -> AsyncIterator[StreamEvent]:
        async def once() -> AsyncIterator[StreamEvent]:
            response = await stack.enter_async_context(
                self.http.stream(request.url, request.payload, request.headers)
            )
            return _decoded(self.http.lines(response), decode)

        return await self._attempts(
            once, job, model, fallback_ok=fallback_ok, drop_unused=drop_unused
        )


async def _decoded(
    lines: AsyncIterator[bytes], decode: Callable[[bytes], StreamEvent]
) -> AsyncIterator[StreamEvent]:
    async for line in lines:
        event = decode(line)
        if event.text or event.done:
            yield event
