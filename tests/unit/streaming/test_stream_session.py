"""The stream session state machine and reconnect backoff (riskdesk.streaming.session)."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from riskdesk.store.models.streaming import STREAM_STATUSES
from riskdesk.store.models.streaming import StreamSession as StreamSessionRow
from riskdesk.streaming.session import (
    STATUSES,
    Backoff,
    SessionPolicy,
    SessionTransitionError,
    Step,
    StreamSession,
)

T0 = datetime(2025, 1, 15, 14, 30, tzinfo=UTC)
S = timedelta(seconds=1)


def new_session(seed: int = 7, **policy: object) -> StreamSession:
    return StreamSession(
        "tastytrade",
        account_id="5WX01",
        backoff=Backoff(random.Random(seed), base=1.0, factor=2.0, max_delay=30.0),
        policy=SessionPolicy(**policy),  # type: ignore[arg-type]
    )


def in_state(name: str) -> StreamSession:
    session = new_session()
    if name == "stopped":
        session.stop(T0)
        return session
    if name == "disconnected":
        return session
    session.connect_started(T0)
    if name == "connecting":
        return session
    session.connected(T0 + S)
    if name == "connected":
        return session
    session.heartbeat_missed(T0 + 2 * S)
    session.heartbeat_missed(T0 + 3 * S)
    assert name == "degraded"
    return session


EVENTS: dict[str, Callable[[StreamSession, datetime], Step]] = {
    "connect_started": lambda s, at: s.connect_started(at),
    "connected": lambda s, at: s.connected(at),
    "message": lambda s, at: s.message(at),
    "heartbeat_sent": lambda s, at: s.heartbeat_sent(at),
    "heartbeat_missed": lambda s, at: s.heartbeat_missed(at),
    "error": lambda s, at: s.error(at, "read timeout"),
    "closed": lambda s, at: s.closed(at, "eof"),
    "stop": lambda s, at: s.stop(at),
}

STATES = ("disconnected", "connecting", "connected", "degraded", "stopped")

ALLOWED: dict[tuple[str, str], str] = {
    ("connect_started", "disconnected"): "connecting",
    ("connected", "connecting"): "connected",
    ("message", "connected"): "connected",
    ("message", "degraded"): "connected",
    ("heartbeat_sent", "connected"): "connected",
    ("heartbeat_sent", "degraded"): "degraded",
    ("heartbeat_missed", "connected"): "connected",
    ("heartbeat_missed", "degraded"): "degraded",
    ("error", "connecting"): "connecting",
    ("error", "connected"): "connected",
    ("error", "degraded"): "degraded",
    ("closed", "connecting"): "disconnected",
    ("closed", "connected"): "disconnected",
    ("closed", "degraded"): "disconnected",
    **{("stop", state): "disconnected" for state in STATES},
}

CASES = [(event, state) for event in EVENTS for state in STATES]


def test_session_statuses_with_store_model_are_identical() -> None:
    assert STATUSES == STREAM_STATUSES


@pytest.mark.parametrize(("event", "state"), CASES)
def test_session_transition_with_event_in_state_follows_table(event: str, state: str) -> None:
    session = in_state(state)
    before = session.status
    at = T0 + 10 * S
    expected = ALLOWED.get((event, state))
    if expected is None:
        with pytest.raises(SessionTransitionError, match=f"event '{event}' is not allowed"):
            EVENTS[event](session, at)
        assert session.status == before
    else:
        step = EVENTS[event](session, at)
        assert (step.previous, step.status) == (before, expected)
        assert session.status == expected


def test_session_with_naive_time_raises() -> None:
    session = in_state("connecting")
    with pytest.raises(ValueError, match="timezone-aware"):
        session.connected(datetime(2025, 1, 15))


def test_session_with_reconnect_resubscribes_every_subscription_in_order() -> None:
    session = new_session()
    assert session.subscribe(["SPY:20250117:580:C", "QQQ:20250117:500:P"]) == (
        "SPY:20250117:580:C",
        "QQQ:20250117:500:P",
    )
    assert session.subscribe(["SPY:20250117:580:C", "IWM:20250117:220:C"]) == (
        "IWM:20250117:220:C",
    )
    assert session.unsubscribe(["QQQ:20250117:500:P", "nope"]) == ("QQQ:20250117:500:P",)
    session.connect_started(T0)
    first = session.connected(T0 + S)
    assert first.resubscribe == ("SPY:20250117:580:C", "IWM:20250117:220:C")
    dropped = session.closed(T0 + 2 * S, "connection reset")
    assert dropped.retry_delay is not None
    assert 0.0 <= dropped.retry_delay <= 1.0
    session.connect_started(T0 + 3 * S)
    again = session.connected(T0 + 4 * S)
    assert again.resubscribe == first.resubscribe
    snap = session.snapshot()
    assert snap["subscription_count"] == 2
    assert snap["reconnect_attempt"] == 1
    assert snap["last_error"] == "connection reset"
    assert session.counters()["connects"] == 2


def test_session_with_missed_heartbeats_degrades_and_recovers_on_message() -> None:
    session = in_state("connected")
    assert session.heartbeat_missed(T0 + 2 * S).status == "connected"
    assert session.heartbeat_missed(T0 + 3 * S).status == "degraded"
    recovered = session.message(T0 + 4 * S)
    assert recovered.changed
    assert recovered.status == "connected"
    assert session.heartbeat_missed(T0 + 5 * S).status == "connected"


def test_session_with_errors_in_window_degrades_until_window_passes() -> None:
    session = new_session(errors_to_degrade=3, error_window=timedelta(seconds=10))
    session.connect_started(T0)
    session.connected(T0)
    session.error(T0 + 1 * S, "e1")
    session.error(T0 + 2 * S, "e2")
    assert session.status == "connected"
    assert session.error(T0 + 3 * S, "e3").status == "degraded"
    assert session.message(T0 + 5 * S).status == "degraded"
    assert session.message(T0 + 11 * S).status == "connected"
    assert session.last_error == "e3"


def test_session_with_errors_spread_beyond_window_stays_connected() -> None:
    session = new_session(errors_to_degrade=2, error_window=timedelta(seconds=10))
    session.connect_started(T0)
    session.connected(T0)
    session.error(T0, "e1")
    assert session.error(T0 + 10 * S, "e2").status == "connected"
    assert session.counters()["errors"] == 2


def test_session_heartbeat_due_with_quiet_interval_is_true() -> None:
    session = new_session(heartbeat_interval=timedelta(seconds=60))
    assert not session.heartbeat_due(T0)
    session.connect_started(T0)
    assert not session.heartbeat_due(T0 + 100 * S)
    session.connected(T0)
    assert not session.heartbeat_due(T0 + 59 * S)
    assert session.heartbeat_due(T0 + 60 * S)
    session.message(T0 + 50 * S)
    assert not session.heartbeat_due(T0 + 100 * S)
    session.heartbeat_sent(T0 + 110 * S)
    assert not session.heartbeat_due(T0 + 169 * S)
    assert session.heartbeat_due(T0 + 170 * S)
    session.stop(T0 + 171 * S)
    assert not session.heartbeat_due(T0 + 1000 * S)


def test_session_with_stable_connection_resets_backoff() -> None:
    session = new_session()
    for i in range(4):
        session.connect_started(T0 + i * S)
        session.closed(T0 + i * S, "refused")
    assert session.reconnect_attempt == 4
    session.connect_started(T0 + 10 * S)
    session.connected(T0 + 10 * S)
    session.message(T0 + 20 * S)
    assert session.reconnect_attempt == 4
    session.message(T0 + 40 * S)
    assert session.reconnect_attempt == 0
    step = session.closed(T0 + 41 * S)
    assert session.reconnect_attempt == 1
    assert step.retry_delay is not None
    assert step.retry_delay <= 1.0


def test_session_with_unstable_connection_keeps_growing_backoff() -> None:
    session = new_session()
    for i in range(3):
        session.connect_started(T0 + i * S)
        session.connected(T0 + i * S)
        session.closed(T0 + i * S + S / 2)
    assert session.reconnect_attempt == 3


def test_session_snapshot_with_store_model_uses_only_its_columns() -> None:
    session = in_state("degraded")
    snap = session.snapshot()
    columns = set(StreamSessionRow.__table__.columns.keys())
    assert set(snap) <= columns
    assert snap["status"] == "degraded"
    assert snap["broker"] == "tastytrade"
    assert snap["account_id"] == "5WX01"


def test_session_stop_with_repeat_is_idempotent_and_refuses_connect() -> None:
    session = in_state("connected")
    assert session.stop(T0).status == "disconnected"
    assert session.stop(T0).changed is False
    with pytest.raises(SessionTransitionError, match="stopped session"):
        session.connect_started(T0)


# -- backoff ----------------------------------------------------------------------------------


def test_backoff_ceiling_with_doubling_is_capped() -> None:
    backoff = Backoff(random.Random(1), base=0.5, factor=2.0, max_delay=10.0)
    assert [backoff.ceiling(n) for n in range(1, 8)] == [0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    assert backoff.ceiling(10_000) == 10.0


def test_backoff_delays_with_full_jitter_stay_within_ceiling() -> None:
    backoff = Backoff(random.Random(3), base=1.0, factor=2.0, max_delay=30.0)
    delays = [backoff.next_delay() for _ in range(200)]
    for n, delay in enumerate(delays, start=1):
        assert 0.0 <= delay <= backoff.ceiling(n)
    late = delays[10:]
    assert max(late) > 20.0
    assert min(late) < 10.0
    assert len(set(delays)) == len(delays)


def test_backoff_with_same_seed_is_deterministic() -> None:
    a = Backoff(random.Random(42))
    b = Backoff(random.Random(42))
    c = Backoff(random.Random(43))
    first = [a.next_delay() for _ in range(10)]
    assert first == [b.next_delay() for _ in range(10)]
    assert first != [c.next_delay() for _ in range(10)]
    expected_rng = random.Random(42)
    assert first[:3] == [expected_rng.uniform(0, ceiling) for ceiling in (1.0, 2.0, 4.0)]


def test_backoff_reset_with_attempts_starts_from_first_ceiling() -> None:
    backoff = Backoff(random.Random(0), base=1.0, max_delay=4.0)
    for _ in range(5):
        backoff.next_delay()
    backoff.reset()
    assert backoff.attempt == 0
    assert backoff.next_delay() <= 1.0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"base": 0.0}, "base must be > 0"),
        ({"factor": 0.5}, "factor must be >= 1"),
        ({"base": 2.0, "max_delay": 1.0}, "max_delay must be >= base"),
        ({"stable_after": timedelta(seconds=-1)}, "stable_after"),
    ],
)
def test_backoff_with_bad_parameter_raises(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        Backoff(random.Random(0), **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"heartbeat_interval": timedelta(0)}, "heartbeat_interval"),
        ({"missed_heartbeats_to_degrade": 0}, "missed_heartbeats_to_degrade"),
        ({"errors_to_degrade": 0}, "errors_to_degrade"),
        ({"error_window": timedelta(0)}, "error_window"),
    ],
)
def test_session_policy_with_bad_threshold_raises(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        SessionPolicy(**kwargs)  # type: ignore[arg-type]
