"""Column types that behave the same on SQLite and PostgreSQL.

* :class:`UTCDateTime` -- timezone-aware UTC in, timezone-aware UTC out; naive input is refused.
  PostgreSQL stores ``TIMESTAMPTZ``; SQLite stores the UTC wall time as fixed-width text
  (``YYYY-MM-DD HH:MM:SS.ffffff``), which sorts chronologically.
* :class:`DecimalType` -- exact decimals. PostgreSQL stores ``NUMERIC(p, s)``; SQLite stores
  the value quantized to ``s`` places as text (declared ``DECIMAL_TEXT``), because SQLite's own
  NUMERIC affinity goes through a double and keeps only 15 significant digits. Both backends
  round half away from zero to the column scale and refuse values that do not fit.
  On SQLite, compare or sort such columns through :func:`as_number` (CHECK constraints do).
* :data:`JSONType` -- ``JSON`` on SQLite, ``JSONB`` on PostgreSQL; Python ``None`` is SQL NULL.
* :func:`new_id` -- time-ordered UUIDs (version 7 layout) for primary keys.
"""

from __future__ import annotations

import enum
import json
import secrets
import time
import uuid
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from sqlalchemy import JSON, DateTime, Numeric, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler, TypeCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator, TypeEngine

from riskdesk.domain.hashing import canonical_json, canonicalize
from riskdesk.store.errors import NaiveDatetimeError, NumericValueError

__all__ = [
    "DecimalType",
    "JSONType",
    "UTCDateTime",
    "UtcNow",
    "as_number",
    "jsonable",
    "new_id",
    "utc_now",
]


def utc_now() -> datetime:
    """Return the current time, timezone-aware UTC (microsecond resolution)."""
    return datetime.now(UTC)


def new_id() -> uuid.UUID:
    """Make a new primary key: a UUID with the version-7 layout (48-bit Unix milliseconds, random tail).

    Keys created later sort later, which keeps B-tree inserts local on busy tables.
    """
    millis = time.time_ns() // 1_000_000
    rand = secrets.randbits(74)
    value = (millis & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76  # version 7
    value |= (rand >> 62) << 64  # 12 random bits (rand_a)
    value |= 0b10 << 62  # RFC 4122 variant
    value |= rand & ((1 << 62) - 1)  # 62 random bits (rand_b)
    return uuid.UUID(int=value)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC timestamps on every backend; naive datetimes are refused.

    Values are converted to UTC on the way in and come back as ``datetime`` with
    ``tzinfo=UTC`` on both backends.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    @property
    def python_type(self) -> type[datetime]:
        """Python type of the values: :class:`datetime.datetime`."""
        return datetime

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Refuse naive values; convert to UTC (naive UTC wall time on SQLite)."""
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise NaiveDatetimeError(
                f"expected a timezone-aware datetime, got {type(value).__name__} {value!r}"
            )
        if value.tzinfo is None or value.utcoffset() is None:
            raise NaiveDatetimeError(
                f"naive datetime {value!r} refused: pass a timezone-aware value, "
                "e.g. datetime(..., tzinfo=UTC)"
            )
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        """Return an aware UTC datetime."""
        if value is None:
            return None
        if isinstance(value, str):  # raw text written by a server default on SQLite
            value = datetime.fromisoformat(value)
        if not isinstance(value, datetime):
            raise TypeError(f"unexpected timestamp value {value!r}")
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class _DecimalText(String):
    """SQLite storage of exact decimals: text, declared ``DECIMAL_TEXT`` (TEXT affinity)."""

    __visit_name__ = "decimal_text"


@compiles(_DecimalText)
def _compile_decimal_text(element: _DecimalText, compiler: TypeCompiler, **kw: Any) -> str:
    return "DECIMAL_TEXT"


class DecimalType(TypeDecorator[Decimal]):
    """Exact decimal with ``precision`` total digits and ``scale`` digits after the point.

    Accepts :class:`~decimal.Decimal` and ``int`` (and ``float`` when ``allow_float`` is set,
    converted through its shortest repr). Values are rounded half away from zero to ``scale``
    places on both backends, so SQLite and PostgreSQL return the same Decimal.
    """

    impl = Numeric
    cache_ok = True

    def __init__(self, precision: int = 20, scale: int = 8, *, allow_float: bool = False) -> None:
        super().__init__(precision=precision, scale=scale, asdecimal=True)
        self.precision = precision
        self.scale = scale
        self.allow_float = allow_float
        self._quantum = Decimal(1).scaleb(-scale)
        self._limit = Decimal(10) ** (precision - scale)

    @property
    def python_type(self) -> type[Decimal]:
        """Python type of the values: :class:`decimal.Decimal`."""
        return Decimal

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        """Use ``DECIMAL_TEXT`` on SQLite and ``NUMERIC(p, s)`` elsewhere."""
        if dialect.name == "sqlite":
            return dialect.type_descriptor(_DecimalText())
        return dialect.type_descriptor(Numeric(self.precision, self.scale, asdecimal=True))

    def _coerce(self, value: Any) -> Decimal:
        if isinstance(value, bool):
            raise NumericValueError(f"boolean {value!r} is not a decimal amount")
        if isinstance(value, Decimal):
            number = value
        elif isinstance(value, int):
            number = Decimal(value)
        elif isinstance(value, float):
            if not self.allow_float:
                raise NumericValueError(
                    f"float {value!r} refused for an exact decimal column: pass "
                    f"Decimal(str(value)) so money never goes through binary floating point"
                )
            number = Decimal(repr(value))
        elif isinstance(value, str):
            try:
                number = Decimal(value)
            except InvalidOperation as exc:
                raise NumericValueError(f"{value!r} is not a decimal number") from exc
        else:
            raise NumericValueError(f"{type(value).__name__} {value!r} is not a decimal number")
        if not number.is_finite():
            raise NumericValueError(f"decimal {number!r} is not finite (NaN/Infinity refused)")
        quantized = number.quantize(self._quantum, rounding=ROUND_HALF_UP)
        if abs(quantized) >= self._limit:
            raise NumericValueError(
                f"{number} does not fit NUMERIC({self.precision},{self.scale}): "
                f"absolute value must be < {self._limit}"
            )
        return quantized

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        """Quantize to the column scale (text on SQLite); refuse what does not fit."""
        if value is None:
            return None
        number = self._coerce(value)
        if dialect.name == "sqlite":
            return format(number, "f")
        return number

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        """Return a Decimal with exactly ``scale`` places."""
        if value is None:
            return None
        if isinstance(value, Decimal):
            return value.quantize(self._quantum)
        if isinstance(value, float):  # arithmetic in SQL on SQLite can yield a REAL
            return Decimal(repr(value)).quantize(self._quantum, rounding=ROUND_HALF_UP)
        return Decimal(str(value)).quantize(self._quantum)


class CanonicalJSON(TypeDecorator[Any]):
    """JSON stored as its canonical text (:func:`riskdesk.domain.hashing.canonical_json`).

    For content-hashed payloads: JSONB would normalize numbers (``1e16`` comes back as the
    integer ``10000000000000000``) and change the hash, so these columns keep the exact
    canonical text on both backends (``TEXT``) and parse it on the way out. NaN is refused.
    """

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        """Serialize to canonical JSON text."""
        if value is None:
            return None
        return canonical_json(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        """Parse the stored JSON text."""
        if value is None:
            return None
        return json.loads(value)


JSONType: TypeEngine[Any] = JSON(none_as_null=True).with_variant(
    JSONB(none_as_null=True), "postgresql"
)
"""JSON on SQLite, JSONB on PostgreSQL. ``None`` is stored as SQL NULL, not JSON ``null``."""


class as_number(FunctionElement[Any]):
    """Compare a :class:`DecimalType` column numerically on every backend.

    Renders ``CAST(col AS REAL)`` on SQLite (where exact decimals are stored as text) and the
    bare column elsewhere. Used by CHECK constraints such as ``ask >= bid`` or ``qty > 0``.
    """

    name = "as_number"
    inherit_cache = True


@compiles(as_number)
def _compile_as_number(element: as_number, compiler: SQLCompiler, **kw: Any) -> str:
    return str(compiler.process(element.clauses, **kw))


@compiles(as_number, "sqlite")
def _compile_as_number_sqlite(element: as_number, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST({compiler.process(element.clauses, **kw)} AS REAL)"


class UtcNow(FunctionElement[datetime]):
    """Server-side "now" in the storage format of :class:`UTCDateTime` on each backend.

    PostgreSQL: ``now()``; SQLite: ``strftime('%Y-%m-%d %H:%M:%f000','now')`` -- the same
    fixed-width text the ORM writes, so rows written by raw SQL sort with ORM rows.
    """

    name = "utc_now"
    inherit_cache = True
    type = UTCDateTime()


@compiles(UtcNow)
def _compile_utcnow(element: UtcNow, compiler: SQLCompiler, **kw: Any) -> str:
    return "now()"


@compiles(UtcNow, "sqlite")
def _compile_utcnow_sqlite(element: UtcNow, compiler: SQLCompiler, **kw: Any) -> str:
    return "(strftime('%Y-%m-%d %H:%M:%f000', 'now'))"


def jsonable(value: Any) -> Any:
    """Plain JSON types for audit payloads: Decimals as strings, datetimes as ISO UTC.

    UUIDs become their string form; everything else follows
    :func:`riskdesk.domain.hashing.canonicalize` (naive datetimes and NaN are refused).
    """
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, enum.Enum):
        return jsonable(value.value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return canonicalize(value)


def new_id_block(count: int) -> bytes:
    """``count`` new primary keys at once, ascending: 16 bytes of a UUID per key.

    Each key has :func:`new_id`'s version-7 layout (48-bit Unix milliseconds, version 7,
    RFC 4122 variant); all share the current millisecond, and the 26 bits after the version
    hold the key's position in the block (RFC 9562's fixed-length counter), so the keys
    ascend and inserting them appends to the B-tree. The last 48 bits are random. Key ``i``
    is ``uuid.UUID(bytes=block[16 * i : 16 * i + 16])``; built with numpy for chain-size
    writes (a million keys in milliseconds).

    Raises
    ------
    ValueError
        When ``count`` is negative or above 2**26 (the counter's range).

    """
    import numpy as np

    if not 0 <= count <= 1 << 26:
        raise ValueError(f"new_id_block: count must be in [0, 2**26], got {count}")
    millis = time.time_ns() // 1_000_000
    keys = np.frombuffer(secrets.token_bytes(16 * count), dtype=np.uint8).reshape(count, 16).copy()
    keys[:, :6] = np.frombuffer((millis & ((1 << 48) - 1)).to_bytes(6, "big"), dtype=np.uint8)
    counter = np.arange(count, dtype=np.uint32)
    keys[:, 6] = 0x70 | ((counter >> 22) & 0x0F)  # version 7, then the counter's top 4 bits
    keys[:, 7] = (counter >> 14) & 0xFF
    keys[:, 8] = 0x80 | ((counter >> 8) & 0x3F)  # RFC 4122 variant, 6 counter bits
    keys[:, 9] = counter & 0xFF
    return keys.tobytes()
