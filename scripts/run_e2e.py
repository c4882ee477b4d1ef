"""`make e2e`: the end-to-end suite against one of three stacks.

    make e2e                              a local stack the suite starts and stops itself
    make e2e STACK=path/to/stack.json     a running stack, described by the file (`make up`
                                          writes .run/stack.json) or by STACK_* variables;
                                          nothing is started or stopped
    make e2e STACK=compose                docker-compose.yml's offline profile: images built
                                          offline, brought up, described, tested, taken down
                                          (scripts/compose_network.py)

Without a Docker engine, STACK=compose prints one line and exits 0 on a developer's machine: the
suite was not run, which is not a failure of the suite. In CI (CI set) that line is a failure:
CI installs and starts an engine, so a run that tests nothing there hides a broken setup.
Arguments after `--` go to pytest.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from compose_network import down
from compose_network import up
from hf_infernet_stack.compose import COMPOSE_STACK
from hf_infernet_stack.compose import docker_missing
from hf_infernet_stack.errors import StackError
from hf_infernet_stack.repository import REPO
from hf_infernet_stack.run_folder import STATE_FILE
from hf_infernet_stack.run_folder import write_state

COMPOSE_RUN_DIR = REPO / ".run" / "compose"
# what `make e2e` builds before the other two modes (contract artifacts, infernet-client venv)
PREPARE = ["make", "--no-print-directory", "build", ".venv-client/.stamp"]
# pytest's exit status when it collected no test
NO_TESTS_COLLECTED = 5


def pytest(args: list[str], env: dict[str, str]) -> int:
    return subprocess.call([sys.executable, "-m", "pytest", "e2e", *args], cwd=REPO, env=env)


def run_compose(args: list[str]) -> int:
    missing = docker_missing()
    if missing is not None:
        print(f"e2e: STACK=compose needs a Docker engine: {missing}; nothing was run")
        if os.environ.get("CI"):
            print("e2e: in CI the compose network must run: failing", file=sys.stderr)
            return 1
        return 0
    if subprocess.call(PREPARE, cwd=REPO) != 0:
        return 1
    COMPOSE_RUN_DIR.mkdir(parents=True, exist_ok=True)
    write_state(COMPOSE_RUN_DIR, COMPOSE_STACK.to_data())
    described = COMPOSE_RUN_DIR / STATE_FILE
    try:
        up()
        code = pytest(args, dict(os.environ, STACK=str(described)))
        return 1 if code == NO_TESTS_COLLECTED else code
    except StackError as e:
        print(f"e2e: {e}", file=sys.stderr)
        return 1
    finally:
        try:
            down()
        except StackError as e:
            print(f"e2e: {e}", file=sys.stderr)


def main(argv: list[str]) -> int:
    args = argv[1:] if argv[:1] == ["--"] else argv
    stack = os.environ.get("STACK", "")
    if stack == "compose":
        return run_compose(args)
    if stack and not Path(stack).is_file():
        print(f"e2e: STACK={stack}: no such description file", file=sys.stderr)
        return 2
    return pytest(args, dict(os.environ))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
