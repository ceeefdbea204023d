"""tastytrade streaming client: REST login and positions, then Greeks and quotes over DXLink.

:class:`DxlinkSource` is a :class:`~riskdesk.streaming.source.TickSource`: its
:meth:`~DxlinkSource.run` blocks in the calling thread (running its own asyncio loop) until
``stop`` is set, and reports everything through a sink:

1. REST against ``base_url`` (``http(s)://`` or ``ws(s)://``, the same host): log in
   (``POST /sessions`` with login and password, or ``POST /oauth/token`` with a refresh
   token), list the account's positions (``GET /accounts/{account}/positions``; each option
   position -> ``sink.position``, quantity signed), get a DXLink quote token and URL
   (``GET /api-quote-tokens``);
2. DXLink over a WebSocket: ``SETUP`` -> ``AUTH_STATE`` -> ``AUTH`` -> ``AUTHORIZED``,
   ``CHANNEL_REQUEST`` (FEED, contract AUTO) -> ``CHANNEL_OPENED``, ``FEED_SETUP`` (COMPACT,
   the Greeks and Quote fields), ``FEED_SUBSCRIPTION`` (Greeks and Quote of every option
   symbol, Quote of every underlying); then every ``FEED_DATA`` Greeks event becomes a
   :class:`~riskdesk.streaming.normalize.GreeksTick` and every Quote updates the latest mid
   used as ``underlying_price``; ``KEEPALIVE`` every ``keepalive_s / 2`` seconds;
3. on a close or an error: :class:`~riskdesk.streaming.session.StreamSession` ``closed`` ->
   wait its backoff delay (cut short by ``stop``) -> connect again (new login and token) ->
   resubscribe the session's symbols.

Every session transition goes to ``sink.status``; a malformed frame, event or position goes
to ``sink.rejected("malformed", detail)`` and the stream goes on (the other events of a frame
are kept). Network trouble never raises out of :meth:`~DxlinkSource.run`; only programming
errors (including the sink's own exceptions) do.

Credentials are a ``(login, secret)`` pair or a callable returning one (read, for example,
from riskdesk's secrets store, :func:`riskdesk.secrets.load_broker_credentials`); the callable
is called again for each login, so a rotated secret is picked up. With a ``token_cache`` (the
secrets store's :class:`riskdesk.secrets.TokenCache`) the session token survives reconnects
and restarts until it expires or the server refuses it, so a reconnect does not log in again.
Credentials and tokens are never logged nor put in error texts.

Examples
--------
>>> import threading
>>> source = DxlinkSource(
...     "http://127.0.0.1:8765", account="5WT00001", credentials=("trader", "secret")
... )  # doctest: +SKIP
>>> stop = threading.Event()  # doctest: +SKIP
>>> source.run(sink, stop)  # blocks until stop.set()  # doctest: +SKIP

"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import random
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Final, Literal, Protocol, TypeVar, runtime_checkable

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, WebSocketException

from riskdesk.adapters.tastytrade.parsing import (
    DEFAULT_EVENT_FIELDS,
    AuthMessage,
    AuthState,
    AuthStateMessage,
    ChannelClosedMessage,
    ChannelOpenedMessage,
    ChannelRequestMessage,
    DataFormat,
    DxlinkMessage,
    DxlinkParseError,
    ErrorMessage,
    FeedConfigMessage,
    FeedDataMessage,
    FeedFields,
    FeedSetupMessage,
    FeedSubscription,
    FeedSubscriptionMessage,
    GreeksEvent,
    KeepaliveMessage,
    QuoteEvent,
    SetupMessage,
    TastytradePosition,
    decode_event_values,
    parse_message,
    parse_positions,
    streamer_symbol_to_contract,
)
from riskdesk.streaming.normalize import GreeksTick, PositionUpdate
from riskdesk.streaming.reconnect import run_attempts
from riskdesk.streaming.session import Backoff, SessionPolicy, Step, StreamSession
from riskdesk.streaming.source import SourceSink

__all__ = [
    "BROKER",
    "CLIENT_VERSION",
    "FEED_CHANNEL",
    "GREEKS_FIELDS",
    "QUOTE_FIELDS",
    "REJECT_MALFORMED",
    "Credentials",
    "CredentialsProvider",
    "DxlinkSource",
    "TokenCache",
]

_STOP_GRACE_S = 1.0
"""Seconds a stopping attempt gets to close its connection itself before it is cancelled."""

_log = logging.getLogger(__name__)

BROKER: Final = "tastytrade"
"""The ``broker`` of every tick and position this source emits."""

CLIENT_VERSION: Final = "0.1-riskdesk/1.0"
"""Version string sent in the client's ``SETUP``."""

FEED_CHANNEL: Final = 1
"""The FEED channel number this client opens (DXLink client channels are odd)."""

REJECT_MALFORMED: Final = "malformed"
"""``sink.rejected`` reason of a frame, event or position this client cannot read."""

GREEKS_FIELDS: Final[tuple[str, ...]] = tuple(DEFAULT_EVENT_FIELDS["Greeks"])
"""``acceptEventFields`` asked for Greeks (seed 003's COMPACT order)."""

QUOTE_FIELDS: Final[tuple[str, ...]] = (
    "eventSymbol",
    "eventTime",
    "sequence",
    "bidTime",
    "bidPrice",
    "bidSize",
    "askTime",
    "askPrice",
    "askSize",
)
"""``acceptEventFields`` asked for Quote (enough for a mid and its time)."""

Credentials = tuple[str, str]
"""``(login, secret)``: login and password, or (``auth="oauth"``) client secret and refresh token."""

CredentialsProvider = Callable[[], Credentials]


@runtime_checkable
class TokenCache(Protocol):
    """Where a session token outlives one connection (e.g. :class:`riskdesk.secrets.TokenCache`).

    ``load`` returns the cached ``Authorization`` value or None; ``save`` keeps a new one until
    ``expires_at``; ``clear`` forgets one the server refused. A failing cache never fails a
    connection: the source logs in with the credentials instead.
    """

    def load(self) -> str | None:
        """The cached token, or None."""
        ...

    def save(self, token: str, expires_at: datetime) -> None:
        """Keep ``token`` until ``expires_at`` (timezone-aware)."""
        ...

    def clear(self) -> None:
        """Forget the cached token."""
        ...


"""A callable returning :data:`Credentials`, called once per connection attempt."""

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_M = TypeVar("_M")
_HANDSHAKE_WHAT = "DXLink handshake"


def utc_now() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


class _AttemptError(Exception):
    """A connection attempt failed for a reason worth reporting and retrying (not a bug)."""


_NETWORK_ERRORS: Final = (
    _AttemptError,
    httpx.HTTPError,
    WebSocketException,
    OSError,
    TimeoutError,
)


@dataclass(frozen=True, slots=True)
class _Login:
    """What the REST calls gave: positions and the DXLink address and token."""

    positions: tuple[TastytradePosition, ...]
    dxlink_url: str
    quote_token: str


def _rest_base(base_url: str) -> str:
    url = base_url.rstrip("/")
    if url.startswith("ws://"):
        return "http://" + url.removeprefix("ws://")
    if url.startswith("wss://"):
        return "https://" + url.removeprefix("wss://")
    if url.startswith(("http://", "https://")):
        return url
    raise ValueError(
        f"base_url must start with http://, https://, ws:// or wss://, got {base_url!r}"
    )


def _ms_to_datetime(ms: int | None) -> datetime | None:
    """An epoch-millisecond time as aware UTC; None for missing or zero (dxFeed: not set)."""
    if ms is None or ms <= 0:
        return None
    return _EPOCH + timedelta(milliseconds=ms)


_DEFAULT_TOKEN_LIFE: Final = timedelta(minutes=15)
"""How long a token is cached when the login does not say (tastytrade's OAuth access tokens
last 15 minutes; session tokens say so in ``session-expiration``)."""


def _expiry(value: object) -> datetime | None:
    """A login's ``session-expiration`` (ISO-8601) as an aware datetime, or None."""
    if not isinstance(value, str) or not value:
        return None
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when.astimezone(UTC) if when.utcoffset() is not None else None


def _mid(quote: QuoteEvent) -> float | None:
    bid, ask = quote.bid_price, quote.ask_price
    if bid is None or ask is None or bid <= 0 or ask <= 0:
        return None
    mid = float((bid + ask) / Decimal(2))
    return mid if math.isfinite(mid) else None


def _error_text(response: httpx.Response) -> str:
    """A short reason from an error response (never the request, which may hold secrets)."""
    try:
        body = response.json()
    except ValueError:
        return response.reason_phrase
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return str(error["message"])
        if isinstance(error, str):
            return error
    return response.reason_phrase


class DxlinkSource:
    """Greeks, quotes and positions of one tastytrade account, streamed over DXLink.

    Parameters
    ----------
    base_url : str
        The tastytrade API address (``https://api.tastyworks.com``, or a fake broker's
        ``http://127.0.0.1:P``; ``ws://`` is taken as ``http://``).
    account : str
        The account number whose positions are streamed (the ticks' ``account_id``).
    credentials : Credentials or CredentialsProvider
        ``(login, secret)`` or a callable returning it (called for each connection attempt).
    auth : {"session", "oauth"}
        ``session``: ``POST /sessions`` with login and password; ``oauth``: ``POST
        /oauth/token`` with ``(client_secret, refresh_token)``.
    clock : Callable[[], datetime]
        Wall clock, timezone-aware UTC: ``received_at``, position times, session events.
    backoff : Backoff or None
        Reconnect delays; None: seed 003's (1 s doubling to 30 s, full jitter).
    keepalive_s : float
        DXLink ``keepaliveTimeout`` sent in ``SETUP``; a ``KEEPALIVE`` goes out after
        ``keepalive_s / 2`` seconds without sending, and each ``keepalive_s`` without hearing
        from the server counts a missed heartbeat (the session degrades, then reconnects).
    symbols : Sequence[str] or None
        dxFeed streamer symbols to subscribe instead of the positions' option symbols
        (underlying quotes are added either way); None: the account's option positions.
    policy : SessionPolicy or None
        Heartbeat and degradation thresholds of the session.
    timeout_s : float
        Timeout of each REST call, the WebSocket opening and each handshake reply.
    on_quote : Callable[[QuoteEvent, datetime], None] or None
        Called with every decoded ``Quote`` event and its receipt time, from the thread
        running :meth:`run` (a broker snapshot keeps bids and asks this way; the Greeks
        stream itself uses only the mids).
    token_cache : TokenCache or None
        Where the session token is kept between connections (riskdesk keeps it in the secrets
        store): a reconnect reuses it instead of logging in again, and a refused one (401) is
        cleared and replaced by a fresh login. None: log in at every connection.

    Notes
    -----
    One :meth:`run` at a time per instance; the sink is called from the thread running it.

    """

    broker: str = BROKER

    def __init__(
        self,
        base_url: str,
        *,
        account: str,
        credentials: Credentials | CredentialsProvider,
        auth: Literal["session", "oauth"] = "session",
        clock: Callable[[], datetime] = utc_now,
        backoff: Backoff | None = None,
        keepalive_s: float = 60.0,
        symbols: Sequence[str] | None = None,
        policy: SessionPolicy | None = None,
        timeout_s: float = 10.0,
        on_quote: Callable[[QuoteEvent, datetime], None] | None = None,
        token_cache: TokenCache | None = None,
    ) -> None:
        if not isinstance(account, str) or not account.strip():
            raise ValueError(f"account must be a non-empty account number, got {account!r}")
        if auth not in ("session", "oauth"):
            raise ValueError(f"auth must be 'session' or 'oauth', got {auth!r}")
        if not (isinstance(keepalive_s, int | float) and math.isfinite(keepalive_s)) or not (
            keepalive_s > 0
        ):
            raise ValueError(f"keepalive_s must be a number of seconds > 0, got {keepalive_s!r}")
        if not (isinstance(timeout_s, int | float) and math.isfinite(timeout_s)) or not (
            timeout_s > 0
        ):
            raise ValueError(f"timeout_s must be a number of seconds > 0, got {timeout_s!r}")
        if not callable(credentials) and not (
            isinstance(credentials, tuple)
            and len(credentials) == 2
            and all(isinstance(part, str) for part in credentials)
        ):
            raise ValueError(
                "credentials must be a (login, secret) pair of strings or a callable returning one"
            )
        if symbols is not None:
            bad = [s for s in symbols if not isinstance(s, str) or not s]
            if bad or isinstance(symbols, str):
                raise ValueError(
                    f"symbols must be a sequence of non-empty streamer symbols, got {symbols!r}"
                )
        self.account_id = account
        self.base_url = _rest_base(base_url)
        self._credentials = credentials
        self._auth = auth
        self._clock = clock
        self._backoff = backoff or Backoff(random.Random(), base=1.0, factor=2.0, max_delay=30.0)
        self._policy = policy
        self.keepalive_s = float(keepalive_s)
        self.timeout_s = float(timeout_s)
        self._symbols = tuple(dict.fromkeys(symbols)) if symbols is not None else None
        self._on_quote = on_quote
        self._tokens = token_cache
        self._session: StreamSession | None = None
        # state of the current run (touched only by the thread running it)
        self._occ: dict[str, str] = {}  # option streamer symbol -> OCC symbol
        self._underlying: dict[str, str] = {}  # option streamer symbol -> underlying symbol
        self._mids: dict[str, float] = {}  # symbol -> latest quote mid
        self._open_positions: dict[str, datetime] = {}  # OCC symbol -> last event time

    def __repr__(self) -> str:
        return f"DxlinkSource({self.base_url!r}, account={self.account_id!r}, auth={self._auth!r})"

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
            Set it (from any thread) to close the connection and return.

        """
        session = StreamSession(
            BROKER, account_id=self.account_id, backoff=self._backoff, policy=self._policy
        )
        self._session = session
        self._occ, self._underlying, self._mids, self._open_positions = {}, {}, {}, {}
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
            closed_reason="connection closed",
            name=f"tastytrade stream {self.account_id}",
            grace_s=_STOP_GRACE_S,
        )

    @staticmethod
    def _describe(exc: BaseException) -> str:
        if isinstance(exc, ConnectionClosed):
            received = exc.rcvd
            if received is None:
                return "connection lost (no close frame)"
            detail = f" {received.reason}" if received.reason else ""
            return f"connection closed by the server (code {received.code}{detail})"
        if isinstance(exc, _AttemptError):
            return str(exc)
        if isinstance(exc, TimeoutError):
            return f"timed out after {exc}" if str(exc) else "timed out"
        if isinstance(exc, httpx.HTTPError):
            return f"REST request failed: {type(exc).__name__}: {exc}"
        return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__

    # ------------------------------------------------------------------------- one attempt

    async def _attempt(
        self, sink: SourceSink, session: StreamSession, stop: threading.Event
    ) -> None:
        login = await self._rest(sink)
        wanted = self._wanted_symbols(login.positions)
        session.subscribe(wanted)
        async with connect(
            login.dxlink_url,
            open_timeout=self.timeout_s,
            close_timeout=1.0,
            ping_interval=None,  # DXLink has its own KEEPALIVE
            compression=None,
            max_size=2**24,
        ) as ws:
            fields = await self._handshake(ws, login.quote_token)
            step = session.connected(self._clock())
            sink.status(step)
            await ws.send(_dumps(self._subscription(step.resubscribe).to_wire()))
            await self._stream(ws, sink, session, fields, stop)

    async def _rest(self, sink: SourceSink) -> _Login:
        what = f"positions (GET /accounts/{self.account_id}/positions)"
        path = f"/accounts/{self.account_id}/positions"
        async with httpx.AsyncClient(base_url=self.base_url, timeout=self.timeout_s) as client:
            header = self._cached_token()
            response: httpx.Response | None = None
            if header is not None:
                response = await client.get(path, headers={"Authorization": header})
                if response.status_code == 401:  # expired or revoked: log in again
                    self._cache_call("clear")
                    header, response = None, None
            if header is None:
                header, expires_at = await self._login(client)
                self._cache_call("save", header, expires_at)
                response = await client.get(path, headers={"Authorization": header})
            assert response is not None
            headers = {"Authorization": header}
            self._check(response, what)
            positions = self._positions(response, sink)
            what = "quote token (GET /api-quote-tokens)"
            response = await client.get("/api-quote-tokens", headers=headers)
            self._check(response, what)
            data = self._data(response, what)
            quote_token, url = data.get("token"), data.get("dxlink-url")
            if not isinstance(quote_token, str) or not quote_token:
                raise _AttemptError(f"{what} answered without a token")
            if not isinstance(url, str) or not url.startswith(("ws://", "wss://")):
                raise _AttemptError(f"{what} answered without a ws:// or wss:// dxlink-url")
        return _Login(positions=positions, dxlink_url=url, quote_token=quote_token)

    def _cached_token(self) -> str | None:
        if self._tokens is None:
            return None
        try:
            token = self._tokens.load()
        except Exception as exc:  # a cache failure only costs a login
            _log.warning("tastytrade: token cache unreadable (%s); logging in", type(exc).__name__)
            return None
        return token if isinstance(token, str) and token else None

    def _cache_call(self, name: str, *args: object) -> None:
        if self._tokens is None:
            return
        try:
            getattr(self._tokens, name)(*args)
        except Exception as exc:  # a cache failure only costs a login next time
            _log.warning("tastytrade: token cache %s failed (%s)", name, type(exc).__name__)

    async def _login(self, client: httpx.AsyncClient) -> tuple[str, datetime]:
        """Log in with the credentials: the ``Authorization`` value and when it expires."""
        provider = self._credentials
        if callable(provider):
            try:
                login, secret = provider()
            except Exception as exc:  # any store failure fails this attempt
                # a secret deleted, a wrong key or a locked keyring mid-stream: the attempt fails
                # like a refused login (reported, retried with backoff); the thread lives on
                raise _AttemptError(
                    f"credentials unavailable ({type(exc).__name__}): {exc}"
                ) from None
        else:
            login, secret = provider
        now = self._clock()
        if self._auth == "session":
            response = await client.post(
                "/sessions", json={"login": login, "password": secret, "remember-me": False}
            )
            self._check(response, "login (POST /sessions)")
            data = self._data(response, "login (POST /sessions)")
            token = data.get("session-token")
            header = str(token) if isinstance(token, str) and token else ""
            expires_at = _expiry(data.get("session-expiration")) or now + _DEFAULT_TOKEN_LIFE
        else:
            response = await client.post(
                "/oauth/token",
                json={
                    "grant_type": "refresh_token",
                    "client_secret": login,
                    "refresh_token": secret,
                },
            )
            self._check(response, "login (POST /oauth/token)")
            body = self._json(response, "login (POST /oauth/token)")
            token = body.get("access_token") if isinstance(body, dict) else None
            header = f"Bearer {token}" if isinstance(token, str) and token else ""
            life = body.get("expires_in") if isinstance(body, dict) else None
            seconds = life if isinstance(life, int) and not isinstance(life, bool) else None
            expires_at = now + (timedelta(seconds=seconds) if seconds else _DEFAULT_TOKEN_LIFE)
        if not header:
            raise _AttemptError("login answered without a session token")
        return header, expires_at

    @staticmethod
    def _check(response: httpx.Response, what: str) -> None:
        if not response.is_success:
            raise _AttemptError(
                f"{what} refused: HTTP {response.status_code} {_error_text(response)}"
            )

    @staticmethod
    def _json(response: httpx.Response, what: str) -> object:
        try:
            return response.json()
        except ValueError:
            raise _AttemptError(f"{what} answered with a body that is not JSON") from None

    @classmethod
    def _data(cls, response: httpx.Response, what: str) -> dict[str, Any]:
        body = cls._json(response, what)
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict):
            raise _AttemptError(f"{what} answered without a 'data' object")
        return data

    def _positions(
        self, response: httpx.Response, sink: SourceSink
    ) -> tuple[TastytradePosition, ...]:
        """Parse the positions item by item (a bad one is rejected, the others kept); emit."""
        body = self._data(response, "positions")
        items = body.get("items")
        if not isinstance(items, list):
            raise _AttemptError("positions answered without a 'data.items' list")
        now = self._clock()
        positions: list[TastytradePosition] = []
        for index, item in enumerate(items):
            try:
                (position,) = parse_positions([item])
            except DxlinkParseError as exc:
                sink.rejected(REJECT_MALFORMED, f"positions[{index}]: {exc}")
                continue
            positions.append(position)
        seen: set[str] = set()
        for position in positions:
            if position.contract is None:
                continue  # stock and futures positions carry no option Greeks
            occ = position.symbol
            seen.add(occ)
            if position.streamer_symbol:
                self._occ[position.streamer_symbol] = occ
                self._underlying[position.streamer_symbol] = position.underlying_symbol
            event_time = position.updated_at or now
            self._open_positions[occ] = event_time
            sink.position(
                PositionUpdate(
                    broker=BROKER,
                    account_id=self.account_id,
                    symbol=occ,
                    quantity=position.signed_quantity,
                    event_time=event_time,
                )
            )
        for occ in [s for s in self._open_positions if s not in seen]:  # closed since
            del self._open_positions[occ]
            sink.position(
                PositionUpdate(
                    broker=BROKER,
                    account_id=self.account_id,
                    symbol=occ,
                    quantity=Decimal(0),
                    event_time=now,
                )
            )
        return tuple(positions)

    def _wanted_symbols(self, positions: Sequence[TastytradePosition]) -> tuple[str, ...]:
        """Option streamer symbols (Greeks) then their underlyings (Quote)."""
        if self._symbols is not None:
            options = [s for s in self._symbols if s.startswith(".")]
            others = [s for s in self._symbols if not s.startswith(".")]
        else:
            options = [
                p.streamer_symbol for p in positions if p.contract is not None and p.streamer_symbol
            ]
            others = []
        underlyings: list[str] = []
        for symbol in options:
            underlying = self._underlying.get(symbol)
            if underlying is None:
                try:
                    underlying = streamer_symbol_to_contract(symbol).underlying
                except DxlinkParseError:
                    continue
                self._underlying[symbol] = underlying
            underlyings.append(underlying)
        return tuple(dict.fromkeys([*options, *others, *underlyings]))

    def _subscription(self, symbols: Sequence[str]) -> FeedSubscriptionMessage:
        """Greeks of the options, Quote of the underlyings (their mid is the Greeks' spot).

        Options' quotes are subscribed only for an ``on_quote`` hook (a broker snapshot): the
        Greeks stream does not use them, and they would double the events to decode.
        """
        add: list[FeedSubscription] = []
        for symbol in symbols:
            option = symbol.startswith(".")
            if option:
                add.append(FeedSubscription(type="Greeks", symbol=symbol))
            if not option or self._on_quote is not None:
                add.append(FeedSubscription(type="Quote", symbol=symbol))
        return FeedSubscriptionMessage(channel=FEED_CHANNEL, add=tuple(add))

    async def _recv_message(self, ws: ClientConnection) -> DxlinkMessage:
        async with asyncio.timeout(self.timeout_s):  # not wait_for: 3.11's can swallow a cancel
            frame = await ws.recv()
        try:
            return parse_message(frame)
        except DxlinkParseError as exc:
            raise _AttemptError(f"{_HANDSHAKE_WHAT}: {exc}") from None

    async def _expect(self, ws: ClientConnection, kind: type[_M], what: str) -> _M:
        """Read until a ``kind`` message; an ERROR or a refused AUTH fails the attempt."""
        while True:
            try:
                message = await self._recv_message(ws)
            except TimeoutError:
                raise _AttemptError(
                    f"{_HANDSHAKE_WHAT}: no {what} within {self.timeout_s:g} s"
                ) from None
            if isinstance(message, kind):
                return message
            if isinstance(message, ErrorMessage):
                raise _AttemptError(
                    f"{_HANDSHAKE_WHAT}: server ERROR {message.error}: {message.message}"
                )

    async def _handshake(self, ws: ClientConnection, token: str) -> FeedFields:
        setup = SetupMessage(
            version=CLIENT_VERSION,
            keepalive_timeout=self.keepalive_s,
            accept_keepalive_timeout=self.keepalive_s,
        )
        await ws.send(_dumps(setup.to_wire()))
        state = await self._expect(ws, AuthStateMessage, "AUTH_STATE")
        if state.state is not AuthState.AUTHORIZED:
            await ws.send(_dumps(AuthMessage(token=token).to_wire()))
            state = await self._expect(ws, AuthStateMessage, "AUTH_STATE after AUTH")
            if state.state is not AuthState.AUTHORIZED:
                raise _AttemptError(
                    f"{_HANDSHAKE_WHAT}: the quote token was refused (UNAUTHORIZED)"
                )
        request = ChannelRequestMessage(
            channel=FEED_CHANNEL, service="FEED", parameters={"contract": "AUTO"}
        )
        await ws.send(_dumps(request.to_wire()))
        opened = await self._expect(ws, ChannelOpenedMessage, "CHANNEL_OPENED")
        if opened.channel != FEED_CHANNEL:
            raise _AttemptError(
                f"{_HANDSHAKE_WHAT}: CHANNEL_OPENED for channel {opened.channel}, "
                f"expected {FEED_CHANNEL}"
            )
        feed_setup = FeedSetupMessage(
            channel=FEED_CHANNEL,
            accept_aggregation_period=0.1,
            accept_data_format=DataFormat.COMPACT,
            accept_event_fields={"Greeks": GREEKS_FIELDS, "Quote": QUOTE_FIELDS},
        )
        await ws.send(_dumps(feed_setup.to_wire()))
        return FeedFields().with_setup(feed_setup)

    # ------------------------------------------------------------------------- streaming

    async def _stream(
        self,
        ws: ClientConnection,
        sink: SourceSink,
        session: StreamSession,
        fields: FeedFields,
        stop: threading.Event,
    ) -> None:
        loop = asyncio.get_running_loop()
        poll = min(1.0, self.keepalive_s / 4)
        send_every = self.keepalive_s / 2
        allowed_missed = session.policy.missed_heartbeats_to_degrade
        last_recv = last_send = loop.time()
        missed = 0
        while True:
            if stop.is_set():  # also stops a run whose cancellation got lost in a library
                return
            try:
                async with asyncio.timeout(poll):
                    frame = await ws.recv()
            except TimeoutError:
                frame = None
            now = loop.time()
            if now - last_send >= send_every:
                await ws.send(_dumps(KeepaliveMessage().to_wire()))
                last_send = now
                self._report(sink, session.heartbeat_sent(self._clock()))
            if frame is None:
                silent = now - last_recv
                while missed < int(silent // self.keepalive_s):
                    missed += 1
                    self._report(sink, session.heartbeat_missed(self._clock()))
                if missed > allowed_missed:
                    raise _AttemptError(f"no message from the server for {silent:.1f} s")
                continue
            last_recv, missed = now, 0
            received_at = self._clock()
            self._report(sink, session.message(received_at))
            try:
                message = parse_message(frame)
            except DxlinkParseError as exc:
                sink.rejected(REJECT_MALFORMED, str(exc))
                continue
            if isinstance(message, FeedDataMessage):
                if message.channel == FEED_CHANNEL:
                    self._feed_data(message, fields, received_at, sink)
            elif isinstance(message, FeedConfigMessage):
                if message.channel == FEED_CHANNEL:
                    fields = fields.with_config(message)
            elif isinstance(message, ErrorMessage):
                reason = f"server ERROR {message.error}: {message.message}"
                sink.status(session.error(received_at, reason), error=reason)
            elif isinstance(message, ChannelClosedMessage) and message.channel == FEED_CHANNEL:
                raise _AttemptError("the server closed the FEED channel")
            elif isinstance(message, AuthStateMessage) and message.state is AuthState.UNAUTHORIZED:
                raise _AttemptError(
                    "the server revoked the authorization (AUTH_STATE UNAUTHORIZED)"
                )

    @staticmethod
    def _report(sink: SourceSink, step: Step) -> None:
        if step.changed:
            sink.status(step)

    def _feed_data(
        self,
        message: FeedDataMessage,
        fields: FeedFields,
        received_at: datetime,
        sink: SourceSink,
    ) -> None:
        """Decode a frame event by event: a bad event or group is rejected, the rest kept."""
        data = message.data
        if data and all(isinstance(item, dict) for item in data):  # FULL format
            for index, item in enumerate(data):
                event_type = item.get("eventType")
                self._decode_one(event_type, item, f"FEED_DATA data[{index}]", received_at, sink)
            return
        if len(data) % 2 != 0:
            sink.rejected(
                REJECT_MALFORMED,
                f"FEED_DATA COMPACT data alternates event type and values, got {len(data)} items",
            )
            return
        for pair in range(0, len(data), 2):
            event_type, values = data[pair], data[pair + 1]
            where = f"FEED_DATA data[{pair}]"
            if not isinstance(event_type, str) or not isinstance(values, list):
                sink.rejected(
                    REJECT_MALFORMED, f"{where}: expected an event type and a value array"
                )
                continue
            try:
                names = fields.fields_for(event_type)
            except DxlinkParseError as exc:
                sink.rejected(REJECT_MALFORMED, f"{where}: {exc}")
                continue
            width = len(names)
            if len(values) % width != 0:
                sink.rejected(
                    REJECT_MALFORMED,
                    f"{where}: {len(values)} {event_type} values is not a multiple of the "
                    f"{width} fields {list(names)}",
                )
                continue
            for start in range(0, len(values), width):
                row = dict(zip(names, values[start : start + width], strict=True))
                self._decode_one(event_type, row, where, received_at, sink)

    def _decode_one(
        self,
        event_type: object,
        row: Mapping[str, Any],
        where: str,
        received_at: datetime,
        sink: SourceSink,
    ) -> None:
        if event_type not in ("Greeks", "Quote"):
            if not isinstance(event_type, str) or event_type not in DEFAULT_EVENT_FIELDS:
                sink.rejected(REJECT_MALFORMED, f"{where}: unknown event type {event_type!r}")
            return  # a known type this source does not use (Trade, Summary)
        try:
            event = decode_event_values(event_type, row)
        except DxlinkParseError as exc:
            sink.rejected(REJECT_MALFORMED, f"{where}: {exc}")
            return
        if isinstance(event, QuoteEvent):
            mid = _mid(event)
            if mid is not None:
                self._mids[event.event_symbol] = mid
            if self._on_quote is not None:
                self._on_quote(event, received_at)
        elif isinstance(event, GreeksEvent):
            sink.tick(self._tick(event, received_at))

    def _tick(self, event: GreeksEvent, received_at: datetime) -> GreeksTick:
        symbol = event.event_symbol
        underlying = self._underlying.get(symbol)
        event_time = _ms_to_datetime(event.time) or _ms_to_datetime(event.event_time) or received_at
        return GreeksTick(
            broker=BROKER,
            account_id=self.account_id,
            symbol=self._occ.get(symbol, symbol),
            event_time=event_time,
            received_at=received_at,
            delta=event.delta,
            gamma=event.gamma,
            theta=event.theta,
            vega=event.vega,
            rho=event.rho,
            implied_volatility=event.volatility,
            underlying_price=self._mids.get(underlying) if underlying is not None else None,
            raw=dict(event.raw),
        )


def _dumps(message: Mapping[str, Any]) -> str:
    return json.dumps(message, separators=(",", ":"), allow_nan=False)
