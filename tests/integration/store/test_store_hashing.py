"""Content hashes survive storage: store hashed JSON, read it back, re-hash, same hash.

Holds on SQLite (JSON text) and PostgreSQL (JSONB, which reorders keys), and across a
reordering of keys and legs in the input.
"""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Connection, Engine

from riskdesk.domain.hashing import canonical_json, canonicalize, content_hash
from riskdesk.store import make_session_factory
from riskdesk.store.models import ModelConfig, ScenarioGrid, TradeVersion

LEGS = [
    {
        "contract": {
            "underlying": "SPY",
            "expiry": "2025-03-21",
            "strike": Decimal("580"),
            "right": "P",
        },
        "signed_qty": Decimal(-1),
        "entry_price": Decimal("4.35"),
        "include": True,
    },
    {
        "contract": {
            "underlying": "SPY",
            "expiry": "2025-03-21",
            "strike": Decimal("570"),
            "right": "P",
        },
        "signed_qty": Decimal(1),
        "entry_price": Decimal("2.10"),
        "include": True,
    },
    {
        "contract": {
            "underlying": "SPY",
            "expiry": "2025-03-21",
            "strike": Decimal("620"),
            "right": "C",
        },
        "signed_qty": Decimal(-1),
        "entry_price": Decimal("3.05"),
        "include": False,
    },
]


def trade_payload(name: str, legs: list[dict[str, Any]], *, rate: float) -> dict[str, Any]:
    """Canonical trade content: legs sorted by their canonical JSON (leg order is not content)."""
    return canonicalize(
        {"name": name, "legs": sorted(legs, key=canonical_json), "rate": rate, "multiplier": 100}
    )


def _shuffled(value: Any, rng: random.Random) -> Any:
    if isinstance(value, dict):
        items = list(value.items())
        rng.shuffle(items)
        return {k: _shuffled(v, rng) for k, v in items}
    if isinstance(value, list):
        return [_shuffled(v, rng) for v in value]
    return value


def _store_and_rehash(
    conn: Connection, model: type, hash_col: str, json_col: str, payload: Any, **extra: Any
) -> tuple[Any, str]:
    digest = content_hash(payload)
    session = make_session_factory(conn, join_transaction_mode="create_savepoint")()
    try:
        session.add(model(**{hash_col: digest, json_col: payload}, **extra))
        session.commit()
        session.expunge_all()
        stored = session.scalars(
            sa.select(getattr(model, json_col)).where(getattr(model, hash_col) == digest)
        ).one()
    finally:
        session.close()
    return stored, content_hash(stored)


def test_trade_version_with_reordered_keys_and_legs_rehashes_equal(
    db_connection: Connection,
) -> None:
    original = trade_payload("put spread", LEGS, rate=0.0425)
    rng = random.Random(7)
    reordered = trade_payload("put spread", _shuffled(list(reversed(LEGS)), rng), rate=0.0425)

    stored, rehashed = _store_and_rehash(
        db_connection, TradeVersion, "trade_hash", "trade_json", reordered, name="put spread"
    )

    assert content_hash(reordered) == content_hash(original)
    assert rehashed == content_hash(original)
    assert stored == original


@pytest.mark.postgres
def test_hashed_json_with_both_backends_reads_back_identical(
    request: pytest.FixtureRequest,
) -> None:
    engines: list[Engine] = [
        request.getfixturevalue("_shared_sqlite_engine"),
        request.getfixturevalue("_shared_pg_engine"),
    ]
    payload = trade_payload("condor", LEGS, rate=1e-7)
    results = []
    for engine in engines:
        with engine.connect() as conn, conn.begin() as outer:
            results.append(
                _store_and_rehash(conn, ModelConfig, "model_config_hash", "config_json", payload)
            )
            outer.rollback()

    (sqlite_json, sqlite_hash), (pg_json, pg_hash) = results
    assert sqlite_json == pg_json == payload
    assert sqlite_hash == pg_hash == content_hash(payload)


def test_hashed_json_with_exponent_float_keeps_its_hash(db_connection: Connection) -> None:
    payload = {"spot_steps": [1e16, 1.7976931348623157e308, 5e-324, -0.0, 0.1]}

    stored, rehashed = _store_and_rehash(
        db_connection, ModelConfig, "model_config_hash", "config_json", payload
    )

    assert rehashed == content_hash(payload)
    assert isinstance(stored["spot_steps"][0], float)


json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**53), max_value=2**53),
    st.floats(allow_nan=False, allow_infinity=False, allow_subnormal=False, width=64),
    st.text(
        alphabet=st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=12
    ),
    st.decimals(
        allow_nan=False, allow_infinity=False, places=4, min_value=-(10**9), max_value=10**9
    ),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(alphabet="abcxyz_", min_size=1, max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    grid=st.dictionaries(
        st.text(alphabet="abcdef", min_size=1, max_size=5), json_values, min_size=1, max_size=5
    )
)
def test_scenario_grid_with_any_json_rehashes_equal(
    db_connection: Connection, grid: dict[str, Any]
) -> None:
    payload = canonicalize(grid)

    with db_connection.begin_nested() as example:
        stored, rehashed = _store_and_rehash(
            db_connection, ScenarioGrid, "scenario_grid_hash", "grid_json", payload
        )
        example.rollback()

    assert stored == payload
    assert rehashed == content_hash(grid)
