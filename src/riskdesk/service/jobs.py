"""Long-running work as jobs: an id, a status, progress, a result or error, and cancel.

A job's row (table ``jobs``) is the truth, so any service process answers for any job; the
process that accepted it runs it in a worker thread. Each state change and progress step is
published on ``jobs:{id}`` and ``user:{owner}`` (the WebSocket routes forward them).

Cancel is cooperative: ``POST /v1/jobs/{id}/cancel`` sets ``cancel_requested``; a queued job
is cancelled at once, a running one at its next :meth:`JobContext.progress` call.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from riskdesk.domain.caller import Caller
from riskdesk.service.problems import problem_for
from riskdesk.service.pubsub import Hub
from riskdesk.store import Database
from riskdesk.store import workbench as repo
from riskdesk.store.models import Job
from riskdesk.store.paging import KeysetPage, PageKey, keyset_page
from riskdesk.store.types import jsonable, utc_now

__all__ = ["JobCancelled", "JobContext", "JobRunner", "JobView"]

log = logging.getLogger("riskdesk.service.jobs")

FINISHED = frozenset({"succeeded", "failed", "cancelled"})
PROGRESS_INTERVAL = 0.25
"""Seconds between stored progress updates of one job (the last one is always stored)."""


class JobCancelled(Exception):
    """Raised inside a job's work when the job was cancelled."""


@dataclass(frozen=True, slots=True)
class JobView:
    """What a client sees of a job."""

    id: uuid.UUID
    owner_id: uuid.UUID | None
    kind: str
    status: str
    progress: float
    message: str | None
    params: dict[str, Any] | None
    result: dict[str, Any] | None
    error: dict[str, Any] | None
    cancel_requested: bool
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def of(cls, row: Job) -> JobView:
        """The view of a ``jobs`` row."""
        return cls(
            id=row.id,
            owner_id=row.owner_id,
            kind=row.kind,
            status=row.status,
            progress=row.progress,
            message=row.message,
            params=row.params,
            result=row.result,
            error=row.error,
            cancel_requested=row.cancel_requested,
            created_at=row.created_at,
            updated_at=row.updated_at,
            started_at=row.started_at,
            finished_at=row.finished_at,
        )

    def event(self) -> dict[str, Any]:
        """The message published for this state of the job."""
        return {
            "type": "job",
            "job_id": str(self.id),
            "kind": self.kind,
            "status": self.status,
            "progress": self.progress,
            "message": self.message,
            "finished": self.status in FINISHED,
        }


class JobContext:
    """Handed to a job's work: report progress, learn about cancellation."""

    def __init__(self, runner: JobRunner, job_id: uuid.UUID) -> None:
        self._runner = runner
        self.job_id = job_id
        self._last = 0.0

    def progress(self, fraction: float, message: str | None = None, *, force: bool = False) -> None:
        """Record progress in [0, 1]; raises :class:`JobCancelled` when the job was cancelled."""
        now = time.monotonic()
        if not force and now - self._last < PROGRESS_INTERVAL and fraction < 1.0:
            return
        self._last = now
        self._runner._progress(self.job_id, min(max(float(fraction), 0.0), 1.0), message)


Work = Callable[[JobContext], dict[str, Any]]


class JobRunner:
    """Runs jobs of one service process in a small thread pool."""

    def __init__(self, db: Database, hub: Hub, *, workers: int = 2) -> None:
        self._db = db
        self.hub = hub
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="riskdesk-job")
        self._lock = threading.Lock()
        self._closed = False

    # -- queries ---------------------------------------------------------------------------

    def get(self, caller: Caller, job_id: uuid.UUID) -> JobView:
        """The job ``job_id`` of ``caller`` (another user's job is not found)."""
        with self._db.unit_of_work_for(caller, read_only=True) as uow:
            row = uow.session.get(Job, job_id)
            if row is None or (caller.scoped and row.owner_id != caller.user_id):
                raise repo.NotFoundError(f"no job {job_id}")
            return JobView.of(row)

    def list(self, caller: Caller, *, after: PageKey | None, limit: int) -> KeysetPage[JobView]:
        """The caller's jobs, newest first."""
        with self._db.unit_of_work_for(caller, read_only=True) as uow:
            stmt = select(Job)
            if caller.scoped:
                stmt = stmt.where(Job.owner_id == caller.user_id)
            page = keyset_page(
                uow.session, stmt, created_at=Job.created_at, id_=Job.id, after=after, limit=limit
            )
            return KeysetPage([JobView.of(row) for row in page.items], page.next_key)

    # -- commands --------------------------------------------------------------------------

    def submit(self, caller: Caller, kind: str, params: dict[str, Any], work: Work) -> JobView:
        """Store a queued job and start it in a worker thread."""
        if self._closed:
            raise RuntimeError("the job runner is shut down")
        with self._db.unit_of_work_for(caller) as uow:
            row = Job(
                owner_id=caller.user_id,
                kind=kind,
                status="queued",
                progress=0.0,
                params=jsonable(params),
                cancel_requested=False,
            )
            uow.add(row)
            uow.flush()
            uow.audit("job.submitted", resource_type="job", resource_id=row.id, new={"kind": kind})
            view = JobView.of(row)
        self._publish(view)
        self._pool.submit(self._run, caller, view.id, work)
        return view

    def cancel(self, caller: Caller, job_id: uuid.UUID) -> JobView:
        """Ask for the job to stop (a queued job stops at once; a finished one is unchanged)."""
        with self._db.unit_of_work_for(caller) as uow:
            row = uow.session.get(Job, job_id, with_for_update=True)
            if row is None or (caller.scoped and row.owner_id != caller.user_id):
                raise repo.NotFoundError(f"no job {job_id}")
            if row.status in FINISHED:
                return JobView.of(row)
            old = {"status": row.status, "cancel_requested": row.cancel_requested}
            row.cancel_requested = True
            if row.status == "queued":
                row.status = "cancelled"
                row.finished_at = utc_now()
                row.message = "cancelled before it started"
            uow.flush()
            uow.audit(
                "job.cancel_requested",
                resource_type="job",
                resource_id=row.id,
                old=old,
                new={"status": row.status, "cancel_requested": True},
            )
            view = JobView.of(row)
        self._publish(view)
        return view

    def shutdown(self, *, wait: bool = True) -> None:
        """Stop accepting jobs; with ``wait``, let the running ones finish."""
        self._closed = True
        self._pool.shutdown(wait=wait, cancel_futures=True)

    # -- worker side -----------------------------------------------------------------------

    def _publish(self, view: JobView) -> None:
        event = jsonable(view.event())
        try:
            self.hub.publish_threadsafe(f"jobs:{view.id}", event)
            if view.owner_id is not None:
                self.hub.publish_threadsafe(f"user:{view.owner_id}", event)
        except Exception:  # a lost notification must never fail the job itself
            log.exception("could not publish job %s", view.id)

    def _update(self, job_id: uuid.UUID, **changes: Any) -> JobView:
        with self._db.unit_of_work(actor="jobs") as uow:
            row = uow.session.get(Job, job_id, with_for_update=True)
            if row is None:  # pragma: no cover - rows are never deleted while running
                raise repo.NotFoundError(f"no job {job_id}")
            if changes.get("status") == "running" and row.status != "queued":
                return JobView.of(row)
            for name, value in changes.items():
                setattr(row, name, value)
            uow.flush()
            return JobView.of(row)

    def _progress(self, job_id: uuid.UUID, fraction: float, message: str | None) -> None:
        with self._db.unit_of_work(actor="jobs") as uow:
            row = uow.session.get(Job, job_id, with_for_update=True)
            if row is None or row.cancel_requested:
                raise JobCancelled(f"job {job_id} was cancelled")
            row.progress = fraction
            if message is not None:
                row.message = message
            uow.flush()
            view = JobView.of(row)
        self._publish(view)

    def _run(self, caller: Caller, job_id: uuid.UUID, work: Work) -> None:
        view = self._update(job_id, status="running", started_at=utc_now())
        if view.status != "running":  # cancelled while queued
            return
        self._publish(view)
        try:
            result = work(JobContext(self, job_id))
        except JobCancelled:
            final = self._update(
                job_id, status="cancelled", finished_at=utc_now(), message="cancelled"
            )
        except Exception as exc:
            problem = problem_for(exc)
            if problem is None:
                log.exception("job %s failed", job_id)
                error = {"code": "INTERNAL_ERROR", "detail": "the job failed on the server"}
            else:
                error = {"code": problem.code.value, "detail": problem.detail}
            final = self._update(job_id, status="failed", finished_at=utc_now(), error=error)
        else:
            final = self._update(
                job_id,
                status="succeeded",
                progress=1.0,
                finished_at=utc_now(),
                result=jsonable(result),
            )
        self._publish(final)
