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

from riskdesk.analytics._kernels import solve_ivs
from riskdesk.domain.configs import ModelKey
from riskdesk.domain.diagnostics import (
    DEFAULT_STALE_AFTER,
    DEFAULT_WIDE_SPREAD_ABS,
    DEFAULT_WIDE_SPREAD_REL,
    IV_STATUSES,
    compute_diagnostics,
    dividend_schedule,
    iv_batches,
)
from riskdesk.domain.market import MarketSnapshot
from riskdesk.domain.timeutil import SECONDS_PER_YEAR

__all__ = ["snapshot_diagnostics", "snapshot_iv_statuses"]

_AMERICAN: ModelKey = ("american", "bjerksund_stensland_2002")
_EUROPEAN: ModelKey = ("bsm", None)


def snapshot_iv_statuses(snapshot: MarketSnapshot) -> dict[str, dict[str, int]]:
    """Solve the implied vol of every quote of :func:`iv_batches` and count the statuses.

    Returns
    -------
    dict
        ``{symbol: {status: count}}`` with every name of
        :data:`~riskdesk.domain.diagnostics.IV_STATUSES`, for each underlying with a quote to
        solve.

    """
    overrides = snapshot.overrides
    counts: dict[str, dict[str, int]] = {}
    for batch in iv_batches(snapshot):
        n = len(batch.prices)
        symbol = batch.symbol
        _, statuses = solve_ivs(
            [_AMERICAN if batch.american else _EUROPEAN] * n,
            price=batch.prices,
            spot=[float(snapshot.underlying(symbol).spot)] * n,
            strike=batch.strikes,
            time_to_expiry=[s / float(SECONDS_PER_YEAR) for s in batch.seconds],
            rate=float(overrides.rate),
            carry=[overrides.carry_yield(symbol)] * n,
            is_call=batch.calls,
            dividends=[dividend_schedule(overrides, symbol, as_of=snapshot.as_of)] * n,
        )
        per = counts.setdefault(symbol, dict.fromkeys(IV_STATUSES, 0))
        for status in statuses:
            if status not in per:
                raise ValueError(
                    f"implied_vol returned status {status!r} for {symbol}, not one of "
                    f"{list(IV_STATUSES)}"
                )
            per[status] += 1
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
    :func:`snapshot_iv_statuses`; the parameters are those of ``compute_diagnostics``.

    Examples
    --------
    >>> from datetime import UTC, datetime
    >>> from riskdesk.domain.market import MarketSnapshot, SnapshotMode
    >>> empty = MarketSnapshot(as_of=datetime(2024, 6, 3, 15, tzinfo=UTC),
    ...                        mode=SnapshotMode.LIVE, source="doc", underlyings=(), options=())
    >>> snapshot_diagnostics(empty)["iv_status"]["ok"]
    0

    """
    return compute_diagnostics(
        snapshot,
        iv_status=snapshot_iv_statuses(snapshot),
        stale_after=stale_after,
        wide_spread_rel=wide_spread_rel,
        wide_spread_abs=wide_spread_abs,
    )
