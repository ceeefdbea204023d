"""Harness shared by the broker source tests (DxlinkSource, IbkrSource) against the fakes.

A :class:`CollectingSink` keeps everything a source hands it (with arrival times) and lets a
test wait on a condition; :func:`running` runs a source in a thread and stops it on exit.
"""

from __future__ import annotations

import random
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from riskdesk.streaming.normalize import GreeksTick, PositionUpdate
from riskdesk.streaming.session import Backoff, Step
from riskdesk.streaming.source import TickSource

WAIT = 10.0
"""Seconds :meth:`CollectingSink.wait_for` waits before failing the test."""


class CollectingSink:
    """A thread-safe sink that keeps everything (with arrival times) and lets tests wait.

    ``statuses`` holds ``(step, error, monotonic time)``.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self.ticks: list[GreeksTick] = []
        self.tick_times: list[float] = []
        self.positions: list[PositionUpdate] = []
        self.statuses: list[tuple[Step, str | None, float]] = []
        self.rejections: list[tuple[str, str]] = []

    def tick(self, tick: GreeksTick) -> None:
        with self._cond:
            self.ticks.append(tick)
            self.tick_times.append(time.monotonic())
            self._cond.notify_all()

    def position(self, update: PositionUpdate) -> None:
        with self._cond:
            self.positions.append(update)
            self._cond.notify_all()

    def status(self, step: Step, *, error: str | None = None) -> None:
        with self._cond:
            self.statuses.append((step, error, time.monotonic()))
            self._cond.notify_all()

    def rejected(self, reason: str, detail: str) -> None:
        with self._cond:
            self.rejections.append((reason, detail))
            self._cond.notify_all()

    def wait_for(self, what: str, predicate: Callable[[CollectingSink], bool]) -> None:
        """Wait until ``predicate`` holds; fail the test after :data:`WAIT` seconds."""
        with self._cond:
            if not self._cond.wait_for(lambda: predicate(self), WAIT):
                pytest.fail(f"timed out after {WAIT} s waiting for {what}")

    def holds_for(self, seconds: float, predicate: Callable[[CollectingSink], bool]) -> bool:
        """Whether ``predicate`` became true within ``seconds`` (False: it never did)."""
        with self._cond:
            return self._cond.wait_for(lambda: predicate(self), seconds)

    def status_names(self) -> list[str]:
        with self._cond:
            return [step.status for step, _, _ in self.statuses]

    def count(self, status: str) -> int:
        return self.status_names().count(status)

    def errors(self) -> list[str]:
        with self._cond:
            return [error for _, error, _ in self.statuses if error]


def at_least(status: str, n: int) -> Callable[[CollectingSink], bool]:
    """A :meth:`CollectingSink.wait_for` predicate: ``status`` reported ``n`` times or more."""
    return lambda sink: sink.count(status) >= n


def drop_twice_then_reconnect(
    sink: CollectingSink,
    drop_connections: Callable[[], int],
    every_since: Callable[[int], Callable[[CollectingSink], bool]],
    what: str,
) -> None:
    """Twice: wait for a connection and ticks of every ``what`` on it, then drop it.

    ``drop_connections`` must report one dropped connection; ``every_since(mark)`` is the
    predicate "every ``what`` ticked since ``len(sink.ticks) == mark``". Returns once the
    source is connected a third time.
    """
    for drop in range(1, 3):
        sink.wait_for(f"connection {drop}", at_least("connected", drop))
        sink.wait_for(f"ticks of every {what} on connection {drop}", every_since(len(sink.ticks)))
        assert drop_connections() == 1
        sink.wait_for(f"disconnect {drop}", at_least("disconnected", drop))
    sink.wait_for("a third connection", lambda s: s.count("connected") >= 3)


def closed_port() -> int:
    """A port on 127.0.0.1 nothing listens on (bound once, then closed)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def tiny_backoff() -> Backoff:
    """A seeded reconnect backoff of 10 ms doubling up to 50 ms."""
    return Backoff(random.Random(12), base=0.01, factor=2.0, max_delay=0.05)


@contextmanager
def running(source: TickSource, sink: CollectingSink) -> Iterator[list[float]]:
    """Run ``source`` in a thread; on exit stop it and record how long stopping took."""
    name = type(source).__name__
    stop = threading.Event()
    failure: list[BaseException] = []

    def target() -> None:
        try:
            source.run(sink, stop)
        except BaseException as exc:  # surfaced in the test thread below
            failure.append(exc)

    thread = threading.Thread(target=target, name=f"{name}-test", daemon=True)
    thread.start()
    stop_seconds: list[float] = []
    try:
        yield stop_seconds
    finally:
        started = time.monotonic()
        stop.set()
        thread.join(5.0)
        stop_seconds.append(time.monotonic() - started)
    assert not thread.is_alive(), f"{name}.run did not return after stop was set"
    assert not failure, f"{name}.run raised {failure[0]!r}"
