"""Bad inputs: each gets the right status and a JSON error naming the field (real HTTP)."""

from __future__ import annotations

import pytest
from eth_abi.abi import encode
from hf_inference_client_service import InputPolicy
from hf_inference_client_service import InvalidField
from hf_inference_client_service import encode_input
from hf_inference_client_service import parse_call
from hf_inference_client_service import parse_offchain
from service_harness import ServiceThread


def _on(data: object) -> dict[str, object]:
    return {"source": 0, "destination": 0, "data": data}


def _off(data: object, destination: int = 1) -> dict[str, object]:
    return {"source": 1, "destination": destination, "data": data}


OK_TEXT = {"task_id": 2, "text": "fine"}

# (request body, or raw bytes), expected status, expected start of the description
BAD_INPUTS = [
    pytest.param(b"{not json", 400, "body: not a JSON object", id="not-json"),
    pytest.param(b"[1, 2]", 400, "body: must be a JSON object", id="json-array"),
    pytest.param(
        {"destination": 1, "data": OK_TEXT}, 400, "source: Field required", id="no-source"
    ),
    pytest.param(
        {**_off(OK_TEXT), "source": 2}, 400, "source: must be 0 (on-chain) or 1", id="source-stream"
    ),
    pytest.param(
        {**_off(OK_TEXT), "source": "1"},
        400,
        "source: must be the integer 0, 1 or 2",
        id="source-string",
    ),
    pytest.param(
        {**_off(OK_TEXT), "destination": 7}, 400, "destination: Input should be", id="destination-7"
    ),
    pytest.param(
        {**_off(OK_TEXT), "requires_proof": True},
        400,
        "requires_proof: this container makes no proofs",
        id="proof",
    ),
    pytest.param(
        {**_off(OK_TEXT), "requires_proof": "yes"},
        400,
        "requires_proof: Input should be a valid boolean",
        id="proof-string",
    ),
    pytest.param(
        _off("00ff"), 400, "data: must be a JSON object when source is 1", id="offchain-hex"
    ),
    pytest.param(_off({"text": "x"}), 400, "data.task_id: missing", id="no-task"),
    pytest.param(
        _off({"task_id": 0, "text": "x"}), 400, "data.task_id: 0 is not a task", id="task-0"
    ),
    pytest.param(
        _off({"task_id": 5, "prompt": "x"}), 400, "data.task_id: 5 is not a task", id="task-5"
    ),
    pytest.param(
        _off({"task_id": "1", "prompt": "x"}),
        400,
        "data.task_id: must be an integer",
        id="task-string",
    ),
    pytest.param(
        _off({"task_id": True, "prompt": "x"}),
        400,
        "data.task_id: must be an integer",
        id="task-bool",
    ),
    pytest.param(_off({"task_id": 1}), 400, "data.prompt: Field required", id="no-prompt"),
    pytest.param(
        _off({"task_id": 1, "prompt": 5}),
        400,
        "data.prompt: Input should be a valid string",
        id="prompt-int",
    ),
    pytest.param(
        _off({"task_id": 1, "prompt": "  "}),
        400,
        "data.prompt: must not be empty",
        id="prompt-blank",
    ),
    pytest.param(_off({"task_id": 2}), 400, "data.text: Field required", id="no-text"),
    pytest.param(
        _off({"task_id": 1, "prompt": "x", "max_new_tokens": "20"}),
        400,
        "data.max_new_tokens: Input should be a valid integer",
        id="tokens-string",
    ),
    pytest.param(
        _off({"task_id": 1, "prompt": "x", "max_new_tokens": 0}),
        400,
        "data.max_new_tokens: Input should be greater than or equal to 1",
        id="tokens-0",
    ),
    pytest.param(
        _off({"task_id": 1, "prompt": "x", "temperature": -1}),
        400,
        "data.temperature: Input should be greater than or equal to 0",
        id="temperature",
    ),
    pytest.param(
        _off({"task_id": 1, "prompt": "x", "stop": [1]}),
        400,
        "data.stop.0: Input should be a valid string",
        id="stop-int",
    ),
    pytest.param(
        _off({"task_id": 2, "text": "x", "function_to_apply": "tanh"}),
        400,
        "data.function_to_apply: Input should be",
        id="function",
    ),
    pytest.param(
        _off({"task_id": 3, "text": "x", "aggregation_strategy": "most"}),
        400,
        "data.aggregation_strategy: Input should be",
        id="aggregation",
    ),
    pytest.param(
        _off({"task_id": 4, "text": "x", "parameters": {"max_length": "56"}}),
        400,
        "data.parameters.max_length: Input should be a valid integer",
        id="summary-length",
    ),
    pytest.param(
        _off({"task_id": 4, "text": "x", "parameters": {"beams": 2}}),
        400,
        "data.parameters.beams: Extra inputs are not permitted",
        id="summary-unknown",
    ),
    pytest.param(
        _off({"task_id": 2, "text": "x" * 70_000}),
        400,
        "data.text: is 70000 bytes; the limit is 65536",
        id="oversized-text",
    ),
    pytest.param(
        _off({"task_id": 2, "text": "x", "model": "http://169.254.169.254/"}),
        400,
        "data.model: URL models are refused",
        id="url-model",
    ),
    pytest.param(
        _off({"task_id": 2, "text": "x", "model": "../../etc/passwd"}),
        400,
        "data.model: '../../etc/passwd' is not a Hugging Face model id",
        id="path-model",
    ),
    pytest.param(
        _off({"task_id": 2, "text": "x", "model": 3}),
        400,
        "data.model: Input should be a valid string",
        id="model-int",
    ),
    pytest.param(
        _off(OK_TEXT, destination=2),
        400,
        "destination: streaming (2) is only available for text generation",
        id="stream-task-2",
    ),
    pytest.param(
        _on({"task_id": 2}), 400, "data: must be a hex string when source is 0", id="onchain-dict"
    ),
    pytest.param(_on(""), 400, "data: empty hex string", id="onchain-empty"),
    pytest.param(_on("0xzz"), 400, "data: not a hex string (found 'z')", id="onchain-not-hex"),
    pytest.param(_on("abc"), 400, "data: hex string has odd length 3", id="onchain-odd"),
    pytest.param(
        _on(encode(["uint256"], [1]).hex()),
        400,
        "data: not abi.encode(uint8 task, string model, string input)",
        id="onchain-wrong-abi",
    ),
    pytest.param(
        _on(encode(["uint256", "string", "string"], [256, "", "x"]).hex()),
        400,
        "data: not abi.encode(",
        id="onchain-task-overflow",
    ),
    pytest.param(
        _on(encode_input(0, "", "x").hex()), 400, "data.task: 0 is not a task", id="onchain-task-0"
    ),
    pytest.param(
        _on(encode_input(9, "", "x").hex()), 400, "data.task: 9 is not a task", id="onchain-task-9"
    ),
    pytest.param(
        _on(encode_input(2, "https://x.example/", "x").hex()),
        400,
        "data.model: URL models are refused",
        id="onchain-url-model",
    ),
    pytest.param(
        _on(encode_input(1, "", "").hex()),
        400,
        "data.input: must not be empty",
        id="onchain-empty-input",
    ),
]


@pytest.mark.parametrize(("body", "status", "message"), BAD_INPUTS)
def test_bad_input_is_refused_naming_the_field(
    service: ServiceThread, body: object, status: int, message: str
) -> None:
    if isinstance(body, bytes):
        answer = service.post(None, content=body, headers={"content-type": "application/json"})
    else:
        answer = service.post(body)
    assert answer.status_code == status
    assert answer.headers["content-type"] == "application/json"
    error = answer.json()
    assert set(error) == {"code", "name", "description"}
    assert error["code"] == str(status)  # a string: the node's "code != '200'" rule
    assert error["name"] == "Bad Request"
    assert error["description"].startswith(message), error["description"]


def test_bad_input_table_is_large_enough() -> None:
    assert len(BAD_INPUTS) >= 15


def test_bad_input_never_reaches_the_backend(service: ServiceThread, backend) -> None:
    for case in BAD_INPUTS[:10]:
        body = case.values[0]
        if isinstance(body, bytes):
            service.post(None, content=body)
        else:
            service.post(body)
    assert backend.received() == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param(b'{"source": true, "destination": 1, "data": {}}', "source", id="bool-source"),
        pytest.param(
            b'{"source": 1, "destination": 1.0, "data": {}}', "destination", id="float-destination"
        ),
        pytest.param(
            b'{"source": 1, "destination": 1, "data": {"task_id": 1, "prompt": "x",'
            b' "temperature": NaN}}',
            "data.temperature",
            id="nan-parameter",
        ),
        pytest.param(
            b'{"source": 1, "destination": 1, "data": {"task_id": 4, "text": "x",'
            b' "parameters": {"max_time": 1e999}}}',
            "data.parameters.max_time",
            id="overflowing-parameter",
        ),
        pytest.param(
            b'{"source": 1, "destination": 1, "data": {"task_id": 2, "text": "x",'
            b' "extra": [1, -Infinity]}}',
            "data.extra[1]",
            id="infinity-in-an-ignored-key",
        ),
    ],
)
def test_numbers_are_validated_as_numbers(body: bytes, field: str) -> None:
    with pytest.raises(InvalidField) as error:
        parse_call(body, InputPolicy())
    assert error.value.field == field


@pytest.mark.parametrize(
    ("data", "field", "key"),
    [
        pytest.param(
            {"task_id": 1, "prompt": "x", "max_new_tokens": 5000},
            "data.max_new_tokens",
            "HF_INF_MAX_NEW_TOKENS",
            id="max-new-tokens",
        ),
        pytest.param(
            {"task_id": 1, "prompt": "x", "truncate": 5000},
            "data.truncate",
            "HF_INF_MAX_LENGTH",
            id="truncate",
        ),
        pytest.param(
            {"task_id": 4, "text": "x", "parameters": {"max_length": 5000}},
            "data.parameters.max_length",
            "HF_INF_MAX_LENGTH",
            id="summary-max-length",
        ),
        pytest.param(
            {"task_id": 4, "text": "x", "parameters": {"max_time": 600.0}},
            "data.parameters.max_time",
            "HF_INF_MAX_TIME",
            id="summary-max-time",
        ),
    ],
)
def test_generation_parameters_have_upper_bounds(
    data: dict[str, object], field: str, key: str
) -> None:
    with pytest.raises(InvalidField) as error:
        parse_offchain(data, InputPolicy())
    assert error.value.field == field
    assert key in error.value.reason


def test_parameter_bounds_are_configurable() -> None:
    policy = InputPolicy(max_new_tokens=4096)
    job = parse_offchain({"task_id": 1, "prompt": "x", "max_new_tokens": 4096}, policy)
    assert job.parameters["max_new_tokens"] == 4096


def test_absurd_temperature_is_a_400_naming_the_field(service: ServiceThread) -> None:
    data = {"task_id": 1, "prompt": "hi", "temperature": 1e308}
    answer = service.post({"source": 1, "destination": 1, "data": data})
    assert answer.status_code == 400
    assert answer.json()["description"] == (
        "data.temperature: Input should be less than or equal to 100"
    )
