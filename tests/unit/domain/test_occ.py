"""OCC symbol parsing and formatting."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from riskdesk.domain.instruments import ExerciseStyle, OptionContract, OptionRight, Settlement
from riskdesk.domain.occ import OccSymbolError, format_occ, is_occ_symbol, parse_occ


def _contract(
    underlying: str = "AAPL",
    expiry: date = date(2024, 1, 19),
    strike: str = "150",
    right: OptionRight = OptionRight.CALL,
) -> OptionContract:
    return OptionContract(underlying=underlying, expiry=expiry, strike=Decimal(strike), right=right)


@pytest.mark.parametrize(
    ("symbol", "root", "expiry", "strike", "right"),
    [
        ("AAPL  240119C00150000", "AAPL", date(2024, 1, 19), Decimal("150"), OptionRight.CALL),
        ("AAPL240119C00150000", "AAPL", date(2024, 1, 19), Decimal("150"), OptionRight.CALL),
        ("SPXW  241220P05925000", "SPXW", date(2024, 12, 20), Decimal("5925"), OptionRight.PUT),
        ("BRK.B 250117C00012500", "BRK.B", date(2025, 1, 17), Decimal("12.5"), OptionRight.CALL),
        ("BRK.B250117C00012500", "BRK.B", date(2025, 1, 17), Decimal("12.5"), OptionRight.CALL),
        ("AAPL1 240119P00000001", "AAPL1", date(2024, 1, 19), Decimal("0.001"), OptionRight.PUT),
        (
            "GOOGL1240621C99999999",
            "GOOGL1",
            date(2024, 6, 21),
            Decimal("99999.999"),
            OptionRight.CALL,
        ),
        ("X240229C00001000", "X", date(2024, 2, 29), Decimal("1"), OptionRight.CALL),
    ],
)
def test_parse_occ_with_valid_symbol_returns_contract_fields(
    symbol: str, root: str, expiry: date, strike: Decimal, right: OptionRight
) -> None:
    contract = parse_occ(symbol)

    assert contract.underlying == root
    assert contract.expiry == expiry
    assert contract.strike == strike
    assert isinstance(contract.strike, Decimal)
    assert contract.right is right
    assert contract.multiplier == 100
    assert contract.style is ExerciseStyle.AMERICAN
    assert contract.settlement is Settlement.PM


def test_parse_occ_with_style_settlement_and_multiplier_records_them() -> None:
    contract = parse_occ(
        "SPX   240315C05000000",
        style=ExerciseStyle.EUROPEAN,
        settlement=Settlement.AM,
        multiplier=10,
    )

    assert contract.style is ExerciseStyle.EUROPEAN
    assert contract.settlement is Settlement.AM
    assert contract.multiplier == 10


def test_parse_occ_with_fractional_strike_keeps_exact_decimal() -> None:
    contract = parse_occ("SPY   240119C00452500")

    assert contract.strike == Decimal("452.5")
    assert str(contract.strike) == "452.5"


@pytest.mark.parametrize(
    ("symbol", "part", "fragment"),
    [
        ("AAPL", "length", "4 characters"),
        ("AAPL 240119C00150000", "length", "exactly 21 characters"),
        ("AAPL   240119C00150000", "length", "exactly 21 characters"),
        ("240119C00150000", "root", "is empty"),
        ("ABCDEFG240119C00150000", "root", "7 characters"),
        ("aapl  240119C00150000", "root", "invalid characters"),
        ("AA PL 240119C00150000", "root", "invalid characters"),
        (".AAPL 240119C00150000", "root", "invalid characters"),
        ("AAPL  240230C00150000", "expiry", "'240230' is not a date"),
        ("AAPL  241301C00150000", "expiry", "'241301' is not a date"),
        ("AAPL  24O119C00150000", "expiry", "not 6 digits"),
        ("AAPL  240119X00150000", "right", "'X' is not C or P"),
        ("AAPL  240119c00150000", "right", "'c' is not C or P"),
        ("AAPL  240119C0015000A", "strike", "not 8 digits"),
        ("AAPL  240119C-0150000", "strike", "not 8 digits"),
        ("AAPL  240119C00000000", "strike", "is zero"),
        (" AAPL 240119C00150000", "symbol", "whitespace"),
        ("AAPL240119C00150000 ", "symbol", "whitespace"),
    ],
)
def test_parse_occ_with_malformed_symbol_raises_error_naming_part(
    symbol: str, part: str, fragment: str
) -> None:
    with pytest.raises(OccSymbolError) as info:
        parse_occ(symbol)

    error = info.value
    assert isinstance(error, ValueError)
    assert error.symbol == symbol
    assert error.part == part
    assert fragment in str(error)
    assert repr(symbol) in str(error)
    assert error.rule in str(error)


def test_parse_occ_with_unicode_digit_strike_raises_strike_error() -> None:
    with pytest.raises(OccSymbolError, match="strike"):
        parse_occ("AAPL  240119C0015000\u0663")


def test_parse_occ_with_non_string_raises_error() -> None:
    with pytest.raises(OccSymbolError, match="an OCC symbol is a str"):
        parse_occ(12345)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("contract", "padded", "expected"),
    [
        (_contract(), True, "AAPL  240119C00150000"),
        (_contract(), False, "AAPL240119C00150000"),
        (_contract("BRK.B", strike="12.5", right=OptionRight.PUT), True, "BRK.B 240119P00012500"),
        (_contract("SPXW", strike="5925.000"), False, "SPXW240119C05925000"),
        (_contract("GOOGL1"), True, "GOOGL1240119C00150000"),
        (_contract("GOOGL1"), False, "GOOGL1240119C00150000"),
    ],
)
def test_format_occ_with_contract_writes_expected_symbol(
    contract: OptionContract, padded: bool, expected: str
) -> None:
    assert format_occ(contract, padded=padded) == expected


@pytest.mark.parametrize(
    ("contract", "part"),
    [
        (_contract(strike="150.0005"), "strike"),
        (_contract(strike="100000"), "strike"),
        (_contract("ABCDEFG"), "root"),
        (_contract("BRK B"), "root"),
        (_contract(expiry=date(2100, 1, 15)), "expiry"),
        (_contract(expiry=date(1999, 1, 15)), "expiry"),
    ],
)
def test_format_occ_with_unrepresentable_contract_raises_error(
    contract: OptionContract, part: str
) -> None:
    with pytest.raises(OccSymbolError) as info:
        format_occ(contract)

    assert info.value.part == part
    assert info.value.symbol == contract.key


def test_format_occ_with_inexact_strike_explains_three_decimal_rule() -> None:
    with pytest.raises(OccSymbolError, match=r"150\.0005 x 1000 = 150000\.5000 is not an integer"):
        format_occ(_contract(strike="150.0005"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("AAPL  240119C00150000", True),
        ("BRK.B240119P00012500", True),
        ("AAPL  240230C00150000", False),
        ("AAPL", False),
        ("", False),
        (None, False),
        (240119, False),
    ],
)
def test_is_occ_symbol_with_text_reports_validity(text: object, expected: bool) -> None:
    assert is_occ_symbol(text) is expected


_roots = st.from_regex(r"[A-Z0-9][A-Z0-9.]{0,5}", fullmatch=True)
_contracts = st.builds(
    OptionContract,
    underlying=_roots,
    expiry=st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)),
    strike=st.integers(min_value=1, max_value=99_999_999).map(lambda u: Decimal(u) / 1000),
    right=st.sampled_from(OptionRight),
)


@given(contract=_contracts, padded=st.booleans())
def test_format_occ_with_generated_contract_round_trips_through_parse(
    contract: OptionContract, padded: bool
) -> None:
    symbol = format_occ(contract, padded=padded)

    parsed = parse_occ(symbol)

    assert parsed == contract
    assert format_occ(parsed, padded=padded) == symbol
    assert len(symbol) == 21 if padded else len(symbol) == 15 + len(contract.underlying)
    assert is_occ_symbol(symbol)
