"""ABI wire format of on-chain jobs: hex input in, five hex fields out.

Input (docs/contracts.md, wire formats): hex of `abi.encode(uint8 task, string model,
string input)`, with or without `0x` (the node sends it without). An empty model means the task's
default model; the input string is the prompt (task 1) or the text (tasks 2-4).

Output (docs/contracts.md, wire formats): `raw_output` is `abi.encode(string)` for tasks 1 and 4 and
`abi.encode(string[] labels, uint256[] scores)` for tasks 2 and 3, each score multiplied by
SCORE_SCALE and truncated like upstream's `int(score * 1e6)`. All five fields are hex without 0x,
because the node decodes them with `bytes.fromhex`.
"""

from __future__ import annotations

import string
from typing import Any

from eth_abi.abi import decode
from eth_abi.abi import encode
from eth_abi.exceptions import DecodingError

from .errors import InvalidField
from .outputs import TaskOutput
from .outputs import labels_and_scores
from .tasks import DEFAULT_MAX_NEW_TOKENS
from .tasks import InputPolicy
from .tasks import TaskId
from .tasks import TaskInput
from .tasks import check_model
from .tasks import check_text

__all__ = [
    "INPUT_ABI",
    "ONCHAIN_GENERATION",
    "SCORE_SCALE",
    "decode_onchain_input",
    "encode_input",
    "encode_raw_output",
    "parse_hex",
    "scaled_score",
]

# Mirrors the Solidity library's SCORE_SCALE = 1e6 (infernet-ml's FLOAT_DECIMALS).
SCORE_SCALE = 1_000_000
INPUT_ABI = ("uint8", "string", "string")
_HEX_DIGITS = frozenset(string.hexdigits)
_TASK_TEXT_FIELD = "data.input"
# On-chain jobs carry no parameters; text generation gets infernet-ml's defaults so the answer
# is short enough for a transaction and holds only the continuation.
ONCHAIN_GENERATION = {"max_new_tokens": DEFAULT_MAX_NEW_TOKENS, "return_full_text": False}


def parse_hex(value: str, field: str) -> bytes:
    """Bytes of a hex string, accepting an optional 0x prefix and surrounding whitespace.

    Raises:
        InvalidField: empty, odd length or a non-hex character.
    """
    text = value.strip()
    if text[:2] in ("0x", "0X"):
        text = text[2:]
    if not text:
        raise InvalidField(field, "empty hex string; expected abi.encode(uint8, string, string)")
    if len(text) % 2:
        raise InvalidField(field, f"hex string has odd length {len(text)}")
    bad = next((c for c in text if c not in _HEX_DIGITS), None)
    if bad is not None:
        raise InvalidField(field, f"not a hex string (found {bad!r})")
    return bytes.fromhex(text)


def decode_onchain_input(raw: bytes, policy: InputPolicy) -> TaskInput:
    """Decode `abi.encode(uint8 task, string model, string input)` into a TaskInput.

    Raises:
        InvalidField: wrong ABI, unknown task, refused model, empty or oversized input.
    """
    try:
        task_id, model, text = decode(INPUT_ABI, raw)
    except (DecodingError, OverflowError, ValueError) as e:
        reason = f"not abi.encode(uint8 task, string model, string input): {e}"
        raise InvalidField("data", reason[:300]) from e
    if task_id not in _ONCHAIN_TASKS:
        raise InvalidField("data.task", f"{task_id} is not a task; expected 1..4")
    task = TaskId(task_id)
    return TaskInput(
        task,
        check_model(model, "data.model", policy),
        check_text(text, _TASK_TEXT_FIELD, policy),
        ONCHAIN_GENERATION if task is TaskId.TEXT_GENERATION else {},
    )


_ONCHAIN_TASKS = frozenset(t.value for t in TaskId if t is not TaskId.UNSET)


def encode_input(task: int, model: str, text: str) -> bytes:
    """`abi.encode(uint8 task, string model, string input)`: what consumers send."""
    return encode(INPUT_ABI, (task, model, text))


def scaled_score(score: float) -> int:
    """Score as uint256 scaled by SCORE_SCALE, truncated; negative raw logits become 0."""
    return max(0, int(score * SCORE_SCALE))


def encode_raw_output(task: TaskId, output: TaskOutput) -> bytes:
    """The `raw_output` bytes for one task's normalised output."""
    if task is TaskId.TEXT_GENERATION:
        return encode(("string",), (_text(output),))
    if task is TaskId.SUMMARIZATION:
        return encode(("string",), (_summary(output),))
    labels, scores = labels_and_scores(output)
    return encode(("string[]", "uint256[]"), (labels, [scaled_score(s) for s in scores]))


def _text(output: TaskOutput) -> str:
    assert isinstance(output, str)
    return output


def _summary(output: TaskOutput) -> str:
    assert isinstance(output, dict)
    summary: Any = output["summary_text"]
    return str(summary)
