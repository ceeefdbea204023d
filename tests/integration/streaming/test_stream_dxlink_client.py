"""DxlinkSource (our DXLink client) against the fake tastytrade broker on loopback.

Every check counts against the fake's sent log: a received Greeks event must be a line of it
(by symbol and eventTime), and none may arrive twice.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from source_support import (
    CollectingSink,
    at_least,
    closed_port,
    drop_twice_then_reconnect,
    running,
    tiny_backoff,
)

from riskdesk.adapters.tastytrade.client import REJECT_MALFORMED, DxlinkSource
from riskdesk.adapters.tastytrade.fake import FakeDxlinkBroker
from riskdesk.adapters.tastytrade.parsing import FeedDataMessage, FeedFields
from riskdesk.secrets import TokenCache, open_secret_store
from riskdesk.streaming.normalize import GreeksTick
from riskdesk.streaming.source import SourceSink, TickSource

ACCOUNT = "5WT00001"


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[FakeDxlinkBroker]:
    fake = FakeDxlinkBroker(rate=2000, seed=3, sent_log=tmp_path / "sent.jsonl", account=ACCOUNT)
    fake.start()
    yield fake
    fake.stop()


def _sent_greeks(log: Path) -> set[tuple[str, int]]:
    sent: set[tuple[str, int]] = set()
    for line in log.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        if record["type"] == "Greeks":
            sent.add((record["symbol"], record["eventTime"]))
    return sent


def _received_keys(ticks: list[GreeksTick]) -> list[tuple[str, int]]:
    return [(str(t.raw["eventSymbol"]), int(t.raw["eventTime"])) for t in ticks]


def _source(broker: FakeDxlinkBroker, **kwargs: object) -> DxlinkSource:
    options: dict[str, object] = {
        "account": ACCOUNT,
        "credentials": ("trader", "secret"),
        "backoff": tiny_backoff(),
    }
    options.update(kwargs)
    return DxlinkSource(broker.url, **options)  # type: ignore[arg-type]


def test_dxlink_source_with_fake_broker_delivers_positions_and_logged_greeks(
    broker: FakeDxlinkBroker,
) -> None:
    sink = CollectingSink()
    source = _source(broker)
    assert isinstance(source, TickSource)
    assert isinstance(sink, SourceSink)
    with running(source, sink) as stop_seconds:
        sink.wait_for("600 Greeks ticks", lambda s: len(s.ticks) >= 600)
    assert stop_seconds[0] < 2.0
    assert broker.sent_log is not None
    sent = _sent_greeks(broker.sent_log)
    received = _received_keys(sink.ticks)
    assert len(received) == len(set(received)), "a Greeks event was delivered twice"
    assert set(received) <= sent, "a delivered Greeks event is not in the broker's sent log"
    by_streamer = {p.streamer_symbol: p for p in broker.positions}
    assert {key[0] for key in received} == set(by_streamer)
    for tick in sink.ticks:
        position = by_streamer[str(tick.raw["eventSymbol"])]
        assert tick.broker == "tastytrade"
        assert tick.account_id == ACCOUNT
        assert tick.symbol == position.occ_symbol
        assert tick.event_time == datetime.fromtimestamp(0, UTC) + timedelta(
            milliseconds=int(tick.raw["eventTime"])
        )
        assert tick.received_at.tzinfo is not None
        assert tick.implied_volatility == tick.raw["volatility"]
        assert tick.delta == tick.raw["delta"]
    assert any(t.underlying_price is not None for t in sink.ticks)
    positions = {p.symbol: p.quantity for p in sink.positions}
    assert positions == {p.occ_symbol: Decimal(p.quantity) for p in broker.positions}
    assert all(p.broker == "tastytrade" and p.account_id == ACCOUNT for p in sink.positions)
    names = sink.status_names()
    assert names[:2] == ["connecting", "connected"]
    assert names[-1] == "disconnected"
    assert sink.rejections == []


def _every_symbol_since(mark: int, symbols: set[str]) -> Callable[[CollectingSink], bool]:
    return lambda sink: {str(t.raw["eventSymbol"]) for t in sink.ticks[mark:]} == symbols


def test_dxlink_source_with_dropped_connections_reconnects_and_resubscribes(
    broker: FakeDxlinkBroker,
) -> None:
    sink = CollectingSink()
    source = _source(broker)
    option_symbols = {p.streamer_symbol for p in broker.positions}
    with running(source, sink):
        drop_twice_then_reconnect(
            sink,
            broker.drop_connections,
            lambda mark: _every_symbol_since(mark, option_symbols),
            "option",
        )
        mark = len(sink.ticks)
        sink.wait_for(
            "ticks of every option after the second reconnect",
            lambda s: {str(t.raw["eventSymbol"]) for t in s.ticks[mark:]} == option_symbols,
        )
    names = sink.status_names()
    transitions = ["disconnected", "connecting", "connected"]
    runs = [i for i in range(len(names) - 2) if names[i : i + 3] == transitions]
    assert len(runs) == 2, names
    errors = [error for step, error, _ in sink.statuses if step.status == "disconnected" and error]
    assert all("closed by the server (code 1012" in e for e in errors[:2]), errors
    assert source.session is not None
    assert set(source.session.subscriptions) >= option_symbols
    assert broker.sent_log is not None
    received = _received_keys(sink.ticks)
    assert len(received) == len(set(received)), "a Greeks event was delivered twice"
    assert set(received) <= _sent_greeks(broker.sent_log)


def _ticks_since(mark: int, count: int) -> Callable[[CollectingSink], bool]:
    return lambda sink: len(sink.ticks) >= mark + count


def test_dxlink_source_with_token_cache_reuses_the_session_token_until_it_is_refused(
    broker: FakeDxlinkBroker, tmp_path: Path
) -> None:
    store = open_secret_store(
        backend="file", path=tmp_path / "secrets.enc", key_file=tmp_path / "k" / "secrets.key"
    )
    cache = TokenCache(store, "tastytrade", "desk")
    logins: list[int] = []

    def credentials() -> tuple[str, str]:
        logins.append(1)
        return ("trader", "secret")

    sink = CollectingSink()
    with running(_source(broker, credentials=credentials, token_cache=cache), sink):
        sink.wait_for("a connection", at_least("connected", 1))
        token = cache.load()
        for drop in range(1, 3):  # reconnects reuse the cached token
            sink.wait_for(f"ticks on connection {drop}", _ticks_since(len(sink.ticks), 5))
            assert broker.drop_connections() == 1
            sink.wait_for(f"reconnection {drop}", at_least("connected", drop + 1))
        reused = (broker.login_count, len(logins), cache.load())
        broker.revoke_tokens()  # the next connection's token is refused: one fresh login
        sink.wait_for("ticks on connection 3", _ticks_since(len(sink.ticks), 5))
        assert broker.drop_connections() == 1
        sink.wait_for("reconnection after the revocation", at_least("connected", 4))
    # a restarted source (a new process) starts from the cached token too
    restarted = CollectingSink()
    with running(_source(broker, credentials=credentials, token_cache=cache), restarted):
        restarted.wait_for("a connection after the restart", at_least("connected", 1))

    assert token is not None
    assert reused == (1, 1, token)
    assert (broker.login_count, len(logins)) == (2, 2)
    assert cache.load() not in (None, token)
    assert token.encode() not in (tmp_path / "secrets.enc").read_bytes()
    assert not [error for _step, error, _ in sink.statuses if error and "refused" in error]


def test_dxlink_source_with_refused_login_reports_errors_and_retries_with_backoff(
    broker: FakeDxlinkBroker,
) -> None:
    calls: list[int] = []

    def credentials() -> tuple[str, str]:
        calls.append(1)
        return ("trader", "" if len(calls) <= 3 else "secret")  # empty password: HTTP 401

    sink = CollectingSink()
    source = _source(broker, credentials=credentials)
    with running(source, sink):
        sink.wait_for("a connection after the refusals", lambda s: s.count("connected") >= 1)
        sink.wait_for("ticks", lambda s: len(s.ticks) >= 10)
    errors = sink.errors()
    assert len(errors) == 3, errors
    assert all("POST /sessions) refused: HTTP 401" in e for e in errors)
    assert all("secret" not in e for e in errors)
    names = sink.status_names()
    assert names[:7] == ["connecting", "disconnected"] * 3 + ["connecting"]
    retry_delays = [step.retry_delay for step, error, _ in sink.statuses if error]
    assert all(d is not None and 0 <= d <= 0.05 for d in retry_delays)
    assert len(calls) == 4


def test_dxlink_source_with_closed_port_keeps_retrying_and_stops_promptly() -> None:
    sink = CollectingSink()
    source = DxlinkSource(
        f"ws://127.0.0.1:{closed_port()}",
        account=ACCOUNT,
        credentials=("trader", "secret"),
        backoff=tiny_backoff(),
        timeout_s=1.0,
    )
    with running(source, sink) as stop_seconds:
        sink.wait_for("three failed attempts", lambda s: s.count("disconnected") >= 3)
    assert stop_seconds[0] < 2.0
    errors = sink.errors()
    assert errors
    assert all(e.startswith("REST request failed: ConnectError") for e in errors), errors
    assert sink.ticks == []


def test_dxlink_source_with_quiet_server_keeps_connection_alive_with_keepalives(
    tmp_path: Path,
) -> None:
    # the fake drops a client silent for 0.6 s; the client sends KEEPALIVE every 0.2 s
    with FakeDxlinkBroker(rate=0, seed=3, account=ACCOUNT, keepalive_timeout=0.6) as fake:
        sink = CollectingSink()
        source = _source(fake, keepalive_s=0.4)
        with running(source, sink):
            sink.wait_for("connected", lambda s: s.count("connected") >= 1)
            assert not sink.holds_for(1.5, lambda s: s.count("disconnected") > 0)
            assert fake.connection_count == 1
    assert sink.count("disconnected") == 1  # only the final stop
    assert sink.statuses[-1][1] is None


def test_dxlink_source_with_malformed_feed_data_rejects_it_and_keeps_good_events() -> None:
    sink = CollectingSink()
    source = DxlinkSource("http://127.0.0.1:1", account=ACCOUNT, credentials=("a", "b"))
    fields = FeedFields(
        configured={"Greeks": ("eventSymbol", "time", "delta"), "Quote": ("eventSymbol",)}
    )
    received_at = datetime(2025, 3, 3, 15, 0, tzinfo=UTC)
    frame = FeedDataMessage(
        channel=1,
        data=(
            "Greeks",
            [".SPY250321C580", 1740000000000, 0.5, ".SPY250321P570", 1740000000001, "oops"],
            "Greeks",
            [".SPY250321C580", 1740000000002],  # wrong arity
            "Candle",
            [1, 2],  # an event type nobody configured
        ),
    )
    source._feed_data(frame, fields, received_at, sink)
    assert [(t.symbol, t.delta) for t in sink.ticks] == [(".SPY250321C580", 0.5)]
    assert sink.ticks[0].event_time == datetime(2025, 2, 19, 21, 20, tzinfo=UTC)
    assert sink.ticks[0].underlying_price is None
    reasons = [reason for reason, _ in sink.rejections]
    assert reasons == [REJECT_MALFORMED] * 3
    details = " | ".join(detail for _, detail in sink.rejections)
    assert "Greeks.delta" in details
    assert "not a multiple" in details
    assert "'Candle'" in details
