"""Chain import against the store's limits, empty imports, delimiters, clipping, duplicates."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from riskdesk.adapters.files import ChainImportError, NoRowsImportedError, import_chain
from riskdesk.adapters.files.parsing import (
    CLIP_CHARS,
    FieldError,
    clip,
    parse_decimal,
    parse_float,
    parse_int,
)
from riskdesk.domain.instruments import ExerciseStyle
from riskdesk.domain.market import MAX_COUNT, MAX_MULTIPLIER
from riskdesk.domain.numbers import check_amount
from riskdesk.store import Database, make_session_factory
from riskdesk.workbench import Workbench

AS_OF = datetime(2024, 6, 3, 19, 45, tzinfo=UTC)  # Monday 15:45 New York
HEADER = "underlying,expiration,strike,option_type,bid,ask,mark,iv,volume,open_interest,multiplier"
GOOD = "SPY,2024-06-21,530,C,2.10,2.14,2.12,0.2,10,100,100"
GOOD_2 = "SPY,2024-06-21,540,C,1.10,1.14,1.12,0.2,10,100,100"
COLUMNS = HEADER.split(",")


def _write(tmp_path: Path, *lines: str, name: str = "chain.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _with(column: str, value: str, strike: str = "535") -> str:
    cells = dict(zip(COLUMNS, GOOD.split(","), strict=True))
    cells["strike"] = strike
    cells[column] = value
    return ",".join(cells[c] for c in COLUMNS)


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("bid", "1e20", "too large"),
        ("ask", "1e308", "out of range"),
        ("ask", "1234567890123456789012345678901234", "too large"),
        ("mark", "1000000000000", "too large"),
        ("strike", "99999999999999", "too large"),
        ("strike", "1e-9", "9 decimal places"),
        ("bid", "2.123456789", "9 decimal places"),
        ("bid", "1e-9", "9 decimal places"),
        ("volume", "1e30", "out of range"),
        ("volume", "9223372036854775808", "out of range"),
        ("open_interest", "1e999999999", "out of range"),
        ("multiplier", "1e20", "out of range"),
        ("multiplier", "2147483648", "must be <= 2147483647"),
        ("iv", "1e400", "out of range"),
        ("bid", "1_000", "not a number"),
        ("ask", "\u0661", "not a number"),
        ("volume", "\u0661\u0662", "not a number"),
    ],
)
def test_import_chain_with_value_beyond_storage_rejects_row_and_keeps_good_rows(
    tmp_path: Path, column: str, value: str, reason: str
) -> None:
    path = _write(tmp_path, HEADER, GOOD, _with(column, value), GOOD_2)

    snapshot, report = import_chain(path, as_of=AS_OF)

    assert (report.rows_read, report.rows_ok, report.rows_rejected) == (3, 2, 1)
    (error,) = report.errors
    assert (error.row, error.column, error.value) == (2, column, clip(value))
    assert reason in error.reason
    assert [q.contract.key for q in snapshot.options] == [
        "SPY:20240621:530:C",
        "SPY:20240621:540:C",
    ]


def test_import_chain_with_bad_spot_in_underlyings_file_rejects_that_row(tmp_path: Path) -> None:
    chain = _write(tmp_path, HEADER, GOOD, GOOD.replace("SPY", "QQQ"))
    spots = _write(
        tmp_path,
        "symbol,spot,bid,ask",
        "SPY,530.00,,",
        "QQQ,,450.00000001,450.00000002",  # mid 450.000000015: would be rounded
        "IWM,1e20,,",
        name="spots.csv",
    )

    snapshot, report = import_chain(chain, as_of=AS_OF, underlyings_path=spots)

    sub = report.underlyings
    assert sub is not None
    assert [(e.row, e.column, e.value) for e in sub.errors] == [
        (2, "spot", "450.000000015"),
        (3, "spot", "1e20"),
    ]
    assert "more than 8 decimal places" in sub.errors[0].reason
    assert [u.symbol for u in snapshot.underlyings] == ["SPY"]


def test_import_chain_with_values_at_storage_limits_round_trips_through_store(
    tmp_path: Path, migrated_engine: Engine
) -> None:
    top = "999999999999.99999999"
    rows = [
        GOOD,
        f"SPY,2024-06-21,{top},P,0.00000001,{top},,10,{MAX_COUNT},{MAX_COUNT},{MAX_MULTIPLIER}",
    ]
    path = _write(tmp_path, HEADER + ",underlying_price", *(r + ",530.00000001" for r in rows))
    snapshot, report = import_chain(path, as_of=AS_OF)
    assert report.rows_ok == 2
    assert all(check_amount(q.contract.strike, field="strike") for q in snapshot.options)
    bench = Workbench(
        Database(engine=migrated_engine, sessions=make_session_factory(migrated_engine))
    )

    ref = bench.save_snapshot(snapshot)
    loaded = bench.load_snapshot(ref.snapshot_hash).snapshot

    assert loaded.snapshot_hash == snapshot.snapshot_hash
    big = next(q for q in loaded.options if q.contract.multiplier == MAX_MULTIPLIER)
    assert (big.contract.strike, big.ask, big.bid) == (Decimal(top), Decimal(top), Decimal("1e-8"))
    assert (big.volume, big.open_interest) == (2**63 - 1, 2**63 - 1)


def test_import_chain_with_header_only_raises_no_rows_imported(tmp_path: Path) -> None:
    path = _write(tmp_path, HEADER)

    with pytest.raises(NoRowsImportedError, match="header but no data rows") as caught:
        import_chain(path, as_of=AS_OF)

    assert str(path) in str(caught.value)
    assert isinstance(caught.value, ChainImportError)
    assert caught.value.report.rows_read == 0


def test_import_chain_with_every_row_expired_raises_summarising_reasons(tmp_path: Path) -> None:
    expired = [GOOD.replace("2024-06-21", d) for d in ("2024-05-31", "2024-05-24", "2024-05-17")]
    path = _write(tmp_path, HEADER, *expired, _with("bid", "abc"))
    path = path.rename(tmp_path / "every_row_bad.csv")

    with pytest.raises(NoRowsImportedError) as caught:
        import_chain(path, as_of=AS_OF)

    message = str(caught.value)
    assert "every_row_bad.csv: no option quote imported, nothing stored" in message
    assert "all 4 row(s) rejected (errors by column: expiration 3, bid 1)" in message
    assert "row 1, column 'expiration', value '2024-05-31': expired before as_of" in message
    report = caught.value.report
    assert (report.rows_read, report.rows_ok, report.rows_rejected) == (4, 0, 4)
    assert [e.row for e in report.errors] == [1, 2, 3, 4]


@pytest.mark.parametrize("delimiter", [";", "\t"])
def test_import_chain_with_semicolon_or_tab_delimiter_reads_rows(
    tmp_path: Path, delimiter: str
) -> None:
    lines = [line.replace(",", delimiter) for line in (HEADER, GOOD, GOOD_2)]
    comma = import_chain(_write(tmp_path, HEADER, GOOD, GOOD_2, name="comma.csv"), as_of=AS_OF)

    snapshot, report = import_chain(_write(tmp_path, *lines), as_of=AS_OF)

    assert (report.rows_ok, report.errors) == (2, ())
    assert report.warnings == comma[1].warnings
    assert snapshot.options == comma[0].options


def test_import_chain_with_gzipped_semicolon_file_reads_rows(tmp_path: Path) -> None:
    path = tmp_path / "chain.csv.gz"
    text = "\n".join(line.replace(",", ";") for line in (HEADER, GOOD)) + "\n"
    path.write_bytes(gzip.compress(text.encode()))

    snapshot, _ = import_chain(path, as_of=AS_OF)

    assert [q.contract.key for q in snapshot.options] == ["SPY:20240621:530:C"]


def test_import_chain_with_decimal_comma_in_semicolon_file_rejects_cell(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "underlying;expiration;strike;option_type;bid;ask",
        "SPY;2024-06-21;530;C;2,10;2.14",
        "SPY;2024-06-21;540;C;1.10;1.14",
    )

    _, report = import_chain(path, as_of=AS_OF)

    assert [(e.row, e.column, e.value) for e in report.errors] == [(1, "bid", "2,10")]


def test_import_chain_with_pipe_delimiter_says_how_csv_is_read(tmp_path: Path) -> None:
    path = _write(tmp_path, HEADER.replace(",", "|"), GOOD.replace(",", "|"))

    with pytest.raises(ChainImportError, match="separated by commas, semicolons or tabs"):
        import_chain(path, as_of=AS_OF)


def test_import_chain_with_megabyte_header_clips_echoed_names(tmp_path: Path) -> None:
    huge = "x" * 1_000_000
    path = _write(tmp_path, f"underlying,{huge},bid,ask", "SPY,1,2.10,2.14")

    with pytest.raises(ChainImportError) as caught:
        import_chain(path, as_of=AS_OF)

    message = str(caught.value)
    assert len(message) < 600
    assert "missing required column(s)" in message
    assert f"{'x' * (CLIP_CHARS - 3)}... (1000000 chars)" in message


def test_import_chain_with_many_unknown_columns_warns_with_clipped_names(tmp_path: Path) -> None:
    extra = [f"note_{i}" for i in range(30)] + ["y" * 5000]
    path = _write(
        tmp_path,
        ",".join([*COLUMNS, *extra]),
        ",".join([*GOOD.split(","), *(["z"] * len(extra))]),
    )

    _, report = import_chain(path, as_of=AS_OF)

    (warning,) = [w for w in report.warnings if w.startswith("ignored")]
    assert warning.startswith("ignored unknown column(s): note_0, note_1,")
    assert "... (11 more)" in warning
    assert len(warning) < 400


def test_import_chain_with_huge_cell_clips_error_value(tmp_path: Path) -> None:
    path = _write(tmp_path, HEADER, GOOD, _with("strike", "9" * 100_000))

    _, report = import_chain(path, as_of=AS_OF)

    (error,) = report.errors
    assert error.value == clip("9" * 100_000)
    assert len(error.value) <= CLIP_CHARS + len(" (100000 chars)")
    assert len(str(error)) < 300


def test_import_chain_with_duplicate_contract_rejects_row_naming_both_rows(tmp_path: Path) -> None:
    again = GOOD.replace(",530,", ",530.000,")
    path = _write(tmp_path, HEADER + ",style", GOOD + ",A", GOOD_2 + ",A", again + ",AMERICAN")

    snapshot, report = import_chain(path, as_of=AS_OF)

    (error,) = report.errors
    assert (error.row, error.column) == (3, "contract")
    assert error.value == "SPY:20240621:530:C (AMERICAN, USD)"
    assert error.reason == "duplicate contract (first seen at row 1)"
    assert len(snapshot.options) == 2


def test_import_chain_with_same_contract_in_two_styles_keeps_both(tmp_path: Path) -> None:
    european = GOOD.replace(",2.10,2.14,", ",2.05,2.09,")
    path = _write(tmp_path, HEADER + ",style", GOOD + ",AMERICAN", european + ",EUROPEAN")

    snapshot, report = import_chain(path, as_of=AS_OF)

    assert report.errors == ()
    styles = [(q.contract.style, q.bid) for q in snapshot.options]
    assert styles == [
        (ExerciseStyle.AMERICAN, Decimal("2.10")),
        (ExerciseStyle.EUROPEAN, Decimal("2.05")),
    ]


def test_import_chain_with_rows_in_any_order_gives_one_hash(tmp_path: Path) -> None:
    rows = [
        GOOD + ",AMERICAN",
        GOOD.replace(",2.10,2.14,", ",2.05,2.09,") + ",EUROPEAN",
        GOOD_2 + ",AMERICAN",
        GOOD_2.replace(",C,", ",P,") + ",EUROPEAN",
    ]
    orders = [rows, rows[::-1], [rows[1], rows[3], rows[0], rows[2]]]

    hashes = {
        import_chain(_write(tmp_path, HEADER + ",style", *order), as_of=AS_OF)[0].snapshot_hash
        for order in orders
    }

    assert len(hashes) == 1


@pytest.mark.parametrize("text", ["1_000", "\u0661", "\u0661.5", "\uff11", "1\u00a0000", "0x10"])
def test_parse_decimal_with_underscore_or_non_ascii_digits_raises_field_error(text: str) -> None:
    with pytest.raises(FieldError, match="not a number"):
        parse_decimal(text)


@pytest.mark.parametrize(
    "value",
    ["1e999999999", "-1e301", "1e-400", 10**400, Decimal("1e999999")],
    ids=["text-1e999999999", "text-minus-1e301", "text-1e-400", "int-10**400", "decimal-1e999999"],
)
def test_parse_decimal_with_absurd_exponent_raises_before_arithmetic(value: object) -> None:
    with pytest.raises(FieldError, match="out of range"):
        parse_decimal(value)


@pytest.mark.parametrize("value", [float("inf"), float("nan"), "inf", "nan"])
def test_parse_float_with_non_finite_value_raises(value: object) -> None:
    with pytest.raises(FieldError):
        parse_float(value)


@pytest.mark.parametrize("text", ["9223372036854775808", "-9223372036854775808", "1e30"])
def test_parse_int_with_value_beyond_64_bits_raises(text: str) -> None:
    with pytest.raises(FieldError, match="out of range"):
        parse_int(text)


def test_parse_int_with_largest_64_bit_value_returns_it() -> None:
    assert parse_int("9223372036854775807") == 2**63 - 1
