"""Fixtures shared by the devnode tests: the container server and a node per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from devnode_harness import NodeFactory
from devnode_harness import NodeThread
from devnode_harness import node_config
from hf_infernet_stack.containers import Containers
from hostile_container import HostileContainer

# Environment variables that change the node's behaviour and must not leak in from the shell.
_NODE_ENV = ("INFERNET_CONFIG_PATH", "RUNTIME", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY")


@pytest.fixture(autouse=True)
def _clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _NODE_ENV:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


@pytest.fixture(scope="session")
def containers() -> Iterator[Containers]:
    with Containers() as server:
        yield server


@pytest.fixture
def standard_containers(containers: Containers) -> list[dict[str, Any]]:
    """echo (external), wrap (internal: may only follow another container)."""
    return [
        {"id": "echo", "url": containers.url("echo"), "description": "echoes its input"},
        {"id": "wrap", "url": containers.url("wrap"), "external": False},
    ]


@pytest.fixture
def start_node(tmp_path: Path) -> Iterator[NodeFactory]:
    """Start nodes with ``start_node(containers, **config_overrides)``; all stopped at the end."""
    started: list[NodeThread] = []

    def start(containers: list[dict[str, Any]], **extra: Any) -> NodeThread:
        node = NodeThread(node_config(tmp_path, containers, **extra)).__enter__()
        started.append(node)
        return node

    try:
        yield start
    finally:
        for node in reversed(started):
            node.__exit__(None, None, None)


@pytest.fixture
def node(start_node: NodeFactory, standard_containers: list[dict[str, Any]]) -> NodeThread:
    return start_node(standard_containers)


@pytest.fixture(scope="module")
def hostile() -> Iterator[HostileContainer]:
    """A container that answers each job as the job's data asks (hostile_container.py),
    one per test module."""
    with HostileContainer() as server:
        yield server
