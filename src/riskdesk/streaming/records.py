"""The normalized Greeks record of the streaming pipeline and its canonical contract key.

:class:`UnifiedPositionRecord` is seed 003's ``UnifiedPositionRecord``: one broker Greeks event
of one option contract, normalized. It maps 1:1 onto a ``greek_snapshots`` row
(:meth:`UnifiedPositionRecord.to_row` gives the dict that
:func:`riskdesk.store.timeseries.insert_rows` takes) and onto one JSON line of the journal
(:meth:`UnifiedPositionRecord.to_json` / :meth:`UnifiedPositionRecord.from_json`, an exact round
trip). Its :meth:`~UnifiedPositionRecord.dedupe_key` is the database's dedupe key
(``GREEK_DEDUPE_COLUMNS``), so "stored once" means the same thing in memory and on disk.

The contract key is the one :attr:`riskdesk.domain.instruments.OptionContract.key` writes:
``UNDERLYING:YYYYMMDD:STRIKE:C|P`` with the strike as canonical text (no exponent, no trailing
zeros: ``580``, ``12.5``), plus ``:AM`` for AM settlement and ``:x<multiplier>`` for a
multiplier other than 100.

>>> contract_key("SPY", date(2025, 1, 17), Decimal("580.00"), "C")
'SPY:20250117:580:C'
>>> parse_contract_key("SPY:20250117:580:C").strike
Decimal('580')

Everything here is pure: no I/O, no clock.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any, Final, NamedTuple

from riskdesk.domain.numbers import check_amount

__all__ = [
    "BROKERS",
    "DEDUPE_FIELDS",
    "GREEK_FIELDS",
    "RECORD_JSON_VERSION",
    "ROW_COLUMNS",
    "ContractKey",
    "RecordError",
    "UnifiedPositionRecord",
    "canonical_strike",
    "contract_key",
    "parse_contract_key",
]

BROKERS: Final[tuple[str, ...]] = ("ibkr", "tastytrade", "simulated", "paper")
"""Brokers a record may name (the ``broker`` check of ``greek_snapshots``)."""

GREEK_FIELDS: Final[tuple[str, ...]] = ("delta", "gamma", "theta", "vega", "rho")
"""The Greeks of which a record needs at least one (``greek_snapshots``' ``has_greek`` rule).
Implied volatility and the underlying price are carried but do not count as a Greek."""

DEDUPE_FIELDS: Final[tuple[str, ...]] = (
    "broker",
    "account_id",
    "contract_key",
    "event_time",
    "delta",
    "gamma",
    "theta",
    "vega",
)
"""Seed 003's dedupe key plus ``account_id``, the columns of ``greek_snapshots``' unique rule, in order."""

ROW_COLUMNS: Final[tuple[str, ...]] = (
    "event_time",
    "received_at",
    "broker",
    "account_id",
    "underlying",
    "contract_key",
    "expiration",
    "strike",
    "option_type",
    "quantity",
    "delta",
    "gamma",
    "theta",
    "vega",
    "rho",
    "implied_volatility",
    "underlying_price",
    "source_payload",
)
"""The ``greek_snapshots`` columns a record fills (``id`` and ``persisted_at`` are defaulted)."""

RECORD_JSON_VERSION: Final = 1
"""Version tag (``"v"``) of the JSON line written by :meth:`UnifiedPositionRecord.to_json`."""

_FLOAT_FIELDS: Final[tuple[str, ...]] = (*GREEK_FIELDS, "implied_volatility", "underlying_price")
_MAX_UNDERLYING = 32
_MAX_CONTRACT_KEY = 64
_MAX_ACCOUNT_ID = 64
_RIGHTS: Final[dict[str, str]] = {"C": "call", "P": "put"}
_OPTION_TYPES: Final[dict[str, str]] = {"call": "C", "put": "P"}
_UNDERLYING_RE = re.compile(r"[A-Za-z0-9./^_-]{1,32}", re.ASCII)
_DATE_RE = re.compile(r"[0-9]{8}", re.ASCII)
_STRIKE_RE = re.compile(r"(?:0|[1-9][0-9]*)(?:\.[0-9]*[1-9])?", re.ASCII)
_MULTIPLIER_RE = re.compile(r"x[1-9][0-9]{0,9}", re.ASCII)
_KEY_LAYOUT = (
    "a contract key is UNDERLYING:YYYYMMDD:STRIKE:C|P (e.g. 'SPY:20250117:580:C'), "
    "optionally followed by ':AM' and ':x<multiplier>'"
)


class RecordError(ValueError):
    """A record, a field of one or a contract key breaks a rule; the message names which."""


class ContractKey(NamedTuple):
    """The parts of a canonical contract key (see :func:`parse_contract_key`)."""

    underlying: str
    expiry: date
    strike: Decimal
    right: str
    """``C`` or ``P``."""
    settlement: str = "PM"
    """``PM`` (the default, not written in the key) or ``AM``."""
    multiplier: int = 100
    """Shares per contract; 100 is not written in the key."""

    @property
    def option_type(self) -> str:
        """``call`` or ``put`` (the ``option_type`` column's spelling)."""
        return _RIGHTS[self.right]

    @property
    def key(self) -> str:
        """The canonical key text."""
        return contract_key(
            self.underlying,
            self.expiry,
            self.strike,
            self.right,
            settlement=self.settlement,
            multiplier=self.multiplier,
        )


def canonical_strike(strike: Decimal) -> str:
    """The strike as canonical text: plain digits, no exponent, no trailing zeros.

    Parameters
    ----------
    strike : Decimal
        A finite, positive strike with at most 8 decimal places (``NUMERIC(20, 8)``).

    Returns
    -------
    str
        ``Decimal("580.00")`` -> ``'580'``, ``Decimal("1E+3")`` -> ``'1000'``,
        ``Decimal("12.50")`` -> ``'12.5'``.

    Raises
    ------
    RecordError
        If the strike is not a Decimal, not finite, not positive or not stored exactly.

    """
    if not isinstance(strike, Decimal):
        raise RecordError(f"strike must be a Decimal, got {type(strike).__name__} {strike!r}")
    if not strike.is_finite() or strike <= 0:
        raise RecordError(f"strike must be a finite number > 0, got {strike}")
    try:
        check_amount(strike, field="strike")
    except ValueError as exc:
        raise RecordError(str(exc)) from exc
    text = format(strike.normalize(), "f")
    return text


def _check_underlying(underlying: str) -> str:
    if not isinstance(underlying, str) or _UNDERLYING_RE.fullmatch(underlying) is None:
        raise RecordError(
            f"underlying must be 1-{_MAX_UNDERLYING} characters of letters, digits or "
            f"'./^_-' (no ':' or spaces), got {underlying!r}"
        )
    return underlying


def _right_letter(right: str) -> str:
    if right in _RIGHTS:
        return right
    if right in _OPTION_TYPES:
        return _OPTION_TYPES[right]
    raise RecordError(f"right must be 'C', 'P', 'call' or 'put', got {right!r}")


def contract_key(
    underlying: str,
    expiry: date,
    strike: Decimal,
    right: str,
    *,
    settlement: str = "PM",
    multiplier: int = 100,
) -> str:
    """The canonical contract key of an option (same text as ``OptionContract.key``).

    Parameters
    ----------
    underlying : str
        The underlying (or OCC root), 1-32 characters of ``A-Za-z0-9./^_-``.
    expiry : date
        Expiration date.
    strike : Decimal
        Strike; written as :func:`canonical_strike` text.
    right : str
        ``C`` / ``P`` (or ``call`` / ``put``).
    settlement : str
        ``PM`` (default, not written) or ``AM`` (written as ``:AM``).
    multiplier : int
        Shares per contract; 100 (default) is not written, others as ``:x<multiplier>``.

    Returns
    -------
    str
        e.g. ``'SPY:20250117:580:C'``; at most 64 characters (the column's width).

    Raises
    ------
    RecordError
        Naming the part that breaks its rule.

    """
    if (
        type(underlying) is str
        and type(expiry) is date
        and type(strike) is Decimal
        and strike.is_finite()
        and type(right) is str
        and type(settlement) is str
        and type(multiplier) is int
    ):  # exact, hashable types: the same inputs always give the same key (or error)
        return _cached_contract_key(underlying, expiry, strike, right, settlement, multiplier)
    return _contract_key(underlying, expiry, strike, right, settlement, multiplier)


def _contract_key(
    underlying: str, expiry: date, strike: Decimal, right: str, settlement: str, multiplier: int
) -> str:
    _check_underlying(underlying)
    if not isinstance(expiry, date) or isinstance(expiry, datetime):
        raise RecordError(f"expiry must be a date, got {type(expiry).__name__} {expiry!r}")
    letter = _right_letter(right)
    key = f"{underlying}:{expiry:%Y%m%d}:{canonical_strike(strike)}:{letter}"
    if settlement not in ("PM", "AM"):
        raise RecordError(f"settlement must be 'PM' or 'AM', got {settlement!r}")
    if settlement == "AM":
        key += ":AM"
    if isinstance(multiplier, bool) or not isinstance(multiplier, int) or multiplier <= 0:
        raise RecordError(f"multiplier must be a whole number > 0, got {multiplier!r}")
    if multiplier != 100:
        key += f":x{multiplier}"
    if len(key) > _MAX_CONTRACT_KEY:
        raise RecordError(
            f"contract key {key!r} has {len(key)} characters; at most {_MAX_CONTRACT_KEY} are stored"
        )
    return key


# Pure and keyed by exact types (so 580 and Decimal(580), True and 1 never share an entry);
# errors are not cached. Equal Decimals ("580" and "580.00") give the same canonical key.
_cached_contract_key = lru_cache(maxsize=8192)(_contract_key)


def parse_contract_key(key: str) -> ContractKey:
    """Parse a canonical contract key (the inverse of :func:`contract_key`).

    Only the canonical text is accepted, so ``parse_contract_key(k).key == k`` for every key
    that parses: ``SPY:20250117:580.0:C`` (non-canonical strike) is refused.

    Parameters
    ----------
    key : str
        e.g. ``'SPY:20250117:580:C'`` or ``'SPX:20261218:6000:C:AM'``.

    Returns
    -------
    ContractKey
        Its parts.

    Raises
    ------
    RecordError
        Naming the key, the part and the rule.

    """
    if not isinstance(key, str):
        raise RecordError(f"contract key must be a str, got {type(key).__name__}; {_KEY_LAYOUT}")
    if type(key) is str:
        return _cached_parse_contract_key(key)
    return _parse_contract_key(key)


def _parse_contract_key(key: str) -> ContractKey:
    if len(key) > _MAX_CONTRACT_KEY:
        raise RecordError(
            f"contract key {key[:80]!r} has {len(key)} characters "
            f"(at most {_MAX_CONTRACT_KEY}); {_KEY_LAYOUT}"
        )
    parts = key.split(":")
    if not 4 <= len(parts) <= 6:
        raise RecordError(f"contract key {key!r} has {len(parts)} parts; {_KEY_LAYOUT}")
    underlying, day, strike_text, right = parts[:4]
    if _UNDERLYING_RE.fullmatch(underlying) is None:
        raise RecordError(
            f"contract key {key!r}: underlying {underlying!r} is invalid; {_KEY_LAYOUT}"
        )
    if _DATE_RE.fullmatch(day) is None:
        raise RecordError(f"contract key {key!r}: expiry {day!r} is not YYYYMMDD; {_KEY_LAYOUT}")
    try:
        expiry = date(int(day[:4]), int(day[4:6]), int(day[6:]))
    except ValueError as exc:
        raise RecordError(f"contract key {key!r}: expiry {day!r} is not a date ({exc})") from exc
    if _STRIKE_RE.fullmatch(strike_text) is None:
        raise RecordError(
            f"contract key {key!r}: strike {strike_text!r} is not canonical text "
            "(plain digits, no trailing zeros, e.g. '580' or '12.5')"
        )
    if right not in _RIGHTS:
        raise RecordError(f"contract key {key!r}: right {right!r} is not C or P; {_KEY_LAYOUT}")
    settlement = "PM"
    multiplier = 100
    rest = parts[4:]
    if rest and rest[0] == "AM":
        settlement = "AM"
        rest = rest[1:]
    if rest and _MULTIPLIER_RE.fullmatch(rest[0]) is not None and rest[0] != "x100":
        multiplier = int(rest[0][1:])
        rest = rest[1:]
    if rest:
        raise RecordError(
            f"contract key {key!r}: unexpected suffix {':'.join(rest)!r}; {_KEY_LAYOUT}"
        )
    parsed = ContractKey(underlying, expiry, Decimal(strike_text), right, settlement, multiplier)
    try:
        canonical = parsed.key
    except RecordError as exc:  # e.g. a zero strike or more than 8 decimals
        raise RecordError(f"contract key {key!r}: {exc}") from exc
    if canonical != key:
        raise RecordError(f"contract key {key!r} is not canonical; expected {canonical!r}")
    return parsed


# A ContractKey is immutable (str, date, Decimal, int), so sharing one per key is safe.
_cached_parse_contract_key = lru_cache(maxsize=8192)(_parse_contract_key)


def _finite_float(name: str, value: object) -> float | None:
    if value is None:
        return None
    if type(value) is float and math.isfinite(value):  # the common case, checked once
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RecordError(f"{name} must be a float or None, got {type(value).__name__} {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise RecordError(f"{name} must be finite or None, got {value!r}")
    return number


def _aware_utc(name: str, value: object) -> datetime:
    if not isinstance(value, datetime):
        raise RecordError(f"{name} must be a datetime, got {type(value).__name__} {value!r}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise RecordError(f"{name} must be timezone-aware (UTC), got naive {value.isoformat()}")
    return value.astimezone(UTC)


_JSON_SCALARS: Final = frozenset({str, int, bool, type(None)})
"""Exact types ``_json_safe`` keeps as they are (floats need a finiteness check)."""


def _is_flat_json(value: dict[Any, Any]) -> bool:
    """True for a dict of str keys and plain JSON scalar values (finite floats)."""
    scalars = _JSON_SCALARS
    isfinite = math.isfinite
    for k, item in value.items():
        if type(k) is not str:
            return False
        kind = type(item)
        if kind in scalars:
            continue
        if kind is not float or not isfinite(item):
            return False
    return True


def _json_safe(path: str, value: object) -> Any:
    """A copy of ``value`` built from JSON types only (so JSON gives it back equal)."""
    if type(value) is dict and _is_flat_json(value):  # fast path: a flat wire payload
        return dict(value)
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise RecordError(f"source_payload{path} is {value!r}; JSON has no NaN or Infinity")
        return float(value)
    if isinstance(value, list):
        return [_json_safe(f"{path}[{i}]", item) for i, item in enumerate(value)]
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, item in value.items():
            if not isinstance(k, str):
                raise RecordError(f"source_payload{path} has a non-text key {k!r}")
            out[k] = _json_safe(f"{path}[{k!r}]", item)
        return out
    raise RecordError(
        f"source_payload{path} is a {type(value).__name__} ({value!r}); use only dict, list, "
        "str, int, finite float, bool or None"
    )


@dataclass(frozen=True, slots=True)
class UnifiedPositionRecord:
    """One normalized Greeks event of one option contract (seed 003 ``UnifiedPositionRecord``).

    Fields carry the ``greek_snapshots`` column names. ``expiration``, ``strike`` and
    ``option_type`` must agree with ``contract_key`` (use :meth:`for_contract` to derive them).
    Greeks are per the broker's convention, unconverted; ``implied_volatility`` is a fraction
    (0.25 = 25%). Floats are finite or None (missing); at least one of
    :data:`GREEK_FIELDS` is present. Times are converted to UTC and must be timezone-aware:
    ``event_time`` is the broker's event time, ``received_at`` the local receipt time.
    ``source_payload`` is the raw broker payload (JSON types only, copied on construction).

    Raises
    ------
    RecordError
        From the constructor, naming the field and the rule it broke.

    """

    broker: str
    account_id: str
    underlying: str
    contract_key: str
    expiration: date
    strike: Decimal
    option_type: str
    event_time: datetime
    received_at: datetime
    quantity: Decimal | None = None
    delta: float | None = None
    gamma: float | None = None
    theta: float | None = None
    vega: float | None = None
    rho: float | None = None
    implied_volatility: float | None = None
    underlying_price: float | None = None
    source_payload: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        if self.broker not in BROKERS:
            raise RecordError(f"broker must be one of {', '.join(BROKERS)}, got {self.broker!r}")
        if (
            not isinstance(self.account_id, str)
            or not self.account_id.strip()
            or len(self.account_id) > _MAX_ACCOUNT_ID
        ):
            raise RecordError(
                f"account_id must be non-empty text of at most {_MAX_ACCOUNT_ID} characters, "
                f"got {self.account_id!r}"
            )
        parsed = parse_contract_key(self.contract_key)
        if (
            self.underlying != parsed.underlying
            or self.expiration != parsed.expiry
            or self.strike != parsed.strike
            or self.option_type != parsed.option_type
        ):
            expected = {
                "underlying": parsed.underlying,
                "expiration": parsed.expiry,
                "strike": parsed.strike,
                "option_type": parsed.option_type,
            }
            for name, value in expected.items():
                if getattr(self, name) != value:
                    raise RecordError(
                        f"{name} {getattr(self, name)} disagrees with contract_key "
                        f"{self.contract_key!r} (which gives {value})"
                    )
        if not isinstance(self.strike, Decimal):
            raise RecordError(f"strike must be a Decimal, got {type(self.strike).__name__}")
        set_(self, "strike", parsed.strike)  # canonical: Decimal("580.00") -> Decimal("580")
        if self.quantity is not None:
            if not isinstance(self.quantity, Decimal) or not self.quantity.is_finite():
                raise RecordError(
                    f"quantity must be a finite Decimal or None, got {self.quantity!r}"
                )
            try:
                check_amount(self.quantity, field="quantity")
            except ValueError as exc:
                raise RecordError(str(exc)) from exc
        for name in _FLOAT_FIELDS:
            set_(self, name, _finite_float(name, getattr(self, name)))
        if (
            self.delta is None
            and self.gamma is None
            and self.theta is None
            and self.vega is None
            and self.rho is None
        ):
            raise RecordError(
                f"record of {self.contract_key} has no Greek; at least one of "
                f"{', '.join(GREEK_FIELDS)} must be a finite number"
            )
        set_(self, "event_time", _aware_utc("event_time", self.event_time))
        set_(self, "received_at", _aware_utc("received_at", self.received_at))
        payload = {} if self.source_payload is None else self.source_payload
        if not isinstance(payload, dict):
            raise RecordError(f"source_payload must be a dict, got {type(payload).__name__}")
        set_(self, "source_payload", _json_safe("", payload))

    def __hash__(self) -> int:
        return hash((self.dedupe_key(), self.account_id, self.received_at))

    @classmethod
    def for_contract(
        cls,
        *,
        broker: str,
        account_id: str,
        contract_key: str,
        event_time: datetime,
        received_at: datetime,
        quantity: Decimal | None = None,
        delta: float | None = None,
        gamma: float | None = None,
        theta: float | None = None,
        vega: float | None = None,
        rho: float | None = None,
        implied_volatility: float | None = None,
        underlying_price: float | None = None,
        source_payload: dict[str, Any] | None = None,
    ) -> UnifiedPositionRecord:
        """Build a record whose underlying, expiration, strike and option type come from the key."""
        parsed = parse_contract_key(contract_key)
        return cls(
            broker=broker,
            account_id=account_id,
            underlying=parsed.underlying,
            contract_key=contract_key,
            expiration=parsed.expiry,
            strike=parsed.strike,
            option_type=parsed.option_type,
            event_time=event_time,
            received_at=received_at,
            quantity=quantity,
            delta=delta,
            gamma=gamma,
            theta=theta,
            vega=vega,
            rho=rho,
            implied_volatility=implied_volatility,
            underlying_price=underlying_price,
            source_payload=source_payload,
        )

    @property
    def payload(self) -> dict[str, Any]:
        """The raw payload (never None after construction)."""
        return self.source_payload or {}

    @property
    def contract_id(self) -> tuple[str, str, str]:
        """``(broker, account_id, contract_key)``: one logical contract's time series."""
        return (self.broker, self.account_id, self.contract_key)

    def dedupe_key(self) -> tuple[Any, ...]:
        """The values of :data:`DEDUPE_FIELDS` (the database's unique rule), in its order."""
        return tuple(getattr(self, name) for name in DEDUPE_FIELDS)

    def to_row(self) -> dict[str, Any]:
        """The ``greek_snapshots`` row: a dict keyed by :data:`ROW_COLUMNS`.

        ``id`` and ``persisted_at`` are left to the table's defaults. The payload is a copy.
        """
        row = {name: getattr(self, name) for name in ROW_COLUMNS}
        # Sanitized on construction, so a flat payload takes _json_safe's copy-only fast path.
        row["source_payload"] = _json_safe("", self.payload)
        return row

    def to_dict(self) -> dict[str, Any]:
        """JSON types only: Decimals as strings, dates and times as ISO 8601 text."""
        return {
            "v": RECORD_JSON_VERSION,
            "broker": self.broker,
            "account_id": self.account_id,
            "contract_key": self.contract_key,
            "event_time": self.event_time.isoformat(timespec="microseconds"),
            "received_at": self.received_at.isoformat(timespec="microseconds"),
            "quantity": None if self.quantity is None else str(self.quantity),
            "delta": self.delta,
            "gamma": self.gamma,
            "theta": self.theta,
            "vega": self.vega,
            "rho": self.rho,
            "implied_volatility": self.implied_volatility,
            "underlying_price": self.underlying_price,
            "source_payload": self.payload,
        }

    def to_json(self) -> str:
        """One line of compact JSON (sorted keys, no NaN), the journal's format.

        ``from_json(r.to_json()) == r`` for every record: floats are written with ``repr``
        (shortest round-tripping text), Decimals as their exact string, times with
        microseconds and ``+00:00``.
        """
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"), allow_nan=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> UnifiedPositionRecord:
        """Inverse of :meth:`to_dict`; unknown or missing keys are refused."""
        if not isinstance(data, dict):
            raise RecordError(f"a record must be a JSON object, got {type(data).__name__}")
        expected = set(_JSON_KEYS)
        got = set(data)
        if got != expected:
            missing = ", ".join(sorted(expected - got)) or "none"
            extra = ", ".join(sorted(got - expected)) or "none"
            raise RecordError(f"record JSON keys are wrong: missing {missing}; unknown {extra}")
        if data["v"] != RECORD_JSON_VERSION:
            raise RecordError(f"record JSON version {data['v']!r} is not {RECORD_JSON_VERSION}")
        times: dict[str, datetime] = {}
        for name in ("event_time", "received_at"):
            text = data[name]
            try:
                times[name] = datetime.fromisoformat(text)
            except (TypeError, ValueError) as exc:
                raise RecordError(f"{name} {text!r} is not an ISO 8601 time") from exc
        quantity_text = data["quantity"]
        quantity: Decimal | None = None
        if quantity_text is not None:
            if not isinstance(quantity_text, str):
                raise RecordError(f"quantity must be a decimal string, got {quantity_text!r}")
            try:
                quantity = Decimal(quantity_text)
            except InvalidOperation as exc:
                raise RecordError(f"quantity {quantity_text!r} is not a decimal") from exc
        return cls.for_contract(
            broker=data["broker"],
            account_id=data["account_id"],
            contract_key=data["contract_key"],
            event_time=times["event_time"],
            received_at=times["received_at"],
            quantity=quantity,
            delta=data["delta"],
            gamma=data["gamma"],
            theta=data["theta"],
            vega=data["vega"],
            rho=data["rho"],
            implied_volatility=data["implied_volatility"],
            underlying_price=data["underlying_price"],
            source_payload=data["source_payload"],
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> UnifiedPositionRecord:
        """Inverse of :meth:`to_json`.

        Raises
        ------
        RecordError
            For text that is not JSON, not a record object, or a record breaking a rule.

        """
        try:
            data = json.loads(text, parse_constant=_refuse_constant)
        except (ValueError, UnicodeDecodeError) as exc:
            if isinstance(exc, RecordError):
                raise
            raise RecordError(f"record line is not valid JSON: {exc}") from exc
        return cls.from_dict(data)


def _refuse_constant(name: str) -> Any:
    raise RecordError(f"record JSON holds {name}; non-finite numbers are not allowed")


_JSON_KEYS: Final[tuple[str, ...]] = (
    "v",
    "broker",
    "account_id",
    "contract_key",
    "event_time",
    "received_at",
    "quantity",
    *GREEK_FIELDS,
    "implied_volatility",
    "underlying_price",
    "source_payload",
)
