"""A tastytrade account's market, seen over DXLink, as a workbench market source.

:class:`DxlinkMarketSource` implements :class:`~riskdesk.domain.sources.MarketSource` through
the broker-independent :class:`~riskdesk.adapters.stream_snapshot.StreamMarketSource`: its
:meth:`~DxlinkMarketSource.snapshot` connects once with the streaming client
(:class:`~riskdesk.adapters.tastytrade.client.DxlinkSource`, run with a collecting sink in a
thread), waits until every wanted option has streamed Greeks with an implied vol and an
underlying price and a quote (or ``timeout_s`` passed), stops, and builds the snapshot with
:func:`riskdesk.adapters.broker_market.snapshot_from_view`. This module keeps only what is
DXLink's: streamer symbols and the client's ``on_quote`` hook.

What the snapshot holds: per option its OCC symbol, the best bid and ask of its latest
``Quote`` event (the client hands every quote to the source's ``on_quote`` hook), the Greeks
event's ``price`` (the broker's theoretical price, kept as the ``mark``), its ``volatility``
(the broker's IV) and event time; per underlying the bid and ask of its latest quote (the
spot is their mid). An option or underlying whose quote did not arrive in time keeps what
its Greeks carried, and the diagnostics count it. A Greeks event without an IV or an
underlying price never replaces a complete earlier one (see
:mod:`riskdesk.adapters.stream_snapshot`).

The wanted options are ``symbols`` (dxFeed streamer symbols such as ``.SPY250321C580``, or
OCC symbols) or, by default, the account's option positions. Credentials go to the client
only; :meth:`~DxlinkMarketSource.describe` and errors never show them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Literal

from riskdesk.adapters.stream_snapshot import (
    MarketSourceTimeoutError,
    QuoteSeen,
    StreamMarketSource,
    check_timeout,
)
from riskdesk.adapters.tastytrade.client import (
    BROKER,
    Credentials,
    CredentialsProvider,
    DxlinkSource,
    utc_now,
)
from riskdesk.adapters.tastytrade.parsing import (
    DxlinkParseError,
    QuoteEvent,
    occ_to_streamer_symbol,
    streamer_symbol_to_occ,
)
from riskdesk.domain.market import MarketOverrides
from riskdesk.domain.occ import format_occ, is_occ_symbol, parse_occ
from riskdesk.streaming.session import Backoff

__all__ = ["DxlinkMarketSource", "MarketSourceTimeoutError"]


class DxlinkMarketSource(StreamMarketSource):
    """The market of a tastytrade account's options (or of ``symbols``), from DXLink.

    Parameters
    ----------
    base_url : str
        The tastytrade API (``https://api.tastyworks.com``) or a fake broker's
        ``http://127.0.0.1:P`` (``ws://`` is read as ``http://``).
    account : str
        The account whose positions give the wanted options (and the source's name).
    credentials : Credentials or CredentialsProvider
        ``(login, secret)`` or a callable returning it (e.g. from the secrets store).
    symbols : Sequence[str] or None
        Options to quote (dxFeed streamer or OCC symbols) instead of the account's positions.
    timeout_s : float
        Seconds a snapshot waits for every wanted option before building with what came.
    auth : {"session", "oauth"}
        The client's login flow.
    overrides : MarketOverrides or None
        Rate and dividends of the snapshots (a broker stream carries none).
    clock : Callable[[], datetime]
        Timezone-aware UTC clock (the snapshot's ``as_of``).
    backoff : Backoff or None
        The client's reconnect delays within one snapshot.

    """

    broker = BROKER
    mark_field = "price"
    require_quotes = True

    def __init__(
        self,
        base_url: str,
        *,
        account: str,
        credentials: Credentials | CredentialsProvider,
        symbols: Sequence[str] | None = None,
        timeout_s: float = 10.0,
        auth: Literal["session", "oauth"] = "session",
        overrides: MarketOverrides | None = None,
        clock: Callable[[], datetime] = utc_now,
        backoff: Backoff | None = None,
    ) -> None:
        timeout = check_timeout(timeout_s)
        streamer: list[str] | None = None
        if symbols is not None:
            if isinstance(symbols, str):
                raise ValueError(f"symbols must be a sequence of symbols, got the text {symbols!r}")
            streamer = [self._streamer_symbol(symbol) for symbol in symbols]
        self.base_url = base_url
        self.symbols = None if symbols is None else tuple(symbols)
        client = DxlinkSource(
            base_url,
            account=account,
            credentials=credentials,
            auth=auth,
            clock=clock,
            backoff=backoff,
            symbols=streamer,
            timeout_s=min(timeout, 10.0),
            on_quote=self._on_quote,
        )
        self._dxlink = client
        super().__init__(
            client,
            account=account,
            wanted=None if streamer is None else [self.to_occ(s) for s in streamer],
            timeout_s=timeout,
            overrides=overrides,
            clock=clock,
        )

    @staticmethod
    def _streamer_symbol(symbol: object) -> str:
        if not isinstance(symbol, str) or not symbol:
            raise ValueError(f"symbols must hold non-empty option symbols, got {symbol!r}")
        if symbol.startswith("."):
            try:
                streamer_symbol_to_occ(symbol)
            except DxlinkParseError as exc:
                raise ValueError(
                    f"symbol {symbol!r} is not a dxFeed option symbol: {exc}"
                ) from None
            return symbol
        if is_occ_symbol(symbol):
            return occ_to_streamer_symbol(symbol)
        raise ValueError(
            f"symbol {symbol!r} is neither a dxFeed option symbol (.SPY250321C580) nor an OCC "
            "symbol (SPY   250321C00580000)"
        )

    @staticmethod
    def to_occ(symbol: str) -> str:
        """The padded OCC symbol of a tick's symbol (OCC or dxFeed streamer symbol).

        Raises
        ------
        ValueError
            When ``symbol`` is neither.

        """
        if symbol.startswith("."):
            return streamer_symbol_to_occ(symbol)  # a DxlinkParseError is a ValueError
        return format_occ(parse_occ(symbol))

    @property
    def address(self) -> str:
        """The tastytrade API address the client uses."""
        return self._dxlink.base_url

    def describe(self) -> dict[str, Any]:
        """Broker, account, API address, wanted symbols and timeout (never credentials)."""
        return {
            "source": self.name,
            "broker": BROKER,
            "account": self.account,
            "url": self._dxlink.base_url,
            "symbols": None if self.symbols is None else list(self.symbols),
            "timeout_s": self.timeout_s,
        }

    def _on_quote(self, event: QuoteEvent, received_at: datetime) -> None:
        """The client's quote hook: keep the quote by OCC symbol (options) or ticker."""
        collector = self._collector
        if collector is None:
            return
        symbol = event.event_symbol
        if symbol.startswith("."):
            try:
                symbol = streamer_symbol_to_occ(symbol)
            except DxlinkParseError:
                collector.rejected("malformed", f"quote of {event.event_symbol!r}")
                return
        collector.quote(symbol, QuoteSeen(event.bid_price, event.ask_price, received_at))
