"""The description of a running stack: where its chain, node and service are, where the protocol
is deployed, which keys act on it, and how it mines blocks.

`make up` writes one into its run folder (stack.json, readable by its owner only: it holds keys).
The e2e suite reads one from a file (`STACK=path/to/stack.json`) or from STACK_* environment
variables, so the same tests run against a stack they did not start. Nothing here starts a process
or talks to the network.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic import ConfigDict
from pydantic import Field
from pydantic import SecretStr
from pydantic import ValidationError
from pydantic import model_validator

from .accounts import CHAIN_ID
from .accounts import CONTAINER_ID
from .accounts import DEPLOYER_KEY
from .accounts import PROTOCOL
from .accounts import SIGNER_KEY
from .accounts import USER_KEY

# A description is a few hundred bytes; anything far larger is not one.
MAX_DESCRIPTION_BYTES = 64 * 1024
# Keys default to anvil's well-known accounts (the roles of Ritual's own local setup), so a
# description of a local or compose stack needs none; a shared chain must name its own.
ENV_PREFIX = "STACK_"


class DescriptionError(ValueError):
    """A stack description is unreadable or invalid; names the source and the field."""

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason


class Keys(BaseModel):
    """Who acts on the chain. Each key also names its account (the address it signs for)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # deploys the sample consumers (so it owns them) and starts recurring subscriptions
    deployer: SecretStr = SecretStr(DEPLOYER_KEY)
    # sends callback requests, as any user of a consumer would
    user: SecretStr = SecretStr(USER_KEY)
    # the delegated consumers' off-chain signer (their getSigner())
    signer: SecretStr = SecretStr(SIGNER_KEY)


class Protocol(BaseModel):
    """Where the Infernet protocol is deployed. The Registry is enough: it names the rest."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    registry: str
    coordinator: str | None = None
    inbox: str | None = None
    reader: str | None = None
    fee: str | None = None
    wallet_factory: str | None = None
    node_wallet: str | None = None


class Node(BaseModel):
    """One node of a stack of several (`make up NODES=n`): where it answers and who it is."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    url: str
    address: str  # the account its deliveries come from (its key's)
    payment_address: str | None = None  # its payment Wallet (chain.wallet.payment_address)


class StackDescription(BaseModel):
    """One running stack, as the e2e suite and the demo need to know it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rpc_url: str
    node_url: str  # the default node: what the suite and the demo talk to
    service_url: str
    # the offline Hugging Face stand-in, when the stack has one the suite may reach (its fault
    # control lets tests make the backend fail); absent for a stack on Hugging Face itself
    backend_url: str | None = None
    chain_id: int = CHAIN_ID
    # seconds per block, or None for automine (a block per transaction)
    block_time: float | None = Field(default=None, gt=0)
    container_id: str = CONTAINER_ID
    protocol: Protocol = Protocol(registry=PROTOCOL.registry)
    # sample consumers already deployed (name -> address); the suite deploys what is missing
    consumers: dict[str, str] = {}
    keys: Keys = Keys()
    # every node of a stack of several, the default node (node_url) first; absent or empty: one
    # node, at node_url
    nodes: tuple[Node, ...] = ()
    # what `make up` records for `make down` and `make logs` (processes, ports, run folder)
    launcher: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _default_node_first(self) -> StackDescription:
        if self.nodes and self.nodes[0].url != self.node_url:
            raise ValueError(f"nodes[0].url is {self.nodes[0].url}, node_url {self.node_url}")
        return self

    @property
    def automine(self) -> bool:
        return self.block_time is None

    @property
    def node_urls(self) -> tuple[str, ...]:
        """Every node's URL: the nodes listed, or node_url alone."""
        return tuple(n.url for n in self.nodes) or (self.node_url,)

    def to_data(self) -> dict[str, Any]:
        """The file form, keys included (write it where only its owner can read it)."""
        data = self.model_dump(mode="json", exclude_none=True)
        data["keys"] = {name: key.get_secret_value() for name, key in self.keys}
        return data


def parse_description(data: Any, source: str) -> StackDescription:
    try:
        return StackDescription.model_validate(data)
    except ValidationError as e:
        first = e.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise DescriptionError(source, f"{field}: {first['msg']}") from None


def read_description(path: Path) -> StackDescription:
    """A description from a file such as the stack.json `make up` writes."""
    source = str(path)
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_DESCRIPTION_BYTES + 1)
    except OSError as e:
        raise DescriptionError(source, f"cannot read it ({e.strerror})") from None
    if len(raw) > MAX_DESCRIPTION_BYTES:
        raise DescriptionError(source, f"larger than {MAX_DESCRIPTION_BYTES} bytes")
    try:
        data = json.loads(raw)
    except ValueError as e:
        raise DescriptionError(source, f"not JSON ({e})") from None
    return parse_description(data, source)


# STACK_<NAME> -> field; protocol addresses and keys are nested fields.
_ENV_FIELDS = {
    "RPC_URL": ("rpc_url",),
    "NODE_URL": ("node_url",),
    "SERVICE_URL": ("service_url",),
    "BACKEND_URL": ("backend_url",),
    "CHAIN_ID": ("chain_id",),
    "BLOCK_TIME": ("block_time",),
    "CONTAINER_ID": ("container_id",),
    "REGISTRY": ("protocol", "registry"),
    "COORDINATOR": ("protocol", "coordinator"),
    "DEPLOYER_KEY": ("keys", "deployer"),
    "USER_KEY": ("keys", "user"),
    "SIGNER_KEY": ("keys", "signer"),
}
ENV_VARIABLES = tuple(ENV_PREFIX + name for name in _ENV_FIELDS)


def env_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    """The STACK_* variables that are set, as (nested) description fields."""
    fields: dict[str, Any] = {}
    for name, path in _ENV_FIELDS.items():
        value: str | None = environ.get(ENV_PREFIX + name)
        if not value:
            continue
        if name == "BLOCK_TIME" and value in ("0", "automine"):
            value = None
        target = fields
        for part in path[:-1]:
            target = target.setdefault(part, {})
        target[path[-1]] = value
    return fields


def describe(environ: Mapping[str, str], base: StackDescription | None = None) -> StackDescription:
    """A description from the environment, over a file's when given (the variables win)."""
    data: dict[str, Any] = {} if base is None else base.to_data()
    overrides = env_overrides(environ)
    if "node_url" in overrides:  # one node, the one the variable names, is under test
        data.pop("nodes", None)
    for key, value in overrides.items():
        if isinstance(value, dict):
            data[key] = {**data.get(key, {}), **value}
        else:
            data[key] = value
    source = "STACK_* variables" if base is None else "the stack description + STACK_* variables"
    return parse_description(data, source)
