"""Deterministic answers of the offline Hugging Face stand-in (pure functions, no model).

STAND-IN: nothing here is machine learning. Every answer is derived from the request alone, so
tests, the e2e suite and the offline demo can predict it:

- pipeline: chosen like the Hub's `pipeline_tag` would be, first from the request (a `stream`
  key or generation parameters `max_new_tokens`, `return_full_text`, `temperature`, `do_sample`
  mean text generation; `aggregation_strategy`, `ignore_labels`, `stride` token classification;
  `generate_parameters`, `truncation`, `clean_up_tokenization_spaces`, `max_length`
  summarization; `function_to_apply` text classification), else from the model id: parts
  (split on `/ - _ .`, lowercased) `ner`, `conll`, `conll03`, `pos`, `token` mean token
  classification; `bart`, `pegasus`, `t5`, `cnn`, `xsum`, `samsum`, `summarization` mean
  summarization; anything else is text classification.
- chat-only models: ids containing `instruct` or `chat` refuse text generation with the router's
  "not supported ... conversational" answer, like most chat models on Hugging Face today.
- transformers-served models: ids containing `flan` (google/flan-t5-base, ...) refuse the
  generation parameters only TGI understands (`watermark`, `stop`, `truncate`, `best_of`,
  `top_n_tokens`, `details`, `decoder_input_details`) with Hugging Face's 400 "The following
  `model_kwargs` are not used by the model: [...]", naming those the request holds.
- text generation / chat: a sentence that says what it is, then echoes the prompt:
  " Offline stand-in reply <6 hex digits of sha256(model, prompt, seed)>, not a model. Your
  prompt was: <prompt>". Each word is a token (" " + word); at most `n = max_new_tokens` (chat:
  `max_tokens`; default 20, at most 256) of them. `stop` cuts the text before the first stop
  string; `return_full_text` prepends the prompt.
- text classification: margin = (#POSITIVE_WORDS - #NEGATIVE_WORDS in the text) +
  (sha256(text)[0] / 255 - 0.5); POSITIVE scores sigmoid(margin), NEGATIVE 1 - that, sorted by
  score; `top_k` truncates.
- token classification: each run of capitalised words is an entity; its group is
  ENTITY_GROUPS[sha256(word)[0] % 4], its score 0.9 + sha256(word)[1] / 2550; `start`/`end` are
  character offsets. `aggregation_strategy: "none"` answers per word with `entity: "B-<group>"`;
  `ignore_labels` drops groups.
- summarization: "Offline stand-in summary, not a model: " + the first n words of the text,
  n = clamp(ceil(words / 2), min_length, max_length) with max_length default 30, read from
  `parameters.generate_parameters` (or flat `parameters`, the older api-inference format).
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping
from typing import Any

__all__ = [
    "ENTITY_GROUPS",
    "SUMMARY_PREFIX",
    "Pipeline",
    "generated_tokens",
    "is_chat_only",
    "pipeline_for",
    "summarize",
    "text_classification",
    "token_classification",
    "unused_model_kwargs",
]

ENTITY_GROUPS = ("ORG", "PER", "LOC", "MISC")
POSITIVE_WORDS = frozenset(
    {
        "good",
        "great",
        "awesome",
        "excellent",
        "love",
        "loved",
        "happy",
        "nice",
        "best",
        "amazing",
        "wonderful",
        "fantastic",
    }
)
NEGATIVE_WORDS = frozenset(
    {
        "bad",
        "terrible",
        "awful",
        "hate",
        "hated",
        "sad",
        "worst",
        "poor",
        "horrible",
        "boring",
        "broken",
        "wrong",
    }
)
DEFAULT_NEW_TOKENS = 20
MAX_NEW_TOKENS = 256
DEFAULT_SUMMARY_WORDS = 30
SUMMARY_PREFIX = "Offline stand-in summary, not a model: "
_REPLY_ID_HEX = 6

_TOKEN_PARTS = frozenset({"ner", "conll", "conll03", "pos", "token"})
_SUMMARY_PARTS = frozenset({"bart", "pegasus", "t5", "cnn", "xsum", "samsum", "summarization"})
_TOKEN_PARAMS = frozenset({"aggregation_strategy", "ignore_labels", "stride"})
_SUMMARY_PARAMS = frozenset(
    {"generate_parameters", "truncation", "clean_up_tokenization_spaces", "max_length"}
)
_CLASSIFY_PARAMS = frozenset({"function_to_apply"})
_GENERATE_PARAMS = frozenset({"max_new_tokens", "return_full_text", "temperature", "do_sample"})
_TRANSFORMERS_MARKER = "flan"
# Text-generation parameters of TGI that transformers' `generate` has no use for.
_TGI_ONLY_PARAMS = (
    "watermark",
    "stop",
    "truncate",
    "best_of",
    "top_n_tokens",
    "details",
    "decoder_input_details",
)
_CAPITALISED = re.compile(r"[A-Z][\w'-]*(?: [A-Z][\w'-]*)*")
_WORD = re.compile(r"[\w']+")
_SEPARATORS = re.compile(r"[/\-_.]")


class Pipeline:
    """Pipeline names, as in the Hub's `pipeline_tag`."""

    TEXT_GENERATION = "text-generation"
    TEXT_CLASSIFICATION = "text-classification"
    TOKEN_CLASSIFICATION = "token-classification"  # noqa: S105 (a task name, not a secret)
    SUMMARIZATION = "summarization"


def _digest(*parts: str) -> bytes:
    return hashlib.sha256("\x1f".join(parts).encode()).digest()


def is_chat_only(model: str) -> bool:
    """Whether the stand-in treats `model` as a chat model without text generation."""
    lowered = model.lower()
    return "instruct" in lowered or "chat" in lowered


def unused_model_kwargs(model: str, parameters: Mapping[str, Any]) -> list[str]:
    """TGI-only parameters a transformers-served model (id containing `flan`) refuses."""
    if _TRANSFORMERS_MARKER not in model.lower():
        return []
    return [name for name in _TGI_ONLY_PARAMS if name in parameters]


def pipeline_for(model: str, body: Mapping[str, Any]) -> str:
    """The pipeline a POST /models/{model} request runs (see the module docstring)."""
    if "stream" in body:
        return Pipeline.TEXT_GENERATION
    params = body.get("parameters")
    keys = set(params) if isinstance(params, dict) else set()
    if keys & _TOKEN_PARAMS:
        return Pipeline.TOKEN_CLASSIFICATION
    if keys & _SUMMARY_PARAMS:
        return Pipeline.SUMMARIZATION
    if keys & _CLASSIFY_PARAMS:
        return Pipeline.TEXT_CLASSIFICATION
    if keys & _GENERATE_PARAMS:
        return Pipeline.TEXT_GENERATION
    parts = set(_SEPARATORS.split(model.lower()))
    if parts & _TOKEN_PARTS:
        return Pipeline.TOKEN_CLASSIFICATION
    if parts & _SUMMARY_PARTS:
        return Pipeline.SUMMARIZATION
    return Pipeline.TEXT_CLASSIFICATION


def generated_tokens(
    model: str, prompt: str, max_tokens: int | None, seed: int | None = None
) -> list[str]:
    """The tokens the stand-in "generates" for a prompt (each starts with a space)."""
    count = min(MAX_NEW_TOKENS, max(1, max_tokens or DEFAULT_NEW_TOKENS))
    reply = _digest(model, prompt, "" if seed is None else str(seed)).hex()[:_REPLY_ID_HEX]
    sentence = f"Offline stand-in reply {reply}, not a model. Your prompt was: {prompt}"
    return [" " + word for word in sentence.split()][:count]


def cut_at_stop(text: str, stop: list[str] | None) -> str:
    """Text up to (excluding) the first occurrence of any stop string."""
    cut = len(text)
    for s in stop or []:
        at = text.find(s) if s else -1
        if at != -1:
            cut = min(cut, at)
    return text[:cut]


def text_classification(text: str, top_k: int | None) -> list[dict[str, Any]]:
    """[{"label", "score"}] for POSITIVE/NEGATIVE, highest score first."""
    words = [w.lower() for w in _WORD.findall(text)]
    votes = sum(w in POSITIVE_WORDS for w in words) - sum(w in NEGATIVE_WORDS for w in words)
    margin = votes + _digest(text)[0] / 255 - 0.5
    positive = 1 / (1 + math.exp(-margin))
    pairs = sorted([("POSITIVE", positive), ("NEGATIVE", 1 - positive)], key=lambda p: -p[1])
    scores = [{"label": label, "score": score} for label, score in pairs]
    return scores[:top_k] if top_k else scores


def token_classification(
    text: str, aggregation_strategy: str | None, ignore_labels: list[str] | None
) -> list[dict[str, Any]]:
    """Entities: runs of capitalised words, grouped deterministically."""
    ignored = set(ignore_labels or [])
    out: list[dict[str, Any]] = []
    per_word = aggregation_strategy == "none"
    spans = (
        [(m.start(), m.group()) for m in re.finditer(r"[A-Z][\w'-]*", text)]
        if per_word
        else [(m.start(), m.group()) for m in _CAPITALISED.finditer(text)]
    )
    for start, word in spans:
        digest = _digest(word)
        group = ENTITY_GROUPS[digest[0] % len(ENTITY_GROUPS)]
        if group in ignored:
            continue
        entity: dict[str, Any] = {"score": 0.9 + digest[1] / 2550, "word": word}
        entity["start"], entity["end"] = start, start + len(word)
        if per_word:
            entity["entity"] = f"B-{group}"
        else:
            entity["entity_group"] = group
        out.append(entity)
    return out


def summarize(text: str, parameters: Mapping[str, Any]) -> str:
    """SUMMARY_PREFIX + the first n words of the text (see the module docstring for n)."""
    knobs = parameters.get("generate_parameters") or parameters
    words = text.split()
    max_len = int(knobs.get("max_length") or DEFAULT_SUMMARY_WORDS)
    min_len = int(knobs.get("min_length") or 1)
    count = max(min_len, min(max_len, math.ceil(len(words) / 2)))
    return SUMMARY_PREFIX + " ".join(words[:count])
