"""Starting and stopping the local stack's components: anvil, the protocol and sample consumers
(forge scripts), the offline HF backend, the HF service and the devnode.

Library (used by e2e/ and the demo; `scripts/stack.py up` is the command line over it):

    with Stack(StackConfig.with_free_ports(run_dir)) as stack:
        stack.urls.node, stack.consumers["HFCallbackConsumer"], ...

Every process is started in a session of its own and recorded in the run folder's stack.json
(run_folder.py) as soon as it starts.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from types import TracebackType
from typing import Any

from web3 import Web3

from .accounts import CHAIN_ID
from .accounts import CONTAINER_ID
from .accounts import DEPLOYER_KEY
from .accounts import NODE_KEYS
from .accounts import NODE_WALLETS
from .accounts import PROTOCOL
from .accounts import address_of
from .description import Node
from .description import Protocol
from .description import StackDescription
from .devnode import devnode_argv
from .forge import check_protocol
from .forge import forge_script
from .foundry import ANVIL_STATE_ARGS
from .foundry import foundry_tool
from .processes import LOCALHOST
from .processes import RunningProcess
from .processes import ensure_port_free
from .processes import spawn
from .processes import stop_process
from .processes import wait_until
from .repository import REPO
from .rest import http_ok
from .rest import node_ready
from .rpc import connect
from .rpc import rpc_ok
from .run_folder import clear_previous_run
from .run_folder import write_private
from .run_folder import write_state
from .stack_config import StackConfig
from .stack_config import Urls
from .stack_config import node_config
from .stack_config import node_name

STARTUP_DEADLINE_S = 60.0
# solcjs compiles the protocol cold in minutes (docs/contracts.md); forge caches afterwards.
COMPILE_DEADLINE_S = 900.0
PROGRESS_EVERY_S = 15.0


def venv_bin(name: str) -> str:
    """A console script next to the running interpreter (the project's .venv)."""
    return str(Path(sys.executable).parent / name)


class Stack:
    """Starts the components in dependency order; stops exactly what it started."""

    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.urls = Urls.of(config)
        self.processes: dict[str, RunningProcess] = {}
        self.consumers: dict[str, str] = {}
        self._children: dict[int, subprocess.Popen[bytes]] = {}
        self.log_dir = config.run_dir / "logs"
        self.config_path = self.node_config_path(0)

    def __enter__(self) -> Stack:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- progress output
    def say(self, msg: str) -> None:
        if not self.config.quiet:
            print(f"[stack] {msg}", flush=True)

    @contextlib.contextmanager
    def step(self, what: str) -> Iterator[None]:
        """Announce a step, tick every PROGRESS_EVERY_S while it runs, then report its time."""
        t0 = time.monotonic()
        self.say(f"{what} ...")
        done = threading.Event()

        def tick() -> None:
            while not done.wait(PROGRESS_EVERY_S):
                self.say(f"  ... still on it ({time.monotonic() - t0:.0f} s)")

        ticker = threading.Thread(target=tick, daemon=True)
        ticker.start()
        try:
            yield
        except BaseException:
            self.say(f"{what}: FAILED after {time.monotonic() - t0:.1f} s")
            raise
        finally:
            done.set()
            ticker.join()
        self.say(f"{what}: ok ({time.monotonic() - t0:.1f} s)")

    # -- lifecycle
    def start(self) -> None:
        c = self.config
        self.log_dir.mkdir(parents=True, exist_ok=True)
        busy = [
            ("anvil", c.ports.anvil, "ANVIL_PORT"),
            ("service", c.ports.service, "SERVICE_PORT"),
        ]
        busy += [
            (node_name(i), port, "NODE_PORT" if i == 0 else "NODE_PORT (+1 per further node)")
            for i, port in enumerate(c.ports.nodes)
        ]
        if c.offline:
            busy.append(("offline backend", c.ports.backend, "BACKEND_PORT"))
        for component, port, env_var in busy:
            ensure_port_free(component, port, env_var)
        clear_previous_run(self.config.run_dir, self.log_dir)
        try:
            self._start_chain()
            if c.offline:
                self._start_backend()
            self.start_service()
            for index in range(c.nodes):
                self.start_node(index)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        for name in reversed(list(self.processes)):
            self.stop_component(name)

    def stop_component(self, name: str) -> None:
        """Stop one component (also used by e2e: container down, devnode restart)."""
        proc = self.processes.pop(name, None)
        if proc is not None:
            stop_process(proc, self._children.pop(proc.pid, None))
        self._save_state()

    def detach(self) -> None:
        """Leave the processes running (they live in sessions of their own); `down` stops them."""
        self._children.clear()

    # -- components
    def _spawn(
        self, name: str, argv: list[str], env: dict[str, str] | None = None
    ) -> RunningProcess:
        popen, proc = spawn(argv, self.log_dir / f"{name}.log", name=name, env=env, cwd=REPO)
        self._children[popen.pid] = popen
        self.processes[name] = proc
        self._save_state()  # recorded before waiting, so `down` finds it even if `up` dies now
        return proc

    def _running(self, name: str) -> Callable[[], bool]:
        def check() -> bool:
            proc = self.processes.get(name)
            popen = self._children.get(proc.pid) if proc else None
            return popen is not None and popen.poll() is None

        return check

    def _start_and_wait(
        self,
        name: str,
        argv: list[str],
        ready: Callable[[], bool],
        env: dict[str, str] | None = None,
    ) -> None:
        proc = self._spawn(name, argv, env)
        wait_until(name, ready, STARTUP_DEADLINE_S, self._running(name), proc.log)

    def _start_chain(self) -> None:
        c = self.config
        argv = [foundry_tool("anvil"), "--host", LOCALHOST, "--port", str(c.ports.anvil)]
        argv += list(ANVIL_STATE_ARGS)
        mode = "automine"
        if c.block_time:
            argv += ["--block-time", str(c.block_time)]
            mode = f"block time {c.block_time} s"
        with self.step(f"anvil on {self.urls.rpc} ({mode})"):
            self._start_and_wait("anvil", argv, lambda: rpc_ok(self.urls.rpc))
        deploy_log = self.log_dir / "deploy.log"
        broadcast = c.run_dir / "broadcast"
        with self.step(
            "protocol: forge script DeployProtocol.s.sol as anvil #2 (compiles first if needed)"
        ):
            forge_script(
                "DeployProtocol.s.sol",
                self.urls.rpc,
                DEPLOYER_KEY,
                broadcast,
                deploy_log,
                COMPILE_DEADLINE_S,
            )
            check_protocol(connect(self.urls.rpc))
        if c.deploy_consumers:
            with self.step("sample consumers: forge script DeployConsumers.s.sol"):
                created = forge_script(
                    "DeployConsumers.s.sol",
                    self.urls.rpc,
                    DEPLOYER_KEY,
                    broadcast,
                    deploy_log,
                    COMPILE_DEADLINE_S,
                    # the consumers take deliveries from this stack's nodes only
                    settings={"NODES": ",".join(self.node_addresses)},
                )
                self.consumers = {
                    tx["contractName"]: Web3.to_checksum_address(tx["contractAddress"])
                    for tx in created
                }
        self._save_state()

    def _start_backend(self) -> None:
        backend = self.urls.backend or ""
        argv = [
            sys.executable,
            "-m",
            "hf_inference_standin",
            "--host",
            LOCALHOST,
            "--port",
            str(self.config.ports.backend),
        ]
        with self.step(f"offline Hugging Face backend on {backend}"):
            self._start_and_wait("backend", argv, lambda: http_ok(backend + "/"))

    def service_env(self) -> dict[str, str]:
        """The service talks to the offline backend, or to Hugging Face with the user's token."""
        env = {k: v for k, v in os.environ.items() if k not in ("HF_INF_TOKEN", "HF_INF_ENDPOINT")}
        if self.urls.backend:
            env["HF_INF_ENDPOINT"] = self.urls.backend
        elif self.config.hf_token:
            env["HF_INF_TOKEN"] = self.config.hf_token
        return env

    def start_service(self) -> None:
        c = self.config
        argv = [
            venv_bin("hf-inference-client-service"),
            f"--bind={LOCALHOST}:{c.ports.service}",
            f"--workers={c.service_workers}",
        ]
        target = self.urls.backend or "Hugging Face"
        with self.step(f"HF inference service on {self.urls.service} (backend: {target})"):
            self._start_and_wait(
                "service", argv, lambda: http_ok(self.urls.service + "/"), self.service_env()
            )

    @property
    def node_addresses(self) -> list[str]:
        """The accounts the stack's nodes deliver from, the default node first."""
        return [address_of(key) for key in NODE_KEYS[: self.config.nodes]]

    def node_config_path(self, index: int) -> Path:
        return self.config.run_dir / ("config.json" if index == 0 else f"config-{index + 1}.json")

    def start_node(self, index: int = 0) -> None:
        """Start (or restart) the `index`-th devnode (named by `node_name`) with a freshly
        written config.json."""
        path = self.node_config_path(index)
        config = node_config(self.config, self.urls, index)
        write_private(path, json.dumps(config, indent=2) + "\n")  # it holds the node's key
        url = self.urls.nodes[index]
        name = node_name(index)
        with self.step(f"{name} on {url} ({self.node_addresses[index]})"):
            self._start_and_wait(name, devnode_argv(path), lambda: node_ready(url))

    # -- state file (read by `down`, `logs`, the demo, and `make e2e STACK=`)
    def description(self) -> StackDescription:
        """This stack as the e2e suite reads it (keys: anvil's accounts, the default roles)."""
        return StackDescription(
            rpc_url=self.urls.rpc,
            node_url=self.urls.node,
            service_url=self.urls.service,
            backend_url=self.urls.backend,
            chain_id=CHAIN_ID,
            block_time=self.config.block_time or None,
            container_id=CONTAINER_ID,
            protocol=Protocol(**asdict(PROTOCOL)),
            consumers=self.consumers,
            nodes=self.nodes() if self.config.nodes > 1 else (),
            launcher={
                "run_dir": str(self.config.run_dir),
                "ports": asdict(self.config.ports),
                "offline": self.config.offline,
                "config": str(self.config_path),
                "processes": {n: asdict(p) for n, p in self.processes.items()},
            },
        )

    def nodes(self) -> tuple[Node, ...]:
        return tuple(
            Node(url=url, address=address, payment_address=wallet)
            for url, address, wallet in zip(
                self.urls.nodes, self.node_addresses, NODE_WALLETS, strict=False
            )
        )

    def state(self) -> dict[str, Any]:
        return self.description().to_data()

    def _save_state(self) -> None:
        if self.config.run_dir.is_dir():
            write_state(self.config.run_dir, self.state())

    def summary(self) -> str:
        u = self.urls
        lines = [
            "",
            "Local Infernet stack is up.",
            f"  chain (anvil)      {u.rpc}   chain id {CHAIN_ID}",
            f"  devnode (REST)     {u.node}   GET /health, POST /api/jobs, GET /api/jobs?id=",
            f"  explorer           {u.node}/ui   jobs, subscriptions, deliveries (read-only)",
        ]
        lines += [
            f"  {node_name(i):<18} {n.url}   {n.address}, Wallet {n.payment_address}, explorer /ui"
            for i, n in enumerate(self.nodes())
            if i > 0
        ]
        lines += [
            f"  HF service         {u.service}   container id {CONTAINER_ID!r}",
            f"  HF backend         {u.backend or 'Hugging Face (HF_INF_TOKEN)'}",
            "  protocol:",
        ]
        lines += [f"    {k:<16} {v}" for k, v in asdict(PROTOCOL).items()]
        if self.consumers:
            lines.append("  sample consumers:")
            lines += [f"    {k:<24} {v}" for k, v in self.consumers.items()]
        lines += [
            f"  run folder         {self.config.run_dir}  (stack.json, config.json, logs/)",
            "  processes:         "
            + ", ".join(f"{n} pid {p.pid}" for n, p in self.processes.items()),
            "Stop it with `make down`; follow the logs with `make logs`.",
        ]
        return "\n".join(lines)
