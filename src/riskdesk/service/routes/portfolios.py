"""``/v1/portfolios`` (books and their CSV upload) and ``/v1/risk`` (the book's risk measures).

A portfolio belongs to the user who created it: another user's portfolio is a 404, never a
403, on every route here (the portfolio and risk use cases already treat it as missing).

The book upload takes the CSV file itself as the request body (``Content-Type: text/csv``),
so the service's body limit (``max_body_bytes``, 2 MB by default) applies: a larger book
(up to the 10 MB / 10,000 rows of a book file) goes through ``riskdesk portfolio import``.

The risk routes answer the use cases' JSON reports as they are (money as decimal strings).
A date defaults to the last NYSE session on or before today (UTC); a date that is not a
session is a 422, and a measure whose price history is not stored a 409 saying how to add
it. ``factors`` and ``correlation`` store their rows, so they are ``POST`` (trader);
``var`` and ``backtest`` take ``?as_job=true`` to run as a job (202 with the job).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from riskdesk.domain.caller import Caller
from riskdesk.risk.book_csv import BookFileError, parse_mapping
from riskdesk.risk.correlation import MIN_OVERLAP
from riskdesk.risk.exposures import Grouping
from riskdesk.risk.factors import MIN_OBSERVATIONS, REGRESSION_WINDOW
from riskdesk.risk.portfolios import (
    ImportReport,
    PortfolioDetail,
    Portfolios,
    PortfolioSummary,
    StoredPosition,
)
from riskdesk.risk.reports import CORRELATION_WINDOW, HistoryMissingError, RiskReports
from riskdesk.service.dates import session_or_last
from riskdesk.service.deps import State, TraderCaller, ViewerCaller
from riskdesk.service.jobs import JobContext
from riskdesk.service.pagination import Page, PageParams, after_key, page_params, to_page
from riskdesk.service.problems import ErrorCode, FieldError, ProblemError, problem_responses
from riskdesk.service.routes.jobs import JobOut
from riskdesk.service.state import ServiceState
from riskdesk.store.paging import KeysetPage

__all__ = ["router"]

router = APIRouter(tags=["portfolios"])

T = TypeVar("T")

MAX_WINDOW = 2_520
"""The longest window (sessions) a risk route accepts: ten years of history."""
VAR_WINDOW_DEFAULT = 500
BACKTEST_DEFAULT = 250
CSV_MEDIA_TYPE = "text/csv"

_EXAMPLE_ID = "0193a1f2c3d44e5f8a9b0c1d2e3f4a5b"
_EXAMPLE_CSV = (
    "ticker,quantity,entry_price,entry_date,tags\n"
    'AAPL,100,185.50,2026-01-05,"core,tech"\n'
    "SPY260618P00550000,-2,8.40,2026-02-02,hedge\n"
)
_READ_ERRORS = problem_responses(401, 403, 404, 409, 422)
_AS_JOB: dict[int | str, dict[str, Any]] = {
    202: {"model": JobOut, "description": "Accepted as a job (as_job=true)."}
}

# -- wire models -----------------------------------------------------------------------------


class PortfolioCreateIn(BaseModel):
    """A new portfolio of yours: a name unique among your portfolios, a description."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"name": "Growth book", "description": "Tech longs with put hedges"}]
        },
    )

    name: str = Field(min_length=1, max_length=255)
    description: str | None = Field(None, max_length=1_000)


class PortfolioOut(BaseModel):
    """A portfolio's identity."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": _EXAMPLE_ID,
                    "name": "Growth book",
                    "description": "Tech longs with put hedges",
                    "base_currency": "USD",
                    "user_id": "0193a1f2c3d44e5f8a9b0c1d2e3f4a00",
                    "created_at": "2026-11-30T19:00:00.000000Z",
                }
            ]
        }
    )

    id: str
    name: str
    description: str | None
    base_currency: str
    user_id: str
    created_at: datetime

    @classmethod
    def of(cls, summary: PortfolioSummary) -> PortfolioOut:
        """The wire form of a portfolio summary."""
        return cls(
            id=str(summary.portfolio_id),
            name=summary.name,
            description=summary.description,
            base_currency=summary.base_currency,
            user_id=str(summary.user_id),
            created_at=summary.created_at,
        )


class PositionOut(BaseModel):
    """A stored position: typed (LONG/SHORT/LC/LP/SC/SP), tagged, expired or live."""

    id: str
    ticker: str
    position_type: str
    quantity: str
    entry_price: str
    entry_date: date
    tags: list[str]
    is_active: bool
    expired: bool
    exit_date: date | None
    exit_price: str | None
    strike_price: str | None
    expiration_date: date | None
    underlying_ticker: str | None
    strategy: str | None = Field(
        None, description="Your strategy group holding it whole (null: left to detection)."
    )

    @classmethod
    def of(cls, position: StoredPosition) -> PositionOut:
        """The wire form of a stored position (decimals as strings)."""
        return cls.model_validate(position.to_dict())


class PortfolioDetailOut(PortfolioOut):
    """A portfolio with every stored position."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": _EXAMPLE_ID,
                    "name": "Growth book",
                    "description": None,
                    "base_currency": "USD",
                    "user_id": "0193a1f2c3d44e5f8a9b0c1d2e3f4a00",
                    "created_at": "2026-11-30T19:00:00.000000Z",
                    "positions": [
                        {
                            "id": "0193a1f2c3d44e5f8a9b0c1d2e3f4a11",
                            "ticker": "AAPL",
                            "position_type": "LONG",
                            "quantity": "100",
                            "entry_price": "185.5",
                            "entry_date": "2026-01-05",
                            "tags": ["core", "tech"],
                            "is_active": True,
                            "expired": False,
                            "exit_date": None,
                            "exit_price": None,
                            "strike_price": None,
                            "expiration_date": None,
                            "underlying_ticker": None,
                            "strategy": None,
                        }
                    ],
                }
            ]
        }
    )

    positions: list[PositionOut]

    @classmethod
    def of_detail(cls, detail: PortfolioDetail) -> PortfolioDetailOut:
        """The wire form of a portfolio with its positions."""
        head = PortfolioOut.of(detail.portfolio).model_dump()
        return cls(**head, positions=[PositionOut.of(p) for p in detail.positions])


class PortfolioRefOut(BaseModel):
    """The portfolio an upload went to."""

    id: str
    name: str


class SkippedRowOut(BaseModel):
    """A row already stored (same ticker, entry date, quantity and price): nothing new."""

    line: int
    ticker: str
    reason: str


class RejectedRowOut(BaseModel):
    """A bad row: its line (the header is line 1), column, reason and the value given."""

    line: int
    column: str | None
    reason: str
    value: str | None


class SettlementNoteOut(BaseModel):
    """How an expired option row was settled, or that its settlement is pending."""

    line: int
    ticker: str
    underlying: str
    expiry: date
    close: str | None
    exit_price: str | None
    pending: bool
    message: str


class ImportReportOut(BaseModel):
    """What an upload did: rows imported, skipped (already stored), rejected, settled."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "portfolio": {"id": _EXAMPLE_ID, "name": "Growth book"},
                    "file_sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
                    "data_rows": 3,
                    "imported": 2,
                    "skipped_count": 0,
                    "rejected_count": 1,
                    "skipped": [],
                    "rejected": [
                        {
                            "line": 4,
                            "column": "quantity",
                            "reason": "quantity must not be zero",
                            "value": "0",
                        }
                    ],
                    "settlement": [],
                }
            ]
        }
    )

    portfolio: PortfolioRefOut
    file_sha256: str
    data_rows: int
    imported: int
    skipped_count: int
    rejected_count: int
    skipped: list[SkippedRowOut]
    rejected: list[RejectedRowOut]
    settlement: list[SettlementNoteOut]

    @classmethod
    def of(cls, report: ImportReport) -> ImportReportOut:
        """The wire form of an import report."""
        return cls.model_validate(report.to_dict())


# -- portfolios ------------------------------------------------------------------------------


def _today() -> date:
    return datetime.now(UTC).date()


@router.post(
    "/v1/portfolios",
    response_model=PortfolioOut,
    status_code=201,
    responses=problem_responses(401, 403, 409, 422),
)
def create_portfolio(body: PortfolioCreateIn, caller: TraderCaller, state: State) -> PortfolioOut:
    """Create a portfolio of yours (its name must be new among your portfolios)."""
    return PortfolioOut.of(Portfolios(state.db, caller).create(body.name, body.description))


@router.get(
    "/v1/portfolios",
    response_model=Page[PortfolioOut],
    responses=problem_responses(400, 401, 403, 422),
)
def list_portfolios(
    caller: ViewerCaller, state: State, page: Annotated[PageParams, Depends(page_params)]
) -> Page[PortfolioOut]:
    """Your portfolios, newest first."""
    secret = state.cursor_secret
    listing = Portfolios(state.db, caller).list(
        after=after_key(page, secret=secret), limit=page.limit
    )
    return to_page(
        KeysetPage(listing.items, listing.next_key), PortfolioOut.of, page, secret=secret
    )


@router.get(
    "/v1/portfolios/{portfolio_id}",
    response_model=PortfolioDetailOut,
    responses=problem_responses(401, 403, 404, 422),
)
def get_portfolio(
    portfolio_id: uuid.UUID, caller: ViewerCaller, state: State
) -> PortfolioDetailOut:
    """One of your portfolios with its positions (``expired`` as of today, UTC)."""
    detail = Portfolios(state.db, caller).get(portfolio_id, today=_today())
    return PortfolioDetailOut.of_detail(detail)


def _refused(reason: str) -> ProblemError:
    return ProblemError(
        422,
        ErrorCode.VALIDATION_ERROR,
        f"the book file is refused: {reason}",
        errors=[FieldError(field="body", rule="book_file", message=reason)],
    )


@router.post(
    "/v1/portfolios/{portfolio_id}/positions/import",
    response_model=ImportReportOut,
    responses=problem_responses(401, 403, 404, 409, 413, 415, 422),
)
def import_positions(
    portfolio_id: uuid.UUID,
    caller: TraderCaller,
    state: State,
    request: Request,
    data: Annotated[
        bytes,
        Body(
            media_type=CSV_MEDIA_TYPE,
            description="The book file itself (UTF-8 CSV, header row first): "
            "ticker,quantity,entry_price,entry_date,tags. Files above the service's body "
            "limit (max_body_bytes) are a 413: import them with `riskdesk portfolio import`.",
            examples=[_EXAMPLE_CSV],
        ),
    ] = b"",
    today: Annotated[
        date | None,
        Query(description="The day the rows are checked against (default: today, UTC)."),
    ] = None,
    date_format: Annotated[
        str | None,
        Query(
            max_length=64,
            description="A strptime format for entry_date (default YYYY-MM-DD), e.g. %m/%d/%Y.",
        ),
    ] = None,
    column_map: Annotated[
        str | None,
        Query(
            alias="map",
            max_length=1_000,
            description="A broker export's columns: FIELD=HEADER pairs, e.g. "
            'ticker=Symbol,quantity=Qty,entry_price="Avg Price".',
        ),
    ] = None,
) -> ImportReportOut:
    """Upload a book into one of your portfolios: good rows stored, every bad row reported.

    One transaction per upload; the same file uploaded again creates nothing new. A file
    refused as a whole (empty, no header, not UTF-8, too many rows, ...) is a 422 naming why.
    """
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media != CSV_MEDIA_TYPE:
        raise ProblemError(
            415,
            ErrorCode.UNSUPPORTED_MEDIA_TYPE,
            f"send the book file as the body with 'Content-Type: {CSV_MEDIA_TYPE}' "
            f"(got {media or 'none'!r})",
        )
    try:
        mapping = None if column_map is None else parse_mapping(column_map)
        report = Portfolios(state.db, caller).import_csv(
            portfolio_id,
            data,
            mapping=mapping,
            date_format=date_format,
            today=today or _today(),
        )
    except BookFileError as exc:
        raise _refused(str(exc)) from exc
    return ImportReportOut.of(report)


# -- strategy groups -------------------------------------------------------------------------


class StrategyGroupIn(BaseModel):
    """Positions to move, whole, into a strategy group of yours (created when new)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"name": "AAPL hedge", "positions": ["0193a1f2c3d44e5f8a9b0c1d2e3f4a11"]}]
        },
    )

    name: str = Field(min_length=1, max_length=255, pattern=r"\S")
    positions: list[str] = Field(
        min_length=1, max_length=1_000, description="Position ids, or tickers held once."
    )


class UngroupIn(BaseModel):
    """Positions to take out of your groups (detection places them again)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"positions": ["0193a1f2c3d44e5f8a9b0c1d2e3f4a11"]}]},
    )

    positions: list[str] = Field(min_length=1, max_length=1_000)


class StrategyEditOut(BaseModel):
    """What an edit did: the group, its type, the positions moved, groups emptied."""

    portfolio_id: str
    group: str | None
    strategy_type: str | None
    moved: list[str]
    removed_groups: list[str]


def _edited(compute: Callable[[], Any]) -> StrategyEditOut:
    try:
        edit = compute()
    except ValueError as exc:
        raise ProblemError(
            422,
            ErrorCode.VALIDATION_ERROR,
            str(exc),
            errors=[FieldError(field="body.positions", rule="position", message=str(exc))],
        ) from exc
    return StrategyEditOut.model_validate(edit.to_dict())


@router.get(
    "/v1/portfolios/{portfolio_id}/strategies",
    response_model=dict[str, Any],
    responses=problem_responses(401, 403, 404, 422),
)
def strategies(
    portfolio_id: uuid.UUID,
    caller: ViewerCaller,
    state: State,
    on: Annotated[
        date | None,
        Query(alias="date", description="The book held that day (default: open positions)."),
    ] = None,
) -> dict[str, Any]:
    """The book's strategy groups: yours whole, the rest detected, and what no group uses."""
    return Portfolios(state.db, caller).strategies(portfolio_id, on=on).to_dict()


@router.post(
    "/v1/portfolios/{portfolio_id}/strategy-groups",
    response_model=StrategyEditOut,
    responses=problem_responses(401, 403, 404, 422),
)
def group_positions(
    portfolio_id: uuid.UUID, body: StrategyGroupIn, caller: TraderCaller, state: State
) -> StrategyEditOut:
    """Move positions, whole, into your group ``name`` (it is never re-detected)."""
    use_cases = Portfolios(state.db, caller)
    return _edited(lambda: use_cases.group(portfolio_id, body.positions, body.name))


@router.post(
    "/v1/portfolios/{portfolio_id}/strategy-groups/ungroup",
    response_model=StrategyEditOut,
    responses=problem_responses(401, 403, 404, 422),
)
def ungroup_positions(
    portfolio_id: uuid.UUID, body: UngroupIn, caller: TraderCaller, state: State
) -> StrategyEditOut:
    """Take positions out of your groups; a group left empty is deleted."""
    use_cases = Portfolios(state.db, caller)
    return _edited(lambda: use_cases.ungroup(portfolio_id, body.positions))


# -- risk ------------------------------------------------------------------------------------

RiskDate = Annotated[
    date | None,
    Query(
        alias="date",
        description="An NYSE session (default: the last one on or before today, UTC).",
    ),
]


def _reports(state: State, caller: ViewerCaller) -> RiskReports:
    return RiskReports(state.db, caller)


def _writer(state: State, caller: TraderCaller) -> RiskReports:
    return RiskReports(state.db, caller)


Reports = Annotated[RiskReports, Depends(_reports)]
WritingReports = Annotated[RiskReports, Depends(_writer)]
AsJob = Annotated[
    bool, Query(description="Run as a job and answer 202 with it (the result is the job's).")
]


def _maybe_job(
    state: ServiceState,
    caller: Caller,
    *,
    as_job: bool,
    kind: str,
    params: dict[str, Any],
    compute: Callable[[], dict[str, Any]],
) -> Any:
    """``compute()`` now, or as a job answered 202."""
    if not as_job:
        return compute()

    def work(ctx: JobContext) -> dict[str, Any]:
        ctx.progress(0.0, f"computing {kind}", force=True)
        return compute()

    view = state.jobs.submit(caller, kind, params, work)
    return JSONResponse(JobOut.from_view(view).model_dump(mode="json"), status_code=202)


@router.get(
    "/v1/risk/{portfolio_id}/exposures", response_model=dict[str, Any], responses=_READ_ERRORS
)
def exposures(
    portfolio_id: uuid.UUID,
    reports: Reports,
    on: RiskDate = None,
    benchmark: Annotated[
        str, Query(min_length=1, max_length=16, pattern=r"^[A-Za-z0-9.^-]+$")
    ] = "SPY",
) -> dict[str, Any]:
    """Market value, long/short/gross/net, delta-adjusted and beta-weighted exposures.

    Betas to ``benchmark`` are estimated from the stored price history (the factor model's
    univariate regression, as the what-if comparison does); an underlying without enough
    history is listed in ``missing_betas`` rather than weighted by a guess.
    """
    day = session_or_last(on)
    book = reports.book(portfolio_id, day)  # read once for the betas and the exposures
    try:
        betas: dict[str, float] | None = reports.benchmark_betas(book, day, benchmark)
    except HistoryMissingError:
        betas = None
    return reports.exposures(book, day, benchmark, betas=betas).to_dict()


@router.get("/v1/risk/{portfolio_id}/greeks", response_model=dict[str, Any], responses=_READ_ERRORS)
def greeks(
    portfolio_id: uuid.UUID,
    reports: Reports,
    on: RiskDate = None,
    by: Annotated[
        list[Grouping] | None, Query(description="Groupings (repeat; default: all).")
    ] = None,
) -> dict[str, Any]:
    """The book's Greeks, totalled and bucketed by underlying, expiry, DTE, tag, strategy."""
    day = session_or_last(on)
    groupings = tuple(Grouping) if not by else tuple(dict.fromkeys(by))
    return reports.greeks(portfolio_id, day, by=groupings).to_dict()


@router.get(
    "/v1/risk/{portfolio_id}/factors", response_model=dict[str, Any], responses=_READ_ERRORS
)
def factors_view(
    portfolio_id: uuid.UUID,
    reports: Reports,
    on: RiskDate = None,
    window: Annotated[int, Query(ge=MIN_OBSERVATIONS, le=MAX_WINDOW)] = REGRESSION_WINDOW,
) -> dict[str, Any]:
    """The factor model on the date, computed and not stored (the POST stores its rows).

    The same figures as ``POST /v1/risk/{portfolio_id}/factors``; readable by anyone who may
    read the book, and nothing is written.
    """
    day = session_or_last(on)
    return reports.factors(portfolio_id, day, window, store=False).to_dict()


@router.post(
    "/v1/risk/{portfolio_id}/factors", response_model=dict[str, Any], responses=_READ_ERRORS
)
def factors(
    portfolio_id: uuid.UUID,
    reports: WritingReports,
    on: RiskDate = None,
    window: Annotated[int, Query(ge=MIN_OBSERVATIONS, le=MAX_WINDOW)] = REGRESSION_WINDOW,
) -> dict[str, Any]:
    """The factor model on the date: betas, exposures, covariance, risk decomposition (stored)."""
    day = session_or_last(on)
    return reports.factors(portfolio_id, day, window).to_dict()


@router.post(
    "/v1/risk/{portfolio_id}/correlation", response_model=dict[str, Any], responses=_READ_ERRORS
)
def correlation(
    portfolio_id: uuid.UUID,
    reports: WritingReports,
    on: RiskDate = None,
    window: Annotated[int, Query(ge=MIN_OVERLAP, le=MAX_WINDOW)] = CORRELATION_WINDOW,
) -> dict[str, Any]:
    """Position correlations and the diversification score (the pairs are stored)."""
    day = session_or_last(on)
    return reports.correlation(portfolio_id, day, window).to_dict()


@router.get("/v1/risk/{portfolio_id}/stress", response_model=dict[str, Any], responses=_READ_ERRORS)
def stress(
    portfolio_id: uuid.UUID,
    reports: Reports,
    on: RiskDate = None,
    scenario: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=100)]] | None,
        Query(description="Scenario keys (repeat; default: every packaged scenario)."),
    ] = None,
    propagate: Annotated[
        bool, Query(description="Propagate the shocks through the factor correlation.")
    ] = True,
) -> dict[str, Any]:
    """Stress scenarios on the book, options fully repriced (nothing stored)."""
    day = session_or_last(on)
    keys = None if not scenario else list(scenario)
    return reports.stress(portfolio_id, day, keys, propagate=propagate).to_dict()


class StressIn(BaseModel):
    """Packaged scenarios by key and your own scenario definitions, run on the book."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "scenarios": ["market_crash_35"],
                    "custom": [
                        {
                            "key": "tech_wreck",
                            "name": "Tech wreck",
                            "description": "Growth -25% with the market -12%",
                            "category": "rotation",
                            "severity": "severe",
                            "shocks": {"Market": -0.12, "Growth": -0.25},
                        }
                    ],
                    "propagate": True,
                }
            ]
        },
    )

    scenarios: list[Annotated[str, Field(min_length=1, max_length=100)]] | None = Field(
        None, max_length=100, description="Packaged keys (null: all of them; []: none)."
    )
    custom: list[dict[str, Any]] = Field(
        default_factory=list,
        max_length=100,
        description="Your scenarios in the packaged file's format (key, name, description, "
        "category, severity, shocks, optional vol_shock).",
    )
    propagate: bool = True


@router.post(
    "/v1/risk/{portfolio_id}/stress", response_model=dict[str, Any], responses=_READ_ERRORS
)
def stress_custom(
    portfolio_id: uuid.UUID, body: StressIn, reports: Reports, on: RiskDate = None
) -> dict[str, Any]:
    """Stress the book under packaged scenarios and your own (nothing stored)."""
    day = session_or_last(on)
    return reports.stress(
        portfolio_id, day, body.scenarios, body.propagate, custom=body.custom
    ).to_dict()


@router.get(
    "/v1/risk/{portfolio_id}/var",
    response_model=dict[str, Any],
    responses=_AS_JOB | _READ_ERRORS,
)
def var(
    portfolio_id: uuid.UUID,
    reports: Reports,
    state: State,
    on: RiskDate = None,
    window: Annotated[
        int,
        Query(
            ge=MIN_OBSERVATIONS,
            le=MAX_WINDOW,
            description="Sessions of history replayed (the Monte Carlo factor model needs "
            f"at least {MIN_OBSERVATIONS}).",
        ),
    ] = VAR_WINDOW_DEFAULT,
    as_job: AsJob = False,
) -> Any:
    """VaR and ES at 95/99%, 1 and 10 days: historical, delta-gamma-normal and Monte Carlo."""
    day = session_or_last(on)
    return _maybe_job(
        state,
        reports.caller,
        as_job=as_job,
        kind="risk.var",
        params={"portfolio_id": str(portfolio_id), "date": day.isoformat(), "window": window},
        compute=lambda: reports.var(portfolio_id, day, window=window).to_dict(),
    )


@router.get(
    "/v1/risk/{portfolio_id}/backtest",
    response_model=dict[str, Any],
    responses=_AS_JOB | _READ_ERRORS,
)
def backtest(
    portfolio_id: uuid.UUID,
    reports: Reports,
    state: State,
    on: RiskDate = None,
    window: Annotated[int, Query(ge=20, le=MAX_WINDOW)] = BACKTEST_DEFAULT,
    days: Annotated[int, Query(ge=20, le=MAX_WINDOW)] = BACKTEST_DEFAULT,
    confidence: Annotated[float, Query(ge=0.5, le=0.999)] = 0.99,
    as_job: AsJob = False,
) -> Any:
    """Kupiec and Christoffersen backtests of the historical VaR on the book's own history."""
    day = session_or_last(on)
    return _maybe_job(
        state,
        reports.caller,
        as_job=as_job,
        kind="risk.backtest",
        params={
            "portfolio_id": str(portfolio_id),
            "date": day.isoformat(),
            "window": window,
            "days": days,
            "confidence": confidence,
        },
        compute=lambda: reports.backtest(
            portfolio_id, day, window=window, days=days, confidence=confidence
        ).to_dict(),
    )
