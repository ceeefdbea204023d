"""Test data shared by the snapshot store tests: a small OptionTable with edge values."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pyarrow as pa

from riskdesk.domain.market import MarketSnapshot, SnapshotMode, UnderlyingQuote
from riskdesk.domain.option_table import OPTION_SCHEMA, OptionTable

AS_OF = datetime(2026, 3, 2, 21, 0, tzinfo=UTC)


def option_table(strikes: list[str], *, bid_of_first: str | None = "0.00000001") -> OptionTable:
    n = len(strikes)
    columns = {
        "underlying": ["ZZ"] * (n - 1) + ["AAA"],
        "expiry": [date(2026, 6, 19)] * n,
        "strike": [Decimal(s) for s in strikes],
        "right": ["P" if i % 2 else "C" for i in range(n)],
        "style": ["EUROPEAN"] * n,
        "settlement": ["AM" if i == 1 else "PM" for i in range(n)],
        "multiplier": [10 if i == 2 else 100 for i in range(n)],
        "currency": ["USD"] * n,
        "bid": [None if bid_of_first is None else Decimal(bid_of_first)]
        + [Decimal("1.25")] * (n - 1),
        "ask": [Decimal("123456789012.5")] + [Decimal("1.3")] * (n - 1),
        "mark": [None] * n,
        "iv": [None, 0.1, 1e-5] + [0.2345] * (n - 3),
        "volume": [None, *range(1, n)],
        "open_interest": [7] * n,
        "provider_timestamp": [datetime(2026, 3, 2, 20, 59, 1, 123456, tzinfo=UTC)] * n,
        "receive_timestamp": [AS_OF] * n,
    }
    arrays = [pa.array(columns[f.name], f.type) for f in OPTION_SCHEMA]
    return OptionTable.from_arrow(pa.Table.from_arrays(arrays, schema=OPTION_SCHEMA))


def snapshot_of(options: OptionTable, source: str = "test") -> MarketSnapshot:
    underlyings = tuple(
        UnderlyingQuote(
            symbol=s,
            spot=Decimal("100"),
            bid=None,
            ask=None,
            last=None,
            provider_timestamp=AS_OF,
            receive_timestamp=AS_OF,
        )
        for s in ("AAA", "ZZ")
    )
    return MarketSnapshot(
        as_of=AS_OF, mode=SnapshotMode.LIVE, source=source, underlyings=underlyings, options=options
    )
