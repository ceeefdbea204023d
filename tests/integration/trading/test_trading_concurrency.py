"""Idempotent submission under concurrency, on SQLite and PostgreSQL: threads of one process
and separate processes submit at once; exactly one order per key, a ledger that reconciles."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from _trading_worker import AS_OF, Clock, base_market, occ, pick, save_market, ticket
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from riskdesk.domain.instruments import OptionRight
from riskdesk.store import Database
from riskdesk.store import models as m
from riskdesk.trading.desk import PaperDesk, StaticMarket, SubmitResult

ACCOUNT = "paper-concurrent"
CASH = Decimal(100_000)
THREADS = 8
PROCESSES = 3
WORKER = Path(__file__).with_name("_trading_worker.py")


@pytest.fixture
def db(migrated_engine: Engine, db_url: str) -> Iterator[Database]:
    database = Database.from_url(db_url)
    try:
        yield database
    finally:
        database.engine.dispose()


def _desk(db: Database) -> PaperDesk:
    return PaperDesk(
        db, market=StaticMarket(base_market()), clock=Clock(AS_OF + timedelta(seconds=1))
    )


def _symbol() -> str:
    return occ(pick(base_market(), OptionRight.CALL))


def _orders(db: Database, key: str | None = None) -> int:
    stmt = select(func.count()).select_from(m.Order).where(m.Order.account_id.is_not(None))
    if key is not None:
        stmt = stmt.where(m.Order.idempotency_key == key)
    with db.engine.connect() as conn:
        return int(conn.execute(stmt).scalar_one())


def _threads(db: Database, keys: list[str]) -> list[SubmitResult]:
    symbol = _symbol()
    start = threading.Barrier(len(keys))

    def run(key: str) -> SubmitResult:
        desk = _desk(db)
        start.wait()
        return desk.submit(ACCOUNT, ticket(symbol), idempotency_key=key)

    with ThreadPoolExecutor(len(keys)) as pool:
        return list(pool.map(run, keys))


def test_submit_with_same_key_from_threads_creates_one_order(db: Database) -> None:
    desk = _desk(db)
    desk.create_account(ACCOUNT, CASH)

    results = _threads(db, ["same-key"] * THREADS)

    assert len({r.order.id for r in results}) == 1
    assert sorted(r.replayed for r in results) == [False] + [True] * (THREADS - 1)
    assert _orders(db, "same-key") == 1
    assert len(desk.engine_fills(ACCOUNT)) == 1
    assert desk.reconcile(ACCOUNT).ok


def test_submit_with_distinct_keys_from_threads_creates_each_and_reconciles(
    db: Database,
) -> None:
    desk = _desk(db)
    desk.create_account(ACCOUNT, CASH)

    results = _threads(db, [f"key-{i}" for i in range(THREADS)])

    assert len({r.order.id for r in results}) == THREADS
    assert not any(r.replayed for r in results)
    assert all(r.order.status == "filled" for r in results)
    assert _orders(db) == THREADS
    fills = desk.engine_fills(ACCOUNT)
    spent = sum((f.cash for f in fills), Decimal(0))
    assert len(fills) == THREADS
    assert desk.get_account(ACCOUNT).cash == CASH + spent
    assert desk.reconcile(ACCOUNT).ok


def _processes(db_url: str, tmp_path: Path, keys: list[str | None]) -> list[dict[str, object]]:
    go = tmp_path / "go"
    market = save_market(tmp_path / "market.pickle")
    symbol = _symbol()
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                str(WORKER),
                json.dumps(
                    {
                        "mode": "submit",
                        "url": db_url,
                        "market": market,
                        "account": ACCOUNT,
                        "symbol": symbol,
                        "key": key,
                        "go": str(go),
                    }
                ),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for key in keys
    ]
    go.touch()
    done = [(proc.returncode, *proc.communicate(timeout=120)) for proc in procs]
    done = [(proc.returncode, out, err) for proc, (_, out, err) in zip(procs, done, strict=True)]
    for code, _, stderr in done:
        assert code == 0, stderr
    return [json.loads(stdout.strip().splitlines()[-1]) for _, stdout, _ in done]


@pytest.mark.slow
def test_submit_with_same_key_from_processes_creates_one_order(
    db: Database, db_url: str, tmp_path: Path
) -> None:
    desk = _desk(db)
    desk.create_account(ACCOUNT, CASH)

    results = _processes(db_url, tmp_path, ["proc-key"] * PROCESSES)

    assert len({r["order_id"] for r in results}) == 1
    assert sorted(bool(r["replayed"]) for r in results) == [False] + [True] * (PROCESSES - 1)
    assert _orders(db, "proc-key") == 1
    assert len(desk.engine_fills(ACCOUNT)) == 1
    assert desk.reconcile(ACCOUNT).ok


@pytest.mark.slow
def test_submit_with_distinct_keys_from_processes_creates_each_and_reconciles(
    db: Database, db_url: str, tmp_path: Path
) -> None:
    desk = _desk(db)
    desk.create_account(ACCOUNT, CASH)

    results = _processes(db_url, tmp_path, [f"proc-{i}" for i in range(PROCESSES)])

    assert len({r["order_id"] for r in results}) == PROCESSES
    assert {r["status"] for r in results} == {"filled"}
    assert _orders(db) == PROCESSES
    fills = desk.engine_fills(ACCOUNT)
    assert len(fills) == PROCESSES
    assert desk.get_account(ACCOUNT).cash == CASH + sum((f.cash for f in fills), Decimal(0))
    assert desk.reconcile(ACCOUNT).ok
