"""The scenario engine of ``revalue_book`` (``riskdesk.pricing._scenario``) against the library.

Every scenario price of the engine is compared element by element with the public
``riskdesk.pricing.price`` of the same inputs: BSM to ``1e-12`` relative or absolute, the
Bjerksund-Stensland 2002 American to ``1e-10`` relative (``1e-12`` absolute for tiny prices).
"""

from __future__ import annotations

import numpy as np
import pytest

from riskdesk.analytics import revalue as rv
from riskdesk.analytics.revalue import BookScenarios, OptionBook, revalue_book
from riskdesk.domain.configs import ScenarioGrid
from riskdesk.pricing import price

_BS2002 = {"engine": "bjerksund_stensland_2002"}


def _book(n: int, *, american: bool, rate: float = 0.05, seed: int = 11) -> OptionBook:
    """Strikes from deep ITM to deep OTM, expiries 1e-4 to 5 years, vols 1% to 120%."""
    rng = np.random.default_rng(seed)
    spot = np.array([100.0, 40.0, 2500.0])
    index = rng.integers(0, spot.size, n)
    return OptionBook(
        underlyings=("A", "B", "C"),
        spot=spot,
        underlying_index=index,
        strike=spot[index] * np.exp(rng.uniform(-1.5, 1.5, n)),
        time_to_expiry=np.exp(rng.uniform(np.log(1e-4), np.log(5.0), n)),
        vol=rng.uniform(0.01, 1.2, n),
        is_call=rng.random(n) < 0.5,
        american=np.full(n, american),
        position=rng.choice([-300.0, 100.0, 200.0], n),
        rate=rate,
        carry=np.array([0.02, 0.0, -0.01]),
    )


def _scenarios(k_spots: int, *, per_underlying: bool, horizon_days: float) -> BookScenarios:
    """Spot moves -60%..+100%, vol shocks -80 (the MIN_VOL clamp) to +50 points."""
    rng = np.random.default_rng(5)
    vols = np.array([-80.0, -5.0, 0.0, 10.0, 50.0])
    shape = (k_spots * vols.size, 3) if per_underlying else (k_spots * vols.size,)
    return BookScenarios(
        spot_shocks=rng.uniform(-0.6, 1.0, shape),
        vol_shocks=np.tile(vols, k_spots),
        horizon_days=horizon_days,
    )


def _engine_and_library(
    book: OptionBook, scenarios: BookScenarios
) -> tuple[np.ndarray, np.ndarray]:
    """``(scenarios, positions)`` prices of the scenario engine and of ``price``."""
    american = bool(book.american[0])
    model = "american" if american else "bsm"
    kwargs = _BS2002 if american else {}
    elapsed = book.elapsed_years(scenarios.horizon_days)
    u = book.underlying_index
    aged = np.maximum(book.time_to_expiry - elapsed, 0.0)
    leg = rv._Leg(
        book=book,
        model=model,
        kind="bs2002" if american else "european",
        kwargs=kwargs,
        idx=np.arange(book.size),
        s0=book.spot[u],
        strike=book.strike,
        aged_t=aged,
        vol=book.vol,
        calls=book.is_call,
        carry=book.carry[u],
        pos=book.position,
        base=np.zeros(book.size),
        elapsed=elapsed,
    )
    shocks = scenarios.spot_shocks
    shocks = shocks[:, None] if shocks.ndim == 1 else shocks
    _, block, order = rv._scenario_engine_block(leg, shocks, scenarios, 0, scenarios.count)
    engine = np.empty_like(block)
    engine[:, order] = block
    column = shocks if shocks.shape[1] == 1 else shocks[:, u]
    library = price(
        model=model,
        S=book.spot[u][None, :] * (1.0 + column),
        K=book.strike[None, :],
        T=aged[None, :],
        r=book.rate,
        q=book.carry[u][None, :],
        sigma=np.maximum(
            book.vol[None, :] + scenarios.vol_shocks[:, None] / 100.0, ScenarioGrid.MIN_VOL
        ),
        is_call=book.is_call[None, :],
        **kwargs,
    )
    return engine, np.asarray(library, dtype=np.float64)


def _assert_close(engine: np.ndarray, library: np.ndarray, rtol: float, atol: float) -> None:
    err = np.abs(engine - library)
    bad = ~((err <= atol) | (err <= rtol * np.abs(library)))
    assert not bad.any(), (
        f"{bad.sum()} prices differ; worst {engine[bad][:3]} vs {library[bad][:3]}"
    )


@pytest.mark.parametrize("horizon_days", [0.0, 20.0])
@pytest.mark.parametrize("per_underlying", [False, True])
def test_scenario_engine_with_random_european_book_matches_library_per_price(
    horizon_days, per_underlying
):
    book = _book(1500, american=False)
    scenarios = _scenarios(12, per_underlying=per_underlying, horizon_days=horizon_days)

    engine, library = _engine_and_library(book, scenarios)

    if horizon_days:  # the horizon expires the shortest options: valued at intrinsic
        assert (book.time_to_expiry < horizon_days / 365.0).sum() > 100
    _assert_close(engine, library, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("horizon_days", [0.0, 20.0])
def test_scenario_engine_with_random_american_book_matches_library_bs2002_per_price(
    horizon_days,
):
    book = _book(400, american=True)
    scenarios = _scenarios(6, per_underlying=True, horizon_days=horizon_days)

    engine, library = _engine_and_library(book, scenarios)

    _assert_close(engine, library, rtol=1e-10, atol=1e-12)


def test_scenario_engine_with_negative_rate_prices_two_boundary_options_on_library_path():
    # r = -0.5%: puts on C (q = -1% < r) and calls on B (put-normalised r' = q = 0, q' = r < 0)
    # take the two-boundary route, which the kernel hands back to the library (the lattice)
    book = _book(12, american=True, rate=-0.005, seed=2)
    scenarios = _scenarios(1, per_underlying=False, horizon_days=0.0)
    u = book.underlying_index
    two_boundary = (~book.is_call & (u == 2)) | (book.is_call & (u == 1))

    engine, library = _engine_and_library(book, scenarios)
    result = revalue_book(book, scenarios)

    assert two_boundary.sum() >= 2
    assert np.all(np.isfinite(engine))
    _assert_close(engine, library, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(result.values, library @ book.position, rtol=1e-12, atol=1e-9)


def test_revalue_book_with_some_dividend_positions_matches_library_per_position():
    book = _book(30, american=False, seed=4)
    times = np.tile([0.05, 0.4], (book.size, 1))
    amounts = np.zeros((book.size, 2))
    amounts[::3] = [0.5, 0.25]  # every third position pays dividends: library path
    fields = {name: getattr(book, name) for name in OptionBook.__slots__}
    with_divs = OptionBook(**{**fields, "dividend_times": times, "dividend_amounts": amounts})
    scenarios = _scenarios(2, per_underlying=True, horizon_days=0.0)

    result = revalue_book(with_divs, scenarios, keep_positions=True)

    u = book.underlying_index
    shocks = scenarios.spot_shocks[:, u]
    sig = np.maximum(book.vol[None, :] + scenarios.vol_shocks[:, None] / 100.0, 1e-4)
    expected = np.empty((scenarios.count, book.size))
    for i in range(book.size):
        kwargs = {"dividends": (times[i], amounts[i])} if amounts[i].any() else {}
        expected[:, i] = price(
            model="bsm",
            S=book.spot[u[i]] * (1.0 + shocks[:, i]),
            K=book.strike[i],
            T=book.time_to_expiry[i],
            r=book.rate,
            q=book.carry[u[i]],
            sigma=sig[:, i],
            is_call=bool(book.is_call[i]),
            **kwargs,
        )
    base = np.array(
        [
            price(
                model="bsm",
                S=book.spot[u[i]],
                K=book.strike[i],
                T=book.time_to_expiry[i],
                r=book.rate,
                q=book.carry[u[i]],
                sigma=book.vol[i],
                is_call=bool(book.is_call[i]),
                **({"dividends": (times[i], amounts[i])} if amounts[i].any() else {}),
            )
            for i in range(book.size)
        ]
    )
    assert result.position_pnl is not None
    values = result.position_pnl / book.position[None, :]
    np.testing.assert_allclose(values + base[None, :], expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(result.values, expected @ book.position, rtol=1e-12, atol=1e-9)
