"""Backend answers, validated into the service's output shapes (pure; the backend's fault is named).

Hugging Face's wire shapes (hf-inference router, TGI, OpenAI-style chat), each a pydantic model:

- text generation: `[{"generated_text"}]` (or the bare object, as TGI's `/generate` answers);
- chat completion: `{"choices": [{"message": {"content"}}]}`;
- text classification: `[[{"label", "score"}]]` (or one level of list less);
- token classification: `[{"entity_group" | "entity", "score", "word", "start", "end"}]`;
- summarization: `[{"summary_text"}]` (or the bare object);
- streams: server-sent events `data: <json>`; TGI's last event carries `generated_text`, chat
  streams end with `data: [DONE]` or a choice with a `finish_reason`.

Anything else (not JSON, another shape, a score that is missing, NaN, infinite or too large for
`uint256(score * SCORE_SCALE)`) raises MalformedAnswer with what was wrong, which the workflow
reports as a 502. Parsing the answer here, not inside huggingface_hub, keeps "the backend sent
garbage" apart from "the caller sent a bad request".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from typing import TypeVar

from pydantic import BaseModel
from pydantic import ConfigDict
from pydantic import TypeAdapter
from pydantic import ValidationError
from pydantic import model_validator

from .backend_http import MalformedAnswer
from .encoding import SCORE_SCALE
from .outputs import TaskOutput

__all__ = [
    "MAX_SCORE",
    "StreamEvent",
    "chat_stream_event",
    "parse_chat",
    "parse_generation",
    "parse_summarization",
    "parse_text_classification",
    "parse_token_classification",
    "tgi_stream_event",
]

# The largest score whose scaled value still fits the on-chain uint256.
MAX_SCORE = float((2**256 - 1) // SCORE_SCALE)
_DATA_PREFIX = b"data:"
_DONE = b"[DONE]"

_T = TypeVar("_T")


class _Answer(BaseModel):
    # Extra keys are the backend's business; numbers must be finite (NaN, Infinity and 1e400
    # are JSON the backend may send, and none of them is a score).
    model_config = ConfigDict(extra="ignore", allow_inf_nan=False, protected_namespaces=())


class _Generated(_Answer):
    generated_text: str


class _Message(_Answer):
    content: str | None = None


class _Choice(_Answer):
    message: _Message


class _Chat(_Answer):
    choices: list[_Choice]

    @model_validator(mode="after")
    def _one_choice(self) -> _Chat:
        if not self.choices:
            raise ValueError("no choices")
        return self


class _Scored(_Answer):
    score: float

    @model_validator(mode="after")
    def _fits_onchain(self) -> _Scored:
        if self.score > MAX_SCORE:
            raise ValueError(f"score {self.score:g} is too large for uint256(score * 1e6)")
        return self


class _Label(_Scored):
    label: str


class _Entity(_Scored):
    entity_group: str | None = None
    entity: str | None = None
    word: str
    start: int | None = None
    end: int | None = None

    @model_validator(mode="after")
    def _has_group(self) -> _Entity:
        if self.entity_group is None and self.entity is None:
            raise ValueError("neither entity_group nor entity")
        return self


class _Summary(_Answer):
    summary_text: str


class _Token(_Answer):
    text: str
    special: bool = False


class _TGIEvent(_Answer):
    token: _Token | None = None
    generated_text: str | None = None
    error: str | None = None


class _Delta(_Answer):
    content: str | None = None


class _ChunkChoice(_Answer):
    delta: _Delta | None = None
    finish_reason: str | None = None


class _ChatChunk(_Answer):
    choices: list[_ChunkChoice] = []
    error: Any = None


_GENERATED = TypeAdapter(list[_Generated] | _Generated)
_CHAT = TypeAdapter(_Chat)
_LABELS = TypeAdapter(list[list[_Label]] | list[_Label])
_ENTITIES = TypeAdapter(list[_Entity])
_SUMMARY = TypeAdapter(list[_Summary] | _Summary)
_TGI_EVENT = TypeAdapter(_TGIEvent)
_CHAT_CHUNK = TypeAdapter(_ChatChunk)


def _validate(adapter: TypeAdapter[_T], body: bytes, what: str) -> _T:
    try:
        return adapter.validate_json(body)
    except ValidationError as e:
        first = e.errors(include_url=False)[0]
        if first["type"] == "json_invalid":
            raise MalformedAnswer(f"{what} is not JSON ({_preview(body)})") from e
        where = ".".join(str(p) for p in first["loc"] if not str(p).startswith(("list[", "_")))
        at = f" at {where}" if where else ""
        raise MalformedAnswer(f"{what} has the wrong shape{at}: {first['msg']}") from e


def _preview(body: bytes) -> str:
    text = body[:60].decode("utf-8", errors="replace")
    return f"starts {text!r}" if body else "empty"


def _first(value: list[_T] | _T, what: str) -> _T:
    if isinstance(value, list):
        if not value:
            raise MalformedAnswer(f"{what} is an empty list")
        return value[0]
    return value


def parse_generation(body: bytes) -> str:
    """The generated text of a text-generation answer."""
    what = "the text-generation answer"
    return _first(_validate(_GENERATED, body, what), what).generated_text


def parse_chat(body: bytes) -> str:
    """The first choice's content of a chat-completion answer ("" when it is null)."""
    return _validate(_CHAT, body, "the chat-completion answer").choices[0].message.content or ""


def parse_text_classification(body: bytes) -> list[dict[str, Any]]:
    """[{"label", "score"}] in the backend's order."""
    parsed = _validate(_LABELS, body, "the text-classification answer")
    items: list[_Label] = []
    for item in parsed:
        if isinstance(item, list):
            items.extend(item)
            break  # one input, one list of labels: the first list is the answer
        items.append(item)
    return [{"label": e.label, "score": e.score} for e in items]


def parse_token_classification(body: bytes) -> list[dict[str, Any]]:
    """[{"entity_group", "score", "word", "start", "end"}]; `entity` stands in for the group."""
    parsed = _validate(_ENTITIES, body, "the token-classification answer")
    return [
        {
            "entity_group": e.entity_group if e.entity_group is not None else e.entity,
            "score": e.score,
            "word": e.word,
            "start": e.start,
            "end": e.end,
        }
        for e in parsed
    ]


def parse_summarization(body: bytes) -> TaskOutput:
    """{"summary_text"} of a summarization answer."""
    what = "the summarization answer"
    return {"summary_text": _first(_validate(_SUMMARY, body, what), what).summary_text}


@dataclass(frozen=True, slots=True)
class StreamEvent:
    """One decoded server-sent event: text to relay, and whether the stream says it is done."""

    text: str
    done: bool


_SKIP = StreamEvent("", done=False)


def _event_data(line: bytes) -> bytes | None:
    # Server-sent events (WHATWG HTML, "Parsing an event stream"): only `data:` fields carry
    # payloads here; comments, `event:`/`id:` fields and blank separators carry none.
    stripped = line.strip()
    if not stripped.startswith(_DATA_PREFIX):
        return None
    return stripped[len(_DATA_PREFIX) :].strip()


def tgi_stream_event(line: bytes) -> StreamEvent:
    """Decode one line of a TGI text-generation stream.

    Raises:
        MalformedAnswer: not JSON, the wrong shape, or an error event.
    """
    data = _event_data(line)
    if data is None:
        return _SKIP
    if data == _DONE:
        return StreamEvent("", done=True)
    event = _validate(_TGI_EVENT, data, "a streamed text-generation event")
    if event.error is not None:
        raise MalformedAnswer(f"the stream reported an error: {event.error[:200]}")
    if event.token is None:
        raise MalformedAnswer("a streamed text-generation event has no token")
    text = "" if event.token.special else event.token.text
    return StreamEvent(text, done=event.generated_text is not None)


def chat_stream_event(line: bytes) -> StreamEvent:
    """Decode one line of an OpenAI-style chat-completion stream.

    Raises:
        MalformedAnswer: not JSON, the wrong shape, or an error event.
    """
    data = _event_data(line)
    if data is None:
        return _SKIP
    if data == _DONE:
        return StreamEvent("", done=True)
    chunk = _validate(_CHAT_CHUNK, data, "a streamed chat-completion chunk")
    if chunk.error is not None:
        raise MalformedAnswer(f"the stream reported an error: {str(chunk.error)[:200]}")
    text = "".join(c.delta.content for c in chunk.choices if c.delta and c.delta.content)
    done = any(c.finish_reason is not None for c in chunk.choices)
    return StreamEvent(text, done=done)
