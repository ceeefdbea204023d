"""Smoke test of ``riskdesk bench pricing`` (tiny n: checks wiring and output, not speed)."""

from __future__ import annotations

import json

import pytest

from riskdesk.bench._pricing import main


@pytest.mark.benchmark
@pytest.mark.slow
def test_bench_main_with_tiny_n_prints_every_case_as_json(
    capsys: pytest.CaptureFixture[str],
) -> None:
    main(n=2000, repeats=1, as_json=True)
    report = json.loads(capsys.readouterr().out)
    cases = [row["case"] for row in report["results"]]
    assert len(cases) == 12
    assert sum(case.startswith("vector ") for case in cases) == 3
    floor = [row for row in report["results"] if row["case"].startswith("memory floor")]
    assert len(floor) == 1
    assert floor[0]["riskdesk"] > 0
    assert floor[0]["baseline"] is None
    rest = [row for row in report["results"] if not row["case"].startswith("memory floor")]
    assert all(row["riskdesk"] > 0 and row["baseline"] > 0 for row in rest)
    assert all(row["ratio"] == pytest.approx(row["baseline"] / row["riskdesk"]) for row in rest)
    greeks = next(row for row in report["results"] if row["case"] == "bsm price+all 13 greeks")
    # issue 14: >= 7x the baseline and within 4x of the memory floor of the same run
    assert greeks["min_ratio"] == 7.0
    assert greeks["max_floor"] == 4.0
    assert greeks["floor"] == floor[0]["riskdesk"]
    assert greeks["floor_multiple"] == pytest.approx(greeks["riskdesk"] / floor[0]["riskdesk"])
    assert greeks["passed"] == (greeks["ratio"] >= 7.0 and greeks["floor_multiple"] <= 4.0)
    assert report["numba_threads"] >= 1
