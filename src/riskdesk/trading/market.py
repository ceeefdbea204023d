"""The paper venue's view of a market snapshot: quotes with sizes, legs, Greeks, moves, expiry.

A pure engine: no SQL, no clock, no I/O. It turns a
:class:`~riskdesk.domain.market.MarketSnapshot` into what the fill model, the risk gates, the
kill switch and the ledger take:

* :func:`quotes_from_snapshot` -- a :class:`~riskdesk.trading.model.Quote` per instrument.
  Snapshots carry no displayed size, so the venue displays a deterministic size per
  instrument and minute (:class:`DisplayedSize`): the same snapshot always shows the same
  sizes, and partial fills are reproducible.
* :func:`order_leg` -- an order leg from an OCC option symbol or a stock ticker.
* :func:`leg_greeks` -- delta, gamma and vega per contract (Black-Scholes-Merton at the
  quote's implied vol; delta in shares, gamma per point, vega per vol point, times the
  multiplier), the units the gates sum.
* :func:`structure_max_loss` -- the most a one-underlying structure can lose at expiry.
* :class:`MidHistory` -- recent mids per underlying, for the kill switch's move and
  staleness checks and the gates' five-minute move.
* :func:`expiring_options` -- the held options that expire on a day, with their settlement
  (index options settle in cash).
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from riskdesk.domain.instruments import OptionRight
from riskdesk.domain.market import MarketSnapshot
from riskdesk.domain.occ import format_occ, is_occ_symbol, parse_occ
from riskdesk.domain.timeutil import expiry_datetime, year_fraction
from riskdesk.pricing import greeks as price_greeks
from riskdesk.trading.killswitch import MarketFeed
from riskdesk.trading.ledger import ExpiringOption
from riskdesk.trading.model import OrderLeg, Quote, Side

__all__ = [
    "CASH_SETTLED_ROOTS",
    "DisplayedSize",
    "LegGreeks",
    "MarketDataError",
    "MidHistory",
    "closes_for",
    "expiring_options",
    "leg_greeks",
    "order_leg",
    "quotes_from_snapshot",
    "structure_max_loss",
    "underlying_of",
]

CASH_SETTLED_ROOTS: frozenset[str] = frozenset(
    {"SPX", "SPXW", "XSP", "NDX", "NDXP", "RUT", "RUTW", "VIX", "VIXW", "DJX", "OEX", "XEO"}
)
"""Index option roots that settle in cash (everything else is physically settled)."""

_ROOT_UNDERLYING: dict[str, str] = {"SPXW": "SPX", "NDXP": "NDX", "RUTW": "RUT", "VIXW": "VIX"}
"""Weekly / PM-settled index roots and the index they are written on."""

_ZERO = Decimal(0)


class MarketDataError(ValueError):
    """The snapshot cannot price or quote what was asked (a symbol it does not hold)."""


@dataclass(frozen=True, slots=True)
class DisplayedSize:
    """Displayed size the paper venue shows at the touch, in contracts or shares.

    A size is drawn per (instrument, side, minute) from ``[low, high]`` by a hash, so it is
    reproducible; stocks show ``share_multiple`` times the option size.
    """

    low: int = 20
    high: int = 200
    share_multiple: int = 50

    def __post_init__(self) -> None:
        if not 1 <= self.low <= self.high:
            raise ValueError(f"displayed size needs 1 <= low <= high, got {self.low}..{self.high}")
        if self.share_multiple < 1:
            raise ValueError("displayed size share_multiple must be >= 1")

    def size(self, symbol: str, side: str, at: datetime, *, option: bool) -> int:
        """The displayed size of ``symbol``'s ``side`` (bid/ask) in the minute of ``at``."""
        minute = at.replace(second=0, microsecond=0).isoformat()
        digest = hashlib.blake2b(f"{symbol}|{side}|{minute}".encode(), digest_size=8).digest()
        span = self.high - self.low + 1
        contracts = self.low + int.from_bytes(digest, "big") % span
        return contracts if option else contracts * self.share_multiple


def underlying_of(symbol: str) -> str:
    """The underlying of an OCC option symbol (``SPXW`` -> ``SPX``), or a stock's ticker."""
    if is_occ_symbol(symbol):
        root = parse_occ(symbol).underlying
        return _ROOT_UNDERLYING.get(root, root)
    return symbol.strip().upper()


def order_leg(symbol: str, side: Side, ratio: int = 1) -> OrderLeg:
    """An order leg for an OCC option symbol (multiplier 100) or a stock ticker (1)."""
    symbol = symbol.strip().upper()
    if is_occ_symbol(symbol):
        contract = parse_occ(symbol)
        return OrderLeg(
            symbol=format_occ(contract),  # the padded form: one name per contract
            side=side,
            ratio=ratio,
            multiplier=contract.multiplier,
            is_option=True,
        )
    ticker = symbol.strip().upper()
    if not ticker or not ticker.replace(".", "").replace("/", "").isalnum() or len(ticker) > 10:
        raise ValueError(f"{symbol!r} is neither an OCC option symbol nor a stock ticker")
    return OrderLeg(symbol=ticker, side=side, ratio=ratio, multiplier=1, is_option=False)


def quotes_from_snapshot(
    snapshot: MarketSnapshot, symbols: Iterable[str], sizes: DisplayedSize | None = None
) -> dict[str, Quote]:
    """A venue quote for each of ``symbols`` held by ``snapshot`` (others are left out).

    An option is quoted at its bid/ask; a side the snapshot leaves empty is quoted zero with
    no size (nothing to hit). A stock without a bid/ask is quoted at its spot on both sides.
    """
    sizes = sizes or DisplayedSize()
    wanted = set(symbols)
    out: dict[str, Quote] = {}
    stocks = {u.symbol: u for u in snapshot.underlyings}
    for symbol in wanted:
        if symbol in stocks:
            u = stocks[symbol]
            bid = u.bid if u.bid is not None else u.spot
            ask = u.ask if u.ask is not None else u.spot
            at = u.provider_timestamp
            out[symbol] = Quote(
                symbol=symbol,
                bid=bid,
                ask=ask,
                bid_size=sizes.size(symbol, "bid", at, option=False),
                ask_size=sizes.size(symbol, "ask", at, option=False),
                at=at,
            )
    options = [s for s in wanted if s not in stocks and is_occ_symbol(s)]
    if options:
        for symbol in options:
            contract = parse_occ(symbol)
            quote = snapshot.option_quote(contract)
            if quote is None:
                continue
            at = quote.provider_timestamp
            bid = quote.bid if quote.bid is not None else _ZERO
            ask = quote.ask if quote.ask is not None else _ZERO
            if ask == 0 and bid == 0:
                continue
            out[symbol] = Quote(
                symbol=symbol,
                bid=bid,
                ask=ask if ask >= bid else bid,
                bid_size=sizes.size(symbol, "bid", at, option=True) if quote.bid else 0,
                ask_size=sizes.size(symbol, "ask", at, option=True) if quote.ask else 0,
                at=at,
            )
    return out


@dataclass(frozen=True, slots=True)
class LegGreeks:
    """Delta (shares), gamma (per point) and vega (per vol point) of one long contract/share."""

    delta: Decimal
    gamma: Decimal
    vega: Decimal


def _dec(value: float) -> Decimal:
    if not math.isfinite(value):
        raise MarketDataError(f"a Greek came out {value}; the quote cannot be priced")
    return Decimal(repr(round(value, 10)))


def leg_greeks(snapshot: MarketSnapshot, symbol: str, at: datetime) -> LegGreeks:
    """The Greeks of one long unit of ``symbol`` at ``at`` (a share: delta 1).

    Raises
    ------
    MarketDataError
        When the snapshot has no quote or no implied vol for the option, or no underlying.

    """
    if not is_occ_symbol(symbol):
        return LegGreeks(delta=Decimal(1), gamma=_ZERO, vega=_ZERO)
    contract = parse_occ(symbol)
    quote = snapshot.option_quote(contract)
    if quote is None or quote.iv is None or not math.isfinite(quote.iv) or quote.iv <= 0:
        raise MarketDataError(f"no implied vol for {symbol} in snapshot {snapshot.snapshot_hash}")
    try:
        spot = float(snapshot.underlying(contract.underlying).spot)
    except KeyError as error:
        raise MarketDataError(f"snapshot has no quote for {contract.underlying}") from error
    expires = expiry_datetime(contract.expiry, settlement=contract.settlement)
    T = max(year_fraction(at, expires), 1e-9)
    q = snapshot.overrides.carry_yield(contract.underlying)
    g = price_greeks(
        model="bsm",
        S=spot,
        K=float(contract.strike),
        T=T,
        r=snapshot.overrides.rate,
        q=q,
        sigma=quote.iv,
        is_call=contract.right is OptionRight.CALL,
        which=("delta", "gamma", "vega"),
    )
    m = contract.multiplier
    return LegGreeks(
        delta=_dec(float(g["delta"]) * m),
        gamma=_dec(float(g["gamma"]) * m),
        vega=_dec(float(g["vega"]) * m),
    )


def structure_max_loss(legs: Sequence[tuple[str, int]], premium: Decimal, units: int) -> Decimal:
    """The most ``units`` of a one-underlying structure can lose held to expiry.

    ``legs`` are (symbol, signed quantity per unit); ``premium`` is the money one unit costs
    (signed: positive paid, negative received; price x ratio x multiplier summed over legs). The payoff at expiry is piecewise linear in the
    underlying, so its minimum is at zero, at a strike, or unbounded when the structure is
    net short calls (``Decimal("Infinity")``). Stocks count as a strike-zero call.
    """
    kinks: set[Decimal] = {_ZERO}
    parsed: list[tuple[Decimal, bool, int, int]] = []  # strike, is_call, qty, multiplier
    for symbol, quantity in legs:
        if is_occ_symbol(symbol):
            c = parse_occ(symbol)
            parsed.append((c.strike, c.right is OptionRight.CALL, quantity, c.multiplier))
            kinks.add(c.strike)
        else:
            parsed.append((_ZERO, True, quantity, 1))
    slope_at_infinity = sum(q * m for _, call, q, m in parsed if call)

    def payoff(s: Decimal) -> Decimal:
        total = _ZERO
        for strike, call, q, m in parsed:
            intrinsic = max(s - strike, _ZERO) if call else max(strike - s, _ZERO)
            total += intrinsic * q * m
        return (total - premium) * units

    if slope_at_infinity < 0:
        return Decimal("Infinity")
    worst = min(payoff(k) for k in kinks)
    return max(-worst, _ZERO)


class MidHistory:
    """Recent mids of each underlying (a bounded window), fed by every snapshot seen.

    Thread-safe: one history is shared by every desk of a process (the service's requests).
    """

    def __init__(self, window: timedelta = timedelta(minutes=10)) -> None:
        self.window = window
        self._mids: dict[str, deque[tuple[datetime, Decimal]]] = {}
        self._last_at: dict[str, datetime] = {}
        self._lock = threading.Lock()

    def record(self, snapshot: MarketSnapshot) -> None:
        """Add every underlying's mid (spot when unquoted) at its provider time."""
        with self._lock:
            self._record(snapshot)

    def _record(self, snapshot: MarketSnapshot) -> None:
        for u in snapshot.underlyings:
            at = u.provider_timestamp
            mid = (u.bid + u.ask) / 2 if u.bid is not None and u.ask is not None else u.spot
            series = self._mids.setdefault(u.symbol, deque())
            if series and series[-1][0] >= at:
                continue
            series.append((at, mid))
            self._last_at[u.symbol] = at
            while series and series[0][0] < at - self.window:
                series.popleft()

    def feeds(self, symbols: Iterable[str]) -> tuple[MarketFeed, ...]:
        """A kill-switch feed per symbol (no quote seen yet: ``last_quote_at`` None)."""
        with self._lock:
            return self._feeds(symbols)

    def _feeds(self, symbols: Iterable[str]) -> tuple[MarketFeed, ...]:
        return tuple(
            MarketFeed(
                symbol=s,
                last_quote_at=self._last_at.get(s),
                mids=tuple(self._mids.get(s, ())),
            )
            for s in sorted(set(symbols))
        )

    def move_pct(self, symbol: str, now: datetime, minutes: int = 5) -> Decimal | None:
        """The signed % move of ``symbol`` over the last ``minutes`` (None: not enough data)."""
        with self._lock:
            series = tuple(self._mids.get(symbol, ()))
        if not series:
            return None
        start = now - timedelta(minutes=minutes)
        before = [mid for at, mid in series if at <= start]
        base = before[-1] if before else None
        if base is None or base == 0:
            return None
        return ((series[-1][1] - base) / base * 100).quantize(Decimal("0.0001"))


def expiring_options(symbols: Iterable[str], day: date) -> list[ExpiringOption]:
    """The options among ``symbols`` that expire on ``day``, with their settlement kind."""
    out: list[ExpiringOption] = []
    for symbol in symbols:
        if not is_occ_symbol(symbol):
            continue
        c = parse_occ(symbol)
        if c.expiry != day:
            continue
        out.append(
            ExpiringOption(
                symbol=symbol,
                underlying=underlying_of(symbol),
                right=c.right,
                strike=c.strike,
                cash_settled=c.underlying in CASH_SETTLED_ROOTS,
            )
        )
    return out


def closes_for(snapshot: MarketSnapshot, underlyings: Iterable[str]) -> Mapping[str, Decimal]:
    """Each underlying's spot in ``snapshot`` (the settlement price at the close)."""
    spots = {u.symbol: u.spot for u in snapshot.underlyings}
    missing = sorted(set(underlyings) - spots.keys())
    if missing:
        raise MarketDataError(f"snapshot has no closing price for {', '.join(missing)}")
    return {s: spots[s] for s in underlyings}
