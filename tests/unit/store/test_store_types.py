"""Column types without a database: bind/result processing per dialect."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.dialects import postgresql, sqlite

from riskdesk.store.errors import NaiveDatetimeError, NumericValueError
from riskdesk.store.types import CanonicalJSON, DecimalType, UTCDateTime, jsonable, new_id

SQLITE = sqlite.dialect()
PG = postgresql.dialect()


def test_utc_datetime_with_naive_value_is_refused() -> None:
    with pytest.raises(NaiveDatetimeError, match="naive datetime"):
        UTCDateTime().process_bind_param(datetime(2025, 1, 1, 9, 30), SQLITE)


def test_utc_datetime_with_date_value_is_refused() -> None:
    with pytest.raises(NaiveDatetimeError, match="timezone-aware datetime"):
        UTCDateTime().process_bind_param(date(2025, 1, 1), PG)  # type: ignore[arg-type]


def test_utc_datetime_with_offset_stores_utc_on_sqlite_and_returns_aware() -> None:
    kind = UTCDateTime()
    moment = datetime(2025, 1, 1, 9, 30, tzinfo=timezone(timedelta(hours=2)))

    stored = kind.process_bind_param(moment, SQLITE)
    loaded = kind.process_result_value(stored, SQLITE)

    assert stored == datetime(2025, 1, 1, 7, 30)
    assert loaded == moment
    assert loaded is not None
    assert loaded.tzinfo is UTC


def test_utc_datetime_with_server_default_text_parses_as_utc() -> None:
    loaded = UTCDateTime().process_result_value("2025-01-01 07:30:00.123000", SQLITE)

    assert loaded == datetime(2025, 1, 1, 7, 30, 0, 123000, tzinfo=UTC)


@given(
    st.decimals(
        min_value=Decimal("-999999999999"),
        max_value=Decimal("999999999999"),
        places=8,
        allow_nan=False,
        allow_infinity=False,
    )
)
def test_decimal_type_with_any_fitting_value_round_trips_on_sqlite_text(value: Decimal) -> None:
    kind = DecimalType(20, 8)

    stored = kind.process_bind_param(value, SQLITE)
    loaded = kind.process_result_value(stored, SQLITE)

    assert loaded == value
    assert stored == format(loaded, "f")


def test_decimal_type_with_more_places_rounds_half_away_from_zero_like_postgres() -> None:
    kind = DecimalType(20, 2)

    assert kind.process_bind_param(Decimal("1.005"), SQLITE) == "1.01"
    assert kind.process_bind_param(Decimal("-1.005"), PG) == Decimal("-1.01")


@pytest.mark.parametrize("value", [Decimal("NaN"), Decimal("Infinity"), "abc", True, object()])
def test_decimal_type_with_non_number_is_refused(value: object) -> None:
    with pytest.raises(NumericValueError):
        DecimalType().process_bind_param(value, PG)


def test_decimal_type_with_float_allowed_uses_shortest_repr() -> None:
    assert DecimalType(20, 10, allow_float=True).process_bind_param(0.1, PG) == Decimal(
        "0.1000000000"
    )


def test_canonical_json_with_reordered_keys_stores_same_text() -> None:
    kind = CanonicalJSON()

    first = kind.process_bind_param({"b": 1.0, "a": [Decimal("2.50")]}, PG)
    second = kind.process_bind_param({"a": [Decimal("2.5")], "b": 1.0}, SQLITE)

    assert first == second == '{"a":["2.5"],"b":1.0}'


def test_new_id_with_successive_calls_is_version_7_and_ordered() -> None:
    ids = [new_id() for _ in range(200)]

    assert all(i.version == 7 and i.variant == uuid.RFC_4122 for i in ids)
    assert [i.int >> 80 for i in ids] == sorted(i.int >> 80 for i in ids)
    assert len(set(ids)) == len(ids)


def test_jsonable_with_decimal_uuid_and_datetime_gives_strings() -> None:
    ident = uuid.UUID(int=5)

    plain = jsonable(
        {"qty": Decimal("1.50"), "id": ident, "at": datetime(2025, 1, 1, tzinfo=UTC), "n": (1, 2)}
    )

    assert plain == {"qty": "1.5", "id": str(ident), "at": "2025-01-01T00:00:00Z", "n": [1, 2]}
