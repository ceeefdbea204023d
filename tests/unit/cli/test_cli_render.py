"""Formatting helpers of the rich tables: prices, quantities, money, timestamps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from riskdesk.cli import _render


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("0E-8"), "0.00"),
        (Decimal("-0E-8"), "0.00"),
        (Decimal("601.06000000"), "601.06"),
        (Decimal("0.00500000"), "0.005"),
        (Decimal("28.10000000"), "28.10"),
        (Decimal("1234567.5"), "1,234,567.50"),
        (Decimal("1E+2"), "100.00"),
        (Decimal("0.00000001"), "0.00000001"),
        (601.06, "601.06"),
        (0.1 + 0.2, "0.30"),
        (None, "-"),
    ],
)
def test_price_with_stored_decimals_shows_tick_precision(
    value: Decimal | float | None, expected: str
) -> None:
    assert _render.price(value) == expected


@given(
    st.decimals(
        min_value=Decimal("-999999999999.99999999"),
        max_value=Decimal("999999999999.99999999"),
        places=8,
        allow_nan=False,
        allow_infinity=False,
    )
)
def test_price_with_any_stored_amount_is_exact_and_never_scientific(value: Decimal) -> None:
    shown = _render.price(value)
    assert "E" not in shown.upper()
    assert Decimal(shown.replace(",", "")) == value  # nothing rounded away
    places = len(shown.split(".")[1])
    assert places >= 2
    exponent = value.normalize().as_tuple().exponent
    assert isinstance(exponent, int)
    assert places == max(2, -exponent if value else 0)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("1.00000000"), "1"),
        (Decimal("-10.00000000"), "-10"),
        (Decimal("1E+3"), "1,000"),
        (Decimal("0.5"), "0.5"),
    ],
)
def test_quantity_with_stored_decimals_shows_plain_number(value: Decimal, expected: str) -> None:
    assert _render.quantity(value) == expected


def test_money_with_large_value_has_thousands_separators() -> None:
    assert _render.money(1234567.891) == "1,234,567.89"
    assert _render.money(Decimal("-60552.00000000")) == "-60,552.00"


def test_when_with_offset_timestamp_shows_utc_zone() -> None:
    new_york = timezone(timedelta(hours=-5))
    moment = datetime(2026, 11, 20, 10, 0, tzinfo=new_york)
    assert _render.when(moment) == "2026-11-20 15:00 UTC"
    assert _render.when("2026-11-20T15:00:00Z", short=True) == "11-20 15:00Z"
    assert _render.when(datetime(2026, 11, 20, 15, tzinfo=UTC).isoformat()).endswith("UTC")
