"""Console entry point: `hf-inference-client-service [hypercorn options]`.

The node's container `command` (e.g. `--bind=0.0.0.0:3000 --workers=2`) is handed to Hypercorn's
own argument parser, so every option means exactly what it means to Hypercorn. Two defaults
differ from bare Hypercorn: without a bind the service listens on 0.0.0.0:3000 (the port Infernet
containers use), without a worker class it uses `uvloop` when installed (measured about a
third less CPU per request than asyncio's default loop), and one worker (the default) is served in
this very process (Hypercorn's `--workers 0`), so killing it leaves nothing behind. With more
workers, each exits when this process dies (see `lifetime`).

This module reads the configuration only: the app is loaded by whoever serves it.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Sequence

from hypercorn.__main__ import main as hypercorn_main

from .config import ServiceConfig
from .errors import InvalidField

__all__ = ["APPLICATION", "DEFAULT_BIND", "main"]

DEFAULT_BIND = "0.0.0.0:3000"
# Each Hypercorn worker process imports this and calls the factory (config from the env).
APPLICATION = "hf_inference_client_service.app:create_app()"


def _has_bind(args: Sequence[str]) -> bool:
    return any(a in ("-b", "--bind") or a.startswith(("--bind=", "-b")) for a in args)


def _has_worker_class(args: Sequence[str]) -> bool:
    return any(
        a in ("-k", "--worker-class") or a.startswith(("--worker-class=", "-k")) for a in args
    )


def _single_process(args: list[str]) -> list[str]:
    """`args` serving in this process when they ask for one worker (or do not say)."""
    kept: list[str] = []
    workers = "1"
    skip = False
    for i, arg in enumerate(args):
        if skip:
            skip = False
            continue
        if arg in ("-w", "--workers"):
            workers = args[i + 1] if i + 1 < len(args) else workers
            skip = True
        elif arg.startswith("--workers="):
            workers = arg.removeprefix("--workers=")
        elif arg.startswith("-w") and arg[2:].isdigit():
            workers = arg[2:]
        else:
            kept.append(arg)
            continue
    if workers.strip() == "1":
        return ["--workers=0", *kept]
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Validate the environment, then run Hypercorn with the given options."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        ServiceConfig.from_env()
    except InvalidField as e:
        print(f"hf-inference-client-service: invalid configuration: {e}", file=sys.stderr)
        return 2
    if not _has_bind(args):
        args.insert(0, f"--bind={DEFAULT_BIND}")
    if not _has_worker_class(args) and importlib.util.find_spec("uvloop") is not None:
        args.insert(0, "--worker-class=uvloop")
    return hypercorn_main([*_single_process(args), APPLICATION])


if __name__ == "__main__":
    sys.exit(main())
