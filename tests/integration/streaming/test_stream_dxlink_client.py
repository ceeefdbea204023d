"""DxlinkSource (our DXLink client) against the fake tastytrade broker on loopback.

Every check counts against the fake's sent log: a received Greeks event must be a line of it
(by symbol and eventTime), and none may arrive twice.
"""

from __future__ import annotations

import json
import random
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from riskdesk.adapters.tastytrade.client import REJECT_MALFORMED, DxlinkSource
from riskdesk.adapters.tastytrade.fake import FakeDxlinkBroker
from riskdesk.adapters.tastytrade.parsing import FeedDataMessage, FeedFields
from riskdesk.secrets import TokenCache, open_secret_store
from riskdesk.streaming.normalize import GreeksTick, PositionUpdate
from riskdesk.streaming.session import Backoff, Step
from riskdesk.streaming.source import SourceSink, TickSource

WAIT = 10.0
ACCOUNT = "5WT00001"


class CollectingSink:
    """A thread-safe sink that keeps everything and lets the test wait on a condition."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self.ticks: list[GreeksTick] = []
        self.positions: list[PositionUpdate] = []
        self.statuses: list[tuple[Step, str | None]] = []
        self.rejections: list[tuple[str, str]] = []

    def tick(self, tick: GreeksTick) -> None:
        with self._cond:
            self.ticks.append(tick)
            self._cond.notify_all()

    def position(self, update: PositionUpdate) -> None:
        with self._cond:
            self.positions.append(update)
            self._cond.notify_all()

    def status(self, step: Step, *, error: str | None = None) -> None:
        with self._cond:
            self.statuses.append((step, error))
            self._cond.notify_all()

    def rejected(self, reason: str, detail: str) -> None:
        with self._cond:
            self.rejections.append((reason, detail))
            self._cond.notify_all()

    def wait_for(self, what: str, predicate: Callable[[CollectingSink], bool]) -> None:
        with self._cond:
            if not self._cond.wait_for(lambda: predicate(self), WAIT):
                pytest.fail(f"timed out after {WAIT} s waiting for {what}")

    def holds_for(self, seconds: float, predicate: Callable[[CollectingSink], bool]) -> bool:
        """Whether ``predicate`` became true within ``seconds`` (False: it never did)."""
        with self._cond:
            return self._cond.wait_for(lambda: predicate(self), seconds)

    def status_names(self) -> list[str]:
        with self._cond:
            return [step.status for step, _ in self.statuses]

    def count(self, status: str) -> int:
        return self.status_names().count(status)


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[FakeDxlinkBroker]:
    fake = FakeDxlinkBroker(rate=2000, seed=3, sent_log=tmp_path / "sent.jsonl", account=ACCOUNT)
    fake.start()
    yield fake
    fake.stop()


def _tiny_backoff() -> Backoff:
    return Backoff(random.Random(12), base=0.01, factor=2.0, max_delay=0.05)


@contextmanager
def _running(source: DxlinkSource, sink: CollectingSink) -> Iterator[list[float]]:
    """Run ``source`` in a thread; on exit stop it and record how long stopping took."""
    stop = threading.Event()
    failure: list[BaseException] = []

    def target() -> None:
        try:
            source.run(sink, stop)
        except BaseException as exc:  # surfaced in the test thread below
            failure.append(exc)

    thread = threading.Thread(target=target, name="dxlink-source-test", daemon=True)
    thread.start()
    stop_seconds: list[float] = []
    try:
        yield stop_seconds
    finally:
        started = time.monotonic()
        stop.set()
        thread.join(5.0)
        stop_seconds.append(time.monotonic() - started)
    assert not thread.is_alive(), "DxlinkSource.run did not return after stop was set"
    assert not failure, f"DxlinkSource.run raised {failure[0]!r}"


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
        "backoff": _tiny_backoff(),
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
    with _running(source, sink) as stop_seconds:
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


def _at_least(status: str, n: int) -> Callable[[CollectingSink], bool]:
    return lambda sink: sink.count(status) >= n


def _every_symbol_since(mark: int, symbols: set[str]) -> Callable[[CollectingSink], bool]:
    return lambda sink: {str(t.raw["eventSymbol"]) for t in sink.ticks[mark:]} == symbols


def test_dxlink_source_with_dropped_connections_reconnects_and_resubscribes(
    broker: FakeDxlinkBroker,
) -> None:
    sink = CollectingSink()
    source = _source(broker)
    option_symbols = {p.streamer_symbol for p in broker.positions}
    with _running(source, sink):
        for drop in range(1, 3):
            sink.wait_for(f"connection {drop}", _at_least("connected", drop))
            sink.wait_for(
                f"ticks of every option on connection {drop}",
                _every_symbol_since(len(sink.ticks), option_symbols),
            )
            assert broker.drop_connections() == 1
            sink.wait_for(f"disconnect {drop}", _at_least("disconnected", drop))
        sink.wait_for("a third connection", lambda s: s.count("connected") >= 3)
        mark = len(sink.ticks)
        sink.wait_for(
            "ticks of every option after the second reconnect",
            lambda s: {str(t.raw["eventSymbol"]) for t in s.ticks[mark:]} == option_symbols,
        )
    names = sink.status_names()
    transitions = ["disconnected", "connecting", "connected"]
    runs = [i for i in range(len(names) - 2) if names[i : i + 3] == transitions]
    assert len(runs) == 2, names
    errors = [error for step, error in sink.statuses if step.status == "disconnected" and error]
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
    with _running(_source(broker, credentials=credentials, token_cache=cache), sink):
        sink.wait_for("a connection", _at_least("connected", 1))
        token = cache.load()
        for drop in range(1, 3):  # reconnects reuse the cached token
            sink.wait_for(f"ticks on connection {drop}", _ticks_since(len(sink.ticks), 5))
            assert broker.drop_connections() == 1
            sink.wait_for(f"reconnection {drop}", _at_least("connected", drop + 1))
        reused = (broker.login_count, len(logins), cache.load())
        broker.revoke_tokens()  # the next connection's token is refused: one fresh login
        sink.wait_for("ticks on connection 3", _ticks_since(len(sink.ticks), 5))
        assert broker.drop_connections() == 1
        sink.wait_for("reconnection after the revocation", _at_least("connected", 4))
    # a restarted source (a new process) starts from the cached token too
    restarted = CollectingSink()
    with _running(_source(broker, credentials=credentials, token_cache=cache), restarted):
        restarted.wait_for("a connection after the restart", _at_least("connected", 1))

    assert token is not None
    assert reused == (1, 1, token)
    assert (broker.login_count, len(logins)) == (2, 2)
    assert cache.load() not in (None, token)
    assert token.encode() not in (tmp_path / "secrets.enc").read_bytes()
    assert not [error for _step, error in sink.statuses if error and "refused" in error]


def test_dxlink_source_with_refused_login_reports_errors_and_retries_with_backoff(
    broker: FakeDxlinkBroker,
) -> None:
    calls: list[int] = []

    def credentials() -> tuple[str, str]:
        calls.append(1)
        return ("trader", "" if len(calls) <= 3 else "secret")  # empty password: HTTP 401

    sink = CollectingSink()
    source = _source(broker, credentials=credentials)
    with _running(source, sink):
        sink.wait_for("a connection after the refusals", lambda s: s.count("connected") >= 1)
        sink.wait_for("ticks", lambda s: len(s.ticks) >= 10)
    errors = [error for step, error in sink.statuses if error]
    assert len(errors) == 3, errors
    assert all("POST /sessions) refused: HTTP 401" in e for e in errors)
    assert all("secret" not in e for e in errors)
    names = sink.status_names()
    assert names[:7] == ["connecting", "disconnected"] * 3 + ["connecting"]
    retry_delays = [step.retry_delay for step, error in sink.statuses if error]
    assert all(d is not None and 0 <= d <= 0.05 for d in retry_delays)
    assert len(calls) == 4


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_dxlink_source_with_closed_port_keeps_retrying_and_stops_promptly() -> None:
    sink = CollectingSink()
    source = DxlinkSource(
        f"ws://127.0.0.1:{_closed_port()}",
        account=ACCOUNT,
        credentials=("trader", "secret"),
        backoff=_tiny_backoff(),
        timeout_s=1.0,
    )
    with _running(source, sink) as stop_seconds:
        sink.wait_for("three failed attempts", lambda s: s.count("disconnected") >= 3)
    assert stop_seconds[0] < 2.0
    errors = [error for _, error in sink.statuses if error]
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
        with _running(source, sink):
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
