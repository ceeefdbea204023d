"""Rate limits per user and per IP: GCRA, in-process or shared through Redis.

The algorithm is GCRA (the generic cell rate algorithm, a leaky bucket kept as one
timestamp per key): ``limit`` requests per ``window`` seconds means one request every
``window / limit`` seconds on average, with bursts of up to ``limit`` requests. Each key
stores its *theoretical arrival time* (TAT); a request at ``now`` is allowed when
``TAT + interval - window <= now``, and then moves the TAT one interval forward.

So a fresh key allows exactly ``limit`` requests at once, the next one is refused with
``reset_after`` = one interval, and after a full idle ``window`` the whole budget is back.
:class:`RateDecision` carries what the ``RateLimit-Limit``, ``RateLimit-Remaining`` and
``Retry-After`` headers need.

One key should always be hit with the same ``limit`` and ``window``: put the rule's name in
the key (``"login:ip:203.0.113.9"``, ``"api:user:42"``).

* :class:`LocalRateLimiter` -- one process; thread- and task-safe; memory bounded.
* :class:`RedisRateLimiter` -- the same algorithm in one Lua script (``EVALSHA``) on Redis's
  clock, so several processes share one budget per key.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from riskdesk.service.pubsub import normalize_redis_url

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.commands.core import AsyncScript

__all__ = [
    "KEY_PREFIX",
    "LocalRateLimiter",
    "RateDecision",
    "RateLimiter",
    "RedisRateLimiter",
    "make_rate_limiter",
]

KEY_PREFIX = "riskdesk:ratelimit:"
"""Prefix of the Redis keys holding the rate limiter's state."""

# Times within this many seconds of each other are equal (absorbs float rounding of
# window / limit, e.g. 60 / 7).
_EPSILON = 1e-9
_MAX_KEY_LENGTH = 512


@dataclass(frozen=True)
class RateDecision:
    """The outcome of one request against a rate limit.

    Attributes
    ----------
    allowed
        Whether the request may proceed.
    limit
        Requests allowed per window (``RateLimit-Limit``).
    remaining
        Requests still allowed right now after this one (``RateLimit-Remaining``).
    reset_after
        Seconds until a request is allowed again; 0 when this one was allowed
        (``Retry-After``, rounded up, on a refusal).

    """

    allowed: bool
    limit: int
    remaining: int
    reset_after: float


class RateLimiter(Protocol):
    """What the service's rate-limit middleware codes against."""

    async def hit(self, key: str, *, limit: int, window: float) -> RateDecision:
        """Count one request for ``key`` against ``limit`` requests per ``window`` seconds."""
        ...

    async def close(self) -> None:
        """Release resources (connections)."""
        ...


def _check(key: str, limit: int, window: float) -> None:
    if not isinstance(key, str) or not key:
        raise ValueError(f"rate-limit key must be a non-empty string, got {key!r}")
    if len(key) > _MAX_KEY_LENGTH:
        raise ValueError(
            f"rate-limit key is {len(key)} characters long; the limit is {_MAX_KEY_LENGTH}"
        )
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError(f"limit must be an integer >= 1, got {limit!r}")
    if (
        isinstance(window, bool)
        or not isinstance(window, int | float)
        or not math.isfinite(window)
        or window <= 0
    ):
        raise ValueError(f"window must be a finite number of seconds > 0, got {window!r}")


def _gcra(tat: float | None, now: float, limit: int, window: float) -> tuple[float, RateDecision]:
    """One GCRA step: the new TAT (unchanged when refused) and the decision."""
    interval = window / limit
    start = now if tat is None or tat < now else tat
    new_tat = start + interval
    allow_at = new_tat - window
    if allow_at > now + _EPSILON:
        return start, RateDecision(
            allowed=False, limit=limit, remaining=0, reset_after=allow_at - now
        )
    remaining = int((window - (new_tat - now)) / interval + _EPSILON)
    return new_tat, RateDecision(
        allowed=True, limit=limit, remaining=max(0, min(remaining, limit - 1)), reset_after=0.0
    )


class LocalRateLimiter:
    """In-process GCRA limiter.

    Parameters
    ----------
    clock
        Monotonic seconds; injectable for tests (default :func:`time.monotonic`).
    max_keys
        Keys tracked at most. Past that, keys whose budget is full again are forgotten first
        (forgetting them changes nothing), then the least recently used ones (which gives
        them their budget back early: the price of bounded memory).

    """

    def __init__(
        self, *, clock: Callable[[], float] = time.monotonic, max_keys: int = 100_000
    ) -> None:
        if isinstance(max_keys, bool) or not isinstance(max_keys, int) or max_keys < 1:
            raise ValueError(f"max_keys must be a positive integer, got {max_keys!r}")
        self._clock = clock
        self._max_keys = max_keys
        self._tats: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._tats)

    def hit_sync(self, key: str, *, limit: int, window: float) -> RateDecision:
        """:meth:`hit` for synchronous callers (threads)."""
        _check(key, limit, window)
        with self._lock:
            now = self._clock()
            tat, decision = _gcra(self._tats.get(key), now, limit, window)
            if decision.allowed:
                self._tats[key] = tat
                self._tats.move_to_end(key)
                if len(self._tats) > self._max_keys:
                    self._evict(now)
            return decision

    async def hit(self, key: str, *, limit: int, window: float) -> RateDecision:
        """Count one request for ``key``: at most ``limit`` per ``window`` seconds.

        Raises
        ------
        ValueError
            On an empty key, a ``limit`` below 1 or a non-positive ``window``.

        """
        return self.hit_sync(key, limit=limit, window=window)

    def _evict(self, now: float) -> None:
        idle = [key for key, tat in self._tats.items() if tat <= now]
        for key in idle:
            del self._tats[key]
        while len(self._tats) > self._max_keys:
            self._tats.popitem(last=False)

    async def close(self) -> None:
        """Forget every key."""
        with self._lock:
            self._tats.clear()


# GCRA on Redis's clock, in integer microseconds (exact in Lua's doubles up to 2^53).
# KEYS[1] the key; ARGV[1] limit, ARGV[2] window in microseconds.
# Returns {allowed (0/1), remaining, reset_after in microseconds}.
_LUA_GCRA = """
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local interval = window / limit
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1]))
if tat == nil or tat < now then tat = now end
local new_tat = tat + interval
local allow_at = new_tat - window
if allow_at > now then
  return {0, 0, math.ceil(allow_at - now)}
end
new_tat = math.floor(new_tat + 0.5)
redis.call('SET', KEYS[1], string.format('%.0f', new_tat),
           'PX', math.max(1, math.ceil((new_tat - now) / 1000)))
local remaining = math.floor((window - (new_tat - now)) / interval + 0.000001)
if remaining > limit - 1 then remaining = limit - 1 end
if remaining < 0 then remaining = 0 end
return {1, remaining, 0}
"""


class RedisRateLimiter:
    """GCRA on Redis: one budget per key shared by every process using the same Redis.

    Each :meth:`hit` is one atomic Lua script run (``EVALSHA``, loaded on first use); it
    reads Redis's own clock, so the processes' clocks need not agree. Keys expire once their
    budget is full again.

    Parameters
    ----------
    url
        A ``redis://``, ``rediss://`` or ``unix://`` URL.

    """

    def __init__(self, url: str) -> None:
        from redis.asyncio import Redis

        self._redis: Redis = Redis.from_url(url, socket_connect_timeout=5, socket_timeout=5)
        self._script: AsyncScript = self._redis.register_script(_LUA_GCRA)

    async def hit(self, key: str, *, limit: int, window: float) -> RateDecision:
        """Count one request for ``key``: at most ``limit`` per ``window`` seconds.

        Raises
        ------
        ValueError
            On an empty key, a ``limit`` below 1 or a non-positive ``window``.
        redis.exceptions.ConnectionError
            When Redis cannot be reached (the caller decides to fail open or closed).

        """
        _check(key, limit, window)
        window_us = max(1, round(window * 1_000_000))
        result = await self._script(keys=[KEY_PREFIX + key], args=[limit, window_us])
        allowed, remaining, reset_us = (int(value) for value in result)
        return RateDecision(
            allowed=bool(allowed),
            limit=limit,
            remaining=remaining,
            reset_after=reset_us / 1_000_000,
        )

    async def close(self) -> None:
        """Close the Redis connections."""
        await self._redis.aclose()


def make_rate_limiter(redis_url: str | None) -> RateLimiter:
    """A :class:`RedisRateLimiter` when ``redis_url`` is set (not blank), else a local one."""
    url = normalize_redis_url(redis_url)
    return LocalRateLimiter() if url is None else RedisRateLimiter(url)
