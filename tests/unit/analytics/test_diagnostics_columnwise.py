"""Diagnostics of a snapshot held column-wise equal those of the same quotes as objects.

The per-quote scan (a tuple of OptionQuote) is the reference; the same quotes in an
OptionTable go through the column-wise scan. The chain mixes crossed, zero-bid, one-sided,
stale, expired, European and AM-settled quotes, quotes of an underlying without a spot,
quotes priced at or below intrinsic (IV failures), spreads exactly at the absolute and at the
relative wide-spread threshold, and amounts too large for the integer fast path.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import numpy as np
import pytest

from riskdesk.analytics.diagnostics import snapshot_diagnostics, snapshot_iv_statuses
from riskdesk.domain.diagnostics import compute_diagnostics, iv_batches
from riskdesk.domain.instruments import ExerciseStyle, OptionContract, OptionRight, Settlement
from riskdesk.domain.market import (
    MarketOverrides,
    MarketSnapshot,
    OptionQuote,
    SnapshotMode,
    UnderlyingQuote,
)
from riskdesk.domain.option_table import OptionTable

AS_OF = datetime(2024, 6, 3, 19, 45, tzinfo=UTC)  # Monday 15:45 New York
EXPIRIES = (date(2024, 5, 31), date(2024, 6, 3), date(2024, 6, 21), date(2024, 9, 20))
SPOTS = {"SPY": Decimal("530.25"), "BIG": Decimal("95000000")}

# (bid, ask, mark): every kind of quote the diagnostics tell apart
_SIDES: tuple[tuple[str | None, str | None, str | None], ...] = (
    ("1.20", "1.30", None),  # plain
    ("1.30", "1.20", "1.25"),  # crossed, priced by the mark
    ("1.30", "1.20", None),  # crossed, no price
    ("0", "0.05", None),  # zero bid
    (None, "0.40", None),  # one-sided
    (None, None, "2.00"),  # no market, a mark
    ("1.00", "1.10", None),  # spread exactly the absolute threshold (0.10): not wide
    ("1.00", "1.10000001", None),  # just over it
    ("0.30", "0.50", None),  # spread 0.20 = 0.5 * mid 0.40: on the relative threshold
    ("0.30", "0.50000001", None),
    ("0.00000001", "9.99999999", None),
    ("0", "0", None),  # a zero market
    ("250.00", "250.00", None),  # deep in the money at intrinsic or below
    ("800.00", "900.00", None),  # above any bound for a call
    ("94000000.00", "94000000.02", None),  # too large for the integer fast path
    (None, None, "95000000.01"),
)


def _quotes() -> list[OptionQuote]:
    quotes = []
    stamps = (AS_OF, AS_OF - timedelta(minutes=15), AS_OF - timedelta(minutes=15, seconds=1))
    n = 0
    for symbol in ("SPY", "BIG", "QQQ"):  # QQQ has no underlying quote
        for expiry in EXPIRIES:
            for settlement in (Settlement.PM, Settlement.AM):
                for style in (ExerciseStyle.AMERICAN, ExerciseStyle.EUROPEAN):
                    for strike in ("280", "530", "780.5"):
                        for right in (OptionRight.CALL, OptionRight.PUT):
                            bid, ask, mark = _SIDES[n % len(_SIDES)]
                            n += 1
                            contract = OptionContract(
                                underlying=symbol,
                                expiry=expiry,
                                strike=Decimal(strike),
                                right=right,
                                style=style,
                                settlement=settlement,
                            )
                            quotes.append(
                                OptionQuote(
                                    contract=contract,
                                    bid=None if bid is None else Decimal(bid),
                                    ask=None if ask is None else Decimal(ask),
                                    mark=None if mark is None else Decimal(mark),
                                    iv=None,
                                    provider_timestamp=stamps[n % len(stamps)],
                                    receive_timestamp=AS_OF,
                                )
                            )
    return quotes


def _snapshots() -> tuple[MarketSnapshot, MarketSnapshot]:
    underlyings = tuple(
        UnderlyingQuote(
            symbol=symbol,
            spot=spot,
            bid=None,
            ask=None,
            last=None,
            provider_timestamp=AS_OF - timedelta(hours=1) if symbol == "BIG" else AS_OF,
            receive_timestamp=AS_OF,
        )
        for symbol, spot in SPOTS.items()
    )
    quotes = _quotes()
    objects = MarketSnapshot(
        as_of=AS_OF,
        mode=SnapshotMode.PINNED,
        source="test",
        underlyings=underlyings,
        options=tuple(quotes),
        overrides=MarketOverrides(rate=0.05, dividend_yield={"SPY": 0.013}),
    )
    table = dataclasses.replace(objects, options=OptionTable.from_quotes(quotes))
    return objects, table


def test_iv_batches_with_table_options_equal_the_per_quote_batches() -> None:
    objects, table = _snapshots()

    expected = iv_batches(objects)
    got = iv_batches(table)

    assert [(b.symbol, b.american) for b in got] == [(b.symbol, b.american) for b in expected]
    for mine, reference in zip(got, expected, strict=True):
        np.testing.assert_array_equal(mine.prices, reference.prices)  # exact, not approximate
        np.testing.assert_array_equal(mine.strikes, reference.strikes)
        np.testing.assert_array_equal(mine.seconds, reference.seconds)
        np.testing.assert_array_equal(mine.calls, reference.calls)


@pytest.mark.parametrize(
    ("stale_after", "rel", "floor"),
    [
        (timedelta(minutes=15), 0.25, Decimal("0.10")),
        (None, 0.5, Decimal("0.10")),
        (timedelta(0), 0.0, Decimal("0.123456789")),
        (timedelta(minutes=15), 0.1, Decimal("1e30")),
    ],
)
def test_compute_diagnostics_with_table_options_with_every_quote_kind_equals_the_per_quote_counts(
    stale_after: timedelta | None, rel: float, floor: Decimal
) -> None:
    objects, table = _snapshots()
    statuses = snapshot_iv_statuses(objects)

    expected = compute_diagnostics(
        objects,
        iv_status=statuses,
        stale_after=stale_after,
        wide_spread_rel=rel,
        wide_spread_abs=floor,
    )
    got = compute_diagnostics(
        table,
        iv_status=statuses,
        stale_after=stale_after,
        wide_spread_rel=rel,
        wide_spread_abs=floor,
    )

    assert got == expected
    counts = ("crossed", "zero_bid", "missing_quote", "expired")
    assert all(expected[name] > 0 for name in counts)
    assert (expected["wide_spread"] > 0) == (floor < 1)
    assert expected["missing_underlying"] > 0
    assert expected["stale"] > 0 if stale_after is not None else expected["stale"] == 0


def test_snapshot_diagnostics_with_table_options_with_failing_ivs_equals_the_per_quote_result() -> (
    None
):
    objects, table = _snapshots()

    expected = snapshot_diagnostics(objects)
    got = snapshot_diagnostics(table)

    assert got == expected
    failures = sum(count for name, count in expected["iv_status"].items() if name != "ok")
    assert expected["iv_status"]["ok"] > 0
    assert failures > 0
    assert expected["stale"] > 0
    assert expected["wide_spread"] > 0
