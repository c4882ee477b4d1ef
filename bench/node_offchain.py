"""Devnode off-chain job latency and throughput, next to calling the container directly.

Method: a trivial echo container behind the devnode; single-job latency p50/p99
is submit (POST /api/jobs) then poll GET /api/jobs?id= (first poll at once, then every 10 ms)
until the job is done, with and without connection reuse; throughput is 500 jobs at
concurrency 32, each submitted then polled the same way. The baseline in the same run is the
same client calling the echo container's /service_output directly.

Reference (Infernet Node 1.4 on this machine class, same method): ~17 ms p50 (~104 ms with
connection reuse), ~250 jobs/s. Goals: <= 5 ms p50 both ways, >= 750 jobs/s on 2 cores.

CPU per job is the devnode process's user+system CPU time (from /proc) over the throughput run,
divided by the jobs completed. BENCH_NODE_SRC=path/to/node/src runs the devnode from another
source tree (e.g. an older checkout), to compare two versions on the same machine.

Run: .venv/bin/python bench/node_offchain.py   (BENCH_QUICK=1 for a short run)
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
from hf_infernet_stack.devnode import devnode_argv
from hf_infernet_stack.devnode import devnode_config
from hf_infernet_stack.processes import free_port
from hf_infernet_stack.processes import stop_process

REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
QUICK = os.environ.get("BENCH_QUICK") == "1"
LATENCY_SAMPLES = 100 if QUICK else 400
THROUGHPUT_JOBS = 200 if QUICK else 500
CONCURRENCY = 32
POLL_INTERVAL_S = 0.010
READY_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 5.0
JOB_TIMEOUT_S = 10.0
CONTAINER_ID = "echo"
PAYLOAD = {"prompt": "hello", "n": 1}

_ECHO_SERVER = """
import sys
from aiohttp import web
try:
    import uvloop
    import asyncio; asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
except ImportError:
    pass

async def service_output(request):
    body = await request.json()
    return web.json_response({"output": body["data"]})

app = web.Application()
app.add_routes([web.post("/service_output", service_output)])
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
"""


async def _wait_ready(url: str) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    delay = 0.02
    async with aiohttp.ClientSession() as session:
        while True:
            try:
                async with session.get(url) as response:
                    if response.status < 500:
                        return
            except aiohttp.ClientError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} not ready after {READY_TIMEOUT_S} s")
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.5)


async def _job(session: aiohttp.ClientSession, node: str) -> None:
    """Submit one job and poll until it is done."""
    async with session.post(
        f"{node}/api/jobs", json={"containers": [CONTAINER_ID], "data": PAYLOAD}
    ) as response:
        job_id = (await response.json())["id"]
    deadline = time.monotonic() + JOB_TIMEOUT_S
    while True:
        async with session.get(f"{node}/api/jobs", params={"id": job_id}) as response:
            jobs = await response.json()
        if jobs and jobs[0]["status"] != "running":
            if jobs[0]["status"] != "success":
                raise RuntimeError(f"job failed: {jobs[0]}")
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"job {job_id} still running after {JOB_TIMEOUT_S} s")
        await asyncio.sleep(POLL_INTERVAL_S)


async def _direct(session: aiohttp.ClientSession, container: str) -> None:
    """One direct container call, as the node makes it."""
    body = {"source": 1, "destination": 1, "data": PAYLOAD, "requires_proof": False}
    async with session.post(f"{container}/service_output", json=body) as response:
        await response.json()


Operation = Callable[[aiohttp.ClientSession], Awaitable[None]]


async def _latency(operation: Operation, reuse: bool) -> tuple[float, float]:
    """p50 and p99 in ms of ``operation`` run one at a time."""
    connector = aiohttp.TCPConnector(force_close=not reuse)
    samples: list[float] = []
    async with aiohttp.ClientSession(connector=connector) as session:
        for _ in range(10):  # warm-up
            await operation(session)
        for _ in range(LATENCY_SAMPLES):
            started = time.perf_counter()
            await operation(session)
            samples.append((time.perf_counter() - started) * 1000)
    cuts = statistics.quantiles(samples, n=100)
    return cuts[49], cuts[98]


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    # utime and stime are fields 14 and 15 of proc(5); fields[0] here is field 3.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _throughput(operation: Operation, pid: int | None = None) -> tuple[float, float]:
    """Operations completed per second, THROUGHPUT_JOBS of them at CONCURRENCY, and the CPU
    seconds process ``pid`` used per operation meanwhile (0 without ``pid``)."""
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    remaining = THROUGHPUT_JOBS

    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                await operation(session)

        await asyncio.gather(*(operation(session) for _ in range(CONCURRENCY)))  # warm-up
        cpu = _cpu_seconds(pid) if pid is not None else 0.0
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        elapsed = time.perf_counter() - started
        if pid is not None:
            cpu = _cpu_seconds(pid) - cpu
        return THROUGHPUT_JOBS / elapsed, cpu / THROUGHPUT_JOBS


def _row(case: str, value: float, unit: str, baseline: float, baseline_case: str) -> dict[str, Any]:
    return {
        "case": case,
        "value": round(value, 2),
        "unit": unit,
        "baseline": round(baseline, 2),
        "baseline_case": baseline_case,
        "ratio": round(value / baseline, 2) if baseline else None,
    }


async def _measure(node: str, container: str, node_pid: int) -> list[dict[str, Any]]:
    await _wait_ready(f"{container}/service_output")
    await _wait_ready(f"{node}/health")

    def job(session: aiohttp.ClientSession) -> Awaitable[None]:
        return _job(session, node)

    def direct(session: aiohttp.ClientSession) -> Awaitable[None]:
        return _direct(session, container)

    rows = []
    for reuse, label in ((False, "new connection"), (True, "connection reused")):
        base50, base99 = await _latency(direct, reuse)
        p50, p99 = await _latency(job, reuse)
        print(
            f"latency ({label}): node p50 {p50:.2f} ms p99 {p99:.2f} ms;"
            f" direct p50 {base50:.2f} ms p99 {base99:.2f} ms",
            file=sys.stderr,
        )
        baseline = f"container called directly, {label}"
        rows.append(_row(f"job latency, {label}", p50, "ms p50", base50, baseline))
        rows.append(_row(f"job latency, {label}", p99, "ms p99", base99, baseline))
    base_rate, _ = await _throughput(direct)
    rate, cpu_per_job = await _throughput(job, node_pid)
    print(
        f"throughput: node {rate:.0f} jobs/s ({cpu_per_job * 1000:.2f} ms CPU per job);"
        f" direct {base_rate:.0f} calls/s",
        file=sys.stderr,
    )
    rows.append(
        _row(
            f"jobs completed, {THROUGHPUT_JOBS} at concurrency {CONCURRENCY}",
            rate,
            "jobs/s",
            base_rate,
            "container called directly (calls/s)",
        )
    )
    rows.append(
        {
            "case": "devnode CPU per job (user + system) during the throughput run",
            "value": round(cpu_per_job * 1000, 3),
            "unit": "ms",
        }
    )
    return rows


def _use_uvloop() -> None:
    """Measure with the same event loop the devnode uses."""
    try:
        import uvloop
    except ImportError:
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


def main() -> None:
    processes: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory(prefix="bench-node-") as tmp:
        container_port, node_port = free_port(), free_port()
        container = f"http://127.0.0.1:{container_port}"
        node = f"http://127.0.0.1:{node_port}"
        config = devnode_config(
            port=node_port,
            store=Path(tmp) / "devnode.sqlite3",
            containers=[{"id": CONTAINER_ID, "url": container}],
            log_level="WARNING",
            # The bench is one client sending thousands of requests.
            rate_limit=(1_000_000, 1),
        )
        config_path = Path(tmp) / "config.json"
        config_path.write_text(json.dumps(config))
        try:
            processes.append(
                subprocess.Popen([PYTHON, "-c", _ECHO_SERVER, str(container_port)], cwd=tmp)
            )
            env = dict(os.environ)
            if os.environ.get("BENCH_NODE_SRC"):
                env["PYTHONPATH"] = os.environ["BENCH_NODE_SRC"]
            devnode = subprocess.Popen(devnode_argv(config_path), cwd=tmp, env=env)
            processes.append(devnode)
            _use_uvloop()
            rows = asyncio.run(_measure(node, container, devnode.pid))
        finally:
            for process in reversed(processes):
                stop_process(process, grace_s=STOP_TIMEOUT_S)
    print(json.dumps({"bench": "node_offchain", "rows": rows}))


if __name__ == "__main__":
    main()
