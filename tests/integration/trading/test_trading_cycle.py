"""The trade cycle: idempotent on its key, refused by the kill switch (use case and route)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from riskdesk.adapters.simulated import generate_market
from riskdesk.domain.caller import Caller
from riskdesk.service.deps import current_caller
from riskdesk.service.problems import install_problem_handlers
from riskdesk.service.routes import cycle as cycle_route
from riskdesk.store import Database
from riskdesk.trading.cycle import CycleError, SimpleRule, TradeCycles
from riskdesk.trading.desk import IdempotencyConflictError, PaperDesk, StaticMarket

AT = datetime(2025, 3, 4, 15, 0, tzinfo=UTC)


@dataclass
class Desk:
    db: Database
    desk: PaperDesk
    cycles: TradeCycles
    market: StaticMarket


@pytest.fixture
def desk(migrated_engine: Engine, db_url: str) -> Iterator[Desk]:
    db = Database.from_url(db_url)
    market = StaticMarket(generate_market(seed=7, as_of=AT, symbols=["SPY"], max_expiry_days=3))
    paper = PaperDesk(db, market=market, clock=lambda: AT + timedelta(seconds=1))
    paper.create_account("cycler", Decimal(100000))
    try:
        yield Desk(db, paper, TradeCycles(paper), market)
    finally:
        db.dispose()


def test_cycle_with_repeated_key_returns_stored_result_one_order(desk: Desk) -> None:
    first = desk.cycles.run("cycler", idempotency_key="k1", trigger_source="t", symbol="SPY")
    again = desk.cycles.run("cycler", idempotency_key="k1", trigger_source="t", symbol="SPY")

    assert first.accepted
    assert first.code is None
    assert not first.replayed
    assert len(first.order["legs"]) == 4
    assert first.signal["strategy_type"] == "iron_condor"
    assert again.replayed
    assert again.cycle_id == first.cycle_id
    assert again.order == first.order
    assert len(desk.desk.list_orders("cycler").items) == 1


def test_cycle_with_reused_key_other_request_conflicts(desk: Desk) -> None:
    desk.cycles.run("cycler", idempotency_key="k2", trigger_source="t", symbol="SPY")

    with pytest.raises(IdempotencyConflictError, match="another trade cycle"):
        desk.cycles.run("cycler", idempotency_key="k2", trigger_source="other", symbol="SPY")
    with pytest.raises(IdempotencyConflictError):
        desk.cycles.run(
            "cycler",
            idempotency_key="k2",
            trigger_source="t",
            symbol="SPY",
            rule=SimpleRule(quantity=2),
        )
    assert len(desk.desk.list_orders("cycler").items) == 1


def test_cycle_with_kill_switch_on_is_refused_and_stored(desk: Desk) -> None:
    desk.desk.set_kill_switch(True, actor="test", reason="drill")

    result = desk.cycles.run("cycler", idempotency_key="k3", trigger_source="t", symbol="SPY")

    assert not result.accepted
    assert result.code == "KILL_SWITCH_ACTIVE"
    assert result.order["status"] == "rejected"
    assert desk.cycles.get("cycler", "k3") is not None


def test_cycle_with_crash_before_its_row_adopts_the_order(desk: Desk) -> None:
    first = desk.cycles.run("cycler", idempotency_key="k4", trigger_source="t", symbol="SPY")
    with desk.desk._write() as uow:  # the process died before the trade_cycles row
        from riskdesk.store import models as m

        uow.session.query(m.TradeCycle).delete()
    desk.market.set(generate_market(seed=8, as_of=AT, symbols=["SPY"], max_expiry_days=3))

    again = desk.cycles.run("cycler", idempotency_key="k4", trigger_source="t", symbol="SPY")

    assert again.order["order_id"] == first.order["order_id"]
    assert len(desk.desk.list_orders("cycler").items) == 1


def test_cycle_with_no_listed_expiry_raises(desk: Desk) -> None:
    with pytest.raises(CycleError, match="no SPY expiry"):
        desk.cycles.run(
            "cycler",
            idempotency_key="k5",
            trigger_source="t",
            symbol="SPY",
            rule=SimpleRule(days_to_expiry=30),
        )


def _client(desk: Desk) -> TestClient:
    app = FastAPI()
    install_problem_handlers(app)
    app.include_router(cycle_route.router)
    app.state.riskdesk = SimpleNamespace(
        db=desk.db, extras={"paper_market": desk.market, "paper_clock": desk.desk.clock}
    )
    app.dependency_overrides[current_caller] = lambda: Caller(actor="local", role="admin")
    return TestClient(app)


def test_cycle_route_with_repeat_conflict_and_kill_switch_answers(desk: Desk) -> None:
    body = {"account": "cycler", "idempotency_key": "r1", "trigger_source": "api", "symbol": "SPY"}
    with _client(desk) as client:
        first = client.post("/v1/trade/cycle", json=body)
        again = client.post("/v1/trade/cycle", json=body)
        other = client.post("/v1/trade/cycle", json={**body, "trigger_source": "cron"})
        desk.desk.set_kill_switch(True, actor="test", reason="drill")
        locked = client.post("/v1/trade/cycle", json={**body, "idempotency_key": "r2"})

    assert first.status_code == 202, first.text
    assert first.json()["accepted"] is True
    assert first.json()["order"]["status"] == "submitted"
    assert again.status_code == 202
    assert again.json()["cycle_id"] == first.json()["cycle_id"]
    assert again.json()["replayed"] is True
    assert other.status_code == 409
    assert other.json()["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert locked.status_code == 423
    assert locked.json()["code"] == "KILL_SWITCH_ACTIVE"
