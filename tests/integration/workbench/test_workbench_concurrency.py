"""Several processes at once on one database (SQLite file and PostgreSQL): nothing lost,
nothing stored twice, nobody fails.

Each worker is a separate Python process that opens the database itself, prepares its work,
waits at a barrier (a file appearing) and then runs one workbench use case, so the use cases
really overlap.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from riskdesk.adapters.simulated import generate_market
from riskdesk.domain.configs import ModelConfig, ScenarioGrid
from riskdesk.store import Database, make_session_factory
from riskdesk.store import models as m
from riskdesk.workbench import Workbench
from riskdesk.workbench.strategies import ChainPicker, iron_condor

pytestmark = pytest.mark.slow

AS_OF = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
MARKET = {"seed": 21, "as_of": AS_OF.isoformat(), "symbols": ["SPY"], "max_expiry_days": 45}

_PRELUDE = """
import json, sys, time
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from riskdesk.store import Database
from riskdesk.workbench import Workbench
args = json.loads(sys.argv[1])
bench = Workbench(Database.from_url(args["url"]))
def wait():
    go = Path(args["go"])
    deadline = time.monotonic() + 120
    while not go.exists():
        if time.monotonic() > deadline:
            raise SystemExit("barrier never opened")
        time.sleep(0.005)
"""

_WORKERS = {
    "add_leg": """
from riskdesk.domain.instruments import Stock
wait()
ref, leg_id = bench.edit_draft(
    args["draft"],
    lambda d: d.add_leg(Stock("SPY"), quantity=Decimal(args["qty"]), entry_price=Decimal("600")),
    event="trade_draft.leg_added",
)
print(json.dumps({"leg_id": leg_id, "rev": ref.rev}))
""",
    "evaluate": """
import hashlib
from riskdesk.domain.configs import ModelConfig, ScenarioGrid
wait()
out = bench.evaluate(args["trade"], args["snapshot"], ModelConfig(), ScenarioGrid())
print(json.dumps({"result_id": str(out.result_id), "sha": hashlib.sha256(out.output_bytes).hexdigest()}))
""",
    "snapshot": """
from riskdesk.adapters.simulated import generate_market
market = args["market"]
snap = generate_market(
    seed=market["seed"], as_of=datetime.fromisoformat(market["as_of"]),
    symbols=market["symbols"], max_expiry_days=market["max_expiry_days"],
)
wait()
ref = bench.save_snapshot(snap)
print(json.dumps({"snapshot_id": str(ref.snapshot_id), "created": ref.created}))
""",
}


def _run_workers(
    kind: str, jobs: list[dict[str, object]], tmp_path: Path
) -> list[dict[str, object]]:
    go = tmp_path / f"go-{kind}"
    code = textwrap.dedent(_PRELUDE) + textwrap.dedent(_WORKERS[kind])
    env = dict(os.environ)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, json.dumps(job | {"go": str(go)})],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for job in jobs
    ]
    time.sleep(1.0)  # let every worker import and prepare
    go.touch()
    outputs = [proc.communicate(timeout=300) for proc in procs]  # every pipe read and closed
    results = []
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, f"worker failed:\n{err[-3000:]}"
        assert "Traceback" not in err, err[-3000:]
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


@pytest.fixture
def bench(migrated_engine: Engine) -> Workbench:
    return Workbench(
        Database(engine=migrated_engine, sessions=make_session_factory(migrated_engine))
    )


def _count(engine: Engine, model: type[m.Base]) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(model)) or 0)


def test_concurrent_add_leg_on_one_draft_keeps_every_leg_once(
    bench: Workbench, migrated_engine: Engine, tmp_path: Path
) -> None:
    draft = bench.new_draft("shared")
    n = 6

    results = _run_workers(
        "add_leg",
        [
            {"url": _url(migrated_engine), "draft": str(draft.draft_id), "qty": k + 1}
            for k in range(n)
        ],
        tmp_path,
    )

    stored = bench.load_draft(str(draft.draft_id))
    assert stored.rev == 1 + n
    assert sorted(r["rev"] for r in results) == list(range(2, 2 + n))  # each save one rev
    assert {i.leg_id for i in stored.draft.legs} == {r["leg_id"] for r in results}
    assert sorted(i.leg.quantity for i in stored.draft.legs) == [Decimal(k + 1) for k in range(n)]
    with migrated_engine.connect() as conn:
        audited = [
            row.new_values
            for row in conn.execute(
                select(m.AuditLog.new_values).where(
                    m.AuditLog.event_type == "trade_draft.leg_added"
                )
            )
        ]
    # the audit trail agrees with what is stored: the last audited state is the stored one
    final = max(audited, key=lambda values: values["rev"])
    assert final["rev"] == stored.rev
    assert {leg["leg_id"] for leg in final["legs"]} == {i.leg_id for i in stored.draft.legs}
    assert _count(migrated_engine, m.TradeDraftLeg) == n


def test_concurrent_evaluate_of_the_same_inputs_stores_one_row_and_returns_it_to_all(
    bench: Workbench, migrated_engine: Engine, tmp_path: Path
) -> None:
    market = generate_market(
        seed=MARKET["seed"], as_of=AS_OF, symbols=MARKET["symbols"], max_expiry_days=45
    )
    snap = bench.save_snapshot(market)
    stored = bench.save_draft(iron_condor(ChainPicker(market, "SPY"), days=35))
    version = bench.commit_draft(str(stored.draft_id))

    results = _run_workers(
        "evaluate",
        [
            {
                "url": _url(migrated_engine),
                "trade": version.trade_hash,
                "snapshot": snap.snapshot_hash,
            }
            for _ in range(4)
        ],
        tmp_path,
    )

    assert _count(migrated_engine, m.AnalyticsResult) == 1
    assert _count(migrated_engine, m.ModelConfig) == 1
    assert _count(migrated_engine, m.ScenarioGrid) == 1
    assert len({r["result_id"] for r in results}) == 1
    assert len({r["sha"] for r in results}) == 1
    mine = bench.evaluate(version.trade_hash, snap.snapshot_hash, ModelConfig(), ScenarioGrid())
    assert mine.cache_hit
    assert str(mine.result_id) == results[0]["result_id"]


def test_concurrent_snapshot_create_of_the_same_market_stores_it_once(
    bench: Workbench, migrated_engine: Engine, tmp_path: Path
) -> None:
    results = _run_workers(
        "snapshot", [{"url": _url(migrated_engine), "market": MARKET} for _ in range(4)], tmp_path
    )

    assert _count(migrated_engine, m.MarketSnapshot) == 1
    assert len({r["snapshot_id"] for r in results}) == 1
    assert sum(bool(r["created"]) for r in results) == 1
    loaded = bench.load_snapshot("latest").snapshot
    with migrated_engine.connect() as conn:
        quotes = conn.scalar(select(func.count()).select_from(m.SnapshotOptionQuote))
        contracts = conn.scalar(select(func.count()).select_from(m.OptionContract))
    assert quotes == len(loaded.options) == contracts


def test_long_evaluation_holds_no_write_lock_so_other_commands_write_meanwhile(
    bench: Workbench, migrated_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    from riskdesk.store.db import SQLITE_BUSY_TIMEOUT_MS
    from riskdesk.workbench import usecases

    market = generate_market(
        seed=MARKET["seed"], as_of=AS_OF, symbols=MARKET["symbols"], max_expiry_days=45
    )
    snap = bench.save_snapshot(market)
    version = bench.commit_draft(
        str(bench.save_draft(iron_condor(ChainPicker(market, "SPY"), days=35)).draft_id)
    )
    computing = threading.Event()
    real_evaluate = usecases.evaluate

    def slow_evaluate(*args: object, **kwargs: object) -> object:
        computing.set()
        time.sleep(SQLITE_BUSY_TIMEOUT_MS / 1000 + 1.5)  # longer than a writer would wait
        return real_evaluate(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(usecases, "evaluate", slow_evaluate)
    outcome: list[object] = []
    worker = threading.Thread(
        target=lambda: outcome.append(
            bench.evaluate(version.trade_hash, snap.snapshot_hash, ModelConfig(), ScenarioGrid())
        )
    )
    worker.start()
    assert computing.wait(60)

    other = bench.new_draft("written while the evaluation computes")  # must not wait it out
    worker.join(120)

    assert worker.is_alive() is False
    assert len(outcome) == 1
    assert not outcome[0].cache_hit  # type: ignore[attr-defined]
    assert bench.load_draft(str(other.draft_id)).draft.name.startswith("written")


def test_save_snapshot_racing_an_uncommitted_identical_insert_returns_the_winners_row(
    bench: Workbench, migrated_engine: Engine
) -> None:
    import threading

    from riskdesk.store import workbench as repo

    market = generate_market(
        seed=MARKET["seed"], as_of=AS_OF, symbols=MARKET["symbols"], max_expiry_days=20
    )
    repo.prepare_partitions(migrated_engine, snapshot=market)
    first = bench.db.unit_of_work()
    first.__enter__()
    winner, created = repo.save_snapshot(first.session, snapshot=market)  # not committed yet
    assert created
    outcome: list[object] = []
    second = threading.Thread(target=lambda: outcome.append(bench.save_snapshot(market)))
    second.start()
    time.sleep(1.0)  # the second writer now waits on the unique key (or SQLite's write lock)
    first.__exit__(None, None, None)  # commit the first insert
    second.join(60)

    assert second.is_alive() is False
    assert len(outcome) == 1
    assert outcome[0].created is False  # type: ignore[attr-defined]
    assert outcome[0].snapshot_id == winner.snapshot_id  # type: ignore[attr-defined]
    assert _count(migrated_engine, m.MarketSnapshot) == 1
