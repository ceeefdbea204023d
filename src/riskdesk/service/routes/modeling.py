"""``/v1/modeling-sessions``: what-if sessions on a portfolio's book.

A session belongs to the user who started it (on one of their portfolios): another user's
session is a 404, never a 403. Reading (list, show) takes a viewer; everything that writes
(start, edits, compare, which stores its result, hedge, export, which records an
``export_history`` row, complete, cancel) takes a trader.

An edit of a completed or cancelled session is a 409, as is a measure whose price history is
not stored (the detail says how to add it); a bad edit (unknown position, zero quantity, a
side flip not allowed, a symbol already held) is a 422 naming the rule. ``compare`` takes
``?as_job=true`` to run as a job (202 with the job; the result is the job's).
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from riskdesk.risk.factors import MIN_OBSERVATIONS, REGRESSION_WINDOW
from riskdesk.risk.modeling import STATUSES, ModelingSessions
from riskdesk.risk.reports import VAR_WINDOW
from riskdesk.service.dates import session_or_last
from riskdesk.service.deps import State, TraderCaller, ViewerCaller
from riskdesk.service.jobs import JobContext
from riskdesk.service.pagination import Page, PageParams, after_key, page_params, to_page
from riskdesk.service.problems import problem_responses
from riskdesk.service.routes.jobs import JobOut
from riskdesk.store.paging import KeysetPage

__all__ = ["router"]

router = APIRouter(tags=["portfolios"])

T = TypeVar("T")

MAX_WINDOW = 2_520
"""The longest window (sessions) a route accepts: ten years of history."""
BASE = "/v1/modeling-sessions"
ITEM = BASE + "/{session_id}"
_EXAMPLE_PORTFOLIO = "0193a1f2c3d44e5f8a9b0c1d2e3f4a5b"
_WRITE_ERRORS = problem_responses(401, 403, 404, 409, 422)
_AS_JOB: dict[int | str, dict[str, Any]] = {
    202: {"model": JobOut, "description": "Accepted as a job (as_job=true)."}
}
Quantity = Annotated[
    str,
    Field(
        min_length=1,
        max_length=40,
        pattern=r"^[+-]?[0-9]+(\.[0-9]+)?$",
        description="A signed decimal quantity as a string (negative: short).",
    ),
]
Symbol = Annotated[
    str,
    Field(
        min_length=1,
        max_length=32,
        pattern=r"^[A-Za-z0-9. -]+$",
        description="A ticker (SPY) or an OCC option symbol (AAPL261218C00230000).",
    ),
]

# -- wire models -----------------------------------------------------------------------------


class SessionStartIn(BaseModel):
    """Start a session: the portfolio (yours), the book's date, a name."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"portfolio_id": _EXAMPLE_PORTFOLIO, "date": "2026-11-20", "name": "trim tech"}
            ]
        },
    )

    portfolio_id: uuid.UUID
    on: date | None = Field(
        None,
        alias="date",
        description="An NYSE session (default: the last one on or before today, UTC).",
    )
    name: str | None = Field(None, min_length=1, max_length=255)
    description: str | None = Field(None, max_length=1_000)


class AddPositionIn(BaseModel):
    """A position to add: symbol, signed quantity, entry price (decimal strings), tags."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"symbol": "NVDA", "quantity": "-30", "price": "120"}]},
    )

    symbol: Symbol
    quantity: Quantity
    price: Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[0-9]+(\.[0-9]+)?$")]
    tags: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(
        default_factory=list, max_length=20
    )


class PositionRefIn(BaseModel):
    """A position of the session's book, by its id or its symbol (exactly one)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"symbol": "MSFT"}]})

    position_id: uuid.UUID | None = None
    symbol: Symbol | None = None


class ResizeIn(PositionRefIn):
    """A position's new signed quantity; ``allow_flip`` lets a long become short (or back)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"symbol": "AAPL", "quantity": "50"}]},
    )

    quantity: Quantity
    allow_flip: bool = False


class HedgeIn(BaseModel):
    """The hedge asked for: delta or beta, with which ETF, applied or only suggested."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"method": "delta", "etf": "SPY", "apply": False}]},
    )

    method: Literal["delta", "beta"] = "delta"
    etf: Annotated[str, Field(min_length=1, max_length=10, pattern=r"^[A-Za-z0-9.-]+$")] = "SPY"
    apply: bool = False
    window: int = Field(REGRESSION_WINDOW, ge=MIN_OBSERVATIONS, le=MAX_WINDOW)


class ExportIn(BaseModel):
    """The export's format and, when the session must be compared first, its options."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"format": "csv"}]})

    export_format: Literal["csv", "json"] = Field("json", alias="format")
    benchmark: Annotated[str, Field(min_length=1, max_length=10, pattern=r"^[A-Za-z0-9.-]+$")] = (
        "SPY"
    )
    factor_window: int = Field(REGRESSION_WINDOW, ge=MIN_OBSERVATIONS, le=MAX_WINDOW)
    var_window: int = Field(VAR_WINDOW, ge=MIN_OBSERVATIONS, le=MAX_WINDOW)


# -- helpers ---------------------------------------------------------------------------------


def _reader(state: State, caller: ViewerCaller) -> ModelingSessions:
    return ModelingSessions(state.db, caller)


def _writer(state: State, caller: TraderCaller) -> ModelingSessions:
    return ModelingSessions(state.db, caller)


Reader = Annotated[ModelingSessions, Depends(_reader)]
Writer = Annotated[ModelingSessions, Depends(_writer)]


# -- routes ----------------------------------------------------------------------------------


@router.post(BASE, response_model=dict[str, Any], status_code=201, responses=_WRITE_ERRORS)
def start_session(body: SessionStartIn, sessions: Writer) -> dict[str, Any]:
    """Clone one of your portfolios' book on a date into a new what-if session."""
    day = session_or_last(body.on)
    return sessions.start(body.portfolio_id, day, body.name, body.description).to_dict()


@router.get(
    BASE, response_model=Page[dict[str, Any]], responses=problem_responses(400, 401, 403, 422)
)
def list_sessions(
    sessions: Reader,
    state: State,
    page: Annotated[PageParams, Depends(page_params)],
    status: Annotated[
        Literal["active", "completed", "cancelled"] | None,
        Query(description=f"Only sessions in this state ({', '.join(STATUSES)})."),
    ] = None,
) -> Page[dict[str, Any]]:
    """Your what-if sessions, newest first."""
    secret = state.cursor_secret
    listing = sessions.list(after=after_key(page, secret=secret), limit=page.limit, status=status)
    return to_page(
        KeysetPage(listing.items, listing.next_key),
        lambda v: v.summary_dict(),
        page,
        secret=secret,
    )


@router.get(ITEM, response_model=dict[str, Any], responses=problem_responses(401, 403, 404, 422))
def get_session(session_id: uuid.UUID, sessions: Reader) -> dict[str, Any]:
    """One of your sessions: both books, the changes and the last impact summary."""
    return sessions.get(session_id).to_dict()


@router.post(ITEM + "/positions", response_model=dict[str, Any], responses=_WRITE_ERRORS)
def add_position(session_id: uuid.UUID, body: AddPositionIn, sessions: Writer) -> dict[str, Any]:
    """Add a position to the session's book (a symbol already held is refused: resize it)."""
    return sessions.add_position(
        session_id, body.symbol, body.quantity, body.price, body.tags
    ).to_dict()


@router.post(ITEM + "/positions/remove", response_model=dict[str, Any], responses=_WRITE_ERRORS)
def remove_position(session_id: uuid.UUID, body: PositionRefIn, sessions: Writer) -> dict[str, Any]:
    """Remove a position (by id or symbol) from the session's book."""
    return sessions.remove_position(
        session_id, position_id=body.position_id, symbol=body.symbol
    ).to_dict()


@router.post(ITEM + "/positions/resize", response_model=dict[str, Any], responses=_WRITE_ERRORS)
def resize_position(session_id: uuid.UUID, body: ResizeIn, sessions: Writer) -> dict[str, Any]:
    """Set a position's quantity (a side flip only with ``allow_flip``)."""
    return sessions.resize_position(
        session_id,
        body.quantity,
        position_id=body.position_id,
        symbol=body.symbol,
        allow_flip=body.allow_flip,
    ).to_dict()


@router.post(ITEM + "/compare", response_model=dict[str, Any], responses=_AS_JOB | _WRITE_ERRORS)
def compare(
    session_id: uuid.UUID,
    sessions: Writer,
    state: State,
    benchmark: Annotated[
        str, Query(min_length=1, max_length=10, pattern=r"^[A-Za-z0-9.-]+$")
    ] = "SPY",
    factor_window: Annotated[int, Query(ge=MIN_OBSERVATIONS, le=MAX_WINDOW)] = REGRESSION_WINDOW,
    var_window: Annotated[int, Query(ge=MIN_OBSERVATIONS, le=MAX_WINDOW)] = VAR_WINDOW,
    as_job: Annotated[
        bool, Query(description="Run as a job and answer 202 with it (the result is the job's).")
    ] = False,
) -> Any:
    """Every measure of the baseline and the pro forma book, and the change (stored)."""
    sessions.get(session_id)  # 404 now, not inside a job

    def run() -> dict[str, Any]:
        return sessions.compare(
            session_id,
            benchmark=benchmark,
            factor_window=factor_window,
            var_window=var_window,
        ).to_dict()

    if not as_job:
        return run()

    def work(ctx: JobContext) -> dict[str, Any]:
        ctx.progress(0.0, "measuring the baseline and the pro forma book", force=True)
        return run()

    params = {
        "session_id": str(session_id),
        "benchmark": benchmark,
        "factor_window": factor_window,
        "var_window": var_window,
    }
    view = state.jobs.submit(sessions.caller, "whatif.compare", params, work)
    return JSONResponse(JobOut.from_view(view).model_dump(mode="json"), status_code=202)


@router.post(ITEM + "/hedge", response_model=dict[str, Any], responses=_WRITE_ERRORS)
def hedge(session_id: uuid.UUID, body: HedgeIn, sessions: Writer) -> dict[str, Any]:
    """Whole ETF shares zeroing the book's delta-dollars (or beta-weighted); ``apply`` adds it."""
    return sessions.hedge(
        session_id, method=body.method, etf=body.etf, apply=body.apply, window=body.window
    ).to_dict()


@router.post(ITEM + "/export", response_model=dict[str, Any], responses=_WRITE_ERRORS)
def export(session_id: uuid.UUID, body: ExportIn, sessions: Writer) -> dict[str, Any]:
    """The comparison as CSV or JSON text (one ``export_history`` row per call)."""
    return sessions.export(
        session_id,
        body.export_format,
        benchmark=body.benchmark,
        factor_window=body.factor_window,
        var_window=body.var_window,
    ).to_dict()


@router.post(ITEM + "/complete", response_model=dict[str, Any], responses=_WRITE_ERRORS)
def complete(session_id: uuid.UUID, sessions: Writer) -> dict[str, Any]:
    """Complete an active session (it takes no more edits)."""
    return sessions.complete(session_id).to_dict()


@router.post(ITEM + "/cancel", response_model=dict[str, Any], responses=_WRITE_ERRORS)
def cancel(session_id: uuid.UUID, sessions: Writer) -> dict[str, Any]:
    """Cancel an active session (it takes no more edits)."""
    return sessions.cancel(session_id).to_dict()
