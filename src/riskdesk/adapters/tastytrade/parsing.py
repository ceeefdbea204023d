"""Pure parsing for tastytrade: DXLink messages, dxFeed events, streamer symbols, positions.

Nothing here does I/O or reads a clock: every function takes decoded JSON (or its text) and
returns typed values, or raises :class:`DxlinkParseError` naming what is wrong.

DXLink messages
---------------
:func:`parse_message` turns one WebSocket text frame (or its decoded JSON object) into one of
the message dataclasses (``SETUP``, ``AUTH_STATE``, ``AUTH``, ``CHANNEL_REQUEST``,
``CHANNEL_OPENED``, ``CHANNEL_CANCEL``, ``CHANNEL_CLOSED``, ``FEED_SETUP``, ``FEED_CONFIG``,
``FEED_SUBSCRIPTION``, ``FEED_DATA``, ``KEEPALIVE``, ``ERROR``); every message also writes
itself back with ``to_wire()``, so a server (the fake broker) and a client share one model.

Feed data
---------
In the COMPACT format a ``FEED_DATA`` frame carries ``[type, [values...], type, [values...]]``:
the values of several events of one type flattened in one array, in the order of that type's
fields. The fields come from the channel's ``FEED_CONFIG`` ``eventFields``, or, when the server
sent none for that type, from the client's ``FEED_SETUP`` ``acceptEventFields``
(:class:`FeedFields` tracks both). :func:`decode_feed_data` returns every event of the frame
(FULL format objects are decoded too). ``"NaN"``, ``"Infinity"``, ``"-Infinity"`` and JSON
NaN / infinities are missing values (``None``), never a float NaN.

Events carry Greeks as floats (dxFeed's own units), prices and sizes as exact
:class:`~decimal.Decimal` (the shortest decimal of the JSON number), times as epoch
milliseconds (``int``), and the received field -> value mapping as ``raw``.

Symbols and positions
---------------------
:func:`streamer_symbol_to_contract` / :func:`contract_to_streamer_symbol` convert dxFeed option
symbols (``.SPY250321C580``, ``.SPXW250321P5800.5``) to and from
:class:`~riskdesk.domain.instruments.OptionContract`; :func:`streamer_symbol_to_occ` and
:func:`occ_to_streamer_symbol` do the same with OCC symbols. :func:`parse_positions` reads a
tastytrade ``GET /accounts/{account}/positions`` response into :class:`TastytradePosition`.

Examples
--------
>>> frame = '{"type":"FEED_DATA","channel":1,"data":["Greeks",[".SPY250321C580",1,0.5]]}'
>>> fields = FeedFields(configured={"Greeks": ("eventSymbol", "eventTime", "delta")})
>>> [(e.event_symbol, e.delta) for e in decode_feed_data(parse_message(frame), fields)]
[('.SPY250321C580', 0.5)]
>>> contract_to_streamer_symbol(streamer_symbol_to_contract(".SPXW250321P5800.5"))
'.SPXW250321P5800.5'

"""

from __future__ import annotations

import enum
import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar, Literal

from riskdesk.adapters.wire import WireParseError, describe
from riskdesk.domain.instruments import ExerciseStyle, OptionContract, OptionRight, Settlement
from riskdesk.domain.occ import OccSymbolError, format_occ, parse_occ

__all__ = [
    "DEFAULT_EVENT_FIELDS",
    "EVENT_TYPES",
    "AuthMessage",
    "AuthState",
    "AuthStateMessage",
    "ChannelCancelMessage",
    "ChannelClosedMessage",
    "ChannelOpenedMessage",
    "ChannelRequestMessage",
    "DataFormat",
    "DxlinkMessage",
    "DxlinkParseError",
    "ErrorMessage",
    "FeedConfigMessage",
    "FeedDataMessage",
    "FeedEvent",
    "FeedFields",
    "FeedSetupMessage",
    "FeedSubscription",
    "FeedSubscriptionMessage",
    "GreeksEvent",
    "KeepaliveMessage",
    "QuoteEvent",
    "SetupMessage",
    "SummaryEvent",
    "TastytradePosition",
    "TradeEvent",
    "contract_to_streamer_symbol",
    "decode_event_values",
    "decode_feed_data",
    "encode_compact",
    "occ_to_streamer_symbol",
    "parse_message",
    "parse_positions",
    "streamer_symbol_to_contract",
    "streamer_symbol_to_occ",
]

JsonValue = Any
"""A decoded JSON value (``json.loads`` output)."""

_MISSING_TOKENS = frozenset({"NaN", "Infinity", "-Infinity"})


class DxlinkParseError(WireParseError):
    """A DXLink frame, dxFeed event, streamer symbol or positions payload is malformed.

    Attributes
    ----------
    where : str
        What was being read (``"FEED_DATA data"``, ``"Greeks.delta"``, ``"positions[2]"``).
    problem : str
        What is wrong with it, with the offending value.

    """


# --------------------------------------------------------------------------------------------
# Scalar readers
# --------------------------------------------------------------------------------------------


def _is_missing(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return value in _MISSING_TOKENS
    return isinstance(value, float) and not math.isfinite(value)


def _read_float(value: object, where: str) -> float | None:
    if _is_missing(value):
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise DxlinkParseError(where, f"{describe(value)} is not numeric (a JSON number or NaN)")
    return float(value)


def _read_decimal(value: object, where: str) -> Decimal | None:
    if _is_missing(value):
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise DxlinkParseError(where, f"{describe(value)} is not numeric (a JSON number or NaN)")
    # repr() of a float parsed from JSON is the shortest decimal that round-trips: the wire text
    return Decimal(value) if isinstance(value, int) else Decimal(repr(value))


def _read_int(value: object, where: str) -> int | None:
    if _is_missing(value):
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise DxlinkParseError(where, f"{describe(value)} is not an integer")
    if isinstance(value, float):
        if not value.is_integer():
            raise DxlinkParseError(where, f"{describe(value)} is not an integer")
        return int(value)
    return value


def _read_str(value: object, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise DxlinkParseError(where, f"{describe(value)} is not a string")
    return value


def _read_bool(value: object, where: str) -> bool | None:
    if value is None:
        return None
    if not isinstance(value, bool):
        raise DxlinkParseError(where, f"{describe(value)} is not true or false")
    return value


def _require_str(data: Mapping[str, JsonValue], key: str, where: str) -> str:
    if key not in data:
        raise DxlinkParseError(where, f"field {key!r} is missing")
    value = _read_str(data[key], f"{where}.{key}")
    if value is None:
        raise DxlinkParseError(where, f"field {key!r} is null")
    return value


def _optional_number(data: Mapping[str, JsonValue], key: str, where: str) -> float | None:
    return _read_float(data.get(key), f"{where}.{key}")


# --------------------------------------------------------------------------------------------
# Events
# --------------------------------------------------------------------------------------------

_Kind = Literal["str", "int", "float", "decimal", "bool"]


@dataclass(frozen=True, slots=True)
class GreeksEvent:
    """A dxFeed ``Greeks`` event: option price, Black-Scholes volatility and Greeks.

    ``time``/``event_time`` are epoch milliseconds; ``price`` is exact; ``volatility`` and the
    Greeks are floats in the broker's units. A value the broker sent as NaN/Infinity, or did not
    send, is ``None``. ``raw`` is the field -> value mapping as received.
    """

    event_symbol: str
    event_time: int | None = None
    event_flags: int | None = None
    index: int | None = None
    time: int | None = None
    sequence: int | None = None
    price: Decimal | None = None
    volatility: float | None = None
    delta: float | None = None
    gamma: float | None = None
    theta: float | None = None
    rho: float | None = None
    vega: float | None = None
    raw: Mapping[str, JsonValue] = field(default_factory=dict, hash=False)

    event_type: ClassVar[str] = "Greeks"


@dataclass(frozen=True, slots=True)
class QuoteEvent:
    """A dxFeed ``Quote`` event: best bid and ask (exact prices and sizes), epoch-ms times."""

    event_symbol: str
    event_time: int | None = None
    sequence: int | None = None
    time_nano_part: int | None = None
    bid_time: int | None = None
    bid_exchange_code: str | None = None
    bid_price: Decimal | None = None
    bid_size: Decimal | None = None
    ask_time: int | None = None
    ask_exchange_code: str | None = None
    ask_price: Decimal | None = None
    ask_size: Decimal | None = None
    raw: Mapping[str, JsonValue] = field(default_factory=dict, hash=False)

    event_type: ClassVar[str] = "Quote"


@dataclass(frozen=True, slots=True)
class TradeEvent:
    """A dxFeed ``Trade`` event: last regular-hours trade and the day's volume."""

    event_symbol: str
    event_time: int | None = None
    time: int | None = None
    time_nano_part: int | None = None
    sequence: int | None = None
    exchange_code: str | None = None
    price: Decimal | None = None
    change: Decimal | None = None
    size: Decimal | None = None
    day_id: int | None = None
    day_volume: Decimal | None = None
    day_turnover: Decimal | None = None
    tick_direction: str | None = None
    extended_trading_hours: bool | None = None
    raw: Mapping[str, JsonValue] = field(default_factory=dict, hash=False)

    event_type: ClassVar[str] = "Trade"


@dataclass(frozen=True, slots=True)
class SummaryEvent:
    """A dxFeed ``Summary`` event: the session's open/high/low/close and open interest."""

    event_symbol: str
    event_time: int | None = None
    day_id: int | None = None
    day_open_price: Decimal | None = None
    day_high_price: Decimal | None = None
    day_low_price: Decimal | None = None
    day_close_price: Decimal | None = None
    day_close_price_type: str | None = None
    prev_day_id: int | None = None
    prev_day_close_price: Decimal | None = None
    prev_day_close_price_type: str | None = None
    prev_day_volume: Decimal | None = None
    open_interest: int | None = None
    raw: Mapping[str, JsonValue] = field(default_factory=dict, hash=False)

    event_type: ClassVar[str] = "Summary"


FeedEvent = GreeksEvent | QuoteEvent | TradeEvent | SummaryEvent
"""Every event type this adapter decodes."""

_SCHEMAS: dict[str, tuple[type[FeedEvent], dict[str, tuple[str, _Kind]]]] = {
    "Greeks": (
        GreeksEvent,
        {
            "eventSymbol": ("event_symbol", "str"),
            "eventTime": ("event_time", "int"),
            "eventFlags": ("event_flags", "int"),
            "index": ("index", "int"),
            "time": ("time", "int"),
            "sequence": ("sequence", "int"),
            "price": ("price", "decimal"),
            "volatility": ("volatility", "float"),
            "delta": ("delta", "float"),
            "gamma": ("gamma", "float"),
            "theta": ("theta", "float"),
            "rho": ("rho", "float"),
            "vega": ("vega", "float"),
        },
    ),
    "Quote": (
        QuoteEvent,
        {
            "eventSymbol": ("event_symbol", "str"),
            "eventTime": ("event_time", "int"),
            "sequence": ("sequence", "int"),
            "timeNanoPart": ("time_nano_part", "int"),
            "bidTime": ("bid_time", "int"),
            "bidExchangeCode": ("bid_exchange_code", "str"),
            "bidPrice": ("bid_price", "decimal"),
            "bidSize": ("bid_size", "decimal"),
            "askTime": ("ask_time", "int"),
            "askExchangeCode": ("ask_exchange_code", "str"),
            "askPrice": ("ask_price", "decimal"),
            "askSize": ("ask_size", "decimal"),
        },
    ),
    "Trade": (
        TradeEvent,
        {
            "eventSymbol": ("event_symbol", "str"),
            "eventTime": ("event_time", "int"),
            "time": ("time", "int"),
            "timeNanoPart": ("time_nano_part", "int"),
            "sequence": ("sequence", "int"),
            "exchangeCode": ("exchange_code", "str"),
            "price": ("price", "decimal"),
            "change": ("change", "decimal"),
            "size": ("size", "decimal"),
            "dayId": ("day_id", "int"),
            "dayVolume": ("day_volume", "decimal"),
            "dayTurnover": ("day_turnover", "decimal"),
            "tickDirection": ("tick_direction", "str"),
            "extendedTradingHours": ("extended_trading_hours", "bool"),
        },
    ),
    "Summary": (
        SummaryEvent,
        {
            "eventSymbol": ("event_symbol", "str"),
            "eventTime": ("event_time", "int"),
            "dayId": ("day_id", "int"),
            "dayOpenPrice": ("day_open_price", "decimal"),
            "dayHighPrice": ("day_high_price", "decimal"),
            "dayLowPrice": ("day_low_price", "decimal"),
            "dayClosePrice": ("day_close_price", "decimal"),
            "dayClosePriceType": ("day_close_price_type", "str"),
            "prevDayId": ("prev_day_id", "int"),
            "prevDayClosePrice": ("prev_day_close_price", "decimal"),
            "prevDayClosePriceType": ("prev_day_close_price_type", "str"),
            "prevDayVolume": ("prev_day_volume", "decimal"),
            "openInterest": ("open_interest", "int"),
        },
    ),
}

EVENT_TYPES: tuple[str, ...] = tuple(_SCHEMAS)
"""Event types :func:`decode_feed_data` decodes."""

DEFAULT_EVENT_FIELDS: Mapping[str, tuple[str, ...]] = {
    name: tuple(schema) for name, (_, schema) in _SCHEMAS.items()
}
"""Every known field of each event type, in the tastytrade SDK's ``acceptEventFields`` order."""

_READERS = {
    "str": _read_str,
    "int": _read_int,
    "float": _read_float,
    "decimal": _read_decimal,
    "bool": _read_bool,
}

_FAST_TYPES: dict[_Kind, type | None] = {
    "str": str,
    "int": int,
    "float": float,
    "decimal": None,
    "bool": bool,
}

_Plan = tuple[tuple[str, str, type | None, Callable[[object, str], Any], str], ...]

_PLANS: dict[str, tuple[type[FeedEvent], _Plan]] = {
    event_type: (
        cls,
        tuple(
            (name, attribute, _FAST_TYPES[kind], _READERS[kind], f"{event_type}.{name}")
            for name, (attribute, kind) in schema.items()
        ),
    )
    for event_type, (cls, schema) in _SCHEMAS.items()
}
"""Per event type: (wire name, attribute, type taken as is, reader, error location) per field."""

_ABSENT = object()


def decode_event_values(event_type: str, values: Mapping[str, JsonValue]) -> FeedEvent:
    """Decode one event from its field -> value mapping.

    Parameters
    ----------
    event_type : str
        ``Greeks``, ``Quote``, ``Trade`` or ``Summary``.
    values : Mapping[str, JsonValue]
        camelCase field names to JSON values; unknown fields (``eventType``) are kept in
        ``raw`` only, absent known fields are ``None``.

    Returns
    -------
    FeedEvent
        The typed event.

    Raises
    ------
    DxlinkParseError
        Unknown event type, missing or non-string ``eventSymbol``, a non-numeric number field.

    """
    if event_type not in _SCHEMAS:
        raise DxlinkParseError(
            "FEED_DATA event type",
            f"unknown event type {event_type!r} (decoded: {', '.join(EVENT_TYPES)})",
        )
    cls, plan = _PLANS[event_type]
    kwargs: dict[str, Any] = {}
    isfinite = math.isfinite
    for name, attribute, fast, reader, where in plan:
        value = values.get(name, _ABSENT)
        if value is _ABSENT:
            continue
        kind = type(value)
        if kind is fast and (kind is not float or isfinite(value)):
            kwargs[attribute] = value  # what the reader would return, without the checks
        else:
            kwargs[attribute] = reader(value, where)
    if kwargs.get("event_symbol") is None:
        raise DxlinkParseError(f"{event_type} event", "eventSymbol is missing or null")
    return cls(**kwargs, raw=dict(values))


@dataclass(frozen=True, slots=True)
class FeedFields:
    """The field order of each event type on one FEED channel.

    ``configured`` comes from the server's ``FEED_CONFIG`` ``eventFields``; ``accepted`` from the
    client's ``FEED_SETUP`` ``acceptEventFields`` and is used for a type the server did not
    configure. Immutable: :meth:`with_setup` and :meth:`with_config` return updated copies.
    """

    accepted: Mapping[str, tuple[str, ...]] = field(default_factory=dict, hash=False)
    configured: Mapping[str, tuple[str, ...]] = field(default_factory=dict, hash=False)

    def with_setup(self, message: FeedSetupMessage) -> FeedFields:
        """Fields after the client sent ``message`` (its acceptEventFields, merged by type)."""
        accepted = {**self.accepted, **(message.accept_event_fields or {})}
        return FeedFields(accepted=accepted, configured=self.configured)

    def with_config(self, message: FeedConfigMessage) -> FeedFields:
        """Fields after the server sent ``message`` (its eventFields, merged by type)."""
        configured = {**self.configured, **(message.event_fields or {})}
        return FeedFields(accepted=self.accepted, configured=configured)

    def fields_for(self, event_type: str) -> tuple[str, ...]:
        """Field order of ``event_type``; raises :class:`DxlinkParseError` when unknown."""
        found = self.configured.get(event_type) or self.accepted.get(event_type)
        if not found:
            raise DxlinkParseError(
                f"FEED_DATA {event_type} values",
                f"no FEED_CONFIG eventFields or FEED_SETUP acceptEventFields for {event_type!r}; "
                "COMPACT data cannot be decoded without the channel's field order",
            )
        return found


def decode_feed_data(
    message: FeedDataMessage, fields: FeedFields | Mapping[str, Sequence[str]]
) -> list[FeedEvent]:
    """Decode every event of a ``FEED_DATA`` message (COMPACT or FULL format).

    Parameters
    ----------
    message : FeedDataMessage
        The frame; COMPACT ``data`` is ``[type, [values...], type, [values...], ...]`` with the
        values of several events flattened in one array; FULL ``data`` is a list of objects each
        with an ``eventType``.
    fields : FeedFields or Mapping[str, Sequence[str]]
        The channel's field order per event type (a plain mapping is taken as configured).

    Returns
    -------
    list[FeedEvent]
        The events in frame order.

    Raises
    ------
    DxlinkParseError
        Wrong arity (values not a multiple of the field count), unknown event type, non-numeric
        value, a shape that is neither COMPACT nor FULL.

    """
    if not isinstance(fields, FeedFields):
        fields = FeedFields(configured={k: tuple(v) for k, v in fields.items()})
    data = message.data
    if not data:
        return []
    if all(isinstance(item, dict) for item in data):
        return [_decode_full(item, i) for i, item in enumerate(data)]
    if len(data) % 2 != 0:
        raise DxlinkParseError(
            "FEED_DATA data",
            f"COMPACT data alternates event type and value array, got {len(data)} items (odd)",
        )
    events: list[FeedEvent] = []
    for pair in range(0, len(data), 2):
        event_type, values = data[pair], data[pair + 1]
        if not isinstance(event_type, str):
            raise DxlinkParseError(
                "FEED_DATA data", f"item {pair} should be an event type name, got {event_type!r}"
            )
        if not isinstance(values, list):
            raise DxlinkParseError(
                "FEED_DATA data",
                f"item {pair + 1} should be the value array of {event_type}, "
                f"got {describe(values)}",
            )
        if event_type not in _SCHEMAS:
            raise DxlinkParseError(
                "FEED_DATA event type",
                f"unknown event type {event_type!r} (decoded: {', '.join(EVENT_TYPES)})",
            )
        names = fields.fields_for(event_type)
        width = len(names)
        if len(values) % width != 0:
            raise DxlinkParseError(
                f"FEED_DATA {event_type} values",
                f"wrong arity: {len(values)} values is not a multiple of the {width} fields "
                f"{list(names)}",
            )
        for start in range(0, len(values), width):
            events.append(
                decode_event_values(
                    event_type, dict(zip(names, values[start : start + width], strict=True))
                )
            )
    return events


def _decode_full(item: Mapping[str, JsonValue], position: int) -> FeedEvent:
    event_type = item.get("eventType")
    if not isinstance(event_type, str):
        raise DxlinkParseError(
            f"FEED_DATA data[{position}]", "a FULL-format event needs a string eventType"
        )
    return decode_event_values(event_type, item)


def encode_compact(
    event_type: str, names: Sequence[str], rows: Sequence[Mapping[str, Any]]
) -> list[Any]:
    """COMPACT ``data`` of ``rows`` of one type: ``[event_type, [values of row 1, row 2, ...]]``.

    A missing value or a float NaN/infinity is written ``"NaN"``/``"Infinity"``/``"-Infinity"``
    (JSON has no NaN); a Decimal is written as a JSON number.
    """
    flat: list[Any] = []
    for row in rows:
        for name in names:
            flat.append(_wire_value(row.get(name)))
    return [event_type, flat]


def _wire_value(value: object) -> object:
    if value is None:
        return "NaN"
    if isinstance(value, Decimal):
        return float(value) if value.is_finite() else "NaN"
    if isinstance(value, float) and not math.isfinite(value):
        if math.isnan(value):
            return "NaN"
        return "Infinity" if value > 0 else "-Infinity"
    return value


# --------------------------------------------------------------------------------------------
# Messages
# --------------------------------------------------------------------------------------------


class AuthState(enum.StrEnum):
    """``AUTH_STATE`` states."""

    AUTHORIZED = "AUTHORIZED"
    UNAUTHORIZED = "UNAUTHORIZED"


class DataFormat(enum.StrEnum):
    """``FEED_DATA`` formats: FULL objects or COMPACT value arrays."""

    FULL = "FULL"
    COMPACT = "COMPACT"


def _drop_none(message: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in message.items() if v is not None}


@dataclass(frozen=True, slots=True)
class SetupMessage:
    """``SETUP``: protocol version and keepalive timeouts (seconds), both directions."""

    version: str
    keepalive_timeout: float | None = None
    accept_keepalive_timeout: float | None = None
    channel: int = 0

    def to_wire(self) -> dict[str, Any]:
        """The JSON object of this message."""
        return _drop_none(
            {
                "type": "SETUP",
                "channel": self.channel,
                "keepaliveTimeout": self.keepalive_timeout,
                "acceptKeepaliveTimeout": self.accept_keepalive_timeout,
                "version": self.version,
            }
        )


@dataclass(frozen=True, slots=True)
class AuthStateMessage:
    """``AUTH_STATE``: the server's authorization state."""

    state: AuthState
    channel: int = 0

    def to_wire(self) -> dict[str, Any]:
        """The JSON object of this message."""
        return {"type": "AUTH_STATE", "channel": self.channel, "state": self.state.value}


@dataclass(frozen=True, slots=True)
class AuthMessage:
    """``AUTH``: the client's quote token."""

    token: str = field(repr=False)
    channel: int = 0

    def to_wire(self) -> dict[str, Any]:
        """The JSON object of this message."""
        return {"type": "AUTH", "channel": self.channel, "token": self.token}


@dataclass(frozen=True, slots=True)
class ChannelRequestMessage:
    """``CHANNEL_REQUEST``: the client opens ``channel`` (odd) for ``service`` (``FEED``)."""

    channel: int
    service: str
    parameters: Mapping[str, JsonValue] = field(default_factory=dict, hash=False)

    def to_wire(self) -> dict[str, Any]:
        """The JSON object of this message."""
        return {
            "type": "CHANNEL_REQUEST",
            "channel": self.channel,
            "service": self.service,
            "parameters": dict(self.parameters),
        }


@dataclass(frozen=True, slots=True)
class ChannelOpenedMessage:
    """``CHANNEL_OPENED``: the server opened ``channel``."""

    channel: int
    service: str
    parameters: Mapping[str, JsonValue] = field(default_factory=dict, hash=False)

    def to_wire(self) -> dict[str, Any]:
        """The JSON object of this message."""
        return {
            "type": "CHANNEL_OPENED",
            "channel": self.channel,
            "service": self.service,
            "parameters": dict(self.parameters),
        }


@dataclass(frozen=True, slots=True)
class ChannelCancelMessage:
    """``CHANNEL_CANCEL``: the client closes ``channel``."""

    channel: int

    def to_wire(self) -> dict[str, Any]:
        """The JSON object of this message."""
        return {"type": "CHANNEL_CANCEL", "channel": self.channel}


@dataclass(frozen=True, slots=True)
class ChannelClosedMessage:
    """``CHANNEL_CLOSED``: the server closed ``channel``."""

    channel: int

    def to_wire(self) -> dict[str, Any]:
        """The JSON object of this message."""
        return {"type": "CHANNEL_CLOSED", "channel": self.channel}


@dataclass(frozen=True, slots=True)
class FeedSetupMessage:
    """``FEED_SETUP``: the client's accepted aggregation period (s), format and fields."""

    channel: int
    accept_aggregation_period: float | None = None
    accept_data_format: DataFormat | None = None
    accept_event_fields: Mapping[str, tuple[str, ...]] | None = field(default=None, hash=False)

    def to_wire(self) -> dict[str, Any]:
        """The JSON object of this message."""
        fields = self.accept_event_fields
        return _drop_none(
            {
                "type": "FEED_SETUP",
                "channel": self.channel,
                "acceptAggregationPeriod": self.accept_aggregation_period,
                "acceptDataFormat": self.accept_data_format,
                "acceptEventFields": None
                if fields is None
                else {k: list(v) for k, v in fields.items()},
            }
        )


@dataclass(frozen=True, slots=True)
class FeedConfigMessage:
    """``FEED_CONFIG``: the server's actual aggregation period (s), format and fields."""

    channel: int
    aggregation_period: float | None = None
    data_format: DataFormat | None = None
    event_fields: Mapping[str, tuple[str, ...]] | None = field(default=None, hash=False)

    def to_wire(self) -> dict[str, Any]:
        """The JSON object of this message."""
        fields = self.event_fields
        return _drop_none(
            {
                "type": "FEED_CONFIG",
                "channel": self.channel,
                "aggregationPeriod": self.aggregation_period,
                "dataFormat": self.data_format,
                "eventFields": None if fields is None else {k: list(v) for k, v in fields.items()},
            }
        )


@dataclass(frozen=True, slots=True)
class FeedSubscription:
    """One subscription object: event ``type`` and ``symbol`` (``from_time``/``source`` optional)."""

    type: str
    symbol: str
    from_time: int | None = None
    source: str | None = None

    def to_wire(self) -> dict[str, Any]:
        """The JSON object of this subscription."""
        return _drop_none(
            {
                "type": self.type,
                "symbol": self.symbol,
                "fromTime": self.from_time,
                "source": self.source,
            }
        )


@dataclass(frozen=True, slots=True)
class FeedSubscriptionMessage:
    """``FEED_SUBSCRIPTION``: subscriptions to add and remove, or ``reset`` all."""

    channel: int
    add: tuple[FeedSubscription, ...] = ()
    remove: tuple[FeedSubscription, ...] = ()
    reset: bool = False

    def to_wire(self) -> dict[str, Any]:
        """The JSON object of this message."""
        message: dict[str, Any] = {"type": "FEED_SUBSCRIPTION", "channel": self.channel}
        if self.reset:
            message["reset"] = True
        if self.add:
            message["add"] = [s.to_wire() for s in self.add]
        if self.remove:
            message["remove"] = [s.to_wire() for s in self.remove]
        return message


@dataclass(frozen=True, slots=True)
class FeedDataMessage:
    """``FEED_DATA``: events, still encoded; decode them with :func:`decode_feed_data`."""

    channel: int
    data: tuple[JsonValue, ...]

    def to_wire(self) -> dict[str, Any]:
        """The JSON object of this message."""
        return {"type": "FEED_DATA", "channel": self.channel, "data": list(self.data)}


@dataclass(frozen=True, slots=True)
class KeepaliveMessage:
    """``KEEPALIVE``: keeps an otherwise silent connection open."""

    channel: int = 0

    def to_wire(self) -> dict[str, Any]:
        """The JSON object of this message."""
        return {"type": "KEEPALIVE", "channel": self.channel}


@dataclass(frozen=True, slots=True)
class ErrorMessage:
    """``ERROR``: ``error`` (TIMEOUT, UNAUTHORIZED, INVALID_MESSAGE, ...) and its ``message``."""

    error: str
    message: str
    channel: int = 0

    def to_wire(self) -> dict[str, Any]:
        """The JSON object of this message."""
        return {
            "type": "ERROR",
            "channel": self.channel,
            "error": self.error,
            "message": self.message,
        }


DxlinkMessage = (
    SetupMessage
    | AuthStateMessage
    | AuthMessage
    | ChannelRequestMessage
    | ChannelOpenedMessage
    | ChannelCancelMessage
    | ChannelClosedMessage
    | FeedSetupMessage
    | FeedConfigMessage
    | FeedSubscriptionMessage
    | FeedDataMessage
    | KeepaliveMessage
    | ErrorMessage
)
"""Every DXLink message :func:`parse_message` returns."""


def _event_fields(value: object, where: str) -> dict[str, tuple[str, ...]] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise DxlinkParseError(where, f"{describe(value)} is not an object of field lists")
    out: dict[str, tuple[str, ...]] = {}
    for event_type, names in value.items():
        if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
            raise DxlinkParseError(
                f"{where}.{event_type}", f"{describe(names)} is not a non-empty list of names"
            )
        if len(set(names)) != len(names):
            raise DxlinkParseError(f"{where}.{event_type}", f"{names} repeats a field name")
        out[event_type] = tuple(names)
    return out


def _data_format(value: object, where: str) -> DataFormat | None:
    if value is None:
        return None
    try:
        return DataFormat(str(value)) if isinstance(value, str) else DataFormat(repr(value))
    except ValueError:
        raise DxlinkParseError(where, f"{describe(value)} is not FULL or COMPACT") from None


def _subscriptions(value: object, where: str) -> tuple[FeedSubscription, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise DxlinkParseError(where, f"{describe(value)} is not a list of subscriptions")
    out = []
    for i, item in enumerate(value):
        item_where = f"{where}[{i}]"
        if not isinstance(item, dict):
            raise DxlinkParseError(item_where, f"{describe(item)} is not an object")
        from_time = _read_int(item.get("fromTime"), f"{item_where}.fromTime")
        out.append(
            FeedSubscription(
                type=_require_str(item, "type", item_where),
                symbol=_require_str(item, "symbol", item_where),
                from_time=from_time,
                source=_read_str(item.get("source"), f"{item_where}.source"),
            )
        )
    return tuple(out)


def _parameters(value: object, where: str) -> dict[str, JsonValue]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise DxlinkParseError(where, f"{describe(value)} is not an object")
    return dict(value)


def parse_message(raw: str | bytes | Mapping[str, JsonValue]) -> DxlinkMessage:
    """Parse one DXLink message (a WebSocket text frame or its decoded JSON object).

    Parameters
    ----------
    raw : str or bytes or Mapping
        The frame text, or the object ``json.loads`` made of it.

    Returns
    -------
    DxlinkMessage
        The typed message; ``FEED_DATA`` keeps its data encoded (see :func:`decode_feed_data`).

    Raises
    ------
    DxlinkParseError
        Not JSON, not an object, no ``type``/``channel``, unknown type, a field of the wrong type.

    """
    if isinstance(raw, str | bytes):
        try:
            decoded = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise DxlinkParseError("DXLink frame", f"not JSON ({exc})") from None
    else:
        decoded = raw
    if not isinstance(decoded, Mapping):
        raise DxlinkParseError("DXLink frame", f"{describe(decoded)} is not a JSON object")
    kind = decoded.get("type")
    if not isinstance(kind, str):
        raise DxlinkParseError("DXLink frame", f"'type' is {describe(kind)}, expected a string")
    where = kind
    channel = _read_int(decoded.get("channel"), f"{where}.channel")
    if channel is None or channel < 0:
        raise DxlinkParseError(
            where,
            f"'channel' is {describe(decoded.get('channel'))}, expected a channel number >= 0",
        )
    if kind == "SETUP":
        return SetupMessage(
            version=_require_str(decoded, "version", where),
            keepalive_timeout=_optional_number(decoded, "keepaliveTimeout", where),
            accept_keepalive_timeout=_optional_number(decoded, "acceptKeepaliveTimeout", where),
            channel=channel,
        )
    if kind == "AUTH_STATE":
        state = _require_str(decoded, "state", where)
        if state not in AuthState.__members__:
            raise DxlinkParseError(f"{where}.state", f"{state!r} is not AUTHORIZED or UNAUTHORIZED")
        return AuthStateMessage(state=AuthState(state), channel=channel)
    if kind == "AUTH":
        return AuthMessage(token=_require_str(decoded, "token", where), channel=channel)
    if kind in ("CHANNEL_REQUEST", "CHANNEL_OPENED"):
        cls = ChannelRequestMessage if kind == "CHANNEL_REQUEST" else ChannelOpenedMessage
        return cls(
            channel=channel,
            service=_require_str(decoded, "service", where),
            parameters=_parameters(decoded.get("parameters"), f"{where}.parameters"),
        )
    if kind == "CHANNEL_CANCEL":
        return ChannelCancelMessage(channel=channel)
    if kind == "CHANNEL_CLOSED":
        return ChannelClosedMessage(channel=channel)
    if kind == "FEED_SETUP":
        return FeedSetupMessage(
            channel=channel,
            accept_aggregation_period=_optional_number(decoded, "acceptAggregationPeriod", where),
            accept_data_format=_data_format(
                decoded.get("acceptDataFormat"), f"{where}.acceptDataFormat"
            ),
            accept_event_fields=_event_fields(
                decoded.get("acceptEventFields"), f"{where}.acceptEventFields"
            ),
        )
    if kind == "FEED_CONFIG":
        return FeedConfigMessage(
            channel=channel,
            aggregation_period=_optional_number(decoded, "aggregationPeriod", where),
            data_format=_data_format(decoded.get("dataFormat"), f"{where}.dataFormat"),
            event_fields=_event_fields(decoded.get("eventFields"), f"{where}.eventFields"),
        )
    if kind == "FEED_SUBSCRIPTION":
        reset = _read_bool(decoded.get("reset"), f"{where}.reset")
        return FeedSubscriptionMessage(
            channel=channel,
            add=_subscriptions(decoded.get("add"), f"{where}.add"),
            remove=_subscriptions(decoded.get("remove"), f"{where}.remove"),
            reset=bool(reset),
        )
    if kind == "FEED_DATA":
        data = decoded.get("data")
        if not isinstance(data, list):
            raise DxlinkParseError(f"{where}.data", f"{describe(data)} is not a list")
        return FeedDataMessage(channel=channel, data=tuple(data))
    if kind == "KEEPALIVE":
        return KeepaliveMessage(channel=channel)
    if kind == "ERROR":
        return ErrorMessage(
            error=_require_str(decoded, "error", where),
            message=_read_str(decoded.get("message"), f"{where}.message") or "",
            channel=channel,
        )
    raise DxlinkParseError("DXLink frame", f"unknown message type {kind!r}")


# --------------------------------------------------------------------------------------------
# Streamer symbols <-> OCC / OptionContract
# --------------------------------------------------------------------------------------------

_STREAMER_RE = re.compile(r"\.([A-Z0-9][A-Z0-9.]{0,5}?)([0-9]{6})([CP])([0-9]+(?:\.[0-9]+)?)")
_STREAMER_LAYOUT = (
    "a dxFeed option symbol is '.', the root, YYMMDD, C or P and the strike as a plain "
    "decimal, e.g. '.SPY250321C580' or '.SPXW250321P5800.5'"
)


def streamer_symbol_to_contract(
    symbol: str,
    *,
    style: ExerciseStyle = ExerciseStyle.AMERICAN,
    settlement: Settlement = Settlement.PM,
    multiplier: int = 100,
) -> OptionContract:
    """Parse a dxFeed option streamer symbol into an :class:`OptionContract`.

    The root is kept as the contract's ``underlying`` (``SPXW`` stays ``SPXW``), as
    :func:`riskdesk.domain.occ.parse_occ` does; style, settlement and multiplier are not in the
    symbol and come from the caller.

    Raises
    ------
    DxlinkParseError
        Not a dxFeed option symbol, an impossible date, a zero strike, or a strike with more
        than three decimals (not representable in OCC).

    """
    where = f"streamer symbol {symbol!r}"
    match = _STREAMER_RE.fullmatch(symbol) if isinstance(symbol, str) else None
    if match is None:
        raise DxlinkParseError(where, f"does not match the layout; {_STREAMER_LAYOUT}")
    root, yymmdd, right, strike_text = match.groups()
    try:
        expiry = date(2000 + int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:]))
    except ValueError as exc:
        raise DxlinkParseError(where, f"expiry {yymmdd!r} is not a date ({exc})") from None
    units = Decimal(strike_text) * 1000
    if units != units.to_integral_value():
        raise DxlinkParseError(where, f"strike {strike_text!r} has more than 3 decimals")
    if units <= 0:
        raise DxlinkParseError(where, f"strike {strike_text!r} must be > 0")
    return OptionContract(
        underlying=root,
        expiry=expiry,
        strike=Decimal(int(units)) / 1000,  # the same Decimal parse_occ gives
        right=OptionRight(right),
        style=style,
        settlement=settlement,
        multiplier=multiplier,
    )


def contract_to_streamer_symbol(contract: OptionContract) -> str:
    """Write ``contract`` as a dxFeed option streamer symbol (``.SPY250321C580``).

    Raises
    ------
    DxlinkParseError
        A root, expiry or strike OCC cannot represent (the symbols carry the same fields).

    """
    try:
        format_occ(contract)  # same field rules as OCC
    except OccSymbolError as exc:
        raise DxlinkParseError(f"contract {contract.key}", str(exc)) from None
    strike = format(contract.strike.normalize(), "f")
    return f".{contract.underlying}{contract.expiry:%y%m%d}{contract.right.value}{strike}"


def streamer_symbol_to_occ(symbol: str, *, padded: bool = True) -> str:
    """The OCC symbol of a dxFeed option symbol (``.SPY250321C580`` -> ``SPY   250321C00580000``)."""
    return format_occ(streamer_symbol_to_contract(symbol), padded=padded)


def occ_to_streamer_symbol(occ: str) -> str:
    """The dxFeed option symbol of an OCC symbol, padded or compact.

    Raises
    ------
    DxlinkParseError
        ``occ`` is not an OCC symbol (the message carries the OCC parser's reason).

    """
    try:
        contract = parse_occ(occ)
    except OccSymbolError as exc:
        raise DxlinkParseError(f"OCC symbol {occ!r}", str(exc)) from None
    return contract_to_streamer_symbol(contract)


# --------------------------------------------------------------------------------------------
# REST positions
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TastytradePosition:
    """One position of a tastytrade account, as ``GET /accounts/{account}/positions`` lists it.

    ``quantity`` is unsigned as tastytrade sends it, ``signed_quantity`` applies
    ``quantity_direction`` (``Long`` +, ``Short`` -, ``Zero`` 0). ``contract`` is the parsed
    OCC symbol for ``Equity Option`` positions, else ``None``. Prices are exact Decimals;
    timestamps timezone-aware UTC.
    """

    account_number: str
    symbol: str
    instrument_type: str
    underlying_symbol: str
    quantity: Decimal
    quantity_direction: str
    multiplier: Decimal
    streamer_symbol: str | None = None
    contract: OptionContract | None = None
    average_open_price: Decimal | None = None
    close_price: Decimal | None = None
    mark_price: Decimal | None = None
    expires_at: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def signed_quantity(self) -> Decimal:
        """Quantity with its direction: positive long, negative short."""
        if self.quantity_direction == "Short":
            return -self.quantity
        if self.quantity_direction == "Zero":
            return Decimal(0)
        return self.quantity


_DIRECTIONS = frozenset({"Long", "Short", "Zero"})


def _field_decimal(item: Mapping[str, JsonValue], key: str, where: str) -> Decimal | None:
    value = item.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise DxlinkParseError(f"{where}.{key}", f"{describe(value)} is not a decimal")
    try:
        result = Decimal(value) if not isinstance(value, float) else Decimal(repr(value))
    except InvalidOperation:
        raise DxlinkParseError(f"{where}.{key}", f"{value!r} is not a decimal") from None
    if not result.is_finite():
        raise DxlinkParseError(f"{where}.{key}", f"{value!r} is not a finite decimal")
    return result


def _field_datetime(item: Mapping[str, JsonValue], key: str, where: str) -> datetime | None:
    value = item.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise DxlinkParseError(f"{where}.{key}", f"{describe(value)} is not an ISO timestamp")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise DxlinkParseError(f"{where}.{key}", f"{value!r} is not an ISO timestamp") from None
    if parsed.tzinfo is None:
        raise DxlinkParseError(f"{where}.{key}", f"{value!r} has no UTC offset")
    return parsed.astimezone(UTC)


def _parse_position(item: object, where: str) -> TastytradePosition:
    if not isinstance(item, Mapping):
        raise DxlinkParseError(where, f"{describe(item)} is not an object")
    quantity = _field_decimal(item, "quantity", where)
    if quantity is None or quantity < 0:
        raise DxlinkParseError(f"{where}.quantity", f"{item.get('quantity')!r} must be >= 0")
    direction = _require_str(item, "quantity-direction", where)
    if direction not in _DIRECTIONS:
        raise DxlinkParseError(
            f"{where}.quantity-direction", f"{direction!r} is not Long, Short or Zero"
        )
    multiplier = _field_decimal(item, "multiplier", where) or Decimal(1)
    if multiplier <= 0:
        raise DxlinkParseError(f"{where}.multiplier", f"{multiplier} must be > 0")
    symbol = _require_str(item, "symbol", where)
    instrument_type = _require_str(item, "instrument-type", where)
    contract = None
    if instrument_type == "Equity Option":
        if multiplier != multiplier.to_integral_value():
            raise DxlinkParseError(f"{where}.multiplier", f"{multiplier} is not a whole number")
        try:
            contract = parse_occ(symbol.strip(), multiplier=int(multiplier))
        except (OccSymbolError, ValueError) as exc:
            raise DxlinkParseError(f"{where}.symbol", str(exc)) from None
    return TastytradePosition(
        account_number=_require_str(item, "account-number", where),
        symbol=symbol,
        instrument_type=instrument_type,
        underlying_symbol=_require_str(item, "underlying-symbol", where),
        quantity=quantity,
        quantity_direction=direction,
        multiplier=multiplier,
        streamer_symbol=_read_str(item.get("streamer-symbol"), f"{where}.streamer-symbol"),
        contract=contract,
        average_open_price=_field_decimal(item, "average-open-price", where),
        close_price=_field_decimal(item, "close-price", where),
        mark_price=_field_decimal(item, "mark-price", where),
        expires_at=_field_datetime(item, "expires-at", where),
        created_at=_field_datetime(item, "created-at", where),
        updated_at=_field_datetime(item, "updated-at", where),
    )


def parse_positions(
    payload: Mapping[str, JsonValue] | Sequence[JsonValue],
) -> list[TastytradePosition]:
    """Parse a tastytrade positions response (``{"data": {"items": [...]}}``) or its item list.

    Raises
    ------
    DxlinkParseError
        Naming the item (``positions[2].quantity``) and what is wrong with it.

    """
    items: object = payload
    if isinstance(payload, Mapping):
        data = payload.get("data")
        items = data.get("items") if isinstance(data, Mapping) else None
        if items is None:
            raise DxlinkParseError("positions", "expected {'data': {'items': [...]}}")
    if not isinstance(items, Sequence) or isinstance(items, str | bytes):
        raise DxlinkParseError("positions", f"{describe(items)} is not a list")
    return [_parse_position(item, f"positions[{i}]") for i, item in enumerate(items)]
