"""Marks of a book on a valuation date, and the full revaluation every risk measure uses.

:class:`Marks` holds what valuing a book needs on one date: the valuation instant (the
session close by default), each underlying's spot, each option's volatility and where it came
from, the rate and dividend yields. :func:`value_book` prices every position on those marks
with riskdesk's pricing core (American options with Bjerksund-Stensland 2002, European ones
with Black-Scholes-Merton) and returns per-position value and Greeks in money. It is
vectorised over positions *and* scenarios: pass spot and vol multipliers of shape (n_scen,)
or (n_scen, n_positions) to revalue the whole book under every scenario in one call, which
is how historical VaR, stress tests and what-if sessions reprice options fully instead of
using linear shortcuts.

Expired options are not priced: they are worth their stored settlement (or nothing to value:
their status says why), never a live price.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
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


def _option_rows(
    positions: Sequence[BookPosition], marks: Marks, memo: dict[Any, datetime]
) -> tuple[list[int], list[MarkStatus]]:
    status: list[MarkStatus] = []
    option_rows: list[int] = []
    for i, p in enumerate(positions):
        if p.underlying not in marks.spots:
            status.append(MarkStatus.NO_SPOT)
        elif p.is_option:
            assert isinstance(p.instrument, OptionContract)
            expiry = _expiry_instant(p.instrument.expiry, p.instrument.settlement, memo)
            if expiry <= marks.valuation_time:
                status.append(MarkStatus.EXPIRED)
            elif marks.vol_for(p) is None:
                status.append(MarkStatus.NO_VOL)
            else:
                status.append(MarkStatus.OK)
                option_rows.append(i)
        else:
            status.append(MarkStatus.OK)
    return option_rows, status


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
    """
    n = len(positions)
    memo: dict[Any, datetime] = {}
    option_rows, status = _option_rows(positions, marks, memo)
    spot = np.array([marks.spots.get(p.underlying, np.nan) for p in positions], dtype=np.float64)
    qty = np.array([float(p.quantity) * p.multiplier for p in positions], dtype=np.float64)
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
    stock_rows = [i for i, p in enumerate(positions) if not p.is_option and status[i] == "ok"]
    if stock_rows:
        idx = np.array(stock_rows)
        value[:, idx] = s[:, idx] * qty[idx]
        delta[:, idx] = np.broadcast_to(qty[idx], (n_scen, len(idx)))
        gamma[:, idx] = 0.0
        vega[:, idx] = 0.0
        theta[:, idx] = 0.0
    if option_rows:
        idx = np.array(option_rows)
        opts = [positions[i] for i in option_rows]
        contracts = [p.instrument for p in opts]
        assert all(isinstance(c, OptionContract) for c in contracts)
        K = np.array([float(c.strike) for c in contracts])  # type: ignore[union-attr]
        fractions: dict[datetime, float] = {}
        instants = [_expiry_instant(c.expiry, c.settlement, memo) for c in contracts]  # type: ignore[union-attr]
        for instant in set(instants):
            fractions[instant] = year_fraction(marks.valuation_time, instant)
        T = np.array([fractions[i] for i in instants])
        is_call = np.array([c.right is OptionRight.CALL for c in contracts])  # type: ignore[union-attr]
        american = np.array([c.style is ExerciseStyle.AMERICAN for c in contracts])  # type: ignore[union-attr]
        sigma0 = np.array([marks.vol_for(p) for p in opts], dtype=np.float64)
        q = np.array([marks.dividend_yields.get(p.underlying, 0.0) for p in opts])
        S = s[:, idx]
        sigma = sigma0[None, :] * vm[:, idx]
        rs = np.asarray(rate_shift, dtype=np.float64).reshape(-1)
        if rs.shape[0] not in (1, n_scen) or not np.all(np.isfinite(rs)):
            raise ValueError(
                f"rate_shift must be a finite number or {n_scen} finite numbers (one per "
                f"scenario), got shape {np.asarray(rate_shift).shape}"
            )
        r_all = np.broadcast_to((marks.rate + rs)[:, None], (n_scen, len(option_rows)))
        for mask, model, engine in (
            (american, "american", AMERICAN_ENGINE),
            (~american, "bsm", None),
        ):
            if not mask.any():
                continue
            cols = np.nonzero(mask)[0]
            shape = (n_scen, len(cols))
            out = price_greeks(
                model=model,
                engine=engine,
                S=S[:, cols].ravel(),
                K=np.broadcast_to(K[cols], shape).ravel(),
                T=np.broadcast_to(T[cols], shape).ravel(),
                r=r_all[:, cols].ravel(),
                q=np.broadcast_to(q[cols], shape).ravel(),
                sigma=sigma[:, cols].ravel(),
                is_call=np.broadcast_to(is_call[cols], shape).ravel(),
                which=("price", "delta", "gamma", "vega", "theta") if with_greeks else ("price",),
            )
            scale = qty[idx[cols]]
            target = idx[cols]
            value[:, target] = out["price"].reshape(shape) * scale
            if with_greeks:
                delta[:, target] = out["delta"].reshape(shape) * scale
                gamma[:, target] = out["gamma"].reshape(shape) * scale
                vega[:, target] = out["vega"].reshape(shape) * scale
                theta[:, target] = out["theta"].reshape(shape) * scale
    if not scenario:
        return BookValuation(
            value[0], delta[0], gamma[0], vega[0], theta[0], s[0].copy(), tuple(status)
        )
    return BookValuation(value, delta, gamma, vega, theta, s, tuple(status))


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
