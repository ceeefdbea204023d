"""Rebuild the Parquet fixtures of this folder: ``python tests/data/market/build_parquet_fixtures.py``.

``options_typed.parquet`` has typed columns (date32 expiration, float64 prices, UTC timestamps)
and deliberately bad rows; ``options_text_strike.parquet`` stores the strike as text, so that a
strike "abc" must be a row error, never NaN. Row numbers of the bad rows are asserted in
``tests/unit/adapters/test_files_chains.py``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

HERE = Path(__file__).parent
STAMP = datetime(2024, 6, 3, 19, 44, tzinfo=UTC)
NAN = float("nan")


def build() -> None:
    """Write both fixtures next to this script."""
    rows = [
        # underlying, expiration, strike, option_type, bid, ask, iv, quote_time
        ("SPY", date(2024, 6, 21), 530.0, "C", 2.10, 2.14, 0.1234, STAMP),  # 1 good
        ("SPY", date(2024, 6, 21), 530.0, "P", 4.50, 4.55, 0.1350, STAMP),  # 2 good
        ("SPY", date(2024, 6, 21), -5.0, "C", 1.00, 1.10, None, STAMP),  # 3 strike <= 0
        ("SPY", date(2024, 6, 21), 535.0, "C", 1.20, 1.10, None, STAMP),  # 4 ask < bid
        ("SPY", date(2024, 6, 21), 540.0, "C", -0.05, 0.10, None, STAMP),  # 5 negative price
        ("SPY", date(2024, 5, 31), 540.0, "P", 1.00, 1.10, None, STAMP),  # 6 expired
        ("SPY", date(2024, 6, 21), 545.0, "Q", 1.00, 1.10, None, STAMP),  # 7 option_type
        ("SPY", date(2024, 6, 21), None, "C", 1.00, 1.10, None, STAMP),  # 8 missing strike
        ("QQQ", date(2024, 6, 7), 450.0, "P", NAN, NAN, None, None),  # 9 good, no quote
        ("QQQ", date(2024, 6, 7), 455.0, "C", 0.0, 0.05, None, None),  # 10 good, zero bid
    ]
    names = ["underlying", "expiration", "strike", "option_type", "bid", "ask", "iv", "quote_time"]
    types = [
        pa.string(),
        pa.date32(),
        pa.float64(),
        pa.string(),
        pa.float64(),
        pa.float64(),
        pa.float64(),
        pa.timestamp("us", tz="UTC"),
    ]
    columns = [pa.array([r[i] for r in rows], type=t) for i, t in enumerate(types)]
    pq.write_table(pa.Table.from_arrays(columns, names=names), HERE / "options_typed.parquet")

    text = pa.table(
        {
            "underlying": ["SPY", "SPY", "SPY"],
            "expiration": ["2024-06-21", "2024-06-21", "20240621"],
            "strike": ["530", "abc", "540.5"],
            "option_type": ["C", "C", "put"],
            "bid": [2.10, 1.00, 9.80],
            "ask": [2.14, 1.10, 9.90],
        }
    )
    pq.write_table(text, HERE / "options_text_strike.parquet")


if __name__ == "__main__":
    build()
