"""Column-wise chain validation decides exactly what the per-row validator decides.

The reference is the per-row import as it was before the column-wise reader: every row of
:func:`read_rows` through :func:`validate_option_row`, built into an OptionQuote, repeats of an
earlier contract refused. Files mix every rule of the row validator, many times over.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from riskdesk.adapters.files import import_chain
from riskdesk.adapters.files.chains import (
    OPTION_COLUMNS,
    RAGGED_MARK,
    _map_columns,
    read_rows,
)
from riskdesk.adapters.files.parsing import (
    EncodedColumn,
    ParsedOptionRow,
    RowError,
    validate_option_columns,
    validate_option_row,
)
from riskdesk.domain.market import OptionQuote, contract_identity, describe_contract

AS_OF = datetime(2024, 6, 3, 19, 45, tzinfo=UTC)  # Monday 15:45 New York

_POOLS: dict[str, list[str]] = {
    "underlying": ["SPY", "SPY", "spy", " QQQ ", "BRK.B", "$$$", ""],
    "expiration": [
        "2024-06-21",
        "2024-06-21",
        "20240621",
        "06/21/2024",
        "2024-06-03",
        "2024-06-22",
        "2024-05-17",
        "junk",
        "2024-07-19",
    ],
    "strike": ["530", "530.0", " 531 ", "1e2", "0", "-5", "abc", "1e12", "0.123456789", "NA"],
    "option_type": ["C", "P", "call", "PUT", "X", ""],
    "bid": ["1.25", "0", "", "NA", "-0.05", "1.123456789", "2.50", "abc"],
    "ask": ["1.30", "2.00", "", "n/a", "1.20", "3"],
    "mark": ["", "1.27", "-1"],
    "iv": ["0.25", "", "12.5", "nan", "0", "1e-3", "x"],
    "delta": ["", "0.5", "-1", "1.5"],
    "gamma": ["", "0.01", "-0.01"],
    "theta": ["", "-0.05", "abc"],
    "vega": ["", "0.1", "-0.1"],
    "volume": ["", "10", "1.0", "1.5", "-1", "99999999999999999999"],
    "open_interest": ["", "100", "-3"],
    "quote_time": [
        "2024-06-03T19:44:00Z",
        "2024-06-03T15:44:00-04:00",
        "",
        "2024-06-03T19:44:00",
        "2024-06-03T19:46:00Z",
        "yesterday",
    ],
    "style": ["", "A", "E", "american", "X"],
    "settlement": ["", "PM", "AM", "Z"],
    "multiplier": ["", "100", "10", "0", "1.5", "99999999999"],
    "underlying_price": ["", "530.10", "0", "-1", "abc"],
}


def _occ(underlying: str, expiry: str, strike: str, right: str) -> str:
    """The row's OCC symbol when its cells parse, else a fixed one (a disagreement)."""
    try:
        day = datetime.strptime(expiry, "%Y-%m-%d").date()  # noqa: DTZ007 - a date
        price = Decimal(strike.strip())
    except (ValueError, ArithmeticError):
        return "SPY240621C00530000"
    kind = "C" if right.strip().upper().startswith("C") else "P"
    return f"{underlying.strip().upper() or 'X'}{day:%y%m%d}{kind}{int(price * 1000):08d}"


def _write_mixed(
    path: Path, rows: int, *, seed: int, occ: bool, fields: bool, ragged: bool = True
) -> None:
    rng = random.Random(seed)
    names = list(_POOLS) if fields else [n for n in _POOLS if n not in _CONTRACT]
    header = names + (["occ_symbol"] if occ else [])
    lines = [",".join(header)]
    for number in range(rows):
        # mostly the first (good) value of each pool, so that many rows are good
        cells = {
            name: pool[0] if rng.random() < 0.97 else rng.choice(pool)
            for name, pool in _POOLS.items()
        }
        if cells["strike"] == "530" and rng.random() < 0.9:
            cells["strike"] = f"{300 + number % 400}"  # distinct contracts, some repeats
        line = [cells[name] for name in names]
        if occ:
            symbol = _occ(cells["underlying"], cells["expiration"], cells["strike"], "C")
            choice = rng.random()
            line.append(symbol if choice < 0.8 else "" if choice < 0.9 else "BAD")
        if ragged and number % 97 == 50:
            line.append("extra")  # a ragged line
        lines.append(",".join(line))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


_CONTRACT = ("underlying", "expiration", "strike", "option_type")


def _reference(
    path: Path,
    *,
    naive_timezone: str | None = None,
    greeks: dict[str, dict[str, float]] | None = None,
) -> tuple[list[OptionQuote], list[RowError]]:
    """The per-row import (the validator before the column-wise reader) of ``path``."""
    header, raw_rows = read_rows(path)
    names, ignored = _map_columns(header, OPTION_COLUMNS, path=path)
    width = len(names) + len(ignored)
    good: list[OptionQuote] = []
    errors: list[RowError] = []
    seen: dict[object, int] = {}
    for number, raw in enumerate(raw_rows, start=1):
        if RAGGED_MARK in raw:
            count, _, text = str(raw[RAGGED_MARK]).partition(":")
            errors.append(
                RowError(
                    number, "(row)", text, f"row has {count} fields but the header has {width}"
                )
            )
            continue
        cells = {canonical: raw[column] for canonical, column in names.items()}
        parsed, row_errors = validate_option_row(
            cells, row=number, as_of=AS_OF, names=names, naive_timezone=naive_timezone
        )
        if parsed is not None:
            stamp = parsed.quote_time.astimezone(UTC) if parsed.quote_time else AS_OF
            try:
                quote = OptionQuote(
                    contract=parsed.contract,
                    bid=parsed.bid,
                    ask=parsed.ask,
                    mark=parsed.mark,
                    iv=parsed.iv,
                    provider_timestamp=stamp,
                    receive_timestamp=AS_OF,
                    volume=parsed.volume,
                    open_interest=parsed.open_interest,
                )
            except ValueError as exc:
                row_errors = [RowError(number, "(row)", "", str(exc)[:200])]
            else:
                identity = contract_identity(quote.contract)
                if identity not in seen:
                    seen[identity] = number
                    good.append(quote)
                    if greeks is not None and parsed.greeks:
                        greeks.setdefault(parsed.contract.key, dict(parsed.greeks))
                    continue
                row_errors = [
                    RowError(
                        number,
                        "contract",
                        describe_contract(quote.contract),
                        f"duplicate contract (first seen at row {seen[identity]})",
                    )
                ]
        errors.extend(row_errors)
    good.sort(key=lambda q: contract_identity(q.contract))
    return good, errors


@pytest.mark.parametrize(
    ("occ", "fields", "naive_timezone", "ragged"),
    [
        (False, True, None, True),
        (False, True, None, False),  # no ragged line: read by pyarrow, not pandas
        (True, True, None, True),
        (True, False, None, False),
        (False, True, "America/New_York", True),
    ],
)
def test_import_chain_with_every_row_rule_mixed_matches_the_per_row_import(
    tmp_path: Path, occ: bool, fields: bool, naive_timezone: str | None, ragged: bool
) -> None:
    path = tmp_path / "mixed.csv"
    _write_mixed(path, 600, seed=15, occ=occ, fields=fields, ragged=ragged)
    greeks: dict[str, dict[str, float]] = {}
    expected_quotes, expected_errors = _reference(
        path, naive_timezone=naive_timezone, greeks=greeks
    )

    snapshot, report = import_chain(path, as_of=AS_OF, naive_timezone=naive_timezone)

    assert report.errors == tuple(expected_errors)
    assert report.greeks == greeks
    assert snapshot.options == tuple(expected_quotes)
    assert report.rows_ok == len(expected_quotes) > 50
    assert report.rows_read == 600
    assert len(report.rejected_rows) > 50


def _raw_rows(path: Path) -> tuple[dict[str, str], list[dict[str, object]]]:
    header, raw_rows = read_rows(path)
    names, _ = _map_columns(header, OPTION_COLUMNS, path=path)
    rows = [
        {canonical: raw[column] for canonical, column in names.items()}
        for raw in raw_rows
        if RAGGED_MARK not in raw
    ]
    return names, rows


def _same(fast: ParsedOptionRow, slow: ParsedOptionRow) -> bool:
    fields = ("contract", "bid", "ask", "mark", "iv", "volume", "open_interest", "quote_time")
    return (
        all(getattr(fast, f) == getattr(slow, f) for f in fields)
        and fast.underlying_price == slow.underlying_price
        and dict(fast.greeks) == dict(slow.greeks)
        and str(fast.contract.strike) == str(slow.contract.strike)
        and str(fast.bid) == str(slow.bid)
    )


def test_validate_option_columns_with_mixed_cells_accepts_exactly_the_rows_validate_option_row_accepts(
    tmp_path: Path,
) -> None:
    path = tmp_path / "mixed.csv"
    _write_mixed(path, 800, seed=7, occ=True, fields=True)
    names, rows = _raw_rows(path)
    columns = {name: EncodedColumn.from_cells([row[name] for row in rows]) for name in names}

    fast = validate_option_columns(columns, rows=len(rows), as_of=AS_OF)

    for number, (raw, decided) in enumerate(zip(rows, fast, strict=True), start=1):
        slow, _ = validate_option_row(raw, row=number, as_of=AS_OF, names=names)
        assert (decided is None) == (slow is None), f"row {number}: {raw}"
        if decided is not None and slow is not None:
            assert _same(decided, slow), f"row {number}: {decided} != {slow}"


def test_import_chain_with_typed_parquet_cells_matches_the_per_row_import(tmp_path: Path) -> None:
    path = tmp_path / "typed.parquet"
    n = 12
    table = pa.table(
        {
            "underlying": ["SPY"] * n,
            "expiration": [date(2024, 6, 21)] * (n - 2) + [date(2024, 6, 22), None],
            "strike": [530.0, 530, 531, 532.5, 0, -1, 533, 534, 535, 536, 537, 538],
            "option_type": ["C", "C", "P", "C", "C", "C", "P", "C", "C", "P", "C", "C"],
            "bid": [1.25, 1.25, None, 0.0, 1.0, 1.0, float("nan"), -1.0, 1.0, 2.0, 1.0, 1.0],
            "ask": [1.5, 1.5, 1.0, 0.5, 1.5, 1.5, 1.0, 1.0, 0.5, 2.5, 1.5, 1.5],
            "volume": [1, 1, 2, 3, 4, 5, 6, 7, 8, -9, 10, 11],
        }
    )
    pq.write_table(table, path)
    expected_quotes, expected_errors = _reference(path)

    snapshot, report = import_chain(path, as_of=AS_OF)

    assert report.errors == tuple(expected_errors)
    assert snapshot.options == tuple(expected_quotes)
    assert report.rows_ok == len(expected_quotes) >= 3
