"""Prove that a failing forge test fails `make test-contracts`, so it can fail CI.

The npm Foundry wrappers exit 0 whatever forge returned; the Makefile runs the real binaries
instead (scripts/foundry.py). This check keeps it that way: in temporary minimal Foundry projects
(never the real tree) it runs `make test-contracts` on one whose test passes, which must exit 0,
and on one with a deliberately failing test, which must exit non-zero and say so.
Standard library only.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
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


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="toolchain-check-") as tmp:
        passing = make_test_contracts(write_project(Path(tmp) / "passing", failing=False))
        failing = make_test_contracts(write_project(Path(tmp) / "failing", failing=True))
    problems = []
    if passing.returncode != 0:
        problems.append(
            f"a passing forge test made `make test-contracts` exit {passing.returncode}"
        )
    if failing.returncode == 0:
        problems.append("a failing forge test did not fail `make test-contracts` (exit 0)")
    elif "test_fails_on_purpose" not in failing.stdout + failing.stderr:
        problems.append("`make test-contracts` failed, but not because of the failing test")
    if problems:
        for run in (passing, failing):
            print(run.stdout[-3000:], run.stderr[-3000:], sep="\n", file=sys.stderr)
        print("check-toolchain: " + "; ".join(problems), file=sys.stderr)
        return 1
    print("check-toolchain: `make test-contracts` fails on a failing forge test, passes otherwise")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
