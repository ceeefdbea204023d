"""Evaluate a trade against a market snapshot: value, P/L, Greeks, scenario grids, payoff stats.

``evaluate(trade, snapshot, model_config, grid)`` is a pure function of its four inputs (the
store keys results by their four hashes), so the same inputs always give the same
:meth:`EvaluationResult.to_json_dict`.

Method
------
* **Legs.** Each included leg is resolved by :mod:`riskdesk.analytics._legs` (vol per the
  config's ``vol_source``, time to expiry from the snapshot time to the contract's expiry
  instant in the config's time basis, rate and carry from the snapshot overrides). A leg that
  cannot be valued gets a warning naming it and the reason and is left out of everything.
* **Value and P/L.** ``value = sum(quantity * multiplier * price)`` with model prices
  (``pricing_mode="model"``) or quote mids / marks; ``pl_open = value - entry_cost - fees``
  with ``entry_cost = sum(quantity * entry_price * multiplier)``.
* **Greeks.** Per-unit Greeks from :func:`riskdesk.pricing.greeks`; position Greeks multiply
  them by ``quantity * multiplier``. Units: delta in shares, gamma in shares per $1, vega in $
  per vol point, theta in $ per day (``theta_convention``), rho in $ per rate point;
  ``dollar_delta = delta * spot``. Stock legs have delta 1 per share.
* **Scenario grids** (sticky strike: each leg keeps its own vol, plus the grid's vol shift).
  Spot point ``i`` moves every underlying by the grid's move ``i`` (percent of its spot, or
  ``k`` standard deviations of its reference vol over the horizon). All points of all legs are
  stacked into one array per model and priced with one kernel call:

  - ``spot_time_pl[d][i]``: P/L at grid date ``d`` (T+0 ... last expiry) and spot ``i``;
  - ``spot_vol_pl[j][i]``: P/L at the evaluation time, vol shift ``j`` and spot ``i``;
  - ``expiry_pl[i]``: P/L with every leg at intrinsic value (payoff at the last expiry).
* **Reference vol** of an underlying: vega-weighted mean of its option legs' vols
  (``sum(|vega_i| sigma_i) / sum(|vega_i|)``; plain mean when all vegas vanish), else the
  provider IV of the chain quote nearest the money at the expiry nearest the horizon.
* **Breakevens** lie on the path ``S_u = S0_u * (1 + p/100)`` (one ``p`` moves all
  underlyings alike) and are reported as ``spot_move_pct`` plus the spot of each underlying.
  Expiry breakevens: sign changes of the piecewise-linear expiry P/L on its kinks (strikes)
  plus a 201-point grid from ``S = 0`` to beyond the last strike (and the analytic root of
  the linear tail). T+0 breakevens: sign changes on a 201-point grid over the scenario
  grid's spot range of the model P/L; only roots inside that range are reported. Both are
  refined by Brent's method (scipy's ``brentq`` step rule, vectorized over the brackets in
  :mod:`riskdesk.analytics._roots` so each iteration is one kernel call for all roots).
* **Stock legs and dividends.** A share held across an ex-date earns the dividend (a short
  share owes it): at every grid date the stock leg is worth ``S + sum of the dividends going
  ex between the evaluation time and that date`` (cash, not compounded), and at expiry
  (max profit / loss, expiry breakevens, expiry P/L, probability of profit) the dividends
  going ex up to the trade's last expiry are credited. Option legs price the same dividends
  as escrowed (``S - PV(dividends)``).
* **Max profit / max loss** at expiry (every leg at intrinsic). The expiry P/L is a sum of
  one piecewise-linear function per underlying, so its extremes over all spot vectors are
  the sums of each underlying's extremes over ``{0} U strikes``. Above an underlying's highest
  strike the slope is its net call + stock exposure in shares (exact Decimal arithmetic); a
  positive slope makes the profit ``unbounded``, a negative one the loss. The downside is
  bounded (``S -> 0``). ``max_loss`` is the lowest P/L (negative when the trade can lose).
* **Probability of profit** (single underlying with option legs): the probability that the
  expiry P/L is > 0 when ``S_T`` is lognormal with forward
  ``F = (S0 - PV(dividends)) * exp((r - q) T)`` and the reference vol over ``T`` = time to
  the last expiry (the risk-neutral density of that vol).
  The expiry P/L is integrated exactly over the density: ``PoP = sum over profitable
  intervals [a, b] between breakevens of N(z(b)) - N(z(a))``, ``z(S) = (ln(S/F) +
  sigma^2 T / 2) / (sigma sqrt(T))``. For a multi-expiry trade the same is done at the last
  expiry with every leg at intrinsic (a warning says so).
* **Model inputs.** Each valued leg's ``model_inputs`` holds the exact keyword arguments of
  :func:`riskdesk.pricing.price` that value it (``S, K, T, r, q, sigma, is_call``,
  ``dividends`` as ``[times, amounts]``, ``model``, ``engine``) plus the time basis,
  valuation and expiry instants, vol source, the quote price a vol was solved from and the
  forward, so any leg can be repriced outside riskdesk.
* **Units.** ``grid.units`` labels every axis: spot moves in percent or standard deviations,
  spots in the underlying's currency, vol shifts in vol points, dates as ISO-8601 UTC
  instants (``dates_local`` repeats them with the New York offset), P/L in the legs'
  currency.
* A vol shift that takes a leg's vol below :attr:`ScenarioGrid.MIN_VOL` is floored there;
  the ``vol_shift_floored`` warning names the legs and shifts.
* Output floats are not rounded; :meth:`EvaluationResult.to_json_dict` refuses NaN/inf.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from scipy.special import ndtr

from riskdesk.analytics._common import (
    FloatArray,
    Issue,
    check_finite_json,
    float_list,
    iso_utc,
)
from riskdesk.analytics._legs import (
    GREEK_NAMES,
    LegResolution,
    TradeLike,
    ValuedLeg,
    expiry_instant,
    forward_price,
    option_greeks,
    price_options,
    resolve_legs,
    scenario_datetime,
    snapshot_hash_cached,
    stock_dividend_credit,
    times_from,
    trade_identity,
)
from riskdesk.analytics._roots import sign_change_roots
from riskdesk.domain.configs import ModelConfig, PricingMode, ScenarioGrid, SpotRangeKind
from riskdesk.domain.hashing import canonicalize, decimal_str
from riskdesk.domain.instruments import OptionContract, Stock
from riskdesk.domain.market import MarketSnapshot

__all__ = [
    "BREAKEVEN_GRID_POINTS",
    "EVALUATION_SCHEMA",
    "Breakeven",
    "EvaluationResult",
    "Extremum",
    "LegEvaluation",
    "evaluate",
]

EVALUATION_SCHEMA = 2
"""Version of the layout of :meth:`EvaluationResult.to_json_dict`."""

BREAKEVEN_GRID_POINTS = 201
"""Points of the fine grids on which breakeven sign changes are searched."""

POSITION_GREEKS: tuple[str, ...] = ("delta", "gamma", "vega", "theta", "rho", "dollar_delta")
"""Keys of position / trade Greeks."""

_NO_HORIZON_YEARS = 30.0 / 365.0
_FALLBACK_REF_VOL = 0.20
_EXCHANGE_ZONE = ZoneInfo("America/New_York")


@dataclass(frozen=True, slots=True)
class Breakeven:
    """A zero of a P/L curve on the common path ``S_u = S0_u * (1 + p / 100)``."""

    spot_move_pct: float
    spots: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        """Return ``{"spot_move_pct", "spots"}``."""
        return {"spot_move_pct": self.spot_move_pct, "spots": dict(self.spots)}


@dataclass(frozen=True, slots=True)
class Extremum:
    """Max profit or max loss at expiry: a value, or ``unbounded`` (value None)."""

    value: float | None
    unbounded: bool

    def to_dict(self) -> dict[str, Any]:
        """Return ``{"unbounded", "value"}``."""
        return {"unbounded": self.unbounded, "value": self.value}


@dataclass(frozen=True, slots=True)
class LegEvaluation:
    """Per-leg output. Fields after ``status`` are None for legs that were not valued."""

    leg: str
    label: str
    instrument: dict[str, Any]
    quantity: str
    include: bool
    status: str
    underlying: str
    entry_cost: float
    fees: float
    model: str | None = None
    engine: str | None = None
    vol: float | None = None
    vol_source: str | None = None
    time_to_expiry: float | None = None
    spot: float | None = None
    price: float | None = None
    value: float | None = None
    pl_open: float | None = None
    greeks: dict[str, float] | None = None
    position_greeks: dict[str, float] | None = None
    model_inputs: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain dict of every field."""
        return {
            "leg": self.leg,
            "label": self.label,
            "instrument": self.instrument,
            "quantity": self.quantity,
            "include": self.include,
            "status": self.status,
            "underlying": self.underlying,
            "entry_cost": self.entry_cost,
            "fees": self.fees,
            "model": self.model,
            "engine": self.engine,
            "vol": self.vol,
            "vol_source": self.vol_source,
            "time_to_expiry": self.time_to_expiry,
            "spot": self.spot,
            "price": self.price,
            "value": self.value,
            "pl_open": self.pl_open,
            "greeks": None if self.greeks is None else dict(self.greeks),
            "position_greeks": None if self.position_greeks is None else dict(self.position_greeks),
            "model_inputs": None if self.model_inputs is None else dict(self.model_inputs),
        }


@dataclass(frozen=True, slots=True, eq=False)
class EvaluationResult:
    """Everything :func:`evaluate` computes; arrays are numpy, see the module docstring.

    ``spot_time_pl`` is ``(n_dates, n_spots)``, ``spot_vol_pl`` ``(n_vol_shifts, n_spots)``,
    ``expiry_pl`` ``(n_spots,)``; ``spots[u]`` is the spot axis of underlying ``u``.
    ``reference_vols`` / ``horizon_years`` are the trade's own (probability of profit);
    ``axis_vols`` / ``axis_horizon_years`` size a sigma spot range and may cover two trades
    (compare shares one set of axes).
    """

    trade: dict[str, Any]
    snapshot_hash: str
    model_config_hash: str
    scenario_grid_hash: str
    as_of: datetime
    underlyings: tuple[str, ...]
    value: float
    entry_cost: float
    fees: float
    pl_open: float
    greeks: dict[str, float]
    greeks_by_underlying: dict[str, dict[str, float]]
    max_profit: Extremum
    max_loss: Extremum
    breakevens_expiry: tuple[Breakeven, ...]
    breakevens_t0: tuple[Breakeven, ...]
    probability_of_profit: float | None
    reference_vols: dict[str, float]
    horizon_years: float
    legs: tuple[LegEvaluation, ...]
    spot_range_kind: str
    spot_moves: FloatArray
    spots: dict[str, FloatArray]
    axis_vols: dict[str, float]
    axis_horizon_years: float
    vol_shifts: FloatArray
    dates: tuple[datetime, ...]
    date_years: FloatArray
    spot_time_pl: FloatArray
    spot_vol_pl: FloatArray
    expiry_pl: FloatArray
    warnings: tuple[Issue, ...] = field(default=())
    errors: tuple[Issue, ...] = field(default=())
    units: dict[str, str] = field(default_factory=dict)

    @property
    def valued_leg_count(self) -> int:
        """Number of legs that were valued (status ``ok``)."""
        return sum(1 for leg in self.legs if leg.status == "ok")

    @property
    def nothing_valued(self) -> bool:
        """True when no leg was valued (every leg expired, excluded or toggled off).

        The figures are then all zero or ``-cost``; callers should report the errors (for
        included legs that could not be valued: ``no_valued_legs``) and fail.
        """
        return self.valued_leg_count == 0

    def measures_dict(self) -> dict[str, Any]:
        """Scalar measures (the store's ``measures_json``)."""
        return {
            "value": self.value,
            "entry_cost": self.entry_cost,
            "fees": self.fees,
            "pl_open": self.pl_open,
            "greeks": dict(self.greeks),
            "greeks_by_underlying": {u: dict(g) for u, g in self.greeks_by_underlying.items()},
            "max_profit": self.max_profit.to_dict(),
            "max_loss": self.max_loss.to_dict(),
            "breakevens_expiry": [b.to_dict() for b in self.breakevens_expiry],
            "breakevens_t0": [b.to_dict() for b in self.breakevens_t0],
            "probability_of_profit": self.probability_of_profit,
            "reference_vols": dict(self.reference_vols),
            "horizon_years": self.horizon_years,
        }

    def grid_dict(self) -> dict[str, Any]:
        """Scenario axes."""
        return {
            "spot_range_kind": self.spot_range_kind,
            "spot_moves": float_list(self.spot_moves),
            "spots": {u: float_list(s) for u, s in self.spots.items()},
            "axis_vols": dict(self.axis_vols),
            "axis_horizon_years": self.axis_horizon_years,
            "vol_shifts": float_list(self.vol_shifts),
            "dates": [iso_utc(d) for d in self.dates],
            "dates_local": [d.astimezone(_EXCHANGE_ZONE).isoformat() for d in self.dates],
            "date_years": float_list(self.date_years),
            "units": dict(self.units),
        }

    def curves_dict(self) -> dict[str, Any]:
        """Scenario P/L arrays as nested lists."""
        return {
            "spot_time_pl": float_list(self.spot_time_pl),
            "spot_vol_pl": float_list(self.spot_vol_pl),
            "expiry_pl": float_list(self.expiry_pl),
        }

    def to_json_dict(self) -> dict[str, Any]:
        """Plain-JSON dict; raises :class:`NonFiniteResultError` if a NaN/inf slipped in.

        Top-level keys: ``schema, inputs, underlyings, measures, legs, grid, curves,
        warnings, errors``.
        """
        out = {
            "schema": EVALUATION_SCHEMA,
            "inputs": {
                "trade": dict(self.trade),
                "snapshot_hash": self.snapshot_hash,
                "model_config_hash": self.model_config_hash,
                "scenario_grid_hash": self.scenario_grid_hash,
                "as_of": iso_utc(self.as_of),
            },
            "underlyings": list(self.underlyings),
            "measures": self.measures_dict(),
            "legs": [leg.to_dict() for leg in self.legs],
            "grid": self.grid_dict(),
            "curves": self.curves_dict(),
            "warnings": [w.to_dict() for w in self.warnings],
            "errors": [e.to_dict() for e in self.errors],
        }
        check_finite_json(out)
        return out


# --------------------------------------------------------------------------------------------
# preparation: legs, Greeks, reference vols
# --------------------------------------------------------------------------------------------
@dataclass(slots=True)
class Prepared:
    """A trade resolved against a snapshot, with base Greeks (shared with compare)."""

    trade: TradeLike
    snapshot: MarketSnapshot
    config: ModelConfig
    resolution: LegResolution
    unit_greeks: dict[str, FloatArray]
    values: FloatArray
    last_expiry: datetime | None
    warnings: list[Issue]
    errors: list[Issue]

    @property
    def legs(self) -> list[ValuedLeg]:
        """Valued legs."""
        return self.resolution.valued

    @property
    def underlyings(self) -> tuple[str, ...]:
        """Sorted underlyings of the valued legs."""
        return tuple(sorted({leg.underlying for leg in self.legs}))


def prepare(trade: TradeLike, snapshot: MarketSnapshot, config: ModelConfig) -> Prepared:
    """Resolve legs and compute per-unit base Greeks and values."""
    resolution = resolve_legs(trade, snapshot, config)
    legs = resolution.valued
    warnings = list(resolution.warnings)
    errors = list(resolution.errors)
    unit = option_greeks(legs, GREEK_NAMES)
    values = unit["price"].copy()
    if config.pricing_mode is not PricingMode.MODEL:
        for i, leg in enumerate(legs):
            if not leg.is_option:
                continue
            if leg.quote_price is not None:
                values[i] = leg.quote_price
            else:
                warnings.append(
                    Issue(
                        "no_quote_price",
                        f"leg {leg.ref} ({leg.leg.label}): the quote has no "
                        f"{config.pricing_mode.value}; valued with the model instead",
                        leg.ref,
                    )
                )
    expiries: list[datetime] = []
    for item in resolution.refs:
        instrument = item.leg.instrument
        if isinstance(instrument, OptionContract):
            try:
                instant = expiry_instant(instrument.expiry, instrument.settlement)
            except ValueError:
                continue
            if instant > snapshot.as_of:
                expiries.append(instant)
    valued_expiries = {leg.expiry for leg in legs if leg.expiry is not None}
    if len(valued_expiries) > 1:
        warnings.append(
            Issue(
                "multi_expiry",
                "the trade has several expiries: at-expiry measures (expiry P/L, max profit/"
                "loss, expiry breakevens, probability of profit) take every leg at intrinsic "
                "value at the last expiry and ignore the spot path between expiries",
            )
        )
    return Prepared(
        trade=trade,
        snapshot=snapshot,
        config=config,
        resolution=resolution,
        unit_greeks=unit,
        values=values,
        last_expiry=max(expiries) if expiries else None,
        warnings=warnings,
        errors=errors,
    )


def _position_greeks(prep: Prepared) -> dict[str, FloatArray]:
    legs = prep.legs
    pos = np.array([leg.position for leg in legs], dtype=np.float64)
    spot = np.array([leg.spot for leg in legs], dtype=np.float64)
    theta_scale = 365.0 / prep.config.theta_convention.days_per_year
    unit = prep.unit_greeks
    out = {
        "delta": pos * unit["delta"],
        "gamma": pos * unit["gamma"],
        "vega": pos * unit["vega"],
        "theta": pos * unit["theta"] * theta_scale,
        "rho": pos * unit["rho"],
    }
    out["dollar_delta"] = out["delta"] * spot
    return out


def _reference_vols(preps: Sequence[Prepared], horizon_at: datetime | None) -> dict[str, float]:
    weights: dict[str, float] = {}
    weighted: dict[str, float] = {}
    plain: dict[str, list[float]] = {}
    for prep in preps:
        vega = prep.unit_greeks["vega"]
        for i, leg in enumerate(prep.legs):
            if not leg.is_option:
                continue
            w = abs(leg.position * float(vega[i]))
            weights[leg.underlying] = weights.get(leg.underlying, 0.0) + w
            weighted[leg.underlying] = weighted.get(leg.underlying, 0.0) + w * leg.vol
            plain.setdefault(leg.underlying, []).append(leg.vol)
    out: dict[str, float] = {}
    for symbol in sorted(plain):
        if weights[symbol] > 0.0 and math.isfinite(weighted[symbol]):
            out[symbol] = weighted[symbol] / weights[symbol]
        else:
            out[symbol] = float(np.mean(plain[symbol]))
    # underlyings without option legs: the chain's provider IV nearest the money
    if preps:
        snapshot = preps[0].snapshot
        for prep in preps:
            for leg in prep.legs:
                if leg.underlying not in out:
                    chain = _chain_atm_vol(snapshot, leg.underlying, leg.spot, horizon_at)
                    if chain is not None:
                        out[leg.underlying] = chain
    return out


def _chain_atm_vol(
    snapshot: MarketSnapshot, symbol: str, spot: float, horizon_at: datetime | None
) -> float | None:
    best: tuple[float, float, list[float]] | None = None
    target = horizon_at or snapshot.as_of
    for quote in snapshot.options:
        contract = quote.contract
        iv = quote.iv
        if contract.underlying != symbol or iv is None or not math.isfinite(iv) or iv <= 0:
            continue
        try:
            instant = expiry_instant(contract.expiry, contract.settlement)
        except ValueError:
            continue
        if instant <= snapshot.as_of:
            continue
        key = (abs((instant - target).total_seconds()), abs(float(contract.strike) - spot))
        if best is None or key < best[:2]:
            best = (key[0], key[1], [iv])
        elif key == best[:2]:
            best[2].append(iv)
    return None if best is None else float(np.mean(best[2]))


# --------------------------------------------------------------------------------------------
# axes
# --------------------------------------------------------------------------------------------
@dataclass(slots=True)
class Axes:
    """Scenario axes shared by one or more trades (compare uses one set for A and B)."""

    kind: SpotRangeKind
    moves: FloatArray
    base_spots: dict[str, float]
    multipliers: dict[str, FloatArray]
    ref_vols: dict[str, float]
    horizon: float
    dates: tuple[datetime, ...]
    taus: FloatArray
    vol_shifts: FloatArray
    pct_range: tuple[float, float]
    warnings: list[Issue]
    errors: list[Issue]


def build_axes(preps: Sequence[Prepared], grid: ScenarioGrid) -> Axes:
    """Scenario axes for the union of the prepared trades' underlyings and expiries."""
    snapshot = preps[0].snapshot
    config = preps[0].config
    as_of = snapshot.as_of
    warnings: list[Issue] = []
    errors: list[Issue] = []
    base_spots: dict[str, float] = {}
    for prep in preps:
        for leg in prep.legs:
            base_spots.setdefault(leg.underlying, leg.spot)
    base_spots = dict(sorted(base_spots.items()))
    last = [p.last_expiry for p in preps if p.last_expiry is not None]
    last_expiry = max(last) if last else None
    horizon = float(times_from(as_of, [last_expiry], config)[0]) if last_expiry else 0.0
    ref_vols = _reference_vols(preps, last_expiry)
    moves = grid.spot_moves()
    multipliers: dict[str, FloatArray] = {}
    for symbol, spot in base_spots.items():
        if grid.spot_range_kind is SpotRangeKind.PERCENT:
            multipliers[symbol] = grid.spot_axis(spot) / spot
            continue
        vol = ref_vols.get(symbol)
        years = horizon
        if vol is None:
            errors.append(
                Issue(
                    "no_reference_vol",
                    f"no vol for {symbol} to size a sigma spot range (no option leg and no "
                    f"provider IV in the chain); its axis assumes {_FALLBACK_REF_VOL:.0%} vol",
                )
            )
            vol = _FALLBACK_REF_VOL
        if not years > 0.0:
            warnings.append(
                Issue(
                    "no_horizon",
                    "the trade has no option expiry to size a sigma spot range; the horizon "
                    "is taken as 30 days",
                )
            )
            years = _NO_HORIZON_YEARS
        multipliers[symbol] = grid.spot_axis(spot, ref_vol=vol, horizon=years) / spot
    if multipliers:
        lo = min(float(m[0]) for m in multipliers.values())
        hi = max(float(m[-1]) for m in multipliers.values())
    else:
        lo, hi = 1.0 + grid.spot_min / 100.0, 1.0 + grid.spot_max / 100.0
    pct_range = (100.0 * (lo - 1.0), 100.0 * (hi - 1.0))
    dates = _dates(grid, as_of, last_expiry, warnings, errors)
    taus = times_from(as_of, list(dates), config)
    if grid.n_dates is not None and last_expiry is not None:
        taus[-1] = horizon  # exactly "at expiry" for the last-expiring legs
    return Axes(
        kind=grid.spot_range_kind,
        moves=moves,
        base_spots=base_spots,
        multipliers=multipliers,
        ref_vols=ref_vols,
        horizon=horizon,
        dates=dates,
        taus=np.maximum(taus, 0.0),
        vol_shifts=np.asarray(grid.vol_shifts, dtype=np.float64),
        pct_range=pct_range,
        warnings=warnings,
        errors=errors,
    )


def _dates(
    grid: ScenarioGrid,
    as_of: datetime,
    last_expiry: datetime | None,
    warnings: list[Issue],
    errors: list[Issue],
) -> tuple[datetime, ...]:
    if grid.n_dates is not None:
        if last_expiry is None:
            warnings.append(
                Issue(
                    "no_expiry",
                    "the trade has no unexpired option leg: the spot x time curves have only "
                    "the evaluation time",
                )
            )
            return (as_of,)
        n = grid.n_dates
        span = last_expiry - as_of
        return (*(as_of + span * (k / (n - 1)) for k in range(n - 1)), last_expiry)
    resolved = sorted(scenario_datetime(d) for d in grid.dates or ())
    kept = tuple(d for d in resolved if d >= as_of)
    if len(kept) < len(resolved):
        dropped = [iso_utc(d) for d in resolved if d < as_of]
        errors.append(
            Issue(
                "grid_date_before_snapshot",
                f"grid dates {dropped} are before the snapshot time {iso_utc(as_of)} and were "
                "dropped; use dates on or after it",
            )
        )
    if not kept:
        return (as_of,)
    return kept


# --------------------------------------------------------------------------------------------
# payoff at expiry
# --------------------------------------------------------------------------------------------
def _intrinsic(legs: Sequence[ValuedLeg], spots: FloatArray) -> FloatArray:
    """Per-unit value at expiry of each leg; ``spots`` is ``(n_legs, n_points)``."""
    strikes = np.array([[leg.strike] for leg in legs], dtype=np.float64)
    calls = np.array([[leg.is_call] for leg in legs], dtype=bool)
    options = np.array([[leg.is_option] for leg in legs], dtype=bool)
    payoff = np.maximum(np.where(calls, spots - strikes, strikes - spots), 0.0)
    result: FloatArray = np.where(options, payoff, spots)
    return result


def _extremes(legs: Sequence[ValuedLeg], cost: float) -> tuple[Extremum, Extremum]:
    if not legs:
        return Extremum(-cost, False), Extremum(-cost, False)
    best = 0.0
    worst = 0.0
    up_unbounded = down_unbounded = False
    for symbol in sorted({leg.underlying for leg in legs}):
        group = [leg for leg in legs if leg.underlying == symbol]
        nodes = np.array([0.0, *sorted({leg.strike for leg in group if leg.is_option})])
        pos = np.array([[leg.position] for leg in group])
        values = (pos * _intrinsic(group, np.broadcast_to(nodes, (len(group), nodes.size)))).sum(
            axis=0
        )
        net = sum(
            (
                leg.leg.quantity * leg.leg.multiplier
                for leg in group
                if not leg.is_option or leg.is_call
            ),
            Decimal(0),
        )
        if net > 0:
            up_unbounded = True
        else:
            best += float(values.max())
        if net < 0:
            down_unbounded = True
        else:
            worst += float(values.min())
    max_profit = Extremum(None, True) if up_unbounded else Extremum(best - cost, False)
    max_loss = Extremum(None, True) if down_unbounded else Extremum(worst - cost, False)
    return max_profit, max_loss


def _path_spots(legs: Sequence[ValuedLeg], pct: FloatArray) -> FloatArray:
    spot = np.array([[leg.spot] for leg in legs], dtype=np.float64)
    result: FloatArray = spot * (1.0 + np.asarray(pct, dtype=np.float64) / 100.0)
    return result


def _expiry_roots(legs: Sequence[ValuedLeg], cost: float) -> list[float]:
    """Breakevens (percent moves on the common path) of the expiry P/L."""
    if not legs:
        return []
    pos = np.array([[leg.position] for leg in legs], dtype=np.float64)

    def pl(pct: FloatArray) -> FloatArray:
        total: FloatArray = (pos * _intrinsic(legs, _path_spots(legs, pct))).sum(axis=0) - cost
        return total

    kinks = sorted({100.0 * (leg.strike / leg.spot - 1.0) for leg in legs if leg.is_option})
    last = kinks[-1] if kinks else -100.0
    top = max(last, 0.0) + 100.0
    slope = sum(leg.position * leg.spot / 100.0 for leg in legs if not leg.is_option or leg.is_call)
    at_last = float(pl(np.array([last]))[0])
    if slope != 0.0 and at_last * slope < 0.0:
        tail = last - at_last / slope
        top = max(top, tail + abs(tail - last) + 1.0)
    nodes = np.unique(
        np.concatenate([[-100.0], kinks, np.linspace(-100.0, top, BREAKEVEN_GRID_POINTS)])
    )
    values = pl(nodes)
    return sign_change_roots(nodes, values, pl)


def _pop(
    legs: Sequence[ValuedLeg],
    roots: Sequence[float],
    cost: float,
    ref_vol: float | None,
    warnings: list[Issue],
) -> float | None:
    symbols = {leg.underlying for leg in legs}
    options = [leg for leg in legs if leg.is_option]
    if len(symbols) != 1 or not options or ref_vol is None:
        reason = (
            "it needs exactly one underlying"
            if len(symbols) != 1
            else "the trade has no valued option leg"
        )
        if legs:
            warnings.append(
                Issue("pop_unavailable", f"probability of profit not computed: {reason}")
            )
        return None
    horizon_leg = max(options, key=lambda leg: leg.time_to_expiry)
    t = horizon_leg.time_to_expiry
    spot = horizon_leg.spot
    forward = forward_price(spot, horizon_leg.rate, horizon_leg.carry, t, horizon_leg.dividends)
    sd = ref_vol * math.sqrt(t)
    pos = np.array([[leg.position] for leg in legs], dtype=np.float64)
    edges = [0.0] + [spot * (1.0 + p / 100.0) for p in roots] + [math.inf]
    probability = 0.0
    for a, b in itertools.pairwise(edges):
        if not b > a:
            continue
        mid = 0.5 * (a + b) if math.isfinite(b) else (a + max(a, spot))
        spots = np.full((len(legs), 1), mid)
        value = float((pos * _intrinsic(legs, spots)).sum() - cost)
        if value > 0.0:
            probability += _lognormal_cdf(b, forward, sd) - _lognormal_cdf(a, forward, sd)
    return min(max(probability, 0.0), 1.0)


def _lognormal_cdf(x: float, forward: float, sd: float) -> float:
    if x <= 0.0:
        return 0.0
    if not math.isfinite(x):
        return 1.0
    return float(ndtr((math.log(x / forward) + 0.5 * sd * sd) / sd))


def _breakeven(pct: float, base_spots: dict[str, float]) -> Breakeven:
    return Breakeven(
        spot_move_pct=pct,
        spots={u: s * (1.0 + pct / 100.0) for u, s in base_spots.items()},
    )


# --------------------------------------------------------------------------------------------
# evaluation on axes
# --------------------------------------------------------------------------------------------
def evaluate_on_axes(prep: Prepared, axes: Axes, grid: ScenarioGrid) -> EvaluationResult:
    """Evaluate a prepared trade on given axes (``evaluate`` and ``compare`` share this)."""
    legs = prep.legs
    config = prep.config
    n_spot = axes.moves.size
    n_vol = axes.vol_shifts.size
    n_dates = len(axes.dates)
    warnings = list(prep.warnings) + list(axes.warnings)
    errors = list(prep.errors) + list(axes.errors)

    pos = np.array([leg.position for leg in legs], dtype=np.float64)
    cost = float(sum(leg.entry_cost for leg in legs)) + float(sum(leg.fees for leg in legs))
    entry_cost = float(sum(leg.entry_cost for leg in legs))
    fees = float(sum(leg.fees for leg in legs))
    values = pos * prep.values
    value = float(values.sum())
    pl_open = value - entry_cost - fees
    position = _position_greeks(prep)
    horizon = max((leg.time_to_expiry for leg in legs if leg.is_option), default=0.0)
    # at expiry, long stock has earned the dividends gone ex by the last expiry (short owes)
    expiry_cost = cost - float((pos * _stock_dividends(legs, np.array([horizon]))[:, 0]).sum())
    warnings.extend(_floor_warnings(legs, grid))

    fine = np.linspace(axes.pct_range[0], axes.pct_range[1], BREAKEVEN_GRID_POINTS)
    if legs:
        n = len(legs)
        spot0 = np.array([leg.spot for leg in legs])
        sig = np.array([leg.vol for leg in legs])
        ttm = np.array([leg.time_to_expiry for leg in legs])
        mult = np.stack([axes.multipliers[leg.underlying] for leg in legs])  # (n, n_spot)
        spots = spot0[:, None] * mult
        shifted = grid.shifted_vols(sig)  # (n, n_vol)
        t_dates = np.maximum(ttm[:, None] - axes.taus[None, :], 0.0)  # (n, n_dates)
        blocks_s = [
            np.broadcast_to(spots[:, None, :], (n, n_vol, n_spot)).reshape(n, -1),
            np.broadcast_to(spots[:, None, :], (n, n_dates, n_spot)).reshape(n, -1),
            _path_spots(legs, fine),
        ]
        blocks_t = [
            np.broadcast_to(ttm[:, None], (n, n_vol * n_spot)),
            np.broadcast_to(t_dates[:, :, None], (n, n_dates, n_spot)).reshape(n, -1),
            np.broadcast_to(ttm[:, None], (n, fine.size)),
        ]
        blocks_v = [
            np.broadcast_to(shifted[:, :, None], (n, n_vol, n_spot)).reshape(n, -1),
            np.broadcast_to(sig[:, None], (n, n_dates * n_spot)),
            np.broadcast_to(sig[:, None], (n, fine.size)),
        ]
        elapsed = None
        if any(leg.dividends for leg in legs):
            elapsed = np.concatenate(
                [
                    np.zeros((n, n_vol * n_spot)),
                    np.broadcast_to(axes.taus[None, :, None], (n, n_dates, n_spot)).reshape(n, -1),
                    np.zeros((n, fine.size)),
                ],
                axis=1,
            )
        prices = price_options(
            legs,
            spot=np.concatenate(blocks_s, axis=1),
            time_to_expiry=np.concatenate(blocks_t, axis=1),
            vol=np.concatenate(blocks_v, axis=1),
            elapsed=elapsed,
        )
        a = n_vol * n_spot
        b = a + n_dates * n_spot
        # stock legs earn the dividends going ex by each grid date
        prices[:, a:b] += np.repeat(_stock_dividends(legs, axes.taus), n_spot, axis=1)
        total = (pos[:, None] * prices).sum(axis=0) - cost
        spot_vol_pl = total[:a].reshape(n_vol, n_spot)
        spot_time_pl = total[a:b].reshape(n_dates, n_spot)
        fine_pl = total[b:]
        expiry_pl = (pos[:, None] * _intrinsic(legs, spots)).sum(axis=0) - expiry_cost
    else:
        spot_vol_pl = np.full((n_vol, n_spot), -cost)
        spot_time_pl = np.full((n_dates, n_spot), -cost)
        fine_pl = np.full(fine.size, -cost)
        expiry_pl = np.full(n_spot, -cost)

    def t0_pl(pct: FloatArray) -> FloatArray:
        s = _path_spots(legs, pct)
        px = price_options(legs, spot=s, time_to_expiry=ttm[:, None], vol=sig[:, None])
        result: FloatArray = (pos[:, None] * px).sum(axis=0) - cost
        return result

    t0_roots = sign_change_roots(fine, fine_pl, t0_pl) if legs else []
    expiry_roots = _expiry_roots(legs, expiry_cost)
    max_profit, max_loss = _extremes(legs, expiry_cost)
    own_vols = _reference_vols([prep], prep.last_expiry)
    symbol = legs[0].underlying if legs else None
    pop = _pop(
        legs,
        expiry_roots,
        expiry_cost,
        own_vols.get(symbol) if symbol is not None else None,
        warnings,
    )

    trade_greeks = {name: float(position[name].sum()) for name in POSITION_GREEKS}
    by_underlying: dict[str, dict[str, float]] = {}
    for u in prep.underlyings:
        mask = np.array([leg.underlying == u for leg in legs])
        by_underlying[u] = {name: float(position[name][mask].sum()) for name in POSITION_GREEKS}
    base_spots = {u: axes.base_spots[u] for u in prep.underlyings}
    return EvaluationResult(
        trade=trade_identity(prep.trade),
        snapshot_hash=snapshot_hash_cached(prep.snapshot),
        model_config_hash=config.model_config_hash,
        scenario_grid_hash=grid.scenario_grid_hash,
        as_of=prep.snapshot.as_of,
        underlyings=tuple(axes.base_spots),
        value=value,
        entry_cost=entry_cost,
        fees=fees,
        pl_open=pl_open,
        greeks=trade_greeks,
        greeks_by_underlying=by_underlying,
        max_profit=max_profit,
        max_loss=max_loss,
        breakevens_expiry=tuple(_breakeven(p, base_spots) for p in expiry_roots),
        breakevens_t0=tuple(_breakeven(p, base_spots) for p in t0_roots),
        probability_of_profit=pop,
        reference_vols=own_vols,
        horizon_years=horizon,
        legs=_leg_outputs(prep, position),
        spot_range_kind=axes.kind.value,
        spot_moves=axes.moves,
        spots={u: axes.base_spots[u] * m for u, m in axes.multipliers.items()},
        axis_vols=dict(axes.ref_vols),
        axis_horizon_years=axes.horizon,
        vol_shifts=axes.vol_shifts,
        dates=axes.dates,
        date_years=axes.taus,
        spot_time_pl=spot_time_pl,
        spot_vol_pl=spot_vol_pl,
        expiry_pl=expiry_pl,
        warnings=tuple(warnings),
        errors=tuple(errors),
        units=_units(prep, axes),
    )


def _stock_dividends(legs: Sequence[ValuedLeg], taus: FloatArray) -> FloatArray:
    """``(n_legs, len(taus))`` dividend cash per share earned by each stock leg by each time."""
    out = np.zeros((len(legs), np.size(taus)), dtype=np.float64)
    for i, leg in enumerate(legs):
        if not leg.is_option and leg.dividends:
            out[i] = stock_dividend_credit(leg.dividends, np.asarray(taus, dtype=np.float64))
    return out


def _floor_warnings(legs: Sequence[ValuedLeg], grid: ScenarioGrid) -> list[Issue]:
    """One ``vol_shift_floored`` warning per option leg whose vol some shift takes below 0."""
    out: list[Issue] = []
    for leg in legs:
        if not leg.is_option:
            continue
        floored = grid.floored_shifts(leg.vol)
        if floored:
            shifts = ", ".join(f"{v:+g}" for v in floored)
            out.append(
                Issue(
                    "vol_shift_floored",
                    f"leg {leg.ref} ({leg.leg.label}): vol {100.0 * leg.vol:.4g}% shifted by "
                    f"{shifts} vol points falls below the floor of "
                    f"{100.0 * ScenarioGrid.MIN_VOL:g}%; those rows of the spot x vol grid use "
                    "the floor",
                    leg.ref,
                )
            )
    return out


def _units(prep: Prepared, axes: Axes) -> dict[str, str]:
    currencies = sorted({leg.leg.instrument.currency for leg in prep.legs})
    money = "/".join(currencies) if currencies else "currency"
    basis = prep.config.time_basis.value
    spot_moves = (
        "percent of spot"
        if axes.kind is SpotRangeKind.PERCENT
        else "standard deviations: spot * exp(move * axis_vol * sqrt(axis_horizon_years))"
    )
    return {
        "spot_moves": spot_moves,
        "spots": f"underlying price ({money})",
        "vol_shifts": "vol points (+1 = +0.01 absolute vol)",
        "dates": "ISO-8601 instants in UTC (Z)",
        "dates_local": "ISO-8601 with the America/New_York offset",
        "date_years": f"years from as_of ({basis} time basis)",
        "axis_horizon_years": f"years ({basis} time basis)",
        "axis_vols": "decimal vol (0.2 = 20%)",
        "curves": f"P/L ({money}) for the whole position",
    }


def _model_inputs(prep: Prepared, i: int) -> dict[str, Any]:
    """The pricing-API inputs of valued leg ``i`` (see the module docstring)."""
    leg = prep.legs[i]
    as_of = iso_utc(prep.snapshot.as_of)
    basis = prep.config.time_basis.value
    dividends = {
        "times": [t for t, _ in leg.dividends],
        "amounts": [a for _, a in leg.dividends],
        "ex_at": "session open of the ex-date; times in years from valuation_time",
    }
    if not leg.is_option:
        return {
            "model": "stock",
            "S": leg.spot,
            "time_basis": basis,
            "valuation_time": as_of,
            "dividends": dividends,
        }
    return {
        "model": leg.model,
        "engine": leg.engine,
        "S": leg.spot,
        "K": leg.strike,
        "T": leg.time_to_expiry,
        "r": leg.rate,
        "q": leg.carry,
        "sigma": leg.vol,
        "is_call": leg.is_call,
        "dividends": dividends,
        "time_basis": basis,
        "valuation_time": as_of,
        "expiry": None if leg.expiry is None else iso_utc(leg.expiry),
        "vol_source": leg.vol_source,
        "vol_quote_price": leg.iv_quote_price,
        "forward": forward_price(leg.spot, leg.rate, leg.carry, leg.time_to_expiry, leg.dividends),
        "model_price": float(prep.unit_greeks["price"][i]),
    }


def _leg_outputs(prep: Prepared, position: dict[str, FloatArray]) -> tuple[LegEvaluation, ...]:
    index = {leg.ref: i for i, leg in enumerate(prep.legs)}
    unit = prep.unit_greeks
    out: list[LegEvaluation] = []
    for item in prep.resolution.refs:
        leg = item.leg
        base: dict[str, Any] = {
            "leg": item.ref,
            "label": leg.label,
            "instrument": _instrument_json(leg.instrument),
            "quantity": _decimal_text(leg.quantity),
            "include": leg.include,
            "status": prep.resolution.status.get(item.ref, "excluded"),
            "underlying": leg.underlying,
            "entry_cost": float(leg.entry_cost),
            "fees": float(leg.fees),
        }
        i = index.get(item.ref)
        if i is None:
            out.append(LegEvaluation(**base))
            continue
        valued = prep.legs[i]
        value = valued.position * float(prep.values[i])
        out.append(
            LegEvaluation(
                **base,
                model=valued.model,
                engine=valued.engine,
                vol=valued.vol if valued.is_option else None,
                vol_source=valued.vol_source if valued.is_option else None,
                time_to_expiry=valued.time_to_expiry if valued.is_option else None,
                spot=valued.spot,
                price=float(prep.values[i]),
                value=value,
                pl_open=value - valued.entry_cost - valued.fees,
                greeks={name: float(unit[name][i]) for name in GREEK_NAMES if name != "price"},
                position_greeks={name: float(position[name][i]) for name in POSITION_GREEKS},
                model_inputs=_model_inputs(prep, i),
            )
        )
    return tuple(out)


def _instrument_json(instrument: OptionContract | Stock) -> dict[str, Any]:
    result: dict[str, Any] = canonicalize(instrument.to_dict())
    return result


def _decimal_text(value: Decimal) -> str:
    return decimal_str(value)


def evaluate(
    trade: TradeLike,
    snapshot: MarketSnapshot,
    model_config: ModelConfig,
    grid: ScenarioGrid,
) -> EvaluationResult:
    """Value a trade (version or draft) against a snapshot on a scenario grid.

    See the module docstring for the method and units. Never raises for market-data problems:
    they become ``warnings`` / ``errors`` of the result. Raises ``ValueError`` only for
    invalid arguments.
    """
    prep = prepare(trade, snapshot, model_config)
    axes = build_axes([prep], grid)
    return evaluate_on_axes(prep, axes, grid)
