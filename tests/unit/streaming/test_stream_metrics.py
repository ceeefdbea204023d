"""Stream counters, gauges and latency percentiles (riskdesk.streaming.metrics)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from riskdesk.streaming.metrics import LatencyWindow, StreamMetrics

T0 = datetime(2025, 1, 15, 14, 30, tzinfo=UTC)


def numpy_summary(samples: np.ndarray) -> dict[str, float]:
    p50, p95, p99 = np.percentile(samples, [50, 95, 99], method="higher")
    return {"p50": float(p50), "p95": float(p95), "p99": float(p99), "max": float(samples.max())}


def test_latency_window_with_known_samples_matches_numpy_higher() -> None:
    window = LatencyWindow(capacity=1000)
    samples = np.arange(1, 101, dtype=np.float64) / 1000.0  # 1..100 ms
    rng = np.random.default_rng(5)
    window.add_many(rng.permutation(samples))
    summary = window.summary()
    assert summary["count"] == 100
    assert summary["p50"] == 0.051  # sorted index ceil(0.50 * 99) = 50
    assert summary["p95"] == 0.096  # ceil(0.95 * 99) = 95
    assert summary["p99"] == 0.100  # ceil(0.99 * 99) = 99
    nearest_rank = np.percentile(samples, [50, 95, 99], method="inverted_cdf")
    assert np.all(np.array([summary["p50"], summary["p95"], summary["p99"]]) >= nearest_rank)
    assert summary["max"] == pytest.approx(0.100, abs=0)
    assert {k: summary[k] for k in ("p50", "p95", "p99", "max")} == numpy_summary(samples)


def test_latency_window_with_percentile_between_samples_reports_observed_value() -> None:
    window = LatencyWindow(capacity=10)
    for value in (0.010, 0.020, 0.030, 0.400):
        window.add(value)
    summary = window.summary()
    assert summary["p50"] == 0.030  # linear interpolation would give 0.025
    assert summary["p95"] == 0.400
    assert summary["p99"] == 0.400


def test_latency_window_with_overflow_keeps_only_last_capacity_samples() -> None:
    rng = np.random.default_rng(11)
    samples = rng.exponential(0.02, size=2_537)
    one_by_one = LatencyWindow(capacity=500)
    for value in samples:
        one_by_one.add(float(value))
    chunked = LatencyWindow(capacity=500)
    for chunk in np.array_split(samples, 17):
        chunked.add_many(chunk)
    bulk = LatencyWindow(capacity=500)
    bulk.add_many(samples)
    expected = numpy_summary(samples[-500:])
    for window in (one_by_one, chunked, bulk):
        assert len(window) == 500
        assert window.total == 2_537
        np.testing.assert_array_equal(window.samples(), samples[-500:])
        summary = window.summary()
        assert {k: summary[k] for k in expected} == expected


def test_latency_window_with_no_samples_reports_none() -> None:
    assert LatencyWindow(capacity=3).summary() == {
        "count": 0,
        "p50": None,
        "p95": None,
        "p99": None,
        "max": None,
    }


@pytest.mark.parametrize("bad", [-0.001, float("nan"), float("inf")])
def test_latency_window_with_bad_sample_raises_and_keeps_window(bad: float) -> None:
    window = LatencyWindow(capacity=3)
    window.add(0.1)
    with pytest.raises(ValueError, match="finite"):
        window.add(bad)
    with pytest.raises(ValueError, match="finite"):
        window.add_many([0.2, bad])
    assert len(window) == 1
    assert window.total == 1


def test_latency_window_with_zero_capacity_raises() -> None:
    with pytest.raises(ValueError, match="capacity"):
        LatencyWindow(capacity=0)


def test_stream_metrics_with_pipeline_events_reports_counters_and_gauges() -> None:
    metrics = StreamMetrics("ibkr", account_id="U1", latency_window=100)
    metrics.record_received(10)
    metrics.record_journaled(9)
    metrics.record_persisted(7, deduped=2)
    metrics.record_rejected("no_greeks")
    metrics.record_rejected("bad_symbol", 2)
    metrics.record_rejected("no_greeks")
    metrics.set_buffer_depth(40)
    metrics.set_buffer_depth(3)
    metrics.set_journal_depth(5)
    metrics.observe_durable(T0, T0 + timedelta(milliseconds=12))
    metrics.observe_latency(0.004)
    data = metrics.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data == {
        "broker": "ibkr",
        "account_id": "U1",
        "received": 10,
        "journaled": 9,
        "persisted": 7,
        "deduped": 2,
        "rejected": {"bad_symbol": 2, "no_greeks": 2},
        "rejected_total": 4,
        "buffer_depth": 3,
        "buffer_depth_max": 40,
        "journal_depth": 5,
        "journal_depth_max": 5,
        "tick_to_durable_ms": {
            "count": 2,
            "total": 2,
            "p50": pytest.approx(12.0),
            "p95": pytest.approx(12.0),
            "p99": pytest.approx(12.0),
            "max": pytest.approx(12.0),
        },
    }


def test_stream_metrics_with_durable_before_receipt_raises() -> None:
    metrics = StreamMetrics("ibkr")
    with pytest.raises(ValueError, match="before received_at"):
        metrics.observe_durable(T0, T0 - timedelta(microseconds=1))


@pytest.mark.parametrize("bad", [-1, True, 1.5])
def test_stream_metrics_with_bad_count_raises(bad: object) -> None:
    metrics = StreamMetrics("ibkr")
    with pytest.raises(ValueError, match="whole number"):
        metrics.record_received(bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="non-empty reason"):
        metrics.record_rejected("")
