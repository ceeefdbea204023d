"""Snapshot diagnostics with solved implied vols (riskdesk.analytics.diagnostics)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import numpy as np
import pytest

from riskdesk.analytics import snapshot_diagnostics, snapshot_iv_statuses
from riskdesk.domain.diagnostics import IV_STATUSES, compute_diagnostics
from riskdesk.domain.instruments import ExerciseStyle, OptionContract, OptionRight
from riskdesk.domain.market import (
    DiscreteDividend,
    MarketOverrides,
    MarketSnapshot,
    OptionQuote,
    SnapshotMode,
    UnderlyingQuote,
)
from riskdesk.pricing import implied_vol

AS_OF = datetime(2024, 6, 3, 19, 45, tzinfo=UTC)  # Monday 15:45 New York
JUNE = date(2024, 6, 21)
JUNE_CLOSE = datetime(2024, 6, 21, 20, 0, tzinfo=UTC)  # 16:00 New York
EX_DATE_UTC = datetime(2024, 6, 10, 13, 30, tzinfo=UTC)  # 09:30 New York
RATE = 0.05
CARRY = {"SPY": 0.013, "AAPL": 0.0}
SPOTS = {"SPY": Decimal("530.00"), "AAPL": Decimal("190.00")}
AAPL_DIVIDEND = 0.25


def _quote(
    underlying: str,
    strike: str,
    right: str,
    bid: str,
    ask: str,
    *,
    style: ExerciseStyle = ExerciseStyle.AMERICAN,
) -> OptionQuote:
    return OptionQuote(
        contract=OptionContract(
            underlying=underlying,
            expiry=JUNE,
            strike=Decimal(strike),
            right=OptionRight(right),
            style=style,
        ),
        bid=Decimal(bid),
        ask=Decimal(ask),
        mark=None,
        iv=None,
        provider_timestamp=AS_OF,
        receive_timestamp=AS_OF,
    )


def _underlying(symbol: str) -> UnderlyingQuote:
    spot = SPOTS[symbol]
    return UnderlyingQuote(
        symbol=symbol,
        spot=spot,
        bid=spot,
        ask=spot,
        last=spot,
        provider_timestamp=AS_OF,
        receive_timestamp=AS_OF,
    )


def _snapshot() -> MarketSnapshot:
    options = (
        _quote("SPY", "530", "C", "6.10", "6.20"),
        _quote("SPY", "450", "C", "10.00", "10.10"),  # far below intrinsic (80)
        _quote("SPY", "520", "P", "3.00", "3.10"),
        _quote("SPY", "525", "C", "9.40", "9.50", style=ExerciseStyle.EUROPEAN),
        _quote("SPY", "700", "C", "0.00", "0.00"),  # no time value
        _quote("AAPL", "190", "C", "3.50", "3.60"),
        _quote("AAPL", "185", "P", "1.60", "1.70"),
    )
    return MarketSnapshot(
        as_of=AS_OF,
        mode=SnapshotMode.LIVE,
        source="test",
        underlyings=(_underlying("SPY"), _underlying("AAPL")),
        options=options,
        overrides=MarketOverrides(
            rate=RATE,
            dividend_yield={"SPY": CARRY["SPY"]},
            dividends={
                "AAPL": (
                    DiscreteDividend(ex_date=date(2024, 6, 10), amount=Decimal("0.25")),
                    DiscreteDividend(ex_date=date(2024, 5, 10), amount=Decimal("0.24")),
                )
            },
        ),
    )


def _one_by_one(snapshot: MarketSnapshot) -> dict[str, Counter[str]]:
    """Each quote solved alone with the documented inputs (no batching, no shared helpers)."""
    t = (JUNE_CLOSE - AS_OF).total_seconds() / (365 * 86400)
    t_ex = (EX_DATE_UTC - AS_OF).total_seconds() / (365 * 86400)
    out: dict[str, Counter[str]] = {}
    for quote in snapshot.options:
        contract = quote.contract
        american = contract.style is not ExerciseStyle.EUROPEAN
        symbol = contract.underlying
        divs = (np.array([t_ex]), np.array([AAPL_DIVIDEND])) if symbol == "AAPL" else None
        assert quote.mid is not None
        result = implied_vol(
            model="american" if american else "bsm",
            price=float(quote.mid),
            S=float(SPOTS[symbol]),
            K=float(contract.strike),
            T=t,
            r=RATE,
            q=CARRY[symbol],
            is_call=contract.right.is_call,
            engine="bjerksund_stensland_2002" if american else None,
            dividends=divs,
        )
        out.setdefault(symbol, Counter())[str(np.asarray(result.status).reshape(-1)[0])] += 1
    return out


def test_snapshot_iv_statuses_with_mixed_quotes_matches_one_by_one_solves() -> None:
    snapshot = _snapshot()

    statuses = snapshot_iv_statuses(snapshot)

    expected = _one_by_one(snapshot)
    assert set(statuses) == {"SPY", "AAPL"}
    for symbol, counts in statuses.items():
        assert tuple(counts) == IV_STATUSES
        assert {k: v for k, v in counts.items() if v} == dict(expected[symbol])
    assert statuses["SPY"]["below_intrinsic"] >= 1
    assert statuses["AAPL"]["ok"] == 2


def test_snapshot_diagnostics_with_mixed_quotes_totals_the_solved_statuses() -> None:
    snapshot = _snapshot()

    diagnostics = snapshot_diagnostics(snapshot, stale_after=timedelta(minutes=5))

    expected = _one_by_one(snapshot)
    assert diagnostics["iv_status"]["ok"] == expected["SPY"]["ok"] + expected["AAPL"]["ok"]
    assert sum(diagnostics["iv_status"].values()) == len(snapshot.options)
    assert diagnostics["stale_after_seconds"] == 300.0


def test_compute_diagnostics_over_solved_statuses_equals_snapshot_diagnostics() -> None:
    snapshot = _snapshot()

    solved = snapshot_iv_statuses(snapshot)

    assert compute_diagnostics(snapshot, iv_status=solved) == snapshot_diagnostics(snapshot)


def test_compute_diagnostics_without_iv_status_is_refused_it_solves_nothing() -> None:
    with pytest.raises(TypeError, match="iv_status"):
        compute_diagnostics(_snapshot())  # type: ignore[call-arg]
