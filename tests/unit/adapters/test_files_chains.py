from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from riskdesk.adapters.files import (
    ChainImportError,
    ImportReport,
    export_chain,
    import_chain,
    import_underlyings,
)
from riskdesk.adapters.simulated import generate_market
from riskdesk.domain.market import MarketOverrides, SnapshotMode

DATA = Path(__file__).resolve().parents[2] / "data" / "market"
AS_OF = datetime(2024, 6, 3, 19, 45, tzinfo=UTC)  # Monday 15:45 New York


def _by_row(report: ImportReport) -> dict[int, list[tuple[str, str]]]:
    rows: dict[int, list[tuple[str, str]]] = {}
    for error in report.errors:
        rows.setdefault(error.row, []).append((error.column, error.reason))
    return rows


def _assert_reason(
    rows: dict[int, list[tuple[str, str]]], row: int, column: str, text: str
) -> None:
    found = [reason for col, reason in rows[row] if col == column]
    assert found, f"row {row}: no error on {column!r}; got {rows[row]}"
    assert any(text in reason for reason in found), f"row {row}: {found}"


def test_import_chain_with_mixed_csv_reports_each_bad_row_and_keeps_good_rows() -> None:
    snapshot, report = import_chain(
        DATA / "options_mixed.csv", as_of=AS_OF, underlyings_path=DATA / "underlyings_mixed.csv"
    )

    assert (report.rows_read, report.rows_ok, report.rows_rejected) == (20, 6, 14)
    rows = _by_row(report)
    assert set(rows) == {3, 4, 5, 6, 7, 8, 9, 14, 15, 16, 17, 18, 19, 20}
    _assert_reason(rows, 3, "strike", "not a number")
    _assert_reason(rows, 4, "ask", "ask < bid")
    _assert_reason(rows, 5, "bid", "negative price")
    _assert_reason(rows, 6, "expiration", "unparseable date")
    _assert_reason(rows, 7, "option_type", "unknown option_type")
    _assert_reason(rows, 8, "strike", "strike must be > 0")
    _assert_reason(rows, 9, "expiration", "expired before as_of")
    _assert_reason(rows, 14, "contract", "duplicate contract (first seen at row 1)")
    _assert_reason(rows, 15, "iv", "not a number")
    _assert_reason(rows, 16, "quote_time", "no time zone")
    _assert_reason(rows, 17, "expiration", "not a trading day")
    _assert_reason(rows, 18, "quote_time", "after as_of")
    _assert_reason(rows, 19, "volume", "whole number")
    _assert_reason(rows, 20, "strike", "not a number")
    _assert_reason(rows, 20, "ask", "ask < bid")
    assert next(e for e in report.errors if e.row == 3).value == "abc"

    keys = [q.contract.key for q in snapshot.options]
    assert keys == [
        "QQQ:20240607:450:P",
        "QQQ:20240607:455:C",
        "QQQ:20240607:460:C",
        "SPY:20240603:530:C",
        "SPY:20240621:530:C",
        "SPY:20240621:530:P",
    ]
    first = snapshot.option_quote(snapshot.options[4].contract)
    assert first is not None
    assert (first.bid, first.ask, first.iv, first.volume, first.open_interest) == (
        Decimal("2.10"),
        Decimal("2.14"),
        0.1234,
        1200,
        15000,
    )
    assert first.provider_timestamp == datetime(2024, 6, 3, 19, 44, tzinfo=UTC)
    assert first.receive_timestamp == AS_OF
    assert snapshot.mode is SnapshotMode.PINNED
    assert snapshot.source == "file:options_mixed.csv"


def test_import_chain_with_underlyings_file_reports_bad_underlying_rows() -> None:
    snapshot, report = import_chain(
        DATA / "options_mixed.csv", as_of=AS_OF, underlyings_path=DATA / "underlyings_mixed.csv"
    )

    sub = report.underlyings
    assert sub is not None
    assert (sub.rows_read, sub.rows_ok, sub.rows_rejected) == (6, 2, 4)
    rows = _by_row(sub)
    _assert_reason(rows, 3, "bid", "negative price")
    _assert_reason(rows, 4, "symbol", "not a ticker")
    _assert_reason(rows, 5, "symbol", "duplicate symbol (first seen at row 1)")
    _assert_reason(rows, 6, "spot", "no price")
    assert snapshot.underlying("SPY").spot == Decimal("530.00")
    assert snapshot.underlying("QQQ").spot == Decimal("450.10")
    assert snapshot.underlying("SPY").provider_timestamp == datetime(
        2024, 6, 3, 19, 44, 59, tzinfo=UTC
    )


def test_import_chain_with_mixed_csv_fills_diagnostics() -> None:
    snapshot, _ = import_chain(
        DATA / "options_mixed.csv", as_of=AS_OF, underlyings_path=DATA / "underlyings_mixed.csv"
    )

    diagnostics = snapshot.diagnostics
    assert diagnostics["options"] == 6
    assert diagnostics["zero_bid"] == 1
    assert diagnostics["missing_quote"] == 1
    assert diagnostics["crossed"] == 0
    assert diagnostics["stale"] == 0
    assert sum(diagnostics["iv_status"].values()) + diagnostics["iv_skipped"] == 6


def test_import_chain_with_short_stale_threshold_counts_old_quotes() -> None:
    snapshot, _ = import_chain(
        DATA / "options_mixed.csv",
        as_of=AS_OF,
        underlyings_path=DATA / "underlyings_mixed.csv",
        stale_after=timedelta(seconds=20),
    )

    assert snapshot.diagnostics["stale"] == 3
    assert snapshot.diagnostics["stale_underlyings"] == 1


def test_import_chain_with_eod_layout_reads_greeks_and_underlying_price() -> None:
    snapshot, report = import_chain(DATA / "eod_layout.csv", as_of=AS_OF)

    assert (report.rows_read, report.rows_ok, report.rows_rejected) == (6, 5, 1)
    assert [(e.row, e.column) for e in report.errors] == [(3, "delta")]
    assert "ignored unknown column(s): quote_date" in report.warnings
    assert snapshot.underlying("SPY").spot == Decimal("530.00")
    assert snapshot.underlying("QQQ").spot == Decimal("451.20")
    assert report.greeks["SPY:20240621:530:C"] == {
        "delta": 0.4812,
        "gamma": 0.0411,
        "theta": -0.1702,
        "vega": 0.3401,
    }
    assert "QQQ:20240607:445:P" not in report.greeks
    put = next(q for q in snapshot.options if q.contract.key == "QQQ:20240607:445:P")
    assert put.iv is None


def test_import_chain_with_occ_layout_parses_symbols_and_rejects_bad_ones() -> None:
    snapshot, report = import_chain(DATA / "occ_layout.csv", as_of=AS_OF)

    assert (report.rows_read, report.rows_ok, report.rows_rejected) == (7, 4, 3)
    rows = _by_row(report)
    assert set(rows) == {5, 6, 7}
    _assert_reason(rows, 5, "option_symbol", "invalid OCC symbol")
    _assert_reason(rows, 6, "option_symbol", "expiry")
    _assert_reason(rows, 7, "option_symbol", "strike")
    assert sorted(q.contract.key for q in snapshot.options) == [
        "QQQ:20240607:450:P",
        "QQQ:20240607:455.5:C",
        "SPY:20240621:530:C",
        "SPY:20240621:530:P",
    ]
    assert "no underlying quote for QQQ, SPY" in report.warnings
    assert snapshot.diagnostics["missing_underlying"] == 4


def test_import_chain_with_typed_parquet_reports_bad_rows_and_keeps_good_rows() -> None:
    snapshot, report = import_chain(DATA / "options_typed.parquet", as_of=AS_OF)

    assert (report.rows_read, report.rows_ok, report.rows_rejected) == (10, 4, 6)
    rows = _by_row(report)
    assert set(rows) == {3, 4, 5, 6, 7, 8}
    _assert_reason(rows, 3, "strike", "strike must be > 0")
    _assert_reason(rows, 4, "ask", "ask < bid")
    _assert_reason(rows, 5, "bid", "negative price")
    _assert_reason(rows, 6, "expiration", "expired before as_of")
    _assert_reason(rows, 7, "option_type", "unknown option_type")
    _assert_reason(rows, 8, "strike", "missing required value")
    no_quote = next(q for q in snapshot.options if q.contract.key == "QQQ:20240607:450:P")
    assert (no_quote.bid, no_quote.ask) == (None, None)
    spy_call = next(q for q in snapshot.options if q.contract.key == "SPY:20240621:530:C")
    assert spy_call.bid == Decimal("2.1")
    assert spy_call.provider_timestamp == datetime(2024, 6, 3, 19, 44, tzinfo=UTC)


def test_import_chain_with_text_strike_in_parquet_rejects_abc_instead_of_nan() -> None:
    snapshot, report = import_chain(DATA / "options_text_strike.parquet", as_of=AS_OF)

    assert (report.rows_ok, report.rows_rejected) == (2, 1)
    assert [(e.row, e.column, e.value) for e in report.errors] == [(2, "strike", "abc")]
    assert sorted(q.contract.key for q in snapshot.options) == [
        "SPY:20240621:530:C",
        "SPY:20240621:540.5:P",
    ]


def test_import_chain_with_missing_required_columns_raises_naming_them(tmp_path: Path) -> None:
    path = tmp_path / "chain.csv"
    path.write_text("underlying,strike,option_type,bid,ask\nSPY,530,C,1,2\n")

    with pytest.raises(ChainImportError, match=r"missing required column\(s\): expiration"):
        import_chain(path, as_of=AS_OF)


def test_import_chain_with_two_columns_for_one_field_raises(tmp_path: Path) -> None:
    path = tmp_path / "chain.csv"
    path.write_text("underlying,expiry,expiration,strike,option_type,bid,ask\n")

    with pytest.raises(ChainImportError, match="'expiry' and 'expiration' both mean"):
        import_chain(path, as_of=AS_OF)


def test_import_chain_with_unknown_suffix_raises(tmp_path: Path) -> None:
    path = tmp_path / "chain.xlsx"
    path.write_bytes(b"not a spreadsheet")

    with pytest.raises(ChainImportError, match="unknown file type"):
        import_chain(path, as_of=AS_OF)


def test_import_chain_with_missing_file_raises(tmp_path: Path) -> None:
    with pytest.raises(ChainImportError, match="no such file"):
        import_chain(tmp_path / "absent.csv", as_of=AS_OF)


def test_import_chain_with_naive_as_of_raises() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        import_chain(DATA / "occ_layout.csv", as_of=datetime(2024, 6, 3, 19, 45))


def test_import_chain_with_naive_timezone_accepts_local_timestamps(tmp_path: Path) -> None:
    path = tmp_path / "chain.csv"
    path.write_text(
        "Underlying,Expiration Date,Strike,Type,Bid,Ask,Quote Time\n"
        "SPY,2024-06-21,530,C,2.10,2.14,2024-06-03 15:44:00\n"
    )

    snapshot, report = import_chain(path, as_of=AS_OF, naive_timezone="America/New_York")

    assert report.errors == ()
    assert snapshot.options[0].provider_timestamp == datetime(2024, 6, 3, 19, 44, tzinfo=UTC)


def test_import_chain_with_differing_underlying_prices_warns(tmp_path: Path) -> None:
    path = tmp_path / "chain.csv"
    path.write_text(
        "underlying,expiration,strike,option_type,bid,ask,underlying_price\n"
        "SPY,2024-06-21,530,C,2.10,2.14,530.00\n"
        "SPY,2024-06-21,530,P,4.50,4.55,530.40\n"
    )

    snapshot, report = import_chain(path, as_of=AS_OF)

    assert snapshot.underlying("SPY").spot == Decimal("530.00")
    assert any("underlying_price differs" in w for w in report.warnings)


def test_import_underlyings_with_spot_column_uses_it() -> None:
    quotes, report = import_underlyings(DATA / "underlyings_mixed.csv", as_of=AS_OF)

    assert [q.symbol for q in quotes] == ["QQQ", "SPY"]
    assert report.rows_rejected == 4


def test_import_report_to_dict_is_json_ready() -> None:
    _, report = import_chain(DATA / "occ_layout.csv", as_of=AS_OF)

    data = report.to_dict()
    assert data["rows_rejected"] == 3
    assert data["errors"][0] == {
        "row": 5,
        "column": "option_symbol",
        "value": "NOT-AN-OCC",
        "reason": report.errors[0].reason,
    }
    assert report.rejected_rows == (5, 6, 7)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_export_then_import_with_generated_market_reproduces_snapshot_hash(
    tmp_path: Path, suffix: str
) -> None:
    as_of = datetime(2025, 3, 3, 15, 0, tzinfo=UTC)
    original = generate_market(
        seed=11, as_of=as_of, symbols=["SPY", "AAPL"], max_expiry_days=45, strikes_per_expiry=6
    )
    chain, spots = tmp_path / f"chain{suffix}", tmp_path / f"spots{suffix}"
    export_chain(original, chain, underlyings_path=spots)

    imported, report = import_chain(
        chain,
        as_of=as_of,
        underlyings_path=spots,
        source=original.source,
        overrides=original.overrides,
        mode=original.mode,
    )

    assert report.rows_rejected == 0
    assert report.rows_ok == len(original.options)
    assert imported.snapshot_hash == original.snapshot_hash


def test_export_chain_with_parquet_writes_typed_columns(tmp_path: Path) -> None:
    snapshot, _ = import_chain(DATA / "options_typed.parquet", as_of=AS_OF)
    path = tmp_path / "out.parquet"

    export_chain(snapshot, path)

    schema = pq.read_schema(path)
    assert schema.field("expiration").type == pa.date32()
    assert schema.field("strike").type == pa.float64()
    assert schema.field("quote_time").type == pa.timestamp("us", tz="UTC")


def test_import_chain_with_overrides_stores_them() -> None:
    overrides = MarketOverrides(rate=0.05, dividend_yield={"SPY": 0.013})

    snapshot, _ = import_chain(DATA / "eod_layout.csv", as_of=AS_OF, overrides=overrides)

    assert snapshot.overrides == overrides


def test_import_chain_with_line_longer_than_header_rejects_only_that_row(tmp_path: Path) -> None:
    path = tmp_path / "chain.csv"
    path.write_text(
        "underlying,expiration,strike,option_type,bid,ask\n"
        "SPY,2024-06-21,530,C,2.10,2.14\n"
        "SPY,2024-06-21,530,P,4.50,4.55,oops\n"
        "SPY,2024-06-21,535,C,1.10\n"
        'SPY,2024-06-21,"540",P,9.80,9.90\n'
    )

    snapshot, report = import_chain(path, as_of=AS_OF)

    assert (report.rows_read, report.rows_ok, report.rows_rejected) == (4, 3, 1)
    (error,) = report.errors
    assert (error.row, error.column, error.value) == (
        2,
        "(row)",
        "SPY,2024-06-21,530,P,4.50,4.55,oops",
    )
    assert error.reason == "row has 7 fields but the header has 6"
    keys = [q.contract.key for q in snapshot.options]
    assert keys == ["SPY:20240621:530:C", "SPY:20240621:535:C", "SPY:20240621:540:P"]
    assert snapshot.options[1].ask is None  # a short line leaves blank cells


def test_files_package_with_public_names_exports_exactly_these() -> None:
    import riskdesk.adapters.files as files

    assert sorted(files.__all__) == [
        "ChainFileSource",
        "ChainImportError",
        "ImportReport",
        "NoRowsImportedError",
        "OPTION_COLUMNS",
        "RowError",
        "UNDERLYING_COLUMNS",
        "export_chain",
        "import_chain",
        "import_underlyings",
    ]
    assert all(hasattr(files, name) for name in files.__all__)
