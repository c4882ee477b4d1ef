"""The stack launcher's own promises: `up` then `down` leaves nothing behind, a busy port is
named, and `down` never signals a process it did not start."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterable
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from xml.etree import ElementTree

import pytest
from aiohttp import web
from hf_infernet_stack.accounts import NODE_ADDRESS
from hf_infernet_stack.description import read_description
from hf_infernet_stack.errors import StackError
from hf_infernet_stack.forge import artifact
from hf_infernet_stack.local_stack import Stack
from hf_infernet_stack.processes import LOCALHOST
from hf_infernet_stack.processes import RunningProcess
from hf_infernet_stack.processes import is_alive
from hf_infernet_stack.processes import start_ticks
from hf_infernet_stack.processes import stop_process
from hf_infernet_stack.repository import REPO
from hf_infernet_stack.rest import Http
from hf_infernet_stack.rpc import connect
from hf_infernet_stack.run_folder import STATE_FILE
from hf_infernet_stack.run_folder import recorded_processes
from hf_infernet_stack.stack_config import Ports
from hf_infernet_stack.stack_config import StackConfig
from web3 import Web3

STACK_CLI = [sys.executable, str(REPO / "scripts" / "stack.py")]
CLI_TIMEOUT_S = 300


def stack_cli(run_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """scripts/stack.py with the run folder `run_dir`, as `make up` / `make down` run it."""
    return subprocess.run(
        [*STACK_CLI, "--run-dir", str(run_dir), *args],
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_S,
        check=False,
    )


def down(run_dir: Path, recorded: list[RunningProcess]) -> subprocess.CompletedProcess[str]:
    """`down`, then whatever it left is stopped anyway: a broken `down` leaves no process."""
    stopped = stack_cli(run_dir, "down")
    for proc in recorded:
        stop_process(proc)
    return stopped


@pytest.fixture
def listener() -> Iterator[int]:
    with socket.socket() as s:
        s.bind((LOCALHOST, 0))
        s.listen()
        yield s.getsockname()[1]


def test_busy_port_is_named_before_anything_starts(tmp_path: Path, listener: int):
    config = StackConfig.with_free_ports(tmp_path, quiet=True)
    config = replace(config, ports=replace(config.ports, node=listener))
    stack = Stack(config)

    with pytest.raises(StackError) as busy:
        stack.start()

    assert busy.value.component == "devnode"
    assert f"port {listener}" in busy.value.reason
    assert "NODE_PORT" in busy.value.reason
    assert stack.processes == {}


def test_down_leaves_alone_a_process_that_reused_a_recorded_pid():
    # a session leader, like the processes `up` starts: the riskiest pid to confuse
    bystander = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True
    )
    try:
        ticks = start_ticks(bystander.pid)
        assert ticks is not None
        stale = RunningProcess("old", bystander.pid, ticks - 1, ("old",), "/dev/null")

        stop_process(stale)

        with pytest.raises(subprocess.TimeoutExpired):  # still running: nothing was signalled
            bystander.wait(timeout=0.5)
    finally:
        bystander.kill()
        bystander.wait()


# A slice of the suite run against a stack `up` started, through its stack.json (the STACK= path):
# each flow once, the stack's own consumers, a devnode-only test (this node is the devnode) and a
# test that must be skipped because this run did not start the stack. Recurring deliveries run on
# timed blocks here, the way they must against Ritual's node.
DESCRIBED_SLICE = {
    "e2e/test_offchain.py::test_rest_job_relays_the_service_answer[summarization]": "passed",
    "e2e/test_onchain.py::test_the_stacks_own_consumers_answer": "passed",
    "e2e/test_onchain.py::test_recurring_subscription_delivers_every_interval_once"
    "[text_classification]": "passed",
    "e2e/test_onchain.py::test_delegated_subscription_signed_off_chain[text_generation]": "passed",
    "e2e/test_onchain.py::test_delegated_request_with_a_wrong_signer_gets_400": "passed",
    "e2e/test_offchain.py::test_job_fails_with_reason_when_the_container_is_down": "skipped",
}
# The same stack behind a node that answers /info as Infernet Node 1.4 does: the devnode-only tests
# are skipped, each with its reason, before they touch anything else.
DEVNODE_ONLY = (
    "e2e/test_onchain.py::test_failed_inference_is_not_delivered_and_the_devnode_says_why",
    "e2e/test_onchain.py::test_delegated_request_with_a_wrong_signer_gets_400",
    "e2e/test_onchain.py::test_delegated_proof_request_is_not_delivered_and_the_devnode_says_why",
)
SLICE_BLOCK_TIME_S = 1
SLICE_TIMEOUT_S = 600


class InfernetNode14Info:
    """A real HTTP server answering GET /health and GET /info the way Infernet Node 1.4 does
    (no devnode object), and 404 to everything else."""

    def __init__(self, container_id: str, node_address: str) -> None:
        self.info = {
            "version": "1.4.0",
            "containers": [{"id": container_id, "description": "", "external": True, "image": ""}],
            "pending": {"offchain": 0, "onchain": 0},
            "chain": {"enabled": True, "address": node_address},
        }
        self.url = ""
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None

    async def _start(self) -> str:
        app = web.Application()

        async def health(_: web.Request) -> web.Response:
            return web.json_response({"status": "healthy"})

        async def info(_: web.Request) -> web.Response:
            return web.json_response(self.info)

        app.router.add_get("/health", health)
        app.router.add_get("/info", info)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, LOCALHOST, 0)
        await site.start()
        port = self._runner.addresses[0][1]
        return f"http://{LOCALHOST}:{port}"

    def __enter__(self) -> InfernetNode14Info:
        self._thread.start()
        self.url = asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()


def outcomes(junit_xml: Path) -> dict[str, str]:
    """Test name -> passed / skipped / failed, from pytest's JUnit XML report."""
    found = {}
    for case in ElementTree.parse(junit_xml).iter("testcase"):  # noqa: S314 (our own report)
        kinds = {child.tag for child in case} & {"skipped", "failure", "error"}
        found[case.attrib["name"]] = (
            "skipped" if kinds == {"skipped"} else "failed" if kinds else "passed"
        )
    return found


def run_slice(
    tests: Iterable[str], description: Path, report: Path, **variables: str
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STACK")}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", f"--junitxml={report}",
         *tests],
        cwd=REPO,
        env=dict(env, STACK=str(description), **variables),
        capture_output=True,
        text=True,
        timeout=SLICE_TIMEOUT_S,
        check=False,
    )  # fmt: skip


@pytest.mark.own_stack("starts a stack of its own and points a second pytest run at it")
def test_up_serves_the_suite_through_its_description_and_down_leaves_nothing(tmp_path: Path):
    ports = Ports.free()
    env_ports = [
        f"--anvil-port={ports.anvil}",
        f"--node-port={ports.node}",
        f"--service-port={ports.service}",
        f"--backend-port={ports.backend}",
        "--nodes=1",  # whatever NODES this run was given
    ]
    run_dir = ["--run-dir", str(tmp_path)]
    # a store left by an earlier stack must not be reused against the fresh chain
    (tmp_path / "devnode.sqlite").write_bytes(b"left by an earlier run")
    up = subprocess.run(
        [*STACK_CLI, *run_dir, "up", *env_ports, f"--block-time={SLICE_BLOCK_TIME_S}"],
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_S,
        check=False,
    )
    recorded = recorded_processes(tmp_path)
    description = tmp_path / STATE_FILE
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        assert "Local Infernet stack is up." in up.stdout
        assert {p.name for p in recorded} == {"anvil", "backend", "service", "devnode"}
        assert all(is_alive(p) for p in recorded)
        # the pid recorded for anvil is anvil's own, not a wrapper's that would not pass signals on
        anvil = next(p for p in recorded if p.name == "anvil")
        assert Path(f"/proc/{anvil.pid}/exe").resolve().name == "anvil"
        assert (tmp_path / "devnode.sqlite").read_bytes()[:16] == b"SQLite format 3\x00"
        described = read_description(description)
        assert set(described.consumers) >= {"HFCallbackConsumer", "HFDelegatedConsumer"}
        assert described.block_time == SLICE_BLOCK_TIME_S
        assert description.stat().st_mode & 0o077 == 0, "it holds keys: owner only"

        again = subprocess.run(
            [*STACK_CLI, *run_dir, "up", *env_ports],
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT_S,
            check=False,
        )
        assert again.returncode == 1
        assert "already running" in again.stderr

        report = tmp_path / "slice.xml"
        ran = run_slice(DESCRIBED_SLICE, description, report)
        assert outcomes(report) == {
            node_id.split("::")[-1]: outcome for node_id, outcome in DESCRIBED_SLICE.items()
        }, ran.stdout[-4000:]
        assert ran.returncode == 0, ran.stdout[-4000:]

        with InfernetNode14Info(described.container_id, NODE_ADDRESS) as other:
            ran = run_slice(DEVNODE_ONLY, description, report, STACK_NODE_URL=other.url)
        assert outcomes(report) == {
            node_id.split("::")[-1]: "skipped" for node_id in DEVNODE_ONLY
        }, ran.stdout[-4000:]
        assert ran.stdout.count("devnode only (Infernet Node 1.4.0 under test)") == 3, ran.stdout
        # it started nothing and stopped nothing
        assert recorded_processes(tmp_path) == recorded
        assert all(is_alive(p) for p in recorded)
    finally:
        stopped = down(tmp_path, recorded)

    assert stopped.returncode == 0, stopped.stderr
    assert not [p.name for p in recorded if is_alive(p)]
    assert recorded_processes(tmp_path) == []


@pytest.mark.parametrize(
    ("env", "offline"),
    [
        pytest.param({}, True, id="no-token"),
        pytest.param({"HF_INF_TOKEN": "hf_secret_e2e"}, False, id="token"),
        pytest.param({"HF_INF_TOKEN": "hf_secret_e2e", "OFFLINE": "1"}, True, id="token-offline"),
    ],
)
def test_backend_choice_and_the_token_stays_out_of_state(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, env: dict[str, str], offline: bool
):
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    stack = Stack(StackConfig.from_env(tmp_path))

    assert stack.config.offline is offline
    assert (stack.urls.backend is not None) is offline
    service_env = stack.service_env()
    assert ("HF_INF_ENDPOINT" in service_env) is offline
    assert service_env.get("HF_INF_TOKEN") == (None if offline else "hf_secret_e2e")
    assert "hf_secret_e2e" not in json.dumps(stack.state()) + repr(stack.config) + stack.summary()


@pytest.mark.own_stack("starts a stack of three nodes of its own")
def test_up_with_three_nodes_describes_each_and_down_stops_them_all(tmp_path: Path):
    """`make up NODES=3`: three devnodes, each with its own key, Wallet, port and store, listed
    in the description the default first; the sample consumers allow all three."""
    ports = Ports.free(3)
    argv = [
        f"--anvil-port={ports.anvil}",
        f"--node-port={ports.node}",
        f"--service-port={ports.service}",
        f"--backend-port={ports.backend}",
        "--nodes=3",
    ]
    for port in Ports.following(ports.node, 3):  # the further nodes take the next ports
        with socket.socket() as s:
            if s.connect_ex((LOCALHOST, port)) == 0:
                pytest.skip(f"port {port} after the free node port is taken")
    up = stack_cli(tmp_path, "up", *argv)
    recorded = recorded_processes(tmp_path)
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        assert {p.name for p in recorded} == {
            "anvil", "backend", "service", "devnode", "devnode-2", "devnode-3"
        }  # fmt: skip
        described = read_description(tmp_path / STATE_FILE)
        assert described.node_urls[0] == described.node_url
        assert [n.url for n in described.nodes] == [
            f"http://{LOCALHOST}:{port}" for port in (ports.node, *Ports.following(ports.node, 3))
        ]
        for n in described.nodes:  # each node says who it is: the account described
            info = Http(n.url).get("/info").parsed()
            assert info["chain"]["address"] == n.address
        assert len({n.address for n in described.nodes}) == 3
        assert len({n.payment_address for n in described.nodes}) == 3
        assert len(list(tmp_path.glob("devnode*.sqlite"))) == 3
        w3 = connect(described.rpc_url)
        consumer = w3.eth.contract(
            address=Web3.to_checksum_address(described.consumers["HFCallbackConsumer"]),
            abi=artifact("HFCallbackConsumer")["abi"],
        )
        for n in described.nodes:
            assert consumer.functions.isAllowedNode(n.address).call()
    finally:
        stopped = down(tmp_path, recorded)

    assert stopped.returncode == 0, stopped.stderr
    assert not [p.name for p in recorded if is_alive(p)]


def test_a_number_of_nodes_the_stack_has_no_keys_for_is_refused(tmp_path: Path):
    refused = stack_cli(tmp_path, "up", "--nodes=4")

    assert refused.returncode == 2
    assert "NODES=4" in refused.stderr
    assert recorded_processes(tmp_path) == []
