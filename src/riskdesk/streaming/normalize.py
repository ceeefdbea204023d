"""Broker events to :class:`~riskdesk.streaming.records.UnifiedPositionRecord`, and the latest view.

Adapters map their wire events into the two plain inputs defined here, :class:`GreeksTick` and
:class:`PositionUpdate`; :class:`Normalizer` turns ticks into records, taking the quantity from
the positions it has been told about, and counts every refusal by reason
(:data:`REJECT_REASONS`). :class:`LatestView` keeps the newest record per contract so an
out-of-order event never overwrites a newer one (history keeps both: that is the writer's job).

Symbols may be an OCC symbol (``SPY   250117C00580000`` or ``SPY250117C00580000``), a dxFeed
streamer symbol as DXLink sends it (``.SPY250117C580``, ``.SPLG230616C23``) or a canonical
contract key (``SPY:20250117:580:C``). The OCC root is kept as the underlying (``SPXW`` stays
``SPXW``); an adapter that knows better passes a contract key.

Pure: no I/O, no clock (``received_at`` is the caller's "now"), no threads; the owner
serializes access.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any, Final

from riskdesk.domain.occ import parse_occ
from riskdesk.streaming.records import (
    GREEK_FIELDS,
    RecordError,
    UnifiedPositionRecord,
    contract_key,
    parse_contract_key,
)

__all__ = [
    "DEFAULT_SKEW_TOLERANCE",
    "REJECT_REASONS",
    "GreeksTick",
    "LatestView",
    "NormalizeResult",
    "Normalizer",
    "PositionUpdate",
    "resolve_symbol",
]

REJECT_REASONS: Final[tuple[str, ...]] = (
    "bad_symbol",
    "no_greeks",
    "clock_skew",
    "invalid",
    "stale_position",
)
"""Why an input was refused:

* ``bad_symbol`` -- the symbol is none of OCC, dxFeed streamer symbol or contract key;
* ``no_greeks`` -- no finite value among delta, gamma, theta, vega, rho (after non-finite and
  non-numeric values became missing);
* ``clock_skew`` -- ``event_time`` is later than ``received_at`` plus the skew tolerance;
* ``invalid`` -- another field breaks a record rule (unknown broker, empty account, naive time,
  payload not JSON-safe ...); :attr:`NormalizeResult.detail` says which;
* ``stale_position`` -- a position update older than the one already applied (positions only).
"""

DEFAULT_SKEW_TOLERANCE: Final = timedelta(seconds=5)
"""How far an event time may lead the local receipt time before it is refused."""

_DXFEED_RE = re.compile(
    r"\.(?P<root>[A-Z0-9./_-]{1,32}?)(?P<day>[0-9]{6})(?P<right>[CP])"
    r"(?P<strike>(?:0|[1-9][0-9]*)(?:\.[0-9]+)?)",
    re.ASCII,
)
_GREEK_INPUTS: Final[tuple[str, ...]] = (
    *GREEK_FIELDS,
    "implied_volatility",
    "underlying_price",
)

Number = float | int | str | None
"""A value as an adapter may hand it over: a number, a number's text (``"NaN"``,
``"Infinity"`` included), or None."""


@dataclass(frozen=True, slots=True)
class GreeksTick:
    """One Greeks event as an adapter hands it to the normalizer.

    ``symbol`` is an OCC symbol, a dxFeed streamer symbol or a contract key. Greek values
    that are None, non-finite (``NaN``, ``"Infinity"``) or not numbers count as missing.
    ``event_time`` is the broker's time (use ``received_at`` when it sends none),
    ``received_at`` the local receipt time; both timezone-aware. ``raw`` is the wire payload
    (JSON types only), kept as the record's ``source_payload``.
    """

    broker: str
    account_id: str
    symbol: str
    event_time: datetime
    received_at: datetime
    delta: Number = None
    gamma: Number = None
    theta: Number = None
    vega: Number = None
    rho: Number = None
    implied_volatility: Number = None
    underlying_price: Number = None
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PositionUpdate:
    """A broker's position in one contract: ``quantity`` contracts (signed; 0 = closed).

    ``event_time`` orders updates: an older one than the last applied is ignored.
    """

    broker: str
    account_id: str
    symbol: str
    quantity: Decimal
    event_time: datetime


@dataclass(frozen=True, slots=True)
class NormalizeResult:
    """A record, or the reason (one of :data:`REJECT_REASONS`) and a readable detail."""

    record: UnifiedPositionRecord | None
    reason: str | None = None
    detail: str | None = None

    @property
    def ok(self) -> bool:
        """True when a record was produced."""
        return self.record is not None


def _dxfeed_key(symbol: str) -> str | None:
    match = _DXFEED_RE.fullmatch(symbol)
    if match is None:
        return None
    day = match["day"]
    expiry = date(2000 + int(day[:2]), int(day[2:4]), int(day[4:]))
    return contract_key(match["root"], expiry, Decimal(match["strike"]), match["right"])


def resolve_symbol(symbol: str) -> str:
    """The canonical contract key of an OCC symbol, dxFeed streamer symbol or contract key.

    Raises
    ------
    ValueError
        When ``symbol`` is none of them; the message names the forms accepted.

    """
    if not isinstance(symbol, str) or not symbol:
        raise ValueError(f"symbol must be non-empty text, got {symbol!r}")
    if type(symbol) is str:
        return _cached_resolve(symbol)
    return _resolve(symbol)


def _resolve(symbol: str) -> str:
    try:
        if ":" in symbol:
            return parse_contract_key(symbol).key
        if symbol.startswith("."):
            key = _dxfeed_key(symbol)
            if key is not None:
                return key
        else:
            c = parse_occ(symbol)
            return contract_key(c.underlying, c.expiry, c.strike, c.right.value)
    except ValueError as exc:
        raise ValueError(f"symbol {symbol!r} is not a valid option symbol: {exc}") from exc
    raise ValueError(
        f"symbol {symbol!r} is not an OCC symbol ('SPY250117C00580000'), a dxFeed streamer "
        "symbol ('.SPY250117C580') or a contract key ('SPY:20250117:580:C')"
    )


# Pure (a symbol always resolves to the same key or error; errors are not cached) and a
# stream repeats the same few hundred symbols, so each is parsed once.
_cached_resolve = lru_cache(maxsize=8192)(_resolve)


def _clean(value: object) -> float | None:
    """A finite float, or None for missing, non-finite or non-numeric values."""
    if type(value) is float:  # the common case
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return None
    if not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


class Normalizer:
    """Turns :class:`GreeksTick` into records; tracks positions; counts refusals by reason.

    Parameters
    ----------
    skew_tolerance : timedelta
        A tick whose ``event_time`` is later than ``received_at + skew_tolerance`` is refused
        (``clock_skew``); 5 s by default.

    Notes
    -----
    Not thread-safe: the owner serializes calls.

    """

    def __init__(self, *, skew_tolerance: timedelta = DEFAULT_SKEW_TOLERANCE) -> None:
        if skew_tolerance < timedelta(0):
            raise ValueError(f"skew_tolerance must be >= 0, got {skew_tolerance}")
        self._skew = skew_tolerance
        self._positions: dict[tuple[str, str, str], Decimal] = {}
        self._position_times: dict[tuple[str, str, str], datetime] = {}
        self._rejected: Counter[str] = Counter()
        self._accepted = 0
        self._nulled = 0

    @property
    def accepted(self) -> int:
        """Ticks turned into records."""
        return self._accepted

    @property
    def rejected(self) -> dict[str, int]:
        """Refusals by reason (only reasons that occurred)."""
        return dict(self._rejected)

    @property
    def nulled_values(self) -> int:
        """Greek values given but dropped as non-finite or non-numeric, in accepted ticks."""
        return self._nulled

    def quantity(self, broker: str, account_id: str, key: str) -> Decimal | None:
        """The known open quantity of a contract, or None."""
        return self._positions.get((broker, account_id, key))

    def positions(self) -> Iterator[tuple[tuple[str, str, str], Decimal]]:
        """``((broker, account_id, contract_key), quantity)`` of every open position."""
        yield from sorted(self._positions.items())

    def _reject(self, reason: str, detail: str) -> NormalizeResult:
        self._rejected[reason] += 1
        return NormalizeResult(None, reason, detail)

    def apply_position(self, update: PositionUpdate) -> str | None:
        """Record a position; return None, or the reason it was refused (counted).

        A zero quantity closes the position. An update older than the last one applied to
        the contract (open or close) is refused as ``stale_position``, so a late open never
        resurrects a closed position.
        """
        try:
            key = resolve_symbol(update.symbol)
        except ValueError as exc:
            return self._reject("bad_symbol", str(exc)).reason
        if not isinstance(update.quantity, Decimal) or not update.quantity.is_finite():
            detail = f"quantity {update.quantity!r} is not a finite Decimal"
            return self._reject("invalid", detail).reason
        if not isinstance(update.event_time, datetime) or update.event_time.tzinfo is None:
            return self._reject("invalid", "position event_time must be timezone-aware").reason
        ident = (update.broker, update.account_id, key)
        seen = self._position_times.get(ident)
        if seen is not None and update.event_time < seen:
            detail = (
                f"position of {key} at {update.event_time.isoformat()} is older than the one "
                f"applied at {seen.isoformat()}"
            )
            return self._reject("stale_position", detail).reason
        self._position_times[ident] = update.event_time
        if update.quantity == 0:
            self._positions.pop(ident, None)
        else:
            self._positions[ident] = update.quantity
        return None

    def normalize(self, tick: GreeksTick) -> NormalizeResult:
        """Turn ``tick`` into a record, or refuse it with a counted reason."""
        try:
            key = resolve_symbol(tick.symbol)
        except ValueError as exc:
            return self._reject("bad_symbol", str(exc))
        values = {name: _clean(getattr(tick, name)) for name in _GREEK_INPUTS}
        if all(values[name] is None for name in GREEK_FIELDS):
            return self._reject(
                "no_greeks", f"tick of {key} has no finite {', '.join(GREEK_FIELDS)}"
            )
        try:
            lead = tick.event_time - tick.received_at
        except TypeError:
            return self._reject(
                "invalid", "event_time and received_at must both be timezone-aware datetimes"
            )
        if lead > self._skew:
            return self._reject(
                "clock_skew",
                f"event_time {tick.event_time.isoformat()} is {lead.total_seconds():.3f} s after "
                f"received_at (tolerance {self._skew.total_seconds():g} s)",
            )
        try:
            record = UnifiedPositionRecord.for_contract(
                broker=tick.broker,
                account_id=tick.account_id,
                contract_key=key,
                event_time=tick.event_time,
                received_at=tick.received_at,
                quantity=self.quantity(tick.broker, tick.account_id, key),
                source_payload=dict(tick.raw),
                **values,
            )
        except (RecordError, TypeError) as exc:
            return self._reject("invalid", str(exc))
        given = sum(getattr(tick, name) is not None for name in _GREEK_INPUTS)
        self._nulled += given - sum(v is not None for v in values.values())
        self._accepted += 1
        return NormalizeResult(record)


class LatestView:
    """The newest record per ``(broker, account_id, contract_key)``, by ``event_time``.

    Ties on ``event_time`` go to the later ``received_at``, then to the larger JSON text, so
    the final view is the same whatever order the records are offered in.
    """

    def __init__(self) -> None:
        self._latest: dict[tuple[str, str, str], UnifiedPositionRecord] = {}

    @staticmethod
    def _newer(a: UnifiedPositionRecord, b: UnifiedPositionRecord) -> bool:
        if a.event_time != b.event_time:
            return a.event_time > b.event_time
        if a.received_at != b.received_at:
            return a.received_at > b.received_at
        return a.to_json() > b.to_json()

    def offer(self, record: UnifiedPositionRecord) -> bool:
        """Keep ``record`` if it is newer than the current latest; True if it became latest."""
        ident = record.contract_id
        current = self._latest.get(ident)
        if current is None or self._newer(record, current):
            self._latest[ident] = record
            return True
        return False

    def get(self, broker: str, account_id: str, contract_key: str) -> UnifiedPositionRecord | None:
        """The latest record of a contract, or None."""
        return self._latest.get((broker, account_id, contract_key))

    def records(self) -> list[UnifiedPositionRecord]:
        """Every latest record, sorted by ``(broker, account_id, contract_key)``."""
        return [self._latest[k] for k in sorted(self._latest)]

    def __len__(self) -> int:
        return len(self._latest)
