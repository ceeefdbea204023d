"""OptionTable: the quotes of a snapshot column-wise, with every rule an OptionQuote enforces."""

from __future__ import annotations

import pickle
import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from riskdesk.domain.instruments import ExerciseStyle, OptionContract, OptionRight, Settlement
from riskdesk.domain.market import (
    MarketOverrides,
    MarketSnapshot,
    OptionQuote,
    SnapshotMode,
    UnderlyingQuote,
)
from riskdesk.domain.option_table import OPTION_SCHEMA, OptionTable

AS_OF = datetime(2024, 6, 3, 19, 45, tzinfo=UTC)


def _quotes(n: int, seed: int = 3) -> list[OptionQuote]:
    rng = random.Random(seed)
    out: list[OptionQuote] = []
    for i in range(n):
        contract = OptionContract(
            underlying=("SPY", "QQQ", "IWM")[i % 3],
            expiry=date(2024, 6, 21) + timedelta(days=7 * (i % 5)),
            strike=Decimal(400 + i) + Decimal(rng.choice(["0", "0.5", "0.25"])),
            right=OptionRight.CALL if i % 2 else OptionRight.PUT,
            style=ExerciseStyle.EUROPEAN if i % 7 == 0 else ExerciseStyle.AMERICAN,
            settlement=Settlement.AM if i % 11 == 0 else Settlement.PM,
            multiplier=10 if i % 13 == 0 else 100,
        )
        bid = Decimal(rng.randrange(0, 5000)) / 100
        out.append(
            OptionQuote(
                contract=contract,
                bid=bid if i % 17 else None,
                ask=bid + Decimal("0.05"),
                mark=None if i % 3 else Decimal("1.23456789"),
                iv=rng.uniform(0.05, 2.0) if i % 19 else None,
                provider_timestamp=AS_OF - timedelta(seconds=i % 4),
                receive_timestamp=AS_OF,
                volume=rng.randrange(0, 10**6) if i % 5 else None,
                open_interest=rng.randrange(0, 10**7),
            )
        )
    return out


def _snapshot(options: Any) -> MarketSnapshot:
    return MarketSnapshot(
        as_of=AS_OF,
        mode=SnapshotMode.PINNED,
        source="test",
        underlyings=tuple(
            UnderlyingQuote(
                symbol=s,
                spot=Decimal("500"),
                bid=None,
                ask=None,
                last=None,
                provider_timestamp=AS_OF,
                receive_timestamp=AS_OF,
            )
            for s in ("IWM", "QQQ", "SPY")
        ),
        options=options,
        overrides=MarketOverrides(rate=0.04),
    )


def test_option_table_with_quotes_round_trips_every_field_and_the_snapshot_hash() -> None:
    quotes = _quotes(300)
    table = OptionTable.from_quotes(quotes)
    assert len(table) == 300
    assert list(table) == quotes
    assert table == tuple(quotes)
    assert table[5] == quotes[5]
    assert table[-1] == quotes[-1]
    assert list(table[10:20]) == quotes[10:20]
    assert list(table[::7]) == quotes[::7]
    assert table[3].provider_timestamp.tzinfo is UTC
    # the hash is the domain's, whether the quotes are a tuple or a table
    assert _snapshot(table).snapshot_hash == _snapshot(tuple(quotes)).snapshot_hash
    assert pickle.loads(pickle.dumps(table)) == table


def test_option_table_find_with_key_or_identity_matches_the_tuple_lookup() -> None:
    quotes = _quotes(120)
    by_table = _snapshot(OptionTable.from_quotes(quotes))
    by_tuple = _snapshot(tuple(quotes))
    for quote in quotes[::9]:
        contract = quote.contract
        assert by_table.option_quote(contract) == by_tuple.option_quote(contract) == quote
        # the same listing built from an OCC symbol (style unknown) falls back to the key
        loose = OptionContract(
            underlying=contract.underlying,
            expiry=contract.expiry,
            strike=contract.strike.quantize(Decimal("0.0001")),
            right=contract.right,
            style=ExerciseStyle.UNKNOWN,
            settlement=contract.settlement,
            multiplier=contract.multiplier,
        )
        assert by_table.option_quote(loose) == by_tuple.option_quote(loose) == quote
    missing = OptionContract("SPY", date(2030, 1, 18), Decimal("1.5"), OptionRight.CALL)
    assert by_table.option_quote(missing) is None


def test_option_table_with_a_strike_quoted_twice_refuses_the_duplicate() -> None:
    quotes = _quotes(10)
    twin = OptionQuote(
        contract=OptionContract(
            underlying=quotes[4].contract.underlying,
            expiry=quotes[4].contract.expiry,
            strike=quotes[4].contract.strike.quantize(Decimal("0.001")),  # 530.5 == 530.500
            right=quotes[4].contract.right,
            style=quotes[4].contract.style,
            settlement=quotes[4].contract.settlement,
            multiplier=quotes[4].contract.multiplier,
        ),
        bid=None,
        ask=None,
        mark=Decimal(1),
        iv=None,
        provider_timestamp=AS_OF,
        receive_timestamp=AS_OF,
    )
    with pytest.raises(ValueError, match="duplicate option quote in snapshot for contract"):
        OptionTable.from_quotes([*quotes, twin])


def _arrow(quotes: list[OptionQuote]) -> pa.Table:
    return OptionTable.from_quotes(quotes).arrow


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("strike", Decimal(0), "must be > 0"),
        ("multiplier", 0, r"must be a whole number in \[1, "),
        ("iv", float("nan"), "must be finite"),
        ("iv", float("inf"), "must be finite"),
        ("volume", -1, "must be >= 0"),
        ("open_interest", -5, "must be >= 0"),
        ("right", "X", "must be one of C, P"),
        ("style", "BERMUDAN", "must be one of AMERICAN"),
        ("settlement", "XX", "must be one of PM, AM"),
    ],
)
def test_option_table_with_a_bad_cell_refuses_naming_row_column_and_rule(
    column: str, value: Any, reason: str
) -> None:
    table = _arrow(_quotes(8))
    index = table.schema.get_field_index(column)
    values = table.column(column).to_pylist()
    values[6] = value
    bad = table.set_column(
        index, OPTION_SCHEMA.field(column), pa.array(values, table.schema.field(column).type)
    )
    with pytest.raises(ValueError, match=reason) as caught:
        OptionTable.from_arrow(bad)
    assert "option row 6" in str(caught.value)
    assert column in str(caught.value)


def test_option_table_with_wrong_types_or_missing_values_refuses_them() -> None:
    table = _arrow(_quotes(4))
    as_float = table.set_column(
        table.schema.get_field_index("strike"),
        "strike",
        pc.cast(table.column("strike"), pa.float64()),
    )
    with pytest.raises(ValueError, match="strike must be decimal128"):
        OptionTable.from_arrow(as_float)
    nulls = table.set_column(
        table.schema.get_field_index("expiry"),
        pa.field("expiry", pa.date32()),
        pa.array([date(2024, 6, 21), None, date(2024, 6, 21), date(2024, 6, 21)], pa.date32()),
    )
    with pytest.raises(ValueError, match=r"expiry has a missing value \(option row 1\)"):
        OptionTable.from_arrow(nulls)
    with pytest.raises(ValueError, match="missing \\['iv'\\]"):
        OptionTable.from_arrow(table.drop_columns(["iv"]))
    blank = table.set_column(0, "underlying", pa.array(["SPY", " ", "SPY", "SPY"]))
    with pytest.raises(ValueError, match="option row 1: the underlying must be a non-empty"):
        OptionTable.from_arrow(blank)


def test_option_table_from_quotes_with_an_amount_beyond_numeric_20_8_refuses_it() -> None:
    quote = _quotes(1)[0]
    # an OptionQuote already refuses this; build one past its checks to see the table refuse too
    bad = object.__new__(OptionQuote)
    for name in OptionQuote.__slots__:
        object.__setattr__(bad, name, getattr(quote, name))
    object.__setattr__(bad, "bid", Decimal("1.123456789"))
    with pytest.raises((ValueError, pa.ArrowInvalid)):
        OptionTable.from_quotes([bad])


def test_option_table_for_underlying_keeps_only_that_symbol_in_order() -> None:
    quotes = _quotes(30)
    table = OptionTable.from_quotes(quotes)
    assert table.underlyings() == ["IWM", "QQQ", "SPY"]
    assert list(table.for_underlying("QQQ")) == [
        q for q in quotes if q.contract.underlying == "QQQ"
    ]
    assert len(table.for_underlying("TSLA")) == 0
