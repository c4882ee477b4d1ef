"""One local stack per test session (free ports), as a user would run it: `scripts/stack.py`.

Tests get fresh consumer contracts each (deployed from forge's out/ artifacts) so no test sees
another's subscriptions. On any failure the stack's log tails are printed at teardown.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))

import flows  # noqa: E402
import onchain  # noqa: E402
from components import Stack  # noqa: E402
from processes import log_tail  # noqa: E402
from stack_config import StackConfig  # noqa: E402

# Variables that would change what the stack talks to; the suite always runs offline.
_ENV_OVERRIDES = ("HF_INF_TOKEN", "HF_INF_ENDPOINT", "HF_TOKEN", "OFFLINE", "SERVER_URL", "RPC_URL")


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _ENV_OVERRIDES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def stack(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Stack]:
    for name in _ENV_OVERRIDES:
        os.environ.pop(name, None)
    run_dir = tmp_path_factory.mktemp("stack")
    config = StackConfig.with_free_ports(
        run_dir, deploy_consumers=False, quiet=True, proof_container=True
    )
    running = Stack(config)
    try:
        running.start()
        yield running
    finally:
        running.stop()
        if request.session.testsfailed:
            for log in sorted((run_dir / "logs").glob("*.log")):
                print(f"\n--- {log.name} (last lines) ---\n{log_tail(log, 40)}")


@pytest.fixture(scope="session")
def w3(stack: Stack) -> onchain.Web3:
    return onchain.connect(stack.urls.rpc)


@pytest.fixture(scope="session")
def node(stack: Stack) -> flows.NodeREST:
    return flows.NodeREST(stack.urls.node)
