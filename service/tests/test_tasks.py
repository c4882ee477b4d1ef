"""Off-chain input parsing: infernet-ml dicts to huggingface_hub keyword arguments."""

from __future__ import annotations

import pytest
from hf_inference_client_service import InputPolicy
from hf_inference_client_service import InvalidField
from hf_inference_client_service import TaskId
from hf_inference_client_service import parse_offchain
from hf_inference_client_service.tasks import check_model

POLICY = InputPolicy()


def test_text_generation_defaults_match_infernet_ml() -> None:
    job = parse_offchain({"task_id": 1, "prompt": "hi"}, POLICY)
    assert job.task is TaskId.TEXT_GENERATION
    assert job.model is None
    assert job.text == "hi"
    assert job.parameters == {"max_new_tokens": 20, "return_full_text": False}


def test_stop_sequences_string_becomes_stop_list() -> None:
    job = parse_offchain({"task_id": 1, "prompt": "hi", "stop_sequences": "\n"}, POLICY)
    assert job.parameters["stop"] == ["\n"]


def test_empty_model_means_default() -> None:
    assert parse_offchain({"task_id": 2, "text": "x", "model": ""}, POLICY).model is None


def test_summarization_parameters_become_generate_parameters() -> None:
    data = {"task_id": 4, "text": "x", "parameters": {"max_length": 56, "min_length": 28}}
    job = parse_offchain(data, POLICY)
    assert job.parameters == {"generate_parameters": {"max_length": 56, "min_length": 28}}


def test_unknown_keys_are_ignored_like_infernet_ml() -> None:
    job = parse_offchain({"task_id": 2, "text": "x", "details": True, "foo": 1}, POLICY)
    assert job.parameters == {}


@pytest.mark.parametrize(
    "model",
    ["gpt2", "openai-community/gpt2", "Qwen/Qwen2.5-72B-Instruct", "a_b/c.d-e"],
)
def test_repo_ids_are_accepted(model: str) -> None:
    assert check_model(model, "data.model", POLICY) == model


@pytest.mark.parametrize(
    "model",
    ["a/b/c", "../x", "a/..", "/abs", "a b", "a/b?x=1", "a/b#frag", "x" * 97],
)
def test_non_repo_ids_are_refused(model: str) -> None:
    with pytest.raises(InvalidField, match="not a Hugging Face model id"):
        check_model(model, "data.model", POLICY)


def test_url_models_only_when_allowed() -> None:
    url = "http://tgi.internal:8080"
    with pytest.raises(InvalidField, match="URL models are refused"):
        check_model(url, "data.model", POLICY)
    assert check_model(url, "data.model", InputPolicy(allow_url_models=True)) == url


# Finite but absurd sampling values: each is a 400 naming its field (docs/service.md).
ABSURD_SAMPLING = [
    pytest.param({"task_id": 1, "temperature": 1e308}, "data.temperature", id="temperature"),
    pytest.param({"task_id": 1, "temperature": 100.5}, "data.temperature", id="temperature-101"),
    pytest.param(
        {"task_id": 1, "repetition_penalty": 1e308}, "data.repetition_penalty", id="repetition"
    ),
    pytest.param(
        {"task_id": 1, "frequency_penalty": 1e308}, "data.frequency_penalty", id="frequency-high"
    ),
    pytest.param(
        {"task_id": 1, "frequency_penalty": -2.5}, "data.frequency_penalty", id="frequency-low"
    ),
    pytest.param(
        {"task_id": 4, "parameters": {"temperature": 1e308}},
        "data.parameters.temperature",
        id="summary-temperature",
    ),
    pytest.param(
        {"task_id": 4, "parameters": {"repetition_penalty": 1e300}},
        "data.parameters.repetition_penalty",
        id="summary-repetition",
    ),
]


@pytest.mark.parametrize(("data", "field"), ABSURD_SAMPLING)
def test_absurd_sampling_values_are_refused(data: dict[str, object], field: str) -> None:
    text = {"prompt": "hi"} if data["task_id"] == 1 else {"text": "hi"}
    with pytest.raises(InvalidField, match=r"(less|greater) than or equal") as error:
        parse_offchain({**data, **text}, POLICY)
    assert error.value.field == field


def test_sampling_values_at_the_documented_bounds_are_accepted() -> None:
    data = {
        "task_id": 1,
        "prompt": "hi",
        "temperature": 100,
        "repetition_penalty": 100.0,
        "frequency_penalty": -2.0,
        "top_p": 1.0,
    }
    job = parse_offchain(data, POLICY)
    assert (job.parameters["temperature"], job.parameters["frequency_penalty"]) == (100, -2.0)
    summary = parse_offchain(
        {"task_id": 4, "text": "x", "parameters": {"temperature": 0, "repetition_penalty": 2.0}},
        POLICY,
    )
    assert summary.parameters["generate_parameters"]["temperature"] == 0
