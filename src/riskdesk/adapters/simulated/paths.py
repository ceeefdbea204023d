"""Seeded intraday paths and a live-mode market that re-marks quotes along them.

Model ("Heston-lite", one step per minute)
------------------------------------------
For underlying ``i`` with variance ``v_i`` (full-truncation Euler, ``v+ = max(v, 0)``)::

    ln S_i += (r - q_i - v_i+/2) dt + sqrt(v_i+ dt) Z_i
    v_i    += kappa (vbar_i - v_i+) dt + xi_i sqrt(v_i+ dt) W_i

* ``dt = 1 / (252 * 390)``: one minute of a 6.5-hour session in a 252-session trading year,
  so a simulated day has the variance of a trading day (the clock is not checked for open
  hours: every step is one market minute).
* ``vbar_i = v_i(0)`` is the square of the one-month ATM vol of the seeded surface;
  ``kappa`` is ``SimulationConfig.mean_reversion``; ``xi_i = 2 sqrt(vbar_i) * vol_of_vol_i``
  so that ``vol_of_vol`` is the annualized volatility of ``ln(ATM vol)``.
* Correlated returns from two factors: ``Z_i = a_i M + b_i X + sqrt(1 - a_i^2 - b_i^2) e_i``
  (``M`` market, ``X`` tech sector, ``a``/``b`` the spec's ``market_beta``/``sector_beta``),
  and ``W_i = rho_i Z_i + sqrt(1 - rho_i^2) u_i`` (leverage: ``rho_i`` = ``spot_vol_corr``).

Factor shocks come from one stream and each symbol's own shocks from a stream keyed by the
symbol, so a symbol's path does not depend on which other symbols are simulated.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from riskdesk.adapters.simulated.config import DEFAULT_CONFIG, SimulationConfig
from riskdesk.adapters.simulated.market import (
    MarketLayout,
    build_layout,
    mark_market,
    resolve_symbols,
    symbol_key,
    underlying_params,
)
from riskdesk.domain.market import MarketSnapshot, SnapshotMode

__all__ = ["MINUTES_PER_SESSION", "IntradayPaths", "intraday_paths", "simulate_live"]

FloatArray = npt.NDArray[np.float64]

MINUTES_PER_SESSION = 390
"""Minutes in a regular 09:30-16:00 New York session."""

_DT = 1.0 / (252 * MINUTES_PER_SESSION)
_ONE_MONTH = 30.0 / 365.0
_SALT_FACTORS = 3
_SALT_IDIO = 4


@dataclass(frozen=True, slots=True)
class IntradayPaths:
    """Simulated minute paths of spots and variances.

    ``spots[symbol]`` and ``variances[symbol]`` each have ``minutes + 1`` values (index 0 is
    ``start``).
    """

    start: datetime
    spots: Mapping[str, FloatArray]
    variances: Mapping[str, FloatArray]

    def vol_scale(self, symbol: str) -> FloatArray:
        """``sqrt(v(t) / v(0))``: the multiplier of the short-dated ATM vol along the path."""
        v = self.variances[symbol]
        result: FloatArray = np.sqrt(np.maximum(v, 1e-12) / v[0])
        return result


def _start_minute(start: datetime) -> int:
    if start.tzinfo is None or start.utcoffset() is None:
        raise ValueError(f"start must be a timezone-aware datetime (UTC), got {start!r}")
    return math.floor(start.timestamp() / 60.0)


def simulate_paths(
    *,
    seed: int,
    start: datetime,
    minutes: int,
    symbols: Sequence[str] | None = None,
    spots: Mapping[str, float] | None = None,
    config: SimulationConfig | None = None,
) -> IntradayPaths:
    """Simulate spot and variance paths (model in the module docstring).

    Spots start at the seeded spots of :func:`~riskdesk.adapters.simulated.generate_market`
    unless ``spots`` are given.
    """
    cfg = config if config is not None else DEFAULT_CONFIG
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    if minutes < 0:
        raise ValueError(f"minutes must be >= 0, got {minutes}")
    minute0 = _start_minute(start)
    names = resolve_symbols(symbols, cfg)
    factor_rng = np.random.default_rng(np.random.SeedSequence([seed, _SALT_FACTORS, minute0]))
    factors = factor_rng.standard_normal((minutes, 2))
    out_spots: dict[str, FloatArray] = {}
    out_var: dict[str, FloatArray] = {}
    for symbol in names:
        spec = cfg.spec(symbol)
        params = underlying_params(spec, seed=seed, config=cfg)
        s0 = float(spots[symbol]) if spots is not None and symbol in spots else float(params.spot)
        if s0 <= 0:
            raise ValueError(f"start spot of {symbol} must be > 0, got {s0}")
        vbar = params.atm_vol(_ONE_MONTH) ** 2
        xi = 2.0 * math.sqrt(vbar) * spec.vol_of_vol
        rng = np.random.default_rng(
            np.random.SeedSequence([seed, _SALT_IDIO, minute0, symbol_key(symbol)])
        )
        own = rng.standard_normal((minutes, 2))
        a, b = spec.market_beta, spec.sector_beta
        z = a * factors[:, 0] + b * factors[:, 1] + math.sqrt(1.0 - a * a - b * b) * own[:, 0]
        rho = spec.spot_vol_corr
        w = rho * z + math.sqrt(1.0 - rho * rho) * own[:, 1]
        drift = cfg.rate - params.dividend_yield
        log_s = np.empty(minutes + 1)
        var = np.empty(minutes + 1)
        log_s[0] = math.log(s0)
        var[0] = vbar
        kappa = cfg.mean_reversion
        sqrt_dt = math.sqrt(_DT)
        # A sequential recursion over minutes; a day is 390 steps, so plain Python is fine.
        for t in range(minutes):
            v = var[t] if var[t] > 0.0 else 0.0
            root = math.sqrt(v) * sqrt_dt
            log_s[t + 1] = log_s[t] + (drift - 0.5 * v) * _DT + root * z[t]
            var[t + 1] = var[t] + kappa * (vbar - v) * _DT + xi * root * w[t]
        path = np.exp(log_s)
        path[0] = s0  # exactly the start spot, not exp(log(s0))
        out_spots[symbol] = path
        out_var[symbol] = var
    return IntradayPaths(start=start, spots=out_spots, variances=out_var)


def intraday_paths(
    *,
    seed: int,
    start: datetime,
    minutes: int,
    symbols: Sequence[str] | None = None,
    spots: Mapping[str, float] | None = None,
    config: SimulationConfig | None = None,
) -> dict[str, FloatArray]:
    """Correlated minute-by-minute spot paths, one float64 array of ``minutes + 1`` per symbol.

    Parameters
    ----------
    seed : int
        Non-negative seed; the same seed and ``start`` give the same paths.
    start : datetime
        Timezone-aware time of index 0 (also part of the random stream's key).
    minutes : int
        Number of one-minute steps.
    symbols : Sequence[str] or None
        Configured underlyings to simulate (default all).
    spots : Mapping[str, float] or None
        Start spots; default the seeded spots of the generated market.
    config : SimulationConfig or None
        Universe; :data:`~.config.DEFAULT_CONFIG` when None.

    Examples
    --------
    >>> from datetime import UTC, datetime
    >>> p = intraday_paths(seed=1, start=datetime(2025, 3, 3, 15, tzinfo=UTC), minutes=390,
    ...                    symbols=["SPY", "QQQ"])
    >>> p["SPY"].shape
    (391,)

    """
    paths = simulate_paths(
        seed=seed, start=start, minutes=minutes, symbols=symbols, spots=spots, config=config
    )
    return dict(paths.spots)


def _cents(value: float) -> Decimal:
    return Decimal(round(value * 100)).scaleb(-2)


def simulate_live(
    *,
    seed: int,
    start: datetime,
    steps: int,
    step_minutes: int = 1,
    symbols: Sequence[str] | None = None,
    max_expiry_days: int = 730,
    strikes_per_expiry: int | None = None,
    config: SimulationConfig | None = None,
) -> Iterator[MarketSnapshot]:
    """LIVE snapshots every ``step_minutes`` along a simulated path, re-marking every quote.

    The contracts are listed once at ``start`` (as :func:`generate_market` would), then
    snapshot ``i`` is at ``start + i * step_minutes``: spots from :func:`intraday_paths`
    (rounded to the cent), the short-dated part of the vol surface scaled by the simulated
    variance, time to expiry shrinking, and contracts that expired in between dropped.
    Snapshot 0 equals ``generate_market(seed=seed, as_of=start, ...)``.

    Parameters
    ----------
    seed, start, symbols, max_expiry_days, strikes_per_expiry, config
        As for :func:`~riskdesk.adapters.simulated.generate_market`.
    steps : int
        Number of snapshots (>= 1).
    step_minutes : int
        Minutes between snapshots (>= 1).

    Yields
    ------
    MarketSnapshot
        LIVE snapshots with diagnostics filled.

    """
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    if step_minutes < 1:
        raise ValueError(f"step_minutes must be >= 1, got {step_minutes}")
    layout: MarketLayout = build_layout(
        seed=seed,
        as_of=start,
        symbols=symbols,
        max_expiry_days=max_expiry_days,
        strikes_per_expiry=strikes_per_expiry,
        config=config,
    )
    names = [chain.params.spec.symbol for chain in layout.chains]
    spots0 = {chain.params.spec.symbol: float(chain.params.spot) for chain in layout.chains}
    paths = simulate_paths(
        seed=seed,
        start=layout.listed_at,
        minutes=(steps - 1) * step_minutes,
        symbols=names,
        spots=spots0,
        config=layout.config,
    )
    scales = {symbol: paths.vol_scale(symbol) for symbol in names}
    for i in range(steps):
        t = i * step_minutes
        as_of = layout.listed_at + timedelta(minutes=t)
        spots = {
            symbol: (
                layout.chains[j].params.spot if t == 0 else _cents(float(paths.spots[symbol][t]))
            )
            for j, symbol in enumerate(names)
        }
        vol_scales = {symbol: float(scales[symbol][t]) for symbol in names}
        yield mark_market(
            layout, as_of=as_of, spots=spots, vol_scales=vol_scales, mode=SnapshotMode.LIVE
        )
