"""Static checks of docker-compose.yml (no Docker engine here, so it is validated, not run), and
of `make e2e STACK=compose` where no engine exists."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from run_e2e import COMPOSE_STACK

COMPOSE_FILE = Path(__file__).resolve().parents[1] / "docker-compose.yml"
REGISTRY = "0x663F3ad617193148711d28f5334eE4Ed07016602"
NODE_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
CONTAINER_ID = "hf_inference_client_service"
PROFILES = {"ritual": "node-config", "offline": "devnode-config"}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    with COMPOSE_FILE.open() as f:
        doc: dict[str, Any] = yaml.safe_load(f)
    return doc


def _services_in(compose: dict[str, Any], profile: str) -> dict[str, Any]:
    """The services `docker compose --profile <profile> up` starts."""
    return {
        name: svc
        for name, svc in compose["services"].items()
        if not svc.get("profiles") or profile in svc["profiles"]
    }


def _node_service(compose: dict[str, Any], profile: str) -> tuple[str, dict[str, Any]]:
    config_name = PROFILES[profile]
    found = [
        (name, svc)
        for name, svc in _services_in(compose, profile).items()
        if any(c["source"] == config_name for c in svc.get("configs", []))
    ]
    assert len(found) == 1, f"exactly one service must mount {config_name}"
    return found[0]


def _config(compose: dict[str, Any], profile: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(compose["configs"][PROFILES[profile]]["content"])
    return doc


def _container_port(svc: dict[str, Any]) -> set[int]:
    """Ports a service listens on inside the network (published targets and `expose`)."""
    ports = {int(str(p).split(":")[-1]) for p in svc.get("ports", [])}
    return ports | {int(p) for p in svc.get("expose", [])}


def _published(svc: dict[str, Any]) -> dict[int, int]:
    """host port -> container port."""
    out = {}
    for p in svc.get("ports", []):
        host, container = str(p).split(":")
        out[int(host)] = int(container)
    return out


def test_images_are_ritual_published_ones(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert services["anvil"]["image"] == "ritualnetwork/infernet-anvil:1.0.0"
    assert services["node"]["image"] == "ritualnetwork/infernet-node:1.4.0"
    assert services["redis"]["image"].startswith("redis:")


def test_anvil_loads_the_predeployed_protocol_on_8545(compose: dict[str, Any]) -> None:
    anvil = compose["services"]["anvil"]
    assert "--load-state" in anvil["command"]
    assert _published(anvil) == {8545: 3000}
    assert not anvil.get("profiles"), "both profiles need the chain"


@pytest.mark.parametrize("name", ["service", "service-offline"])
def test_service_is_built_from_the_repo_with_the_documented_command(
    compose: dict[str, Any], name: str
) -> None:
    svc = compose["services"][name]
    assert svc["build"] == "./service"
    assert svc["command"] == ["--bind=0.0.0.0:3000", "--workers=2"]
    assert (COMPOSE_FILE.parent / "service").is_dir()


def test_ritual_service_takes_the_hf_token_from_the_environment(compose: dict[str, Any]) -> None:
    env = compose["services"]["service"]["environment"]
    assert env == ["HF_INF_TOKEN"], "the token is passed through, never written in the file"


def test_offline_service_talks_to_the_offline_backend(compose: dict[str, Any]) -> None:
    env = compose["services"]["service-offline"]["environment"]
    url = urlsplit(env["HF_INF_ENDPOINT"])
    backend = compose["services"][url.hostname or ""]
    assert backend["profiles"] == ["offline"]
    assert url.port in _container_port(backend)
    assert "hf_inference_client_service.offline_backend" in backend["entrypoint"]


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_node_config_agrees_with_compose_names_and_ports(
    compose: dict[str, Any], profile: str
) -> None:
    services = _services_in(compose, profile)
    node_name, node = _node_service(compose, profile)
    config = _config(compose, profile)

    assert _published(node) == {4000: config["server"]["port"]}
    assert config["manage_containers"] is False

    chain = config["chain"]
    assert chain["enabled"] is True
    assert chain["registry_address"] == REGISTRY
    assert chain["wallet"]["private_key"] == NODE_KEY
    rpc = urlsplit(chain["rpc_url"])
    assert rpc.hostname in services
    assert rpc.port in _container_port(services[rpc.hostname or ""])

    (container,) = config["containers"]
    assert container["id"] == CONTAINER_ID
    url = urlsplit(container["url"])
    assert url.hostname in services, f"{node_name} points at a service outside the profile"
    assert url.port == container["port"]
    assert url.port in _container_port(services[url.hostname or ""])
    assert set(node["depends_on"]) >= {rpc.hostname, url.hostname}

    if "redis" in config:
        assert config["redis"]["host"] in services
        assert config["redis"]["port"] in _container_port(services[config["redis"]["host"]])


def test_profiles_are_alternatives_on_the_same_host_ports(compose: dict[str, Any]) -> None:
    for profile in PROFILES:
        published = [
            host for svc in _services_in(compose, profile).values() for host in _published(svc)
        ]
        assert sorted(published) == [3000, 4000, 8545], profile


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_node_config_passes_the_config_schema(compose: dict[str, Any], profile: str) -> None:
    """Both inline configs are valid Infernet Node 1.4 config.json (the devnode's schema)."""
    from infernet_devnode.config import parse_config

    loaded = parse_config(_config(compose, profile), environ={})

    assert [c.id for c in loaded.config.containers] == [CONTAINER_ID]
    assert loaded.config.chain.enabled


def _host_port(url: str) -> int:
    parts = urlsplit(url)
    assert parts.hostname == "127.0.0.1", url
    assert parts.port is not None, url
    return parts.port


def test_offline_profile_publishes_what_the_compose_description_says(
    compose: dict[str, Any],
) -> None:
    """`make e2e STACK=compose` tests the offline profile through COMPOSE_STACK: every published
    port is one it names, and each leads to the part it names."""
    described = COMPOSE_STACK
    services = _services_in(compose, "offline")
    node_name, _node = _node_service(compose, "offline")
    config = _config(compose, "offline")
    published = {
        host: (name, port)
        for name, svc in services.items()
        for host, port in _published(svc).items()
    }
    rpc, node, service = (
        _host_port(u) for u in (described.rpc_url, described.node_url, described.service_url)
    )
    assert set(published) == {rpc, node, service}
    assert described.backend_url is None  # the stand-in is published nowhere

    anvil_name, anvil_port = published[rpc]
    anvil = services[anvil_name]["command"]
    assert anvil[anvil.index("--port") + 1] == str(anvil_port)
    assert "--chain-id" not in anvil
    assert described.chain_id == 31337  # anvil's default
    assert not {"-b", "--block-time"} & set(anvil)
    assert described.block_time is None  # automine

    assert published[node] == (node_name, config["server"]["port"])

    service_name, service_port = published[service]
    assert f"--bind=0.0.0.0:{service_port}" in services[service_name]["command"]
    (container,) = config["containers"]
    assert container["id"] == described.container_id
    assert urlsplit(container["url"]).hostname == service_name
    assert container["port"] == service_port

    assert config["chain"]["registry_address"] == described.protocol.registry
    rpc_inside = urlsplit(config["chain"]["rpc_url"])
    assert (rpc_inside.hostname, rpc_inside.port) == (anvil_name, anvil_port)


FAILING_DOCKER = "#!/bin/sh\necho 'Cannot connect to the Docker daemon' >&2\nexit 1\n"


@pytest.mark.parametrize(
    ("docker", "why"),
    [
        pytest.param(None, "no `docker` command on PATH", id="no-docker-command"),
        pytest.param(FAILING_DOCKER, "no Docker engine answers", id="no-engine"),
    ],
)
def test_compose_run_without_an_engine_says_so_in_one_line_and_exits_0(
    tmp_path: Path, docker: str | None, why: str
) -> None:
    if docker is not None:
        (tmp_path / "docker").write_text(docker)
        (tmp_path / "docker").chmod(0o755)
    script = COMPOSE_FILE.parent / "scripts" / "run_e2e.py"

    done = subprocess.run(
        [sys.executable, str(script)],
        env={"PATH": str(tmp_path), "STACK": "compose"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    (line,) = done.stdout.splitlines()
    assert line.startswith("e2e: STACK=compose needs a Docker engine: ")
    assert why in line
