"""The explorer's routes on a real node (no chain): the page and its headers, the job list's
paging and filters, a job's page, named 400s, and nothing installed when disabled."""

from __future__ import annotations

import json
from typing import Any

import pytest
from devnode_harness import NodeFactory
from devnode_harness import NodeThread
from hf_infernet_stack.rest import OTHER_CLIENT
from hf_infernet_stack.rest import Http
from infernet_devnode.api.responses import CONTENT_SECURITY_POLICY

EXPLORER = {"explorer": {"enabled": True}}
HOSTILE = ["<script>alert(1)</script>", '<img src=x onerror="alert(1)">', "javascript:alert(1)"]


@pytest.fixture
def explorer(start_node: NodeFactory, standard_containers: list[dict[str, Any]]) -> NodeThread:
    fail = {"id": "fail", "url": standard_containers[0]["url"].replace("/echo", "/fail")}
    return start_node([*standard_containers, fail], **EXPLORER)


def test_page_and_assets_carry_a_strict_csp(explorer: NodeThread):
    http = Http(explorer.url)
    for path, kind in [
        ("/ui", "text/html"),
        ("/ui/explorer.js", "text/javascript"),
        ("/ui/explorer.css", "text/css"),
        ("/ui/favicon.svg", "image/svg+xml"),
    ]:
        answer = http.get(path)
        assert answer.status == 200, path
        assert answer.headers["content-type"].startswith(kind)
        assert answer.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert answer.headers["x-content-type-options"] == "nosniff"
    assert "script-src 'self'" in CONTENT_SECURITY_POLICY
    assert "unsafe-inline" not in CONTENT_SECURITY_POLICY


def test_script_never_writes_html():
    from importlib import resources

    script = resources.files("infernet_devnode.explorer").joinpath("static/explorer.js")
    code = "\n".join(
        line for line in script.read_text().splitlines() if not line.lstrip().startswith("//")
    )
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in code


def test_unknown_asset_is_a_json_404(explorer: NodeThread):
    answer = Http(explorer.url).get("/ui/nope.js")
    assert answer.status == 404
    assert answer.json["field"] == "asset"


def test_jobs_list_pages_newest_first_and_filters(explorer: NodeThread):
    http = Http(explorer.url)
    ids = [http.job(["echo"], {"n": i}) for i in range(5)]
    failed = http.job(["fail"], {"n": "bad"})
    for job_id in [*ids, failed]:
        http.result(job_id)

    first = http.get("/api/explorer/jobs?limit=4").json
    assert first["total"] == 6
    assert [j["id"] for j in first["jobs"]] == [failed, *reversed(ids)][:4]
    rest = http.get(f"/api/explorer/jobs?limit=4&before={first['next']}").json
    assert [j["id"] for j in rest["jobs"]] == list(reversed(ids))[3:]
    assert rest["next"] is None

    only_failed = http.get("/api/explorer/jobs?status=failed").json
    assert [j["id"] for j in only_failed["jobs"]] == [failed]
    assert "fail" in only_failed["jobs"][0]["summary"]
    by_container = http.get("/api/explorer/jobs?container=echo").json
    assert by_container["total"] == 5
    assert http.get("/api/explorer/jobs?container=ech").json["total"] == 0


def test_jobs_of_every_client_are_listed(explorer: NodeThread):
    mine = Http(explorer.url).job(["echo"], {"who": "me"})
    theirs = Http(explorer.url, source=OTHER_CLIENT).job(["echo"], {"who": "them"})
    listed = {
        (j["client"], j["id"]) for j in Http(explorer.url).get("/api/explorer/jobs").json["jobs"]
    }
    assert listed == {("127.0.0.1", mine), (OTHER_CLIENT, theirs)}


def test_job_page_has_input_intermediate_results_and_result(explorer: NodeThread):
    http = Http(explorer.url)
    data = {"prompt": HOSTILE[0], "more": HOSTILE[1:]}
    job_id = http.job(["echo", "wrap"], data)
    http.result(job_id)

    body = http.get(f"/api/explorer/job?client=127.0.0.1&id={job_id}").json
    assert body["input"] == data
    assert body["status"] == "success"
    assert [r["container"] for r in body["intermediate_results"]] == ["echo"]
    assert body["result"]["container"] == "wrap"
    assert body["containers"] == ["echo", "wrap"]


def test_status_reported_job_has_no_input(explorer: NodeThread):
    http = Http(explorer.url)
    report = {"id": "a/b?c", "status": "failed", "containers": ["echo"]}
    assert http.put("/api/status", report).status == 200
    body = http.get("/api/explorer/job?client=127.0.0.1&id=a%2Fb%3Fc").json
    assert body["input_recorded"] is False
    assert body["id"] == "a/b?c"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        pytest.param("jobs?status=done", "status", id="status"),
        pytest.param("jobs?limit=0", "limit", id="limit-zero"),
        pytest.param("jobs?limit=201", "limit", id="limit-over-max-page-size"),
        pytest.param("jobs?before=x", "before", id="cursor"),
        pytest.param("jobs?container=" + "c" * 257, "container", id="container-too-long"),
        pytest.param("job?id=x", "client", id="job-without-client"),
        pytest.param("subscriptions?state=late", "state", id="subscription-state"),
        pytest.param("subscriptions/0", "id", id="subscription-id"),
        pytest.param("delegations?subscription=-1", "subscription", id="delegation-subscription"),
    ],
)
def test_bad_parameters_are_named_400s(explorer: NodeThread, query: str, field: str):
    answer = Http(explorer.url).get("/api/explorer/" + query)
    assert answer.status == 400
    assert answer.json["field"] == field


SUPERSCRIPT_TWO, CIRCLED_ONE = "%C2%B2", "%E2%91%A0"  # str.isdigit() is true for both
TOO_MANY_DIGITS = "1" * 5_000  # int() refuses more than 4,300 digits


@pytest.mark.parametrize(
    ("query", "field"),
    [
        pytest.param(f"subscriptions/{SUPERSCRIPT_TWO}", "id", id="id-superscript"),
        pytest.param(f"subscriptions/{CIRCLED_ONE}", "id", id="id-circled"),
        pytest.param(f"subscriptions/{TOO_MANY_DIGITS}", "id", id="id-5000-digits"),
        pytest.param(f"subscriptions/0{'0' * 10}1", "id", id="id-longer-than-uint32"),
        pytest.param(f"jobs?limit={SUPERSCRIPT_TWO}", "limit", id="limit-superscript"),
        pytest.param(f"jobs?before={TOO_MANY_DIGITS}", "before", id="before-5000-digits"),
        pytest.param(f"subscriptions?id={CIRCLED_ONE}", "id", id="filter-circled"),
        pytest.param(f"delegations?subscription={TOO_MANY_DIGITS}", "subscription", id="sub"),
    ],
)
def test_integers_are_ascii_digits_of_bounded_length(
    explorer: NodeThread, query: str, field: str
) -> None:
    answer = Http(explorer.url).get("/api/explorer/" + query)
    assert (answer.status, answer.json["field"]) == (400, field)
    assert answer.headers["content-security-policy"] == CONTENT_SECURITY_POLICY


def test_every_explorer_answer_carries_the_security_headers(explorer: NodeThread) -> None:
    http = Http(explorer.url)
    answers = {
        "400": http.get("/api/explorer/jobs?limit=0"),
        "404 route": http.get("/api/explorer/nope"),
        "404 file": http.get("/ui/nope.js"),
        "404 nested": http.get("/ui/a/b"),
        "404 job": http.get("/api/explorer/job?client=127.0.0.1&id=nope"),
        "405": http.post("/api/explorer/jobs", {}),
        "200": http.get("/api/explorer/overview"),
    }
    for name, answer in answers.items():
        assert answer.status == int(name[:3]), name
        assert answer.headers.get("content-security-policy") == CONTENT_SECURITY_POLICY, name
        assert answer.headers.get("x-frame-options") == "DENY", name
        assert answer.headers.get("cache-control") == "no-store", name
    # the rest of the API is not the explorer's: no page headers there
    assert "content-security-policy" not in http.get("/api/jobs").headers


def test_explorer_errors_from_the_server_carry_the_security_headers(
    start_node: NodeFactory, standard_containers: list[dict[str, Any]]
) -> None:
    limited = {"rate_limit": {"num_requests": 2, "period": 60}}
    node = start_node(standard_containers, server=limited, **EXPLORER)
    http = Http(node.url)
    assert http.get("/api/explorer/jobs").status == 200
    # the job table gone from under the node: the route fails with the middleware's 500
    node.node.store.connection.execute("ALTER TABLE offchain_jobs RENAME TO gone")
    failed = http.get("/api/explorer/jobs")
    limited_answer = http.get("/api/explorer/jobs")
    for answer, status in ((failed, 500), (limited_answer, 429)):
        assert answer.status == status
        assert answer.headers.get("content-security-policy") == CONTENT_SECURITY_POLICY
        assert answer.headers.get("x-content-type-options") == "nosniff"
    node.node.store.connection.execute("ALTER TABLE gone RENAME TO offchain_jobs")


def test_unknown_job_is_a_404(explorer: NodeThread):
    answer = Http(explorer.url).get("/api/explorer/job?client=127.0.0.1&id=nope")
    assert answer.status == 404


def test_overview_without_chain(explorer: NodeThread):
    http = Http(explorer.url)
    http.result(http.job(["fail"], {"x": 1}))
    body = http.get("/api/explorer/overview").json
    assert body["chain"] == {"enabled": False}
    assert body["jobs"]["failed"] == 1
    assert body["recent_failures"][0]["containers"] == ["fail"]
    health = {c["id"]: c["health"]["up"] for c in body["containers"]}
    assert health == {"echo": True, "wrap": True, "fail": True}
    assert body["poll_interval"] == 1.0
    assert body["queue"]["offchain_running"] == 0
    assert body["queue"]["offchain_capacity"] > 0
    assert http.get("/api/explorer/subscriptions").json["total"] == 0
    assert http.get("/api/explorer/delegations").json["total"] == 0


def test_down_container_shows_as_down(start_node: NodeFactory):
    from hf_infernet_stack.processes import free_port

    node = start_node([{"id": "gone", "url": f"http://127.0.0.1:{free_port()}"}], **EXPLORER)
    body = Http(node.url).get("/api/explorer/overview").json
    assert body["containers"][0]["health"]["up"] is False
    assert body["containers"][0]["health"]["error"]


def test_only_get_routes(explorer: NodeThread):
    http = Http(explorer.url)
    for path in ("/ui", "/api/explorer/jobs", "/api/explorer/overview"):
        assert http.post(path, {}).status == 405


def test_disabled_by_default(node: NodeThread):
    http = Http(node.url)
    assert http.get("/ui").status == 404
    assert http.get("/api/explorer/jobs").status == 404


def test_answers_are_valid_json_with_hostile_values(explorer: NodeThread):
    http = Http(explorer.url)
    for value in HOSTILE:
        report = {"id": value, "status": "failed", "containers": [value]}
        assert http.put("/api/status", report).status == 200
    jobs = json.loads(http.get("/api/explorer/jobs").body)["jobs"]
    assert {j["id"] for j in jobs} == set(HOSTILE)
