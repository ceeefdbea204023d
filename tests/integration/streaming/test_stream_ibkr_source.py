"""IbkrSource (ib_async in a private loop) against the fake TWS on loopback.

Every check counts against the fake's sent log: the computations received for a contract are
the ones it sent for that contract, in order, none twice.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from ib_async import IB
from source_support import (
    CollectingSink,
    closed_port,
    drop_twice_then_reconnect,
    running,
    tiny_backoff,
)

from riskdesk.adapters.ibkr.client import IbkrSource, _Attempt, parse_tws_url
from riskdesk.adapters.ibkr.fake import FakeTwsBroker
from riskdesk.streaming.normalize import GreeksTick, Normalizer
from riskdesk.streaming.session import StreamSession
from riskdesk.streaming.source import SourceSink, TickSource

ACCOUNT = "DU000001"
FIELDS = ("impliedVol", "delta", "optPrice", "pvDividend", "gamma", "vega", "theta", "undPrice")


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[FakeTwsBroker]:
    fake = FakeTwsBroker(rate=1500, seed=3, account=ACCOUNT, sent_log=tmp_path / "sent.jsonl")
    fake.start()
    yield fake
    fake.stop()


def _source(broker: FakeTwsBroker, **kwargs: Any) -> IbkrSource:
    host, port = parse_tws_url(broker.address)
    options: dict[str, Any] = {"account": ACCOUNT, "backoff": tiny_backoff(), "client_id": 9}
    options.update(kwargs)
    return IbkrSource(host, port, **options)


def _sent(broker: FakeTwsBroker) -> list[dict[str, Any]]:
    assert broker.sent_log is not None
    return [json.loads(line) for line in broker.sent_log.read_text().splitlines()]


def _key(con_id: object, values: dict[str, Any]) -> tuple[Any, ...]:
    return (con_id, *(values[f] for f in FIELDS))


def _received(ticks: list[GreeksTick]) -> list[tuple[Any, ...]]:
    return [_key(t.raw["conId"], dict(t.raw)) for t in ticks]


def test_ibkr_source_with_fake_tws_delivers_positions_and_logged_greeks_in_order(
    broker: FakeTwsBroker,
) -> None:
    sink = CollectingSink()
    source = _source(broker)
    assert isinstance(source, TickSource)
    assert isinstance(sink, SourceSink)
    with running(source, sink) as stop_seconds:
        sink.wait_for("600 Greeks ticks", lambda s: len(s.ticks) >= 600)
    assert stop_seconds[0] < 2.0
    sent = _sent(broker)
    by_con_id = {p.con_id: p for p in broker.positions}
    for con_id, position in by_con_id.items():
        sent_values = [_key(con_id, r["values"]) for r in sent if r["conId"] == con_id]
        got = [k for k in _received(sink.ticks) if k[0] == con_id]
        assert got, f"no computation of {position.key} arrived"
        assert got == sent_values[: len(got)], f"{position.key}: received != sent, in order"
    wire_of = {_key(r["conId"], r["values"]): r["values"] for r in sent}

    def expected(value: Any, unset: float) -> float | None:
        """TWS's wire number as the tick should carry it (its "not computed" values: None)."""
        if value is None or value == "" or value == unset or abs(float(value)) >= 1e300:
            return None
        return float(value)

    for tick in sink.ticks:
        wire = wire_of[_key(tick.raw["conId"], dict(tick.raw))]
        assert (tick.delta, tick.gamma, tick.vega, tick.theta) == tuple(
            expected(wire[name], -2.0) for name in ("delta", "gamma", "vega", "theta")
        ), wire
        assert tick.implied_volatility == expected(wire["impliedVol"], -1.0), wire
        assert tick.underlying_price == expected(wire["undPrice"], -1.0), wire
        assert tick.rho is None  # TWS computes no rho
        position = by_con_id[int(tick.raw["conId"])]
        assert (tick.broker, tick.account_id, tick.symbol) == ("ibkr", ACCOUNT, position.key)
        assert tick.raw["localSymbol"] == position.occ_symbol
        assert tick.event_time >= tick.received_at
        assert tick.received_at.tzinfo is not None
    for key in {t.symbol for t in sink.ticks}:
        times = [t.event_time for t in sink.ticks if t.symbol == key]
        assert times == sorted(times)
        assert len(set(times)) == len(times)
    assert {p.symbol: p.quantity for p in sink.positions} == {
        p.key: Decimal(p.quantity) for p in broker.positions
    }
    assert all(p.broker == "ibkr" and p.account_id == ACCOUNT for p in sink.positions)
    names = [step.status for step, _, _ in sink.statuses]
    assert names[:2] == ["connecting", "connected"]
    assert names[-1] == "disconnected"
    assert sink.rejections == []


def test_ibkr_source_with_late_partial_and_empty_greeks_keeps_partial_and_rejects_empty(
    broker: FakeTwsBroker,
) -> None:
    sink = CollectingSink()
    keys = {p.key for p in broker.positions}
    with running(_source(broker), sink):
        sink.wait_for(
            "400 Greeks ticks of every contract, late ones included",
            lambda s: len(s.ticks) >= 400 and {t.symbol for t in s.ticks} == keys,
        )
    variants = {
        _key(r["conId"], r["values"]): r["variant"] for r in _sent(broker)
    }  # values identify a computation (they move with every step)
    kinds = Counter(variants[k] for k in _received(sink.ticks))
    assert kinds["partial"] > 0
    assert kinds["empty"] > 0
    assert kinds["full"] > 0
    normalizer = Normalizer()
    results = [normalizer.normalize(t) for t in sink.ticks]
    assert normalizer.rejected == {"no_greeks": kinds["empty"]}
    assert normalizer.accepted == kinds["full"] + kinds["partial"]
    partial = [
        r.record
        for r, k in zip(results, _received(sink.ticks), strict=True)
        if variants[k] == "partial"
    ]
    assert all(r is not None and r.delta is not None for r in partial)
    assert any(r is not None and (r.gamma is None or r.vega is None) for r in partial)
    # late contracts: their first computation comes late_s after the subscription
    connected_at = next(t for step, _, t in sink.statuses if step.status == "connected")
    late = {p.key for p in broker.positions if p.late}
    assert late
    for key in late:
        first = next(
            at for tick, at in zip(sink.ticks, sink.tick_times, strict=True) if tick.symbol == key
        )
        assert first - connected_at >= broker.late_s * 0.8
    prompt = next(at for tick, at in zip(sink.ticks, sink.tick_times, strict=True))
    assert prompt - connected_at < broker.late_s


def _every_contract_since(mark: int, keys: set[str]) -> Callable[[CollectingSink], bool]:
    return lambda sink: {t.symbol for t in sink.ticks[mark:]} == keys


def test_ibkr_source_with_dropped_connections_reconnects_and_resubscribes(
    broker: FakeTwsBroker,
) -> None:
    sink = CollectingSink()
    keys = {p.key for p in broker.positions}
    with running(_source(broker), sink):
        drop_twice_then_reconnect(
            sink,
            broker.drop_connections,
            lambda mark: _every_contract_since(mark, keys),
            "contract",
        )
        mark = len(sink.ticks)
        sink.wait_for(
            "ticks of every contract after the second reconnect",
            lambda s: {t.symbol for t in s.ticks[mark:]} == keys,
        )
    assert broker.connection_count == 3
    errors = sink.errors()
    assert len(errors) == 2
    assert all(e.startswith("connection closed by TWS") for e in errors), errors
    assert source_subscriptions_cover(sink, keys)
    received = Counter(_received(sink.ticks))
    sent = Counter(_key(r["conId"], r["values"]) for r in _sent(broker))
    assert not received - sent, "a received computation is not in the broker's sent log"
    assert max(received.values()) == 1, "a computation was delivered twice"


def source_subscriptions_cover(sink: CollectingSink, keys: set[str]) -> bool:
    """Every contract kept a position across the reconnects (none closed by a resync)."""
    return {p.symbol for p in sink.positions if p.quantity != 0} == keys and all(
        p.quantity != 0 for p in sink.positions
    )


def test_ibkr_source_with_closed_port_keeps_retrying_with_backoff_and_stops_promptly() -> None:
    sink = CollectingSink()
    source = IbkrSource(
        "127.0.0.1", closed_port(), account=ACCOUNT, backoff=tiny_backoff(), timeout_s=1.0
    )
    with running(source, sink) as stop_seconds:
        sink.wait_for("three failed attempts", lambda s: s.count("disconnected") >= 3)
    assert stop_seconds[0] < 2.0
    errors = sink.errors()
    assert errors
    assert all("refused the connection" in e for e in errors), errors
    delays = [step.retry_delay for step, error, _ in sink.statuses if error]
    assert all(d is not None and 0 <= d <= 0.05 for d in delays)
    assert sink.ticks == []


def test_ibkr_source_with_unmanaged_account_reports_a_clear_error_and_retries(
    broker: FakeTwsBroker,
) -> None:
    sink = CollectingSink()
    with running(_source(broker, account="U9999999"), sink):
        sink.wait_for("two refused attempts", lambda s: s.count("disconnected") >= 2)
    errors = sink.errors()
    assert errors
    assert all("account 'U9999999' is not managed" in e and ACCOUNT in e for e in errors)
    assert sink.ticks == []
    assert sink.positions == []


def test_parse_tws_url_with_bad_address_raises_naming_the_form() -> None:
    assert parse_tws_url("tws://127.0.0.1:7497") == ("127.0.0.1", 7497)
    with pytest.raises(ValueError, match="tws://HOST:PORT"):
        parse_tws_url("tws://127.0.0.1")


def test_ibkr_source_with_malformed_or_unknown_computation_rejects_it() -> None:
    sink = CollectingSink()
    source = IbkrSource("127.0.0.1", 1, account=ACCOUNT)

    async def scenario() -> list[bool]:
        session = StreamSession("ibkr", account_id=ACCOUNT, backoff=tiny_backoff())
        loop = asyncio.get_running_loop()
        state = _Attempt(ib=IB(), session=session, sink=sink, loop=loop, last_message=0.0)
        return [
            source._on_computation(state, ["21", "5", "13"]),
            source._on_computation(state, ["21", "5", "13", "0", *["oops"] * 8]),
            source._on_computation(state, ["21", "77", "13", "0", *["0.1"] * 8]),
            source._on_computation(state, ["21", "77", "10", "0", *["0.1"] * 8]),
        ]

    decoded = asyncio.run(scenario())
    assert decoded == [False, False, True, True]
    assert [reason for reason, _ in sink.rejections] == [
        "malformed",
        "malformed",
        "unknown_request",
    ]
    assert "expected 12 fields, got 3" in sink.rejections[0][1]
    assert "impliedVol: 'oops' is not a number" in sink.rejections[1][1]
    assert sink.ticks == []  # the bid computation (tick type 10) is not a model tick
