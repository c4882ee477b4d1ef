"""The local Infernet stack: anvil + protocol + consumers + offline HF backend + service + devnode.

Command line (wrapped by `make up`, `make down`, `make logs`):

    .venv/bin/python scripts/stack.py up [--block-time S] [--anvil-port N] [--node-port N] ...
    .venv/bin/python scripts/stack.py down
    .venv/bin/python scripts/stack.py logs [--follow]

What a stack is made of, starting and stopping it (the `Stack` that e2e/ and the demo use) and its
run folder (stack.json, logs/) live in the package beside this file (hf_infernet_stack/,
docs/stack.md).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

from hf_infernet_stack.errors import DeployError
from hf_infernet_stack.errors import StackError
from hf_infernet_stack.foundry import FoundryNotFound
from hf_infernet_stack.local_stack import Stack
from hf_infernet_stack.processes import is_alive
from hf_infernet_stack.processes import log_tail
from hf_infernet_stack.processes import stop_process
from hf_infernet_stack.repository import DEFAULT_RUN_DIR
from hf_infernet_stack.run_folder import STATE_FILE
from hf_infernet_stack.run_folder import load_state
from hf_infernet_stack.run_folder import recorded_processes
from hf_infernet_stack.run_folder import write_state
from hf_infernet_stack.stack_config import DEFAULT_ANVIL_PORT
from hf_infernet_stack.stack_config import DEFAULT_BACKEND_PORT
from hf_infernet_stack.stack_config import DEFAULT_NODE_PORT
from hf_infernet_stack.stack_config import DEFAULT_SERVICE_PORT
from hf_infernet_stack.stack_config import NodesError
from hf_infernet_stack.stack_config import Ports
from hf_infernet_stack.stack_config import StackConfig
from hf_infernet_stack.stack_config import env_int


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
    try:
        defaults = StackConfig.from_env(run_dir)
        more_nodes = Ports.following(args.node_port, args.nodes)
    except NodesError as e:
        print(f"stack: {e}", file=sys.stderr)
        return 2
    config = replace(
        defaults,
        ports=Ports(
            anvil=args.anvil_port,
            node=args.node_port,
            service=args.service_port,
            backend=args.backend_port,
            more_nodes=more_nodes,
        ),
        block_time=args.block_time,
        service_workers=args.workers,
    )
    stack = Stack(config)
    try:
        stack.start()
    except (StackError, DeployError, FoundryNotFound) as e:
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
    state = load_state(run_dir) or {}
    state.get("launcher", state)["processes"] = {}
    write_state(run_dir, state)
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


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="stack", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--run-dir", type=Path, default=Path(os.environ.get("RUN_DIR", DEFAULT_RUN_DIR))
    )
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start the stack and return once every health check passes")
    up.add_argument("--anvil-port", type=int, default=env_int("ANVIL_PORT", DEFAULT_ANVIL_PORT))
    up.add_argument("--node-port", type=int, default=env_int("NODE_PORT", DEFAULT_NODE_PORT))
    up.add_argument(
        "--service-port", type=int, default=env_int("SERVICE_PORT", DEFAULT_SERVICE_PORT)
    )
    up.add_argument(
        "--backend-port", type=int, default=env_int("BACKEND_PORT", DEFAULT_BACKEND_PORT)
    )
    up.add_argument(
        "--block-time",
        type=float,
        default=float(os.environ.get("BLOCK_TIME") or 0) or None,
        help="seconds per block (default: automine, a block per transaction)",
    )
    up.add_argument(
        "--nodes",
        type=str,
        default=os.environ.get("NODES") or "1",
        help="how many devnodes (1-3): the first on --node-port, the others on the next ports",
    )
    up.add_argument("--workers", type=int, default=env_int("SERVICE_WORKERS", 1))
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
