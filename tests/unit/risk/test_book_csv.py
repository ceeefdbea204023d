"""The book upload parser: every rule, every kind of bad row, and the whole-file refusals."""

from __future__ import annotations

import hashlib
from datetime import date
from decimal import Decimal

import pytest

from riskdesk.domain.instruments import OptionContract, Stock
from riskdesk.risk import book_csv
from riskdesk.risk.book_csv import (
    MAX_DATA_ROWS,
    BookFileError,
    ParsedBook,
    parse_book,
    parse_mapping,
    years_before,
)
from riskdesk.risk.positions import PositionType

TODAY = date(2026, 3, 2)
HEADER = "ticker,quantity,entry_price,entry_date,tags\n"


def parse(body: str, **kwargs: object) -> ParsedBook:
    return parse_book((HEADER + body).encode(), today=TODAY, **kwargs)  # type: ignore[arg-type]


def test_parse_book_with_seed_example_types_every_row() -> None:
    book = parse(
        'AAPL,1000,150.00,2026-01-15,"momentum,tech"\n'
        'MSFT,-500,380.00,2026-01-20,"hedge,tech"\n'
        "AAPL270119C00150000,10,5.50,2026-01-10,options\n"
        "AAPL270119P00140000,-3,2.25,2026-01-10,\n"
        "SPY270119P00400000,2,1,2026-01-10\n"
        "QQQ270119C00400000,-1,1,2026-01-10\n"
    )
    assert book.errors == ()
    types = [(r.line, r.position.symbol, r.position.position_type) for r in book.rows]
    assert types == [
        (2, "AAPL", PositionType.LONG),
        (3, "MSFT", PositionType.SHORT),
        (4, "AAPL270119C00150000", PositionType.LC),
        (5, "AAPL270119P00140000", PositionType.SP),
        (6, "SPY270119P00400000", PositionType.LP),
        (7, "QQQ270119C00400000", PositionType.SC),
    ]
    first = book.rows[0].position
    assert first.quantity == Decimal(1000)
    assert first.entry_price == Decimal("150.00")
    assert first.entry_date == date(2026, 1, 15)
    assert isinstance(first.instrument, Stock)
    assert book.data_rows == 6


def test_parse_book_with_file_bytes_hashes_them_with_sha256() -> None:
    data = (HEADER + "AAPL,1,1,2026-01-02\n").encode()
    assert parse_book(data, today=TODAY).sha256 == hashlib.sha256(data).hexdigest()


def test_parse_book_with_odd_header_case_spaces_and_extra_columns_reads_the_fields() -> None:
    data = (
        b" Market_Value , TICKER ,Entry_Date,  Quantity,ENTRY_PRICE ,weight,Tags\n"
        b'999,aapl,2026-01-02,5,10.5,0.3,"tech, growth,,tech"\n'
    )
    book = parse_book(data, today=TODAY)
    assert book.errors == ()
    (row,) = book.rows
    assert row.position.symbol == "AAPL"
    assert row.position.quantity == Decimal(5)
    assert row.position.entry_price == Decimal("10.5")
    assert row.position.tags == ("tech", "growth")


def test_parse_book_with_quoted_tags_splits_them_on_commas() -> None:
    book = parse('AAPL,1,1,2026-01-02,"momentum,tech,high_beta"\n')
    assert book.rows[0].position.tags == ("momentum", "tech", "high_beta")


def test_parse_book_with_padded_and_compact_occ_stores_the_compact_symbol() -> None:
    book = parse("AAPL  270119C00150000,1,5,2026-01-02\nMSFT270119P00012500,-2,1.5,2026-01-02\n")
    assert book.errors == ()
    padded, compact = book.rows
    assert padded.position.symbol == "AAPL270119C00150000"
    assert isinstance(padded.position.instrument, OptionContract)
    assert padded.position.instrument.strike == Decimal(150)
    assert padded.position.instrument.expiry == date(2027, 1, 19)
    assert compact.position.symbol == "MSFT270119P00012500"
    assert isinstance(compact.position.instrument, OptionContract)
    assert compact.position.instrument.strike == Decimal("12.5")


def test_parse_book_with_padded_and_compact_forms_of_one_contract_rejects_the_duplicate() -> None:
    book = parse("AAPL  270119C00150000,1,5,2026-01-02\nAAPL270119C00150000,1,5,2026-01-02\n")
    assert len(book.rows) == 1
    (err,) = book.errors
    assert (err.line, err.column) == (3, "ticker")
    assert "duplicate of line 2" in err.reason


def test_parse_book_with_expired_option_marks_it_expired() -> None:
    book = parse("AAPL260116C00150000,1,5,2026-01-02\nAAPL260302C00150000,1,5,2026-01-02\n")
    assert [r.expired for r in book.rows] == [True, False]  # expiry == today is still live


@pytest.mark.parametrize(
    ("line", "column", "fragment"),
    [
        ("AAPL,0,10,2026-01-02", "quantity", "must not be 0"),
        ("AAPL,1_000,10,2026-01-02", "quantity", "not a plain decimal"),
        ("AAPL,abc,10,2026-01-02", "quantity", "not a plain decimal"),
        ("AAPL,nan,10,2026-01-02", "quantity", "not a plain decimal"),
        ("AAPL,1.123456789,10,2026-01-02", "quantity", "9 decimal places"),
        ("AAPL270119C00150000,1.5,10,2026-01-02", "quantity", "whole number of contracts"),
        ("AAPL,1,0,2026-01-02", "entry_price", "greater than 0"),
        ("AAPL,1,-5,2026-01-02", "entry_price", "greater than 0"),
        ("AAPL,1,1e13,2026-01-02", "entry_price", "too large"),
        ("AAPL,1,1$,2026-01-02", "entry_price", "not a plain decimal"),
        ("AAPL,1,10,01/02/2026", "entry_date", "YYYY-MM-DD"),
        ("AAPL,1,10,2026-02-30", "entry_date", "not a real calendar date"),
        ("AAPL,1,10,2026-03-03", "entry_date", "in the future"),
        ("AAPL,1,10,2021-03-01", "entry_date", "more than 5 years ago"),
        ("AAPL260116C00150000,1,10,2026-01-20", "entry_date", "after the option's expiry"),
        ("AAPL270119X00150000,1,10,2026-01-02", "ticker", "right 'X' is not C or P"),
        ("AAPL271319C00150000,1,10,2026-01-02", "ticker", "expiry"),
        ("AAPL270119C0015000,1,10,2026-01-02", "ticker", "invalid OCC symbol"),
        ("AAPL270119C00000000,1,10,2026-01-02", "ticker", "strike"),
        ("AA$PL,1,10,2026-01-02", "ticker", "neither a stock/ETF symbol"),
        (",1,10,2026-01-02", "ticker", "ticker is missing"),
        ("AAPL,,10,2026-01-02", "quantity", "quantity is missing"),
        ("AAPL,1,10", "entry_date", "entry_date is missing"),
        ("AAPL,1,10,2026-01-02," + '"' + "t" * 101 + '"', "tags", "at most 100"),
    ],
)
def test_parse_book_with_bad_row_reports_line_column_and_reason(
    line: str, column: str, fragment: str
) -> None:
    book = parse("MSFT,1,1,2026-01-02\n" + line + "\n")
    assert [r.position.symbol for r in book.rows] == ["MSFT"]
    assert len(book.errors) == 1, book.errors
    err = book.errors[0]
    assert err.line == 3
    assert err.column == column
    assert fragment in err.reason, err.reason


def test_parse_book_with_oldest_allowed_date_accepts_it() -> None:
    book = parse("AAPL,1,10,2021-03-02\nMSFT,1,10,2026-03-02\n")
    assert book.errors == ()
    assert len(book.rows) == 2


def test_parse_book_with_several_bad_cells_reports_each() -> None:
    book = parse("AAPL,0,-1,2030-01-01\n")
    assert book.rows == ()
    assert [(e.line, e.column) for e in book.errors] == [
        (2, "quantity"),
        (2, "entry_price"),
        (2, "entry_date"),
    ]
    assert book.rejected_lines == (2,)


def test_parse_book_with_duplicate_ticker_and_date_rejects_the_second() -> None:
    book = parse("AAPL,1,10,2026-01-02\nMSFT,1,10,2026-01-02\naapl,2,11,2026-01-02\n")
    assert [r.line for r in book.rows] == [2, 3]
    (err,) = book.errors
    assert err.line == 4
    assert err.column == "ticker"
    assert "duplicate of line 2" in err.reason


def test_parse_book_with_two_open_lots_of_one_ticker_rejects_the_second() -> None:
    book = parse("AAPL,1,10,2026-01-02\nAAPL,2,11,2026-01-05\n")
    assert [r.line for r in book.rows] == [2]
    (err,) = book.errors
    assert err.line == 3
    assert "already held open by line 2" in err.reason


def test_parse_book_with_duplicate_of_a_bad_row_keeps_the_good_one() -> None:
    book = parse("AAPL,0,10,2026-01-02\nAAPL,1,10,2026-01-02\n")
    assert [r.line for r in book.rows] == [3]
    assert [e.line for e in book.errors] == [2]


def test_parse_book_with_multiline_quoted_field_numbers_lines_physically() -> None:
    book = parse('AAPL,1,10,2026-01-02,"a,\nb"\nMSFT,0,10,2026-01-02\n')
    assert book.rows[0].position.tags == ("a", "b")
    (err,) = book.errors
    assert err.line == 4


def test_parse_book_with_blank_lines_skips_them_and_counts_lines() -> None:
    book = parse("AAPL,1,10,2026-01-02\n\n,,,,\nMSFT,0,10,2026-01-02\n\n")
    assert book.data_rows == 2
    assert [e.line for e in book.errors] == [5]


def test_parse_book_with_bom_and_crlf_reads_the_header() -> None:
    data = "\ufeffticker,quantity,entry_price,entry_date\r\nAAPL,1,10,2026-01-02\r\n".encode()
    book = parse_book(data, today=TODAY)
    assert [r.position.symbol for r in book.rows] == ["AAPL"]


def test_parse_book_with_broker_mapping_and_date_format_imports_it() -> None:
    data = (
        b"Symbol,Qty,Avg Price,Open Date,Account\n"
        b"AAPL,10,150.25,01/15/2026,X1\n"
        b"MSFT,5,300,2026-01-15,X1\n"
    )
    mapping = parse_mapping(
        'ticker=Symbol,quantity=Qty,entry_price="Avg Price",entry_date="Open Date"'
    )
    assert mapping == {
        "ticker": "Symbol",
        "quantity": "Qty",
        "entry_price": "Avg Price",
        "entry_date": "Open Date",
    }
    book = parse_book(data, today=TODAY, mapping=mapping, date_format="%m/%d/%Y")
    assert [r.position.entry_date for r in book.rows] == [date(2026, 1, 15)]
    (err,) = book.errors
    assert (err.line, err.column) == (3, "entry_date")
    assert "does not match the date format '%m/%d/%Y'" in err.reason


def test_parse_book_with_mapping_to_missing_header_refuses_the_file() -> None:
    data = b"Symbol,Qty,Price,Date\nAAPL,1,1,2026-01-02\n"
    with pytest.raises(BookFileError, match="Avg Price"):
        parse_book(data, today=TODAY, mapping={"ticker": "Symbol", "entry_price": "Avg Price"})


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("ticker", "FIELD=HEADER"),
        ("symbol=Symbol", "unknown field 'symbol'"),
        ("ticker=A,ticker=B", "twice"),
        ("ticker=", "no header"),
        ("", "empty"),
    ],
)
def test_parse_mapping_with_bad_text_raises_book_file_error(text: str, fragment: str) -> None:
    with pytest.raises(BookFileError, match=fragment):
        parse_mapping(text)


def test_parse_book_with_missing_header_column_refuses_the_file() -> None:
    with pytest.raises(BookFileError, match=r"line 1: .*required column\(s\) entry_price"):
        parse_book(b"ticker,quantity,entry_date\nAAPL,1,2026-01-02\n", today=TODAY)


def test_parse_book_with_repeated_header_column_refuses_the_file() -> None:
    with pytest.raises(BookFileError, match="'ticker' 2 times"):
        parse_book(b"ticker,Ticker,quantity,entry_price,entry_date\n", today=TODAY)


@pytest.mark.parametrize("data", [b"", b"\n\n", b"\xef\xbb\xbf"])
def test_parse_book_with_empty_file_refuses_it(data: bytes) -> None:
    with pytest.raises(BookFileError, match="the file is empty"):
        parse_book(data, today=TODAY)


def test_parse_book_with_header_only_refuses_it() -> None:
    with pytest.raises(BookFileError, match="no data rows"):
        parse_book(HEADER.encode(), today=TODAY)


def test_parse_book_with_non_utf8_refuses_it() -> None:
    with pytest.raises(BookFileError, match="not UTF-8"):
        parse_book(HEADER.encode() + b"\xff\xfe,1,1,2026-01-02\n", today=TODAY)


def test_parse_book_with_too_many_rows_refuses_the_file() -> None:
    body = "".join(f"T{i % 100},1,1,2026-01-02\n" for i in range(MAX_DATA_ROWS + 1))
    with pytest.raises(BookFileError, match="more than 10,000 data rows"):
        parse(body)


def test_parse_book_with_exactly_the_row_limit_reads_every_row() -> None:
    body = "".join(f"X{i}A,1,1,2026-01-02\n" for i in range(MAX_DATA_ROWS))
    assert parse(body).data_rows == MAX_DATA_ROWS


def test_parse_book_with_file_over_ten_megabytes_refuses_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = (HEADER + "AAPL,1,1,2026-01-02\n").encode()
    assert parse_book(data, today=TODAY).rows  # fine at the real limit
    monkeypatch.setattr(book_csv, "MAX_FILE_BYTES", len(data) - 1)
    with pytest.raises(BookFileError, match="bytes; at most"):
        parse_book(data, today=TODAY)


def test_parse_book_with_eleven_megabytes_refuses_before_reading_rows() -> None:
    data = HEADER.encode() + b"#" * (11 * 1024 * 1024)
    with pytest.raises(BookFileError, match="10 MB"):
        parse_book(data, today=TODAY)


def test_years_before_with_leap_day_gives_february_28() -> None:
    assert years_before(date(2028, 2, 29), 5) == date(2023, 2, 28)
    assert years_before(TODAY, 5) == date(2021, 3, 2)
