"""`make demo`: bring the local stack up, run every flow for every task, print the answers.

Uses a stack already started by `make up` when there is one (and leaves it running); otherwise
starts one in .run/ and stops it at the end unless KEEP=1. Exits non-zero if any flow fails.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from hf_infernet_stack.demo import Demo
from hf_infernet_stack.errors import DeployError
from hf_infernet_stack.errors import StackError
from hf_infernet_stack.local_stack import Stack
from hf_infernet_stack.repository import DEFAULT_RUN_DIR
from hf_infernet_stack.run_folder import running_stack
from hf_infernet_stack.stack_config import StackConfig


def main() -> int:
    t0 = time.monotonic()
    run_dir = Path(os.environ.get("RUN_DIR", DEFAULT_RUN_DIR)).resolve()
    running = running_stack(run_dir)
    started: Stack | None = None
    if running is not None:
        urls, consumers = running
        print(f"demo: using the stack already running from {run_dir} (it stays up)")
    else:
        config = StackConfig.from_env(run_dir)
        started = Stack(config)
        try:
            started.start()
        except (StackError, DeployError) as e:
            print(f"demo: the stack did not start: {e}", file=sys.stderr)
            return 1
        urls, consumers = started.urls, started.consumers
        print(started.summary())
    keep = bool(os.environ.get("KEEP")) and started is not None
    failed = True
    try:
        demo = Demo(urls, consumers)
        demo.all_flows()
        print(demo.scorecard())
        failed = any(not o.ok for o in demo.outcomes)
    finally:
        if started is not None and not keep:
            print("demo: stopping the stack (KEEP=1 keeps it running)")
            started.stop()
        elif started is not None:
            started.detach()
            print(f"demo: the stack keeps running (run folder {run_dir}); `make down` stops it")
    print(f"demo: finished in {time.monotonic() - t0:.0f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
