"""Container protocol over real HTTP (docs/devnode.md): body, bearer, chains, errors, streams."""

from __future__ import annotations

import http.client
import json
from typing import Any

import pytest
from devnode_harness import DELEGATED
from devnode_harness import NodeFactory
from devnode_harness import NodeThread
from hf_infernet_stack.containers import Containers
from infernet_devnode.redaction import Redactor


def test_chain_of_two_feeds_each_output_to_the_next(
    node: NodeThread, containers: Containers
) -> None:
    http = node.http()
    job_id = http.job(["echo", "wrap"], {"text": "hi"})
    result = http.result(job_id, intermediate=True)
    assert result["status"] == "success"
    first = result["intermediate_results"][0]
    assert first["container"] == "echo"
    assert first["output"]["echo"] == {"text": "hi"}
    assert (first["output"]["source"], first["output"]["destination"]) == (1, 1)
    # the second container gets the first one's whole output, from an off-chain source
    assert result["result"] == {
        "container": "wrap",
        "output": {"wrapped": first["output"], "source": 1, "destination": 1},
    }


def test_requires_proof_reaches_every_container(
    start_node: NodeFactory, containers: Containers
) -> None:
    node = start_node(
        [
            {"id": "echo", "url": containers.url("echo")},
            {"id": "prover", "url": containers.url("echo"), "generates_proofs": True},
        ]
    )
    http = node.http()
    result = http.result(http.job(["echo", "prover"], {"q": 1}, requires_proof=True))
    assert result["result"]["output"]["requires_proof"] is True
    answer = http.post("/api/jobs", {"containers": ["echo"], "data": {}, "requires_proof": True})
    assert answer.status == 405
    assert answer.json == {
        "error": "Container does not generate proof",
        "params": {"container": "echo"},
    }


def test_bearer_is_sent_and_never_returned(start_node: NodeFactory, containers: Containers) -> None:
    node = start_node([{"id": "echo", "url": containers.url("echo"), "bearer": "s3cret-token"}])
    http = node.http()
    result = http.result(http.job(["echo"], {}))
    # the container got the bearer; its echo of it is redacted before the submitter sees it
    assert containers.calls[-1][2]["Authorization"] == "Bearer s3cret-token"
    assert result["result"]["output"]["auth"] == "Bearer [redacted]"
    assert "s3cret-token" not in http.get("/info").body.decode()


def test_container_without_url_is_reached_on_localhost_port(
    start_node: NodeFactory, containers: Containers
) -> None:
    # Without ``url`` the base is http://localhost:{port}; our server answers on any prefix
    # only below /<prefix>/, so a bare port gets 404 text: the job fails naming that answer.
    node = start_node([{"id": "bare", "port": containers.port}])
    http = node.http()
    result = http.result(http.job(["bare"], {}))
    assert result["status"] == "failed"
    assert "HTTP 404" in result["result"]["error"]


@pytest.mark.parametrize(
    ("prefix", "error_part"),
    [
        pytest.param("text", "not JSON", id="non-json-content-type"),
        pytest.param("badjson", "{not json", id="invalid-json-body"),
        pytest.param("fail", "HTTP 500", id="http-500"),
    ],
)
def test_bad_container_answer_fails_the_job(
    start_node: NodeFactory, containers: Containers, prefix: str, error_part: str
) -> None:
    node = start_node([{"id": "c", "url": containers.url(prefix)}])
    http = node.http()
    result = http.result(http.job(["c"], {}))
    assert result["status"] == "failed"
    assert result["result"]["container"] == "c"
    assert error_part in result["result"]["error"]


def test_container_down_fails_the_job(start_node: NodeFactory) -> None:
    node = start_node([{"id": "down", "url": "http://127.0.0.1:9"}])
    http = node.http()
    result = http.result(http.job(["down"], {}))
    assert result["status"] == "failed"
    assert "cannot reach http://127.0.0.1:9/service_output" in result["result"]["error"]


def test_slow_container_times_out(start_node: NodeFactory, containers: Containers) -> None:
    node = start_node([{"id": "slow", "url": containers.url("slow"), "timeout": 0.2}])
    http = node.http()
    result = http.result(http.job(["slow"], {}))
    assert result["status"] == "failed"
    assert "timed out after 0.2 s" in result["result"]["error"]


def test_first_error_stops_the_chain(start_node: NodeFactory, containers: Containers) -> None:
    node = start_node(
        [
            {"id": "echo", "url": containers.url("echo")},
            {"id": "fail", "url": containers.url("fail")},
            {"id": "wrap", "url": containers.url("wrap")},
        ]
    )
    before = len(containers.calls_to("wrap"))
    http = node.http()
    result = http.result(http.job(["echo", "fail", "wrap"], {}), intermediate=True)
    assert result["status"] == "failed"
    assert [r["container"] for r in result["intermediate_results"]] == ["echo"]
    assert result["result"]["container"] == "fail"
    assert len(containers.calls_to("wrap")) == before


def _stream(node: NodeThread, body: Any) -> tuple[int, bytes]:
    answer = node.http().post("/api/jobs/stream", body)
    return answer.status, answer.body


def test_stream_passes_bytes_through_after_the_job_id(
    start_node: NodeFactory, containers: Containers
) -> None:
    node = start_node(
        [
            {"id": "stream", "url": containers.url("stream")},
            {"id": "wrap", "url": containers.url("wrap")},
        ]
    )
    wrapped = len(containers.calls_to("wrap"))
    status, body = _stream(node, {"containers": ["stream", "wrap"], "data": {"q": 1}})
    assert status == 200
    job_id, _, streamed = body.partition(b"\n")
    assert streamed == b"one two three"
    call = containers.calls_to("stream")[-1]
    assert call == {"source": 1, "destination": 2, "data": {"q": 1}}  # no requires_proof
    assert len(containers.calls_to("wrap")) == wrapped  # only containers[0] runs
    result = node.http().result(job_id.decode())
    assert result["status"] == "success"
    assert result["result"] == {"container": "stream", "output": {"output": "one two three"}}


def test_stream_failure_ends_stream_and_fails_job(
    start_node: NodeFactory, containers: Containers
) -> None:
    node = start_node([{"id": "streamfail", "url": containers.url("streamfail")}])
    status, body = _stream(node, {"containers": ["streamfail"], "data": {}})
    assert status == 200
    job_id, _, streamed = body.partition(b"\n")
    assert streamed == b""
    result = node.http().result(job_id.decode())
    assert result["status"] == "failed"
    assert "HTTP 500" in result["result"]["error"]


def test_stream_closed_by_the_client_fails_the_job(
    start_node: NodeFactory, containers: Containers
) -> None:
    node = start_node([{"id": "hangstream", "url": containers.url("hangstream")}])
    connection = http.client.HTTPConnection("127.0.0.1", node.node.port, timeout=10)
    try:
        body = json.dumps({"containers": ["hangstream"], "data": {}})
        connection.request("POST", "/api/jobs/stream", body=body)
        response = connection.getresponse()
        job_id = response.read(37).decode().strip()
    finally:
        connection.close()
    try:
        result = node.http().result(job_id)
    finally:
        containers.release()
    assert result["status"] == "failed"
    assert "stream ended early" in result["result"]["error"]


def test_stream_rejects_delegated_and_guardian_failures(node: NodeThread) -> None:
    status, body = _stream(node, DELEGATED)
    assert status == 405
    assert b"Streaming only supported for OffchainJob requests." in body
    status, body = _stream(node, {"containers": ["nope"], "data": {}})
    assert status == 405
    assert b"Container not supported" in body


@pytest.mark.parametrize("piece", [1, 3, 7, 1000])
def test_stream_redaction_catches_secrets_split_across_chunks(piece: int) -> None:
    text = b"a top-secret-bearer b second-secret c top-secret-bearertop-secret-bearer"
    redactor = Redactor(["top-secret-bearer", "second-secret"]).stream()
    out = b"".join(redactor.feed(text[i : i + piece]) for i in range(0, len(text), piece))
    out += redactor.flush()
    assert out == b"a [redacted] b [redacted] c [redacted][redacted]"
