"""Seed 001's regime engine: VIX bands, rolling correlations, emergency thresholds, VIX synth."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from riskdesk.risk.history import REGIME_ETFS, VIX_SYMBOL, synthesize_history
from riskdesk.risk.regime import (
    SIZING_FACTORS,
    THRESHOLDS,
    VixRegime,
    classify_vix,
    emergency_breaches,
    log_returns,
    window_correlations,
)


@pytest.mark.parametrize(
    ("level", "regime", "factor"),
    [
        (9.0, VixRegime.LOW, 1.0),
        (14.99, VixRegime.LOW, 1.0),
        (15.0, VixRegime.NORMAL, 1.0),
        (24.99, VixRegime.NORMAL, 1.0),
        (25.0, VixRegime.HIGH, 0.8),
        (34.99, VixRegime.HIGH, 0.8),
        (35.0, VixRegime.EXTREME, 0.0),
        (80.0, VixRegime.EXTREME, 0.0),
    ],
)
def test_classify_vix_with_levels_at_and_around_each_boundary_gives_the_band(
    level: float, regime: VixRegime, factor: float
) -> None:
    assert classify_vix(level) == (regime, factor)
    assert SIZING_FACTORS[regime] == factor


@pytest.mark.parametrize("level", [0.0, -1.0, float("nan"), float("inf")])
def test_classify_vix_with_a_non_positive_or_non_finite_level_raises(level: float) -> None:
    with pytest.raises(ValueError, match="VIX level"):
        classify_vix(level)


def test_window_correlations_with_random_returns_match_pandas_rolling_corr() -> None:
    rng = np.random.default_rng(3)
    common = rng.normal(0, 0.01, size=60)
    returns = np.column_stack([common + rng.normal(0, s, size=60) for s in (0.002, 0.006, 0.01)])
    closes = 100 * np.exp(np.vstack([np.zeros((1, 3)), np.cumsum(returns, axis=0)]))
    logs = log_returns(closes)
    frame = pd.DataFrame(logs, columns=list(REGIME_ETFS))
    for window in (7, 30):
        got = window_correlations(logs, REGIME_ETFS, window)
        for a, b in (("SPY", "QQQ"), ("SPY", "IWM"), ("QQQ", "IWM")):
            expected = frame[a].rolling(window).corr(frame[b]).iloc[-1]
            assert got[f"{a}_{b}"] == pytest.approx(expected, abs=1e-12)
            direct = np.corrcoef(
                logs[-window:, REGIME_ETFS.index(a)], logs[-window:, REGIME_ETFS.index(b)]
            )
            assert got[f"{a}_{b}"] == pytest.approx(direct[0, 1], abs=1e-12)


def test_window_correlations_with_a_constant_series_gives_none() -> None:
    returns = np.column_stack([np.linspace(-0.01, 0.01, 10), np.zeros(10), np.arange(10.0)])
    got = window_correlations(returns, REGIME_ETFS, 7)
    assert got["SPY_QQQ"] is None
    assert got["QQQ_IWM"] is None
    assert got["SPY_IWM"] == pytest.approx(1.0)


def test_window_correlations_with_too_few_returns_raises() -> None:
    with pytest.raises(ValueError, match="fewer than the window"):
        window_correlations(np.zeros((5, 3)), REGIME_ETFS, 7)


def test_log_returns_with_a_non_positive_close_raises() -> None:
    with pytest.raises(ValueError, match="> 0"):
        log_returns([100.0, 0.0])


_CALM = {"SPY_QQQ": 0.9, "SPY_IWM": 0.8, "QQQ_IWM": 0.7}


def _kinds(**kwargs: object) -> list[str]:
    args: dict[str, object] = {
        "vix": 20.0,
        "short": _CALM,
        "long": _CALM,
        "volume_ratios": {"SPY": 1.0, "QQQ": 1.0, "IWM": 1.0},
    }
    args.update(kwargs)
    return [b.event_type for b in emergency_breaches(**args)]  # type: ignore[arg-type]


def test_emergency_breaches_with_calm_inputs_are_empty() -> None:
    assert _kinds() == []


def test_emergency_breaches_with_vix_exactly_35_raises_vix_emergency() -> None:
    assert _kinds(vix=34.99) == []
    breaches = emergency_breaches(vix=35.0, short=_CALM, long=_CALM, volume_ratios={})
    assert [b.event_type for b in breaches] == ["vix_emergency"]
    assert breaches[0].severity == "critical"
    assert breaches[0].threshold_value == THRESHOLDS["vix_emergency"]
    assert breaches[0].action_taken == "halt_new_positions"


def test_emergency_breaches_with_a_correlation_gap_of_03_raises_breakdown() -> None:
    assert _kinds(short={**_CALM, "SPY_IWM": 0.51}) == []  # gap 0.29
    breaches = emergency_breaches(
        vix=20.0, short={**_CALM, "SPY_IWM": 0.4}, long=_CALM, volume_ratios={}
    )
    assert [b.event_type for b in breaches] == ["correlation_breakdown"]
    assert breaches[0].triggered_value == pytest.approx(0.4)
    assert "SPY_IWM" in breaches[0].description
    assert _kinds(short={**_CALM, "SPY_QQQ": None}) == []


def test_emergency_breaches_with_volume_exactly_three_times_raises_spike() -> None:
    assert _kinds(volume_ratios={"SPY": 2.99, "QQQ": None}) == []
    breaches = emergency_breaches(
        vix=40.0, short=_CALM, long=_CALM, volume_ratios={"SPY": 3.0, "IWM": 4.5}
    )
    assert [b.event_type for b in breaches] == ["vix_emergency", "volume_spike"]
    assert breaches[1].triggered_value == 4.5
    assert breaches[1].details == {"ratios": {"IWM": 4.5, "SPY": 3.0}}


def test_synthetic_vix_with_a_long_history_is_positive_and_tracks_market_volatility() -> None:
    history = synthesize_history(
        [VIX_SYMBOL, "SPY"], start=date(2020, 1, 2), end=date(2026, 11, 20), seed=7
    )
    vix = np.array([float(b.close) for b in history.bars if b.ticker == VIX_SYMBOL])
    spy = np.array([float(b.close) for b in history.bars if b.ticker == "SPY"])
    assert len(vix) == len(spy) == len(history.sessions)
    assert np.all(vix > 0)
    assert 12.0 < float(np.mean(vix)) < 25.0
    spy_returns = np.diff(np.log(spy))
    realised = pd.Series(spy_returns).rolling(21).std().to_numpy()
    ok = ~np.isnan(realised)
    # volatility clustering: the index rises and falls with the market's realised volatility
    assert np.corrcoef(vix[1:][ok], realised[ok])[0, 1] > 0.5
    # and jumps when the market falls
    assert np.corrcoef(np.diff(vix), spy_returns)[0, 1] < -0.2
    # mean reversion: levels a year apart are only weakly related
    level = vix - vix.mean()
    assert float(np.corrcoef(level[:-250], level[250:])[0, 1]) < 0.5
    assert all(b.volume is None for b in history.bars if b.ticker == VIX_SYMBOL)


def test_synthetic_history_with_regime_symbols_added_leaves_spy_bars_unchanged() -> None:
    start, end = date(2026, 6, 1), date(2026, 11, 20)
    alone = synthesize_history(["SPY"], start=start, end=end, seed=5)
    more = synthesize_history(["SPY", "QQQ", "IWM", VIX_SYMBOL], start=start, end=end, seed=5)
    assert [b for b in more.bars if b.ticker == "SPY"] == list(alone.bars)
    qqq = [b for b in more.bars if b.ticker == "QQQ"]
    assert qqq
    assert all(b.volume is not None and b.volume > 0 for b in qqq)
