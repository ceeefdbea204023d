"""LocalHub: ordering, fan-out, bounded queues with drop counts, thread-safe publishing."""

from __future__ import annotations

import asyncio
import threading
from decimal import Decimal
from typing import Any

import pytest

from riskdesk.service.pubsub import (
    LocalHub,
    RedisHub,
    Subscription,
    encode_message,
    make_hub,
    normalize_redis_url,
)


async def _take(sub: Subscription, n: int, *, timeout: float = 2.0) -> list[tuple[str, Any]]:
    got: list[tuple[str, Any]] = []

    async def collect() -> None:
        async for item in sub:
            got.append(item)
            if len(got) == n:
                return

    await asyncio.wait_for(collect(), timeout)
    return got


def test_local_hub_with_several_messages_delivers_them_in_order() -> None:
    async def scenario() -> list[tuple[str, Any]]:
        hub = LocalHub()
        await hub.start()
        async with hub.subscribe("market:SPY") as sub:
            for i in range(5):
                await hub.publish("market:SPY", {"seq": i})
            got = await _take(sub, 5)
        await hub.close()
        return got

    got = asyncio.run(scenario())

    assert got == [("market:SPY", {"seq": i}) for i in range(5)]


def test_local_hub_with_two_subscribers_fans_out_to_both() -> None:
    async def scenario() -> tuple[list[Any], list[Any]]:
        hub = LocalHub()
        await hub.start()
        async with hub.subscribe("events") as a, hub.subscribe("events", "jobs:7") as b:
            await hub.publish("events", {"kind": "signal"})
            await hub.publish("jobs:7", {"progress": 0.5})
            got_a = await _take(a, 1)
            got_b = await _take(b, 2)
        await hub.close()
        return got_a, got_b

    got_a, got_b = asyncio.run(scenario())

    assert got_a == [("events", {"kind": "signal"})]
    assert got_b == [("events", {"kind": "signal"}), ("jobs:7", {"progress": 0.5})]


def test_local_hub_with_other_channel_does_not_deliver_it() -> None:
    async def scenario() -> list[tuple[str, Any]]:
        hub = LocalHub()
        await hub.start()
        async with hub.subscribe("market:SPY") as sub:
            await hub.publish("market:QQQ", {"spot": "1"})
            await hub.publish("market:SPY", {"spot": "2"})
            got = await _take(sub, 1)
        await hub.close()
        return got

    assert asyncio.run(scenario()) == [("market:SPY", {"spot": "2"})]


def test_local_hub_with_slow_subscriber_drops_oldest_and_reports_count() -> None:
    async def scenario() -> tuple[list[tuple[str, Any]], list[tuple[str, Any]]]:
        hub = LocalHub(queue_size=3)
        await hub.start()
        async with hub.subscribe("market:SPY") as sub:
            for i in range(10):  # nobody reads: 7 are dropped, the newest 3 kept
                await hub.publish("market:SPY", {"seq": i})
            first = await _take(sub, 3)
            await hub.publish("market:SPY", {"seq": 10})
            after = await _take(sub, 1)
        await hub.close()
        return first, after

    first, after = asyncio.run(scenario())

    assert first == [
        ("market:SPY", {"seq": 7, "dropped": 7}),
        ("market:SPY", {"seq": 8}),
        ("market:SPY", {"seq": 9}),
    ]
    assert after == [("market:SPY", {"seq": 10})]


def test_local_hub_with_slow_subscriber_does_not_slow_a_fast_one() -> None:
    async def scenario() -> list[tuple[str, Any]]:
        hub = LocalHub(queue_size=2)
        await hub.start()
        async with hub.subscribe("events") as _slow, hub.subscribe("events") as fast:
            got: list[tuple[str, Any]] = []
            for i in range(50):
                await hub.publish("events", {"seq": i})
                got += await _take(fast, 1)
        await hub.close()
        return got

    got = asyncio.run(scenario())

    assert [message["seq"] for _, message in got] == list(range(50))
    assert all("dropped" not in message for _, message in got)


def test_local_hub_with_publish_from_threads_delivers_every_message() -> None:
    async def scenario() -> list[tuple[str, Any]]:
        hub = LocalHub()
        await hub.start()
        async with hub.subscribe("jobs:1") as sub:

            def worker(offset: int) -> None:
                for i in range(20):
                    hub.publish_threadsafe("jobs:1", {"n": offset + i})

            threads = [threading.Thread(target=worker, args=(k * 100,)) for k in range(3)]
            for thread in threads:
                thread.start()
            got = await _take(sub, 60)
            for thread in threads:
                thread.join()
        await hub.close()
        return got

    got = asyncio.run(scenario())

    numbers = [message["n"] for _, message in got]
    assert sorted(numbers) == sorted(k * 100 + i for k in range(3) for i in range(20))
    for k in range(3):  # each thread's own messages stay in order
        own = [n for n in numbers if k * 100 <= n < k * 100 + 100]
        assert own == sorted(own)


def test_local_hub_with_publish_threadsafe_before_start_raises_runtime_error() -> None:
    hub = LocalHub()

    with pytest.raises(RuntimeError, match=r"before `await hub.start\(\)`"):
        hub.publish_threadsafe("events", {"a": 1})


def test_local_hub_with_close_ends_subscriber_iteration() -> None:
    async def scenario() -> list[tuple[str, Any]]:
        hub = LocalHub()
        await hub.start()
        got: list[tuple[str, Any]] = []
        async with hub.subscribe("events") as sub:

            async def read() -> None:
                async for item in sub:
                    got.append(item)

            reader = asyncio.create_task(read())
            await hub.publish("events", {"last": True})
            await asyncio.sleep(0)
            await hub.close()
            await asyncio.wait_for(reader, 2.0)
        hub.publish_threadsafe("events", {"ignored": True})  # closed: a no-op
        return got

    assert asyncio.run(scenario()) == [("events", {"last": True})]


def test_local_hub_with_exited_subscription_stops_delivering() -> None:
    async def scenario() -> int:
        hub = LocalHub()
        await hub.start()
        async with hub.subscribe("events"):
            pass
        await hub.publish("events", {"a": 1})
        count = sum(len(members) for members in hub._fanout.by_channel.values())
        await hub.close()
        return count

    assert asyncio.run(scenario()) == 0


@pytest.mark.parametrize(
    "message",
    [
        {"price": Decimal("1.5")},
        {"values": {1, 2}},
        {"nan": float("nan")},
        ["not", "a", "mapping"],
    ],
)
def test_local_hub_with_non_json_message_raises_type_error(message: Any) -> None:
    async def scenario() -> None:
        hub = LocalHub()
        await hub.start()
        try:
            await hub.publish("events", message)
        finally:
            await hub.close()

    with pytest.raises(TypeError, match=r"mapping|not JSON"):
        asyncio.run(scenario())


def test_local_hub_with_non_json_message_from_thread_raises_in_caller() -> None:
    async def scenario() -> None:
        hub = LocalHub()
        await hub.start()
        try:
            hub.publish_threadsafe("events", {"price": Decimal("1")})
        finally:
            await hub.close()

    with pytest.raises(TypeError, match="decimals and datetimes"):
        asyncio.run(scenario())


@pytest.mark.parametrize("channels", [(), ("",), ("bad channel",)])
def test_local_hub_with_bad_channels_raises_value_error(channels: tuple[str, ...]) -> None:
    hub = LocalHub()

    with pytest.raises(ValueError, match="channel"):
        hub.subscribe(*channels)


def test_encode_message_with_json_object_returns_compact_text() -> None:
    assert encode_message({"a": [1, "x", None], "b": {"c": True}}) == (
        '{"a":[1,"x",null],"b":{"c":true}}'
    )


def test_make_hub_with_no_or_blank_url_returns_local_hub() -> None:
    assert isinstance(make_hub(None), LocalHub)
    assert isinstance(make_hub("  "), LocalHub)


def test_make_hub_with_redis_url_returns_redis_hub() -> None:
    async def scenario() -> object:
        hub = make_hub("redis://127.0.0.1:1/0")  # nothing is contacted before start()
        await hub.close()
        return hub

    assert isinstance(asyncio.run(scenario()), RedisHub)


def test_normalize_redis_url_with_other_scheme_raises_value_error() -> None:
    with pytest.raises(ValueError, match="redis://"):
        normalize_redis_url("http://127.0.0.1:6379")


def test_redis_hub_with_closed_port_fails_to_start_with_connection_error() -> None:
    from redis.exceptions import ConnectionError as RedisConnectionError

    async def scenario() -> None:
        hub = RedisHub("redis://127.0.0.1:1/0")
        try:
            await hub.start()
        finally:
            await hub.close()

    with pytest.raises(RedisConnectionError):
        asyncio.run(scenario())
