"""LocalRateLimiter (GCRA): exact budgets, reset_after, recovery, independent keys."""

from __future__ import annotations

import asyncio
import threading

import pytest

from riskdesk.service.ratelimit import (
    LocalRateLimiter,
    RateDecision,
    RedisRateLimiter,
    make_rate_limiter,
)


class FakeClock:
    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def _hits(
    limiter: LocalRateLimiter, key: str, n: int, *, limit: int, window: float
) -> list[RateDecision]:
    async def run() -> list[RateDecision]:
        return [await limiter.hit(key, limit=limit, window=window) for _ in range(n)]

    return asyncio.run(run())


def test_local_rate_limiter_with_burst_allows_exactly_limit_then_refuses() -> None:
    limiter = LocalRateLimiter(clock=FakeClock())

    decisions = _hits(limiter, "api:user:1", 6, limit=5, window=10.0)

    assert [d.allowed for d in decisions] == [True] * 5 + [False]
    assert [d.remaining for d in decisions] == [4, 3, 2, 1, 0, 0]
    assert all(d.limit == 5 for d in decisions)
    assert [d.reset_after for d in decisions[:5]] == [0.0] * 5
    assert decisions[5].reset_after == pytest.approx(2.0)  # one interval: 10 s / 5


def test_local_rate_limiter_with_refusal_allows_again_exactly_after_reset_after() -> None:
    clock = FakeClock()
    limiter = LocalRateLimiter(clock=clock)
    _hits(limiter, "k", 3, limit=3, window=60.0)
    refused = _hits(limiter, "k", 1, limit=3, window=60.0)[0]

    clock.advance(refused.reset_after - 0.01)
    still_refused = _hits(limiter, "k", 1, limit=3, window=60.0)[0]
    clock.advance(0.01)
    allowed = _hits(limiter, "k", 2, limit=3, window=60.0)

    assert not refused.allowed
    assert refused.reset_after == pytest.approx(20.0)
    assert not still_refused.allowed
    assert still_refused.reset_after == pytest.approx(0.01)
    assert [d.allowed for d in allowed] == [True, False]


def test_local_rate_limiter_with_full_window_elapsed_recovers_whole_budget() -> None:
    clock = FakeClock()
    limiter = LocalRateLimiter(clock=clock)
    _hits(limiter, "k", 8, limit=7, window=60.0)  # 60/7: not exact in binary

    clock.advance(60.0)
    decisions = _hits(limiter, "k", 8, limit=7, window=60.0)

    assert [d.allowed for d in decisions] == [True] * 7 + [False]
    assert decisions[0].remaining == 6


def test_local_rate_limiter_with_two_keys_keeps_budgets_independent() -> None:
    limiter = LocalRateLimiter(clock=FakeClock())

    a = _hits(limiter, "ip:203.0.113.9", 3, limit=2, window=1.0)
    b = _hits(limiter, "ip:198.51.100.7", 2, limit=2, window=1.0)

    assert [d.allowed for d in a] == [True, True, False]
    assert [d.allowed for d in b] == [True, True]


def test_local_rate_limiter_with_refused_requests_does_not_extend_the_wait() -> None:
    clock = FakeClock()
    limiter = LocalRateLimiter(clock=clock)
    _hits(limiter, "k", 2, limit=2, window=4.0)

    refused = _hits(limiter, "k", 50, limit=2, window=4.0)
    clock.advance(2.0)
    after = _hits(limiter, "k", 1, limit=2, window=4.0)[0]

    assert all(not d.allowed for d in refused)
    assert after.allowed


def test_local_rate_limiter_with_threads_never_allows_more_than_limit() -> None:
    limiter = LocalRateLimiter(clock=FakeClock())
    allowed: list[bool] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(50):
            decision = limiter.hit_sync("shared", limit=40, window=60.0)
            with lock:
                allowed.append(decision.allowed)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert allowed.count(True) == 40
    assert len(allowed) == 200


def test_local_rate_limiter_with_many_keys_stays_within_max_keys() -> None:
    clock = FakeClock()
    limiter = LocalRateLimiter(clock=clock, max_keys=100)

    for i in range(1000):
        limiter.hit_sync(f"ip:{i}", limit=10, window=1.0)
        clock.advance(0.01)

    assert len(limiter) <= 100


@pytest.mark.parametrize(
    ("key", "limit", "window", "match"),
    [
        ("", 5, 1.0, "key"),
        ("k", 0, 1.0, "limit"),
        ("k", 2.5, 1.0, "limit"),
        ("k", 5, 0.0, "window"),
        ("k", 5, float("inf"), "window"),
    ],
)
def test_local_rate_limiter_with_bad_arguments_raises_value_error(
    key: str, limit: int, window: float, match: str
) -> None:
    limiter = LocalRateLimiter()

    with pytest.raises(ValueError, match=match):
        limiter.hit_sync(key, limit=limit, window=window)


def test_make_rate_limiter_with_and_without_url_picks_implementation() -> None:
    async def scenario() -> tuple[object, object]:
        local = make_rate_limiter(None)
        shared = make_rate_limiter("redis://127.0.0.1:1/0")  # connects lazily
        await local.close()
        await shared.close()
        return local, shared

    local, shared = asyncio.run(scenario())

    assert isinstance(local, LocalRateLimiter)
    assert isinstance(shared, RedisRateLimiter)
