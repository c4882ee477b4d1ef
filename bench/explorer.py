"""The explorer with 10,000 jobs and 1,000 subscriptions: node CPU per update, first paint, and
job throughput with the explorer enabled but closed.

Method:
- A store is seeded through the node's own writers (JobRecords.put, ChainStore.put_*): 10,000
  off-chain jobs (80 % success, 15 % failed, 5 % running; three container sets), 1,000
  subscriptions (recurring and one-shot, some not active yet, some completed) with 3 deliveries
  each (each also logged on chain beside a second node's delivery of the same interval), and 200
  delegated requests.
- Node CPU per update: the explorer's own routes served by aiohttp in a thread of this process,
  called over HTTP; the CPU time of the server thread (time.thread_time) per request, median of
  ``REPEAT`` requests, for the first page of every list, filtered pages, a deep page and one
  item. The chain views read the seeded chain tables through a stand-in for the running chain
  side (a fixed ChainReadout, no RPC: block and gas of receipts are not fetched).
- First paint: headless Chromium (Debian's, as in the tests) opens each section; the time from
  navigation until its table is in the DOM, median of ``PAINT_RUNS``.
- Jobs with the explorer closed: a real devnode subprocess with an echo container, ``JOBS`` jobs
  at concurrency 16, explorer disabled vs enabled and never opened, alternated ``ROUNDS`` times;
  the node process's CPU per job (from /proc, steady on a shared machine) and jobs/s (which
  swings with whatever else the machine runs), medians and their ratios.

Run: .venv/bin/python bench/explorer.py   (BENCH_QUICK=1 for a short run)
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from hf_infernet_stack.browser import browser_page
from hf_infernet_stack.browser import chromium_available
from infernet_devnode.api.chain_slot import ExplorerChainFace
from infernet_devnode.api.chain_slot import Slot
from infernet_devnode.api.explorer import install_explorer
from infernet_devnode.capacity import CallLimits
from infernet_devnode.chain.delivery import Delivery
from infernet_devnode.chain.delivery import DeliveryState
from infernet_devnode.chain.eip712 import SignedDelegation
from infernet_devnode.chain.readout import ChainReadout
from infernet_devnode.chain.store import ChainStore
from infernet_devnode.chain.store import Fulfillment
from infernet_devnode.chain.subscriptions import ContainerLookup
from infernet_devnode.chain.subscriptions import Subscription
from infernet_devnode.chain.subscriptions import container_set_hash
from infernet_devnode.chain.views import ChainView
from infernet_devnode.components import NodeContext
from infernet_devnode.config import parse_config
from infernet_devnode.containers import ContainerClient
from infernet_devnode.guardian import Guardian
from infernet_devnode.metrics import Metrics
from infernet_devnode.results import ContainerError
from infernet_devnode.results import ContainerOutput
from infernet_devnode.results import JobResult
from infernet_devnode.results import JobStatus
from infernet_devnode.store import JobRecords
from infernet_devnode.store import Store

QUICK = os.environ.get("BENCH_QUICK") == "1"
N_JOBS = 10_000
N_SUBSCRIPTIONS = 1_000
DELIVERIES_PER_SUBSCRIPTION = 3
N_DELEGATIONS = 200
REPEAT = 10 if QUICK else 30
PAINT_RUNS = 3 if QUICK else 7
JOBS = 300 if QUICK else 1_000
ROUNDS = 2 if QUICK else 5
CONCURRENCY = 16
NOW = 1_800_000_000  # chain time of the stand-in head
CONTAINER_SETS = (("echo",), ("echo", "wrap"), ("other",))
OWNER = "0x" + "11" * 20
OTHER_NODE = "0x" + "22" * 20  # a second node answering every interval
ZERO = "0x" + "00" * 20
READY_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 5.0

_ECHO_SERVER = """
import sys
from aiohttp import web
async def service_output(request):
    return web.json_response({"output": await request.json()})
app = web.Application()
app.add_routes([web.post("/service_output", service_output)])
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ------------------------------------------------------------------ seeding


def seed(path: Path) -> None:
    rng = random.Random(7)
    store = Store(path).open()
    records = JobRecords(store)
    with store.transaction():
        for i in range(N_JOBS):
            containers = CONTAINER_SETS[i % len(CONTAINER_SETS)]
            roll = rng.random()
            if roll < 0.05:
                job = JobResult(f"job-{i}", JobStatus.RUNNING, None)
            elif roll < 0.20:
                job = JobResult(
                    f"job-{i}", JobStatus.FAILED, ContainerError(containers[-1], "boom")
                )
            else:
                output = ContainerOutput(containers[-1], {"output": f"answer {i} " * 8})
                job = JobResult(f"job-{i}", JobStatus.SUCCESS, output)
            client = f"127.0.0.{1 + i % 3}"
            records.put(client, job, containers, input_json=json.dumps({"prompt": f"q {i}"}))
    chain = ChainStore(store)
    with store.transaction():
        for sub_id in range(1, N_SUBSCRIPTIONS + 1):
            recurring = sub_id % 2 == 0
            sub = Subscription(
                id=sub_id,
                owner=OWNER,
                active_at=NOW + 600 if sub_id % 10 == 0 else NOW - 3600 + sub_id,
                period=60 if recurring else 0,
                frequency=100 if recurring else 1,
                redundancy=1,
                container_id=container_set_hash(CONTAINER_SETS[sub_id % len(CONTAINER_SETS)]),
                lazy=False,
                verifier=ZERO,
                payment_amount=0,
                payment_token=ZERO,
                wallet=ZERO,
            )
            chain.put_subscription(sub, tracked=sub_id % 7 != 0, reason="")
            for interval in range(1, DELIVERIES_PER_SUBSCRIPTION + 1):
                state = (
                    DeliveryState.FAILED
                    if interval == 2 and sub_id % 5 == 0
                    else DeliveryState.DELIVERED
                )
                chain.put_delivery(
                    Delivery(sub_id, interval, state, 1, "", "0x" + f"{sub_id:032x}{interval:032x}")
                )
            if sub_id <= N_DELEGATIONS:
                delegation = SignedDelegation(sub, sub_id, NOW + 3600, 27, 1, 2, {"x": sub_id})
                chain.put_delegation(delegation, Delivery(sub_id, 1, DeliveryState.DELIVERED))
    # Every delivery as the Coordinator logged it, and another node's delivery of each interval
    # (the explorer lists who answered each interval).
    chain.put_fulfillments(
        [
            Fulfillment(sub_id, interval, node, f"0x{sub_id:032x}{interval:031x}{n}", block, n)
            for sub_id in range(1, N_SUBSCRIPTIONS + 1)
            for interval in range(1, DELIVERIES_PER_SUBSCRIPTION + 1)
            for n, node in enumerate((OWNER, OTHER_NODE))
            for block in [sub_id * DELIVERIES_PER_SUBSCRIPTION + interval]
        ]
    )
    store.close()


class _Client:
    """No RPC in the bench: the balance is constant and receipts are unknown."""

    async def balance(self, address: str) -> int:
        return 10**18

    async def receipt(self, tx_hash: str) -> None:
        return None


def seeded_readout(store: Store) -> ChainReadout:
    """What the running chain side would report, over the seeded tables (no RPC)."""
    return ChainReadout(
        store=ChainStore(store),
        client=_Client(),  # type: ignore[arg-type]
        lookup=ContainerLookup.build(["echo", "wrap", "other"]),
        tracked=frozenset(),
        address=OWNER,
        chain_id=31337,
        genesis_hash="0x" + "ab" * 32,
        head_block=1_000,
        chain_time=NOW,
        fault="",
        in_flight=0,
    )


# ------------------------------------------------------------------ the explorer in a thread


class ExplorerServer:
    def __init__(self, db: Path) -> None:
        self.db = db
        self.loop = asyncio.new_event_loop()
        self.cpu: list[float] = []
        self.url = ""
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> ExplorerServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(READY_TIMEOUT_S)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self.loop).result(
                STOP_TIMEOUT_S
            )
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(STOP_TIMEOUT_S)
        self.store.close()

    async def _start(self) -> None:
        config = parse_config(
            {
                "containers": [
                    {"id": c, "url": f"http://127.0.0.1:9/{c}"} for c in ("echo", "wrap", "other")
                ],
                "explorer": {"enabled": True},
            }
        ).config
        self.store = Store(self.db).open()
        metrics = Metrics()
        context = NodeContext(
            config,
            self.store,
            ContainerClient(
                config.containers,
                metrics,
                CallLimits.of(config.server),
                max_json_depth=config.server.max_json_depth,
            ),
            Guardian(config.containers),
            metrics,
        )
        readout = seeded_readout(self.store)
        view = ChainView(lambda: readout, self.store.connection)

        @web.middleware
        async def cpu(
            request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
        ) -> web.StreamResponse:
            start = time.thread_time()
            response = await handler(request)
            self.cpu.append(time.thread_time() - start)
            return response

        app = web.Application(middlewares=[cpu])
        views: Slot[ExplorerChainFace] = Slot()
        views.bind(view)
        install_explorer(app, context, JobRecords(self.store), None, views)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        port = free_port()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        self.url = f"http://127.0.0.1:{port}"


UPDATE_CASES = [
    ("overview", "/api/explorer/overview"),
    ("jobs: first page", "/api/explorer/jobs"),
    ("jobs: status=failed", "/api/explorer/jobs?status=failed"),
    ("jobs: container=wrap", "/api/explorer/jobs?container=wrap"),
    ("jobs: page 150 (deep cursor)", "/api/explorer/jobs?before=2500"),
    ("job: one job", "/api/explorer/job?client=127.0.0.1&id=job-9999"),
    ("subscriptions: first page", "/api/explorer/subscriptions"),
    ("subscriptions: state=active", "/api/explorer/subscriptions?state=active"),
    ("subscriptions: container=echo", "/api/explorer/subscriptions?container=echo"),
    ("subscription: one, with deliveries", "/api/explorer/subscriptions/500"),
    ("delegations: first page", "/api/explorer/delegations"),
]
PAINT_CASES = [
    ("overview", "", "#content table"),
    ("jobs", "jobs", "#content tbody tr"),
    ("job", "job?client=127.0.0.1&id=job-9999", "#content pre"),
    ("subscriptions", "subscriptions", "#content tbody tr"),
    ("subscription", "subscriptions/500", "#content tbody tr"),
    ("delegations", "delegations", "#content tbody tr"),
]


def measure_updates(server: ExplorerServer) -> list[dict[str, Any]]:
    import urllib.request

    rows = []
    for case, path in UPDATE_CASES:
        server.cpu.clear()
        for _ in range(REPEAT):
            with urllib.request.urlopen(server.url + path, timeout=30) as answer:  # noqa: S310
                assert answer.status == 200, path
                answer.read()
        rows.append(
            {
                "case": f"node CPU per update, {case}",
                "value": round(statistics.median(server.cpu) * 1000, 2),
                "unit": "ms",
            }
        )
    return rows


def measure_paint(server: ExplorerServer) -> list[dict[str, Any]]:
    if not chromium_available():
        return [{"case": "first paint", "value": None, "unit": "chromium not installed"}]
    rows = []
    with browser_page() as (page, errors):
        # The browser's first navigation pays for its own start-up: not the page's cost.
        page.goto(f"{server.url}/ui#/jobs")
        page.wait_for_selector("#content tbody tr", state="attached")
        for case, fragment, selector in PAINT_CASES:
            times = []
            for _ in range(PAINT_RUNS):
                page.goto("about:blank")
                start = time.perf_counter()
                page.goto(f"{server.url}/ui#/{fragment}")
                page.wait_for_selector(selector, state="attached")
                times.append(time.perf_counter() - start)
            rows.append(
                {
                    "case": f"first paint, {case}",
                    "value": round(statistics.median(times) * 1000, 1),
                    "unit": "ms",
                }
            )
        if errors.messages:
            raise RuntimeError(f"page errors: {errors.messages}")
    return rows


# ------------------------------------------------------------------ throughput, explorer closed


async def _wait_ready(url: str) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    async with aiohttp.ClientSession() as session:
        while True:
            try:
                async with session.get(url + "/health") as answer:
                    if answer.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} not ready")
            await asyncio.sleep(0.05)


async def _throughput(url: str) -> float:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CONCURRENCY)) as session:
        remaining = JOBS

        async def worker() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                body = {"containers": ["echo"], "data": {"prompt": "hello"}}
                async with session.post(url + "/api/jobs", json=body) as answer:
                    job_id = (await answer.json())["id"]
                while True:
                    async with session.get(url + f"/api/jobs?id={job_id}") as answer:
                        if (await answer.json())[0]["status"] != "running":
                            break
                    await asyncio.sleep(0.005)

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        return JOBS / (time.perf_counter() - start)


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(STOP_TIMEOUT_S)


def measure_throughput(tmp: Path) -> list[dict[str, Any]]:
    echo_port = free_port()
    echo = subprocess.Popen([sys.executable, "-c", _ECHO_SERVER, str(echo_port)])
    results: dict[bool, list[float]] = {False: [], True: []}
    cpu: dict[bool, list[float]] = {False: [], True: []}
    try:
        for round_ in range(ROUNDS):
            # alternate the order: the first node of a round starts on a colder machine
            for enabled in (False, True) if round_ % 2 == 0 else (True, False):
                port = free_port()
                config = {
                    "containers": [{"id": "echo", "url": f"http://127.0.0.1:{echo_port}"}],
                    "server": {
                        "host": "127.0.0.1",
                        "port": port,
                        "rate_limit": {"num_requests": 1_000_000, "period": 1},
                    },
                    "storage": {"path": str(tmp / f"tp-{round_}-{enabled}.sqlite3")},
                    "explorer": {"enabled": enabled},
                    "log": {"level": "WARNING"},
                }
                path = tmp / "config.json"
                path.write_text(json.dumps(config))
                node = subprocess.Popen(
                    [sys.executable, "-m", "infernet_devnode", "--config", str(path)], cwd=tmp
                )
                try:
                    url = f"http://127.0.0.1:{port}"
                    asyncio.run(_wait_ready(url))
                    before = _cpu_seconds(node.pid)
                    results[enabled].append(asyncio.run(_throughput(url)))
                    cpu[enabled].append((_cpu_seconds(node.pid) - before) / JOBS)
                finally:
                    _stop(node)
    finally:
        _stop(echo)
    for enabled in (False, True):
        shown = ", ".join(f"{v:.0f}" for v in results[enabled])
        per_job = ", ".join(f"{v * 1000:.2f}" for v in cpu[enabled])
        print(
            f"explorer {'enabled' if enabled else 'disabled'}: jobs/s {shown}; node CPU ms/job"
            f" {per_job}",
            file=sys.stderr,
        )
    off, on = statistics.median(results[False]), statistics.median(results[True])
    cpu_off = statistics.median(cpu[False]) * 1000
    cpu_on = statistics.median(cpu[True]) * 1000
    return [
        {"case": "node CPU per job, explorer disabled", "value": round(cpu_off, 3), "unit": "ms"},
        {
            "case": "node CPU per job, explorer enabled, not open",
            "value": round(cpu_on, 3),
            "unit": "ms",
            "baseline": round(cpu_off, 3),
            "baseline_case": "explorer disabled",
            "ratio": round(cpu_on / cpu_off, 3),
        },
        {"case": "job throughput, explorer disabled", "value": round(off), "unit": "jobs/s"},
        {
            "case": "job throughput, explorer enabled, not open",
            "value": round(on),
            "unit": "jobs/s",
            "baseline": round(off),
            "baseline_case": "explorer disabled",
            "ratio": round(on / off, 3),
        },
    ]


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc; clock ticks to seconds)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-explorer-") as tmp_name:
        tmp = Path(tmp_name)
        db = tmp / "seeded.sqlite3"
        started = time.perf_counter()
        seed(db)
        took = time.perf_counter() - started
        print(
            f"seeded {N_JOBS} jobs, {N_SUBSCRIPTIONS} subscriptions in {took:.1f} s",
            file=sys.stderr,
        )
        with ExplorerServer(db) as server:
            rows += measure_updates(server)
            rows += measure_paint(server)
        rows += measure_throughput(tmp)
    for row in rows:
        print(f"{row['case']:<55} {row['value']} {row['unit']}", file=sys.stderr)
    print(json.dumps({"bench": "explorer", "rows": rows}))


if __name__ == "__main__":
    main()
