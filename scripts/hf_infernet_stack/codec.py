"""The task/answer codec: task ids, the inputs a job or a consumer sends, and the answers read
back from the service, the delivery calldata or a consumer contract (docs/contracts.md, wire
formats; docs/service.md). Pure: no network, no process."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import replace
from enum import IntEnum
from typing import Any

from eth_abi.abi import decode
from eth_abi.abi import encode

SCORE_SCALE = 1_000_000  # on-chain scores are int(score * 1e6) (docs/contracts.md, wire formats)


class HFTaskId(IntEnum):
    """Task ids, wire-compatible with infernet-ml's HFTaskId (docs/contracts.md, wire formats)."""

    UNSET = 0
    TEXT_GENERATION = 1
    TEXT_CLASSIFICATION = 2
    TOKEN_CLASSIFICATION = 3
    SUMMARIZATION = 4


TASKS = (
    HFTaskId.TEXT_GENERATION,
    HFTaskId.TEXT_CLASSIFICATION,
    HFTaskId.TOKEN_CLASSIFICATION,
    HFTaskId.SUMMARIZATION,
)

# One input per task: the examples of docs/service.md.
PROMPTS = {
    HFTaskId.TEXT_GENERATION: "Is the sky blue during a clear day?",
    HFTaskId.TEXT_CLASSIFICATION: "Decentralizing AI using crypto is awesome!",
    HFTaskId.TOKEN_CLASSIFICATION: "Ritual makes AI x crypto a great combination!",
    HFTaskId.SUMMARIZATION: (
        "Infernet lets smart contracts request off-chain compute from a network of nodes. A "
        "consumer contract asks the Coordinator for a subscription, a node notices it, runs the "
        "requested container, and delivers the output back on-chain in a transaction, where the "
        "consumer's callback decodes and stores it."
    ),
}


def offchain_data(task: HFTaskId, text: str, model: str = "") -> dict[str, Any]:
    """The `data` of an off-chain job (docs/service.md: task ids and input fields)."""
    field = "prompt" if task == HFTaskId.TEXT_GENERATION else "text"
    data: dict[str, Any] = {"task_id": int(task), field: text}
    if model:
        data["model"] = model
    return data


def onchain_input(task: int, model: str, text: str) -> bytes:
    """abi.encode(uint8 task, string model, string input), the consumers' request bytes."""
    return encode(["uint8", "string", "string"], [task, model, text])


# ---------------------------------------------------------------- answers


@dataclass(frozen=True)
class Answer:
    """A decoded inference result: text (tasks 1, 4) or labels with scores (tasks 2, 3).

    `words` are the entities' words of a token classification. Only the off-chain answer carries
    them: on-chain, the service encodes labels and scores alone.
    """

    task: HFTaskId
    text: str | None = None
    labels: tuple[str, ...] = ()
    scores: tuple[float, ...] = ()
    words: tuple[str, ...] = ()

    def show(self) -> str:
        """One line a person can read: `'text'`, `POSITIVE 0.78, ...`, `Ritual -> ORG 0.96, ...`."""
        if self.text is not None:
            return repr(self.text)
        if not self.labels:
            return "(no labels)"
        pairs = zip(self.labels, self.scores, strict=True)
        shown = [f"{label} {score:.2f}" for label, score in pairs]
        if self.words:
            shown = [f"{word} -> {s}" for word, s in zip(self.words, shown, strict=True)]
        return ", ".join(shown)

    def with_words_of(self, offchain: Answer) -> Answer:
        """This answer with the words of `offchain`, the same entities answered off-chain.

        The entities match when their labels agree and their scores agree to the on-chain
        precision (1e-6); otherwise this answer is returned unchanged.
        """
        same = bool(offchain.words) and (
            offchain.labels == self.labels
            # the service truncates to integers; back from the chain, round off float error
            and [int(s * SCORE_SCALE) for s in offchain.scores]
            == [round(s * SCORE_SCALE) for s in self.scores]
        )
        return replace(self, words=offchain.words) if same else self


def decode_raw_output(task: HFTaskId, raw: bytes) -> Answer:
    """raw_output: abi.encode(string) for tasks 1 and 4, (string[], uint256[]) for 2 and 3."""
    if task in (HFTaskId.TEXT_GENERATION, HFTaskId.SUMMARIZATION):
        (text,) = decode(["string"], raw)
        return Answer(task, text=text)
    labels, scores = decode(["string[]", "uint256[]"], raw)
    return Answer(task, labels=tuple(labels), scores=tuple(s / SCORE_SCALE for s in scores))


def decode_delivered_output(task: HFTaskId, output: bytes) -> Answer:
    """Decode what the node delivers: abi.encode(bytes raw_output, bytes processed_output)."""
    raw, _processed = decode(["bytes", "bytes"], output)
    return decode_raw_output(task, raw)


def answer_from_offchain(task: HFTaskId, output: Any) -> Answer:
    """The service's off-chain `output`: Hugging Face's JSON shapes (docs/service.md)."""
    if task == HFTaskId.TEXT_GENERATION:
        return Answer(task, text=output if isinstance(output, str) else output["generated_text"])
    if task == HFTaskId.SUMMARIZATION:
        return Answer(task, text=output["summary_text"])
    if task == HFTaskId.TEXT_CLASSIFICATION:
        return Answer(
            task,
            labels=tuple(str(e["label"]) for e in output),
            scores=tuple(float(e["score"]) for e in output),
        )
    return Answer(
        task,
        labels=tuple(str(e.get("entity_group", e.get("entity"))) for e in output),
        scores=tuple(float(e["score"]) for e in output),
        words=tuple(str(e["word"]).strip() for e in output)
        if all("word" in e for e in output)
        else (),
    )


def answer_from_contract(task: HFTaskId, stored: Any) -> Answer:
    """HFAnswerBook.getAnswer's tuple (task, node, redundancy, text, labels, scores)."""
    _task, _node, _redundancy, text, labels, scores = stored
    if task in (HFTaskId.TEXT_GENERATION, HFTaskId.SUMMARIZATION):
        return Answer(task, text=text)
    return Answer(task, labels=tuple(labels), scores=tuple(s / SCORE_SCALE for s in scores))
