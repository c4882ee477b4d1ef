"""Every misbehaviour of the backend is blamed on the backend, and never reaches another job."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import aiohttp
import httpx
import pytest
from hf_inference_client_service import ConnectionLimits
from hf_inference_client_service import RetryPolicy
from hf_inference_client_service import ServiceConfig
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from misbehaving_backend import LATE_STRAY_SENT
from misbehaving_backend import MisbehavingBackend
from service_harness import ServiceThread

TOKEN = "hf_scripted_secret_token"
NO_RETRY = RetryPolicy(max_attempts=1)
STREAM_TIMEOUT_S = 1.0
FOLLOWING_JOBS = 3
MAX_ANSWER_BYTES = 16_384

# case -> (status, text the description contains); None: a 200 carrying the job's own answer
CLASSIFICATION_CASES: dict[str, tuple[int, str] | None] = {
    "extra-answer": None,
    "continue-first": None,
    "early-hints-first": None,
    "http10-keep-open": None,
    "redirect-same-origin": None,
    "short-length": (502, "not valid HTTP"),
    "negative-length": (502, "not valid HTTP"),
    "garbage-length": (502, "not valid HTTP"),
    "bad-chunk-size": (502, "Invalid character in chunk size"),
    "oversized-head": (502, "not valid HTTP"),
    "oversized-answer": (502, "the answer declares 65565 bytes; the limit is 16384"),
    "oversized-chunked-answer": (502, "the answer is larger than 16384 bytes"),
    "not-json": (502, "the text-classification answer is not JSON"),
    "wrong-shape": (502, "the text-classification answer has the wrong shape"),
    "missing-score": (502, "score"),
    "nan-score": (502, "finite number"),
    "infinite-score": (502, "finite number"),
    "huge-score": (502, "finite number"),
    "score-too-large": (502, "too large for uint256"),
    "redirect-elsewhere": (502, "redirected to another origin (http://attacker.invalid:80)"),
    "token-rejected": (502, "the backend rejected the Hugging Face token (HTTP 401)"),
    "forbidden": (502, "the backend rejected the Hugging Face token (HTTP 403)"),
}
STREAM_CASES = ["stream-cut", "stream-ends-early", "stream-garbage", "stream-trickles"]


@pytest.fixture(scope="module")
def service(scripted: MisbehavingBackend) -> Iterator[ServiceThread]:
    config = ServiceConfig(
        endpoint=scripted.url,
        token=TOKEN,
        retry=NO_RETRY,
        timeout=STREAM_TIMEOUT_S,
        connections=ConnectionLimits(connections=8, max_response_bytes=MAX_ANSWER_BYTES),
    )
    with ServiceThread(config) as running:
        yield running


def classify(text: str) -> dict[str, object]:
    return {"source": 1, "destination": 1, "data": {"task_id": 2, "text": text}}


def assert_own_answer(answer: httpx.Response, text: str) -> None:
    assert answer.status_code == 200, answer.text
    assert answer.json()["output"] == [{"label": text, "score": 0.5}]


def assert_next_jobs_get_their_own_answers(service: ServiceThread, case: str) -> None:
    for i in range(FOLLOWING_JOBS):
        text = f"ok:after {case} #{i}"
        assert_own_answer(service.post(classify(text)), text)


@pytest.mark.parametrize("case", list(CLASSIFICATION_CASES))
def test_backend_fault_is_attributed_and_contained(service: ServiceThread, case: str) -> None:
    text = f"{case}:job"
    answer = service.post(classify(text))
    expected = CLASSIFICATION_CASES[case]
    if expected is None:
        assert_own_answer(answer, text)
    else:
        status, fragment = expected
        error = answer.json()
        assert (answer.status_code, error["code"]) == (status, str(status)), error
        assert fragment in error["description"]
        assert TOKEN not in error["description"]
        assert "data.model" not in error["description"]
    assert_next_jobs_get_their_own_answers(service, case)


def test_a_stray_answer_on_an_idle_pooled_connection_reaches_no_job(
    service: ServiceThread,
) -> None:
    # The stray answer arrives after the job's own answer was read and the connection went back
    # to the pool; the next jobs are sent only once it is there, so one of them would get it.
    LATE_STRAY_SENT.clear()
    assert_own_answer(service.post(classify("late-stray-answer:job")), "late-stray-answer:job")
    assert LATE_STRAY_SENT.wait(10)
    assert_next_jobs_get_their_own_answers(service, "late-stray-answer")


def test_backend_refusing_a_generation_parameter_is_the_callers_fault(
    service: ServiceThread,
) -> None:
    data = {"task_id": 1, "prompt": "parameter-refused:job", "max_new_tokens": 500}
    answer = service.post({"source": 1, "destination": 1, "data": data})
    assert answer.status_code == 400
    description = answer.json()["description"]
    assert description.startswith("data.max_new_tokens: refused by the backend:")
    assert "must be <= 64" in description
    assert_next_jobs_get_their_own_answers(service, "parameter-refused")


@pytest.mark.parametrize("case", STREAM_CASES)
def test_broken_stream_ends_as_an_incomplete_answer(service: ServiceThread, case: str) -> None:
    body = {"source": 1, "destination": 2, "data": {"task_id": 1, "prompt": f"{case}:job"}}
    received = b""
    url = service.url + "/service_output"
    with (  # noqa: PT012 - reading the body is what fails
        pytest.raises(httpx.RemoteProtocolError),
        httpx.stream("POST", url, json=body, timeout=30) as r,
    ):
        assert r.status_code == 200
        for chunk in r.iter_bytes():
            received += chunk
    assert received.startswith(b"one " if case != "stream-trickles" else b"tick ")
    assert_next_jobs_get_their_own_answers(service, case)


def test_complete_stream_ends_normally(service: ServiceThread) -> None:
    body = {"source": 1, "destination": 2, "data": {"task_id": 1, "prompt": "ok:stream"}}
    answer = httpx.post(service.url + "/service_output", json=body, timeout=30)
    assert answer.status_code == 200
    assert answer.text == "ok:stream"


# ------------------------------------------------------------------ property

FAULTS = [case for case, expected in CLASSIFICATION_CASES.items() if expected is not None]
SOUND = [case for case, expected in CLASSIFICATION_CASES.items() if expected is None]


async def _run_jobs(url: str, cases: list[str], concurrency: int) -> list[httpx.Response]:
    limit = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(timeout=30) as client:

        async def one(i: int, case: str) -> httpx.Response:
            async with limit:
                return await client.post(url + "/service_output", json=classify(f"{case}:{i}"))

        return await asyncio.gather(*(one(i, case) for i, case in enumerate(cases)))


@pytest.mark.parametrize("concurrency", [1, 16])
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(cases=st.lists(st.sampled_from(["ok", "ok", *SOUND, *FAULTS]), min_size=1, max_size=40))
def test_no_job_ever_receives_another_jobs_output(
    service: ServiceThread, concurrency: int, cases: list[str]
) -> None:
    answers = asyncio.run(_run_jobs(service.url, cases, concurrency))
    for i, (case, answer) in enumerate(zip(cases, answers, strict=True)):
        if answer.status_code == 200:
            assert answer.json()["output"] == [{"label": f"{case}:{i}", "score": 0.5}]
        else:
            assert case in FAULTS, (case, answer.text)
            assert answer.status_code == 502


def test_broken_stream_is_an_error_for_an_aiohttp_reader_like_the_node(
    service: ServiceThread,
) -> None:
    # The node relays a stream with aiohttp's `iter_any()` and records the job as failed when
    # that raises; a cut stream must raise there, not end quietly with partial text.
    body = {"source": 1, "destination": 2, "data": {"task_id": 1, "prompt": "stream-cut:node"}}

    async def read() -> bytes:
        received = b""
        async with (
            aiohttp.ClientSession() as session,
            session.post(service.url + "/service_output", json=body) as response,
        ):
            assert response.status == 200
            async for chunk in response.content.iter_any():
                received += chunk
        return received

    with pytest.raises(aiohttp.ClientPayloadError):
        asyncio.run(read())
