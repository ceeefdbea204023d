"""A broker stream's session state machine and its reconnect backoff (seed 003 ``StreamSession``).

:class:`StreamSession` is pure: every event is a method call carrying its time, and every
answer is a :class:`Step` saying what changed and what to do next (resubscribe these symbols,
retry in so many seconds). The client owning the socket drives it; nothing here sleeps,
reads a clock or does I/O. Statuses are seed 003's (``stream_sessions.status``):

========================  ===============================================================
event                     transition (any other state: :class:`SessionTransitionError`)
========================  ===============================================================
``connect_started``       disconnected -> connecting (not after ``stop``)
``connected``             connecting -> connected; yields the subscriptions to (re)send
``message``               connected -> connected; degraded -> connected when healthy again
``heartbeat_sent``        connected, degraded: unchanged (records the time)
``heartbeat_missed``      connected -> degraded after ``missed_heartbeats_to_degrade``
``error``                 connecting, connected, degraded; connected -> degraded after
                          ``errors_to_degrade`` errors within ``error_window``
``closed``                connecting / connected / degraded -> disconnected; yields the
                          backoff delay before the next ``connect_started``
``stop``                  any -> disconnected, for good (explicit shutdown; idempotent)
========================  ===============================================================

``heartbeat_due(at)`` is a query, not an event: True when a keepalive should be sent
(seed 003 FR-006: every 60 s without traffic).

:class:`Backoff` is bounded exponential backoff with full jitter: attempt ``n`` (1-based)
waits ``uniform(0, min(max_delay, base * factor ** (n - 1)))`` seconds, drawn from an
injected :class:`random.Random` so tests are deterministic. The attempt count resets when a
connection has stayed up for ``stable_after``.
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

__all__ = [
    "STATUSES",
    "Backoff",
    "SessionPolicy",
    "SessionTransitionError",
    "Step",
    "StreamSession",
]

STATUSES: Final[tuple[str, ...]] = ("connecting", "connected", "degraded", "disconnected")
"""Session statuses (``stream_sessions.status``)."""

_LIVE: Final = frozenset({"connected", "degraded"})


class SessionTransitionError(ValueError):
    """An event that the session's current status does not allow.

    Attributes
    ----------
    event : str
        The event refused.
    status : str
        The status the session was in.

    """

    def __init__(self, event: str, status: str, allowed: tuple[str, ...], *, stopped: bool) -> None:
        self.event = event
        self.status = status
        where = "a stopped session" if stopped else f"status {status!r}"
        super().__init__(
            f"event {event!r} is not allowed in {where}; it is allowed in: "
            f"{', '.join(allowed) or 'no status'}"
            + (" (a stopped session accepts only 'stop'; start a new session)" if stopped else "")
        )


class Backoff:
    """Bounded exponential reconnect delays with full jitter.

    Parameters
    ----------
    rng : random.Random
        Source of jitter (inject a seeded one for determinism).
    base : float
        Ceiling of the first delay, seconds (seed 003: 1 s).
    factor : float
        Growth of the ceiling per attempt (seed 003: doubling).
    max_delay : float
        Cap of the ceiling, seconds.
    stable_after : timedelta
        A connection that stayed up this long resets the attempt count.

    Examples
    --------
    >>> b = Backoff(random.Random(7), base=1.0, factor=2.0, max_delay=30.0)
    >>> [b.ceiling(n) for n in (1, 2, 3, 6, 7)]
    [1.0, 2.0, 4.0, 30.0, 30.0]

    """

    def __init__(
        self,
        rng: random.Random,
        *,
        base: float = 1.0,
        factor: float = 2.0,
        max_delay: float = 30.0,
        stable_after: timedelta = timedelta(seconds=30),
    ) -> None:
        if not base > 0:
            raise ValueError(f"base must be > 0 seconds, got {base!r}")
        if not factor >= 1:
            raise ValueError(f"factor must be >= 1, got {factor!r}")
        if not max_delay >= base:
            raise ValueError(f"max_delay must be >= base ({base}), got {max_delay!r}")
        if stable_after < timedelta(0):
            raise ValueError(f"stable_after must be >= 0, got {stable_after}")
        self._rng = rng
        self.base = float(base)
        self.factor = float(factor)
        self.max_delay = float(max_delay)
        self.stable_after = stable_after
        self._attempt = 0

    @property
    def attempt(self) -> int:
        """Delays handed out since the last reset (the current reconnect attempt number)."""
        return self._attempt

    def ceiling(self, attempt: int) -> float:
        """The largest delay of ``attempt`` (1-based): ``min(max_delay, base * factor**(n-1))``."""
        if attempt < 1:
            raise ValueError(f"attempt must be >= 1, got {attempt}")
        ceiling = self.base
        for _ in range(attempt - 1):  # no overflow: stops growing at the cap
            if ceiling >= self.max_delay:
                break
            ceiling *= self.factor
        return min(ceiling, self.max_delay)

    def next_delay(self) -> float:
        """Count one more attempt and return its delay, uniform in ``[0, ceiling(attempt)]``."""
        self._attempt += 1
        return self._rng.uniform(0.0, self.ceiling(self._attempt))

    def reset(self) -> None:
        """Start again from the first attempt (after a stable connection)."""
        self._attempt = 0


@dataclass(frozen=True, slots=True)
class SessionPolicy:
    """When a session sends keepalives and when it counts as degraded.

    Attributes
    ----------
    heartbeat_interval : timedelta
        Send a keepalive after this long without traffic (seed 003 FR-006: 60 s).
    missed_heartbeats_to_degrade : int
        Consecutive missed heartbeats that make a connected session degraded.
    errors_to_degrade : int
        Errors within ``error_window`` that make a connected session degraded.
    error_window : timedelta
        The sliding window errors are counted in.

    """

    heartbeat_interval: timedelta = timedelta(seconds=60)
    missed_heartbeats_to_degrade: int = 2
    errors_to_degrade: int = 3
    error_window: timedelta = timedelta(seconds=60)

    def __post_init__(self) -> None:
        if self.heartbeat_interval <= timedelta(0):
            raise ValueError(f"heartbeat_interval must be > 0, got {self.heartbeat_interval}")
        if self.missed_heartbeats_to_degrade < 1:
            raise ValueError(
                f"missed_heartbeats_to_degrade must be >= 1, got {self.missed_heartbeats_to_degrade}"
            )
        if self.errors_to_degrade < 1:
            raise ValueError(f"errors_to_degrade must be >= 1, got {self.errors_to_degrade}")
        if self.error_window <= timedelta(0):
            raise ValueError(f"error_window must be > 0, got {self.error_window}")


@dataclass(frozen=True, slots=True)
class Step:
    """The outcome of one event: the status before and after, and what to do next.

    Attributes
    ----------
    previous : str
        Status before the event.
    status : str
        Status after it.
    resubscribe : tuple[str, ...]
        Subscriptions to send now (after ``connected``), in the order they were added.
    retry_delay : float | None
        Seconds to wait before ``connect_started`` (after ``closed``); None otherwise.

    """

    previous: str
    status: str
    resubscribe: tuple[str, ...] = ()
    retry_delay: float | None = None

    @property
    def changed(self) -> bool:
        """True when the status changed."""
        return self.previous != self.status


def _require_aware(name: str, at: datetime) -> None:
    if not isinstance(at, datetime) or at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got {at!r}")


class StreamSession:
    """The state machine of one broker (and account) stream; see the module table.

    Parameters
    ----------
    broker : str
        Broker name (``stream_sessions.broker``).
    account_id : str | None
        The account streamed, if one.
    backoff : Backoff
        Reconnect delays (owns the attempt count).
    policy : SessionPolicy
        Heartbeat and degradation thresholds.

    Notes
    -----
    Starts ``disconnected``. Not thread-safe: the owner serializes events.

    """

    def __init__(
        self,
        broker: str,
        *,
        account_id: str | None = None,
        backoff: Backoff,
        policy: SessionPolicy | None = None,
    ) -> None:
        self.broker = broker
        self.account_id = account_id
        self.backoff = backoff
        self.policy = policy or SessionPolicy()
        self._status = "disconnected"
        self._stopped = False
        self._subscriptions: dict[str, None] = {}
        self._errors: deque[datetime] = deque()
        self._missed = 0
        self._connected_at: datetime | None = None
        self.last_heartbeat_at: datetime | None = None
        self.last_message_at: datetime | None = None
        self.last_error: str | None = None
        self.messages_received = 0
        self.errors_total = 0
        self.heartbeats_missed_total = 0
        self.connects = 0
        self.disconnects = 0

    # -- state -----------------------------------------------------------------------------

    @property
    def status(self) -> str:
        """Current status, one of :data:`STATUSES`."""
        return self._status

    @property
    def stopped(self) -> bool:
        """True after :meth:`stop`: the session accepts no more connects."""
        return self._stopped

    @property
    def subscriptions(self) -> tuple[str, ...]:
        """Current subscription set, in the order added."""
        return tuple(self._subscriptions)

    @property
    def reconnect_attempt(self) -> int:
        """Reconnect attempts since the last stable connection (``stream_sessions``)."""
        return self.backoff.attempt

    def _check(self, event: str, at: datetime | None, allowed: tuple[str, ...]) -> str:
        if at is not None:
            _require_aware("at", at)
        if self._stopped or self._status not in allowed:
            raise SessionTransitionError(event, self._status, allowed, stopped=self._stopped)
        return self._status

    def _settle(self, at: datetime) -> None:
        """Reset the backoff once a connection has been up for ``stable_after``."""
        if (
            self._status in _LIVE
            and self._connected_at is not None
            and at - self._connected_at >= self.backoff.stable_after
        ):
            self.backoff.reset()

    def _prune_errors(self, at: datetime) -> None:
        horizon = at - self.policy.error_window
        while self._errors and self._errors[0] <= horizon:
            self._errors.popleft()

    # -- subscriptions ----------------------------------------------------------------------

    def subscribe(self, symbols: tuple[str, ...] | list[str]) -> tuple[str, ...]:
        """Add symbols to the subscription set; return those that were new (to send now)."""
        new = tuple(s for s in dict.fromkeys(symbols) if s not in self._subscriptions)
        for symbol in new:
            self._subscriptions[symbol] = None
        return new

    def unsubscribe(self, symbols: tuple[str, ...] | list[str]) -> tuple[str, ...]:
        """Remove symbols from the set; return those that were subscribed."""
        gone = tuple(s for s in dict.fromkeys(symbols) if s in self._subscriptions)
        for symbol in gone:
            del self._subscriptions[symbol]
        return gone

    # -- events -----------------------------------------------------------------------------

    def connect_started(self, at: datetime) -> Step:
        """A connection attempt begins."""
        previous = self._check("connect_started", at, ("disconnected",))
        self._status = "connecting"
        self._connected_at = None
        return Step(previous, self._status)

    def connected(self, at: datetime) -> Step:
        """The connection is authenticated and ready; resend every subscription."""
        previous = self._check("connected", at, ("connecting",))
        self._status = "connected"
        self._connected_at = at
        self._missed = 0
        self.connects += 1
        self._settle(at)
        return Step(previous, self._status, resubscribe=self.subscriptions)

    def message(self, at: datetime) -> Step:
        """Data or a keepalive answer arrived: the connection is alive."""
        previous = self._check("message", at, ("connected", "degraded"))
        self.messages_received += 1
        self.last_message_at = at
        self._missed = 0
        self._prune_errors(at)
        if self._status == "degraded" and len(self._errors) < self.policy.errors_to_degrade:
            self._status = "connected"
        self._settle(at)
        return Step(previous, self._status)

    def heartbeat_due(self, at: datetime) -> bool:
        """True when a keepalive should be sent: live and quiet for ``heartbeat_interval``."""
        _require_aware("at", at)
        if self._stopped or self._status not in _LIVE:
            return False
        stamps = [
            t for t in (self._connected_at, self.last_message_at, self.last_heartbeat_at) if t
        ]
        return not stamps or at - max(stamps) >= self.policy.heartbeat_interval

    def heartbeat_sent(self, at: datetime) -> Step:
        """A keepalive was sent."""
        previous = self._check("heartbeat_sent", at, ("connected", "degraded"))
        self.last_heartbeat_at = at
        self._settle(at)
        return Step(previous, self._status)

    def heartbeat_missed(self, at: datetime) -> Step:
        """A keepalive got no answer in time."""
        previous = self._check("heartbeat_missed", at, ("connected", "degraded"))
        self._missed += 1
        self.heartbeats_missed_total += 1
        if self._missed >= self.policy.missed_heartbeats_to_degrade:
            self._status = "degraded"
        return Step(previous, self._status)

    def error(self, at: datetime, reason: str) -> Step:
        """A transient read/write/protocol error on a live or opening connection."""
        previous = self._check("error", at, ("connecting", "connected", "degraded"))
        self.errors_total += 1
        self.last_error = reason
        self._errors.append(at)
        self._prune_errors(at)
        if self._status == "connected" and len(self._errors) >= self.policy.errors_to_degrade:
            self._status = "degraded"
        return Step(previous, self._status)

    def closed(self, at: datetime, reason: str | None = None) -> Step:
        """The connection closed (or the attempt failed); returns the delay before retrying."""
        previous = self._check("closed", at, ("connecting", "connected", "degraded"))
        self._settle(at)
        if reason is not None:
            self.last_error = reason
        self._status = "disconnected"
        self._connected_at = None
        self._missed = 0
        self.disconnects += 1
        return Step(previous, self._status, retry_delay=self.backoff.next_delay())

    def stop(self, at: datetime) -> Step:
        """Explicit shutdown: disconnected for good (calling it again changes nothing)."""
        _require_aware("at", at)
        previous = self._status
        self._stopped = True
        self._status = "disconnected"
        self._connected_at = None
        return Step(previous, self._status)

    # -- reporting --------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """The ``stream_sessions`` columns this session owns, keyed by column name."""
        return {
            "broker": self.broker,
            "account_id": self.account_id,
            "status": self._status,
            "last_heartbeat_at": self.last_heartbeat_at,
            "last_message_at": self.last_message_at,
            "reconnect_attempt": self.reconnect_attempt,
            "subscription_count": len(self._subscriptions),
            "last_error": self.last_error,
            "messages_received": self.messages_received,
        }

    def counters(self) -> dict[str, int]:
        """Counters beyond the table's columns (for status views and metrics)."""
        return {
            "messages_received": self.messages_received,
            "errors": self.errors_total,
            "heartbeats_missed": self.heartbeats_missed_total,
            "connects": self.connects,
            "disconnects": self.disconnects,
            "reconnect_attempt": self.reconnect_attempt,
        }
