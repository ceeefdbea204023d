"""Kernel batching: one pricing-API call per (model, engine) group of rows.

:func:`group_rows` is the one group-by-(model, engine) batcher; :func:`solve_ivs`,
:func:`price_options` and :func:`option_greeks` call the vectorized kernels of
:mod:`riskdesk.pricing` once per group, and :func:`dividend_arrays` is the one place discrete
dividend schedules become the ``(times, amounts)`` arrays the kernels accept (the kernels
escrow them: ``dividends=`` of :mod:`riskdesk.pricing`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from riskdesk.analytics._common import FloatArray
from riskdesk.analytics._market import Dividends, ValuedLeg
from riskdesk.domain.configs import ModelKey
from riskdesk.pricing import greeks as _greeks
from riskdesk.pricing import implied_vol as _implied_vol
from riskdesk.pricing import price as _price

__all__ = [
    "DIVIDEND_CAP",
    "GREEK_NAMES",
    "cap_dividends",
    "dividend_arrays",
    "group_rows",
    "option_greeks",
    "price_options",
    "solve_ivs",
]

GREEK_NAMES: tuple[str, ...] = ("price", "delta", "gamma", "vega", "theta", "rho")
"""Greeks an evaluation reports per leg (pricing-API names and units)."""

DIVIDEND_CAP = 0.99
"""In a scenario, dividends before expiry are worth at most this fraction of the spot."""


def group_rows(keys: Sequence[ModelKey | None]) -> dict[ModelKey, list[int]]:
    """Row indices per ``(model, engine)``, in order of first appearance (None: skip the row)."""
    groups: dict[ModelKey, list[int]] = {}
    for i, key in enumerate(keys):
        if key is not None:
            groups.setdefault(key, []).append(i)
    return groups


def _engine_kwargs(key: ModelKey) -> dict[str, Any]:
    return {} if key[1] is None else {"engine": key[1]}


def _leg_keys(legs: Sequence[ValuedLeg]) -> list[ModelKey | None]:
    return [None if leg.model == "stock" else (leg.model, leg.engine) for leg in legs]


def dividend_arrays(
    schedules: Sequence[Dividends], elapsed: FloatArray | None = None, *, width: int = 0
) -> tuple[FloatArray, FloatArray] | None:
    """``(times, amounts)`` arrays for the pricing API, or None when nobody has dividends.

    ``schedules`` has one schedule per row; without ``elapsed`` the arrays are ``(rows, m)``
    with ``m`` the longest schedule (at least ``width``, so arrays built for several sets of
    schedules line up).
    With ``elapsed`` (``(rows, points)`` years of time passed at each point) they are
    ``(rows, points, m)``: times move by ``-elapsed`` and dividends already paid get amount 0.
    Rows are padded with zero amounts.
    """
    m = max(width, max((len(s) for s in schedules), default=0))
    if m == 0:
        return None
    rows = len(schedules)
    times = np.zeros((rows, m), dtype=np.float64)
    amounts = np.zeros((rows, m), dtype=np.float64)
    for i, schedule in enumerate(schedules):
        for j, (t, a) in enumerate(schedule):
            times[i, j] = t
            amounts[i, j] = a
    if elapsed is None:
        return times, amounts
    shifted = times[:, None, :] - np.asarray(elapsed, dtype=np.float64)[:, :, None]
    alive = shifted > 0.0
    return np.where(alive, shifted, 0.0), np.where(alive, amounts[:, None, :], 0.0)


def solve_ivs(
    keys: Sequence[ModelKey | None],
    *,
    price: Sequence[float],
    spot: Sequence[float],
    strike: Sequence[float],
    time_to_expiry: Sequence[float],
    rate: float,
    carry: Sequence[float],
    is_call: Sequence[bool],
    dividends: Sequence[Dividends],
) -> tuple[FloatArray, list[str | None]]:
    """Implied vols of many quotes, one :func:`riskdesk.pricing.implied_vol` call per model.

    Every sequence has one entry per row; ``keys[i]`` is the row's ``(model, engine)``, None
    for a row not to solve. Returns the vols (NaN unless the status is ``ok`` and the vol is
    finite and positive) and the solver status of each row (None for skipped rows).
    """
    n = len(keys)
    ivs = np.full(n, math.nan, dtype=np.float64)
    statuses: list[str | None] = [None] * n
    for key, idx in group_rows(keys).items():
        kwargs = _engine_kwargs(key)
        divs = dividend_arrays([dividends[i] for i in idx])
        if divs is not None:
            kwargs["dividends"] = divs
        result = _implied_vol(
            model=key[0],
            price=np.array([price[i] for i in idx], dtype=np.float64),
            S=np.array([spot[i] for i in idx], dtype=np.float64),
            K=np.array([strike[i] for i in idx], dtype=np.float64),
            T=np.array([time_to_expiry[i] for i in idx], dtype=np.float64),
            r=rate,
            q=np.array([carry[i] for i in idx], dtype=np.float64),
            is_call=np.array([is_call[i] for i in idx], dtype=np.bool_),
            **kwargs,
        )
        solved = np.asarray(result.iv, dtype=np.float64).reshape(-1)
        status = np.asarray(result.status).reshape(-1)
        for j, i in enumerate(idx):
            statuses[i] = str(status[j])
            iv = float(solved[j])
            if statuses[i] == "ok" and math.isfinite(iv) and iv > 0.0:
                ivs[i] = iv
    return ivs, statuses


def _rows(value: Any, rows: npt.NDArray[np.intp], shape: tuple[int, ...]) -> FloatArray:
    result: FloatArray = np.broadcast_to(np.asarray(value, dtype=np.float64), shape)[rows]
    return result


def cap_dividends(
    spot: FloatArray, ttm: FloatArray, rate: FloatArray, times: FloatArray, amounts: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Scale dividends down where their PV before expiry exceeds ``DIVIDEND_CAP`` of spot.

    Only crash scenarios below the dividends' value hit the cap; it keeps the escrowed spot
    ``S - PV`` positive (a company cannot pay out more than it is worth). ``spot``, ``ttm``,
    ``rate`` share the option shape; ``times``/``amounts`` add a last axis.
    """
    live = (times < ttm[..., None]) & (amounts > 0.0)
    pv = np.where(live, amounts * np.exp(-rate[..., None] * times), 0.0).sum(axis=-1)
    limit = DIVIDEND_CAP * spot
    scale = np.where(pv > limit, limit / np.where(pv > 0.0, pv, 1.0), 1.0)
    return times, amounts * scale[..., None]


def price_options(
    legs: Sequence[ValuedLeg],
    *,
    spot: FloatArray,
    time_to_expiry: FloatArray,
    vol: FloatArray,
    rate: FloatArray | None = None,
    carry: FloatArray | None = None,
    elapsed: FloatArray | None = None,
    dividend_grid: tuple[FloatArray, FloatArray] | None = None,
) -> FloatArray:
    """Per-unit prices of the legs at scenario points; one kernel call per model.

    Every array is ``(n_legs, n_points)`` or broadcastable to it; rows of stock legs are the
    spot itself (a share is worth its price). ``rate`` / ``carry`` default to each leg's own.
    Dividends: each leg's own schedule, moved by ``elapsed`` (years of time passed at each
    point, default 0); or explicit ``dividend_grid`` ``(times, amounts)`` of shape
    ``(n_legs, n_points, m)``.
    """
    n = len(legs)
    shape = np.broadcast_shapes(np.shape(spot), np.shape(time_to_expiry), np.shape(vol), (n, 1))
    out = np.empty(shape, dtype=np.float64)
    spot_full = np.broadcast_to(np.asarray(spot, dtype=np.float64), shape)
    for i, leg in enumerate(legs):
        if not leg.is_option:
            out[i] = spot_full[i]
    rate_arr = np.array([[leg.rate] for leg in legs]) if rate is None else rate
    carry_arr = np.array([[leg.carry] for leg in legs]) if carry is None else carry
    strikes = np.array([[leg.strike] for leg in legs])
    calls = np.array([[leg.is_call] for leg in legs])
    for key, idx in group_rows(_leg_keys(legs)).items():
        rows = np.asarray(idx)
        kwargs = _engine_kwargs(key)
        divs: tuple[FloatArray, FloatArray] | None
        if dividend_grid is not None:
            divs = (dividend_grid[0][rows], dividend_grid[1][rows])
            if not np.any(divs[1] > 0.0):
                divs = None
        elif any(legs[i].dividends for i in idx):
            divs = dividend_arrays(
                [legs[i].dividends for i in idx],
                _rows(0.0 if elapsed is None else elapsed, rows, shape),
            )
        else:
            divs = None
        s = spot_full[rows]
        t = _rows(time_to_expiry, rows, shape)
        r = _rows(rate_arr, rows, shape)
        if divs is not None:
            kwargs["dividends"] = cap_dividends(s, t, r, divs[0], divs[1])
        out[rows] = _price(
            model=key[0],
            S=s,
            K=strikes[rows],
            T=t,
            r=r,
            q=_rows(carry_arr, rows, shape),
            sigma=_rows(vol, rows, shape),
            is_call=calls[rows],
            **kwargs,
        )
    return out


def option_greeks(
    legs: Sequence[ValuedLeg],
    which: tuple[str, ...] = GREEK_NAMES,
) -> dict[str, FloatArray]:
    """Per-unit Greeks of each leg at its own inputs (1-D arrays over legs), API units.

    Stock legs get ``price = spot``, ``delta = 1`` and zero for every other Greek.
    """
    n = len(legs)
    out = {name: np.zeros(n, dtype=np.float64) for name in which}
    for i, leg in enumerate(legs):
        if not leg.is_option:
            if "price" in out:
                out["price"][i] = leg.spot
            if "delta" in out:
                out["delta"][i] = 1.0
    for key, idx in group_rows(_leg_keys(legs)).items():
        group = [legs[i] for i in idx]
        kwargs = _engine_kwargs(key)
        divs = dividend_arrays([leg.dividends for leg in group])
        if divs is not None:
            kwargs["dividends"] = divs
        values = _greeks(
            model=key[0],
            S=np.array([leg.spot for leg in group]),
            K=np.array([leg.strike for leg in group]),
            T=np.array([leg.time_to_expiry for leg in group]),
            r=np.array([leg.rate for leg in group]),
            q=np.array([leg.carry for leg in group]),
            sigma=np.array([leg.vol for leg in group]),
            is_call=np.array([leg.is_call for leg in group]),
            which=which,
            **kwargs,
        )
        rows = np.asarray(idx)
        for name in which:
            out[name][rows] = values[name]
    return out
