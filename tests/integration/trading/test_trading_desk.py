"""The paper desk on SQLite and PostgreSQL: every gate, every kill-switch trigger, the fill
model, order transitions and expiry, each shown by what the store holds afterwards."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from _trading_worker import (
    AS_OF,
    Clock,
    as_index,
    base_market,
    occ,
    pick,
    retimed,
    spot,
    ticket,
    with_quote,
    with_vix,
)
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from riskdesk.cli.main import app
from riskdesk.domain.instruments import OptionRight
from riskdesk.domain.market import MarketSnapshot
from riskdesk.store import Database
from riskdesk.store import models as m
from riskdesk.trading.desk import PaperDesk, StaticMarket, SubmitResult
from riskdesk.trading.gates import Limit
from riskdesk.trading.killswitch import KillSwitchPolicy
from riskdesk.trading.market import DisplayedSize, MidHistory
from riskdesk.trading.model import OrderType, Side, TimeInForce

ACCOUNT = "paper-1"
CASH = Decimal(100_000)


@dataclass
class Env:
    """One migrated database, a pinned clock and a movable market; desks on them."""

    db: Database
    clock: Clock
    market: StaticMarket
    history: MidHistory = field(default_factory=MidHistory)

    def tick(self, seconds: float) -> None:
        """Move the clock and requote the market at the new time (fresh data)."""
        self.market.set(retimed(base_market(), self.clock.advance(seconds)))

    def desk(self, **kwargs: Any) -> PaperDesk:
        kwargs.setdefault("history", self.history)
        return PaperDesk(self.db, market=self.market, clock=self.clock, **kwargs)

    def count(self, model: Any, *where: Any) -> int:
        with self.db.engine.connect() as conn:
            return int(
                conn.execute(select(func.count()).select_from(model).where(*where)).scalar_one()
            )

    def kill_rows(self) -> list[m.KillSwitchEvent]:
        with self.db.unit_of_work() as uow:
            rows = list(
                uow.session.scalars(
                    select(m.KillSwitchEvent).order_by(m.KillSwitchEvent.created_at)
                )
            )
            uow.session.expunge_all()
            return rows


@pytest.fixture
def env(migrated_engine: Engine, db_url: str) -> Iterator[Env]:
    db = Database.from_url(db_url)
    try:
        yield Env(db, Clock(AS_OF + timedelta(seconds=1)), StaticMarket(base_market()))
    finally:
        db.engine.dispose()


def _call(right: OptionRight = OptionRight.CALL, **kwargs: Any) -> str:
    return occ(pick(base_market(), right, **kwargs))


def _events(desk: PaperDesk, result: SubmitResult) -> list[dict[str, Any]]:
    rows = desk.risk_events(ACCOUNT, limit=200).items
    return [r for r in rows if r["order_id"] == str(result.order.id)]


def _path(events: Sequence[dict[str, Any]]) -> list[str]:
    """The statuses an order went through, following each event's from -> to.

    Events written in one transaction share their time; following the links checks every
    stored transition without relying on how the store orders ties.
    """
    following = {e["from"]: e["to"] for e in events}
    assert len(following) == len(events), events
    path: list[str] = []
    status = following.get(None)
    while status is not None:
        path.append(status)
        status = following.get(status)
    assert len(path) == len(events), events
    return path


def _blocked_by(desk: PaperDesk, result: SubmitResult, rule: str) -> dict[str, Any]:
    """Assert ``result`` was refused by ``rule`` and stored so; return the rule's event."""
    assert result.code == "RISK_BLOCKED", result.to_dict()
    stored = desk.get_order(result.order.id)
    assert stored.status == "rejected"
    assert stored.code == "RISK_BLOCKED"
    assert stored.reason is not None
    assert stored.reason.startswith(rule)
    assert _path(stored.events) == ["proposed", "rejected"]
    assert stored.fills == ()
    event = next(e for e in _events(desk, result) if e["rule"] == rule)
    assert event["action"] == "blocked"
    assert event["severity"] in ("high", "critical", "medium")
    assert event["details"]["threshold"] is not None
    return event


# --------------------------------------------------------------------------- gates


@dataclass(frozen=True)
class GateCase:
    rule: str
    policy: dict[str, tuple[Decimal, str]]
    setup: Callable[[Env, PaperDesk], None] = lambda env, desk: None
    side: Side = Side.BUY
    confidence: Decimal | None = None
    observed: str | None = None
    threshold: str | None = None


def _buy_first(env: Env, desk: PaperDesk) -> None:
    first = desk.submit(ACCOUNT, ticket(_call(OptionRight.PUT)))
    assert first.order.status == "filled"


def _round_trip_loss(env: Env, desk: PaperDesk) -> None:
    symbol = _call()
    assert desk.submit(ACCOUNT, ticket(symbol)).order.status == "filled"
    env.tick(5)
    assert desk.submit(ACCOUNT, ticket(symbol, Side.SELL)).order.status == "filled"
    env.tick(5)


def _one_trade(env: Env, desk: PaperDesk) -> None:
    assert desk.submit(ACCOUNT, ticket(_call(OptionRight.PUT))).order.status == "filled"
    env.tick(60)


def _lose_money(env: Env, desk: PaperDesk) -> None:
    assert desk.submit(ACCOUNT, ticket(_call(), quantity=20)).order.status == "filled"


def _flat_history(env: Env, desk: PaperDesk) -> None:
    env.history.record(retimed(base_market(), AS_OF - timedelta(minutes=6)))


_ABS = "absolute"
GATES: list[Any] = [
    GateCase("max_order_size", {"max_order_size": (Decimal(50), _ABS)}, threshold="50"),
    GateCase("max_open_exposure", {"max_open_exposure": (Decimal(50), _ABS)}),
    GateCase("max_open_positions", {"max_open_positions": (Decimal(1), _ABS)}, _buy_first),
    pytest.param(
        GateCase(
            "max_loss_per_trade",
            {"max_loss_per_trade": (Decimal(1_000_000), _ABS)},
            side=Side.SELL,
            observed="Infinity",
        ),
        id="max_loss_per_trade",
    ),
    GateCase("max_daily_loss", {"max_daily_loss": (Decimal(1), _ABS)}, _lose_money),
    GateCase("cooldown", {"cooldown_seconds": (Decimal(300), _ABS)}, _round_trip_loss),
    GateCase("max_trades_per_hour", {"max_trades_per_hour": (Decimal(1), _ABS)}, _one_trade),
    GateCase("max_trades_per_day", {"max_trades_per_day": (Decimal(1), _ABS)}, _one_trade),
    GateCase(
        "min_confidence",
        {"min_confidence": (Decimal("0.7"), _ABS)},
        confidence=Decimal("0.5"),
        observed="0.5",
    ),
    GateCase(
        "min_price_move_5m",
        {"min_price_move_5m_pct": (Decimal("0.5"), _ABS)},
        _flat_history,
        observed="0",
    ),
    GateCase("max_portfolio_delta", {"max_portfolio_delta": (Decimal("0.01"), _ABS)}),
    GateCase("max_portfolio_gamma", {"max_portfolio_gamma": (Decimal("0.00001"), _ABS)}),
    GateCase("max_portfolio_vega", {"max_portfolio_vega": (Decimal("0.001"), _ABS)}),
    GateCase(
        "max_positions_per_symbol", {"max_positions_per_symbol": (Decimal(1), _ABS)}, _buy_first
    ),
    GateCase("max_short_options", {"max_short_options": (Decimal(0), _ABS)}, side=Side.SELL),
]


@pytest.mark.parametrize("case", GATES, ids=lambda c: c.rule)
def test_gate_with_breaching_order_blocks_and_stores_event_and_rejection(
    env: Env, case: GateCase
) -> None:
    desk = env.desk()
    desk.create_account(ACCOUNT, CASH)
    desk.set_policy(ACCOUNT, case.policy)
    case.setup(env, desk)
    before_cash = desk.get_account(ACCOUNT).cash

    result = desk.submit(ACCOUNT, ticket(_call(), case.side, confidence=case.confidence))

    event = _blocked_by(desk, result, case.rule)
    if case.observed is not None:
        assert Decimal(event["details"]["observed"]) == Decimal(case.observed)
    if case.threshold is not None:
        assert Decimal(event["details"]["threshold"]) == Decimal(case.threshold)
    assert desk.get_account(ACCOUNT).cash == before_cash
    assert desk.reconcile(ACCOUNT).ok


def test_gate_with_percentage_of_nav_limit_blocks_at_that_share_of_nav(env: Env) -> None:
    desk = env.desk()
    desk.create_account(ACCOUNT, CASH)
    desk.set_policy(ACCOUNT, {"max_order_size": (Decimal("0.05"), "percentage")})
    symbol = _call()
    ask = pick(base_market(), OptionRight.CALL).ask
    assert ask is not None
    assert ask * 100 > 50

    result = desk.submit(ACCOUNT, ticket(symbol))

    event = _blocked_by(desk, result, "max_order_size")
    assert Decimal(event["details"]["threshold"]) == Decimal(50)
    assert Decimal(event["details"]["observed"]) == ask * 100


def test_gate_with_order_within_every_limit_writes_allowed_events(env: Env) -> None:
    desk = env.desk()
    desk.create_account(ACCOUNT, CASH)
    desk.set_policy(
        ACCOUNT,
        {
            "max_order_size": (Decimal(50_000), _ABS),
            "max_open_positions": (Decimal(10), _ABS),
            "max_trades_per_day": (Decimal(10), _ABS),
        },
    )

    result = desk.submit(ACCOUNT, ticket(_call()))

    assert result.accepted
    assert result.order.status == "filled"
    events = _events(desk, result)
    gates = [e for e in events if e["event_type"] == "pre_trade_gate"]
    assert {e["rule"] for e in gates} == {
        "max_order_size",
        "max_open_positions",
        "max_trades_per_day",
    }
    # the snapshot has no VIX: the emergency rule cannot run, and says so as a warning
    (vix,) = [e for e in events if e["event_type"] == "kill_switch_warning"]
    assert (vix["rule"], vix["action"]) == ("vix_emergency", "warned")
    assert {e["action"] for e in gates} == {"allowed"}
    assert desk.reconcile(ACCOUNT).ok


# --------------------------------------------------------------------------- kill switch


def test_kill_switch_with_manual_on_and_off_audits_and_cancels_resting_orders(env: Env) -> None:
    desk = env.desk()
    desk.create_account(ACCOUNT, CASH)
    resting = desk.submit(
        ACCOUNT, ticket(_call(), order_type=OrderType.LIMIT, limit_price=Decimal("0.05"))
    )
    assert resting.order.status == "submitted"

    on = desk.set_kill_switch(True, actor="alice", reason="fat finger drill")
    refused = desk.submit(ACCOUNT, ticket(_call()))
    env.tick(1)
    off = desk.set_kill_switch(False, actor="bob", reason="drill over")
    after = desk.submit(ACCOUNT, ticket(_call()))

    assert on["enabled"]
    assert on["cancelled_orders"] == 1
    assert desk.get_order(resting.order.id).status == "cancelled"
    assert refused.code == "KILL_SWITCH_ACTIVE"
    assert desk.get_order(refused.order.id).status == "rejected"
    assert not off["enabled"]
    assert after.accepted
    rows = env.kill_rows()
    assert [(r.enabled, r.actor, r.reason, r.trigger) for r in rows] == [
        (True, "alice", "fat finger drill", "manual"),
        (False, "bob", "drill over", "manual"),
    ]


def test_kill_switch_with_quote_older_than_120s_trips_and_refuses(env: Env) -> None:
    desk = env.desk()
    desk.create_account(ACCOUNT, CASH)
    env.clock.advance(150)

    result = desk.submit(ACCOUNT, ticket(_call()))

    assert result.code == "KILL_SWITCH_ACTIVE"
    rows = env.kill_rows()
    assert len(rows) == 1
    assert rows[0].enabled
    assert rows[0].trigger == "stale_market_data"
    assert rows[0].observed_value is not None
    assert rows[0].observed_value > 120
    assert desk.kill_switch_status()["enabled"]


def test_kill_switch_with_quote_between_30_and_120s_refuses_as_stale_without_trip(
    env: Env,
) -> None:
    desk = env.desk()
    desk.create_account(ACCOUNT, CASH)
    env.clock.advance(60)

    result = desk.submit(ACCOUNT, ticket(_call()))

    assert result.code == "STALE_MARKET_DATA"
    assert desk.get_order(result.order.id).status == "rejected"
    assert env.kill_rows() == []
    assert not desk.kill_switch_status()["enabled"]


def _move(env: Env, factor: Decimal, seconds: int = 30) -> MarketSnapshot:
    at = env.clock.advance(seconds)
    moved = retimed(base_market(), at - timedelta(seconds=1), factor=factor)
    env.market.set(moved)
    return moved


def test_kill_switch_with_10pct_move_within_60s_trips_and_cancels_resting(env: Env) -> None:
    desk = env.desk()
    desk.create_account(ACCOUNT, CASH)
    resting = desk.submit(
        ACCOUNT, ticket(_call(), order_type=OrderType.LIMIT, limit_price=Decimal("0.05"))
    )
    _move(env, Decimal("1.11"))

    tick = desk.process_market()

    assert tick.cancelled == 1
    assert desk.get_order(resting.order.id).status == "cancelled"
    rows = env.kill_rows()
    assert len(rows) == 1
    assert rows[0].trigger == "price_move"
    assert rows[0].observed_value is not None
    assert rows[0].observed_value >= 10
    assert desk.submit(ACCOUNT, ticket(_call())).code == "KILL_SWITCH_ACTIVE"


def test_kill_switch_with_5pct_move_warns_without_trip(env: Env) -> None:
    desk = env.desk()
    desk.create_account(ACCOUNT, CASH)
    desk.submit(ACCOUNT, ticket(_call()))
    _move(env, Decimal("1.05"))

    tick = desk.process_market()
    result = desk.submit(ACCOUNT, ticket(_call()))

    assert tick.cancelled == 0
    assert env.kill_rows() == []
    assert result.accepted
    # the move is on record as a warning, with the order it accompanied
    moves = [
        e
        for e in _events(desk, result)
        if (e["event_type"], e["rule"]) == ("kill_switch_warning", "price_move")
    ]
    assert len(moves) == 1
    assert moves[0]["action"] == "warned"
    assert Decimal(moves[0]["details"]["observed"]) >= 5


@pytest.mark.parametrize(
    ("policy", "trigger"),
    [
        (KillSwitchPolicy(max_drawdown_pct=Decimal("0.01")), "drawdown"),
        (KillSwitchPolicy(max_daily_loss=Limit.absolute(Decimal(5))), "daily_loss"),
    ],
    ids=["drawdown", "daily_loss"],
)
def test_kill_switch_with_loss_breach_trips(
    env: Env, policy: KillSwitchPolicy, trigger: str
) -> None:
    desk = env.desk(kill_policy=policy)
    desk.create_account(ACCOUNT, CASH)
    assert desk.submit(ACCOUNT, ticket(_call(), quantity=20)).accepted
    env.tick(1)

    result = desk.submit(ACCOUNT, ticket(_call()))

    assert result.code == "KILL_SWITCH_ACTIVE", result.to_dict()
    rows = env.kill_rows()
    assert [r.trigger for r in rows] == [trigger]


def test_kill_switch_with_vix_above_35_trips_emergency(env: Env) -> None:
    desk = env.desk()
    desk.create_account(ACCOUNT, CASH)
    env.market.set(with_vix(base_market(), Decimal(41)))

    result = desk.submit(ACCOUNT, ticket(_call()))

    assert result.code == "KILL_SWITCH_ACTIVE"
    rows = env.kill_rows()
    assert [r.trigger for r in rows] == ["vix_emergency"]
    assert rows[0].observed_value == Decimal(41)


# --------------------------------------------------------------------------- fill model


def test_fill_with_limit_resting_until_marketable_fills_on_process_market(env: Env) -> None:
    desk = env.desk()
    desk.create_account(ACCOUNT, CASH)
    quote = pick(base_market(), OptionRight.CALL)
    assert quote.bid is not None
    assert quote.ask is not None
    limit = (quote.bid - Decimal("0.20")).quantize(Decimal("0.01"))
    symbol = occ(quote)
    order = desk.submit(ACCOUNT, ticket(symbol, order_type=OrderType.LIMIT, limit_price=limit))
    assert order.order.status == "submitted"
    desk.process_market()
    assert desk.get_order(order.order.id).status == "submitted"

    at = env.clock.advance(5)
    env.market.set(
        with_quote(retimed(base_market(), at), symbol, bid=limit - Decimal("0.05"), ask=limit)
    )
    desk.process_market()

    stored = desk.get_order(order.order.id)
    assert stored.status == "filled"
    assert [Decimal(f["fill_price"]) for f in stored.fills] == [limit]
    assert _path(stored.events) == ["proposed", "approved", "submitted", "filled"]
    assert desk.reconcile(ACCOUNT).ok


def test_fill_with_ioc_and_fok_on_thin_book_cancels_rest_or_all(env: Env) -> None:
    desk = env.desk(sizes=DisplayedSize(low=1, high=1))
    desk.create_account(ACCOUNT, CASH)
    symbol = _call()

    ioc = desk.submit(ACCOUNT, ticket(symbol, quantity=3, time_in_force=TimeInForce.IOC))
    fok = desk.submit(ACCOUNT, ticket(symbol, quantity=3, time_in_force=TimeInForce.FOK))

    assert ioc.order.status == "cancelled"
    assert ioc.order.filled_quantity == 1
    assert fok.order.status == "cancelled"
    assert fok.order.filled_quantity == 0
    assert fok.order.fills == ()
    assert desk.reconcile(ACCOUNT).ok


def test_fill_with_displayed_size_one_fills_partially_then_completes(env: Env) -> None:
    desk = env.desk(sizes=DisplayedSize(low=1, high=1))
    desk.create_account(ACCOUNT, CASH)
    symbol = _call()

    result = desk.submit(ACCOUNT, ticket(symbol, quantity=3, time_in_force=TimeInForce.GTC))
    statuses = [result.order.status]
    for _ in range(2):
        at = env.clock.advance(2)
        env.market.set(retimed(base_market(), at))
        desk.process_market()
        statuses.append(desk.get_order(result.order.id).status)

    assert statuses == ["partially_filled", "partially_filled", "filled"]
    stored = desk.get_order(result.order.id)
    assert len(stored.fills) == 3
    assert stored.filled_quantity == 3
    assert desk.positions(ACCOUNT)[0]["qty"] == "3"
    assert desk.reconcile(ACCOUNT).ok


def test_fill_with_day_limit_order_expires_at_close(env: Env) -> None:
    desk = env.desk()
    desk.create_account(ACCOUNT, CASH)
    order = desk.submit(
        ACCOUNT, ticket(_call(), order_type=OrderType.LIMIT, limit_price=Decimal("0.05"))
    )
    gtc = desk.submit(
        ACCOUNT,
        ticket(
            _call(),
            order_type=OrderType.LIMIT,
            limit_price=Decimal("0.06"),
            time_in_force=TimeInForce.GTC,
        ),
    )

    closed = desk.close_day(AS_OF.date())

    assert closed["expired_orders"] == 1
    stored = desk.get_order(order.order.id)
    assert stored.status == "expired"
    assert stored.events[-1]["reason"] == "DAY order expired at the close"
    assert desk.get_order(gtc.order.id).status == "submitted"
    assert desk.reconcile(ACCOUNT).ok


def test_fill_with_stop_order_rests_until_triggered(env: Env) -> None:
    desk = env.desk()
    desk.create_account(ACCOUNT, CASH)
    quote = pick(base_market(), OptionRight.CALL)
    assert quote.ask is not None
    symbol = occ(quote)
    stop = quote.ask + Decimal("1.00")
    order = desk.submit(
        ACCOUNT,
        ticket(symbol, order_type=OrderType.STOP, stop_price=stop, time_in_force=TimeInForce.GTC),
    )
    assert order.order.status == "submitted"

    at = env.clock.advance(5)
    env.market.set(
        with_quote(retimed(base_market(), at), symbol, bid=stop, ask=stop + Decimal("0.02"))
    )
    desk.process_market()

    stored = desk.get_order(order.order.id)
    assert stored.status == "filled"
    assert Decimal(stored.fills[0]["fill_price"]) >= stop
    assert desk.reconcile(ACCOUNT).ok


def test_order_events_with_rejection_and_fill_store_times_and_reasons(env: Env) -> None:
    desk = env.desk()
    desk.create_account(ACCOUNT, CASH)
    desk.set_policy(ACCOUNT, {"min_confidence": (Decimal("0.9"), _ABS)})

    rejected = desk.submit(ACCOUNT, ticket(_call(), confidence=Decimal("0.1")))
    filled = desk.submit(ACCOUNT, ticket(_call(), confidence=Decimal("0.95")))

    for result in (rejected, filled):
        for event in desk.get_order(result.order.id).events:
            assert event["reason"]
            assert event["at"] == env.clock.now.isoformat()
    assert _path(desk.get_order(filled.order.id).events) == [
        "proposed",
        "approved",
        "submitted",
        "filled",
    ]
    assert _path(desk.get_order(rejected.order.id).events) == ["proposed", "rejected"]
    assert env.count(m.OrderEvent) == 6


# --------------------------------------------------------------------------- expiry


def _close(snapshot: MarketSnapshot, env: Env, underlying_spot: Decimal) -> MarketSnapshot:
    at = env.clock.now
    factor = underlying_spot / spot(snapshot, snapshot.underlyings[0].symbol)
    return retimed(snapshot, at, factor=factor)


def test_expiry_with_itm_equity_call_exercises_into_shares(env: Env) -> None:
    desk = env.desk()
    desk.create_account(ACCOUNT, CASH)
    quote = pick(base_market(), OptionRight.CALL, moneyness=Decimal("0.99"))
    assert desk.submit(ACCOUNT, ticket(occ(quote))).accepted
    expiry = quote.contract.expiry
    settle = quote.contract.strike + Decimal(3)

    result = desk.close_day(expiry, close_snapshot=_close(base_market(), env, settle))

    [record] = result["settlements"]
    assert record["kind"] == "exercised"
    assert record["shares"] == 100
    positions = {p["symbol"]: p["qty"] for p in desk.positions(ACCOUNT)}
    assert positions == {"SPY": "100"}
    assert desk.reconcile(ACCOUNT).ok


def test_expiry_with_otm_equity_put_expires_worthless(env: Env) -> None:
    desk = env.desk()
    desk.create_account(ACCOUNT, CASH)
    quote = pick(base_market(), OptionRight.PUT, moneyness=Decimal("0.99"))
    assert desk.submit(ACCOUNT, ticket(occ(quote))).accepted

    result = desk.close_day(
        quote.contract.expiry,
        close_snapshot=_close(base_market(), env, quote.contract.strike + Decimal(5)),
    )

    [record] = result["settlements"]
    assert record["kind"] == "expired_worthless"
    assert Decimal(record["cash"]) == 0
    assert record["shares"] == 0
    assert desk.positions(ACCOUNT) == []
    assert desk.reconcile(ACCOUNT).ok


def test_expiry_with_itm_index_call_settles_in_cash(env: Env) -> None:
    index = as_index(base_market(), "SPX")
    env.market.set(index)
    desk = env.desk()
    desk.create_account(ACCOUNT, CASH)
    quote = pick(index, OptionRight.CALL, moneyness=Decimal("0.99"), underlying="SPX")
    assert desk.submit(ACCOUNT, ticket(occ(quote))).accepted
    cash_before = desk.get_account(ACCOUNT).cash
    settle = quote.contract.strike + Decimal(4)

    result = desk.close_day(quote.contract.expiry, close_snapshot=_close(index, env, settle))

    [record] = result["settlements"]
    assert record["kind"] == "cash_settled"
    assert record["shares"] == 0
    assert Decimal(record["cash"]) == Decimal(400)
    assert desk.get_account(ACCOUNT).cash == cash_before + Decimal(400)
    assert desk.positions(ACCOUNT) == []
    assert desk.reconcile(ACCOUNT).ok


# --------------------------------------------------------------------------- bench smoke


def test_bench_trading_with_tiny_run_reports_rates_and_baseline(sqlite_url: str) -> None:
    result = CliRunner().invoke(
        app, ["bench", "trading", "--orders", "5", "--repeats", "1", "--json"]
    )

    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    rows = {r["case"]: r for r in report["results"]}
    assert set(rows) >= {"engines", "sqlite"}
    for row in rows.values():
        assert row["orders"] == 5
        assert row["orders_per_s"] > 0
        assert row["reconciled"] is True
    assert report["gates"] >= 10
