"""The offline stand-in on its own: health, labels, routes, determinism, controls."""

from __future__ import annotations

import httpx
from hf_inference_standin import SUMMARY_PREFIX
from hf_inference_standin import generated_tokens
from hf_inference_standin import summarize
from hf_inference_standin.answers import Pipeline
from hf_inference_standin.answers import pipeline_for
from service_harness import OfflineBackendProcess


def test_health_and_stand_in_label(backend: OfflineBackendProcess) -> None:
    answer = httpx.get(backend.url + "/")
    assert answer.status_code == 200
    assert answer.json()["stand_in"] is True
    assert answer.headers["x-stand-in"] == "offline-hf-backend"


def test_answers_are_deterministic(backend: OfflineBackendProcess) -> None:
    url = backend.url + "/models/openai-community/gpt2"
    body = {"inputs": "Hello", "parameters": {"max_new_tokens": 4}}
    first, second = httpx.post(url, json=body).json(), httpx.post(url, json=body).json()
    assert (
        first
        == second
        == [{"generated_text": "".join(generated_tokens("openai-community/gpt2", "Hello", 4))}]
    )


def test_router_style_chat_route(backend: OfflineBackendProcess) -> None:
    body = {
        "model": "Qwen/Qwen2.5-72B-Instruct",
        "messages": [{"role": "user", "content": "Hi?"}],
        "max_tokens": 3,
    }
    answer = httpx.post(backend.url + "/v1/chat/completions", json=body).json()
    assert answer["object"] == "chat.completion"
    assert answer["choices"][0]["message"]["content"] == "Offline stand-in reply"


def test_fault_controls(backend: OfflineBackendProcess) -> None:
    backend.fault(status=429, times=1, retry_after="3")
    url = backend.url + "/models/distilbert/distilbert-base-uncased-finetuned-sst-2-english"
    limited = httpx.post(url, json={"inputs": "x"})
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "3"
    assert "error" in limited.json()
    assert httpx.post(url, json={"inputs": "x"}).status_code == 200
    assert [r["path"] for r in backend.received()] == [url.removeprefix(backend.url)] * 2


def test_bad_requests_are_400(backend: OfflineBackendProcess) -> None:
    url = backend.url + "/models/a/b"
    assert httpx.post(url, content=b"nope").status_code == 400
    assert httpx.post(url, json={"inputs": 3}).status_code == 400
    assert httpx.get(url).status_code == 405


def test_pipeline_choice() -> None:
    assert pipeline_for("facebook/bart-large-cnn", {"inputs": "x"}) == Pipeline.SUMMARIZATION
    assert pipeline_for("dslim/bert-base-NER", {"inputs": "x"}) == Pipeline.TOKEN_CLASSIFICATION
    assert pipeline_for("any/model", {"inputs": "x", "stream": False}) == Pipeline.TEXT_GENERATION
    assert pipeline_for("any/model", {"inputs": "x"}) == Pipeline.TEXT_CLASSIFICATION
    params = {"parameters": {"max_new_tokens": 3}}
    assert pipeline_for("facebook/bart-large-cnn", params) == Pipeline.TEXT_GENERATION


def test_summary_length_bounds() -> None:
    text = " ".join(f"w{i}" for i in range(100))

    def words(summary: str) -> int:
        assert summary.startswith(SUMMARY_PREFIX)  # never mistaken for a model's summary
        return len(summary.removeprefix(SUMMARY_PREFIX).split())

    assert words(summarize(text, {})) == 30
    assert words(summarize(text, {"generate_parameters": {"max_length": 10}})) == 10
    assert words(summarize("a b c d", {"min_length": 3})) == 3


def test_generated_text_says_it_is_not_a_model() -> None:
    text = "".join(generated_tokens("openai-community/gpt2", "Is the sky blue?", 256))
    assert text.startswith(" Offline stand-in reply ")
    assert "not a model" in text
    assert text.endswith("Your prompt was: Is the sky blue?")
    assert len(generated_tokens("openai-community/gpt2", "Is the sky blue?", 3)) == 3


def test_transformers_served_model_names_the_parameters_it_does_not_use(
    backend: OfflineBackendProcess,
) -> None:
    url = backend.url + "/models/google/flan-t5-base"
    body = {"inputs": "Hi", "parameters": {"max_new_tokens": 3, "watermark": True, "stop": ["."]}}
    refused = httpx.post(url, json=body)
    assert refused.status_code == 400
    assert refused.json()["error"] == (
        "The following `model_kwargs` are not used by the model: ['watermark', 'stop'] (note:"
        " typos in the generate arguments will also show up in this list)"
    )
    lean = {"inputs": "Hi", "parameters": {"max_new_tokens": 3}}
    assert httpx.post(url, json=lean).json() == [
        {"generated_text": "".join(generated_tokens("google/flan-t5-base", "Hi", 3))}
    ]
