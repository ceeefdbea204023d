"""Signals, performance reports and venue smoke runs over HTTP.

The routes translate between HTTP and the use cases :class:`~riskdesk.trading.signal_book.
SignalBook`, :class:`~riskdesk.trading.reports.PerformanceReports` and
:class:`~riskdesk.trading.smoke.SmokeRuns`, on the caller's paper desk
(:func:`riskdesk.service.routes.trading.desk_for`: the same market, clock and mid history as
the order routes, so ``state.extras["paper_market"]`` and ``["paper_clock"]`` apply here too).

* Signals are shared desk data: every viewer reads them; traders (and admins) build and
  cancel them. A hand-built signal's legs without ``estimated_price`` are priced at their
  quote mids on the market now; its payoff figures come from
  :func:`riskdesk.trading.signals.signal_metrics`. A template signal is built by
  :func:`riskdesk.trading.signals.build_signal`.
* Performance reads the caller's own accounts (another user's account is a 404). Computing
  a report stores it (``performance_metrics``, ``daily_pnl``): a ``GET`` because the same
  request gives the same figures and replaces the same rows.
* Smoke runs are operational records apart from P&L: traders run them, viewers list them.

Errors: a signal whose status refuses the change (``SignalStateError``) and an account
without NAV history in the period (``NoNavHistoryError``) are 409 ``CONFLICT`` (the request
is valid; the resource's state refuses it); unknown signal or account ids are 404; a template
that cannot be built on the market (unlisted expiry, too few strikes) is a 422.
Money and prices are decimal strings; ratios are numbers.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, model_validator

from riskdesk.service.deps import State, TraderCaller, ViewerCaller
from riskdesk.service.pagination import Page, PageParams, after_key, page_params, to_page
from riskdesk.service.problems import ErrorCode, ProblemError, problem_responses
from riskdesk.service.routes.trading import desk_for
from riskdesk.trading.desk import PaperDesk
from riskdesk.trading.model import Side
from riskdesk.trading.reports import NoNavHistoryError, PerformanceReports, lot_dict
from riskdesk.trading.signal_book import (
    SignalBook,
    SignalNotFoundError,
    SignalStateError,
    SignalView,
)
from riskdesk.trading.signals import (
    ByDelta,
    ByOffset,
    Direction,
    HandLeg,
    SignalDraft,
    SignalStatus,
    build_signal,
    hand_built_signal,
)
from riskdesk.trading.smoke import SmokeRuns, SmokeRunView

__all__ = ["router"]

router = APIRouter(tags=["trading"])

MAX_EXPIRES_IN_SECONDS = 365 * 24 * 3600
_READ = problem_responses(400, 401, 403, 404, 422)
_WRITE = problem_responses(401, 403, 404, 409, 422)
_EXAMPLE_SIGNAL = "0193a1f2c3d44e5f8a9b0c1d2e3f4a99"

Price = Annotated[
    str,
    Field(
        min_length=1,
        max_length=32,
        pattern=r"^[0-9]+(\.[0-9]+)?$",
        description="An unsigned decimal price per share, as a string.",
    ),
]
Underlying = Annotated[
    str,
    Field(min_length=1, max_length=10, pattern=r"^[A-Za-z0-9.^-]+$", examples=["SPY"]),
]
Confidence = Annotated[Decimal, Field(ge=0, le=1, description="In [0, 1].")]
ExpiresIn = Annotated[
    int,
    Field(ge=1, le=MAX_EXPIRES_IN_SECONDS, description="Seconds the signal stays active."),
]
Template = Literal[
    "iron_condor", "iron_butterfly", "bull_call_spread", "bear_put_spread", "straddle", "strangle"
]


# -- the use cases -----------------------------------------------------------------------------


def _reader(state: State, caller: ViewerCaller) -> PaperDesk:
    return desk_for(state, caller)


def _writer(state: State, caller: TraderCaller) -> PaperDesk:
    return desk_for(state, caller)


ReadDesk = Annotated[PaperDesk, Depends(_reader)]
WriteDesk = Annotated[PaperDesk, Depends(_writer)]
Pages = Annotated[PageParams, Depends(page_params)]


def _book(desk: PaperDesk) -> SignalBook:
    return SignalBook(desk.db, desk.caller, clock=desk.clock)


def _signal_problem(exc: Exception, signal_id: uuid.UUID) -> ProblemError:
    if isinstance(exc, SignalNotFoundError):
        return ProblemError(404, ErrorCode.NOT_FOUND, f"no signal {signal_id}")
    return ProblemError(409, ErrorCode.CONFLICT, str(exc))


# -- wire models -------------------------------------------------------------------------------


class SignalLegIn(BaseModel):
    """One leg of a hand-built signal: an OCC option symbol, a side and contracts."""

    model_config = ConfigDict(extra="forbid")

    symbol: str = Field(
        min_length=15,
        max_length=21,
        pattern=r"^[A-Za-z0-9. ]+$",
        description="An OCC option symbol (SPY250321C00600000).",
    )
    side: Side
    quantity: int = Field(1, ge=1, le=10_000)
    estimated_price: Price | None = Field(
        None, description="Premium per share; default: the quote's mid on the market now."
    )


class SignalIn(BaseModel):
    """A hand-built signal: its legs, view, confidence and lifetime."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "symbol": "SPY",
                    "direction": "bullish",
                    "strategy_type": "custom",
                    "confidence": "0.7",
                    "expires_in_seconds": 3600,
                    "legs": [
                        {"symbol": "SPY250321C00580000", "side": "buy", "quantity": 1},
                        {"symbol": "SPY250321C00590000", "side": "sell", "quantity": 1},
                    ],
                }
            ]
        },
    )

    symbol: Underlying
    direction: Direction
    strategy_type: str = Field("custom", min_length=1, max_length=50, pattern=r"\S")
    confidence: Confidence
    expires_in_seconds: ExpiresIn = 3600
    legs: list[SignalLegIn] = Field(min_length=1, max_length=8)


class TemplateSignalIn(BaseModel):
    """A signal from a strategy template: strikes by delta or by offset from spot."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "template": "iron_condor",
                    "symbol": "SPY",
                    "expiry": "2025-03-21",
                    "offset": "10",
                    "width": "5",
                    "confidence": "0.7",
                }
            ]
        },
    )

    template: Template
    symbol: Underlying
    expiry: date
    delta: Annotated[Decimal, Field(gt=0, lt=1)] | None = Field(
        None, description="Short strikes by |delta| (with wing_delta for the wings)."
    )
    wing_delta: Annotated[Decimal, Field(gt=0, lt=1)] | None = Field(
        None, description="Wings by |delta| (iron condor, iron butterfly; default 0.05)."
    )
    offset: Annotated[Decimal, Field(ge=0, le=100_000)] | None = Field(
        None, description="Inner strikes at this distance from spot (with width)."
    )
    width: Annotated[Decimal, Field(gt=0, le=100_000)] | None = None
    confidence: Confidence
    short: bool | None = Field(None, description="Seller's (true) or buyer's version.")
    quantity: int = Field(1, ge=1, le=10_000)
    direction: Direction | None = None
    expires_in_seconds: ExpiresIn = 3600

    @model_validator(mode="after")
    def _one_selection(self) -> TemplateSignalIn:
        by_offset = self.offset is not None or self.width is not None
        if self.delta is not None and by_offset:
            raise ValueError("give delta (and wing_delta) or offset and width, not both")
        if self.wing_delta is not None and self.delta is None:
            raise ValueError("wing_delta goes with delta")
        if by_offset and (self.offset is None or self.width is None):
            raise ValueError("offset and width go together")
        if not by_offset and self.delta is None and self.template != "straddle":
            raise ValueError(f"{self.template} needs delta or offset and width")
        return self

    def selection(self) -> ByDelta | ByOffset:
        """The strike selection the body asks for."""
        if self.offset is not None and self.width is not None:
            return ByOffset(offset=self.offset, width=self.width)
        if self.delta is None:  # a straddle: at the money, the selection is not used
            return ByDelta()
        winged = self.template in ("iron_condor", "iron_butterfly")
        wing = self.wing_delta if self.wing_delta is not None else ByDelta().wing_delta
        return ByDelta(short_delta=self.delta, wing_delta=wing if winged else None)


class SignalLegOut(BaseModel):
    """A stored leg."""

    leg_order: int
    action: str
    option_type: str
    strike: str
    expiry: date
    quantity: int
    estimated_price: str | None
    occ_symbol: str | None


class SignalOut(BaseModel):
    """A stored signal with its legs and payoff figures (money as strings, None: unlimited)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": _EXAMPLE_SIGNAL,
                    "symbol": "SPY",
                    "direction": "neutral",
                    "strategy_type": "iron_condor",
                    "confidence": "0.7",
                    "status": "active",
                    "generated_at": "2025-03-04T15:00:01+00:00",
                    "expires_at": "2025-03-04T16:00:01+00:00",
                    "underlying_price": "580.12",
                    "max_profit": "152.00",
                    "max_loss": "348.00",
                    "breakevens": ["568.48", "591.52"],
                    "probability_of_profit": "0.612345",
                    "net_premium": "-1.52",
                    "legs": [],
                    "created_at": "2025-03-04T15:00:01+00:00",
                    "updated_at": "2025-03-04T15:00:01+00:00",
                }
            ]
        }
    )

    id: str
    symbol: str
    direction: str
    strategy_type: str
    confidence: str
    status: str
    generated_at: datetime
    expires_at: datetime
    underlying_price: str
    max_profit: str | None
    max_loss: str | None
    breakevens: list[str]
    probability_of_profit: str | None
    net_premium: str | None
    legs: list[SignalLegOut]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, view: SignalView) -> SignalOut:
        """The wire form of a signal."""
        return cls.model_validate(view.to_dict())


class EquityPointOut(BaseModel):
    """NAV at a time."""

    at: datetime
    nav: str


class DrawdownPointOut(BaseModel):
    """Drawdown below the running peak (a fraction <= 0) and in money."""

    at: datetime
    drawdown: float
    amount: str


class MonthlyReturnOut(BaseModel):
    """A calendar month's return."""

    month: str
    ret: float = Field(alias="return")


class DailyPnlOut(BaseModel):
    """One UTC day's P&L of the account."""

    date: date
    realized_pnl: str
    unrealized_pnl: str
    total_pnl: str
    commission: str
    fees: str
    net_pnl: str
    trades: int
    wins: int
    losses: int


class PerformanceOut(BaseModel):
    """An account's performance over a period (ratios as numbers, null when undefined)."""

    model_config = ConfigDict(populate_by_name=True)

    account_id: str
    account: str
    period_start: date
    period_end: date
    metrics_id: str
    start: datetime
    end: datetime
    starting_nav: str
    ending_nav: str
    total_return: float
    trades: int
    wins: int
    losses: int
    win_rate: float | None
    average_win: str | None
    average_loss: str | None
    profit_factor: str | None
    sharpe: float | None
    sortino: float | None
    volatility: float | None
    max_drawdown: float
    max_drawdown_amount: str
    max_drawdown_duration_seconds: float
    max_drawdown_recovered: bool
    risk_free: float
    equity: list[EquityPointOut]
    drawdowns: list[DrawdownPointOut]
    monthly_returns: list[MonthlyReturnOut]
    daily_pnl: list[DailyPnlOut]


class TaxLotOut(BaseModel):
    """A realized tax lot (FIFO, wash sales adjusted; money as strings)."""

    symbol: str
    side: str
    quantity: Any
    opened_at: datetime
    closed_at: datetime
    term: str
    proceeds: str
    cost_basis: str
    gain: str
    wash_sale_disallowed: str
    adjusted_gain: str


class TaxLotList(BaseModel):
    """An account's realized tax lots, in closing order."""

    account_id: str
    items: list[TaxLotOut]


class SmokeRunIn(BaseModel):
    """A venue smoke run of the service's own paper venue.

    The service never fetches a URL a client names (that would let any trader make the server
    call arbitrary hosts); ``riskdesk smoke run --venue-url`` times a venue URL from the CLI.
    """

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"symbol": "SPY"}]})

    symbol: Underlying = "SPY"


class SmokeRunOut(BaseModel):
    """One stored smoke run (``failed_step`` null when it passed)."""

    run_id: str
    status: str
    latency_ms: int | None
    wallet_check: str | None
    tx_simulation: str | None
    ran_at: datetime
    failed_step: str | None

    @classmethod
    def of(cls, view: SmokeRunView) -> SmokeRunOut:
        """The wire form of a run."""
        return cls.model_validate(view.to_dict())


# -- signals -----------------------------------------------------------------------------------


def _hand_built(desk: PaperDesk, body: SignalIn) -> SignalDraft:
    """The draft of ``body``: legs priced at their quote mids unless priced, metrics computed."""
    symbol = body.symbol.upper()
    now = desk.clock()
    return hand_built_signal(
        desk.market.snapshot([symbol], now),
        symbol=symbol,
        direction=body.direction,
        strategy_type=body.strategy_type.strip(),
        confidence=body.confidence,
        generated_at=now,
        expires_at=now + timedelta(seconds=body.expires_in_seconds),
        legs=[
            HandLeg(
                leg.symbol,
                leg.side,
                leg.quantity,
                None if leg.estimated_price is None else Decimal(leg.estimated_price),
                label=f"legs[{i}] {leg.symbol}",
            )
            for i, leg in enumerate(body.legs)
        ],
    )


@router.post("/v1/signals", response_model=SignalOut, status_code=201, responses=_WRITE)
def create_signal(body: SignalIn, desk: WriteDesk) -> SignalOut:
    """Store a hand-built signal; legs priced at their quote mids unless priced."""
    return SignalOut.of(_book(desk).store(_hand_built(desk, body)))


@router.post(
    "/v1/signals/from-template", response_model=SignalOut, status_code=201, responses=_WRITE
)
def create_template_signal(body: TemplateSignalIn, desk: WriteDesk) -> SignalOut:
    """Build a signal from a strategy template on the market now, and store it."""
    symbol = body.symbol.upper()
    now = desk.clock()
    draft = build_signal(
        body.template,
        desk.market.snapshot([symbol], now),
        symbol=symbol,
        expiry=body.expiry,
        selection=body.selection(),
        quantity=body.quantity,
        confidence=body.confidence,
        generated_at=now,
        expires_at=now + timedelta(seconds=body.expires_in_seconds),
        direction=body.direction,
        short=body.short,
    )
    return SignalOut.of(_book(desk).store(draft))


@router.get("/v1/signals", response_model=Page[SignalOut], responses=_READ)
def list_signals(
    desk: ReadDesk,
    state: State,
    page: Pages,
    status: Annotated[SignalStatus | None, Query()] = None,
    symbol: Annotated[str | None, Query(min_length=1, max_length=10)] = None,
) -> Any:
    """Signals, newest first, by status and underlying."""
    result = _book(desk).list(
        status=None if status is None else status.value,
        symbol=None if symbol is None else symbol.upper(),
        after=after_key(page, secret=state.cursor_secret),
        limit=page.limit,
    )
    return to_page(result, SignalOut.of, page, secret=state.cursor_secret)


@router.get("/v1/signals/{signal_id}", response_model=SignalOut, responses=_READ)
def get_signal(signal_id: uuid.UUID, desk: ReadDesk) -> SignalOut:
    """One signal with its legs and payoff figures."""
    try:
        return SignalOut.of(_book(desk).get(signal_id))
    except SignalNotFoundError as exc:
        raise _signal_problem(exc, signal_id) from exc


@router.post("/v1/signals/{signal_id}/cancel", response_model=SignalOut, responses=_WRITE)
def cancel_signal(signal_id: uuid.UUID, desk: WriteDesk) -> SignalOut:
    """Cancel an active signal (409 when it is executed, expired or cancelled)."""
    try:
        return SignalOut.of(_book(desk).cancel(signal_id))
    except (SignalNotFoundError, SignalStateError) as exc:
        raise _signal_problem(exc, signal_id) from exc


# -- performance -------------------------------------------------------------------------------

RequiredAccount = Annotated[
    str, Query(min_length=1, max_length=64, description="An account id or name of yours.")
]


@router.get(
    "/v1/performance",
    response_model=PerformanceOut,
    responses=problem_responses(400, 401, 403, 404, 409, 422),
)
def performance(
    account: RequiredAccount,
    desk: ReadDesk,
    start: Annotated[
        date | None, Query(alias="from", description="First UTC day (YYYY-MM-DD).")
    ] = None,
    end: Annotated[
        date | None, Query(alias="to", description="Last UTC day, inclusive (YYYY-MM-DD).")
    ] = None,
) -> Any:
    """The account's performance over the UTC days [from, to] (default: all its NAV history).

    409 when the account has no NAV snapshot in the period.
    """
    try:
        result = PerformanceReports(desk).performance(account, start, end)
    except NoNavHistoryError as exc:
        raise ProblemError(409, ErrorCode.CONFLICT, str(exc)) from exc
    return PerformanceOut.model_validate(result.to_dict())


@router.get(
    "/v1/performance/tax-lots",
    response_model=TaxLotList,
    responses=_READ | {200: {"content": {"text/csv": {}}}},
)
def tax_lots(
    account: RequiredAccount,
    desk: ReadDesk,
    kind: Annotated[Literal["json", "csv"], Query(alias="format")] = "json",
) -> Any:
    """The account's realized tax lots, as JSON or as a CSV download (format=csv)."""
    view = desk.get_account(account)
    reports = PerformanceReports(desk)
    if kind == "csv":
        return Response(
            content=reports.tax_lots_csv(view.id),
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="tax-lots-{view.name}.csv"'
                if view.name.isascii() and '"' not in view.name
                else 'attachment; filename="tax-lots.csv"'
            },
        )
    lots = reports.tax_lots(view.id)
    return TaxLotList(
        account_id=str(view.id), items=[TaxLotOut.model_validate(lot_dict(lot)) for lot in lots]
    )


# -- smoke runs --------------------------------------------------------------------------------


@router.post("/v1/smoke-runs", response_model=SmokeRunOut, status_code=201, responses=_WRITE)
def run_smoke(
    desk: WriteDesk,
    body: Annotated[
        SmokeRunIn | None, Body(examples=[{"symbol": "SPY"}], description="Optional.")
    ] = None,
) -> SmokeRunOut:
    """Check the venue (latency, scratch account, a far limit placed and cancelled); stored.

    A failed check is still a 201: the run is stored with ``status`` failed and the step.
    """
    spec = body if body is not None else SmokeRunIn()
    runs = SmokeRuns(desk, symbol=spec.symbol.upper())
    return SmokeRunOut.of(runs.run())


@router.get("/v1/smoke-runs", response_model=Page[SmokeRunOut], responses=_READ)
def list_smoke_runs(desk: ReadDesk, state: State, page: Pages) -> Any:
    """Venue smoke runs, newest first."""
    result = SmokeRuns(desk).list(
        after=after_key(page, secret=state.cursor_secret), limit=page.limit
    )
    return to_page(result, SmokeRunOut.of, page, secret=state.cursor_secret)
