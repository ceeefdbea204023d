"""Records, contract keys, the normalizer and the latest view (riskdesk.streaming)."""

from __future__ import annotations

import json
import math
import random
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from riskdesk.domain.instruments import OptionContract, OptionRight, Settlement
from riskdesk.store.models._base import SUPPORTED_BROKERS
from riskdesk.store.models.streaming import GREEK_DEDUPE_COLUMNS, GreekSnapshot
from riskdesk.store.timeseries import insert_rows
from riskdesk.streaming.normalize import (
    REJECT_REASONS,
    GreeksTick,
    LatestView,
    Normalizer,
    PositionUpdate,
    resolve_symbol,
)
from riskdesk.streaming.records import (
    BROKERS,
    DEDUPE_FIELDS,
    ROW_COLUMNS,
    ContractKey,
    RecordError,
    UnifiedPositionRecord,
    canonical_strike,
    parse_contract_key,
)

T0 = datetime(2025, 1, 15, 14, 30, tzinfo=UTC)
KEY = "SPY:20250117:580:C"


def make_record(**overrides: Any) -> UnifiedPositionRecord:
    values: dict[str, Any] = {
        "broker": "ibkr",
        "account_id": "U123",
        "contract_key": KEY,
        "event_time": T0,
        "received_at": T0 + timedelta(milliseconds=3),
        "delta": 0.5,
        "source_payload": {"raw": True},
    }
    values.update(overrides)
    return UnifiedPositionRecord.for_contract(**values)


# -- contract key ---------------------------------------------------------------------------

strikes = st.decimals(
    min_value=Decimal("0.00000001"), max_value=Decimal("99999999"), places=8, allow_nan=False
)
underlyings = st.from_regex(r"[A-Z][A-Z0-9./]{0,9}", fullmatch=True)
keys = st.builds(
    ContractKey,
    underlying=underlyings,
    expiry=st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)),
    strike=strikes,
    right=st.sampled_from(["C", "P"]),
    settlement=st.sampled_from(["PM", "AM"]),
    multiplier=st.sampled_from([1, 10, 100, 1000]),
)


@settings(max_examples=200)
@given(parts=keys)
def test_contract_key_with_any_parts_round_trips_through_parse(parts: ContractKey) -> None:
    text = parts.key
    parsed = parse_contract_key(text)
    assert parsed.key == text
    assert parsed.strike == parts.strike
    assert parsed._replace(strike=parts.strike) == parts


@settings(max_examples=100)
@given(parts=keys)
def test_contract_key_with_any_parts_matches_option_contract_key(parts: ContractKey) -> None:
    contract = OptionContract(
        underlying=parts.underlying,
        expiry=parts.expiry,
        strike=parts.strike,
        right=OptionRight(parts.right),
        settlement=Settlement(parts.settlement),
        multiplier=parts.multiplier,
    )
    assert parts.key == contract.key


@pytest.mark.parametrize(
    ("strike", "text"),
    [("580.00", "580"), ("1E+3", "1000"), ("12.50", "12.5"), ("0.125", "0.125"), ("100", "100")],
)
def test_canonical_strike_with_equal_values_gives_one_text(strike: str, text: str) -> None:
    assert canonical_strike(Decimal(strike)) == text


@pytest.mark.parametrize(
    "key",
    [
        "SPY:20250117:580.0:C",
        "SPY:20250117:0580:C",
        "SPY:20250117:580:X",
        "SPY:20250230:580:C",
        "SPY:2025011:580:C",
        "SPY:20250117:0:C",
        "SPY:20250117:580",
        "SPY:20250117:580:C:x100",
        "SPY:20250117:580:C:PM",
        "SPY:20250117:580:C:x10:AM",
        "S PY:20250117:580:C",
        ":20250117:580:C",
        "SPY:20250117:1e3:C",
        "A" * 60 + ":20250117:580:C",
    ],
)
def test_parse_contract_key_with_non_canonical_text_raises(key: str) -> None:
    with pytest.raises(RecordError, match="contract key"):
        parse_contract_key(key)


@pytest.mark.parametrize(
    ("symbol", "key"),
    [
        ("SPY   250117C00580000", "SPY:20250117:580:C"),
        ("SPY250117P00580500", "SPY:20250117:580.5:P"),
        (".SPLG230616C23", "SPLG:20230616:23:C"),
        (".SPY250117P580.5", "SPY:20250117:580.5:P"),
        ("SPX:20261218:6000:C:AM", "SPX:20261218:6000:C:AM"),
    ],
)
def test_resolve_symbol_with_each_accepted_form_gives_contract_key(symbol: str, key: str) -> None:
    assert resolve_symbol(symbol) == key


# -- record -----------------------------------------------------------------------------------

finite = st.floats(allow_nan=False, allow_infinity=False)
maybe = st.none() | finite
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | finite | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=10,
)
times = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1), timezones=st.just(UTC)
)


@st.composite
def records(draw: st.DrawFn) -> UnifiedPositionRecord:
    greeks = {name: draw(maybe) for name in ("delta", "gamma", "theta", "vega", "rho")}
    if all(v is None for v in greeks.values()):
        greeks["delta"] = draw(finite)
    quantity = draw(st.none() | st.decimals(min_value=-(10**6), max_value=10**6, places=8))
    return make_record(
        broker=draw(st.sampled_from(BROKERS)),
        account_id=draw(st.from_regex(r"[A-Za-z0-9]{1,12}", fullmatch=True)),
        contract_key=draw(keys).key,
        event_time=draw(times),
        received_at=draw(times),
        quantity=quantity,
        implied_volatility=draw(maybe),
        underlying_price=draw(maybe),
        source_payload=draw(st.dictionaries(st.text(max_size=5), json_values, max_size=4)),
        **greeks,
    )


@settings(max_examples=200)
@given(record=records())
def test_record_with_any_values_round_trips_through_json_exactly(
    record: UnifiedPositionRecord,
) -> None:
    line = record.to_json()
    back = UnifiedPositionRecord.from_json(line)
    assert back == record
    assert back.to_json() == line
    assert "\n" not in line
    for name in ("delta", "gamma", "theta", "vega", "rho", "implied_volatility"):
        a, b = getattr(back, name), getattr(record, name)
        assert a is None if b is None else math.copysign(1, a) == math.copysign(1, b)
    assert str(back.quantity) == str(record.quantity)


def test_record_constants_with_store_model_match_columns_and_dedupe_rule() -> None:
    columns = set(GreekSnapshot.__table__.columns.keys())
    assert set(ROW_COLUMNS) == columns - {"id", "persisted_at"}
    assert DEDUPE_FIELDS == GREEK_DEDUPE_COLUMNS
    assert BROKERS == SUPPORTED_BROKERS
    assert set(ROW_COLUMNS) == set(UnifiedPositionRecord.__dataclass_fields__)


def test_record_to_row_with_sqlite_inserts_once_and_dedupes_replay() -> None:
    engine = sa.create_engine("sqlite://")
    table = GreekSnapshot.__table__
    assert isinstance(table, sa.Table)
    table.create(engine)
    record = make_record(quantity=Decimal("-3"), theta=-0.02, source_payload={"n": [1, 2]})
    other = make_record(delta=0.51)
    with engine.begin() as conn:
        assert insert_rows(conn, GreekSnapshot, [record.to_row(), other.to_row()]) == 2
        assert insert_rows(conn, GreekSnapshot, [record.to_row()]) == 0
        row = conn.execute(
            sa.select(GreekSnapshot.__table__).where(GreekSnapshot.__table__.c.delta == 0.5)
        ).one()
    assert row.contract_key == KEY
    assert row.strike == Decimal("580")
    assert row.expiration == date(2025, 1, 17)
    assert row.option_type == "call"
    assert row.quantity == Decimal("-3")
    assert row.event_time == T0
    assert row.source_payload == {"n": [1, 2]}
    assert record.dedupe_key() == (
        "ibkr",
        record.account_id,
        KEY,
        T0,
        0.5,
        None,
        -0.02,
        None,
    )


def test_record_with_other_timezone_is_stored_in_utc() -> None:
    tz = timezone(timedelta(hours=-5))
    record = make_record(event_time=T0.astimezone(tz))
    assert record.event_time.tzinfo is UTC
    assert record.event_time == T0


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"broker": "schwab"}, "broker must be one of"),
        ({"account_id": " "}, "account_id"),
        ({"delta": None}, "has no Greek"),
        ({"delta": None, "implied_volatility": 0.2}, "has no Greek"),
        ({"gamma": float("nan")}, "gamma must be finite"),
        ({"vega": True}, "vega must be a float"),
        ({"event_time": datetime(2025, 1, 15)}, "event_time must be timezone-aware"),
        ({"received_at": "2025-01-15"}, "received_at must be a datetime"),
        ({"quantity": Decimal("0.123456789")}, "9 decimal places"),
        ({"quantity": Decimal("NaN")}, "quantity must be a finite Decimal"),
        ({"source_payload": {"x": (1, 2)}}, r"source_payload\['x'\] is a tuple"),
        ({"source_payload": {"x": float("inf")}}, "no NaN or Infinity"),
        ({"source_payload": {1: "a"}}, "non-text key"),
    ],
)
def test_record_with_bad_field_raises_naming_it(overrides: dict[str, Any], match: str) -> None:
    with pytest.raises(RecordError, match=match):
        make_record(**overrides)


def test_record_with_fields_disagreeing_with_key_raises() -> None:
    base = make_record()
    with pytest.raises(RecordError, match="strike 581 disagrees"):
        UnifiedPositionRecord(
            broker="ibkr",
            account_id="U1",
            underlying="SPY",
            contract_key=KEY,
            expiration=date(2025, 1, 17),
            strike=Decimal(581),
            option_type="call",
            event_time=T0,
            received_at=T0,
            delta=0.5,
        )
    assert base.strike == Decimal(580)


def test_record_payload_with_caller_mutation_is_unchanged() -> None:
    payload: dict[str, Any] = {"list": [1]}
    record = make_record(source_payload=payload)
    payload["list"].append(2)
    record.to_row()["source_payload"]["list"].append(3)
    assert record.payload == {"list": [1]}


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("not json", "not valid JSON"),
        ("[]", "JSON object"),
        ('{"v": 1}', "missing"),
        ("NaN", "non-finite"),
    ],
)
def test_record_from_json_with_bad_line_raises(text: str, match: str) -> None:
    with pytest.raises(RecordError, match=match):
        UnifiedPositionRecord.from_json(text)


def test_record_from_json_with_unknown_key_or_version_raises() -> None:
    data = json.loads(make_record().to_json())
    with pytest.raises(RecordError, match="unknown extra"):
        UnifiedPositionRecord.from_dict({**data, "extra": 1})
    with pytest.raises(RecordError, match="version 2"):
        UnifiedPositionRecord.from_dict({**data, "v": 2})


# -- normalizer -------------------------------------------------------------------------------


def tick(**overrides: Any) -> GreeksTick:
    values: dict[str, Any] = {
        "broker": "tastytrade",
        "account_id": "5WX01",
        "symbol": ".SPY250117C580",
        "event_time": T0,
        "received_at": T0 + timedelta(milliseconds=2),
        "delta": 0.5,
        "raw": {"eventSymbol": ".SPY250117C580", "delta": 0.5},
    }
    values.update(overrides)
    return GreeksTick(**values)


def test_normalizer_with_good_tick_gives_record_with_position_quantity() -> None:
    normalizer = Normalizer()
    assert (
        normalizer.apply_position(
            PositionUpdate("tastytrade", "5WX01", "SPY   250117C00580000", Decimal(-2), T0)
        )
        is None
    )
    result = normalizer.normalize(tick(gamma="0.01", theta="NaN", vega="Infinity"))
    assert result.ok
    assert result.record is not None
    assert result.record.contract_key == KEY
    assert result.record.quantity == Decimal(-2)
    assert result.record.gamma == 0.01
    assert result.record.theta is None
    assert result.record.vega is None
    assert result.record.source_payload == {"eventSymbol": ".SPY250117C580", "delta": 0.5}
    assert normalizer.accepted == 1
    assert normalizer.nulled_values == 2
    assert normalizer.rejected == {}


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"symbol": "SPY"}, "bad_symbol"),
        ({"symbol": ".SPY251317C580"}, "bad_symbol"),
        ({"symbol": "SPY:20250117:580.0:C"}, "bad_symbol"),
        ({"delta": None}, "no_greeks"),
        ({"delta": float("nan"), "gamma": "-Infinity", "implied_volatility": 0.2}, "no_greeks"),
        ({"delta": "abc"}, "no_greeks"),
        ({"event_time": T0 + timedelta(seconds=6)}, "clock_skew"),
        ({"broker": "schwab"}, "invalid"),
        ({"account_id": ""}, "invalid"),
        ({"event_time": datetime(2025, 1, 15)}, "invalid"),
        ({"raw": {"x": object()}}, "invalid"),
    ],
)
def test_normalizer_with_bad_tick_rejects_with_counted_reason(
    overrides: dict[str, Any], reason: str
) -> None:
    normalizer = Normalizer()
    result = normalizer.normalize(tick(**overrides))
    assert result.record is None
    assert result.reason == reason
    assert reason in REJECT_REASONS
    assert result.detail
    assert normalizer.rejected == {reason: 1}
    assert normalizer.accepted == 0


def test_normalizer_with_event_time_within_skew_tolerance_accepts() -> None:
    normalizer = Normalizer(skew_tolerance=timedelta(seconds=1))
    ok = normalizer.normalize(tick(event_time=T0 + timedelta(seconds=1), received_at=T0))
    late = normalizer.normalize(
        tick(event_time=T0 + timedelta(seconds=1, microseconds=1), received_at=T0)
    )
    assert ok.ok
    assert late.reason == "clock_skew"


def test_normalizer_positions_with_close_and_stale_updates_keep_newest() -> None:
    normalizer = Normalizer()
    sym = "SPY250117C00580000"
    assert normalizer.apply_position(PositionUpdate("ibkr", "U1", sym, Decimal(3), T0)) is None
    later = T0 + timedelta(seconds=5)
    assert normalizer.apply_position(PositionUpdate("ibkr", "U1", sym, Decimal(0), later)) is None
    assert normalizer.quantity("ibkr", "U1", KEY) is None
    stale = PositionUpdate("ibkr", "U1", sym, Decimal(3), T0 + timedelta(seconds=1))
    assert normalizer.apply_position(stale) == "stale_position"
    assert normalizer.quantity("ibkr", "U1", KEY) is None
    assert normalizer.apply_position(PositionUpdate("ibkr", "U1", "junk", Decimal(1), T0)) == (
        "bad_symbol"
    )
    assert normalizer.rejected == {"stale_position": 1, "bad_symbol": 1}
    assert list(normalizer.positions()) == []


# -- latest view ------------------------------------------------------------------------------


@settings(max_examples=100)
@given(
    offsets=st.lists(st.integers(min_value=0, max_value=20), min_size=1, max_size=25),
    contracts=st.lists(st.sampled_from([KEY, "SPY:20250117:585:P"]), min_size=25, max_size=25),
    seed=st.integers(min_value=0, max_value=2**32),
)
def test_latest_view_with_shuffled_events_keeps_newest_per_contract(
    offsets: list[int], contracts: list[str], seed: int
) -> None:
    events = [
        make_record(
            contract_key=contracts[i],
            event_time=T0 + timedelta(seconds=off),
            received_at=T0 + timedelta(seconds=30 + i % 3),
            delta=0.1 + i / 100,
        )
        for i, off in enumerate(offsets)
    ]
    shuffled = list(events)
    random.Random(seed).shuffle(shuffled)
    ordered = LatestView()
    mixed = LatestView()
    for record in events:
        ordered.offer(record)
    newest_seen: dict[str, UnifiedPositionRecord] = {}
    for record in shuffled:
        became = mixed.offer(record)
        current = newest_seen.get(record.contract_key)
        assert became == (current is None or mixed.get(*record.contract_id) is record)
        if became:
            assert current is None or record.event_time >= current.event_time
            newest_seen[record.contract_key] = record
    assert mixed.records() == ordered.records()
    for key in set(contracts[: len(offsets)]):
        latest = mixed.get("ibkr", "U123", key)
        assert latest is not None
        assert latest.event_time == max(r.event_time for r in events if r.contract_key == key)


def test_latest_view_with_older_event_after_newer_keeps_newer() -> None:
    view = LatestView()
    newer = make_record(event_time=T0 + timedelta(seconds=1), delta=0.6)
    older = make_record(event_time=T0, delta=0.4)
    assert view.offer(newer)
    assert not view.offer(older)
    assert view.get("ibkr", "U123", KEY) is newer
    assert len(view) == 1
