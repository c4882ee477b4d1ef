"""Writes service_outputs.json: on-chain outputs produced by the service's own encoder.

The forge test contracts/test/testkit/HFOutput.t.sol rebuilds every vector with the test kit's
HFOutput builders and compares the bytes; service/tests/test_kit_vectors.py regenerates the file
and compares it with the committed one. Together they pin the kit to the service: a change to
either side's encoding fails one of the two.

Run from the repository root: `.venv/bin/python contracts/test/vectors/service_outputs.py`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from eth_abi.abi import encode
from hf_inference_client_service import TaskId
from hf_inference_client_service import encode_raw_output
from hf_inference_client_service.encoding import scaled_score
from hf_inference_client_service.outputs import TaskOutput

VECTORS = Path(__file__).with_name("service_outputs.json")

# (task, the service's normalised output) for tasks 1 and 4: the text the kit's builder takes.
_TEXTS: list[tuple[TaskId, str]] = [
    (TaskId.TEXT_GENERATION, " a time, there was a small village."),
    (TaskId.TEXT_GENERATION, ""),
    (TaskId.TEXT_GENERATION, "caf\u00e9 \u2713 \U0001f680 multi-byte UTF-8"),
    (
        TaskId.SUMMARIZATION,
        "The tower is 324 metres tall, about the same as an 81-storey building.",
    ),
    (TaskId.SUMMARIZATION, "x" * 100),
]

# (task, [(label or entity group, probability)]) for tasks 2 and 3. The probabilities include
# ones where truncation (not rounding) shows: 0.8765432 -> 876543, 0.9999996 -> 999999.
_LABELS: list[tuple[TaskId, list[tuple[str, float]]]] = [
    (TaskId.TEXT_CLASSIFICATION, [("POSITIVE", 0.9998), ("NEGATIVE", 0.0002)]),
    (TaskId.TEXT_CLASSIFICATION, [("joy", 0.8765432), ("anger", 0.1234568), ("fear", 0.0)]),
    (TaskId.TEXT_CLASSIFICATION, [("LABEL_1", 0.9999996)]),
    (TaskId.TEXT_CLASSIFICATION, [("logit", -1.5)]),
    (TaskId.TOKEN_CLASSIFICATION, [("PER", 0.99876), ("LOC", 0.9991), ("ORG", 0.5)]),
    (TaskId.TOKEN_CLASSIFICATION, []),
]


def _delivered(raw: bytes) -> bytes:
    """What the node delivers: abi.encode(bytes raw_output, bytes processed_output="")."""
    return encode(["bytes", "bytes"], [raw, b""])


def _text_output(task: TaskId, text: str) -> TaskOutput:
    return text if task is TaskId.TEXT_GENERATION else {"summary_text": text}


def _labels_output(task: TaskId, rows: list[tuple[str, float]]) -> TaskOutput:
    key = "label" if task is TaskId.TEXT_CLASSIFICATION else "entity_group"
    return [{key: label, "score": score} for label, score in rows]


def vectors() -> dict[str, Any]:
    """Every vector, encoded by the service."""
    texts = []
    for task, text in _TEXTS:
        raw = encode_raw_output(task, _text_output(task, text))
        texts.append({"task": int(task), "text": text, "delivered": "0x" + _delivered(raw).hex()})
    labels = []
    for task, rows in _LABELS:
        raw = encode_raw_output(task, _labels_output(task, rows))
        labels.append(
            {
                "task": int(task),
                "labels": [label for label, _ in rows],
                "probabilities": [str(score) for _, score in rows],
                "scores": [scaled_score(score) for _, score in rows],
                "delivered": "0x" + _delivered(raw).hex(),
            }
        )
    return {"textCount": len(texts), "text": texts, "labelsCount": len(labels), "labels": labels}


def render() -> str:
    """The JSON file's text."""
    return json.dumps(vectors(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    VECTORS.write_text(render(), encoding="utf-8")
