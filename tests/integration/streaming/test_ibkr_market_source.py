"""IbkrMarketSource against the fake TWS on loopback: a broker snapshot into the workbench."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from market_source_support import assert_stored_through_the_workbench
from sqlalchemy.engine import Engine

from riskdesk.adapters.broker_market import BrokerView
from riskdesk.adapters.ibkr.client import parse_tws_url
from riskdesk.adapters.ibkr.fake import DEFAULT_AS_OF, FakeTwsBroker
from riskdesk.adapters.ibkr.market import IbkrMarketSource, MarketSourceTimeoutError
from riskdesk.adapters.ibkr.parsing import computation_raw, greeks_tick, raw_computation_values
from riskdesk.adapters.stream_snapshot import SnapshotCollector, build_view
from riskdesk.domain.market import SnapshotMode
from riskdesk.domain.sources import MarketSource
from riskdesk.streaming.normalize import GreeksTick

ACCOUNT = "DU000001"
LATE_S = 0.6
_T0 = time.monotonic()


def market_clock() -> datetime:
    """The fake book's market instant, running forward in real time (its options are live)."""
    return DEFAULT_AS_OF + timedelta(seconds=time.monotonic() - _T0)


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeTwsBroker]:
    log = tmp_path_factory.mktemp("ibkr-market") / "sent.jsonl"
    fake = FakeTwsBroker(rate=600, seed=3, account=ACCOUNT, sent_log=log, late_s=LATE_S)
    fake.start()
    yield fake
    fake.stop()


def source_of(broker: FakeTwsBroker, **kwargs: object) -> IbkrMarketSource:
    host, port = parse_tws_url(broker.address)
    return IbkrMarketSource(
        host,
        port,
        account=ACCOUNT,
        clock=market_clock,
        timeout_s=kwargs.pop("timeout_s", 8.0),  # type: ignore[arg-type]
        **kwargs,  # type: ignore[arg-type]
    )


def sent_values(log: Path) -> dict[str, set[tuple[float, float, float]]]:
    """Per padded OCC symbol, the (impliedVol, optPrice, undPrice) triples the fake sent."""
    sent: dict[str, set[tuple[float, float, float]]] = {}
    for line in log.read_text().splitlines():
        record = json.loads(line)
        values = record["values"]
        sent.setdefault(record["symbol"], set()).add(
            (values["impliedVol"], values["optPrice"], values["undPrice"])
        )
    return sent


def test_ibkr_market_source_with_the_fake_tws_snapshots_the_books_options(
    broker: FakeTwsBroker,
) -> None:
    source = source_of(broker)

    started = time.monotonic()
    snap = source.snapshot()
    took = time.monotonic() - started

    assert isinstance(source, MarketSource)
    assert snap.source == source.name == f"ibkr:{ACCOUNT}"
    assert snap.mode is SnapshotMode.LIVE
    assert {o.contract.key for o in snap.options} == {p.contract.key for p in broker.positions}
    assert {u.symbol for u in snap.underlyings} == {"SPY", "QQQ", "AAPL"}
    assert broker.sent_log is not None
    sent = sent_values(broker.sent_log)
    spots = {u.symbol: u.spot for u in snap.underlyings}
    for option in snap.options:
        assert option.iv is not None
        assert 0 < option.iv < 3
        assert option.mark is not None
        assert option.mark > 0
        assert option.bid is None  # TWS's model computation carries no bid/ask
        assert option.ask is None
        assert option.provider_timestamp <= snap.as_of
    for quote in snap.underlyings:
        assert quote.spot > 0
    for option in snap.options:  # every value shown is one the fake sent for that contract
        occ = next(p.occ_symbol for p in broker.positions if p.key == option.contract.key)
        assert any(
            iv == option.iv and float(option.mark or 0) == price for iv, price, _ in sent[occ]
        ), f"{occ}: iv {option.iv} / mark {option.mark} were never sent"
    for symbol, spot in spots.items():  # the spot is an undPrice the fake sent
        sent_spots = {
            und
            for p in broker.positions
            if p.contract.underlying == symbol
            for _, _, und in sent[p.occ_symbol]
        }
        assert float(spot) in sent_spots
    assert took >= LATE_S  # the late contracts were waited for
    assert source.warnings == ()


def test_ibkr_market_source_with_symbols_snapshots_only_those(broker: FakeTwsBroker) -> None:
    first, late = broker.positions[0], next(p for p in broker.positions if p.late)
    source = source_of(broker, symbols=[first.occ_symbol, late.key])

    snap = source.snapshot(mode=SnapshotMode.PINNED)

    assert {o.contract.key for o in snap.options} == {first.key, late.key}
    assert len(snap.options) == 2
    assert {u.symbol for u in snap.underlyings} == {
        first.contract.underlying,
        late.contract.underlying,
    }
    assert snap.mode is SnapshotMode.PINNED
    assert source.describe()["symbols"] == [first.occ_symbol, late.key]


def test_ibkr_market_source_snapshot_stored_through_the_workbench_use_case(
    broker: FakeTwsBroker, migrated_engine: Engine
) -> None:
    source = source_of(broker)

    assert_stored_through_the_workbench(source, migrated_engine, option_count=len(broker.positions))


def test_ibkr_market_source_describe_names_broker_account_and_address(
    broker: FakeTwsBroker,
) -> None:
    facts = source_of(broker).describe()

    assert facts["source"] == f"ibkr:{ACCOUNT}"
    assert facts["broker"] == "ibkr"
    assert facts["account"] == ACCOUNT
    assert facts["url"] == broker.address
    assert facts["symbols"] is None
    json.dumps(facts)  # JSON-ready


def test_ibkr_market_source_refresh_with_another_sources_snapshot_is_refused(
    broker: FakeTwsBroker,
) -> None:
    snap = source_of(broker, symbols=[broker.positions[0].key]).snapshot()
    other = IbkrMarketSource("127.0.0.1", 1, account="DU999999")

    with pytest.raises(ValueError, match=r"not 'ibkr:DU999999'"):
        other.refresh(snap, minutes=5)


def test_ibkr_market_source_with_a_closed_port_times_out_naming_the_address() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    source = IbkrMarketSource("127.0.0.1", port, account=ACCOUNT, timeout_s=0.5)

    with pytest.raises(
        MarketSourceTimeoutError, match=rf"tws://127\.0\.0\.1:{port}.*within 0\.5 s"
    ):
        source.snapshot()


@pytest.mark.parametrize(
    ("symbols", "message"),
    [
        (["SPY"], r"symbol 'SPY' is neither an OCC symbol"),
        ("SPY:20250321:580:C", r"symbols must be a sequence of symbols"),
        (["SPX:20250321:6000:C:AM"], r"non-standard listing"),
    ],
)
def test_ibkr_market_source_with_a_bad_symbol_names_it(symbols: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        IbkrMarketSource("127.0.0.1", 1, account=ACCOUNT, symbols=symbols)  # type: ignore[arg-type]


def _tick(seconds: float, *, iv: float, price: float) -> GreeksTick:
    wire = {
        "impliedVol": iv,
        "delta": -2.0 if iv < 0 else 0.5,
        "optPrice": price,
        "pvDividend": 0.0,
        "gamma": -2.0,
        "vega": -2.0,
        "theta": -2.0,
        "undPrice": 580.25,
    }
    values = raw_computation_values(
        implied_vol=wire["impliedVol"],
        delta=wire["delta"],
        opt_price=wire["optPrice"],
        pv_dividend=wire["pvDividend"],
        gamma=wire["gamma"],
        vega=wire["vega"],
        theta=wire["theta"],
        und_price=wire["undPrice"],
    )
    at = datetime(2025, 3, 3, 15, 0, tzinfo=UTC) + timedelta(seconds=seconds)
    return greeks_tick(
        values,
        account_id=ACCOUNT,
        symbol="SPY:20250321:580:C",
        received_at=at,
        raw=computation_raw(req_id=1, tick_type=13, tick_attrib=0, wire=wire),
    )


def _view_after(*ticks: GreeksTick) -> tuple[BrokerView, list[str]]:
    """Feed ``ticks`` to a collector as the IBKR source does; the view of the one contract."""
    collector = SnapshotCollector(to_occ=IbkrMarketSource.to_occ)
    for tick in ticks:
        collector.tick(tick)
    return build_view(
        collector.ticks,
        collector.quotes,
        [IbkrMarketSource.to_occ("SPY:20250321:580:C")],
        now=datetime(2025, 3, 3, 15, 1, tzinfo=UTC),
        mark_of=IbkrMarketSource("127.0.0.1", 1, account=ACCOUNT).mark_of,
    )


def test_snapshot_collector_with_a_later_empty_computation_keeps_the_complete_one() -> None:
    view, missing = _view_after(
        _tick(0, iv=0.2, price=3.5),
        _tick(1, iv=-1.0, price=-1.0),  # empty
        _tick(2, iv=-1.0, price=1.7976931348623157e308),  # partial: no IV, price unset
    )

    assert missing == []
    assert [(o.iv, str(o.mark)) for o in view.options] == [(0.2, "3.50000000")]
    assert view.options[0].quote_time == datetime(2025, 3, 3, 15, 0, tzinfo=UTC)


def test_snapshot_collector_with_a_later_complete_computation_replaces_the_held_one() -> None:
    view, missing = _view_after(
        _tick(0, iv=-1.0, price=-1.0),  # empty first
        _tick(2, iv=0.25, price=1.7976931348623157e308),  # complete, optPrice unset
        _tick(1, iv=0.2, price=3.5),  # older: arrives late, ignored
    )

    assert missing == []
    assert [(o.iv, o.mark) for o in view.options] == [(0.25, None)]


def test_snapshot_collector_with_only_an_empty_computation_reports_it_missing() -> None:
    view, missing = _view_after(_tick(0, iv=-1.0, price=-1.0))

    assert missing == ["SPY250321C00580000"]
    assert [(o.iv, o.mark) for o in view.options] == [(None, None)]
