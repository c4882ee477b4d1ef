"""The stack under test, one per session: started here on free ports as a user would start it
(`scripts/stack.py`), or one that is already running, described by STACK=path/to/stack.json or
by STACK_* variables (see docs/stack.md). A described stack is never started or stopped here.

Tests get fresh consumer contracts each (deployed from forge's out/ artifacts) so no test sees
another's subscriptions. On any failure the log tails of a stack started here are printed at
teardown.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hf_infernet_stack.description import DescriptionError
from hf_infernet_stack.description import StackDescription
from hf_infernet_stack.local_stack import Stack
from hf_infernet_stack.processes import log_tail
from hf_infernet_stack.rest import NodeREST
from hf_infernet_stack.stack_config import NodesError
from hf_infernet_stack.stack_config import StackConfig
from hf_infernet_stack.stack_config import node_count
from target import Target
from target import description_from
from web3 import Web3

# Variables that would change what a locally started stack talks to; it always runs offline.
_ENV_OVERRIDES = ("HF_INF_TOKEN", "HF_INF_ENDPOINT", "HF_TOKEN", "OFFLINE", "SERVER_URL", "RPC_URL")
_DESCRIBED = pytest.StashKey[StackDescription | None]()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "devnode(reason): relies on what the devnode adds to Infernet Node 1.4; skipped when the "
        "node under test is another one",
    )
    config.addinivalue_line(
        "markers",
        "own_stack(reason): starts, stops or restarts processes; skipped when the run is given a "
        "stack (STACK=), which it must leave alone",
    )
    try:
        config.stash[_DESCRIBED] = description_from(os.environ)
    except (DescriptionError, ValueError) as e:
        raise pytest.UsageError(f"STACK: {e}") from None


def pytest_report_header(config: pytest.Config) -> str:
    described = config.stash.get(_DESCRIBED, None)
    if described is None:
        return f"stack: started by this session (free ports, NODES={os.environ.get('NODES') or 1})"
    return (
        f"stack: described, node {described.node_url} ({len(described.node_urls)} in all), "
        f"chain {described.rpc_url}"
    )


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _ENV_OVERRIDES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def target(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Target]:
    described = request.config.stash[_DESCRIBED]
    if described is not None:
        try:
            connected = Target.connect(described, None)
        except ConnectionError as e:
            pytest.exit(f"STACK: {e}", returncode=1)
        yield connected  # started elsewhere, so left running
        return
    for name in _ENV_OVERRIDES:
        os.environ.pop(name, None)
    run_dir = tmp_path_factory.mktemp("stack")
    try:  # NODES=n: that many devnodes (`make e2e-nodes` runs the redundancy tests on two)
        nodes = node_count(os.environ.get("NODES") or 1)
    except NodesError as e:
        pytest.exit(str(e), returncode=2)
    config = StackConfig.with_free_ports(
        run_dir, nodes=nodes, deploy_consumers=False, quiet=True, proof_container=True
    )
    running = Stack(config)
    try:
        running.start()
        yield Target.connect(running.description(), running)
    finally:
        running.stop()
        if request.session.testsfailed:
            for log in sorted((run_dir / "logs").glob("*.log")):
                print(f"\n--- {log.name} (last lines) ---\n{log_tail(log, 40)}")


@pytest.fixture(autouse=True)
def _where_it_applies(request: pytest.FixtureRequest) -> None:
    """Skip a marked test where it cannot hold (only devnode-marked tests bring the stack up)."""
    own = request.node.get_closest_marker("own_stack")
    if own is not None and request.config.stash[_DESCRIBED] is not None:
        pytest.skip(f"starts or stops processes, and this run was given a stack: {own.args[0]}")
    devnode = request.node.get_closest_marker("devnode")
    if devnode is not None:
        target: Target = request.getfixturevalue("target")
        if not target.devnode:
            pytest.skip(f"devnode only ({target.node_name} under test): {devnode.args[0]}")


@pytest.fixture(scope="session")
def w3(target: Target) -> Web3:
    return target.w3


@pytest.fixture(scope="session")
def node(target: Target) -> NodeREST:
    return NodeREST(target.node_url)
