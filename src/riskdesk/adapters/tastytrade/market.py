"""A tastytrade account's market, seen over DXLink, as a workbench market source.

:class:`DxlinkMarketSource` implements :class:`~riskdesk.domain.sources.MarketSource`: its
:meth:`~DxlinkMarketSource.snapshot` connects once with the streaming client
(:class:`~riskdesk.adapters.tastytrade.client.DxlinkSource`, run with a collecting sink in a
thread), waits until every wanted option has streamed Greeks with an implied vol and an
underlying price (or ``timeout_s`` passed), stops, and builds the snapshot with
:func:`riskdesk.adapters.broker_market.snapshot_from_view`.

What the snapshot holds: per option its OCC symbol, the best bid and ask of its latest
``Quote`` event (the client hands every quote to the source's ``on_quote`` hook), the Greeks
event's ``price`` (the broker's theoretical price, kept as the ``mark``), its ``volatility``
(the broker's IV) and event time; per underlying the bid and ask of its latest quote (the
spot is their mid). An option or underlying whose quote did not arrive in time keeps what
its Greeks carried, and the diagnostics count it.

The wanted options are ``symbols`` (dxFeed streamer symbols such as ``.SPY250321C580``, or
OCC symbols) or, by default, the account's option positions. Credentials go to the client
only; :meth:`~DxlinkMarketSource.describe` and errors never show them.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Final, Literal

from riskdesk.adapters.broker_market import (
    BrokerOptionQuote,
    BrokerUnderlyingQuote,
    BrokerView,
    snapshot_from_view,
    to_money,
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
from riskdesk.domain.market import MarketOverrides, MarketSnapshot, SnapshotMode
from riskdesk.domain.occ import format_occ, is_occ_symbol, parse_occ
from riskdesk.streaming.normalize import GreeksTick, Number, PositionUpdate
from riskdesk.streaming.session import Backoff, Step

__all__ = ["DxlinkMarketSource", "MarketSourceTimeoutError"]

_JOIN_GRACE_S: Final = 5.0


class MarketSourceTimeoutError(TimeoutError):
    """The broker sent no usable option quote within the timeout (nothing was built)."""


def _occ(symbol: str) -> str:
    """The padded OCC symbol of a tick's symbol (OCC or dxFeed streamer symbol)."""
    if symbol.startswith("."):
        return streamer_symbol_to_occ(symbol)
    return format_occ(parse_occ(symbol))


@dataclass(eq=False)
class _Collector:
    """A thread-safe :class:`~riskdesk.streaming.source.SourceSink` keeping the latest view."""

    cond: threading.Condition = field(default_factory=threading.Condition)
    ticks: dict[str, GreeksTick] = field(default_factory=dict)  # OCC -> latest by event time
    positions: dict[str, Decimal] = field(default_factory=dict)  # OCC -> signed quantity
    quotes: dict[str, tuple[QuoteEvent, datetime]] = field(default_factory=dict)  # streamer
    connected: bool = False
    last_error: str | None = None
    rejections: int = 0

    def tick(self, tick: GreeksTick) -> None:
        try:
            occ = _occ(tick.symbol)
        except (DxlinkParseError, ValueError):
            with self.cond:
                self.rejections += 1
            return
        with self.cond:
            held = self.ticks.get(occ)
            if held is None or tick.event_time >= held.event_time:
                self.ticks[occ] = tick
            self.cond.notify_all()

    def quote(self, event: QuoteEvent, received_at: datetime) -> None:
        with self.cond:
            self.quotes[event.event_symbol] = (event, received_at)
            self.cond.notify_all()

    def position(self, update: PositionUpdate) -> None:
        with self.cond:
            self.positions[format_occ(parse_occ(update.symbol))] = update.quantity
            self.cond.notify_all()

    def status(self, step: Step, *, error: str | None = None) -> None:
        with self.cond:
            if step.status == "connected":
                self.connected = True
            if error is not None:
                self.last_error = error
            self.cond.notify_all()

    def rejected(self, reason: str, detail: str) -> None:
        del reason, detail  # the client logs nothing here; a count is enough for a snapshot
        with self.cond:
            self.rejections += 1


def _finite(value: Number) -> float | None:
    """A tick's number as a finite float; None when missing, non-finite or not a number."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _bid_ask(
    where: str, held: tuple[QuoteEvent, datetime] | None
) -> tuple[Decimal | None, Decimal | None]:
    """A quote's bid and ask as money (None when missing, non-finite or not positive)."""
    if held is None:
        return None, None
    event = held[0]
    sides: list[Decimal | None] = []
    for side, value in (("bid", event.bid_price), ("ask", event.ask_price)):
        ok = value is not None and value.is_finite() and value > 0
        sides.append(to_money(f"{where}.{side}", value) if ok else None)
    return sides[0], sides[1]


def _complete(tick: GreeksTick | None) -> bool:
    return (
        tick is not None
        and _finite(tick.implied_volatility) is not None
        and _finite(tick.underlying_price) is not None
    )


class DxlinkMarketSource:
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
        if isinstance(timeout_s, bool) or not isinstance(timeout_s, int | float):
            raise ValueError(f"timeout_s must be a number of seconds > 0, got {timeout_s!r}")
        if not math.isfinite(timeout_s) or timeout_s <= 0:
            raise ValueError(f"timeout_s must be a number of seconds > 0, got {timeout_s!r}")
        streamer: list[str] | None = None
        if symbols is not None:
            if isinstance(symbols, str):
                raise ValueError(f"symbols must be a sequence of symbols, got the text {symbols!r}")
            streamer = []
            for symbol in symbols:
                streamer.append(self._streamer_symbol(symbol))
        self.base_url = base_url
        self.account = account
        self.symbols = None if symbols is None else tuple(symbols)
        self.timeout_s = float(timeout_s)
        self.overrides = overrides
        self._clock = clock
        self._client = DxlinkSource(
            base_url,
            account=account,
            credentials=credentials,
            auth=auth,
            clock=clock,
            backoff=backoff,
            symbols=streamer,
            timeout_s=min(self.timeout_s, 10.0),
            on_quote=self._on_quote,
        )
        self._collector: _Collector | None = None
        self._wanted_symbols = (
            None if streamer is None else tuple(dict.fromkeys(_occ(s) for s in streamer))
        )
        self.warnings: tuple[str, ...] = ()
        """What the last snapshot left out or lacked (readable lines)."""

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

    @property
    def name(self) -> str:
        """``tastytrade:<account>``: the ``source`` of this source's snapshots."""
        return f"{BROKER}:{self.account}"

    def describe(self) -> dict[str, Any]:
        """Broker, account, API address, wanted symbols and timeout (never credentials)."""
        return {
            "source": self.name,
            "broker": BROKER,
            "account": self.account,
            "url": self._client.base_url,
            "symbols": None if self.symbols is None else list(self.symbols),
            "timeout_s": self.timeout_s,
        }

    def snapshot(self, *, mode: SnapshotMode = SnapshotMode.LIVE) -> MarketSnapshot:
        """Connect, collect every wanted option's latest Greeks and IV, stop, build.

        Raises
        ------
        MarketSourceTimeoutError
            When no wanted option streamed an implied vol and underlying price in
            ``timeout_s`` (the message names the broker's last error, if any).

        """
        collector = self._collect()
        view, missing = self._view(collector)
        if not view.options:
            reason = f" (last error: {collector.last_error})" if collector.last_error else ""
            raise MarketSourceTimeoutError(
                f"{self.name} at {self._client.base_url}: no option quote with an implied vol "
                f"and an underlying price within {self.timeout_s:g} s{reason}"
            )
        built = snapshot_from_view(view, source=self.name, mode=mode, overrides=self.overrides)
        warnings = list(built.warnings)
        if missing:
            warnings.append(
                f"no complete quote within {self.timeout_s:g} s for {', '.join(missing)}"
            )
        self.warnings = tuple(warnings)
        return built.snapshot

    def refresh(self, base: MarketSnapshot, *, minutes: int) -> MarketSnapshot:
        """A fresh snapshot now (a broker shows only its present market), keeping ``base``'s overrides.

        ``minutes`` is not used: the new snapshot's ``as_of`` is the time it was taken.

        Raises
        ------
        ValueError
            When ``base`` is not a snapshot of this source.

        """
        del minutes
        if base.source != self.name:
            raise ValueError(
                f"snapshot source is {base.source!r}, not {self.name!r}: refresh it with the "
                "source that took it"
            )
        fresh = self.snapshot(mode=SnapshotMode.LIVE)
        return MarketSnapshot(
            as_of=fresh.as_of,
            mode=fresh.mode,
            source=fresh.source,
            underlyings=fresh.underlyings,
            options=fresh.options,
            overrides=base.overrides,
            diagnostics=fresh.diagnostics,
        )

    # ------------------------------------------------------------------ collection

    def _on_quote(self, event: QuoteEvent, received_at: datetime) -> None:
        collector = self._collector
        if collector is not None:
            collector.quote(event, received_at)

    def _wanted(self, collector: _Collector) -> tuple[str, ...] | None:
        """The OCC symbols to wait for (None: the positions are not known yet)."""
        if self._wanted_symbols is not None:
            return self._wanted_symbols
        if not collector.connected:
            return None  # the positions come before the feed connects
        return tuple(sorted(s for s, q in collector.positions.items() if q != 0))

    def _done(self, collector: _Collector) -> bool:
        wanted = self._wanted(collector)
        if wanted is None:
            return False
        return all(
            _complete(collector.ticks.get(s)) and occ_to_streamer_symbol(s) in collector.quotes
            for s in wanted
        )

    def _collect(self) -> _Collector:
        collector = _Collector()
        self._collector = collector
        stop = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            try:
                self._client.run(collector, stop)
            except BaseException as exc:  # a programming error: re-raised in the caller
                failure.append(exc)
                with collector.cond:
                    collector.cond.notify_all()

        thread = threading.Thread(target=run, name=f"dxlink-market-{self.account}", daemon=True)
        thread.start()
        try:
            with collector.cond:
                collector.cond.wait_for(
                    lambda: bool(failure) or self._done(collector), self.timeout_s
                )
        finally:
            stop.set()
            thread.join(self.timeout_s + _JOIN_GRACE_S)
            self._collector = None
        if failure:
            raise failure[0]
        return collector

    def _view(self, collector: _Collector) -> tuple[BrokerView, list[str]]:
        with collector.cond:
            ticks = dict(collector.ticks)
            quotes = dict(collector.quotes)
            wanted = self._wanted(collector)
        if wanted is None:
            wanted = tuple(sorted(ticks))
        now = self._clock()
        options: list[BrokerOptionQuote] = []
        missing: list[str] = []
        newest = now
        for occ in wanted:
            tick = ticks.get(occ)
            if tick is None or not _complete(tick):
                missing.append(occ.replace(" ", ""))
                if tick is None:
                    continue
            bid, ask = _bid_ask(occ, quotes.get(occ_to_streamer_symbol(occ)))
            raw_price = tick.raw.get("price")
            price = _finite(raw_price) if isinstance(raw_price, int | float | str) else None
            under = _finite(tick.underlying_price)
            options.append(
                BrokerOptionQuote(
                    occ_symbol=occ,
                    bid=bid,
                    ask=ask,
                    mark=None if price is None or price < 0 else to_money(f"{occ}.mark", price),
                    iv=_finite(tick.implied_volatility),
                    underlying_price=None
                    if under is None or under <= 0
                    else to_money(f"{occ}.underlying_price", under),
                    quote_time=tick.event_time,
                )
            )
            newest = max(newest, tick.event_time)
        # the snapshot is as of the collection's end (or the newest event, should the
        # broker's clock run ahead of ours)
        roots = {parse_occ(o.occ_symbol).underlying for o in options}
        underlyings = []
        for root in sorted(roots):
            held = quotes.get(root)
            if held is None:
                continue
            bid, ask = _bid_ask(root, held)
            underlyings.append(
                BrokerUnderlyingQuote(symbol=root, bid=bid, ask=ask, quote_time=held[1])
            )
            newest = max(newest, held[1])
        view = BrokerView(as_of=newest, underlyings=tuple(underlyings), options=tuple(options))
        return view, missing
