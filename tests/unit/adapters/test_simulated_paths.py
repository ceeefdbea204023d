from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest

from riskdesk.adapters.simulated import (
    generate_market,
    intraday_paths,
    simulate_live,
    simulate_paths,
)
from riskdesk.domain.market import SnapshotMode

START = datetime(2025, 3, 3, 14, 30, tzinfo=UTC)  # Monday 09:30 New York
SESSION = 390


@pytest.fixture(scope="module")
def week() -> dict[str, np.ndarray]:
    return intraday_paths(seed=5, start=START, minutes=5 * SESSION)


def _log_returns(path: np.ndarray) -> np.ndarray:
    return np.diff(np.log(path))


def test_intraday_paths_with_same_seed_and_start_are_identical() -> None:
    first = intraday_paths(seed=9, start=START, minutes=120, symbols=["SPY", "TSLA"])
    second = intraday_paths(seed=9, start=START, minutes=120, symbols=["SPY", "TSLA"])

    assert first.keys() == second.keys() == {"SPY", "TSLA"}
    for symbol in first:
        np.testing.assert_array_equal(first[symbol], second[symbol])


def test_intraday_paths_with_different_seed_or_start_differ() -> None:
    base = intraday_paths(seed=9, start=START, minutes=60, symbols=["SPY"])["SPY"]
    other_seed = intraday_paths(seed=10, start=START, minutes=60, symbols=["SPY"])["SPY"]
    later = intraday_paths(seed=9, start=START + timedelta(minutes=1), minutes=60, symbols=["SPY"])

    assert not np.array_equal(base[1:], other_seed[1:])
    assert not np.array_equal(base[1:], later["SPY"][1:])


def test_intraday_paths_with_default_start_spots_begin_at_generated_market_spots() -> None:
    paths = intraday_paths(seed=5, start=START, minutes=10, symbols=["QQQ", "NVDA"])
    market = generate_market(seed=5, as_of=START, symbols=["QQQ", "NVDA"], max_expiry_days=3)

    for symbol, path in paths.items():
        assert path.shape == (11,)
        assert path.dtype == np.float64
        assert path[0] == float(market.underlying(symbol).spot)


def test_intraday_paths_with_given_spots_starts_there() -> None:
    paths = intraday_paths(seed=5, start=START, minutes=3, symbols=["SPY"], spots={"SPY": 500.0})

    assert paths["SPY"][0] == 500.0


def test_intraday_paths_with_symbol_subset_gives_the_same_path_per_symbol(
    week: dict[str, np.ndarray],
) -> None:
    alone = intraday_paths(seed=5, start=START, minutes=5 * SESSION, symbols=["TSLA"])

    np.testing.assert_array_equal(alone["TSLA"], week["TSLA"])


def test_intraday_paths_with_a_week_of_minutes_stays_positive_and_plausible(
    week: dict[str, np.ndarray],
) -> None:
    for symbol, path in week.items():
        assert np.all(path > 0)
        returns = _log_returns(path)
        annualized = float(np.std(returns)) * math.sqrt(252 * SESSION)
        assert 0.03 < annualized < 1.5, (symbol, annualized)
        assert abs(math.log(path[-1] / path[0])) < 0.5
    spy = float(np.std(_log_returns(week["SPY"]))) * math.sqrt(252 * SESSION)
    tsla = float(np.std(_log_returns(week["TSLA"]))) * math.sqrt(252 * SESSION)
    assert tsla > 2 * spy


def test_intraday_paths_with_factor_model_correlates_index_etfs_most(
    week: dict[str, np.ndarray],
) -> None:
    returns = {s: _log_returns(p) for s, p in week.items()}

    def corr(a: str, b: str) -> float:
        return float(np.corrcoef(returns[a], returns[b])[0, 1])

    assert corr("SPY", "QQQ") > 0.7
    assert corr("SPY", "IWM") > 0.7
    assert corr("QQQ", "NVDA") > corr("SPY", "TSLA") > 0.2
    assert corr("SPY", "QQQ") > corr("SPY", "TSLA")


def test_simulate_paths_with_leverage_moves_variance_against_spot() -> None:
    paths = simulate_paths(seed=2, start=START, minutes=5 * SESSION, symbols=["SPY"])

    variance = paths.variances["SPY"]
    assert np.all(np.isfinite(variance))
    dv = np.diff(variance)
    ds = _log_returns(paths.spots["SPY"])
    assert float(np.corrcoef(ds, dv)[0, 1]) < -0.3
    scale = paths.vol_scale("SPY")
    assert scale[0] == 1.0
    assert 0.5 < float(scale.min()) <= float(scale.max()) < 2.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"minutes": -1}, "minutes"),
        ({"seed": -3}, "non-negative"),
        ({"start": datetime(2025, 3, 3, 14, 30)}, "timezone-aware"),
        ({"symbols": ["XYZ"]}, "unknown simulated symbol"),
    ],
)
def test_intraday_paths_with_invalid_argument_raises(
    kwargs: dict[str, object], message: str
) -> None:
    arguments: dict[str, object] = {"seed": 1, "start": START, "minutes": 5, "symbols": ["SPY"]}
    arguments.update(kwargs)

    with pytest.raises(ValueError, match=message):
        intraday_paths(**arguments)  # type: ignore[arg-type]


def test_simulate_live_with_first_step_equals_generate_market() -> None:
    snapshots = list(
        simulate_live(
            seed=4,
            start=START,
            steps=3,
            step_minutes=5,
            symbols=["SPY", "AAPL"],
            max_expiry_days=20,
        )
    )
    generated = generate_market(seed=4, as_of=START, symbols=["SPY", "AAPL"], max_expiry_days=20)

    assert len(snapshots) == 3
    assert snapshots[0].snapshot_hash == generated.snapshot_hash
    assert [s.as_of for s in snapshots] == [START + timedelta(minutes=5 * i) for i in range(3)]


def test_simulate_live_with_moving_spots_remarks_every_quote() -> None:
    snapshots = list(
        simulate_live(
            seed=4, start=START, steps=4, step_minutes=15, symbols=["QQQ"], max_expiry_days=40
        )
    )
    paths = intraday_paths(seed=4, start=START, minutes=45, symbols=["QQQ"])

    spots = [float(s.underlying("QQQ").spot) for s in snapshots]
    np.testing.assert_allclose(spots, paths["QQQ"][::15], atol=0.005)
    assert len(set(spots)) > 1
    assert len({s.snapshot_hash for s in snapshots}) == 4
    for snapshot in snapshots:
        assert snapshot.mode is SnapshotMode.LIVE
        assert snapshot.diagnostics["crossed"] == 0
        assert snapshot.diagnostics["stale"] == 0
        for quote in snapshot.options:
            assert quote.bid is not None
            assert quote.ask is not None
            assert 0 <= quote.bid < quote.ask
            assert quote.provider_timestamp == snapshot.as_of
    first = {q.contract.key: q for q in snapshots[0].options}
    last = {q.contract.key: q for q in snapshots[-1].options}
    assert first.keys() == last.keys()
    assert any(first[k].bid != last[k].bid for k in first)


def test_simulate_live_across_the_close_drops_expired_0dte_contracts() -> None:
    before_close = datetime(2025, 3, 3, 20, 50, tzinfo=UTC)  # 15:50 New York (EST)

    snapshots = list(
        simulate_live(
            seed=8, start=before_close, steps=3, step_minutes=5, symbols=["IWM"], max_expiry_days=5
        )
    )

    expiries = [{q.contract.expiry for q in s.options} for s in snapshots]
    assert date(2025, 3, 3) in expiries[0]
    assert date(2025, 3, 3) in expiries[1]  # 15:55
    assert date(2025, 3, 3) not in expiries[2]  # 16:00: expired
    assert snapshots[2].diagnostics["expired"] == 0


@pytest.mark.parametrize(("steps", "step_minutes"), [(0, 1), (1, 0)])
def test_simulate_live_with_non_positive_steps_raises(steps: int, step_minutes: int) -> None:
    with pytest.raises(ValueError, match="must be >= 1"):
        next(
            simulate_live(
                seed=1, start=START, steps=steps, step_minutes=step_minutes, symbols=["SPY"]
            )
        )
