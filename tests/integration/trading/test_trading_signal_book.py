"""SignalBook: store, read back, list, move and trade signals through the paper desk."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine, select

from riskdesk.adapters.simulated import generate_market
from riskdesk.domain.market import MarketSnapshot
from riskdesk.store import Database, make_session_factory
from riskdesk.store import models as m
from riskdesk.trading.desk import DeskError, PaperDesk, StaticMarket
from riskdesk.trading.model import OrderType
from riskdesk.trading.signal_book import SignalBook, SignalNotFoundError, SignalStateError
from riskdesk.trading.signals import ByOffset, SignalDraft, build_signal

AS_OF = datetime(2025, 3, 4, 15, 0, tzinfo=UTC)
EXPIRY = date(2025, 3, 14)


@pytest.fixture(scope="module")
def snapshot() -> MarketSnapshot:
    return generate_market(seed=11, as_of=AS_OF, symbols=["SPY", "QQQ"], max_expiry_days=20)


@pytest.fixture
def db(migrated_engine: Engine) -> Database:
    return Database(engine=migrated_engine, sessions=make_session_factory(migrated_engine))


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def _condor(snapshot: MarketSnapshot, symbol: str = "SPY", minutes: int = 60) -> SignalDraft:
    expiry = (
        EXPIRY
        if symbol == "SPY"
        else min(q.contract.expiry for q in snapshot.options if q.contract.underlying == symbol)
    )
    return build_signal(
        "iron_condor",
        snapshot,
        symbol=symbol,
        expiry=expiry,
        selection=ByOffset(offset=Decimal(8), width=Decimal(5)),
        confidence=Decimal("0.7"),
        generated_at=AS_OF,
        expires_at=AS_OF + timedelta(minutes=minutes),
    )


def test_signal_book_with_template_signal_reads_metrics_back_exactly(
    db: Database, snapshot: MarketSnapshot
) -> None:
    draft = _condor(snapshot)
    book = SignalBook(db, clock=Clock(AS_OF))

    stored = book.store(draft)
    again = book.get(stored.id)

    assert draft.metrics is not None
    assert again.metrics == draft.metrics
    assert again.status == "active"
    assert again.direction == "neutral"
    assert again.strategy_type == "iron_condor"
    assert again.confidence == Decimal("0.7")
    assert again.underlying_price == draft.underlying_price
    assert [leg["occ_symbol"] for leg in again.legs] == [leg.occ_symbol for leg in draft.legs]
    assert [Decimal(str(leg["estimated_price"])) for leg in again.legs] == [
        leg.estimated_price for leg in draft.legs
    ]
    with db.unit_of_work() as uow:
        row = uow.session.get(m.Signal, stored.id)
        assert row is not None
        assert row.max_reward == draft.metrics.max_profit
        assert row.max_risk == draft.metrics.max_loss
        assert row.probability_profit == draft.metrics.probability_of_profit
        assert row.break_even_price == draft.metrics.breakevens[0]
        assert row.ticker_id is not None
        assert row.analysis_data is not None
        assert row.analysis_data["breakevens"] == [str(b) for b in draft.metrics.breakevens]
        assert len(row.legs) == 4


def test_signal_book_with_status_and_symbol_filters_lists_matching_pages(
    db: Database, snapshot: MarketSnapshot
) -> None:
    book = SignalBook(db, clock=Clock(AS_OF))
    spy = [book.store(_condor(snapshot)) for _ in range(3)]
    qqq = book.store(_condor(snapshot, "QQQ"))
    book.cancel(spy[0].id)

    active_spy = book.list(status="active", symbol="SPY")
    cancelled = book.list(status="cancelled")
    first = book.list(limit=2)
    second = book.list(limit=2, after=first.next_key)

    assert {s.id for s in active_spy.items} == {spy[1].id, spy[2].id}
    assert [s.id for s in cancelled.items] == [spy[0].id]
    assert [s.id for s in book.list(symbol="QQQ").items] == [qqq.id]
    assert second.next_key is None
    assert {s.id for s in (*first.items, *second.items)} == {s.id for s in (*spy, qqq)}
    with pytest.raises(ValueError, match="status must be one of"):
        book.list(status="open")


def test_signal_book_with_cancel_and_expiry_moves_only_active_signals(
    db: Database, snapshot: MarketSnapshot
) -> None:
    book = SignalBook(db, clock=Clock(AS_OF))
    short = book.store(_condor(snapshot, minutes=5))
    long = book.store(_condor(snapshot, minutes=120))
    gone = book.store(_condor(snapshot, minutes=5))
    book.cancel(gone.id)

    expired = book.expire_due(AS_OF + timedelta(minutes=30))

    assert expired == [short.id]
    assert book.get(short.id).status == "expired"
    assert book.get(long.id).status == "active"
    assert book.get(gone.id).status == "cancelled"
    with pytest.raises(SignalStateError, match="cannot change from cancelled"):
        book.cancel(gone.id)
    with pytest.raises(SignalStateError, match="cannot change from expired"):
        book.mark_executed(short.id)
    with pytest.raises(SignalNotFoundError):
        book.cancel(uuid.uuid4())


def test_signal_book_with_ticket_from_signal_fills_through_the_desk(
    db: Database, snapshot: MarketSnapshot
) -> None:
    clock = Clock(AS_OF + timedelta(seconds=1))
    book = SignalBook(db, clock=clock)
    desk = PaperDesk(db, market=StaticMarket(snapshot), clock=clock)
    desk.create_account("signals", Decimal(100000))
    draft = _condor(snapshot)
    assert draft.metrics is not None
    signal = book.store(draft)

    limit_ticket = book.ticket(signal.id)
    market_ticket = book.ticket(signal.id, quantity=2, order_type=OrderType.MARKET)
    result = desk.submit("signals", market_ticket)
    executed = book.get(signal.id)  # the desk marks it executed with the accepted order

    assert limit_ticket.order_type is OrderType.LIMIT
    assert limit_ticket.net_credit is True  # the seller's iron condor takes a credit
    assert limit_ticket.limit_price == -draft.metrics.net_premium
    assert [leg.ratio for leg in limit_ticket.legs] == [1, 1, 1, 1]
    assert limit_ticket.signal_id == signal.id
    assert limit_ticket.confidence == Decimal("0.7")
    assert result.accepted, result.message
    assert result.order.status == "filled"
    assert result.order.filled_quantity == 2
    assert result.order.signal_id == signal.id
    assert {leg["symbol"] for leg in result.order.legs} == {leg.occ_symbol for leg in draft.legs}
    assert executed.status == "executed"
    with pytest.raises(SignalStateError, match="only an active signal"):
        book.ticket(signal.id)
    # a ticket built without the check (a retry) is refused by the desk itself
    with pytest.raises(DeskError, match="only an active signal"):
        desk.submit("signals", book.ticket(signal.id, check_state=False))


def test_signal_book_with_expired_signal_refuses_a_ticket(
    db: Database, snapshot: MarketSnapshot
) -> None:
    clock = Clock(AS_OF)
    book = SignalBook(db, clock=clock)
    signal = book.store(_condor(snapshot, minutes=5))
    clock.at = AS_OF + timedelta(minutes=6)

    with pytest.raises(SignalStateError, match="expired at"):
        book.ticket(signal.id)
    with db.unit_of_work() as uow:
        rows = list(uow.session.scalars(select(m.Order)))
    assert rows == []


def test_process_market_with_signal_past_expiry_marks_it_expired(
    db: Database, snapshot: MarketSnapshot
) -> None:
    clock = Clock(AS_OF)
    book = SignalBook(db, clock=clock)
    due = book.store(_condor(snapshot, minutes=5))
    later = book.store(_condor(snapshot, minutes=60))
    desk = PaperDesk(db, market=StaticMarket(snapshot), clock=clock)
    clock.at = AS_OF + timedelta(minutes=6)

    tick = desk.process_market()

    assert tick.expired_signals == 1
    assert book.get(due.id).status == "expired"
    assert book.get(later.id).status == "active"
