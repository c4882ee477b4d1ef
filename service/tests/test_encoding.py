"""ABI round trips (hypothesis) and hex parsing of on-chain jobs."""

from __future__ import annotations

import pytest
from eth_abi.abi import decode
from hf_inference_client_service import SCORE_SCALE
from hf_inference_client_service import InputPolicy
from hf_inference_client_service import InvalidField
from hf_inference_client_service import TaskId
from hf_inference_client_service import decode_onchain_input
from hf_inference_client_service import encode_input
from hf_inference_client_service import encode_raw_output
from hf_inference_client_service.encoding import parse_hex
from hf_inference_client_service.encoding import scaled_score
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

POLICY = InputPolicy(max_input_bytes=1_000_000)
_NAME = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_-]{0,20}", fullmatch=True)
models = st.one_of(st.just(""), _NAME, st.builds(lambda a, b: f"{a}/{b}", _NAME, _NAME))
texts = st.text(min_size=1, max_size=3000).filter(lambda t: t.strip() != "")
tasks = st.sampled_from([t for t in TaskId if t is not TaskId.UNSET])
labels = st.lists(st.text(max_size=40), max_size=60)


@settings(max_examples=150, deadline=None)
@given(task=tasks, model=models, text=texts)
def test_onchain_input_round_trip(task: TaskId, model: str, text: str) -> None:
    job = decode_onchain_input(encode_input(task, model, text), POLICY)
    assert job.task is task
    assert job.model == (model or None)
    assert job.text == text


@settings(max_examples=100, deadline=None)
@given(
    text=st.text(max_size=5000),
    task=st.sampled_from([TaskId.TEXT_GENERATION, TaskId.SUMMARIZATION]),
)
def test_string_output_round_trip(text: str, task: TaskId) -> None:
    output = text if task is TaskId.TEXT_GENERATION else {"summary_text": text}
    (decoded,) = decode(["string"], encode_raw_output(task, output))
    assert decoded == text


@settings(max_examples=100, deadline=None)
@given(
    rows=st.lists(
        st.tuples(st.text(max_size=40), st.floats(min_value=0, max_value=1)), max_size=60
    ),
    task=st.sampled_from([TaskId.TEXT_CLASSIFICATION, TaskId.TOKEN_CLASSIFICATION]),
)
def test_labels_and_scores_round_trip(rows: list[tuple[str, float]], task: TaskId) -> None:
    key = "label" if task is TaskId.TEXT_CLASSIFICATION else "entity_group"
    output = [{key: label, "score": score} for label, score in rows]
    decoded_labels, decoded_scores = decode(
        ["string[]", "uint256[]"], encode_raw_output(task, output)
    )
    assert list(decoded_labels) == [label for label, _ in rows]
    assert list(decoded_scores) == [int(score * SCORE_SCALE) for _, score in rows]


def test_score_scaling_truncates_like_upstream() -> None:
    assert scaled_score(0.9998765) == 999_876
    assert scaled_score(1.0) == SCORE_SCALE
    assert scaled_score(-2.5) == 0  # raw logits (function_to_apply "none") cannot be uint256


def test_hex_layout_of_the_spec_example() -> None:
    # docs/contracts.md (wire formats): (1, "", "hi") is six words, 192 bytes.
    raw = encode_input(1, "", "hi")
    assert len(raw) == 192
    assert (raw[31], raw[63], raw[95], raw[159]) == (1, 0x60, 0x80, 2)
    assert parse_hex("0x" + raw.hex().upper(), "data") == raw
    assert parse_hex("  " + raw.hex() + "\n", "data") == raw


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "empty hex string"),
        ("0x", "empty hex string"),
        ("abc", "odd length"),
        ("0g", "not a hex"),
    ],
)
def test_bad_hex(value: str, reason: str) -> None:
    with pytest.raises(InvalidField, match=reason) as error:
        parse_hex(value, "data")
    assert error.value.field == "data"


def test_oversized_onchain_input_is_refused() -> None:
    with pytest.raises(InvalidField, match=r"data\.input: is 11 bytes; the limit is 10"):
        decode_onchain_input(encode_input(2, "", "x" * 11), InputPolicy(max_input_bytes=10))
