"""One devnode: its config.json (Infernet Node 1.4 schema plus the devnode's keys,
docs/configuration.md) and the `infernet-devnode` process serving it."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

from eth_account import Account

from .accounts import NODE_KEY
from .accounts import PROTOCOL
from .processes import LOCALHOST
from .processes import free_port
from .processes import spawn
from .processes import stop_process
from .processes import wait_for
from .rest import Http

READY_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
MAX_GAS_LIMIT = 4_000_000


@dataclass(frozen=True)
class Sync:
    """chain.snapshot_sync: how often the node polls the head and how it reads subscriptions."""

    sync_period: float = 0.2  # head poll period: idle load ~1/sync_period requests/s
    sleep: float = 0.1
    batch_size: int = 50
    starting_sub_id: int = 0


def devnode_config(
    *,
    port: int,
    store: Path,
    containers: Sequence[Mapping[str, Any]],
    key: str | None = None,
    rpc_url: str | None = None,
    registry: str = PROTOCOL.registry,
    sync: Sync = Sync(),
    log: Path | None = None,
    log_level: str | None = None,
    rate_limit: tuple[int, float] = (10_000, 60),
    wallet: Mapping[str, Any] | None = None,
    server: Mapping[str, Any] | None = None,
    explorer: bool = False,
) -> dict[str, Any]:
    """The config.json of one devnode on 127.0.0.1:`port` storing in `store`; with `rpc_url` (and
    the node's `key`) it serves the chain whose Registry is at `registry`."""
    config: dict[str, Any] = {
        "containers": [dict(c) for c in containers],
        "manage_containers": False,
        "forward_stats": False,
        "startup_wait": 0.0,
        "server": {
            "host": LOCALHOST,  # devnode key: a local node is not exposed to the network
            "port": port,
            "rate_limit": {"num_requests": rate_limit[0], "period": rate_limit[1]},
            **(server or {}),
        },
        "storage": {"path": str(store)},
    }
    if rpc_url is not None:
        if key is None:
            raise ValueError("a devnode on a chain needs its private key")
        config["chain"] = {
            "enabled": True,
            "trail_head_blocks": 0,
            "rpc_url": rpc_url,
            "registry_address": registry,
            "wallet": {"max_gas_limit": MAX_GAS_LIMIT, "private_key": key, **(wallet or {})},
            "snapshot_sync": {
                "sleep": sync.sleep,
                "batch_size": sync.batch_size,
                "starting_sub_id": sync.starting_sub_id,
                "sync_period": sync.sync_period,
            },
        }
    if log is not None or log_level is not None:
        config["log"] = {
            **({"path": str(log)} if log is not None else {}),
            **({"level": log_level} if log_level is not None else {}),
        }
    if explorer:
        config["explorer"] = {"enabled": True}  # devnode key: the read-only page at /ui
    return config


def devnode_argv(config_path: Path) -> list[str]:
    """The devnode's console script next to the running interpreter (the project's venv)."""
    return [str(Path(sys.executable).parent / "infernet-devnode"), "--config", str(config_path)]


@dataclass
class Devnode:
    """One `infernet-devnode` process with a chain-enabled config, in `workdir`."""

    workdir: Path
    rpc_url: str
    containers: dict[str, str]  # id -> url
    key: str = NODE_KEY
    starting_sub_id: int = 0
    port: int = field(default_factory=free_port)
    extra_wallet: dict[str, Any] = field(default_factory=dict)
    container_options: dict[str, Any] = field(default_factory=dict)  # added to every container
    server_options: dict[str, Any] = field(default_factory=dict)  # added to `server`
    sync_period: float = 0.1  # head poll period: idle load ~1/sync_period requests/s
    snapshot_sleep: float = 0.0  # snapshot_sync.sleep
    explorer: bool = False  # explorer.enabled
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{LOCALHOST}:{self.port}"

    @property
    def address(self) -> str:
        return str(Account.from_key(self.key).address)

    @property
    def log_path(self) -> Path:
        return self.workdir / "devnode.out"

    def config(self) -> dict[str, Any]:
        return devnode_config(
            port=self.port,
            store=self.workdir / "devnode.sqlite3",
            log=self.workdir / "devnode.log",
            log_level="INFO",
            containers=[
                {"id": cid, "url": url, **self.container_options}
                for cid, url in self.containers.items()
            ],
            key=self.key,
            rpc_url=self.rpc_url,
            sync=Sync(
                sync_period=self.sync_period,
                sleep=self.snapshot_sleep,
                batch_size=500,
                starting_sub_id=self.starting_sub_id,
            ),
            rate_limit=(10_000, 1),
            wallet=self.extra_wallet,
            server=self.server_options,
            explorer=self.explorer,
        )

    def start(self, *, synced: bool = True) -> Devnode:
        """Start the process; wait until /health answers (and, with `synced`, says healthy:
        the initial sync is over)."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        path = self.workdir / "config.json"
        path.write_text(json.dumps(self.config()))
        self.proc, _ = spawn(devnode_argv(path), self.log_path, name="devnode")

        def healthy() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"devnode exited {self.proc.returncode}: {self.logs()}")
            try:
                status, body = self.get("/health")
            except OSError:
                return False
            return status == 200 and (not synced or body == {"status": "healthy"})

        wait_for(healthy, READY_TIMEOUT_S, "devnode /health")
        return self

    def logs(self) -> str:
        path = self.log_path
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def stop(self, *, hard: bool = False) -> None:
        if self.proc is not None:
            stop_process(self.proc, hard=hard, grace_s=STOP_TIMEOUT_S)
            self.proc = None

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        answer = Http(self.url, keep_alive=True).request(method, path, body)
        return answer.status, answer.parsed()

    def get(self, path: str) -> tuple[int, Any]:
        return self.request("GET", path)

    def metric(self, name: str) -> float:
        status, text = self.get("/metrics")
        assert status == 200
        for line in str(text).splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
        raise KeyError(name)

    def sees_block(self, number: int) -> bool:
        return self.metric("devnode_chain_head_block") >= number

    def subscription(self, sub_id: int) -> dict[str, Any] | None:
        status, body = self.get(f"/api/subscriptions/{sub_id}")
        return body if status == 200 else None

    def wait_delivered(self, sub_id: int, interval: int, timeout: float) -> None:
        """Poll this node's status API until (sub_id, interval) is recorded as delivered."""
        wait_for(
            lambda: self.delivery_state(sub_id, interval) == "delivered",
            timeout,
            f"delivery of subscription {sub_id}, interval {interval}",
        )

    def delivery_state(self, sub_id: int, interval: int) -> str | None:
        body = self.subscription(sub_id)
        if body is None:
            return None
        for d in body["deliveries"]:
            if d["interval"] == interval:
                return str(d["state"])
        return None
