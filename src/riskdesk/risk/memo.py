"""A content-keyed memo of pure risk computations, shared by the requests of one process.

The portfolio page asks for a book's VaR, exposures, Greeks, stress and factor model at once,
and again on every visit; the expensive parts (the Monte Carlo revaluation of the VaR, the
factor model fit) are pure functions of inputs that a request reads anyway (the positions,
the marks, the closes). :class:`ContentCache` remembers their results under
:func:`content_key` of *every* input they consume, so:

* **no stale number can be served.** There is nothing to invalidate: editing a position,
  importing history or storing a snapshot changes the inputs read by the next request, hence
  the key; an old entry is simply never asked for again and ages out of the LRU. This holds
  with several service workers on one PostgreSQL database, each with its own memo (a worker
  never trusts a version number another worker may not have bumped: it hashes what it read);
* a hit returns what the computation returned for those exact inputs (the computations are
  deterministic: a seeded Monte Carlo, no clock), so numbers never move;
* it is bounded (least recently used entries are dropped beyond ``maxsize``) and
  thread-safe; concurrent requests for one key compute it once (the others wait for it);
* cached values are frozen (their numpy arrays read-only), so a caller that would modify a
  shared result in place fails loudly instead of corrupting the next answer.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from decimal import Decimal
from typing import Any, TypeVar, cast

import numpy as np

__all__ = [
    "DEFAULT_MAXSIZE",
    "RISK_MEMO",
    "ContentCache",
    "MemoStats",
    "content_key",
    "freeze",
]

T = TypeVar("T")

DEFAULT_MAXSIZE = 64
"""Entries kept by :data:`RISK_MEMO` (a VaR entry holds ~20,000 scenario P&L: ~170 kB)."""
_MAX_DEPTH = 32


def _feed(h: Any, obj: object, depth: int) -> None:
    """Add ``obj``'s canonical encoding to the hash ``h`` (type-tagged, length-prefixed)."""
    if depth > _MAX_DEPTH:
        raise ValueError(f"content_key: inputs nested deeper than {_MAX_DEPTH} levels")
    if obj is None:
        h.update(b"N;")
    elif isinstance(obj, bool):
        h.update(b"B1;" if obj else b"B0;")
    elif isinstance(obj, enum.Enum):
        _text(h, b"E", f"{type(obj).__module__}.{type(obj).__qualname__}")
        _feed(h, obj.value, depth + 1)
    elif isinstance(obj, int):
        _text(h, b"I", str(obj))
    elif isinstance(obj, float):  # numpy.float64 too; hex is exact (and tells -0.0 from 0.0)
        _text(h, b"F", obj.hex())
    elif isinstance(obj, str):
        _text(h, b"S", obj)
    elif isinstance(obj, bytes):
        h.update(b"Y%d:" % len(obj))
        h.update(obj)
    elif isinstance(obj, Decimal):
        _text(h, b"D", str(obj))
    elif isinstance(obj, datetime | date | clock_time):
        _text(h, b"T", f"{type(obj).__name__}:{obj.isoformat()}")
    elif isinstance(obj, timedelta):
        _text(h, b"R", repr(obj))
    elif isinstance(obj, uuid.UUID):
        _text(h, b"U", obj.hex)
    elif isinstance(obj, np.ndarray):
        if obj.dtype.hasobject:
            raise TypeError("content_key cannot encode a numpy array of Python objects")
        _text(h, b"A", f"{obj.dtype.str}{obj.shape}")
        h.update(np.ascontiguousarray(obj).tobytes())
    elif isinstance(obj, np.generic):
        _feed(h, obj.item(), depth + 1)
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        fields = dataclasses.fields(obj)
        _text(h, b"C", f"{type(obj).__module__}.{type(obj).__qualname__}/{len(fields)}")
        for f in fields:
            _text(h, b"K", f.name)
            _feed(h, getattr(obj, f.name), depth + 1)
    elif isinstance(obj, Mapping):
        h.update(b"M%d:" % len(obj))
        for key, value in obj.items():  # in order: two orders are two keys (never a false hit)
            _feed(h, key, depth + 1)
            _feed(h, value, depth + 1)
    elif isinstance(obj, tuple | list):
        h.update(b"L%d:" % len(obj))
        for item in obj:
            _feed(h, item, depth + 1)
    elif isinstance(obj, set | frozenset):
        h.update(b"Z%d:" % len(obj))
        for digest in sorted(content_key(item) for item in obj):
            h.update(digest.encode("ascii"))
    else:
        raise TypeError(
            f"content_key cannot encode a {type(obj).__module__}.{type(obj).__qualname__}: "
            "pass plain values, dataclasses, mappings, sequences or numpy arrays"
        )


def _text(h: Any, tag: bytes, text: str) -> None:
    data = text.encode("utf-8")
    h.update(b"%s%d:" % (tag, len(data)))
    h.update(data)


def content_key(*parts: object) -> str:
    """The SHA-256 (hex) of the canonical encoding of ``parts``.

    Equal keys mean equal inputs: every value is encoded with its type and exact content
    (floats bit for bit, arrays with dtype, shape and bytes, dataclasses field by field with
    their class, mappings in their order). A value of another kind is refused (``TypeError``)
    rather than encoded by an approximate ``repr``.

    Examples
    --------
    >>> content_key(1.0) == content_key(1.0), content_key(1.0) == content_key(1)
    (True, False)

    """
    h = hashlib.sha256()
    _feed(h, parts, 0)
    return h.hexdigest()


def freeze(value: T) -> T:
    """Make the numpy arrays reachable from ``value`` read-only; returns ``value``.

    Arrays are found in dataclass fields, mapping values and sequence items, recursively.
    """
    _freeze(value, set(), 0)
    return value


def _freeze(obj: object, seen: set[int], depth: int) -> None:
    if depth > _MAX_DEPTH or id(obj) in seen:
        return
    if isinstance(obj, np.ndarray):
        obj.setflags(write=False)
        return
    if isinstance(obj, str | bytes | int | float | Decimal | date | uuid.UUID | type(None)):
        return
    seen.add(id(obj))
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        for f in dataclasses.fields(obj):
            _freeze(getattr(obj, f.name), seen, depth + 1)
    elif isinstance(obj, Mapping):
        for item in obj.values():
            _freeze(item, seen, depth + 1)
    elif isinstance(obj, tuple | list):
        for item in obj:
            _freeze(item, seen, depth + 1)


@dataclass(frozen=True, slots=True)
class MemoStats:
    """Counters of a :class:`ContentCache`: hits (shared in-flight results included)."""

    hits: int
    misses: int
    size: int
    maxsize: int


class _Pending:
    """A computation in flight: who waits for it reads ``value`` once ``done`` is set."""

    __slots__ = ("done", "ok", "value")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.ok = False
        self.value: object = None


class ContentCache:
    """A bounded, thread-safe LRU memo of computations keyed by :func:`content_key`.

    Parameters
    ----------
    maxsize
        Entries kept; the least recently used beyond it are dropped.

    """

    def __init__(self, maxsize: int = DEFAULT_MAXSIZE) -> None:
        if isinstance(maxsize, bool) or not isinstance(maxsize, int) or maxsize < 1:
            raise ValueError(f"maxsize must be a whole number >= 1, got {maxsize!r}")
        self.maxsize = maxsize
        self._lock = threading.Lock()
        self._items: OrderedDict[str, object] = OrderedDict()
        self._pending: dict[str, _Pending] = {}
        self._hits = 0
        self._misses = 0

    def get_or_compute(self, key: str, compute: Callable[[], T]) -> T:
        """The value stored under ``key``, else ``compute()`` (frozen, stored, returned).

        ``key`` must be :func:`content_key` of everything ``compute`` reads. While one thread
        computes a key, other threads asking for it wait and share its result; an exception
        is not stored (the waiters then compute it themselves).
        """
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                self._hits += 1
                return cast(T, self._items[key])
            pending = self._pending.get(key)
            owner = pending is None
            if pending is None:
                pending = self._pending[key] = _Pending()
                self._misses += 1
        if not owner:
            pending.done.wait()
            if pending.ok:
                with self._lock:
                    self._hits += 1
                return cast(T, pending.value)
            return freeze(compute())
        try:
            value = freeze(compute())
        except BaseException:
            with self._lock:
                del self._pending[key]
            pending.done.set()
            raise
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.maxsize:
                self._items.popitem(last=False)
            del self._pending[key]
            pending.value, pending.ok = value, True
        pending.done.set()
        return value

    def clear(self) -> None:
        """Forget every entry (computations in flight still finish and are stored)."""
        with self._lock:
            self._items.clear()

    def stats(self) -> MemoStats:
        """Hits, misses and the current size."""
        with self._lock:
            return MemoStats(self._hits, self._misses, len(self._items), self.maxsize)

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)


RISK_MEMO = ContentCache()
"""The process's memo of risk computations (:class:`~riskdesk.risk.reports.RiskReports`)."""
