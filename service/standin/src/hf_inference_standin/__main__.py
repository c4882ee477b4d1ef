"""Console entry point: `hf-inference-standin --port N [--host 127.0.0.1]`.

With `--port 0` the OS picks the port. The first line on stdout is `listening on
http://HOST:PORT`, so scripts and tests can read the port back. SIGINT/SIGTERM stop it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import socket
import sys
from collections.abc import Sequence

from aiohttp import web

from .server import create_app

__all__ = ["main", "serve"]


async def serve(host: str, port: int) -> None:
    """Serve until SIGINT/SIGTERM, announcing the bound address first."""
    runner = web.AppRunner(create_app(), access_log=None)
    await runner.setup()
    # Bound here, not by the site, so that `--port 0` can announce the port the OS picked.
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    await web.SockSite(runner, sock).start()
    bound_host, bound_port = sock.getsockname()[:2]
    print(f"listening on http://{bound_host}:{bound_port}", flush=True)
    print("offline Hugging Face stand-in: deterministic answers, not a model", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def main(argv: Sequence[str] | None = None) -> int:
    """CLI: `hf-inference-standin --port N [--host H]`."""
    parser = argparse.ArgumentParser(
        prog="hf-inference-standin",
        description="Offline stand-in for Hugging Face inference (deterministic, not a model).",
    )
    parser.add_argument("--port", type=int, required=True, help="TCP port; 0 picks a free one")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    args = parser.parse_args(argv)
    asyncio.run(serve(args.host, args.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
