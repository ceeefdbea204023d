"""Market snapshot diagnostics: how far the quotes can be trusted.

:func:`compute_diagnostics` counts, over the option quotes of a snapshot (and per
underlying):

* ``crossed``: both sides present and ``ask < bid``;
* ``zero_bid``: ``bid == 0`` (typical for far out-of-the-money strikes);
* ``missing_quote``: bid or ask absent;
* ``stale``: ``provider_timestamp`` older than ``as_of - stale_after`` (``stale_underlyings``
  counts the same for underlying quotes); not counted when ``stale_after`` is None;
* ``wide_spread``: ``ask - bid > max(wide_spread_abs, wide_spread_rel * mid)``;
* ``expired``: expiry instant at or before ``as_of``;
* ``missing_underlying``: no quote for the option's underlying in the snapshot;
* ``iv_status``: the implied vol of every quote that has a price (the mid, or the mark when the
  quote is one-sided or crossed), an underlying and time left, solved with
  :func:`riskdesk.pricing.implied_vol`, counted by status name (``ok``, ``below_intrinsic``,
  ``above_upper_bound``, ``no_time_value``, ``invalid_input``, ``not_converged``);
  ``iv_skipped`` counts the quotes that could not be tried.

American (and UNKNOWN-style) contracts use the American model with the Bjerksund-Stensland 2002
engine, European ones Black-Scholes-Merton; r is ``overrides.rate``, q is
``overrides.carry_yield(symbol)`` and discrete dividends enter as ``(times, amounts)`` with the
ex-dividend instant at 09:30 New York on the ex-date. T is ACT/365F from ``as_of`` to
:func:`~riskdesk.domain.timeutil.expiry_datetime`.

The result is a plain JSON-able dict, meant for
``dataclasses.replace(snapshot, diagnostics=...)``; it never enters the snapshot hash.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from riskdesk.domain.instruments import ExerciseStyle
from riskdesk.domain.market import MarketOverrides, MarketSnapshot
from riskdesk.domain.timeutil import SECONDS_PER_YEAR, expiry_datetime, year_fractions
from riskdesk.pricing import implied_vol

__all__ = [
    "DEFAULT_STALE_AFTER",
    "DEFAULT_WIDE_SPREAD_ABS",
    "DEFAULT_WIDE_SPREAD_REL",
    "IV_STATUSES",
    "compute_diagnostics",
    "dividend_inputs",
    "ex_dividend_datetime",
]

DEFAULT_STALE_AFTER = timedelta(minutes=15)
"""A live quote older than this relative to ``as_of`` is stale."""

DEFAULT_WIDE_SPREAD_REL = 0.25
"""A spread wider than this fraction of the mid (and than the absolute floor) is wide."""

DEFAULT_WIDE_SPREAD_ABS = Decimal("0.10")
"""Spreads up to this many dollars are never wide (a 0.00 x 0.05 far wing is normal)."""

IV_STATUSES: tuple[str, ...] = (
    "ok",
    "below_intrinsic",
    "above_upper_bound",
    "no_time_value",
    "invalid_input",
    "not_converged",
)
"""Status names of :func:`riskdesk.pricing.implied_vol`, always all present in ``iv_status``."""

_NEW_YORK = ZoneInfo("America/New_York")
_EX_DIVIDEND_TIME = time(9, 30)
_AMERICAN_ENGINE = "bjerksund_stensland_2002"
_COUNTS = (
    "options",
    "crossed",
    "zero_bid",
    "missing_quote",
    "stale",
    "wide_spread",
    "expired",
    "missing_underlying",
    "iv_skipped",
)


def ex_dividend_datetime(ex_date: date) -> datetime:
    """Return when a cash dividend leaves the share price: 09:30 New York on the ex-date."""
    return datetime.combine(ex_date, _EX_DIVIDEND_TIME, tzinfo=_NEW_YORK)


def dividend_inputs(
    overrides: MarketOverrides, symbol: str, *, as_of: datetime
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]] | None:
    """Discrete dividends of ``symbol`` still ahead of ``as_of`` as ``(times, amounts)``.

    Times are ACT/365F years from ``as_of`` to :func:`ex_dividend_datetime`; amounts are cash
    per share. None when the symbol has no future discrete dividend.
    """
    future = [
        d for d in overrides.dividends.get(symbol, ()) if ex_dividend_datetime(d.ex_date) > as_of
    ]
    if not future:
        return None
    future.sort(key=lambda d: d.ex_date)
    times = year_fractions(as_of, [ex_dividend_datetime(d.ex_date) for d in future])
    amounts = np.array([float(d.amount) for d in future], dtype=np.float64)
    return times, amounts


@dataclass(slots=True)
class _IvBatch:
    """Option quotes of one underlying and one model, to solve in one vectorized call."""

    prices: list[float]
    strikes: list[float]
    times: list[float]
    calls: list[bool]


def compute_diagnostics(
    snapshot: MarketSnapshot,
    *,
    stale_after: timedelta | None = DEFAULT_STALE_AFTER,
    wide_spread_rel: float = DEFAULT_WIDE_SPREAD_REL,
    wide_spread_abs: Decimal = DEFAULT_WIDE_SPREAD_ABS,
) -> dict[str, Any]:
    """Quote-quality counts of ``snapshot`` (see the module docstring for each count).

    Parameters
    ----------
    snapshot : MarketSnapshot
        The market to inspect.
    stale_after : timedelta or None
        Age beyond which a quote is stale; None disables the stale counts (end-of-day data).
    wide_spread_rel, wide_spread_abs : float, Decimal
        A spread is wide when ``ask - bid > max(wide_spread_abs, wide_spread_rel * mid)``.

    Returns
    -------
    dict
        JSON-able: the thresholds used, totals, ``iv_status`` counts and ``by_underlying``
        (the same counts per underlying symbol).

    Examples
    --------
    >>> from datetime import UTC, datetime
    >>> from riskdesk.domain.market import MarketSnapshot, SnapshotMode
    >>> empty = MarketSnapshot(as_of=datetime(2024, 6, 3, 15, tzinfo=UTC),
    ...                        mode=SnapshotMode.LIVE, source="doc", underlyings=(), options=())
    >>> compute_diagnostics(empty)["crossed"]
    0

    """
    if stale_after is not None and stale_after < timedelta(0):
        raise ValueError(f"stale_after must be >= 0 or None, got {stale_after}")
    if wide_spread_rel < 0 or wide_spread_abs < 0:
        raise ValueError("wide_spread_rel and wide_spread_abs must be >= 0")
    as_of = snapshot.as_of
    cutoff = as_of - stale_after if stale_after is not None else None
    rel = Decimal(repr(float(wide_spread_rel)))
    spots = {u.symbol: u for u in snapshot.underlyings}
    per: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(_COUNTS, 0))
    per_iv: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(IV_STATUSES, 0))
    stale_underlyings = 0
    if cutoff is not None:
        stale_underlyings = sum(1 for u in snapshot.underlyings if u.provider_timestamp < cutoff)

    expiries: dict[tuple[date, str], datetime] = {}
    batches: dict[tuple[str, bool], _IvBatch] = {}
    for quote in snapshot.options:
        contract = quote.contract
        counts = per[contract.underlying]
        counts["options"] += 1
        bid, ask = quote.bid, quote.ask
        if bid is None or ask is None:
            counts["missing_quote"] += 1
        else:
            if ask < bid:
                counts["crossed"] += 1
            elif ask - bid > max(wide_spread_abs, rel * (bid + ask) / 2):
                counts["wide_spread"] += 1
        if bid is not None and bid == 0:
            counts["zero_bid"] += 1
        if cutoff is not None and quote.provider_timestamp < cutoff:
            counts["stale"] += 1
        key = (contract.expiry, contract.settlement.value)
        if key not in expiries:
            expiries[key] = expiry_datetime(contract.expiry, settlement=contract.settlement)
        expiry_at = expiries[key]
        if expiry_at <= as_of:
            counts["expired"] += 1
            counts["iv_skipped"] += 1
            continue
        if contract.underlying not in spots:
            counts["missing_underlying"] += 1
            counts["iv_skipped"] += 1
            continue
        price = quote.mid
        if price is None:
            counts["iv_skipped"] += 1
            continue
        american = contract.style is not ExerciseStyle.EUROPEAN
        batch = batches.setdefault((contract.underlying, american), _IvBatch([], [], [], []))
        batch.prices.append(float(price))
        batch.strikes.append(float(contract.strike))
        batch.times.append((expiry_at - as_of).total_seconds())
        batch.calls.append(contract.right.is_call)

    for (symbol, american), batch in batches.items():
        statuses = _solve_statuses(snapshot, symbol, american=american, batch=batch)
        for name in statuses:
            per_iv[symbol][name] += 1

    result: dict[str, Any] = {
        "as_of": as_of.isoformat(),
        "stale_after_seconds": None if stale_after is None else stale_after.total_seconds(),
        "wide_spread_rel": float(wide_spread_rel),
        "wide_spread_abs": float(wide_spread_abs),
        "underlyings": len(snapshot.underlyings),
        "stale_underlyings": stale_underlyings,
    }
    totals = dict.fromkeys(_COUNTS, 0)
    iv_totals = dict.fromkeys(IV_STATUSES, 0)
    by_underlying: dict[str, Any] = {}
    for symbol in sorted(per.keys() | per_iv.keys()):
        counts = per[symbol]
        ivs = per_iv[symbol]
        for name in _COUNTS:
            totals[name] += counts[name]
        for name in IV_STATUSES:
            iv_totals[name] += ivs[name]
        by_underlying[symbol] = {**counts, "iv_status": dict(ivs)}
    result.update(totals)
    result["iv_status"] = iv_totals
    result["by_underlying"] = by_underlying
    return result


def _solve_statuses(
    snapshot: MarketSnapshot, symbol: str, *, american: bool, batch: _IvBatch
) -> Sequence[str]:
    overrides = snapshot.overrides
    seconds = np.asarray(batch.times, dtype=np.float64)
    result = implied_vol(
        model="american" if american else "bsm",
        price=np.asarray(batch.prices, dtype=np.float64),
        S=float(snapshot.underlying(symbol).spot),
        K=np.asarray(batch.strikes, dtype=np.float64),
        T=seconds / float(SECONDS_PER_YEAR),
        r=float(overrides.rate),
        q=overrides.carry_yield(symbol),
        is_call=np.asarray(batch.calls, dtype=np.bool_),
        engine=_AMERICAN_ENGINE if american else None,
        dividends=dividend_inputs(overrides, symbol, as_of=snapshot.as_of),
    )
    return [str(s) for s in np.asarray(result.status).reshape(-1)]
