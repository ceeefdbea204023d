"""``/v1/jobs``: status, progress, result and cancel of long-running work."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict

from riskdesk.service.deps import State, ViewerCaller
from riskdesk.service.jobs import JobView
from riskdesk.service.pagination import Page, PageParams, after_key, page_params, to_page
from riskdesk.service.problems import problem_responses

__all__ = ["JobOut", "router"]

router = APIRouter(tags=["jobs"])


class JobOut(BaseModel):
    """A job: what it does, where it is, and its result or error once finished."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "0193a1f2c3d44e5f8a9b0c1d2e3f4a5b",
                    "kind": "evaluate",
                    "status": "running",
                    "progress": 0.4,
                    "message": "valuing the scenario grid",
                    "params": {"trade": {"draft_id": "0193a1f2c3d44e5f8a9b0c1d2e3f4a00"}},
                    "result": None,
                    "error": None,
                    "cancel_requested": False,
                    "created_at": "2026-11-30T19:00:00.000000Z",
                    "updated_at": "2026-11-30T19:00:01.500000Z",
                    "started_at": "2026-11-30T19:00:00.100000Z",
                    "finished_at": None,
                }
            ]
        }
    )

    id: str
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
    def from_view(cls, view: JobView) -> JobOut:
        """The wire form of a job."""
        return cls(
            id=str(view.id),
            kind=view.kind,
            status=view.status,
            progress=view.progress,
            message=view.message,
            params=view.params,
            result=view.result,
            error=view.error,
            cancel_requested=view.cancel_requested,
            created_at=view.created_at,
            updated_at=view.updated_at,
            started_at=view.started_at,
            finished_at=view.finished_at,
        )


@router.get(
    "/v1/jobs", response_model=Page[JobOut], responses=problem_responses(400, 401, 403, 422)
)
def list_jobs(
    caller: ViewerCaller, state: State, page: Annotated[PageParams, Depends(page_params)]
) -> Page[JobOut]:
    """Your jobs, newest first."""
    secret = state.cursor_secret
    result = state.jobs.list(caller, after=after_key(page, secret=secret), limit=page.limit)
    return to_page(result, JobOut.from_view, page, secret=secret)


@router.get(
    "/v1/jobs/{job_id}", response_model=JobOut, responses=problem_responses(401, 403, 404, 422)
)
def get_job(job_id: uuid.UUID, caller: ViewerCaller, state: State) -> JobOut:
    """One of your jobs."""
    return JobOut.from_view(state.jobs.get(caller, job_id))


@router.post(
    "/v1/jobs/{job_id}/cancel",
    response_model=JobOut,
    responses=problem_responses(401, 403, 404, 409, 422),
)
def cancel_job(job_id: uuid.UUID, caller: ViewerCaller, state: State) -> JobOut:
    """Cancel one of your jobs (a finished job is returned unchanged)."""
    return JobOut.from_view(state.jobs.cancel(caller, job_id))
