"""Benchmark (not a test): service overhead over calling the offline HF stand-in directly.

Starts the offline stand-in and the service (`hf-inference-client-service --workers=N`, default 2)
on free ports, then, for each concurrency (1, 16, 64), loads first the stand-in directly (the
floor: the same classification request the service sends) and then POST /service_output. Prints
requests/s, p50/p99 latency, the ratio to the floor, the added p50 latency and the service's CPU
time per request read from /proc (utime+stime of the Hypercorn process tree), the most stable
figure on a noisy shared machine. It also times cold starts (spawning the command until the
first 200 on GET /, 1 and N workers) and reads the master's and the process tree's RSS.

`--baseline-src DIR` measures another version side by side in the same run (same stand-in, same
load generator, same machine state): DIR is that version's `service/src`, for example
`git archive <commit> service | tar -x -C /tmp/base` then `--baseline-src /tmp/base/service/src`.

Load generator: Debian's `wrk` when on PATH (a Python generator saturates near 2-3k requests/s
on 2 cores), else a small asyncio keep-alive generator in this file.

    .venv/bin/python bench/service.py [--duration 5] [--concurrency 1,16,64] [--workers 2]
                                      [--loadgen auto|wrk|python] [--baseline-src DIR]

BENCH_QUICK=1 shortens every run to 1 s. The last stdout line is the JSON summary `make bench`
collects ({"bench": "service", "rows": [...]}).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

TEXT = "Decentralizing AI using crypto is awesome!"
MODEL = "distilbert/distilbert-base-uncased-finetuned-sst-2-english"
SERVICE_BODY = json.dumps(
    {"source": 1, "destination": 1, "data": {"task_id": 2, "text": TEXT}, "requires_proof": False}
)
# What the service itself sends the backend for that job (see service/tests/test_hf_backend.py).
FLOOR_BODY = json.dumps({"inputs": TEXT, "parameters": {}})
WARMUP_SECONDS = 1.0
GOAL_CPU_MS = 1.0
GOAL_ADDED_P50_MS = 1.5
GOAL_RPS_AT_64 = 1000.0
CLK_TCK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Run:
    requests: int
    errors: int
    seconds: float
    p50_ms: float
    p99_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


# ------------------------------------------------------------------ processes


def _bin(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


def _env() -> dict[str, str]:
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("HF_", "HTTP_PROXY", "HTTPS_PROXY"))
    }


def _wait(url: str, deadline: float = 20.0, poll: float = 0.05) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            with urllib.request.urlopen(url, timeout=1) as answer:  # noqa: S310 (local URL)
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(poll)
    raise TimeoutError(f"{url} not ready")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    for step in (proc.terminate, proc.kill):
        if proc.poll() is None:
            step()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                continue


def _tree_cpu_seconds(pid: int) -> float:
    """utime+stime of a process and its direct children (Hypercorn's workers)."""
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    ticks = 0
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15 of stat)
    return ticks / CLK_TCK


# ------------------------------------------------------------------ load generators


def _wrk(url: str, body: str, concurrency: int, seconds: float) -> Run:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(
            'wrk.method = "POST"\n'
            f"wrk.body = {json.dumps(body)}\n"
            'wrk.headers["Content-Type"] = "application/json"\n'
        )
    try:
        out = subprocess.run(
            [
                "wrk",
                f"-t{min(concurrency, 2)}",
                f"-c{concurrency}",
                f"-d{max(1, round(seconds))}s",
                "--latency",
                "-s",
                script.name,
                url,
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        os.unlink(script.name)
    total = re.search(r"(\d+) requests in ([\d.]+)(\w+)", out)
    assert total is not None, out
    duration = float(total.group(2)) * {"ms": 0.001, "s": 1.0, "m": 60.0}[total.group(3)]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    failed = int(errors.group(1)) if errors else 0
    if socket_errors:
        failed += sum(int(g) for g in socket_errors.groups())
    return Run(int(total.group(1)), failed, duration, _wrk_ms(out, "50%"), _wrk_ms(out, "99%"))


def _wrk_ms(out: str, percentile: str) -> float:
    found = re.search(rf"^\s+{percentile}\s+([\d.]+)(us|ms|s)\s*$", out, re.MULTILINE)
    assert found is not None, out
    return float(found.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[found.group(2)]


async def _python_load(url: str, body: str, concurrency: int, seconds: float) -> Run:
    host, port, path = _split(url)
    payload = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body.encode())}\r\n\r\n"
    ).encode() + body.encode()
    latencies: list[float] = []
    errors = 0
    end = time.perf_counter() + seconds

    async def client() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while time.perf_counter() < end:
                start = time.perf_counter()
                writer.write(payload)
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except asyncio.IncompleteReadError:
                    # The server ended the keep-alive connection (Hypercorn closes one after
                    # `keep_alive_max_requests`): reconnect and send again, as wrk does.
                    writer.close()
                    reader, writer = await asyncio.open_connection(host, port)
                    continue
                length = int(re.search(rb"(?i)content-length: (\d+)", head).group(1))  # type: ignore[union-attr]
                await reader.readexactly(length)
                latencies.append(time.perf_counter() - start)
                if not head.startswith(b"HTTP/1.1 200"):
                    errors += 1
        finally:
            writer.close()

    began = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    elapsed = time.perf_counter() - began
    latencies.sort()

    def pct(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000

    return Run(len(latencies), errors, elapsed, pct(0.50), pct(0.99))


def _split(url: str) -> tuple[str, int, str]:
    rest = url.removeprefix("http://")
    hostport, _, path = rest.partition("/")
    host, _, port = hostport.partition(":")
    return host, int(port), "/" + path


def load(kind: str, url: str, body: str, concurrency: int, seconds: float) -> Run:
    if kind == "wrk":
        return _wrk(url, body, concurrency, seconds)
    return asyncio.run(_python_load(url, body, concurrency, seconds))


# ------------------------------------------------------------------ main


@dataclass(frozen=True)
class Variant:
    """One build of the service: this checkout, or another `service/src` tree (--baseline-src)."""

    name: str
    src: str | None

    def env(self) -> dict[str, str]:
        # PYTHONPATH wins over the editable install, so the console command runs that tree.
        return _env() | ({"PYTHONPATH": self.src} if self.src else {})


def _start(variant: Variant, backend_url: str, workers: int) -> tuple[subprocess.Popen[bytes], str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    proc = subprocess.Popen(
        [
            _bin("hf-inference-client-service"),
            f"--bind=fd://{sock.fileno()}",
            f"--workers={workers}",
        ],
        env=variant.env() | {"HF_INF_ENDPOINT": backend_url},
        pass_fds=[sock.fileno()],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    sock.close()
    return proc, url


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


@dataclass(frozen=True)
class Start:
    seconds: float
    master_mib: float
    tree_mib: float


def cold_start(variant: Variant, backend_url: str, workers: int) -> Start:
    """Seconds from spawning the command to the first 200 on GET /, and the RSS once serving."""
    began = time.perf_counter()
    proc, url = _start(variant, backend_url, workers)
    try:
        _wait(url + "/", poll=0.005)
        seconds = time.perf_counter() - began
        master = _rss_mib(proc.pid)
        tree = master + sum(_rss_mib(c) for c in _children(proc.pid))
        return Start(seconds, master, tree)
    finally:
        _stop(proc)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    quick = os.environ.get("BENCH_QUICK") == "1"
    parser.add_argument(
        "--duration", type=float, default=1.0 if quick else 5.0, help="seconds per measurement"
    )
    parser.add_argument("--concurrency", default="1,16,64")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--loadgen", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument(
        "--baseline-src",
        help="another version's service/src tree, measured in the same run (e.g. a git export)",
    )
    parser.add_argument("--starts", type=int, default=1 if quick else 3, help="cold starts each")
    args = parser.parse_args()
    kind = args.loadgen
    if kind == "auto":
        kind = "wrk" if shutil.which("wrk") else "python"
    levels = [int(c) for c in args.concurrency.split(",")]
    variants = [Variant("this checkout", None)]
    if args.baseline_src:
        variants.insert(0, Variant("baseline", str(Path(args.baseline_src).resolve())))

    backend = subprocess.Popen(
        [sys.executable, "-m", "hf_inference_standin", "--port", "0"],
        stdout=subprocess.PIPE,
        env=_env(),
    )
    assert backend.stdout is not None
    backend_url = backend.stdout.readline().decode().strip().removeprefix("listening on ")
    rows: list[tuple[str, int, Run, Run, float]] = []
    starts: list[tuple[str, int, Start]] = []
    try:
        _wait(backend_url + "/")
        floor_url = f"{backend_url}/models/{MODEL}"
        for variant in variants:
            for workers in sorted({1, args.workers}):
                measured_starts = [
                    cold_start(variant, backend_url, workers) for _ in range(args.starts)
                ]
                median = sorted(measured_starts, key=lambda s: s.seconds)[len(measured_starts) // 2]
                starts.append((variant.name, workers, median))
        for c in levels:
            load(kind, floor_url, FLOOR_BODY, c, WARMUP_SECONDS)
            floor = load(kind, floor_url, FLOOR_BODY, c, args.duration)
            for variant in variants:
                service, service_url = _start(variant, backend_url, args.workers)
                try:
                    _wait(service_url + "/")
                    job_url = f"{service_url}/service_output"
                    load(kind, job_url, SERVICE_BODY, c, WARMUP_SECONDS)
                    before = _tree_cpu_seconds(service.pid)
                    measured = load(kind, job_url, SERVICE_BODY, c, args.duration)
                    spent = _tree_cpu_seconds(service.pid) - before
                    cpu_ms = spent / max(1, measured.requests) * 1000
                finally:
                    _stop(service)
                rows.append((variant.name, c, floor, measured, cpu_ms))
    finally:
        _stop(backend)

    print(
        f"\nservice vs offline stand-in (floor); load generator: {kind}; "
        f"{args.workers} workers; {args.duration:g} s per run; {os.cpu_count()} cores"
    )
    header = (
        "version",
        "conc",
        "floor req/s",
        "svc req/s",
        "ratio",
        "floor p50",
        "svc p50",
        "added p50",
        "svc p99",
        "svc CPU/req",
        "errors",
    )
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for name, c, floor, svc, cpu in rows:
        print(
            f"| {name} | {c} | {floor.rps:,.0f} | {svc.rps:,.0f} | {svc.rps / floor.rps:.2f} "
            f"| {floor.p50_ms:.2f} ms | {svc.p50_ms:.2f} ms | {svc.p50_ms - floor.p50_ms:.2f} ms "
            f"| {svc.p99_ms:.2f} ms | {cpu:.2f} ms | {svc.errors + floor.errors} |"
        )
    print("\ncold start to the first 200 on GET / (median), resident memory once serving")
    print("| version | workers | start | master RSS | process tree RSS |")
    print("|---|---|---|---|---|")
    for name, workers, start in starts:
        print(
            f"| {name} | {workers} | {start.seconds:.2f} s | {start.master_mib:.1f} MiB "
            f"| {start.tree_mib:.1f} MiB |"
        )
    ours = [r for r in rows if r[0] == "this checkout"]
    print("\ngoals (this checkout):")
    print(f"  CPU per request <= {GOAL_CPU_MS} ms: worst {max(r[4] for r in ours):.2f} ms")
    by_c = {c: (floor, svc) for _, c, floor, svc, _ in ours}
    if 1 in by_c:
        floor, svc = by_c[1]
        print(f"  added p50 at c=1 <= {GOAL_ADDED_P50_MS} ms: {svc.p50_ms - floor.p50_ms:.2f} ms")
    if 64 in by_c:
        print(f"  req/s at c=64 >= {GOAL_RPS_AT_64:.0f}: {by_c[64][1].rps:,.0f}")
    print(json.dumps({"bench": "service", "rows": _summary_rows(ours, starts)}))
    return 0


def _summary_rows(
    rows: list[tuple[str, int, Run, Run, float]], starts: list[tuple[str, int, Start]]
) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    floor_case = "offline stand-in called directly"
    for _, c, floor, svc, cpu in rows:
        out.append(_row(f"service req/s c={c}", svc.rps, "req/s", floor.rps, floor_case))
        out.append(_row(f"service p50 c={c}", svc.p50_ms, "ms", floor.p50_ms, floor_case))
        out.append(_row(f"service CPU per request c={c}", cpu, "ms CPU", None, None))
    for name, workers, start in starts:
        if name == "this checkout":
            case = f"service cold start to first 200, {workers} worker(s)"
            out.append(_row(case, start.seconds, "s", None, None))
            case = f"service master RSS, {workers} worker(s)"
            out.append(_row(case, start.master_mib, "MiB", None, None))
    return out


def _row(
    case: str, value: float, unit: str, baseline: float | None, baseline_case: str | None
) -> dict[str, object]:
    return {
        "case": case,
        "value": round(value, 3),
        "unit": unit,
        "baseline": None if baseline is None else round(baseline, 3),
        "baseline_case": baseline_case,
        "ratio": None if not baseline else round(value / baseline, 3),
    }


if __name__ == "__main__":
    sys.exit(main())
