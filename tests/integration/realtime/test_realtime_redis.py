"""RedisHub, RedisRateLimiter and RedisQuoteCache against a real Redis server.

Two instances on one Redis stand for two service processes.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
import redis
import redis.asyncio

from riskdesk.service.livecache import RedisQuoteCache
from riskdesk.service.pubsub import RedisHub, Subscription
from riskdesk.service.ratelimit import RedisRateLimiter

pytestmark = pytest.mark.redis


async def _take(sub: Subscription, n: int, *, timeout: float = 5.0) -> list[tuple[str, Any]]:
    got: list[tuple[str, Any]] = []

    async def collect() -> None:
        async for item in sub:
            got.append(item)
            if len(got) == n:
                return

    await asyncio.wait_for(collect(), timeout)
    return got


def test_redis_hub_with_two_instances_delivers_each_others_messages(redis_url: str) -> None:
    async def scenario() -> tuple[list[Any], list[Any]]:
        one, two = RedisHub(redis_url), RedisHub(redis_url)
        await one.start()
        await two.start()
        try:
            async with one.subscribe("market:SPY") as on_one, two.subscribe("market:SPY") as on_two:
                await one.publish("market:SPY", {"spot": "501.25", "seq": 1})
                await two.publish("market:SPY", {"spot": "501.50", "seq": 2})
                return await _take(on_one, 2), await _take(on_two, 2)
        finally:
            await one.close()
            await two.close()

    got_one, got_two = asyncio.run(scenario())

    expected = [
        ("market:SPY", {"spot": "501.25", "seq": 1}),
        ("market:SPY", {"spot": "501.50", "seq": 2}),
    ]
    assert got_one == expected
    assert got_two == expected


def test_redis_hub_with_two_local_subscribers_fans_out_and_filters_channels(
    redis_url: str,
) -> None:
    async def scenario() -> tuple[list[Any], list[Any]]:
        hub, other = RedisHub(redis_url), RedisHub(redis_url)
        await hub.start()
        await other.start()
        try:
            async with hub.subscribe("events") as a, hub.subscribe("events", "jobs:9") as b:
                await other.publish("jobs:9", {"progress": 0.25})
                await other.publish("user:3", {"ignored": True})
                await other.publish("events", {"kind": "order"})
                return await _take(a, 1), await _take(b, 2)
        finally:
            await hub.close()
            await other.close()

    got_a, got_b = asyncio.run(scenario())

    assert got_a == [("events", {"kind": "order"})]
    assert got_b == [("jobs:9", {"progress": 0.25}), ("events", {"kind": "order"})]


def test_redis_hub_with_publish_uses_prefixed_channel_and_json(redis_url: str) -> None:
    async def scenario() -> Any:
        raw = redis.asyncio.Redis.from_url(redis_url, decode_responses=True)
        listener = raw.pubsub()
        await listener.subscribe("riskdesk:user:42")
        await listener.get_message(timeout=2.0)  # the subscribe confirmation
        hub = RedisHub(redis_url)
        await hub.start()
        try:
            await hub.publish("user:42", {"pnl": "12.50"})
            return await listener.get_message(ignore_subscribe_messages=True, timeout=2.0)
        finally:
            await hub.close()
            await listener.aclose()  # type: ignore[no-untyped-call]
            await raw.aclose()

    message = asyncio.run(scenario())

    assert message["channel"] == "riskdesk:user:42"
    assert message["data"] == '{"pnl":"12.50"}'


def test_redis_hub_with_publish_from_thread_reaches_other_instance(redis_url: str) -> None:
    async def scenario() -> list[Any]:
        sender, receiver = RedisHub(redis_url), RedisHub(redis_url)
        await sender.start()
        await receiver.start()
        try:
            async with receiver.subscribe("jobs:5") as sub:

                def work() -> None:
                    for i in range(20):
                        sender.publish_threadsafe("jobs:5", {"n": i})

                thread = threading.Thread(target=work)
                thread.start()
                got = await _take(sub, 20)
                thread.join()
                return got
        finally:
            await sender.close()
            await receiver.close()

    got = asyncio.run(scenario())

    assert [message["n"] for _, message in got] == list(range(20))


def test_redis_hub_with_slow_subscriber_drops_oldest_and_reports_count(redis_url: str) -> None:
    async def scenario() -> list[Any]:
        hub = RedisHub(redis_url, queue_size=2)
        await hub.start()
        try:
            async with hub.subscribe("market:QQQ") as slow, hub.subscribe("market:QQQ") as probe:
                for i in range(6):
                    await hub.publish("market:QQQ", {"seq": i})
                await _take(probe, 2)  # let every message reach the queues
                await asyncio.sleep(0.05)
                return await _take(slow, 2)
        finally:
            await hub.close()

    got = asyncio.run(scenario())

    assert got == [("market:QQQ", {"seq": 4, "dropped": 4}), ("market:QQQ", {"seq": 5})]


def test_redis_hub_with_last_subscriber_gone_unsubscribes_from_redis(redis_url: str) -> None:
    async def scenario() -> tuple[int, int]:
        raw = redis.asyncio.Redis.from_url(redis_url)
        hub = RedisHub(redis_url)
        await hub.start()
        try:
            async with hub.subscribe("events"), hub.subscribe("events"):
                during = dict(await raw.pubsub_numsub("riskdesk:events"))[b"riskdesk:events"]
            after = dict(await raw.pubsub_numsub("riskdesk:events"))[b"riskdesk:events"]
            return during, after
        finally:
            await hub.close()
            await raw.aclose()

    assert asyncio.run(scenario()) == (1, 0)  # one Redis subscription for both subscribers


def test_redis_hub_with_non_json_message_raises_type_error(redis_url: str) -> None:
    async def scenario() -> None:
        hub = RedisHub(redis_url)
        await hub.start()
        try:
            await hub.publish("events", {"when": object()})
        finally:
            await hub.close()

    with pytest.raises(TypeError, match="not JSON"):
        asyncio.run(scenario())


def test_redis_rate_limiter_with_two_instances_shares_one_budget(redis_url: str) -> None:
    async def scenario() -> list[Any]:
        one, two = RedisRateLimiter(redis_url), RedisRateLimiter(redis_url)
        try:
            return [
                await (one if i % 2 else two).hit("api:user:1", limit=5, window=60.0)
                for i in range(7)
            ]
        finally:
            await one.close()
            await two.close()

    decisions = asyncio.run(scenario())

    assert [d.allowed for d in decisions] == [True] * 5 + [False, False]
    assert [d.remaining for d in decisions] == [4, 3, 2, 1, 0, 0, 0]
    assert all(d.limit == 5 for d in decisions)
    assert decisions[0].reset_after == 0.0
    assert 11.0 < decisions[5].reset_after <= 12.0  # one interval (60 s / 5), less time spent


def test_redis_rate_limiter_with_window_elapsed_allows_again_and_expires_key(
    redis_url: str,
) -> None:
    async def scenario() -> tuple[list[bool], int, int]:
        limiter = RedisRateLimiter(redis_url)
        raw = redis.asyncio.Redis.from_url(redis_url)
        try:
            first = [(await limiter.hit("ip:a", limit=2, window=0.2)).allowed for _ in range(3)]
            other = await limiter.hit("ip:b", limit=2, window=0.2)
            ttl = await raw.pttl("riskdesk:ratelimit:ip:a")
            await asyncio.sleep(0.25)
            again = await limiter.hit("ip:a", limit=2, window=0.2)
            await asyncio.sleep(0.25)
            exists = await raw.exists("riskdesk:ratelimit:ip:a")
            return [*first, other.allowed, again.allowed], ttl, exists
        finally:
            await limiter.close()
            await raw.aclose()

    allowed, ttl, exists = asyncio.run(scenario())

    assert allowed == [True, True, False, True, True]
    assert 0 < ttl <= 200
    assert exists == 0


def test_redis_quote_cache_with_ttl_is_shared_then_expires(redis_url: str) -> None:
    async def scenario() -> tuple[Any, Any, Any]:
        writer, reader = RedisQuoteCache(redis_url), RedisQuoteCache(redis_url)
        try:
            await writer.put("SPY", {"spot": "501.25", "bid": "501.20"}, ttl=0.3)
            seen = await reader.get("SPY")
            missing = await reader.get("QQQ")
            await asyncio.sleep(0.4)
            return seen, missing, await reader.get("SPY")
        finally:
            await writer.close()
            await reader.close()

    seen, missing, expired = asyncio.run(scenario())

    assert seen == {"spot": "501.25", "bid": "501.20"}
    assert missing is None
    assert expired is None


def test_redis_hub_with_one_of_two_subscribers_gone_keeps_delivering_to_other(
    redis_url: str,
) -> None:
    async def scenario() -> list[Any]:
        hub, other = RedisHub(redis_url), RedisHub(redis_url)
        await hub.start()
        await other.start()
        try:
            async with hub.subscribe("market:IWM") as stays:
                async with hub.subscribe("market:IWM"):
                    pass
                await other.publish("market:IWM", {"spot": "200"})
                return await _take(stays, 1)
        finally:
            await hub.close()
            await other.close()

    assert asyncio.run(scenario()) == [("market:IWM", {"spot": "200"})]


def test_redis_hub_with_killed_connection_resubscribes_and_delivers(redis_url: str) -> None:
    async def scenario() -> list[Any]:
        raw = redis.asyncio.Redis.from_url(redis_url)
        hub, other = RedisHub(redis_url), RedisHub(redis_url)
        await hub.start()
        await other.start()
        try:
            async with hub.subscribe("events") as sub:
                killed = await raw.client_kill_filter(_type="pubsub")
                assert killed >= 1
                got: list[Any] = []
                for attempt in range(50):  # the reader reconnects and re-subscribes
                    await other.publish("events", {"attempt": attempt})
                    try:
                        got = await _take(sub, 1, timeout=0.2)
                        break
                    except TimeoutError:
                        continue
                return got
        finally:
            await hub.close()
            await other.close()
            await raw.aclose()

    got = asyncio.run(scenario())

    assert len(got) == 1
    assert got[0][0] == "events"


def test_redis_rate_limiter_with_script_cache_flushed_reloads_script(redis_url: str) -> None:
    async def scenario() -> list[bool]:
        limiter = RedisRateLimiter(redis_url)
        raw = redis.asyncio.Redis.from_url(redis_url)
        try:
            first = await limiter.hit("k", limit=2, window=60.0)
            await raw.script_flush()
            second = await limiter.hit("k", limit=2, window=60.0)
            third = await limiter.hit("k", limit=2, window=60.0)
            return [first.allowed, second.allowed, third.allowed]
        finally:
            await limiter.close()
            await raw.aclose()

    assert asyncio.run(scenario()) == [True, True, False]


def test_redis_hub_with_foreign_non_object_message_skips_it(redis_url: str) -> None:
    async def scenario() -> list[Any]:
        raw = redis.asyncio.Redis.from_url(redis_url)
        hub = RedisHub(redis_url)
        await hub.start()
        try:
            async with hub.subscribe("events") as sub:
                await raw.publish("riskdesk:events", "{not json")
                await raw.publish("riskdesk:events", "[1, 2]")
                await raw.publish("riskdesk:events", '{"ok": true}')
                return await _take(sub, 1)
        finally:
            await hub.close()
            await raw.aclose()

    assert asyncio.run(scenario()) == [("events", {"ok": True})]
