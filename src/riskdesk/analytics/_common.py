"""Shared pieces of the analytics engines: issues, finite-JSON guard, float helpers."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "FloatArray",
    "Issue",
    "NonFiniteResultError",
    "check_finite_json",
    "float_list",
    "iso_utc",
]

FloatArray = npt.NDArray[np.float64]


class NonFiniteResultError(RuntimeError):
    """A NaN or infinity was about to be emitted in a result: a bug, never a user error."""


@dataclass(frozen=True, slots=True)
class Issue:
    """A warning or error of an analytics run.

    ``code`` is a stable snake_case identifier, ``leg`` the leg reference it concerns (a draft
    ``leg_id`` or ``legN`` for a committed version) or None for trade-level issues, and
    ``message`` says what happened and what to do.
    """

    code: str
    message: str
    leg: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return ``{"code", "leg", "message"}``."""
        return {"code": self.code, "leg": self.leg, "message": self.message}


def check_finite_json(value: Any, path: str = "$") -> None:
    """Raise :class:`NonFiniteResultError` naming the path of any non-finite float in ``value``.

    ``value`` must already be plain JSON types (dict with str keys, list, str, int, float, bool,
    None); anything else is refused too, so the result is guaranteed to serialize.
    """
    if value is None or isinstance(value, bool | str | int):
        if isinstance(value, int) and not isinstance(value, bool) and type(value) is not int:
            raise NonFiniteResultError(f"{path}: {type(value).__name__} is not a plain int")
        return
    if isinstance(value, float):
        if type(value) is not float:
            raise NonFiniteResultError(f"{path}: {type(value).__name__} is not a plain float")
        if not math.isfinite(value):
            raise NonFiniteResultError(f"{path}: non-finite float {value!r} in analytics output")
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise NonFiniteResultError(f"{path}: key {key!r} is not a string")
            check_finite_json(item, f"{path}.{key}")
        return
    if isinstance(value, list):
        for i, item in enumerate(value):
            check_finite_json(item, f"{path}[{i}]")
        return
    raise NonFiniteResultError(f"{path}: {type(value).__name__} is not a plain JSON type")


def float_list(values: FloatArray | Sequence[float]) -> Any:
    """Nested lists of plain floats (``-0.0`` folded to ``0.0``) from an array."""
    array = np.asarray(values, dtype=np.float64) + 0.0
    return array.tolist()


def iso_utc(value: datetime) -> str:
    """ISO-8601 UTC text with a ``Z`` suffix."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
