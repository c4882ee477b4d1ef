"""``infernet-devnode --config PATH``: run a devnode until SIGINT/SIGTERM.

Exit codes: 0 after a graceful stop, 1 when a component fails, 2 for an invalid config.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import os
import signal
import sys
from collections.abc import Coroutine
from collections.abc import Sequence
from typing import Any

from .app import Node
from .config import NodeConfig
from .config import load_config
from .errors import ConfigError
from .errors import NodeError
from .logs import configure_logging

__all__ = ["main"]

log = logging.getLogger("infernet_devnode")

EXIT_FAILED = 1
EXIT_BAD_CONFIG = 2
# Allocations (net of frees) between two young-generation collections; Python's default is
# 700. At 32 jobs in flight the objects of the jobs under way outnumber 700, so each collection
# walked them and promoted them to older generations, to be walked again; at this threshold
# nearly all of them are freed by reference counting first. It bounds the cyclic garbage
# waiting for a collection to this many objects (a few MiB).
GC_YOUNG_THRESHOLD = 20_000


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="infernet-devnode",
        description="A local Infernet node, wire-compatible with Infernet Node 1.4.",
    )
    parser.add_argument(
        "--config",
        default=os.environ.get("INFERNET_CONFIG_PATH", "config.json"),
        help="path to config.json (default: $INFERNET_CONFIG_PATH, else ./config.json)",
    )
    args = parser.parse_args(argv)
    try:
        loaded = load_config(args.config)
    except ConfigError as e:
        print(f"infernet-devnode: {e}", file=sys.stderr)
        return EXIT_BAD_CONFIG
    config = loaded.config
    configure_logging(config.log, config.secrets(), log_file="path" in config.log.model_fields_set)
    for warning in loaded.warnings:
        log.warning("%s", warning)
    _install_fast_loop()
    try:
        asyncio.run(_serve(config))
    except NodeError as e:
        log.error("devnode stopped: %s", e)
        return EXIT_FAILED
    except OSError as e:
        log.error("devnode stopped: %s", e)
        return EXIT_FAILED
    return 0


async def _serve(config: NodeConfig) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    node = Node(config)
    try:
        # REST serves while the chain side starts (docs/devnode.md, "Start, sync and health"):
        # a signal then stops the node without waiting for the chain side.
        if await _unless_stopped(node.start(), stop):
            # What startup built (modules, config, routes) lives as long as the process: out
            # of the collector's sight, each collection walks only what the jobs allocate.
            gc.freeze()
            gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])
            await stop.wait()
        log.info("devnode stopping")
    finally:
        await node.stop()


async def _unless_stopped(work: Coroutine[Any, Any, None], stop: asyncio.Event) -> bool:
    """Run ``work`` until it ends (True; its error is raised) or ``stop`` is set first (False;
    ``work`` is cancelled)."""
    task = asyncio.ensure_future(work)
    stopped = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopped.cancel()
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    if task.cancelled():
        return False
    task.result()
    return True


def _install_fast_loop() -> None:
    """uvloop roughly halves the per-request cost of the event loop; plain asyncio otherwise."""
    try:
        import uvloop
    except ImportError:
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


if __name__ == "__main__":
    sys.exit(main())
