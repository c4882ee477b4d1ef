"""The stack under test, whoever started it: this session (the default), `make up`, the compose
network, or anyone else whose stack is described by a file (STACK=path) or STACK_* variables.

Tests see one `Target`. It knows what the node is (the devnode says so in /info; Ritual's Infernet
Node 1.4 does not), so tests that rely on the devnode's additions are skipped elsewhere, and tests
that stop or restart a component run only when this session started the stack.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from hf_infernet_stack.accounts import address_of
from hf_infernet_stack.chain_flows import CONSUMERS
from hf_infernet_stack.chain_flows import ChainSetup
from hf_infernet_stack.chain_flows import deploy_consumers
from hf_infernet_stack.description import ENV_VARIABLES
from hf_infernet_stack.description import StackDescription
from hf_infernet_stack.description import describe
from hf_infernet_stack.description import read_description
from hf_infernet_stack.forge import REGISTRY_ABI
from hf_infernet_stack.local_stack import Stack
from hf_infernet_stack.processes import wait_for
from hf_infernet_stack.rest import NodeHTTPError
from hf_infernet_stack.rest import NodeREST
from hf_infernet_stack.rest import http_ok
from hf_infernet_stack.rest import node_ready
from hf_infernet_stack.rpc import connect
from hf_infernet_stack.rpc import rpc_ok
from web3 import Web3

# What a session started with STACK=... checks before the first test, and how long it waits.
REACHABLE_DEADLINE_S = 10.0
COMPOSE = "compose"


def description_from(environ: Mapping[str, str]) -> StackDescription | None:
    """The stack the environment points at, or None: start a local one.

    Raises:
        DescriptionError: the file or the variables do not describe a stack.
        ValueError: STACK=compose outside `make e2e` (which brings the network up first).
    """
    where = environ.get("STACK", "")
    if where == COMPOSE:
        raise ValueError(
            "STACK=compose is run by `make e2e STACK=compose` (it brings the compose network up, "
            "describes it and takes it down); point pytest at a description instead"
        )
    overrides = any(environ.get(name) for name in ENV_VARIABLES)
    if where:
        base = read_description(Path(where))
        return describe(environ, base) if overrides else base
    return describe(environ) if overrides else None


@dataclass
class Target:
    """The stack the suite runs against."""

    description: StackDescription
    stack: Stack | None  # the stack this session started; None when it was described
    node_info: dict[str, Any]
    coordinator: str
    w3: Web3

    @classmethod
    def connect(cls, description: StackDescription, stack: Stack | None) -> Target:
        """Check that the described stack answers, then read what the node and chain are."""
        d = description
        for what, url, ready in (
            ("chain", d.rpc_url, rpc_ok),
            ("node", d.node_url, node_ready),
            ("service", d.service_url + "/", http_ok),
        ):
            try:
                wait_for(partial(ready, url), REACHABLE_DEADLINE_S, f"the {what}")
            except TimeoutError:
                raise ConnectionError(f"the {what} at {url} does not answer") from None
        keys = [k.get_secret_value() for _, k in d.keys]
        w3 = connect(d.rpc_url, keys)
        chain_id = int(w3.eth.chain_id)
        if chain_id != d.chain_id:
            raise ConnectionError(f"{d.rpc_url} is chain {chain_id}, described as {d.chain_id}")
        registry = w3.eth.contract(
            address=Web3.to_checksum_address(d.protocol.registry), abi=REGISTRY_ABI
        )
        if not w3.eth.get_code(registry.address):
            raise ConnectionError(f"no Registry at {d.protocol.registry} on {d.rpc_url}")
        coordinator = str(registry.functions.COORDINATOR().call())
        if d.protocol.coordinator and Web3.to_checksum_address(d.protocol.coordinator) != (
            coordinator
        ):
            raise ConnectionError(
                f"the Registry names Coordinator {coordinator}, "
                f"described as {d.protocol.coordinator}"
            )
        try:
            info = NodeREST(d.node_url).info()
        except (NodeHTTPError, OSError, ValueError) as e:
            raise ConnectionError(f"the node at {d.node_url} gave no GET /info: {e}") from None
        if not isinstance(info, dict):
            raise ConnectionError(f"the node at {d.node_url} answered GET /info with {info!r}")
        return cls(d, stack, info, coordinator, w3)

    # -- what is under test
    @property
    def devnode(self) -> bool:
        """The devnode reports itself in /info; Ritual's node reports only its version."""
        return "devnode" in self.node_info

    @property
    def node_name(self) -> str:
        if self.devnode:
            return f"devnode {self.node_info['devnode'].get('version', '?')}"
        return f"Infernet Node {self.node_info.get('version', '?')}"

    @property
    def node_address(self) -> str:
        return str(self.node_info["chain"]["address"])

    @property
    def containers(self) -> set[str]:
        return {str(c["id"]) for c in self.node_info.get("containers", [])}

    @property
    def on_anvil(self) -> bool:
        return str(self.w3.client_version).lower().startswith("anvil")

    @property
    def service_url(self) -> str:
        return self.description.service_url

    @property
    def node_url(self) -> str:
        return self.description.node_url

    @property
    def rpc_url(self) -> str:
        return self.description.rpc_url

    @property
    def container_id(self) -> str:
        return self.description.container_id

    def chain_setup(self) -> ChainSetup:
        d = self.description
        keys = {name: key.get_secret_value() for name, key in d.keys}
        return ChainSetup(
            registry=Web3.to_checksum_address(d.protocol.registry),
            coordinator=self.coordinator,
            chain_id=d.chain_id,
            container_id=d.container_id,
            user=address_of(keys["user"]),
            deployer=address_of(keys["deployer"]),
            signer_key=keys["signer"],
            block_time=d.block_time,
            nodes=(Web3.to_checksum_address(self.node_address),),
        )

    # -- what a test needs
    def sample_consumers(self) -> dict[str, str]:
        """The stack's own sample consumers (`make up` deploys them), deployed here if missing."""
        described = self.description.consumers
        if all(
            name in described and self.w3.eth.get_code(Web3.to_checksum_address(described[name]))
            for name in CONSUMERS
        ):
            return {name: described[name] for name in CONSUMERS}
        return deploy_consumers(self.w3, self.chain_setup())

    def require_container(self, container_id: str) -> None:
        if container_id not in self.containers:
            pytest.skip(f"the node under test has no container {container_id!r}")

    def require_recurring(self) -> None:
        """Recurring deliveries need chain time to pass: moved by us on automine (anvil), which
        only the devnode follows, or passing by itself on timed blocks."""
        if not self.description.automine:
            return
        if not self.on_anvil:
            pytest.skip("automine on a chain that cannot move its time (not anvil)")
        if not self.devnode:
            pytest.skip(
                f"{self.node_name} counts intervals on its own clock, so it serves recurring "
                "subscriptions only on timed blocks (run the stack with BLOCK_TIME=1)"
            )
