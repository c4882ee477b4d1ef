"""The embedded SQLite database (WAL) and the off-chain job records kept in it.

One database file holds every durable table of the node. ``Store`` owns the connection; each
component declares its own tables through ``Store.migrate(component, migrations)``: an ordered
list of SQL scripts of which only the ones not applied yet run, each in its own transaction,
with the applied count kept in ``schema_versions``. Append new scripts, never edit old ones.

All access happens on the event loop's thread: statements are short (WAL, synchronous=NORMAL, no
fsync per commit), so a thread hop would cost more than the statement itself. synchronous=NORMAL
survives a crash of the process; only a power loss may drop the last commits.

The final records of the jobs the node runs are written together (a commit costs about as much
as the row it writes): the jobs that finish in one turn of the event loop are committed in one
transaction by a callback scheduled in that turn, so before the handler waiting for one of them
resumes and before any request handled later. Until then ``get`` answers them from memory, and
every other statement of ``JobRecords`` writes them first. A process killed inside that turn
loses those records; such a job then reads as failed ("node restarted") when its running record
was written, else as unknown.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import time
from collections.abc import Iterator
from collections.abc import Sequence
from contextlib import contextmanager
from enum import IntEnum
from pathlib import Path
from typing import Any
from typing import NamedTuple

from .errors import StoreUnavailable
from .private_files import create_private
from .recent_jobs import RecentJobs
from .results import ContainerError
from .results import ContainerResult
from .results import JobResult
from .results import JobStatus
from .results import result_from_json

__all__ = ["NODE_RESTARTED", "JobRecords", "Store"]

log = logging.getLogger(__name__)

_BUSY_TIMEOUT_MS = 5_000
# Reason given to jobs found running at startup (the process stopped while they ran).
NODE_RESTARTED = "node restarted"
# Finished records answered from memory (``RecentJobs``): the newest, up to this many and this
# many bytes of stored JSON (a poll comes within milliseconds of its job's end; the bytes bound
# the memory large answers take).
RECENT_JOBS = 1_024
RECENT_JOBS_BYTES = 1024 * 1024


class _State(IntEnum):
    UNOPENED = 0
    OPEN = 1
    CLOSED = 2


class Store:
    """Owner of the SQLite connection shared by every component of the node."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._state = _State.UNOPENED
        self._connection: sqlite3.Connection | None = None

    def open(self) -> Store:
        """Open (creating if needed) the database file. Returns self.

        Raises:
            StoreUnavailable: the file cannot be created, read, or is not a SQLite database.
        """
        if self._state is not _State.UNOPENED:
            raise RuntimeError(f"Store({self.path}) cannot be opened twice")
        try:
            if self.path != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
                create_private(self.path)  # an empty file is an empty SQLite database
            # isolation_level=None: autocommit; multi-statement writes use transaction().
            connection = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        except (OSError, sqlite3.Error) as e:
            raise StoreUnavailable(self.path, str(e)) from None
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
            connection.execute(
                "CREATE TABLE IF NOT EXISTS schema_versions"
                " (component TEXT PRIMARY KEY, version INTEGER NOT NULL)"
            )
        except sqlite3.Error as e:
            connection.close()
            raise StoreUnavailable(self.path, str(e)) from None
        self._connection = connection
        self._state = _State.OPEN
        return self

    @property
    def connection(self) -> sqlite3.Connection:
        """The open connection (single statements autocommit)."""
        if self._connection is None or self._state is not _State.OPEN:
            raise RuntimeError(f"Store({self.path}) is not open")
        return self._connection

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT, rolled back if the block raises."""
        connection = self.connection
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield connection
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")

    def migrate(self, component: str, migrations: Sequence[str]) -> None:
        """Apply the scripts of ``migrations`` that this database has not seen yet, in order."""
        row = self.connection.execute(
            "SELECT version FROM schema_versions WHERE component = ?", (component,)
        ).fetchone()
        applied = int(row[0]) if row else 0
        if applied > len(migrations):
            raise RuntimeError(
                f"database {self.path} has schema version {applied} for {component!r}, newer than"
                f" this devnode knows ({len(migrations)})"
            )
        for version in range(applied, len(migrations)):
            with self.transaction() as connection:
                for statement in _statements(migrations[version]):
                    connection.execute(statement)
                connection.execute(
                    "INSERT INTO schema_versions (component, version) VALUES (?, ?)"
                    " ON CONFLICT (component) DO UPDATE SET version = excluded.version",
                    (component, version + 1),
                )

    def close(self) -> None:
        """Close the connection; safe to call twice."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        self._state = _State.CLOSED


def _statements(script: str) -> Iterator[str]:
    for statement in script.split(";"):
        if statement.strip():
            yield statement


_JOB_MIGRATIONS = (
    """
    CREATE TABLE offchain_jobs (
        client TEXT NOT NULL,
        id TEXT NOT NULL,
        status TEXT NOT NULL,
        containers TEXT NOT NULL,
        intermediate TEXT NOT NULL,
        result TEXT,
        created REAL NOT NULL,
        updated REAL NOT NULL,
        PRIMARY KEY (client, id)
    );
    CREATE INDEX offchain_jobs_status ON offchain_jobs (status);
    CREATE INDEX offchain_jobs_updated ON offchain_jobs (updated)
    """,
    # The job's input as JSON, for the explorer's job page (NULL for status-reported jobs).
    "ALTER TABLE offchain_jobs ADD COLUMN input TEXT",
)


_INSERT = (
    "INSERT INTO offchain_jobs"
    " (client, id, status, containers, intermediate, result, created, updated, input)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
# A record is written final once: an update applies only while the stored record is running.
_UPSERT = (
    _INSERT + " ON CONFLICT (client, id) DO UPDATE SET status = excluded.status,"
    " containers = excluded.containers, intermediate = excluded.intermediate,"
    " result = excluded.result, updated = excluded.updated,"
    " input = COALESCE(excluded.input, offchain_jobs.input)"
    f" WHERE offchain_jobs.status = '{JobStatus.RUNNING.value}'"
)
_INSERT_NEW = _INSERT + " ON CONFLICT (client, id) DO NOTHING"


class JobRecords:
    """Off-chain job records keyed by (client address, job id), like upstream's ``<ip>:<id>``."""

    def __init__(self, store: Store) -> None:
        self._store = store
        store.migrate("offchain_jobs", _JOB_MIGRATIONS)
        self._recent = RecentJobs(RECENT_JOBS, RECENT_JOBS_BYTES)
        # Final records not written yet: committed together at the end of the loop's turn.
        self._unwritten: list[_Row] = []

    def finish(
        self,
        client: str,
        job: JobResult,
        containers: Sequence[str],
        input_json: str | None = None,
    ) -> None:
        """Record the final state of a job the node ran: ``get`` answers it at once, and it is
        written at the end of this turn of the event loop with every other job finished in it
        (at once outside a running loop). A record already final is kept as it is."""
        row = _job_row(client, job, containers, input_json)
        self._recent.add(client, job, len(row.intermediate) + len(row.result or ""), row.updated)
        self._unwritten.append(row)
        if len(self._unwritten) > 1:
            return  # the write is already scheduled
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.flush()
            return
        loop.call_soon(self.flush)

    def flush(self) -> None:
        """Write the final records ``finish`` holds, in one transaction."""
        rows, self._unwritten = self._unwritten, []
        if not rows:
            return
        try:
            with self._store.transaction() as connection:
                refused = [row for row in rows if connection.execute(_UPSERT, row).rowcount == 0]
        except sqlite3.Error as e:
            log.error("could not write %d finished job record(s): %s", len(rows), e)
            refused = rows
        else:
            for row in refused:
                log.warning("job %s already has a final record; it is kept as it is", row.id)
        # Memory answers what the database holds.
        for row in refused:
            self._recent.discard(row.client, row.id)

    def put(
        self,
        client: str,
        job: JobResult,
        containers: Sequence[str],
        replace: bool = True,
        input_json: str | None = None,
    ) -> bool:
        """Insert a job record; an existing running one is replaced (kept when ``replace`` is
        False), a finished one is final. Returns whether the record was written.

        ``input_json`` (the job's input, JSON-encoded) is kept when a later write omits it.
        """
        self.flush()
        cursor = self._store.connection.execute(
            _UPSERT if replace else _INSERT_NEW, _job_row(client, job, containers, input_json)
        )
        return cursor.rowcount > 0

    def get(self, client: str, ids: Sequence[str]) -> list[JobResult]:
        """Jobs of this client among ``ids``: completed ones first, then running, each in the
        order asked, as upstream answers; unknown ids are skipped."""
        asked = list(dict.fromkeys(ids))
        found: dict[str, JobResult] = {}
        missing: list[str] = []
        for job_id in asked:
            job = self._recent.get(client, job_id)
            if job is None:
                missing.append(job_id)
            else:
                found[job_id] = job
        if missing:
            self.flush()
            marks = ",".join("?" * len(missing))
            rows = self._store.connection.execute(
                f"SELECT id, status, intermediate, result FROM offchain_jobs"  # noqa: S608 - marks only
                f" WHERE client = ? AND id IN ({marks})",
                (client, *missing),
            ).fetchall()
            found.update((row[0], _job_from_row(row)) for row in rows)
        ordered = [found[i] for i in asked if i in found]
        done = [j for j in ordered if j.status is not JobStatus.RUNNING]
        return done + [j for j in ordered if j.status is JobStatus.RUNNING]

    def ids(self, client: str, pending: bool | None) -> list[str]:
        """Job ids of this client: running ones first, then completed, as upstream lists them."""
        self.flush()
        rows = self._store.connection.execute(
            "SELECT id, status FROM offchain_jobs WHERE client = ? ORDER BY created, rowid",
            (client,),
        ).fetchall()
        running = [r[0] for r in rows if r[1] == JobStatus.RUNNING.value]
        completed = [r[0] for r in rows if r[1] != JobStatus.RUNNING.value]
        if pending is True:
            return running
        if pending is False:
            return completed
        return running + completed

    def count_running(self) -> int:
        """Running off-chain jobs across all clients (``/info`` pending.offchain)."""
        self.flush()
        row = self._store.connection.execute(
            "SELECT COUNT(*) FROM offchain_jobs WHERE status = ?", (JobStatus.RUNNING.value,)
        ).fetchone()
        return int(row[0])

    def fail_interrupted(self) -> int:
        """Mark every job still running as failed with "node restarted". Returns how many.

        Called once at startup: a job found running was cut off when the process stopped.
        The failing container is the first one without a result.
        """
        self.flush()
        rows = self._store.connection.execute(
            "SELECT client, id, containers, intermediate FROM offchain_jobs WHERE status = ?",
            (JobStatus.RUNNING.value,),
        ).fetchall()
        now = time.time()
        with self._store.transaction() as connection:
            for client, job_id, containers_json, intermediate_json in rows:
                containers: list[str] = json.loads(containers_json)
                done = len(json.loads(intermediate_json))
                container = containers[min(done, len(containers) - 1)] if containers else ""
                error = ContainerError(container=container, error=NODE_RESTARTED)
                connection.execute(
                    "UPDATE offchain_jobs SET status = ?, result = ?, updated = ?"
                    " WHERE client = ? AND id = ?",
                    (JobStatus.FAILED.value, json.dumps(error.to_json()), now, client, job_id),
                )
        return len(rows)

    def report(self, client: str, job: JobResult, containers: Sequence[str]) -> bool:
        """Record a reported job state unless the job has already finished. Returns whether
        it was recorded (a finished record is final)."""
        self.flush()
        cursor = self._store.connection.execute(
            _INSERT + " ON CONFLICT (client, id) DO UPDATE SET status = excluded.status,"
            " containers = excluded.containers, result = excluded.result,"
            " updated = excluded.updated WHERE offchain_jobs.status = ?",
            # no input: a reported job has none
            (*_job_row(client, job, containers, None), JobStatus.RUNNING.value),
        )
        return cursor.rowcount > 0

    def prune(self, older_than: float, running_older_than: float | None = None) -> int:
        """Delete completed jobs last updated before ``older_than`` (unix s), and running ones
        last updated before ``running_older_than`` (none when None). Returns how many."""
        self.flush()
        self._recent.forget_before(older_than)
        cursor = self._store.connection.execute(
            "DELETE FROM offchain_jobs WHERE (status != ? AND updated < ?)"
            " OR (status = ? AND updated < ?)",
            (
                JobStatus.RUNNING.value,
                older_than,
                JobStatus.RUNNING.value,
                float("-inf") if running_older_than is None else running_older_than,
            ),
        )
        return cursor.rowcount


class _Row(NamedTuple):
    """The columns `_INSERT` names, in its order."""

    client: str
    id: str
    status: str
    containers: str
    intermediate: str
    result: str | None
    created: float
    updated: float
    input: str | None


def _job_row(
    client: str, job: JobResult, containers: Sequence[str], input_json: str | None
) -> _Row:
    """The row of a record written now."""
    now = time.time()
    return _Row(
        client,
        job.id,
        job.status.value,
        json.dumps(list(containers)),
        _dump_results(job.intermediate_results),
        None if job.result is None else json.dumps(job.result.to_json()),
        now,
        now,
        input_json,
    )


def _dump_results(results: Sequence[ContainerResult]) -> str:
    return json.dumps([r.to_json() for r in results])


def _job_from_row(row: tuple[Any, ...]) -> JobResult:
    job_id, status, intermediate, result = row
    return JobResult(
        id=job_id,
        status=JobStatus(status),
        intermediate_results=tuple(result_from_json(r) for r in json.loads(intermediate)),
        result=None if result is None else result_from_json(json.loads(result)),
    )
