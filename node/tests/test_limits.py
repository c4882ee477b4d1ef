"""The node's bounds from the caller's side: batch size, queue, JSON shape, final records, a
broken store. Each limit trips as a named answer, never a 500."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from devnode_harness import NodeFactory
from devnode_harness import NodeProcess
from devnode_harness import NodeThread
from devnode_harness import node_config
from hf_infernet_stack.containers import Containers
from hf_infernet_stack.processes import free_port
from hf_infernet_stack.processes import wait_for
from hostile_container import HostileContainer
from infernet_devnode.config import parse_config
from infernet_devnode.errors import ConfigError

CONCURRENT_JOBS = 2_000
SLOTS = 4
QUEUE = 400
# One container gets half of the slots (server.max_calls_per_container's default) and each call
# takes the hostile container's SLOW_ANSWER_S (0.05 s), so the queue needs about
# QUEUE / (SLOTS / 2) * 0.05 = 10 s to drain: longer than the timeout, far more than one call
# needs even while the flood of submissions loads the machine (calls made then take seconds).
TIMEOUT_S = 6.0
# Ids per GET /api/jobs?id=...: keeps the request line short.
IDS_PER_QUERY = 50


@pytest.fixture
def hostile() -> Iterator[HostileContainer]:
    with HostileContainer() as server:
        yield server


def test_batch_over_the_cap_is_400_naming_it(node: NodeThread) -> None:
    batch = [{"containers": ["echo"], "data": {}}] * 20_000
    answer = node.http().post("/api/jobs/batch", batch)
    assert answer.status == 400
    assert answer.json["field"] == "body"
    assert "20000 items is more than 1000 (server.max_batch_size)" in answer.json["error"]
    assert node.http().get("/api/jobs").json == []


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        pytest.param(b"[" * 100_000 + b"]" * 100_000, "nested more than 100", id="nested-100000"),
        pytest.param(
            b'{"containers": ["echo"], "data": ' + b'{"a":' * 150 + b"1" + b"}" * 151,
            "nested more than 100",
            id="nested-150",
        ),
        pytest.param(b'{"containers": ["echo"], "data": {"x": NaN}}', "NaN", id="nan"),
        pytest.param(b'{"containers": ["echo"], "data": {"x": -1e999}}', "too large", id="inf"),
    ],
)
@pytest.mark.parametrize("path", ["/api/jobs", "/api/jobs/batch", "/api/jobs/stream"])
def test_body_the_parser_refuses_is_400_naming_the_problem(
    node: NodeThread, path: str, raw: bytes, reason: str
) -> None:
    answer = node.http().post(path, raw=raw)
    assert answer.status == 400
    assert answer.json["field"] == "body"
    assert reason in answer.json["error"]


def test_full_queue_is_503_with_retry_after_and_clears(
    start_node: NodeFactory, containers: Containers
) -> None:
    node = start_node(
        [{"id": "hang", "url": containers.url("hang")}],
        server={"max_container_calls": 1, "max_queued_jobs": 1, "max_batch_size": 2},
    )
    http = node.http()
    calls = len(containers.calls_to("hang"))
    running, queued = http.job(["hang"], {}), http.job(["hang"], {})
    for answer in (
        http.post("/api/jobs", {"containers": ["hang"], "data": {}}),
        http.post("/api/jobs/batch", [{"containers": ["hang"], "data": {}}]),
    ):
        assert answer.status == 503
        assert int(answer.headers["retry-after"]) >= 1
        assert "server.max_queued_jobs" in answer.json["error"]
    assert http.get("/health").status == 200
    containers.release()
    assert http.result(running)["status"] == "success"
    wait_for(lambda: len(containers.calls_to("hang")) == calls + 2, what="queued job called")
    containers.release()
    assert http.result(queued)["status"] == "success"
    # room again
    last = http.job(["hang"], {})
    wait_for(lambda: len(containers.calls_to("hang")) == calls + 3, what="last job called")
    containers.release()
    assert http.result(last)["status"] == "success"


def test_config_refuses_a_batch_that_could_never_be_admitted() -> None:
    with pytest.raises(ConfigError) as error:
        parse_config(
            {"server": {"max_batch_size": 20, "max_queued_jobs": 5, "max_container_calls": 1}}
        )
    assert error.value.field == "server.max_batch_size"
    with pytest.raises(ConfigError) as error:
        parse_config({"server": {"max_json_depth": 10_000}})
    assert error.value.field == "server.max_json_depth"


def test_thousands_of_concurrent_jobs_end_with_success_or_a_named_reason(
    start_node: NodeFactory, hostile: HostileContainer
) -> None:
    # The queue alone takes longer than the container timeout to drain: queue time must not
    # count against it.
    node = start_node(
        [{"id": "slow", "url": hostile.url, "timeout": TIMEOUT_S}],
        server={"max_container_calls": SLOTS, "max_queued_jobs": QUEUE, "max_batch_size": 10},
    )
    submitted, health = asyncio.run(_flood(node.url))
    ids = [body["id"] for status, _, body in submitted if status == 200]
    refused = [(headers, body) for status, headers, body in submitted if status != 200]
    assert len(ids) + len(refused) == CONCURRENT_JOBS
    assert len(ids) >= QUEUE
    for headers, body in refused:
        assert int(headers["Retry-After"]) >= 1
        assert "retry later" in body["error"]
    assert health
    assert all(status == 200 for status in health)
    http = node.http()
    results: list[dict[str, Any]] = []
    for start in range(0, len(ids), IDS_PER_QUERY):
        chunk = ids[start : start + IDS_PER_QUERY]
        query = "/api/jobs?" + "&".join(f"id={i}" for i in chunk)

        def done(query: str = query, size: int = len(chunk)) -> list[dict[str, Any]] | None:
            jobs: list[dict[str, Any]] = http.get(query).json
            finished = [j for j in jobs if j["status"] != "running"]
            return finished if len(finished) == size else None

        results += wait_for(done, 60, "jobs finished")
    assert len(results) == len(ids)
    assert all(r["status"] == "success" for r in results), [
        r["result"] for r in results if r["status"] != "success"
    ][:3]


async def _flood(url: str) -> tuple[list[tuple[int, Any, Any]], list[int]]:
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def submit(index: int) -> tuple[int, Any, Any]:
            body = {"containers": ["slow"], "data": {"case": "slow", "token": index}}
            async with session.post(f"{url}/api/jobs", json=body) as response:
                return response.status, response.headers, await response.json()

        async def probe() -> list[int]:
            statuses = []
            while not jobs.done():
                async with session.get(f"{url}/health") as response:
                    statuses.append(response.status)
                await asyncio.sleep(0.05)
            return statuses

        jobs = asyncio.gather(*(submit(i) for i in range(CONCURRENT_JOBS)))
        health = await probe()
        return await jobs, health


def test_put_status_cannot_change_a_finished_job(node: NodeThread) -> None:
    http = node.http()
    job_id = http.job(["echo"], {"keep": 1})
    finished = http.result(job_id)
    answer = http.put("/api/status", {"id": job_id, "status": "success", "containers": ["echo"]})
    assert answer.status == 409
    assert answer.json["field"] == "id"
    assert "already finished" in answer.json["error"]
    assert http.result(job_id) == finished
    # a running record it created may be moved on once, then it is final too
    report = {"id": "ext-1", "status": "running", "containers": ["echo"]}
    assert http.put("/api/status", report).status == 200
    assert http.put("/api/status", {**report, "status": "failed"}).status == 200
    assert http.put("/api/status", report).status == 409


def test_forged_running_records_are_pruned_like_any_other(
    tmp_path: Path, containers: Containers
) -> None:
    config = node_config(tmp_path, [{"id": "echo", "url": containers.url("echo")}])
    with NodeThread(config) as node:
        report = {"id": "forged", "status": "running", "containers": ["echo"]}
        assert node.http().put("/api/status", report).status == 200
    # Restarting marks the record failed (updated now), so the sweep at start is too early for
    # it: only a later, periodic sweep can forget it.
    config["storage"]["retention"] = 0.2
    with NodeThread(config) as node:
        http = node.http()
        wait_for(lambda: http.get("/api/jobs").json == [], what="forged record pruned")
        assert http.get("/info").json["pending"]["offchain"] == 0


def test_corrupt_store_stops_startup_with_one_line_naming_file_and_fix(tmp_path: Path) -> None:
    store = tmp_path / "devnode.sqlite3"
    store.write_bytes(b"this is not a SQLite database\n" * 200)
    config = node_config(tmp_path, [], server={"port": free_port()})
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    node = NodeProcess(path).start()
    try:
        assert node.wait() == 1
    finally:
        node.stop()
    lines = [line for line in node.output.splitlines() if line.strip()]
    assert "Traceback" not in node.output
    (line,) = [line for line in lines if "cannot use the store" in line]
    assert str(store) in line
    assert "file is not a database" in line
    assert "Move the file aside" in line


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"GET /health HTTP/1.1\r\nHost: x\r\nNo colon here\r\n\r\n", id="bad-header"),
        pytest.param(
            b"POST /api/jobs HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
            id="negative-content-length",
        ),
        pytest.param(
            b"POST /api/jobs HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            id="bad-chunk-size",
        ),
        pytest.param(b"GET /" + b"a" * 10_000 + b" HTTP/1.1\r\n\r\n", id="line-too-long"),
    ],
)
def test_malformed_http_is_a_4xx_and_the_connection_is_closed(node: NodeThread, raw: bytes) -> None:
    with socket.create_connection(("127.0.0.1", node.node.port), timeout=10) as sock:
        sock.sendall(raw)
        answer = b""
        # Read until the node closes the connection (the socket timeout fails the test if not).
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.split(b" ")[1].startswith(b"4")  # a 4xx (aiohttp picks the code and the text)
    assert b"Traceback" not in body
    assert node.http().get("/health").status == 200
