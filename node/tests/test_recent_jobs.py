"""The newest finished jobs kept in memory: bounded in records and bytes, oldest out first."""

from __future__ import annotations

from infernet_devnode.recent_jobs import RecentJobs
from infernet_devnode.results import JobResult
from infernet_devnode.results import JobStatus


def _job(job_id: str) -> JobResult:
    return JobResult(job_id, JobStatus.SUCCESS, None)


def test_the_oldest_copies_go_first_past_the_record_bound() -> None:
    recent = RecentJobs(max_jobs=2, max_bytes=1_000)
    for name in ("a", "b", "c"):
        recent.add("client", _job(name), 10, 0.0)
    assert [recent.get("client", n) for n in ("a", "b", "c")] == [None, _job("b"), _job("c")]


def test_the_byte_bound_holds_and_a_record_larger_than_it_is_not_kept() -> None:
    recent = RecentJobs(max_jobs=100, max_bytes=100)
    recent.add("client", _job("a"), 60, 0.0)
    recent.add("client", _job("b"), 60, 0.0)  # 120 bytes: "a" goes
    recent.add("client", _job("huge"), 101, 0.0)
    assert [recent.get("client", n) for n in ("a", "b", "huge")] == [None, _job("b"), None]
    assert len(recent) == 1


def test_copies_are_per_client_and_forgotten_with_their_records() -> None:
    recent = RecentJobs(max_jobs=10, max_bytes=1_000)
    recent.add("one", _job("a"), 1, 100.0)
    recent.add("two", _job("a"), 1, 200.0)
    assert recent.get("three", "a") is None
    recent.forget_before(150.0)
    assert recent.get("one", "a") is None
    assert recent.get("two", "a") == _job("a")
    recent.discard("two", "a")
    assert len(recent) == 0
