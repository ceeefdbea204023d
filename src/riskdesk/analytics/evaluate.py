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
  - ``spot_time_greeks[g][d][i]``: position Greek ``g`` (``delta, gamma, theta, vega``, the
    units of the trade's Greeks) at grid date ``d`` and spot ``i``, at each leg's own vol
    (vol shift 0): the points of ``spot_time_pl`` passed to :func:`riskdesk.pricing.greeks`
    (one call per model; analytic for European legs, the American engine's own central
    finite differences for American legs, as for the trade's Greeks; ``grid.units``
    ``greeks_method`` says which). A leg expired by date ``d`` counts at intrinsic value, as
    in ``spot_time_pl``: delta +1 (call) / -1 (put) strictly in the money, else 0, and every
    other Greek 0; a stock leg has delta 1 per share. Dividends are those still to come at
    ``d`` (capped as in the P/L, the cap held fixed);
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

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import numpy as np

from riskdesk.analytics._common import (
    FloatArray,
    Issue,
    iso_utc,
)
from riskdesk.analytics._grid import Axes, build_axes, reference_vols
from riskdesk.analytics._kernels import (
    GREEK_NAMES,
    cap_dividends,
    dividend_arrays,
    group_rows,
    price_options,
)
from riskdesk.analytics._market import (
    TradeLike,
    ValuedLeg,
    forward_price,
    snapshot_hash_cached,
    stock_dividend_credit,
    trade_identity,
)
from riskdesk.analytics._payoff import (
    BREAKEVEN_GRID_POINTS,
    breakeven,
    expiry_breakeven_moves,
    expiry_extremes,
    intrinsic,
    path_spots,
    probability_of_profit,
)
from riskdesk.analytics._prepare import (
    POSITION_GREEKS,
    Prepared,
    position_greeks,
    prepare,
    theta_scale,
)
from riskdesk.analytics._results import (
    CURVE_GREEKS,
    EVALUATION_SCHEMA,
    Breakeven,
    EvaluationResult,
    Extremum,
    LegEvaluation,
)
from riskdesk.analytics._roots import sign_change_roots
from riskdesk.domain.configs import ModelConfig, ModelKey, ScenarioGrid, SpotRangeKind
from riskdesk.domain.hashing import canonicalize, decimal_str
from riskdesk.domain.instruments import OptionContract, Stock
from riskdesk.domain.market import MarketSnapshot
from riskdesk.pricing import greeks as pricing_greeks

__all__ = [
    "BREAKEVEN_GRID_POINTS",
    "CURVE_GREEKS",
    "EVALUATION_SCHEMA",
    "Breakeven",
    "EvaluationResult",
    "Extremum",
    "LegEvaluation",
    "evaluate",
]


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
    position = position_greeks(prep)
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
            path_spots(legs, fine),
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
        expiry_pl = (pos[:, None] * intrinsic(legs, spots)).sum(axis=0) - expiry_cost
        spot_time_greeks = _spot_time_greeks(prep, spots, t_dates, axes.taus)
    else:
        spot_vol_pl = np.full((n_vol, n_spot), -cost)
        spot_time_pl = np.full((n_dates, n_spot), -cost)
        spot_time_greeks = {name: np.zeros((n_dates, n_spot)) for name in CURVE_GREEKS}
        fine_pl = np.full(fine.size, -cost)
        expiry_pl = np.full(n_spot, -cost)

    def t0_pl(pct: FloatArray) -> FloatArray:
        s = path_spots(legs, pct)
        px = price_options(legs, spot=s, time_to_expiry=ttm[:, None], vol=sig[:, None])
        result: FloatArray = (pos[:, None] * px).sum(axis=0) - cost
        return result

    t0_roots = sign_change_roots(fine, fine_pl, t0_pl) if legs else []
    expiry_roots = expiry_breakeven_moves(legs, expiry_cost)
    max_profit, max_loss = expiry_extremes(legs, expiry_cost)
    own_vols = reference_vols([prep], prep.last_expiry)
    symbol = legs[0].underlying if legs else None
    pop = probability_of_profit(
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
        breakevens_expiry=tuple(breakeven(p, base_spots) for p in expiry_roots),
        breakevens_t0=tuple(breakeven(p, base_spots) for p in t0_roots),
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
        spot_time_greeks=spot_time_greeks,
        spot_vol_pl=spot_vol_pl,
        expiry_pl=expiry_pl,
        warnings=tuple(warnings),
        errors=tuple(errors),
        units=_units(prep, axes),
    )


def _spot_time_greeks(
    prep: Prepared, spots: FloatArray, t_dates: FloatArray, taus: FloatArray
) -> dict[str, FloatArray]:
    """Position Greeks ``(n_dates, n_spots)`` per :data:`CURVE_GREEKS` at the base vols.

    ``spots`` is ``(n_legs, n_spots)``, ``t_dates`` the ``(n_legs, n_dates)`` years each leg
    has left at each grid date and ``taus`` the ``(n_dates,)`` years elapsed by then (see
    the module docstring). Unexpired option points of each ``(model, engine)`` group go to
    one :func:`riskdesk.pricing.greeks` call; units are those of
    :func:`~riskdesk.analytics._prepare.position_greeks`.
    """
    legs = prep.legs
    n_legs, n_spot = spots.shape
    shape = (n_legs, t_dates.shape[1], n_spot)
    unit = {name: np.zeros(shape, dtype=np.float64) for name in CURVE_GREEKS}
    s_all = np.broadcast_to(spots[:, None, :], shape)
    t_all = np.broadcast_to(t_dates[:, :, None], shape)
    strikes = np.array([leg.strike for leg in legs], dtype=np.float64)
    calls = np.array([leg.is_call for leg in legs], dtype=np.bool_)
    option = np.array([leg.is_option for leg in legs], dtype=np.bool_)
    # stock: one share per share; expired options: the intrinsic slope, as the P/L curves
    expired = option[:, None, None] & (t_all <= 0.0)
    k = strikes[:, None, None]
    itm_call = expired & calls[:, None, None] & (s_all > k)
    itm_put = expired & ~calls[:, None, None] & (s_all < k)
    unit["delta"][~option] = 1.0
    unit["delta"][itm_call] = 1.0
    unit["delta"][itm_put] = -1.0
    keys: list[ModelKey | None] = [
        None if leg.model == "stock" else (leg.model, leg.engine) for leg in legs
    ]
    for key, idx in group_rows(keys).items():
        rows = np.asarray(idx)
        live = t_all[rows] > 0.0
        if not live.any():
            continue
        g_leg, g_date, g_spot = np.nonzero(live)
        leg_rows = rows[g_leg]
        s = s_all[leg_rows, g_date, g_spot]
        t = t_all[leg_rows, g_date, g_spot]
        rate = np.array([legs[i].rate for i in idx], dtype=np.float64)[g_leg]
        kwargs: dict[str, Any] = {} if key[1] is None else {"engine": key[1]}
        if any(legs[i].dividends for i in idx):
            elapsed = np.broadcast_to(taus[None, :], (rows.size, taus.size))
            divs = dividend_arrays([legs[i].dividends for i in idx], elapsed)
            assert divs is not None  # some leg of the group has a schedule
            times = divs[0][g_leg, g_date]
            amounts = divs[1][g_leg, g_date]
            if np.any(amounts > 0.0):
                kwargs["dividends"] = cap_dividends(s, t, rate, times, amounts)
        values = pricing_greeks(
            model=key[0],
            S=s,
            K=strikes[leg_rows],
            T=t,
            r=rate,
            q=np.array([legs[i].carry for i in idx], dtype=np.float64)[g_leg],
            sigma=np.array([legs[i].vol for i in idx], dtype=np.float64)[g_leg],
            is_call=calls[leg_rows],
            which=CURVE_GREEKS,
            **kwargs,
        )
        for name in CURVE_GREEKS:
            unit[name][leg_rows, g_date, g_spot] = values[name]
    pos = np.array([leg.position for leg in legs], dtype=np.float64)[:, None, None]
    out = {name: (pos * unit[name]).sum(axis=0) for name in CURVE_GREEKS}
    out["theta"] = out["theta"] * theta_scale(prep.config)
    return out


def _greeks_method(prep: Prepared) -> str:
    """How the Greeks of each model group were computed (ANALYTICS_SPEC section 4)."""
    parts: list[str] = []
    for key in sorted({(leg.model, leg.engine or "") for leg in prep.legs if leg.is_option}):
        model, engine = key
        if model == "american":
            parts.append(
                f"american ({engine or 'default engine'}): central finite differences of the "
                "engine's price, O(h^4) stencils; bumps S*clip(0.02*sigma*sqrt(T), 1e-4, "
                "1e-2) in spot, max(0.01*sigma, 1e-4) in vol, T/200 in time"
            )
        else:
            parts.append(f"{model}: analytic")
    return "; ".join(parts) if parts else "no option legs: stock delta 1 per share"


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
        "spot_time_greeks": (
            "position Greeks at each leg's own vol (vol shift 0): delta in shares, gamma in "
            f"shares per 1 of spot, vega in {money} per vol point, theta in {money} per "
            f"{prep.config.theta_convention.value.replace('_', ' ')}"
        ),
        "greeks_method": _greeks_method(prep),
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
