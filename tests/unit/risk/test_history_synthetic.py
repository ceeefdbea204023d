"""The synthetic price history: determinism, calendar, factor structure, clustering, OHLC.

Statistics are recomputed here from the closes with numpy (correlations, OLS betas with
``lstsq``, autocorrelation of squared returns) and the calendar is read from
``exchange_calendars`` directly.
"""

from __future__ import annotations

import warnings
from datetime import date
from decimal import Decimal

import numpy as np
import numpy.typing as npt
import pytest

from riskdesk.risk.history import (
    BETA_RANGE,
    FACTOR_ETFS,
    RATE_SYMBOL,
    SymbolSpec,
    SyntheticHistory,
    last_sessions,
    synthesize_history,
    trading_sessions,
)

END = date(2026, 11, 20)
STOCKS = ("AAPL", "NVDA", "XOM", "JPM", "KO")
SYMBOLS = (*FACTOR_ETFS, *STOCKS, RATE_SYMBOL)


@pytest.fixture(scope="module")
def sessions() -> tuple[date, ...]:
    return last_sessions(END, 750)


@pytest.fixture(scope="module")
def history(sessions: tuple[date, ...]) -> SyntheticHistory:
    return synthesize_history(SYMBOLS, start=sessions[0], end=sessions[-1], seed=7)


def _closes(history: SyntheticHistory) -> dict[str, npt.NDArray[np.float64]]:
    out: dict[str, list[float]] = {}
    for bar in history.bars:
        out.setdefault(bar.ticker, []).append(float(bar.close))
    return {k: np.asarray(v) for k, v in out.items()}


def _returns(history: SyntheticHistory) -> dict[str, npt.NDArray[np.float64]]:
    return {k: np.diff(np.log(v)) for k, v in _closes(history).items() if k != RATE_SYMBOL}


def _lag1_autocorrelation(x: npt.NDArray[np.float64]) -> float:
    centered = x - x.mean()
    return float(centered[1:] @ centered[:-1] / (centered @ centered))


def _xnys_sessions(start: date, end: date) -> list[date]:
    import exchange_calendars as xcals

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        calendar = xcals.get_calendar("XNYS", start="2020-01-01", end="2027-12-31")
        sessions = calendar.sessions_in_range(start.isoformat(), end.isoformat())
    return [ts.date() for ts in sessions]


def test_synthesize_with_same_seed_and_symbols_in_any_order_gives_identical_bars(
    sessions: tuple[date, ...], history: SyntheticHistory
) -> None:
    reordered = synthesize_history(
        list(reversed(SYMBOLS)), start=sessions[0], end=sessions[-1], seed=7
    )

    assert repr(reordered.bars).encode() == repr(history.bars).encode()


def test_synthesize_with_extra_symbol_leaves_other_symbols_unchanged(
    sessions: tuple[date, ...], history: SyntheticHistory
) -> None:
    fewer = synthesize_history(("SPY", "AAPL"), start=sessions[0], end=sessions[-1], seed=7)

    mine = [b for b in history.bars if b.ticker in {"SPY", "AAPL"}]
    assert list(fewer.bars) == mine


def test_synthesize_with_another_seed_gives_other_closes(
    sessions: tuple[date, ...], history: SyntheticHistory
) -> None:
    other = synthesize_history(("AAPL",), start=sessions[0], end=sessions[-1], seed=8)

    mine = [b.close for b in history.bars if b.ticker == "AAPL"]
    theirs = [b.close for b in other.bars]
    assert sum(a != b for a, b in zip(mine, theirs, strict=True)) > 700


def test_synthesize_with_dates_spanning_holidays_has_exactly_the_xnys_sessions(
    history: SyntheticHistory, sessions: tuple[date, ...]
) -> None:
    expected = _xnys_sessions(sessions[0], sessions[-1])

    assert len(expected) == 750
    for ticker in SYMBOLS:
        days = [b.date for b in history.bars if b.ticker == ticker]
        assert days == expected, ticker
    assert all(d.weekday() < 5 for d in expected)
    assert date(2025, 12, 25) not in expected
    assert date(2026, 7, 3) not in expected


def test_trading_sessions_with_a_holiday_week_matches_exchange_calendars() -> None:
    got = trading_sessions(date(2024, 12, 20), date(2025, 1, 3))

    assert list(got) == _xnys_sessions(date(2024, 12, 20), date(2025, 1, 3))
    assert date(2025, 1, 1) not in got
    assert date(2024, 12, 25) not in got


def test_synthesize_with_factor_etfs_correlates_them_with_spy_between_0_7_and_0_95(
    history: SyntheticHistory,
) -> None:
    returns = _returns(history)

    for etf in FACTOR_ETFS[1:]:
        correlation = float(np.corrcoef(returns["SPY"], returns[etf])[0, 1])
        assert 0.7 <= correlation <= 0.95, (etf, correlation)


def test_synthesize_with_stocks_gives_ols_betas_on_spy_near_their_loadings(
    history: SyntheticHistory,
) -> None:
    returns = _returns(history)
    design = np.column_stack([np.ones(749), returns["SPY"]])

    for stock in STOCKS:
        coefficients, *_ = np.linalg.lstsq(design, returns[stock], rcond=None)
        beta = float(coefficients[1])
        loading = history.specs[stock].beta
        assert BETA_RANGE[0] <= loading <= BETA_RANGE[1]
        assert 0.5 <= beta <= 1.8, (stock, beta)
        assert abs(beta - loading) < 0.25, (stock, beta, loading)


def test_synthesize_with_garch_market_has_autocorrelated_squared_returns(
    history: SyntheticHistory,
) -> None:
    squared = _returns(history)["SPY"] ** 2
    rng = np.random.default_rng(0)
    shuffled = [_lag1_autocorrelation(rng.permutation(squared)) for _ in range(200)]

    observed = _lag1_autocorrelation(squared)
    assert observed > 2.5 / np.sqrt(len(squared)), observed
    assert observed > float(np.quantile(shuffled, 0.95))
    assert abs(float(np.mean(shuffled))) < 0.02


def test_synthesize_with_many_seeds_keeps_mean_squared_return_autocorrelation_positive() -> None:
    start, end = date(2024, 1, 2), date(2026, 11, 20)
    values = []
    for seed in range(8):
        closes = _closes(synthesize_history(("SPY",), start=start, end=end, seed=seed))["SPY"]
        values.append(_lag1_autocorrelation(np.diff(np.log(closes)) ** 2))

    assert float(np.mean(values)) > 0.1, values


def test_synthesize_with_market_returns_has_fat_tails(history: SyntheticHistory) -> None:
    spy = _returns(history)["SPY"]
    centered = spy - spy.mean()
    kurtosis = float(np.mean(centered**4) / np.mean(centered**2) ** 2)

    assert kurtosis > 3.3, kurtosis


def test_synthesize_with_any_symbol_gives_consistent_ohlc_in_cents(
    history: SyntheticHistory,
) -> None:
    cent = Decimal("0.01")
    for bar in history.bars:
        assert bar.open is not None
        assert bar.high is not None
        assert bar.low is not None
        assert bar.low <= min(bar.open, bar.close) <= max(bar.open, bar.close) <= bar.high, bar
        assert bar.low > 0
        assert bar.data_source == "synthetic"
        if bar.ticker == RATE_SYMBOL:
            assert bar.close == bar.close.quantize(Decimal("0.001"))
            assert bar.volume is None
        else:
            assert bar.close == bar.close.quantize(cent)
            assert bar.volume is not None
            assert bar.volume > 0


def test_synthesize_with_known_spec_ends_at_its_last_close(sessions: tuple[date, ...]) -> None:
    spec = SymbolSpec((1.2, 0.0, 0.0, 0.0, 0.0), 0.015, 123.45)

    result = synthesize_history(
        ("ZZZ",), start=sessions[0], end=sessions[-1], seed=3, specs={"ZZZ": spec}
    )

    assert result.bars[-1].close == Decimal("123.45")
    assert result.specs["ZZZ"] == spec


def test_synthesize_with_us10y_keeps_the_yield_in_a_plausible_band() -> None:
    start, end = date(2023, 11, 1), date(2026, 11, 20)
    for seed in range(5):
        result = synthesize_history((RATE_SYMBOL,), start=start, end=end, seed=seed)
        levels = np.asarray([float(b.close) for b in result.bars])
        assert levels.min() >= 1.5, (seed, levels.min())
        assert levels.max() <= 7.0, (seed, levels.max())
        assert 3.0 <= levels.mean() <= 5.0
        moves = np.diff(levels)
        assert 0.03 <= moves.std() <= 0.10  # daily moves of a few basis points


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"symbols": ["spy"]}, "upper-case"),
        ({"symbols": []}, "at least one symbol"),
        ({"seed": -1}, "non-negative"),
        ({"start": date(2026, 11, 21), "end": date(2026, 11, 22)}, "need at least 2"),
        ({"start": date(2026, 11, 20), "end": date(2026, 11, 1)}, "before start"),
    ],
)
def test_synthesize_with_bad_arguments_raises_a_clear_error(
    kwargs: dict[str, object], message: str
) -> None:
    arguments: dict[str, object] = {
        "symbols": ["SPY"],
        "start": date(2026, 1, 2),
        "end": date(2026, 2, 2),
        "seed": 1,
    }
    arguments.update(kwargs)

    with pytest.raises(ValueError, match=message):
        synthesize_history(**arguments)  # type: ignore[arg-type]
