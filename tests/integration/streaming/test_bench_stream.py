"""``riskdesk bench stream`` on a tiny rate: the report's shape and the 100%-persisted invariant.

Timing targets are the bench's business, never asserted here (the machine may be busy).
"""

from __future__ import annotations

from typing import Any

import pytest

from riskdesk.bench._stream import BenchStreamError, measure

RATE = 200.0
DURATION = 2.0
BULK_ROWS = 400

_REPORTS: dict[str, dict[str, Any]] = {}
"""One bench run per backend, shared by this module's tests (each run takes seconds)."""


@pytest.fixture
def report(backend: str, request: pytest.FixtureRequest) -> dict[str, Any]:
    if backend not in _REPORTS:
        _REPORTS[backend] = _run(backend, str(request.getfixturevalue("db_url")))
    return _REPORTS[backend]


def _run(backend: str, db_url: str) -> dict[str, Any]:
    if backend == "sqlite":
        return measure(
            rate=RATE,
            duration=DURATION,
            database_url=db_url,
            bulk_rows=BULK_ROWS,
            cases=["sqlite", "bulk-sqlite"],
            profile_seconds=0,
            broker_process=False,
        )
    return measure(
        rate=RATE,
        duration=DURATION,
        postgres_url=db_url,
        bulk_rows=BULK_ROWS,
        cases=["postgres", "bulk-postgres"],
        profile_seconds=0,
        broker_process=False,
    )


def test_bench_stream_with_tiny_rate_persists_every_received_tick(
    report: dict[str, Any], backend: str
) -> None:
    (run,) = report["stream"]

    assert run["case"] == backend
    assert run["received"] > 0
    assert run["sent"] >= run["received"]
    assert run["events_sent"] > run["sent"]  # the fake also sends quotes
    assert run["journaled"] == run["received"]
    assert run["persisted"] == run["received"]
    assert run["persisted_ratio"] == 1.0
    assert run["verdicts"]["persisted_ratio"] == "ok"
    assert run["rejected"] == 0
    assert run["deduped"] == 0
    assert run["drained"] is True


def test_bench_stream_with_tiny_rate_reports_every_measure(report: dict[str, Any]) -> None:
    (run,) = report["stream"]

    assert set(report["targets"]) >= {"p95_tick_to_durable_ms", "bulk_postgres_rows_per_s"}
    durable = run["tick_to_durable_ms"]
    assert 0 <= durable["p50"] <= durable["worst_p95"] <= durable["worst_p99"] <= durable["max"]
    assert durable["samples_total"] == run["journaled"]
    assert run["receipt_to_commit_ms"]["worst_p99"] is not None
    assert run["first_row_s"] is not None
    assert run["first_row_s"] > 0
    assert run["journal_depth_peak"] >= 0
    assert set(run["verdicts"]) == {
        "persisted_ratio",
        "p95_tick_to_durable_ms",
        "p99_tick_to_durable_ms",
        "first_row_s",
        "rate",
    }
    assert set(run["verdicts"].values()) <= {"ok", "MISS"}
    assert report["profile"] is None


def test_bench_stream_with_tiny_bulk_stores_every_row_once(
    report: dict[str, Any], backend: str
) -> None:
    (bulk,) = report["bulk"]

    assert bulk["case"] == f"bulk-{backend}"
    assert bulk["persisted"] == BULK_ROWS
    assert bulk["deduped"] == 0
    assert bulk["rows_per_s"] > 0
    if backend == "postgres":
        assert bulk["baseline"]["rows_per_s"] > 0
        assert set(bulk["verdicts"]) == {"persisted_ratio", "rows_per_s"}
    else:
        assert bulk["baseline"] is None


def test_bench_stream_with_postgres_case_and_no_url_refuses() -> None:
    with pytest.raises(BenchStreamError, match="need --postgres-url"):
        measure(rate=RATE, duration=DURATION, cases=["postgres"])
