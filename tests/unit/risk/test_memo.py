"""The content-keyed memo of risk computations: keys, LRU bound, single flight, frozen values."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from types import MappingProxyType

import numpy as np
import pytest

from riskdesk.risk.memo import ContentCache, content_key, freeze


@dataclass(frozen=True)
class _Leg:
    symbol: str
    quantity: Decimal


@dataclass(frozen=True)
class _OtherLeg:
    symbol: str
    quantity: Decimal


def test_content_key_with_equal_inputs_is_equal_and_any_difference_changes_it() -> None:
    base = (
        "var",
        (_Leg("AAPL", Decimal("100")),),
        {"AAPL": 205.4, "SPY": 561.8},
        np.array([[0.01, -0.02], [0.0, 0.03]]),
        date(2026, 11, 20),
        datetime(2026, 11, 20, 21, tzinfo=UTC),
        uuid.UUID(int=7),
        None,
        250,
    )
    again = (
        "var",
        (_Leg("AAPL", Decimal("100")),),
        MappingProxyType({"AAPL": 205.4, "SPY": 561.8}),
        np.array([[0.01, -0.02], [0.0, 0.03]]),
        date(2026, 11, 20),
        datetime(2026, 11, 20, 21, tzinfo=UTC),
        uuid.UUID(int=7),
        None,
        250,
    )
    assert content_key(*base) == content_key(*again)

    changed: list[tuple[int, object]] = [
        (1, (_Leg("AAPL", Decimal("101")),)),  # a position edited
        (1, (_OtherLeg("AAPL", Decimal("100")),)),  # same fields, another class
        (2, {"AAPL": 205.4, "SPY": 561.8000000000001}),  # one ulp on a spot
        (3, np.array([[0.01, -0.02], [0.0, 0.03000000000000001]])),  # one ulp on a return
        (3, np.array([[0.01, -0.02, 0.0, 0.03]])),  # same bytes, another shape
        (3, np.array([[0.01, -0.02], [0.0, 0.03]], dtype=np.float32)),  # another dtype
        (4, date(2026, 11, 19)),
        (5, datetime(2026, 11, 20, 20, tzinfo=UTC)),
        (6, uuid.UUID(int=8)),
        (7, 0),
        (8, 251),
    ]
    keys = {content_key(*base)}
    for index, value in changed:
        parts: list[object] = list(base)
        parts[index] = value
        keys.add(content_key(*parts))
    assert len(keys) == len(changed) + 1


def test_content_key_with_exact_floats_tells_signed_zero_int_and_float_apart() -> None:
    assert content_key(0.0) != content_key(-0.0)
    assert content_key(1) != content_key(1.0)
    assert content_key(True) != content_key(1)
    assert content_key(np.float64(0.1)) == content_key(0.1)
    assert content_key(np.int64(3)) == content_key(3)
    assert content_key(("a", "b")) != content_key(("ab",))
    assert content_key({"a": 1, "b": 2}) != content_key({"b": 2, "a": 1})  # order kept


def test_content_key_with_an_unknown_object_refuses_instead_of_a_repr() -> None:
    class Opaque:
        pass

    with pytest.raises(TypeError, match=r"cannot encode a .*Opaque"):
        content_key({"x": Opaque()})
    with pytest.raises(TypeError, match="Python objects"):
        content_key(np.array([object()]))


def test_cache_with_the_same_key_computes_once_and_returns_the_same_value() -> None:
    cache = ContentCache(maxsize=4)
    calls: list[int] = []

    def compute() -> np.ndarray:
        calls.append(1)
        return np.arange(3.0)

    first = cache.get_or_compute(content_key("k"), compute)
    second = cache.get_or_compute(content_key("k"), compute)

    assert second is first
    assert len(calls) == 1
    stats = cache.stats()
    assert (stats.hits, stats.misses, stats.size) == (1, 1, 1)


def test_cache_with_more_keys_than_maxsize_drops_the_least_recently_used() -> None:
    cache = ContentCache(maxsize=2)
    computed: list[str] = []

    def value(name: str) -> str:
        computed.append(name)
        return name

    cache.get_or_compute("a", lambda: value("a"))
    cache.get_or_compute("b", lambda: value("b"))
    cache.get_or_compute("a", lambda: value("a"))  # a is now the most recent
    cache.get_or_compute("c", lambda: value("c"))  # drops b
    cache.get_or_compute("a", lambda: value("a"))
    cache.get_or_compute("b", lambda: value("b"))

    assert computed == ["a", "b", "c", "b"]
    assert len(cache) == 2


def test_cache_with_concurrent_requests_for_one_key_computes_it_once() -> None:
    cache = ContentCache()
    calls: list[int] = []
    started = threading.Event()

    def slow() -> float:
        calls.append(1)
        started.set()
        time.sleep(0.05)
        return 42.0

    results: list[float] = []
    lock = threading.Lock()

    def ask() -> None:
        value = cache.get_or_compute("key", slow)
        with lock:
            results.append(value)

    threads = [threading.Thread(target=ask) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)

    assert results == [42.0] * 6
    assert len(calls) == 1
    assert cache.stats().hits == 5


def test_cache_with_a_failing_computation_stores_nothing_and_raises() -> None:
    cache = ContentCache()

    def boom() -> float:
        raise ValueError("no history")

    with pytest.raises(ValueError, match="no history"):
        cache.get_or_compute("key", boom)
    assert len(cache) == 0
    assert cache.get_or_compute("key", lambda: 1.0) == 1.0


def test_cache_with_a_stored_value_freezes_its_arrays() -> None:
    @dataclass(frozen=True)
    class Report:
        pnl: MappingProxyType[int, np.ndarray]
        parts: tuple[np.ndarray, ...]

    cache = ContentCache()
    report = cache.get_or_compute(
        "r", lambda: Report(MappingProxyType({1: np.zeros(3)}), (np.ones(2),))
    )

    with pytest.raises(ValueError, match="read-only"):
        report.pnl[1][0] = 1.0
    with pytest.raises(ValueError, match="read-only"):
        report.parts[0][0] = 0.0
    assert freeze([np.zeros(1)])[0].flags.writeable is False


def test_cache_with_a_bad_maxsize_refuses() -> None:
    with pytest.raises(ValueError, match="maxsize"):
        ContentCache(maxsize=0)
