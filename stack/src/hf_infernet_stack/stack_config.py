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
from .accounts import NODE_KEY
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


@dataclass(frozen=True)
class Ports:
    anvil: int = DEFAULT_ANVIL_PORT
    node: int = DEFAULT_NODE_PORT
    service: int = DEFAULT_SERVICE_PORT
    backend: int = DEFAULT_BACKEND_PORT

    @classmethod
    def free(cls) -> Ports:
        """Four ports the OS reports free right now (bind port 0)."""
        anvil, node, service, backend = free_ports(4)
        return cls(anvil=anvil, node=node, service=service, backend=backend)


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

    @classmethod
    def with_free_ports(cls, run_dir: Path, **kwargs: Any) -> StackConfig:
        return cls(run_dir=run_dir, ports=Ports.free(), **kwargs)

    @classmethod
    def from_env(cls, run_dir: Path, **kwargs: Any) -> StackConfig:
        """Ports, block time and backend from the environment `make up` documents."""
        hf_token = os.environ.get("HF_INF_TOKEN") or None
        return cls(
            run_dir=run_dir,
            ports=Ports(
                anvil=env_int("ANVIL_PORT", DEFAULT_ANVIL_PORT),
                node=env_int("NODE_PORT", DEFAULT_NODE_PORT),
                service=env_int("SERVICE_PORT", DEFAULT_SERVICE_PORT),
                backend=env_int("BACKEND_PORT", DEFAULT_BACKEND_PORT),
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
    node: str
    service: str
    backend: str | None

    @classmethod
    def of(cls, config: StackConfig) -> Urls:
        p = config.ports
        return cls(
            rpc=f"http://{LOCALHOST}:{p.anvil}",
            node=f"http://{LOCALHOST}:{p.node}",
            service=f"http://{LOCALHOST}:{p.service}",
            backend=f"http://{LOCALHOST}:{p.backend}" if config.offline else None,
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


def node_config(config: StackConfig, urls: Urls) -> dict[str, Any]:
    """The stack's devnode config.json (docs/configuration.md): anvil #1 on the stack's chain."""
    containers = [_container(CONTAINER_ID, urls.service, config.ports.service, False)]
    if config.proof_container:
        containers.append(_container(PROOF_CONTAINER_ID, urls.service, config.ports.service, True))
    return devnode_config(
        port=config.ports.node,
        store=config.run_dir / "devnode.sqlite",
        log=config.run_dir / "infernet_node.log",
        containers=containers,
        key=NODE_KEY,
        rpc_url=urls.rpc,
        registry=PROTOCOL.registry,
        explorer=True,
    )
