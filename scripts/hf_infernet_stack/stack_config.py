"""What a local stack is made of: its ports, its URLs, and the devnode's config.json.

Nothing here starts a process or writes a file: `local_stack.Stack` starts what a `StackConfig`
describes, and `scripts/stack.py up` builds one from its flags and the environment `make up`
documents.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

from .accounts import CONTAINER_ID
from .accounts import MAX_NODES
from .accounts import NODE_KEYS
from .accounts import NODE_WALLETS
from .accounts import PROOF_CONTAINER_ID
from .accounts import PROTOCOL
from .devnode import devnode_config
from .processes import LOCALHOST
from .processes import free_ports

# Infernet's own documentation uses these ports, so its examples work verbatim.
DEFAULT_ANVIL_PORT = 8545
DEFAULT_NODE_PORT = 4000
DEFAULT_SERVICE_PORT = 3000
DEFAULT_BACKEND_PORT = 3100


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


class NodesError(ValueError):
    """NODES is not a number of nodes the stack has keys for."""


def node_count(value: str | int) -> int:
    """NODES: 1 to MAX_NODES (one anvil key and payment Wallet each, accounts.NODE_KEYS)."""
    try:
        count = int(value)
    except ValueError:
        raise NodesError(f"NODES={value!r}: not a number of nodes") from None
    if not 1 <= count <= MAX_NODES:
        raise NodesError(f"NODES={count}: a local stack has 1 to {MAX_NODES} nodes")
    return count


@dataclass(frozen=True)
class Ports:
    anvil: int = DEFAULT_ANVIL_PORT
    node: int = DEFAULT_NODE_PORT  # the first (default) node's
    service: int = DEFAULT_SERVICE_PORT
    backend: int = DEFAULT_BACKEND_PORT
    more_nodes: tuple[int, ...] = ()  # the further nodes', in order

    @classmethod
    def free(cls, nodes: int = 1) -> Ports:
        """Ports the OS reports free right now (bind port 0), one per node."""
        anvil, service, backend, *node_ports = free_ports(3 + node_count(nodes))
        return cls(
            anvil=anvil,
            node=node_ports[0],
            service=service,
            backend=backend,
            more_nodes=tuple(node_ports[1:]),
        )

    @staticmethod
    def following(node: int, nodes: int | str) -> tuple[int, ...]:
        """The further nodes' ports after the first node's (4001, 4002 after 4000, as the compose
        network publishes them)."""
        return tuple(node + i for i in range(1, node_count(nodes)))

    @property
    def nodes(self) -> tuple[int, ...]:
        return (self.node, *self.more_nodes)


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

    def __post_init__(self) -> None:
        node_count(len(self.ports.nodes))

    @property
    def nodes(self) -> int:
        return len(self.ports.nodes)

    @classmethod
    def with_free_ports(cls, run_dir: Path, nodes: int = 1, **kwargs: Any) -> StackConfig:
        return cls(run_dir=run_dir, ports=Ports.free(nodes), **kwargs)

    @classmethod
    def from_env(cls, run_dir: Path, **kwargs: Any) -> StackConfig:
        """Ports, block time and backend from the environment `make up` documents."""
        hf_token = os.environ.get("HF_INF_TOKEN") or None
        node = env_int("NODE_PORT", DEFAULT_NODE_PORT)
        return cls(
            run_dir=run_dir,
            ports=Ports(
                anvil=env_int("ANVIL_PORT", DEFAULT_ANVIL_PORT),
                node=node,
                service=env_int("SERVICE_PORT", DEFAULT_SERVICE_PORT),
                backend=env_int("BACKEND_PORT", DEFAULT_BACKEND_PORT),
                more_nodes=Ports.following(node, node_count(os.environ.get("NODES") or 1)),
            ),
            block_time=float(os.environ.get("BLOCK_TIME") or 0) or None,
            # Hugging Face itself only with a token and without OFFLINE
            offline=bool(os.environ.get("OFFLINE")) or hf_token is None,
            hf_token=hf_token,
            service_workers=env_int("SERVICE_WORKERS", 1),
            **kwargs,
        )


@dataclass(frozen=True)
class Urls:
    rpc: str
    node: str  # the first (default) node's
    service: str
    backend: str | None
    nodes: tuple[str, ...] = ()  # every node's, the first included

    @classmethod
    def of(cls, config: StackConfig) -> Urls:
        p = config.ports
        nodes = tuple(f"http://{LOCALHOST}:{port}" for port in p.nodes)
        return cls(
            rpc=f"http://{LOCALHOST}:{p.anvil}",
            node=nodes[0],
            service=f"http://{LOCALHOST}:{p.service}",
            backend=f"http://{LOCALHOST}:{p.backend}" if config.offline else None,
            nodes=nodes,
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


def node_name(index: int) -> str:
    """The n-th node's name in the run folder and the logs: devnode, devnode-2, devnode-3 (the
    compose network's service names)."""
    return "devnode" if index == 0 else f"devnode-{index + 1}"


def node_config(config: StackConfig, urls: Urls, index: int = 0) -> dict[str, Any]:
    """The config.json of the stack's `index`-th devnode (docs/configuration.md): its own anvil
    key (#1, #6, #7), payment Wallet, port, store and log, the stack's chain and service."""
    containers = [_container(CONTAINER_ID, urls.service, config.ports.service, False)]
    if config.proof_container:
        containers.append(_container(PROOF_CONTAINER_ID, urls.service, config.ports.service, True))
    name = node_name(index)
    return devnode_config(
        port=config.ports.nodes[index],
        store=config.run_dir / f"{name}.sqlite",
        log=config.run_dir / ("infernet_node.log" if index == 0 else f"infernet_{name}.log"),
        containers=containers,
        key=NODE_KEYS[index],
        rpc_url=urls.rpc,
        registry=PROTOCOL.registry,
        wallet={"payment_address": NODE_WALLETS[index]},
        explorer=True,
    )
