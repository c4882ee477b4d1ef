"""The node process: builds every component from the config, starts and stops them in order.

Start: open the store (jobs left running by a previous process become failed "node
restarted"), open the container client, start the chain component when ``chain.enabled``,
then serve REST. Stop: the reverse; safe to call twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import sqlite3
from enum import IntEnum

from aiohttp import web

from .api import ApiRunner
from .api import create_app
from .capacity import CallLimits
from .components import ChainComponent
from .components import ChainFactory
from .components import NodeContext
from .config import NodeConfig
from .connections import ConnectionCap
from .connections import default_max_connections
from .containers import ContainerClient
from .errors import StoreUnavailable
from .guardian import Guardian
from .jobs import OffchainJobs
from .metrics import Metrics
from .store import JobRecords
from .store import Store

__all__ = ["Node"]

log = logging.getLogger(__name__)

# Jobs past ``storage.retention`` are deleted every ``retention`` seconds, kept within these
# bounds: a short retention is honoured within about a second, a long one costs one query a minute.
PRUNE_PERIOD_MIN_S = 1.0
PRUNE_PERIOD_MAX_S = 60.0
# Listen backlog: a burst of thousands of concurrent clients is queued by the kernel instead of
# their connection attempts being dropped and retried a second later (Linux caps it at
# net.core.somaxconn, 4096 by default).
LISTEN_BACKLOG = 4096
# On stop, requests still in progress (e.g. a stream) get this long before being cut.
SHUTDOWN_GRACE_S = 2.0
# After answering a request whose body was not read in full (408, 413), aiohttp reads and drops
# the rest for this long before closing, so the client gets the answer instead of a reset; it
# bounds what a trickling client costs after server.body_timeout (aiohttp's default is 10 s).
LINGERING_S = 2.0


class _State(IntEnum):
    NEW = 0
    STARTED = 1
    STOPPED = 2


class Node:
    """One devnode: store, containers, jobs, optional chain side, REST server."""

    def __init__(self, config: NodeConfig, chain_factory: ChainFactory | None = None) -> None:
        self.config = config
        # A test seam: the chain side is ChainSide unless a test passes a stand-in.
        self._chain_factory = chain_factory or _chain_side
        self._state = _State.NEW
        self.metrics = Metrics()
        self.store = Store(config.storage.path)
        self.containers = ContainerClient(
            config.containers,
            self.metrics,
            CallLimits.of(config.server),
            max_json_depth=config.server.max_json_depth,
        )
        self.guardian = Guardian(config.containers)
        self.jobs: OffchainJobs | None = None
        self.chain: ChainComponent | None = None
        self._runner: web.AppRunner | None = None
        self._prune_task: asyncio.Task[None] | None = None
        self.port = 0

    @property
    def context(self) -> NodeContext:
        return NodeContext(
            config=self.config,
            store=self.store,
            containers=self.containers,
            guardian=self.guardian,
            metrics=self.metrics,
        )

    async def start(self) -> None:
        """Start every component and begin serving; on failure, undo what was started.

        Raises:
            NodeError: a component could not start (e.g. ChainNotAvailable).
            OSError: the REST port cannot be bound.
        """
        if self._state is not _State.NEW:
            raise RuntimeError("a Node can be started once")
        self._state = _State.STARTED
        try:
            await self._start()
        except BaseException:
            await self.stop()
            raise

    async def _start(self) -> None:
        self.store.open()
        try:
            records = JobRecords(self.store)
            interrupted = records.fail_interrupted()
        except sqlite3.DatabaseError as e:
            # The header can be intact while the tables are not.
            raise StoreUnavailable(self.store.path, str(e)) from None
        if interrupted:
            log.warning("%d job(s) were running when the node stopped: marked failed", interrupted)
        await self.containers.open()
        server = self.config.server
        capacity = server.max_container_calls + server.max_queued_jobs
        self.jobs = OffchainJobs(
            records, self.containers, self.metrics, capacity, server.max_jobs_per_client
        )
        if self.config.chain.enabled:
            self.chain = self._chain_factory(self.context)
            await self.chain.start()
        self._prune_task = asyncio.get_running_loop().create_task(self._prune_forever())
        self._prune_task.add_done_callback(_log_crash)
        connection_cap = ConnectionCap(server.max_connections or default_max_connections())
        app = create_app(self.context, self.jobs, self.chain, connection_cap)
        if self.config.explorer.enabled:
            # The page reads both halves, so it is wired here, above both; imported only when
            # enabled, as it imports the chain half (see _chain_side).
            from .explorer import install_explorer

            install_explorer(app, self.context, records, self.chain)
        # handler_cancellation: a client that hangs up stops its handler (e.g. a stream's
        # container call) instead of leaving it to run to the end.
        # keepalive_timeout: aiohttp closes a connection that has no complete request head this
        # long after it opened or after its last answer (idle keep-alive and trickled heads).
        self._runner = ApiRunner(
            app,
            connection_cap=connection_cap,
            keepalive_timeout=server.keepalive_timeout,
            lingering_time=LINGERING_S,
            access_log=None,
            handle_signals=False,
            shutdown_timeout=SHUTDOWN_GRACE_S,
            handler_cancellation=True,
        )
        await self._runner.setup()
        site = web.SockSite(self._runner, _listen(server.host, server.port))
        await site.start()
        self.port = site._sock.getsockname()[1]
        log.info("devnode listening on %s:%d", server.host, self.port)

    async def stop(self) -> None:
        """Stop serving and release everything; safe to call twice."""
        if self._state is _State.STOPPED:
            return
        self._state = _State.STOPPED
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._prune_task is not None:
            self._prune_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._prune_task
            self._prune_task = None
        if self.chain is not None:
            await self.chain.stop()
        if self.jobs is not None:
            await self.jobs.stop()
        await self.containers.close()
        self.store.close()

    async def _prune_forever(self) -> None:
        retention = self.config.storage.retention
        period = min(max(retention, PRUNE_PERIOD_MIN_S), PRUNE_PERIOD_MAX_S)
        while True:
            if self.jobs is not None and retention > 0:
                pruned = self.jobs.prune(retention)
                if pruned:
                    log.info("forgot %d completed job(s) older than %g s", pruned, retention)
            await asyncio.sleep(period)


def _chain_side(context: NodeContext) -> ChainComponent:
    """The chain half, imported only when ``chain.enabled``: web3 and eth_account are most of
    the process's import time and about 13 MiB of its memory (docs/benchmarks.md), which an
    off-chain node never uses."""
    from .chain.component import ChainSide

    return ChainSide(context)


def _listen(host: str, port: int) -> socket.socket:
    """A listening socket with TCP_NODELAY set (the upstream's keep-alive latency comes from
    Nagle's algorithm meeting delayed ACKs)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.listen(LISTEN_BACKLOG)
    sock.setblocking(False)
    return sock


def _log_crash(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("background task %s crashed", task.get_name(), exc_info=task.exception())
