"""The Hugging Face token never reaches a caller inside a successful answer, however escaped."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import pairwise

import httpx
import pytest
from eth_abi.abi import decode
from hf_inference_client_service import RetryPolicy
from hf_inference_client_service import ServiceConfig
from hf_inference_client_service import encode_input
from hf_inference_client_service.redaction import REDACTED
from hf_inference_client_service.redaction import StreamRedactor
from hf_inference_client_service.redaction import redact_output
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from misbehaving_backend import MisbehavingBackend
from service_harness import ServiceThread

TOKEN = "hf_EchoedSecretToken0123456789"


@pytest.fixture(scope="module")
def service(scripted: MisbehavingBackend) -> Iterator[ServiceThread]:
    config = ServiceConfig(
        endpoint=scripted.url, token=TOKEN, retry=RetryPolicy(max_attempts=1), timeout=10.0
    )
    with ServiceThread(config) as running:
        yield running


# ------------------------------------------------------------------ pure


def test_every_string_of_an_output_is_redacted() -> None:
    output = [{"entity_group": f"x{TOKEN}", "score": 0.5, "word": TOKEN, "start": 0, "end": None}]
    assert redact_output(output, TOKEN) == [
        {"entity_group": f"x{REDACTED}", "score": 0.5, "word": REDACTED, "start": 0, "end": None}
    ]
    assert redact_output({"summary_text": f"{TOKEN} {TOKEN}"}, TOKEN) == {
        "summary_text": f"{REDACTED} {REDACTED}"
    }


@settings(max_examples=200, deadline=None)
@given(
    before=st.text(alphabet="hf_Eabc ", max_size=30),
    after=st.text(alphabet="hf_Eabc ", max_size=30),
    cuts=st.lists(st.integers(min_value=0, max_value=120), max_size=6),
)
def test_a_token_split_across_stream_pieces_is_redacted(
    before: str, after: str, cuts: list[int]
) -> None:
    text = before + TOKEN + after
    bounds = sorted({0, len(text), *(min(c, len(text)) for c in cuts)})
    redactor = StreamRedactor(TOKEN)
    relayed = [redactor.feed(text[a:b]) for a, b in pairwise(bounds)]
    relayed.append(redactor.flush())
    assert "".join(relayed) == text.replace(TOKEN, REDACTED)
    assert all(TOKEN not in piece for piece in relayed)


def test_stream_pieces_that_cannot_start_the_token_are_relayed_at_once() -> None:
    redactor = StreamRedactor(TOKEN)
    assert redactor.feed("Once upon") == "Once upon"
    assert redactor.feed(" a time hf") == " a time "  # "hf" may begin the token: held
    assert redactor.feed("!") == "hf!"


# ------------------------------------------------------------------ over HTTP


def test_token_echoed_in_a_label_is_redacted(service: ServiceThread) -> None:
    data = {"task_id": 2, "text": "echo-token:label"}
    answer = service.post({"source": 1, "destination": 1, "data": data})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"output": [{"label": REDACTED, "score": 0.5}]}
    assert TOKEN not in answer.text


def test_token_echoed_in_generated_text_is_redacted_off_and_on_chain(
    service: ServiceThread,
) -> None:
    data = {"task_id": 1, "prompt": "echo-token:text"}
    answer = service.post({"source": 1, "destination": 1, "data": data})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"output": f"your token is {REDACTED}."}
    onchain = encode_input(1, "", "echo-token:onchain").hex()
    answer = service.post({"source": 0, "destination": 0, "data": onchain})
    assert answer.status_code == 200, answer.text
    (text,) = decode(["string"], bytes.fromhex(answer.json()["raw_output"]))
    assert text == f"your token is {REDACTED}."


def test_token_split_across_stream_events_is_redacted(service: ServiceThread) -> None:
    body = {"source": 1, "destination": 2, "data": {"task_id": 1, "prompt": "echo-token:s"}}
    answer = httpx.post(service.url + "/service_output", json=body, timeout=30)
    assert answer.status_code == 200
    assert answer.text == REDACTED
