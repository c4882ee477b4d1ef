"""config.json parsing (docs/configuration.md): defaults, warnings, one error per invalid key."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from infernet_devnode.config import load_config
from infernet_devnode.config import parse_config
from infernet_devnode.errors import ConfigError

KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
REGISTRY = "0x663F3ad617193148711d28f5334eE4Ed07016602"


def test_empty_config_has_upstream_defaults() -> None:
    loaded = parse_config({})
    config = loaded.config
    assert config.containers == []
    assert config.server.port == 4000
    assert (config.server.rate_limit.num_requests, config.server.rate_limit.period) == (60, 60)
    assert config.chain.enabled is False
    assert config.chain.trail_head_blocks == 1
    assert config.chain.snapshot_sync.sleep == 1.0
    assert config.chain.snapshot_sync.batch_size == 500
    assert config.chain.snapshot_sync.starting_sub_id == 0
    assert config.chain.snapshot_sync.sync_period == 0.5
    assert config.forward_stats is True
    assert config.manage_containers is True
    assert config.startup_wait == 5.0
    assert (config.redis.host, config.redis.port) == ("redis", 6379)
    assert (config.log.path, config.log.max_file_size, config.log.backup_count) == (
        "infernet_node.log",
        2**30,
        2,
    )
    assert loaded.warnings == ()


def test_container_defaults_and_base_url() -> None:
    config = parse_config({"containers": [{"id": "a"}, {"id": "b", "url": "http://h:1/x/"}]})
    a, b = config.config.containers
    assert (a.port, a.external, a.generates_proofs, a.timeout) == (3000, True, False, 180.0)
    assert a.base_url == "http://localhost:3000"
    assert b.base_url == "http://h:1/x"
    assert a.bearer.get_secret_value() == ""


def test_upstream_sample_config_loads(tmp_path: Path) -> None:
    sample = {
        "log_path": "infernet_node.log",
        "server": {"port": 4000, "rate_limit": {"num_requests": 100, "period": 100}},
        "chain": {
            "enabled": True,
            "trail_head_blocks": 5,
            "rpc_url": "http://127.0.0.1:8545",
            "registry_address": REGISTRY,
            "wallet": {"max_gas_limit": 4000000, "private_key": KEY, "allowed_sim_errors": []},
            "snapshot_sync": {"sleep": 1.5, "batch_size": 1800, "starting_sub_id": 0},
        },
        "startup_wait": 1.0,
        "docker": {"username": "user", "password": "pw"},
        "redis": {"host": "redis", "port": 6379},
        "forward_stats": True,
        "containers": [
            {
                "id": "hello-world",
                "image": "ritualnetwork/hello-world-infernet:latest",
                "external": True,
                "port": "3000",
                "allowed_delegate_addresses": [],
                "allowed_addresses": [],
                "allowed_ips": [],
                "command": "--bind=0.0.0.0:3000 --workers=2",
                "env": {},
                "volumes": [],
                "accepted_payments": {},
                "generates_proofs": False,
            }
        ],
    }
    path = tmp_path / "config.json"
    path.write_text(json.dumps(sample))
    loaded = load_config(path)
    assert loaded.config.containers[0].port == 3000  # "3000" is coerced, as upstream
    assert loaded.config.chain.wallet is not None
    assert loaded.config.chain.wallet.max_gas_limit == 4000000
    (ignored,) = loaded.warnings
    for key in ("docker", "redis", "forward_stats", "startup_wait", "log_path"):
        assert key in ignored
    for key in ("image", "command", "env", "volumes"):
        assert f"containers[0].{key}" in ignored
    assert "pw" not in ignored


def test_unknown_keys_are_a_warning_naming_them() -> None:
    loaded = parse_config({"colour": 1, "server": {"prot": 1}, "containers": [{"id": "a", "x": 2}]})
    assert loaded.warnings == (
        "unknown config keys (ignored): colour, containers[0].x, server.prot",
    )


def test_devnode_keys_are_not_unknown() -> None:
    loaded = parse_config(
        {
            "storage": {"path": "x.db", "retention": 0},
            "server": {"host": "127.0.0.1", "max_body_size": 10, "submit_wait": 0},
            "log": {"json": True, "level": "debug"},
            "containers": [{"id": "a", "timeout": 1, "stream_timeout": 2}],
        }
    )
    assert loaded.warnings == ()
    assert loaded.config.log.json_ is True
    assert loaded.config.log.level == "DEBUG"


@pytest.mark.parametrize(
    ("raw", "field", "expected"),
    [
        pytest.param({"server": {"port": "abc"}}, "server.port", "an integer", id="server.port"),
        pytest.param({"server": {"port": 70000}}, "server.port", "65535", id="server.port-range"),
        pytest.param(
            {"server": {"rate_limit": {"num_requests": "x"}}},
            "server.rate_limit.num_requests",
            "an integer",
            id="rate_limit.num_requests",
        ),
        pytest.param(
            {"server": {"rate_limit": {"period": 0}}},
            "server.rate_limit.period",
            "greater than 0",
            id="rate_limit.period",
        ),
        pytest.param({"containers": {}}, "containers", "a list", id="containers"),
        pytest.param({"containers": [{}]}, "containers[0].id", "missing", id="container.id"),
        pytest.param(
            {"containers": [{"id": "a", "port": "x"}]},
            "containers[0].port",
            "an integer",
            id="container.port",
        ),
        pytest.param(
            {"containers": [{"id": "a", "external": "maybe"}]},
            "containers[0].external",
            "a boolean",
            id="container.external",
        ),
        pytest.param(
            {"containers": [{"id": "a", "url": "ftp://x"}]},
            "containers[0].url",
            "http",
            id="container.url",
        ),
        pytest.param(
            {"containers": [{"id": "a", "allowed_ips": ["not-an-ip"]}]},
            "containers[0].allowed_ips",
            "CIDR",
            id="container.allowed_ips",
        ),
        pytest.param(
            {"server": {"status_networks": ["172.16.0.0/33"]}},
            "server.status_networks",
            "CIDR",
            id="server.status_networks",
        ),
        pytest.param(
            {"containers": [{"id": "a", "accepted_payments": {"0x0": "lots"}}]},
            "containers[0].accepted_payments.0x0",
            "an integer",
            id="container.accepted_payments",
        ),
        pytest.param(
            {"containers": [{"id": "a"}, {"id": "a"}]},
            "containers[1].id",
            "duplicate",
            id="container.duplicate-id",
        ),
        pytest.param(
            {"chain": {"enabled": True}}, "chain.rpc_url", "required", id="chain.rpc_url-required"
        ),
        pytest.param(
            {"chain": {"enabled": True, "rpc_url": "http://x"}},
            "chain.registry_address",
            "required",
            id="chain.registry_address-required",
        ),
        pytest.param(
            {"chain": {"enabled": True, "rpc_url": "http://x", "registry_address": REGISTRY}},
            "chain.wallet",
            "required",
            id="chain.wallet-required",
        ),
        pytest.param(
            {
                "chain": {
                    "enabled": True,
                    "rpc_url": "http://x",
                    "registry_address": REGISTRY,
                    "wallet": {},
                }
            },
            "chain.wallet.private_key",
            "required",
            id="chain.wallet.private_key-required",
        ),
        pytest.param(
            {"chain": {"rpc_url": "ws://x"}}, "chain.rpc_url", "http", id="chain.rpc_url-scheme"
        ),
        pytest.param(
            {"chain": {"registry_address": "0x12"}},
            "chain.registry_address",
            "address",
            id="chain.registry_address",
        ),
        pytest.param(
            {"chain": {"wallet": {"private_key": "0xnothex"}}},
            "chain.wallet.private_key",
            "private key",
            id="chain.wallet.private_key",
        ),
        pytest.param(
            {"chain": {"snapshot_sync": {"batch_size": "big"}}},
            "chain.snapshot_sync.batch_size",
            "an integer",
            id="snapshot_sync.batch_size",
        ),
        pytest.param(
            {"chain": {"trail_head_blocks": -1}},
            "chain.trail_head_blocks",
            "greater than or equal to 0",
            id="chain.trail_head_blocks",
        ),
        pytest.param({"docker": {"username": "u"}}, "docker.password", "missing", id="docker"),
        pytest.param({"log": {"level": "LOUD"}}, "log.level", "DEBUG", id="log.level"),
        pytest.param({"log": {"json": "yes please"}}, "log.json", "a boolean", id="log.json"),
        pytest.param({"storage": {"retention": -1}}, "storage.retention", "0", id="retention"),
        pytest.param({"startup_wait": "soon"}, "startup_wait", "a number", id="startup_wait"),
    ],
)
def test_invalid_value_names_key_and_expected_type(
    raw: dict[str, Any], field: str, expected: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(raw)
    assert caught.value.field == field
    assert expected in caught.value.reason
    assert str(caught.value).startswith(f"config key {field}: ")


def test_private_key_value_never_appears_in_errors() -> None:
    bad = "0x" + "zz" * 32
    with pytest.raises(ConfigError) as caught:
        parse_config({"chain": {"wallet": {"private_key": bad}}})
    assert bad not in str(caught.value)


def test_env_references_are_resolved(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NODE_KEY", KEY)
    config = parse_config({"chain": {"wallet": {"private_key": "${NODE_KEY}"}}}).config
    assert config.chain.wallet is not None
    assert config.chain.wallet.private_key is not None
    assert config.chain.wallet.private_key.get_secret_value() == KEY
    assert KEY not in repr(config)
    assert config.secrets() == [KEY, KEY.removeprefix("0x")]


def test_missing_env_reference_names_key_and_variable() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config({"containers": [{"id": "a", "bearer": "${NO_SUCH_VAR}"}]}, environ={})
    assert caught.value.field == "containers[0].bearer"
    assert "NO_SUCH_VAR" in caught.value.reason


def test_file_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.json")
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_config(broken)
    listed = tmp_path / "list.json"
    listed.write_text("[]")
    with pytest.raises(ConfigError, match="expected a JSON object"):
        load_config(listed)
