"""The demo's streaming job: Greeks from a fake tastytrade broker, stored, then read back.

:func:`run_stream_demo` starts a :class:`~riskdesk.adapters.tastytrade.fake.FakeDxlinkBroker`
on ``127.0.0.1`` (any free port, in this process), points the real DXLink client
(:class:`~riskdesk.adapters.tastytrade.client.DxlinkSource`) at it and runs the
:class:`~riskdesk.streaming.ingest.Ingestor` into the demo's database (journal in a temporary
directory) for a few seconds; then stops and drains (every received record is stored before it
returns), stops the broker and reads the stored history back through
:class:`~riskdesk.streaming.queries.GreeksQueries`, one contract at a time, oldest first.

What it returns (:class:`StreamDemo`, JSON-ready with :meth:`StreamDemo.to_dict`) is what
``riskdesk demo`` prints and charts: per position (contract key, OCC symbol, signed quantity)
the time series of delta, gamma, theta, vega, implied volatility and underlying price, and the
counts -- events the fake sent (all, and Greeks only), ticks received, journaled, persisted,
deduplicated and rejected, and the tick-to-durable latency percentiles.

Units are the stored ones: vega per vol point, theta per calendar day, implied volatility a
decimal fraction (0.25 = 25%), underlying price the mid of the underlying's quote.
"""

from __future__ import annotations

import json
import math
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

from riskdesk.adapters.tastytrade.client import BROKER, DxlinkSource
from riskdesk.adapters.tastytrade.fake import FakeDxlinkBroker
from riskdesk.domain.instruments import OptionContract, OptionRight, Settlement
from riskdesk.domain.occ import format_occ
from riskdesk.store.database import Database
from riskdesk.store.types import utc_now
from riskdesk.streaming.ingest import Ingestor
from riskdesk.streaming.queries import GreekFilter, GreeksQueries, GreekView
from riskdesk.streaming.records import parse_contract_key

__all__ = [
    "DEMO_ACCOUNT",
    "DEMO_RATE",
    "DEMO_SECONDS",
    "SERIES",
    "PositionSeries",
    "StreamDemo",
    "run_stream_demo",
]

DEMO_ACCOUNT: Final = "5WT00001"
"""The fake broker's account the demo streams."""

DEMO_SECONDS: Final = 3.0
"""Seconds the demo streams by default."""

DEMO_RATE: Final = 300.0
"""Events per second the fake broker sends by default (Greeks and quotes together)."""

SERIES: Final[tuple[str, ...]] = (
    "delta",
    "gamma",
    "theta",
    "vega",
    "implied_volatility",
    "underlying_price",
)
"""The series kept per position, in chart order."""

_MAX_SECONDS: Final = 60.0
_PAGE: Final = 1000


@dataclass(frozen=True, slots=True)
class PositionSeries:
    """The stored history of one position's contract, oldest first.

    ``times`` are event times (ISO-8601 UTC); each :data:`SERIES` name maps to one value per
    time (None where the event carried no value, e.g. no underlying quote yet).
    """

    contract_key: str
    occ_symbol: str
    underlying: str
    quantity: Decimal | None
    times: tuple[str, ...]
    values: dict[str, tuple[float | None, ...]]

    def to_dict(self) -> dict[str, Any]:
        """JSON types: quantity as a decimal string, series as lists of numbers or null."""
        return {
            "contract_key": self.contract_key,
            "occ_symbol": self.occ_symbol,
            "underlying": self.underlying,
            "quantity": None if self.quantity is None else format(self.quantity, "f"),
            "points": len(self.times),
            "times": list(self.times),
            **{name: list(self.values[name]) for name in SERIES},
        }


@dataclass(frozen=True, slots=True)
class StreamDemo:
    """What one streaming demo run stored and counted (see the module docstring)."""

    broker: str
    account_id: str
    seed: int
    seconds: float
    rate: float
    started_at: datetime
    stopped_at: datetime
    positions: tuple[PositionSeries, ...]
    counts: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON types only (times ISO-8601 UTC)."""
        return {
            "broker": self.broker,
            "account_id": self.account_id,
            "seed": self.seed,
            "seconds": self.seconds,
            "rate": self.rate,
            "started_at": self.started_at.isoformat(),
            "stopped_at": self.stopped_at.isoformat(),
            "counts": dict(self.counts),
            "positions": [p.to_dict() for p in self.positions],
        }


def _check_positive(name: str, value: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a number, got {type(value).__name__} {value!r}")
    if not math.isfinite(value) or not 0 < value <= high:
        raise ValueError(f"{name} must be a number in (0, {high:g}], got {value!r}")
    return float(value)


def _sent_greeks(sent_log: Path) -> int:
    """Greeks events in the fake's sent log (one JSON line per sent event)."""
    if not sent_log.exists():
        return 0
    count = 0
    with sent_log.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip() and json.loads(line).get("type") == "Greeks":
                count += 1
    return count


def _history(queries: GreeksQueries, where: GreekFilter) -> list[GreekView]:
    """Every stored event matching ``where``, oldest first (all pages)."""
    rows: list[GreekView] = []
    page = queries.history(where, limit=_PAGE)
    rows.extend(page.items)
    while page.next_key is not None:
        page = queries.history(where, after=page.next_key, limit=_PAGE)
        rows.extend(page.items)
    rows.sort(key=lambda r: (r.event_time, r.received_at))
    return rows


def _series(rows: list[GreekView], contract_key: str) -> PositionSeries:
    contract = parse_contract_key(contract_key)
    values = {name: tuple(getattr(row, name) for row in rows) for name in SERIES}
    quantity = rows[-1].quantity if rows else None
    return PositionSeries(
        contract_key=contract_key,
        occ_symbol=format_occ(
            OptionContract(
                underlying=contract.underlying,
                expiry=contract.expiry,
                strike=contract.strike,
                right=OptionRight(contract.right),
                settlement=Settlement(contract.settlement),
                multiplier=contract.multiplier,
            )
        ),
        underlying=contract.underlying,
        quantity=quantity,
        times=tuple(row.event_time.isoformat() for row in rows),
        values=values,
    )


def run_stream_demo(
    db: Database,
    *,
    seed: int,
    seconds: float = DEMO_SECONDS,
    rate: float = DEMO_RATE,
) -> StreamDemo:
    """Stream Greeks from a fake tastytrade broker into ``db`` and read the history back.

    Parameters
    ----------
    db : Database
        The migrated database the records go to (the demo's).
    seed : int
        Seed of the fake broker's synthetic book and spot paths.
    seconds : float
        How long the stream runs (at most 60 s).
    rate : float
        Events per second the fake sends, Greeks and quotes together (at most 5,000).

    Returns
    -------
    StreamDemo
        Per position the stored time series, and the counts.

    Raises
    ------
    ValueError
        For ``seconds`` or ``rate`` out of range.
    RuntimeError
        When the ingest did not drain (the database refused the records).

    """
    seconds = _check_positive("seconds", seconds, _MAX_SECONDS)
    rate = _check_positive("rate", rate, 5000.0)
    with tempfile.TemporaryDirectory(prefix="riskdesk-stream-demo-") as tmp:
        work = Path(tmp)
        sent_log = work / "sent.jsonl"
        broker = FakeDxlinkBroker(rate=rate, seed=seed, account=DEMO_ACCOUNT, sent_log=sent_log)
        started_at = utc_now()
        url = broker.start()
        try:
            source = DxlinkSource(
                url, account=DEMO_ACCOUNT, credentials=("demo", "demo"), timeout_s=5.0
            )
            ingestor = Ingestor(
                db, journal_dir=work / "journal", sources=[source], status_interval=0.5
            )
            ingestor.start()
            try:
                time.sleep(seconds)
            finally:
                drained = ingestor.stop()
        finally:
            broker.stop()
        stopped_at = utc_now()
        sent_all = broker.sent_count
        sent_greeks = _sent_greeks(sent_log)
    if not drained:
        raise RuntimeError(
            "the streaming demo did not store every received record (the database did not "
            "take them in time); run `riskdesk stream start` to replay the journal"
        )
    status = ingestor.status()
    session = status["sessions"][0]
    metrics = session["metrics"]
    latency = metrics["tick_to_durable_ms"]
    counts: dict[str, Any] = {
        "sent": sent_all,
        "sent_greeks": sent_greeks,
        "received": metrics["received"],
        "journaled": metrics["journaled"],
        "persisted": metrics["persisted"],
        "deduped": metrics["deduped"],
        "rejected": metrics["rejected_total"],
        "rejected_by_reason": metrics["rejected"],
        "in_flight_at_stop": max(0, sent_greeks - int(metrics["received"])),
        "p50_tick_to_durable_ms": latency["p50"],
        "p95_tick_to_durable_ms": latency["p95"],
        "p99_tick_to_durable_ms": latency["p99"],
        "reconnects": session["disconnects"],
    }
    # this run's events only (the demo's database may hold earlier runs')
    window_start, window_end = started_at, stopped_at + timedelta(seconds=1)
    queries = GreeksQueries(db)
    account = GreekFilter(
        broker=BROKER, account_id=DEMO_ACCOUNT, start=window_start, end=window_end
    )
    latest = queries.latest(account)
    positions = []
    for view in latest.items:
        where = GreekFilter(
            broker=BROKER,
            account_id=DEMO_ACCOUNT,
            contract_key=view.contract_key,
            start=window_start,
            end=window_end,
        )
        positions.append(_series(_history(queries, where), view.contract_key))
    positions.sort(key=lambda p: (p.underlying, p.contract_key))
    return StreamDemo(
        broker=BROKER,
        account_id=DEMO_ACCOUNT,
        seed=seed,
        seconds=seconds,
        rate=rate,
        started_at=started_at,
        stopped_at=stopped_at,
        positions=tuple(positions),
        counts=counts,
    )
