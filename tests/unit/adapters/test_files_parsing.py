from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from riskdesk.adapters.files.parsing import (
    FieldError,
    is_missing,
    parse_date,
    parse_decimal,
    parse_float,
    parse_int,
    parse_occ_symbol,
    parse_option_right,
    parse_ticker,
    parse_timestamp,
    validate_option_row,
    validate_underlying_row,
)
from riskdesk.domain.instruments import ExerciseStyle, OptionRight, Settlement

AS_OF = datetime(2024, 6, 3, 19, 45, tzinfo=UTC)  # Monday 15:45 New York


def _row(**cells: object) -> dict[str, object]:
    base: dict[str, object] = {
        "underlying": "SPY",
        "expiration": "2024-06-21",
        "strike": "530",
        "option_type": "C",
        "bid": "2.10",
        "ask": "2.14",
    }
    base.update(cells)
    return base


def _reasons(raw: dict[str, object]) -> dict[str, str]:
    parsed, errors = validate_option_row(raw, row=7, as_of=AS_OF)
    assert parsed is None
    assert all(e.row == 7 for e in errors)
    return {e.column: e.reason for e in errors}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1.25", Decimal("1.25")),
        (" 12 ", Decimal(12)),
        ("-0.5", Decimal("-0.5")),
        ("1e-3", Decimal("0.001")),
    ],
)
def test_parse_decimal_with_plain_text_returns_exact_decimal(text: str, expected: Decimal) -> None:
    assert parse_decimal(text) == expected


@pytest.mark.parametrize("text", ["abc", "1,000", "$5", "1.2.3", "", "inf", "nan"])
def test_parse_decimal_with_non_numeric_text_raises_field_error(text: str) -> None:
    with pytest.raises(FieldError, match="not a number"):
        parse_decimal(text)


@pytest.mark.parametrize("value", [True, float("inf"), [1]])
def test_parse_decimal_with_bool_infinite_or_list_raises_field_error(value: object) -> None:
    with pytest.raises(FieldError):
        parse_decimal(value)


def test_parse_decimal_with_parquet_float_keeps_shortest_repr() -> None:
    assert parse_decimal(2.1) == Decimal("2.1")


def test_parse_float_with_text_and_float_returns_same_float() -> None:
    assert parse_float("0.1234") == 0.1234
    assert parse_float(0.1234) == 0.1234


def test_parse_int_with_fractional_value_raises_field_error() -> None:
    assert parse_int("12.0") == 12
    with pytest.raises(FieldError, match="whole number"):
        parse_int("12.5")


@pytest.mark.parametrize("text", ["2024-06-21", "20240621", "06/21/2024"])
def test_parse_date_with_supported_formats_returns_date(text: str) -> None:
    assert parse_date(text) == date(2024, 6, 21)


def test_parse_date_with_midnight_timestamp_returns_its_date() -> None:
    assert parse_date(datetime(2024, 6, 21, tzinfo=UTC)) == date(2024, 6, 21)


@pytest.mark.parametrize(
    "value",
    ["2024-13-45", "21.06.2024", "tomorrow", datetime(2024, 6, 21, 16, tzinfo=UTC), 20240621],
)
def test_parse_date_with_bad_value_raises_field_error(value: object) -> None:
    with pytest.raises(FieldError):
        parse_date(value)


def test_parse_timestamp_with_offset_returns_aware_datetime() -> None:
    parsed = parse_timestamp("2024-06-03T15:44:00-04:00")
    assert parsed == datetime(2024, 6, 3, 19, 44, tzinfo=UTC)
    assert parse_timestamp("2024-06-03T19:44:00Z").tzinfo is not None


def test_parse_timestamp_with_naive_text_raises_unless_zone_given() -> None:
    with pytest.raises(FieldError, match="no time zone"):
        parse_timestamp("2024-06-03 15:44:00")
    parsed = parse_timestamp("2024-06-03 15:44:00", naive_timezone="America/New_York")
    assert parsed.astimezone(UTC) == datetime(2024, 6, 3, 19, 44, tzinfo=UTC)


def test_parse_timestamp_with_unknown_zone_raises_value_error() -> None:
    with pytest.raises(ValueError, match="IANA"):
        parse_timestamp("2024-06-03 15:44:00", naive_timezone="Mars/Olympus")


@pytest.mark.parametrize(
    ("text", "right"),
    [
        ("C", OptionRight.CALL),
        ("call", OptionRight.CALL),
        (" P ", OptionRight.PUT),
        ("Put", OptionRight.PUT),
    ],
)
def test_parse_option_right_with_known_spellings_returns_right(
    text: str, right: OptionRight
) -> None:
    assert parse_option_right(text) is right


@pytest.mark.parametrize("value", ["X", "", "CP", 1])
def test_parse_option_right_with_unknown_value_raises_field_error(value: object) -> None:
    with pytest.raises(FieldError, match="unknown option_type"):
        parse_option_right(value)


def test_parse_ticker_with_lower_case_returns_upper_case() -> None:
    assert parse_ticker(" brk.b ") == "BRK.B"
    with pytest.raises(FieldError, match="not a ticker"):
        parse_ticker("XYZ?")


@pytest.mark.parametrize(
    "text",
    [
        "AAPL240119C00150000",
        "AAPL  240119C00150000",
        "O:AAPL240119C00150000",
        "aapl240119c00150000",
    ],
)
def test_parse_occ_symbol_with_accepted_forms_returns_fields(text: str) -> None:
    occ = parse_occ_symbol(text)
    assert (occ.root, occ.expiry, occ.right, occ.strike) == (
        "AAPL",
        date(2024, 1, 19),
        OptionRight.CALL,
        Decimal(150),
    )


@pytest.mark.parametrize(
    "text", ["NOT-AN-OCC", "SPY240231C00530000", "SPY240621C00000000", "SPY240621X00530000"]
)
def test_parse_occ_symbol_with_invalid_symbol_raises_field_error(text: str) -> None:
    with pytest.raises(FieldError, match="invalid OCC symbol"):
        parse_occ_symbol(text)


@pytest.mark.parametrize(
    "value", [None, "", "  ", "NA", "n/a", "NaN", "null", "None", float("nan")]
)
def test_is_missing_with_missing_markers_returns_true(value: object) -> None:
    assert is_missing(value)


@pytest.mark.parametrize("value", ["0", 0, 0.0, "-", "abc"])
def test_is_missing_with_values_returns_false(value: object) -> None:
    assert not is_missing(value)


def test_validate_option_row_with_good_row_returns_contract_and_quote() -> None:
    parsed, errors = validate_option_row(
        _row(
            iv="0.1234",
            delta="0.48",
            volume="12",
            open_interest="340",
            quote_time="2024-06-03T19:44:00Z",
        ),
        row=1,
        as_of=AS_OF,
    )
    assert errors == []
    assert parsed is not None
    assert parsed.contract.key == "SPY:20240621:530:C"
    assert parsed.contract.style is ExerciseStyle.AMERICAN
    assert parsed.contract.settlement is Settlement.PM
    assert (parsed.bid, parsed.ask, parsed.iv) == (Decimal("2.10"), Decimal("2.14"), 0.1234)
    assert parsed.greeks == {"delta": 0.48}
    assert (parsed.volume, parsed.open_interest) == (12, 340)


@pytest.mark.parametrize(
    ("cells", "column", "reason"),
    [
        ({"strike": "abc"}, "strike", "not a number"),
        ({"strike": "0"}, "strike", "strike must be > 0"),
        ({"strike": "-5"}, "strike", "strike must be > 0"),
        ({"bid": "-0.05"}, "bid", "negative price"),
        ({"bid": "1.20", "ask": "1.10"}, "ask", "ask < bid"),
        ({"expiration": "2024-13-45"}, "expiration", "unparseable date"),
        ({"expiration": "2024-05-31"}, "expiration", "expired before as_of"),
        ({"expiration": "2024-06-22"}, "expiration", "not a trading day"),
        ({"option_type": "X"}, "option_type", "unknown option_type"),
        ({"underlying": ""}, "underlying", "missing required value"),
        ({"iv": "25.3"}, "iv", "decimal fraction"),
        ({"delta": "1.5"}, "delta", "delta must be in [-1, 1]"),
        ({"gamma": "-0.01"}, "gamma", "gamma must be >= 0"),
        ({"open_interest": "-3"}, "open_interest", "open_interest must be >= 0"),
        ({"quote_time": "2024-06-03T20:00:00Z"}, "quote_time", "after as_of"),
        ({"style": "BERMUDAN"}, "style", "unknown style"),
        ({"settlement": "NOON"}, "settlement", "unknown settlement"),
        ({"multiplier": "0"}, "multiplier", "multiplier must be > 0"),
        ({"underlying_price": "-1"}, "underlying_price", "must be > 0"),
    ],
)
def test_validate_option_row_with_broken_rule_reports_column_and_reason(
    cells: dict[str, object], column: str, reason: str
) -> None:
    reasons = _reasons(_row(**cells))
    assert column in reasons
    assert reason in reasons[column]


def test_validate_option_row_with_two_broken_rules_reports_both() -> None:
    reasons = _reasons(_row(strike="xyz", bid="2.00", ask="1.00"))
    assert set(reasons) == {"strike", "ask"}


def test_validate_option_row_with_file_column_names_names_them_in_errors() -> None:
    _, errors = validate_option_row(
        _row(strike="abc"), row=3, as_of=AS_OF, names={"strike": "Strike Price"}
    )
    assert [(e.row, e.column, e.value) for e in errors] == [(3, "Strike Price", "abc")]


def test_validate_option_row_with_same_day_expiry_before_close_accepts_0dte() -> None:
    parsed, errors = validate_option_row(_row(expiration="2024-06-03"), row=1, as_of=AS_OF)
    assert errors == []
    assert parsed is not None
    late = AS_OF + timedelta(minutes=20)  # 16:05 New York: expired
    _, errors = validate_option_row(_row(expiration="2024-06-03"), row=1, as_of=late)
    assert "expired before as_of" in errors[0].reason


def test_validate_option_row_with_occ_symbol_only_builds_contract() -> None:
    raw = {"occ_symbol": "QQQ240607P00450000", "bid": "1.25", "ask": "1.30"}
    parsed, errors = validate_option_row(raw, row=1, as_of=AS_OF)
    assert errors == []
    assert parsed is not None
    assert parsed.contract.key == "QQQ:20240607:450:P"


def test_validate_option_row_with_occ_root_and_underlying_column_keeps_underlying() -> None:
    raw = {
        "underlying": "SPX",
        "occ_symbol": "SPXW240607P05250000",
        "style": "E",
        "bid": "10.0",
        "ask": "10.4",
    }
    parsed, errors = validate_option_row(raw, row=1, as_of=AS_OF)
    assert errors == []
    assert parsed is not None
    assert parsed.contract.underlying == "SPX"
    assert parsed.contract.style is ExerciseStyle.EUROPEAN


def test_validate_option_row_with_occ_disagreeing_with_columns_rejects_row() -> None:
    reasons = _reasons(_row(occ_symbol="SPY240621P00530000"))
    assert "disagrees with option_type" in reasons["occ_symbol"]


def test_validate_option_row_with_blank_quotes_keeps_missing_sides() -> None:
    parsed, errors = validate_option_row(_row(bid="", ask="NaN"), row=1, as_of=AS_OF)
    assert errors == []
    assert parsed is not None
    assert (parsed.bid, parsed.ask) == (None, None)


def test_validate_option_row_with_non_utc_as_of_compares_instants() -> None:
    eastern = AS_OF.astimezone(timezone(timedelta(hours=-4)))
    parsed, errors = validate_option_row(
        _row(quote_time="2024-06-03T19:45:00Z"), row=1, as_of=eastern
    )
    assert errors == []
    assert parsed is not None


@pytest.mark.parametrize(
    ("cells", "spot"),
    [
        ({"spot": "530.10", "bid": "529", "ask": "531"}, Decimal("530.10")),
        ({"bid": "529.98", "ask": "530.02"}, Decimal("530.00")),
        ({"last": "450.10"}, Decimal("450.10")),
    ],
)
def test_validate_underlying_row_with_prices_resolves_spot(
    cells: dict[str, object], spot: Decimal
) -> None:
    parsed, errors = validate_underlying_row({"symbol": "spy", **cells}, row=1, as_of=AS_OF)
    assert errors == []
    assert parsed is not None
    assert parsed.symbol == "SPY"
    assert parsed.spot == spot


@pytest.mark.parametrize(
    ("cells", "column", "reason"),
    [
        ({"symbol": "SPY"}, "spot", "no price"),
        ({"symbol": "SPY", "bid": "-1", "ask": "2"}, "bid", "negative price"),
        ({"symbol": "SPY", "bid": "2", "ask": "1"}, "ask", "ask < bid"),
        ({"symbol": "SPY", "spot": "0"}, "spot", "spot must be > 0"),
        ({"symbol": "XYZ?", "spot": "1"}, "symbol", "not a ticker"),
        (
            {"symbol": "SPY", "spot": "1", "quote_time": "noon"},
            "quote_time",
            "unparseable timestamp",
        ),
    ],
)
def test_validate_underlying_row_with_broken_rule_reports_reason(
    cells: dict[str, object], column: str, reason: str
) -> None:
    parsed, errors = validate_underlying_row(cells, row=4, as_of=AS_OF)
    assert parsed is None
    by_column = {e.column: e.reason for e in errors}
    assert reason in by_column[column]
