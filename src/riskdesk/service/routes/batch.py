"""``/v1/batch``: the daily risk batch as a job, and its audit log.

Roles: a trader runs the batch for its own portfolios; an admin runs it for every user's
portfolios (or the ones it names); a viewer only reads the audit log of its own portfolios
(an admin reads everyone's). A portfolio named that the caller cannot see is a 404.

``POST /v1/batch/runs`` always answers 202 with the job (:mod:`riskdesk.service.jobs`): its
progress is the share of portfolios finished, its message the last one's name and status,
its result the batch result (every portfolio's steps). The service runs the portfolios one
after the other in the job's worker thread (it already runs off the request path), or fans
them out to the Dask cluster of the ``dask_scheduler`` setting when one is configured; the
CLI (``riskdesk batch run``) is the way to use a local process pool.

``GET /v1/batch/runs?date=D`` is the audit view of a date: each visible portfolio's nine steps
from ``calculation_audit_log`` (``pending`` for a step not run yet), by portfolio name.
"""

from __future__ import annotations

import datetime as dt
import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from riskdesk.domain.timeutil import is_trading_day
from riskdesk.risk.batch import STEPS, DailyBatch, Executor, PortfolioRun
from riskdesk.service.dates import session_or_last
from riskdesk.service.deps import State, TraderCaller, ViewerCaller
from riskdesk.service.jobs import JobContext
from riskdesk.service.problems import ErrorCode, FieldError, ProblemError, problem_responses
from riskdesk.service.routes.jobs import JobOut

__all__ = ["router"]

router = APIRouter(tags=["batch"])

MAX_PORTFOLIOS = 1_000
"""The most portfolios one request names."""
_JOB_KIND = "batch.run"


class BatchRunIn(BaseModel):
    """A batch run: its date, which portfolios, whether to recompute completed steps.

    The date defaults to the last NYSE session; the portfolios to every one you may run.
    """

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"date": "2026-11-20", "portfolios": [], "force": False}]},
    )

    date: Annotated[dt.date | None, Field(description="An NYSE session.")] = None
    portfolios: Annotated[
        list[uuid.UUID],
        Field(
            max_length=MAX_PORTFOLIOS,
            description="Portfolio ids (default: every portfolio you may run).",
        ),
    ] = []
    force: bool = False


class BatchStepOut(BaseModel):
    """One step of one portfolio from the audit log."""

    step: str
    status: str
    records: int | None
    start_time: str | None
    end_time: str | None
    seconds: float | None
    error: str | None


class BatchPortfolioOut(BaseModel):
    """A portfolio's steps of the date, in the batch's order."""

    portfolio_id: str
    portfolio: str
    date: str
    complete: bool
    steps: list[BatchStepOut]


class BatchStatusOut(BaseModel):
    """The audit view of a date."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "date": "2026-11-20",
                    "steps": list(STEPS),
                    "portfolios": [
                        {
                            "portfolio_id": "0193a1f2c3d44e5f8a9b0c1d2e3f4a5b",
                            "portfolio": "Growth book",
                            "date": "2026-11-20",
                            "complete": False,
                            "steps": [
                                {
                                    "step": "prices",
                                    "status": "failed",
                                    "records": None,
                                    "start_time": "2026-11-20T22:00:00+00:00",
                                    "end_time": "2026-11-20T22:00:00.2+00:00",
                                    "seconds": 0.2,
                                    "error": "no close on 2026-11-20 for MSFT: import them",
                                }
                            ],
                        }
                    ],
                }
            ]
        }
    )

    date: str
    steps: list[str]
    portfolios: list[BatchPortfolioOut]


def _session(on: date | None) -> date:
    if on is None:
        return session_or_last(None)
    if not is_trading_day(on):
        raise ProblemError(
            422,
            ErrorCode.VALIDATION_ERROR,
            f"{on.isoformat()} is not an NYSE session: the batch runs on trading days",
            errors=[FieldError(field="date", rule="nyse_session", message="not an NYSE session")],
        )
    return on


@router.post(
    "/v1/batch/runs",
    status_code=202,
    response_model=JobOut,
    responses=problem_responses(401, 403, 404, 422),
)
def start_run(body: BatchRunIn, caller: TraderCaller, state: State) -> JSONResponse:
    """Run the daily batch of a date as a job (your portfolios; an admin's: everyone's)."""
    day = _session(body.date)
    batch = DailyBatch(state.db, caller, everyone=caller.at_least("admin"))
    targets = batch.portfolios([str(p) for p in dict.fromkeys(body.portfolios)])
    scheduler = state.settings.dask_scheduler
    params: dict[str, Any] = {
        "date": day.isoformat(),
        "portfolios": [str(pid) for pid, _ in targets],
        "force": body.force,
    }

    def work(ctx: JobContext) -> dict[str, Any]:
        ctx.progress(0.0, f"batch of {day.isoformat()}: {len(targets)} portfolios", force=True)

        def tick(run: PortfolioRun, done: int, total: int) -> None:
            ctx.progress(done / total, f"{run.name}: {run.status.value}", force=True)

        result = batch.run(
            day,
            portfolios=[str(pid) for pid, _ in targets],
            force=body.force,
            executor=Executor.DASK if scheduler else Executor.INLINE,
            scheduler=scheduler,
            progress=tick,
        )
        return result.to_dict()

    view = state.jobs.submit(caller, _JOB_KIND, params, work)
    return JSONResponse(JobOut.from_view(view).model_dump(mode="json"), status_code=202)


@router.get(
    "/v1/batch/runs",
    response_model=BatchStatusOut,
    responses=problem_responses(401, 403, 422),
)
def run_status(
    caller: ViewerCaller,
    state: State,
    on: Annotated[
        date | None,
        Query(alias="date", description="An NYSE session (default: the last one, UTC)."),
    ] = None,
) -> BatchStatusOut:
    """Each visible portfolio's batch steps of the date, from the calculation audit log."""
    day = _session(on)
    batch = DailyBatch(state.db, caller, everyone=caller.at_least("admin"))
    return BatchStatusOut.model_validate(
        {"date": day.isoformat(), "steps": list(STEPS), "portfolios": batch.status(day)}
    )
