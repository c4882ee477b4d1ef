"""Devnode off-chain job latency, throughput and CPU per job, next to another revision.

Method: a trivial echo container behind the devnode; single-job latency p50/p99 is submit
(POST /api/jobs) then poll GET /api/jobs?id= (first poll at once, then every 10 ms) until the
job is done, with and without connection reuse; throughput is THROUGHPUT_JOBS jobs at
concurrency 32, each submitted then polled the same way, once over keep-alive connections and
once with a new connection per request. CPU per job is the devnode process's user+system CPU
time (from /proc) over a throughput run, divided by the jobs completed: the most stable figure on
a shared machine. The CPU the load generator (this process) and the echo container spend per
job in the same run gives the machine's ceiling: cores / (sum of the three CPU costs per job),
the jobs/s no devnode could exceed here however fast it were. Each start is also timed (spawn
to the first 200 on GET /health, off-chain config) and the process's resident memory read once
it answers. The floor in the same run is the same client calling the echo container's
/service_output directly.

`--against REV` (a commit id, tag or branch; default $BENCH_AGAINST, else 7221315, the devnode
before its container client moved to aiohttp; `--against none` for none) runs that revision's
devnode side by side in the same run: built once into its own venv from its own
constraints.txt (bench/_revision.py, cached under .bench/), same echo container, same load, the
two versions alternating rep by rep (ABBA) so that the machine's other load falls on both. Each
figure is the median over the reps; the summary's ratios are this checkout / REV.

Reference (Infernet Node 1.4 on this machine class, same method): ~17 ms p50 (~104 ms with
connection reuse), ~250 jobs/s. Goals: <= 5 ms p50 both ways, >= 750 jobs/s on 2 cores.

    .venv/bin/python bench/node_offchain.py [--reps 3] [--against REV]

BENCH_QUICK=1 for a short run (one rep, fewer jobs). The last stdout line is the JSON summary
`make bench` collects ({"bench": "node_offchain", "rows": [...]}).
"""

from __future__ import annotations

import argparse
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
from dataclasses import dataclass
from dataclasses import fields
from pathlib import Path
from typing import Any

import aiohttp
from _revision import revision_venv
from hf_infernet_stack.processes import free_port
from hf_infernet_stack.processes import stop_process

QUICK = os.environ.get("BENCH_QUICK") == "1"
LATENCY_SAMPLES = 100 if QUICK else 300
THROUGHPUT_JOBS = 300 if QUICK else 1_000
CONCURRENCY = 32
POLL_INTERVAL_S = 0.010
READY_TIMEOUT_S = 30.0
READY_POLL_S = 0.005
STOP_TIMEOUT_S = 5.0
JOB_TIMEOUT_S = 10.0
CONTAINER_ID = "echo"
PAYLOAD = {"prompt": "hello", "n": 1}
# The devnode before its container client moved to aiohttp: the CPU per job not to exceed.
DEFAULT_AGAINST = "7221315"
THIS = "this checkout"
CLK_TCK = os.sysconf("SC_CLK_TCK")

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


async def _wait_ready(url: str, process: subprocess.Popen[bytes] | None = None) -> None:
    """Poll ``url`` every READY_POLL_S until it answers below 500."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    async with aiohttp.ClientSession() as session:
        while True:
            try:
                async with session.get(url) as response:
                    if response.status < 500:
                        return
            except aiohttp.ClientError:
                pass
            if process is not None and process.poll() is not None:
                raise RuntimeError(f"{url}: the process exited with {process.returncode}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} not ready after {READY_TIMEOUT_S} s")
            await asyncio.sleep(READY_POLL_S)


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
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@dataclass(frozen=True)
class Throughput:
    """One throughput run: operations per second, and the CPU seconds per operation of the
    measured process and of everything else the run needs on this machine (this load generator
    and the container)."""

    rate: float
    cpu: float
    cpu_elsewhere: float

    def ceiling(self) -> float:
        """Operations per second this machine's cores could sustain at these CPU costs, with
        every core busy: the most any devnode could show here."""
        total = self.cpu + self.cpu_elsewhere
        return (os.cpu_count() or 1) / total if total else 0.0


async def _throughput(
    operation: Operation, reuse: bool, pid: int | None = None, container_pid: int | None = None
) -> Throughput:
    """THROUGHPUT_JOBS operations at CONCURRENCY (over keep-alive connections when ``reuse``,
    else one connection per request): per second, and the CPU seconds per operation of process
    ``pid`` (0 without it) and of this process with process ``container_pid``."""
    connector = aiohttp.TCPConnector(limit=CONCURRENCY, force_close=not reuse)
    remaining = THROUGHPUT_JOBS

    def elsewhere() -> float:
        container = _cpu_seconds(container_pid) if container_pid is not None else 0.0
        return time.process_time() + container

    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                await operation(session)

        await asyncio.gather(*(operation(session) for _ in range(CONCURRENCY)))  # warm-up
        cpu = _cpu_seconds(pid) if pid is not None else 0.0
        cpu_elsewhere = elsewhere()
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        elapsed = time.perf_counter() - started
        cpu_elsewhere = elsewhere() - cpu_elsewhere
        if pid is not None:
            cpu = _cpu_seconds(pid) - cpu
        return Throughput(
            THROUGHPUT_JOBS / elapsed, cpu / THROUGHPUT_JOBS, cpu_elsewhere / THROUGHPUT_JOBS
        )


@dataclass(frozen=True)
class Sample:
    """One devnode start measured (or the medians of several)."""

    start_s: float
    rss_mib: float
    p50_new_ms: float
    p99_new_ms: float
    p50_reused_ms: float
    p99_reused_ms: float
    rate_reused: float
    cpu_reused_ms: float
    rate_new: float
    cpu_new_ms: float
    ceiling_reused: float
    ceiling_new: float


def _median(samples: list[Sample]) -> Sample:
    return Sample(*(statistics.median(getattr(s, f.name) for s in samples) for f in fields(Sample)))


# What each figure is called, its unit, and whether higher is better.
_FIGURES = (
    ("rate_reused", f"jobs/s at concurrency {CONCURRENCY}, keep-alive", "jobs/s", True),
    ("rate_new", f"jobs/s at concurrency {CONCURRENCY}, new connections", "jobs/s", True),
    ("cpu_reused_ms", "devnode CPU per job, keep-alive", "ms", False),
    ("cpu_new_ms", "devnode CPU per job, new connections", "ms", False),
    (
        "ceiling_reused",
        "jobs/s the machine's cores allow at the run's CPU costs, keep-alive",
        "jobs/s",
        True,
    ),
    (
        "ceiling_new",
        "jobs/s the machine's cores allow at the run's CPU costs, new connections",
        "jobs/s",
        True,
    ),
    ("p50_new_ms", "job latency p50, new connection", "ms", False),
    ("p99_new_ms", "job latency p99, new connection", "ms", False),
    ("p50_reused_ms", "job latency p50, connection reused", "ms", False),
    ("p99_reused_ms", "job latency p99, connection reused", "ms", False),
    ("start_s", "start to the first 200 on /health (off-chain config)", "s", False),
    ("rss_mib", "resident memory once answering", "MiB", False),
)


@dataclass(frozen=True)
class Variant:
    """One build of the devnode: this checkout, or another revision in its own venv."""

    name: str
    python: str


def _config(tmp: Path, container: str, port: int) -> Path:
    # Written out rather than built by hf_infernet_stack.devnode_config: the config must be one
    # every compared revision's devnode accepts.
    config = {
        "containers": [{"id": CONTAINER_ID, "url": container}],
        "server": {
            "host": "127.0.0.1",
            "port": port,
            # The bench is one client sending thousands of requests.
            "rate_limit": {"num_requests": 1_000_000, "period": 1},
        },
        "storage": {"path": str(tmp / "devnode.sqlite3")},
        "log": {"level": "WARNING"},
    }
    path = tmp / "config.json"
    path.write_text(json.dumps(config))
    return path


def _env() -> dict[str, str]:
    # Each variant imports the devnode installed in its own venv, nothing else.
    return {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}


def _spawn(variant: Variant, config: Path, cwd: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [variant.python, "-m", "infernet_devnode", "--config", str(config)], cwd=cwd, env=_env()
    )


async def _measure_node(variant: Variant, container: str, container_pid: int) -> Sample:
    """Start ``variant``'s devnode on a fresh store, measure it, stop it."""
    with tempfile.TemporaryDirectory(prefix="bench-node-") as tmp:
        port = free_port()
        node = f"http://127.0.0.1:{port}"
        config = _config(Path(tmp), container, port)
        began = time.perf_counter()
        devnode = _spawn(variant, config, Path(tmp))
        try:
            await _wait_ready(f"{node}/health", devnode)
            start_s = time.perf_counter() - began
            rss = _rss_mib(devnode.pid)

            def job(session: aiohttp.ClientSession) -> Awaitable[None]:
                return _job(session, node)

            p50_new, p99_new = await _latency(job, reuse=False)
            p50_reused, p99_reused = await _latency(job, reuse=True)
            reused = await _throughput(job, True, devnode.pid, container_pid)
            new = await _throughput(job, False, devnode.pid, container_pid)
        finally:
            stop_process(devnode, grace_s=STOP_TIMEOUT_S)
    return Sample(
        start_s,
        rss,
        p50_new,
        p99_new,
        p50_reused,
        p99_reused,
        reused.rate,
        reused.cpu * 1000,
        new.rate,
        new.cpu * 1000,
        reused.ceiling(),
        new.ceiling(),
    )


@dataclass(frozen=True)
class Floor:
    """The echo container called directly by the same client."""

    p50_new_ms: float
    p50_reused_ms: float
    rate_reused: float
    rate_new: float


async def _floor(container: str) -> Floor:
    def direct(session: aiohttp.ClientSession) -> Awaitable[None]:
        return _direct(session, container)

    p50_new, _ = await _latency(direct, reuse=False)
    p50_reused, _ = await _latency(direct, reuse=True)
    reused = await _throughput(direct, True)
    new = await _throughput(direct, False)
    return Floor(p50_new, p50_reused, reused.rate, new.rate)


def _alternating(variants: list[Variant], rep: int) -> list[Variant]:
    # ABBA: each version goes first as often as second, so a trend in the machine's load
    # (another suite starting) weighs on both.
    return variants if rep % 2 == 0 else variants[::-1]


def _loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


async def _run(
    variants: list[Variant], container: str, container_pid: int, reps: int
) -> tuple[Floor, dict[str, Sample]]:
    await _wait_ready(f"{container}/service_output")
    floor = await _floor(container)
    samples: dict[str, list[Sample]] = {v.name: [] for v in variants}
    for rep in range(reps):
        for variant in _alternating(variants, rep):
            sample = await _measure_node(variant, container, container_pid)
            print(f"bench: rep {rep + 1}, {variant.name}: {sample}", file=sys.stderr, flush=True)
            samples[variant.name].append(sample)
    return floor, {name: _median(found) for name, found in samples.items()}


def _rows(floor: Floor, medians: dict[str, Sample], against: str | None) -> list[dict[str, Any]]:
    """This checkout's figures, each with REV's from the same run as its baseline (the echo
    container called directly when there is no REV)."""
    mine = medians[THIS]
    theirs = medians.get(against) if against is not None else None
    rows: list[dict[str, Any]] = []
    for name, case, unit, _ in _FIGURES:
        value = getattr(mine, name)
        if theirs is not None:
            baseline, baseline_case = getattr(theirs, name), against
        elif hasattr(floor, name):
            baseline, baseline_case = getattr(floor, name), "container called directly"
        else:
            baseline, baseline_case = None, None
        rows.append(
            {
                "case": case,
                "value": round(value, 3),
                "unit": unit,
                "baseline": round(baseline, 3) if baseline is not None else None,
                "baseline_case": baseline_case,
                "ratio": round(value / baseline, 2) if baseline else None,
            }
        )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=1 if QUICK else 3, help="starts per version")
    parser.add_argument(
        "--against",
        default=os.environ.get("BENCH_AGAINST", DEFAULT_AGAINST),
        help="another git revision measured side by side ('none': only this checkout)",
    )
    args = parser.parse_args()
    variants = [Variant(THIS, sys.executable)]
    against = None if args.against.lower() in ("", "none") else args.against
    if against is not None:
        revision = revision_venv(against, ["node"])
        variants.append(Variant(against, revision.bin("python")))
    load_before = _loadavg()
    container_port = free_port()
    container = f"http://127.0.0.1:{container_port}"
    echo = subprocess.Popen([sys.executable, "-c", _ECHO_SERVER, str(container_port)])
    try:
        _use_uvloop()
        floor, medians = asyncio.run(_run(variants, container, echo.pid, args.reps))
    finally:
        stop_process(echo, grace_s=STOP_TIMEOUT_S)

    print(
        f"\ndevnode off-chain, echo container; {THROUGHPUT_JOBS} jobs per throughput run,"
        f" median of {args.reps} start(s) per version, versions alternating; {os.cpu_count()}"
        f" cores; load average {load_before} before, {_loadavg()} after"
    )
    names = [v.name for v in variants]
    print("| figure | " + " | ".join(names) + " | container directly |")
    print("|---|" + "---|" * (len(names) + 1))
    for name, case, unit, _ in _FIGURES:
        cells = [f"{getattr(medians[n], name):,.2f} {unit}" for n in names]
        direct = f"{getattr(floor, name):,.2f} {unit}" if hasattr(floor, name) else ""
        print(f"| {case} | " + " | ".join(cells) + f" | {direct} |")
    rows = _rows(floor, medians, against)
    if against is not None:
        print(f"\nratios, this checkout / {against} (jobs/s: higher is better; the rest: lower)")
        for row in rows:
            print(f"  {row['case']}: {row['ratio']:.2f}x")
    print(json.dumps({"bench": "node_offchain", "rows": rows}))
    return 0


def _use_uvloop() -> None:
    """Measure with the same event loop the devnode uses."""
    try:
        import uvloop
    except ImportError:
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


if __name__ == "__main__":
    sys.exit(main())
