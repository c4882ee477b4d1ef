"""The local Infernet stack: anvil + protocol + consumers + offline HF backend + service + devnode.

Command line (wrapped by `make up`, `make down`, `make logs`):

    .venv/bin/python scripts/stack.py up [--block-time S] [--anvil-port N] [--node-port N] ...
    .venv/bin/python scripts/stack.py down
    .venv/bin/python scripts/stack.py logs [--follow]

Library (used by e2e/ and the demo):

    with Stack(StackConfig.with_free_ports(run_dir)) as stack:
        stack.urls.node, stack.consumers["HFCallbackConsumer"], ...

Every process is started in a session of its own and recorded (pid + kernel start time) in
<run dir>/stack.json as soon as it starts, so `down` stops exactly those processes even after a
crash half-way through `up`, and never signals a recycled pid.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from collections.abc import Iterator
from dataclasses import asdict
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import Any

import onchain
from processes import LOCALHOST
from processes import RunningProcess
from processes import StackError
from processes import ensure_port_free
from processes import http_ok
from processes import is_alive
from processes import log_tail
from processes import rpc_ok
from processes import start_ticks
from processes import stop_process
from processes import wait_until
from web3 import Web3

REPO = Path(__file__).resolve().parents[1]
DEFAULT_RUN_DIR = REPO / ".run"
STATE_FILE = "stack.json"
CONTAINER_ID = onchain.CONTAINER_ID
PROOF_CONTAINER_ID = "hf_with_proofs"  # as in Ritual's own e2e setup (spec: hf-service §5)

# Infernet's docs use these, so their examples work verbatim (spec: node §0, sdk §8).
DEFAULT_ANVIL_PORT = 8545
DEFAULT_NODE_PORT = 4000
DEFAULT_SERVICE_PORT = 3000
DEFAULT_BACKEND_PORT = 3100

STARTUP_DEADLINE_S = 60.0
# solcjs compiles the protocol cold in minutes (DESIGN.md, toolchain); forge caches afterwards.
COMPILE_DEADLINE_S = 900.0
PROGRESS_EVERY_S = 15.0


# ---------------------------------------------------------------- configuration


@dataclass(frozen=True)
class Ports:
    anvil: int = DEFAULT_ANVIL_PORT
    node: int = DEFAULT_NODE_PORT
    service: int = DEFAULT_SERVICE_PORT
    backend: int = DEFAULT_BACKEND_PORT

    @classmethod
    def free(cls) -> Ports:
        """Four ports the OS reports free right now (bind port 0)."""
        socks = [socket.socket() for _ in range(4)]
        try:
            for s in socks:
                s.bind((LOCALHOST, 0))
            anvil, node, service, backend = (s.getsockname()[1] for s in socks)
        finally:
            for s in socks:
                s.close()
        return cls(anvil=anvil, node=node, service=service, backend=backend)


@dataclass(frozen=True)
class StackConfig:
    run_dir: Path
    ports: Ports = field(default_factory=Ports)
    block_time: float | None = None  # None = automine
    offline: bool = True
    hf_token: str | None = field(default=None, repr=False)
    deploy_consumers: bool = True
    service_workers: int = 1
    quiet: bool = False
    # also register the service as PROOF_CONTAINER_ID with generates_proofs=true (e2e: lets a
    # requires_proof job reach the service, whose refusal must then show in the job)
    proof_container: bool = False

    @classmethod
    def with_free_ports(cls, run_dir: Path, **kwargs: Any) -> StackConfig:
        return cls(run_dir=run_dir, ports=Ports.free(), **kwargs)

    @classmethod
    def from_env(cls, run_dir: Path, **kwargs: Any) -> StackConfig:
        """Ports, block time and backend from the environment `make up` documents."""
        hf_token = os.environ.get("HF_INF_TOKEN") or None
        return cls(
            run_dir=run_dir,
            ports=Ports(
                anvil=_env_int("ANVIL_PORT", DEFAULT_ANVIL_PORT),
                node=_env_int("NODE_PORT", DEFAULT_NODE_PORT),
                service=_env_int("SERVICE_PORT", DEFAULT_SERVICE_PORT),
                backend=_env_int("BACKEND_PORT", DEFAULT_BACKEND_PORT),
            ),
            block_time=float(os.environ.get("BLOCK_TIME") or 0) or None,
            # Hugging Face itself only with a token and without OFFLINE
            offline=bool(os.environ.get("OFFLINE")) or hf_token is None,
            hf_token=hf_token,
            service_workers=_env_int("SERVICE_WORKERS", 1),
            **kwargs,
        )


@dataclass(frozen=True)
class Urls:
    rpc: str
    node: str
    service: str
    backend: str | None

    @classmethod
    def of(cls, config: StackConfig) -> Urls:
        p = config.ports
        return cls(
            rpc=f"http://{LOCALHOST}:{p.anvil}",
            node=f"http://{LOCALHOST}:{p.node}",
            service=f"http://{LOCALHOST}:{p.service}",
            backend=f"http://{LOCALHOST}:{p.backend}" if config.offline else None,
        )


def _container(container_id: str, url: str, port: int, generates_proofs: bool) -> dict[str, Any]:
    return {
        "id": container_id,
        "url": url,
        "port": port,
        "external": True,
        "description": "Hugging Face inference for Infernet jobs",
        "allowed_ips": [],
        "allowed_addresses": [],
        "allowed_delegate_addresses": [],
        "accepted_payments": {},
        "generates_proofs": generates_proofs,
    }


def node_config(config: StackConfig, urls: Urls) -> dict[str, Any]:
    """The devnode's config.json (Infernet Node 1.4 schema, spec node §7)."""
    containers = [_container(CONTAINER_ID, urls.service, config.ports.service, False)]
    if config.proof_container:
        containers.append(_container(PROOF_CONTAINER_ID, urls.service, config.ports.service, True))
    return {
        "log": {"path": str(config.run_dir / "infernet_node.log")},
        "manage_containers": False,
        "server": {
            "host": LOCALHOST,  # devnode key: the local stack is not exposed to the network
            "port": config.ports.node,
            "rate_limit": {"num_requests": 10_000, "period": 60},
        },
        "chain": {
            "enabled": True,
            "trail_head_blocks": 0,
            "rpc_url": urls.rpc,
            "registry_address": onchain.PROTOCOL.registry,
            "wallet": {"max_gas_limit": 4_000_000, "private_key": onchain.NODE_KEY},
            "snapshot_sync": {
                "sleep": 0.1,
                "batch_size": 50,
                "starting_sub_id": 0,
                "sync_period": 0.2,
            },
        },
        "startup_wait": 0.0,
        "forward_stats": False,
        "storage": {"path": str(config.run_dir / "devnode.sqlite")},
        "containers": containers,
    }


def venv_bin(name: str) -> str:
    """A console script next to the running interpreter (the project's .venv)."""
    return str(Path(sys.executable).parent / name)


# ---------------------------------------------------------------- the stack


class Stack:
    """Starts the components in dependency order; stops exactly what it started."""

    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.urls = Urls.of(config)
        self.processes: dict[str, RunningProcess] = {}
        self.consumers: dict[str, str] = {}
        self._children: dict[int, subprocess.Popen[bytes]] = {}
        self.log_dir = config.run_dir / "logs"
        self.config_path = config.run_dir / "config.json"

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
            ("devnode", c.ports.node, "NODE_PORT"),
            ("service", c.ports.service, "SERVICE_PORT"),
        ]
        if c.offline:
            busy.append(("offline backend", c.ports.backend, "BACKEND_PORT"))
        for component, port, env_var in busy:
            ensure_port_free(component, port, env_var)
        self._clear_previous_run()
        try:
            self._start_chain()
            if c.offline:
                self._start_backend()
            self.start_service()
            self.start_node()
        except BaseException:
            self.stop()
            raise

    def _clear_previous_run(self) -> None:
        """A fresh chain needs a fresh devnode store: the old one would hold deliveries for
        subscription ids that the new chain reuses, and the devnode would skip them."""
        for path in self.config.run_dir.glob("devnode.sqlite*"):
            path.unlink()
        for path in self.log_dir.glob("*.log"):
            path.unlink()
        shutil.rmtree(self.config.run_dir / "broadcast", ignore_errors=True)

    def stop(self) -> None:
        for name in reversed(list(self.processes)):
            self.stop_component(name)

    def stop_component(self, name: str) -> None:
        """Stop one component (also used by e2e: container down, devnode restart)."""
        proc = self.processes.pop(name, None)
        if proc is not None:
            stop_process(proc, self._children)
        self._save_state()

    def detach(self) -> None:
        """Leave the processes running (they live in sessions of their own); `down` stops them."""
        self._children.clear()

    # -- components
    def _spawn(
        self, name: str, argv: list[str], env: dict[str, str] | None = None
    ) -> RunningProcess:
        log = self.log_dir / f"{name}.log"
        with log.open("ab") as out:
            popen = subprocess.Popen(
                argv,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=REPO,
                env=env,
                start_new_session=True,
            )
        proc = RunningProcess(name, popen.pid, start_ticks(popen.pid) or 0, tuple(argv), str(log))
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
        argv = [onchain.find_tool("anvil"), "--host", LOCALHOST, "--port", str(c.ports.anvil)]
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
            onchain.forge_script(
                "DeployProtocol.s.sol",
                self.urls.rpc,
                onchain.DEPLOYER_KEY,
                broadcast,
                deploy_log,
                COMPILE_DEADLINE_S,
            )
            onchain.check_protocol(onchain.connect(self.urls.rpc))
        if c.deploy_consumers:
            with self.step("sample consumers: forge script DeployConsumers.s.sol"):
                created = onchain.forge_script(
                    "DeployConsumers.s.sol",
                    self.urls.rpc,
                    onchain.DEPLOYER_KEY,
                    broadcast,
                    deploy_log,
                    COMPILE_DEADLINE_S,
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
            "hf_inference_client_service.offline_backend",
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

    def start_node(self) -> None:
        """Start (or restart) the devnode with a freshly written config.json."""
        self.config_path.write_text(
            json.dumps(node_config(self.config, self.urls), indent=2) + "\n"
        )
        argv = [venv_bin("infernet-devnode"), "--config", str(self.config_path)]
        with self.step(f"devnode on {self.urls.node}"):
            self._start_and_wait("devnode", argv, lambda: http_ok(self.urls.node + "/health"))

    # -- state file (read by `down`, `logs`, the demo)
    def state(self) -> dict[str, Any]:
        return {
            "run_dir": str(self.config.run_dir),
            "urls": asdict(self.urls),
            "ports": asdict(self.config.ports),
            "offline": self.config.offline,
            "block_time": self.config.block_time,
            "container_id": CONTAINER_ID,
            "config": str(self.config_path),
            "protocol": asdict(onchain.PROTOCOL),
            "consumers": self.consumers,
            "processes": {n: asdict(p) for n, p in self.processes.items()},
        }

    def _save_state(self) -> None:
        if self.config.run_dir.is_dir():
            (self.config.run_dir / STATE_FILE).write_text(json.dumps(self.state(), indent=2) + "\n")

    def summary(self) -> str:
        u = self.urls
        lines = [
            "",
            "Local Infernet stack is up.",
            f"  chain (anvil)      {u.rpc}   chain id {onchain.CHAIN_ID}",
            f"  devnode (REST)     {u.node}   GET /health, POST /api/jobs, GET /api/jobs?id=",
            f"  HF service         {u.service}   container id {CONTAINER_ID!r}",
            f"  HF backend         {u.backend or 'Hugging Face (HF_INF_TOKEN)'}",
            "  protocol:",
        ]
        lines += [f"    {k:<16} {v}" for k, v in asdict(onchain.PROTOCOL).items()]
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


# ---------------------------------------------------------------- command line


def _load_state(run_dir: Path) -> dict[str, Any] | None:
    path = run_dir / STATE_FILE
    if not path.is_file():
        return None
    state: dict[str, Any] = json.loads(path.read_text())
    return state


def recorded_processes(run_dir: Path) -> list[RunningProcess]:
    state = _load_state(run_dir) or {}
    return [
        RunningProcess(p["name"], p["pid"], p["start_ticks"], tuple(p["argv"]), p["log"])
        for p in state.get("processes", {}).values()
    ]


def running_stack(run_dir: Path) -> tuple[Urls, dict[str, str]] | None:
    """URLs and consumers of a stack `up` left running in run_dir, if all of it is alive."""
    procs = recorded_processes(run_dir)
    if not procs or not all(is_alive(p) for p in procs):
        return None
    state = _load_state(run_dir) or {}
    consumers: dict[str, str] = state.get("consumers", {})
    return Urls(**state["urls"]), consumers


def cmd_up(args: argparse.Namespace) -> int:
    run_dir: Path = args.run_dir
    alive = [p for p in recorded_processes(run_dir) if is_alive(p)]
    if alive:
        names = ", ".join(f"{p.name} (pid {p.pid})" for p in alive)
        print(
            f"stack: already running from {run_dir}: {names}; run `make down` first",
            file=sys.stderr,
        )
        return 1
    defaults = StackConfig.from_env(run_dir)
    config = replace(
        defaults,
        ports=Ports(
            anvil=args.anvil_port,
            node=args.node_port,
            service=args.service_port,
            backend=args.backend_port,
        ),
        block_time=args.block_time,
        service_workers=args.workers,
    )
    stack = Stack(config)
    try:
        stack.start()
    except (StackError, onchain.DeployError) as e:
        print(f"stack: {e}", file=sys.stderr)
        print(
            f"stack: logs are in {stack.log_dir}; everything started was stopped", file=sys.stderr
        )
        return 1
    except KeyboardInterrupt:
        print("stack: interrupted; everything started was stopped", file=sys.stderr)
        return 130
    stack.detach()
    print(stack.summary(), flush=True)
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    run_dir: Path = args.run_dir
    procs = recorded_processes(run_dir)
    if not procs:
        print(f"stack: nothing recorded in {run_dir / STATE_FILE}; nothing to stop")
        return 0
    for proc in reversed(procs):
        if is_alive(proc):
            stop_process(proc)
            print(f"stack: stopped {proc.name} (pid {proc.pid})")
        else:
            print(f"stack: {proc.name} (pid {proc.pid}) was not running")
    state = _load_state(run_dir) or {}
    state["processes"] = {}
    (run_dir / STATE_FILE).write_text(json.dumps(state, indent=2) + "\n")
    return 0


def cmd_logs(args: argparse.Namespace) -> int:
    logs = sorted((args.run_dir / "logs").glob("*.log"))
    if not logs:
        print(f"stack: no logs in {args.run_dir / 'logs'}; start the stack with `make up`")
        return 1
    if args.follow:
        return subprocess.call(["tail", "-n", str(args.lines), "-F", *map(str, logs)])
    for log in logs:
        print(f"==> {log} <==\n{log_tail(log, args.lines)}\n")
    return 0


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="stack", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--run-dir", type=Path, default=Path(os.environ.get("RUN_DIR", DEFAULT_RUN_DIR))
    )
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start the stack and return once every health check passes")
    up.add_argument("--anvil-port", type=int, default=_env_int("ANVIL_PORT", DEFAULT_ANVIL_PORT))
    up.add_argument("--node-port", type=int, default=_env_int("NODE_PORT", DEFAULT_NODE_PORT))
    up.add_argument(
        "--service-port", type=int, default=_env_int("SERVICE_PORT", DEFAULT_SERVICE_PORT)
    )
    up.add_argument(
        "--backend-port", type=int, default=_env_int("BACKEND_PORT", DEFAULT_BACKEND_PORT)
    )
    up.add_argument(
        "--block-time",
        type=float,
        default=float(os.environ.get("BLOCK_TIME") or 0) or None,
        help="seconds per block (default: automine, a block per transaction)",
    )
    up.add_argument("--workers", type=int, default=_env_int("SERVICE_WORKERS", 1))
    up.set_defaults(run=cmd_up)
    down = sub.add_parser("down", help="stop exactly the processes `up` started")
    down.set_defaults(run=cmd_down)
    logs = sub.add_parser("logs", help="print (or follow) the stack's logs")
    logs.add_argument("--follow", "-f", action="store_true")
    logs.add_argument("--lines", "-n", type=int, default=40)
    logs.set_defaults(run=cmd_logs)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.run_dir = args.run_dir.resolve()
    code: int = args.run(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
