"""Portfolio use cases on both backends: create, list, show, and the CSV book upload (stored
rows, tags, expired options, idempotent re-upload, one transaction, scoping, the audit row)."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from riskdesk.domain.caller import Caller
from riskdesk.risk.book_csv import BookFileError
from riskdesk.risk.portfolios import NotFoundError, Portfolios
from riskdesk.store import Database, make_session_factory
from riskdesk.store import models as m
from riskdesk.store import portfolio as repo
from riskdesk.store.errors import ValueTooLongError
from riskdesk.store.models.market import MarketDataCache
from riskdesk.store.models.portfolio import Portfolio, Position, PositionTag, Tag

TODAY = date(2026, 3, 2)

BOOK = (
    "Ticker,QUANTITY, entry_price ,Entry_Date,tags,market_value\n"
    'AAPL,100,150.50,2026-01-15,"momentum,tech",15050\n'
    'MSFT,-50,380,2026-01-20,"hedge,tech",\n'
    "AAPL  270119C00150000,10,5.5,2026-01-10,options,\n"
    "AAPL260116C00140000,2,3,2025-12-01,,\n"
    "MSFT260220P00400000,-1,4,2025-12-01,,\n"
    "JPM,0,140,2026-01-02,,\n"
    "XOM,5,100,2030-01-01,,\n"
    "AAPL,7,151,2026-01-15,,\n"
)


@pytest.fixture
def db(migrated_engine: Engine) -> Database:
    return Database(engine=migrated_engine, sessions=make_session_factory(migrated_engine))


@pytest.fixture
def book(db: Database) -> Portfolios:
    return Portfolios(db)


def _count(db: Database, model: type[m.Base]) -> int:
    with db.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def _add_close(db: Database, ticker: str, day: date, close: str) -> None:
    with db.sessions() as session, session.begin():
        session.add(
            MarketDataCache(ticker=ticker, date=day, close=Decimal(close), data_source="test")
        )


def _user(db: Database, name: str) -> uuid.UUID:
    with db.sessions() as session, session.begin():
        user = m.User(username=name, email=f"{name}@example.com", role="trader")
        session.add(user)
        session.flush()
        return user.id


def test_create_with_local_caller_creates_local_user_once(db: Database, book: Portfolios) -> None:
    first = book.create("growth", description="long tech")
    second = book.create("hedges")
    assert first.user_id == second.user_id
    with db.sessions() as session:
        local = session.scalars(select(m.User).where(m.User.username == "local")).one()
    assert (local.id, local.email, local.role, local.password_hash) == (
        first.user_id,
        "local@localhost",
        "admin",
        None,
    )
    assert first.base_currency == "USD"
    assert first.description == "long tech"


def test_create_with_taken_name_raises_value_error(book: Portfolios) -> None:
    book.create("growth")
    with pytest.raises(ValueError, match="already exists"):
        book.create("growth")


def test_create_with_bad_currency_raises_value_error(book: Portfolios) -> None:
    with pytest.raises(ValueError, match="3-letter ISO code"):
        book.create("fx", base_currency="US")


def test_list_with_limit_pages_newest_first(book: Portfolios) -> None:
    names = [book.create(f"p{i}").name for i in range(3)]
    first = book.list(limit=2)
    assert len(first) == 2
    assert first.next_key is not None
    rest = book.list(after=first.next_key, limit=2)
    assert rest.next_key is None
    assert sorted(p.name for p in (*first, *rest)) == sorted(names)


def test_import_csv_with_mixed_book_stores_good_rows_and_reports_bad_ones(
    db: Database, book: Portfolios
) -> None:
    pid = book.create("main").portfolio_id
    _add_close(db, "AAPL", date(2026, 1, 16), "155.25")
    report = book.import_csv(pid, BOOK.encode(), today=TODAY)
    assert report.imported == 5
    assert report.data_rows == 8
    assert [(e.line, e.column) for e in report.rejected] == [
        (7, "quantity"),
        (8, "entry_date"),
        (9, "ticker"),
    ]
    assert "must not be 0" in report.rejected[0].reason
    assert "in the future" in report.rejected[1].reason
    assert report.rejected[2].value == "AAPL"
    assert "duplicate of line 2" in report.rejected[2].reason
    assert report.skipped == ()
    detail = book.get(pid, today=TODAY)
    by_symbol = {p.symbol: p for p in detail.positions}
    assert set(by_symbol) == {
        "AAPL",
        "MSFT",
        "AAPL270119C00150000",
        "AAPL260116C00140000",
        "MSFT260220P00400000",
    }
    aapl = by_symbol["AAPL"]
    assert (aapl.position_type, aapl.quantity, aapl.entry_price) == (
        "LONG",
        Decimal(100),
        Decimal("150.5"),
    )
    assert aapl.tags == ("momentum", "tech")
    assert by_symbol["MSFT"].position_type == "SHORT"
    call = by_symbol["AAPL270119C00150000"]
    assert (call.position_type, call.strike_price, call.expiration_date) == (
        "LC",
        Decimal(150),
        date(2027, 1, 19),
    )
    assert call.underlying_ticker == "AAPL"
    assert (call.is_active, call.expired, call.exit_price) == (True, False, None)
    assert call.tags == ("options",)


def test_import_csv_with_expired_option_and_stored_close_settles_at_intrinsic(
    db: Database, book: Portfolios
) -> None:
    pid = book.create("main").portfolio_id
    _add_close(db, "AAPL", date(2026, 1, 16), "155.25")
    report = book.import_csv(pid, BOOK.encode(), today=TODAY)
    notes = {n.ticker: n for n in report.settlement}
    settled = notes["AAPL260116C00140000"]
    assert not settled.pending
    assert settled.exit_price == Decimal("15.25")
    detail = {p.symbol: p for p in book.get(pid).positions}
    expired = detail["AAPL260116C00140000"]
    assert (expired.is_active, expired.expired) == (False, True)
    assert expired.exit_date == date(2026, 1, 16)
    assert expired.exit_price == Decimal("15.25")
    assert expired.position_type == "LC"


def test_import_csv_with_expired_option_without_close_marks_settlement_pending(
    book: Portfolios,
) -> None:
    pid = book.create("main").portfolio_id
    report = book.import_csv(pid, BOOK.encode(), today=TODAY)
    pending = {n.ticker: n for n in report.settlement}["MSFT260220P00400000"]
    assert pending.pending
    assert pending.message == "settlement pending: no close for MSFT on 2026-02-20"
    stored = {p.symbol: p for p in book.get(pid).positions}["MSFT260220P00400000"]
    assert (stored.is_active, stored.expired, stored.exit_price) == (False, True, None)
    assert stored.exit_date == date(2026, 2, 20)
    assert stored.position_type == "SP"


def test_import_csv_with_same_file_twice_creates_nothing_new(
    db: Database, book: Portfolios
) -> None:
    pid = book.create("main").portfolio_id
    first = book.import_csv(pid, BOOK.encode(), today=TODAY)
    counts = (_count(db, Position), _count(db, Tag), _count(db, PositionTag))
    again = book.import_csv(pid, BOOK.encode(), today=TODAY)
    assert again.imported == 0
    assert [s.line for s in again.skipped] == [2, 3, 4, 5, 6]
    assert {s.reason for s in again.skipped} == {"already stored"}
    assert [e.line for e in again.rejected] == [e.line for e in first.rejected]
    assert again.file_sha256 == first.file_sha256
    assert (_count(db, Position), _count(db, Tag), _count(db, PositionTag)) == counts
    with db.sessions() as session:
        audits = list(
            session.scalars(select(m.AuditLog).where(m.AuditLog.event_type == "portfolio.imported"))
        )
    assert len(audits) == 2
    payloads = [a.event_payload_json or {} for a in audits]
    assert {p["file_sha256"] for p in payloads} == {first.file_sha256}
    assert sorted((p["imported"], p["skipped"], p["rejected"]) for p in payloads) == [
        (0, 5, 3),
        (5, 0, 3),
    ]
    assert sorted(p["settlement_pending"] for p in payloads) == [0, 2]


def test_import_csv_with_row_duplicating_stored_position_rejects_it(
    book: Portfolios,
) -> None:
    pid = book.create("main").portfolio_id
    book.import_csv(
        pid,
        b"ticker,quantity,entry_price,entry_date\nAAPL,1,10,2026-01-02\nMSFT,1,10,2026-01-02\n",
        today=TODAY,
    )
    report = book.import_csv(
        pid,
        b"ticker,quantity,entry_price,entry_date\nAAPL,2,10,2026-01-02\nMSFT,3,10,2026-01-05\n"
        b"XOM,1,1,2026-01-02\n",
        today=TODAY,
    )
    assert report.imported == 1
    assert [(e.line, e.column) for e in report.rejected] == [(2, "ticker"), (3, "ticker")]
    assert (
        "already holds AAPL entered 2026-01-02 (quantity 1, price 10)" in report.rejected[0].reason
    )
    assert "already holds an open MSFT position (entered 2026-01-02)" in report.rejected[1].reason


def test_import_csv_with_tags_reuses_the_owners_tags(db: Database, book: Portfolios) -> None:
    a = book.create("a").portfolio_id
    b = book.create("b").portfolio_id
    book.import_csv(
        a, b'ticker,quantity,entry_price,entry_date,tags\nAAPL,1,1,2026-01-02,"x,y"\n', today=TODAY
    )
    book.import_csv(
        b, b'ticker,quantity,entry_price,entry_date,tags\nMSFT,1,1,2026-01-02,"y,z"\n', today=TODAY
    )
    with db.sessions() as session:
        tags = sorted(session.execute(select(Tag.name, Tag.tag_type)).all())
    assert tags == [("x", "regular"), ("y", "regular"), ("z", "regular")]


def test_import_csv_with_database_failure_mid_way_stores_nothing(
    db: Database, book: Portfolios, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid = book.create("main").portfolio_id
    original = repo.insert_positions

    def failing(
        session: Session, *, portfolio_id: uuid.UUID, positions: Sequence[repo.NewPosition]
    ) -> list[uuid.UUID]:
        broken = list(positions)
        # the third row carries a symbol longer than positions.symbol allows (64)
        broken[2] = dataclasses.replace(broken[2], symbol="X" * 65)
        return original(session, portfolio_id=portfolio_id, positions=broken)

    monkeypatch.setattr(repo, "insert_positions", failing)
    before = (
        _count(db, Position),
        _count(db, Tag),
        _count(db, PositionTag),
        _count(db, m.AuditLog),
    )
    with pytest.raises(ValueTooLongError, match=r"positions\.symbol"):
        book.import_csv(pid, BOOK.encode(), today=TODAY)
    after = (_count(db, Position), _count(db, Tag), _count(db, PositionTag), _count(db, m.AuditLog))
    assert after == before
    monkeypatch.setattr(repo, "insert_positions", original)
    assert book.import_csv(pid, BOOK.encode(), today=TODAY).imported == 5


def test_import_csv_with_refused_file_stores_nothing(db: Database, book: Portfolios) -> None:
    pid = book.create("main").portfolio_id
    audits = _count(db, m.AuditLog)
    with pytest.raises(BookFileError, match="required column"):
        book.import_csv(pid, b"ticker,quantity\nAAPL,1\n", today=TODAY)
    assert _count(db, Position) == 0
    assert _count(db, m.AuditLog) == audits


def test_import_csv_with_broker_mapping_imports_rows(book: Portfolios) -> None:
    pid = book.create("broker").portfolio_id
    data = b"Symbol,Qty,Avg Price,Open Date\nAAPL,10,150.25,01/15/2026\nSPY260320P00500000,-2,3.1,02/01/2026\n"
    report = book.import_csv(
        pid,
        data,
        mapping={
            "ticker": "Symbol",
            "quantity": "Qty",
            "entry_price": "Avg Price",
            "entry_date": "Open Date",
        },
        date_format="%m/%d/%Y",
        today=TODAY,
    )
    assert (report.imported, report.rejected) == (2, ())
    types = {p.symbol: p.position_type for p in book.get("broker").positions}
    assert types == {"AAPL": "LONG", "SPY260320P00500000": "SP"}


def test_portfolios_with_scoped_callers_see_only_their_own(db: Database) -> None:
    alice = Caller(actor="alice", user_id=_user(db, "alice"), role="trader")
    bob = Caller(actor="bob", user_id=_user(db, "bob"), role="trader")
    mine = Portfolios(db, alice).create("book")
    Portfolios(db, bob).create("book")
    assert [p.portfolio_id for p in Portfolios(db, alice).list()] == [mine.portfolio_id]
    assert Portfolios(db, alice).get("book").portfolio.portfolio_id == mine.portfolio_id
    with pytest.raises(NotFoundError):
        Portfolios(db, bob).get(str(mine.portfolio_id))
    with pytest.raises(NotFoundError):
        Portfolios(db, bob).import_csv(mine.portfolio_id, BOOK.encode(), today=TODAY)
    assert mine.user_id == alice.user_id
    assert len(Portfolios(db).list()) == 2  # the local caller is not scoped


def test_import_csv_with_scoped_caller_creates_tags_for_the_owner(db: Database) -> None:
    alice_id = _user(db, "alice")
    alice = Portfolios(db, Caller(actor="alice", user_id=alice_id, role="trader"))
    pid = alice.create("book").portfolio_id
    alice.import_csv(
        pid, b"ticker,quantity,entry_price,entry_date,tags\nAAPL,1,1,2026-01-02,t\n", today=TODAY
    )
    with db.sessions() as session:
        owners = set(session.scalars(select(Tag.user_id)))
        portfolio_owner = session.scalar(select(Portfolio.user_id).where(Portfolio.id == pid))
    assert owners == {alice_id} == {portfolio_owner}
