"""Market-side use-case rules without a database: sources, override merge, entry rule,
and the canonical hashing format version."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from riskdesk.adapters.files import export_chain
from riskdesk.adapters.files.chains import ChainFileSource
from riskdesk.adapters.simulated import SOURCE, generate_market, simulate_live
from riskdesk.adapters.simulated.market import SyntheticSource
from riskdesk.domain.hashing import CANONICAL_FORMAT_VERSION, canonical_json
from riskdesk.domain.instruments import Stock
from riskdesk.domain.market import MarketOverrides, MarketSnapshot, SnapshotMode
from riskdesk.domain.sources import MarketSource
from riskdesk.workbench.snapshots import entry_from_snapshot, take_snapshot, with_overrides

AS_OF = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def market() -> MarketSnapshot:
    return generate_market(seed=5, as_of=AS_OF, symbols=("SPY",), max_expiry_days=40)


def test_synthetic_source_with_contract_check_is_a_market_source() -> None:
    source = SyntheticSource(seed=5, max_expiry_days=40, as_of=AS_OF, symbols=("SPY",))
    assert isinstance(source, MarketSource)
    assert source.name == SOURCE
    assert source.describe()["seed"] == 5


def test_take_snapshot_with_synthetic_source_equals_generate_market(market: MarketSnapshot) -> None:
    source = SyntheticSource(seed=5, max_expiry_days=40, as_of=AS_OF, symbols=("SPY",))
    taken = take_snapshot(source, mode=SnapshotMode.PINNED)
    expected = dataclasses.replace(market, mode=SnapshotMode.PINNED)
    assert taken.snapshot_hash == expected.snapshot_hash


def test_synthetic_refresh_with_generated_base_equals_simulate_live(market: MarketSnapshot) -> None:
    base = dataclasses.replace(market, overrides=MarketOverrides(rate=0.031))
    source = SyntheticSource(seed=5, max_expiry_days=40)
    later = source.refresh(base, minutes=30)
    *_, expected = simulate_live(
        seed=5, start=AS_OF, steps=2, step_minutes=30, symbols=["SPY"], max_expiry_days=40
    )
    expected = dataclasses.replace(expected, overrides=base.overrides)
    assert later.snapshot_hash == expected.snapshot_hash
    assert later.overrides.rate == 0.031


def test_synthetic_refresh_with_other_seed_raises_naming_the_seed(market: MarketSnapshot) -> None:
    with pytest.raises(ValueError, match="--seed 6 --max-days 40"):
        SyntheticSource(seed=6, max_expiry_days=40).refresh(market, minutes=15)


def test_chain_file_source_with_exported_market_imports_it_and_keeps_report(
    market: MarketSnapshot, tmp_path: Path
) -> None:
    chain = tmp_path / "chain.csv"
    export_chain(market, chain, underlyings_path=tmp_path / "und.csv")
    source = ChainFileSource(chain, as_of=AS_OF, underlyings_path=tmp_path / "und.csv")
    assert isinstance(source, MarketSource)
    snapshot = source.snapshot(mode=SnapshotMode.LIVE)
    assert source.name == "file:chain.csv" == snapshot.source
    assert source.report is not None
    assert source.report.rows_ok == len(snapshot.options) == len(market.options)
    with pytest.raises(ValueError, match="importing a newer file"):
        source.refresh(snapshot, minutes=5)


def test_with_overrides_with_partial_maps_merges_onto_snapshot_entries(
    market: MarketSnapshot,
) -> None:
    base = dataclasses.replace(
        market,
        overrides=MarketOverrides(
            rate=0.04, dividend_yield={"SPY": 0.01, "QQQ": 0.02}, borrow_rate={"SPY": 0.003}
        ),
    )
    merged = with_overrides(base, dividend_yield={"SPY": 0.015}, borrow_rate={"IWM": 0.05})
    assert merged.overrides.rate == 0.04
    assert dict(merged.overrides.dividend_yield) == {"SPY": 0.015, "QQQ": 0.02}
    assert dict(merged.overrides.borrow_rate) == {"SPY": 0.003, "IWM": 0.05}
    assert with_overrides(base, rate=0.05).overrides.rate == 0.05
    assert with_overrides(base) is base


def test_entry_from_snapshot_with_buy_and_sell_takes_ask_and_bid(market: MarketSnapshot) -> None:
    quote = next(q for q in market.options if q.bid is not None and q.ask is not None)
    assert entry_from_snapshot(market, quote.contract, Decimal(2)) == quote.ask
    assert entry_from_snapshot(market, quote.contract, Decimal(-1)) == quote.bid
    und = market.underlying("SPY")
    expected = und.ask if und.ask is not None else und.spot
    assert entry_from_snapshot(market, Stock(symbol="SPY"), Decimal(100)) == expected


def test_entry_from_snapshot_with_missing_bid_raises_naming_the_side(
    market: MarketSnapshot,
) -> None:
    quote = market.options[0]
    no_bid = dataclasses.replace(quote, bid=None)
    snap = dataclasses.replace(market, options=(no_bid, *market.options[1:]))
    with pytest.raises(ValueError, match="has no bid in the snapshot"):
        entry_from_snapshot(snap, quote.contract, Decimal(-1))


# Canonical bytes of one reference payload under each canonical format version. A change to
# the canonical form must add a new version here (and bump CANONICAL_FORMAT_VERSION).
CANONICAL_REFERENCE = {
    1: '{"a":"2.5","b":1.0,"d":"2026-01-02","l":[1,"x"],"n":null,"t":"2026-01-02T03:04:05Z",'
    '"z":0.0}',
}


def test_canonical_json_with_reference_payload_matches_its_format_version() -> None:
    payload = {
        "b": 1.0,
        "a": Decimal("2.50"),
        "d": datetime(2026, 1, 2, tzinfo=UTC).date(),
        "l": (1, "x"),
        "n": None,
        "t": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        "z": -0.0,
    }
    expected = CANONICAL_REFERENCE[CANONICAL_FORMAT_VERSION]
    assert canonical_json(payload) == expected
