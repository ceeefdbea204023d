"""Crash safety on SQLite and PostgreSQL: a process SIGKILLed between an order and its fill,
or in the middle of a loop of fills, leaves a ledger that reconciles; a new desk finishes the
work."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from _trading_worker import AS_OF, Clock, base_market, occ, pick, save_market
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from riskdesk.domain.instruments import OptionRight
from riskdesk.store import Database
from riskdesk.store import models as m
from riskdesk.trading.desk import PaperDesk, StaticMarket

ACCOUNT = "paper-crash"
CASH = Decimal(100_000)
WORKER = Path(__file__).with_name("_trading_worker.py")


@pytest.fixture
def db(migrated_engine: Engine, db_url: str) -> Iterator[Database]:
    database = Database.from_url(db_url)
    try:
        yield database
    finally:
        database.engine.dispose()


def _desk(db: Database) -> PaperDesk:
    clock = Clock(AS_OF + timedelta(seconds=1))
    return PaperDesk(db, market=StaticMarket(base_market()), clock=clock)


def _worker(args: dict[str, Any]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(WORKER), json.dumps(args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _orphan_fills(db: Database) -> int:
    stmt = (
        select(func.count())
        .select_from(m.Fill)
        .outerjoin(m.Order, m.Fill.order_id == m.Order.id)
        .where(m.Order.id.is_(None))
    )
    with db.engine.connect() as conn:
        return int(conn.execute(stmt).scalar_one())


def _assert_consistent(desk: PaperDesk, db: Database) -> None:
    recon = desk.reconcile(ACCOUNT)
    assert recon.ok, [c for c in recon.checks if not c["ok"]]
    assert _orphan_fills(db) == 0
    fills = desk.engine_fills(ACCOUNT)
    assert desk.get_account(ACCOUNT).cash == CASH + sum((f.cash for f in fills), Decimal(0))


def test_crash_with_kill_after_order_commit_leaves_submitted_order_filled_on_restart(
    db: Database, db_url: str, tmp_path: Path
) -> None:
    _desk(db).create_account(ACCOUNT, CASH)
    args = {
        "mode": "crash_after_commit",
        "url": db_url,
        "market": save_market(tmp_path / "market.pickle"),
        "account": ACCOUNT,
        "symbol": occ(pick(base_market(), OptionRight.CALL)),
        "key": "crash-1",
    }

    proc = _worker(args)
    _, stderr = proc.communicate(timeout=120)

    assert proc.returncode == -signal.SIGKILL, stderr
    desk = _desk(db)
    [order] = desk.list_orders(ACCOUNT).items
    assert order.status == "submitted"
    assert order.fills == ()
    assert desk.get_account(ACCOUNT).cash == CASH
    assert desk.positions(ACCOUNT) == []
    _assert_consistent(desk, db)

    tick = desk.process_market()

    assert tick.fills == 1
    assert desk.get_order(order.id).status == "filled"
    assert desk.get_account(ACCOUNT).cash < CASH
    _assert_consistent(desk, db)


def test_crash_with_kill_during_order_loop_leaves_ledger_that_reconciles(
    db: Database, db_url: str, tmp_path: Path
) -> None:
    _desk(db).create_account(ACCOUNT, CASH)
    delay = random.uniform(0.05, 0.4)
    proc = _worker(
        {
            "mode": "loop",
            "url": db_url,
            "market": save_market(tmp_path / "market.pickle"),
            "account": ACCOUNT,
            "symbol": occ(pick(base_market(), OptionRight.CALL)),
            "count": 10_000,
        }
    )
    assert proc.stdout is not None
    assert json.loads(proc.stdout.readline()) == {"ready": True}
    seen = json.loads(proc.stdout.readline())
    time.sleep(delay)

    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=60)

    assert proc.returncode == -signal.SIGKILL
    desk = _desk(db)
    orders = desk.list_orders(ACCOUNT, limit=500).items
    assert seen["order_id"] in {str(o.id) for o in orders}, f"delay {delay:.3f} s"
    assert all(o.status in ("filled", "submitted") for o in orders)
    assert sum(1 for o in orders if o.status == "submitted") <= 1
    _assert_consistent(desk, db)

    desk.process_market()

    assert {o.status for o in desk.list_orders(ACCOUNT, limit=500).items} == {"filled"}
    _assert_consistent(desk, db)
