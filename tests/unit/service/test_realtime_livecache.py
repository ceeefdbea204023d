"""LocalQuoteCache: TTL expiry on an injected clock, copies, bounds, JSON-only payloads."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest

from riskdesk.service.livecache import LocalQuoteCache, RedisQuoteCache, make_quote_cache


class FakeClock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


def test_local_quote_cache_with_ttl_returns_payload_until_expiry_then_none() -> None:
    clock = FakeClock()
    cache = LocalQuoteCache(clock=clock)

    async def scenario() -> list[dict[str, Any] | None]:
        await cache.put("SPY", {"spot": "501.25", "as_of": "2024-06-03T14:30:00Z"}, ttl=5.0)
        seen = [await cache.get("SPY")]
        clock.now += 4.99
        seen.append(await cache.get("SPY"))
        clock.now += 0.01
        seen.append(await cache.get("SPY"))
        return seen

    before, just_before, at_expiry = asyncio.run(scenario())

    assert before == {"spot": "501.25", "as_of": "2024-06-03T14:30:00Z"}
    assert just_before == before
    assert at_expiry is None
    assert len(cache) == 0


def test_local_quote_cache_with_new_put_replaces_payload_and_ttl() -> None:
    clock = FakeClock()
    cache = LocalQuoteCache(clock=clock)

    async def scenario() -> tuple[Any, Any]:
        await cache.put("SPY", {"spot": "1"}, ttl=1.0)
        clock.now += 0.9
        await cache.put("SPY", {"spot": "2"}, ttl=1.0)
        clock.now += 0.9
        return await cache.get("SPY"), await cache.get("QQQ")

    assert asyncio.run(scenario()) == ({"spot": "2"}, None)


def test_local_quote_cache_with_mutated_result_keeps_stored_payload() -> None:
    cache = LocalQuoteCache(clock=FakeClock())

    async def scenario() -> Any:
        payload = {"legs": [1, 2]}
        await cache.put("SPY", payload, ttl=10.0)
        payload["legs"].append(3)
        got = await cache.get("SPY")
        assert got is not None
        got["legs"].append(4)
        return await cache.get("SPY")

    assert asyncio.run(scenario()) == {"legs": [1, 2]}


def test_local_quote_cache_with_many_symbols_stays_within_max_entries() -> None:
    cache = LocalQuoteCache(clock=FakeClock(), max_entries=10)

    async def scenario() -> Any:
        for i in range(100):
            await cache.put(f"SYM{i}", {"i": i}, ttl=60.0)
        return await cache.get("SYM99"), await cache.get("SYM0")

    newest, oldest = asyncio.run(scenario())

    assert len(cache) == 10
    assert newest == {"i": 99}
    assert oldest is None


@pytest.mark.parametrize(
    ("payload", "ttl", "error"),
    [
        ({"as_of": datetime(2024, 1, 1, tzinfo=UTC)}, 1.0, TypeError),
        ({"spot": "1"}, 0.0, ValueError),
        ({"spot": "1"}, float("nan"), ValueError),
    ],
)
def test_local_quote_cache_with_bad_put_raises_and_stores_nothing(
    payload: dict[str, Any], ttl: float, error: type[Exception]
) -> None:
    cache = LocalQuoteCache(clock=FakeClock())

    with pytest.raises(error):
        asyncio.run(cache.put("SPY", payload, ttl=ttl))
    assert len(cache) == 0


def test_make_quote_cache_with_and_without_url_picks_implementation() -> None:
    async def scenario() -> tuple[object, object]:
        local = make_quote_cache(None)
        shared = make_quote_cache("redis://127.0.0.1:1/0")
        await local.close()
        await shared.close()
        return local, shared

    local, shared = asyncio.run(scenario())

    assert isinstance(local, LocalQuoteCache)
    assert isinstance(shared, RedisQuoteCache)
