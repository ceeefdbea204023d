"""Strict number parsing and exact-storage rules (riskdesk.domain.numbers)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from riskdesk.domain.numbers import (
    check_amount,
    check_whole,
    decimal_places,
    parse_decimal,
    parse_float,
)
from riskdesk.store.types import DecimalType


@pytest.mark.parametrize(
    "text",
    ["1_000", "\u0661", "\uff11", "nan", "NaN", "inf", "-Infinity", "", " ", "1,5", "0x10", "1e"],
)
def test_parse_decimal_with_text_python_would_accept_or_garbage_raises_naming_field(
    text: str,
) -> None:
    with pytest.raises(ValueError, match="--qty"):
        parse_decimal(text, field="--qty")


@pytest.mark.parametrize(
    ("text", "value"),
    [("12", "12"), ("-0.5", "-0.5"), (".5", "0.5"), ("1e3", "1E+3"), (" 7 ", "7")],
)
def test_parse_decimal_with_plain_ascii_text_returns_exact_decimal(text: str, value: str) -> None:
    assert parse_decimal(text, field="x") == Decimal(value)


@pytest.mark.parametrize("text", ["1e999999999", "1e-999999999"])
def test_parse_decimal_with_absurd_exponent_is_refused_without_arithmetic(text: str) -> None:
    with pytest.raises(ValueError, match="out of range"):
        parse_decimal(text, field="x")


@pytest.mark.parametrize(
    ("text", "rule"), [("1e308", "<= 1"), ("1e400", "too large"), ("-2", ">= -1")]
)
def test_parse_float_with_value_outside_range_raises(text: str, rule: str) -> None:
    with pytest.raises(ValueError, match=rule):
        parse_float(text, field="--rate", low=-1.0, high=1.0)


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        ("0.123456789", "9 decimal places"),
        ("1.2345678901234567890123456789012", "31 decimal places"),
        ("1e-9", "9 decimal places"),
        ("1e-999999999", "smaller than 1e-8"),
        ("1e12", "too large"),
        ("-1e30", "too large"),
        ("1e999999999", "too large"),
    ],
)
def test_check_amount_with_value_storage_would_change_raises_naming_field(
    value: str, rule: str
) -> None:
    with pytest.raises(ValueError, match=f"entry_price .*{rule}"):
        check_amount(Decimal(value), field="entry_price")


@given(
    st.decimals(
        min_value=Decimal("-999999999999.99999999"),
        max_value=Decimal("999999999999.99999999"),
        places=8,
        allow_nan=False,
        allow_infinity=False,
    )
)
def test_check_amount_with_accepted_value_is_stored_exactly_by_the_column_type(
    value: Decimal,
) -> None:
    accepted = check_amount(value, field="x")
    column = DecimalType(20, 8)
    assert column._coerce(accepted) == value  # the column neither rounds nor refuses it


@pytest.mark.parametrize(
    ("value", "places"),
    [("1.50", 1), ("1E+2", 0), ("0E-20", 0), ("0.00000001", 8), ("-3.14159", 5)],
)
def test_decimal_places_with_trailing_zeros_counts_significant_places(
    value: str, places: int
) -> None:
    assert decimal_places(Decimal(value)) == places


@pytest.mark.parametrize("value", ["0.5", "1e999999999"])
def test_check_whole_with_fraction_or_absurd_magnitude_raises(value: str) -> None:
    with pytest.raises(ValueError, match="--qty"):
        check_whole(Decimal(value), field="--qty", what="a whole number of contracts")
