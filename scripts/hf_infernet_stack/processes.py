"""Processes of a stack: starting them in sessions of their own, readiness polling, a safe stop.

A process is identified by its pid plus the kernel's start time for it, so a recorded process is
never confused with a later one that reused the pid.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from typing import TypeVar

from .errors import StackError

LOCALHOST = "127.0.0.1"
STOP_GRACE_S = 5.0
POLL_FIRST_S = 0.005
POLL_CAP_S = 0.2

T = TypeVar("T")


@dataclass(frozen=True)
class RunningProcess:
    """A process we started: its pid plus the kernel start time that makes the pid unambiguous."""

    name: str
    pid: int
    start_ticks: int
    argv: tuple[str, ...]
    log: str

    @classmethod
    def of(cls, popen: subprocess.Popen[Any], name: str = "", log: str = "") -> RunningProcess:
        argv = popen.args if isinstance(popen.args, list | tuple) else [popen.args]
        return cls(name, popen.pid, start_ticks(popen.pid) or 0, tuple(map(str, argv)), log)


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


def spawn(
    argv: list[str],
    log: Path,
    *,
    name: str = "",
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> tuple[subprocess.Popen[Any], RunningProcess]:
    """Start `argv` in a session of its own (so a stop reaches its children too), its output
    appended to `log`."""
    with log.open("ab") as out:
        popen = subprocess.Popen(
            argv,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=cwd,
            env=None if env is None else dict(env),
            start_new_session=True,
        )
    return popen, RunningProcess.of(popen, name, str(log))


def _signal(proc: RunningProcess, sig: signal.Signals) -> None:
    # a process that leads its own session (spawn) is signalled with its whole group, which holds
    # exactly its own children (e.g. Hypercorn workers); any other only by its pid
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if os.getsid(proc.pid) == proc.pid:
            os.killpg(proc.pid, sig)
        else:
            os.kill(proc.pid, sig)


def _wait_gone(proc: RunningProcess, popen: subprocess.Popen[Any] | None, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if popen is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                popen.wait(timeout=0.05)
        if not is_alive(proc):
            return True
        time.sleep(0.05)
    return not is_alive(proc)


def stop_process(
    proc: RunningProcess | subprocess.Popen[Any],
    popen: subprocess.Popen[Any] | None = None,
    *,
    hard: bool = False,
    grace_s: float = STOP_GRACE_S,
) -> int | None:
    """SIGINT, then SIGTERM, then SIGKILL (only SIGKILL when `hard`), each with a bounded wait.

    `proc` is a recorded process (give its Popen too when this process started it, so it is
    reaped) or a Popen. Returns the exit code when the Popen is known.
    """
    if isinstance(proc, subprocess.Popen):
        popen = proc
    proc = proc if isinstance(proc, RunningProcess) else RunningProcess.of(proc)
    if popen is not None and popen.poll() is not None:
        return popen.returncode
    if is_alive(proc):
        leader = False
        with contextlib.suppress(ProcessLookupError, PermissionError):
            leader = os.getsid(proc.pid) == proc.pid
        steps = (signal.SIGKILL,) if hard else (signal.SIGINT, signal.SIGTERM, signal.SIGKILL)
        for sig in steps:
            if not is_alive(proc):
                break
            _signal(proc, sig)
            if _wait_gone(proc, popen, grace_s):
                break
        if leader:
            # the group may still hold workers whose leader already exited (the group id cannot
            # be reused while any member lives, so this reaches only what we started)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
    if popen is None:
        return None
    with contextlib.suppress(subprocess.TimeoutExpired):
        popen.wait(timeout=grace_s)
    return popen.returncode


def log_tail(path: str | Path, lines: int = 30) -> str:
    try:
        text = Path(path).read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


# ---------------------------------------------------------------- readiness


def wait_for(check: Callable[[], T | None], timeout_s: float = 10.0, what: str = "condition") -> T:
    """Poll `check` with capped backoff until it returns something truthy; returns that value.

    Raises:
        TimeoutError: naming `what`, when `timeout_s` passed first.
    """
    deadline = time.monotonic() + timeout_s
    delay = POLL_FIRST_S
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not reached within {timeout_s:g} s")
        time.sleep(delay)
        delay = min(delay * 2, POLL_CAP_S)


def wait_until(
    what: str,
    ready: Callable[[], bool],
    deadline_s: float,
    alive: Callable[[], bool] = lambda: True,
    log: str | None = None,
) -> None:
    """Wait for a component to become ready; fail fast, with its log's tail, if it died."""

    def ready_or_dead() -> bool:
        if ready():
            return True
        if not alive():
            tail = f"\n--- last lines of {log} ---\n{log_tail(log)}" if log else ""
            raise StackError(what, f"exited before becoming ready{tail}")
        return False

    try:
        wait_for(ready_or_dead, deadline_s, what)
    except TimeoutError:
        tail = f"\n--- last lines of {log} ---\n{log_tail(log)}" if log else ""
        raise StackError(what, f"not ready after {deadline_s:.0f} s{tail}") from None


# ---------------------------------------------------------------- ports


def free_ports(count: int) -> tuple[int, ...]:
    """`count` distinct ports the OS reports free right now (bound to port 0 at once)."""
    socks = [socket.socket() for _ in range(count)]
    try:
        for s in socks:
            s.bind((LOCALHOST, 0))
        return tuple(int(s.getsockname()[1]) for s in socks)
    finally:
        for s in socks:
            s.close()


def free_port() -> int:
    (port,) = free_ports(1)
    return port


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


def process_output(popen: subprocess.Popen[Any]) -> str:
    """What a finished process printed on its captured stderr, for an error message."""
    stream = popen.stderr
    return "" if stream is None else stream.read().decode(errors="replace")[-4000:]
