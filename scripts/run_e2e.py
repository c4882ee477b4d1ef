"""`make e2e`: the end-to-end suite against one of three stacks.

    make e2e                              a local stack the suite starts and stops itself
    make e2e STACK=path/to/stack.json     a running stack, described by the file (`make up`
                                          writes .run/stack.json) or by STACK_* variables;
                                          nothing is started or stopped
    make e2e STACK=compose                docker-compose.yml's offline profile: brought up,
                                          described, tested, taken down

Without a Docker engine, STACK=compose prints one line and exits 0: the suite was not run, which
is not a failure of the suite. Arguments after `--` go to pytest.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import onchain
from processes import StackError
from processes import http_ok
from processes import rpc_ok
from processes import wait_until
from run_folder import STATE_FILE
from run_folder import write_state
from stack_config import REPO
from stack_description import Protocol
from stack_description import StackDescription

COMPOSE_FILE = REPO / "docker-compose.yml"
COMPOSE_PROFILE = "offline"
COMPOSE_RUN_DIR = REPO / ".run" / "compose"
ENGINE_CHECK_TIMEOUT_S = 20.0
# images are built on the first `up`; the devnode has no health check, so it is polled after
COMPOSE_UP_TIMEOUT_S = 900.0
COMPOSE_READY_DEADLINE_S = 120.0
# what `make e2e` builds before the other two modes (contract artifacts, infernet-client venv)
PREPARE = ["make", "--no-print-directory", "build", ".venv-client/.stamp"]

# What docker-compose.yml's offline profile publishes on the host (e2e/test_compose.py checks
# the file against it): anvil with infernet-anvil's saved protocol on one-second blocks, the
# devnode and the service. Its offline Hugging Face stand-in is reachable inside the network only.
COMPOSE_STACK = StackDescription(
    rpc_url="http://127.0.0.1:8545",
    node_url="http://127.0.0.1:4000",
    service_url="http://127.0.0.1:3000",
    chain_id=onchain.CHAIN_ID,
    block_time=1,
    container_id=onchain.CONTAINER_ID,
    protocol=Protocol(registry=onchain.PROTOCOL.registry),
)


def docker_missing() -> str | None:
    """Why the compose network cannot run here, or None when it can."""
    docker = shutil.which("docker")
    if docker is None:
        return "no `docker` command on PATH"
    try:
        info = subprocess.run(
            [docker, "info", "--format", "{{.ServerVersion}}"],
            capture_output=True,
            timeout=ENGINE_CHECK_TIMEOUT_S,
            check=False,
        )
        if info.returncode != 0:
            return "no Docker engine answers `docker info`"
        compose = subprocess.run(
            [docker, "compose", "version"],
            capture_output=True,
            timeout=ENGINE_CHECK_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"`docker` did not answer within {ENGINE_CHECK_TIMEOUT_S:.0f} s"
    if compose.returncode != 0:
        return "no Docker Compose v2 (`docker compose`)"
    return None


def pytest(args: list[str], env: dict[str, str]) -> int:
    return subprocess.call([sys.executable, "-m", "pytest", "e2e", *args], cwd=REPO, env=env)


def run_compose(args: list[str]) -> int:
    missing = docker_missing()
    if missing is not None:
        print(f"e2e: STACK=compose needs a Docker engine: {missing}; nothing was run")
        return 0
    if subprocess.call(PREPARE, cwd=REPO) != 0:
        return 1
    docker = shutil.which("docker") or "docker"
    compose = [docker, "compose", "--file", str(COMPOSE_FILE), "--profile", COMPOSE_PROFILE]
    COMPOSE_RUN_DIR.mkdir(parents=True, exist_ok=True)
    write_state(COMPOSE_RUN_DIR, COMPOSE_STACK.to_data())
    described = COMPOSE_RUN_DIR / STATE_FILE
    try:
        up = subprocess.run(
            [*compose, "up", "--detach", "--wait", "--build"],
            cwd=REPO,
            timeout=COMPOSE_UP_TIMEOUT_S,
            check=False,
        )
        if up.returncode != 0:
            print(f"e2e: `docker compose up` exited with {up.returncode}", file=sys.stderr)
            return 1
        rpc, node = COMPOSE_STACK.rpc_url, COMPOSE_STACK.node_url
        wait_until("compose chain", lambda: rpc_ok(rpc), COMPOSE_READY_DEADLINE_S)
        wait_until("compose node", lambda: http_ok(node + "/health"), COMPOSE_READY_DEADLINE_S)
        return pytest(args, dict(os.environ, STACK=str(described)))
    except StackError as e:
        print(f"e2e: {e}", file=sys.stderr)
        return 1
    finally:
        subprocess.run([*compose, "down", "--volumes"], cwd=REPO, check=False)


def main(argv: list[str]) -> int:
    args = argv[1:] if argv[:1] == ["--"] else argv
    stack = os.environ.get("STACK", "")
    if stack == "compose":
        return run_compose(args)
    if stack and not Path(stack).is_file():
        print(f"e2e: STACK={stack}: no such description file", file=sys.stderr)
        return 2
    return pytest(args, dict(os.environ))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
