"""Publish/subscribe hub for the service's live channels (WebSockets, job progress, events).

Channels used by the service: ``market:{SYMBOL}``, ``jobs:{job_id}``, ``user:{user_id}`` and
``events``. A message is a JSON object (a mapping with JSON values only: decimals and
datetimes are turned into strings by the caller); anything else is refused with
:class:`TypeError` at publish time, on both implementations, so in-process tests catch what
Redis would refuse.

Two implementations share one fan-out core:

* :class:`LocalHub` -- one process: messages go straight to the subscribers' queues.
* :class:`RedisHub` -- several processes: messages go through Redis ``PUBLISH`` on channels
  prefixed ``riskdesk:``; each hub holds ONE Redis subscriber connection for all of its
  local subscribers, so a message published by any process reaches the subscribers of every
  process.

Every subscriber has its own bounded queue. A subscriber that does not keep up loses its
oldest messages, never blocks a publisher, and the next message it receives carries
``"dropped": N`` (the number of messages it lost since the previous one it received).

Examples
--------
>>> async def demo() -> None:  # doctest: +SKIP
...     hub = make_hub(None)
...     await hub.start()
...     async with hub.subscribe("market:SPY") as sub:
...         await hub.publish("market:SPY", {"spot": "501.25"})
...         async for channel, message in sub:
...             break
...     await hub.close()

"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import deque
from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.asyncio.client import PubSub

__all__ = [
    "CHANNEL_PREFIX",
    "DEFAULT_QUEUE_SIZE",
    "Hub",
    "LocalHub",
    "RedisHub",
    "Subscription",
    "encode_message",
    "make_hub",
    "normalize_redis_url",
]

_log = logging.getLogger(__name__)

CHANNEL_PREFIX = "riskdesk:"
"""Prefix of every Redis channel the hub publishes to or subscribes to."""

DEFAULT_QUEUE_SIZE = 256
"""Messages a subscriber may have waiting before its oldest ones are dropped."""

_MAX_CHANNEL_LENGTH = 200
_SUBSCRIBE_TIMEOUT = 10.0
_OUTBOX_SIZE = 10_000


def encode_message(message: Mapping[str, Any]) -> str:
    """The compact JSON text of a message, or :class:`TypeError` when it is not JSON.

    Parameters
    ----------
    message
        A mapping whose values are JSON values (str, int, float, bool, None, lists and
        mappings of them). Decimals and datetimes must already be strings.

    Returns
    -------
    str
        Compact JSON text of the object.

    Raises
    ------
    TypeError
        When ``message`` is not a mapping, or holds a value JSON cannot carry (a Decimal,
        a datetime, a set, NaN or an infinity, ...).

    """
    if not isinstance(message, Mapping):
        raise TypeError(f"message must be a mapping (a JSON object), got {type(message).__name__}")
    try:
        return json.dumps(dict(message), separators=(",", ":"), allow_nan=False)
    except ValueError as exc:  # NaN / Infinity: not JSON
        raise TypeError(f"message is not JSON: {exc} (send non-finite numbers as strings)") from exc
    except TypeError as exc:
        raise TypeError(
            f"message is not JSON: {exc} (turn decimals and datetimes into strings first)"
        ) from exc


def _is_json_object(text: str) -> bool:
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False


def _check_channel(channel: str) -> str:
    if not isinstance(channel, str) or not channel:
        raise ValueError(f"channel must be a non-empty string, got {channel!r}")
    if len(channel) > _MAX_CHANNEL_LENGTH:
        raise ValueError(
            f"channel {channel[:40]!r}... is {len(channel)} characters long; "
            f"the limit is {_MAX_CHANNEL_LENGTH}"
        )
    if any(ch.isspace() or not ch.isprintable() for ch in channel):
        raise ValueError(f"channel {channel!r} must not contain spaces or control characters")
    return channel


class Subscription(Protocol):
    """Messages of the subscribed channels, in publish order per publisher.

    Iterating yields ``(channel, message)`` pairs; iteration ends when the hub closes.
    """

    def __aiter__(self) -> AsyncIterator[tuple[str, dict[str, Any]]]: ...


class Hub(Protocol):
    """The publish/subscribe hub the service codes against."""

    async def publish(self, channel: str, message: Mapping[str, Any]) -> None:
        """Send ``message`` to every subscriber of ``channel`` (in every process)."""
        ...

    def publish_threadsafe(self, channel: str, message: Mapping[str, Any]) -> None:
        """Like :meth:`publish`, callable from any thread; never blocks."""
        ...

    def subscribe(self, *channels: str) -> AbstractAsyncContextManager[Subscription]:
        """A subscription to ``channels``, active inside the ``async with`` block."""
        ...

    async def start(self) -> None:
        """Bind to the running event loop (and connect, for Redis)."""
        ...

    async def close(self) -> None:
        """End every subscription and release connections."""
        ...


class _Subscriber:
    """One subscriber's bounded queue; touched only on the hub's event loop."""

    def __init__(self, channels: frozenset[str], maxlen: int) -> None:
        self.channels = channels
        self._queue: deque[tuple[str, str]] = deque(maxlen=maxlen)
        self._dropped = 0
        self._wakeup = asyncio.Event()
        self._closed = False

    def push(self, channel: str, text: str) -> None:
        if self._closed:
            return
        if len(self._queue) == self._queue.maxlen:
            self._dropped += 1  # deque(maxlen) drops the oldest on append
        self._queue.append((channel, text))
        self._wakeup.set()

    def end(self) -> None:
        self._closed = True
        self._wakeup.set()

    def __aiter__(self) -> _Subscriber:
        return self

    async def __anext__(self) -> tuple[str, dict[str, Any]]:
        while not self._queue:
            if self._closed:
                raise StopAsyncIteration
            self._wakeup.clear()
            await self._wakeup.wait()
        channel, text = self._queue.popleft()
        message: dict[str, Any] = json.loads(text)
        if self._dropped:
            message["dropped"] = self._dropped
            self._dropped = 0
        return channel, message


class _FanOut:
    """Channel -> subscribers index shared by both hubs (event-loop thread only)."""

    def __init__(self, queue_size: int) -> None:
        if isinstance(queue_size, bool) or not isinstance(queue_size, int) or queue_size < 1:
            raise ValueError(f"queue_size must be a positive integer, got {queue_size!r}")
        self.queue_size = queue_size
        self.by_channel: dict[str, set[_Subscriber]] = {}

    def add(self, channels: frozenset[str]) -> tuple[_Subscriber, list[str]]:
        """Register a subscriber; also returns the channels that had no subscriber before."""
        subscriber = _Subscriber(channels, self.queue_size)
        new = []
        for channel in sorted(channels):
            members = self.by_channel.setdefault(channel, set())
            if not members:
                new.append(channel)
            members.add(subscriber)
        return subscriber, new

    def remove(self, subscriber: _Subscriber) -> list[str]:
        """Unregister a subscriber; returns the channels left with no subscriber."""
        subscriber.end()
        emptied = []
        for channel in sorted(subscriber.channels):
            members = self.by_channel.get(channel)
            if members is None:
                continue
            members.discard(subscriber)
            if not members:
                del self.by_channel[channel]
                emptied.append(channel)
        return emptied

    def deliver(self, channel: str, text: str) -> None:
        for subscriber in tuple(self.by_channel.get(channel, ())):
            subscriber.push(channel, text)

    def end_all(self) -> None:
        for members in self.by_channel.values():
            for subscriber in members:
                subscriber.end()
        self.by_channel.clear()


def _check_channels(channels: tuple[str, ...]) -> frozenset[str]:
    if not channels:
        raise ValueError("subscribe() needs at least one channel")
    return frozenset(_check_channel(channel) for channel in channels)


class LocalHub:
    """In-process hub: one bounded queue per subscriber, no external service.

    Parameters
    ----------
    queue_size
        Messages a subscriber may have waiting; past that its oldest are dropped and counted.

    """

    def __init__(self, *, queue_size: int = DEFAULT_QUEUE_SIZE) -> None:
        self._fanout = _FanOut(queue_size)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False

    async def start(self) -> None:
        """Bind the hub to the running event loop (idempotent)."""
        self._bind()

    def _bind(self) -> asyncio.AbstractEventLoop:
        if self._closed:
            raise RuntimeError("this hub is closed; create a new one")
        loop = asyncio.get_running_loop()
        if self._loop is None:
            self._loop = loop
        elif self._loop is not loop:
            raise RuntimeError("this hub is bound to another event loop; use one hub per loop")
        return loop

    async def publish(self, channel: str, message: Mapping[str, Any]) -> None:
        """Deliver ``message`` to the subscribers of ``channel`` (never waits on them)."""
        text = encode_message(message)
        _check_channel(channel)
        self._bind()
        self._fanout.deliver(channel, text)

    def publish_threadsafe(self, channel: str, message: Mapping[str, Any]) -> None:
        """Publish from any thread; a no-op once the hub is closed.

        Raises
        ------
        TypeError
            When ``message`` is not JSON (raised in the calling thread).
        RuntimeError
            When the hub was never started (it has no event loop to deliver on).

        """
        text = encode_message(message)
        _check_channel(channel)
        loop = self._loop
        if loop is None:
            raise RuntimeError("LocalHub.publish_threadsafe() called before `await hub.start()`")
        if self._closed:
            return
        try:
            loop.call_soon_threadsafe(self._fanout.deliver, channel, text)
        except RuntimeError:  # the loop closed under us: shutting down, nobody listens
            _log.debug("hub loop closed; dropped a message for %s", channel)

    @contextlib.asynccontextmanager
    async def _subscription(self, channels: frozenset[str]) -> AsyncIterator[Subscription]:
        self._bind()
        subscriber, _ = self._fanout.add(channels)
        try:
            yield subscriber
        finally:
            self._fanout.remove(subscriber)

    def subscribe(self, *channels: str) -> AbstractAsyncContextManager[Subscription]:
        """Subscribe to ``channels`` for the duration of an ``async with`` block."""
        return self._subscription(_check_channels(channels))

    async def close(self) -> None:
        """End every subscription (their iteration stops); later publishes are refused."""
        self._closed = True
        self._fanout.end_all()


class RedisHub:
    """Hub over Redis pub/sub: every process's subscribers see every process's messages.

    One Redis connection publishes and one (per hub) subscribes on behalf of all local
    subscribers; a reader task fans the messages out to their bounded queues, exactly as
    :class:`LocalHub` does. A lost connection is re-established (and the channels
    re-subscribed) by the reader; messages published while it was down are lost.

    Parameters
    ----------
    url
        A ``redis://``, ``rediss://`` or ``unix://`` URL.
    queue_size
        Messages a subscriber may have waiting; past that its oldest are dropped and counted.

    """

    def __init__(self, url: str, *, queue_size: int = DEFAULT_QUEUE_SIZE) -> None:
        from redis.asyncio import Redis

        self._fanout = _FanOut(queue_size)
        self._redis: Redis = Redis.from_url(
            url, decode_responses=True, socket_connect_timeout=5, socket_keepalive=True
        )
        self._pubsub: PubSub = self._redis.pubsub()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._reader: asyncio.Task[None] | None = None
        self._sender: asyncio.Task[None] | None = None
        self._outbox: deque[tuple[str, str]] = deque(maxlen=_OUTBOX_SIZE)
        self._outbox_ready = asyncio.Event()
        self._acks: dict[tuple[str, str], deque[asyncio.Future[None]]] = {}
        self._lock = asyncio.Lock()
        self._start_lock = asyncio.Lock()
        self._closed = False

    async def start(self) -> None:
        """Connect to Redis and start the reader (idempotent).

        Raises
        ------
        redis.exceptions.ConnectionError
            When Redis cannot be reached.

        """
        async with self._start_lock:
            if self._closed:
                raise RuntimeError("this hub is closed; create a new one")
            if self._loop is not None:
                return
            await self._redis.ping()
            await self._pubsub.connect()  # type: ignore[no-untyped-call]  # redis-py leaves it untyped
            self._loop = asyncio.get_running_loop()
            self._reader = asyncio.create_task(self._read(), name="riskdesk-hub-reader")
            self._sender = asyncio.create_task(self._send(), name="riskdesk-hub-sender")

    async def publish(self, channel: str, message: Mapping[str, Any]) -> None:
        """PUBLISH ``message`` on ``riskdesk:{channel}``.

        Raises
        ------
        TypeError
            When ``message`` is not JSON.
        redis.exceptions.ConnectionError
            When Redis cannot be reached.

        """
        text = encode_message(message)
        await self._redis.publish(CHANNEL_PREFIX + _check_channel(channel), text)

    def publish_threadsafe(self, channel: str, message: Mapping[str, Any]) -> None:
        """Queue ``message`` for publishing from any thread; never blocks.

        The outgoing queue is bounded: when Redis cannot keep up, the oldest queued messages
        are dropped (and logged). A no-op once the hub is closed.
        """
        text = encode_message(message)
        _check_channel(channel)
        loop = self._loop
        if loop is None:
            raise RuntimeError("RedisHub.publish_threadsafe() called before `await hub.start()`")
        if self._closed:
            return
        try:
            loop.call_soon_threadsafe(self._enqueue, channel, text)
        except RuntimeError:
            _log.debug("hub loop closed; dropped a message for %s", channel)

    def _enqueue(self, channel: str, text: str) -> None:
        if len(self._outbox) == self._outbox.maxlen:
            _log.warning("redis hub outbox full: dropped the oldest queued message")
        self._outbox.append((channel, text))
        self._outbox_ready.set()

    async def _send(self) -> None:
        while True:
            while not self._outbox:
                self._outbox_ready.clear()
                await self._outbox_ready.wait()
            channel, text = self._outbox[0]
            try:
                await self._redis.publish(CHANNEL_PREFIX + channel, text)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # keep the sender alive; Redis may come back
                _log.warning("redis publish to %s failed: %s", channel, exc)
                await asyncio.sleep(0.5)
                continue
            if self._outbox and self._outbox[0] == (channel, text):
                self._outbox.popleft()

    async def _read(self) -> None:
        backoff = 0.1
        while True:
            try:
                raw = await self._pubsub.get_message(timeout=None)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # connection lost: the next read reconnects
                _log.warning("redis hub reader: %s; retrying in %.1fs", exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            backoff = 0.1
            if raw is not None:
                self._dispatch(raw)

    def _dispatch(self, raw: Mapping[str, Any]) -> None:
        kind = raw.get("type")
        name = raw.get("channel")
        if not isinstance(name, str) or not name.startswith(CHANNEL_PREFIX):
            return
        channel = name[len(CHANNEL_PREFIX) :]
        if kind == "message":
            data = raw.get("data")
            if not self._fanout.by_channel.get(channel):
                return
            if not isinstance(data, str) or not _is_json_object(data):
                # another publisher's garbage must not break our subscribers
                _log.warning("ignored a message on %s that is not a JSON object", name)
                return
            self._fanout.deliver(channel, data)
        elif kind in ("subscribe", "unsubscribe"):
            waiting = self._acks.get((kind, channel))
            while waiting:
                future = waiting.popleft()
                if not future.done():
                    future.set_result(None)
                    break
            if waiting is not None and not waiting:
                del self._acks[(kind, channel)]

    async def _command(self, kind: str, channels: list[str]) -> None:
        """Send SUBSCRIBE/UNSUBSCRIBE and wait until Redis confirmed every channel."""
        if not channels:
            return
        loop = asyncio.get_running_loop()
        futures = []
        for channel in channels:
            future: asyncio.Future[None] = loop.create_future()
            self._acks.setdefault((kind, channel), deque()).append(future)
            futures.append(future)
        names = [CHANNEL_PREFIX + channel for channel in channels]
        if kind == "subscribe":
            await self._pubsub.subscribe(*names)
        else:
            await self._pubsub.unsubscribe(*names)
        try:
            async with asyncio.timeout(_SUBSCRIBE_TIMEOUT):
                await asyncio.gather(*futures)
        finally:
            for future in futures:
                future.cancel()

    @contextlib.asynccontextmanager
    async def _subscription(self, channels: frozenset[str]) -> AsyncIterator[Subscription]:
        if self._loop is None:
            await self.start()
        async with self._lock:
            subscriber, new = self._fanout.add(channels)
            try:
                await self._command("subscribe", new)
            except BaseException:
                emptied = self._fanout.remove(subscriber)
                if emptied:  # best effort, without waiting: Redis may be what failed
                    with contextlib.suppress(Exception):
                        await self._pubsub.unsubscribe(*(CHANNEL_PREFIX + c for c in emptied))
                raise
        try:
            yield subscriber
        finally:
            async with self._lock:
                await self._release(subscriber)

    async def _release(self, subscriber: _Subscriber) -> None:
        emptied = self._fanout.remove(subscriber)
        if emptied and not self._closed:
            try:
                await self._command("unsubscribe", emptied)
            except Exception as exc:  # the reader re-subscribes only to live channels
                _log.warning("redis unsubscribe of %s failed: %s", emptied, exc)

    def subscribe(self, *channels: str) -> AbstractAsyncContextManager[Subscription]:
        """Subscribe to ``channels`` (Redis ``riskdesk:{channel}``) inside ``async with``.

        On entry, Redis has confirmed the subscription: anything published after the
        ``async with`` line is received.
        """
        return self._subscription(_check_channels(channels))

    async def close(self) -> None:
        """End every subscription, flush nothing more, and close the Redis connections."""
        if self._closed:
            return
        self._closed = True
        self._fanout.end_all()
        for task in (self._reader, self._sender):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await self._pubsub.aclose()  # type: ignore[no-untyped-call]  # redis-py leaves it untyped
        await self._redis.aclose()


def normalize_redis_url(redis_url: str | None) -> str | None:
    """``redis_url`` stripped, or None when it is None or blank (Redis not configured).

    Raises
    ------
    ValueError
        When the URL's scheme is not ``redis``, ``rediss`` or ``unix``.

    """
    if redis_url is None or not redis_url.strip():
        return None
    url = redis_url.strip()
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise ValueError(
            f"Redis URL must start with redis://, rediss:// or unix://, got {url.split(':')[0]!r}"
        )
    return url


def make_hub(redis_url: str | None) -> Hub:
    """A :class:`RedisHub` when ``redis_url`` is set (not blank), else a :class:`LocalHub`."""
    url = normalize_redis_url(redis_url)
    return LocalHub() if url is None else RedisHub(url)
