"""SQLite store: per-component migrations, transactions, job records."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import stat
import time
from pathlib import Path

import pytest
from infernet_devnode.results import ContainerError
from infernet_devnode.results import ContainerOutput
from infernet_devnode.results import JobResult
from infernet_devnode.results import JobStatus
from infernet_devnode.store import JobRecords
from infernet_devnode.store import Store

SCRIPTS = ["CREATE TABLE a (x INTEGER); CREATE TABLE b (y TEXT)", "ALTER TABLE a ADD COLUMN z TEXT"]


def test_migrations_apply_once_and_only_new_ones(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    store = Store(path).open()
    store.migrate("demo", SCRIPTS[:1])
    store.migrate("demo", SCRIPTS[:1])  # nothing new: no "table exists" error
    store.close()
    reopened = Store(path).open()
    reopened.migrate("demo", SCRIPTS)
    reopened.connection.execute("INSERT INTO a (x, z) VALUES (1, 'new column')")
    versions = reopened.connection.execute("SELECT component, version FROM schema_versions")
    assert dict(versions.fetchall()) == {"demo": 2}
    with pytest.raises(RuntimeError, match="newer than this devnode knows"):
        reopened.migrate("demo", SCRIPTS[:1])
    reopened.close()


def test_failed_migration_leaves_no_trace(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite3").open()
    with pytest.raises(sqlite3.OperationalError):
        store.migrate("broken", ["CREATE TABLE c (x INTEGER); NOT SQL"])
    tables = store.connection.execute("SELECT name FROM sqlite_master WHERE name = 'c'")
    assert tables.fetchall() == []
    store.close()


def test_transaction_rolls_back_on_error(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite3").open()
    store.migrate("demo", SCRIPTS)

    def insert_then_fail() -> None:
        with store.transaction() as connection:
            connection.execute("INSERT INTO a (x) VALUES (1)")
            raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        insert_then_fail()
    assert store.connection.execute("SELECT COUNT(*) FROM a").fetchone() == (0,)
    store.close()


def test_lifecycle_misuse_is_an_error(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite3")
    with pytest.raises(RuntimeError, match="not open"):
        _ = store.connection
    store.open()
    with pytest.raises(RuntimeError, match="cannot be opened twice"):
        store.open()
    store.close()
    store.close()  # idempotent
    with pytest.raises(RuntimeError, match="not open"):
        _ = store.connection


def test_wal_mode(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite3").open()
    assert store.connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    store.close()


def test_records_round_trip_and_interrupted_jobs_fail(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite3").open()
    records = JobRecords(store)
    echo = ContainerOutput("a", {"k": [1, "two"]})
    records.put("1.1.1.1", JobResult("done", JobStatus.SUCCESS, echo), ["a"])
    records.put("1.1.1.1", JobResult("mid", JobStatus.RUNNING, None, (echo,)), ["a", "b", "c"])
    records.put("2.2.2.2", JobResult("fresh", JobStatus.RUNNING, None), ["a"])
    # a later insert that must not replace an existing record
    records.put("1.1.1.1", JobResult("done", JobStatus.RUNNING, None), ["a"], replace=False)
    assert records.get("1.1.1.1", ["done"]) == [JobResult("done", JobStatus.SUCCESS, echo)]
    assert records.count_running() == 2
    assert records.fail_interrupted() == 2
    assert records.get("1.1.1.1", ["mid"]) == [
        JobResult("mid", JobStatus.FAILED, ContainerError("b", "node restarted"), (echo,))
    ]
    assert records.get("2.2.2.2", ["fresh"])[0].result == ContainerError("a", "node restarted")
    assert records.count_running() == 0
    store.close()


def test_prune_forgets_only_old_completed_jobs(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite3").open()
    records = JobRecords(store)
    records.put("c", JobResult("old", JobStatus.SUCCESS, None), ["a"])
    records.put("c", JobResult("running", JobStatus.RUNNING, None), ["a"])
    assert records.prune(older_than=time.time() - 3600) == 0
    assert records.prune(older_than=time.time() + 1) == 1
    assert records.ids("c", pending=None) == ["running"]
    store.close()


def test_store_and_its_wal_files_are_created_private(tmp_path: Path) -> None:
    """The store holds every job's input and output: only its owner may read it or its WAL."""
    previous = os.umask(0o022)  # the usual umask, under which files are created 0644
    try:
        store = Store(tmp_path / "db.sqlite3").open()
        JobRecords(store).put("127.0.0.1", JobResult("a", JobStatus.RUNNING, None), ["echo"])
        paths = [tmp_path / name for name in ("db.sqlite3", "db.sqlite3-wal", "db.sqlite3-shm")]
        assert {path.name: stat.S_IMODE(path.stat().st_mode) for path in paths} == {
            path.name: 0o600 for path in paths
        }
        store.close()
    finally:
        os.umask(previous)


def test_a_final_record_is_written_once(tmp_path: Path) -> None:
    records = JobRecords(Store(tmp_path / "db.sqlite3").open())
    done = JobResult("a", JobStatus.SUCCESS, ContainerOutput("echo", {"n": 1}))
    assert records.put("c", JobResult("a", JobStatus.RUNNING, None), ["echo"])
    assert records.put("c", done, ["echo"])
    forged = JobResult("a", JobStatus.FAILED, ContainerError("echo", "forged"))
    assert not records.put("c", forged, ["echo"])
    assert not records.put("c", JobResult("a", JobStatus.RUNNING, None), ["echo"])
    assert records.get("c", ["a"]) == [done]


DONE = ContainerOutput("echo", {"n": 1})


def _rows(store: Store) -> list[tuple[str, str]]:
    return store.connection.execute("SELECT id, status FROM offchain_jobs ORDER BY id").fetchall()


def test_jobs_finished_in_one_turn_are_committed_together(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite3").open()
    records = JobRecords(store)
    commits: list[str] = []
    store.connection.set_trace_callback(
        lambda sql: commits.append(sql) if sql.startswith("COMMIT") else None
    )
    jobs = [JobResult(f"j{i}", JobStatus.SUCCESS, DONE) for i in range(5)]

    async def turn() -> None:
        for job in jobs:
            records.finish("c", job, ["echo"])
        # Within the turn: answered from memory, not written yet.
        assert records.get("c", [j.id for j in jobs]) == jobs
        assert store.connection.execute("SELECT COUNT(*) FROM offchain_jobs").fetchone() == (0,)
        await asyncio.sleep(0)

    asyncio.run(turn())
    assert _rows(store) == [(j.id, "success") for j in jobs]
    assert len(commits) == 1
    store.close()


def test_unwritten_records_are_written_before_any_other_statement(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite3").open()
    records = JobRecords(store)

    async def turn() -> None:
        records.put("c", JobResult("a", JobStatus.RUNNING, None), ["echo"])
        records.finish("c", JobResult("a", JobStatus.SUCCESS, DONE), ["echo"])
        assert records.count_running() == 0
        assert records.ids("c", pending=False) == ["a"]

    asyncio.run(turn())
    assert _rows(store) == [("a", "success")]
    store.close()


def test_finish_outside_a_loop_writes_at_once(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite3").open()
    JobRecords(store).finish("c", JobResult("a", JobStatus.FAILED, None), ["echo"])
    assert _rows(store) == [("a", "failed")]
    store.close()


def test_finish_keeps_a_final_record_and_memory_follows_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    records = JobRecords(Store(tmp_path / "db.sqlite3").open())
    done = JobResult("a", JobStatus.SUCCESS, DONE)
    assert records.put("c", done, ["echo"])

    async def turn() -> None:
        records.finish("c", JobResult("a", JobStatus.FAILED, ContainerError("echo", "x")), ["echo"])
        await asyncio.sleep(0)

    asyncio.run(turn())
    assert records.get("c", ["a"]) == [done]
    assert "already has a final record" in caplog.text


def test_prune_forgets_finished_records_answered_from_memory(tmp_path: Path) -> None:
    records = JobRecords(Store(tmp_path / "db.sqlite3").open())
    records.finish("c", JobResult("a", JobStatus.SUCCESS, DONE), ["echo"])
    assert records.get("c", ["a"]) == [JobResult("a", JobStatus.SUCCESS, DONE)]
    assert records.prune(older_than=time.time() + 1) == 1
    assert records.get("c", ["a"]) == []


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_a_finished_record_is_committed_before_its_waiter_resumes(
    tmp_path: Path, loop: str
) -> None:
    """``OffchainJobs.settle`` hands a job's id out when the job's task is done: by then its
    record is in the database, as another connection sees it."""
    store = Store(tmp_path / "db.sqlite3").open()
    records = JobRecords(store)
    reader = sqlite3.connect(tmp_path / "db.sqlite3")

    async def job() -> None:
        await asyncio.sleep(0)
        records.finish("c", JobResult("a", JobStatus.SUCCESS, DONE), ["echo"])

    async def handler() -> list[tuple[str]]:
        task = asyncio.get_running_loop().create_task(job())
        await asyncio.wait([task], timeout=5)
        return reader.execute("SELECT status FROM offchain_jobs WHERE id = 'a'").fetchall()

    if loop == "uvloop":
        uvloop = pytest.importorskip("uvloop")
        assert uvloop.run(handler()) == [("success",)]
    else:
        assert asyncio.run(handler()) == [("success",)]
    reader.close()
    store.close()
