"""Paper trading over HTTP: accounts, risk policy, orders, fills, positions, NAV, kill switch.

The routes translate between HTTP and :class:`riskdesk.trading.desk.PaperDesk` (one desk per
request, for the caller). Accounts belong to the user who created them: another user's
account or order is a 404, never a 403. Reading takes a viewer; every write (accounts,
policy, orders, cancels, the kill switch) takes a trader (an admin is one too). The kill
switch is desk-wide: ``actor`` is the caller's username.

Outcomes of ``POST /v1/orders``
-------------------------------
* 201: the order passed the kill switch and the gates (it may be filled or resting).
* 409 ``RISK_BLOCKED``: a gate refused it; ``details`` names ``rule``, ``observed``,
  ``threshold`` and the stored (rejected) ``order_id``.
* 423 ``KILL_SWITCH_ACTIVE``: the kill switch is on; the order is stored as rejected.
* 409 ``STALE_MARKET_DATA``: the market is older than the staleness limit. A 409, not a
  503 or 423: the service and the venue are up and nothing is locked; the request is valid
  but conflicts with the current state of the market (the order is stored as rejected, with
  its reason), and the same request may pass once the data is fresh again.
* 409 ``IDEMPOTENCY_KEY_REUSED``: the idempotency key was used for another order.
* 200 with ``Idempotent-Replayed: true``: a repeat of an accepted order (same key, same
  request) returns the original body; nothing is created. A repeat of a *refused* order
  answers the original refusal again (same status, code and ``details``, the same stored
  order), also marked ``Idempotent-Replayed: true``.

Idempotency keys
----------------
The desk itself is idempotent (domain idempotency: the key is stored on the order, so a
repeat returns the stored order even when it was rejected). Send the key as the body field
``idempotency_key``: it goes to the desk and nowhere else. The ``Idempotency-Key`` header is
accepted too and passed to the desk when the body has no key (a body key and a different
header key are a 422); note that the service's generic ``IdempotencyMiddleware`` also sees
that header, so with the header an accepted order's repeat is answered by the middleware
(the original 201 and body, ``Idempotent-Replayed: true``) before reaching the desk, while a
refusal's repeat (the middleware never caches a rejection) reaches the desk, which replays
it. Both layers agree; the body field is the one path with a single handler.

Service state used (``state.extras``)
-------------------------------------
* ``paper_mid_history``: the :class:`~riskdesk.trading.market.MidHistory` every desk of the
  process shares (the price-move checks need every snapshot seen), made on first use.
* ``paper_market``: a :class:`~riskdesk.trading.desk.MarketData` to trade against instead of
  the synthetic market (tests inject a :class:`~riskdesk.trading.desk.StaticMarket`). By
  default: the synthetic market of ``settings.market_seed``, a snapshot at request time.
* ``paper_clock``: a zero-argument callable returning the timezone-aware UTC now (tests).

Live updates
------------
Every successful write publishes on the hub (channel ``trading:{account_id}``, and
``trading:kill_switch`` for the switch) messages with a ``type`` of ``order``, ``fill``,
``positions``, ``nav`` or ``kill_switch``; ``/v1/ws/trading`` forwards them, after a first
``state`` message with the current positions and NAV.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, cast

import anyio
from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response, WebSocket
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from riskdesk.adapters.simulated.market import SyntheticSource
from riskdesk.domain.caller import Caller
from riskdesk.domain.occ import format_occ
from riskdesk.service.deps import State, TraderCaller, ViewerCaller
from riskdesk.service.pagination import Page, PageParams, after_key, page_params, to_page
from riskdesk.service.problems import (
    ErrorCode,
    FieldError,
    ProblemError,
    problem_response,
    problem_responses,
)
from riskdesk.service.routes.market import SymbolPath
from riskdesk.service.routes.ws import NOT_FOUND, _authenticate, _pump
from riskdesk.service.schemas import ChainRowOut, decimal_text
from riskdesk.service.state import ServiceState
from riskdesk.store.paging import KeysetPage
from riskdesk.store.types import utc_now
from riskdesk.trading.desk import (
    POLICY_FIELDS,
    AccountNotFoundError,
    AccountView,
    IdempotencyConflictError,
    MarketData,
    OrderNotFoundError,
    OrderStateError,
    OrderTicket,
    OrderView,
    PaperDesk,
    SourceMarket,
    SubmitResult,
    TicketLeg,
)
from riskdesk.trading.market import MidHistory
from riskdesk.trading.model import OrderType, Side, TimeInForce

__all__ = ["router"]

router = APIRouter(tags=["trading"])

DEFAULT_SEED = 7
SYNTHETIC_EXPIRY_DAYS = 45
KILL_SWITCH_CHANNEL = "trading:kill_switch"
REPLAYED = "Idempotent-Replayed"

_EXAMPLE_ACCOUNT = "0193a1f2c3d44e5f8a9b0c1d2e3f4a5b"
_EXAMPLE_ORDER = "0193a1f2c3d44e5f8a9b0c1d2e3f4a77"
_READ = problem_responses(400, 401, 403, 404, 422)
_WRITE = problem_responses(401, 403, 404, 409, 422)
_REPLAY: dict[int | str, dict[str, Any]] = {
    200: {"description": "A replay of an accepted order (Idempotent-Replayed: true)."}
}

Price = Annotated[
    str,
    Field(
        min_length=1,
        max_length=32,
        pattern=r"^[0-9]+(\.[0-9]+)?$",
        description="An unsigned decimal price per unit, as a string.",
    ),
]
AccountRef = Annotated[
    str, Field(min_length=1, max_length=64, description="An account's id or name.")
]
Symbol = Annotated[
    str,
    Field(
        min_length=1,
        max_length=32,
        pattern=r"^[A-Za-z0-9. ^-]+$",
        description="An OCC option symbol (SPY260618P00550000) or a stock ticker (SPY).",
    ),
]


# -- the desk ----------------------------------------------------------------------------------


def _shared(state: ServiceState, key: str, make: Callable[[], object]) -> object:
    """``state.extras[key]``, made on first use (``dict.setdefault`` is atomic)."""
    found = state.extras.get(key)
    return found if found is not None else state.extras.setdefault(key, make())


def _market(state: ServiceState) -> MarketData:
    injected = state.extras.get("paper_market")
    if injected is not None:
        return cast(MarketData, injected)
    seed = getattr(state.settings, "market_seed", DEFAULT_SEED)

    def factory(underlyings: Sequence[str], at: datetime) -> SyntheticSource:
        return SyntheticSource(
            seed=seed,
            as_of=at.replace(microsecond=0),
            symbols=tuple(underlyings),
            max_expiry_days=SYNTHETIC_EXPIRY_DAYS,
        )

    return SourceMarket(factory)


def desk_for(state: ServiceState, caller: Caller) -> PaperDesk:
    """The caller's desk on the service's database, market, clock and shared mid history."""
    history = _shared(state, "paper_mid_history", MidHistory)
    assert isinstance(history, MidHistory)
    clock = state.extras.get("paper_clock")
    desk = PaperDesk(
        state.db,
        caller,
        market=_market(state),
        clock=cast(Callable[[], datetime], clock) if clock is not None else utc_now,
        history=history,
    )
    return desk


def _reader(state: State, caller: ViewerCaller) -> PaperDesk:
    return desk_for(state, caller)


def _writer(state: State, caller: TraderCaller) -> PaperDesk:
    return desk_for(state, caller)


ReadDesk = Annotated[PaperDesk, Depends(_reader)]
WriteDesk = Annotated[PaperDesk, Depends(_writer)]


# -- publishing --------------------------------------------------------------------------------


def _channel(account_id: uuid.UUID | str) -> str:
    return f"trading:{account_id}"


def _publish(state: ServiceState, channel: str, message: dict[str, Any]) -> None:
    state.hub.publish_threadsafe(channel, message)


def _publish_ledger(state: ServiceState, desk: PaperDesk, account_id: uuid.UUID) -> None:
    """The account's positions and NAV as they stand now."""
    channel = _channel(account_id)
    positions = [PositionOut.model_validate(p) for p in desk.positions(account_id)]
    _publish(
        state,
        channel,
        {
            "type": "positions",
            "account_id": str(account_id),
            "items": [p.model_dump(mode="json") for p in positions],
        },
    )
    view = desk.get_account(account_id)
    _publish(state, channel, {"type": "nav", **NavOut.of(view).model_dump(mode="json")})


def _publish_order(state: ServiceState, desk: PaperDesk, order: OrderView, *, ledger: bool) -> None:
    """The order, each of its fills, and (after fills) the positions and NAV."""
    channel = _channel(order.account_id)
    body = OrderOut.of(order).model_dump(mode="json")
    _publish(state, channel, {"type": "order", "order": body})
    for fill in body["fills"]:
        _publish(state, channel, {"type": "fill", "fill": fill})
    if ledger:
        _publish_ledger(state, desk, order.account_id)


# -- wire models -------------------------------------------------------------------------------


class AccountIn(BaseModel):
    """A new paper account: a name unique among your accounts, its starting cash."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"name": "paper-1", "cash": "100000"}]}
    )

    name: str = Field(min_length=1, max_length=50, pattern=r"\S")
    cash: Price = Field(description="Starting cash (USD), a positive decimal string.")


class AccountOut(BaseModel):
    """A paper account and its ledger figures (money as strings)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "account_id": _EXAMPLE_ACCOUNT,
                    "name": "paper-1",
                    "account_type": "paper",
                    "starting_cash": "100000.00",
                    "cash": "99512.35",
                    "nav": "100003.10",
                    "created_at": "2026-11-30T19:00:00+00:00",
                }
            ]
        }
    )

    account_id: str
    name: str
    account_type: str
    starting_cash: str
    cash: str
    nav: str
    created_at: datetime

    @classmethod
    def of(cls, view: AccountView) -> AccountOut:
        """The wire form of an account."""
        return cls.model_validate(view.to_dict())


class AccountList(BaseModel):
    """Your paper accounts."""

    items: list[AccountOut]


class NavOut(BaseModel):
    """An account's cash and NAV as stored (marked at its last fill or NAV snapshot)."""

    account_id: str
    cash: str
    nav: str

    @classmethod
    def of(cls, view: AccountView) -> NavOut:
        """The NAV figures of an account."""
        data = view.to_dict()
        return cls(account_id=data["account_id"], cash=data["cash"], nav=data["nav"])


class PolicyValue(BaseModel):
    """One risk parameter: a decimal value and how it reads."""

    model_config = ConfigDict(extra="forbid")

    value: Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[0-9]+(\.[0-9]+)?$")]
    type: Literal["absolute", "percentage", "multiplier"] = "absolute"


class PolicyIn(BaseModel):
    """Set (a value) or clear (null) risk parameters of one of your accounts."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "account": "paper-1",
                    "params": {
                        "max_order_size": {"value": "5000", "type": "absolute"},
                        "max_daily_loss": {"value": "2", "type": "percentage"},
                        "cooldown_seconds": None,
                    },
                }
            ]
        },
    )

    account: AccountRef
    params: dict[Annotated[str, Field(min_length=1, max_length=64)], PolicyValue | None] = Field(
        max_length=len(POLICY_FIELDS),
        description=f"Parameter name -> value or null. Names: {', '.join(POLICY_FIELDS)}.",
    )


class PolicyOut(BaseModel):
    """An account's active risk parameters: name -> {value, type}."""

    account_id: str
    params: dict[str, dict[str, str]]


class LegIn(BaseModel):
    """One leg: an OCC option symbol or a stock ticker, a side and a ratio."""

    model_config = ConfigDict(extra="forbid")

    symbol: Symbol
    side: Side
    ratio: int = Field(1, ge=1, le=100)


class OrderIn(BaseModel):
    """An order for one of your accounts (prices unsigned; multi-leg: net, see net_credit)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "account": "paper-1",
                    "legs": [{"symbol": "SPY260618P00550000", "side": "buy", "ratio": 1}],
                    "qty": 2,
                    "order_type": "limit",
                    "time_in_force": "day",
                    "limit_price": "4.10",
                    "idempotency_key": "9f1d84a3-2a28-431f-bf03-6f5b6d1de4b1",
                }
            ]
        },
    )

    account: AccountRef
    legs: list[LegIn] = Field(min_length=1, max_length=8)
    qty: int = Field(ge=1, le=100_000)
    order_type: OrderType = OrderType.MARKET
    time_in_force: Literal["day", "gtc", "ioc", "fok", "DAY", "GTC", "IOC", "FOK"] = "day"
    limit_price: Price | None = None
    stop_price: Price | None = None
    net_credit: bool = Field(
        False, description="Multi-leg only: the net limit/stop price is a credit."
    )
    confidence: Annotated[Decimal, Field(ge=0, le=1)] | None = None
    strategy_type: Annotated[str, Field(min_length=1, max_length=50)] | None = None
    idempotency_key: (
        Annotated[str, Field(min_length=1, max_length=255, pattern=r"^[\x21-\x7e]+$")] | None
    ) = Field(None, description="The desk's idempotency key (see the module description).")

    def ticket(self) -> OrderTicket:
        """The desk's ticket."""
        return OrderTicket(
            legs=tuple(TicketLeg(leg.symbol.upper(), leg.side, leg.ratio) for leg in self.legs),
            quantity=self.qty,
            order_type=self.order_type,
            time_in_force=TimeInForce(self.time_in_force.upper()),
            limit_price=None if self.limit_price is None else Decimal(self.limit_price),
            stop_price=None if self.stop_price is None else Decimal(self.stop_price),
            net_credit=self.net_credit,
            confidence=self.confidence,
            strategy_type=self.strategy_type,
        )


class FillOut(BaseModel):
    """One fill of one leg (money as strings)."""

    fill_id: str
    order_id: str
    execution_id: str | None
    symbol: str
    side: str
    qty: str
    fill_price: str
    net_price: str | None
    multiplier: int
    commission: str
    fee: str
    slippage_bps: Any
    filled_at: datetime


class OrderEventOut(BaseModel):
    """One status transition of an order."""

    model_config = ConfigDict(populate_by_name=True)

    from_status: str | None = Field(alias="from")
    to: str
    reason: str | None
    at: datetime
    details: dict[str, Any] | None = None


class OrderLegOut(BaseModel):
    """One leg of an order."""

    symbol: str | None
    side: str
    ratio: int
    quantity: Any
    filled_quantity: Any
    multiplier: int


class OrderOut(BaseModel):
    """An order with its legs, its status history and its fills."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "order_id": _EXAMPLE_ORDER,
                    "account_id": _EXAMPLE_ACCOUNT,
                    "symbol": "SPY260618P00550000",
                    "side": "buy",
                    "qty": 2,
                    "filled_qty": 2,
                    "order_type": "market",
                    "time_in_force": "DAY",
                    "limit_price": None,
                    "stop_price": None,
                    "status": "filled",
                    "risk_reason": None,
                    "code": None,
                    "avg_fill_price": "4.12",
                    "idempotency_key": None,
                    "signal_id": None,
                    "legs": [],
                    "events": [],
                    "fills": [],
                    "created_at": "2026-11-30T19:00:00+00:00",
                }
            ]
        }
    )

    order_id: str
    account_id: str
    symbol: str
    side: str
    qty: int
    filled_qty: int
    order_type: str
    time_in_force: str
    limit_price: str | None
    stop_price: str | None
    status: str
    risk_reason: str | None
    code: str | None
    avg_fill_price: str | None
    idempotency_key: str | None
    signal_id: str | None
    legs: list[OrderLegOut]
    events: list[OrderEventOut]
    fills: list[FillOut]
    created_at: datetime

    @classmethod
    def of(cls, view: OrderView) -> OrderOut:
        """The wire form of an order."""
        return cls.model_validate(view.to_dict())


class CheckOut(BaseModel):
    """One gate's check of an order."""

    rule: str
    action: str
    observed: str | None
    threshold: str | None
    severity: str
    message: str | None


class VerdictOut(BaseModel):
    """The kill switch's and the gates' verdict on an order, nothing written."""

    accepted: bool
    code: str | None
    message: str | None
    checks: list[CheckOut]


class PositionOut(BaseModel):
    """An open ledger position with its mark and P&L (money as strings)."""

    account_id: str
    symbol: str
    underlying: str | None
    qty: str
    avg_entry_price: str
    cost_basis: str | None
    mark_price: str | None
    unrealized_pnl: str | None
    realized_pnl: str | None
    multiplier: int
    updated_at: datetime


class PositionList(BaseModel):
    """Open positions."""

    items: list[PositionOut]


class NavSnapshotOut(BaseModel):
    """A stored NAV snapshot."""

    snapshot_id: str
    account_id: str | None
    nav: str | None
    cash: str | None
    positions_value: str | None
    realized_pnl: str | None
    unrealized_pnl: str | None
    daily_pnl: str | None
    captured_at: datetime


class RiskEventOut(BaseModel):
    """One pre-trade gate check (allowed, warned or blocked) or kill-switch warning, stored."""

    risk_event_id: str
    account_id: str | None
    order_id: str | None
    event_type: str | None
    action: str | None
    rule: str | None
    severity: str | None
    description: str | None
    details: dict[str, Any] | None
    created_at: datetime


class KillSwitchIn(BaseModel):
    """Turn the kill switch on (cancels every resting order) or off, saying why."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"enabled": True, "reason": "venue incident"}]},
    )

    enabled: bool
    reason: str = Field(min_length=1, max_length=500, pattern=r"\S")


class ReconciliationOut(BaseModel):
    """The stored ledger against the ledger replayed from the fills."""

    ok: bool
    checks: list[dict[str, Any]]


# -- helpers -----------------------------------------------------------------------------------

DateFrom = Annotated[
    AwareDatetime | None, Query(alias="from", description="Inclusive start, ISO-8601 UTC.")
]
DateTo = Annotated[AwareDatetime | None, Query(alias="to", description="End, ISO-8601 UTC.")]
AccountQuery = Annotated[
    str | None,
    Query(min_length=1, max_length=64, description="An account id or name (default: all)."),
]
RequiredAccount = Annotated[
    str, Query(min_length=1, max_length=64, description="An account id or name.")
]
SymbolQuery = Annotated[str | None, Query(min_length=1, max_length=32)]
Pages = Annotated[PageParams, Depends(page_params)]


def _dicts(
    page: KeysetPage[dict[str, Any]], model: type[BaseModel], params: PageParams, secret: bytes
) -> Page[Any]:
    return to_page(page, model.model_validate, params, secret=secret)


def _unknown_policy(names: Sequence[str]) -> ProblemError:
    known = ", ".join(POLICY_FIELDS)
    return ProblemError(
        422,
        ErrorCode.VALIDATION_ERROR,
        f"unknown risk parameter {', '.join(map(repr, names))}; known: {known}",
        errors=[
            FieldError(field=f"body.params.{n}", rule="policy_name", message="unknown")
            for n in names
        ],
    )


def _refusal(
    request: Request, desk: PaperDesk, result: SubmitResult, *, replayed: bool
) -> JSONResponse:
    """The problem of a refused order, with ``details`` (rule, observed, threshold, order)."""
    order_id = str(result.order.id)
    code = result.code or ErrorCode.RISK_BLOCKED.value
    message = result.message or result.order.reason or "the order was refused"
    details: dict[str, Any] = {"order_id": order_id, "status": result.order.status}
    if code == ErrorCode.RISK_BLOCKED:
        blocked = next((c for c in result.checks if c.get("action") == "blocked"), None)
        if blocked is None:  # a replay carries no checks: the stored rejection's events
            blocked = _stored_block(desk, result)
        details |= {
            "rule": None if blocked is None else blocked.get("rule"),
            "observed": None if blocked is None else blocked.get("observed"),
            "threshold": None if blocked is None else blocked.get("threshold"),
        }
        error = ProblemError(409, ErrorCode.RISK_BLOCKED, message)
    elif code == ErrorCode.KILL_SWITCH_ACTIVE:
        error = ProblemError(423, ErrorCode.KILL_SWITCH_ACTIVE, message)
    elif code == ErrorCode.STALE_MARKET_DATA:
        error = ProblemError(409, ErrorCode.STALE_MARKET_DATA, message)
    else:
        error = ProblemError(409, ErrorCode.CONFLICT, f"{code}: {message}")
    if replayed:
        error.headers[REPLAYED] = "true"
    error.details = details
    return problem_response(request, error)


def _stored_block(desk: PaperDesk, result: SubmitResult) -> dict[str, Any] | None:
    """The blocking gate check of a stored rejection (from its risk events)."""
    page = desk.risk_events(str(result.order.account_id), action="blocked", after=None, limit=200)
    for event in page.items:
        if event["order_id"] == str(result.order.id):
            details = event.get("details") or {}
            return {
                "rule": event["rule"],
                "observed": details.get("observed"),
                "threshold": details.get("threshold"),
            }
    return None


def _idempotency_key(body_key: str | None, header_key: str | None) -> str | None:
    header = None if header_key is None else header_key.strip()
    if body_key is not None and header and header != body_key:
        raise ProblemError(
            422,
            ErrorCode.VALIDATION_ERROR,
            "idempotency_key and the Idempotency-Key header differ: send one key (the body "
            "field is the desk's key)",
            errors=[
                FieldError(
                    field="body.idempotency_key",
                    rule="idempotency_key",
                    message="differs from the Idempotency-Key header",
                )
            ],
        )
    return body_key if body_key is not None else (header or None)


# -- accounts ----------------------------------------------------------------------------------


@router.post("/v1/accounts", response_model=AccountOut, status_code=201, responses=_WRITE)
def create_account(body: AccountIn, desk: WriteDesk) -> AccountOut:
    """Create a paper account of yours holding ``cash``."""
    return AccountOut.of(desk.create_account(body.name, Decimal(body.cash)))


@router.get("/v1/accounts", response_model=AccountList, responses=_READ)
def list_accounts(desk: ReadDesk) -> AccountList:
    """Your paper accounts."""
    return AccountList(items=[AccountOut.of(a) for a in desk.list_accounts()])


@router.get("/v1/accounts/{ref}", response_model=AccountOut, responses=_READ)
def get_account(ref: Annotated[str, Path(min_length=1, max_length=64)], desk: ReadDesk) -> Any:
    """One of your accounts, by id or name."""
    return AccountOut.of(desk.get_account(ref))


@router.get("/v1/accounts/{ref}/reconciliation", response_model=ReconciliationOut, responses=_READ)
def reconcile(ref: Annotated[str, Path(min_length=1, max_length=64)], desk: ReadDesk) -> Any:
    """Replay every fill of the account and compare with the stored positions and cash."""
    return ReconciliationOut.model_validate(desk.reconcile(ref).to_dict())


# -- risk policy and events ------------------------------------------------------------------


@router.get("/v1/risk/policy", response_model=PolicyOut, responses=_READ)
def get_policy(account: RequiredAccount, desk: ReadDesk) -> PolicyOut:
    """The account's active risk parameters."""
    view = desk.get_account(account)
    return PolicyOut(account_id=str(view.id), params=desk.get_policy(view.id))


@router.put("/v1/risk/policy", response_model=PolicyOut, responses=_WRITE)
def set_policy(body: PolicyIn, desk: WriteDesk) -> PolicyOut:
    """Set (value) or clear (null) risk parameters; answers every active parameter."""
    unknown = [name for name in body.params if name not in POLICY_FIELDS]
    if unknown:
        raise _unknown_policy(unknown)
    view = desk.get_account(body.account)
    params = {
        name: None if spec is None else (Decimal(spec.value), spec.type)
        for name, spec in body.params.items()
    }
    return PolicyOut(account_id=str(view.id), params=desk.set_policy(view.id, params))


@router.get("/v1/risk/events", response_model=Page[RiskEventOut], responses=_READ)
def paper_risk_events(
    desk: ReadDesk,
    state: State,
    page: Pages,
    account: AccountQuery = None,
    action: Annotated[Literal["allowed", "warned", "blocked"] | None, Query()] = None,
    start: DateFrom = None,
    end: DateTo = None,
) -> Any:
    """Pre-trade gate events of your accounts, newest first.

    (``/v1/risk-events`` is another list: the portfolio regime and squeeze events.)
    """
    result = desk.risk_events(
        account,
        action=action,
        start=start,
        end=end,
        after=after_key(page, secret=state.cursor_secret),
        limit=page.limit,
    )
    return _dicts(result, RiskEventOut, page, state.cursor_secret)


# -- orders ------------------------------------------------------------------------------------


@router.post(
    "/v1/orders",
    response_model=OrderOut,
    status_code=201,
    responses=_REPLAY | problem_responses(401, 403, 404, 409, 422, 423),
)
def submit_order(
    body: OrderIn,
    request: Request,
    response: Response,
    desk: WriteDesk,
    state: State,
    idempotency_header: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            max_length=255,
            description="Accepted when the body has no idempotency_key (see the description).",
        ),
    ] = None,
) -> Any:
    """Submit an order through the kill switch and the risk gates (see the module description).

    201: accepted (filled or resting). 409 ``RISK_BLOCKED`` / ``STALE_MARKET_DATA``, 423
    ``KILL_SWITCH_ACTIVE``: refused and stored as rejected, ``details`` naming the rule.
    """
    key = _idempotency_key(body.idempotency_key, idempotency_header)
    try:
        result = desk.submit(body.account, body.ticket(), idempotency_key=key)
    except IdempotencyConflictError as exc:
        raise ProblemError(
            409,
            ErrorCode.IDEMPOTENCY_KEY_REUSED,
            f"{exc}; use a new key for a new order",
        ) from exc
    if not result.replayed:
        _publish_order(state, desk, result.order, ledger=bool(result.order.fills))
    if result.code is not None:
        return _refusal(request, desk, result, replayed=result.replayed)
    if result.replayed:
        response.status_code = 200
        response.headers[REPLAYED] = "true"
    return OrderOut.of(result.order)


@router.post("/v1/orders/preview", response_model=VerdictOut, responses=_WRITE)
def preview_order(body: OrderIn, desk: WriteDesk) -> VerdictOut:
    """The verdict the kill switch and the gates would give now; nothing is written."""
    return VerdictOut.model_validate(desk.preview(body.account, body.ticket()))


@router.get("/v1/orders", response_model=Page[OrderOut], responses=_READ)
def list_orders(
    desk: ReadDesk,
    state: State,
    page: Pages,
    account: AccountQuery = None,
    status: Annotated[str | None, Query(min_length=1, max_length=20)] = None,
    symbol: SymbolQuery = None,
    start: DateFrom = None,
    end: DateTo = None,
) -> Any:
    """Orders of your accounts, newest first."""
    result = desk.list_orders(
        account,
        status=status,
        symbol=symbol,
        start=start,
        end=end,
        after=after_key(page, secret=state.cursor_secret),
        limit=page.limit,
    )
    return to_page(result, OrderOut.of, page, secret=state.cursor_secret)


@router.get("/v1/orders/{order_id}", response_model=OrderOut, responses=_READ)
def get_order(order_id: uuid.UUID, desk: ReadDesk) -> OrderOut:
    """One of your orders with its legs, status history and fills."""
    try:
        return OrderOut.of(desk.get_order(order_id))
    except OrderNotFoundError as exc:
        raise ProblemError(404, ErrorCode.NOT_FOUND, f"no order {order_id} of yours") from exc


@router.post("/v1/orders/{order_id}/cancel", response_model=OrderOut, responses=_WRITE)
def cancel_order(order_id: uuid.UUID, desk: WriteDesk, state: State) -> OrderOut:
    """Cancel a working order of yours (409 when it is no longer working)."""
    try:
        view = desk.cancel(order_id)
    except OrderNotFoundError as exc:
        raise ProblemError(404, ErrorCode.NOT_FOUND, f"no order {order_id} of yours") from exc
    except OrderStateError as exc:
        raise ProblemError(409, ErrorCode.CONFLICT, str(exc)) from exc
    _publish_order(state, desk, view, ledger=False)
    return OrderOut.of(view)


# -- fills, positions, NAV ---------------------------------------------------------------------


@router.get("/v1/fills", response_model=Page[FillOut], responses=_READ)
def list_fills(
    desk: ReadDesk,
    state: State,
    page: Pages,
    account: AccountQuery = None,
    symbol: SymbolQuery = None,
    start: DateFrom = None,
    end: DateTo = None,
) -> Any:
    """Fills of your accounts, newest first."""
    result = desk.fills(
        account,
        symbol=symbol,
        start=start,
        end=end,
        after=after_key(page, secret=state.cursor_secret),
        limit=page.limit,
    )
    return _dicts(result, FillOut, page, state.cursor_secret)


@router.get("/v1/positions", response_model=PositionList, responses=_READ)
def list_positions(desk: ReadDesk, account: AccountQuery = None) -> PositionList:
    """Open positions of your accounts (or of one), with marks and P&L."""
    return PositionList(items=[PositionOut.model_validate(p) for p in desk.positions(account)])


@router.get("/v1/portfolio/snapshots", response_model=Page[NavSnapshotOut], responses=_READ)
def nav_snapshots(
    desk: ReadDesk,
    state: State,
    page: Pages,
    account: AccountQuery = None,
    start: DateFrom = None,
    end: DateTo = None,
) -> Any:
    """NAV snapshots of your accounts, newest first (an equity curve, read backwards)."""
    result = desk.nav_history(
        account,
        start=start,
        end=end,
        after=after_key(page, secret=state.cursor_secret),
        limit=page.limit,
    )
    return _dicts(result, NavSnapshotOut, page, state.cursor_secret)


# -- kill switch -------------------------------------------------------------------------------


@router.get("/v1/kill-switch", response_model=dict[str, Any], responses=_READ)
def kill_switch(desk: ReadDesk) -> dict[str, Any]:
    """The kill switch: on/off, since, why, who, and its latest changes."""
    return desk.kill_switch_status()


@router.post("/v1/kill-switch", response_model=dict[str, Any], responses=_WRITE)
def set_kill_switch(body: KillSwitchIn, desk: WriteDesk, state: State) -> dict[str, Any]:
    """Turn the kill switch on (every resting order is cancelled) or off; audited."""
    actor = desk.caller.actor
    result = desk.set_kill_switch(body.enabled, actor=actor, reason=body.reason)
    _publish(state, KILL_SWITCH_CHANNEL, {"type": "kill_switch", "actor": actor, **result})
    return result


class MarketPassOut(BaseModel):
    """What one pass of the paper venue over the market did."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "fills": 1,
                    "orders_touched": ["0193a3a4-5c6d-7e8f-9a0b-1c2d3e4f5a6b"],
                    "cancelled": 0,
                    "expired_signals": 0,
                    "kill_switch": [],
                    "accounts": 1,
                }
            ]
        }
    )

    fills: int
    orders_touched: list[str]
    cancelled: int
    expired_signals: int
    kill_switch: list[dict[str, Any]]
    accounts: int


@router.post("/v1/paper/market-pass", response_model=MarketPassOut, responses=_WRITE)
def market_pass(desk: WriteDesk, state: State) -> MarketPassOut:
    """One pass of the paper venue over the market now, for your accounts.

    Expires due signals, checks the kill switch (market-wide, then each account's drawdown and
    daily loss), matches every working order against the current quotes, and marks each
    account with a position to market (a NAV snapshot: the equity curve's next point). The
    changed orders, fills, positions and NAV go out on ``/v1/ws/trading``.
    """
    result = desk.process_market()
    for order_id in result.orders_touched:
        _publish_order(state, desk, desk.get_order(order_id), ledger=False)
    accounts = desk.list_accounts()
    for account in accounts:
        _publish_ledger(state, desk, account.id)
    for change in result.kill_switch:
        _publish(state, KILL_SWITCH_CHANNEL, {"type": "kill_switch", **change})
    return MarketPassOut(
        fills=result.fills,
        orders_touched=[str(o) for o in result.orders_touched],
        cancelled=result.cancelled,
        expired_signals=result.expired_signals,
        kill_switch=[dict(change) for change in result.kill_switch],
        accounts=len(accounts),
    )


class PaperChainRowOut(ChainRowOut):
    """One of the venue's option quotes, with the OCC symbol a ticket leg takes."""

    symbol: str = Field(description="Compact OCC symbol (a ticket leg's ``symbol``).")


class PaperChainOut(BaseModel):
    """The paper venue's option chain of one underlying now: what orders fill against."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "symbol": "SPY",
                    "as_of": "2026-12-01T15:30:00Z",
                    "spot": "601.25",
                    "expiries": ["2026-12-18"],
                    "rows": [],
                }
            ]
        }
    )

    symbol: str
    as_of: datetime = Field(description="When the venue quoted the chain (UTC).")
    spot: str
    expiries: list[date] = Field(description="Every expiry the venue lists for the symbol.")
    rows: list[PaperChainRowOut]


@router.get("/v1/paper/chain/{symbol}", response_model=PaperChainOut, responses=_READ)
def paper_chain(
    symbol: SymbolPath,
    desk: ReadDesk,
    expiry: Annotated[date | None, Query(description="Only this expiry.")] = None,
) -> PaperChainOut:
    """The paper venue's chain of ``symbol`` now: the bids and asks orders fill against.

    The same market the gates, fills and marks use (not a stored workbench snapshot), so a
    ticket built from it is priced where the venue trades.
    """
    name = symbol.upper()
    now = desk.clock()
    try:
        snapshot = desk.market.snapshot([name], now)
        spot = snapshot.underlying(name).spot
    except (ValueError, KeyError, LookupError) as exc:
        raise ProblemError(
            404, ErrorCode.NOT_FOUND, f"the paper venue does not quote {name!r}: {exc}"
        ) from exc
    quotes = [q for q in snapshot.options if q.contract.underlying == name]
    expiries = sorted({q.contract.expiry for q in quotes})
    if expiry is not None:
        quotes = [q for q in quotes if q.contract.expiry == expiry]
    rows = [
        PaperChainRowOut(
            **ChainRowOut.from_quote(q).model_dump(), symbol=format_occ(q.contract, padded=False)
        )
        for q in quotes
    ]
    return PaperChainOut(
        symbol=name,
        as_of=snapshot.as_of,
        spot=decimal_text(spot) or "0",
        expiries=expiries,
        rows=rows,
    )


# -- WebSocket ---------------------------------------------------------------------------------


@router.websocket("/v1/ws/trading")
async def trading_ws(websocket: WebSocket) -> None:
    """Your paper trading live: a ``state`` message, then order, fill, positions, NAV events.

    ``?account=`` (id or name) follows one account; without it, every account you hold when
    connecting. An account that is not yours closes the socket with 4404.
    """
    state: ServiceState = websocket.app.state.riskdesk
    await websocket.accept()
    caller = await _authenticate(websocket, state)
    if caller is None:
        return
    ref = websocket.query_params.get("account")
    desk = desk_for(state, caller)

    def accounts() -> list[AccountView]:
        return [desk.get_account(ref)] if ref else desk.list_accounts()

    try:
        views = await anyio.to_thread.run_sync(accounts)
    except AccountNotFoundError:
        await websocket.close(code=NOT_FOUND, reason="no such account")
        return
    ids = [v.id for v in views]

    def current_state() -> dict[str, Any]:
        out = []
        for account_id in ids:
            view = desk.get_account(account_id)
            positions = [PositionOut.model_validate(p) for p in desk.positions(account_id)]
            out.append(
                {
                    **NavOut.of(view).model_dump(mode="json"),
                    "name": view.name,
                    "positions": [p.model_dump(mode="json") for p in positions],
                }
            )
        return {"type": "state", "accounts": out}

    async def current() -> dict[str, Any]:
        return await anyio.to_thread.run_sync(current_state)

    channels = [KILL_SWITCH_CHANNEL, *(_channel(i) for i in ids)]
    await _pump(websocket, state, channels, current)
