"""Counters, gauges and tick-to-durable latency percentiles of one stream (per session/broker).

:class:`StreamMetrics` counts ticks received, journaled, persisted, deduped (a replayed record
the database already held) and rejected (by reason); it keeps the buffer and journal depths
(current and high-water mark) and a :class:`LatencyWindow` of tick-to-durable latencies.

Percentiles are exact over the window (the last ``capacity`` samples, 100 000 by default):
``numpy.percentile(window, q, method="higher")``, i.e. the sorted window's sample at 0-based
index ``ceil(q / 100 * (n - 1))``. That is always a latency that was actually observed, never an
interpolation, and never below the nearest-rank percentile, so "p95 <= 100 ms" means at least
95% of the window really took <= 100 ms. Of 1, 2, ..., 100 ms it gives p50 = 51 ms,
p95 = 96 ms, p99 = 100 ms.

Not thread-safe: the owner serializes access (one writer task, or a lock around calls).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

import numpy as np
import numpy.typing as npt

__all__ = ["DEFAULT_LATENCY_WINDOW", "PERCENTILES", "LatencyWindow", "StreamMetrics"]

DEFAULT_LATENCY_WINDOW: Final = 100_000
"""Samples kept for percentiles: the most recent ones."""

PERCENTILES: Final[tuple[tuple[str, float], ...]] = (("p50", 50.0), ("p95", 95.0), ("p99", 99.0))
"""Names and ranks of the reported percentiles."""


class LatencyWindow:
    """The last ``capacity`` latency samples (seconds) in a ring buffer, with exact percentiles.

    Parameters
    ----------
    capacity : int
        Samples kept; older ones are dropped first.

    """

    def __init__(self, capacity: int = DEFAULT_LATENCY_WINDOW) -> None:
        if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 1:
            raise ValueError(f"capacity must be a whole number >= 1, got {capacity!r}")
        self._buffer: npt.NDArray[np.float64] = np.empty(capacity, dtype=np.float64)
        self._next = 0
        self._size = 0
        self.total = 0
        """Samples ever added (the window holds the last ``min(total, capacity)``)."""

    @property
    def capacity(self) -> int:
        """Samples kept."""
        return int(self._buffer.shape[0])

    def __len__(self) -> int:
        return self._size

    def add(self, seconds: float) -> None:
        """Add one latency in seconds (finite, >= 0)."""
        value = float(seconds)
        if not np.isfinite(value) or value < 0:
            raise ValueError(f"latency must be a finite number of seconds >= 0, got {seconds!r}")
        self._buffer[self._next] = value
        self._next = (self._next + 1) % self.capacity
        self._size = min(self._size + 1, self.capacity)
        self.total += 1

    def add_many(self, seconds: npt.ArrayLike) -> None:
        """Add many latencies in seconds, in order (all checked before any is added)."""
        values = np.asarray(seconds, dtype=np.float64).ravel()
        if values.size == 0:
            return
        if not np.all(np.isfinite(values)) or bool(np.any(values < 0)):
            raise ValueError("latencies must be finite numbers of seconds >= 0")
        cap = self.capacity
        if values.size >= cap:
            self._buffer[:] = values[-cap:]
            self._next = 0
            self._size = cap
        else:
            end = self._next + values.size
            if end <= cap:
                self._buffer[self._next : end] = values
            else:
                split = cap - self._next
                self._buffer[self._next :] = values[:split]
                self._buffer[: end - cap] = values[split:]
            self._next = end % cap
            self._size = min(self._size + values.size, cap)
        self.total += int(values.size)

    def samples(self) -> npt.NDArray[np.float64]:
        """A copy of the window's samples, oldest first."""
        if self._size < self.capacity:
            return self._buffer[: self._size].copy()
        return np.concatenate((self._buffer[self._next :], self._buffer[: self._next]))

    def summary(self) -> dict[str, float | int | None]:
        """``count`` (samples in the window), ``p50``, ``p95``, ``p99`` and ``max`` in seconds.

        Percentiles use ``method="higher"`` (see the module docstring); all None when empty.
        """
        out: dict[str, float | int | None] = {"count": self._size}
        if self._size == 0:
            out.update({name: None for name, _ in PERCENTILES})
            out["max"] = None
            return out
        window = self._buffer[: self._size]
        ranks = [q for _, q in PERCENTILES]
        values = np.percentile(window, ranks, method="higher")
        for (name, _), value in zip(PERCENTILES, values, strict=True):
            out[name] = float(value)
        out["max"] = float(window.max())
        return out


class StreamMetrics:
    """Counters, gauges and latency of one stream (one broker, optionally one account).

    Parameters
    ----------
    broker : str
        Broker name.
    account_id : str | None
        Account, if the stream is per account.
    latency_window : int
        Latency samples kept for percentiles.

    Notes
    -----
    Not thread-safe: the owner serializes access.

    """

    def __init__(
        self,
        broker: str,
        *,
        account_id: str | None = None,
        latency_window: int = DEFAULT_LATENCY_WINDOW,
    ) -> None:
        self.broker = broker
        self.account_id = account_id
        self.received = 0
        self.journaled = 0
        self.persisted = 0
        self.deduped = 0
        self._rejected: Counter[str] = Counter()
        self.latency = LatencyWindow(latency_window)
        self.buffer_depth = 0
        self.buffer_depth_max = 0
        self.journal_depth = 0
        self.journal_depth_max = 0

    @staticmethod
    def _count(name: str, n: int) -> int:
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ValueError(f"{name} must be a whole number >= 0, got {n!r}")
        return n

    @property
    def rejected(self) -> dict[str, int]:
        """Rejections by reason."""
        return dict(self._rejected)

    @property
    def rejected_total(self) -> int:
        """All rejections."""
        return sum(self._rejected.values())

    def record_received(self, n: int = 1) -> None:
        """``n`` ticks arrived from the broker."""
        self.received += self._count("received", n)

    def record_journaled(self, n: int = 1) -> None:
        """``n`` records reached the local journal."""
        self.journaled += self._count("journaled", n)

    def record_persisted(self, n: int, *, deduped: int = 0) -> None:
        """A batch was written: ``n`` rows stored, ``deduped`` already there (skipped)."""
        self.persisted += self._count("persisted", n)
        self.deduped += self._count("deduped", deduped)

    def record_rejected(self, reason: str, n: int = 1) -> None:
        """``n`` ticks refused for ``reason`` (e.g. the normalizer's reasons)."""
        if not reason:
            raise ValueError("a rejection needs a non-empty reason")
        self._rejected[reason] += self._count("rejected", n)

    def observe_latency(self, seconds: float) -> None:
        """One tick-to-durable latency in seconds."""
        self.latency.add(seconds)

    def observe_latencies(self, seconds: Sequence[float]) -> None:
        """Several tick-to-durable latencies in seconds (one durable batch)."""
        self.latency.add_many(seconds)

    def observe_durable(self, received_at: datetime, durable_at: datetime) -> None:
        """One tick's latency from receipt to durable (journal fsync or database commit).

        Both times come from the same clock; a durable time before the receipt is refused.
        """
        seconds = (durable_at - received_at).total_seconds()
        if seconds < 0:
            raise ValueError(
                f"durable_at {durable_at.isoformat()} is before received_at "
                f"{received_at.isoformat()}"
            )
        self.latency.add(seconds)

    def set_buffer_depth(self, depth: int) -> None:
        """Records waiting in the in-memory buffer now."""
        self.buffer_depth = self._count("buffer_depth", depth)
        self.buffer_depth_max = max(self.buffer_depth_max, depth)

    def set_journal_depth(self, depth: int) -> None:
        """Records in the journal not yet acknowledged by the database now."""
        self.journal_depth = self._count("journal_depth", depth)
        self.journal_depth_max = max(self.journal_depth_max, depth)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe view: counters, gauges and latency in milliseconds (None when empty)."""
        summary = self.latency.summary()
        latency_ms: dict[str, Any] = {"count": summary["count"], "total": self.latency.total}
        for name in (*(n for n, _ in PERCENTILES), "max"):
            value = summary[name]
            latency_ms[name] = None if value is None else float(value) * 1000.0
        return {
            "broker": self.broker,
            "account_id": self.account_id,
            "received": self.received,
            "journaled": self.journaled,
            "persisted": self.persisted,
            "deduped": self.deduped,
            "rejected": dict(sorted(self._rejected.items())),
            "rejected_total": self.rejected_total,
            "buffer_depth": self.buffer_depth,
            "buffer_depth_max": self.buffer_depth_max,
            "journal_depth": self.journal_depth,
            "journal_depth_max": self.journal_depth_max,
            "tick_to_durable_ms": latency_ms,
        }
