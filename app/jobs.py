"""Exports and imports that outlast their request (README "Export and import").

A route starts a conversion and waits for it a short while (`WIDEN_JOB_ANSWER_SECONDS`); if it
is not done by then the route answers `202 {job_id}` and the conversion carries on here as a
job. The job's owner hears of it on the live event channel (`{"type": "job", "job": {...}}` as
it starts and as it ends) and reads it with `GET /api/jobs/{id}`; an export's file is fetched
once done from `GET /api/jobs/{id}/file`. Jobs live in the memory of the process that runs them
for `_KEEP_SECONDS` after they end: a restart loses a job in flight, and its client is told
so by a 404 and starts again.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from app.event_fanout import user_channel
from crdt.broker import Broker

log = logging.getLogger("widen.jobs")

_KEEP_SECONDS = 600.0

JobKind = Literal["export", "import"]
JobState = Literal["running", "done", "failed"]


@dataclass(frozen=True, slots=True)
class ExportFile:
    content: bytes
    filename: str
    media_type: str


@dataclass(frozen=True, slots=True)
class JobFailure(Exception):
    """How a job ends that the client must be told about: the status and body a direct
    answer would have had."""

    status_code: int
    code: str
    detail: str


@dataclass(slots=True)
class Job:
    id: str
    user_id: str
    kind: JobKind
    state: JobState = "running"
    document_id: str | None = None  # the imported document, or the exported one
    file: ExportFile | None = None
    failure: JobFailure | None = None
    ended_at: float | None = None
    _task: asyncio.Task[Any] | None = field(default=None, repr=False)

    def public(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "kind": self.kind, "state": self.state,
                               "document_id": self.document_id}
        if self.file is not None:
            out["filename"] = self.file.filename
            out["file_url"] = f"/api/jobs/{self.id}/file"
        if self.failure is not None:
            out["status_code"] = self.failure.status_code
            out["code"] = self.failure.code
            out["detail"] = self.failure.detail
        return out


Result = ExportFile | str  # an export's file, an import's new document id


class Jobs:
    def __init__(self, broker: Broker) -> None:
        self._broker = broker
        self._jobs: dict[str, Job] = {}

    async def run(self, user_id: str, kind: JobKind, document_id: str | None,
                  work: Callable[[], Awaitable[Result]], answer_within: float) -> Result | Job:
        """Run `work`; its result if it ends within `answer_within` seconds (its failure is
        raised then), else the job that now follows it."""
        task = asyncio.ensure_future(work())
        done, _ = await asyncio.wait({task}, timeout=answer_within)
        if task in done:
            return task.result()
        self._forget_old()
        job = Job(str(uuid.uuid4()), user_id, kind, document_id=document_id, _task=task)
        self._jobs[job.id] = job
        task.add_done_callback(lambda t: asyncio.ensure_future(self._ended(job, t)))
        await self._tell(job)
        return job

    def get(self, job_id: str, user_id: str) -> Job | None:
        """The job, to its owner only (anyone else: None, as for a job that does not exist)."""
        job = self._jobs.get(job_id)
        return job if job is not None and job.user_id == user_id else None

    async def close(self) -> None:
        tasks = [j._task for j in self._jobs.values() if j._task is not None and not j._task.done()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _ended(self, job: Job, task: asyncio.Task[Any]) -> None:
        job.ended_at = time.monotonic()
        job._task = None
        if task.cancelled():
            job.state, job.failure = "failed", JobFailure(503, "server-stopping",
                                                          "The server stopped; try again")
        elif isinstance(exc := task.exception(), JobFailure):
            job.state, job.failure = "failed", exc
        elif exc is not None:
            log.error("a job failed", exc_info=exc,
                      extra={"event": "jobs.failed", "kind": job.kind, "job_id": job.id})
            job.state, job.failure = "failed", JobFailure(500, "server-error",
                                                          "The conversion failed on the server")
        else:
            result = task.result()
            job.state = "done"
            if isinstance(result, ExportFile):
                job.file = result
            else:
                job.document_id = result
        await self._tell(job)

    async def _tell(self, job: Job) -> None:
        event = {"type": "job", "document_id": job.document_id, "job": job.public()}
        await self._broker.publish(user_channel(job.user_id), json.dumps(event).encode())

    def _forget_old(self) -> None:
        cutoff = time.monotonic() - _KEEP_SECONDS
        for job_id in [j.id for j in self._jobs.values()
                       if j.ended_at is not None and j.ended_at < cutoff]:
            del self._jobs[job_id]
