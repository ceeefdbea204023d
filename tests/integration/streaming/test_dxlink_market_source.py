"""DxlinkMarketSource against the fake tastytrade broker: a broker snapshot into the workbench."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from market_source_support import assert_stored_through_the_workbench
from sqlalchemy.engine import Engine

from riskdesk.adapters.tastytrade.fake import DEFAULT_AS_OF, FakeDxlinkBroker
from riskdesk.adapters.tastytrade.market import DxlinkMarketSource, MarketSourceTimeoutError
from riskdesk.domain.market import SnapshotMode
from riskdesk.domain.sources import MarketSource

ACCOUNT = "5WT00001"
SECRET = "s3cret-pass"


_T0 = time.monotonic()


def market_clock() -> datetime:
    """The fake book's market instant, running forward in real time (its options are live)."""
    return DEFAULT_AS_OF + timedelta(seconds=time.monotonic() - _T0)


@pytest.fixture(scope="module")
def broker() -> Iterator[FakeDxlinkBroker]:
    fake = FakeDxlinkBroker(rate=600, seed=3, account=ACCOUNT, clock=market_clock)
    fake.start()
    yield fake
    fake.stop()


def source_of(broker: FakeDxlinkBroker, **kwargs: object) -> DxlinkMarketSource:
    return DxlinkMarketSource(
        broker.url,
        account=ACCOUNT,
        credentials=("trader", SECRET),
        clock=market_clock,
        timeout_s=kwargs.pop("timeout_s", 8.0),  # type: ignore[arg-type]
        **kwargs,  # type: ignore[arg-type]
    )


def test_dxlink_market_source_with_the_fake_broker_snapshots_the_books_options(
    broker: FakeDxlinkBroker,
) -> None:
    source = source_of(broker)

    snap = source.snapshot()

    assert isinstance(source, MarketSource)
    assert snap.source == source.name == f"tastytrade:{ACCOUNT}"
    assert snap.mode is SnapshotMode.LIVE
    assert {o.contract.key for o in snap.options} == {p.contract.key for p in broker.positions}
    assert {u.symbol for u in snap.underlyings} == {"SPY", "QQQ", "AAPL"}
    for option in snap.options:
        assert option.iv is not None
        assert 0 < option.iv < 3
        assert option.mark is not None
        assert option.mark > 0
        assert option.provider_timestamp <= snap.as_of
        # the fake quotes each option at its model price +- max(1 cent, 1%), rounded to cents
        assert option.bid is not None
        assert option.ask is not None
        assert 0 <= option.bid < option.ask
        assert option.ask - option.bid >= Decimal("0.02")
    for quote in snap.underlyings:
        assert quote.spot > 0
    assert snap.diagnostics["missing_quote"] == 0  # every bid/ask came through the on_quote hook
    assert source.warnings == ()


def test_dxlink_market_source_with_symbols_quotes_only_those(broker: FakeDxlinkBroker) -> None:
    wanted = broker.positions[0]
    source = source_of(broker, symbols=[wanted.streamer_symbol])

    snap = source.snapshot(mode=SnapshotMode.PINNED)

    assert [o.contract.key for o in snap.options] == [wanted.contract.key]
    assert [u.symbol for u in snap.underlyings] == [wanted.contract.underlying]
    assert snap.mode is SnapshotMode.PINNED


def test_dxlink_market_source_snapshot_stored_through_the_workbench_use_case(
    broker: FakeDxlinkBroker, migrated_engine: Engine
) -> None:
    source = source_of(broker)

    assert_stored_through_the_workbench(source, migrated_engine, option_count=len(broker.positions))


def test_dxlink_market_source_describe_names_broker_account_url_never_credentials(
    broker: FakeDxlinkBroker,
) -> None:
    facts = source_of(broker).describe()

    assert facts["broker"] == "tastytrade"
    assert facts["account"] == ACCOUNT
    assert facts["url"] == broker.url
    assert SECRET not in repr(facts)


def test_dxlink_market_source_with_a_closed_port_times_out_naming_the_address() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    source = DxlinkMarketSource(
        f"http://127.0.0.1:{port}", account=ACCOUNT, credentials=("u", SECRET), timeout_s=0.5
    )

    with pytest.raises(
        MarketSourceTimeoutError, match=rf"127\.0\.0\.1:{port}.*within 0\.5 s"
    ) as info:
        source.snapshot()
    assert SECRET not in str(info.value)


def test_dxlink_market_source_with_a_bad_symbol_names_it() -> None:
    with pytest.raises(ValueError, match=r"symbol 'SPY' is neither a dxFeed option symbol"):
        DxlinkMarketSource(
            "http://127.0.0.1:1", account=ACCOUNT, credentials=("u", "p"), symbols=["SPY"]
        )
