"""The Arrow text forms of the column-wise snapshot store equal the per-value Python forms."""

from __future__ import annotations

import random
import uuid
from decimal import ROUND_HALF_UP, Decimal

import pyarrow as pa

from riskdesk.domain.hashing import decimal_str
from riskdesk.domain.option_table import AMOUNT_TYPE
from riskdesk.store._snapshot_rows import _uuid_text, amount_text
from riskdesk.store.types import new_id_block

_EDGES = [
    Decimal("0.00000001"),
    Decimal("0.5"),
    Decimal("1"),
    Decimal("100.10000000"),
    Decimal("-2.25"),
    Decimal("-0.00000001"),
    Decimal("0"),
    Decimal("92233720368.54775807"),  # the largest amount held in an int64 of 1e-8
    Decimal("92233720368.54775808"),  # one more: the per-value fallback
    Decimal("999999999999.99999999"),
    Decimal("-999999999999.99999999"),
]


def _stored(value: Decimal) -> str:
    return format(value.quantize(Decimal("1E-8"), rounding=ROUND_HALF_UP), "f")


def test_amount_text_with_edge_amounts_equals_python_forms() -> None:
    # Arrange
    values: list[Decimal | None] = [*_EDGES, None]
    column = pa.array(values, AMOUNT_TYPE)

    # Act
    canonical = amount_text(column, stored=False).to_pylist()
    stored = amount_text(column, stored=True).to_pylist()

    # Assert
    assert canonical == [None if v is None else decimal_str(v) for v in values]
    assert stored == [None if v is None else _stored(v) for v in values]


def test_amount_text_with_random_amounts_in_int64_range_equals_python_forms() -> None:
    # Arrange
    rng = random.Random(14)
    values = [
        Decimal(rng.randrange(-(2**63) + 1, 2**63) // 10 ** rng.randrange(0, 19)).scaleb(-8)
        for _ in range(2000)
    ]
    column = pa.chunked_array(
        [pa.array(values[:700], AMOUNT_TYPE), pa.array(values[700:], AMOUNT_TYPE)]
    )

    # Act
    canonical = amount_text(column, stored=False).to_pylist()
    stored = amount_text(column, stored=True).to_pylist()

    # Assert
    assert canonical == [decimal_str(v) for v in values]
    assert stored == [_stored(v) for v in values]


def test_new_id_block_with_many_keys_has_the_new_id_layout() -> None:
    # Arrange / Act
    block = new_id_block(1000)
    keys = [uuid.UUID(bytes=block[16 * i : 16 * i + 16]) for i in range(1000)]

    # Assert
    assert len(set(keys)) == 1000
    assert all(k.version == 7 and k.variant == uuid.RFC_4122 for k in keys)
    assert len({k.int >> 80 for k in keys}) == 1  # one millisecond stamp for the block
    assert keys == sorted(keys)  # ascending: inserts append to the B-tree


def test_uuid_text_with_both_backends_equals_uuid_text_forms() -> None:
    # Arrange
    block = new_id_block(5)
    keys = [uuid.UUID(bytes=block[16 * i : 16 * i + 16]) for i in range(5)]

    # Act
    hexed = _uuid_text(block, hyphens=False).to_pylist()
    dashed = _uuid_text(block, hyphens=True).to_pylist()

    # Assert
    assert hexed == [k.hex for k in keys]
    assert dashed == [str(k) for k in keys]
