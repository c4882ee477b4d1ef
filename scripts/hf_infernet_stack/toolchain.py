"""Minimal Foundry projects that prove a failing forge test fails `make test-contracts`
(scripts/check_toolchain.py runs the proof; its tests reuse the projects)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from .repository import REPO

SOLC_SHIM = REPO / "scripts" / "solc-shim" / "solc"

_PASSING = """
    function test_passes() public pure {
        require(1 + 1 == 2, "arithmetic");
    }
"""
_FAILING = """
    function test_fails_on_purpose() public pure {
        revert("this test fails on purpose");
    }
"""


def write_project(root: Path, *, failing: bool) -> Path:
    """A Foundry project of one test contract (no libraries) compiled with the project's shim."""
    (root / "test").mkdir(parents=True, exist_ok=True)
    (root / "foundry.toml").write_text(
        "[profile.default]\n"
        'src = "test"\ntest = "test"\nout = "out"\ncache_path = "cache"\nlibs = []\n'
        f'solc = "{SOLC_SHIM}"\noffline = true\n'
    )
    body = _PASSING + (_FAILING if failing else "")
    (root / "test" / "Toolchain.t.sol").write_text(
        "// SPDX-License-Identifier: MIT\npragma solidity ^0.8.0;\n\n"
        f"contract ToolchainTest {{{body}}}\n"
    )
    return root


def make_test_contracts(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            "make",
            "-C",
            str(REPO),
            "--no-print-directory",
            "test-contracts",
            f"FORGE_TEST_ARGS=--root {root}",
        ],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=False,
        env={k: v for k, v in os.environ.items() if not k.startswith("MAKE")},
    )
