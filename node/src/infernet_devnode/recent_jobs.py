"""The newest finished off-chain jobs, kept in memory so that polling them reads no database.

A client polls ``GET /api/jobs?id=`` for a job it has just started, so the records asked for
most are the ones finished last. A finished record is final (``store.JobRecords``: the database
refuses to overwrite it), so a copy of it stays true until retention deletes the record; the
copies are forgotten with it (``forget_before``). Memory is bounded in records and in the bytes of
their stored JSON; the oldest copies go first, and a record larger than the whole budget is not
kept at all (it is read from the database).
"""

from __future__ import annotations

from dataclasses import dataclass

from .results import JobResult

__all__ = ["RecentJobs"]


@dataclass(frozen=True)
class _Copy:
    job: JobResult
    size: int  # bytes of the record's stored JSON (result and intermediate results)
    finished_at: float  # unix seconds, the record's ``updated``


class RecentJobs:
    """Finished job records by (client, job id), oldest first, within ``max_jobs`` records and
    ``max_bytes`` of stored JSON."""

    def __init__(self, max_jobs: int, max_bytes: int) -> None:
        self._max_jobs = max_jobs
        self._max_bytes = max_bytes
        self._copies: dict[tuple[str, str], _Copy] = {}
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._copies)

    def add(self, client: str, job: JobResult, size: int, finished_at: float) -> None:
        """Keep ``job`` (finished, ``size`` bytes of stored JSON), evicting the oldest copies
        past the bounds."""
        self.discard(client, job.id)
        if size > self._max_bytes or self._max_jobs <= 0:
            return
        self._copies[(client, job.id)] = _Copy(job, size, finished_at)
        self._bytes += size
        while len(self._copies) > self._max_jobs or self._bytes > self._max_bytes:
            oldest = next(iter(self._copies))
            self._bytes -= self._copies.pop(oldest).size

    def get(self, client: str, job_id: str) -> JobResult | None:
        copy = self._copies.get((client, job_id))
        return None if copy is None else copy.job

    def discard(self, client: str, job_id: str) -> None:
        copy = self._copies.pop((client, job_id), None)
        if copy is not None:
            self._bytes -= copy.size

    def forget_before(self, cutoff: float) -> None:
        """Drop the copies of records finished before ``cutoff`` (unix seconds): retention
        deletes those records from the database."""
        for key in [k for k, copy in self._copies.items() if copy.finished_at < cutoff]:
            self._bytes -= self._copies.pop(key).size
