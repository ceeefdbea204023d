"""Exposures and Greeks of a book on its marks (pure: no SQL, no I/O, no clock).

Both engines take the book (a sequence of :class:`~riskdesk.risk.positions.BookPosition`) and
its full revaluation (:func:`~riskdesk.risk.marks.value_book`, one scenario) and only add
up what that revaluation says; they never reprice.

Conventions
-----------
- *Market value* of a position is ``value_book``'s signed value (premium x quantity x
  multiplier for an option, shares x spot for stock); long / short / gross / net exposures
  are seed 002's: long = sum of positive values, short = sum of negative values (a negative
  number), gross = sum of |value|, net = sum of values. *Notional* is sum |quantity x
  multiplier x spot|.
- *Delta-adjusted* (delta-dollar) exposure of a position is ``delta x spot``, where
  ``value_book``'s ``delta`` is already shares-equivalent (quantity and multiplier applied):
  an option is delta x underlying price x multiplier x quantity, a share is its market value.
- *Beta-weighted delta* to a benchmark: dollars = sum of delta-dollars x beta(underlying);
  benchmark shares = those dollars / benchmark price. Betas are an input; the benchmark's own
  beta defaults to 1.0; an underlying with no beta is *reported* in ``missing_betas`` and
  left out of the beta-weighted sums (never assumed to be 1).
- Greeks are in money, as ``value_book`` gives them: ``delta`` in underlying shares,
  ``gamma`` in shares per 1 unit of the underlying, ``vega`` per 1 vol point, ``theta`` per
  calendar day. ``dollar_delta = delta x spot``; ``dollar_gamma = gamma x spot^2 / 100`` (the
  change of dollar delta for a 1% move of the underlying).
- DTE is calendar days from the valuation date to the expiry date, bucketed
  ``0-7``, ``8-30``, ``31-90``, ``91-180``, ``>180``; shares have no expiry and fall in the
  bucket ``shares`` of the expiry and DTE groupings.
- A position whose mark status is not OK (expired, no spot, no vol) is never summed (not even
  as zero): it is listed in ``excluded`` with its status.
- A position with several tags counts in each of its tags' buckets (so the tag buckets can add
  up to more than the total); an untagged one is in ``(untagged)``. A position used partly by
  a strategy group (e.g. 300 shares of which 200 cover calls) contributes its Greeks pro rata
  to the quantity each group uses; what no group uses is in ``(ungrouped)``.

Numbers are float64 in the dataclasses (the engine is vectorised); ``to_dict()`` renders them
as decimal strings at fixed precision, the wire convention for money: money (values,
exposures, dollar delta and gamma, vega, theta) to the cent, deltas and benchmark shares to 4
places, gamma to 6 places, betas to 4 places.

Examples
--------
Seed 002's example: 10,000 of underlying at delta 0.6 plus -8,000 at delta -0.4 is a
delta-adjusted exposure of 6,000 + 3,200 = 9,200 (see the tests for the book behind it).

"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt

from riskdesk.domain.instruments import OptionContract
from riskdesk.risk.marks import BookValuation, MarkStatus
from riskdesk.risk.positions import BookPosition
from riskdesk.risk.strategies import StrategyMatch, detect_strategies, ungrouped

__all__ = [
    "DTE_BUCKETS",
    "NO_EXPIRY",
    "UNGROUPED",
    "UNTAGGED",
    "ExcludedPosition",
    "Exposures",
    "GreekBucket",
    "GreekTotals",
    "GreeksReport",
    "Grouping",
    "aggregate_greeks",
    "compute_exposures",
    "dte_bucket",
]

FloatArray = npt.NDArray[np.float64]

DTE_BUCKETS: tuple[str, ...] = ("0-7", "8-30", "31-90", "91-180", ">180")
"""The DTE buckets, in order (calendar days, both edges inclusive)."""
_DTE_EDGES: tuple[int, ...] = (7, 30, 90, 180)
NO_EXPIRY = "shares"
"""Expiry and DTE bucket of positions without an expiry (shares and ETFs)."""
UNTAGGED = "(untagged)"
UNGROUPED = "(ungrouped)"

_MONEY = 2
_SHARES = 4
_GAMMA = 6
_BETA = 4


class Grouping(enum.StrEnum):
    """How Greeks are bucketed."""

    UNDERLYING = "underlying"
    EXPIRY = "expiry"
    DTE = "dte"
    TAG = "tag"
    STRATEGY = "strategy"


def dte_bucket(days: int) -> str:
    """The DTE bucket of ``days`` calendar days to expiry.

    Examples
    --------
    >>> [dte_bucket(d) for d in (0, 7, 8, 30, 31, 90, 91, 180, 181)]
    ['0-7', '0-7', '8-30', '8-30', '31-90', '31-90', '91-180', '91-180', '>180']

    """
    if days < 0:
        raise ValueError(f"days to expiry must be >= 0 for a live option, got {days}")
    for edge, label in zip(_DTE_EDGES, DTE_BUCKETS, strict=False):
        if days <= edge:
            return label
    return DTE_BUCKETS[-1]


def _fmt(value: float | None, places: int) -> str | None:
    """``value`` as a fixed-point decimal string (``-0.00`` written ``0.00``)."""
    if value is None:
        return None
    if not math.isfinite(value):
        raise ValueError(f"cannot render the non-finite number {value} as a decimal")
    text = f"{value:.{places}f}"
    return text[1:] if text.startswith("-") and not text.strip("-0.") else text


@dataclass(frozen=True, slots=True)
class ExcludedPosition:
    """A position left out of every sum, with its mark status (expired, no spot, no vol)."""

    symbol: str
    underlying: str
    status: MarkStatus

    @property
    def reason(self) -> str:
        """One line for the user."""
        if self.status is MarkStatus.EXPIRED:
            return "expired: settled at intrinsic, never priced as live"
        if self.status is MarkStatus.NO_SPOT:
            return f"no close of {self.underlying} on the valuation date"
        return f"no volatility for {self.symbol} (no snapshot IV, not enough history)"

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""
        return {
            "symbol": self.symbol,
            "underlying": self.underlying,
            "status": self.status.value,
            "reason": self.reason,
        }


def _excluded(positions: Sequence[BookPosition], valuation: BookValuation) -> list[int]:
    _check(positions, valuation)
    return [i for i, s in enumerate(valuation.status) if s is not MarkStatus.OK]


def _check(positions: Sequence[BookPosition], valuation: BookValuation) -> None:
    if valuation.value.ndim != 1:
        raise ValueError(
            "exposures and Greeks need a one-scenario valuation (value_book without scenario "
            f"multipliers), got values of shape {valuation.value.shape}"
        )
    if len(valuation.status) != len(positions):
        raise ValueError(
            f"the valuation has {len(valuation.status)} positions but the book has "
            f"{len(positions)}: value the same book"
        )


def _excluded_list(
    positions: Sequence[BookPosition], valuation: BookValuation, rows: Sequence[int]
) -> tuple[ExcludedPosition, ...]:
    return tuple(
        ExcludedPosition(positions[i].symbol, positions[i].underlying, valuation.status[i])
        for i in rows
    )


# -- exposures ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Exposures:
    """Market value and exposures of a book on one date (module docstring for definitions)."""

    on: date
    benchmark: str
    benchmark_price: float | None
    positions: int
    long_count: int
    short_count: int
    market_value: float
    long: float
    short: float
    gross: float
    net: float
    notional: float
    delta_long: float
    delta_short: float
    delta_gross: float
    delta_net: float
    beta_weighted_dollars: float
    beta_weighted_shares: float | None
    betas: Mapping[str, float] = field(default_factory=dict)
    missing_betas: tuple[str, ...] = ()
    excluded: tuple[ExcludedPosition, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types: decimal strings (money to the cent, shares to 4 places)."""
        return {
            "date": self.on.isoformat(),
            "positions": self.positions,
            "long_count": self.long_count,
            "short_count": self.short_count,
            "market_value": _fmt(self.market_value, _MONEY),
            "long": _fmt(self.long, _MONEY),
            "short": _fmt(self.short, _MONEY),
            "gross": _fmt(self.gross, _MONEY),
            "net": _fmt(self.net, _MONEY),
            "notional": _fmt(self.notional, _MONEY),
            "delta_adjusted": {
                "long": _fmt(self.delta_long, _MONEY),
                "short": _fmt(self.delta_short, _MONEY),
                "gross": _fmt(self.delta_gross, _MONEY),
                "net": _fmt(self.delta_net, _MONEY),
            },
            "beta_weighted": {
                "benchmark": self.benchmark,
                "benchmark_price": _fmt(self.benchmark_price, _MONEY),
                "dollars": _fmt(self.beta_weighted_dollars, _MONEY),
                "benchmark_shares": _fmt(self.beta_weighted_shares, _SHARES),
                "betas": {k: _fmt(v, _BETA) for k, v in sorted(self.betas.items())},
                "missing_betas": list(self.missing_betas),
            },
            "excluded": [e.to_dict() for e in self.excluded],
        }


def compute_exposures(
    positions: Sequence[BookPosition],
    valuation: BookValuation,
    *,
    on: date,
    benchmark: str = "SPY",
    benchmark_price: float | None = None,
    betas: Mapping[str, float] | None = None,
) -> Exposures:
    """Exposures of ``positions`` valued as ``valuation`` (one scenario of ``value_book``).

    Parameters
    ----------
    positions
        The book, in the order it was valued.
    valuation
        ``value_book(positions, marks)``.
    on
        The valuation date (reported).
    benchmark
        The benchmark symbol of the beta-weighted delta; its own beta defaults to 1.0.
    benchmark_price
        The benchmark's price; None leaves the benchmark-share figure None.
    betas
        Underlying -> beta to the benchmark. Underlyings without one are listed in
        ``missing_betas`` and left out of the beta-weighted sums.

    Raises
    ------
    ValueError
        For a scenario valuation, one of another book, a non-finite beta or a benchmark
        price that is not positive.

    """
    excluded = _excluded(positions, valuation)
    if benchmark_price is not None and (not math.isfinite(benchmark_price) or benchmark_price <= 0):
        raise ValueError(
            f"benchmark price of {benchmark} must be a positive number, got {benchmark_price}"
        )
    beta_of = {benchmark: 1.0} | dict(betas or {})
    for name, given in beta_of.items():
        if not math.isfinite(given):
            raise ValueError(f"beta of {name} must be a finite number, got {given}")
    ok = np.array([s is MarkStatus.OK for s in valuation.status], dtype=bool)
    value = valuation.value[ok]
    spot = valuation.spot[ok]
    dollars = valuation.delta[ok] * spot
    units = np.array(
        [float(p.quantity) * p.multiplier for p in positions], dtype=np.float64
    ).reshape(-1)[ok]
    underlyings = [p.underlying for p, good in zip(positions, ok, strict=True) if good]
    beta = np.array([beta_of.get(u, np.nan) for u in underlyings], dtype=np.float64)
    known = ~np.isnan(beta)
    missing = tuple(sorted({u for u, k in zip(underlyings, known, strict=True) if not k}))
    weighted = float(np.sum(dollars[known] * beta[known]))
    used = {u: beta_of[u] for u, k in zip(underlyings, known, strict=True) if k}
    return Exposures(
        on=on,
        benchmark=benchmark,
        benchmark_price=benchmark_price,
        positions=int(ok.sum()),
        long_count=int(np.sum(value > 0)),
        short_count=int(np.sum(value < 0)),
        market_value=float(value.sum()),
        long=float(value[value > 0].sum()),
        short=float(value[value < 0].sum()),
        gross=float(np.abs(value).sum()),
        net=float(value.sum()),
        notional=float(np.abs(units * spot).sum()),
        delta_long=float(dollars[dollars > 0].sum()),
        delta_short=float(dollars[dollars < 0].sum()),
        delta_gross=float(np.abs(dollars).sum()),
        delta_net=float(dollars.sum()),
        beta_weighted_dollars=weighted,
        beta_weighted_shares=None if benchmark_price is None else weighted / benchmark_price,
        betas=used,
        missing_betas=missing,
        excluded=_excluded_list(positions, valuation, excluded),
    )


# -- Greeks ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GreekTotals:
    """Summed Greeks of some positions (money units as in the module docstring)."""

    delta: float
    gamma: float
    vega: float
    theta: float
    dollar_delta: float
    dollar_gamma: float
    market_value: float
    count: int

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types (decimal strings)."""
        return {
            "delta": _fmt(self.delta, _SHARES),
            "gamma": _fmt(self.gamma, _GAMMA),
            "vega": _fmt(self.vega, _MONEY),
            "theta": _fmt(self.theta, _MONEY),
            "dollar_delta": _fmt(self.dollar_delta, _MONEY),
            "dollar_gamma": _fmt(self.dollar_gamma, _MONEY),
            "market_value": _fmt(self.market_value, _MONEY),
            "count": self.count,
        }


@dataclass(frozen=True, slots=True)
class GreekBucket:
    """One bucket of a grouping: its key, its sums and how many positions (legs) are in it.

    ``kind`` is the strategy type for the strategy grouping, else None.
    """

    key: str
    totals: GreekTotals
    kind: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""
        out: dict[str, Any] = {"key": self.key} | self.totals.to_dict()
        if self.kind is not None:
            out["kind"] = self.kind
        return out


@dataclass(frozen=True, slots=True)
class GreeksReport:
    """A book's Greeks: totals, the buckets of each grouping asked for, what was excluded."""

    on: date
    totals: GreekTotals
    by: Mapping[Grouping, tuple[GreekBucket, ...]]
    excluded: tuple[ExcludedPosition, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types (decimal strings; see the module docstring for precision)."""
        return {
            "date": self.on.isoformat(),
            "totals": self.totals.to_dict(),
            "by": {g.value: [b.to_dict() for b in buckets] for g, buckets in self.by.items()},
            "excluded": [e.to_dict() for e in self.excluded],
        }


_MEASURES = ("delta", "gamma", "vega", "theta", "dollar_delta", "dollar_gamma", "market_value")


def _measures(valuation: BookValuation) -> FloatArray:
    """Per-position measures, rows in :data:`_MEASURES` order."""
    s = valuation.spot
    return np.vstack(
        [
            valuation.delta,
            valuation.gamma,
            valuation.vega,
            valuation.theta,
            valuation.delta * s,
            valuation.gamma * s * s / 100.0,
            valuation.value,
        ]
    )


def _totals(sums: FloatArray, count: int) -> GreekTotals:
    d, g, v, t, dd, dg, mv = (float(x) for x in sums)
    return GreekTotals(d, g, v, t, dd, dg, mv, count)


def _totals_of(sums: list[float], count: int) -> GreekTotals:
    d, g, v, t, dd, dg, mv = sums
    return GreekTotals(d, g, v, t, dd, dg, mv, count)


def _bucketed(
    rows: Sequence[int],
    keys: Sequence[str],
    weights: Sequence[float] | None,
    measures: FloatArray,
    order: Callable[[str], Any],
    kinds: Mapping[str, str] | None = None,
) -> tuple[GreekBucket, ...]:
    """Sum ``measures[:, rows] x weights`` by ``keys`` (one entry per (row, key))."""
    if not rows:
        return ()
    index = {key: j for j, key in enumerate(dict.fromkeys(keys))}  # first-seen order
    inverse = np.fromiter(map(index.__getitem__, keys), dtype=np.intp, count=len(keys))
    cols = np.asarray(rows, dtype=np.intp)
    picked = measures[:, cols]
    if weights is not None:
        picked = picked * np.asarray(weights, dtype=np.float64)[None, :]
    n = len(index)
    sums = np.vstack([np.bincount(inverse, weights=m, minlength=n) for m in picked]).astype(
        np.float64
    )
    counts = np.bincount(inverse, minlength=n).tolist()
    # One row of Python floats per bucket (``tolist`` gives the same values as ``float(x)``).
    columns = sums.T.tolist()
    kind_of = kinds or {}
    buckets = [
        GreekBucket(key, _totals_of(columns[j], counts[j]), kind_of.get(key))
        for key, j in index.items()
    ]
    return tuple(sorted(buckets, key=lambda b: order(b.key)))


def _expiry_key(p: BookPosition, memo: dict[date, str]) -> str:
    inst = p.instrument
    if not isinstance(inst, OptionContract):
        return NO_EXPIRY
    key = memo.get(inst.expiry)
    if key is None:
        key = memo[inst.expiry] = inst.expiry.isoformat()
    return key


def _dte_key(p: BookPosition, on: date, memo: dict[date, str]) -> str:
    inst = p.instrument
    if not isinstance(inst, OptionContract):
        return NO_EXPIRY
    key = memo.get(inst.expiry)
    if key is None:
        key = memo[inst.expiry] = dte_bucket(max((inst.expiry - on).days, 0))
    return key


def _last(special: str) -> Callable[[str], tuple[bool, str]]:
    return lambda key: (key == special, key)


def _dte_order(key: str) -> int:
    return DTE_BUCKETS.index(key) if key in DTE_BUCKETS else len(DTE_BUCKETS)


def _weight(used: Decimal, quantity: Decimal) -> float:
    """The share ``used / quantity`` of a position a group uses (1.0 for all of it)."""
    return 1.0 if used == quantity else float(used / quantity)


def _strategy_rows(
    positions: Sequence[BookPosition],
    strategies: Sequence[StrategyMatch],
    ok: Sequence[bool],
    on: date,
) -> tuple[list[int], list[str], list[float], dict[str, str]]:
    rows: list[int] = []
    keys: list[str] = []
    weights: list[float] = []
    kinds: dict[str, str] = {}
    for match in strategies:
        name = match.name
        n = 2
        while name in kinds or name == UNGROUPED:
            name = f"{match.name} #{n}"
            n += 1
        kinds[name] = match.strategy_type.value
        for leg in match.legs:
            i = leg.index
            if ok[i]:
                rows.append(i)
                keys.append(name)
                weights.append(_weight(leg.quantity, positions[i].quantity))
    for leg in ungrouped(positions, strategies, on=on):
        if ok[leg.index]:
            rows.append(leg.index)
            keys.append(UNGROUPED)
            weights.append(_weight(leg.quantity, positions[leg.index].quantity))
    return rows, keys, weights, kinds


def aggregate_greeks(
    positions: Sequence[BookPosition],
    valuation: BookValuation,
    *,
    on: date,
    by: Sequence[Grouping | str] = tuple(Grouping),
    strategies: Sequence[StrategyMatch] | None = None,
) -> GreeksReport:
    """Greeks of ``positions`` valued as ``valuation``, totalled and bucketed.

    Parameters
    ----------
    positions
        The book, in the order it was valued.
    valuation
        ``value_book(positions, marks)`` (one scenario).
    on
        The valuation date: DTE is counted from it.
    by
        The groupings to compute (all five by default).
    strategies
        The book's strategy groups; None detects them with
        :func:`~riskdesk.risk.strategies.detect_strategies` (only when the strategy grouping
        is asked for).

    Raises
    ------
    ValueError
        For a scenario valuation, one of another book, or an unknown grouping.

    """
    groupings: list[Grouping] = []
    for g in by:
        try:
            groupings.append(Grouping(g))
        except ValueError:
            choices = ", ".join(x.value for x in Grouping)
            raise ValueError(f"unknown grouping {g!r}: choose one of {choices}") from None
    excluded = _excluded(positions, valuation)
    ok = [s is MarkStatus.OK for s in valuation.status]
    live = [i for i, good in enumerate(ok) if good]
    measures = _measures(valuation)
    totals = _totals(measures[:, live].sum(axis=1) if live else np.zeros(len(_MEASURES)), len(live))
    out: dict[Grouping, tuple[GreekBucket, ...]] = {}
    for g in dict.fromkeys(groupings):
        if g is Grouping.UNDERLYING:
            keys = [positions[i].underlying for i in live]
            out[g] = _bucketed(live, keys, None, measures, lambda k: k)
        elif g is Grouping.EXPIRY:
            dates: dict[date, str] = {}
            keys = [_expiry_key(positions[i], dates) for i in live]
            out[g] = _bucketed(live, keys, None, measures, _last(NO_EXPIRY))
        elif g is Grouping.DTE:
            memo: dict[date, str] = {}
            keys = [_dte_key(positions[i], on, memo) for i in live]
            out[g] = _bucketed(live, keys, None, measures, _dte_order)
        elif g is Grouping.TAG:
            rows = [i for i in live for _ in positions[i].tags or (UNTAGGED,)]
            keys = [t for i in live for t in positions[i].tags or (UNTAGGED,)]
            out[g] = _bucketed(rows, keys, None, measures, _last(UNTAGGED))
        else:
            matches = detect_strategies(positions, on=on) if strategies is None else strategies
            rows, keys, weights, kinds = _strategy_rows(positions, matches, ok, on)
            out[g] = _bucketed(rows, keys, weights, measures, _last(UNGROUPED), kinds)
    return GreeksReport(
        on=on, totals=totals, by=out, excluded=_excluded_list(positions, valuation, excluded)
    )
