"""Canonical JSON and content hashes.

The same logical value gives the same bytes, and therefore the same SHA-256, on every run,
machine and database backend:

* object keys sorted, no insignificant whitespace, UTF-8;
* floats in shortest round-trip form (``repr``), ``-0.0`` folded to ``0.0``; NaN and
  infinities are refused (they are never valid inputs);
* :class:`~decimal.Decimal` as a plain string without exponent or trailing zeros
  (``Decimal("1.50")`` and ``Decimal("1.5")`` hash alike), so money never passes through float;
* timezone-aware datetimes as ISO-8601 UTC with a ``Z`` suffix (naive ones are refused),
  dates as ``YYYY-MM-DD``; UUIDs as their hyphenated text; enums by value; tuples, lists as arrays; sets sorted.

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
import uuid
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

__all__ = [
    "CANONICAL_FORMAT_VERSION",
    "CanonicalizationError",
    "canonical_json",
    "canonicalize",
    "content_hash",
    "decimal_str",
]

CANONICAL_FORMAT_VERSION = 1
"""Version of the canonical form above, which every content hash is computed in.

Every stored content-hashed row records the version its hash was computed in (the
``hash_format`` column of snapshots, trade versions, model configs and scenario grids), and
loaders verify a row only under that version, refusing a row hashed under another one. The
version is kept beside the hash rather than inside the hashed bytes so that the hashes of
version 1 stay what they have always been. Any change to how a value is put in canonical form
(a new type, another float or decimal spelling) must bump it, and ship a migration that
rehashes stored rows; a test pins the canonical bytes and digest of a reference payload for
each version, so a change that forgets to bump it fails.
"""


class CanonicalizationError(ValueError):
    """A value cannot be put in canonical form (NaN, naive datetime, unknown type).

    ``path`` locates the value (``legs[2].strike``); the message names it.
    """

    def __init__(self, problem: str, path: str = "") -> None:
        self.problem = problem
        self.path = path
        super().__init__(f"{path or 'value'}: {problem}")

    def inside(self, key: str | int) -> CanonicalizationError:
        """The same error one level further out (``key`` prepended to the path)."""
        step = f"[{key}]" if isinstance(key, int) else str(key)
        if not self.path:
            path = step
        elif self.path.startswith("["):
            path = step + self.path
        else:
            path = f"{step}.{self.path}"
        return CanonicalizationError(self.problem, path)


def decimal_str(value: Decimal) -> str:
    """Plain decimal string without exponent or trailing zeros (``1.50`` -> ``1.5``)."""
    if not value.is_finite():
        raise CanonicalizationError(f"decimal {value!r} is not finite")
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def _float_token(value: float) -> float:
    if value - value != 0.0:  # NaN or +-inf
        raise CanonicalizationError(f"float {value!r} is not finite")
    return 0.0 if value == 0.0 else value


def canonicalize(value: Any) -> Any:
    """Turn ``value`` into plain JSON types in canonical form (see module docstring)."""
    kind = type(value)
    # Fast paths for the exact built-in types that make up almost every payload; the path
    # of a bad value is only assembled when an error unwinds (see CanonicalizationError).
    if kind is str or kind is bool or kind is int or value is None:
        return value
    if kind is float:
        return _float_token(value)
    if kind is Decimal:
        return decimal_str(value)
    if kind is dict:
        out: dict[str, Any] = {}
        for key, item in value.items():
            if type(key) is not str:
                raise CanonicalizationError(f"object key {key!r} is not a string")
            try:
                out[key] = canonicalize(item)
            except CanonicalizationError as exc:
                raise exc.inside(key) from None
        return out
    if kind is list or kind is tuple:
        return _canonical_list(value)
    if kind is datetime:
        return _datetime_token(value)
    return _canonicalize_other(value)


def _datetime_token(value: datetime) -> str:
    if value.tzinfo is None or value.utcoffset() is None:
        raise CanonicalizationError(f"naive datetime {value!r}; use UTC")
    if value.utcoffset() and value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.replace(tzinfo=None).isoformat() + "Z"


def _canonical_list(values: Any) -> list[Any]:
    out = []
    for index, item in enumerate(values):
        try:
            out.append(canonicalize(item))
        except CanonicalizationError as exc:
            raise exc.inside(index) from None
    return out


def _canonicalize_other(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return canonicalize(value.value)
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return _float_token(float(value))
    if isinstance(value, Decimal):
        return decimal_str(value)
    if isinstance(value, datetime):
        return _datetime_token(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return canonicalize({f.name: getattr(value, f.name) for f in dataclasses.fields(value)})
    if hasattr(value, "model_dump") and callable(value.model_dump):
        return canonicalize(value.model_dump())
    if isinstance(value, Mapping):
        return canonicalize(dict(value))
    if isinstance(value, list | tuple):
        return _canonical_list(value)
    if isinstance(value, set | frozenset):
        items = [canonicalize(v) for v in value]
        return sorted(items, key=lambda v: json.dumps(v, sort_keys=True))
    # numpy scalars without importing numpy here
    if hasattr(value, "item") and callable(value.item):
        return canonicalize(value.item())
    raise CanonicalizationError(f"cannot canonicalize {type(value).__name__}")


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
