"""Full revaluation of an option book under many spot / vol scenarios.

A :class:`OptionBook` is a struct of arrays (one entry per option position); a
:class:`BookScenarios` holds relative spot shocks (per underlying or common) and absolute vol
shocks in vol points, plus an optional horizon. :func:`revalue_book` prices every position in
every scenario -- European positions with BSM, American ones with the config's American engine
(Bjerksund-Stensland 2002 by default) -- in scenario chunks that bound memory, and returns the
book value and P/L per scenario (optionally per position).

BSM and Bjerksund-Stensland 2002 positions go through the scenario engine of
:mod:`riskdesk.pricing._scenario`, which computes what spot does not change (discount
factors, ``sigma sqrt(T)``, log-moneyness; BS2002's exponent and call triggers) once per
position and volatility shock and revalues every spot against it; its prices equal the public
:func:`riskdesk.pricing.price` to ``1e-12`` (BSM) and ``1e-10`` relative (BS2002). Positions
with discrete dividends, other models (the high-accuracy American engine) and BS2002's
two-boundary route (negative rates) are priced through :func:`riskdesk.pricing.price`.

A scenario horizon ages every position by ``horizon_days`` calendar days in the book's time
basis: ``horizon_days / 365`` years on the calendar clock, or the open-market time between the
book's valuation time and ``horizon_days`` later over 252 sessions on trading time (so a
Friday-to-Monday horizon costs a trading-time book almost nothing). Positions expiring inside
the horizon are valued at intrinsic value (``T = 0``).

Example:
-------
>>> import numpy as np
>>> book = OptionBook(
...     underlyings=("XYZ",), spot=np.array([100.0]), underlying_index=np.array([0]),
...     strike=np.array([100.0]), time_to_expiry=np.array([0.5]), vol=np.array([0.2]),
...     is_call=np.array([True]), american=np.array([False]), position=np.array([100.0]),
...     rate=0.0, carry=np.array([0.0]))
>>> scenarios = BookScenarios(spot_shocks=np.array([0.0, 0.1]), vol_shocks=np.zeros(2))
>>> result = revalue_book(book, scenarios)
>>> bool(result.pnl[0] == 0.0 and result.pnl[1] > 0)
True

"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

from riskdesk.analytics._common import FloatArray
from riskdesk.analytics._kernels import cap_dividends, dividend_arrays
from riskdesk.analytics._legs import resolve_legs
from riskdesk.analytics._market import TradeLike, ValuedLeg
from riskdesk.domain.configs import EngineName, ModelConfig, PricingModel, ScenarioGrid, TimeBasis
from riskdesk.domain.instruments import ExerciseStyle, OptionContract
from riskdesk.domain.market import MarketSnapshot
from riskdesk.domain.timeutil import year_fraction
from riskdesk.pricing import price
from riskdesk.pricing._api import kernel_array
from riskdesk.pricing._scenario import (
    american_bs2002_scenario_prices,
    european_scenario_prices,
    weighted_row_sums,
)

__all__ = [
    "BookRevaluation",
    "BookScenarios",
    "OptionBook",
    "book_from_trades",
    "revalue_book",
]

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

DEFAULT_CHUNK_PRICES = 2_000_000
"""Prices per kernel call (bounds the temporary arrays to a few tens of MB)."""


def _vector(name: str, value: Any, n: int, dtype: Any = np.float64) -> Any:
    array = kernel_array(np.asarray(value, dtype=dtype))
    if array.shape != (n,):
        raise ValueError(f"OptionBook.{name} must have shape ({n},), got {array.shape}")
    if dtype is np.float64 and not np.all(np.isfinite(array)):
        raise ValueError(f"OptionBook.{name} must be finite")
    return array


@dataclass(frozen=True, slots=True, eq=False)
class OptionBook:
    """Option positions as arrays (length ``n``) and their underlyings (length ``m``).

    ``position`` is signed units of underlying per unit of price (``quantity * multiplier``),
    ``time_to_expiry`` in years (> 0), ``vol`` decimal (> 0), ``rate`` continuously
    compounded, ``carry`` the yield of each underlying. Optional discrete dividends per
    position: ``dividend_times`` (years from now, > 0; padding entries have amount 0) and
    ``dividend_amounts``, both ``(n, m)``. ``time_basis`` is the clock of every time in years
    (calendar by default); a ``TRADING`` book needs ``valuation_time`` (the instant its times
    are measured from) to be aged by a scenario horizon.
    """

    underlyings: tuple[str, ...]
    spot: FloatArray
    underlying_index: IntArray
    strike: FloatArray
    time_to_expiry: FloatArray
    vol: FloatArray
    is_call: BoolArray
    american: BoolArray
    position: FloatArray
    rate: float
    carry: FloatArray
    dividend_times: FloatArray | None = None
    dividend_amounts: FloatArray | None = None
    time_basis: TimeBasis = TimeBasis.CALENDAR
    valuation_time: datetime | None = None

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "time_basis", TimeBasis(self.time_basis))
        except ValueError:
            allowed = [b.value for b in TimeBasis]
            raise ValueError(
                f"OptionBook.time_basis must be one of {allowed}, got {self.time_basis!r}"
            ) from None
        when = self.valuation_time
        if when is not None and (when.tzinfo is None or when.utcoffset() is None):
            raise ValueError(f"OptionBook.valuation_time must be timezone-aware, got {when!r}")
        m = len(self.underlyings)
        object.__setattr__(self, "spot", _vector("spot", self.spot, m))
        object.__setattr__(self, "carry", _vector("carry", self.carry, m))
        n = int(np.asarray(self.strike).shape[0]) if np.ndim(self.strike) == 1 else -1
        if n < 0:
            raise ValueError("OptionBook.strike must be one-dimensional")
        for name in ("strike", "time_to_expiry", "vol", "position"):
            object.__setattr__(self, name, _vector(name, getattr(self, name), n))
        object.__setattr__(self, "is_call", _vector("is_call", self.is_call, n, np.bool_))
        object.__setattr__(self, "american", _vector("american", self.american, n, np.bool_))
        index = _vector("underlying_index", self.underlying_index, n, np.int64)
        if n and (index.min() < 0 or index.max() >= m):
            raise ValueError(
                f"OptionBook.underlying_index must be in [0, {m}), got {index.min()}..{index.max()}"
            )
        object.__setattr__(self, "underlying_index", index)
        if np.any(self.spot <= 0) or np.any(self.strike <= 0):
            raise ValueError("OptionBook spot and strike must be > 0")
        if np.any(self.time_to_expiry <= 0) or np.any(self.vol <= 0):
            raise ValueError("OptionBook time_to_expiry and vol must be > 0 (drop expired options)")
        if not math.isfinite(self.rate):
            raise ValueError(f"OptionBook.rate must be finite, got {self.rate}")
        if (self.dividend_times is None) != (self.dividend_amounts is None):
            raise ValueError(
                "OptionBook needs both dividend_times and dividend_amounts, or neither"
            )
        if self.dividend_times is not None and self.dividend_amounts is not None:
            times = kernel_array(np.asarray(self.dividend_times, dtype=np.float64))
            amounts = kernel_array(np.asarray(self.dividend_amounts, dtype=np.float64))
            if times.ndim != 2 or times.shape[0] != n or amounts.shape != times.shape:
                raise ValueError(
                    f"OptionBook.dividend_times/amounts must both have shape ({n}, m), got "
                    f"{times.shape} and {amounts.shape}"
                )
            if not (np.all(np.isfinite(times)) and np.all(np.isfinite(amounts))):
                raise ValueError("OptionBook dividend times and amounts must be finite")
            if np.any(amounts < 0) or np.any((amounts > 0) & (times <= 0)):
                raise ValueError("OptionBook dividends need amounts >= 0 and times > 0")
            object.__setattr__(self, "dividend_times", times)
            object.__setattr__(self, "dividend_amounts", amounts)

    @property
    def size(self) -> int:
        """Number of option positions."""
        return int(self.strike.shape[0])

    def elapsed_years(self, days: float) -> float:
        """Years in :attr:`time_basis` from the valuation time to ``days`` calendar days later."""
        if days == 0.0:
            return 0.0
        if self.time_basis is TimeBasis.CALENDAR:
            return days / 365.0
        if self.valuation_time is None:
            raise ValueError(
                "a trading-time OptionBook needs valuation_time to be aged by a horizon of "
                f"{days:g} calendar days (the trading time in between depends on the dates)"
            )
        later = self.valuation_time + timedelta(days=days)
        return year_fraction(self.valuation_time, later, basis="trading")


@dataclass(frozen=True, slots=True, eq=False)
class BookScenarios:
    """Scenario shocks.

    ``spot_shocks`` are relative moves (``0.05`` = +5%), shape ``(k,)`` (all underlyings
    alike) or ``(k, m)`` (per underlying); ``vol_shocks`` are absolute vol points (``+2`` =
    +2 vol points), shape ``(k,)``; ``horizon_days`` ages every option by that many calendar
    days in the book's time basis (see the module docstring; ``T`` floored at 0) in every
    scenario. Shocked vols are floored at :attr:`ScenarioGrid.MIN_VOL`.
    """

    spot_shocks: FloatArray
    vol_shocks: FloatArray
    horizon_days: float = 0.0

    def __post_init__(self) -> None:
        spot = kernel_array(np.asarray(self.spot_shocks, dtype=np.float64))
        vol = kernel_array(np.asarray(self.vol_shocks, dtype=np.float64))
        if spot.ndim not in (1, 2) or vol.ndim != 1 or spot.shape[0] != vol.shape[0]:
            raise ValueError(
                f"spot_shocks (k,) or (k, m) and vol_shocks (k,) must share k, got {spot.shape} "
                f"and {vol.shape}"
            )
        if not (np.all(np.isfinite(spot)) and np.all(np.isfinite(vol))):
            raise ValueError("scenario shocks must be finite")
        if np.any(spot <= -1.0):
            raise ValueError("spot shocks must be > -1 (a -100% move leaves no price)")
        if not (math.isfinite(self.horizon_days) and self.horizon_days >= 0):
            raise ValueError(f"horizon_days must be >= 0, got {self.horizon_days}")
        object.__setattr__(self, "spot_shocks", spot)
        object.__setattr__(self, "vol_shocks", vol)

    @property
    def count(self) -> int:
        """Number of scenarios."""
        return int(self.vol_shocks.shape[0])

    @classmethod
    def grid(
        cls, spot_pcts: npt.ArrayLike, vol_points: npt.ArrayLike, *, horizon_days: float = 0.0
    ) -> BookScenarios:
        """Cartesian product of spot moves (percent) and vol shifts (points), spot-major."""
        spots = np.asarray(spot_pcts, dtype=np.float64).reshape(-1)
        vols = np.asarray(vol_points, dtype=np.float64).reshape(-1)
        s = np.repeat(spots / 100.0, vols.size)
        v = np.tile(vols, spots.size)
        return cls(spot_shocks=s, vol_shocks=v, horizon_days=horizon_days)


@dataclass(frozen=True, slots=True, eq=False)
class BookRevaluation:
    """Output of :func:`revalue_book`.

    ``values[k]`` is the book value in scenario ``k``, ``pnl = values - base_value``;
    ``position_pnl`` is ``(k, n)`` when requested. ``models`` lists the kernels used.
    """

    base_value: float
    values: FloatArray
    pnl: FloatArray
    position_pnl: FloatArray | None
    n_prices: int
    models: tuple[str, ...]


def _scenario_kind(model: PricingModel, engine: EngineName | None) -> str | None:
    """Which scenario kernel prices ``model``/``engine`` (None: the library path)."""
    if model == "bsm":
        return "european"
    if model == "american" and engine == "bjerksund_stensland_2002":
        return "bs2002"
    return None


@dataclass(frozen=True, slots=True, eq=False)
class _Leg:
    """Positions of one model priced together (the columns of a scenario block)."""

    book: OptionBook
    model: PricingModel
    kind: str | None
    kwargs: dict[str, Any]
    idx: IntArray
    s0: FloatArray
    strike: FloatArray
    aged_t: FloatArray
    vol: FloatArray
    calls: BoolArray
    carry: FloatArray
    pos: FloatArray
    base: FloatArray
    elapsed: float

    @property
    def underlying(self) -> IntArray:
        """Underlying of each position."""
        return self.book.underlying_index[self.idx]


def _shock_columns(leg: _Leg, spot_shocks: FloatArray, start: int, stop: int) -> FloatArray:
    """``(stop - start, n)`` relative spot shocks of the leg's positions."""
    chunk = spot_shocks[start:stop]
    if chunk.shape[1] == 1:
        return np.broadcast_to(chunk, (stop - start, leg.idx.size))
    return chunk[:, leg.underlying]


def _shocked_vols(leg: _Leg, scenarios: BookScenarios, start: int, stop: int) -> FloatArray:
    return np.maximum(
        leg.vol[None, :] + scenarios.vol_shocks[start:stop, None] / 100.0, ScenarioGrid.MIN_VOL
    )


def _library_block(
    leg: _Leg,
    spot_shocks: FloatArray,
    scenarios: BookScenarios,
    start: int,
    stop: int,
    keep_prices: bool = True,
) -> tuple[FloatArray, FloatArray, IntArray]:
    """Scenario values and prices of ``leg`` through the public pricing API.

    Any model; discrete dividends are aged by the horizon and capped at the shocked spot.
    """
    book = leg.book
    spots = leg.s0[None, :] * (1.0 + _shock_columns(leg, spot_shocks, start, stop))
    chunk_kwargs = dict(leg.kwargs)
    if book.dividend_times is not None and book.dividend_amounts is not None:
        times = book.dividend_times[leg.idx]
        amounts = book.dividend_amounts[leg.idx]
        moved = times - leg.elapsed
        alive = (moved > 0.0) & (amounts > 0.0)
        aged_times = np.where(alive, moved, 0.0)[None, :, :]
        aged_amounts = np.where(alive, amounts, 0.0)[None, :, :]
        chunk_kwargs["dividends"] = cap_dividends(
            spots,
            np.broadcast_to(leg.aged_t[None, :], spots.shape),
            np.full(spots.shape, book.rate),
            np.broadcast_to(aged_times, (*spots.shape, aged_times.shape[-1])),
            np.broadcast_to(aged_amounts, (*spots.shape, aged_amounts.shape[-1])),
        )
    block = np.asarray(
        price(
            model=leg.model,
            S=spots,
            K=leg.strike[None, :],
            T=leg.aged_t[None, :],
            r=book.rate,
            q=leg.carry[None, :],
            sigma=_shocked_vols(leg, scenarios, start, stop),
            is_call=leg.calls[None, :],
            **chunk_kwargs,
        ),
        dtype=np.float64,
    )
    return (block * leg.pos[None, :]).sum(axis=1), block, np.arange(leg.idx.size)


def _scenario_engine_block(
    leg: _Leg,
    spot_shocks: FloatArray,
    scenarios: BookScenarios,
    start: int,
    stop: int,
    keep_prices: bool = True,
) -> tuple[FloatArray, FloatArray, IntArray]:
    """Scenario values and prices of ``leg`` through :mod:`riskdesk.pricing._scenario`.

    The spot-independent terms are computed once per position (and volatility shock); the
    European price block is only materialized with ``keep_prices``. The American kernel's
    NaN entries (two-boundary route, non-finite engine values) are priced
    on the library path.
    """
    rows = stop - start
    m = len(leg.book.underlyings)
    chunk = spot_shocks[start:stop]
    factor = kernel_array(np.broadcast_to(1.0 + chunk, (rows, m)))
    dvol = np.ascontiguousarray(scenarios.vol_shocks[start:stop] / 100.0)
    n = leg.idx.size
    block = np.empty((rows, n), dtype=np.float64)
    chunk_values = np.empty(rows, dtype=np.float64)
    if leg.kind == "european":
        u = leg.underlying
        perm = np.argsort(u, kind="stable")
        segments = np.searchsorted(u[perm], np.arange(m + 1)).astype(np.int64)
        s0 = leg.s0[perm]
        strike = leg.strike[perm]
        t = leg.aged_t[perm]
        q = leg.carry[perm]
        rate = leg.book.rate
        keep = keep_prices
        out = np.empty((rows, n) if keep else (1, 1), dtype=np.float64)
        european_scenario_prices(
            s0,
            strike,
            np.log(s0 / strike),
            (rate - q) * t,
            np.sqrt(t),
            np.exp(-q * t),
            strike * np.exp(-rate * t),
            t > 0.0,
            leg.vol[perm],
            np.where(leg.calls[perm], 1.0, -1.0),
            segments,
            factor,
            kernel_array(np.broadcast_to(np.log1p(chunk), (rows, m))),
            dvol,
            ScenarioGrid.MIN_VOL,
            np.ascontiguousarray(leg.pos[perm]),
            chunk_values,
            out,
            keep,
        )
        return chunk_values, out, perm
    else:
        groups, inverse = np.unique(dvol, return_inverse=True)
        order = np.argsort(inverse, kind="stable").astype(np.int64)
        bounds = np.searchsorted(inverse[order], np.arange(groups.size + 1)).astype(np.int64)
        american_bs2002_scenario_prices(
            leg.s0,
            leg.strike,
            leg.aged_t,
            leg.book.rate,
            leg.carry,
            leg.vol,
            leg.calls,
            leg.underlying,
            factor,
            bounds,
            np.ascontiguousarray(groups),
            order,
            ScenarioGrid.MIN_VOL,
            block,
        )
        missing = np.nonzero(~np.isfinite(block))
        if missing[0].size:
            spots = leg.s0[None, :] * (1.0 + _shock_columns(leg, spot_shocks, start, stop))
            sig = _shocked_vols(leg, scenarios, start, stop)
            r_, c_ = missing
            block[missing] = np.asarray(
                price(
                    model=leg.model,
                    S=spots[r_, c_],
                    K=leg.strike[c_],
                    T=leg.aged_t[c_],
                    r=leg.book.rate,
                    q=leg.carry[c_],
                    sigma=sig[r_, c_],
                    is_call=leg.calls[c_],
                    **leg.kwargs,
                ),
                dtype=np.float64,
            )
    weighted_row_sums(block, np.ascontiguousarray(leg.pos), chunk_values)
    return chunk_values, block, np.arange(n)


def revalue_book(
    book: OptionBook,
    scenarios: BookScenarios,
    *,
    model_config: ModelConfig | None = None,
    keep_positions: bool = False,
    chunk_prices: int = DEFAULT_CHUNK_PRICES,
) -> BookRevaluation:
    """Reprice every position of ``book`` in every scenario (full revaluation).

    European positions use the config's European model (BSM); American ones its American
    model and engine. Each model is evaluated once per chunk of scenarios holding about
    ``chunk_prices`` prices: BSM and BS2002 by the scenario engine (see the module
    docstring), anything else by the pricing API with ``(scenarios, positions)`` broadcast
    arrays. A scenario's value does not depend on the chunking. The horizon
    ages the book in its own time basis; a ``model_config`` with another basis is refused
    (ValueError), as is a trading-time horizon without the book's valuation time.
    """
    if model_config is not None and model_config.time_basis is not book.time_basis:
        raise ValueError(
            f"revalue_book: the model config's time basis {model_config.time_basis.value!r} "
            f"differs from the book's {book.time_basis.value!r}; build the book with "
            "book_from_trades(..., model_config) or set OptionBook.time_basis"
        )
    config = model_config or ModelConfig(time_basis=book.time_basis)
    k = scenarios.count
    n = book.size
    spot_shocks = scenarios.spot_shocks
    if spot_shocks.ndim == 1:
        spot_shocks = spot_shocks[:, None]
    elif spot_shocks.shape[1] != len(book.underlyings):
        raise ValueError(
            f"spot_shocks has {spot_shocks.shape[1]} columns for {len(book.underlyings)} "
            "underlyings"
        )
    groups: list[tuple[PricingModel, EngineName | None, IntArray]] = []
    for style in (ExerciseStyle.EUROPEAN, ExerciseStyle.AMERICAN):
        mask = book.american if style is ExerciseStyle.AMERICAN else ~book.american
        idx = np.nonzero(mask)[0]
        if idx.size:
            model, engine = config.model_for(style)
            groups.append((model, engine, idx))
    base_value = 0.0
    values = np.zeros(k, dtype=np.float64)
    position_pnl = np.zeros((k, n), dtype=np.float64) if keep_positions else None
    elapsed = book.elapsed_years(scenarios.horizon_days)
    aged = np.maximum(book.time_to_expiry - elapsed, 0.0)
    for model, engine, idx in groups:
        kwargs: dict[str, Any] = {} if engine is None else {"engine": engine}
        u = book.underlying_index[idx]
        s0 = book.spot[u]
        strike = book.strike[idx]
        ttm = book.time_to_expiry[idx]
        vol = book.vol[idx]
        calls = book.is_call[idx]
        carry = book.carry[u]
        pos = book.position[idx]
        base_kwargs = dict(kwargs)
        has_divs = np.zeros(idx.size, dtype=bool)
        if book.dividend_times is not None and book.dividend_amounts is not None:
            times = book.dividend_times[idx]
            amounts = book.dividend_amounts[idx]
            base_kwargs["dividends"] = (np.where(amounts > 0, times, 0.0), amounts)
            has_divs = np.any(amounts > 0.0, axis=1)
        base = price(
            model=model,
            S=s0,
            K=strike,
            T=ttm,
            r=book.rate,
            q=carry,
            sigma=vol,
            is_call=calls,
            **base_kwargs,
        )
        base_prices = np.asarray(base, dtype=np.float64)
        base_value += float((base_prices * pos).sum())
        kind = _scenario_kind(model, engine)
        fast = np.nonzero(~has_divs)[0] if kind is not None else np.zeros(0, dtype=np.int64)
        slow = np.nonzero(has_divs)[0] if kind is not None else np.arange(idx.size)
        rows = max(1, chunk_prices // max(idx.size, 1))
        aged_t = aged[idx]
        for cols, engine_fn in (
            (fast, _scenario_engine_block),
            (slow, _library_block),
        ):
            if not cols.size:
                continue
            leg = _Leg(
                book=book,
                model=model,
                kind=kind,
                kwargs=kwargs,
                idx=idx[cols],
                s0=s0[cols],
                strike=strike[cols],
                aged_t=aged_t[cols],
                vol=vol[cols],
                calls=calls[cols],
                carry=carry[cols],
                pos=pos[cols],
                base=base_prices[cols],
                elapsed=elapsed,
            )
            for start in range(0, k, rows):
                stop = min(start + rows, k)
                chunk_values, block, cols_order = engine_fn(
                    leg, spot_shocks, scenarios, start, stop, position_pnl is not None
                )
                values[start:stop] += chunk_values
                if position_pnl is not None:
                    base_o = leg.base[cols_order]
                    pos_o = leg.pos[cols_order]
                    position_pnl[start:stop, leg.idx[cols_order]] = (
                        block - base_o[None, :]
                    ) * pos_o[None, :]
    models = tuple(f"{m}/{e}" if e else m for m, e, _ in groups)
    return BookRevaluation(
        base_value=base_value,
        values=values,
        pnl=values - base_value,
        position_pnl=position_pnl,
        n_prices=k * n,
        models=models,
    )


def book_from_trades(
    trades: Sequence[TradeLike],
    snapshot: MarketSnapshot,
    model_config: ModelConfig,
) -> tuple[OptionBook, list[str]]:
    """Build the book of the valued option legs of ``trades`` (stock and unvalued legs left out).

    Vols, times and dividends are resolved as in ``evaluate``. Returns the book and the
    messages of the legs that could not be valued.
    """
    legs: list[ValuedLeg] = []
    messages: list[str] = []
    for trade in trades:
        resolution = resolve_legs(trade, snapshot, model_config)
        messages.extend(issue.message for issue in resolution.warnings + resolution.errors)
        legs.extend(leg for leg in resolution.valued if leg.is_option)
    spots: dict[str, tuple[float, float]] = {}
    for leg in legs:
        spots.setdefault(leg.underlying, (leg.spot, leg.carry))
    symbols = tuple(sorted(spots))
    index = {s: i for i, s in enumerate(symbols)}
    dividends = dividend_arrays([leg.dividends for leg in legs])
    american = [
        isinstance(leg.leg.instrument, OptionContract)
        and model_config.resolved_style(leg.leg.instrument.style) is ExerciseStyle.AMERICAN
        for leg in legs
    ]
    book = OptionBook(
        underlyings=symbols,
        spot=np.array([spots[s][0] for s in symbols], dtype=np.float64),
        underlying_index=np.array([index[leg.underlying] for leg in legs], dtype=np.int64),
        strike=np.array([leg.strike for leg in legs], dtype=np.float64),
        time_to_expiry=np.array([leg.time_to_expiry for leg in legs], dtype=np.float64),
        vol=np.array([leg.vol for leg in legs], dtype=np.float64),
        is_call=np.array([leg.is_call for leg in legs], dtype=bool),
        american=np.array(american, dtype=bool),
        position=np.array([leg.position for leg in legs], dtype=np.float64),
        rate=float(snapshot.overrides.rate),
        carry=np.array([spots[s][1] for s in symbols], dtype=np.float64),
        dividend_times=None if dividends is None else dividends[0],
        dividend_amounts=None if dividends is None else dividends[1],
        time_basis=model_config.time_basis,
        valuation_time=snapshot.as_of,
    )
    return book, messages
