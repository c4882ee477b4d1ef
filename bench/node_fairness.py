"""Devnode fair sharing: another container's job and an on-chain callback while one client floods
a hanging container (docs/benchmarks.md, docs/devnode.md "Fair sharing").

Method: one anvil with the protocol and an HFCallbackConsumer; one devnode serving the echo
container (the stack package hf_infernet_stack) and a container that never answers (`hang`,
timeout 5 s).
For each configuration, on a fresh node:
- idle: an off-chain job to the echo container from a second client address (submit, then poll
  every 5 ms until done), median of IDLE_SAMPLES, and a callback request (from its receipt to the
  answer being readable on the consumer), median of IDLE_SAMPLES;
- flood: one client sends two `POST /api/jobs/batch` of 1,000 jobs to `hang` at once; once the
  node calls `hang`, the same two measurements are taken again, both at once, FLOOD_SAMPLES
  times; the worst of each is reported.
Configurations: the defaults ("fair sharing"), and the same code with the new bounds turned off
in config.json ("bounds off": `max_calls_per_container` = `max_container_calls`,
`reserved_onchain_calls` 0, `max_jobs_per_client` 2,000). BENCH_BEFORE_SRC=path/to/node/src adds a
run of another source tree (e.g. an older checkout's) under the same flood.
Baselines in the same run: each configuration's idle figure. Goals: another container's job
within 1 s of its idle time, a callback within 2 s of its idle time, and the flooding client
told 503 naming `server.max_jobs_per_client`.

Run: .venv/bin/python bench/node_fairness.py
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hf_infernet_stack.accounts import CONTAINER_ID
from hf_infernet_stack.accounts import DEPLOYER_KEY
from hf_infernet_stack.accounts import PROTOCOL
from hf_infernet_stack.anvil import Anvil
from hf_infernet_stack.consumers import ANSWER_COUNT
from hf_infernet_stack.consumers import NEXT_ID
from hf_infernet_stack.consumers import REQUEST_COMPUTE
from hf_infernet_stack.consumers import TEXT_GENERATION
from hf_infernet_stack.consumers import Actor
from hf_infernet_stack.consumers import created_id
from hf_infernet_stack.consumers import deploy_callback_consumer
from hf_infernet_stack.consumers import deploy_protocol
from hf_infernet_stack.containers import Containers
from hf_infernet_stack.containers import EchoContainer
from hf_infernet_stack.devnode import Devnode
from hf_infernet_stack.rest import OTHER_CLIENT
from hf_infernet_stack.rest import Http
from hf_infernet_stack.rpc import Rpc

BATCH = 1_000
BATCHES = 2
HANG_TIMEOUT_S = 5.0
IDLE_SAMPLES = 5
FLOOD_SAMPLES = 3
POLL_S = 0.005
# The flood on a node without fair sharing holds callers for minutes (BATCHES * BATCH / slots
# * HANG_TIMEOUT_S): wait that long before calling a measurement lost.
MEASURE_TIMEOUT_S = 400.0
SYNC_PERIOD_S = 0.125
BOUNDS_OFF = {
    "max_calls_per_container": 64,
    "reserved_onchain_calls": 0,
    "max_jobs_per_client": BATCH * BATCHES,
    "max_container_calls": 64,
}
FAIR = {"max_container_calls": 64}


def _wait(predicate: Any, what: str) -> None:
    deadline = time.monotonic() + MEASURE_TIMEOUT_S
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(POLL_S)


def job_seconds(http: Http) -> float:
    """One off-chain job to the echo container: submit, then poll until it is done."""
    start = time.perf_counter()
    job_id = http.job([CONTAINER_ID], {"input": "other"})

    def done() -> bool:
        jobs = http.get(f"/api/jobs?id={job_id}").json
        if jobs and jobs[0]["status"] == "failed":
            raise RuntimeError(f"job failed: {jobs[0]}")
        return bool(jobs) and jobs[0]["status"] == "success"

    _wait(done, "other container's job")
    return time.perf_counter() - start


def callback_seconds(rpc: Rpc, user: Actor, consumer: str) -> float:
    """One callback request: from its receipt to the answer being readable on the consumer."""
    receipt = user.transact(consumer, REQUEST_COMPUTE, TEXT_GENERATION, "", "fair", 1)
    start = time.perf_counter()
    sub_id = created_id(receipt)

    def answered() -> bool:
        (count,) = rpc.call(consumer, ANSWER_COUNT, sub_id, 1)
        return int(count) > 0

    _wait(answered, "callback answer")
    return time.perf_counter() - start


@contextmanager
def python_path(src: str | None) -> Iterator[None]:
    """The devnode processes started meanwhile import `src` (None: this checkout)."""
    before = os.environ.get("PYTHONPATH")
    if src is not None:
        os.environ["PYTHONPATH"] = src
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = before


def flood(url: str) -> list[tuple[int, str, str]]:
    """BATCHES batches of BATCH jobs to `hang`, sent at once from one client; returns each
    answer's status, Retry-After and the limit it names."""
    answers: list[tuple[int, str, str]] = []
    batch = [{"containers": ["hang"], "data": {"n": n}} for n in range(BATCH)]

    def send() -> None:
        answer = Http(url).post("/api/jobs/batch", batch)
        limit = answer.json.get("limit", "") if isinstance(answer.json, dict) else ""
        answers.append((answer.status, answer.headers.get("retry-after", ""), limit))

    threads = [threading.Thread(target=send) for _ in range(BATCHES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def measure(
    label: str,
    node: Devnode,
    hang: Containers,
    rpc: Rpc,
    user: Actor,
    consumer: str,
) -> list[dict[str, Any]]:
    other = Http(node.url, OTHER_CLIENT)
    idle_job = statistics.median(job_seconds(other) for _ in range(IDLE_SAMPLES))
    idle_callback = statistics.median(
        callback_seconds(rpc, user, consumer) for _ in range(IDLE_SAMPLES)
    )
    calls = len(hang.calls_to("hang"))
    answers = flood(node.url)
    _wait(lambda: len(hang.calls_to("hang")) > calls, "the flood reaching the container")
    flood_jobs: list[float] = []
    flood_callbacks: list[float] = []
    for _ in range(FLOOD_SAMPLES):
        # Both at once: on a node without fair sharing the first pair waits for the flood to
        # drain, and anything measured after it would find the node idle again.
        threads = [
            threading.Thread(target=lambda: flood_jobs.append(job_seconds(other))),
            threading.Thread(
                target=lambda: flood_callbacks.append(callback_seconds(rpc, user, consumer))
            ),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    refused = [a for a in answers if a[0] != 200]
    print(
        f"{label}: job idle {idle_job * 1e3:.0f} ms, flood {[round(s, 2) for s in flood_jobs]} s;"
        f" callback idle {idle_callback * 1e3:.0f} ms,"
        f" flood {[round(s, 2) for s in flood_callbacks]} s; batches answered {answers}",
        file=sys.stderr,
    )
    job, callback = max(flood_jobs), max(flood_callbacks)
    return [
        {
            "case": f"{label}: another container's job while a client floods (worst)",
            "value": round(job * 1e3, 1),
            "unit": "ms",
            "baseline": round(idle_job * 1e3, 1),
            "baseline_case": "same job, idle node",
            "ratio": round(job / idle_job, 2),
            "extra_s": round(job - idle_job, 3),
            "goal_extra_s": 1.0,
        },
        {
            "case": f"{label}: callback while a client floods (worst)",
            "value": round(callback * 1e3, 1),
            "unit": "ms",
            "baseline": round(idle_callback * 1e3, 1),
            "baseline_case": "same callback, idle node",
            "ratio": round(callback / idle_callback, 2),
            "extra_s": round(callback - idle_callback, 3),
            "goal_extra_s": 2.0,
        },
        {
            "case": f"{label}: flooding client's batches of {BATCH}",
            "value": len(refused),
            "unit": "refused",
            "answers": [{"status": s, "retry_after": r, "limit": lim} for s, r, lim in answers],
        },
    ]


def main() -> None:
    rows: list[dict[str, Any]] = []
    runs: list[tuple[str, dict[str, Any], str | None]] = [
        ("fair sharing", FAIR, None),
        ("bounds off", BOUNDS_OFF, None),
    ]
    if os.environ.get("BENCH_BEFORE_SRC"):
        runs.append(("before", {"max_container_calls": 64}, os.environ["BENCH_BEFORE_SRC"]))
    with tempfile.TemporaryDirectory() as tmp, EchoContainer() as echo:
        chain = Anvil().start()
        try:
            rpc = Rpc(chain.url)
            deploy_protocol(rpc, Path(tmp) / "protocol")
            user = Actor(rpc, DEPLOYER_KEY)
            consumer = deploy_callback_consumer(user)
            for index, (label, server, src) in enumerate(runs):
                # Subscriptions of earlier runs are answered already: start after them.
                (next_id,) = rpc.call(PROTOCOL.coordinator, NEXT_ID)
                with Containers() as hang, python_path(src):
                    node = Devnode(
                        workdir=Path(tmp) / f"node{index}",
                        rpc_url=chain.url,
                        containers={CONTAINER_ID: echo.url, "hang": hang.url("hang")},
                        container_options={"timeout": HANG_TIMEOUT_S},
                        server_options={"rate_limit": {"num_requests": 1_000_000, "period": 1}}
                        | server,
                        sync_period=SYNC_PERIOD_S,
                        starting_sub_id=int(next_id) - 1,
                    ).start()
                    try:
                        rows += measure(label, node, hang, rpc, user, consumer)
                    finally:
                        node.stop()
        finally:
            chain.stop()
    print(json.dumps({"bench": "node_fairness", "rows": rows}))


if __name__ == "__main__":
    main()
