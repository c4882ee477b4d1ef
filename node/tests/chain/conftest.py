"""Fixtures for the chain tests: one anvil with the protocol per session, fresh consumers and
devnode processes per test."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from hf_infernet_stack.accounts import CONTAINER_ID
from hf_infernet_stack.accounts import DEPLOYER_KEY
from hf_infernet_stack.accounts import PROTOCOL
from hf_infernet_stack.accounts import SIGNER_KEY
from hf_infernet_stack.anvil import Anvil
from hf_infernet_stack.consumers import ALLOWED_NODES
from hf_infernet_stack.consumers import NEXT_ID
from hf_infernet_stack.consumers import Actor
from hf_infernet_stack.consumers import deploy_callback_consumer
from hf_infernet_stack.consumers import deploy_protocol
from hf_infernet_stack.containers import EchoContainer
from hf_infernet_stack.devnode import Devnode
from hf_infernet_stack.rpc import Rpc
from infernet_devnode.chain.store import ChainStore
from infernet_devnode.store import Store


@pytest.fixture(scope="session")
def anvil(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Anvil]:
    node = Anvil().start()
    try:
        deploy_protocol(Rpc(node.url), tmp_path_factory.mktemp("protocol"))
        yield node
    finally:
        node.stop()


@pytest.fixture
def rpc(anvil: Anvil) -> Rpc:
    return Rpc(anvil.url)


@pytest.fixture(scope="session")
def echo() -> Iterator[EchoContainer]:
    with EchoContainer() as container:
        yield container


@pytest.fixture
def chains() -> Iterator[list[Anvil]]:
    """Private anvils of one test, stopped at its end (resumed first if a test paused one)."""
    started: list[Anvil] = []
    try:
        yield started
    finally:
        for chain in started:
            if chain.proc is not None:
                chain.proc.send_signal(signal.SIGCONT)
            chain.stop()


@pytest.fixture
def deployer(rpc: Rpc) -> Actor:
    return Actor(rpc, DEPLOYER_KEY)


@pytest.fixture
def signer(rpc: Rpc) -> Actor:
    return Actor(rpc, SIGNER_KEY)


@pytest.fixture
def last_id(rpc: Rpc) -> int:
    """Subscriptions up to this id belong to earlier tests: nodes start syncing after it."""
    (next_id,) = rpc.call(PROTOCOL.coordinator, NEXT_ID)
    return int(next_id) - 1


@pytest.fixture
def callback_consumer(deployer: Actor) -> str:
    return deploy_callback_consumer(deployer)


@pytest.fixture
def delegated_consumer(deployer: Actor, signer: Actor) -> str:
    """An HFDelegatedConsumer taking deliveries from the test nodes, `signer` its signer."""
    return deployer.deploy(
        "HFDelegatedConsumer",
        "HFDelegatedConsumer",
        PROTOCOL.registry,
        signer.address,
        ALLOWED_NODES,
    )


@pytest.fixture
def devnode(tmp_path: Path, anvil: Anvil, echo: EchoContainer, last_id: int) -> Devnode:
    """A devnode (not started) serving the echo container under the default container id."""
    return Devnode(
        workdir=tmp_path / "node",
        rpc_url=anvil.url,
        containers={CONTAINER_ID: echo.url},
        starting_sub_id=last_id,
    )


@pytest.fixture
def chain_store() -> Iterator[ChainStore]:
    """A chain store over an in-memory database (test_chain_store.py uses a file instead)."""
    opened = Store(":memory:").open()
    try:
        yield ChainStore(opened)
    finally:
        opened.close()
