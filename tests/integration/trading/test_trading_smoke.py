"""SmokeRuns: a passing venue check on a scratch account, and failures recorded with the step."""

from __future__ import annotations

import socket
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine, select

from riskdesk.adapters.simulated import generate_market
from riskdesk.domain.market import MarketSnapshot
from riskdesk.store import Database, make_session_factory
from riskdesk.store import models as m
from riskdesk.trading.desk import PaperDesk, StaticMarket
from riskdesk.trading.smoke import SMOKE_ACCOUNT, SmokeRuns

AS_OF = datetime(2025, 3, 4, 15, 0, tzinfo=UTC)


@pytest.fixture
def db(migrated_engine: Engine) -> Database:
    return Database(engine=migrated_engine, sessions=make_session_factory(migrated_engine))


@pytest.fixture(scope="module")
def snapshot() -> MarketSnapshot:
    return generate_market(seed=11, as_of=AS_OF, symbols=["SPY"], max_expiry_days=20)


class BrokenMarket:
    def snapshot(self, underlyings: Sequence[str], at: datetime) -> MarketSnapshot:
        raise ConnectionError("venue down")


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_smoke_run_with_fresh_market_passes_on_a_scratch_account(
    db: Database, snapshot: MarketSnapshot
) -> None:
    desk = PaperDesk(db, market=StaticMarket(snapshot), clock=lambda: AS_OF + timedelta(seconds=2))
    desk.create_account("mine", Decimal(5000))
    runs = SmokeRuns(desk)

    first = runs.run()
    second = runs.run()

    assert first.status == "passed", (first.wallet_check, first.tx_simulation)
    assert first.failed_step is None
    assert first.latency_ms is not None
    assert first.latency_ms >= 0
    assert "created" in (first.wallet_check or "")
    assert "exists" in (second.wallet_check or "")
    assert "rested unfilled and was cancelled" in (first.tx_simulation or "")
    with db.unit_of_work() as uow:
        scratch = uow.session.scalars(
            select(m.TradingAccount).where(m.TradingAccount.account_number == SMOKE_ACCOUNT)
        ).one()
        mine = uow.session.scalars(
            select(m.TradingAccount).where(m.TradingAccount.account_number == "mine")
        ).one()
        orders = list(uow.session.scalars(select(m.Order)))
        user = uow.session.get(m.User, scratch.user_id)
    assert scratch.user_id != mine.user_id
    assert user is not None
    assert user.is_active is False
    assert {o.account_id for o in orders} == {scratch.id}
    assert {o.status for o in orders} == {"cancelled"}
    assert scratch.total_cash == scratch.starting_cash
    assert [r.id for r in runs.list().items] == [second.id, first.id]


def test_smoke_run_with_a_market_that_raises_is_recorded_failed_at_market(
    db: Database,
) -> None:
    desk = PaperDesk(db, market=BrokenMarket(), clock=lambda: AS_OF)

    run = SmokeRuns(desk).run()

    assert run.status == "failed"
    assert run.failed_step == "market"
    assert run.latency_ms is None
    assert "venue down" in (run.wallet_check or "")
    assert (run.tx_simulation or "").startswith("not run")
    [stored] = SmokeRuns(desk).list().items
    assert stored == run


def test_smoke_run_with_stale_market_or_closed_venue_port_fails_at_market(
    db: Database, snapshot: MarketSnapshot
) -> None:
    stale = PaperDesk(db, market=StaticMarket(snapshot), clock=lambda: AS_OF + timedelta(hours=1))
    fresh = PaperDesk(db, market=StaticMarket(snapshot), clock=lambda: AS_OF)

    old = SmokeRuns(stale).run()
    closed = SmokeRuns(fresh).run(venue_url=f"http://127.0.0.1:{_closed_port()}/v1/health")

    assert (old.status, old.failed_step) == ("failed", "market")
    assert "3600 s old" in (old.wallet_check or "")
    assert (closed.status, closed.failed_step) == ("failed", "market")
    assert "did not answer" in (closed.wallet_check or "")
    with db.unit_of_work() as uow:
        assert list(uow.session.scalars(select(m.Order))) == []


def test_smoke_run_with_kill_switch_on_fails_at_the_order_step(
    db: Database, snapshot: MarketSnapshot
) -> None:
    desk = PaperDesk(db, market=StaticMarket(snapshot), clock=lambda: AS_OF)
    desk.set_kill_switch(True, actor="ops", reason="drill")

    run = SmokeRuns(desk).run()

    assert (run.status, run.failed_step) == ("failed", "order")
    assert "KILL_SWITCH_ACTIVE" in (run.tx_simulation or "")
    assert "reconciles" in (run.wallet_check or "")
