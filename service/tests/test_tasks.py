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
