"""Normalise huggingface_hub results into the service's output shapes (pure functions).

Shapes (../shared/spec/hf-service.md section 2.4, `{"output": ...}` off-chain):
- text generation: the generated text (str);
- text classification: list of {"label", "score"}, in the backend's order (descending score);
- token classification: list of {"entity_group", "score", "word", "start", "end"};
- summarization: {"summary_text"}.

huggingface_hub returns dataclass-like objects; they are copied into plain dicts here so the HTTP
layer serialises only data we chose. Token classification falls back to `entity` when a model
answers without aggregation (`entity_group` missing): upstream crashed encoding that on-chain.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from typing import TypeAlias

__all__ = [
    "TaskOutput",
    "labels_and_scores",
    "summarization_output",
    "text_classification_output",
    "token_classification_output",
]

TaskOutput: TypeAlias = str | list[dict[str, Any]] | dict[str, Any]


def _field(element: Any, name: str) -> Any:
    if isinstance(element, dict):
        return element.get(name)
    return getattr(element, name, None)


def text_classification_output(elements: Any) -> list[dict[str, Any]]:
    """[{"label", "score"}] from the client's list (or single element, see hub issue #3539)."""
    items = elements if isinstance(elements, list) else [elements]
    return [{"label": str(_field(e, "label")), "score": float(_field(e, "score"))} for e in items]


def token_classification_output(elements: Iterable[Any]) -> list[dict[str, Any]]:
    """[{"entity_group", "score", "word", "start", "end"}] from the client's entity list."""
    out = []
    for e in elements:
        group = _field(e, "entity_group") or _field(e, "entity")
        out.append(
            {
                "entity_group": str(group),
                "score": float(_field(e, "score")),
                "word": _field(e, "word"),
                "start": _field(e, "start"),
                "end": _field(e, "end"),
            }
        )
    return out


def summarization_output(result: Any) -> dict[str, Any]:
    """{"summary_text"} from the client's SummarizationOutput."""
    return {"summary_text": str(_field(result, "summary_text"))}


def labels_and_scores(output: TaskOutput) -> tuple[list[str], list[float]]:
    """Labels (label or entity_group) and scores of a classification output, in order."""
    assert isinstance(output, list)
    labels = [str(e.get("label", e.get("entity_group"))) for e in output]
    return labels, [float(e["score"]) for e in output]
