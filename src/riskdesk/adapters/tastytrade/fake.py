"""A fake tastytrade broker on loopback: REST login, accounts, positions, quote token, DXLink.

:class:`FakeDxlinkBroker` serves, on ONE address, everything the tastytrade client needs:

=====================================  =====================================================
``POST /sessions``                     login (``login`` + ``password``) -> ``session-token``
``POST /oauth/token``                  refresh-token grant (SDK 13.x) -> ``access_token``
``GET /customers/me/accounts``         the one account (``account``)
``GET /accounts/{account}/positions``  the synthetic option positions
``GET /api-quote-tokens``              a DXLink ``token`` and ``dxlink-url`` (this server)
``WS /dxlink-ws``                      the DXLink protocol (below)
=====================================  =====================================================

REST calls other than the two logins need ``Authorization: <token>`` (or ``Bearer <token>``)
with a token this broker issued; bodies are tastytrade's ``{"data": ...}`` envelopes.

DXLink: the client sends ``SETUP``; the server answers ``SETUP`` and ``AUTH_STATE
UNAUTHORIZED``; ``AUTH`` with an issued quote token gives ``AUTH_STATE AUTHORIZED`` (another
token: ``ERROR UNAUTHORIZED`` and the socket closes with 1008). ``CHANNEL_REQUEST`` (FEED, odd
channel) -> ``CHANNEL_OPENED``; ``FEED_SETUP`` -> ``FEED_CONFIG`` with the accepted fields this
server knows (in the client's order) and the client's format (COMPACT by default);
``FEED_SUBSCRIPTION`` add / remove / reset; ``CHANNEL_CANCEL`` -> ``CHANNEL_CLOSED``. Then
``FEED_DATA`` for the subscribed symbols it knows (``Greeks`` for the positions' option
symbols, ``Quote`` for those and the underlyings), ``rate`` events per second in total per
connection, round-robin over the subscriptions, several events per frame. ``KEEPALIVE`` both
ways: the server sends one when it sent nothing for half the client's ``keepaliveTimeout`` and
closes the connection (``ERROR TIMEOUT``) when the client is silent for ``keepalive_timeout``.

Data: ``generate_market(seed, as_of)`` of SPY, QQQ and AAPL; four option positions per
underlying (ATM call and put, a call two strikes up and a put two strikes down, first expiry at
least 14 days out) with seeded quantities. The ``k``-th event of a symbol re-prices it (Black-
Scholes :func:`riskdesk.pricing.greeks` at the quote's implied vol) at step ``k`` of a seeded
spot path (0.05% a step, walking back and forth over 1024 steps): the values depend only on the
seed and ``k``. Units are riskdesk's (vega and rho per vol / rate point, theta per calendar
day). ``eventTime``/``time`` are the clock's epoch milliseconds, strictly increasing per symbol;
``sequence`` is the broker's global event sequence modulo 2**22 and ``index`` is ``time << 22 |
sequence``, as dxFeed builds it.

Every sent event is appended to ``sent_log`` (JSON lines: ``seq``, ``type``, ``symbol``,
``eventTime``, ``connection``, ``channel``, ``values``) and flushed before its frame is sent.

Fault injection, for the fault tests (each call sends at once, on every open connection with
a configured FEED channel, between two regular frames, and returns how many events it sent;
each injected event's log line carries a ``fault`` marker):

* :meth:`FakeDxlinkBroker.inject_malformed` -- one payload of a kind in
  :data:`MALFORMED_KINDS` (``fault: "malformed"``, ``kind``; ``seq`` null: it uses no
  sequence number and leaves the regular stream's values unchanged);
* :meth:`FakeDxlinkBroker.repeat_last` -- the last ``n`` Greeks events sent again, values and
  times unchanged (``fault: "duplicate"``, ``seq`` of the original);
* :meth:`FakeDxlinkBroker.send_out_of_order` -- two fresh Greeks events of one symbol, the
  newer frame first, then the older one (``fault: "out_of_order"`` on the older).

Examples
--------
>>> broker = FakeDxlinkBroker(rate=100, seed=3)  # doctest: +SKIP
>>> url = broker.start()  # 'http://127.0.0.1:<port>'  # doctest: +SKIP
>>> broker.stop()  # doctest: +SKIP

"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from riskdesk.adapters.loopback import LoopbackFake, RatePacer
from riskdesk.adapters.simulated.book import path_step, stream_book
from riskdesk.adapters.tastytrade.parsing import (
    DEFAULT_EVENT_FIELDS,
    AuthMessage,
    AuthState,
    AuthStateMessage,
    ChannelCancelMessage,
    ChannelClosedMessage,
    ChannelOpenedMessage,
    ChannelRequestMessage,
    DataFormat,
    DxlinkParseError,
    ErrorMessage,
    FeedConfigMessage,
    FeedSetupMessage,
    FeedSubscriptionMessage,
    KeepaliveMessage,
    SetupMessage,
    contract_to_streamer_symbol,
    encode_compact,
    parse_message,
)
from riskdesk.domain.instruments import OptionContract
from riskdesk.domain.occ import format_occ
from riskdesk.domain.timeutil import expiry_datetime

__all__ = ["DEFAULT_AS_OF", "DXLINK_PATH", "MALFORMED_KINDS", "FakeDxlinkBroker", "FakePosition"]

DEFAULT_AS_OF = datetime(2025, 3, 3, 15, 0, tzinfo=UTC)
"""Market instant of the synthetic book (fixed, so a seed always gives the same stream)."""

DXLINK_PATH = "/dxlink-ws"
"""WebSocket path of the DXLink endpoint."""

_UNDERLYINGS = ("SPY", "QQQ", "AAPL")
_TICK_SECONDS = 0.005
_MAX_EVENTS_PER_FRAME = 250
_SEQUENCE_MASK = (1 << 22) - 1
_SERVER_VERSION = "1.0.2-riskdesk-fake/1.0"
_STREAMED_TYPES = ("Greeks", "Quote")
_RECENT_GREEKS = 1024

MALFORMED_KINDS: tuple[str, ...] = (
    "not_json",
    "bad_arity",
    "bad_value",
    "unknown_type",
    "no_greeks",
    "bad_symbol",
)
"""Payloads :meth:`FakeDxlinkBroker.inject_malformed` sends, and what a client makes of them:

* ``not_json`` -- a frame that is not JSON (the client rejects it as malformed);
* ``bad_arity`` -- a COMPACT Greeks array one value short of a whole event (malformed);
* ``bad_value`` -- a Greeks event whose ``delta`` is the text ``"oops"`` (malformed);
* ``unknown_type`` -- an event of type ``Candle``, never configured (malformed);
* ``no_greeks`` -- a well-formed Greeks event of a subscribed option with every Greek
  ``"NaN"`` (decodes; the normalizer refuses it as ``no_greeks``);
* ``bad_symbol`` -- a well-formed Greeks event of ``NOT-AN-OPTION`` (decodes; the normalizer
  refuses it as ``bad_symbol``).
"""


def _dumps(value: object) -> str:
    """Compact JSON, refusing NaN (the wire writes missing values as the string "NaN")."""
    return json.dumps(value, separators=(",", ":"), allow_nan=False)


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class FakePosition:
    """One synthetic option position of the fake account."""

    contract: OptionContract
    quantity: int
    average_open_price: float
    streamer_symbol: str
    occ_symbol: str


@dataclass(slots=True)
class _Book:
    """Positions and precomputed per-step Greeks and quotes of the synthetic market."""

    positions: tuple[FakePosition, ...]
    spot: dict[str, np.ndarray]  # underlying -> spot per step
    option_values: dict[str, dict[str, np.ndarray]]  # streamer symbol -> name -> per step
    option_underlying: dict[str, str]


def _build_book(seed: int, as_of: datetime) -> _Book:
    book = stream_book(seed, as_of, _UNDERLYINGS, stream_id=3003)
    positions: list[FakePosition] = []
    values: dict[str, dict[str, np.ndarray]] = {}
    owner: dict[str, str] = {}
    for option in book.options:
        streamer = contract_to_streamer_symbol(option.contract)
        positions.append(
            FakePosition(
                contract=option.contract,
                quantity=option.quantity,
                average_open_price=option.average_open_price,
                streamer_symbol=streamer,
                occ_symbol=format_occ(option.contract),
            )
        )
        computed = dict(option.values)
        computed["volatility"] = computed.pop("iv")
        values[streamer] = computed
        owner[streamer] = option.underlying
    return _Book(
        positions=tuple(positions),
        spot=dict(book.spot),
        option_values=values,
        option_underlying=owner,
    )


@dataclass(slots=True)
class _Channel:
    fields: dict[str, tuple[str, ...]] = field(default_factory=dict)
    data_format: DataFormat = DataFormat.COMPACT
    configured: bool = False
    subscriptions: dict[tuple[str, str], None] = field(default_factory=dict)  # ordered set


@dataclass(slots=True)
class _Connection:
    ident: int
    websocket: WebSocket
    send_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    drop: asyncio.Event = field(default_factory=asyncio.Event)
    done: asyncio.Event = field(default_factory=asyncio.Event)
    close_code: int = 1000
    setup_done: bool = False
    authorized: bool = False
    client_keepalive: float = 60.0
    channels: dict[int, _Channel] = field(default_factory=dict)
    last_sent: float = 0.0
    round_robin: int = 0


class FakeDxlinkBroker(LoopbackFake):
    """A deterministic tastytrade REST + DXLink server on loopback, in a background thread.

    Parameters
    ----------
    host, port : str, int
        Address to bind (port 0: any free port; :meth:`start` returns the bound URL).
    rate : float
        Events per second per connection, in total over its subscriptions (0: none).
    seed : int
        Seed of the synthetic market, positions and spot paths.
    account : str
        The account number served.
    sent_log : Path or None
        JSON-lines file every sent event is appended to (flushed before the frame is sent).
    keepalive_timeout : float
        Seconds of client silence after which the server closes the connection; also the
        ``keepaliveTimeout`` of the server's ``SETUP``.
    as_of : datetime
        Market instant of the synthetic book (timezone-aware).
    clock : Callable[[], datetime]
        Wall clock for ``eventTime`` (timezone-aware UTC), ``datetime.now(UTC)`` by default.

    """

    _NAME: ClassVar[str] = "FakeDxlinkBroker"

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        rate: float = 100.0,
        seed: int = 0,
        account: str = "5WT00001",
        sent_log: Path | None = None,
        *,
        keepalive_timeout: float = 60.0,
        as_of: datetime = DEFAULT_AS_OF,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        def check_keepalive() -> None:
            if not keepalive_timeout > 0:
                raise ValueError(
                    f"keepalive_timeout must be > 0 seconds, got {keepalive_timeout!r}"
                )

        super().__init__(
            host,
            port,
            rate,
            seed,
            account,
            sent_log,
            as_of=as_of,
            clock=clock,
            check_options=check_keepalive,
        )
        self.keepalive_timeout = float(keepalive_timeout)
        self._book = _build_book(seed, as_of)
        self._session_tokens: set[str] = set()
        self._logins = 0
        self._quote_tokens: set[str] = set()
        self._connections: dict[int, _Connection] = {}
        self._counters: dict[tuple[str, str], int] = {}
        self._last_time: dict[str, int] = {}
        self._recent: deque[tuple[int, dict[str, Any]]] = deque(maxlen=_RECENT_GREEKS)
        self._server: uvicorn.Server | None = None
        self._url: str | None = None

    # ---------------------------------------------------------------- public API (any thread)

    @property
    def positions(self) -> tuple[FakePosition, ...]:
        """The synthetic positions the REST endpoint lists."""
        return self._book.positions

    @property
    def url(self) -> str:
        """``http://host:port`` of the running server."""
        if self._url is None:
            raise self._not_started()
        return self._url

    @property
    def dxlink_url(self) -> str:
        """``ws://host:port/dxlink-ws`` of the running server."""
        return "ws" + self.url.removeprefix("http") + DXLINK_PATH

    @property
    def sent_count(self) -> int:
        """Events sent so far (the last sequence number)."""
        return self._sequence

    @property
    def connection_count(self) -> int:
        """Open DXLink connections."""
        return len(self._connections)

    @property
    def login_count(self) -> int:
        """Successful logins (``POST /sessions`` and ``POST /oauth/token``) since start."""
        return self._logins

    def revoke_tokens(self) -> int:
        """Invalidate every session token issued so far (they answer 401); returns how many."""
        count = len(self._session_tokens)
        self._session_tokens.clear()
        return count

    @property
    def connections_opened(self) -> int:
        """DXLink connections accepted since start (open or closed); the last one's ident."""
        return self._next_connection

    def start(self) -> str:
        """Bind, serve in a background thread and return ``http://host:port``."""
        sock = self._listen()
        bound_port = sock.getsockname()[1]
        config = uvicorn.Config(
            self._app(),
            lifespan="on",
            ws="websockets-sansio",
            loop="asyncio",
            http="h11",
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=2,
        )
        self._server = uvicorn.Server(config)
        self._serve_in_thread(
            self._server.serve(sockets=[sock]),
            sock,
            thread_name=f"fake-dxlink-{bound_port}",
            keep_failure=False,
        )
        self._url = f"http://{self.host}:{bound_port}"
        return self._url

    def stop(self) -> None:
        """Close every connection, stop the server and join its thread."""
        if self._thread is None or self._server is None:
            return
        if self._loop is not None and self._thread.is_alive():
            with contextlib.suppress(RuntimeError):
                asyncio.run_coroutine_threadsafe(self._drop_all(1001), self._loop).result(10)
        self._server.should_exit = True
        self._join()

    def drop_connections(self, code: int = 1012) -> int:
        """Close every DXLink connection (after the frame being sent); return how many."""
        return self._call(self._drop_all(code))

    def pause(self, seconds: float) -> None:
        """Send nothing (no data, no keepalive) for ``seconds``; the stream resumes without catching up."""
        self._pause(seconds)

    def inject_malformed(self, kind: str) -> int:
        """Send one malformed payload of ``kind`` (one of :data:`MALFORMED_KINDS`).

        Returns the number of connections it was sent on. Raises ``ValueError`` for an unknown
        kind and ``RuntimeError`` when no connection has a configured FEED channel.
        """
        if kind not in MALFORMED_KINDS:
            raise ValueError(
                f"unknown malformed kind {kind!r}; use one of: {', '.join(MALFORMED_KINDS)}"
            )
        return self._call(self._send_malformed(kind))

    def repeat_last(self, n: int) -> int:
        """Send the last ``n`` Greeks events again, unchanged; return the events sent.

        Raises ``ValueError`` when ``n`` is not between 1 and the Greeks events sent so far
        (at most 1024 are remembered).
        """
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"repeat_last needs a whole number n >= 1, got {n!r}")
        return self._call(self._send_duplicates(n))

    def send_out_of_order(self, symbol: str | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
        """Send two fresh Greeks events of ``symbol``: the newer one, then the older one.

        ``symbol`` is an option streamer symbol of the positions (default: the first). Returns
        ``(older, newer)`` event rows (wire field names) as sent on every connection.
        """
        chosen = symbol or self._book.positions[0].streamer_symbol
        if chosen not in self._book.option_values:
            raise ValueError(f"symbol {chosen!r} is not an option of the fake's positions")
        return self._call(self._send_out_of_order(chosen))

    # ---------------------------------------------------------------- server side (its loop)

    async def _drop_all(self, code: int) -> int:
        connections = list(self._connections.values())
        for conn in connections:
            conn.close_code = code
            conn.drop.set()
        for conn in connections:
            await conn.done.wait()
        return len(connections)

    def _app(self) -> Starlette:
        @contextlib.asynccontextmanager
        async def lifespan(app: Starlette) -> AsyncIterator[None]:
            self._loop = asyncio.get_running_loop()
            self._ready.set()
            yield

        return Starlette(
            routes=[
                Route("/sessions", self._post_sessions, methods=["POST"]),
                Route("/oauth/token", self._post_oauth_token, methods=["POST"]),
                Route("/customers/me/accounts", self._get_accounts, methods=["GET"]),
                Route("/customers/me/accounts/{account}", self._get_account, methods=["GET"]),
                Route("/accounts/{account}/positions", self._get_positions, methods=["GET"]),
                Route("/api-quote-tokens", self._get_quote_token, methods=["GET"]),
                WebSocketRoute(DXLINK_PATH, self._dxlink),
            ],
            lifespan=lifespan,
        )

    # REST ---------------------------------------------------------------------------------

    @staticmethod
    def _error(status: int, code: str, message: str) -> JSONResponse:
        return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)

    def _authorized(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        return header.removeprefix("Bearer ").strip() in self._session_tokens

    async def _json_body(self, request: Request) -> dict[str, Any] | None:
        try:
            body = await request.json()
        except ValueError:
            return None
        return body if isinstance(body, dict) else None

    async def _post_sessions(self, request: Request) -> JSONResponse:
        body = await self._json_body(request)
        login = body.get("login") if body else None
        password = body.get("password") if body else None
        if not isinstance(login, str) or not login or not isinstance(password, str) or not password:
            return self._error(401, "invalid_credentials", "login and password are required")
        token = secrets.token_urlsafe(24)
        self._session_tokens.add(token)
        self._logins += 1
        expires = self._clock() + timedelta(hours=24)
        return JSONResponse(
            {
                "data": {
                    "user": {
                        "email": f"{login}@example.invalid",
                        "username": login,
                        "external-id": "U0001",
                    },
                    "session-token": token,
                    "session-expiration": expires.isoformat().replace("+00:00", "Z"),
                },
                "context": "/sessions",
            },
            status_code=201,
        )

    async def _post_oauth_token(self, request: Request) -> JSONResponse:
        body = await self._json_body(request)
        refresh = body.get("refresh_token") if body else None
        if not isinstance(refresh, str) or not refresh:
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        token = secrets.token_urlsafe(24)
        self._session_tokens.add(token)
        self._logins += 1
        return JSONResponse({"access_token": token, "token_type": "Bearer", "expires_in": 900})

    def _account_json(self) -> dict[str, Any]:
        opened = "2024-01-02T14:30:00.000Z"
        return {
            "account-number": self.account,
            "nickname": "riskdesk fake",
            "account-type-name": "Individual",
            "opened-at": opened,
            "created-at": opened,
            "is-closed": False,
            "day-trader-status": False,
            "is-firm-error": False,
            "is-firm-proprietary": False,
            "is-futures-approved": False,
            "is-test-drive": False,
            "margin-or-cash": "Margin",
            "is-foreign": False,
            "suitable-options-level": "No Restrictions",
        }

    async def _get_accounts(self, request: Request) -> JSONResponse:
        if not self._authorized(request):
            return self._error(401, "unauthorized", "missing or unknown session token")
        items = [{"account": self._account_json(), "authority-level": "owner"}]
        return JSONResponse({"data": {"items": items}, "context": "/customers/me/accounts"})

    async def _get_account(self, request: Request) -> JSONResponse:
        if not self._authorized(request):
            return self._error(401, "unauthorized", "missing or unknown session token")
        if request.path_params["account"] != self.account:
            return self._error(404, "not_found", "unknown account")
        return JSONResponse({"data": self._account_json()})

    async def _get_positions(self, request: Request) -> JSONResponse:
        if not self._authorized(request):
            return self._error(401, "unauthorized", "missing or unknown session token")
        if request.path_params["account"] != self.account:
            return self._error(
                404, "not_found", f"unknown account {request.path_params['account']!r}"
            )
        created = "2025-02-03T15:00:00.000Z"
        items = []
        for p in self._book.positions:
            c = p.contract
            items.append(
                {
                    "account-number": self.account,
                    "symbol": p.occ_symbol,
                    "instrument-type": "Equity Option",
                    "underlying-symbol": c.underlying,
                    "quantity": abs(p.quantity),
                    "quantity-direction": "Long" if p.quantity > 0 else "Short",
                    "close-price": f"{p.average_open_price:.2f}",
                    "average-open-price": f"{p.average_open_price:.2f}",
                    "average-yearly-market-close-price": f"{p.average_open_price:.2f}",
                    "average-daily-market-close-price": f"{p.average_open_price:.2f}",
                    "multiplier": c.multiplier,
                    "cost-effect": "Debit" if p.quantity > 0 else "Credit",
                    "is-suppressed": False,
                    "is-frozen": False,
                    "restricted-quantity": 0,
                    "expires-at": expiry_datetime(c.expiry, settlement=c.settlement)
                    .astimezone(UTC)
                    .isoformat()
                    .replace("+00:00", "Z"),
                    "realized-day-gain": "0.0",
                    "realized-day-gain-effect": "None",
                    "realized-day-gain-date": "2025-03-03",
                    "realized-today": "0.0",
                    "realized-today-effect": "None",
                    "realized-today-date": "2025-03-03",
                    "created-at": created,
                    "updated-at": created,
                    "streamer-symbol": p.streamer_symbol,
                }
            )
        return JSONResponse({"data": {"items": items}, "context": request.url.path})

    async def _get_quote_token(self, request: Request) -> JSONResponse:
        if not self._authorized(request):
            return self._error(401, "unauthorized", "missing or unknown session token")
        token = secrets.token_urlsafe(24)
        self._quote_tokens.add(token)
        now = self._clock()
        return JSONResponse(
            {
                "data": {
                    "token": token,
                    "dxlink-url": f"ws://{request.url.netloc}{DXLINK_PATH}",
                    "level": "api",
                    "issued-at": now.isoformat().replace("+00:00", "Z"),
                    "expires-at": (now + timedelta(hours=24)).isoformat().replace("+00:00", "Z"),
                },
                "context": "/api-quote-tokens",
            }
        )

    # DXLink -------------------------------------------------------------------------------

    async def _dxlink(self, websocket: WebSocket) -> None:
        await websocket.accept()
        self._next_connection += 1
        conn = _Connection(ident=self._next_connection, websocket=websocket)
        conn.last_sent = asyncio.get_running_loop().time()
        self._connections[conn.ident] = conn
        reader = asyncio.create_task(self._read_loop(conn))
        emitter = asyncio.create_task(self._emit_loop(conn))
        dropper = asyncio.create_task(conn.drop.wait())
        try:
            await asyncio.wait({reader, emitter, dropper}, return_when=asyncio.FIRST_COMPLETED)
            # take the send lock so no frame is cut between its log line and the socket
            async with conn.send_lock:
                for task in (reader, emitter, dropper):
                    task.cancel()
            await asyncio.gather(reader, emitter, dropper, return_exceptions=True)
            with contextlib.suppress(Exception):
                await websocket.close(code=conn.close_code)
        finally:
            self._connections.pop(conn.ident, None)
            conn.done.set()

    async def _send(self, conn: _Connection, message: Mapping[str, Any]) -> None:
        async with conn.send_lock:
            await conn.websocket.send_text(_dumps(message))
            conn.last_sent = asyncio.get_running_loop().time()

    async def _read_loop(self, conn: _Connection) -> None:
        while True:
            try:
                frame = await asyncio.wait_for(conn.websocket.receive(), self.keepalive_timeout)
            except TimeoutError:
                await self._send(
                    conn,
                    ErrorMessage(
                        error="TIMEOUT",
                        message=f"no message received for {self.keepalive_timeout:g} seconds",
                    ).to_wire(),
                )
                return
            if frame["type"] == "websocket.disconnect":
                return
            text = frame.get("text")
            if text is None:
                raw = frame.get("bytes") or b""
                text = raw.decode("utf-8", errors="replace")
            if not await self._handle(conn, text):
                return

    async def _handle(self, conn: _Connection, text: str) -> bool:
        """Answer one client frame; False closes the connection."""
        try:
            message = parse_message(text)
        except DxlinkParseError as exc:
            await self._send(conn, ErrorMessage("INVALID_MESSAGE", str(exc)).to_wire())
            return True
        if isinstance(message, KeepaliveMessage):
            return True
        if isinstance(message, SetupMessage):
            if message.keepalive_timeout is not None and message.keepalive_timeout > 0:
                conn.client_keepalive = message.keepalive_timeout
            conn.setup_done = True
            reply = SetupMessage(
                version=_SERVER_VERSION,
                keepalive_timeout=self.keepalive_timeout,
                accept_keepalive_timeout=self.keepalive_timeout,
            )
            await self._send(conn, reply.to_wire())
            if not conn.authorized:
                await self._send(conn, AuthStateMessage(AuthState.UNAUTHORIZED).to_wire())
            return True
        if not conn.setup_done:
            await self._send(conn, ErrorMessage("BAD_ACTION", "send SETUP first").to_wire())
            return True
        if isinstance(message, AuthMessage):
            if message.token in self._quote_tokens:
                conn.authorized = True
                await self._send(conn, AuthStateMessage(AuthState.AUTHORIZED).to_wire())
                return True
            await self._send(conn, AuthStateMessage(AuthState.UNAUTHORIZED).to_wire())
            await self._send(conn, ErrorMessage("UNAUTHORIZED", "unknown quote token").to_wire())
            conn.close_code = 1008
            return False
        if not conn.authorized:
            await self._send(conn, ErrorMessage("UNAUTHORIZED", "send AUTH first").to_wire())
            return True
        if isinstance(message, ChannelRequestMessage):
            if message.service != "FEED" or message.channel % 2 == 0:
                problem = "only the FEED service is served, on odd channel numbers"
                await self._send(
                    conn, ErrorMessage("BAD_ACTION", problem, message.channel).to_wire()
                )
                return True
            conn.channels.setdefault(message.channel, _Channel())
            opened = ChannelOpenedMessage(message.channel, "FEED", message.parameters)
            await self._send(conn, opened.to_wire())
            return True
        if isinstance(message, ChannelCancelMessage):
            conn.channels.pop(message.channel, None)
            await self._send(conn, ChannelClosedMessage(message.channel).to_wire())
            return True
        channel = conn.channels.get(getattr(message, "channel", -1))
        if isinstance(message, FeedSetupMessage | FeedSubscriptionMessage) and channel is None:
            problem = f"channel {message.channel} is not open (send CHANNEL_REQUEST first)"
            await self._send(conn, ErrorMessage("BAD_ACTION", problem, message.channel).to_wire())
            return True
        if isinstance(message, FeedSetupMessage) and channel is not None:
            await self._feed_setup(conn, channel, message)
            return True
        if isinstance(message, FeedSubscriptionMessage) and channel is not None:
            if not channel.configured:
                await self._feed_setup(conn, channel, FeedSetupMessage(message.channel))
            if message.reset:
                channel.subscriptions.clear()
            for sub in message.remove:
                channel.subscriptions.pop((sub.type, sub.symbol), None)
            for sub in message.add:
                channel.subscriptions[(sub.type, sub.symbol)] = None
            return True
        problem = f"{type(message).__name__} is not a client message"
        await self._send(conn, ErrorMessage("BAD_ACTION", problem).to_wire())
        return True

    async def _feed_setup(
        self, conn: _Connection, channel: _Channel, setup: FeedSetupMessage
    ) -> None:
        accepted = setup.accept_event_fields or {}
        fields: dict[str, tuple[str, ...]] = {}
        for event_type in _STREAMED_TYPES:
            known = DEFAULT_EVENT_FIELDS[event_type]
            wanted = accepted.get(event_type)
            chosen = tuple(n for n in wanted if n in known) if wanted else known
            if "eventSymbol" not in chosen:
                chosen = ("eventSymbol", *chosen)
            fields[event_type] = channel.fields.get(event_type, chosen) if not wanted else chosen
        channel.fields = fields
        channel.data_format = setup.accept_data_format or channel.data_format
        channel.configured = True
        config = FeedConfigMessage(
            channel=setup.channel,
            aggregation_period=setup.accept_aggregation_period or 0.1,
            data_format=channel.data_format,
            event_fields=fields,
        )
        await self._send(conn, config.to_wire())

    def _streamable(self, event_type: str, symbol: str) -> bool:
        if event_type == "Greeks":
            return symbol in self._book.option_values
        if event_type == "Quote":
            return symbol in self._book.option_values or symbol in self._book.spot
        return False

    def _event_row(self, event_type: str, symbol: str) -> dict[str, Any]:
        key = (event_type, symbol)
        k = self._counters.get(key, 0)
        self._counters[key] = k + 1
        step = path_step(k)
        now_ms = int(self._clock().timestamp() * 1000)
        t = max(now_ms, self._last_time.get(symbol, 0) + 1)
        self._last_time[symbol] = t
        self._sequence += 1
        sequence = self._sequence & _SEQUENCE_MASK
        if event_type == "Greeks":
            v = self._book.option_values[symbol]
            return {
                "eventSymbol": symbol,
                "eventTime": t,
                "eventFlags": 0,
                "index": (t << 22) | sequence,
                "time": t,
                "sequence": sequence,
                "price": round(float(v["price"][step]), 6),
                "volatility": float(v["volatility"][step]),
                "delta": float(v["delta"][step]),
                "gamma": float(v["gamma"][step]),
                "theta": float(v["theta"][step]),
                "rho": float(v["rho"][step]),
                "vega": float(v["vega"][step]),
            }
        if symbol in self._book.spot:
            mid = float(self._book.spot[symbol][step])
            half = 0.01
        else:
            mid = float(self._book.option_values[symbol]["price"][step])
            half = max(0.01, round(0.01 * mid, 2))
        return {
            "eventSymbol": symbol,
            "eventTime": t,
            "sequence": sequence,
            "timeNanoPart": 0,
            "bidTime": t,
            "bidExchangeCode": "Q",
            "bidPrice": max(0.0, round(mid - half, 2)),
            "bidSize": float(10 + k % 7),
            "askTime": t,
            "askExchangeCode": "Q",
            "askPrice": round(mid + half, 2),
            "askSize": float(12 + k % 5),
        }

    async def _emit_loop(self, conn: _Connection) -> None:
        loop = asyncio.get_running_loop()
        pacer = RatePacer()
        while True:
            await asyncio.sleep(_TICK_SECONDS)
            now = loop.time()
            if now < self._paused_until:
                pacer.reset()
                continue
            subscriptions = [
                (number, event_type, symbol)
                for number, channel in conn.channels.items()
                for event_type, symbol in channel.subscriptions
                if self._streamable(event_type, symbol)
            ]
            if not conn.authorized or not subscriptions or self.rate <= 0:
                pacer.reset()
                if conn.authorized and now - conn.last_sent > conn.client_keepalive / 2:
                    await self._send(conn, KeepaliveMessage().to_wire())
                continue
            due = pacer.take(now, rate=self.rate)
            if due <= 0:
                if now - conn.last_sent > conn.client_keepalive / 2:
                    await self._send(conn, KeepaliveMessage().to_wire())
                continue
            await self._emit(conn, subscriptions, due)

    async def _emit(
        self, conn: _Connection, subscriptions: list[tuple[int, str, str]], count: int
    ) -> None:
        async with conn.send_lock:
            groups: dict[tuple[int, str], list[dict[str, Any]]] = {}
            log_lines: list[str] = []
            for _ in range(count):
                number, event_type, symbol = subscriptions[conn.round_robin % len(subscriptions)]
                conn.round_robin += 1
                row = self._event_row(event_type, symbol)
                groups.setdefault((number, event_type), []).append(row)
                if event_type == "Greeks":
                    self._recent.append((self._sequence, row))
                if self._log is not None:
                    record = {
                        "seq": self._sequence,
                        "type": event_type,
                        "symbol": symbol,
                        "eventTime": row["eventTime"],
                        "connection": conn.ident,
                        "channel": number,
                        "values": row,
                    }
                    log_lines.append(_dumps(record))
            self._write_log(log_lines)
            for (number, event_type), rows in groups.items():
                channel = conn.channels[number]
                for start in range(0, len(rows), _MAX_EVENTS_PER_FRAME):
                    chunk = rows[start : start + _MAX_EVENTS_PER_FRAME]
                    await self._send_rows(conn, number, channel, event_type, chunk)
            conn.last_sent = asyncio.get_running_loop().time()

    @staticmethod
    async def _send_rows(
        conn: _Connection,
        number: int,
        channel: _Channel,
        event_type: str,
        rows: list[dict[str, Any]],
    ) -> None:
        """One ``FEED_DATA`` frame of ``rows`` in the channel's fields and format."""
        names = channel.fields.get(event_type, DEFAULT_EVENT_FIELDS[event_type])
        if channel.data_format is DataFormat.FULL:
            data: list[Any] = [
                {"eventType": event_type, **{n: r.get(n) for n in names}} for r in rows
            ]
        else:
            data = encode_compact(event_type, names, rows)
        frame = {"type": "FEED_DATA", "channel": number, "data": data}
        await conn.websocket.send_text(_dumps(frame))

    # fault injection (its loop) ------------------------------------------------------------

    def _fault_targets(self) -> list[tuple[_Connection, int, _Channel]]:
        """``(connection, channel number, channel)``: the first configured FEED channel of each."""
        targets: list[tuple[_Connection, int, _Channel]] = []
        for conn in self._connections.values():
            if not conn.authorized or conn.drop.is_set():
                continue
            for number, channel in sorted(conn.channels.items()):
                if channel.configured:
                    targets.append((conn, number, channel))
                    break
        if not targets:
            raise RuntimeError(
                "no DXLink connection has a configured FEED channel to inject into; wait "
                "until a client has connected and subscribed"
            )
        return targets

    @staticmethod
    def _log_line(
        conn: _Connection,
        number: int,
        *,
        seq: int | None,
        event_type: str,
        row: Mapping[str, Any] | None,
        fault: str | None,
        **extra: Any,
    ) -> str:
        record: dict[str, Any] = {
            "seq": seq,
            "type": event_type,
            "symbol": None if row is None else row.get("eventSymbol"),
            "eventTime": None if row is None else row.get("eventTime"),
            "connection": conn.ident,
            "channel": number,
            "values": None if row is None else dict(row),
        }
        if fault is not None:
            record["fault"] = fault
        record.update(extra)
        return _dumps(record)

    def _malformed_payload(self, kind: str, names: tuple[str, ...]) -> tuple[Any, dict[str, Any]]:
        """The FEED_DATA ``data`` (or the raw text, for not_json) and the event it carries."""
        symbol = self._book.positions[0].streamer_symbol
        now_ms = int(self._clock().timestamp() * 1000)
        v = self._book.option_values[symbol]
        row: dict[str, Any] = {
            "eventSymbol": symbol,
            "eventTime": now_ms,
            "eventFlags": 0,
            "index": now_ms << 22,
            "time": now_ms,
            "sequence": 0,
            "price": round(float(v["price"][0]), 6),
            "volatility": float(v["volatility"][0]),
            "delta": float(v["delta"][0]),
            "gamma": float(v["gamma"][0]),
            "theta": float(v["theta"][0]),
            "rho": float(v["rho"][0]),
            "vega": float(v["vega"][0]),
        }
        if kind == "not_json":
            return '{"type":"FEED_DATA","channel":1,"data":["Greeks",[', row
        if kind == "bad_value":
            row["delta"] = "oops"
        elif kind == "no_greeks":
            for name in ("delta", "gamma", "theta", "rho", "vega"):
                row[name] = "NaN"
        elif kind == "bad_symbol":
            row["eventSymbol"] = "NOT-AN-OPTION"
        elif kind == "unknown_type":
            return ["Candle", [symbol, now_ms, 1.0, 2.0]], row
        event_type, flat = encode_compact("Greeks", names, [row])
        if kind == "bad_arity":
            flat = flat[:-1]
        return [event_type, flat], row

    async def _send_malformed(self, kind: str) -> int:
        targets = self._fault_targets()
        for conn, number, channel in targets:
            async with conn.send_lock:
                names = channel.fields.get("Greeks", DEFAULT_EVENT_FIELDS["Greeks"])
                payload, row = self._malformed_payload(kind, names)
                if isinstance(payload, str):
                    text = payload
                else:
                    text = _dumps({"type": "FEED_DATA", "channel": number, "data": payload})
                event_type = "Candle" if kind == "unknown_type" else "Greeks"
                line = self._log_line(
                    conn,
                    number,
                    seq=None,
                    event_type=event_type,
                    row=row,
                    fault="malformed",
                    kind=kind,
                    frame=text,
                )
                self._write_log([line])
                await conn.websocket.send_text(text)
                conn.last_sent = asyncio.get_running_loop().time()
        return len(targets)

    async def _send_duplicates(self, n: int) -> int:
        if n > len(self._recent):
            raise ValueError(
                f"repeat_last({n}): only {len(self._recent)} Greeks events are remembered"
            )
        repeated = list(self._recent)[-n:]
        targets = self._fault_targets()
        for conn, number, channel in targets:
            async with conn.send_lock:
                lines = [
                    self._log_line(
                        conn, number, seq=seq, event_type="Greeks", row=row, fault="duplicate"
                    )
                    for seq, row in repeated
                ]
                self._write_log(lines)
                rows = [dict(row) for _, row in repeated]
                await self._send_rows(conn, number, channel, "Greeks", rows)
                conn.last_sent = asyncio.get_running_loop().time()
        return n * len(targets)

    async def _send_out_of_order(self, symbol: str) -> tuple[dict[str, Any], dict[str, Any]]:
        targets = self._fault_targets()
        older = self._event_row("Greeks", symbol)
        older_seq = self._sequence
        newer = self._event_row("Greeks", symbol)
        newer_seq = self._sequence
        for conn, number, channel in targets:
            async with conn.send_lock:
                for seq, row, fault in (
                    (newer_seq, newer, None),
                    (older_seq, older, "out_of_order"),
                ):
                    line = self._log_line(
                        conn, number, seq=seq, event_type="Greeks", row=row, fault=fault
                    )
                    self._write_log([line])
                    await self._send_rows(conn, number, channel, "Greeks", [row])
                conn.last_sent = asyncio.get_running_loop().time()
        self._recent.append((newer_seq, newer))
        self._recent.append((older_seq, older))
        return dict(older), dict(newer)
