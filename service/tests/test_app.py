"""Every route over real HTTP: service on Hypercorn, offline stand-in as the backend."""

from __future__ import annotations

import json
import socket

import httpx
from eth_abi.abi import decode
from hf_inference_client_service import SCORE_SCALE
from hf_inference_client_service import encode_input
from hf_inference_standin import SUMMARY_PREFIX
from hf_inference_standin import generated_tokens
from hf_inference_standin import summarize
from hf_inference_standin import text_classification
from hf_inference_standin import token_classification
from service_harness import OfflineBackendProcess
from service_harness import ServiceThread

GPT2 = "openai-community/gpt2"
QWEN = "Qwen/Qwen2.5-72B-Instruct"
SKY = "Is the sky blue during a clear day?"
SENTIMENT = "Decentralizing AI using crypto is awesome!"
NER = "Ritual makes AI x crypto a great combination!"
ARTICLE = (
    "The tower is 324 metres tall, about the same height as an 81-storey building, and the "
    "tallest structure in Paris. Its base is square, measuring 125 metres on each side."
)
SST2 = "distilbert/distilbert-base-uncased-finetuned-sst-2-english"
CONLL = "FacebookAI/xlm-roberta-large-finetuned-conll03-english"


def offchain(data: dict[str, object], destination: int = 1) -> dict[str, object]:
    return {"source": 1, "destination": destination, "data": data, "requires_proof": False}


def onchain(task: int, model: str, text: str) -> dict[str, object]:
    return {"source": 0, "destination": 0, "data": encode_input(task, model, text).hex()}


def test_index_names_the_service(service: ServiceThread) -> None:
    answer = httpx.get(service.url + "/")
    assert answer.status_code == 200
    body = answer.json()
    assert body["name"] == "hf-inference-client-service"
    assert body["version"]


def test_service_resources_document(service: ServiceThread) -> None:
    body = httpx.get(service.url + "/service-resources").json()
    assert body["service_id"] == "hf-inference-client-service"
    (ml,) = body["compute_capability"]
    assert ml["type"] == "hf_client"
    assert "summarization" in ml["task"]
    assert SST2 in ml["models"]


def test_service_resources_model_query(service: ServiceThread) -> None:
    def supported(model_id: str) -> bool:
        answer = httpx.get(service.url + "/service-resources", params={"model_id": model_id})
        assert answer.status_code == 200
        return bool(answer.json()["supported"])

    assert supported("meta-llama/Llama-3.2-1B-Instruct")
    assert not supported("http://169.254.169.254/latest")
    assert not supported("../../etc/passwd")
    assert not supported("")


def test_text_generation_offchain(service: ServiceThread) -> None:
    answer = service.post(offchain({"task_id": 1, "prompt": "Hello", "model": GPT2}))
    assert answer.status_code == 200
    assert answer.json() == {"output": "".join(generated_tokens(GPT2, "Hello", 20))}


def test_text_generation_falls_back_to_chat(service: ServiceThread) -> None:
    # The documented example: a chat-only model answers through chat completion.
    data = {"task_id": 1, "prompt": SKY, "model": QWEN, "max_new_tokens": 8}
    answer = service.post(offchain(data))
    assert answer.status_code == 200
    assert answer.json() == {"output": "".join(generated_tokens(QWEN, SKY, 8)).lstrip()}
    assert answer.json()["output"].startswith("Offline stand-in reply")


def test_text_classification_offchain(service: ServiceThread) -> None:
    answer = service.post(offchain({"task_id": 2, "text": SENTIMENT}))
    assert answer.status_code == 200
    assert answer.json() == {"output": text_classification(SENTIMENT, None)}
    assert answer.json()["output"][0]["label"] == "POSITIVE"


def test_token_classification_offchain(service: ServiceThread) -> None:
    answer = service.post(offchain({"task_id": 3, "text": NER}))
    assert answer.status_code == 200
    expected = token_classification(NER, None, None)
    assert answer.json() == {"output": expected}
    assert [e["word"] for e in expected] == ["Ritual", "AI"]


def test_summarization_offchain(service: ServiceThread) -> None:
    params = {"min_length": 5, "max_length": 10}
    answer = service.post(offchain({"task_id": 4, "text": ARTICLE, "parameters": params}))
    assert answer.status_code == 200
    summary = summarize(ARTICLE, {"generate_parameters": params})
    assert answer.json() == {"output": {"summary_text": summary}}
    assert len(summary.removeprefix(SUMMARY_PREFIX).split()) == 10


def test_onchain_text_generation(service: ServiceThread) -> None:
    body = onchain(1, GPT2, "Hello")
    answer = service.post(body)
    assert answer.status_code == 200
    result = answer.json()
    assert set(result) == {
        "raw_input",
        "processed_input",
        "raw_output",
        "processed_output",
        "proof",
    }
    assert result["raw_input"] == body["data"]
    assert result["processed_input"] == result["processed_output"] == result["proof"] == ""
    (text,) = decode(["string"], bytes.fromhex(result["raw_output"]))
    assert text == "".join(generated_tokens(GPT2, "Hello", 20))


def test_onchain_default_model_is_used_for_empty_model(
    service: ServiceThread, backend: OfflineBackendProcess
) -> None:
    answer = service.post(onchain(2, "", SENTIMENT))
    assert answer.status_code == 200
    assert backend.received()[-1]["path"] == f"/models/{SST2}"
    labels, scores = decode(["string[]", "uint256[]"], bytes.fromhex(answer.json()["raw_output"]))
    expected = text_classification(SENTIMENT, None)
    assert list(labels) == [e["label"] for e in expected]
    assert list(scores) == [int(e["score"] * SCORE_SCALE) for e in expected]


def test_onchain_token_classification(service: ServiceThread) -> None:
    answer = service.post(onchain(3, CONLL, NER))
    labels, scores = decode(["string[]", "uint256[]"], bytes.fromhex(answer.json()["raw_output"]))
    expected = token_classification(NER, None, None)
    assert list(labels) == [e["entity_group"] for e in expected]
    assert list(scores) == [int(e["score"] * SCORE_SCALE) for e in expected]


def test_onchain_summarization_accepts_0x_prefix(service: ServiceThread) -> None:
    body = onchain(4, "", ARTICLE)
    body["data"] = "0x" + str(body["data"])
    answer = service.post(body)
    assert answer.status_code == 200
    assert answer.json()["raw_input"] == str(body["data"])[2:]
    (summary,) = decode(["string"], bytes.fromhex(answer.json()["raw_output"]))
    assert summary == summarize(ARTICLE, {})


def test_delegated_job_offchain_input_onchain_output(service: ServiceThread) -> None:
    # Delegated subscriptions arrive as source 1, destination 0.
    answer = service.post(offchain({"task_id": 2, "text": "good"}, destination=0))
    assert answer.status_code == 200
    assert answer.json()["raw_input"] == ""
    labels, _ = decode(["string[]", "uint256[]"], bytes.fromhex(answer.json()["raw_output"]))
    assert list(labels) == [e["label"] for e in text_classification("good", None)]


def test_stream_relays_backend_tokens(
    service: ServiceThread, backend: OfflineBackendProcess
) -> None:
    backend.fault(token_delay=0.05)
    body = {"source": 1, "destination": 2, "data": {"task_id": 1, "prompt": "Hi", "model": GPT2}}
    chunks = []
    with httpx.stream("POST", service.url + "/service_output", json=body, timeout=30) as answer:
        assert answer.status_code == 200
        chunks = [c.decode() for c in answer.iter_raw() if c]
    tokens = generated_tokens(GPT2, "Hi", 20)
    assert "".join(chunks) == "".join(tokens)
    assert len(chunks) > 1  # streamed as it arrived, not buffered into one answer
    assert backend.received()[-1]["body"]["stream"] is True


def test_stream_of_chat_model_uses_chat_stream(
    service: ServiceThread, backend: OfflineBackendProcess
) -> None:
    body = {"source": 1, "destination": 2, "data": {"task_id": 1, "prompt": SKY, "model": QWEN}}
    answer = service.post(body)
    assert answer.status_code == 200
    assert answer.text == "".join(generated_tokens(QWEN, SKY, 20)).lstrip()
    assert backend.received()[-1]["path"].endswith("/v1/chat/completions")


def test_stream_failure_before_first_token_is_an_error_status(
    start_service, backend: OfflineBackendProcess
) -> None:
    service = start_service()
    backend.fault(status=500)
    body = {"source": 1, "destination": 2, "data": {"task_id": 1, "prompt": "Hi", "model": GPT2}}
    answer = service.post(body)
    assert answer.status_code == 502
    assert answer.json()["code"] == "502"


def test_unknown_route_and_method_answer_json(service: ServiceThread) -> None:
    missing = httpx.get(service.url + "/nope")
    assert missing.status_code == 404
    assert missing.json()["code"] == "404"
    wrong = httpx.get(service.url + "/service_output")
    assert wrong.status_code == 405
    assert wrong.json() == {
        "code": "405",
        "name": "Method Not Allowed",
        "description": wrong.json()["description"],
    }


def test_oversized_body_is_413_json(start_service) -> None:
    from hf_inference_client_service import InputPolicy

    service = start_service(inputs=InputPolicy(max_input_bytes=16))
    answer = service.post(offchain({"task_id": 2, "text": "x" * 100_000}))
    assert answer.status_code == 413
    assert answer.json()["code"] == "413"


def test_requires_proof_may_be_null_or_absent(service: ServiceThread) -> None:
    data = {"task_id": 2, "text": "good"}
    assert service.post({"source": 1, "destination": 1, "data": data}).status_code == 200
    body = {"source": 1, "destination": 1, "data": data, "requires_proof": None}
    assert service.post(body).status_code == 200


def test_log_output_redacts_the_token_in_messages_and_tracebacks() -> None:
    import io
    import logging

    from hf_inference_client_service.app import _configure_logging
    from hf_inference_client_service.app import logger as service_logger
    from hf_inference_client_service.config import ServiceConfig

    secret = "hf_TracebackSecret0123456789"
    _configure_logging(ServiceConfig(token=secret))
    handler = service_logger.handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    captured = io.StringIO()
    previous = handler.setStream(captured)
    try:
        try:
            raise RuntimeError(f"backend said: bad header Bearer {secret}")
        except RuntimeError as error:
            service_logger.error("unexpected error for %s", secret, exc_info=error)
    finally:
        handler.setStream(previous)
        _configure_logging(ServiceConfig())
    text = captured.getvalue()
    assert "RuntimeError" in text
    assert "[redacted]" in text
    assert secret not in text


def test_trickled_body_times_out_with_json_408(start_service) -> None:
    service = start_service(body_timeout=0.5)
    host, port = service.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        # A declared body that never arrives in full (the slow-body attack).
        conn.sendall(
            b"POST /service_output HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
            b"content-length: 100\r\n\r\n{"
        )
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            chunk = conn.recv(4096)
            if not chunk:
                break
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408")
    assert json.loads(body)["code"] == "408"
