"""Off-chain jobs (docs/devnode.md): admission, running in the background, durable records.

A job's id is returned only once the job is durable: finished, or written as ``running`` (so an
immediate GET always finds it, unlike upstream's create_task race). A finished job's record is
committed at the end of the event loop's turn in which it finished (``JobRecords.finish``), so
before the handler that waited for it runs again. Jobs cut off by a stop
are marked failed with "node restarted" at the next start (``JobRecords.fail_interrupted``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import AsyncGenerator
from collections.abc import Sequence
from dataclasses import dataclass

from .containers import ContainerClient
from .errors import JobFinished
from .errors import JobRunByNode
from .errors import NodeBusy
from .errors import StreamFailed
from .messages import JobRequest
from .messages import StatusReport
from .metrics import Metrics
from .results import ContainerError
from .results import ContainerOutput
from .results import ContainerResult
from .results import JobLocation
from .results import JobResult
from .results import JobStatus
from .store import JobRecords

__all__ = ["OffchainJobs", "StartedJob"]

log = logging.getLogger(__name__)

# Seconds a caller refused for a full queue is told to wait (Retry-After).
BUSY_RETRY_AFTER_S = 1


@dataclass(frozen=True)
class StartedJob:
    """A job whose task runs; ``OffchainJobs.settle`` makes it durable."""

    id: str
    client: str
    containers: tuple[str, ...]
    task: asyncio.Task[None]
    input_json: str | None = None


class OffchainJobs:
    """Runs off-chain jobs and keeps their records; owns the background job tasks."""

    def __init__(
        self,
        records: JobRecords,
        containers: ContainerClient,
        metrics: Metrics,
        capacity: int,
        per_client: int,
    ) -> None:
        self.records = records
        self._containers = containers
        self._metrics = metrics
        self._capacity = capacity
        self._per_client = per_client
        # Live jobs (background tasks and open streams) by id, with when they started.
        self._live: dict[str, float] = {}
        self._live_by_client: dict[str, int] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def admit(self, client: str, count: int) -> None:
        """Check that ``count`` more jobs of ``client`` fit (calling or queued for a call slot):
        in the node, and in the client's own share of it.

        Raises:
            NodeBusy: they do not; the caller should retry later (503 with Retry-After).
        """
        mine = self._live_by_client.get(client, 0)
        if mine + count > self._per_client:
            raise NodeBusy(
                f"too many jobs from {client}: {mine} running or queued, at most"
                f" {self._per_client} per client (server.max_jobs_per_client); retry later",
                BUSY_RETRY_AFTER_S,
                "server.max_jobs_per_client",
            )
        if len(self._live) + count > self._capacity:
            raise NodeBusy(
                f"the node is busy: {len(self._live)} job(s) running or queued, at most"
                f" {self._capacity} (server.max_container_calls + server.max_queued_jobs);"
                " retry later",
                BUSY_RETRY_AFTER_S,
                "server.max_queued_jobs",
            )

    def _enter(self, client: str, job_id: str) -> None:
        self._live[job_id] = time.time()
        self._live_by_client[client] = self._live_by_client.get(client, 0) + 1

    def _leave(self, client: str, job_id: str) -> None:
        if self._live.pop(job_id, None) is None:
            return
        left = self._live_by_client[client] - 1
        if left:
            self._live_by_client[client] = left
        else:
            del self._live_by_client[client]

    def start(self, client: str, request: JobRequest) -> StartedJob:
        """Start a job in the background (after ``admit``). Call ``settle`` before handing its
        id out."""
        job_id = str(uuid.uuid4())
        input_json = json.dumps(request.data)
        task = asyncio.get_running_loop().create_task(
            self._run(client, job_id, request, input_json)
        )
        self._enter(client, job_id)
        self._tasks.add(task)

        def done(task: asyncio.Task[None]) -> None:
            self._tasks.discard(task)
            self._leave(client, job_id)

        task.add_done_callback(done)
        return StartedJob(job_id, client, tuple(request.containers), task, input_json)

    async def settle(self, started: Sequence[StartedJob], wait: float) -> None:
        """Wait up to ``wait`` seconds for the jobs to finish, then record the unfinished ones
        as running, so every id that leaves the node is durable. A job done within the wait
        costs one write instead of two."""
        if not started:
            return
        if wait > 0:
            await asyncio.wait([job.task for job in started], timeout=wait)
        for job in started:
            if not job.task.done():
                running = JobResult(job.id, JobStatus.RUNNING, None)
                self.records.put(
                    job.client, running, job.containers, replace=False, input_json=job.input_json
                )

    async def _run(self, client: str, job_id: str, request: JobRequest, input_json: str) -> None:
        def progress(done: tuple[ContainerResult, ...]) -> None:
            running = JobResult(job_id, JobStatus.RUNNING, None, done)
            self.records.put(client, running, request.containers, input_json=input_json)

        try:
            pipeline = await self._containers.run(
                request.containers,
                source=JobLocation.OFFCHAIN,
                destination=JobLocation.OFFCHAIN,
                data=request.data,
                requires_proof=bool(request.requires_proof),
                owner=client,
                progress=progress,
            )
            result, intermediate = pipeline.result, pipeline.intermediate_results
        except Exception:
            # A bug must not leave the job running forever: record it as failed.
            log.exception("job %s crashed", job_id)
            result = ContainerError(request.containers[-1], "internal error in the devnode")
            intermediate = ()
        status = JobStatus.SUCCESS if isinstance(result, ContainerOutput) else JobStatus.FAILED
        final = JobResult(job_id, status, result, intermediate)
        self.records.finish(client, final, request.containers, input_json=input_json)
        self._metrics.job_finished(JobLocation.OFFCHAIN, status)
        if status is JobStatus.FAILED:
            log.info("job %s failed: %s", job_id, result)

    async def stream(self, client: str, request: JobRequest) -> AsyncGenerator[bytes, None]:
        """Run ``containers[0]`` streaming (after ``admit``): yields ``<id>\\n`` then the
        container's raw bytes.

        The joined output is recorded when the stream ends; a failure mid-stream just ends the
        stream and records the job as failed (as upstream does), as does a stream closed early.
        """
        container = request.containers[0]
        job_id = str(uuid.uuid4())
        input_json = json.dumps(request.data)
        self._enter(client, job_id)
        self.records.put(
            client, JobResult(job_id, JobStatus.RUNNING, None), [container], input_json=input_json
        )
        chunks: list[bytes] = []
        result: ContainerResult = ContainerError(
            container, "stream ended early: the client went away or the node stopped"
        )
        try:
            yield f"{job_id}\n".encode()
            try:
                async for chunk in self._containers.stream(container, request.data, client):
                    chunks.append(chunk)
                    yield chunk
            except StreamFailed as e:
                result = ContainerError(container, str(e))
            else:
                text = b"".join(chunks).decode("utf-8", errors="replace")
                result = ContainerOutput(container, {"output": text})
        finally:
            self._leave(client, job_id)
            ok = isinstance(result, ContainerOutput)
            status = JobStatus.SUCCESS if ok else JobStatus.FAILED
            if self.records.put(client, JobResult(job_id, status, result), [container]):
                self._metrics.job_finished(JobLocation.STREAM, status)

    def report_status(self, client: str, report: StatusReport) -> None:
        """PUT /api/status: an independent container records a job's state itself.

        Stored under the caller's address, as upstream does. Unlike upstream, a job the node
        runs itself is reported by the node alone, and a finished job's record is final: a
        report can neither forge a running job's result nor overwrite a finished one.

        Raises:
            JobRunByNode: the node is running the job (or streaming it).
            JobFinished: the job has already finished.
        """
        if report.id in self._live:
            raise JobRunByNode(report.id)
        status = JobStatus(report.status)
        if not self.records.report(client, JobResult(report.id, status, None), report.containers):
            raise JobFinished(report.id)
        if status is not JobStatus.RUNNING:
            self._metrics.job_finished(JobLocation.OFFCHAIN, status)

    def get(self, client: str, ids: Sequence[str]) -> list[JobResult]:
        return self.records.get(client, ids)

    def ids(self, client: str, pending: bool | None) -> list[str]:
        return self.records.ids(client, pending)

    def prune(self, retention: float) -> int:
        """Forget jobs not updated for ``retention`` seconds (0 keeps everything): completed
        ones, and running records nobody is running (e.g. reported by PUT /api/status)."""
        if retention <= 0:
            return 0
        cutoff = time.time() - retention
        # A record this node is still running is kept whatever its age.
        running_cutoff = min([cutoff, *self._live.values()])
        return self.records.prune(cutoff, running_cutoff)

    async def stop(self) -> None:
        """Cancel running jobs (their records stay ``running`` until the next start marks them
        failed); safe to call twice."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self.records.flush()
