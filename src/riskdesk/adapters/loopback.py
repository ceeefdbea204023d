"""The lifecycle the loopback fake brokers share (TWS and tastytrade/DXLink).

:class:`LoopbackFake` is the base of :class:`~riskdesk.adapters.ibkr.fake.FakeTwsBroker` and
:class:`~riskdesk.adapters.tastytrade.fake.FakeDxlinkBroker`: a deterministic server on
loopback whose asyncio loop runs in a background thread. It holds what both do the same way:

* the constructor's common arguments and their rules (``rate`` a finite number >= 0,
  ``as_of`` timezone-aware, optionally ``account`` one non-empty id);
* binding the listening socket, appending to the JSON-lines sent log, running the server's
  coroutine in a daemon thread and waiting until it is ready, joining it on stop;
* calling into the server's loop from any thread (``pause``, dropping connections, fault
  injection) with the "not started" guard;
* the context-manager protocol (``with FakeX(...) as broker``);
* pacing a connection's stream at ``rate`` messages per second (:class:`RatePacer`).

What they serve (the TWS socket protocol, REST + DXLink over WebSocket), how they stop and
their public method docstrings stay in the subclasses.
"""

from __future__ import annotations

import abc
import asyncio
import math
import socket
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any, ClassVar, Self, TypeVar

__all__ = ["LoopbackFake", "RatePacer"]

_T = TypeVar("_T")

_CALL_TIMEOUT = 10.0
"""Seconds a call into the server's loop (or the thread join on stop) may take."""


@dataclass(slots=True)
class RatePacer:
    """How many messages a stream owes at ``rate`` per second since it (re)started.

    A stream starts (again) at its first :meth:`take` after :meth:`reset`. After a stall it
    sends at most a quarter second's worth at once and forgets the rest (no burst to catch up).

    Examples
    --------
    >>> pacer = RatePacer()
    >>> pacer.take(10.0, rate=100.0), pacer.take(10.125, rate=100.0), pacer.take(20.0, rate=100.0)
    (0, 12, 25)

    """

    baseline: float | None = None
    emitted: int = 0

    def reset(self) -> None:
        """Nothing is owed until the next :meth:`take` starts the stream again."""
        self.baseline = None

    def take(self, now: float, *, rate: float) -> int:
        """The messages due at loop time ``now`` (counted as sent; ``<= 0``: none are due)."""
        if self.baseline is None:
            self.baseline, self.emitted = now, 0
        due = int((now - self.baseline) * rate) - self.emitted
        cap = max(1, int(rate * 0.25))
        if due > cap:  # the loop stalled: do not burst more than a quarter second's worth
            self.emitted += due - cap
            due = cap
        if due > 0:
            self.emitted += due
        return due


class LoopbackFake(abc.ABC):
    """A fake broker's server on loopback, run by an asyncio loop in a background thread.

    Subclasses set :attr:`_NAME` (used in error messages), set ``_loop`` and ``_ready`` from
    inside their server once it accepts connections, and implement ``start`` / ``stop`` with
    :meth:`_listen`, :meth:`_serve_in_thread` and :meth:`_join`.

    Parameters
    ----------
    host, port : str, int
        Address to bind (port 0: any free port).
    rate : float
        Messages per second per connection (0: none); a finite number >= 0.
    seed : int
        Seed of the synthetic market.
    account : str
        The account served.
    sent_log : Path or None
        JSON-lines file every sent message is appended to.
    as_of : datetime
        Market instant of the synthetic book; must be timezone-aware (it is not stored).
    clock : Callable[[], datetime]
        Wall clock (timezone-aware UTC), kept as ``_clock``.
    check_options : Callable[[], None] or None
        The subclass's own argument checks, run after ``rate``'s and before ``as_of``'s (it
        raises ``ValueError``).
    one_account : bool
        Whether ``account`` must be one non-empty id without a comma.

    Raises
    ------
    ValueError
        An argument breaking its rule, named with its value.

    """

    _NAME: ClassVar[str] = "LoopbackFake"

    def __init__(
        self,
        host: str,
        port: int,
        rate: float,
        seed: int,
        account: str,
        sent_log: Path | None,
        *,
        as_of: datetime,
        clock: Callable[[], datetime],
        check_options: Callable[[], None] | None = None,
        one_account: bool = False,
    ) -> None:
        if not math.isfinite(rate) or rate < 0:
            raise ValueError(f"rate must be a finite number of events/s >= 0, got {rate!r}")
        if check_options is not None:
            check_options()
        if as_of.tzinfo is None:
            raise ValueError("as_of must be timezone-aware (UTC)")
        if one_account and (not account or "," in account):
            raise ValueError(f"account must be one non-empty account id, got {account!r}")
        self.host = host
        self.port = port
        self.rate = float(rate)
        self.seed = seed
        self.account = account
        self.sent_log = sent_log
        self._clock = clock
        self._next_connection = 0
        self._sequence = 0
        self._paused_until = 0.0
        self._log: IO[str] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @abc.abstractmethod
    def start(self) -> str:
        """Bind, serve in a background thread and return the server's address."""

    @abc.abstractmethod
    def stop(self) -> None:
        """Close every connection, stop the server and join its thread."""

    # ---------------------------------------------------------------- lifecycle helpers

    def _not_started(self) -> RuntimeError:
        return RuntimeError(f"{self._NAME} is not started: call start() first")

    def _listen(self) -> socket.socket:
        """A socket listening on ``(host, port)``, with the sent log opened for appending."""
        if self._thread is not None:
            raise RuntimeError(f"{self._NAME} is already started")
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        sock.listen(128)
        if self.sent_log is not None:
            self.sent_log.parent.mkdir(parents=True, exist_ok=True)
            self._log = self.sent_log.open("a", encoding="utf-8")
        return sock

    def _serve_in_thread(
        self,
        serve: Coroutine[Any, Any, None],
        sock: socket.socket,
        *,
        thread_name: str,
        keep_failure: bool,
    ) -> None:
        """Run ``serve`` in a new loop in a daemon thread; return once the server is ready.

        The loop and ``sock`` are closed when ``serve`` returns, after the tasks still pending
        on it (connection handlers that outlived the server) are cancelled and run to their
        end, so that each closes its connection: a loop closed under them would leave their
        sockets to the garbage collector (a ``ResourceWarning`` in whatever test runs next).
        With ``keep_failure`` an
        exception of ``serve`` ends the thread quietly and is named by the ``RuntimeError``
        raised here if the thread ends before the server is ready; without it, it reaches
        :func:`threading.excepthook`.
        """
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            try:
                loop.run_until_complete(serve)
            except BaseException as exc:
                if not keep_failure:
                    raise
                failure.append(exc)  # reported below if it happens before ready
            finally:
                try:
                    _finish_tasks(loop)
                finally:
                    loop.close()
                    sock.close()

        self._thread = threading.Thread(target=run, name=thread_name, daemon=True)
        self._thread.start()
        while not self._ready.wait(0.05):
            if not self._thread.is_alive():
                detail = f": {failure!r}" if keep_failure else " (server thread exited)"
                raise RuntimeError(f"{self._NAME} failed to start{detail}")

    def _join(self) -> None:
        """Join the server thread (after the subclass told the server to stop); close the log."""
        if self._thread is not None:
            self._thread.join(_CALL_TIMEOUT)
            self._thread = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def _call(self, coro: Coroutine[Any, Any, _T]) -> _T:
        """Run ``coro`` in the server's loop from another thread and return its result."""
        if self._loop is None:
            coro.close()
            raise self._not_started()
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(_CALL_TIMEOUT)

    def _pause(self, seconds: float) -> None:
        """Send nothing for ``seconds`` (from any thread); the stream resumes without catching up."""
        if not seconds >= 0:
            raise ValueError(f"pause needs seconds >= 0, got {seconds!r}")
        if self._loop is None:
            raise self._not_started()
        until = self._loop.time() + seconds
        self._loop.call_soon_threadsafe(self._set_pause, until)

    def _set_pause(self, until: float) -> None:
        self._paused_until = until

    def _write_log(self, lines: list[str]) -> None:
        """Append ``lines`` to the sent log (if any) and flush them."""
        if self._log is not None and lines:
            self._log.write("\n".join(lines) + "\n")
            self._log.flush()


def _finish_tasks(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel the tasks left on ``loop`` and run them to their end (as ``asyncio.run`` does)."""
    pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    loop.run_until_complete(loop.shutdown_asyncgens())
