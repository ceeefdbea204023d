"""The reconnect loop every broker client runs: attempt, report, back off, again, until stop.

:func:`run_attempts` drives one :class:`~riskdesk.streaming.session.StreamSession` inside a
client's private event loop: it reports ``connecting``, runs one connection attempt (the
client's coroutine: connect, subscribe, stream until the connection ends), and when the
attempt ends with network trouble (one of ``network_errors``) or a closed connection, reports
``disconnected`` with the reason and waits the session's backoff delay before the next one. A
stop request (a :class:`threading.Event` set from any thread) ends the wait at once; a running
attempt is given ``grace_s`` to close its own socket (it watches the event too), then
cancelled. Any other exception is a programming error and propagates. The session ends
``stopped`` either way.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any

from riskdesk.streaming.session import StreamSession
from riskdesk.streaming.source import SourceSink

__all__ = ["run_attempts", "wait_thread_event"]

log = logging.getLogger(__name__)


async def wait_thread_event(event: threading.Event, poll: float = 0.02) -> None:
    """Return once ``event`` (set from another thread) is set, polling every ``poll`` s."""
    while not event.is_set():
        await asyncio.sleep(poll)


async def run_attempts(
    attempt: Callable[[], Coroutine[Any, Any, None]],
    *,
    session: StreamSession,
    sink: SourceSink,
    stop: threading.Event,
    clock: Callable[[], datetime],
    network_errors: tuple[type[BaseException], ...],
    describe: Callable[[BaseException], str],
    closed_reason: str,
    name: str,
    grace_s: float = 1.0,
) -> None:
    """Run ``attempt()`` again and again, with the session's backoff, until ``stop`` is set.

    Parameters
    ----------
    attempt : Callable[[], Coroutine]
        One connection: returns when the connection ends, raises on trouble.
    session, sink, stop, clock
        The session whose transitions are reported to ``sink``; the stop request; the clock.
    network_errors : tuple of exception types
        Failures that mean "reconnect" (anything else propagates).
    describe : Callable[[BaseException], str]
        The readable reason of a network failure (never a secret).
    closed_reason : str
        The reason when an attempt returns without an error (the server closed).
    name : str
        Who is connecting, for the log (``"tastytrade stream 5WT00001"``).
    grace_s : float
        Seconds a running attempt gets to close itself after ``stop``.

    """
    watcher = asyncio.create_task(wait_thread_event(stop))
    try:
        while not stop.is_set():
            sink.status(session.connect_started(clock()))
            task = asyncio.create_task(attempt())
            await asyncio.wait({task, watcher}, return_when=asyncio.FIRST_COMPLETED)
            if not task.done():
                # stop was set: the attempt sees it and closes its socket itself; a cancel is
                # the fallback (one in the middle of an opening handshake can leave a
                # transport to the garbage collector)
                await asyncio.wait({task}, timeout=grace_s)
                if not task.done():
                    task.cancel()
                await asyncio.gather(task, return_exceptions=True)
                break
            exc = task.exception()
            if exc is not None and not isinstance(exc, network_errors):
                raise exc
            if stop.is_set():
                break
            reason = describe(exc) if exc is not None else closed_reason
            log.warning("%s: %s", name, reason)
            step = session.closed(clock(), reason)
            sink.status(step, error=reason)
            delay = step.retry_delay or 0.0
            if delay > 0:
                await asyncio.wait({watcher}, timeout=delay)
    finally:
        watcher.cancel()
        await asyncio.gather(watcher, return_exceptions=True)
        if not session.stopped:
            sink.status(session.stop(clock()))
