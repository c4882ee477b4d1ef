"""The node process: builds every component from the config, starts and stops them in order.

Start: open the store (jobs left running by a previous process become failed "node
restarted"), open the container client, serve REST (and the explorer, when
``explorer.enabled``), then, when ``chain.enabled``, import and start the chain side and bind it
to the REST API and the explorer (docs/devnode.md, "Start, sync and health").
Stop: the reverse; safe to call twice.

The chain half (web3, eth_account) and the explorer are imported only when enabled, and the
chain half in a worker thread, while the event loop answers REST: those imports are most of a
node's start and about 20 MiB of its memory (docs/benchmarks.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import Callable
from enum import IntEnum
from typing import Protocol

from .api import ApiServer
from .api import ChainSlot
from .api import create_app
from .api.chain_slot import ChainFace
from .api.chain_slot import ExplorerChainFace
from .api.chain_slot import Slot
from .capacity import CallLimits
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


class _State(IntEnum):
    NEW = 0
    STARTED = 1
    STOPPED = 2


class _ChainLifecycle(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...


_ChainFactory = Callable[[NodeContext], tuple[_ChainLifecycle, ChainFace, ExplorerChainFace]]


class Node:
    """One devnode: store, containers, jobs, optional chain side, REST server."""

    def __init__(self, config: NodeConfig) -> None:
        self.config = config
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
        self.chain: _ChainLifecycle | None = None
        self._server: ApiServer | None = None
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
        self._prune_task = asyncio.get_running_loop().create_task(self._prune_forever())
        self._prune_task.add_done_callback(_log_crash)
        chain_enabled = self.config.chain.enabled
        slot = ChainSlot() if chain_enabled else None
        views: Slot[ExplorerChainFace] | None = None
        connection_cap = ConnectionCap(server.max_connections or default_max_connections())
        app = create_app(self.context, self.jobs, slot, connection_cap)
        if self.config.explorer.enabled:
            from .api.explorer import install_explorer

            views = Slot() if chain_enabled else None
            install_explorer(app, self.context, records, slot, views)
        self._server = ApiServer(app, server, connection_cap)
        await self._server.start()
        self.port = self._server.port
        log.info("devnode listening on %s:%d", server.host, self.port)
        if slot is not None:
            await self._start_chain(slot, views)

    async def _start_chain(self, slot: ChainSlot, views: Slot[ExplorerChainFace] | None) -> None:
        """Import, build and start the chain side, then bind its answers to ``slot`` and its
        views to the explorer's ``views``.

        Raises:
            ChainNotAvailable: the chain side cannot start (the node then stops).
        """
        # About a second of imports: in a worker thread, so the event loop keeps answering.
        build = await asyncio.to_thread(_load_chain_half)
        self.chain, face, chain_views = build(self.context)
        await self.chain.start()
        # The explorer first: once /health leaves "starting", every chain route answers.
        if views is not None:
            views.bind(chain_views)
        slot.bind(face)
        log.info("chain side started")

    async def stop(self) -> None:
        """Stop serving and release everything; safe to call twice."""
        if self._state is _State.STOPPED:
            return
        self._state = _State.STOPPED
        if self._server is not None:
            await self._server.stop()
            self._server = None
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


def _load_chain_half() -> _ChainFactory:
    """The chain side's constructor, importing the chain half (web3, eth_account): the chain
    side, its answers to the REST API and its views for the explorer."""
    from .api.chain import ChainAnswers
    from .chain.component import ChainSide
    from .chain.views import ChainView

    def build(context: NodeContext) -> tuple[_ChainLifecycle, ChainFace, ExplorerChainFace]:
        chain = ChainSide(context)
        return chain, ChainAnswers(chain), ChainView(chain.readout, context.store.connection)

    return build


def _log_crash(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("background task %s crashed", task.get_name(), exc_info=task.exception())
