"""config.json: the Infernet Node v1.4 schema (docs/configuration.md) plus a few devnode-only keys.

Every upstream key is accepted with its upstream default, so a config written for Ritual's node
loads unchanged. Keys that only make sense with Docker, Redis or telemetry are accepted and
reported once as ignored; unknown keys produce a warning; a value of the wrong type is a
ConfigError naming the key and the expected type. Any string value written as ``${NAME}`` is
taken from the environment variable NAME, so secrets need not live in the file.

Devnode-only keys (upstream ignores unknown keys, so the same file still works there):
``storage.path``, ``storage.retention``, ``server.host``, ``server.max_body_size``,
``server.submit_wait``, ``server.max_batch_size``, ``server.max_json_depth``,
``server.max_container_calls``, ``server.max_queued_jobs``, ``server.max_calls_per_container``,
``server.reserved_onchain_calls``, ``server.max_jobs_per_client``, ``server.keepalive_timeout``,
``server.body_timeout``, ``server.max_connections``, ``server.status_networks``,
``chain.liveness_timeout``,
``log.json``, ``log.level``, ``containers[].timeout``, ``containers[].stream_timeout``,
``containers[].max_answer_size``,
``explorer.*`` (the read-only page at GET /ui).
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
from collections.abc import Iterator
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic import ConfigDict
from pydantic import Field
from pydantic import SecretStr
from pydantic import ValidationError
from pydantic import field_validator
from pydantic import model_validator

from .errors import ConfigError
from .errors import field_path
from .redaction import MIN_SECRET_LENGTH

__all__ = [
    "ChainConfig",
    "ContainerConfig",
    "DockerConfig",
    "ExplorerConfig",
    "LoadedConfig",
    "LogConfig",
    "NodeConfig",
    "RateLimitConfig",
    "RedisConfig",
    "ServerConfig",
    "SnapshotSyncConfig",
    "StorageConfig",
    "WalletConfig",
    "load_config",
    "parse_config",
]

# Upstream defaults (docs/configuration.md).
DEFAULT_CONTAINER_PORT = 3000
DEFAULT_SERVER_PORT = 4000
DEFAULT_RATE_LIMIT_REQUESTS = 60
DEFAULT_RATE_LIMIT_PERIOD_S = 60.0
DEFAULT_MAX_GAS_LIMIT = 5_000_000
DEFAULT_LOG_MAX_FILE_SIZE = 2**30  # bytes
# Upstream's container timeouts: 180 s per call, 60 s for the streaming call (docs/devnode.md).
DEFAULT_CONTAINER_TIMEOUT_S = 180.0
DEFAULT_STREAM_TIMEOUT_S = 60.0
# Devnode defaults.
DEFAULT_STORAGE_PATH = "devnode.sqlite3"
DEFAULT_RETENTION_S = 7 * 24 * 3600  # completed off-chain jobs are kept one week; 0 = forever
DEFAULT_MAX_BODY_SIZE = 4 * 1024 * 1024  # bytes
# POST /api/jobs answers once the job is done or after this long, whichever comes first, so a
# client's first poll usually finds a fast job finished (the answer's shape is unchanged).
DEFAULT_SUBMIT_WAIT_S = 0.02
# The largest container answer read; past it the job fails and the rest is not read.
DEFAULT_MAX_ANSWER_SIZE = 4 * 1024 * 1024  # bytes
# Items of one POST /api/jobs/batch.
DEFAULT_MAX_BATCH_SIZE = 1_000
# Nesting of JSON read from clients and containers. Python parses and writes JSON recursively
# (about 1,000 frames by default), so the ceiling keeps room for the node's own envelope.
DEFAULT_MAX_JSON_DEPTH = 100
MAX_JSON_DEPTH_CEILING = 500
# Container calls in flight at once: each holds a socket and little CPU (the containers do the
# work), so a few dozen per core keeps the node busy without running out of descriptors.
CONTAINER_CALLS_PER_CPU = 32
MIN_CONTAINER_CALLS = 16
MAX_DEFAULT_CONTAINER_CALLS = 256
# Off-chain jobs waiting for a container call slot; past it new jobs get 503 + Retry-After.
DEFAULT_MAX_QUEUED_JOBS = 2_000
# Who may PUT /api/status by default, as upstream: loopback and the networks Docker gives its
# first bridges (docs/devnode.md, "The Infernet node protocol").
DEFAULT_STATUS_NETWORKS = (
    "127.0.0.1/32",
    "::1/128",
    "172.17.0.0/16",
    "172.18.0.0/16",
    "172.19.0.0/16",
    "192.168.0.0/16",
)
# Fair sharing (docs/devnode.md): one container may hold at most this share of the call slots,
# so a hanging one leaves the rest to the others ...
CONTAINER_SHARE_DIVISOR = 2
# ... this share of them is kept for on-chain deliveries ...
ONCHAIN_RESERVE_DIVISOR = 8
# ... and one client may have at most this many off-chain jobs running or queued (one full batch).
DEFAULT_MAX_JOBS_PER_CLIENT = 1_000
# A connection is closed when no complete request head arrives within this long (after it opens
# or after the previous answer: aiohttp's keep-alive timer covers both). Longer than clients' own
# idle timeout (aiohttp's client: 15 s), so a client does not reuse a connection being closed.
DEFAULT_KEEPALIVE_TIMEOUT_S = 30.0
# A request body that takes longer than this to arrive is answered 408 (as the service does).
DEFAULT_BODY_TIMEOUT_S = 30.0
# An RPC endpoint that accepts connections but answers nothing within this long is "degraded".
DEFAULT_LIVENESS_TIMEOUT_S = 2.0
DEFAULT_EXPLORER_MAX_PAGE_SIZE = 200
DEFAULT_EXPLORER_POLL_INTERVAL_S = 1.0

_ENV_REFERENCE = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_PRIVATE_KEY = re.compile(r"^(0x)?[0-9a-fA-F]{64}$")

# Keys the devnode accepts but does not act on: it runs no Docker, no Redis and sends no stats.
_IGNORED_CONTAINER_KEYS = ("image", "command", "env", "volumes", "gpu")
_IGNORED_TOP_LEVEL_KEYS = ("docker", "redis", "forward_stats", "startup_wait", "log_path")


def default_container_calls() -> int:
    """The default of ``server.max_container_calls`` on this machine."""
    calls = CONTAINER_CALLS_PER_CPU * (os.cpu_count() or 1)
    return max(MIN_CONTAINER_CALLS, min(MAX_DEFAULT_CONTAINER_CALLS, calls))


class _Section(BaseModel):
    """Base of every config section: lax types like upstream's pydantic, unknown keys kept."""

    model_config = ConfigDict(extra="allow", frozen=True)


def _check_address(value: str | None, *, optional: bool = True) -> str | None:
    if value is None and optional:
        return None
    if value is None or not _ADDRESS.match(value):
        raise ValueError("expected a 0x-prefixed 20-byte hex address")
    return value


class ContainerConfig(_Section):
    """One entry of ``containers``."""

    id: str
    image: str = ""
    url: str = ""
    bearer: SecretStr = SecretStr("")
    port: int = DEFAULT_CONTAINER_PORT
    external: bool = True
    gpu: bool = False
    accepted_payments: dict[str, int] = Field(default_factory=dict)
    allowed_ips: list[str] = Field(default_factory=list)
    allowed_addresses: list[str] = Field(default_factory=list)
    allowed_delegate_addresses: list[str] = Field(default_factory=list)
    description: str = ""
    command: str = ""
    env: dict[str, Any] = Field(default_factory=dict)
    generates_proofs: bool = False
    volumes: list[str] = Field(default_factory=list)
    # devnode-only
    timeout: float = Field(default=DEFAULT_CONTAINER_TIMEOUT_S, gt=0)
    stream_timeout: float = Field(default=DEFAULT_STREAM_TIMEOUT_S, gt=0)
    max_answer_size: int = Field(default=DEFAULT_MAX_ANSWER_SIZE, gt=0)

    @field_validator("id")
    @classmethod
    def _id_not_empty(cls, value: str) -> str:
        if not value:
            raise ValueError("expected a non-empty string")
        return value

    @field_validator("url")
    @classmethod
    def _url_is_http(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("expected an http:// or https:// URL")
        return value.rstrip("/")

    @field_validator("allowed_ips")
    @classmethod
    def _ips_parse(cls, value: list[str]) -> list[str]:
        for item in value:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError as e:
                raise ValueError(f"expected IP addresses or CIDR ranges, got {item!r}") from e
        return value

    def secrets(self) -> list[str]:
        """What the node redacts from this container's answers and from the logs: its bearer
        and every ``env`` value of at least ``MIN_SECRET_LENGTH`` characters."""
        values = [self.bearer.get_secret_value()]
        values += [v for v in self.env.values() if isinstance(v, str)]
        return [v for v in values if len(v) >= MIN_SECRET_LENGTH]

    @property
    def base_url(self) -> str:
        """Where the container is reached: ``url`` if set, else http://localhost:{port} (4.1)."""
        return self.url or f"http://localhost:{self.port}"


class RateLimitConfig(_Section):
    num_requests: int = Field(default=DEFAULT_RATE_LIMIT_REQUESTS, gt=0)
    period: float = Field(default=DEFAULT_RATE_LIMIT_PERIOD_S, gt=0)


class ServerConfig(_Section):
    port: int = Field(default=DEFAULT_SERVER_PORT, ge=0, le=65_535)
    rate_limit: RateLimitConfig = Field(default_factory=RateLimitConfig)
    # devnode-only
    host: str = "0.0.0.0"
    max_body_size: int = Field(default=DEFAULT_MAX_BODY_SIZE, gt=0)
    submit_wait: float = Field(default=DEFAULT_SUBMIT_WAIT_S, ge=0)
    max_batch_size: int = Field(default=DEFAULT_MAX_BATCH_SIZE, gt=0)
    max_json_depth: int = Field(default=DEFAULT_MAX_JSON_DEPTH, gt=0, le=MAX_JSON_DEPTH_CEILING)
    max_container_calls: int = Field(default_factory=lambda: default_container_calls(), gt=0)
    max_queued_jobs: int = Field(default=DEFAULT_MAX_QUEUED_JOBS, ge=0)
    # None: derived from max_container_calls (see calls_per_container, onchain_reserve).
    max_calls_per_container: int | None = Field(default=None, gt=0)
    reserved_onchain_calls: int | None = Field(default=None, ge=0)
    max_jobs_per_client: int = Field(default=DEFAULT_MAX_JOBS_PER_CLIENT, gt=0)
    # Slow and idle clients (docs/devnode.md).
    keepalive_timeout: float = Field(default=DEFAULT_KEEPALIVE_TIMEOUT_S, gt=0)
    body_timeout: float = Field(default=DEFAULT_BODY_TIMEOUT_S, gt=0)
    # None: half the process's descriptor limit (connections.default_max_connections).
    max_connections: int | None = Field(default=None, gt=0)
    # CIDR ranges whose callers may PUT /api/status; Docker picks a compose network's subnet
    # from whatever pool is free, so a node inside one lists that pool (docker-compose.yml).
    status_networks: list[str] = Field(default_factory=lambda: list(DEFAULT_STATUS_NETWORKS))

    @field_validator("status_networks")
    @classmethod
    def _networks_parse(cls, value: list[str]) -> list[str]:
        for item in value:
            try:
                ipaddress.ip_network(item)
            except ValueError as e:
                raise ValueError(f"expected CIDR ranges (e.g. 172.16.0.0/12), got {item!r}") from e
        return value

    @property
    def status_ranges(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        return tuple(ipaddress.ip_network(n) for n in self.status_networks)

    @property
    def calls_per_container(self) -> int:
        """``max_calls_per_container``, by default half of ``max_container_calls``."""
        if self.max_calls_per_container is not None:
            return self.max_calls_per_container
        return max(1, self.max_container_calls // CONTAINER_SHARE_DIVISOR)

    @property
    def onchain_reserve(self) -> int:
        """``reserved_onchain_calls``, by default an eighth of ``max_container_calls``."""
        if self.reserved_onchain_calls is not None:
            return self.reserved_onchain_calls
        return self.max_container_calls // ONCHAIN_RESERVE_DIVISOR

    @model_validator(mode="after")
    def _batch_fits_the_queue(self) -> ServerConfig:
        if self.max_batch_size > self.max_queued_jobs + self.max_container_calls:
            raise ConfigError(
                "server.max_batch_size",
                f"{self.max_batch_size} is more than server.max_queued_jobs +"
                f" server.max_container_calls ({self.max_queued_jobs + self.max_container_calls}):"
                " such a batch could never be admitted",
            )
        if self.max_batch_size > self.max_jobs_per_client:
            raise ConfigError(
                "server.max_batch_size",
                f"{self.max_batch_size} is more than server.max_jobs_per_client"
                f" ({self.max_jobs_per_client}): such a batch could never be admitted",
            )
        if self.calls_per_container > self.max_container_calls:
            raise ConfigError(
                "server.max_calls_per_container",
                f"{self.calls_per_container} is more than server.max_container_calls"
                f" ({self.max_container_calls})",
            )
        if self.onchain_reserve >= self.max_container_calls:
            raise ConfigError(
                "server.reserved_onchain_calls",
                f"{self.onchain_reserve} leaves no slot of server.max_container_calls"
                f" ({self.max_container_calls}) to off-chain jobs",
            )
        return self


class WalletConfig(_Section):
    max_gas_limit: int = DEFAULT_MAX_GAS_LIMIT
    private_key: SecretStr | None = None
    payment_address: str | None = None
    allowed_sim_errors: list[str] = Field(default_factory=list)

    @field_validator("payment_address")
    @classmethod
    def _payment_address(cls, value: str | None) -> str | None:
        return _check_address(value)

    @field_validator("private_key")
    @classmethod
    def _private_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not _PRIVATE_KEY.match(value.get_secret_value()):
            # The value itself is never echoed: it is a secret.
            raise ValueError("expected a 32-byte hex private key (0x prefix optional)")
        return value


class SnapshotSyncConfig(_Section):
    sleep: float = Field(default=1.0, ge=0)
    batch_size: int = Field(default=500, gt=0)
    starting_sub_id: int = Field(default=0, ge=0)
    sync_period: float = Field(default=0.5, gt=0)


class ChainConfig(_Section):
    enabled: bool = False
    rpc_url: str | None = None
    trail_head_blocks: int = Field(default=1, ge=0)
    registry_address: str | None = None
    wallet: WalletConfig | None = None
    snapshot_sync: SnapshotSyncConfig = Field(default_factory=SnapshotSyncConfig)
    # devnode-only: seconds the endpoint has to answer a liveness probe (docs/devnode.md)
    liveness_timeout: float = Field(default=DEFAULT_LIVENESS_TIMEOUT_S, gt=0)

    @field_validator("rpc_url")
    @classmethod
    def _rpc_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("expected an http:// or https:// URL")
        return value

    @field_validator("registry_address")
    @classmethod
    def _registry(cls, value: str | None) -> str | None:
        return _check_address(value)


class DockerConfig(_Section):
    username: str
    password: SecretStr


class LogConfig(_Section):
    path: str = "infernet_node.log"
    max_file_size: int = DEFAULT_LOG_MAX_FILE_SIZE
    backup_count: int = 2
    # devnode-only
    json_: bool = Field(default=False, alias="json")
    level: str = "INFO"

    @field_validator("level")
    @classmethod
    def _level(cls, value: str) -> str:
        upper = value.upper()
        if upper not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            raise ValueError("expected one of DEBUG, INFO, WARNING, ERROR")
        return upper


class RedisConfig(_Section):
    host: str = "redis"
    port: int = 6379


class StorageConfig(_Section):
    """devnode-only: the embedded SQLite database."""

    path: str = DEFAULT_STORAGE_PATH
    retention: float = Field(default=DEFAULT_RETENTION_S, ge=0)


class ExplorerConfig(_Section):
    """devnode-only: the read-only explorer page (GET /ui) and its read routes."""

    enabled: bool = False
    # The most rows one list request may ask for (`limit`); more is a 400 naming `limit`.
    max_page_size: int = Field(default=DEFAULT_EXPLORER_MAX_PAGE_SIZE, gt=0, le=10_000)
    # How often an open page asks for fresh data; the page never polls faster than this.
    poll_interval: float = Field(default=DEFAULT_EXPLORER_POLL_INTERVAL_S, ge=0.25, le=60)


class NodeConfig(_Section):
    """The whole config.json."""

    containers: list[ContainerConfig] = Field(default_factory=list)
    chain: ChainConfig = Field(default_factory=ChainConfig)
    docker: DockerConfig | None = None
    explorer: ExplorerConfig = Field(default_factory=ExplorerConfig)
    forward_stats: bool = True
    log: LogConfig = Field(default_factory=LogConfig)
    manage_containers: bool = True
    redis: RedisConfig = Field(default_factory=RedisConfig)
    server: ServerConfig = Field(default_factory=ServerConfig)
    startup_wait: float = 5.0
    storage: StorageConfig = Field(default_factory=StorageConfig)

    @model_validator(mode="after")
    def _cross_checks(self) -> NodeConfig:
        seen: set[str] = set()
        for index, container in enumerate(self.containers):
            if container.id in seen:
                raise ConfigError(f"containers[{index}].id", f"duplicate id {container.id!r}")
            seen.add(container.id)
        if self.chain.enabled:
            # Upstream's config requires these when the chain is on (infernet-node v1.4.0).
            if self.chain.rpc_url is None:
                raise ConfigError("chain.rpc_url", "required when chain.enabled is true")
            if self.chain.registry_address is None:
                raise ConfigError("chain.registry_address", "required when chain.enabled is true")
            if self.chain.wallet is None:
                raise ConfigError("chain.wallet", "required when chain.enabled is true")
            if self.chain.wallet.private_key is None:
                raise ConfigError("chain.wallet.private_key", "required when chain.enabled is true")
        return self

    def container(self, container_id: str) -> ContainerConfig | None:
        """The container with this id, or None."""
        for container in self.containers:
            if container.id == container_id:
                return container
        return None

    def secrets(self) -> list[str]:
        """Every secret value in the config, for log redaction."""
        values = [c.bearer.get_secret_value() for c in self.containers]
        values += [secret for c in self.containers for secret in c.secrets()]
        if self.chain.wallet is not None and self.chain.wallet.private_key is not None:
            key = self.chain.wallet.private_key.get_secret_value()
            values += [key, key.removeprefix("0x")]
        if self.docker is not None:
            values.append(self.docker.password.get_secret_value())
        return [v for v in values if v]


@dataclass(frozen=True)
class LoadedConfig:
    """A validated config plus the warnings found while loading it."""

    config: NodeConfig
    warnings: tuple[str, ...]


def load_config(path: str | Path, environ: Mapping[str, str] | None = None) -> LoadedConfig:
    """Read, resolve ``${ENV}`` references in, and validate a config.json file.

    Raises:
        ConfigError: the file is unreadable, not JSON, or a key is invalid.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError("<file>", f"cannot read {path}: {e.strerror}") from e
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as e:
        raise ConfigError("<file>", f"not valid JSON: {e.msg} at line {e.lineno}") from e
    return parse_config(raw, os.environ if environ is None else environ)


def parse_config(raw: object, environ: Mapping[str, str] | None = None) -> LoadedConfig:
    """Validate an already decoded config.json object.

    Raises:
        ConfigError: a key is missing or of the wrong type.
    """
    if not isinstance(raw, dict):
        raise ConfigError("<root>", "expected a JSON object")
    resolved = _resolve_env(raw, os.environ if environ is None else environ, "")
    try:
        config = NodeConfig.model_validate(resolved)
    except ValidationError as e:
        raise _config_error(e) from None
    return LoadedConfig(config=config, warnings=tuple(_warnings(resolved, config)))


def _resolve_env(value: Any, environ: Mapping[str, str], where: str) -> Any:
    if isinstance(value, dict):
        return {k: _resolve_env(v, environ, _join(where, k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve_env(v, environ, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, str):
        match = _ENV_REFERENCE.match(value)
        if match is not None:
            name = match.group(1)
            if name not in environ:
                raise ConfigError(where, f"environment variable {name} is not set")
            return environ[name]
    return value


def _join(where: str, key: object) -> str:
    return f"{where}.{key}" if where else str(key)


_EXPECTED = {
    "int": "an integer",
    "float": "a number",
    "bool": "a boolean",
    "string": "a string",
    "list": "a list",
    "dict": "an object",
    "model": "an object",
    "greater_than": "a number",
    "less_than": "a number",
}


def _config_error(error: ValidationError) -> ConfigError:
    """Turn pydantic's first error into a ConfigError naming the key and the expected type."""
    first = error.errors(include_url=False)[0]
    # log.json is spelled json_ in the model (a pydantic BaseModel attribute).
    field = ".".join("json" if p == "json_" else p for p in field_path(first["loc"]).split("."))
    kind = str(first["type"])
    if kind == "missing":
        return ConfigError(field, "required key is missing")
    ctx = first.get("ctx") or {}
    cause = ctx.get("error")
    if isinstance(cause, ConfigError):
        return cause
    if isinstance(cause, ValueError):
        return ConfigError(field, str(cause))
    for prefix, expected in _EXPECTED.items():
        if kind.startswith(prefix):
            got = first.get("input")
            shown = "a secret value" if "private_key" in field or "password" in field else repr(got)
            detail = first["msg"].lower()
            return ConfigError(field, f"expected {expected} ({detail}), got {shown}")
    return ConfigError(field, str(first["msg"]))


def _warnings(raw: dict[str, Any], config: NodeConfig) -> Iterator[str]:
    ignored = [k for k in _IGNORED_TOP_LEVEL_KEYS if k in raw]
    if raw.get("manage_containers") is True:
        ignored.append("manage_containers")
    for index, item in enumerate(raw.get("containers") or []):
        if isinstance(item, dict):
            ignored += [f"containers[{index}].{k}" for k in _IGNORED_CONTAINER_KEYS if k in item]
    if ignored:
        yield (
            "ignored (the devnode runs no Docker, Redis or telemetry; containers are reached by "
            "url or http://localhost:{port}): " + ", ".join(ignored)
        )
    unknown = sorted(_unknown_keys(config, ""))
    if unknown:
        yield "unknown config keys (ignored): " + ", ".join(unknown)


def _unknown_keys(section: BaseModel, where: str) -> Iterator[str]:
    for key in section.model_extra or {}:
        if _join(where, key) not in _IGNORED_TOP_LEVEL_KEYS:
            yield _join(where, key)
    for name in type(section).model_fields:
        child = getattr(section, name)
        key = "json" if name == "json_" else name
        if isinstance(child, BaseModel):
            yield from _unknown_keys(child, _join(where, key))
        elif isinstance(child, list):
            for index, item in enumerate(child):
                if isinstance(item, BaseModel):
                    yield from _unknown_keys(item, f"{_join(where, key)}[{index}]")
