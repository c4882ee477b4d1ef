"""What the backend receives per task and parameter, retries, timeouts, chat fallback."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
from hf_inference_client_service import InputPolicy
from hf_inference_client_service import InvalidField
from hf_inference_client_service import RetryPolicy
from hf_inference_client_service import TextGenerationMode
from hf_inference_client_service import encode_input
from hf_inference_client_service import parse_offchain
from hf_inference_client_service.backend_faults import says_task_unsupported
from hf_inference_client_service.backend_faults import status_error
from hf_inference_client_service.backend_http import BackendStatus
from hf_inference_client_service.hf_backend import chat_parameters
from service_harness import OfflineBackendProcess
from service_harness import ServiceThread
from service_harness import clean_env
from service_harness import listening_socket

GPT2 = "openai-community/gpt2"
QWEN = "Qwen/Qwen2.5-72B-Instruct"
SST2 = "distilbert/distilbert-base-uncased-finetuned-sst-2-english"
CONLL = "FacebookAI/xlm-roberta-large-finetuned-conll03-english"
BART = "facebook/bart-large-cnn"
GEN_DEFAULTS = {"max_new_tokens": 20, "return_full_text": False}

# off-chain data -> (path, JSON body) the backend must receive
PAYLOADS = [
    pytest.param(
        {"task_id": 1, "prompt": "Hello", "model": GPT2},
        f"/models/{GPT2}",
        {"inputs": "Hello", "parameters": GEN_DEFAULTS},
        id="generation-defaults",
    ),
    pytest.param(
        {
            "task_id": 1,
            "prompt": "Hello",
            "model": GPT2,
            "max_new_tokens": 5,
            "temperature": 0.7,
            "top_p": 0.9,
            "top_k": 40,
            "seed": 7,
            "stop": "\n",
            "stop_sequences": ["END"],
            "do_sample": True,
            "repetition_penalty": 1.1,
            "return_full_text": True,
            "truncate": 100,
            "typical_p": 0.5,
            "watermark": False,
            "details": True,
            "unknown_key": "ignored",
        },
        f"/models/{GPT2}",
        {
            "inputs": "Hello",
            "parameters": {
                "max_new_tokens": 5,
                "return_full_text": True,
                "temperature": 0.7,
                "top_p": 0.9,
                "top_k": 40,
                "seed": 7,
                "stop": ["\n", "END"],
                "do_sample": True,
                "repetition_penalty": 1.1,
                "truncate": 100,
                "typical_p": 0.5,
                "watermark": False,
            },
        },
        id="generation-all-parameters",
    ),
    pytest.param(
        {"task_id": 2, "text": "good"},
        f"/models/{SST2}",
        {"inputs": "good", "parameters": {}},
        id="classification-default-model",
    ),
    pytest.param(
        {"task_id": 2, "text": "good", "model": SST2, "top_k": 1, "function_to_apply": "none"},
        f"/models/{SST2}",
        {"inputs": "good", "parameters": {"top_k": 1, "function_to_apply": "none"}},
        id="classification-parameters",
    ),
    pytest.param(
        {"task_id": 3, "text": "Ritual AI"},
        f"/models/{CONLL}",
        {"inputs": "Ritual AI", "parameters": {}},
        id="token-default-model",
    ),
    pytest.param(
        {
            "task_id": 3,
            "text": "Ritual AI",
            "aggregation_strategy": "simple",
            "ignore_labels": ["O"],
            "stride": 4,
        },
        f"/models/{CONLL}",
        {
            "inputs": "Ritual AI",
            "parameters": {"aggregation_strategy": "simple", "ignore_labels": ["O"], "stride": 4},
        },
        id="token-parameters",
    ),
    pytest.param(
        {"task_id": 4, "text": "A long text."},
        f"/models/{BART}",
        {"inputs": "A long text.", "parameters": {}},
        id="summarization-default",
    ),
    pytest.param(
        {
            "task_id": 4,
            "text": "A long text.",
            "parameters": {"min_length": 28, "max_length": 56, "truncation": "only_first"},
        },
        f"/models/{BART}",
        {
            "inputs": "A long text.",
            "parameters": {
                "truncation": "only_first",
                "generate_parameters": {"min_length": 28, "max_length": 56},
            },
        },
        id="summarization-parameters",
    ),
]


@pytest.mark.parametrize(("data", "path", "body"), PAYLOADS)
def test_backend_receives_exact_payload(
    service: ServiceThread,
    backend: OfflineBackendProcess,
    data: dict[str, Any],
    path: str,
    body: dict[str, Any],
) -> None:
    answer = service.post({"source": 1, "destination": 1, "data": data})
    assert answer.status_code == 200, answer.text
    (received,) = backend.received()
    assert received["method"] == "POST"
    assert received["path"] == path
    assert received["body"] == body
    assert received["headers"]["content-type"] == "application/json"
    assert "authorization" not in received["headers"]  # no token configured, none sent


def test_onchain_generation_sends_infernet_ml_defaults(
    service: ServiceThread, backend: OfflineBackendProcess
) -> None:
    data = encode_input(1, GPT2, "Hello").hex()
    assert service.post({"source": 0, "destination": 0, "data": data}).status_code == 200
    (received,) = backend.received()
    assert received["body"] == {"inputs": "Hello", "parameters": GEN_DEFAULTS}


def test_chat_fallback_payload_and_memory(start_service, backend: OfflineBackendProcess) -> None:
    service = start_service()
    data = {"task_id": 1, "prompt": "Hi?", "model": QWEN, "temperature": 0.5, "top_k": 3}
    assert service.post({"source": 1, "destination": 1, "data": data}).status_code == 200
    first, second = backend.received()
    assert first["path"] == f"/models/{QWEN}"
    assert second["path"] == f"/models/{QWEN}/v1/chat/completions"
    assert second["body"] == {
        "model": QWEN,
        "messages": [{"role": "user", "content": "Hi?"}],
        "max_tokens": 20,
        "temperature": 0.5,
        "stream": False,
    }
    backend.reset()
    assert service.post({"source": 1, "destination": 1, "data": data}).status_code == 200
    (only,) = backend.received()  # the model is remembered as chat-only
    assert only["path"].endswith("/v1/chat/completions")


def test_text_mode_never_falls_back(start_service, backend: OfflineBackendProcess) -> None:
    service = start_service(text_generation_mode=TextGenerationMode.TEXT)
    answer = service.post(
        {"source": 1, "destination": 1, "data": {"task_id": 1, "prompt": "x", "model": QWEN}}
    )
    assert answer.status_code == 502
    assert "not supported for task text-generation" in answer.json()["description"]
    assert len(backend.received()) == 1


def test_chat_mode_always_chats(start_service, backend: OfflineBackendProcess) -> None:
    service = start_service(text_generation_mode=TextGenerationMode.CHAT)
    data = {"task_id": 1, "prompt": "x", "model": GPT2}
    assert service.post({"source": 1, "destination": 1, "data": data}).status_code == 200
    (only,) = backend.received()
    assert only["path"] == f"/models/{GPT2}/v1/chat/completions"


def test_token_is_sent_as_bearer(start_service, backend: OfflineBackendProcess) -> None:
    service = start_service(token="hf_test_bearer_token")
    assert (
        service.post(
            {"source": 1, "destination": 1, "data": {"task_id": 2, "text": "x"}}
        ).status_code
        == 200
    )
    (received,) = backend.received()
    assert received["headers"]["authorization"] == "Bearer hf_test_bearer_token"


@pytest.mark.parametrize("status", [429, 503])
def test_retries_rate_limits_and_loading_then_succeeds(
    start_service, backend: OfflineBackendProcess, status: int
) -> None:
    service = start_service()
    backend.fault(status=status, times=2, retry_after="0")
    answer = service.post({"source": 1, "destination": 1, "data": {"task_id": 2, "text": "x"}})
    assert answer.status_code == 200
    assert len(backend.received()) == 3


def test_retries_are_bounded(start_service, backend: OfflineBackendProcess) -> None:
    service = start_service(retry=RetryPolicy(max_attempts=2, base_delay=0.01, max_delay=0.01))
    backend.fault(status=429, times=5)
    answer = service.post({"source": 1, "destination": 1, "data": {"task_id": 2, "text": "x"}})
    assert answer.status_code == 503
    error = answer.json()
    assert error["code"] == "503"
    assert error["description"].startswith(
        f"backend answered 429 for model {SST2} after 2 attempts"
    )
    assert "stand-in fault" in error["description"]  # the backend's own reason
    assert len(backend.received()) == 2


def test_other_backend_errors_are_not_retried(
    start_service, backend: OfflineBackendProcess
) -> None:
    service = start_service()
    backend.fault(status=500)
    answer = service.post({"source": 1, "destination": 1, "data": {"task_id": 4, "text": "x"}})
    assert answer.status_code == 502
    assert answer.json()["description"].startswith(f"backend answered 500 for model {BART}:")
    assert len(backend.received()) == 1


def test_slow_backend_times_out(start_service, backend: OfflineBackendProcess) -> None:
    service = start_service(timeout=0.3)
    backend.fault(delay=3.0)
    answer = service.post({"source": 1, "destination": 1, "data": {"task_id": 2, "text": "x"}})
    assert answer.status_code == 504
    assert answer.json()["code"] == "504"
    assert "0.3 s" in answer.json()["description"]


def test_unreachable_backend_is_retried_then_503(start_service) -> None:
    sock = listening_socket()
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there any more
    service = start_service(endpoint=f"http://127.0.0.1:{port}")
    answer = service.post({"source": 1, "destination": 1, "data": {"task_id": 2, "text": "x"}})
    assert answer.status_code == 503
    assert answer.json()["description"].startswith(
        f"cannot reach the backend for model {SST2} after 3 attempts: Cannot connect to host"
    )


def test_keep_alive_connection_survives_backend_close(start_service, backend) -> None:
    # Many sequential jobs reuse pooled connections; all succeed.
    service = start_service()
    for i in range(20):
        data = {"task_id": 2, "text": f"text {i}"}
        assert service.post({"source": 1, "destination": 1, "data": data}).status_code == 200


def test_chat_parameters_keep_what_chat_understands() -> None:
    given = {"max_new_tokens": 5, "temperature": 0.1, "top_k": 3, "stop": ["x"], "watermark": True}
    assert chat_parameters(given) == {"max_tokens": 5, "temperature": 0.1, "stop": ["x"]}


def test_unsupported_task_detection_from_hub_value_error() -> None:
    message = (
        "Task 'text-generation' not supported for provider 'groq'."
        " Available tasks: ['conversational']"
    )
    assert says_task_unsupported(ValueError(message))
    assert not says_task_unsupported(ValueError("something else"))
    assert not says_task_unsupported(RuntimeError("not supported"))


def test_allowed_url_model_is_used_verbatim(start_service, backend: OfflineBackendProcess) -> None:
    from hf_inference_client_service import InputPolicy

    service = start_service(inputs=InputPolicy(allow_url_models=True))
    data = {"task_id": 1, "prompt": "Hello", "model": backend.url}  # a TGI-style server root
    answer = service.post({"source": 1, "destination": 1, "data": data})
    assert answer.status_code == 200
    (received,) = backend.received()
    assert received["path"] == "/"
    assert received["body"] == {"inputs": "Hello", "parameters": GEN_DEFAULTS}


def test_provider_routing_failure_is_not_a_500() -> None:
    # Another provider needs the Hub to map the model; offline, that fails: a 503, not a 500.
    probe = """
import asyncio
from hf_inference_client_service import HFInferenceClientWorkflow, InputPolicy, ServiceConfig
from hf_inference_client_service import parse_offchain
async def main():
    config = ServiceConfig(provider="together", token="hf_x", timeout=10)
    workflow = HFInferenceClientWorkflow(config).setup()
    job = parse_offchain({"task_id": 1, "prompt": "hi", "model": "a/b"}, InputPolicy())
    try:
        await workflow.inference(job)
    except Exception as e:
        print(int(e.status), e)
    finally:
        await workflow.close()
asyncio.run(main())
"""
    env = clean_env() | {"HF_HUB_OFFLINE": "1", "HF_HOME": "/nonexistent-hf-home-for-tests"}
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.stdout.startswith("503 cannot route model a/b to provider together"), done


@pytest.mark.parametrize(
    ("data", "body", "field"),
    [
        pytest.param(
            {"task_id": 1, "prompt": "x", "max_new_tokens": 500},
            b'{"error": "`max_new_tokens` must be <= 64"}',
            "data.max_new_tokens",
            id="generation",
        ),
        pytest.param(
            {"task_id": 4, "text": "x", "parameters": {"max_length": 900}},
            b'{"error": "max_length is too large for this model"}',
            "data.parameters.max_length",
            id="summarization",
        ),
    ],
)
def test_422_naming_a_parameter_is_the_callers_fault(
    data: dict[str, Any], body: bytes, field: str
) -> None:
    job = parse_offchain(data, InputPolicy())
    error = status_error(BackendStatus(422, body, {}), 1, "m/x", job)
    assert isinstance(error, InvalidField)
    assert error.field == field


def test_422_naming_nothing_the_job_sent_stays_the_backends() -> None:
    job = parse_offchain({"task_id": 2, "text": "x"}, InputPolicy())
    error = status_error(BackendStatus(422, b'{"error": "model is busy"}', {}), 1, "m/x", job)
    assert error.status == 502


def test_transformers_served_model_is_asked_again_without_tgi_parameters(
    service: ServiceThread, backend: OfflineBackendProcess
) -> None:
    flan = "google/flan-t5-base"
    data = {"task_id": 1, "prompt": "Hi", "model": flan, "watermark": True, "seed": 3}
    answer = service.post({"source": 1, "destination": 1, "data": data})
    assert answer.status_code == 200, answer.text
    first, second = backend.received()
    assert first["body"]["parameters"]["watermark"] is True
    assert second["body"] == {
        "inputs": "Hi",
        "parameters": {"max_new_tokens": 20, "return_full_text": False, "seed": 3},
    }
