"""broker_market: a broker's latest view to a MarketSnapshot (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from riskdesk.adapters.broker_market import (
    BrokerOptionQuote,
    BrokerUnderlyingQuote,
    BrokerView,
    snapshot_from_view,
    to_money,
)
from riskdesk.domain.instruments import ExerciseStyle
from riskdesk.domain.market import MarketOverrides, SnapshotMode

AS_OF = datetime(2025, 3, 3, 15, 0, tzinfo=UTC)
CALL = "SPY   250321C00600000"
PUT = "SPY   250321P00580000"


def view(**changes: object) -> BrokerView:
    fields: dict[str, object] = {
        "as_of": AS_OF,
        "underlyings": (
            BrokerUnderlyingQuote("SPY", bid=Decimal("600.99"), ask=Decimal("601.01")),
        ),
        "options": (
            BrokerOptionQuote(CALL, bid=Decimal("9.80"), ask=Decimal("10.00"), iv=0.18),
            BrokerOptionQuote(PUT, mark=Decimal("4.123456"), iv=0.21),
        ),
    }
    fields.update(changes)
    return BrokerView(**fields)  # type: ignore[arg-type]


def test_snapshot_from_view_with_bid_ask_and_marks_builds_quotes_and_diagnostics() -> None:
    built = snapshot_from_view(view(), source="tastytrade:5WT00001")

    snap = built.snapshot
    assert snap.source == "tastytrade:5WT00001"
    assert snap.mode is SnapshotMode.LIVE
    assert snap.underlying("SPY").spot == Decimal("601.00")
    assert [o.contract.key for o in snap.options] == ["SPY:20250321:580:P", "SPY:20250321:600:C"]
    put = snap.options[0]
    assert (put.bid, put.ask, put.mark, put.iv) == (None, None, Decimal("4.123456"), 0.21)
    assert put.mid == Decimal("4.123456")
    assert snap.overrides == MarketOverrides()
    assert snap.diagnostics["missing_quote"] == 1
    assert built.warnings == ()


def test_snapshot_from_view_with_only_option_underlying_prices_takes_the_spot_from_them() -> None:
    options = (BrokerOptionQuote(CALL, mark=Decimal("10"), underlying_price=Decimal("601.5")),)

    built = snapshot_from_view(view(underlyings=(), options=options), source="b")

    assert built.snapshot.underlying("SPY").spot == Decimal("601.5")


def test_snapshot_from_view_with_a_crossed_underlying_falls_back_to_last() -> None:
    quote = BrokerUnderlyingQuote(
        "SPY", bid=Decimal("602"), ask=Decimal("601"), last=Decimal("601.25")
    )

    built = snapshot_from_view(view(underlyings=(quote,)), source="b")

    assert built.snapshot.underlying("SPY").spot == Decimal("601.25")


def test_snapshot_from_view_with_no_spot_anywhere_keeps_options_and_warns() -> None:
    built = snapshot_from_view(view(underlyings=(BrokerUnderlyingQuote("SPY"),)), source="b")

    assert built.snapshot.underlyings == ()
    assert len(built.snapshot.options) == 2
    assert built.warnings == ("no underlying quote for SPY",)


def test_snapshot_from_view_with_an_expired_option_leaves_it_out_and_warns() -> None:
    later = AS_OF.replace(month=3, day=24)

    built = snapshot_from_view(view(as_of=later), source="b")

    assert built.snapshot.options == ()
    assert built.warnings[0].startswith("left out 2 expired contract(s)")


def test_snapshot_from_view_with_overrides_and_styles_uses_them() -> None:
    overrides = MarketOverrides(rate=0.043, dividend_yield={"SPY": 0.012})

    built = snapshot_from_view(
        view(),
        source="b",
        mode=SnapshotMode.PINNED,
        overrides=overrides,
        styles={"SPY": ExerciseStyle.EUROPEAN},
    )

    assert built.snapshot.overrides == overrides
    assert built.snapshot.mode is SnapshotMode.PINNED
    assert {o.contract.style for o in built.snapshot.options} == {ExerciseStyle.EUROPEAN}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"options": (BrokerOptionQuote(CALL, bid=Decimal("-0.05")),)},
            r"SPY   250321C00600000\.bid = -0\.05 is negative: prices must be >= 0",
        ),
        (
            {"options": (BrokerOptionQuote(CALL, iv=12.0),)},
            r"250321C00600000\.iv = 12\.0 is out of range: an implied vol is a decimal fraction",
        ),
        (
            {"options": (BrokerOptionQuote(CALL, iv=float("nan")),)},
            r"\.iv = nan is out of range",
        ),
        (
            {"options": (BrokerOptionQuote(CALL), BrokerOptionQuote("SPY250321C00600000"))},
            r"is quoted twice: a view holds one quote per contract",
        ),
        (
            {"underlyings": (BrokerUnderlyingQuote("spy", last=Decimal(1)),)},
            r"underlying symbol 'spy' is not a ticker",
        ),
        (
            {"options": (BrokerOptionQuote(CALL, mark=Decimal("1.123456789")),)},
            r"mark",
        ),
        (
            {
                "options": (
                    BrokerOptionQuote(CALL, mark=Decimal(1), quote_time=AS_OF + timedelta(1)),
                )
            },
            r"quote_time = 2025-03-04T15:00:00\+00:00 is after as_of",
        ),
        ({"as_of": datetime(2025, 3, 3, 15)}, r"as_of must be timezone-aware"),
        ({"options": (BrokerOptionQuote("SPY 600C"),)}, r"SPY 600C"),
    ],
)
def test_snapshot_from_view_with_bad_input_names_field_value_and_rule(
    changes: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        snapshot_from_view(view(**changes), source="b")


def test_to_money_with_a_float_rounds_to_eight_places_and_refuses_non_finite() -> None:
    assert to_money("x", 0.1) == Decimal("0.10000000")
    assert to_money("x", "601.055000004") == Decimal("601.05500000")
    with pytest.raises(ValueError, match=r"x must be finite, got inf"):
        to_money("x", float("inf"))
    with pytest.raises(ValueError, match=r"x must be a number, got str 'abc'"):
        to_money("x", "abc")
    with pytest.raises(ValueError, match=r"out of range: it must be below 1e12"):
        to_money("x", 1e13)
