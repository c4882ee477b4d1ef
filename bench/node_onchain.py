"""Devnode on-chain latency, burst throughput and idle JSON-RPC load (docs/benchmarks.md).

Method: one anvil with the protocol at its fixed addresses and an HFCallbackConsumer, one
devnode (the stack package hf_infernet_stack: anvil, devnode process, echo container).
- latency: 20 callback requests one after the other, with automine and with 1-second blocks,
  from the request's receipt to the answer being readable on the consumer (polled every 5 ms);
  blocks = delivery block - request block.
- burst: 200 callback requests mined in one block, then automine: time until the last answer.
- idle load: a fresh node whose rpc_url is a counting proxy in front of anvil; requests/s it
  sends and its CPU over a window of 1-second blocks while it tracks 0, 200 and 1,000
  not-yet-active subscriptions.
- burst curve: 200, 500 and 1,000 callback requests mined in one block, then automine: time
  until the node records the last delivery (read from its /metrics, so the bench's own polling
  puts no load on anvil), deliveries/s, and the CPU seconds the node and anvil spent; baseline:
  anvil alone mining as many plain transfers, one block each, right after each burst (anvil's
  work per block grows with the chain's storage, which every burst adds to).
- startup curve: 1,000, 3,000, 5,000 and 10,000 subscriptions on chain, a fresh node with the
  default `snapshot_sync.sleep` (1 s): time until its REST API answers (goal: within 1 s at
  3,000), and until /health says healthy (initial sync over), with the node's CPU seconds.
- delegated burst: 200 signed delegated requests handed to the chain side one after the other on
  automine, until every one is settled: store reads (SELECT statements on the node's own SQLite
  connection, counted with sqlite3's trace callback) per block mined and per delivery, and the
  node's CPU per delivery. The chain side runs in a child process of its own (a fresh anvil, the
  chain side built as the node builds it, the echo answer returned in-process), once per checkout:
  with BENCH_BASELINE_SRC=<older checkout>/node/src the older one runs first, in the same run, and
  its numbers are the baseline. `node_onchain.py delegated` runs this part alone.
Before/after: run it twice in one session, the second time with PYTHONPATH pointing at an older
checkout's node/src (the devnode processes import that one), and compare the rows.
Baselines in the same run: a plain transaction round trip on the same anvil (latency), and the
0-subscription idle load (load ratios).

Reference (Infernet Node 1.4, this machine class): next 1-second block (~2 s), ~14 tx/s in a
burst (last of 200 after 14.3 s), 7 req/s idle with 0 subscriptions and ~310 req/s, 70% CPU with
200. Goals: next block with 1-second blocks, < 300 ms with automine, <= 10 req/s at 1,000,
200-request burst within 5 s.

Run: .venv/bin/python bench/node_onchain.py   (BENCH_QUICK=1 for a short run; `delegated` for the
delegated burst alone; `startup [REPS]` for the start with 3,000 subscriptions alone, with the
explorer off and on: spawn to the first 200 on /health and the RSS then, and to the first
"healthy" (chain side bound, initial sync over), REPS starts each (default 4), alternating with
the devnode under BENCH_BASELINE_SRC when it is set; the load average is in every row)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from typing import NamedTuple

from eth_abi.abi import encode as abi_encode
from hf_infernet_stack.accounts import CONTAINER_ID
from hf_infernet_stack.accounts import DEPLOYER_KEY
from hf_infernet_stack.accounts import NODE_KEY
from hf_infernet_stack.accounts import PROTOCOL
from hf_infernet_stack.accounts import SIGNER_KEY
from hf_infernet_stack.anvil import Anvil
from hf_infernet_stack.anvil import RpcProxy
from hf_infernet_stack.consumers import ALLOWED_NODES
from hf_infernet_stack.consumers import ANSWER_COUNT
from hf_infernet_stack.consumers import NEXT_ID
from hf_infernet_stack.consumers import REQUEST_COMPUTE
from hf_infernet_stack.consumers import START_SUBSCRIPTION
from hf_infernet_stack.consumers import SUBSCRIPTION_FULFILLED
from hf_infernet_stack.consumers import TEXT_GENERATION
from hf_infernet_stack.consumers import Actor
from hf_infernet_stack.consumers import created_id
from hf_infernet_stack.consumers import deploy_callback_consumer
from hf_infernet_stack.consumers import deploy_protocol
from hf_infernet_stack.consumers import deploy_subscription_consumer
from hf_infernet_stack.containers import EchoContainer
from hf_infernet_stack.delegation import signed_delegated_request as delegated_request
from hf_infernet_stack.devnode import Devnode
from hf_infernet_stack.devnode import devnode_argv
from hf_infernet_stack.processes import spawn
from hf_infernet_stack.processes import stop_process
from hf_infernet_stack.processes import wait_for
from hf_infernet_stack.rest import Http
from hf_infernet_stack.rpc import Rpc
from infernet_devnode.chain.delivery import DeliveryState
from infernet_devnode.chain.delivery import RetryPolicy
from infernet_devnode.chain.eip712 import SignedDelegation
from infernet_devnode.chain.ledger import DeliveryLedger
from infernet_devnode.chain.loop import ChainLoop
from infernet_devnode.chain.loop import ChainSettings
from infernet_devnode.chain.rpc import ChainClient
from infernet_devnode.chain.store import ChainStore
from infernet_devnode.chain.subscriptions import ContainerPolicy
from infernet_devnode.chain.tracking import TrackedSubscriptions
from infernet_devnode.messages import DelegatedSubscriptionRequest
from infernet_devnode.messages import parse_job_message
from infernet_devnode.results import ContainerOutput
from infernet_devnode.results import ContainerResult
from infernet_devnode.results import JobLocation
from infernet_devnode.store import Store

QUICK = os.environ.get("BENCH_QUICK") == "1"
LATENCY_REQUESTS = 5 if QUICK else 20
# With 1-second blocks each request costs ~1.5 s of wall clock.
BLOCK_LATENCY_REQUESTS = 5 if QUICK else 20
BURST = 50 if QUICK else 200
IDLE_COUNTS = (0, 200) if QUICK else (0, 200, 1_000)
BURST_SIZES = (50, 100) if QUICK else (200, 500, 1_000)
STARTUP_COUNTS = (200, 1_000) if QUICK else (1_000, 3_000, 5_000, 10_000)
STARTUP_TIMEOUT_S = 120.0
STARTUP_SIDE_BY_SIDE = 3_000  # `node_onchain.py startup`: the goal's count (docs/benchmarks.md)
# Subscriptions created per block when filling the chain (automine off, one block per chunk).
CREATE_CHUNK = 500
DEFAULT_SNAPSHOT_SLEEP_S = 1.0  # snapshot_sync.sleep's default (docs/configuration.md)
IDLE_WINDOW_S = 3.0 if QUICK else 4.0
POLL_S = 0.005
TIMEOUT_S = 60.0
IDLE_PERIOD_S = 3_600  # subscriptions become active one period after creation: not during the run
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# chain.snapshot_sync.sync_period of the benchmarked node: 8 head polls/s trades ~60 ms of mean
# reaction time for idle load under the 10 requests/s goal.
SYNC_PERIOD_S = 0.125
TX_GAS = 1_000_000  # per request tx; the block gas limit below fits a whole burst in one block
BLOCK_GAS_LIMIT = 1_000_000_000
DELEGATED_BURST = 50 if QUICK else 200
DELEGATION_EXPIRY_S = 3_600
DELEGATED_CHILD = "delegated-burst-child"
_FINAL_STATES = tuple(
    int(s) for s in (DeliveryState.DELIVERED, DeliveryState.SKIPPED, DeliveryState.FAILED)
)


def answered(rpc: Rpc, consumer: str, sub_id: int) -> bool:
    (count,) = rpc.call(consumer, ANSWER_COUNT, sub_id, 1)
    return int(count) > 0


def poll(predicate: Any, what: str) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(POLL_S)


def delivery_block(rpc: Rpc, node: Devnode, sub_id: int) -> int:
    tx = wait_for(
        lambda: (
            (node.subscription(sub_id) or {}).get("last", {})
            and node.subscription(sub_id)["last"]["tx_hash"]
        ),
        TIMEOUT_S,
        "delivery tx",
    )
    receipt = wait_for(lambda: rpc("eth_getTransactionReceipt", tx), TIMEOUT_S, "receipt")
    return int(receipt["blockNumber"], 16)


def latency(
    rpc: Rpc, user: Actor, consumer: str, node: Devnode, requests: int
) -> tuple[list[float], list[int]]:
    seconds: list[float] = []
    blocks: list[int] = []
    for i in range(requests):
        receipt = user.transact(consumer, REQUEST_COMPUTE, TEXT_GENERATION, "", f"q{i}", 1)
        start = time.perf_counter()
        sub_id = created_id(receipt)
        poll(lambda s=sub_id: answered(rpc, consumer, s), "answer")
        seconds.append(time.perf_counter() - start)
        blocks.append(delivery_block(rpc, node, sub_id) - int(receipt["blockNumber"], 16))
    return seconds, blocks


def tx_round_trip(user: Actor) -> float:
    """Baseline: one plain transaction, sent and its receipt read, on the same anvil."""
    samples = []
    for _ in range(LATENCY_REQUESTS):
        start = time.perf_counter()
        user.send(user.address, b"")
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def burst(rpc: Rpc, user: Actor, consumer: str) -> float:
    rpc("evm_setAutomine", False)
    try:
        hashes = [
            user.broadcast(
                consumer, REQUEST_COMPUTE.encode(TEXT_GENERATION, "", f"b{i}", 1), gas=TX_GAS
            )
            for i in range(BURST)
        ]
        rpc("evm_mine")
        start = time.perf_counter()
    finally:
        rpc("evm_setAutomine", True)
    first = int(rpc("eth_getTransactionReceipt", hashes[0])["blockNumber"], 16)
    fulfilled = {
        "address": PROTOCOL.coordinator,
        "fromBlock": hex(first),
        "topics": ["0x" + SUBSCRIPTION_FULFILLED.hex().removeprefix("0x")],
    }
    # One eth_getLogs per poll: answers land in any order.
    poll(lambda: len(rpc("eth_getLogs", fulfilled)) >= BURST, "burst answers")
    took = time.perf_counter() - start
    ids = [created_id(rpc("eth_getTransactionReceipt", h)) for h in hashes]
    assert all(answered(rpc, consumer, s) for s in ids)
    return took


def deliveries(node: Devnode) -> dict[str, float]:
    """Deliveries by state, all from one /metrics scrape: the burst curve polls every 20 ms and
    counts the node's CPU, scrapes included (one per state tripled that share)."""
    status, text = node.get("/metrics")
    assert status == 200
    prefix = 'devnode_chain_deliveries{state="'
    return {
        line[len(prefix) :].split('"', 1)[0]: float(line.split()[1])
        for line in str(text).splitlines()
        if line.startswith(prefix)
    }


def finished(counts: dict[str, float]) -> float:
    """Deliveries in a final state (delivered, skipped or failed)."""
    return sum(counts[state] for state in ("delivered", "skipped", "failed"))


def anvil_floor(rpc: Rpc, user: Actor, count: int, anvil_pid: int) -> tuple[float, float]:
    """Baseline: `count` plain transfers, one block each on automine, on the chain as it is.

    Anvil's work per block grows with the chain's whole storage (40,000 unrelated storage slots
    took a plain transfer from 0.65 to ~55 ms of anvil CPU), and every burst adds its
    subscriptions and answers to that storage, so each burst size is compared with what anvil
    alone needs to mine as many blocks at the same point. Returns (seconds, anvil CPU seconds).
    """
    nonce = int(rpc("eth_getTransactionCount", user.address, "pending"), 16)
    chain_id = int(rpc("eth_chainId"), 16)
    raws = [
        "0x"
        + bytes(
            user.account.sign_transaction(
                {
                    "to": user.address,
                    "value": 0,
                    "nonce": nonce + i,
                    "gas": 21_000,
                    "maxFeePerGas": 10 * 10**9,
                    "maxPriorityFeePerGas": 10**9,
                    "chainId": chain_id,
                    "type": 2,
                }
            ).raw_transaction
        ).hex()
        for i in range(count)
    ]
    start, cpu = time.perf_counter(), cpu_seconds(anvil_pid)
    for raw in raws:  # one at a time, as the node's sender does: one block each
        rpc("eth_sendRawTransaction", raw)
    wait_for(
        lambda: int(rpc("eth_getTransactionCount", user.address, "latest"), 16) >= nonce + count,
        STARTUP_TIMEOUT_S,
        "the baseline transfers mined",
    )
    return time.perf_counter() - start, cpu_seconds(anvil_pid) - cpu


def burst_curve(
    rpc: Rpc, user: Actor, consumer: str, node: Devnode, anvil_pid: int
) -> list[dict[str, Any]]:
    """Burst size vs time to the last delivery, with node and anvil CPU."""
    rows: list[dict[str, Any]] = []
    assert node.proc is not None
    for size in BURST_SIZES:
        wait_for(
            lambda: node.metric("devnode_chain_deliveries_in_flight") == 0,
            TIMEOUT_S,
            "the previous deliveries settled",
        )
        counts = deliveries(node)
        before, before_delivered = finished(counts), counts["delivered"]
        node_cpu, anvil_cpu = cpu_seconds(node.proc.pid), cpu_seconds(anvil_pid)
        rpc("evm_setAutomine", False)
        try:
            for i in range(size):
                user.broadcast(
                    consumer, REQUEST_COMPUTE.encode(TEXT_GENERATION, "", f"c{i}", 1), gas=TX_GAS
                )
            rpc("evm_mine")
            start = time.perf_counter()
        finally:
            rpc("evm_setAutomine", True)
        deadline = start + STARTUP_TIMEOUT_S
        while finished(counts := deliveries(node)) < before + size:
            if time.perf_counter() > deadline:
                raise TimeoutError(
                    f"burst of {size}: {counts['delivered'] - before_delivered:.0f} delivered;"
                    f" {node.logs()}"
                )
            time.sleep(0.02)
        took = time.perf_counter() - start
        node_cpu = cpu_seconds(node.proc.pid) - node_cpu
        anvil_cpu = cpu_seconds(anvil_pid) - anvil_cpu
        missed = int(before_delivered + size - counts["delivered"])
        floor_s, floor_cpu = anvil_floor(rpc, user, size, anvil_pid)
        print(
            f"burst of {size}: {took:.2f} s ({size / took:.0f}/s, {missed} not delivered),"
            f" node CPU {node_cpu:.1f} s,"
            f" anvil CPU {anvil_cpu:.1f} s;"
            f" anvil alone, {size} transfers one block each: {floor_s:.2f} s,"
            f" CPU {floor_cpu:.1f} s",
            file=sys.stderr,
        )
        rows.append(
            row(
                f"burst curve: {size} callbacks, last delivery",
                took,
                "s",
                round(floor_s, 2),
                "anvil alone: as many plain transfers, one block each, right after",
                deliveries_per_s=round(size / took, 1),
                not_delivered=missed,
                node_cpu_s=round(node_cpu, 2),
                anvil_cpu_s=round(anvil_cpu, 2),
                anvil_alone_cpu_s=round(floor_cpu, 2),
            )
        )
    return rows


async def echo_answer(
    containers: Sequence[str],
    source: JobLocation,
    destination: JobLocation,
    data: Any,
    requires_proof: bool,
) -> ContainerResult | None:
    """The echo container's answer to a delegated request, without the HTTP round trip: the
    delegated burst measures the chain side alone."""
    text = "echo:" + str(data.get("input", ""))
    return ContainerOutput(
        containers[-1],
        {
            "raw_input": "",
            "processed_input": "",
            "raw_output": abi_encode(["string"], [text]).hex(),
            "processed_output": "",
            "proof": "",
        },
    )


async def until(predicate: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        await asyncio.sleep(0.02)


async def delegated_burst(workdir: Path) -> dict[str, Any]:
    """One delegated burst against the chain side of the node package this process imports."""
    chain = Anvil(extra_args=("--gas-limit", str(BLOCK_GAS_LIMIT))).start()
    store = Store(workdir / "node.db").open()
    client = ChainClient(chain.url)
    loop: ChainLoop | None = None
    try:
        rpc = Rpc(chain.url)
        deploy_protocol(rpc, workdir / "protocol")
        deployer = Actor(rpc, DEPLOYER_KEY)
        signer = Actor(rpc, SIGNER_KEY)
        consumer = deployer.deploy(
            "HFDelegatedConsumer",
            "HFDelegatedConsumer",
            PROTOCOL.registry,
            signer.address,
            ALLOWED_NODES,
        )
        chain_store = ChainStore(store)
        ledger = DeliveryLedger(chain_store)
        tracked = TrackedSubscriptions(
            {CONTAINER_ID: ContainerPolicy(CONTAINER_ID)}, None, chain_store
        )
        settings = ChainSettings(
            rpc_url=chain.url,
            registry_address=PROTOCOL.registry,
            private_key=NODE_KEY,
            sync_period=SYNC_PERIOD_S,
        )
        loop = await ChainLoop.open(settings, client, ledger, tracked, echo_answer, RetryPolicy())
        opened = loop
        await until(lambda: opened.health().ok, "the chain side synced")
        now = (await client.block("latest")).timestamp
        requests = []
        for nonce in range(1, DELEGATED_BURST + 1):
            body = delegated_request(
                SIGNER_KEY,
                consumer,
                nonce=nonce,
                expiry=now + DELEGATION_EXPIRY_S,
                data={"input": f"d{nonce}"},
            )
            message = parse_job_message(body)
            assert isinstance(message, DelegatedSubscriptionRequest)
            requests.append(SignedDelegation.from_message(message))
        reads: Counter[str] = Counter()

        def count(sql: str) -> None:
            if sql.lstrip()[:6].upper() == "SELECT":
                reads["all"] += 1
                reads["delegations"] += "chain_delegations" in sql

        # A second connection tells when the burst is over; its reads are not the node's.
        watcher = sqlite3.connect(workdir / "node.db")
        settled = "SELECT COUNT(*) FROM chain_delegations WHERE state IN (?, ?, ?)"
        first_block = rpc.block()["number"]
        store.connection.set_trace_callback(count)
        cpu, start = time.process_time(), time.perf_counter()
        try:
            for request in requests:
                await loop.submit_delegation(request, now)
            await until(
                lambda: watcher.execute(settled, _FINAL_STATES).fetchone()[0] >= DELEGATED_BURST,
                "every delegated request settled",
            )
            took, cpu = time.perf_counter() - start, time.process_time() - cpu
        finally:
            store.connection.set_trace_callback(None)
        blocks = rpc.block()["number"] - first_block
        (delivered,) = watcher.execute(
            "SELECT COUNT(*) FROM chain_delegations WHERE state = ?",
            (int(DeliveryState.DELIVERED),),
        ).fetchone()
        watcher.close()
        return {
            "requests": DELEGATED_BURST,
            "delivered": delivered,
            "seconds": round(took, 3),
            "blocks": blocks,
            "delegation_reads": reads["delegations"],
            "store_reads": reads["all"],
            "store_reads_per_block": round(reads["all"] / max(blocks, 1), 2),
            "cpu_ms_per_delivery": round(1e3 * cpu / DELEGATED_BURST, 2),
        }
    finally:
        if loop is not None:
            await loop.stop()
        await client.close()
        store.close()
        chain.stop()


def delegated_burst_rows() -> list[dict[str, Any]]:
    """The delegated burst for the older checkout (BENCH_BASELINE_SRC, if set) and this one, each
    in a child process importing its own node package."""
    trees = [("this checkout", "")]
    baseline_src = os.environ.get("BENCH_BASELINE_SRC", "")
    if baseline_src:
        trees.insert(0, (f"baseline {baseline_src}", baseline_src))
    results: list[dict[str, Any]] = []
    for label, src in trees:
        env = dict(os.environ)
        if src:
            env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH", "")) if p)
        child = subprocess.run(
            [sys.executable, __file__, DELEGATED_CHILD],
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=10 * STARTUP_TIMEOUT_S,
        )
        if child.returncode != 0:
            raise RuntimeError(f"delegated burst ({label}) failed: {child.stderr[-2000:]}")
        result = json.loads(child.stdout.splitlines()[-1])
        print(f"delegated burst, {label}: {result}", file=sys.stderr)
        results.append({"tree": label, **result})
    base = results[0] if baseline_src else None
    rows = []
    for result in results:
        if base is result:
            continue
        for case, key, unit in (
            ("store reads per block", "store_reads_per_block", "reads"),
            ("node CPU per delivery", "cpu_ms_per_delivery", "ms"),
            ("last delivery", "seconds", "s"),
        ):
            rows.append(
                row(
                    f"delegated burst of {DELEGATED_BURST}: {case}",
                    result[key],
                    unit,
                    base[key] if base else None,
                    base["tree"] if base else None,
                    blocks=result["blocks"],
                    delivered=result["delivered"],
                    delegation_reads=result["delegation_reads"],
                )
            )
    return rows


def fill_subscriptions(rpc: Rpc, owner: Actor, consumer: str, count: int) -> None:
    """`count` not-yet-active subscriptions, CREATE_CHUNK per block."""
    rpc("evm_setAutomine", False)
    try:
        for start in range(0, count, CREATE_CHUNK):
            for _ in range(min(CREATE_CHUNK, count - start)):
                owner.broadcast(
                    consumer,
                    START_SUBSCRIPTION.encode(
                        TEXT_GENERATION, "", ["idle"], 10, IDLE_PERIOD_S, 1, False
                    ),
                    gas=TX_GAS,
                )
            rpc("evm_mine")
    finally:
        rpc("evm_setAutomine", True)


def startup_curve(
    rpc: Rpc, user: Actor, consumer: str, echo: EchoContainer, workdir: Path
) -> list[dict[str, Any]]:
    """Subscriptions on chain vs time until REST answers and until the initial sync is over."""
    rows: list[dict[str, Any]] = []
    (next_id,) = rpc.call(PROTOCOL.coordinator, NEXT_ID)
    first = int(next_id)
    on_chain = 0
    for count in STARTUP_COUNTS:
        fill_subscriptions(rpc, user, consumer, count - on_chain)
        on_chain = count
        node = Devnode(
            workdir=workdir / f"startup-{count}",
            rpc_url=rpc.url,
            containers={CONTAINER_ID: echo.url},
            starting_sub_id=first - 1,
            sync_period=SYNC_PERIOD_S,
            snapshot_sleep=DEFAULT_SNAPSHOT_SLEEP_S,
        )
        start = time.perf_counter()
        node.start(synced=False)
        rest = time.perf_counter() - start
        try:
            deadline = start + STARTUP_TIMEOUT_S
            while node.get("/health")[1] != {"status": "healthy"} or (
                node.metric("devnode_chain_subscriptions_tracked") < count
            ):
                if time.perf_counter() > deadline:
                    raise TimeoutError(f"sync of {count}")
                time.sleep(0.02)
            synced = time.perf_counter() - start
            assert node.proc is not None
            cpu = cpu_seconds(node.proc.pid)
        finally:
            node.stop()
        print(
            f"startup with {count} subscriptions: REST after {rest:.2f} s, synced after"
            f" {synced:.2f} s, node CPU {cpu:.1f} s",
            file=sys.stderr,
        )
        rows.append(
            row(
                f"startup curve: {count} subscriptions, synced",
                synced,
                "s",
                None,
                None,
                rest_answers_s=round(rest, 2),
                node_cpu_s=round(cpu, 2),
            )
        )
    return rows


class Start(NamedTuple):
    """One start of a devnode process."""

    answers_s: float  # spawn to the first 200 on /health
    rss_mib: float  # resident memory then
    healthy_s: float  # spawn to the first {"status": "healthy"}: chain side bound, sync over


def startup_side_by_side(workdir: Path, baseline_src: str, reps: int) -> list[dict[str, Any]]:
    """Starts of a fresh node with STARTUP_SIDE_BY_SIDE subscriptions on chain, with the explorer
    off and on: this checkout and, when ``baseline_src`` is set, the devnode under that path
    (PYTHONPATH), alternating start by start (ABBA)."""
    trees = [("this checkout", "")] + ([("baseline", baseline_src)] if baseline_src else [])
    load_before = os.getloadavg()
    with EchoContainer() as echo:
        chain = Anvil(extra_args=("--gas-limit", str(BLOCK_GAS_LIMIT))).start()
        try:
            rpc = Rpc(chain.url)
            deploy_protocol(rpc, workdir / "protocol")
            user = Actor(rpc, DEPLOYER_KEY)
            consumer = deploy_callback_consumer(user)
            (next_id,) = rpc.call(PROTOCOL.coordinator, NEXT_ID)
            fill_subscriptions(rpc, user, consumer, STARTUP_SIDE_BY_SIDE)
            starts: dict[tuple[str, bool], list[Start]] = {
                (name, explorer): [] for name, _ in trees for explorer in (False, True)
            }
            for rep in range(reps):
                for explorer in (False, True):
                    for name, src in trees if rep % 2 == 0 else trees[::-1]:
                        runs = starts[(name, explorer)]
                        node = Devnode(
                            workdir=workdir / f"start-{rep}-{len(runs)}-{name[0]}-{explorer:d}",
                            rpc_url=chain.url,
                            containers={CONTAINER_ID: echo.url},
                            starting_sub_id=int(next_id) - 1,
                            sync_period=SYNC_PERIOD_S,
                            snapshot_sleep=DEFAULT_SNAPSHOT_SLEEP_S,
                            explorer=explorer,
                        )
                        runs.append(_start_once(node, src))
                        print(f"{name}, explorer {explorer}: {runs[-1]}", file=sys.stderr)
        finally:
            chain.stop()
    load = {"loadavg_before": load_before, "loadavg_after": os.getloadavg()}
    rows = []
    for (name, explorer), runs in starts.items():
        base = starts.get(("baseline", explorer)) if name != "baseline" else None
        mode = "on" if explorer else "off"
        what = f"{STARTUP_SIDE_BY_SIDE:,} subscriptions on chain, explorer {mode}"
        for case, pick in (
            ("the first 200 on /health", lambda r: r.answers_s),
            ('the first "healthy" on /health', lambda r: r.healthy_s),
        ):
            rows.append(
                row(
                    f"{name}: start to {case}, {what} (median)",
                    statistics.median(pick(r) for r in runs),
                    "s",
                    statistics.median(pick(r) for r in base) if base else None,
                    "baseline" if base else None,
                    rss_mib=round(statistics.median(r.rss_mib for r in runs), 1),
                    starts=[round(pick(r), 2) for r in runs],
                    **load,
                )
            )
    return rows


def _start_once(node: Devnode, src: str) -> Start:
    """Spawn ``node`` (the devnode under ``src`` when set) and time its /health until healthy."""
    node.workdir.mkdir(parents=True, exist_ok=True)
    path = node.workdir / "config.json"
    path.write_text(json.dumps(node.config()))
    env = {**os.environ, "PYTHONPATH": src} if src else None
    start = time.perf_counter()
    proc, _ = spawn(devnode_argv(path), node.log_path, name="devnode", env=env)
    answers_s: float | None = None
    rss_mib = 0.0
    try:
        while True:
            answer = None
            with contextlib.suppress(OSError):
                answer = Http(node.url).get("/health")
            if answer is not None and answer.status == 200:
                now = time.perf_counter() - start
                if answers_s is None:
                    answers_s, rss_mib = now, _rss_mib(proc.pid)
                if answer.json == {"status": "healthy"}:
                    return Start(answers_s, rss_mib, now)
            if proc.poll() is not None or time.perf_counter() - start > STARTUP_TIMEOUT_S:
                raise RuntimeError(f"devnode did not answer: {node.log_path.read_text()[-2000:]}")
            time.sleep(0.01)
    finally:
        stop_process(proc, grace_s=10.0)


def _rss_mib(pid: int) -> float:
    kib = next(
        int(line.split()[1])
        for line in Path(f"/proc/{pid}/status").read_text().splitlines()
        if line.startswith("VmRSS:")
    )
    return kib / 1024


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def idle_load(proxy: RpcProxy, node: Devnode) -> tuple[float, float]:
    assert node.proc is not None
    count, cpu, start = proxy.count, cpu_seconds(node.proc.pid), time.perf_counter()
    time.sleep(IDLE_WINDOW_S)  # measuring a rate over wall-clock time is the point here
    elapsed = time.perf_counter() - start
    return (proxy.count - count) / elapsed, 100 * (cpu_seconds(node.proc.pid) - cpu) / elapsed


def add_idle_subscriptions(rpc: Rpc, owner: Actor, consumer: str, count: int) -> None:
    hashes = [
        owner.broadcast(
            consumer,
            START_SUBSCRIPTION.encode(TEXT_GENERATION, "", ["idle"], 10, IDLE_PERIOD_S, 1, False),
            gas=TX_GAS,
        )
        for _ in range(count)
    ]
    wait_for(lambda: rpc("eth_getTransactionReceipt", hashes[-1]), TIMEOUT_S, "subscriptions")


def row(
    case: str,
    value: float,
    unit: str,
    baseline: float | None,
    baseline_case: str | None,
    **extra: Any,
) -> dict[str, Any]:
    ratio = value / baseline if baseline else None
    return {
        "case": case,
        "value": round(value, 4),
        "unit": unit,
        "baseline": baseline,
        "baseline_case": baseline_case,
        "ratio": None if ratio is None else round(ratio, 3),
        **extra,
    }


def main() -> None:
    if sys.argv[1:] == [DELEGATED_CHILD]:
        with tempfile.TemporaryDirectory() as tmp:
            print(json.dumps(asyncio.run(delegated_burst(Path(tmp)))))
        return
    if sys.argv[1:2] == ["startup"]:
        reps = int(sys.argv[2]) if len(sys.argv) > 2 else 4
        with tempfile.TemporaryDirectory() as tmp:
            baseline = os.environ.get("BENCH_BASELINE_SRC", "")
            rows = startup_side_by_side(Path(tmp), baseline, reps)
        print(json.dumps({"bench": "node_onchain", "rows": rows}))
        return
    if sys.argv[1:] == ["delegated"]:
        print(json.dumps({"bench": "node_onchain", "rows": delegated_burst_rows()}))
        return
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp, EchoContainer() as echo:
        chain = Anvil(extra_args=("--gas-limit", str(BLOCK_GAS_LIMIT))).start()
        proxy = RpcProxy(chain.url).start()
        node: Devnode | None = None
        try:
            rpc = Rpc(chain.url)
            deploy_protocol(rpc, Path(tmp) / "protocol")
            user = Actor(rpc, DEPLOYER_KEY)
            consumer = deploy_callback_consumer(user)
            idle_consumer = deploy_subscription_consumer(user)
            # Latency and burst: the node talks to anvil directly (the proxy shares this
            # process's GIL with the echo container and the polling, and would slow it down).
            node = Devnode(
                workdir=Path(tmp) / "node",
                rpc_url=chain.url,
                containers={CONTAINER_ID: echo.url},
                sync_period=SYNC_PERIOD_S,
            ).start()

            base = tx_round_trip(user)
            seconds, blocks = latency(rpc, user, consumer, node, LATENCY_REQUESTS)
            print(
                f"automine: p50 {statistics.median(seconds) * 1e3:.0f} ms, "
                f"blocks {sorted(set(blocks))}",
                file=sys.stderr,
            )
            rows.append(
                row(
                    "callback latency, automine (p50)",
                    statistics.median(seconds) * 1e3,
                    "ms",
                    round(base * 1e3, 2),
                    "plain tx round trip",
                    max_ms=round(max(seconds) * 1e3, 1),
                    blocks_max=max(blocks),
                )
            )

            took = burst(rpc, user, consumer)
            print(f"burst of {BURST}: last answer after {took:.2f} s", file=sys.stderr)
            rows.append(
                row(
                    f"burst of {BURST} callbacks, last answer",
                    took,
                    "s",
                    None,
                    None,
                    tx_per_s=round(BURST / took, 1),
                )
            )

            assert chain.proc is not None
            try:
                rows.extend(burst_curve(rpc, user, consumer, node, chain.proc.pid))
            except TimeoutError as e:  # report it and go on with the other measurements
                print(f"burst curve: {str(e)[:2000]}", file=sys.stderr)

            rpc("evm_setAutomine", False)
            rpc("evm_setIntervalMining", 1)
            seconds, blocks = latency(rpc, user, consumer, node, BLOCK_LATENCY_REQUESTS)
            print(
                f"1 s blocks: p50 {statistics.median(seconds):.2f} s, blocks {blocks}",
                file=sys.stderr,
            )
            rows.append(
                row(
                    "callback latency, 1 s blocks (p50)",
                    statistics.median(seconds),
                    "s",
                    None,
                    None,
                    blocks_max=max(blocks),
                    blocks_median=statistics.median(blocks),
                )
            )

            node.stop()
            # Idle load: a fresh node (same chain) behind the counting proxy.
            (next_id,) = rpc.call(PROTOCOL.coordinator, NEXT_ID)
            node = Devnode(
                workdir=Path(tmp) / "idle",
                rpc_url=proxy.url,
                containers={CONTAINER_ID: echo.url},
                starting_sub_id=int(next_id) - 1,  # the callbacks above are answered already
                sync_period=SYNC_PERIOD_S,
            ).start()
            idle_base: float | None = None
            tracked = 0
            for count in IDLE_COUNTS:
                if count > tracked:
                    add_idle_subscriptions(rpc, user, idle_consumer, count - tracked)
                    target = count
                    wait_for(
                        lambda t=target: node.metric("devnode_chain_subscriptions_tracked") >= t,
                        TIMEOUT_S,
                        "tracked",
                    )
                    tracked = count
                rate, cpu = idle_load(proxy, node)
                print(
                    f"idle with {count} subscriptions: {rate:.1f} req/s, {cpu:.1f}% CPU",
                    file=sys.stderr,
                )
                if idle_base is None:
                    idle_base = rate
                rows.append(
                    row(
                        f"idle JSON-RPC load, {count} subscriptions",
                        rate,
                        "req/s",
                        round(idle_base, 2),
                        "0 subscriptions",
                        cpu_percent=round(cpu, 1),
                    )
                )
            print(f"node requests by method: {dict(proxy.methods)}", file=sys.stderr)
            node.stop()
            node = None
            rpc("evm_setIntervalMining", 0)
            rpc("evm_setAutomine", True)
            rows.extend(startup_curve(rpc, user, idle_consumer, echo, Path(tmp)))
            rows.extend(delegated_burst_rows())
        finally:
            if node is not None:
                node.stop()
            proxy.close()
            chain.stop()
    print(json.dumps({"bench": "node_onchain", "rows": rows}))


if __name__ == "__main__":
    main()
