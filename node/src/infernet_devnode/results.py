"""Job and container result types (docs/devnode.md, job results), with their exact JSON shapes."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from enum import StrEnum
from typing import Any

__all__ = [
    "ContainerError",
    "ContainerOutput",
    "ContainerResult",
    "JobLocation",
    "JobResult",
    "JobStatus",
    "result_from_json",
]


class JobStatus(StrEnum):
    """Job states as the upstream code spells them (openapi's "failure" is wrong, 2.9)."""

    RUNNING = "running"
    SUCCESS = "success"
    FAILED = "failed"


class JobLocation(IntEnum):
    """Where a job's input comes from / its output goes (``source`` / ``destination``)."""

    ONCHAIN = 0
    OFFCHAIN = 1
    STREAM = 2


@dataclass(frozen=True)
class ContainerOutput:
    """A container answered with JSON."""

    container: str
    output: Any

    def to_json(self) -> dict[str, Any]:
        return {"container": self.container, "output": self.output}


@dataclass(frozen=True)
class ContainerError:
    """A container call failed; ``error`` says why."""

    container: str
    error: str

    def to_json(self) -> dict[str, Any]:
        return {"container": self.container, "error": self.error}


ContainerResult = ContainerOutput | ContainerError


def result_from_json(value: dict[str, Any]) -> ContainerResult:
    """Inverse of ``to_json`` for stored results."""
    if "error" in value:
        return ContainerError(container=value["container"], error=value["error"])
    return ContainerOutput(container=value["container"], output=value.get("output"))


@dataclass(frozen=True)
class JobResult:
    """One job as ``GET /api/jobs?id=`` returns it."""

    id: str
    status: JobStatus
    result: ContainerResult | None
    intermediate_results: tuple[ContainerResult, ...] = ()

    def to_json(self, intermediate: bool) -> dict[str, Any]:
        """The upstream shape; ``intermediate_results`` only when asked for (2.7)."""
        body: dict[str, Any] = {
            "id": self.id,
            "status": self.status.value,
            "result": None if self.result is None else self.result.to_json(),
        }
        if intermediate:
            body["intermediate_results"] = [r.to_json() for r in self.intermediate_results]
        return body
