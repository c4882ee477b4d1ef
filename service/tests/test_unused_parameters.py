"""Models served by transformers refuse generation parameters they do not use; the job is asked
once more without exactly those, as huggingface_hub's own client does."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from eth_abi.abi import decode
from hf_inference_client_service import InputPolicy
from hf_inference_client_service import RetryPolicy
from hf_inference_client_service import ServiceConfig
from hf_inference_client_service import encode_input
from hf_inference_client_service import parse_offchain
from hf_inference_client_service.backend_faults import without_unused_parameters
from hf_inference_client_service.backend_http import BackendStatus
from misbehaving_backend import MisbehavingBackend
from misbehaving_backend import received_parameters
from misbehaving_backend import unused_kwargs_message
from service_harness import ServiceThread

NO_RETRY = RetryPolicy(max_attempts=1)
# What Hugging Face answered for openai-community/gpt2 asked with TGI-only parameters.
GPT2_400 = (
    b'{"error": "The following `model_kwargs` are not used by the model: [\'watermark\','
    b" 'stop'] (note: typos in the generate arguments will also show up in this list)\"}"
)


@pytest.fixture(scope="module")
def service(scripted: MisbehavingBackend) -> Iterator[ServiceThread]:
    config = ServiceConfig(endpoint=scripted.url, retry=NO_RETRY, timeout=10.0)
    with ServiceThread(config) as running:
        yield running


def generation(prompt: str, model: str = "test/model", **parameters: object) -> dict[str, object]:
    # Each test names its own model: what a model does not use is remembered per model.
    return {"task_id": 1, "prompt": prompt, "model": model, **parameters}


# ------------------------------------------------------------------ pure


def test_the_named_parameters_are_dropped_and_only_those() -> None:
    job = parse_offchain(
        generation("x", watermark=True, stop=["."], temperature=0.5), InputPolicy()
    )
    lean = without_unused_parameters(BackendStatus(400, GPT2_400, {}), job)
    assert lean is not None
    assert lean.parameters == {"max_new_tokens": 20, "return_full_text": False, "temperature": 0.5}
    assert (lean.task, lean.model, lean.text) == (job.task, job.model, job.text)


@pytest.mark.parametrize(
    ("status", "body"),
    [
        pytest.param(
            400, b'{"error": "' + unused_kwargs_message(["seed"]).encode() + b'"}', id="unsent"
        ),
        pytest.param(422, GPT2_400, id="not-a-400"),
        pytest.param(400, b'{"error": "Input validation error"}', id="another-400"),
    ],
)
def test_nothing_to_drop_means_no_second_request(status: int, body: bytes) -> None:
    job = parse_offchain(generation("x", watermark=True, stop=["."]), InputPolicy())
    assert without_unused_parameters(BackendStatus(status, body, {}), job) is None


# ------------------------------------------------------------------ over HTTP


def test_offchain_generation_is_asked_again_without_the_unused_parameters(
    service: ServiceThread, scripted: MisbehavingBackend
) -> None:
    data = generation(
        "unused-kwargs:watermark,stop",
        "test/offchain",
        watermark=False,
        stop=["END"],
        temperature=0.5,
    )
    before = scripted.requests
    answer = service.post({"source": 1, "destination": 1, "data": data})
    assert answer.status_code == 200, answer.text
    kept = ["max_new_tokens", "return_full_text", "temperature"]
    assert answer.json() == {"output": received_parameters(kept)}
    assert scripted.requests - before == 2


def test_unused_parameters_are_remembered_per_model(
    service: ServiceThread, scripted: MisbehavingBackend
) -> None:
    data = generation("unused-kwargs:watermark", "test/remembered", watermark=True, seed=1)
    assert service.post({"source": 1, "destination": 1, "data": data}).status_code == 200
    before = scripted.requests
    answer = service.post({"source": 1, "destination": 1, "data": data})
    assert answer.status_code == 200, answer.text
    kept = ["max_new_tokens", "return_full_text", "seed"]
    assert answer.json() == {"output": received_parameters(kept)}
    assert scripted.requests - before == 1  # straight to the request without `watermark`
    other = generation("unused-kwargs:watermark", "test/another", watermark=True)
    before = scripted.requests
    assert service.post({"source": 1, "destination": 1, "data": other}).status_code == 200
    assert scripted.requests - before == 2  # another model is asked with everything first


def test_onchain_generation_is_asked_again_without_the_unused_parameters(
    service: ServiceThread, scripted: MisbehavingBackend
) -> None:
    data = encode_input(1, "test/onchain", "unused-kwargs:return_full_text").hex()
    before = scripted.requests
    answer = service.post({"source": 0, "destination": 0, "data": data})
    assert answer.status_code == 200, answer.text
    (text,) = decode(["string"], bytes.fromhex(answer.json()["raw_output"]))
    assert text == received_parameters(["max_new_tokens"])
    assert scripted.requests - before == 2


def test_stream_is_opened_again_without_the_unused_parameters(service: ServiceThread) -> None:
    data = generation("unused-kwargs:watermark", "test/stream", watermark=True)
    body = {"source": 1, "destination": 2, "data": data}
    answer = httpx.post(service.url + "/service_output", json=body, timeout=30)
    assert answer.status_code == 200, answer.text
    assert answer.text == received_parameters(["max_new_tokens", "return_full_text"])


def test_parameters_are_dropped_once_only(
    service: ServiceThread, scripted: MisbehavingBackend
) -> None:
    # The backend names one parameter per answer: after the first is gone it names the second.
    data = generation(
        "unused-kwargs-one-by-one:watermark,stop", "test/one-by-one", watermark=True, stop=["END"]
    )
    before = scripted.requests
    answer = service.post({"source": 1, "destination": 1, "data": data})
    assert answer.status_code == 502
    description = answer.json()["description"]
    assert description.startswith("backend answered 400 for model")
    assert "['stop']" in description
    assert scripted.requests - before == 2
