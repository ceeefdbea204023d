"""SVI slice fits, arbitrage checks and the fail-closed volatility surface."""

from __future__ import annotations

import math
from dataclasses import replace
from itertools import pairwise
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize

from riskdesk.pricing.surface import (
    SliceQuotes,
    SviFitError,
    SviSlice,
    VolSurface,
    arbitrage_diagnostics,
    build_surface,
    fit_svi,
)

# Gatheral & Jacquier (2014), "Arbitrage-free SVI volatility surfaces", Axel Vogt's example:
# a raw SVI slice at T = 1 with negative density for k roughly in [0.64, 1.26].
VOGT = SviSlice(T=1.0, a=-0.0410, b=0.1331, rho=0.3060, m=0.3586, sigma=0.4153)


def _ssvi_slice(
    T: float,
    *,
    rho: float = -0.4,
    eta: float = 1.0,
    gamma: float = 0.5,
    theta: float | None = None,
) -> SviSlice:
    """SSVI slice with power-law phi; eta * (1 + |rho|) <= 2 makes the surface arbitrage free."""
    if theta is None:
        theta = 0.04 * T + 0.0001 * math.sqrt(T)  # ATM total variance, increasing in T
    phi = eta / (theta**gamma * (1.0 + theta) ** (1.0 - gamma))
    return SviSlice(
        T=T,
        a=theta / 2.0 * (1.0 - rho * rho),
        b=theta * phi / 2.0,
        rho=rho,
        m=-rho / phi,
        sigma=math.sqrt(1.0 - rho * rho) / phi,
    )


def _quotes(s: SviSlice, k: np.ndarray, forward: float = 100.0) -> SliceQuotes:
    return SliceQuotes(T=s.T, forward=forward, k=k, iv=s.implied_vol(k))


def _reference_iv(surface: VolSurface, k: float, t: float) -> float:
    """Slow scalar evaluation of the documented interpolation rules."""
    times = [float(x) for x in surface.expiries]

    def variance(i: int) -> float:
        if surface.status == "ok":
            s = surface.slices[i]
            x = k - s.m
            return (s.a + s.b * (s.rho * x + math.sqrt(x * x + s.sigma**2))) / s.T
        q = surface.quotes[i]
        pairs = sorted(zip(q.k.tolist(), (q.iv**2).tolist(), strict=True))
        if k <= pairs[0][0]:
            return float(pairs[0][1])
        if k >= pairs[-1][0]:
            return float(pairs[-1][1])
        for (k0, v0), (k1, v1) in pairwise(pairs):
            if k0 <= k <= k1:
                return float(v0 + (v1 - v0) * (k - k0) / (k1 - k0))
        raise AssertionError("unreachable")

    if t <= times[0]:
        return math.sqrt(variance(0))
    if t >= times[-1]:
        return math.sqrt(variance(len(times) - 1))
    j = next(i for i, tj in enumerate(times) if tj >= t)
    t0, t1 = times[j - 1], times[j]
    frac = (t - t0) / (t1 - t0)
    w = (1 - frac) * t0 * variance(j - 1) + frac * t1 * variance(j)
    return math.sqrt(w / t)


# --- SviSlice ------------------------------------------------------------------------------


def test_svi_slice_density_with_flat_smile_is_one() -> None:
    flat = SviSlice(T=0.5, a=0.02, b=0.0, rho=0.0, m=0.0, sigma=0.1)

    np.testing.assert_allclose(flat.density(np.linspace(-2, 2, 9)), 1.0, rtol=0, atol=1e-15)


def test_svi_slice_implied_vol_with_atm_point_matches_formula() -> None:
    s = SviSlice(T=0.25, a=0.01, b=0.1, rho=-0.5, m=0.0, sigma=0.1)

    # w(0) = 0.01 + 0.1 * 0.1 = 0.02 -> iv = sqrt(0.02 / 0.25)
    assert s.implied_vol(0.0) == pytest.approx(math.sqrt(0.08), rel=1e-15)
    assert s.min_total_variance == pytest.approx(0.01 + 0.01 * math.sqrt(0.75), rel=1e-15)


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"b": -0.1}, "b must be >= 0"),
        ({"rho": 1.0}, r"\|rho\| < 1"),
        ({"sigma": 0.0}, "sigma must be > 0"),
        ({"a": -0.5}, "non-negative total variance"),
        ({"T": 0.0}, "T must be > 0"),
        ({"m": float("nan")}, "finite"),
    ],
)
def test_svi_slice_with_invalid_parameters_raises_value_error(
    params: dict[str, Any], fragment: str
) -> None:
    base = SviSlice(T=1.0, a=0.01, b=0.1, rho=0.0, m=0.0, sigma=0.1)

    with pytest.raises(ValueError, match=fragment):
        replace(base, **params)


# --- fit_svi -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("true", "k"),
    [
        (SviSlice(T=0.5, a=0.01, b=0.1, rho=-0.4, m=0.02, sigma=0.15), np.linspace(-0.6, 0.4, 21)),
        (VOGT, np.linspace(-1.0, 1.5, 26)),
        # 1-day equity skew: tiny total variance, minimum beyond the quoted right wing
        (
            SviSlice(T=1 / 365, a=2e-5, b=0.004, rho=-0.8, m=0.03, sigma=0.006),
            np.linspace(-0.05, 0.02, 15),
        ),
        (_ssvi_slice(2.0), np.linspace(-1.0, 0.6, 12)),
        (SviSlice(T=0.1, a=0.003, b=0.05, rho=0.5, m=-0.05, sigma=0.05), np.linspace(-0.3, 0.3, 5)),
    ],
)
def test_fit_svi_with_exact_svi_data_recovers_parameters(true: SviSlice, k: np.ndarray) -> None:
    fitted = fit_svi(k, true.total_variance(k), true.T)

    for name in ("a", "b", "rho", "m", "sigma"):
        assert getattr(fitted, name) == pytest.approx(getattr(true, name), abs=1e-6), name
    assert fitted.rmse < 1e-10
    assert fitted.n_quotes == k.size
    assert (fitted.k_min, fitted.k_max) == (k.min(), k.max())
    assert fitted.T == true.T


@st.composite
def _svi_slices(draw: st.DrawFn) -> SviSlice:
    """Valid raw SVI slices in natural units: slopes, curvature and level scaled by iv*sqrt(T)."""
    unit = st.floats(min_value=0.0, max_value=1.0)
    T = math.exp(-math.log(365) + draw(unit) * math.log(3 * 365))  # 1 day .. 3 years
    sd = (0.08 + 0.72 * draw(unit)) * math.sqrt(T)
    rho = -0.95 + 1.9 * draw(unit)
    b = (0.05 + 0.95 * draw(unit)) * sd
    sigma = (0.05 + 1.95 * draw(unit)) * sd
    v_min = (0.1 + 0.9 * draw(unit)) * sd * sd
    return SviSlice(
        T=T,
        a=v_min - b * sigma * math.sqrt(1 - rho * rho),
        b=b,
        rho=rho,
        m=(2 * draw(unit) - 1) * sd,
        sigma=sigma,
    )


@settings(max_examples=25, deadline=None)
@given(true=_svi_slices(), n=st.integers(min_value=5, max_value=25))
def test_fit_svi_with_generated_exact_slice_reproduces_total_variance(
    true: SviSlice, n: int
) -> None:
    sd = math.sqrt(true.total_variance(0.0))
    k = np.linspace(-3 * sd, 2 * sd, n)

    fitted = fit_svi(k, true.total_variance(k), true.T)

    np.testing.assert_allclose(fitted.total_variance(k), true.total_variance(k), rtol=1e-8)
    assert fitted.rmse < 1e-8


def test_fit_svi_with_zero_weight_outlier_ignores_it() -> None:
    true = SviSlice(T=0.5, a=0.01, b=0.1, rho=-0.4, m=0.02, sigma=0.15)
    k = np.linspace(-0.6, 0.4, 11)
    w = true.total_variance(k)
    w[3] *= 3.0
    weights = np.ones_like(k)
    weights[3] = 0.0

    fitted = fit_svi(k, w, true.T, weights)

    assert fitted.rho == pytest.approx(true.rho, abs=1e-6)
    assert fitted.n_quotes == 10


def test_fit_svi_with_noisy_quotes_reports_weighted_iv_rmse() -> None:
    rng = np.random.default_rng(7)
    true = SviSlice(T=7 / 365, a=0.0002, b=0.01, rho=-0.7, m=0.01, sigma=0.02)
    k = np.linspace(-0.12, 0.05, 30)
    iv = true.implied_vol(k) + 0.002 * rng.standard_normal(k.size)

    fitted = fit_svi(k, iv**2 * true.T, true.T)

    residual = fitted.implied_vol(k) - iv
    assert fitted.rmse == pytest.approx(math.sqrt(np.mean(residual**2)), rel=1e-12)
    assert 0.0005 < fitted.rmse < 0.003


@pytest.mark.parametrize("n", [1, 4])
def test_fit_svi_with_fewer_than_five_quotes_raises_fit_error(n: int) -> None:
    k = np.linspace(-0.1, 0.1, n)

    with pytest.raises(SviFitError, match="fewer than 5 quotes"):
        fit_svi(k, np.full(n, 0.01), 0.25)


def test_fit_svi_with_duplicate_strikes_counts_distinct_strikes() -> None:
    k = np.array([-0.1, -0.1, 0.0, 0.0, 0.1, 0.1])

    with pytest.raises(SviFitError, match="got 3 distinct strikes"):
        fit_svi(k, np.full(6, 0.01), 0.25)


def test_fit_svi_with_non_finite_variance_raises_fit_error() -> None:
    w = np.full(6, 0.01)
    w[2] = np.nan

    with pytest.raises(SviFitError, match="must be finite"):
        fit_svi(np.linspace(-0.1, 0.1, 6), w, 0.25)


# --- arbitrage checks ----------------------------------------------------------------------


def test_arbitrage_diagnostics_with_vogt_slice_reports_negative_density() -> None:
    findings = arbitrage_diagnostics([VOGT])

    assert len(findings) == 1
    assert findings[0].startswith("butterfly arbitrage at T=1.0000: g(k)<0 at k=0.8")
    assert "(g=-0.0329)" in findings[0]


def test_arbitrage_diagnostics_with_ssvi_surface_finds_nothing() -> None:
    slices = [_ssvi_slice(T) for T in (1 / 365, 7 / 365, 30 / 365, 0.25, 1.0, 2.0)]

    assert arbitrage_diagnostics(slices) == []


def test_arbitrage_diagnostics_with_steep_wing_reports_lee_bound() -> None:
    steep = SviSlice(T=1.0, a=0.01, b=1.8, rho=0.3, m=0.0, sigma=0.1)

    findings = arbitrage_diagnostics([steep])

    assert any("Roger Lee" in f and "2.34" in f for f in findings)


def test_arbitrage_diagnostics_with_crossed_slices_reports_calendar_arbitrage() -> None:
    early = SviSlice(T=0.08, a=0.002, b=0.05, rho=-0.5, m=0.0, sigma=0.05)
    late = SviSlice(T=0.16, a=0.004, b=0.02, rho=0.0, m=0.0, sigma=0.05)

    findings = arbitrage_diagnostics([late, early])

    assert arbitrage_diagnostics([early]) == arbitrage_diagnostics([late]) == []
    assert len(findings) == 1
    assert findings[0].startswith("calendar arbitrage between T=0.0800 and T=0.1600 at k=")


# --- build_surface -------------------------------------------------------------------------

SSVI_TIMES = (1 / 365, 7 / 365, 30 / 365, 0.25, 1.0)


def _ssvi_quotes() -> list[SliceQuotes]:
    quotes = []
    for T in SSVI_TIMES:
        sd = 0.2 * math.sqrt(T)
        quotes.append(_quotes(_ssvi_slice(T), np.linspace(-3 * sd, 2 * sd, 13)))
    return quotes


@pytest.fixture(scope="module")
def ssvi_surface() -> VolSurface:
    return build_surface(_ssvi_quotes())


def test_build_surface_with_arbitrage_free_ssvi_quotes_is_ok(ssvi_surface: VolSurface) -> None:
    assert ssvi_surface.status == "ok"
    assert ssvi_surface.diagnostics == ()
    assert ssvi_surface.is_fitted
    assert len(ssvi_surface.slices) == len(SSVI_TIMES)
    for q in _ssvi_quotes():
        np.testing.assert_allclose(ssvi_surface.iv(q.k, q.T), q.iv, rtol=1e-9)


def test_vol_surface_iv_with_t_between_expiries_is_linear_in_total_variance(
    ssvi_surface: VolSurface,
) -> None:
    k = np.linspace(-0.3, 0.2, 7)
    t0, t1 = 0.25, 1.0
    T = 0.4
    frac = (T - t0) / (t1 - t0)

    w = ssvi_surface.total_variance(k, T)

    expected = (1 - frac) * _ssvi_slice(t0).total_variance(k) + frac * _ssvi_slice(
        t1
    ).total_variance(k)
    np.testing.assert_allclose(w, expected, rtol=1e-8)


def test_vol_surface_iv_with_t_outside_expiries_keeps_iv_flat(ssvi_surface: VolSurface) -> None:
    k = np.linspace(-0.2, 0.2, 5)

    np.testing.assert_allclose(ssvi_surface.iv(k, 3.0), ssvi_surface.iv(k, 1.0), rtol=1e-15)
    np.testing.assert_allclose(
        ssvi_surface.iv(k, 1 / 3650), ssvi_surface.iv(k, 1 / 365), rtol=1e-15
    )


def test_vol_surface_iv_with_grid_matches_scalar_reference(ssvi_surface: VolSurface) -> None:
    k = np.linspace(-0.5, 0.4, 11)[:, None]
    T = np.array([0.5 / 365, 1 / 365, 3 / 365, 0.1, 0.25, 0.6, 1.0, 1.5])[None, :]

    result = ssvi_surface.iv(k, T)

    assert result.shape == (11, 8)
    expected = [[_reference_iv(ssvi_surface, kk, tt) for tt in T[0]] for kk in k[:, 0]]
    np.testing.assert_allclose(result, expected, rtol=1e-12)


def test_vol_surface_iv_with_non_positive_or_nan_time_returns_nan(
    ssvi_surface: VolSurface,
) -> None:
    result = ssvi_surface.iv(0.0, np.array([0.0, -0.1, np.nan, 0.25]))

    assert np.isnan(result[:3]).all()
    assert np.isfinite(result[3])


def test_vol_surface_iv_at_strike_with_forward_matches_log_moneyness(
    ssvi_surface: VolSurface,
) -> None:
    strikes = np.array([80.0, 100.0, 120.0])

    result = ssvi_surface.iv_at_strike(strikes, 0.25, 105.0)

    np.testing.assert_array_equal(result, ssvi_surface.iv(np.log(strikes / 105.0), 0.25))


def test_build_surface_with_vogt_butterfly_slice_falls_back_with_diagnostic() -> None:
    quotes = [
        _quotes(_ssvi_slice(0.5), np.linspace(-0.5, 0.4, 15)),
        _quotes(VOGT, np.linspace(-1.0, 1.5, 26)),
    ]

    surface = build_surface(quotes)

    assert surface.status == "fallback"
    assert not surface.is_fitted
    butterfly = [d for d in surface.diagnostics if d.startswith("butterfly arbitrage at T=1.0000")]
    assert len(butterfly) == 1
    assert "g(k)<0 at k=0.8" in butterfly[0]
    np.testing.assert_array_equal(surface.iv(quotes[1].k, 1.0), quotes[1].iv)


def test_build_surface_with_crossed_total_variance_falls_back_with_calendar_diagnostic() -> None:
    early = SviSlice(T=0.08, a=0.002, b=0.05, rho=-0.5, m=0.0, sigma=0.05)
    late = SviSlice(T=0.16, a=0.004, b=0.02, rho=0.0, m=0.0, sigma=0.05)
    k = np.linspace(-0.4, 0.4, 17)

    surface = build_surface([_quotes(early, k), _quotes(late, k)])

    assert surface.status == "fallback"
    assert len(surface.diagnostics) == 1
    assert surface.diagnostics[0].startswith("calendar arbitrage between T=0.0800 and T=0.1600")


def test_build_surface_with_four_quote_slice_falls_back_with_fit_failed_diagnostic() -> None:
    quotes = _ssvi_quotes()
    thin = SliceQuotes(
        T=0.5,
        forward=100.0,
        k=np.array([-0.2, -0.1, 0.0, 0.1]),
        iv=np.array([0.26, 0.23, 0.2, 0.19]),
    )

    surface = build_surface([*quotes, thin])

    assert surface.status == "fallback"
    assert surface.diagnostics == (
        "fit failed for expiry T=0.5000: fewer than 5 quotes (got 4 distinct strikes with "
        "positive weight; raw SVI has 5 parameters)",
    )
    assert len(surface.slices) == len(SSVI_TIMES)
    np.testing.assert_array_equal(surface.iv(thin.k, 0.5), thin.iv)


def test_build_surface_with_rmse_above_threshold_falls_back() -> None:
    rng = np.random.default_rng(3)
    s = _ssvi_slice(0.25)
    k = np.linspace(-0.3, 0.2, 15)
    iv = s.implied_vol(k) + 0.02 * rng.standard_normal(k.size)
    quotes = SliceQuotes(T=0.25, forward=100.0, k=k, iv=iv)

    surface = build_surface([quotes], max_rmse=0.005)

    assert surface.status == "fallback"
    assert surface.diagnostics[0].startswith("fit rejected for expiry T=0.2500: weighted iv rmse")
    assert "> max_rmse 0.005" in surface.diagnostics[0]
    assert surface.slices == ()


def test_vol_surface_fallback_with_quoted_strikes_returns_raw_ivs_exactly() -> None:
    rng = np.random.default_rng(11)
    forward = 4321.5
    strikes = np.arange(3900.0, 4700.0, 25.0)
    iv = 0.18 + 0.3 * (np.log(strikes / forward)) ** 2 + 0.002 * rng.standard_normal(strikes.size)
    chain = SliceQuotes.from_strikes(30 / 365, forward, strikes, iv)
    surface = build_surface([chain, _quotes(VOGT, np.linspace(-1.0, 1.5, 26))])

    result = surface.iv_at_strike(strikes, 30 / 365, forward)

    assert surface.status == "fallback"
    np.testing.assert_array_equal(result, iv)


def test_vol_surface_fallback_between_strikes_interpolates_total_variance_linearly() -> None:
    k = np.array([-0.2, -0.1, 0.0, 0.1])
    iv = np.array([0.30, 0.25, 0.20, 0.22])
    surface = build_surface([SliceQuotes(T=0.5, forward=1.0, k=k, iv=iv)])

    result = surface.iv(np.array([-0.15, 0.05, -0.5, 0.4]), 0.5)

    expected = np.sqrt([(0.30**2 + 0.25**2) / 2, (0.20**2 + 0.22**2) / 2, 0.30**2, 0.22**2])
    np.testing.assert_allclose(result, expected, rtol=1e-15)


def test_vol_surface_fallback_with_grid_matches_scalar_reference() -> None:
    slices = [
        SliceQuotes(
            T=0.1, forward=1.0, k=np.array([-0.1, 0.0, 0.1]), iv=np.array([0.3, 0.2, 0.25])
        ),
        SliceQuotes(
            T=0.3, forward=1.0, k=np.array([-0.2, 0.05, 0.2]), iv=np.array([0.28, 0.21, 0.2])
        ),
    ]
    surface = build_surface(slices)
    k = np.linspace(-0.3, 0.3, 13)[:, None]
    T = np.array([0.05, 0.1, 0.2, 0.3, 0.5])[None, :]

    result = surface.iv(k, T)

    expected = [[_reference_iv(surface, kk, tt) for tt in T[0]] for kk in k[:, 0]]
    np.testing.assert_allclose(result, expected, rtol=1e-12)


def test_vol_surface_fallback_with_duplicate_strikes_averages_variance() -> None:
    k = np.array([-0.1, 0.0, 0.0, 0.1])
    iv = np.array([0.25, 0.20, 0.22, 0.21])
    surface = build_surface([SliceQuotes(T=0.5, forward=1.0, k=k, iv=iv)])

    assert surface.iv(0.0, 0.5) == pytest.approx(math.sqrt((0.20**2 + 0.22**2) / 2), rel=1e-15)


def test_build_surface_with_duplicate_expiry_raises_value_error() -> None:
    q = _ssvi_quotes()[0]

    with pytest.raises(ValueError, match="two slices share T="):
        build_surface([q, q])


def test_build_surface_with_no_quotes_raises_value_error() -> None:
    with pytest.raises(ValueError, match="at least one expiry"):
        build_surface([])


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"iv": np.array([0.2, np.nan])}, "drop quotes whose IV solve failed"),
        ({"iv": np.array([0.2, 0.0])}, "iv finite and > 0"),
        ({"iv": np.array([0.2])}, "equal length"),
        ({"T": 0.0}, "T must be a finite number of years > 0"),
        ({"forward": -1.0}, "forward must be finite and > 0"),
        ({"weights": np.array([1.0, -1.0])}, "weights must be finite, >= 0"),
    ],
)
def test_slice_quotes_with_invalid_input_raises_value_error(
    kwargs: dict[str, object], fragment: str
) -> None:
    base: dict[str, object] = {
        "T": 0.25,
        "forward": 100.0,
        "k": np.array([-0.1, 0.1]),
        "iv": np.array([0.2, 0.21]),
    }

    with pytest.raises(ValueError, match=fragment):
        SliceQuotes(**(base | kwargs))  # type: ignore[arg-type]


# --- arbitrage-free refits (tick noise on short, steeply skewed slices) -------------------

NOISY_TIMES = (2 / 365, 7 / 365, 14 / 365, 30 / 365)


def _equity_ssvi(T: float, *, vol: float = 0.13) -> SviSlice:
    """SPY-like SSVI slice (rho -0.75, eta 1.1, gamma 0.4): the smile's minimum is far right."""
    return _ssvi_slice(T, rho=-0.75, eta=1.1, gamma=0.4, theta=vol * vol * T)


def _noisy_quotes(
    seed: int = 0, *, last_vol: float = 0.13
) -> tuple[list[SliceQuotes], list[SviSlice]]:
    """Quotes from -3 to +1 ATM deviations with positive tick-like noise of ~2e-4 in vol.

    Mids sit at or above the model value on a tick grid, so the quoted vols are biased up;
    calls barely cover the right wing, where the smile turns up.
    """
    rng = np.random.default_rng(seed)
    quotes, truth = [], []
    for i, T in enumerate(NOISY_TIMES):
        s = _equity_ssvi(T, vol=last_vol if i == len(NOISY_TIMES) - 1 else 0.13)
        sd = math.sqrt(s.total_variance(0.0))
        k = np.linspace(-3 * sd, sd, 25)
        iv = s.implied_vol(k) + 2e-4 * np.abs(rng.standard_normal(k.size))
        quotes.append(SliceQuotes(T=T, forward=100.0, k=k, iv=iv))
        truth.append(s)
    return quotes, truth


def test_build_surface_with_tick_noise_on_skewed_slices_refits_arbitrage_free() -> None:
    quotes, truth = _noisy_quotes()
    best = [fit_svi(q.k, q.total_variance, q.T) for q in quotes]

    surface = build_surface(quotes)

    # The unconstrained best fits bend the barely quoted right wing (the old failure).
    assert any("Roger Lee" in f for f in arbitrage_diagnostics(best))
    assert surface.status == "ok", surface.diagnostics
    assert arbitrage_diagnostics(surface.slices) == []
    for q, fitted, s in zip(quotes, surface.slices, truth, strict=True):
        # Noise |N(0, 2e-4)| has mean 1.6e-4: 5e-4 is the bias plus 1.7 noise deviations.
        np.testing.assert_allclose(fitted.implied_vol(q.k), s.implied_vol(q.k), atol=5e-4)
        assert fitted.rmse <= best[quotes.index(q)].rmse + 0.001


def test_build_surface_with_noisy_crossed_expiries_still_falls_back_on_calendar() -> None:
    # The last expiry's ATM total variance 28 % (0.85**2) below the previous expiry's: a
    # calendar arbitrage in the quotes themselves, which no refit within 0.1 vol point hides.
    quotes, _ = _noisy_quotes(last_vol=0.13 * 0.85 * math.sqrt(14 / 30))

    surface = build_surface(quotes)

    assert surface.status == "fallback"
    assert any(
        d.startswith("calendar arbitrage between T=0.0384 and T=0.0822")
        for d in surface.diagnostics
    )


def test_fit_svi_with_ssvi_shape_and_exact_ssvi_data_recovers_slice() -> None:
    true = _equity_ssvi(0.1)
    sd = math.sqrt(true.total_variance(0.0))
    k = np.linspace(-3 * sd, 2 * sd, 15)

    fitted = fit_svi(k, true.total_variance(k), true.T, shape="ssvi")

    for name in ("a", "b", "rho", "m", "sigma"):
        assert getattr(fitted, name) == pytest.approx(getattr(true, name), rel=1e-5, abs=1e-9)
    assert fitted.rmse < 1e-8


def test_fit_svi_with_ssvi_shape_on_vogt_quotes_is_butterfly_free() -> None:
    k = np.linspace(-1.0, 1.5, 26)

    fitted = fit_svi(k, VOGT.total_variance(k), VOGT.T, shape="ssvi")

    assert arbitrage_diagnostics([VOGT]) != []
    assert arbitrage_diagnostics([fitted]) == []
    assert fitted.wing_slope < 2.0


def test_fit_svi_with_weights_minimises_weighted_implied_vol_misses() -> None:
    # Wide smile (total variance 0.03 .. 0.25) with 0.5 vol point noise: the fit must be a
    # minimum of sum(weights * (iv_fit - iv)**2) linearised as weights / (4 w T) * dw**2,
    # not of the unscaled total-variance misses (which overweight the high-variance wing).
    rng = np.random.default_rng(5)
    true = SviSlice(T=1.0, a=0.02, b=0.25, rho=-0.5, m=0.05, sigma=0.2)
    k = np.linspace(-1.2, 0.8, 21)
    iv = true.implied_vol(k) + 0.005 * rng.standard_normal(k.size)
    w = iv**2 * true.T
    weights = rng.uniform(0.5, 2.0, k.size)

    def objective(p: np.ndarray) -> float:
        a, b, rho, m, sigma = p
        x = k - m
        model = a + b * (rho * x + np.sqrt(x * x + sigma * sigma))
        return float(np.sum(weights / (4 * w * true.T) * (model - w) ** 2))

    fitted = fit_svi(k, w, true.T, weights)

    start = np.array([fitted.a, fitted.b, fitted.rho, fitted.m, fitted.sigma])
    better = minimize(
        objective,
        start,
        method="Nelder-Mead",
        options={"xatol": 1e-12, "fatol": 1e-16, "maxiter": 4000},
    )
    assert objective(start) <= better.fun * (1 + 1e-6)
