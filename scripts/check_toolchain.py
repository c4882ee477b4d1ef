"""Prove that a failing forge test fails `make test-contracts`, so it can fail CI.

The npm Foundry wrappers exit 0 whatever forge returned; the Makefile runs the real binaries
instead (hf_infernet_stack.foundry). This check keeps it that way: in temporary minimal Foundry
projects (never the real tree) it runs `make test-contracts` on one whose test passes, which must
exit 0, and on one with a deliberately failing test, which must exit non-zero and say so.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from hf_infernet_stack.toolchain import make_test_contracts
from hf_infernet_stack.toolchain import write_project


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
