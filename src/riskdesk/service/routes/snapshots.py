"""``/v1/snapshots``: create from the service's synthetic source, refresh, pin, get, list.

Snapshots are shared market data: every role reads them, a trader creates them. After a LIVE
snapshot is stored, each underlying is published on ``market:{SYMBOL}`` and its quote put in
the live-quote cache (:func:`riskdesk.service.routes.market.announce_snapshot`).
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from fastapi.responses import JSONResponse

from riskdesk.adapters.simulated.market import SyntheticSource
from riskdesk.domain.caller import Caller
from riskdesk.domain.market import SnapshotMode
from riskdesk.service.deps import State, TraderCaller, ViewerCaller
from riskdesk.service.jobs import JobContext
from riskdesk.service.pagination import Page, PageParams, after_key, page_params
from riskdesk.service.pagination import to_page as _to_page
from riskdesk.service.problems import problem_responses
from riskdesk.service.routes.jobs import JobOut
from riskdesk.service.routes.market import announce_snapshot
from riskdesk.service.schemas import (
    SnapshotCreateIn,
    SnapshotOut,
    SnapshotRefreshIn,
    SnapshotSummaryOut,
    to_jsonable,
)
from riskdesk.service.state import ServiceState
from riskdesk.store.paging import KeysetPage
from riskdesk.workbench.snapshots import take_snapshot
from riskdesk.workbench.usecases import SnapshotRef, Workbench

__all__ = ["router"]

router = APIRouter(tags=["snapshots"])

_EXISTED: dict[int | str, dict[str, Any]] = {
    200: {"model": SnapshotOut, "description": "The identical snapshot was already stored."}
}
_AS_JOB: dict[int | str, dict[str, Any]] = {
    202: {"model": JobOut, "description": "Accepted as a job (as_job=true)."}
}


def _stored(ref: SnapshotRef, response: Response) -> SnapshotOut:
    response.status_code = 201 if ref.created else 200
    return SnapshotOut.from_ref(ref)


@router.post(
    "/v1/snapshots",
    response_model=SnapshotOut,
    status_code=201,
    responses=_EXISTED | problem_responses(401, 403, 404, 409, 422),
)
def create_snapshot(
    body: SnapshotCreateIn, caller: TraderCaller, state: State, response: Response
) -> SnapshotOut:
    """Take a snapshot of the synthetic market (201; 200 when the identical one existed)."""
    settings = state.settings
    source = SyntheticSource(
        seed=settings.market_seed if body.seed is None else body.seed,
        max_expiry_days=settings.market_max_days,
        as_of=body.as_of,
        symbols=None if body.symbols is None else tuple(body.symbols),
    )
    snapshot = take_snapshot(
        source,
        mode=SnapshotMode(body.mode),
        rate=body.rate,
        dividend_yield=body.dividend_yield,
        borrow_rate=body.borrow_rate,
    )
    ref = Workbench(state.db, caller).save_snapshot(snapshot)
    announce_snapshot(state, caller, ref)
    return _stored(ref, response)


def _refresh(
    state: ServiceState, caller: Caller, snapshot_id: uuid.UUID, body: SnapshotRefreshIn
) -> SnapshotRef:
    settings = state.settings
    source = SyntheticSource(
        seed=settings.market_seed if body.seed is None else body.seed,
        max_expiry_days=settings.market_max_days,
    )
    ref = Workbench(state.db, caller).refresh_snapshot(
        str(snapshot_id), source, minutes=body.minutes
    )
    announce_snapshot(state, caller, ref)
    return ref


@router.post(
    "/v1/snapshots/{snapshot_id}/refresh",
    response_model=SnapshotOut,
    status_code=201,
    responses=_EXISTED | _AS_JOB | problem_responses(401, 403, 404, 409, 422),
)
def refresh_snapshot(
    snapshot_id: uuid.UUID,
    body: SnapshotRefreshIn,
    caller: TraderCaller,
    state: State,
    response: Response,
    as_job: Annotated[bool, Query(description="Run as a job and answer 202.")] = False,
) -> Any:
    """Re-mark a LIVE synthetic snapshot ``minutes`` later along its path."""
    if as_job:

        def work(ctx: JobContext) -> dict[str, Any]:
            ctx.progress(0.0, "re-marking the snapshot", force=True)
            ref = _refresh(state, caller, snapshot_id, body)
            return SnapshotOut.from_ref(ref).model_dump(mode="json")

        view = state.jobs.submit(
            caller,
            "snapshot.refresh",
            {"snapshot_id": str(snapshot_id), **body.model_dump(mode="json")},
            work,
        )
        return JSONResponse(JobOut.from_view(view).model_dump(mode="json"), status_code=202)
    return _stored(_refresh(state, caller, snapshot_id, body), response)


@router.post(
    "/v1/snapshots/{snapshot_id}/pin",
    response_model=SnapshotOut,
    status_code=201,
    responses=_EXISTED | problem_responses(401, 403, 404, 409, 422),
)
def pin_snapshot(
    snapshot_id: uuid.UUID, caller: TraderCaller, state: State, response: Response
) -> SnapshotOut:
    """A PINNED copy of a LIVE snapshot (a PINNED snapshot is returned as it is)."""
    ref = Workbench(state.db, caller).pin_snapshot(str(snapshot_id))
    announce_snapshot(state, caller, ref)
    return _stored(ref, response)


@router.get(
    "/v1/snapshots",
    response_model=Page[SnapshotSummaryOut],
    responses=problem_responses(400, 401, 403, 422),
)
def list_snapshots(
    caller: ViewerCaller, state: State, page: Annotated[PageParams, Depends(page_params)]
) -> Page[SnapshotSummaryOut]:
    """Stored snapshots, newest stored first."""
    secret = state.cursor_secret
    listing = Workbench(state.db, caller).list_snapshots(
        limit=page.limit, after=after_key(page, secret=secret)
    )
    return _to_page(
        KeysetPage(listing.items, listing.next_key),
        SnapshotSummaryOut.from_summary,
        page,
        secret=secret,
    )


@router.get(
    "/v1/snapshots/{snapshot_id}",
    response_model=SnapshotOut,
    responses=problem_responses(401, 403, 404, 422),
)
def get_snapshot(snapshot_id: uuid.UUID, caller: ViewerCaller, state: State) -> SnapshotOut:
    """One stored snapshot: identity, underlyings, overrides and its quote count."""
    return SnapshotOut.from_ref(Workbench(state.db, caller).load_snapshot(str(snapshot_id)))


@router.get(
    "/v1/snapshots/{snapshot_id}/diagnostics",
    response_model=dict[str, Any],
    responses=problem_responses(401, 403, 404, 422),
)
def get_diagnostics(snapshot_id: uuid.UUID, caller: ViewerCaller, state: State) -> dict[str, Any]:
    """Quote-quality counts of the snapshot, with its implied vols solved."""
    data = Workbench(state.db, caller).snapshot_diagnostics(str(snapshot_id))
    result: dict[str, Any] = to_jsonable(data)
    return result
