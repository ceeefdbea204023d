"""Stored broker Greeks and the seed-003 trade log over HTTP.

The routes translate between HTTP and :class:`~riskdesk.streaming.queries.GreeksQueries` and
:class:`~riskdesk.streaming.queries.TradeLog`:

* ``GET /v1/greeks/latest`` -- the newest event of each contract (by event time, never by
  insertion order), ``truncated`` when ``limit`` cut contracts off;
* ``GET /v1/greeks/history`` -- events newest first, cursor pages (seed 003's
  ``/v1/greeks/snapshots`` with the service's page envelope);
* ``GET /v1/greeks/count`` -- how many events match the same filters;
* ``GET /v1/tradelog`` and ``POST /v1/tradelog`` -- seed 003's trade log (its ``/v1/trades``).

Greeks and trade-log entries are shared desk data (broker account strings, not riskdesk
users): every logged-in caller reads them; recording an entry needs the trader role. Filters
are ``broker``, ``account_id``, ``contract_key`` and ``from`` / ``to`` (ISO 8601 times with a
zone, ``from <= time < to``); a naive time or an empty range is a 422, a cursor that is not
one this service made a 400. Fields are snake_case as everywhere in this API; decimals
(strike, quantity, price) are strings, Greeks numbers, times ISO UTC.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from riskdesk.service.deps import State, TraderCaller, ViewerCaller
from riskdesk.service.pagination import Page, PageParams, after_key, page_params, to_page
from riskdesk.service.problems import ErrorCode, ProblemError, problem_responses
from riskdesk.streaming.queries import (
    LATEST_LIMIT,
    MAX_LATEST_LIMIT,
    GreekFilter,
    GreeksQueries,
    GreekView,
    TradeLog,
    TradeLogEntry,
    TradeLogFilter,
    TradeLogView,
)

__all__ = ["router"]

router = APIRouter(tags=["greeks"])

_READ = problem_responses(400, 401, 403, 422)
_WRITE = problem_responses(401, 403, 422)

Broker = Literal["ibkr", "tastytrade", "simulated", "paper"]
Pages = Annotated[PageParams, Depends(page_params)]
BrokerQuery = Annotated[Broker | None, Query(description="Only this broker's rows.")]
AccountQuery = Annotated[
    str | None, Query(min_length=1, max_length=64, description="A broker account id.")
]
ContractQuery = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=64,
        description="A canonical contract key (SPY:20250117:580:C).",
    ),
]
FromQuery = Annotated[
    datetime | None,
    Query(alias="from", description="First time included (ISO 8601 with a zone)."),
]
ToQuery = Annotated[
    datetime | None,
    Query(alias="to", description="First time excluded (ISO 8601 with a zone)."),
]
Decimal64 = Annotated[
    str,
    Field(
        min_length=1,
        max_length=32,
        pattern=r"^-?[0-9]+(\.[0-9]+)?$",
        description="A decimal number as a string.",
    ),
]


def _range(start: datetime | None, end: datetime | None) -> tuple[datetime | None, datetime | None]:
    for name, value in (("from", start), ("to", end)):
        if value is not None and value.tzinfo is None:
            raise ProblemError(
                422,
                ErrorCode.VALIDATION_ERROR,
                f"query parameter {name}={value.isoformat()} has no timezone; "
                "add Z or an offset (e.g. 2025-01-17T15:30:00Z)",
            )
    return start, end


def _greek_filter(
    broker: BrokerQuery = None,
    account_id: AccountQuery = None,
    contract_key: ContractQuery = None,
    start: FromQuery = None,
    end: ToQuery = None,
) -> GreekFilter:
    start, end = _range(start, end)
    return GreekFilter(
        broker=broker, account_id=account_id, contract_key=contract_key, start=start, end=end
    )


def _trade_filter(
    broker: BrokerQuery = None,
    account_id: AccountQuery = None,
    symbol: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    contract_key: ContractQuery = None,
    strategy_tag: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    start: FromQuery = None,
    end: ToQuery = None,
) -> TradeLogFilter:
    start, end = _range(start, end)
    return TradeLogFilter(
        broker=broker,
        account_id=account_id,
        symbol=symbol,
        contract_key=contract_key,
        strategy_tag=strategy_tag,
        start=start,
        end=end,
    )


GreekWhere = Annotated[GreekFilter, Depends(_greek_filter)]
TradeWhere = Annotated[TradeLogFilter, Depends(_trade_filter)]

_EXAMPLE_GREEK: dict[str, Any] = {
    "id": "0194b0c1d2e37f4a8b9c0d1e2f3a4b5c",
    "event_time": "2025-01-17T15:30:00.125000+00:00",
    "received_at": "2025-01-17T15:30:00.131000+00:00",
    "persisted_at": "2025-01-17T15:30:00.140000+00:00",
    "broker": "tastytrade",
    "account_id": "5WT00001",
    "underlying": "SPY",
    "contract_key": "SPY:20250321:580:C",
    "expiration": "2025-03-21",
    "strike": "580",
    "option_type": "call",
    "quantity": "2",
    "delta": 0.5123,
    "gamma": 0.0112,
    "theta": -0.2031,
    "vega": 0.9876,
    "rho": None,
    "implied_volatility": 0.1834,
    "underlying_price": 582.41,
}


class GreekOut(BaseModel):
    """One stored Greeks event of a contract."""

    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE_GREEK]})

    id: str
    event_time: datetime
    received_at: datetime
    persisted_at: datetime
    broker: str
    account_id: str
    underlying: str
    contract_key: str
    expiration: date | None
    strike: str | None
    option_type: str | None
    quantity: str | None
    delta: float | None
    gamma: float | None
    theta: float | None
    vega: float | None
    rho: float | None
    implied_volatility: float | None
    underlying_price: float | None

    @classmethod
    def of(cls, view: GreekView) -> GreekOut:
        """The wire form of a stored event."""
        return cls.model_validate(view.to_dict())


class LatestOut(BaseModel):
    """The newest event of each contract, ordered by broker, account and contract key."""

    items: list[GreekOut]
    truncated: bool = Field(description="True when more contracts matched than `limit`.")
    limit: int


class CountOut(BaseModel):
    """How many rows match the filters."""

    count: int


class TradeLogIn(BaseModel):
    """A trade-log entry (seed 003 ``TradeCreate``); quantity and price as decimal strings."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "broker": "tastytrade",
                    "account_id": "5WT00001",
                    "symbol": "SPY",
                    "contract_key": "SPY:20250321:580:C",
                    "action": "BUY_TO_OPEN",
                    "quantity": "2",
                    "price": "4.35",
                    "strategy_tag": "condor-wk12",
                    "metadata": {"note": "opened on the morning dip"},
                }
            ]
        },
    )

    broker: Broker
    account_id: str = Field(min_length=1, max_length=64)
    symbol: str = Field(min_length=1, max_length=64)
    contract_key: str | None = Field(None, min_length=1, max_length=64)
    action: str = Field(min_length=1, max_length=32)
    quantity: Decimal64 = Field(description="Non-zero, as a decimal string.")
    price: Decimal64 | None = None
    strategy_tag: str | None = Field(None, min_length=1, max_length=64)
    metadata: dict[str, Any] | None = None

    def entry(self) -> TradeLogEntry:
        """The use case's entry (its rules raise ValueError, answered as 422)."""
        return TradeLogEntry(
            broker=self.broker,
            account_id=self.account_id,
            symbol=self.symbol,
            action=self.action,
            quantity=Decimal(self.quantity),
            contract_key=self.contract_key,
            price=None if self.price is None else Decimal(self.price),
            strategy_tag=self.strategy_tag,
            metadata=self.metadata,
        )


class TradeLogOut(BaseModel):
    """A stored trade-log entry."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "0194b0c1d2e37f4a8b9c0d1e2f3a4b5d",
                    "created_at": "2025-01-17T15:31:02.000000+00:00",
                    "broker": "tastytrade",
                    "account_id": "5WT00001",
                    "symbol": "SPY",
                    "contract_key": "SPY:20250321:580:C",
                    "action": "BUY_TO_OPEN",
                    "quantity": "2",
                    "price": "4.35",
                    "strategy_tag": "condor-wk12",
                    "metadata": {"note": "opened on the morning dip"},
                }
            ]
        }
    )

    id: str
    created_at: datetime
    broker: str
    account_id: str
    symbol: str
    contract_key: str | None
    action: str
    quantity: str
    price: str | None
    strategy_tag: str | None
    metadata: dict[str, Any] | None

    @classmethod
    def of(cls, view: TradeLogView) -> TradeLogOut:
        """The wire form of a stored entry."""
        return cls.model_validate(view.to_dict())


@router.get("/v1/greeks/latest", response_model=LatestOut, responses=_READ)
def latest_greeks(
    state: State,
    caller: ViewerCaller,
    where: GreekWhere,
    limit: Annotated[
        int, Query(ge=1, le=MAX_LATEST_LIMIT, description="Most contracts returned.")
    ] = LATEST_LIMIT,
) -> LatestOut:
    """The newest Greeks of each contract (by event time; late events never replace it)."""
    latest = GreeksQueries(state.db, caller).latest(where, limit=limit)
    return LatestOut(
        items=[GreekOut.of(view) for view in latest.items],
        truncated=latest.truncated,
        limit=limit,
    )


@router.get("/v1/greeks/history", response_model=Page[GreekOut], responses=_READ)
def greek_history(state: State, caller: ViewerCaller, where: GreekWhere, page: Pages) -> Any:
    """Stored Greeks events, newest event time first, one cursor page at a time."""
    result = GreeksQueries(state.db, caller).history(
        where, after=after_key(page, secret=state.cursor_secret), limit=page.limit
    )
    return to_page(result, GreekOut.of, page, secret=state.cursor_secret)


@router.get("/v1/greeks/count", response_model=CountOut, responses=_READ)
def count_greeks(state: State, caller: ViewerCaller, where: GreekWhere) -> CountOut:
    """How many stored Greeks events match the filters."""
    return CountOut(count=GreeksQueries(state.db, caller).count(where))


@router.get("/v1/tradelog", response_model=Page[TradeLogOut], responses=_READ)
def list_trade_log(state: State, caller: ViewerCaller, where: TradeWhere, page: Pages) -> Any:
    """Trade-log entries, newest first, one cursor page at a time."""
    result = TradeLog(state.db, caller).list(
        where, after=after_key(page, secret=state.cursor_secret), limit=page.limit
    )
    return to_page(result, TradeLogOut.of, page, secret=state.cursor_secret)


@router.post("/v1/tradelog", response_model=TradeLogOut, status_code=201, responses=_WRITE)
def record_trade_log(state: State, caller: TraderCaller, body: TradeLogIn) -> TradeLogOut:
    """Record a trade-log entry (traders and admins)."""
    return TradeLogOut.of(TradeLog(state.db, caller).record(body.entry()))
