"""Canonical JSON and content hashes.

The same logical value gives the same bytes, and therefore the same SHA-256, on every run,
machine and database backend:

* object keys sorted, no insignificant whitespace, UTF-8;
* floats in shortest round-trip form (``repr``), ``-0.0`` folded to ``0.0``; NaN and
  infinities are refused (they are never valid inputs);
* :class:`~decimal.Decimal` as a plain string without exponent or trailing zeros
  (``Decimal("1.50")`` and ``Decimal("1.5")`` hash alike), so money never passes through float;
* timezone-aware datetimes as ISO-8601 UTC with a ``Z`` suffix (naive ones are refused),
  dates as ``YYYY-MM-DD``; enums by value; tuples, lists as arrays; sets sorted.

Example:
-------
>>> canonical_json({"b": 1.0, "a": Decimal("2.50")})
'{"a":"2.5","b":1.0}'

"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
import math
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

__all__ = ["CanonicalizationError", "canonical_json", "canonicalize", "content_hash", "decimal_str"]


class CanonicalizationError(ValueError):
    """A value cannot be put in canonical form (NaN, naive datetime, unknown type)."""


def decimal_str(value: Decimal) -> str:
    """Plain decimal string without exponent or trailing zeros (``1.50`` -> ``1.5``)."""
    if not value.is_finite():
        raise CanonicalizationError(f"decimal {value!r} is not finite")
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def _float_token(value: float, path: str) -> float:
    if not math.isfinite(value):
        raise CanonicalizationError(f"{path or 'value'}: float {value!r} is not finite")
    return 0.0 if value == 0.0 else float(value)


def canonicalize(value: Any, _path: str = "") -> Any:
    """Turn ``value`` into plain JSON types in canonical form (see module docstring)."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, enum.Enum):
        return canonicalize(value.value, _path)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return _float_token(value, _path)
    if isinstance(value, Decimal):
        return decimal_str(value)
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise CanonicalizationError(f"{_path or 'value'}: naive datetime {value!r}; use UTC")
        text = value.astimezone(UTC).isoformat()
        return text.replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if hasattr(value, "model_dump") and callable(value.model_dump):
        value = value.model_dump()
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise CanonicalizationError(f"{_path}: object key {key!r} is not a string")
            out[key] = canonicalize(item, f"{_path}.{key}" if _path else key)
        return out
    if isinstance(value, list | tuple):
        return [canonicalize(v, f"{_path}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, set | frozenset):
        items = [canonicalize(v, _path) for v in value]
        return sorted(items, key=lambda v: json.dumps(v, sort_keys=True))
    # numpy scalars without importing numpy here
    if hasattr(value, "item") and callable(value.item):
        return canonicalize(value.item(), _path)
    raise CanonicalizationError(f"{_path or 'value'}: cannot canonicalize {type(value).__name__}")


def canonical_json(value: Any) -> str:
    """Canonical JSON text of ``value``."""
    return json.dumps(
        canonicalize(value),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    )


def content_hash(value: Any) -> str:
    """SHA-256 hex digest of the canonical JSON of ``value``."""
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()
