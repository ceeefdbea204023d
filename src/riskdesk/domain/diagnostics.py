"""Market snapshot diagnostics: how far the quotes can be trusted (pure counting).

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
* ``iv_status``: how the implied vol of every quote that has a price (the mid, or the mark
  when the quote is one-sided or crossed), an underlying and time left solved, counted by
  status name (``ok``, ``below_intrinsic``, ``above_upper_bound``, ``no_time_value``,
  ``invalid_input``, ``not_converged``); ``iv_skipped`` counts the quotes that could not be
  tried.

This module holds no solver: :func:`iv_batches` lists the quotes to solve (pure selection)
and the caller passes the solved status counts in as ``iv_status``;
:func:`riskdesk.analytics.snapshot_diagnostics` does both. American (and UNKNOWN-style)
quotes are batched apart from European ones, since they solve with another model.

Discrete dividends go ex at 09:30 New York on the ex-date (:func:`ex_dividend_datetime`);
:func:`dividend_schedule` is the one builder of a symbol's future dividends used by the
analytics and the simulated market alike.

The result is a plain JSON-able dict, meant for
``dataclasses.replace(snapshot, diagnostics=...)``; it never enters the snapshot hash.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from riskdesk.domain.instruments import ExerciseStyle, Settlement
from riskdesk.domain.market import MarketOverrides, MarketSnapshot, OptionQuote
from riskdesk.domain.option_table import OptionTable
from riskdesk.domain.timeutil import DayCountBasis, expiry_datetime, year_fractions

__all__ = [
    "DEFAULT_STALE_AFTER",
    "DEFAULT_WIDE_SPREAD_ABS",
    "DEFAULT_WIDE_SPREAD_REL",
    "IV_STATUSES",
    "DividendSchedule",
    "IvBatch",
    "compute_diagnostics",
    "diagnose",
    "dividend_inputs",
    "dividend_schedule",
    "ex_dividend_datetime",
    "iv_batches",
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

DividendSchedule = tuple[tuple[float, float], ...]
"""Discrete dividends as ``((years from valuation, cash amount), ...)``, times > 0, sorted."""

_NEW_YORK = ZoneInfo("America/New_York")
_EX_DIVIDEND_TIME = time(9, 30)
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


def dividend_schedule(
    overrides: MarketOverrides,
    symbol: str,
    *,
    as_of: datetime,
    basis: DayCountBasis = "calendar",
) -> DividendSchedule:
    """Discrete dividends of ``symbol`` still to go ex after ``as_of``, sorted by time.

    Parameters
    ----------
    overrides : MarketOverrides
        Holds the cash dividends per symbol.
    symbol : str
        Underlying symbol.
    as_of : datetime
        Valuation instant (timezone-aware) the times are measured from.
    basis : {"calendar", "trading"}
        Year-fraction basis of :func:`~riskdesk.domain.timeutil.year_fractions`
        (``calendar`` is ACT/365F).

    Returns
    -------
    tuple of (float, float)
        ``(years from as_of to ex_dividend_datetime, cash amount per share)`` for every
        dividend with a finite positive amount whose ex instant is after ``as_of``; empty
        when there is none.

    """
    dividends = [
        (ex_dividend_datetime(d.ex_date), float(d.amount))
        for d in overrides.dividends.get(symbol, ())
    ]
    live = sorted((ex, a) for ex, a in dividends if math.isfinite(a) and a > 0.0 and ex > as_of)
    if not live:
        return ()
    times = year_fractions(as_of, [ex for ex, _ in live], basis=basis)
    return tuple((float(t), a) for t, (_, a) in zip(times, live, strict=True))


def dividend_inputs(
    overrides: MarketOverrides, symbol: str, *, as_of: datetime
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]] | None:
    """Discrete dividends of ``symbol`` still ahead of ``as_of`` as ``(times, amounts)``.

    The arrays of :func:`dividend_schedule` (ACT/365F times): times in years from ``as_of``
    to :func:`ex_dividend_datetime`, amounts in cash per share. None when the symbol has no
    future discrete dividend.
    """
    schedule = dividend_schedule(overrides, symbol, as_of=as_of)
    if not schedule:
        return None
    times = np.array([t for t, _ in schedule], dtype=np.float64)
    amounts = np.array([a for _, a in schedule], dtype=np.float64)
    return times, amounts


@dataclass(slots=True)
class IvBatch:
    """Option quotes of one underlying and one exercise family, to solve in one call.

    ``american`` is True for American and UNKNOWN-style quotes (priced with the American
    model), False for European ones. ``seconds`` is the time to expiry in seconds from the
    snapshot's ``as_of``; ``prices`` are the quote mids (mark when one-sided or crossed).
    The fields are lists for a snapshot of quote objects and numpy arrays (the same values)
    for one whose options are an :class:`~riskdesk.domain.option_table.OptionTable`.
    """

    symbol: str
    american: bool
    prices: list[float] | npt.NDArray[np.float64] = field(default_factory=list)
    strikes: list[float] | npt.NDArray[np.float64] = field(default_factory=list)
    seconds: list[float] | npt.NDArray[np.float64] = field(default_factory=list)
    calls: list[bool] | npt.NDArray[np.bool_] = field(default_factory=list)


IvStatusCounts = Mapping[str, Mapping[str, int]]
"""Solved IV status counts per underlying symbol: ``{symbol: {status: count}}``."""


@dataclass(slots=True)
class _Scan:
    per: dict[str, dict[str, int]]
    batches: dict[tuple[str, bool], IvBatch]
    stale_underlyings: int


def _scan(
    snapshot: MarketSnapshot,
    *,
    cutoff: datetime | None,
    wide_spread_rel: Decimal,
    wide_spread_abs: Decimal,
) -> _Scan:
    """One pass over the quotes: the counts and the IV batches (no solving)."""
    if isinstance(snapshot.options, OptionTable):
        return _scan_table(
            snapshot,
            snapshot.options.arrow,
            cutoff=cutoff,
            wide_spread_rel=wide_spread_rel,
            wide_spread_abs=wide_spread_abs,
        )
    as_of = snapshot.as_of
    spots = {u.symbol for u in snapshot.underlyings}
    per: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(_COUNTS, 0))
    stale_underlyings = 0
    if cutoff is not None:
        stale_underlyings = sum(1 for u in snapshot.underlyings if u.provider_timestamp < cutoff)
    expiries: dict[tuple[date, str], datetime] = {}
    lists: dict[tuple[str, bool], tuple[list[float], list[float], list[float], list[bool]]] = {}
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
            elif ask - bid > max(wide_spread_abs, wide_spread_rel * (bid + ask) / 2):
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
        prices, strikes, seconds, calls = lists.setdefault(
            (contract.underlying, american), ([], [], [], [])
        )
        prices.append(float(price))
        strikes.append(float(contract.strike))
        seconds.append((expiry_at - as_of).total_seconds())
        calls.append(contract.right.is_call)
    batches = {
        (symbol, american): IvBatch(symbol, american, prices, strikes, seconds, calls)
        for (symbol, american), (prices, strikes, seconds, calls) in lists.items()
    }
    return _Scan(per=per, batches=batches, stale_underlyings=stale_underlyings)


_EXACT = 2**53
"""Scaled amounts below this convert to float exactly (decimal128(20, 8): value * 1e8)."""

_SCALE = 10**8
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _scaled(column: pa.ChunkedArray) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    """A ``decimal128(20, 8)`` column as integers (value * 1e8) and where they are exact.

    A value is exact when it is present and below :data:`_EXACT` in magnitude (so its float
    conversions and sums of two are exact too); elsewhere the integer is meaningless.
    """
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    n = len(array)
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.bool_)
    words = np.frombuffer(array.buffers()[1], dtype=np.int64)
    words = words[2 * array.offset : 2 * (array.offset + n)].reshape(n, 2)
    low, high = words[:, 0], words[:, 1]
    exact = (high == (low >> 63)) & (np.abs(low) < _EXACT)
    if array.null_count:
        exact &= ~np.asarray(array.is_null().to_numpy(zero_copy_only=False), dtype=np.bool_)
    return low.copy(), exact


def _present(column: pa.ChunkedArray) -> npt.NDArray[np.bool_]:
    return np.asarray(pc.is_valid(column).to_numpy(), dtype=np.bool_)


def _flag(mask: pa.ChunkedArray) -> npt.NDArray[np.bool_]:
    return np.asarray(pc.fill_null(mask, False).to_numpy(), dtype=np.bool_)


def _micros(value: datetime) -> int:
    return (value - _EPOCH) // timedelta(microseconds=1)


def _scan_table(
    snapshot: MarketSnapshot,
    table: pa.Table,
    *,
    cutoff: datetime | None,
    wide_spread_rel: Decimal,
    wide_spread_abs: Decimal,
) -> _Scan:
    """:func:`_scan` of an :class:`OptionTable`'s columns: the same counts and batches.

    Every comparison is exact: amounts are compared as Arrow decimals or as integers of
    1e-8; a quote whose amounts are too large for that (or too close to the relative
    wide-spread threshold for a float to decide) is decided by the per-quote rule itself.
    """
    as_of = snapshot.as_of
    spots = {u.symbol for u in snapshot.underlyings}
    stale_underlyings = 0
    if cutoff is not None:
        stale_underlyings = sum(1 for u in snapshot.underlyings if u.provider_timestamp < cutoff)
    n = len(table)
    if n == 0:
        return _Scan(per={}, batches={}, stale_underlyings=stale_underlyings)
    encoded = pc.dictionary_encode(table.column("underlying")).combine_chunks()
    symbols: list[str] = encoded.dictionary.to_pylist()
    symbol_of = np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
    bid_col, ask_col, mark_col = table.column("bid"), table.column("ask"), table.column("mark")
    both = _present(bid_col) & _present(ask_col)
    crossed = both & _flag(pc.less(ask_col, bid_col))
    bid, bid_exact = _scaled(bid_col)
    ask, ask_exact = _scaled(ask_col)
    mark, mark_exact = _scaled(mark_col)
    open_spread = both & ~crossed
    exact = bid_exact & ask_exact
    spread = np.where(exact, ask - bid, 0)
    total = np.where(exact, ask + bid, 0)
    floor = math.floor(wide_spread_abs * _SCALE)
    over_abs = spread > floor if floor < _EXACT else np.zeros(n, dtype=np.bool_)
    rel = float(wide_spread_rel)
    threshold = rel * total.astype(np.float64) / 2.0
    gap = spread.astype(np.float64) - threshold
    unsure = open_spread & (~exact | (np.abs(gap) <= 1e-9 * (np.abs(threshold) + 1.0)))
    wide = open_spread & exact & over_abs & (gap > 0)
    wide[unsure] = False
    for row in np.flatnonzero(unsure).tolist():
        low, high = bid_col[row].as_py(), ask_col[row].as_py()
        wide[row] = high - low > max(wide_spread_abs, wide_spread_rel * (low + high) / 2)
    zero_bid = _flag(pc.equal(bid_col, pa.scalar(Decimal(0), bid_col.type)))
    stale = np.zeros(n, dtype=np.bool_)
    if cutoff is not None:
        stamps = pc.cast(table.column("provider_timestamp"), pa.int64()).to_numpy()
        stale = stamps < _micros(cutoff)
    days = pc.cast(table.column("expiry"), pa.int32()).to_numpy().astype(np.int64)
    late = np.asarray(pc.equal(table.column("settlement"), "PM").to_numpy(), dtype=np.bool_)
    pairs, pair_of = np.unique(days * 2 + late, return_inverse=True)
    pair_of = pair_of.reshape(-1)
    pair_seconds = np.empty(len(pairs), dtype=np.float64)
    pair_expired = np.empty(len(pairs), dtype=np.bool_)
    for position, key in enumerate(pairs.tolist()):
        expiry = date.fromordinal(_EPOCH.date().toordinal() + key // 2)
        expiry_at = expiry_datetime(expiry, settlement=Settlement.PM if key % 2 else Settlement.AM)
        pair_seconds[position] = (expiry_at - as_of).total_seconds()
        pair_expired[position] = expiry_at <= as_of
    expired = pair_expired[pair_of]
    known = np.fromiter((s in spots for s in symbols), dtype=np.bool_, count=len(symbols))
    missing_underlying = ~expired & ~known[symbol_of]
    has_mark = _present(mark_col)
    priced = np.where(open_spread, True, has_mark)
    tried = ~expired & ~missing_underlying & priced
    iv_skipped = ~tried
    prices = np.where(open_spread, total / (2.0 * _SCALE), mark / float(_SCALE))
    mid_exact = exact & (np.abs(total) < _EXACT)
    unpriced = tried & np.where(open_spread, ~mid_exact, ~mark_exact)
    for row in np.flatnonzero(unpriced).tolist():
        quote: OptionQuote = snapshot.options[row]
        assert quote.mid is not None
        prices[row] = float(quote.mid)
    strike, strike_exact = _scaled(table.column("strike"))
    strikes = strike / float(_SCALE)
    for row in np.flatnonzero(tried & ~strike_exact).tolist():
        strikes[row] = float(table.column("strike")[row].as_py())
    calls = np.asarray(pc.equal(table.column("right"), "C").to_numpy(), dtype=np.bool_)
    american = np.asarray(
        pc.not_equal(table.column("style"), ExerciseStyle.EUROPEAN.value).to_numpy(),
        dtype=np.bool_,
    )
    per: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(_COUNTS, 0))
    width = len(symbols)
    for name, mask in (
        ("options", np.ones(n, dtype=np.bool_)),
        ("crossed", crossed),
        ("zero_bid", zero_bid),
        ("missing_quote", ~both),
        ("stale", stale),
        ("wide_spread", wide),
        ("expired", expired),
        ("missing_underlying", missing_underlying),
        ("iv_skipped", iv_skipped),
    ):
        counts = np.bincount(symbol_of[mask], minlength=width)
        for code, count in enumerate(counts.tolist()):
            if count:
                per[symbols[code]][name] = count
    batches: dict[tuple[str, bool], IvBatch] = {}
    rows = np.flatnonzero(tried)
    if len(rows):
        group = symbol_of[rows] * 2 + american[rows]
        keys, first = np.unique(group, return_index=True)
        order = np.argsort(group, kind="stable")
        sorted_group = group[order]
        for key in keys[np.argsort(first)].tolist():
            start, stop = np.searchsorted(sorted_group, [key, key + 1])
            members = rows[order[start:stop]]
            symbol = symbols[key // 2]
            batches[(symbol, bool(key % 2))] = IvBatch(
                symbol,
                bool(key % 2),
                prices=prices[members],
                strikes=strikes[members],
                seconds=pair_seconds[pair_of[members]],
                calls=calls[members],
            )
    return _Scan(per=per, batches=batches, stale_underlyings=stale_underlyings)


def iv_batches(snapshot: MarketSnapshot) -> list[IvBatch]:
    """The quotes of ``snapshot`` whose implied vol can be tried, batched per solver call.

    A quote is tried when it has a price (:attr:`~riskdesk.domain.market.OptionQuote.mid`),
    a quote of its underlying and time left; batches are per (underlying, American or not),
    in the order of first appearance.
    """
    scan = _scan(snapshot, cutoff=None, wide_spread_rel=Decimal(0), wide_spread_abs=Decimal(0))
    return list(scan.batches.values())


def _check_iv_status(iv_status: IvStatusCounts, scan: _Scan) -> None:
    symbols = set(iv_status) | {symbol for symbol, _ in scan.batches}
    for symbol in sorted(symbols):
        counts = iv_status.get(symbol, {})
        unknown = sorted(set(counts) - set(IV_STATUSES))
        if unknown:
            raise ValueError(
                f"iv_status[{symbol!r}] has unknown status names {unknown}; "
                f"the names are {list(IV_STATUSES)}"
            )
        expected = sum(len(b.prices) for (name, _), b in scan.batches.items() if name == symbol)
        got = sum(counts.values())
        if got != expected:
            raise ValueError(
                f"iv_status[{symbol!r}] counts {got} solved quotes but the snapshot has "
                f"{expected} quotes to solve for {symbol}; pass the counts of iv_batches(snapshot)"
            )


def compute_diagnostics(
    snapshot: MarketSnapshot,
    *,
    iv_status: IvStatusCounts,
    stale_after: timedelta | None = DEFAULT_STALE_AFTER,
    wide_spread_rel: float = DEFAULT_WIDE_SPREAD_REL,
    wide_spread_abs: Decimal = DEFAULT_WIDE_SPREAD_ABS,
) -> dict[str, Any]:
    """Quote-quality counts of ``snapshot`` (see the module docstring for each count).

    Parameters
    ----------
    snapshot : MarketSnapshot
        The market to inspect.
    iv_status : mapping of str to mapping of str to int
        Solved implied-vol status counts per underlying for the quotes of
        :func:`iv_batches`, as :func:`riskdesk.analytics.snapshot_iv_statuses` gives them
        (:func:`riskdesk.analytics.snapshot_diagnostics` does both steps; this module imports
        no solver).
    stale_after : timedelta or None
        Age beyond which a quote is stale; None disables the stale counts (end-of-day data).
    wide_spread_rel, wide_spread_abs : float, Decimal
        A spread is wide when ``ask - bid > max(wide_spread_abs, wide_spread_rel * mid)``.

    Returns
    -------
    dict
        JSON-able: the thresholds used, totals, ``iv_status`` counts and ``by_underlying``
        (the same counts per underlying symbol).

    Raises
    ------
    ValueError
        For a negative threshold, or ``iv_status`` counts that name an unknown status or do
        not add up to the quotes of :func:`iv_batches` for a symbol.

    Examples
    --------
    >>> from datetime import UTC, datetime
    >>> from riskdesk.domain.market import MarketSnapshot, SnapshotMode
    >>> empty = MarketSnapshot(as_of=datetime(2024, 6, 3, 15, tzinfo=UTC),
    ...                        mode=SnapshotMode.LIVE, source="doc", underlyings=(), options=())
    >>> compute_diagnostics(empty, iv_status={})["crossed"]
    0

    """
    return diagnose(
        snapshot,
        solve=lambda _: iv_status,
        stale_after=stale_after,
        wide_spread_rel=wide_spread_rel,
        wide_spread_abs=wide_spread_abs,
    )


def diagnose(
    snapshot: MarketSnapshot,
    *,
    solve: Callable[[list[IvBatch]], IvStatusCounts],
    stale_after: timedelta | None = DEFAULT_STALE_AFTER,
    wide_spread_rel: float = DEFAULT_WIDE_SPREAD_REL,
    wide_spread_abs: Decimal = DEFAULT_WIDE_SPREAD_ABS,
) -> dict[str, Any]:
    """:func:`compute_diagnostics` with the IV status counts from ``solve(iv_batches)``.

    The quotes are scanned once (column-wise for an
    :class:`~riskdesk.domain.option_table.OptionTable`): the same pass gives the counts and
    the batches handed to ``solve``, a solver this module does not hold
    (:func:`riskdesk.analytics.snapshot_diagnostics` passes one). Raises as
    :func:`compute_diagnostics`.
    """
    if stale_after is not None and stale_after < timedelta(0):
        raise ValueError(f"stale_after must be >= 0 or None, got {stale_after}")
    if wide_spread_rel < 0 or wide_spread_abs < 0:
        raise ValueError(
            f"wide_spread_rel and wide_spread_abs must be >= 0, got {wide_spread_rel} and "
            f"{wide_spread_abs}"
        )
    as_of = snapshot.as_of
    cutoff = as_of - stale_after if stale_after is not None else None
    scan = _scan(
        snapshot,
        cutoff=cutoff,
        wide_spread_rel=Decimal(repr(float(wide_spread_rel))),
        wide_spread_abs=wide_spread_abs,
    )
    iv_status = solve(list(scan.batches.values()))
    _check_iv_status(iv_status, scan)
    per = scan.per
    per_iv: dict[str, dict[str, int]] = {
        symbol: {name: int(counts.get(name, 0)) for name in IV_STATUSES}
        for symbol, counts in iv_status.items()
    }
    result: dict[str, Any] = {
        "as_of": as_of.isoformat(),
        "stale_after_seconds": None if stale_after is None else stale_after.total_seconds(),
        "wide_spread_rel": float(wide_spread_rel),
        "wide_spread_abs": float(wide_spread_abs),
        "underlyings": len(snapshot.underlyings),
        "stale_underlyings": scan.stale_underlyings,
    }
    totals = dict.fromkeys(_COUNTS, 0)
    iv_totals = dict.fromkeys(IV_STATUSES, 0)
    by_underlying: dict[str, Any] = {}
    for symbol in sorted(per.keys() | per_iv.keys()):
        counts = per[symbol]
        ivs = per_iv.get(symbol, dict.fromkeys(IV_STATUSES, 0))
        for name in _COUNTS:
            totals[name] += counts[name]
        for name in IV_STATUSES:
            iv_totals[name] += ivs[name]
        by_underlying[symbol] = {**counts, "iv_status": dict(ivs)}
    result.update(totals)
    result["iv_status"] = iv_totals
    result["by_underlying"] = by_underlying
    return result
