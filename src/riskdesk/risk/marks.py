"""Marks of a book on a valuation date, and the full revaluation every risk measure uses.

:class:`Marks` holds what valuing a book needs on one date: the valuation instant (the
session close by default), each underlying's spot, each option's volatility and where it came
from, the rate and dividend yields. :func:`value_book` prices every position on those marks
with riskdesk's pricing core (American options with Bjerksund-Stensland 2002, European ones
with Black-Scholes-Merton) and returns per-position value and Greeks in money. It is
vectorised over positions *and* scenarios: pass spot and vol multipliers of shape (n_scen,)
or (n_scen, n_positions) to revalue the whole book under every scenario in one call, which
is how historical VaR, stress tests and what-if sessions reprice options fully instead of
using linear shortcuts. Positions holding the same contract (same pricing inputs) are priced
once per scenario and scaled by their quantities: the kernels are elementwise, so the numbers
are those of pricing every position.

Expired options are not priced: they are worth their stored settlement (or nothing to value:
their status says why), never a live price.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt

from riskdesk.domain.instruments import ExerciseStyle, OptionContract, OptionRight, Settlement
from riskdesk.domain.timeutil import expiry_datetime, year_fraction
from riskdesk.pricing import greeks as price_greeks
from riskdesk.risk.positions import BookPosition

__all__ = [
    "BookValuation",
    "MarkStatus",
    "Marks",
    "decimal_spots",
    "value_book",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
BoolArray = npt.NDArray[np.bool_]
AMERICAN_ENGINE = "bjerksund_stensland_2002"


class MarkStatus(enum.StrEnum):
    """Why a position has (or has no) value on the marks."""

    OK = "ok"
    EXPIRED = "expired"
    NO_SPOT = "no_spot"
    NO_VOL = "no_vol"


@dataclass(frozen=True)
class Marks:
    """Market inputs of one valuation.

    ``spots`` maps an underlying (or stock) symbol to its price; ``vols`` maps a position's
    ``symbol`` (the option's OCC symbol as the book holds it) or an underlying symbol (used
    for every option on it without its own entry) to a volatility in decimals;
    ``vol_sources`` says where each came from (e.g. ``snapshot_iv``, ``realized_30d``).
    """

    valuation_time: datetime
    spots: Mapping[str, float]
    vols: Mapping[str, float] = field(default_factory=dict)
    vol_sources: Mapping[str, str] = field(default_factory=dict)
    rate: float = 0.04
    dividend_yields: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.valuation_time.tzinfo is None:
            raise ValueError("Marks.valuation_time must be timezone-aware")
        for name, value in self.spots.items():
            if not np.isfinite(value) or value <= 0:
                raise ValueError(f"spot of {name} must be a positive finite number, got {value}")
        for name, value in self.vols.items():
            if not np.isfinite(value) or value <= 0:
                raise ValueError(f"vol of {name} must be a positive finite number, got {value}")
        if not np.isfinite(self.rate):
            raise ValueError(f"rate must be finite, got {self.rate}")

    def vol_for(self, position: BookPosition) -> float | None:
        """The position's own vol, else its underlying's, else None."""
        own = self.vols.get(position.symbol)
        return own if own is not None else self.vols.get(position.underlying)


@dataclass(frozen=True)
class BookValuation:
    """Per-position values and Greeks, in money (quantity x multiplier applied).

    Arrays have shape ``(n_positions,)`` for one scenario or ``(n_scen, n_positions)``.
    ``value`` is the position's market value (signed: a short is negative); ``delta`` is in
    underlying units (shares-equivalent), so ``delta * spot`` is the delta-dollar exposure;
    ``gamma`` per unit of the underlying; ``vega`` per 1 vol point; ``theta`` per calendar
    day. A position whose status is not OK has NaN everywhere, so a sum never hides it:
    use ``status`` to decide what to report.
    """

    value: FloatArray
    delta: FloatArray
    gamma: FloatArray
    vega: FloatArray
    theta: FloatArray
    spot: FloatArray
    status: tuple[MarkStatus, ...]


def _expiry_instant(expiry: date, settlement: Settlement, memo: dict[Any, datetime]) -> datetime:
    """The expiry instant of (expiry, settlement), computed once per pair (books share few)."""
    key = (expiry, settlement)
    found = memo.get(key)
    if found is None:
        found = memo[key] = expiry_datetime(expiry, settlement=settlement)
    return found


@dataclass(frozen=True)
class _BookPlan:
    """What valuing a book on its marks needs, gathered once (no pricing yet).

    Per position: ``status``, ``spot`` (NaN without one) and ``qty`` (quantity x multiplier).
    ``stock_rows`` / ``option_rows`` are the priceable shares and options (book order). The
    options are deduplicated: positions whose pricing inputs are all equal (underlying,
    strike, year fraction, vol, dividend yield, right, style) share one *unique contract*;
    ``unique_of[k]`` is the contract of ``option_rows[k]`` and ``first[u]`` the index (into
    ``option_rows``) of contract ``u``'s first position. ``K`` ... ``american`` describe the
    unique contracts, ``spot_u`` their underlying's spot and ``underlying_u`` its symbol.
    Pricing each unique contract once and scaling by each position's quantity gives exactly
    the numbers of pricing every position (the kernels are elementwise).
    """

    status: tuple[MarkStatus, ...]
    spot: FloatArray
    qty: FloatArray
    stock_rows: IntArray
    option_rows: IntArray
    unique_of: IntArray
    first: IntArray
    K: FloatArray
    T: FloatArray
    sigma0: FloatArray
    q: FloatArray
    is_call: BoolArray
    american: BoolArray
    spot_u: FloatArray
    underlying_u: tuple[str, ...]


def _book_plan(positions: Sequence[BookPosition], marks: Marks) -> _BookPlan:
    """Gather the per-position arrays and the unique option contracts of ``positions``.

    One pass over the book (a status for each position, a row for each priceable one).
    """
    memo: dict[Any, datetime] = {}
    spots, valuation_time = marks.spots, marks.valuation_time
    vols, yields = marks.vols, marks.dividend_yields
    n = len(positions)
    spot_list: list[float] = [math.nan] * n
    qty_list: list[float] = [0.0] * n
    status: list[MarkStatus] = []
    stock_rows: list[int] = []
    option_rows: list[int] = []
    fractions: dict[datetime, float] = {}
    index: dict[tuple[Any, ...], int] = {}
    unique_of: list[int] = []
    first: list[int] = []
    ok, no_spot = MarkStatus.OK, MarkStatus.NO_SPOT
    for i, p in enumerate(positions):
        c = p.instrument
        qty_list[i] = float(p.quantity) * c.multiplier
        if not isinstance(c, OptionContract):
            spot = spots.get(p.underlying)
            if spot is None:
                status.append(no_spot)
                continue
            spot_list[i] = spot
            status.append(ok)
            stock_rows.append(i)
            continue
        underlying = c.underlying
        spot = spots.get(underlying)
        if spot is None:
            status.append(no_spot)
            continue
        spot_list[i] = spot
        instant = _expiry_instant(c.expiry, c.settlement, memo)
        if instant <= valuation_time:
            status.append(MarkStatus.EXPIRED)
            continue
        own = vols.get(p.symbol)
        sigma = own if own is not None else vols.get(underlying)
        if sigma is None:
            status.append(MarkStatus.NO_VOL)
            continue
        status.append(ok)
        t = fractions.get(instant)
        if t is None:
            t = fractions[instant] = year_fraction(valuation_time, instant)
        key = (
            underlying,
            float(c.strike),
            t,
            sigma,
            yields.get(underlying, 0.0),
            c.right is OptionRight.CALL,
            c.style is ExerciseStyle.AMERICAN,
        )
        u = index.get(key)
        if u is None:
            u = index[key] = len(first)
            first.append(len(option_rows))
        unique_of.append(u)
        option_rows.append(i)
    keys = list(index)
    return _BookPlan(
        status=tuple(status),
        spot=np.array(spot_list, dtype=np.float64),
        qty=np.array(qty_list, dtype=np.float64),
        stock_rows=np.array(stock_rows, dtype=np.intp),
        option_rows=np.array(option_rows, dtype=np.intp),
        unique_of=np.array(unique_of, dtype=np.intp),
        first=np.array(first, dtype=np.intp),
        K=np.array([k[1] for k in keys], dtype=np.float64),
        T=np.array([k[2] for k in keys], dtype=np.float64),
        sigma0=np.array([k[3] for k in keys], dtype=np.float64),
        q=np.array([k[4] for k in keys], dtype=np.float64),
        is_call=np.array([k[5] for k in keys], dtype=np.bool_),
        american=np.array([k[6] for k in keys], dtype=np.bool_),
        spot_u=np.array([spots[k[0]] for k in keys], dtype=np.float64),
        underlying_u=tuple(str(k[0]) for k in keys),
    )


def _check_rate_shift(rate_shift: npt.ArrayLike, n_scen: int) -> FloatArray:
    rs = np.asarray(rate_shift, dtype=np.float64).reshape(-1)
    if rs.shape[0] not in (1, n_scen) or not np.all(np.isfinite(rs)):
        raise ValueError(
            f"rate_shift must be a finite number or {n_scen} finite numbers (one per "
            f"scenario), got shape {np.asarray(rate_shift).shape}"
        )
    return rs


def _price_unique(
    plan: _BookPlan,
    S: FloatArray,
    sigma: FloatArray,
    r: FloatArray,
    *,
    with_greeks: bool,
) -> dict[str, FloatArray]:
    """Price (and Greeks) of every unique contract under every scenario, per unit.

    ``S``, ``sigma`` and ``r`` have shape ``(n_scen, n_unique)``; American contracts go to
    Bjerksund-Stensland 2002, European ones to BSM, each model in one kernel call.
    """
    which = ("price", "delta", "gamma", "vega", "theta") if with_greeks else ("price",)
    shape_all = S.shape
    out = {name: np.empty(shape_all) for name in which}
    for mask, model, engine in (
        (plan.american, "american", AMERICAN_ENGINE),
        (~plan.american, "bsm", None),
    ):
        if not mask.any():
            continue
        cols = np.nonzero(mask)[0]
        shape = (shape_all[0], len(cols))
        res = price_greeks(
            model=model,
            engine=engine,
            S=S[:, cols].ravel(),
            K=np.broadcast_to(plan.K[cols], shape).ravel(),
            T=np.broadcast_to(plan.T[cols], shape).ravel(),
            r=r[:, cols].ravel(),
            q=np.broadcast_to(plan.q[cols], shape).ravel(),
            sigma=sigma[:, cols].ravel(),
            is_call=np.broadcast_to(plan.is_call[cols], shape).ravel(),
            which=which,
        )
        for name in which:
            out[name][:, cols] = res[name].reshape(shape)
    return out


def value_book(
    positions: Sequence[BookPosition],
    marks: Marks,
    *,
    spot_multipliers: npt.ArrayLike | None = None,
    vol_multipliers: npt.ArrayLike | None = None,
    rate_shift: npt.ArrayLike = 0.0,
    with_greeks: bool = True,
) -> BookValuation:
    """Value every position on ``marks``, optionally under scenarios.

    ``spot_multipliers`` / ``vol_multipliers``: None (one scenario), shape ``(n_scen,)`` (the
    same move for every underlying) or ``(n_scen, n_positions)`` (a move per position's
    underlying, e.g. historical returns mapped to positions). ``rate_shift`` moves the rate
    (decimal) for a rate scenario: one number, or one per scenario. ``with_greeks=False``
    prices only (the Greeks come back NaN), which is what scenario P&L needs.

    Positions holding the same contract with the same inputs are priced once per scenario
    (when their scenario moves are equal too) and scaled by their own quantity, which gives
    the same numbers as pricing each of them.
    """
    return _value_planned(
        _book_plan(positions, marks),
        marks,
        spot_multipliers=spot_multipliers,
        vol_multipliers=vol_multipliers,
        rate_shift=rate_shift,
        with_greeks=with_greeks,
    )


def _value_planned(
    plan: _BookPlan,
    marks: Marks,
    *,
    spot_multipliers: npt.ArrayLike | None = None,
    vol_multipliers: npt.ArrayLike | None = None,
    rate_shift: npt.ArrayLike = 0.0,
    with_greeks: bool = True,
) -> BookValuation:
    """:func:`value_book` on a gathered :class:`_BookPlan`."""
    n = plan.spot.shape[0]
    spot, qty = plan.spot, plan.qty
    scenario = spot_multipliers is not None or vol_multipliers is not None
    sm = _scenario_array(spot_multipliers, n)
    vm = _scenario_array(vol_multipliers, n)
    n_scen = max(sm.shape[0], vm.shape[0])
    sm = np.broadcast_to(sm, (n_scen, n))
    vm = np.broadcast_to(vm, (n_scen, n))
    s = spot[None, :] * sm
    value = np.full((n_scen, n), np.nan)
    delta = np.full((n_scen, n), np.nan)
    gamma = np.full((n_scen, n), np.nan)
    vega = np.full((n_scen, n), np.nan)
    theta = np.full((n_scen, n), np.nan)
    if plan.stock_rows.size:
        idx = plan.stock_rows
        value[:, idx] = s[:, idx] * qty[idx]
        delta[:, idx] = np.broadcast_to(qty[idx], (n_scen, len(idx)))
        gamma[:, idx] = 0.0
        vega[:, idx] = 0.0
        theta[:, idx] = 0.0
    if plan.option_rows.size:
        idx = plan.option_rows
        rs = _check_rate_shift(rate_shift, n_scen)
        unique_of, first = plan.unique_of, plan.first
        rep = idx[first][unique_of]  # the position priced for each option row
        if not (np.array_equal(sm[:, idx], sm[:, rep]) and np.array_equal(vm[:, idx], vm[:, rep])):
            # Positions sharing a contract move differently: price every position.
            plan = _undeduplicated(plan)
            unique_of, first = plan.unique_of, plan.first
        lead = idx[first]
        S = s[:, lead]
        sigma = plan.sigma0[None, :] * vm[:, lead]
        r = np.broadcast_to((marks.rate + rs)[:, None], S.shape)
        out = _price_unique(plan, S, sigma, r, with_greeks=with_greeks)
        scale = qty[idx]
        value[:, idx] = out["price"][:, unique_of] * scale
        if with_greeks:
            delta[:, idx] = out["delta"][:, unique_of] * scale
            gamma[:, idx] = out["gamma"][:, unique_of] * scale
            vega[:, idx] = out["vega"][:, unique_of] * scale
            theta[:, idx] = out["theta"][:, unique_of] * scale
    if not scenario:
        return BookValuation(
            value[0], delta[0], gamma[0], vega[0], theta[0], s[0].copy(), plan.status
        )
    return BookValuation(value, delta, gamma, vega, theta, s, plan.status)


def _undeduplicated(plan: _BookPlan) -> _BookPlan:
    """``plan`` with one contract per option position (no sharing)."""
    arange = np.arange(plan.unique_of.shape[0], dtype=np.intp)
    return replace(_select(plan, plan.unique_of), unique_of=arange, first=arange)


def _select(plan: _BookPlan, contracts: IntArray) -> _BookPlan:
    """``plan`` whose unique-contract arrays are those of ``contracts`` (in that order).

    Only the contract arrays (``K`` ... ``underlying_u``) are selected; ``unique_of`` and
    ``first`` still refer to the full plan's contracts.
    """
    return replace(
        plan,
        K=plan.K[contracts],
        T=plan.T[contracts],
        sigma0=plan.sigma0[contracts],
        q=plan.q[contracts],
        is_call=plan.is_call[contracts],
        american=plan.american[contracts],
        spot_u=plan.spot_u[contracts],
        underlying_u=tuple(plan.underlying_u[j] for j in contracts),
    )


def _scenario_array(values: npt.ArrayLike | None, n: int) -> FloatArray:
    if values is None:
        return np.ones((1, n))
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim == 1:
        arr = np.broadcast_to(arr[:, None], (arr.shape[0], n))
    if arr.ndim != 2 or arr.shape[1] != n:
        raise ValueError(
            f"scenario multipliers must have shape (n_scen,) or (n_scen, {n}), got {arr.shape}"
        )
    if not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise ValueError("scenario multipliers must be positive finite numbers")
    return arr


def decimal_spots(spots: Mapping[str, Decimal]) -> dict[str, float]:
    """Spots as floats for :class:`Marks` (prices are Decimal at the edges)."""
    return {k: float(v) for k, v in spots.items()}
