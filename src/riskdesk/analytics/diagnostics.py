"""Snapshot diagnostics with solved implied vols: the solver half of the quote-quality check.

:mod:`riskdesk.domain.diagnostics` counts quote problems over values it is given and holds
no solver; this module solves the implied vol of every quote it lists
(:func:`~riskdesk.domain.diagnostics.iv_batches`) and passes the status counts in.

American (and UNKNOWN-style) quotes solve with the American model and the
Bjerksund-Stensland 2002 engine, European ones with Black-Scholes-Merton; r is
``overrides.rate``, q is ``overrides.carry_yield(symbol)`` and discrete dividends enter as
their :func:`~riskdesk.domain.diagnostics.dividend_schedule`. T is ACT/365F from ``as_of``
to :func:`~riskdesk.domain.timeutil.expiry_datetime`.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt

from riskdesk.domain.configs import ModelKey
from riskdesk.domain.diagnostics import (
    DEFAULT_STALE_AFTER,
    DEFAULT_WIDE_SPREAD_ABS,
    DEFAULT_WIDE_SPREAD_REL,
    IV_STATUSES,
    DividendSchedule,
    IvBatch,
    diagnose,
    dividend_schedule,
    iv_batches,
)
from riskdesk.domain.market import MarketSnapshot
from riskdesk.domain.timeutil import SECONDS_PER_YEAR
from riskdesk.pricing import implied_vol

__all__ = ["snapshot_diagnostics", "snapshot_iv_statuses"]

_AMERICAN: ModelKey = ("american", "bjerksund_stensland_2002")
_EUROPEAN: ModelKey = ("bsm", None)


def snapshot_iv_statuses(snapshot: MarketSnapshot) -> dict[str, dict[str, int]]:
    """Solve the implied vol of every quote of :func:`iv_batches` and count the statuses.

    All quotes are solved in one vectorized :func:`riskdesk.pricing.implied_vol` call per
    model (American / European) and dividend schedule (one call when no underlying has
    discrete dividends), with each quote's spot, strike, time and carry as array elements:
    the solver works element by element, so the statuses are those of one call per
    underlying, without the per-call overhead of a full market's thousands of underlyings.

    Returns
    -------
    dict
        ``{symbol: {status: count}}`` with every name of
        :data:`~riskdesk.domain.diagnostics.IV_STATUSES`, for each underlying with a quote to
        solve.

    """
    return _solve(snapshot, iv_batches(snapshot))


def _solve(snapshot: MarketSnapshot, batches: list[IvBatch]) -> dict[str, dict[str, int]]:
    """:func:`snapshot_iv_statuses` of the given batches (those of ``iv_batches(snapshot)``)."""
    overrides = snapshot.overrides
    spots = {quote.symbol: float(quote.spot) for quote in snapshot.underlyings}
    groups: dict[tuple[bool, DividendSchedule], list[IvBatch]] = {}
    for batch in batches:
        schedule = dividend_schedule(overrides, batch.symbol, as_of=snapshot.as_of)
        groups.setdefault((batch.american, schedule), []).append(batch)
    solved: dict[int, tuple[npt.NDArray[np.int8], npt.NDArray[np.str_]]] = {}
    for (american, schedule), members in groups.items():
        sizes = [len(batch.prices) for batch in members]
        n = sum(sizes)
        kwargs: dict[str, Any] = {}
        if american:
            kwargs["engine"] = _AMERICAN[1]
        if schedule:
            kwargs["dividends"] = (
                np.tile(np.array([t for t, _ in schedule], dtype=np.float64), (n, 1)),
                np.tile(np.array([a for _, a in schedule], dtype=np.float64), (n, 1)),
            )
        seconds = np.concatenate([np.asarray(b.seconds, dtype=np.float64) for b in members])
        result = implied_vol(
            model=(_AMERICAN if american else _EUROPEAN)[0],
            price=np.concatenate([np.asarray(b.prices, dtype=np.float64) for b in members]),
            S=np.repeat([spots[b.symbol] for b in members], sizes),
            K=np.concatenate([np.asarray(b.strikes, dtype=np.float64) for b in members]),
            T=seconds / float(SECONDS_PER_YEAR),
            r=float(overrides.rate),
            q=np.repeat([overrides.carry_yield(b.symbol) for b in members], sizes),
            is_call=np.concatenate([np.asarray(b.calls, dtype=np.bool_) for b in members]),
            **kwargs,
        )
        cuts = np.cumsum(sizes)[:-1]
        code = np.split(np.asarray(result.code).reshape(-1), cuts)
        status = np.split(np.asarray(result.status).reshape(-1), cuts)
        for batch, code_chunk, status_chunk in zip(members, code, status, strict=True):
            solved[id(batch)] = (code_chunk, status_chunk)
    counts: dict[str, dict[str, int]] = {}
    for batch in batches:  # in the order of first appearance, as iv_batches lists them
        per = counts.setdefault(batch.symbol, dict.fromkeys(IV_STATUSES, 0))
        code_chunk, status_chunk = solved[id(batch)]
        _, first, found = np.unique(code_chunk, return_index=True, return_counts=True)
        for index, count in zip(first, found, strict=True):
            name = str(status_chunk[index])
            if name not in per:
                raise ValueError(
                    f"implied_vol returned status {name!r} for {batch.symbol}, not one of "
                    f"{list(IV_STATUSES)}"
                )
            per[name] += int(count)
    return counts


def snapshot_diagnostics(
    snapshot: MarketSnapshot,
    *,
    stale_after: timedelta | None = DEFAULT_STALE_AFTER,
    wide_spread_rel: float = DEFAULT_WIDE_SPREAD_REL,
    wide_spread_abs: Decimal = DEFAULT_WIDE_SPREAD_ABS,
) -> dict[str, Any]:
    """Quote-quality counts of ``snapshot`` with its implied vols solved.

    :func:`~riskdesk.domain.diagnostics.compute_diagnostics` over
    :func:`snapshot_iv_statuses`, with the quotes scanned once
    (:func:`~riskdesk.domain.diagnostics.diagnose`); the parameters are those of
    ``compute_diagnostics``.

    Examples
    --------
    >>> from datetime import UTC, datetime
    >>> from riskdesk.domain.market import MarketSnapshot, SnapshotMode
    >>> empty = MarketSnapshot(as_of=datetime(2024, 6, 3, 15, tzinfo=UTC),
    ...                        mode=SnapshotMode.LIVE, source="doc", underlyings=(), options=())
    >>> snapshot_diagnostics(empty)["iv_status"]["ok"]
    0

    """
    return diagnose(
        snapshot,
        solve=lambda batches: _solve(snapshot, batches),
        stale_after=stale_after,
        wide_spread_rel=wide_spread_rel,
        wide_spread_abs=wide_spread_abs,
    )
