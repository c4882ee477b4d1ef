"""Off-chain jobs (spec 2.4-2.8, 3): admission, running in the background, durable records.

A job is written as ``running`` before its id is returned (so an immediate GET always finds it,
unlike upstream's create_task race), then replaced by its final record. Jobs cut off by a stop
are marked failed with "node restarted" at the next start (``JobRecords.fail_interrupted``).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator
from collections.abc import Sequence

from .containers import ContainerClient
from .containers import StreamFailed
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

__all__ = ["OffchainJobs"]

log = logging.getLogger(__name__)


class OffchainJobs:
    """Runs off-chain jobs and keeps their records; owns the background job tasks."""

    def __init__(self, records: JobRecords, containers: ContainerClient, metrics: Metrics) -> None:
        self.records = records
        self._containers = containers
        self._metrics = metrics
        self._tasks: set[asyncio.Task[None]] = set()

    def submit(self, client: str, request: JobRequest) -> tuple[str, asyncio.Task[None]]:
        """Record a new running job and start it. Returns its id and its task."""
        job_id = str(uuid.uuid4())
        self.records.put(client, JobResult(job_id, JobStatus.RUNNING, None), request.containers)
        task = asyncio.get_running_loop().create_task(self._run(client, job_id, request))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return job_id, task

    async def _run(self, client: str, job_id: str, request: JobRequest) -> None:
        def progress(done: tuple[ContainerResult, ...]) -> None:
            running = JobResult(job_id, JobStatus.RUNNING, None, done)
            self.records.put(client, running, request.containers)

        pipeline = await self._containers.run(
            request.containers,
            source=JobLocation.OFFCHAIN,
            destination=JobLocation.OFFCHAIN,
            data=request.data,
            requires_proof=bool(request.requires_proof),
            progress=progress,
        )
        status = JobStatus.SUCCESS if pipeline.ok else JobStatus.FAILED
        final = JobResult(job_id, status, pipeline.result, pipeline.intermediate_results)
        self.records.put(client, final, request.containers)
        self._metrics.job_finished(JobLocation.OFFCHAIN, status)
        if status is JobStatus.FAILED:
            log.info("job %s failed: %s", job_id, pipeline.result)

    async def stream(self, client: str, request: JobRequest) -> AsyncIterator[bytes]:
        """Run ``containers[0]`` streaming: yields ``<id>\\n`` then the container's raw bytes.

        The joined output is recorded when the stream ends; a failure mid-stream just ends the
        stream and records the job as failed (spec 2.6).
        """
        container = request.containers[0]
        job_id = str(uuid.uuid4())
        self.records.put(client, JobResult(job_id, JobStatus.RUNNING, None), [container])
        yield f"{job_id}\n".encode()
        chunks: list[bytes] = []
        result: ContainerResult
        try:
            async for chunk in self._containers.stream(container, request.data):
                chunks.append(chunk)
                yield chunk
        except StreamFailed as e:
            result = ContainerError(container, str(e))
        else:
            text = b"".join(chunks).decode("utf-8", errors="replace")
            result = ContainerOutput(container, {"output": text})
        status = JobStatus.SUCCESS if isinstance(result, ContainerOutput) else JobStatus.FAILED
        self.records.put(client, JobResult(job_id, status, result), [container])
        self._metrics.job_finished(JobLocation.STREAM, status)

    def report_status(self, client: str, report: StatusReport) -> None:
        """PUT /api/status: an independent container records a job's state itself (spec 2.8).

        Stored under the caller's address, as upstream does.
        """
        status = JobStatus(report.status)
        self.records.put(client, JobResult(report.id, status, None), report.containers)
        if status is not JobStatus.RUNNING:
            self._metrics.job_finished(JobLocation.OFFCHAIN, status)

    def get(self, client: str, ids: Sequence[str]) -> list[JobResult]:
        return self.records.get(client, ids)

    def ids(self, client: str, pending: bool | None) -> list[str]:
        return self.records.ids(client, pending)

    def prune(self, retention: float) -> int:
        """Forget completed jobs older than ``retention`` seconds (0 keeps everything)."""
        if retention <= 0:
            return 0
        return self.records.prune(time.time() - retention)

    async def stop(self) -> None:
        """Cancel running jobs (their records stay ``running`` until the next start marks them
        failed); safe to call twice."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
