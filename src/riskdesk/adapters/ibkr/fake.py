r"""A fake TWS / IB Gateway on loopback, speaking the TWS API socket protocol.

:class:`FakeTwsBroker` is enough of TWS for an unmodified ``ib_async.IB().connectAsync(host,
port, clientId=...)`` and for :class:`~riskdesk.adapters.ibkr.client.IbkrSource`:

* handshake: the client sends ``API\0`` and its length-prefixed version range
  (``v157..178``); the server answers :data:`SERVER_VERSION` and its connection time (the
  range must include it, else the socket closes);
* ``startApi`` (71) -> ``nextValidId`` (9) and ``managedAccounts`` (15, the one ``account``);
* ``reqPositions`` (61) -> one ``position`` (61, version 3) per synthetic option position,
  then ``positionEnd`` (62); ``reqAccountUpdates`` (6) -> ``updateAccountValue`` (6),
  ``updatePortfolio`` (7), ``updateAccountTime`` (8), ``accountDownloadEnd`` (54);
  ``reqAccountUpdatesMulti`` (76) -> ``accountUpdateMulti`` (73) and its end (74);
  ``reqExecutions`` (7) -> ``execDetailsEnd`` (55); ``reqOpenOrders`` (5) /
  ``reqAllOpenOrders`` (16) -> ``openOrderEnd`` (53); ``reqCompletedOrders`` (99) ->
  ``completedOrdersEnd`` (102); ``reqIds`` (8) -> ``nextValidId``; ``reqCurrentTime`` (49) ->
  ``currentTime`` (49); ``reqMarketDataType`` (59) and ``cancelPositions`` (64): no answer;
* ``reqMktData`` (1) on a position's option (by ``conId``, or by symbol, expiry, strike and
  right) -> ``marketDataType`` (58), then a stream of ``tickOptionComputation`` (21, tick type
  13: model Greeks); an unknown contract -> ``error`` (4) 200; ``cancelMktData`` (2) ends the
  stream; any other request -> ``error`` 321 naming it.

Stream: ``rate`` computations per second per connection in total, round-robin over its
subscriptions. The ``k``-th computation of a contract re-prices it at step ``k`` of the
synthetic book's seeded spot path (:func:`riskdesk.adapters.simulated.book.stream_book`,
:func:`~riskdesk.adapters.simulated.book.path_step`), so values depend only on the seed and
``k``. Deterministically from the seed, the contract and ``k``, about 14% of computations are
*partial* (some of gamma, vega, theta and the implied vol unset, as ``-2`` / ``-1`` or
``1.7976931348623157e308``) and 6% *empty* (every Greek ``-2``, prices ``-1``); a quarter of
the contracts (at least one) are *late*: their first computation comes only ``late_s``
seconds after the subscription. Numbers are written with ``repr`` so a client reads back the
exact floats. Units are riskdesk's (vega per vol point, theta per calendar day).

Every sent computation is appended to ``sent_log`` (JSON lines, flushed before the message is
written): ``seq``, ``type`` (``"OptionComputation"``), ``symbol`` (padded OCC), ``conId``,
``contractKey``, ``eventTime`` (the server clock's epoch ms; TWS puts no time on the wire),
``connection``, ``reqId``, ``tickType``, ``variant`` (``full``/``partial``/``empty``) and
``values`` (the eight wire numbers by TWS field name).

Examples
--------
>>> broker = FakeTwsBroker(rate=100, seed=3)  # doctest: +SKIP
>>> address = broker.start()  # 'tws://127.0.0.1:<port>'  # doctest: +SKIP
>>> broker.stop()  # doctest: +SKIP

"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import re
import socket
import struct
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, Final

import numpy as np

from riskdesk.adapters.ibkr.parsing import UNSET_DOUBLE
from riskdesk.adapters.loopback import LoopbackFake, RatePacer
from riskdesk.adapters.simulated.book import path_step, stream_book
from riskdesk.domain.instruments import OptionContract
from riskdesk.domain.occ import format_occ

__all__ = [
    "DEFAULT_AS_OF",
    "SERVER_VERSION",
    "FakeTwsBroker",
    "FakeTwsPosition",
]

SERVER_VERSION: Final = 176
"""The TWS API server version this fake speaks (inside ``ib_async`` 2.1's 157..178)."""

DEFAULT_AS_OF: Final = datetime(2025, 3, 3, 15, 0, tzinfo=UTC)
"""Market instant of the synthetic book (fixed, so a seed always gives the same stream)."""

_UNDERLYINGS: Final = ("SPY", "QQQ", "AAPL")
_TICK_SECONDS: Final = 0.005
_FIRST_CON_ID: Final = 700_000_001
_VERSION_RE: Final = re.compile(rb"v(\d+)(?:\.\.(\d+))?")
_MAX_MESSAGE: Final = 1 << 24
_PARTIAL_PERCENT: Final = 14
_EMPTY_PERCENT: Final = 6
_MODEL_TICK: Final = 13

# message ids (incoming requests)
_REQ_MKT_DATA, _CANCEL_MKT_DATA, _REQ_OPEN_ORDERS, _REQ_ACCOUNT_UPDATES = 1, 2, 5, 6
_REQ_EXECUTIONS, _REQ_IDS, _REQ_CONTRACT_DETAILS, _REQ_AUTO_OPEN_ORDERS = 7, 8, 9, 15
_REQ_ALL_OPEN_ORDERS, _REQ_CURRENT_TIME, _REQ_MARKET_DATA_TYPE = 16, 49, 59
_REQ_POSITIONS, _CANCEL_POSITIONS, _START_API = 61, 64, 71
_REQ_ACCOUNT_UPDATES_MULTI, _CANCEL_ACCOUNT_UPDATES_MULTI, _REQ_COMPLETED_ORDERS = 76, 77, 99


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _num(value: float) -> str:
    """A float as TWS writes it, exactly readable back (``repr``)."""
    return repr(float(value))


def _frame(*fields: object) -> bytes:
    """A length-prefixed TWS message of NUL-terminated fields."""
    payload = "".join(f"{value}\0" for value in fields).encode()
    return struct.pack(">I", len(payload)) + payload


def _hash(*parts: object) -> int:
    return zlib.crc32("|".join(str(p) for p in parts).encode())


@dataclass(frozen=True, slots=True)
class FakeTwsPosition:
    """One synthetic option position of the fake account."""

    contract: OptionContract
    con_id: int
    quantity: int
    average_cost: float
    occ_symbol: str
    late: bool

    @property
    def key(self) -> str:
        """The contract key (``SPY:20250321:580:C``)."""
        return self.contract.key


@dataclass(slots=True)
class _Subscription:
    position: FakeTwsPosition
    due: float  # loop time of the first computation allowed


@dataclass(slots=True)
class _Connection:
    ident: int
    writer: asyncio.StreamWriter
    subscriptions: dict[int, _Subscription] = field(default_factory=dict)
    round_robin: int = 0
    client_id: int | None = None


class FakeTwsBroker(LoopbackFake):
    """A deterministic TWS API server on loopback, in a background thread.

    Parameters
    ----------
    host, port : str, int
        Address to bind (port 0: any free port; :meth:`start` returns ``tws://host:port``).
    rate : float
        Computations per second per connection, in total over its subscriptions (0: none).
    seed : int
        Seed of the synthetic market, positions, spot paths and partial/empty/late choices.
    account : str
        The account served (``managedAccounts``, positions).
    sent_log : Path or None
        JSON-lines file every sent computation is appended to (flushed before it is sent).
    late_s : float
        Seconds after a subscription before a late contract's first computation.
    as_of : datetime
        Market instant of the synthetic book (timezone-aware).
    clock : Callable[[], datetime]
        Wall clock for the log's ``eventTime`` and ``currentTime`` (timezone-aware UTC).

    """

    _NAME: ClassVar[str] = "FakeTwsBroker"

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        rate: float = 100.0,
        seed: int = 0,
        account: str = "DU000001",
        sent_log: Path | None = None,
        *,
        late_s: float = 0.3,
        as_of: datetime = DEFAULT_AS_OF,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        def check_late_s() -> None:
            if not (math.isfinite(late_s) and late_s >= 0):
                raise ValueError(f"late_s must be a number of seconds >= 0, got {late_s!r}")

        super().__init__(
            host,
            port,
            rate,
            seed,
            account,
            sent_log,
            as_of=as_of,
            clock=clock,
            check_options=check_late_s,
            one_account=True,
        )
        self.late_s = float(late_s)
        self._positions, self._values, self._spot = self._build(seed, as_of)
        self._by_con_id = {p.con_id: p for p in self._positions}
        self._connections: dict[int, _Connection] = {}
        self._counters: dict[int, int] = {}
        self._server: asyncio.Server | None = None
        self._stopping: asyncio.Event | None = None
        self._address: str | None = None
        self._bound_port: int | None = None

    # ---------------------------------------------------------------- the synthetic book

    @staticmethod
    def _build(
        seed: int, as_of: datetime
    ) -> tuple[tuple[FakeTwsPosition, ...], dict[int, dict[str, np.ndarray]], dict[int, Any]]:
        book = stream_book(seed, as_of, _UNDERLYINGS, stream_id=3014)
        ranked = sorted(range(len(book.options)), key=lambda i: _hash(seed, "late", i))
        late = set(ranked[: max(1, len(book.options) // 4)])
        positions: list[FakeTwsPosition] = []
        values: dict[int, dict[str, np.ndarray]] = {}
        spot: dict[int, Any] = {}
        for index, option in enumerate(book.options):
            con_id = _FIRST_CON_ID + index
            positions.append(
                FakeTwsPosition(
                    contract=option.contract,
                    con_id=con_id,
                    quantity=option.quantity,
                    average_cost=round(option.average_open_price * option.contract.multiplier, 4),
                    occ_symbol=format_occ(option.contract),
                    late=index in late,
                )
            )
            values[con_id] = dict(option.values)
            spot[con_id] = book.spot[option.underlying]
        return tuple(positions), values, spot

    # ---------------------------------------------------------------- public API (any thread)

    @property
    def positions(self) -> tuple[FakeTwsPosition, ...]:
        """The synthetic positions ``reqPositions`` lists."""
        return self._positions

    @property
    def address(self) -> str:
        """``tws://host:port`` of the running server."""
        if self._address is None:
            raise self._not_started()
        return self._address

    @property
    def bound_port(self) -> int:
        """The TCP port the running server listens on."""
        if self._bound_port is None:
            raise self._not_started()
        return self._bound_port

    @property
    def sent_count(self) -> int:
        """Computations sent so far (the last sequence number)."""
        return self._sequence

    @property
    def connection_count(self) -> int:
        """API connections accepted so far (open or closed)."""
        return self._next_connection

    @property
    def open_connections(self) -> int:
        """API connections open now."""
        return len(self._connections)

    def start(self) -> str:
        """Bind, serve in a background thread and return ``tws://host:port``."""
        sock = self._listen()
        sock.setblocking(False)
        self._bound_port = int(sock.getsockname()[1])
        self._serve_in_thread(
            self._serve(sock), sock, thread_name=f"fake-tws-{self._bound_port}", keep_failure=True
        )
        self._address = f"tws://{self.host}:{self._bound_port}"
        return self._address

    def stop(self) -> None:
        """Close every connection, stop the server and join its thread."""
        if self._thread is None:
            return
        loop, stopping = self._loop, self._stopping
        if loop is not None and stopping is not None and self._thread.is_alive():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(stopping.set)
        self._join()

    def drop_connections(self) -> int:
        """Close every API connection (between two messages); return how many."""
        return self._call(self._drop_all())

    def pause(self, seconds: float) -> None:
        """Send no computation for ``seconds``; the stream resumes without catching up."""
        self._pause(seconds)

    # ---------------------------------------------------------------- server side (its loop)

    async def _serve(self, sock: socket.socket) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        self._server = await asyncio.start_server(self._handle, sock=sock)
        self._ready.set()
        try:
            await self._stopping.wait()
        finally:
            self._server.close()
            await self._drop_all()
            await self._server.wait_closed()

    async def _drop_all(self) -> int:
        connections = list(self._connections.values())
        for conn in connections:
            conn.writer.close()
        for conn in connections:
            with contextlib.suppress(OSError, ConnectionError):
                await conn.writer.wait_closed()
        return len(connections)

    def _send(self, conn: _Connection, *fields: object) -> None:
        if not conn.writer.is_closing():
            conn.writer.write(_frame(*fields))

    def _error(self, conn: _Connection, req_id: int, code: int, message: str) -> None:
        # server version >= 166 adds advancedOrderRejectJson
        self._send(conn, 4, 2, req_id, code, message, "")

    async def _read_message(self, reader: asyncio.StreamReader) -> list[str]:
        size = struct.unpack(">I", await reader.readexactly(4))[0]
        if size > _MAX_MESSAGE:
            raise ConnectionError(f"message of {size} bytes is larger than {_MAX_MESSAGE}")
        payload = await reader.readexactly(size)
        fields = payload.decode(errors="replace").split("\0")
        if fields and fields[-1] == "":
            fields.pop()
        return fields

    async def _handshake(self, reader: asyncio.StreamReader, conn: _Connection) -> bool:
        if await reader.readexactly(4) != b"API\0":
            return False
        size = struct.unpack(">I", await reader.readexactly(4))[0]
        if size > 1024:
            return False
        match = _VERSION_RE.match(await reader.readexactly(size))
        if match is None:
            return False
        low = int(match.group(1))
        high = int(match.group(2) or match.group(1))
        if not low <= SERVER_VERSION <= high:
            return False
        connected = self._clock().strftime("%Y%m%d %H:%M:%S UTC")
        conn.writer.write(_frame(SERVER_VERSION, connected))
        await conn.writer.drain()
        return True

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._next_connection += 1
        conn = _Connection(ident=self._next_connection, writer=writer)
        self._connections[conn.ident] = conn
        emitter: asyncio.Task[None] | None = None
        try:
            if not await self._handshake(reader, conn):
                return
            emitter = asyncio.create_task(self._emit_loop(conn))
            while True:
                fields = await self._read_message(reader)
                if fields:
                    self._request(conn, fields)
                    await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            pass
        finally:
            if emitter is not None:
                emitter.cancel()
                await asyncio.gather(emitter, return_exceptions=True)
            self._connections.pop(conn.ident, None)
            writer.close()
            with contextlib.suppress(OSError, ConnectionError):
                await writer.wait_closed()

    def _request(self, conn: _Connection, fields: list[str]) -> None:
        """Answer one client request."""
        try:
            msg_id = int(fields[0])
        except ValueError:
            self._error(conn, -1, 321, f"message id {fields[0]!r} is not a number")
            return
        account = self.account
        if msg_id == _START_API:
            conn.client_id = int(fields[2]) if len(fields) > 2 and fields[2] else 0
            self._send(conn, 9, 1, 1)
            self._send(conn, 15, 1, account)
        elif msg_id == _REQ_IDS:
            self._send(conn, 9, 1, 1)
        elif msg_id == _REQ_POSITIONS:
            for p in self._positions:
                c = p.contract
                self._send(
                    conn, 61, 3, account, p.con_id, c.underlying, "OPT", f"{c.expiry:%Y%m%d}",
                    _num(float(c.strike)), c.right.value, c.multiplier, "", "USD",
                    p.occ_symbol, c.underlying, p.quantity, _num(p.average_cost),
                )  # fmt: skip
            self._send(conn, 62, 1)
        elif msg_id == _REQ_ACCOUNT_UPDATES:
            self._account_updates(conn, subscribe=len(fields) > 2 and fields[2] == "1")
        elif msg_id == _REQ_ACCOUNT_UPDATES_MULTI:
            req_id = fields[2] if len(fields) > 2 else "0"
            model = fields[4] if len(fields) > 4 else ""
            self._send(conn, 73, 1, req_id, account, model, "NetLiquidation", "100000.00", "USD")
            self._send(conn, 74, 1, req_id)
        elif msg_id == _REQ_EXECUTIONS:
            self._send(conn, 55, 1, fields[2] if len(fields) > 2 else "0")
        elif msg_id in (_REQ_OPEN_ORDERS, _REQ_ALL_OPEN_ORDERS):
            self._send(conn, 53, 1)
        elif msg_id == _REQ_COMPLETED_ORDERS:
            self._send(conn, 102)
        elif msg_id == _REQ_CURRENT_TIME:
            self._send(conn, 49, 1, int(self._clock().timestamp()))
        elif msg_id == _REQ_MKT_DATA:
            self._market_data(conn, fields)
        elif msg_id == _CANCEL_MKT_DATA:
            with contextlib.suppress(ValueError, IndexError):
                conn.subscriptions.pop(int(fields[2]), None)
        elif msg_id in (
            _REQ_MARKET_DATA_TYPE,
            _CANCEL_POSITIONS,
            _REQ_AUTO_OPEN_ORDERS,
            _CANCEL_ACCOUNT_UPDATES_MULTI,
        ):
            pass  # acknowledged silently, as TWS does
        elif msg_id == _REQ_CONTRACT_DETAILS:
            detail_id = int(fields[2]) if len(fields) > 2 and fields[2].isdigit() else -1
            self._error(conn, detail_id, 321, "the fake TWS does not serve contract details")
        else:
            self._error(conn, -1, 321, f"the fake TWS does not serve request {msg_id}")

    def _account_updates(self, conn: _Connection, *, subscribe: bool) -> None:
        if not subscribe:
            return
        account = self.account
        self._send(conn, 6, 2, "NetLiquidation", "100000.00", "USD", account)
        for p in self._positions:
            c = p.contract
            price = p.average_cost / c.multiplier
            self._send(
                conn, 7, 8, p.con_id, c.underlying, "OPT", f"{c.expiry:%Y%m%d}",
                _num(float(c.strike)), c.right.value, c.multiplier, "", "USD", p.occ_symbol,
                c.underlying, p.quantity, _num(price), _num(p.quantity * p.average_cost),
                _num(p.average_cost), "0.0", "0.0", account,
            )  # fmt: skip
        self._send(conn, 8, 1, self._clock().strftime("%H:%M"))
        self._send(conn, 54, 1, account)

    def _resolve(self, fields: Sequence[str]) -> FakeTwsPosition | None:
        """The position a ``reqMktData`` contract names (fields 3-14), or None."""
        con_id, symbol, sec_type, expiry, strike, right = fields[3:9]
        if con_id and con_id != "0":
            with contextlib.suppress(ValueError):
                return self._by_con_id.get(int(con_id))
            return None
        if sec_type != "OPT":
            return None
        for p in self._positions:
            c = p.contract
            try:
                same_strike = float(strike) == float(c.strike)
            except ValueError:
                return None
            if (
                symbol in (c.underlying, "")
                and expiry[:8] == f"{c.expiry:%Y%m%d}"
                and same_strike
                and right[:1].upper() == c.right.value
            ):
                return p
        return None

    def _market_data(self, conn: _Connection, fields: list[str]) -> None:
        if len(fields) < 20:
            self._error(conn, -1, 320, f"reqMktData has {len(fields)} fields, expected >= 20")
            return
        try:
            req_id = int(fields[2])
        except ValueError:
            self._error(conn, -1, 320, f"reqMktData request id {fields[2]!r} is not a number")
            return
        position = self._resolve(fields)
        if position is None:
            self._error(conn, req_id, 200, "No security definition has been found for the request")
            return
        self._send(conn, 58, 1, req_id, 1)  # real-time market data
        loop = asyncio.get_running_loop()
        due = loop.time() + (self.late_s if position.late else 0.0)
        conn.subscriptions[req_id] = _Subscription(position=position, due=due)

    def _computation(self, position: FakeTwsPosition) -> tuple[str, dict[str, float]]:
        """The next computation of ``position``: its variant and the eight wire numbers."""
        con_id = position.con_id
        k = self._counters.get(con_id, 0)
        self._counters[con_id] = k + 1
        step = path_step(k)
        v = self._values[con_id]
        wire = {
            "impliedVol": float(v["iv"][step]),
            "delta": float(v["delta"][step]),
            "optPrice": round(float(v["price"][step]), 6),
            "pvDividend": 0.0,
            "gamma": float(v["gamma"][step]),
            "vega": float(v["vega"][step]),
            "theta": float(v["theta"][step]),
            "undPrice": round(float(self._spot[con_id][step]), 4),
        }
        roll = _hash(self.seed, con_id, k) % 100
        if roll < _EMPTY_PERCENT:
            wire.update(
                impliedVol=-1.0, delta=-2.0, optPrice=-1.0, pvDividend=-1.0,
                gamma=-2.0, vega=-2.0, theta=-2.0,
            )  # fmt: skip
            return "empty", wire
        if roll < _EMPTY_PERCENT + _PARTIAL_PERCENT:
            bits = _hash(self.seed, "partial", con_id, k)
            unset = [name for i, name in enumerate(("gamma", "vega", "theta")) if bits >> i & 1]
            if not unset:
                unset = ["gamma"]
            sentinel = UNSET_DOUBLE if bits >> 3 & 1 else -2.0
            for name in unset:
                wire[name] = sentinel
            if bits >> 4 & 1:
                wire["impliedVol"] = -1.0
            return "partial", wire
        return "full", wire

    async def _emit_loop(self, conn: _Connection) -> None:
        loop = asyncio.get_running_loop()
        pacer = RatePacer()
        while True:
            await asyncio.sleep(_TICK_SECONDS)
            now = loop.time()
            if now < self._paused_until or self.rate <= 0:
                pacer.reset()
                continue
            ready = [(rid, s) for rid, s in conn.subscriptions.items() if s.due <= now]
            if not ready:
                pacer.reset()
                continue
            due = pacer.take(now, rate=self.rate)
            if due <= 0:
                continue
            self._emit(conn, ready, due)
            with contextlib.suppress(ConnectionError, OSError):
                await conn.writer.drain()

    def _emit(self, conn: _Connection, ready: list[tuple[int, _Subscription]], count: int) -> None:
        if conn.writer.is_closing():
            return
        frames: list[bytes] = []
        log_lines: list[str] = []
        event_ms = int(self._clock().timestamp() * 1000)
        for _ in range(count):
            req_id, subscription = ready[conn.round_robin % len(ready)]
            conn.round_robin += 1
            position = subscription.position
            variant, wire = self._computation(position)
            self._sequence += 1
            frames.append(
                _frame(
                    21, req_id, _MODEL_TICK, 0,
                    *(_num(wire[name]) for name in (
                        "impliedVol", "delta", "optPrice", "pvDividend",
                        "gamma", "vega", "theta", "undPrice",
                    )),
                )
            )  # fmt: skip
            if self._log is not None:
                record = {
                    "seq": self._sequence,
                    "type": "OptionComputation",
                    "symbol": position.occ_symbol,
                    "conId": position.con_id,
                    "contractKey": position.key,
                    "eventTime": event_ms,
                    "connection": conn.ident,
                    "reqId": req_id,
                    "tickType": _MODEL_TICK,
                    "variant": variant,
                    "values": wire,
                }
                log_lines.append(json.dumps(record, separators=(",", ":"), allow_nan=False))
        self._write_log(log_lines)
        conn.writer.write(b"".join(frames))
