"""``riskdesk bench portfolio``: a smoke run on a tiny book checks the figures, never timings."""

from __future__ import annotations

import json
import math
from decimal import Decimal
from typing import Any

import pytest
from typer.testing import CliRunner

from riskdesk.bench._portfolio import VALUATION_DATE, build_book
from riskdesk.cli.main import app
from riskdesk.risk.marks import MarkStatus, value_book
from riskdesk.risk.stress import load_scenario_file

POSITIONS = 200


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    result = CliRunner().invoke(
        app, ["bench", "portfolio", "--positions", str(POSITIONS), "--repeats", "1", "--json"]
    )
    assert result.exit_code == 0, result.output
    out: dict[str, Any] = json.loads(result.output)
    return out


def test_bench_portfolio_with_tiny_book_describes_the_book_it_built(
    report: dict[str, Any],
) -> None:
    book = report["book"]

    assert report["valuation_date"] == VALUATION_DATE.isoformat()
    assert book["positions"] == POSITIONS
    assert 0.3 * POSITIONS <= book["options"] <= 0.7 * POSITIONS
    assert book["american_options"] > 0
    assert book["european_options"] > 0
    assert book["american_options"] + book["european_options"] == book["options"]
    assert book["expired_options"] >= 1
    assert book["strategy_groups"] > 0


def test_bench_portfolio_with_tiny_book_reports_every_measure_and_honest_status(
    report: dict[str, Any],
) -> None:
    rows = report["results"]

    assert len(rows) == 7
    for row in rows[:-1]:
        assert math.isfinite(row["median_s"])
        assert row["median_s"] > 0
        assert row["baseline_median_s"] > 0
        if row["target_s"] is None:
            assert row["status"] == "no target"
        else:
            assert row["meets_target"] is (row["median_s"] <= row["target_s"])
            assert row["status"] == ("met" if row["meets_target"] else "not met")
    assert [row["target_s"] for row in rows] == [0.1, None, 0.1, 2.0, 2.0, 1.0, 30.0]
    batch = rows[-1]
    assert batch["status"] == "skipped"  # the tiny book is under 1,000 positions
    assert batch["median_s"] is None
    assert batch["meets_target"] is None


def test_bench_portfolio_with_tiny_book_gives_ordered_var_figures(
    report: dict[str, Any],
) -> None:
    var = report["figures"]["var"]
    one = {c: {k: Decimal(v) for k, v in fig.items()} for c, fig in var["1d"].items()}
    ten = {c: {k: Decimal(v) for k, v in fig.items()} for c, fig in var["10d"].items()}
    linear = Decimal(var["linear_1d_0.99_var"])

    assert 0 < one["0.95"]["var"] <= one["0.99"]["var"] <= one["0.99"]["es"]
    assert one["0.95"]["var"] <= one["0.95"]["es"]
    assert 0 < ten["0.95"]["var"] <= ten["0.99"]["var"] <= ten["0.99"]["es"]
    assert ten["0.99"]["var"] > one["0.99"]["var"]
    # Full revaluation and the delta-only figure of the same scenarios agree in size.
    assert Decimal("0.25") < one["0.99"]["var"] / linear < 4
    assert var["excluded"] == report["book"]["expired_options"]


def test_bench_portfolio_with_tiny_book_runs_every_packaged_stress_scenario(
    report: dict[str, Any],
) -> None:
    stress = report["figures"]["stress"]

    assert stress["scenarios"] == len(load_scenario_file().scenarios)
    assert Decimal(stress["worst"]["pnl"]) < 0
    assert stress["worst"]["severity"] in {"mild", "moderate", "severe", "extreme"}
    assert stress["excluded"] == report["book"]["expired_options"]
    assert Decimal(report["figures"]["gross"]) > abs(Decimal(report["figures"]["market_value"]))


def test_build_book_with_same_size_is_deterministic_and_expires_some_options() -> None:
    first = build_book(60)
    second = build_book(60)
    statuses = value_book(first.positions, first.marks).status

    assert [p.symbol for p in first.positions] == [p.symbol for p in second.positions]
    assert len(first.positions) == 60
    assert statuses.count(MarkStatus.EXPIRED) == first.expired >= 1
    assert statuses.count(MarkStatus.OK) == 60 - first.expired
    assert first.returns.shape == (500, len(first.names))


def test_build_book_with_too_few_positions_raises_naming_the_rule() -> None:
    with pytest.raises(ValueError, match="positions must be at least 20, got 5"):
        build_book(5)
