"""A broker's latest view of the market as a :class:`~riskdesk.domain.market.MarketSnapshot`.

Pure (no I/O, no clock): every broker adapter collects what its stream shows -- underlying
quotes and option quotes -- into a :class:`BrokerView` and calls :func:`snapshot_from_view`,
so a broker snapshot feeds the workbench through the usual use case
(:func:`riskdesk.workbench.snapshots.take_snapshot`, then ``Workbench.save_snapshot``) like
the synthetic market and chain files do.

Rules (the same spirit as the chain-file import, :mod:`riskdesk.adapters.files.chains`):

* every price is a :class:`~decimal.Decimal` (use :func:`to_money` for a broker's float or
  text), finite, ``>= 0`` and exactly storable (8 decimal places, below 1e12); an implied vol
  is a finite decimal fraction in ``[0, 10]``; times are timezone-aware and not after
  ``as_of``; symbols are upper-case tickers and OCC symbols (padded or compact), each at most
  once. A value breaking one raises :class:`ValueError` naming the field, the value and the
  rule; nothing is half-built.
* underlying spot: the mid of bid and ask when both are > 0 and not crossed, else ``last``
  (> 0), else the first option quote of that underlying carrying ``underlying_price``. An
  underlying with none of them gets no quote (its options are kept; a warning says so, and
  the evaluation reports the missing spot).
* options: parsed from their OCC symbol (American, PM-settled, 100 shares unless the view
  says otherwise); one-sided, empty or crossed quotes are kept as they are and counted by
  the snapshot's diagnostics (``missing_quote``, ``zero_bid``, ``crossed``); a contract
  expired by ``as_of`` is left out with a warning.
* rates and dividends: a broker stream carries none; pass ``overrides`` (or the use case's
  ``rate=`` / ``dividend_yield=``), else rate 0 and no dividends.
* diagnostics: :func:`riskdesk.analytics.diagnostics.snapshot_diagnostics` (implied vols
  solved from the mids, stale quotes older than ``stale_after``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Final

from riskdesk.analytics.diagnostics import snapshot_diagnostics
from riskdesk.domain.diagnostics import DEFAULT_STALE_AFTER
from riskdesk.domain.instruments import ExerciseStyle, OptionContract, Settlement
from riskdesk.domain.market import (
    MarketOverrides,
    MarketSnapshot,
    OptionQuote,
    SnapshotMode,
    UnderlyingQuote,
    contract_identity,
    describe_contract,
)
from riskdesk.domain.numbers import AMOUNT_SCALE, check_amount
from riskdesk.domain.occ import parse_occ
from riskdesk.domain.timeutil import expiry_datetime

__all__ = [
    "MAX_IV",
    "BrokerOptionQuote",
    "BrokerSnapshot",
    "BrokerUnderlyingQuote",
    "BrokerView",
    "snapshot_from_view",
    "to_money",
]

MAX_IV: Final = 10.0
"""Largest implied volatility accepted (1000%), as the chain-file import."""

_QUANTUM: Final = Decimal(1).scaleb(-AMOUNT_SCALE)
_TICKER: Final = re.compile(r"^[A-Z0-9][A-Z0-9./^-]{0,15}$")


def to_money(field: str, value: Decimal | float | int | str | None) -> Decimal | None:
    """A broker's price as a storable Decimal, rounded half-even to 8 decimal places.

    ``None`` stays None. Floats go through their shortest repr (``0.1`` is ``Decimal("0.1")``).

    Raises
    ------
    ValueError
        For text that is not a number, a non-finite value or one the store cannot hold
        (1e12 or more), naming ``field``.

    Examples
    --------
    >>> to_money("SPY.bid", 601.055000001)
    Decimal('601.05500000')
    >>> to_money("SPY.bid", None) is None
    True

    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"{field} must be a number, got {value!r}")
    try:
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        raise ValueError(
            f"{field} must be a number, got {type(value).__name__} {value!r}"
        ) from None
    if not number.is_finite():
        raise ValueError(f"{field} must be finite, got {value!r}")
    if number and number.adjusted() >= 12:
        raise ValueError(f"{field} = {value!r} is out of range: it must be below 1e12")
    rounded = number.quantize(_QUANTUM, rounding=ROUND_HALF_EVEN)
    check_amount(rounded, field=field)
    return rounded


def _price(field: str, value: Decimal | None) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, Decimal):
        raise ValueError(
            f"{field} must be a Decimal (see to_money), got {type(value).__name__} {value!r}"
        )
    if not value.is_finite():
        raise ValueError(f"{field} must be finite, got {value}")
    if value < 0:
        raise ValueError(f"{field} = {value} is negative: prices must be >= 0")
    check_amount(value, field=field)
    return value


def _time(field: str, value: datetime | None, as_of: datetime) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{field} must be timezone-aware (UTC), got naive {value!r}")
    if value > as_of:
        raise ValueError(
            f"{field} = {value.isoformat()} is after as_of {as_of.isoformat()}: a quote cannot "
            "come from the future"
        )
    return value


@dataclass(frozen=True, slots=True)
class BrokerUnderlyingQuote:
    """A broker's latest quote of an underlying (any of bid/ask, last; its time)."""

    symbol: str
    bid: Decimal | None = None
    ask: Decimal | None = None
    last: Decimal | None = None
    quote_time: datetime | None = None


@dataclass(frozen=True, slots=True)
class BrokerOptionQuote:
    """A broker's latest view of one option.

    ``mark`` is the broker's own price when it sends one (a theoretical price, a last trade);
    ``iv`` its implied volatility (a decimal fraction); ``underlying_price`` the underlying's
    price the broker used or showed with it.
    """

    occ_symbol: str
    bid: Decimal | None = None
    ask: Decimal | None = None
    mark: Decimal | None = None
    iv: float | None = None
    underlying_price: Decimal | None = None
    quote_time: datetime | None = None


@dataclass(frozen=True, slots=True)
class BrokerView:
    """What a broker stream showed, as of ``as_of`` (timezone-aware UTC)."""

    as_of: datetime
    underlyings: tuple[BrokerUnderlyingQuote, ...] = ()
    options: tuple[BrokerOptionQuote, ...] = ()


@dataclass(frozen=True, slots=True)
class BrokerSnapshot:
    """The snapshot built from a view, and what was left out or missing (readable lines)."""

    snapshot: MarketSnapshot
    warnings: tuple[str, ...]


def _spot_of(quote: BrokerUnderlyingQuote) -> Decimal | None:
    bid, ask = quote.bid, quote.ask
    if bid is not None and ask is not None and bid > 0 and ask > 0 and ask >= bid:
        return ((bid + ask) / 2).quantize(_QUANTUM, rounding=ROUND_HALF_EVEN)
    if quote.last is not None and quote.last > 0:
        return quote.last
    return None


def _underlying(quote: BrokerUnderlyingQuote, as_of: datetime) -> UnderlyingQuote | None:
    symbol = quote.symbol
    if not isinstance(symbol, str) or not _TICKER.match(symbol):
        raise ValueError(
            f"underlying symbol {symbol!r} is not a ticker: upper-case letters, digits and "
            "./^- only, at most 16 characters"
        )
    bid = _price(f"{symbol}.bid", quote.bid)
    ask = _price(f"{symbol}.ask", quote.ask)
    last = _price(f"{symbol}.last", quote.last)
    stamp = _time(f"{symbol}.quote_time", quote.quote_time, as_of) or as_of
    spot = _spot_of(quote)
    if spot is None:
        return None
    return UnderlyingQuote(
        symbol=symbol,
        spot=spot,
        bid=bid,
        ask=ask,
        last=last,
        provider_timestamp=stamp,
        receive_timestamp=as_of,
    )


def _iv(field: str, value: float | None) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ValueError(f"{field} must be a number, got {type(value).__name__} {value!r}")
    number = float(value)
    if not math.isfinite(number) or not 0 <= number <= MAX_IV:
        raise ValueError(
            f"{field} = {value!r} is out of range: an implied vol is a decimal fraction in "
            f"[0, {MAX_IV:g}] (0.25 means 25%)"
        )
    return number


def _contract(occ: str) -> OptionContract:
    if not isinstance(occ, str):
        raise ValueError(f"occ_symbol must be text, got {type(occ).__name__} {occ!r}")
    return parse_occ(occ)


def snapshot_from_view(
    view: BrokerView,
    *,
    source: str,
    mode: SnapshotMode = SnapshotMode.LIVE,
    overrides: MarketOverrides | None = None,
    styles: Mapping[str, ExerciseStyle] | None = None,
    settlements: Mapping[str, Settlement] | None = None,
    stale_after: timedelta | None = DEFAULT_STALE_AFTER,
) -> BrokerSnapshot:
    """Build the snapshot of ``view`` (see the module docstring for the rules).

    Parameters
    ----------
    view : BrokerView
        The broker's latest quotes.
    source : str
        The snapshot's ``source`` label (the market source's ``name``).
    mode : SnapshotMode
        LIVE (refreshable) or PINNED.
    overrides : MarketOverrides or None
        Rate, dividend yields, borrow and discrete dividends (a broker stream has none).
    styles, settlements : mapping of underlying to style / settlement, or None
        Per underlying (``{"SPX": EUROPEAN}``); American and PM-settled otherwise.
    stale_after : timedelta or None
        Age beyond which the diagnostics count a quote stale (None: never).

    Returns
    -------
    BrokerSnapshot
        The snapshot (diagnostics filled) and the warnings.

    Raises
    ------
    ValueError
        Naming the field, the value and the rule it broke (see the module docstring).

    """
    as_of = view.as_of
    if as_of.tzinfo is None or as_of.utcoffset() is None:
        raise ValueError(f"as_of must be timezone-aware (UTC), got naive {as_of!r}")
    if not isinstance(source, str) or not source.strip():
        raise ValueError(f"source must be a non-empty label, got {source!r}")
    styles = styles or {}
    settlements = settlements or {}
    warnings: list[str] = []

    underlyings: dict[str, UnderlyingQuote] = {}
    seen_symbols: set[str] = set()
    for quote in view.underlyings:
        built = _underlying(quote, as_of)
        if quote.symbol in seen_symbols:
            raise ValueError(
                f"underlying {quote.symbol!r} is quoted twice: a view holds one quote per symbol"
            )
        seen_symbols.add(quote.symbol)
        if built is not None:
            underlyings[quote.symbol] = built

    options: list[OptionQuote] = []
    identities: set[object] = set()
    implied_spots: dict[str, tuple[Decimal, datetime]] = {}
    expired: list[str] = []
    for item in view.options:
        occ = item.occ_symbol
        contract = _contract(occ)
        contract = replace(
            contract,
            style=styles.get(contract.underlying, ExerciseStyle.AMERICAN),
            settlement=settlements.get(contract.underlying, Settlement.PM),
        )
        identity = contract_identity(contract)
        if identity in identities:
            raise ValueError(
                f"option {occ!r} ({describe_contract(contract)}) is quoted twice: a view holds "
                "one quote per contract"
            )
        identities.add(identity)
        bid = _price(f"{occ}.bid", item.bid)
        ask = _price(f"{occ}.ask", item.ask)
        mark = _price(f"{occ}.mark", item.mark)
        iv = _iv(f"{occ}.iv", item.iv)
        under = _price(f"{occ}.underlying_price", item.underlying_price)
        if under is not None and under <= 0:
            raise ValueError(f"{occ}.underlying_price = {under}: an underlying price must be > 0")
        stamp = _time(f"{occ}.quote_time", item.quote_time, as_of) or as_of
        if expiry_datetime(contract.expiry, settlement=contract.settlement) < as_of:
            expired.append(occ)
            continue
        if under is not None:
            implied_spots.setdefault(contract.underlying, (under, stamp))
        options.append(
            OptionQuote(
                contract=contract,
                bid=bid,
                ask=ask,
                mark=mark,
                iv=iv,
                provider_timestamp=stamp,
                receive_timestamp=as_of,
            )
        )
    if expired:
        warnings.append(f"left out {len(expired)} expired contract(s): {', '.join(expired)}")
    for symbol, (spot, stamp) in sorted(implied_spots.items()):
        if symbol not in underlyings:
            underlyings[symbol] = UnderlyingQuote(
                symbol=symbol,
                spot=spot,
                bid=None,
                ask=None,
                last=None,
                provider_timestamp=stamp,
                receive_timestamp=as_of,
            )
    without = sorted({o.contract.underlying for o in options} - set(underlyings))
    if without:
        warnings.append(f"no underlying quote for {', '.join(without)}")
    snapshot = MarketSnapshot(
        as_of=as_of,
        mode=mode,
        source=source,
        underlyings=tuple(underlyings[s] for s in sorted(underlyings)),
        options=tuple(sorted(options, key=lambda o: o.contract.sort_key)),
        overrides=overrides if overrides is not None else MarketOverrides(),
    )
    snapshot = replace(
        snapshot, diagnostics=snapshot_diagnostics(snapshot, stale_after=stale_after)
    )
    return BrokerSnapshot(snapshot=snapshot, warnings=tuple(warnings))
