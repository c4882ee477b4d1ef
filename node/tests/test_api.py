"""REST API over real HTTP: every route, its shapes and status codes (docs/devnode.md)."""

from __future__ import annotations

from typing import Any

import pytest
from devnode_harness import DELEGATED
from devnode_harness import NodeFactory
from devnode_harness import NodeThread
from hf_infernet_stack.containers import Containers
from hf_infernet_stack.processes import wait_for
from hf_infernet_stack.rest import OTHER_CLIENT


def test_health(node: NodeThread) -> None:
    answer = node.http().get("/health")
    assert (answer.status, answer.json) == (200, {"status": "healthy"})


def test_info_lists_containers_pending_and_chain(node: NodeThread) -> None:
    info = node.http().get("/info").json
    assert info["version"] == "1.4.0"
    assert info["containers"] == [
        {"id": "echo", "description": "echoes its input", "external": True, "image": ""},
        {"id": "wrap", "description": "", "external": False, "image": ""},
    ]
    assert info["pending"] == {"offchain": 0, "onchain": 0}
    assert info["chain"] == {"enabled": False, "address": ""}


def test_info_counts_running_jobs_and_finished_ones(
    start_node: NodeFactory, containers: Containers
) -> None:
    node = start_node(
        [
            {"id": "hang", "url": containers.url("hang")},
            {"id": "echo", "url": containers.url("echo")},
        ]
    )
    http = node.http()
    hung = http.job(["hang"], {})
    http.result(http.job(["echo"], {}))
    info = http.get("/info").json
    assert info["pending"]["offchain"] == 1
    assert info["devnode"]["jobs"]["offchain"] == {"success": 1, "failed": 0}
    containers.release()
    assert http.result(hung)["status"] == "success"
    assert http.get("/info").json["pending"]["offchain"] == 0


def test_job_runs_and_result_has_upstream_shape(node: NodeThread, containers: Containers) -> None:
    http = node.http()
    job_id = http.job(["echo"], {"prompt": "hi"})
    result = http.result(job_id)
    assert result == {
        "id": job_id,
        "status": "success",
        "result": {
            "container": "echo",
            "output": {
                "echo": {"prompt": "hi"},
                "source": 1,
                "destination": 1,
                "requires_proof": False,
                "auth": None,
            },
        },
    }
    assert "intermediate_results" in http.result(job_id, intermediate=True)


def test_job_id_is_found_immediately(start_node: NodeFactory, containers: Containers) -> None:
    node = start_node([{"id": "hang", "url": containers.url("hang")}])
    http = node.http()
    job_id = http.job(["hang"], {})
    jobs = http.get(f"/api/jobs?id={job_id}").json
    assert jobs == [{"id": job_id, "status": "running", "result": None}]
    containers.release()


def test_client_supplied_id_does_not_override_the_nodes(node: NodeThread) -> None:
    http = node.http()
    answer = http.post("/api/jobs", {"containers": ["echo"], "data": {}, "id": "mine", "ip": "x"})
    assert answer.status == 200
    assert answer.json["id"] != "mine"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({"data": {}}, "containers", id="containers-missing"),
        pytest.param({"containers": "echo", "data": {}}, "containers", id="containers-not-list"),
        pytest.param({"containers": [1], "data": {}}, "containers[0]", id="container-not-str"),
        pytest.param({"containers": ["echo"]}, "data", id="data-missing"),
        pytest.param({"containers": ["echo"], "data": [1]}, "data", id="data-not-object"),
        pytest.param(
            {"containers": ["echo"], "data": {}, "requires_proof": "yes"},
            "requires_proof",
            id="requires-proof-not-bool",
        ),
        pytest.param([1, 2], "body", id="body-not-object"),
        pytest.param(
            {**DELEGATED, "signature": {**DELEGATED["signature"], "r": "0x01"}},
            "signature.r",
            id="signature-r-hex",
        ),
        pytest.param({"subscription": {}, "signature": {}, "data": {}}, "subscription.owner"),
    ],
)
def test_malformed_job_is_400_naming_the_field(node: NodeThread, body: Any, field: str) -> None:
    answer = node.http().post("/api/jobs", body)
    assert answer.status == 400
    assert answer.json["field"] == field
    assert field in answer.json["error"]


def test_body_that_is_not_json_is_400(node: NodeThread) -> None:
    answer = node.http().post("/api/jobs", raw=b"{nope")
    assert answer.status == 400
    assert answer.json["field"] == "body"


def test_job_without_json_content_type_is_still_parsed(node: NodeThread) -> None:
    # Upstream answers 500 here; the devnode reads the body as JSON regardless.
    answer = node.http().post(
        "/api/jobs",
        raw=b'{"containers": ["echo"], "data": {}}',
        headers={"Content-Type": "text/plain"},
    )
    assert answer.status == 200
    assert "id" in answer.json


def test_guardian_rejection_is_405_with_error_and_params(node: NodeThread) -> None:
    answer = node.http().post("/api/jobs", {"containers": ["nope"], "data": {}})
    assert answer.status == 405
    assert answer.json == {"error": "Container not supported", "params": {"container": "nope"}}


def test_delegated_subscription_without_chain_is_405_chain_not_enabled(node: NodeThread) -> None:
    answer = node.http().post("/api/jobs", DELEGATED)
    assert answer.status == 405
    assert answer.json == {"error": "Chain not enabled", "params": {}}


def test_batch_answers_in_order_with_ids_and_rejections(node: NodeThread) -> None:
    http = node.http()
    answer = http.post(
        "/api/jobs/batch",
        [
            {"containers": ["echo"], "data": {"n": 1}},
            {"containers": ["wrap"], "data": {}},
            DELEGATED,
            {"containers": ["echo"], "data": {"n": 2}},
        ],
    )
    assert answer.status == 200
    first, rejected, delegated, last = answer.json
    assert rejected == {
        "error": "First container must be external",
        "params": {"first_container": "wrap"},
    }
    assert delegated == {"error": "Chain not enabled", "params": {}}
    assert http.result(first["id"])["result"]["output"]["echo"] == {"n": 1}
    assert http.result(last["id"])["result"]["output"]["echo"] == {"n": 2}


def test_batch_must_be_a_list(node: NodeThread) -> None:
    answer = node.http().post("/api/jobs/batch", {"containers": ["echo"], "data": {}})
    assert (answer.status, answer.json) == (400, {"error": "Expected a list"})


def test_batch_with_a_malformed_item_is_400_naming_item_and_field(node: NodeThread) -> None:
    answer = node.http().post(
        "/api/jobs/batch", [{"containers": ["echo"], "data": {}}, {"containers": ["echo"]}]
    )
    assert answer.status == 400
    assert answer.json["field"] == "[1].data"


def test_job_ids_pending_and_completed(start_node: NodeFactory, containers: Containers) -> None:
    node = start_node(
        [
            {"id": "echo", "url": containers.url("echo")},
            {"id": "hang", "url": containers.url("hang")},
        ]
    )
    http = node.http()
    done = http.job(["echo"], {})
    http.result(done)
    running = http.job(["hang"], {})
    assert http.get("/api/jobs").json == [running, done]
    assert http.get("/api/jobs?pending=true").json == [running]
    assert http.get("/api/jobs?pending=false").json == [done]
    both = http.get(f"/api/jobs?id={running}&id={done}&id=unknown").json
    assert [j["id"] for j in both] == [done, running]  # completed first, unknown skipped
    containers.release()
    http.result(running)


def test_results_are_scoped_per_client(node: NodeThread) -> None:
    mine = node.http()
    other = node.http(OTHER_CLIENT)
    job_id = mine.job(["echo"], {"secret": "mine"})
    mine.result(job_id)
    assert other.get(f"/api/jobs?id={job_id}").json == []
    assert other.get("/api/jobs").json == []
    assert mine.get("/api/jobs").json == [job_id]


def test_allowed_ips_admits_only_listed_clients(
    start_node: NodeFactory, containers: Containers
) -> None:
    node = start_node(
        [{"id": "echo", "url": containers.url("echo"), "allowed_ips": ["127.0.0.1/32"]}]
    )
    assert node.http().post("/api/jobs", {"containers": ["echo"], "data": {}}).status == 200
    answer = node.http(OTHER_CLIENT).post("/api/jobs", {"containers": ["echo"], "data": {}})
    assert answer.status == 405
    assert answer.json == {
        "error": "Container not allowed for address",
        "params": {"container": "echo", "address": OTHER_CLIENT},
    }


def test_put_status_records_job_for_the_caller(node: NodeThread) -> None:
    http = node.http()
    report = {"id": "ext-1", "status": "running", "containers": ["echo"]}
    answer = http.put("/api/status", report)
    assert (answer.status, answer.json) == (200, None)
    assert http.get("/api/jobs?pending=true").json == ["ext-1"]
    assert http.put("/api/status", {**report, "status": "success"}).status == 200
    assert http.get("/api/jobs?id=ext-1").json == [
        {"id": "ext-1", "status": "success", "result": None}
    ]


def test_put_status_cannot_report_a_job_the_node_runs(
    start_node: NodeFactory, containers: Containers
) -> None:
    node = start_node([{"id": "hang", "url": containers.url("hang")}])
    http = node.http()
    job_id = http.job(["hang"], {})
    for status in ("success", "failed", "running"):
        report = {"id": job_id, "status": status, "containers": ["hang"]}
        answer = http.put("/api/status", report)
        assert (answer.status, answer.json["field"]) == (409, "id"), status
    assert http.get(f"/api/jobs?id={job_id}").json[0]["status"] == "running"
    containers.release()
    assert http.result(job_id)["result"]["output"]["echo"] == {}
    # once finished the record is final, and the job was counted once
    report = {"id": job_id, "status": "failed", "containers": ["hang"]}
    assert http.put("/api/status", report).status == 409
    assert http.result(job_id)["status"] == "success"
    assert http.get("/info").json["devnode"]["jobs"]["offchain"] == {"success": 1, "failed": 0}


def test_put_status_rejects_unknown_status(node: NodeThread) -> None:
    answer = node.http().put("/api/status", {"id": "x", "status": "done", "containers": []})
    assert (answer.status, answer.json) == (400, {"error": "Status is invalid"})


def test_put_status_malformed_is_400_naming_the_field(node: NodeThread) -> None:
    answer = node.http().put("/api/status", {"id": 1, "status": "running", "containers": []})
    assert (answer.status, answer.json["field"]) == (400, "id")


def test_put_status_from_another_address_is_403(node: NodeThread) -> None:
    report = {"id": "x", "status": "running", "containers": []}
    answer = node.http(OTHER_CLIENT).put("/api/status", report)
    assert (answer.status, answer.json) == (403, {"error": "Unauthorized"})


def test_put_status_is_open_to_the_configured_networks(start_node: NodeFactory) -> None:
    """A compose network may get any free subnet: the allowed ranges are configuration."""
    node = start_node([], server={"status_networks": ["127.0.0.0/8"]})
    report = {"id": "from-the-network", "status": "running", "containers": []}

    answer = node.http(OTHER_CLIENT).put("/api/status", report)

    assert (answer.status, answer.json) == (200, None)
    assert node.http(OTHER_CLIENT).get("/api/jobs?pending=true").json == ["from-the-network"]


def test_resources_fans_out_and_omits_failures(
    start_node: NodeFactory, containers: Containers
) -> None:
    node = start_node(
        [
            {"id": "echo", "url": containers.url("echo")},
            {"id": "broken", "url": containers.url("fail")},
            {"id": "down", "url": "http://127.0.0.1:9"},
        ]
    )
    http = node.http()
    assert http.get("/resources").json == {"echo": {"service_id": "echo", "compute_capability": []}}
    assert http.get("/resources?model_id=good-model").json == {"echo": {"supported": True}}
    assert http.get("/resources?model_id=other").json == {"echo": {"supported": False}}


def test_unknown_route_and_wrong_method_are_json_errors(node: NodeThread) -> None:
    http = node.http()
    missing = http.get("/api/nothing")
    assert (missing.status, missing.json) == (404, {"error": "Not Found"})
    assert http.request("DELETE", "/api/jobs").status == 405


def test_oversized_body_is_413(start_node: NodeFactory, standard_containers: list[Any]) -> None:
    node = start_node(standard_containers, server={"max_body_size": 1024})
    answer = node.http().post("/api/jobs", {"containers": ["echo"], "data": {"x": "a" * 2048}})
    assert answer.status == 413
    assert "1024" in answer.json["error"]


def test_rate_limit_is_per_client_with_retry_after(
    start_node: NodeFactory, standard_containers: list[Any]
) -> None:
    node = start_node(standard_containers, server={"rate_limit": {"num_requests": 2, "period": 60}})
    http = node.http()
    first = http.get("/health")
    assert first.headers["ratelimit-limit"] == "2"
    assert first.headers["ratelimit-remaining"] == "1"
    assert http.get("/health").status == 200
    limited = http.get("/health")
    assert limited.status == 429
    assert int(limited.headers["retry-after"]) >= 1
    # other routes and other clients have their own budget; PUT /api/status is limited too
    assert http.get("/info").status == 200
    assert node.http(OTHER_CLIENT).get("/health").status == 200
    report = {"id": "x", "status": "running", "containers": []}
    statuses = [http.put("/api/status", report).status for _ in range(3)]
    assert statuses == [200, 200, 429]


def test_metrics_exposes_jobs_latency_and_requests(node: NodeThread) -> None:
    http = node.http()
    http.result(http.job(["echo"], {}))
    http.post("/api/jobs", {"containers": ["nope"], "data": {}})
    answer = http.get("/metrics")
    assert answer.status == 200
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = answer.body.decode()
    assert 'devnode_jobs_total{location="offchain",status="success"} 1' in text
    assert 'devnode_container_call_seconds_count{container="echo"} 1' in text
    assert 'devnode_http_requests_total{method="POST",route="/api/jobs",status="405"} 1' in text


def test_failed_job_counts_in_info(start_node: NodeFactory, containers: Containers) -> None:
    node = start_node([{"id": "text", "url": containers.url("text")}])
    http = node.http()
    assert http.result(http.job(["text"], {}))["status"] == "failed"
    wait_for(lambda: http.get("/info").json["devnode"]["jobs"]["offchain"]["failed"] == 1)
