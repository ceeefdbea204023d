"""A broker's stream, collected for a moment, as a workbench market snapshot.

The broker-independent half of every streaming market source
(:class:`~riskdesk.adapters.tastytrade.market.DxlinkMarketSource`,
:class:`~riskdesk.adapters.ibkr.market.IbkrMarketSource`):

* :class:`SnapshotCollector` -- a thread-safe :class:`~riskdesk.streaming.source.SourceSink`
  keeping, per padded OCC symbol, the latest Greeks tick by event time, the positions, the
  latest bid/ask quotes (options by OCC symbol, underlyings by ticker) when the broker's
  client hands any over, the connected flag, the last error and a count of rejections;
* :class:`StreamMarketSource` -- the :class:`~riskdesk.domain.sources.MarketSource` shell a
  broker adapter subclasses: :meth:`~StreamMarketSource.snapshot` runs the broker's streaming
  client (a :class:`~riskdesk.streaming.source.TickSource`) with a collector in a thread until
  every wanted option is complete (or ``timeout_s`` passed), stops it, and builds the snapshot
  with the pure :func:`riskdesk.adapters.broker_market.snapshot_from_view`;
* :func:`build_view` -- the pure step from collected ticks and quotes to a
  :class:`~riskdesk.adapters.broker_market.BrokerView`.

What the snapshot holds per option: its OCC symbol, the tick's broker price (the raw field a
subclass names in ``mark_field``) as the ``mark``, its implied vol, its underlying price and
its event time, plus the bid and ask of the option's latest quote when one came; per
underlying the bid and ask of its latest quote (the spot is their mid; without a quote
:func:`~riskdesk.adapters.broker_market.snapshot_from_view` takes the options' underlying
price).

A tick is *complete* when it carries a finite implied vol and a finite underlying price. A
newer tick replaces the held one, except that an incomplete tick (a broker's partial or empty
computation) never replaces a complete one: the snapshot shows the last full view of the
option rather than a hole that a partial update punched in it. (The streaming pipeline keeps
every tick; this rule is only about what a snapshot shows.)
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar, Final

from riskdesk.adapters.broker_market import (
    BrokerOptionQuote,
    BrokerUnderlyingQuote,
    BrokerView,
    snapshot_from_view,
    to_money,
)
from riskdesk.domain.instruments import OptionRight
from riskdesk.domain.market import MarketOverrides, MarketSnapshot, SnapshotMode
from riskdesk.domain.occ import parse_occ
from riskdesk.streaming.normalize import GreeksTick, PositionUpdate
from riskdesk.streaming.session import Step
from riskdesk.streaming.source import TickSource

__all__ = [
    "MarketSourceTimeoutError",
    "QuoteSeen",
    "SnapshotCollector",
    "StreamMarketSource",
    "broker_refused",
    "build_view",
    "check_timeout",
    "collect_positions",
    "is_complete",
    "position_rows",
    "run_until",
]

_JOIN_GRACE_S: Final = 5.0


class MarketSourceTimeoutError(TimeoutError):
    """The broker sent no usable option quote within the timeout (nothing was built)."""


def check_timeout(timeout_s: object) -> float:
    """``timeout_s`` as a float of seconds > 0.

    Raises
    ------
    ValueError
        When it is not a finite number > 0 (naming the value).

    """
    if isinstance(timeout_s, bool) or not isinstance(timeout_s, int | float):
        raise ValueError(f"timeout_s must be a number of seconds > 0, got {timeout_s!r}")
    if not math.isfinite(timeout_s) or timeout_s <= 0:
        raise ValueError(f"timeout_s must be a number of seconds > 0, got {timeout_s!r}")
    return float(timeout_s)


def _finite(value: object) -> float | None:
    """A number (or numeric text) as a finite float; None when missing or non-finite."""
    if value is None or isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def is_complete(tick: GreeksTick | None) -> bool:
    """True when ``tick`` carries a finite implied vol and a finite underlying price."""
    return (
        tick is not None
        and _finite(tick.implied_volatility) is not None
        and _finite(tick.underlying_price) is not None
    )


@dataclass(frozen=True, slots=True)
class QuoteSeen:
    """A broker's latest bid and ask of one symbol and when it was received."""

    bid: Decimal | None
    ask: Decimal | None
    received_at: datetime


@dataclass(eq=False)
class SnapshotCollector:
    """A thread-safe :class:`~riskdesk.streaming.source.SourceSink` keeping the latest view.

    ``to_occ`` maps a tick's or position's symbol (whatever the broker's client uses) to the
    padded OCC symbol; a :class:`ValueError` from it counts the tick or position as rejected.
    Wait on ``cond`` (and read the fields under it) from other threads.
    """

    to_occ: Callable[[str], str]
    cond: threading.Condition = field(default_factory=threading.Condition)
    ticks: dict[str, GreeksTick] = field(default_factory=dict)  # OCC -> latest (see module)
    positions: dict[str, Decimal] = field(default_factory=dict)  # OCC -> signed quantity
    quotes: dict[str, QuoteSeen] = field(default_factory=dict)  # OCC or ticker -> latest
    connected: bool = False
    last_error: str | None = None
    rejections: int = 0

    def _occ(self, symbol: str) -> str | None:
        try:
            return self.to_occ(symbol)
        except ValueError:
            with self.cond:
                self.rejections += 1
            return None

    def tick(self, tick: GreeksTick) -> None:
        """Keep ``tick`` if it is the newest of its option (an incomplete one never wins)."""
        occ = self._occ(tick.symbol)
        if occ is None:
            return
        with self.cond:
            held = self.ticks.get(occ)
            if held is None or (
                tick.event_time >= held.event_time and (is_complete(tick) or not is_complete(held))
            ):
                self.ticks[occ] = tick
            self.cond.notify_all()

    def quote(self, symbol: str, quote: QuoteSeen) -> None:
        """Keep the latest quote of ``symbol`` (a padded OCC symbol or an underlying ticker)."""
        with self.cond:
            self.quotes[symbol] = quote
            self.cond.notify_all()

    def position(self, update: PositionUpdate) -> None:
        """Keep the account's position in one option."""
        occ = self._occ(update.symbol)
        if occ is None:
            return
        with self.cond:
            self.positions[occ] = update.quantity
            self.cond.notify_all()

    def status(self, step: Step, *, error: str | None = None) -> None:
        """Note the connection and the last error."""
        with self.cond:
            if step.status == "connected":
                self.connected = True
            if error is not None:
                self.last_error = error
            self.cond.notify_all()

    def rejected(self, reason: str, detail: str) -> None:
        """Count a payload the client could not read (a count is enough for a snapshot)."""
        del reason, detail
        with self.cond:
            self.rejections += 1

    def wanted(self, fixed: Sequence[str] | None) -> tuple[str, ...] | None:
        """The OCC symbols to wait for: ``fixed``, else the open positions once connected.

        None while the positions are not known yet (clients report them before connecting
        the feed). Call it holding ``cond``.
        """
        if fixed is not None:
            return tuple(fixed)
        if not self.connected:
            return None
        return tuple(sorted(s for s, q in self.positions.items() if q != 0))

    def done(self, fixed: Sequence[str] | None, *, require_quotes: bool) -> bool:
        """True when every wanted option has a complete tick (and a quote, if required)."""
        wanted = self.wanted(fixed)
        if wanted is None:
            return False
        return all(
            is_complete(self.ticks.get(s)) and (not require_quotes or s in self.quotes)
            for s in wanted
        )


def _bid_ask(where: str, held: QuoteSeen | None) -> tuple[Decimal | None, Decimal | None]:
    """A quote's bid and ask as money (None when missing, non-finite or not positive)."""
    if held is None:
        return None, None
    sides: list[Decimal | None] = []
    for side, value in (("bid", held.bid), ("ask", held.ask)):
        ok = value is not None and value.is_finite() and value > 0
        sides.append(to_money(f"{where}.{side}", value) if ok else None)
    return sides[0], sides[1]


def build_view(
    ticks: dict[str, GreeksTick],
    quotes: dict[str, QuoteSeen],
    wanted: Sequence[str],
    *,
    now: datetime,
    mark_of: Callable[[GreeksTick], float | None],
) -> tuple[BrokerView, list[str]]:
    """The :class:`BrokerView` of collected ticks and quotes, and the wanted options missing.

    Parameters
    ----------
    ticks : dict of padded OCC symbol to GreeksTick
        The latest tick of each option.
    quotes : dict of padded OCC symbol or ticker to QuoteSeen
        The latest quotes (may be empty).
    wanted : sequence of str
        The padded OCC symbols the view is about.
    now : datetime
        The collection's end (timezone-aware UTC); the view's ``as_of`` is the later of it and
        the newest event (should the broker's clock run ahead of ours).
    mark_of : Callable[[GreeksTick], float or None]
        The broker's option price a tick carries (None or negative: none).

    Returns
    -------
    tuple of BrokerView and list of str
        The view (an option with a tick but no complete one is kept with what it has) and the
        compact OCC symbols of the wanted options without a complete tick.

    """
    options: list[BrokerOptionQuote] = []
    missing: list[str] = []
    newest = now
    for occ in wanted:
        tick = ticks.get(occ)
        if tick is None or not is_complete(tick):
            missing.append(occ.replace(" ", ""))
            if tick is None:
                continue
        bid, ask = _bid_ask(occ, quotes.get(occ))
        price = mark_of(tick)
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
    underlyings = []
    for root in sorted({parse_occ(o.occ_symbol).underlying for o in options}):
        held = quotes.get(root)
        if held is None:
            continue
        bid, ask = _bid_ask(root, held)
        underlyings.append(
            BrokerUnderlyingQuote(symbol=root, bid=bid, ask=ask, quote_time=held.received_at)
        )
        newest = max(newest, held.received_at)
    view = BrokerView(as_of=newest, underlyings=tuple(underlyings), options=tuple(options))
    return view, missing


class StreamMarketSource:
    """A :class:`~riskdesk.domain.sources.MarketSource` reading a broker's stream once per snapshot.

    Subclasses set the class attributes, build their streaming client and implement
    :meth:`to_occ`, :meth:`describe` and :attr:`address` (and :meth:`mark_of` when the
    broker's price field needs more than a finite-number check).

    Parameters
    ----------
    client : TickSource
        The broker's streaming client (its ``run(sink, stop)`` blocks until ``stop`` is set).
    account : str
        The account (the source's name is ``<broker>:<account>``).
    wanted : sequence of str or None
        Padded OCC symbols to wait for; None: the account's open option positions.
    timeout_s : float
        Seconds a snapshot waits for every wanted option before building with what came.
    overrides : MarketOverrides or None
        Rate and dividends of the snapshots (a broker stream carries none).
    clock : Callable[[], datetime]
        Timezone-aware UTC clock (the snapshot's ``as_of``).

    """

    broker: ClassVar[str]
    """The broker's name (the first part of :attr:`name`)."""
    mark_field: ClassVar[str]
    """The Greeks tick's ``raw`` field holding the broker's option price (see :meth:`mark_of`)."""
    require_quotes: ClassVar[bool] = False
    """Whether a snapshot also waits for each wanted option's bid/ask quote."""

    def __init__(
        self,
        client: TickSource,
        *,
        account: str,
        wanted: Sequence[str] | None,
        timeout_s: float,
        overrides: MarketOverrides | None,
        clock: Callable[[], datetime],
    ) -> None:
        self.account = account
        self.timeout_s = check_timeout(timeout_s)
        self.overrides = overrides
        self._client = client
        self._clock = clock
        self._wanted = None if wanted is None else tuple(dict.fromkeys(wanted))
        self._collector: SnapshotCollector | None = None
        self.warnings: tuple[str, ...] = ()
        """What the last snapshot left out or lacked (readable lines)."""

    @staticmethod
    def to_occ(symbol: str) -> str:
        """The padded OCC symbol of a symbol of the broker's client (ValueError: not one)."""
        raise NotImplementedError

    @property
    def address(self) -> str:
        """The broker's address, for messages (never credentials)."""
        raise NotImplementedError

    def mark_of(self, tick: GreeksTick) -> float | None:
        """The broker's option price in ``tick`` (its ``raw[mark_field]``; None: none)."""
        return _finite(tick.raw.get(self.mark_field))

    @property
    def name(self) -> str:
        """``<broker>:<account>``: the ``source`` of this source's snapshots."""
        return f"{self.broker}:{self.account}"

    def describe(self) -> dict[str, Any]:
        """JSON-ready facts identifying the source (never credentials)."""
        raise NotImplementedError

    def snapshot(self, *, mode: SnapshotMode = SnapshotMode.LIVE) -> MarketSnapshot:
        """Connect, collect every wanted option's latest Greeks and IV, stop, build.

        Raises
        ------
        MarketSourceTimeoutError
            When no wanted option streamed an implied vol and underlying price in
            ``timeout_s`` (the message names the address and the broker's last error, if
            any).

        """
        collector = self._collect()
        with collector.cond:
            ticks = dict(collector.ticks)
            quotes = dict(collector.quotes)
            wanted = collector.wanted(self._wanted)
        if wanted is None:
            wanted = tuple(sorted(ticks))
        view, missing = build_view(ticks, quotes, wanted, now=self._clock(), mark_of=self.mark_of)
        if not view.options:
            reason = f" (last error: {collector.last_error})" if collector.last_error else ""
            raise MarketSourceTimeoutError(
                f"{self.name} at {self.address}: no option quote with an implied vol "
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

    def _collect(self) -> SnapshotCollector:
        """Run the client in a thread until every wanted option is complete or time is up."""
        collector = SnapshotCollector(to_occ=self.to_occ)
        self._collector = collector
        try:
            run_until(
                self._client,
                collector,
                lambda: collector.done(self._wanted, require_quotes=self.require_quotes),
                self.timeout_s,
                name=f"{self.broker}-market-{self.account}",
            )
        finally:
            self._collector = None
        return collector


def run_until(
    client: TickSource,
    collector: SnapshotCollector,
    done: Callable[[], bool],
    timeout_s: float,
    *,
    name: str,
) -> None:
    """Run ``client`` into ``collector`` in a thread until ``done()``, its end, or ``timeout_s``.

    ``done`` is evaluated holding ``collector.cond``. The client is then stopped and joined;
    an exception it raised (a programming error: connection failures are reported to the
    collector instead) is re-raised here.
    """
    stop = threading.Event()
    failure: list[BaseException] = []

    def run() -> None:
        try:
            client.run(collector, stop)
        except BaseException as exc:  # re-raised in the caller
            failure.append(exc)
        with collector.cond:
            collector.cond.notify_all()

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    try:
        with collector.cond:
            collector.cond.wait_for(
                lambda: bool(failure) or not thread.is_alive() or done(), timeout_s
            )
    finally:
        stop.set()
        thread.join(timeout_s + _JOIN_GRACE_S)
    if failure:
        raise failure[0]


def collect_positions(
    client: TickSource, to_occ: Callable[[str], str], timeout_s: float
) -> SnapshotCollector:
    """The account's positions, read once: run ``client`` until it connected or reported an error.

    Brokers' clients report the positions before they report being connected, so a collector
    with ``connected`` holds the account's positions (OCC -> signed quantity); otherwise its
    ``last_error`` says why not (None: nothing answered within ``timeout_s``).
    """
    collector = SnapshotCollector(to_occ=to_occ)
    run_until(
        client,
        collector,
        lambda: collector.connected or collector.last_error is not None,
        check_timeout(timeout_s),
        name="broker-positions",
    )
    return collector


_REFUSALS: Final = (" refused: HTTP 4", "is not managed by")
"""How the brokers' clients word a refusal (tastytrade's HTTP 4xx, IBKR's unmanaged account)."""


def broker_refused(error: str | None) -> bool:
    """True when a client's reported ``error`` is the broker refusing (not a network failure).

    A refusal (a bad login, an account the login does not manage) will not change on retry;
    anything else (no answer, a dropped connection) may.
    """
    return error is not None and any(phrase in error for phrase in _REFUSALS)


def position_rows(held: dict[str, Decimal]) -> list[dict[str, Any]]:
    """The open positions of ``held`` (padded OCC -> signed quantity) as JSON-ready rows."""
    rows = []
    for occ, quantity in sorted(held.items()):
        if quantity == 0:
            continue
        contract = parse_occ(occ)
        rows.append(
            {
                "symbol": occ,
                "underlying": contract.underlying,
                "expiry": contract.expiry.isoformat(),
                "strike": format(contract.strike.normalize(), "f"),
                "right": "C" if contract.right is OptionRight.CALL else "P",
                "quantity": format(quantity.normalize(), "f"),
            }
        )
    return rows
