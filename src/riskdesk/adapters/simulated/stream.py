"""A simulated broker stream: deterministic Greeks ticks of a few synthetic positions.

:class:`SimulatedSource` is a :class:`~riskdesk.streaming.source.TickSource` with no network:
it builds a small book from :func:`~riskdesk.adapters.simulated.generate_market` (an ATM call
and put and two wings per underlying, first expiry at least 14 days out, seeded quantities),
re-prices each position along a seeded spot path with :func:`riskdesk.pricing.greeks`
(Black-Scholes-Merton at the quote's implied vol; vega and rho per point, theta per calendar
day) and hands ``rate`` ticks a second, round-robin over the positions, to the sink. The
``k``-th tick of a contract is priced at step ``k`` of the path (walking back and forth over
1024 steps), so the values depend only on the seed and ``k``; ``event_time`` is the clock's
time, strictly increasing per contract.

It drives a real :class:`~riskdesk.streaming.session.StreamSession` (connect, positions as the
"subscription", ticks as messages), and two fault hooks exercise the pipeline:

* ``drop_every_n`` -- the connection "drops" after every ``n`` ticks: the session closes,
  waits its backoff delay (jittered, seeded) and reconnects, re-sending the positions;
* ``reject_every_n`` -- every ``n``-th tick carries no finite Greek (``"NaN"`` strings), which
  the normalizer rejects as ``no_greeks``.

A tick is counted in :attr:`SimulatedSource.sent` when it is handed to the sink (there is no
wire to lose it on); ``sent_log`` optionally appends each one as a JSON line.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import IO, Any, Final

import numpy as np
import numpy.typing as npt

from riskdesk.adapters.simulated.book import path_step, stream_book
from riskdesk.store.types import utc_now
from riskdesk.streaming.normalize import GreeksTick, PositionUpdate
from riskdesk.streaming.records import contract_key
from riskdesk.streaming.session import Backoff, StreamSession
from riskdesk.streaming.source import SourceSink

__all__ = ["DEFAULT_STREAM_AS_OF", "DEFAULT_STREAM_SYMBOLS", "SimulatedPosition", "SimulatedSource"]

DEFAULT_STREAM_AS_OF: Final = datetime(2025, 3, 3, 15, 0, tzinfo=UTC)
"""Market instant of the synthetic book (fixed, so a seed always gives the same stream)."""

DEFAULT_STREAM_SYMBOLS: Final[tuple[str, ...]] = ("SPY", "QQQ", "AAPL")
"""Underlyings of the default book (four positions each)."""

_TICK_INTERVAL: Final = 0.005  # seconds between emission rounds
_GREEKS: Final[tuple[str, ...]] = ("delta", "gamma", "theta", "vega", "rho")


@dataclass(frozen=True, slots=True)
class SimulatedPosition:
    """One synthetic position: its contract key, signed quantity and per-step values."""

    contract_key: str
    quantity: Decimal
    underlying: str
    values: dict[str, npt.NDArray[np.float64]]
    """``delta`` ... ``rho``, ``iv`` and ``spot`` at each of the 1024 path steps."""


@lru_cache(maxsize=8)
def _book(seed: int, symbols: tuple[str, ...]) -> tuple[SimulatedPosition, ...]:
    """The positions of ``seed`` (cached: building the market takes about a second)."""
    book = stream_book(seed, DEFAULT_STREAM_AS_OF, symbols, stream_id=1203)
    positions: list[SimulatedPosition] = []
    for option in book.options:
        c = option.contract
        values = {name: option.values[name] for name in (*_GREEKS, "iv")}
        values["spot"] = book.spot[option.underlying]
        key = contract_key(option.underlying, c.expiry, c.strike, c.right.value)
        positions.append(
            SimulatedPosition(key, Decimal(option.quantity), option.underlying, values)
        )
    return tuple(positions)


class SimulatedSource:
    """A :class:`~riskdesk.streaming.source.TickSource` of synthetic Greeks (no network).

    Parameters
    ----------
    account_id : str
        The account the ticks and positions belong to.
    seed : int
        Seed of the synthetic market, the positions, the spot paths and the backoff jitter.
    rate : float
        Ticks per second in total over the positions (>= 0; 0 sends positions only).
    clock : Callable[[], datetime]
        Timezone-aware UTC wall clock for ``event_time`` and ``received_at``.
    symbols : Sequence[str] or None
        Underlyings of the book (default :data:`DEFAULT_STREAM_SYMBOLS`).
    drop_every_n : int or None
        Drop the connection after every ``n`` ticks (then back off and reconnect).
    reject_every_n : int or None
        Every ``n``-th tick has no finite Greek (rejected downstream as ``no_greeks``).
    sent_log : Path or None
        JSON-lines file every tick handed to the sink is appended to.
    backoff_base : float
        First reconnect delay ceiling in seconds (doubling, capped at ``backoff_max``).
    backoff_max : float
        Largest reconnect delay ceiling in seconds.

    Attributes
    ----------
    sent : int
        Ticks handed to the sink so far (rejected ones included).
    connects : int
        Successful connections so far (1 + reconnects).

    """

    broker = "simulated"

    def __init__(
        self,
        account_id: str,
        *,
        seed: int,
        rate: float,
        clock: Callable[[], datetime] = utc_now,
        symbols: Sequence[str] | None = None,
        drop_every_n: int | None = None,
        reject_every_n: int | None = None,
        sent_log: Path | None = None,
        backoff_base: float = 0.05,
        backoff_max: float = 1.0,
    ) -> None:
        if not isinstance(account_id, str) or not account_id.strip():
            raise ValueError(f"account_id must be non-empty text, got {account_id!r}")
        if not np.isfinite(rate) or rate < 0:
            raise ValueError(f"rate must be a finite number of ticks/s >= 0, got {rate!r}")
        for name, value in (("drop_every_n", drop_every_n), ("reject_every_n", reject_every_n)):
            if value is not None and (isinstance(value, bool) or value < 1):
                raise ValueError(f"{name} must be a whole number >= 1 or None, got {value!r}")
        self.account_id = account_id
        self.seed = seed
        self.rate = float(rate)
        self.clock = clock
        self.symbols = tuple(symbols) if symbols else DEFAULT_STREAM_SYMBOLS
        self.drop_every_n = drop_every_n
        self.reject_every_n = reject_every_n
        self.sent_log = sent_log
        self._backoff = Backoff(random.Random(seed), base=backoff_base, max_delay=backoff_max)
        self.positions = _book(seed, self.symbols)
        self.sent = 0
        self.connects = 0
        self._counts = [0] * len(self.positions)
        self._last_time: dict[str, datetime] = {}
        self._next = 0

    # ------------------------------------------------------------------ ticks

    def _event_time(self, key: str) -> datetime:
        now = self.clock()
        last = self._last_time.get(key)
        if last is not None and now <= last:
            now = last + timedelta(microseconds=1)
        self._last_time[key] = now
        return now

    def _make_tick(self) -> GreeksTick:
        index = self._next % len(self.positions)
        self._next += 1
        position = self.positions[index]
        k = self._counts[index]
        self._counts[index] += 1
        step = path_step(k)
        event_time = self._event_time(position.contract_key)
        received_at = max(self.clock(), event_time)
        values: dict[str, Any] = {name: float(position.values[name][step]) for name in _GREEKS}
        if self.reject_every_n is not None and (self.sent + 1) % self.reject_every_n == 0:
            values = dict.fromkeys(_GREEKS, "NaN")
        iv = float(position.values["iv"][step])
        spot = float(position.values["spot"][step])
        raw = {"seq": self.sent + 1, "symbol": position.contract_key, "k": k, **values}
        return GreeksTick(
            broker=self.broker,
            account_id=self.account_id,
            symbol=position.contract_key,
            event_time=event_time,
            received_at=received_at,
            implied_volatility=iv,
            underlying_price=spot,
            raw=raw,
            **values,
        )

    # ------------------------------------------------------------------ the stream

    def run(self, sink: SourceSink, stop: threading.Event) -> None:
        """Stream into ``sink`` until ``stop`` is set (see the module docstring)."""
        session = StreamSession(self.broker, account_id=self.account_id, backoff=self._backoff)
        session.subscribe([p.contract_key for p in self.positions])
        log: IO[str] | None = None
        if self.sent_log is not None:
            self.sent_log.parent.mkdir(parents=True, exist_ok=True)
            log = self.sent_log.open("a", encoding="utf-8")
        try:
            while not stop.is_set():
                sink.status(session.connect_started(self.clock()))
                step = session.connected(self.clock())
                self.connects += 1
                sink.status(step)
                now = self.clock()
                for position in self.positions:
                    if position.contract_key in step.resubscribe:
                        sink.position(
                            PositionUpdate(
                                self.broker,
                                self.account_id,
                                position.contract_key,
                                position.quantity,
                                now,
                            )
                        )
                dropped = self._stream(session, sink, stop, log)
                if not dropped:
                    break
                closed = session.closed(self.clock(), "simulated connection drop")
                sink.status(closed, error="simulated connection drop")
                if stop.wait(closed.retry_delay or 0.0):
                    break
        finally:
            sink.status(session.stop(self.clock()))
            if log is not None:
                log.close()

    def _stream(
        self, session: StreamSession, sink: SourceSink, stop: threading.Event, log: IO[str] | None
    ) -> bool:
        """Send ticks at ``rate`` until stop (False) or a simulated drop (True)."""
        started = time.monotonic()
        emitted = 0
        on_connection = 0
        while not stop.is_set():
            due = int((time.monotonic() - started) * self.rate) - emitted
            for _ in range(max(due, 0)):
                tick = self._make_tick()
                status = session.message(tick.received_at)
                if status.changed:
                    sink.status(status)
                sink.tick(tick)
                self.sent += 1
                emitted += 1
                on_connection += 1
                if log is not None:
                    log.write(json.dumps(dict(tick.raw), separators=(",", ":")) + "\n")
                if self.drop_every_n is not None and on_connection >= self.drop_every_n:
                    if log is not None:
                        log.flush()
                    return True
            if log is not None and due > 0:
                log.flush()
            stop.wait(_TICK_INTERVAL)
        return False
