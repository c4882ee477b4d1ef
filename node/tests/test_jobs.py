"""Durable jobs across restarts: graceful stop and SIGKILL of the real process."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from devnode_harness import NodeProcess
from devnode_harness import NodeThread
from devnode_harness import node_config
from hf_infernet_stack.containers import Containers
from hf_infernet_stack.processes import free_port
from hf_infernet_stack.processes import wait_for
from hf_infernet_stack.rest import OTHER_CLIENT
from hf_infernet_stack.rest import Http


def _containers(containers: Containers) -> list[dict[str, Any]]:
    return [
        {"id": "echo", "url": containers.url("echo")},
        {"id": "hang", "url": containers.url("hang")},
    ]


def test_graceful_restart_keeps_results_and_fails_running_jobs(
    tmp_path: Path, containers: Containers
) -> None:
    config = node_config(tmp_path, _containers(containers))
    with NodeThread(config) as node:
        http = node.http()
        done = http.job(["echo"], {"n": 1})
        http.result(done)
        cut = http.job(["echo", "hang"], {"n": 2})
        wait_for(
            lambda: (
                len(
                    http.get(f"/api/jobs?id={cut}&intermediate=true").json[0][
                        "intermediate_results"
                    ]
                )
                == 1
            ),
            what="first container done",
        )
    with NodeThread(config) as node:
        http = node.http()
        assert http.result(done)["result"]["output"]["echo"] == {"n": 1}
        result = http.result(cut, intermediate=True)
        assert result["status"] == "failed"
        assert result["result"] == {"container": "hang", "error": "node restarted"}
        assert [r["container"] for r in result["intermediate_results"]] == ["echo"]
        assert node.http(OTHER_CLIENT).get(f"/api/jobs?id={cut}").json == []
        assert http.get("/info").json["pending"]["offchain"] == 0
    containers.release()


def test_killed_process_restarts_with_running_job_failed(
    tmp_path: Path, containers: Containers
) -> None:
    port = free_port()
    config = node_config(tmp_path, _containers(containers), server={"port": port})
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    url = f"http://127.0.0.1:{port}"
    first = NodeProcess(path).start()
    try:
        first.wait_ready(url)
        http = Http(url)
        done = http.job(["echo"], {"kept": True})
        http.result(done)
        cut = http.job(["hang"], {})
        assert http.get(f"/api/jobs?id={cut}").json[0]["status"] == "running"
    finally:
        first.stop(hard=True)
    second = NodeProcess(path).start()
    try:
        second.wait_ready(url)
        http = Http(url)
        assert http.result(cut)["result"] == {"container": "hang", "error": "node restarted"}
        assert http.result(done)["result"]["output"]["echo"] == {"kept": True}
        assert "were running when the node stopped" in second.output
    finally:
        assert second.stop() == 0
    containers.release()


def test_retention_forgets_old_completed_jobs(tmp_path: Path, containers: Containers) -> None:
    config = node_config(tmp_path, _containers(containers))
    with NodeThread(config) as node:
        http = node.http()
        job_id = http.job(["echo"], {})
        http.result(job_id)
    config["storage"]["retention"] = 0.001
    with NodeThread(config) as node:
        http = node.http()
        wait_for(lambda: http.get(f"/api/jobs?id={job_id}").json == [], what="job pruned")
