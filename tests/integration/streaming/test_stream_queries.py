"""Greeks queries and the trade log on SQLite and PostgreSQL: latest, history pages, counts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy.engine import Engine

from riskdesk.domain.caller import Caller
from riskdesk.store.database import Database
from riskdesk.store.db import make_session_factory
from riskdesk.store.models import GreekSnapshot
from riskdesk.store.timeseries import insert_rows
from riskdesk.streaming.queries import (
    GreekFilter,
    GreeksQueries,
    GreekView,
    TradeLog,
    TradeLogEntry,
    TradeLogFilter,
    TradeLogView,
)
from riskdesk.streaming.records import UnifiedPositionRecord

T0 = datetime(2025, 1, 31, 23, 59, 0, tzinfo=UTC)  # rows straddle January/February
CALL = "SPY:20250321:580:C"
PUT = "SPY:20250321:560:P"


def record(
    seconds: float,
    *,
    broker: str = "tastytrade",
    account: str = "5WT00001",
    contract: str = CALL,
    delta: float = 0.5,
    received_after: float = 0.01,
) -> UnifiedPositionRecord:
    event = T0 + timedelta(seconds=seconds)
    return UnifiedPositionRecord.for_contract(
        broker=broker,
        account_id=account,
        contract_key=contract,
        event_time=event,
        received_at=event + timedelta(seconds=received_after),
        quantity=Decimal("2"),
        delta=delta,
        gamma=0.01,
        theta=-0.2,
        vega=0.3,
        implied_volatility=0.18,
        underlying_price=582.5,
        source_payload={"t": seconds},
    )


def store(db: Database, records: Sequence[UnifiedPositionRecord]) -> None:
    """Insert as the pipeline does, one batch per call (order of the list = insert order)."""
    with db.sessions() as session, session.begin():
        insert_rows(session, GreekSnapshot, [r.to_row() for r in records])


@pytest.fixture
def database(migrated_engine: Engine) -> Database:
    return Database(engine=migrated_engine, sessions=make_session_factory(migrated_engine))


def test_latest_with_older_event_inserted_after_newer_returns_newest(database: Database) -> None:
    store(database, [record(120, delta=0.62), record(0, contract=PUT, delta=-0.4)])
    store(database, [record(60, delta=0.55)])  # late: older than the stored 120 s event

    latest = GreeksQueries(database).latest(GreekFilter())

    by_contract = {view.contract_key: view for view in latest.items}
    assert set(by_contract) == {CALL, PUT}
    assert by_contract[CALL].delta == pytest.approx(0.62)
    assert by_contract[CALL].event_time == T0 + timedelta(seconds=120)
    assert by_contract[PUT].delta == pytest.approx(-0.4)
    assert not latest.truncated


def test_latest_with_same_event_time_breaks_tie_by_received_at(database: Database) -> None:
    store(database, [record(10, delta=0.51, received_after=0.5)])
    store(database, [record(10, delta=0.52, received_after=0.1)])

    (view,) = GreeksQueries(database).latest(GreekFilter()).items

    assert view.delta == pytest.approx(0.51)


def test_latest_with_filters_and_limit_returns_one_row_per_account(database: Database) -> None:
    store(
        database,
        [
            record(0, account="A1"),
            record(5, account="A2", delta=0.7),
            record(3, broker="ibkr", account="U1"),
        ],
    )
    queries = GreeksQueries(database)

    tasty = queries.latest(GreekFilter(broker="tastytrade"))
    first = queries.latest(GreekFilter(), limit=1)
    as_of = queries.latest(GreekFilter(end=T0 + timedelta(seconds=4)))

    assert [v.account_id for v in tasty.items] == ["A1", "A2"]
    assert len(first.items) == 1
    assert first.truncated
    assert {v.account_id for v in as_of.items} == {"A1", "U1"}


def test_history_with_pages_covers_every_row_once_newest_first(database: Database) -> None:
    rows = [record(i * 7.5, delta=0.5 + i / 1000) for i in range(23)]
    store(database, rows[::2])
    store(database, rows[1::2])  # interleaved, out of order
    store(database, [record(1, contract=PUT)])
    queries = GreeksQueries(database)
    where = GreekFilter(broker="tastytrade", account_id="5WT00001", contract_key=CALL)

    seen: list[GreekView] = []
    page = queries.history(where, limit=5)
    pages = 1
    seen.extend(page.items)
    while page.next_key is not None:
        page = queries.history(where, after=page.next_key, limit=5)
        pages += 1
        seen.extend(page.items)

    times = [view.event_time for view in seen]
    assert pages == 5
    assert times == sorted((r.event_time for r in rows), reverse=True)
    assert len({view.id for view in seen}) == 23
    assert queries.count(where) == 23
    assert queries.count(GreekFilter()) == 24


def test_history_with_time_range_is_half_open_and_counts_match(database: Database) -> None:
    store(database, [record(i * 30) for i in range(10)])
    where = GreekFilter(start=T0 + timedelta(seconds=60), end=T0 + timedelta(seconds=150))
    queries = GreeksQueries(database)

    page = queries.history(where, limit=50)

    assert [v.event_time - T0 for v in page.items] == [timedelta(seconds=s) for s in (120, 90, 60)]
    assert page.next_key is None
    assert queries.count(where) == 3


def test_filter_with_naive_time_or_empty_range_raises_value_error() -> None:
    with pytest.raises(ValueError, match="no timezone"):
        GreekFilter(start=datetime(2025, 1, 1))
    with pytest.raises(ValueError, match="must be before"):
        GreekFilter(start=T0, end=T0)


def test_trade_log_with_entries_lists_newest_first_with_filters(database: Database) -> None:
    log = TradeLog(database)
    for i in range(7):
        log.record(
            TradeLogEntry(
                broker="ibkr" if i % 2 else "tastytrade",
                account_id="U1",
                symbol="SPY",
                action="BUY_TO_OPEN",
                quantity=Decimal(i + 1),
                contract_key=CALL,
                price=Decimal("1.25"),
                strategy_tag="condor" if i < 3 else None,
                metadata={"i": i},
            )
        )

    seen: list[TradeLogView] = []
    page = log.list(TradeLogFilter(), limit=3)
    seen.extend(page.items)
    while page.next_key is not None:
        page = log.list(TradeLogFilter(), after=page.next_key, limit=3)
        seen.extend(page.items)
    tagged = log.list(TradeLogFilter(strategy_tag="condor", broker="tastytrade"))

    assert [view.metadata for view in seen] == [{"i": i} for i in reversed(range(7))]
    assert seen[0].to_dict()["quantity"] == "7"
    assert seen[0].to_dict()["price"] == "1.25"
    assert [view.metadata for view in tagged.items] == [{"i": 2}, {"i": 0}]
    assert log.count(TradeLogFilter(broker="ibkr")) == 3


def test_trade_log_record_with_viewer_caller_raises_permission_error(database: Database) -> None:
    viewer = Caller(actor="v", role="viewer")
    entry = TradeLogEntry(
        broker="ibkr", account_id="U1", symbol="SPY", action="SELL", quantity=Decimal(-1)
    )

    with pytest.raises(PermissionError, match="trader role"):
        TradeLog(database, viewer).record(entry)

    assert TradeLog(database).count(TradeLogFilter()) == 0


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("quantity", Decimal(0), "non-zero"),
        ("broker", "etrade", "broker must be one of"),
        ("contract_key", "SPY 580 C", "contract_key"),
        ("price", Decimal("1.123456789"), "decimal places"),
        ("symbol", " SPY", "spaces"),
    ],
)
def test_trade_log_entry_with_bad_field_raises_naming_it(
    field: str, value: object, message: str
) -> None:
    fields: dict[str, object] = {
        "broker": "ibkr",
        "account_id": "U1",
        "symbol": "SPY",
        "action": "BUY",
        "quantity": Decimal(1),
    }
    fields[field] = value

    with pytest.raises(ValueError, match=message):
        TradeLogEntry(**fields)  # type: ignore[arg-type]
