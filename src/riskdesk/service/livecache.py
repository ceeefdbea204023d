"""The live-quote cache: the latest market data per symbol, each entry with a time to live.

Payloads are JSON objects (decimals and datetimes already strings); anything else is refused
with :class:`TypeError` on both implementations. :meth:`QuoteCache.get` returns a fresh
``dict`` each time (mutating it changes nothing in the cache) or ``None`` when the symbol is
absent or its entry expired.

* :class:`LocalQuoteCache` -- one process; memory bounded; injectable clock for tests.
* :class:`RedisQuoteCache` -- ``SET riskdesk:quote:{symbol} ... PX ttl``, shared by every
  process on the same Redis.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from riskdesk.service.pubsub import encode_message, normalize_redis_url

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = [
    "KEY_PREFIX",
    "LocalQuoteCache",
    "QuoteCache",
    "RedisQuoteCache",
    "make_quote_cache",
]

KEY_PREFIX = "riskdesk:quote:"
"""Prefix of the Redis keys holding cached quotes."""

_MAX_SYMBOL_LENGTH = 64


class QuoteCache(Protocol):
    """What the service's market routes and WebSockets code against."""

    async def put(self, symbol: str, payload: Mapping[str, Any], *, ttl: float) -> None:
        """Store ``payload`` as the latest data of ``symbol`` for ``ttl`` seconds."""
        ...

    async def get(self, symbol: str) -> dict[str, Any] | None:
        """The latest payload of ``symbol``, or None when absent or expired."""
        ...

    async def close(self) -> None:
        """Release resources (connections)."""
        ...


def _check_symbol(symbol: str) -> str:
    if not isinstance(symbol, str) or not symbol:
        raise ValueError(f"symbol must be a non-empty string, got {symbol!r}")
    if len(symbol) > _MAX_SYMBOL_LENGTH:
        raise ValueError(
            f"symbol {symbol[:20]!r}... is {len(symbol)} characters long; "
            f"the limit is {_MAX_SYMBOL_LENGTH}"
        )
    if any(ch.isspace() or not ch.isprintable() for ch in symbol):
        raise ValueError(f"symbol {symbol!r} must not contain spaces or control characters")
    return symbol


def _check_ttl(ttl: float) -> float:
    if isinstance(ttl, bool) or not isinstance(ttl, int | float) or not math.isfinite(ttl):
        raise ValueError(f"ttl must be a finite number of seconds > 0, got {ttl!r}")
    if ttl <= 0:
        raise ValueError(f"ttl must be > 0 seconds, got {ttl!r}")
    return float(ttl)


class LocalQuoteCache:
    """In-process cache, thread- and task-safe.

    Parameters
    ----------
    clock
        Monotonic seconds; injectable for tests (default :func:`time.monotonic`).
    max_entries
        Symbols kept at most; past that expired entries go first, then the least recently
        written.

    """

    def __init__(
        self, *, clock: Callable[[], float] = time.monotonic, max_entries: int = 10_000
    ) -> None:
        if isinstance(max_entries, bool) or not isinstance(max_entries, int) or max_entries < 1:
            raise ValueError(f"max_entries must be a positive integer, got {max_entries!r}")
        self._clock = clock
        self._max_entries = max_entries
        self._entries: OrderedDict[str, tuple[float, str]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    async def put(self, symbol: str, payload: Mapping[str, Any], *, ttl: float) -> None:
        """Store ``payload`` for ``symbol`` until ``ttl`` seconds from now.

        Raises
        ------
        TypeError
            When ``payload`` is not a JSON object.
        ValueError
            On an empty symbol or a non-positive ``ttl``.

        """
        text = encode_message(payload)
        _check_symbol(symbol)
        seconds = _check_ttl(ttl)
        with self._lock:
            now = self._clock()
            self._entries[symbol] = (now + seconds, text)
            self._entries.move_to_end(symbol)
            if len(self._entries) > self._max_entries:
                for key in [k for k, (expires, _) in self._entries.items() if expires <= now]:
                    del self._entries[key]
                while len(self._entries) > self._max_entries:
                    self._entries.popitem(last=False)

    async def get(self, symbol: str) -> dict[str, Any] | None:
        """The latest payload of ``symbol`` (a fresh dict), or None when absent or expired."""
        _check_symbol(symbol)
        with self._lock:
            entry = self._entries.get(symbol)
            if entry is None:
                return None
            expires, text = entry
            if expires <= self._clock():
                del self._entries[symbol]
                return None
        payload: dict[str, Any] = json.loads(text)
        return payload

    async def close(self) -> None:
        """Forget every entry."""
        with self._lock:
            self._entries.clear()


class RedisQuoteCache:
    """Cache on Redis, shared by every process; Redis expires the entries.

    Parameters
    ----------
    url
        A ``redis://``, ``rediss://`` or ``unix://`` URL.

    """

    def __init__(self, url: str) -> None:
        from redis.asyncio import Redis

        self._redis: Redis = Redis.from_url(
            url, decode_responses=True, socket_connect_timeout=5, socket_timeout=5
        )

    async def put(self, symbol: str, payload: Mapping[str, Any], *, ttl: float) -> None:
        """``SET riskdesk:quote:{symbol}`` to the payload's JSON with a ``ttl`` expiry.

        Raises
        ------
        TypeError
            When ``payload`` is not a JSON object.
        ValueError
            On an empty symbol or a non-positive ``ttl``.
        redis.exceptions.ConnectionError
            When Redis cannot be reached.

        """
        text = encode_message(payload)
        key = KEY_PREFIX + _check_symbol(symbol)
        milliseconds = max(1, math.ceil(_check_ttl(ttl) * 1000))
        await self._redis.set(key, text, px=milliseconds)

    async def get(self, symbol: str) -> dict[str, Any] | None:
        """The latest payload of ``symbol`` (a fresh dict), or None when absent or expired."""
        text = await self._redis.get(KEY_PREFIX + _check_symbol(symbol))
        if text is None:
            return None
        payload: dict[str, Any] = json.loads(text)
        return payload

    async def close(self) -> None:
        """Close the Redis connections."""
        await self._redis.aclose()


def make_quote_cache(redis_url: str | None) -> QuoteCache:
    """A :class:`RedisQuoteCache` when ``redis_url`` is set (not blank), else a local one."""
    url = normalize_redis_url(redis_url)
    return LocalQuoteCache() if url is None else RedisQuoteCache(url)
