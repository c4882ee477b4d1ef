"""Processes of the local stack: start records, readiness polling, and a safe stop.

A process is identified by its pid plus the kernel's start time for it, so a recorded process is
never confused with a later one that reused the pid.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

LOCALHOST = "127.0.0.1"
STOP_GRACE_S = 5.0
POLL_CAP_S = 0.5


class StackError(Exception):
    """A stack component could not start or stop; names the component and the reason."""

    def __init__(self, component: str, reason: str) -> None:
        super().__init__(f"{component}: {reason}")
        self.component = component
        self.reason = reason


# ---------------------------------------------------------------- processes


@dataclass(frozen=True)
class RunningProcess:
    """A process we started: its pid plus the kernel start time that makes the pid unambiguous."""

    name: str
    pid: int
    start_ticks: int
    argv: tuple[str, ...]
    log: str


def start_ticks(pid: int) -> int | None:
    """Field 22 of /proc/<pid>/stat (start time), or None when the pid is gone or a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # the command name (field 2) may contain spaces; it is wrapped in the last parentheses
    rest = stat[stat.rindex(")") + 2 :].split()
    if rest[0] in ("Z", "X"):
        return None
    return int(rest[19])


def is_alive(proc: RunningProcess) -> bool:
    return start_ticks(proc.pid) == proc.start_ticks


def _signal_group(proc: RunningProcess, sig: signal.Signals) -> None:
    # each process leads its own session (start_new_session), so its group id is its pid and
    # holds exactly its own children (e.g. Hypercorn workers)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


def _wait_gone(
    proc: RunningProcess, children: dict[int, subprocess.Popen[bytes]], timeout: float
) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        popen = children.get(proc.pid)
        if popen is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                popen.wait(timeout=0.05)
        if not is_alive(proc):
            return True
        time.sleep(0.05)
    return not is_alive(proc)


def stop_process(
    proc: RunningProcess, children: dict[int, subprocess.Popen[bytes]] | None = None
) -> None:
    """SIGINT, then SIGTERM, then SIGKILL, each with a bounded wait."""
    children = children or {}
    if not is_alive(proc):
        # gone already (or its pid now belongs to someone else): signal nothing
        popen = children.pop(proc.pid, None)
        if popen is not None:
            popen.poll()
        return
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
        if not is_alive(proc):
            break
        _signal_group(proc, sig)
        if _wait_gone(proc, children, STOP_GRACE_S):
            break
    # the group may still hold workers whose leader already exited (the group id cannot be
    # reused while any member lives, so this reaches only what we started)
    _signal_group(proc, signal.SIGKILL)
    popen = children.pop(proc.pid, None)
    if popen is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            popen.wait(timeout=STOP_GRACE_S)


def log_tail(path: str | Path, lines: int = 30) -> str:
    try:
        text = Path(path).read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


# ---------------------------------------------------------------- readiness


def wait_until(
    what: str,
    ready: Callable[[], bool],
    deadline_s: float,
    alive: Callable[[], bool] = lambda: True,
    log: str | None = None,
) -> None:
    """Poll `ready` with capped backoff until it holds; fail fast if the process died."""
    deadline = time.monotonic() + deadline_s
    delay = 0.02
    while True:
        if ready():
            return
        if not alive():
            tail = f"\n--- last lines of {log} ---\n{log_tail(log)}" if log else ""
            raise StackError(what, f"exited before becoming ready{tail}")
        if time.monotonic() > deadline:
            tail = f"\n--- last lines of {log} ---\n{log_tail(log)}" if log else ""
            raise StackError(what, f"not ready after {deadline_s:.0f} s{tail}")
        time.sleep(delay)
        delay = min(delay * 2, POLL_CAP_S)


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as resp:  # noqa: S310 (our own local URL)
            return bool(200 <= resp.status < 300)
    except (urllib.error.URLError, OSError, ValueError):
        return False


def rpc_ok(url: str) -> bool:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}).encode()
    req = urllib.request.Request(  # noqa: S310 (our own local URL)
        url, data=body, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(req, timeout=1) as resp:  # noqa: S310
            return "result" in json.loads(resp.read())
    except (urllib.error.URLError, OSError, ValueError):
        return False


def ensure_port_free(component: str, port: int, env_var: str) -> None:
    with socket.socket() as s:
        # servers set SO_REUSEADDR, so only a listener (not TIME_WAIT leftovers) makes a port busy
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((LOCALHOST, port))
        except OSError:
            raise StackError(
                component,
                f"port {port} on {LOCALHOST} is busy; stop whatever uses it or pick another "
                f"port with {env_var}=N (or --{env_var.lower().replace('_', '-')} N)",
            ) from None
