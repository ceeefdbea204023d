"""``riskdesk risk exposures|greeks`` through typer's runner on a migrated SQLite file with a
book and its price history imported through the CLI."""

from __future__ import annotations

import json
import math
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from riskdesk.cli.main import app as main_app
from riskdesk.cli.risk import app
from riskdesk.risk.history import last_sessions

ON = "2026-11-20"
CALL = "AAPL261218C00230000"


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"

    def run(*args: str) -> None:
        result = CliRunner().invoke(main_app, [*args, "--database-url", url])
        assert result.exit_code == 0, result.output

    run("db", "upgrade")
    run("portfolio", "create", "main")
    book = tmp_path / "book.csv"
    book.write_text(
        "ticker,quantity,entry_price,entry_date,tags\n"
        'AAPL,100,200,2026-09-01,"core,tech"\n'
        f"{CALL},-1,5,2026-09-01,tech\n"
        "SPY,-10,600,2026-09-01,hedge\n"
        "MSFT,10,400,2026-09-01,\n",
        encoding="utf-8",
    )
    run("portfolio", "import", str(book), "--portfolio", "main", "--today", ON)
    days = last_sessions(date.fromisoformat(ON), 40)
    rng = np.random.default_rng(7)
    lines = ["ticker,date,close"]
    for ticker, start in (("AAPL", 230.0), ("SPY", 600.0)):
        path = start * np.exp(np.cumsum(rng.normal(0, 0.01, len(days))))
        lines += [f"{ticker},{d.isoformat()},{c:.4f}" for d, c in zip(days, path, strict=True)]
    prices = tmp_path / "prices.csv"
    prices.write_text("\n".join(lines) + "\n", encoding="utf-8")
    run("history", "import", str(prices))
    return url


def run_json(db: str, *args: str) -> Any:
    result = CliRunner().invoke(app, [*args, "--database-url", db, "--json"])
    assert result.exit_code == 0, f"{args}: {result.output}"
    return json.loads(result.stdout)


def test_risk_exposures_with_json_prints_exposures_and_excluded(db: str) -> None:
    out = run_json(db, "exposures", "main", "--date", ON, "--beta", "AAPL=1.1")

    assert out["date"] == ON
    assert out["positions"] == 3
    assert [(e["symbol"], e["status"]) for e in out["excluded"]] == [("MSFT", "no_spot")]
    weighted = out["beta_weighted"]
    assert weighted["benchmark"] == "SPY"
    assert weighted["missing_betas"] == []
    assert weighted["betas"] == {"AAPL": "1.1000", "SPY": "1.0000"}
    spy = Decimal(weighted["benchmark_price"])
    shares = Decimal(weighted["benchmark_shares"])
    assert float(shares) == pytest.approx(float(Decimal(weighted["dollars"]) / spy), abs=1e-3)
    gross = Decimal(out["gross"])
    assert gross == Decimal(out["long"]) - Decimal(out["short"])
    assert Decimal(out["net"]) == Decimal(out["long"]) + Decimal(out["short"])


def test_risk_greeks_with_json_by_strategy_groups_covered_call(db: str) -> None:
    out = run_json(db, "greeks", "main", "--date", ON, "--by", "strategy")

    buckets = out["by"]["strategy"]
    assert [b.get("kind") for b in buckets] == ["COVERED_CALL", None]
    assert buckets[1]["key"] == "(ungrouped)"
    total = sum(Decimal(b["delta"]) for b in buckets)
    assert math.isclose(float(total), float(Decimal(out["totals"]["delta"])), abs_tol=1e-3)
    assert out["totals"]["count"] == 3
    assert list(out["by"]) == ["strategy"]


def test_risk_greeks_without_json_prints_table(db: str) -> None:
    result = CliRunner().invoke(
        app, ["greeks", "main", "--date", ON, "--by", "dte", "--database-url", db]
    )

    assert result.exit_code == 0, result.output
    assert "8-30" in result.output
    assert "MSFT" in result.output
    assert "no_spot" in result.output


def test_risk_exposures_with_weekend_date_fails_with_message(db: str) -> None:
    result = CliRunner().invoke(
        app, ["exposures", "main", "--date", "2026-11-21", "--database-url", db]
    )

    assert result.exit_code == 1
    assert "not an NYSE session" in result.output


def test_risk_exposures_with_bad_beta_fails_with_message(db: str) -> None:
    result = CliRunner().invoke(
        app, ["exposures", "main", "--date", ON, "--beta", "AAPL", "--database-url", db]
    )

    assert result.exit_code == 1
    assert "SYMBOL=BETA" in result.output


def test_risk_exposures_with_unknown_portfolio_fails_with_message(db: str) -> None:
    result = CliRunner().invoke(app, ["exposures", "nope", "--date", ON, "--database-url", db])

    assert result.exit_code == 1
    assert "no portfolio named" in result.output
