"""IBKR streaming client: positions and option model Greeks from TWS / IB Gateway via ``ib_async``.

:class:`IbkrSource` is a :class:`~riskdesk.streaming.source.TickSource`: its
:meth:`~IbkrSource.run` blocks in the calling thread, running ``ib_async`` in a private
asyncio loop (``asyncio.run``; no ``util.run``, no ``nest_asyncio`` patching), until ``stop``
is set:

1. ``IB().connectAsync(host, port, clientId=..., readonly=True)`` fetching only the positions
   (the API handshake, ``startApi``, ``nextValidId`` / ``managedAccounts``, ``reqPositions``);
   an ``account`` not in ``managedAccounts`` fails the attempt with a clear error status;
2. each option position -> ``sink.position`` (symbol: the contract key, quantity signed), and
   later ``position`` messages too; positions gone since the last connection -> quantity 0;
3. ``reqMktData`` on every position's option (exchange ``SMART`` when TWS gave none); every
   ``tickOptionComputation`` of model Greeks (tick types 13 and 83) becomes a
   :class:`~riskdesk.streaming.normalize.GreeksTick` -- read from the message's wire fields,
   TWS's "not computed" sentinels as missing values, so partial and empty computations reach
   the sink as they came (the normalizer refuses an empty one as ``no_greeks``). TWS stamps
   no time: ``event_time`` is the receipt time, made strictly increasing per contract (one
   microsecond later than the previous when the clock did not move) so two computations
   received together are two records;
4. when quiet for the policy's ``heartbeat_interval``, ``reqCurrentTime`` is the keepalive;
   unanswered ones count as missed heartbeats (degraded, then a reconnect);
5. on a drop, a refused connection or a timeout:
   :class:`~riskdesk.streaming.session.StreamSession` ``closed`` -> its backoff delay (cut
   short by ``stop``) -> connect again -> resubscribe the session's contracts.

Every session transition goes to ``sink.status``; an undecodable computation or position goes
to ``sink.rejected("malformed", detail)`` (an unknown request id to
``sink.rejected("unknown_request", ...)``); TWS error messages (not its 2100-2199 notices) go to
``sink.status(session.error(...), error=...)``. Network trouble never raises out of
:meth:`~IbkrSource.run`; programming errors (including the sink's own exceptions) do.

Examples
--------
>>> import threading
>>> source = IbkrSource("127.0.0.1", 7497, account="DU000001")  # doctest: +SKIP
>>> source.run(sink, threading.Event())  # blocks until the event is set  # doctest: +SKIP

"""

from __future__ import annotations

import asyncio
import copy
import logging
import math
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Final

from ib_async import IB, Contract, Position
from ib_async.ib import StartupFetch

from riskdesk.adapters.ibkr.parsing import (
    BROKER,
    MODEL_TICK_TYPES,
    TICK_OPTION_COMPUTATION,
    IbkrParseError,
    computation_raw,
    decode_tick_option_computation,
    greeks_tick,
    is_option_contract,
    position_update,
)
from riskdesk.streaming.normalize import PositionUpdate
from riskdesk.streaming.reconnect import run_attempts
from riskdesk.streaming.session import Backoff, SessionPolicy, Step, StreamSession
from riskdesk.streaming.source import SourceSink

__all__ = [
    "BROKER",
    "REJECT_MALFORMED",
    "REJECT_UNKNOWN_REQUEST",
    "IbkrSource",
    "parse_tws_url",
]

_log = logging.getLogger(__name__)

REJECT_MALFORMED: Final = "malformed"
"""``sink.rejected`` reason of a computation or position this client cannot read."""

REJECT_UNKNOWN_REQUEST: Final = "unknown_request"
"""``sink.rejected`` reason of a computation for a request id this client never made."""

_POSITION_MESSAGE: Final = 61
_POLL_S: Final = 0.05
_STOP_GRACE_S: Final = 1.0
_ONE_MICROSECOND: Final = timedelta(microseconds=1)
_NOTICE_CODES: Final = range(2100, 2200)  # "market data farm connection is OK" and the like


def utc_now() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def parse_tws_url(url: str) -> tuple[str, int]:
    """``(host, port)`` of a ``tws://host:port`` address (``host:port`` is accepted too).

    Raises
    ------
    ValueError
        No port, or a port that is not 1-65535.

    """
    text = url.strip().removeprefix("tws://").rstrip("/")
    host, sep, port_text = text.rpartition(":")
    if not sep or not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError(
            f"TWS address {url!r} must be tws://HOST:PORT with a port 1-65535, "
            "e.g. tws://127.0.0.1:7497"
        )
    return host, int(port_text)


class _AttemptError(Exception):
    """A connection attempt failed for a reason worth reporting and retrying (not a bug)."""


_NETWORK_ERRORS: Final = (_AttemptError, ConnectionError, OSError, TimeoutError)


@dataclass(slots=True)
class _Attempt:
    """State of one connection: the IB object and what arrived since it opened."""

    ib: IB
    session: StreamSession
    sink: SourceSink
    loop: asyncio.AbstractEventLoop
    last_message: float
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    failure: list[BaseException] = field(default_factory=list)
    live: bool = False


class IbkrSource:
    """Positions and model Greeks of one IBKR account, streamed from TWS / IB Gateway.

    Parameters
    ----------
    host, port : str, int
        The TWS / IB Gateway API address (``127.0.0.1``, 7497 paper / 7496 live by default in
        TWS; a fake broker's port).
    account : str
        The account streamed (the ticks' ``account_id``); it must be in ``managedAccounts``.
    client_id : int
        The API client id (unique per TWS connection).
    clock : Callable[[], datetime]
        Wall clock, timezone-aware UTC: ``received_at``, position times, session events.
    backoff : Backoff or None
        Reconnect delays; None: seed 003's (1 s doubling to 30 s, full jitter).
    policy : SessionPolicy or None
        Heartbeat and degradation thresholds of the session.
    timeout_s : float
        Timeout of the API handshake and of the initial positions download.

    Notes
    -----
    One :meth:`run` at a time per instance; the sink is called from the thread running it.

    """

    broker: str = BROKER

    def __init__(
        self,
        host: str,
        port: int,
        *,
        account: str,
        client_id: int = 1,
        clock: Callable[[], datetime] = utc_now,
        backoff: Backoff | None = None,
        policy: SessionPolicy | None = None,
        timeout_s: float = 4.0,
    ) -> None:
        if not isinstance(host, str) or not host.strip():
            raise ValueError(f"host must be a non-empty host name or address, got {host!r}")
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            raise ValueError(f"port must be an integer 1-65535, got {port!r}")
        if not isinstance(account, str) or not account.strip():
            raise ValueError(f"account must be a non-empty IBKR account id, got {account!r}")
        if isinstance(client_id, bool) or not isinstance(client_id, int) or client_id < 0:
            raise ValueError(f"client_id must be an integer >= 0, got {client_id!r}")
        if not (isinstance(timeout_s, int | float) and math.isfinite(timeout_s)) or not (
            timeout_s > 0
        ):
            raise ValueError(f"timeout_s must be a number of seconds > 0, got {timeout_s!r}")
        self.host = host
        self.port = port
        self.account_id = account
        self.client_id = client_id
        self._clock = clock
        self._backoff = backoff or Backoff(random.Random(), base=1.0, factor=2.0, max_delay=30.0)
        self._policy = policy
        self.timeout_s = float(timeout_s)
        self._session: StreamSession | None = None
        # state of the current run (touched only by the thread running it)
        self._contracts: dict[str, Contract] = {}  # contract key -> contract to subscribe
        self._keys: dict[int, str] = {}  # conId -> contract key
        self._requests: dict[int, str] = {}  # reqMktData id -> contract key
        self._open_positions: dict[str, datetime] = {}  # contract key -> last event time
        self._last_event: dict[str, datetime] = {}  # contract key -> last tick event_time

    def __repr__(self) -> str:
        return (
            f"IbkrSource({self.host!r}, {self.port}, account={self.account_id!r}, "
            f"client_id={self.client_id})"
        )

    @property
    def session(self) -> StreamSession | None:
        """The session of the current (or last) :meth:`run`, for status views."""
        return self._session

    # ------------------------------------------------------------------------- run loop

    def run(self, sink: SourceSink, stop: threading.Event) -> None:
        """Stream until ``stop`` is set; reconnect with backoff on any network trouble.

        Parameters
        ----------
        sink : SourceSink
            Receives ticks, positions, session transitions and rejections.
        stop : threading.Event
            Set it (from any thread) to disconnect and return.

        """
        session = StreamSession(
            BROKER, account_id=self.account_id, backoff=self._backoff, policy=self._policy
        )
        self._session = session
        self._contracts, self._keys, self._requests = {}, {}, {}
        self._open_positions, self._last_event = {}, {}
        asyncio.run(self._main(sink, stop, session))

    async def _main(self, sink: SourceSink, stop: threading.Event, session: StreamSession) -> None:
        await run_attempts(
            lambda: self._attempt(sink, session, stop),
            session=session,
            sink=sink,
            stop=stop,
            clock=self._clock,
            network_errors=_NETWORK_ERRORS,
            describe=self._describe,
            closed_reason="connection closed by TWS",
            name=f"ibkr stream {self.account_id}",
            grace_s=_STOP_GRACE_S,
        )

    def _describe(self, exc: BaseException) -> str:
        where = f"TWS API at {self.host}:{self.port}"
        if isinstance(exc, _AttemptError):
            return str(exc)
        if isinstance(exc, ConnectionRefusedError):
            return f"{where} refused the connection (is TWS / IB Gateway running, API enabled?)"
        if isinstance(exc, TimeoutError):
            return f"{where} did not complete the API handshake within {self.timeout_s:g} s"
        text = str(exc)
        return (
            f"{where}: {type(exc).__name__}: {text}" if text else f"{where}: {type(exc).__name__}"
        )

    # ------------------------------------------------------------------------- one attempt

    async def _attempt(
        self, sink: SourceSink, session: StreamSession, stop: threading.Event
    ) -> None:
        loop = asyncio.get_running_loop()
        ib = IB()
        state = _Attempt(ib=ib, session=session, sink=sink, loop=loop, last_message=loop.time())
        self._install(state)
        try:
            await ib.connectAsync(
                self.host,
                self.port,
                clientId=self.client_id,
                timeout=self.timeout_s,
                readonly=True,
                fetchFields=StartupFetch.POSITIONS,
            )
            accounts = ib.managedAccounts()
            if self.account_id not in accounts:
                raise _AttemptError(
                    f"account {self.account_id!r} is not managed by this TWS login "
                    f"(managedAccounts: {', '.join(accounts) or 'none'}); check --account"
                )
            self._requests = {}
            self._sync_positions(state, ib.positions(self.account_id))
            ib.positionEvent += lambda position: self._on_position(state, position)
            ib.errorEvent += lambda req_id, code, text, contract: self._on_error(
                state, req_id, code, text
            )
            ib.disconnectedEvent += state.closed.set
            step = session.connected(self._clock())
            state.live = True
            state.last_message = loop.time()
            sink.status(step)
            for key in step.resubscribe:
                self._subscribe(state, key)
            await self._stream(state, stop)
        finally:
            state.live = False
            ib.disconnect()

    def _install(self, state: _Attempt) -> None:
        """Route TWS messages through this source (counting traffic, decoding computations)."""
        decoder = state.ib.client.decoder
        interpret = decoder.interpret
        position_handler = decoder.handlers[_POSITION_MESSAGE]
        computation_handler = decoder.handlers[TICK_OPTION_COMPUTATION]

        def on_message(fields: list[str]) -> None:
            state.last_message = state.loop.time()
            if state.live:
                self._report(state.sink, state.session.message(self._clock()))
            interpret(fields)  # type: ignore[no-untyped-call]  # ib_async leaves it untyped

        def on_position(fields: list[str]) -> None:
            try:
                position_handler(fields)
            except Exception as exc:  # ib_async could not read it: count it, keep streaming
                state.sink.rejected(REJECT_MALFORMED, f"position message {fields!r}: {exc!r}")

        def on_computation(fields: list[str]) -> None:
            try:
                decoded = self._on_computation(state, fields)
            except Exception as exc:  # the sink's own failure: surfaced by the stream loop
                state.failure.append(exc)
                return
            if decoded and fields[2] in _MAPPED_TICKS and all(fields[3:]):
                # keeps ib_async's Ticker up to date; its handler cannot read blank fields
                # (it would log a traceback per message), which ours read as unset
                computation_handler(fields)

        decoder.interpret = on_message  # type: ignore[method-assign]
        decoder.handlers[_POSITION_MESSAGE] = on_position
        decoder.handlers[TICK_OPTION_COMPUTATION] = on_computation

    async def _stream(self, state: _Attempt, stop: threading.Event) -> None:
        session = state.session
        interval = session.policy.heartbeat_interval.total_seconds()
        allowed_missed = session.policy.missed_heartbeats_to_degrade
        missed = 0
        while True:
            await asyncio.sleep(_POLL_S)
            if stop.is_set():
                return
            if state.failure:
                raise state.failure[0]
            if state.closed.is_set() or not state.ib.isConnected():
                raise _AttemptError(f"connection closed by TWS at {self.host}:{self.port}")
            now = self._clock()
            silent = state.loop.time() - state.last_message
            if silent < interval:
                missed = 0
            if session.heartbeat_due(now):
                state.ib.client.reqCurrentTime()  # type: ignore[no-untyped-call]  # untyped
                self._report(state.sink, session.heartbeat_sent(now))
            while missed < int(silent // interval):
                missed += 1
                self._report(state.sink, session.heartbeat_missed(now))
            if missed > allowed_missed:
                raise _AttemptError(f"no message from TWS for {silent:.1f} s")

    @staticmethod
    def _report(sink: SourceSink, step: Step) -> None:
        if step.changed:
            sink.status(step)

    # ------------------------------------------------------------------------- positions

    def _position(self, state: _Attempt, position: Position) -> PositionUpdate | None:
        """Read a position (None: not an option, or malformed -> rejected)."""
        if position.account != self.account_id or not is_option_contract(position.contract):
            return None
        try:
            update = position_update(position, event_time=self._clock())
        except IbkrParseError as exc:
            state.sink.rejected(REJECT_MALFORMED, str(exc))
            return None
        contract = copy.copy(position.contract)
        contract.exchange = contract.exchange or "SMART"
        self._contracts[update.symbol] = contract
        if contract.conId:
            self._keys[contract.conId] = update.symbol
        return update

    def _sync_positions(self, state: _Attempt, positions: list[Position]) -> None:
        seen: set[str] = set()
        for position in positions:
            update = self._position(state, position)
            if update is None:
                continue
            state.sink.position(update)
            if update.quantity == 0:
                continue  # a closed position: reported, not streamed (nor resubscribed)
            seen.add(update.symbol)
            self._open_positions[update.symbol] = update.event_time
            state.session.subscribe([update.symbol])
        for key in [k for k in self._open_positions if k not in seen]:  # closed since
            del self._open_positions[key]
            self._unsubscribe(state, key)
            state.sink.position(
                PositionUpdate(
                    broker=BROKER,
                    account_id=self.account_id,
                    symbol=key,
                    quantity=Decimal(0),
                    event_time=self._clock(),
                )
            )

    def _on_position(self, state: _Attempt, position: Position) -> None:
        try:
            update = self._position(state, position)
            if update is None:
                return
            state.sink.position(update)
            if update.quantity == 0:  # closed: stop its market data, keep it out of resubscribe
                self._open_positions.pop(update.symbol, None)
                self._unsubscribe(state, update.symbol)
                return
            self._open_positions[update.symbol] = update.event_time
            if state.session.subscribe([update.symbol]) and state.live:
                self._subscribe(state, update.symbol)
        except Exception as exc:  # the sink's own failure: surfaced by the stream loop
            state.failure.append(exc)

    def _subscribe(self, state: _Attempt, key: str) -> None:
        contract = self._contracts.get(key)
        if contract is None:  # no longer a position of the account
            state.session.unsubscribe([key])
            return
        ticker = state.ib.reqMktData(contract, "", False, False)
        req_id = state.ib.wrapper.ticker2ReqId["mktData"].get(ticker)
        if req_id:
            self._requests[int(req_id)] = key
        del ticker

    def _unsubscribe(self, state: _Attempt, key: str) -> None:
        """Stop streaming ``key``: out of the session's subscriptions, market data cancelled."""
        state.session.unsubscribe([key])
        for req_id in [r for r, k in self._requests.items() if k == key]:
            del self._requests[req_id]
        contract = self._contracts.get(key)
        if contract is not None and state.live and state.ib.isConnected():
            state.ib.cancelMktData(contract)

    def _on_error(self, state: _Attempt, req_id: int, code: int, text: str) -> None:
        if code in _NOTICE_CODES or not state.live:
            return
        key = self._requests.get(req_id)
        reason = f"TWS error {code}" + (f" for {key}" if key else "") + f": {text}"
        try:
            state.sink.status(state.session.error(self._clock(), reason), error=reason)
        except Exception as exc:  # the sink's own failure: surfaced by the stream loop
            state.failure.append(exc)

    # ------------------------------------------------------------------------- computations

    def _on_computation(self, state: _Attempt, fields: list[str]) -> bool:
        """Deliver one computation; False when it could not be decoded (rejected)."""
        received_at = self._clock()
        try:
            computation = decode_tick_option_computation(fields)
        except IbkrParseError as exc:
            state.sink.rejected(REJECT_MALFORMED, str(exc))
            return False
        if computation.tick_type not in MODEL_TICK_TYPES:
            return True  # bid / ask / last computations: the desk keeps the model's
        key = self._requests.get(computation.req_id)
        if key is None:
            state.sink.rejected(
                REJECT_UNKNOWN_REQUEST,
                f"tickOptionComputation for request {computation.req_id}, which this "
                "connection never made",
            )
            return True
        contract = self._contracts.get(key)
        last = self._last_event.get(key)
        event_time = received_at if last is None or received_at > last else last + _ONE_MICROSECOND
        self._last_event[key] = event_time
        raw = computation_raw(
            req_id=computation.req_id,
            tick_type=computation.tick_type,
            tick_attrib=computation.tick_attrib,
            wire=computation.wire,
            con_id=contract.conId if contract is not None else None,
            local_symbol=contract.localSymbol if contract is not None else None,
        )
        state.sink.tick(
            greeks_tick(
                computation.values,
                account_id=self.account_id,
                symbol=key,
                received_at=received_at,
                event_time=event_time,
                raw=raw,
            )
        )
        return True


_MAPPED_TICKS: Final = frozenset({"10", "11", "12", "13", "53", "80", "81", "82", "83"})
