"""The demo's portfolio-risk job on a fresh SQLite file: the sample book imports cleanly, every
position is priced, a second run stores nothing new and gives the same numbers."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

from riskdesk.config import Settings
from riskdesk.risk.demo import DEMO_BOOK_NAME, demo_book_csv, run_risk_demo
from riskdesk.risk.reports import RiskReports
from riskdesk.store import Database, upgrade_database

ON = date(2026, 11, 20)


def test_risk_demo_with_fresh_database_prices_every_position_and_reruns_idempotently(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'risk-demo.sqlite3'}"
    settings = Settings(database_url=url)
    upgrade_database(url)
    db = Database.from_settings(settings, database_url=url)
    try:
        steps: list[str] = []
        first = run_risk_demo(db, on=ON, seed=7, progress=steps.append)
        rows = demo_book_csv().decode().strip().splitlines()
        assert first.imported.imported == len(rows) - 1
        assert first.imported.rejected_rows == 0
        assert first.exposures.to_dict()["excluded"] == []
        assert first.var.to_dict()["excluded"] == []
        assert first.stress.to_dict()["excluded"] == []
        assert len(first.stress.to_dict()["scenarios"]) == 18
        assert steps[0] == "synthesizing the book's price history"
        regime = first.regime.to_dict()
        assert set(regime["correlations"]) == {"7d", "30d"}
        assert all(len(pairs) == 3 for pairs in regime["correlations"].values())
        squeeze = first.squeeze.to_dict()
        shorts = {p["symbol"] for p in squeeze["positions"]}
        assert {"NVDA", "IWM"} <= shorts
        assert squeeze["statuses"] == {"ok": len(squeeze["positions"])}
        # the what-if: NVDA short covered, then a whole-share SPY delta hedge applied
        whatif = first.whatif.to_dict()
        assert whatif["unavailable"] == {}
        assert whatif["changes"] == 2
        hedge = first.hedge.to_dict()
        assert hedge["etf"] == "SPY"
        net = {m["measure"]: m for m in whatif["measures"]}["exposures.delta_adjusted.net"]
        spy_close = Decimal(str(first.exposures.to_dict()["beta_weighted"]["benchmark_price"]))
        assert abs(Decimal(net["pro_forma"])) <= spy_close / 2

        second = run_risk_demo(db, on=ON, seed=7)
        assert second.imported.imported == 0
        assert len(second.imported.skipped) == len(rows) - 1
        assert second.var.to_dict() == first.var.to_dict()
        assert second.exposures.to_dict() == first.exposures.to_dict()
        assert len(RiskReports(db).book(DEMO_BOOK_NAME, ON).positions) == len(rows) - 1
    finally:
        db.dispose()
