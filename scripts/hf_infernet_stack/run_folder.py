"""The run folder of a stack (`.run/` for `make up`): stack.json, config.json, logs/, the devnode
store and forge's broadcast records.

stack.json is the stack's description (description.py: what `make e2e STACK=` reads) plus,
under "launcher", every process as soon as it starts (pid + kernel start time), so `down` stops
exactly those processes even after a crash half-way through `up`, and never signals a recycled pid.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from .description import DescriptionError
from .description import StackDescription
from .description import read_description
from .processes import RunningProcess
from .processes import is_alive
from .stack_config import Urls

STATE_FILE = "stack.json"
# Files holding keys (stack.json, the devnode's config.json) are readable by their owner only.
PRIVATE_MODE = 0o600


def write_private(path: Path, text: str) -> None:
    """Write `text` to `path` readable and writable by the owner only, from the first byte.

    An existing file is truncated and narrowed to PRIVATE_MODE too, whatever mode it had.
    """
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_MODE)
    with os.fdopen(fd, "w") as f:
        os.fchmod(f.fileno(), PRIVATE_MODE)
        f.write(text)


def write_state(run_dir: Path, state: dict[str, Any]) -> None:
    """stack.json: a stack description holds keys, so it is private like config.json."""
    write_private(run_dir / STATE_FILE, json.dumps(state, indent=2) + "\n")


def load_state(run_dir: Path) -> dict[str, Any] | None:
    path = run_dir / STATE_FILE
    if not path.is_file():
        return None
    state: dict[str, Any] = json.loads(path.read_text())
    return state


def recorded_processes(run_dir: Path) -> list[RunningProcess]:
    state = load_state(run_dir) or {}
    # stack.json from before the description kept "processes" at the top level
    processes: dict[str, Any] = state.get("launcher", state).get("processes", {})
    return [
        RunningProcess(p["name"], p["pid"], p["start_ticks"], tuple(p["argv"]), p["log"])
        for p in processes.values()
    ]


def running_description(run_dir: Path) -> StackDescription | None:
    """The description of a stack `up` left running in run_dir, if all of it is alive."""
    procs = recorded_processes(run_dir)
    if not procs or not all(is_alive(p) for p in procs):
        return None
    try:
        return read_description(run_dir / STATE_FILE)
    except DescriptionError:
        return None  # written by an older `up`: treat it as not running, `down` still works


def running_stack(run_dir: Path) -> tuple[Urls, dict[str, str]] | None:
    """URLs and consumers of a stack `up` left running in run_dir, if all of it is alive."""
    described = running_description(run_dir)
    if described is None:
        return None
    urls = Urls(
        rpc=described.rpc_url,
        node=described.node_url,
        service=described.service_url,
        backend=described.backend_url,
        nodes=described.node_urls,
    )
    return urls, dict(described.consumers)


def clear_previous_run(run_dir: Path, log_dir: Path) -> None:
    """A fresh chain needs a fresh devnode store: the old one would hold deliveries for
    subscription ids that the new chain reuses, and the devnode would skip them."""
    for path in run_dir.glob("devnode*.sqlite*"):  # every node's (devnode, devnode-2, ...)
        path.unlink()
    for path in log_dir.glob("*.log"):
        path.unlink()
    shutil.rmtree(run_dir / "broadcast", ignore_errors=True)
