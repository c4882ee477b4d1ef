"""Off-chain job records as the explorer lists them: paged, filtered, newest first.

Read-only SQL over the job store's ``offchain_jobs`` table (the same rows ``GET /api/jobs``
serves, across every client). Pages are keyset-paged on the row id, so a page stays put while new
jobs arrive and the cost of a page does not grow with the table.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from ..results import JobStatus

__all__ = [
    "SUMMARY_CHARS",
    "JobQuery",
    "job_counts",
    "job_detail",
    "list_jobs",
    "recent_failures",
]

# A list row shows at most this much of a result; the job's page shows all of it.
SUMMARY_CHARS = 160

_COLUMNS = "rowid, client, id, status, containers, result, created, updated"
_HAS_CONTAINER = "EXISTS (SELECT 1 FROM json_each(offchain_jobs.containers) WHERE value = ?)"


@dataclass(frozen=True)
class JobQuery:
    """One page of the job list: filters, page size, and where the page starts."""

    limit: int
    status: JobStatus | None = None
    container: str | None = None
    before: int | None = None  # only rows older than this cursor (a row id)


def _where(query: JobQuery) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if query.status is not None:
        clauses.append("status = ?")
        params.append(query.status.value)
    if query.container is not None:
        clauses.append(_HAS_CONTAINER)
        params.append(query.container)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def list_jobs(db: sqlite3.Connection, query: JobQuery, now: float) -> dict[str, Any]:
    """One page of jobs matching ``query``, the matching total and the next page's cursor."""
    where, params = _where(query)
    total = int(db.execute(f"SELECT COUNT(*) FROM offchain_jobs{where}", params).fetchone()[0])  # noqa: S608 - fixed clauses
    if query.before is not None:
        where += (" AND " if where else " WHERE ") + "rowid < ?"
        params.append(query.before)
    rows = db.execute(
        f"SELECT {_COLUMNS} FROM offchain_jobs{where} ORDER BY rowid DESC LIMIT ?",  # noqa: S608 - fixed clauses
        [*params, query.limit + 1],
    ).fetchall()
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    return {
        "total": total,
        "jobs": [_row_json(row, now) for row in rows],
        "next": rows[-1][0] if more else None,
    }


def job_detail(
    db: sqlite3.Connection, client: str, job_id: str, now: float
) -> dict[str, Any] | None:
    """Everything recorded about one job: input, intermediate results and result."""
    row = db.execute(
        f"SELECT {_COLUMNS}, intermediate, input FROM offchain_jobs WHERE client = ? AND id = ?",  # noqa: S608 - fixed columns
        (client, job_id),
    ).fetchone()
    if row is None:
        return None
    body = _row_json(row[:8], now)
    del body["summary"]
    body["result"] = None if row[5] is None else json.loads(row[5])
    body["intermediate_results"] = json.loads(row[8])
    body["input"] = None if row[9] is None else json.loads(row[9])
    body["input_recorded"] = row[9] is not None
    return body


def job_counts(db: sqlite3.Connection) -> dict[str, int]:
    """How many jobs are recorded in each state (every state present, zero or not)."""
    counts = {status.value: 0 for status in JobStatus}
    for status, n in db.execute("SELECT status, COUNT(*) FROM offchain_jobs GROUP BY status"):
        counts[str(status)] = int(n)
    return counts


def recent_failures(db: sqlite3.Connection, limit: int, now: float) -> list[dict[str, Any]]:
    """The latest failed jobs, newest first."""
    rows = db.execute(
        f"SELECT {_COLUMNS} FROM offchain_jobs WHERE status = ? ORDER BY rowid DESC LIMIT ?",  # noqa: S608 - fixed columns
        (JobStatus.FAILED.value, limit),
    ).fetchall()
    return [_row_json(row, now) for row in rows]


def _row_json(row: tuple[Any, ...], now: float) -> dict[str, Any]:
    cursor, client, job_id, status, containers, result, created, updated = row
    running = status == JobStatus.RUNNING.value
    return {
        "cursor": cursor,
        "client": client,
        "id": job_id,
        "status": status,
        "containers": json.loads(containers),
        "created": created,
        "updated": updated,
        # A job that finished before its submission was answered is written once, so it shows 0.
        "duration": max(0.0, (now if running else updated) - created),
        "summary": _summary(result),
    }


def _summary(result: str | None) -> str:
    if result is None:
        return ""
    value = json.loads(result)
    if isinstance(value, dict) and "error" in value:
        text = f"{value.get('container', '')}: {value['error']}"
    else:
        output = value.get("output") if isinstance(value, dict) else value
        text = json.dumps(output, ensure_ascii=False)
    return text if len(text) <= SUMMARY_CHARS else text[: SUMMARY_CHARS - 1] + "\u2026"
