"""Where the real Foundry binaries (forge, anvil, cast) are.

The npm packages `@foundry-rs/<tool>` install a Node wrapper as `node_modules/.bin/<tool>` that
spawns the real binary and exits 0 whatever the binary returned, and whose pid is not the tool's.
So nothing here ever runs the wrapper. The rule, shared with the Makefile's `foundry_bin`:

1. the environment variable named after the tool in capitals (FORGE, ANVIL, CAST), if set;
2. the tool on PATH, unless that is itself an npm wrapper (a script, not a native binary);
3. the platform binary the npm package installed:
   `node_modules/@foundry-rs/<tool>-<os>-<arch>/bin/<tool>`.

Standard library only. `python -m hf_infernet_stack.foundry forge` prints the path.
"""

from __future__ import annotations

import os
import platform
import shutil
import sys
from pathlib import Path

from .repository import REPO

TOOLS = ("forge", "anvil", "cast")

# Every anvil the project starts (stack, tests, benchmarks) keeps chain states in memory only.
# Anvil keeps the last 500 there, which serves calls at recent blocks; by default it also writes
# up to 3,600 older whole-state snapshots under ~/.foundry/anvil/tmp and leaves them there when
# it stops: 300 MB after 2,000 empty blocks, gigabytes after a few thousand busy ones.
ANVIL_STATE_ARGS = ("--max-persisted-states", "0")

# Node's names for the machine, which the npm platform packages are named after.
_ARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


class FoundryNotFound(Exception):
    """The tool is neither configured, on PATH, nor installed by npm."""


def npm_platform_binary(tool: str, repo: Path = REPO) -> Path:
    """The native binary inside the npm platform package for this machine."""
    system = platform.system().lower()
    arch = _ARCH.get(platform.machine().lower(), platform.machine().lower())
    return repo / "node_modules" / "@foundry-rs" / f"{tool}-{system}-{arch}" / "bin" / tool


def is_npm_wrapper(path: str) -> bool:
    """True for the Node wrapper: it resolves to a script, not to an ELF or Mach-O binary."""
    try:
        with open(os.path.realpath(path), "rb") as f:
            return f.read(2) == b"#!"
    except OSError:
        return False


def foundry_tool(tool: str, repo: Path = REPO) -> str:
    """Absolute path of the real `tool` binary, by the rule in the module docstring."""
    if tool not in TOOLS:
        raise ValueError(f"unknown Foundry tool {tool!r} (expected one of {', '.join(TOOLS)})")
    configured = os.environ.get(tool.upper())
    if configured:
        path = Path(configured)
        return str(path if path.is_absolute() or os.sep not in configured else repo / path)
    on_path = shutil.which(tool)
    if on_path and not is_npm_wrapper(on_path):
        return on_path
    installed = npm_platform_binary(tool, repo)
    if installed.is_file():
        return str(installed)
    raise FoundryNotFound(
        f"{tool} not found: no native {tool} on PATH and no {installed.relative_to(repo)}"
        " (run `make setup`, which installs Foundry from npm)"
    )


def main(argv: list[str]) -> int:
    tools = argv or list(TOOLS)
    try:
        for tool in tools:
            print(foundry_tool(tool))
    except (FoundryNotFound, ValueError) as e:
        print(f"foundry: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
