"""Bounds of an on-chain answer, so that every answer the service gives fits one delivery (pure).

A consumer stores what it is delivered, and the node sends a delivery with at most its
`max_gas_limit` of gas (4,000,000 in the local stack; Infernet Node's default is 5,000,000).
Without a bound, a token classification over a long text (one label per entity) or a long
generated text makes an answer no node can deliver. The defaults (docs/service.md, "On-chain
answers") keep the largest answer they allow within that limit with 2x headroom, which the
contracts' forge tests measure.

Only on-chain answers (destination 0) are bounded; the off-chain JSON answer stays whole:

- label tasks (2, 3): the `max_labels` labels with the highest scores, each label cut to
  `max_label_bytes` UTF-8 bytes. Equal scores keep the backend's order (the earlier label
  wins), and the kept labels stay in the backend's order: by score for text classification,
  by position in the text for token classification. A bounded answer is therefore always a
  subsequence of the whole one, and an answer within the bounds is unchanged.
- text tasks (1, 4): at most `max_text_bytes` UTF-8 bytes of the text.

Every cut falls on a UTF-8 character boundary, so the chain always receives valid UTF-8.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .outputs import TaskOutput
from .outputs import labels_and_scores
from .tasks import TaskId

__all__ = [
    "DEFAULT_MAX_ONCHAIN_LABELS",
    "DEFAULT_MAX_ONCHAIN_LABEL_BYTES",
    "DEFAULT_MAX_ONCHAIN_TEXT_BYTES",
    "OnchainLimits",
    "bound_onchain_output",
    "utf8_prefix",
]

DEFAULT_MAX_ONCHAIN_LABELS = 8
DEFAULT_MAX_ONCHAIN_LABEL_BYTES = 64
DEFAULT_MAX_ONCHAIN_TEXT_BYTES = 1024
# UTF-8 encodes a code point in at most 4 bytes (RFC 3629 section 3).
_MAX_UTF8_BYTES_PER_CHAR = 4


@dataclass(frozen=True, slots=True)
class OnchainLimits:
    """How much of an answer goes on chain.

    Attributes:
        max_labels: labels (tasks 2, 3) kept, those with the highest scores.
        max_label_bytes: UTF-8 bytes kept of each label.
        max_text_bytes: UTF-8 bytes kept of a generated text or summary (tasks 1, 4).
    """

    max_labels: int = DEFAULT_MAX_ONCHAIN_LABELS
    max_label_bytes: int = DEFAULT_MAX_ONCHAIN_LABEL_BYTES
    max_text_bytes: int = DEFAULT_MAX_ONCHAIN_TEXT_BYTES


def utf8_prefix(text: str, max_bytes: int) -> str:
    """The longest prefix of `text` whose UTF-8 encoding has at most `max_bytes` bytes."""
    if len(text) * _MAX_UTF8_BYTES_PER_CHAR <= max_bytes:
        return text  # short enough whatever its characters: no need to encode it
    raw = text.encode()
    if len(raw) <= max_bytes:
        return text
    # The text was valid UTF-8, so the only invalid bytes after the cut are those of the last,
    # incomplete character: dropping them ends the prefix on a character boundary.
    return raw[:max_bytes].decode("utf-8", errors="ignore")


def bound_onchain_output(task: TaskId, output: TaskOutput, limits: OnchainLimits) -> TaskOutput:
    """`output` cut to what goes on chain (module docstring); unchanged when within the bounds."""
    if task is TaskId.TEXT_GENERATION:
        assert isinstance(output, str)
        return utf8_prefix(output, limits.max_text_bytes)
    if task is TaskId.SUMMARIZATION:
        assert isinstance(output, dict)
        summary = str(output["summary_text"])
        return {"summary_text": utf8_prefix(summary, limits.max_text_bytes)}
    labels, scores = labels_and_scores(output)
    if len(labels) <= limits.max_labels and all(
        len(label) * _MAX_UTF8_BYTES_PER_CHAR <= limits.max_label_bytes for label in labels
    ):
        return output  # the common answer (a few short labels) is within the bounds as it is
    kept: Sequence[int] = range(len(labels))
    if len(labels) > limits.max_labels:
        # heapq.nlargest is stable (it equals sorted(..., reverse=True)[:n]): among equal scores
        # the earlier label wins. Sorting the kept indices restores the backend's order.
        kept = sorted(heapq.nlargest(limits.max_labels, kept, key=scores.__getitem__))
    bounded: list[dict[str, Any]] = [
        {"label": utf8_prefix(labels[i], limits.max_label_bytes), "score": scores[i]} for i in kept
    ]
    return bounded
