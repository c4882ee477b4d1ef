"""How the demo shows answers: each entity with its word, scores a person can read."""

from __future__ import annotations

from typing import Any

from eth_abi.abi import encode
from hf_infernet_stack.codec import SCORE_SCALE
from hf_infernet_stack.codec import Answer
from hf_infernet_stack.codec import HFTaskId
from hf_infernet_stack.codec import answer_from_offchain
from hf_infernet_stack.codec import decode_raw_output

TOKEN = HFTaskId.TOKEN_CLASSIFICATION
ENTITIES: list[dict[str, Any]] = [
    {"entity_group": "ORG", "score": 0.96, "word": "Ritual", "start": 0, "end": 6},
    {"entity_group": "MISC", "score": 0.9984313725490196, "word": " AI", "start": 13, "end": 15},
]


def test_offchain_token_classification_names_each_entity_by_its_word() -> None:
    answer = answer_from_offchain(TOKEN, ENTITIES)

    assert answer.show() == "Ritual -> ORG 0.96, AI -> MISC 1.00"


def test_onchain_entities_borrow_the_words_of_the_same_offchain_answer() -> None:
    raw = encode(
        ["string[]", "uint256[]"],
        [["ORG", "MISC"], [int(e["score"] * SCORE_SCALE) for e in ENTITIES]],
    )
    onchain = decode_raw_output(TOKEN, raw)
    assert onchain.show() == "ORG 0.96, MISC 1.00"

    assert onchain.with_words_of(answer_from_offchain(TOKEN, ENTITIES)).show() == (
        "Ritual -> ORG 0.96, AI -> MISC 1.00"
    )


def test_words_of_a_different_answer_are_not_borrowed() -> None:
    onchain = Answer(TOKEN, labels=("PER",), scores=(0.5,))

    assert onchain.with_words_of(answer_from_offchain(TOKEN, ENTITIES)) is onchain


def test_text_and_classification_answers() -> None:
    assert Answer(HFTaskId.SUMMARIZATION, text="Short.").show() == "'Short.'"
    labels = Answer(
        HFTaskId.TEXT_CLASSIFICATION, labels=("POSITIVE", "NEGATIVE"), scores=(0.78, 0.22)
    )
    assert labels.show() == "POSITIVE 0.78, NEGATIVE 0.22"
