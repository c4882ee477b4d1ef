"""Normalise huggingface_hub results into the service's output shapes (pure functions).

Shapes (docs/service.md, `{"output": ...}` off-chain):
- text generation: the generated text (str);
- text classification: list of {"label", "score"}, in the backend's order (descending score);
- token classification: list of {"entity_group", "score", "word", "start", "end"};
- summarization: {"summary_text"}.

huggingface_hub returns dataclass-like objects; they are copied into plain dicts here so the HTTP
layer serialises only data we chose. Token classification falls back to `entity` when a model
answers without aggregation (`entity_group` missing): upstream crashed encoding that on-chain.
"""

from __future__ import annotations

from typing import Any
from typing import TypeAlias

__all__ = ["TaskOutput", "labels_and_scores"]

TaskOutput: TypeAlias = str | list[dict[str, Any]] | dict[str, Any]


def labels_and_scores(output: TaskOutput) -> tuple[list[str], list[float]]:
    """Labels (label or entity_group) and scores of a classification output, in order."""
    assert isinstance(output, list)
    labels = [str(e.get("label", e.get("entity_group"))) for e in output]
    return labels, [float(e["score"]) for e in output]
