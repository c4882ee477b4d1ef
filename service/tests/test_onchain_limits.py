"""On-chain answers are bounded so they fit a delivery; off-chain answers stay whole."""

from __future__ import annotations

import pytest
from eth_abi.abi import decode
from hf_inference_client_service import SCORE_SCALE
from hf_inference_client_service import InvalidField
from hf_inference_client_service import OnchainLimits
from hf_inference_client_service import ServiceConfig
from hf_inference_client_service import TaskId
from hf_inference_client_service import encode_input
from hf_inference_client_service.onchain_limits import bound_onchain_output
from hf_inference_client_service.onchain_limits import utf8_prefix
from hf_inference_standin import generated_tokens
from hf_inference_standin import token_classification
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from service_harness import ServiceThread

CONLL = "FacebookAI/xlm-roberta-large-finetuned-conll03-english"
GPT2 = "openai-community/gpt2"
BART = "facebook/bart-large-cnn"
# 40 capitalised words separated by lower-case ones: the stand-in finds 40 entities.
MANY_NAMES = " and ".join(f"Name{i}" for i in range(40))
SMALL = OnchainLimits(max_labels=3, max_label_bytes=8, max_text_bytes=10)


def labels_of(raw_output: str) -> tuple[list[str], list[int]]:
    labels, scores = decode(["string[]", "uint256[]"], bytes.fromhex(raw_output))
    return list(labels), list(scores)


def text_of(raw_output: str) -> str:
    (text,) = decode(["string"], bytes.fromhex(raw_output))
    return str(text)


# ------------------------------------------------------------------ pure


def test_defaults_are_the_gas_proven_values() -> None:
    limits = ServiceConfig.from_env({}).onchain
    assert (limits.max_labels, limits.max_label_bytes, limits.max_text_bytes) == (8, 64, 1024)


@pytest.mark.parametrize(
    ("text", "max_bytes", "expected"),
    [
        pytest.param("abcdef", 4, "abcd", id="ascii"),
        pytest.param("abc", 3, "abc", id="exact"),
        pytest.param("é" * 5, 5, "éé", id="two-byte-cut-inside"),
        pytest.param("ab€", 4, "ab", id="three-byte-cut-inside"),
        pytest.param("a🚀", 4, "a", id="four-byte-cut-inside"),
        pytest.param("a🚀b", 5, "a🚀", id="four-byte-kept"),
        pytest.param("", 4, "", id="empty"),
    ],
)
def test_utf8_prefix_cuts_on_a_character_boundary(text: str, max_bytes: int, expected: str) -> None:
    assert utf8_prefix(text, max_bytes) == expected


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=200), max_bytes=st.integers(min_value=0, max_value=300))
def test_utf8_prefix_is_the_longest_fitting_prefix(text: str, max_bytes: int) -> None:
    cut = utf8_prefix(text, max_bytes)
    assert text.startswith(cut)
    assert len(cut.encode()) <= max_bytes
    if cut != text:  # one more character would not fit
        assert len(text[: len(cut) + 1].encode()) > max_bytes


def test_top_labels_by_score_stay_in_the_backends_order() -> None:
    # Token classification lists entities by position; the kept ones keep that order.
    output = [
        {"entity_group": "A", "score": 0.5},
        {"entity_group": "B", "score": 0.9},
        {"entity_group": "C", "score": 0.1},
        {"entity_group": "D", "score": 0.7},
        {"entity_group": "E", "score": 0.8},
    ]
    bounded = bound_onchain_output(TaskId.TOKEN_CLASSIFICATION, output, SMALL)
    assert bounded == [
        {"label": "B", "score": 0.9},
        {"label": "D", "score": 0.7},
        {"label": "E", "score": 0.8},
    ]


def test_equal_scores_keep_the_earlier_labels() -> None:
    output = [{"label": name, "score": 0.5} for name in "abcde"]
    bounded = bound_onchain_output(TaskId.TEXT_CLASSIFICATION, output, SMALL)
    assert [e["label"] for e in bounded] == ["a", "b", "c"]
    tie_at_the_cut = [
        {"label": "low", "score": 0.1},
        {"label": "first", "score": 0.5},
        {"label": "high", "score": 0.9},
        {"label": "second", "score": 0.5},
        {"label": "third", "score": 0.5},
    ]
    bounded = bound_onchain_output(TaskId.TEXT_CLASSIFICATION, tie_at_the_cut, SMALL)
    assert [e["label"] for e in bounded] == ["first", "high", "second"]


def test_long_labels_are_cut_on_a_character_boundary() -> None:
    output = [{"label": "ééééé", "score": 1.0}, {"label": "short", "score": 0.5}]
    bounded = bound_onchain_output(TaskId.TEXT_CLASSIFICATION, output, SMALL)
    assert bounded == [{"label": "éééé", "score": 1.0}, {"label": "short", "score": 0.5}]


def test_texts_are_cut_and_summaries_keep_their_shape() -> None:
    assert bound_onchain_output(TaskId.TEXT_GENERATION, "0123456789abc", SMALL) == "0123456789"
    summary = bound_onchain_output(TaskId.SUMMARIZATION, {"summary_text": "€€€€"}, SMALL)
    assert summary == {"summary_text": "€€€"}


@settings(max_examples=100, deadline=None)
@given(
    rows=st.lists(
        st.tuples(st.text(max_size=20), st.sampled_from([0.0, 0.25, 0.5, 1.0])), max_size=12
    )
)
def test_bounded_labels_are_the_top_scores_as_a_subsequence(
    rows: list[tuple[str, float]],
) -> None:
    output = [{"label": label, "score": score} for label, score in rows]
    bounded = bound_onchain_output(TaskId.TEXT_CLASSIFICATION, output, SMALL)
    assert len(bounded) == min(len(rows), SMALL.max_labels)
    # Stable top-N: rank by score, ties by position; keep the first N, in position order.
    ranked = sorted(range(len(rows)), key=lambda i: (-rows[i][1], i))
    expected = sorted(ranked[: SMALL.max_labels])
    assert [e["score"] for e in bounded] == [rows[i][1] for i in expected]
    assert [e["label"] for e in bounded] == [utf8_prefix(rows[i][0], 8) for i in expected]


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("HF_INF_MAX_ONCHAIN_LABELS", "0", "must be at least 1"),
        ("HF_INF_MAX_ONCHAIN_LABEL_BYTES", "3", "must be at least 4"),
        ("HF_INF_MAX_ONCHAIN_TEXT_BYTES", "lots", "must be an integer"),
    ],
)
def test_invalid_limits_name_the_variable(name: str, value: str, message: str) -> None:
    with pytest.raises(InvalidField, match=message) as error:
        ServiceConfig.from_env({name: value})
    assert error.value.field == name


def test_limits_are_read_from_the_environment() -> None:
    config = ServiceConfig.from_env(
        {
            "HF_INF_MAX_ONCHAIN_LABELS": "4",
            "HF_INF_MAX_ONCHAIN_LABEL_BYTES": "32",
            "HF_INF_MAX_ONCHAIN_TEXT_BYTES": "256",
        }
    )
    assert config.onchain == OnchainLimits(max_labels=4, max_label_bytes=32, max_text_bytes=256)


# ------------------------------------------------------------------ over HTTP


def test_onchain_token_classification_keeps_the_top_8_entities(service: ServiceThread) -> None:
    body = {"source": 0, "destination": 0, "data": encode_input(3, CONLL, MANY_NAMES).hex()}
    answer = service.post(body)
    assert answer.status_code == 200, answer.text
    labels, scores = labels_of(answer.json()["raw_output"])
    entities = token_classification(MANY_NAMES, None, None)
    assert len(entities) == 40
    ranked = sorted(range(40), key=lambda i: (-entities[i]["score"], i))
    kept = sorted(ranked[:8])
    assert labels == [entities[i]["entity_group"] for i in kept]
    assert scores == [int(entities[i]["score"] * SCORE_SCALE) for i in kept]


def test_offchain_answer_stays_whole(service: ServiceThread) -> None:
    data = {"task_id": 3, "model": CONLL, "text": MANY_NAMES}
    answer = service.post({"source": 1, "destination": 1, "data": data})
    assert answer.status_code == 200
    assert answer.json()["output"] == token_classification(MANY_NAMES, None, None)


def test_delegated_answer_is_bounded(service: ServiceThread) -> None:
    # Delegated subscriptions: off-chain input, on-chain answer.
    data = {"task_id": 3, "model": CONLL, "text": MANY_NAMES}
    answer = service.post({"source": 1, "destination": 0, "data": data})
    assert answer.status_code == 200
    labels, _ = labels_of(answer.json()["raw_output"])
    assert len(labels) == 8


def test_onchain_generated_text_is_cut_to_1024_bytes(service: ServiceThread) -> None:
    prompt = "é" * 1000  # one 2000-byte word, echoed by the stand-in's reply
    body = {"source": 0, "destination": 0, "data": encode_input(1, GPT2, prompt).hex()}
    answer = service.post(body)
    assert answer.status_code == 200
    text = text_of(answer.json()["raw_output"])
    whole = "".join(generated_tokens(GPT2, prompt, 20))
    assert len(whole.encode()) > 1024
    assert text == utf8_prefix(whole, 1024)
    assert len(text.encode()) in (1023, 1024)


def test_onchain_summary_is_cut_to_1024_bytes(service: ServiceThread) -> None:
    article = " ".join(["Wörter" * 10] * 100)  # the stand-in summarises 30 words of 70 bytes
    body = {"source": 0, "destination": 0, "data": encode_input(4, BART, article).hex()}
    answer = service.post(body)
    assert answer.status_code == 200
    summary = text_of(answer.json()["raw_output"])
    assert 1020 < len(summary.encode()) <= 1024
    assert summary.startswith("Offline stand-in summary, not a model: WörterWörter")
