"""The ingest hot path's shortcuts keep every public behaviour (caches, fast paths, row=)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from riskdesk.adapters.tastytrade.parsing import (
    DEFAULT_EVENT_FIELDS,
    DxlinkParseError,
    GreeksEvent,
    TradeEvent,
    decode_event_values,
)
from riskdesk.store.database import Database
from riskdesk.streaming.ingest import decode_record
from riskdesk.streaming.journal import Journal
from riskdesk.streaming.normalize import resolve_symbol
from riskdesk.streaming.records import (
    RecordError,
    UnifiedPositionRecord,
    contract_key,
    parse_contract_key,
)
from riskdesk.streaming.writer import BatchWriter

KEY = "SPY:20250117:580:C"
T0 = datetime(2025, 1, 10, 15, 30, tzinfo=UTC)


def make_record(**overrides: Any) -> UnifiedPositionRecord:
    values: dict[str, Any] = {
        "broker": "tastytrade",
        "account_id": "5WT00001",
        "contract_key": KEY,
        "event_time": T0,
        "received_at": T0 + timedelta(milliseconds=3),
        "delta": 0.5,
        "source_payload": {"eventSymbol": ".SPY250117C580", "sequence": 7, "price": 1.25},
    }
    values.update(overrides)
    return UnifiedPositionRecord.for_contract(**values)


# -- cached contract keys -----------------------------------------------------------------------


def test_contract_key_with_cached_decimal_strike_still_refuses_int_strike() -> None:
    assert contract_key("SPY", date(2025, 1, 17), Decimal(580), "C") == KEY

    with pytest.raises(RecordError, match="strike must be a Decimal"):
        contract_key("SPY", date(2025, 1, 17), 580, "C")  # type: ignore[arg-type]


def test_contract_key_with_cached_multiplier_one_still_refuses_bool_multiplier() -> None:
    assert contract_key("SPY", date(2025, 1, 17), Decimal(580), "C", multiplier=1).endswith(":x1")

    with pytest.raises(RecordError, match="multiplier must be a whole number"):
        contract_key("SPY", date(2025, 1, 17), Decimal(580), "C", multiplier=True)


def test_contract_key_with_cached_date_still_refuses_datetime_expiry() -> None:
    assert contract_key("SPY", date(2025, 1, 17), Decimal("580.00"), "C") == KEY

    with pytest.raises(RecordError, match="expiry must be a date"):
        contract_key("SPY", datetime(2025, 1, 17, tzinfo=UTC), Decimal(580), "C")


def test_contract_key_with_nan_strike_repeated_raises_each_time() -> None:
    for _ in range(2):
        with pytest.raises(RecordError, match="finite number > 0"):
            contract_key("SPY", date(2025, 1, 17), Decimal("NaN"), "C")


def test_parse_contract_key_with_repeated_bad_key_raises_each_time() -> None:
    assert parse_contract_key(KEY) == parse_contract_key(KEY)
    for _ in range(2):
        with pytest.raises(RecordError, match="not canonical text"):
            parse_contract_key("SPY:20250117:580.0:C")
    with pytest.raises(RecordError, match="must be a str"):
        parse_contract_key(None)  # type: ignore[arg-type]


def test_resolve_symbol_with_repeated_bad_symbol_raises_each_time() -> None:
    assert resolve_symbol(".SPY250117C580") == KEY
    assert resolve_symbol(".SPY250117C580") == KEY
    for _ in range(2):
        with pytest.raises(ValueError, match="not an OCC symbol"):
            resolve_symbol(".SPY")
    with pytest.raises(ValueError, match="non-empty text"):
        resolve_symbol(None)  # type: ignore[arg-type]


# -- payload fast path ---------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_record_with_flat_payload_holding_non_finite_float_is_refused(bad: float) -> None:
    with pytest.raises(RecordError, match=r"source_payload\['price'\] is"):
        make_record(source_payload={"eventSymbol": "x", "price": bad})


def test_record_with_flat_payload_non_text_key_is_refused() -> None:
    with pytest.raises(RecordError, match="non-text key 1"):
        make_record(source_payload={1: "x"})


def test_record_to_row_with_flat_payload_gives_an_independent_copy() -> None:
    payload: dict[str, Any] = {"eventSymbol": "x", "n": 1, "flag": True, "none": None}
    record = make_record(source_payload=payload)
    payload["n"] = 2  # the record copied on construction

    row = record.to_row()
    row["source_payload"]["n"] = 3

    assert record.payload == {"eventSymbol": "x", "n": 1, "flag": True, "none": None}
    assert record.to_row()["source_payload"] is not record.payload


def test_record_with_int_subclass_payload_value_stores_plain_int() -> None:
    class Level(int):
        pass

    record = make_record(source_payload={"level": Level(3)})

    assert type(record.payload["level"]) is int


def test_record_to_row_with_validated_record_equals_decode_of_its_json() -> None:
    record = make_record(quantity=Decimal("-2"), gamma=0.01, source_payload={"a": [1, {"b": 2.5}]})

    assert record.to_row() == decode_record(record.to_dict())


# -- tastytrade decode fast path ----------------------------------------------------------------


def _greeks(**values: Any) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(DEFAULT_EVENT_FIELDS["Greeks"], 0.5)
    row.update(eventSymbol=".SPY250117C580", eventTime=1, eventFlags=0, index=0, time=2)
    row.update(sequence=3, price=1.25)
    row.update(values)
    return row


def test_decode_event_values_with_mixed_values_matches_the_readers() -> None:
    event = decode_event_values("Greeks", _greeks(delta=1, gamma="NaN", theta=math.nan, time=4.0))

    assert isinstance(event, GreeksEvent)
    assert event.delta == 1.0
    assert type(event.delta) is float
    assert event.gamma is None
    assert event.theta is None
    assert event.time == 4
    assert type(event.time) is int
    assert event.price == Decimal("1.25")
    assert event.vega == 0.5


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("delta", True, "Greeks.delta"),
        ("sequence", True, "Greeks.sequence"),
        ("time", 1.5, "Greeks.time"),
        ("eventSymbol", 5, "Greeks.eventSymbol"),
    ],
)
def test_decode_event_values_with_wrong_type_raises_naming_the_field(
    field: str, value: object, problem: str
) -> None:
    with pytest.raises(DxlinkParseError, match=problem):
        decode_event_values("Greeks", _greeks(**{field: value}))


def test_decode_event_values_with_bool_and_absent_fields_keeps_bool_and_none() -> None:
    event = decode_event_values("Trade", {"eventSymbol": "SPY", "extendedTradingHours": False})

    assert isinstance(event, TradeEvent)
    assert event.extended_trading_hours is False
    assert event.price is None
    with pytest.raises(DxlinkParseError, match="true or false"):
        decode_event_values("Trade", {"eventSymbol": "SPY", "extendedTradingHours": 1})


# -- BatchWriter.submit(row=...) ----------------------------------------------------------------


class _ListSink:
    def __init__(self) -> None:
        self.rows: list[Mapping[str, Any]] = []

    def write(self, rows: Sequence[Mapping[str, Any]]) -> int:
        self.rows.extend(rows)
        return len(rows)


def test_writer_submit_with_row_skips_decode_and_replay_still_decodes(tmp_path: Path) -> None:
    calls: list[dict[str, Any]] = []

    def counting_decode(body: dict[str, Any]) -> Mapping[str, Any]:
        calls.append(body)
        return decode_record(body)

    db = Database.from_url(f"sqlite:///{tmp_path / 'unused.sqlite3'}", create=False)
    record = make_record()
    with Journal(tmp_path / "journal") as journal:
        sink = _ListSink()
        writer = BatchWriter(db, journal, decode=counting_decode, sink=sink)
        offset = writer.submit(record.to_dict(), row=record.to_row())
        assert calls == []
    with Journal(tmp_path / "journal") as journal:
        sink = _ListSink()
        replaying = BatchWriter(db, journal, decode=counting_decode, sink=sink)
        result = replaying.recover(timeout=5)

    assert offset == 1
    assert result.replayed == 1
    assert len(calls) == 1
    assert sink.rows == [record.to_row()]


def test_writer_submit_without_row_with_invalid_record_journals_nothing(tmp_path: Path) -> None:
    db = Database.from_url(f"sqlite:///{tmp_path / 'unused.sqlite3'}", create=False)
    body = make_record().to_dict()
    body["delta"] = body["gamma"] = None
    with Journal(tmp_path / "journal") as journal:
        writer = BatchWriter(db, journal, decode=decode_record, sink=_ListSink())
        with pytest.raises(RecordError, match="has no Greek"):
            writer.submit(body)

        assert journal.last_offset() == 0
