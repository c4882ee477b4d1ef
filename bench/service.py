"""Benchmark (not a test): the service against the offline stand-in and another revision.

Starts the offline stand-in and the service (`hf-inference-client-service --workers=N`, default 1)
on free ports, then, for each concurrency (1, 16, 64), loads first the stand-in directly (the
floor: the same classification request the service sends) and then POST /service_output. Prints
requests/s, p50/p99 latency, the ratio to the floor and the service's CPU time per request read
from /proc (utime+stime of the Hypercorn process tree), the most stable figure on a noisy shared
machine. It also times cold starts (spawning the command until the first 200 on GET /) and reads
the master's and the process tree's RSS.

`--against REV` (a commit id, tag or branch; default $BENCH_AGAINST, else 7221315, the last
revision before the service's hardening, its speed floor; `--against none` for none) runs that
revision side by side in the same run: built once into its own venv from its own
constraints.txt (bench/_revision.py, cached under .bench/), same stand-in, same load generator,
the two versions alternating rep by rep (ABBA) so that the machine's other load falls on both.
Each figure is the median over the reps, and the summary's ratios are this checkout / REV.

Load generator: Debian's `wrk` when on PATH (a Python generator saturates near 2-3k requests/s
on 2 cores), else a small asyncio keep-alive generator in this file.

    .venv/bin/python bench/service.py [--duration 5] [--reps 3] [--concurrency 1,16,64]
                                      [--workers 1] [--loadgen auto|wrk|python] [--against REV]

BENCH_QUICK=1 shortens every run to 1 s, one rep. The last stdout line is the JSON summary
`make bench` collects ({"bench": "service", "rows": [...]}).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from _revision import revision_venv

TEXT = "Decentralizing AI using crypto is awesome!"
MODEL = "distilbert/distilbert-base-uncased-finetuned-sst-2-english"
SERVICE_BODY = json.dumps(
    {"source": 1, "destination": 1, "data": {"task_id": 2, "text": TEXT}, "requires_proof": False}
)
# What the service itself sends the backend for that job (see service/tests/test_hf_backend.py).
FLOOR_BODY = json.dumps({"inputs": TEXT, "parameters": {}})
WARMUP_SECONDS = 1.0
# The last revision before the service's hardening: the speed it must not fall below.
DEFAULT_AGAINST = "7221315"
THIS = "this checkout"
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
    """One build of the service: this checkout, or another revision in its own venv."""

    name: str
    command: str


def _start(variant: Variant, backend_url: str, workers: int) -> tuple[subprocess.Popen[bytes], str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    proc = subprocess.Popen(
        [variant.command, f"--bind=fd://{sock.fileno()}", f"--workers={workers}"],
        env=_env() | {"HF_INF_ENDPOINT": backend_url},
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


@dataclass(frozen=True)
class Measured:
    """One variant at one concurrency: the median of its reps."""

    name: str
    concurrency: int
    floor: Run
    rps: float
    p50_ms: float
    p99_ms: float
    cpu_ms: float
    errors: int


def _serve_once(
    variant: Variant, backend_url: str, workers: int, kind: str, c: int, seconds: float
) -> tuple[Run, float]:
    service, service_url = _start(variant, backend_url, workers)
    try:
        _wait(service_url + "/")
        job_url = f"{service_url}/service_output"
        load(kind, job_url, SERVICE_BODY, c, WARMUP_SECONDS)
        before = _tree_cpu_seconds(service.pid)
        run = load(kind, job_url, SERVICE_BODY, c, seconds)
        spent = _tree_cpu_seconds(service.pid) - before
        return run, spent / max(1, run.requests) * 1000
    finally:
        _stop(service)


def _alternating(variants: list[Variant], rep: int) -> list[Variant]:
    # ABBA: each version goes first as often as second, so a trend in the machine's load
    # (another suite starting) weighs on both.
    return variants if rep % 2 == 0 else variants[::-1]


def _loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    quick = os.environ.get("BENCH_QUICK") == "1"
    parser.add_argument(
        "--duration", type=float, default=1.0 if quick else 5.0, help="seconds per measurement"
    )
    parser.add_argument("--reps", type=int, default=1 if quick else 3, help="runs per version")
    parser.add_argument("--concurrency", default="1,16,64")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--loadgen", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument(
        "--against",
        default=os.environ.get("BENCH_AGAINST", DEFAULT_AGAINST),
        help="another git revision measured side by side ('none': only this checkout)",
    )
    parser.add_argument("--starts", type=int, default=1 if quick else 3, help="cold starts each")
    args = parser.parse_args()
    kind = args.loadgen
    if kind == "auto":
        kind = "wrk" if shutil.which("wrk") else "python"
    levels = [int(c) for c in args.concurrency.split(",")]
    variants = [Variant(THIS, _bin("hf-inference-client-service"))]
    against = None if args.against.lower() in ("", "none") else args.against
    if against is not None:
        revision = revision_venv(against, ["service"])
        variants.append(Variant(against, revision.bin("hf-inference-client-service")))
    load_before = _loadavg()

    backend = subprocess.Popen(
        [sys.executable, "-m", "hf_inference_standin", "--port", "0"],
        stdout=subprocess.PIPE,
        env=_env(),
    )
    assert backend.stdout is not None
    backend_url = backend.stdout.readline().decode().strip().removeprefix("listening on ")
    measured: list[Measured] = []
    starts: dict[tuple[str, int], list[Start]] = {}
    try:
        _wait(backend_url + "/")
        floor_url = f"{backend_url}/models/{MODEL}"
        for i in range(args.starts):
            for workers in sorted({1, args.workers}):
                for variant in _alternating(variants, i):
                    start = cold_start(variant, backend_url, workers)
                    starts.setdefault((variant.name, workers), []).append(start)
        for c in levels:
            load(kind, floor_url, FLOOR_BODY, c, WARMUP_SECONDS)
            floor = load(kind, floor_url, FLOOR_BODY, c, args.duration)
            runs: dict[str, list[tuple[Run, float]]] = {v.name: [] for v in variants}
            for rep in range(args.reps):
                for variant in _alternating(variants, rep):
                    runs[variant.name].append(
                        _serve_once(variant, backend_url, args.workers, kind, c, args.duration)
                    )
            for variant in variants:
                done = runs[variant.name]
                measured.append(
                    Measured(
                        variant.name,
                        c,
                        floor,
                        statistics.median(r.rps for r, _ in done),
                        statistics.median(r.p50_ms for r, _ in done),
                        statistics.median(r.p99_ms for r, _ in done),
                        statistics.median(cpu for _, cpu in done),
                        sum(r.errors for r, _ in done),
                    )
                )
    finally:
        _stop(backend)

    print(
        f"\nservice vs offline stand-in (floor); load generator: {kind}; "
        f"{args.workers} worker(s); {args.duration:g} s per run, median of {args.reps} rep(s), "
        f"versions alternating; {os.cpu_count()} cores; load average {load_before} before, "
        f"{_loadavg()} after"
    )
    header = (
        "version",
        "conc",
        "floor req/s",
        "svc req/s",
        "vs floor",
        "svc p50",
        "svc p99",
        "svc CPU/req",
        "errors",
    )
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for m in measured:
        print(
            f"| {m.name} | {m.concurrency} | {m.floor.rps:,.0f} | {m.rps:,.0f} "
            f"| {m.rps / m.floor.rps:.2f} | {m.p50_ms:.2f} ms | {m.p99_ms:.2f} ms "
            f"| {m.cpu_ms:.2f} ms | {m.errors + m.floor.errors} |"
        )
    print("\ncold start to the first 200 on GET / (median), resident memory once serving")
    print("| version | workers | start | master RSS | process tree RSS |")
    print("|---|---|---|---|---|")
    median_starts = {key: _median_start(found) for key, found in starts.items()}
    for (name, workers), start in median_starts.items():
        print(
            f"| {name} | {workers} | {start.seconds:.2f} s | {start.master_mib:.1f} MiB "
            f"| {start.tree_mib:.1f} MiB |"
        )
    rows = _summary_rows(measured, median_starts, against)
    if against is not None:
        print(f"\nratios, this checkout / {against} (req/s: higher is better; the rest: lower)")
        for row in rows:
            if row["baseline_case"] == against:
                print(f"  {row['case']}: {row['ratio']:.2f}x")
    print(json.dumps({"bench": "service", "rows": rows}))
    return 0


def _median_start(found: list[Start]) -> Start:
    return Start(
        statistics.median(s.seconds for s in found),
        statistics.median(s.master_mib for s in found),
        statistics.median(s.tree_mib for s in found),
    )


def _summary_rows(
    measured: list[Measured], starts: dict[tuple[str, int], Start], against: str | None
) -> list[dict[str, object]]:
    """This checkout's figures, each with REV's from the same run as its baseline (the floor
    for req/s and p50 when there is no REV)."""
    out: list[dict[str, object]] = []
    floor_case = "offline stand-in called directly"
    theirs = {m.concurrency: m for m in measured if m.name == against}
    for m in measured:
        if m.name != THIS:
            continue
        other = theirs.get(m.concurrency)
        figures = (
            (f"service req/s c={m.concurrency}", m.rps, "req/s", other and other.rps, m.floor.rps),
            (
                f"service p50 c={m.concurrency}",
                m.p50_ms,
                "ms",
                other and other.p50_ms,
                m.floor.p50_ms,
            ),
            (
                f"service CPU per request c={m.concurrency}",
                m.cpu_ms,
                "ms CPU",
                other and other.cpu_ms,
                None,
            ),
        )
        for case, value, unit, rev_value, floor_value in figures:
            if rev_value is not None:
                out.append(_row(case, value, unit, rev_value, against))
            else:
                out.append(
                    _row(case, value, unit, floor_value, floor_case if floor_value else None)
                )
    for (name, workers), start in starts.items():
        if name != THIS:
            continue
        base = starts.get((against, workers)) if against else None
        for case, value, unit, rev_value in (
            (
                f"service cold start to first 200, {workers} worker(s)",
                start.seconds,
                "s",
                base and base.seconds,
            ),
            (
                f"service process tree RSS, {workers} worker(s)",
                start.tree_mib,
                "MiB",
                base and base.tree_mib,
            ),
        ):
            out.append(_row(case, value, unit, rev_value, against if rev_value else None))
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
