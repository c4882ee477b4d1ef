"""What the compose network's images are built from, made on this machine, offline.

Every image of docker-compose.yml's offline profile is built from this repository alone; no build
step reaches a network. Before `docker compose build`, this module makes the build inputs under
`.images/` (ignored by git; the only part of the tree the build context admits, see
.dockerignore):

    .images/wheels/   a wheel of every Python package the images install (the service, the
                      stand-in, the devnode and all their dependencies), built here with
                      constraints.txt, the pins `make setup` uses, plus that constraints file
    .images/chain/    the anvil binary the project runs and state.json: a chain holding the
                      Infernet protocol at infernet-anvil's addresses, deployed by the project's
                      own DeployProtocol.s.sol on a fresh anvil, so it never drifts from the
                      contracts

Each input is rebuilt only when what it is made from changed (a digest per input in
`.images/inputs.json`). The images start from BASE_IMAGE (python:3.11-slim by default); where
that cannot be pulled, `base_image()` makes an equivalent from Debian's packages with debootstrap
(Debian 12's Python 3.11) and imports it, once.

    python scripts/images.py prepare    the inputs above
    python scripts/images.py base       print the base image to build on, making it if needed
    python scripts/images.py local-base make the local Debian base image (debootstrap)
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

from hf_infernet_stack.accounts import DEPLOYER_KEY
from hf_infernet_stack.errors import DeployError
from hf_infernet_stack.errors import StackError
from hf_infernet_stack.forge import check_protocol
from hf_infernet_stack.forge import forge_script
from hf_infernet_stack.foundry import ANVIL_STATE_ARGS
from hf_infernet_stack.foundry import foundry_tool
from hf_infernet_stack.processes import LOCALHOST
from hf_infernet_stack.processes import free_port
from hf_infernet_stack.processes import wait_until
from hf_infernet_stack.repository import REPO
from hf_infernet_stack.rpc import connect
from hf_infernet_stack.rpc import rpc_ok

IMAGES_DIR = REPO / ".images"
WHEELS_DIR = IMAGES_DIR / "wheels"
CHAIN_DIR = IMAGES_DIR / "chain"
INPUTS_FILE = IMAGES_DIR / "inputs.json"
CONSTRAINTS = REPO / "constraints.txt"
# The Python packages the images install, as pip names them: each image installs one of them
# from the wheel folder and takes its dependencies from there too.
PACKAGES = (REPO / "service", REPO / "service" / "standin", REPO / "node")

DEFAULT_BASE_IMAGE = "python:3.11-slim"
# Made from Debian 12 packages where the default cannot be pulled: Python 3.11 (its venv module
# included, which the Dockerfiles use) and CA certificates, nothing else.
LOCAL_BASE_IMAGE = "hf-infernet/debian-python:3.11-bookworm"
LOCAL_BASE_SUITE = "bookworm"
LOCAL_BASE_PACKAGES = ("python3", "python3-venv", "python-is-python3", "ca-certificates")
# What debootstrap leaves that an image does not need: the package cache and lists, docs.
LOCAL_BASE_PRUNE = (
    "var/cache/apt/archives",
    "var/lib/apt/lists",
    "usr/share/doc",
    "usr/share/man",
    "usr/share/locale",
)

WHEEL_TIMEOUT_S = 900.0
DEBOOTSTRAP_TIMEOUT_S = 1200.0
DOCKER_TIMEOUT_S = 300.0
CHAIN_DEADLINE_S = 60.0
DEPLOY_TIMEOUT_S = 900.0


class ImageError(Exception):
    """An image input or the base image could not be made; names the step and the reason."""

    def __init__(self, step: str, reason: str) -> None:
        super().__init__(f"{step}: {reason}")
        self.step = step
        self.reason = reason


def say(msg: str) -> None:
    """Progress, on stderr: `images.py base` prints only the image name on stdout."""
    print(f"images: {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- what inputs are made from


# Never part of an input: caches and what an editable install or a build leaves in src/.
_SKIP = ("__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", "*.egg-info")


def _files(roots: Iterable[Path]) -> list[Path]:
    found: list[Path] = []
    for root in roots:
        if root.is_file():
            found.append(root)
            continue
        for path in root.rglob("*"):
            parts = path.relative_to(root).parts
            skipped = any(fnmatch.fnmatch(part, pattern) for part in parts for pattern in _SKIP)
            if path.is_file() and not skipped:
                found.append(path)
    return sorted(found)


def digest(roots: Iterable[Path]) -> str:
    """sha256 over the relative paths and contents of every file under `roots`."""
    h = hashlib.sha256()
    for path in _files(roots):
        h.update(str(path.relative_to(REPO)).encode() + b"\0")
        h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


def wheel_sources() -> list[Path]:
    sources = [CONSTRAINTS]
    for package in PACKAGES:
        sources += [package / "pyproject.toml", package / "src"]
    return sources


def chain_sources() -> list[Path]:
    """What the deployed protocol is made of: the contracts, the deploy script, the compiler
    settings, and the anvil binary that runs and dumps the chain."""
    return [
        REPO / "contracts" / "protocol",
        REPO / "scripts" / "DeployProtocol.s.sol",
        REPO / "foundry.toml",
        REPO / "package-lock.json",
    ]


def _recorded() -> dict[str, str]:
    try:
        data = json.loads(INPUTS_FILE.read_text())
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, str)}


def _record(name: str, value: str) -> None:
    recorded = _recorded()
    recorded[name] = value
    INPUTS_FILE.write_text(json.dumps(recorded, indent=2, sort_keys=True) + "\n")


# ---------------------------------------------------------------- wheels


def build_wheels(python: str = sys.executable) -> None:
    """Every package the images install, as wheels, pinned by constraints.txt."""
    made_from = digest(wheel_sources())
    if _recorded().get("wheels") == made_from and any(WHEELS_DIR.glob("*.whl")):
        say(f"wheels: up to date in {WHEELS_DIR.relative_to(REPO)}")
        return
    say("wheels: building the service, the stand-in, the devnode and their dependencies")
    shutil.rmtree(WHEELS_DIR, ignore_errors=True)
    WHEELS_DIR.mkdir(parents=True)
    with tempfile.TemporaryDirectory(prefix="sources-", dir=IMAGES_DIR) as tmp:
        # Built from copies of exactly what the digest covers: an in-tree build would leave a
        # build/ folder behind, whose stale files later wheels would take in.
        sources = []
        for package in PACKAGES:
            copy = Path(tmp) / package.relative_to(REPO)
            shutil.copytree(package / "src", copy / "src", ignore=shutil.ignore_patterns(*_SKIP))
            shutil.copyfile(package / "pyproject.toml", copy / "pyproject.toml")
            sources.append(str(copy))
        argv = [
            python,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--disable-pip-version-check",
            "--constraint",
            str(CONSTRAINTS),
            "--wheel-dir",
            str(WHEELS_DIR),
            *sources,
        ]
        try:
            done = subprocess.run(argv, cwd=REPO, timeout=WHEEL_TIMEOUT_S, check=False)
        except subprocess.TimeoutExpired:
            raise ImageError("wheels", f"pip wheel took over {WHEEL_TIMEOUT_S:.0f} s") from None
    if done.returncode != 0:
        raise ImageError("wheels", f"pip wheel exited with {done.returncode} (output above)")
    shutil.copyfile(CONSTRAINTS, WHEELS_DIR / "constraints.txt")
    _record("wheels", made_from)
    say(f"wheels: {len(list(WHEELS_DIR.glob('*.whl')))} in {WHEELS_DIR.relative_to(REPO)}")


# ---------------------------------------------------------------- the chain


def linux_anvil() -> Path:
    """The anvil binary the project runs, which the chain image runs too: it must be Linux's."""
    if platform.system() != "Linux":
        raise ImageError(
            "chain",
            "the chain image takes the project's anvil binary, which is Linux's only on Linux; "
            "build the images on a Linux machine",
        )
    return Path(foundry_tool("anvil"))


def build_chain_state() -> None:
    """.images/chain/: anvil and a state file holding the protocol at infernet-anvil's addresses."""
    anvil = linux_anvil()
    made_from = digest([*chain_sources(), anvil])
    state = CHAIN_DIR / "state.json"
    if _recorded().get("chain") == made_from and state.is_file():
        say(f"chain: up to date in {CHAIN_DIR.relative_to(REPO)}")
        return
    say("chain: deploying the protocol on a fresh anvil (DeployProtocol.s.sol) and saving it")
    CHAIN_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="chain-", dir=IMAGES_DIR) as tmp:
        work = Path(tmp)
        dumped = work / "state.json"
        _deploy_and_dump(anvil, dumped, work)
        json.loads(dumped.read_text())  # a complete dump, not one cut short
        shutil.copyfile(anvil, CHAIN_DIR / "anvil")
        (CHAIN_DIR / "anvil").chmod(0o755)
        dumped.replace(state)
    _record("chain", made_from)
    say(f"chain: {state.relative_to(REPO)} ({state.stat().st_size // 1024} KiB)")


def _deploy_and_dump(anvil: Path, dumped: Path, work: Path) -> None:
    port = free_port()
    rpc = f"http://{LOCALHOST}:{port}"
    log = work / "anvil.log"
    argv = [str(anvil), "--host", LOCALHOST, "--port", str(port), *ANVIL_STATE_ARGS]
    argv += ["--dump-state", str(dumped)]
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_until("anvil", lambda: rpc_ok(rpc), CHAIN_DEADLINE_S, lambda: proc.poll() is None)
        forge_script(
            "DeployProtocol.s.sol",
            rpc,
            DEPLOYER_KEY,
            work / "broadcast",
            work / "deploy.log",
            DEPLOY_TIMEOUT_S,
        )
        check_protocol(connect(rpc))
    except (StackError, DeployError) as e:
        raise ImageError("chain", str(e)) from None
    finally:
        # anvil writes --dump-state when it is interrupted
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=CHAIN_DEADLINE_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if proc.returncode != 0 or not dumped.is_file():
        raise ImageError("chain", f"anvil exited with {proc.returncode} without a state ({log})")


def prepare() -> None:
    """Every build input the Dockerfiles copy (needs `make build`'s artifacts for the deploy)."""
    IMAGES_DIR.mkdir(exist_ok=True)
    build_wheels()
    build_chain_state()


# ---------------------------------------------------------------- the base image


def _docker(*args: str, timeout: float = DOCKER_TIMEOUT_S) -> subprocess.CompletedProcess[str]:
    docker = shutil.which("docker")
    if docker is None:
        raise ImageError("docker", "no `docker` command on PATH")
    try:
        return subprocess.run(
            [docker, *args], capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        raise ImageError("docker", f"`docker {args[0]}` took over {timeout:.0f} s") from None


def prune_replaced(label: str) -> None:
    """Remove the untagged images carrying `label`: earlier builds a rebuild replaced. Images
    without the label, or still tagged or used by a container, are left alone."""
    pruned = _docker("image", "prune", "--force", "--filter", f"label={label}")
    if pruned.returncode != 0:
        say(f"could not remove replaced images: {pruned.stderr.strip()}")


def image_present(image: str) -> bool:
    return _docker("image", "inspect", "--format", "{{.Id}}", image).returncode == 0


def base_image(environ: dict[str, str] | None = None) -> str:
    """The image the Dockerfiles build on: BASE_IMAGE if set (it must be present or pullable);
    else python:3.11-slim if present or pullable; else the local Debian base, made if missing."""
    env = os.environ if environ is None else environ
    wanted = env.get("BASE_IMAGE", "")
    if wanted:
        if image_present(wanted) or _docker("pull", "--quiet", wanted).returncode == 0:
            return wanted
        raise ImageError("base image", f"BASE_IMAGE={wanted} is neither present nor pullable")
    if image_present(DEFAULT_BASE_IMAGE):
        return DEFAULT_BASE_IMAGE
    pulled = _docker("pull", "--quiet", DEFAULT_BASE_IMAGE)
    if pulled.returncode == 0:
        return DEFAULT_BASE_IMAGE
    if not image_present(LOCAL_BASE_IMAGE):
        why = " ".join(pulled.stderr.split())[:200] or "no registry answered"
        say(f"{DEFAULT_BASE_IMAGE} cannot be pulled ({why})")
        make_local_base()
    return LOCAL_BASE_IMAGE


def make_local_base() -> None:
    """LOCAL_BASE_IMAGE from Debian packages: debootstrap a minimal root, prune it, import it."""
    debootstrap = shutil.which("debootstrap")
    if debootstrap is None:
        raise ImageError(
            "local base",
            "debootstrap is not installed (as root: apt-get install debootstrap), "
            f"or set BASE_IMAGE to a Python 3.11 image you have (e.g. {DEFAULT_BASE_IMAGE})",
        )
    if os.geteuid() != 0:
        raise ImageError("local base", "debootstrap must run as root (sudo make base-image)")
    say(
        f"local base: making {LOCAL_BASE_IMAGE} from Debian {LOCAL_BASE_SUITE} packages "
        "with debootstrap (a few minutes, once per machine)"
    )
    with tempfile.TemporaryDirectory(prefix="base-") as tmp:
        root = Path(tmp) / "root"
        argv = [
            debootstrap,
            "--variant=minbase",
            f"--include={','.join(LOCAL_BASE_PACKAGES)}",
            LOCAL_BASE_SUITE,
            str(root),
        ]
        log = Path(tmp) / "debootstrap.log"
        try:
            with log.open("wb") as out:
                done = subprocess.run(
                    argv, stdout=out, stderr=subprocess.STDOUT, timeout=DEBOOTSTRAP_TIMEOUT_S
                )
        except subprocess.TimeoutExpired:
            raise ImageError(
                "local base", f"debootstrap did not finish in {DEBOOTSTRAP_TIMEOUT_S:.0f} s"
            ) from None
        if done.returncode != 0:
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])
            raise ImageError("local base", f"debootstrap exited with {done.returncode}:\n{tail}")
        for rel in LOCAL_BASE_PRUNE:
            target = root / rel
            if target.is_dir():
                for child in target.iterdir():
                    if child.is_dir() and not child.is_symlink():
                        shutil.rmtree(child)
                    else:
                        child.unlink()
        _import_root(root)
    say(f"local base: {LOCAL_BASE_IMAGE} ready")


def _import_root(root: Path) -> None:
    docker = shutil.which("docker") or "docker"
    tar = subprocess.Popen(
        ["tar", "--numeric-owner", "-C", str(root), "-c", "."], stdout=subprocess.PIPE
    )
    assert tar.stdout is not None
    try:
        imported = subprocess.run(
            [
                docker,
                "import",
                "--change",
                "ENV LANG=C.UTF-8",
                "--change",
                'CMD ["python3"]',
                "-",
                LOCAL_BASE_IMAGE,
            ],
            stdin=tar.stdout,
            capture_output=True,
            text=True,
            timeout=DOCKER_TIMEOUT_S,
            check=False,
        )
    finally:
        tar.stdout.close()
        tar.wait()
    if imported.returncode != 0 or tar.returncode != 0:
        raise ImageError("local base", f"docker import failed: {imported.stderr.strip()}")


# ---------------------------------------------------------------- command line


def main(argv: list[str]) -> int:
    commands = {"prepare", "base", "local-base"}
    if len(argv) != 1 or argv[0] not in commands:
        print(__doc__)
        return 2
    try:
        if argv[0] == "prepare":
            prepare()
        elif argv[0] == "base":
            print(base_image())
        else:
            make_local_base()
    except ImageError as e:
        print(f"images: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
