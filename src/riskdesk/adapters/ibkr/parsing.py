"""Pure parsing for IBKR (TWS / IB Gateway through ``ib_async``): contracts, Greeks, positions.

Nothing here does I/O or reads a clock: every function takes ``ib_async`` objects or the raw
fields of a TWS API message and returns typed values, or raises :class:`IbkrParseError`
naming what is wrong.

Contracts
---------
A US equity or index option at IBKR is a ``Contract`` (``secType`` ``OPT``) whose
``localSymbol`` is the padded OCC symbol (``SPY   250321C00580000``) and whose
``tradingClass`` is the OCC root (``SPXW``). :func:`ib_contract_to_contract` reads it into an
:class:`~riskdesk.domain.instruments.OptionContract` (the OCC root is the underlying, as
:func:`riskdesk.domain.occ.parse_occ` does); :func:`contract_to_ib_option` writes one back as
an ``ib_async.Option``; :func:`ib_contract_to_occ` / :func:`occ_to_ib_option` go through OCC.

Option computations
-------------------
TWS sends Greeks as ``tickOptionComputation`` (message 21: request id, tick type, tick
attribute, then implied vol, delta, option price, PV dividend, gamma, vega, theta and the
underlying price). A value TWS has not computed is a sentinel: ``-1`` for implied vol, prices
and PV dividend, ``-2`` for the Greeks, ``Double.MAX_VALUE`` (``1.7976931348623157e308``) for
"unset"; ``ib_async`` turns some of them into ``None`` but keeps ``-2`` for vega and theta.
:func:`computation_values` (from an ``OptionComputation``) and :func:`raw_computation_values`
(from the wire numbers) map every sentinel, ``None``, NaN and infinity to ``None``, so a late,
partial or empty computation gives a :class:`ComputationValues` with missing entries (an empty
one still becomes a tick: the normalizer refuses it as ``no_greeks``, counted).
:func:`decode_tick_option_computation` reads the raw message fields.

Units are TWS's, which are riskdesk's: implied vol as a fraction, vega per vol point (1%),
theta per calendar day. TWS computes no rho.

Examples
--------
>>> fields = ["21", "7", "13", "0", "0.25", "0.52", "3.1", "0", "-2", "0.19", "-0.05", "580.5"]
>>> comp = decode_tick_option_computation(fields)
>>> comp.req_id, comp.values.delta, comp.values.gamma, comp.values.underlying_price
(7, 0.52, None, 580.5)

"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from ib_async import Contract, Option, OptionComputation, Position

from riskdesk.adapters.wire import WireParseError, describe
from riskdesk.domain.instruments import ExerciseStyle, OptionContract, OptionRight, Settlement
from riskdesk.domain.occ import OccSymbolError, format_occ, parse_occ
from riskdesk.streaming.normalize import GreeksTick, PositionUpdate

__all__ = [
    "BROKER",
    "GREEK_TICK_TYPES",
    "MODEL_TICK_TYPES",
    "TICK_OPTION_COMPUTATION",
    "UNSET_DOUBLE",
    "ComputationValues",
    "IbkrParseError",
    "RawComputation",
    "computation_raw",
    "computation_values",
    "contract_to_ib_option",
    "decode_tick_option_computation",
    "greeks_tick",
    "ib_contract_to_contract",
    "ib_contract_to_occ",
    "is_option_contract",
    "occ_to_ib_option",
    "position_update",
    "raw_computation_values",
]

BROKER: Final = "ibkr"
"""The ``broker`` of every tick and position of this adapter."""

UNSET_DOUBLE: Final = sys.float_info.max
"""TWS's "unset" double (Java ``Double.MAX_VALUE``, ``1.7976931348623157e308``)."""

TICK_OPTION_COMPUTATION: Final = 21
"""Message id of ``tickOptionComputation``."""

MODEL_TICK_TYPES: Final = frozenset({13, 83})
"""Tick types of model Greeks (83: delayed)."""

GREEK_TICK_TYPES: Final[Mapping[int, str]] = {
    10: "bid",
    80: "bid",
    11: "ask",
    81: "ask",
    12: "last",
    82: "last",
    13: "model",
    83: "model",
    53: "custom",
}
"""Option-computation tick types and the price they are computed from."""

_UNSET_PRICE: Final = -1.0
_UNSET_GREEK: Final = -2.0
_COMPUTATION_FIELDS: Final = (
    "impliedVol",
    "delta",
    "optPrice",
    "pvDividend",
    "gamma",
    "vega",
    "theta",
    "undPrice",
)
_GREEK_NAMES: Final = frozenset({"delta", "gamma", "vega", "theta"})


class IbkrParseError(WireParseError):
    """An IBKR contract, position or option computation is malformed.

    Attributes
    ----------
    where : str
        What was being read (``"contract 12345"``, ``"tickOptionComputation field 5"``).
    problem : str
        What is wrong with it, with the offending value.

    """


# --------------------------------------------------------------------------------------------
# Contracts
# --------------------------------------------------------------------------------------------

_RIGHTS: Final = {"C": OptionRight.CALL, "CALL": OptionRight.CALL}
_RIGHTS_PUT: Final = {"P": OptionRight.PUT, "PUT": OptionRight.PUT}


def _contract_where(contract: Contract) -> str:
    label = contract.localSymbol or contract.symbol or "?"
    return f"contract {contract.conId or '?'} ({label.strip() or '?'})"


def is_option_contract(contract: Contract) -> bool:
    """True for an equity or index option (``secType`` ``OPT``)."""
    return contract.secType == "OPT"


def _multiplier(contract: Contract, where: str) -> int:
    text = (contract.multiplier or "").strip()
    if not text:
        return 100
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise IbkrParseError(where, f"multiplier {text!r} is not a number") from None
    if not value.is_finite() or value <= 0 or value != value.to_integral_value():
        raise IbkrParseError(where, f"multiplier {text!r} must be a whole number > 0")
    return int(value)


def _strike(value: object, where: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise IbkrParseError(where, f"strike {describe(value)} is not a number")
    try:
        strike = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    except InvalidOperation:
        raise IbkrParseError(where, f"strike {value!r} is not a number") from None
    if not strike.is_finite() or strike <= 0:
        raise IbkrParseError(where, f"strike {value!r} must be a finite number > 0")
    units = strike * 1000
    if units != units.to_integral_value():
        raise IbkrParseError(where, f"strike {value!r} has more than 3 decimals")
    return Decimal(int(units)) / 1000  # the same Decimal parse_occ gives


def _expiry(text: str, where: str) -> date:
    day = text.strip()[:8]
    if len(day) != 8 or not day.isdigit():
        raise IbkrParseError(
            where,
            f"lastTradeDateOrContractMonth {text!r} is not a YYYYMMDD date "
            "(a contract month YYYYMM cannot name one option)",
        )
    try:
        return date(int(day[:4]), int(day[4:6]), int(day[6:]))
    except ValueError as exc:
        raise IbkrParseError(where, f"expiry {day!r} is not a date ({exc})") from None


def ib_contract_to_contract(
    contract: Contract,
    *,
    style: ExerciseStyle = ExerciseStyle.AMERICAN,
    settlement: Settlement = Settlement.PM,
) -> OptionContract:
    """Read an IBKR option contract into an :class:`OptionContract`.

    The OCC ``localSymbol`` is used when it parses (its root, e.g. ``SPXW``, becomes the
    underlying); otherwise the fields: ``tradingClass`` (or ``symbol``) as the root,
    ``lastTradeDateOrContractMonth`` (``YYYYMMDD``), ``strike``, ``right`` (``C``/``CALL``/
    ``P``/``PUT``) and ``multiplier`` (100 when empty). Style and settlement are not in the
    contract and come from the caller.

    Raises
    ------
    IbkrParseError
        Not an option (``secType`` other than ``OPT``), or a missing or malformed field.

    """
    where = _contract_where(contract)
    if not is_option_contract(contract):
        raise IbkrParseError(where, f"secType {contract.secType!r} is not an option (OPT)")
    multiplier = _multiplier(contract, where)
    local = contract.localSymbol or ""
    candidate = local if len(local) == 21 else local.strip()  # padded OSI keeps its spaces
    if candidate:
        try:
            return parse_occ(candidate, style=style, settlement=settlement, multiplier=multiplier)
        except OccSymbolError:
            pass  # not an OCC local symbol (e.g. a future option): read the fields
    right_text = (contract.right or "").strip().upper()
    right = _RIGHTS.get(right_text) or _RIGHTS_PUT.get(right_text)
    if right is None:
        raise IbkrParseError(where, f"right {contract.right!r} is not C, CALL, P or PUT")
    root = (contract.tradingClass or contract.symbol or "").strip()
    if not root:
        raise IbkrParseError(where, "neither tradingClass nor symbol names the underlying")
    return OptionContract(
        underlying=root,
        expiry=_expiry(contract.lastTradeDateOrContractMonth or "", where),
        strike=_strike(contract.strike, where),
        right=right,
        style=style,
        settlement=settlement,
        multiplier=multiplier,
    )


def ib_contract_to_occ(contract: Contract, *, padded: bool = True) -> str:
    """The OCC symbol of an IBKR option contract (``SPY   250321C00580000``).

    Raises
    ------
    IbkrParseError
        As :func:`ib_contract_to_contract`, or a contract OCC cannot write.

    """
    option = ib_contract_to_contract(contract)
    try:
        return format_occ(option, padded=padded)
    except OccSymbolError as exc:
        raise IbkrParseError(_contract_where(contract), str(exc)) from None


def contract_to_ib_option(
    contract: OptionContract,
    *,
    con_id: int = 0,
    exchange: str = "SMART",
    currency: str = "USD",
) -> Option:
    """An ``ib_async.Option`` for ``contract`` (``localSymbol`` is its padded OCC symbol).

    Raises
    ------
    IbkrParseError
        A contract OCC cannot write (IBKR's ``localSymbol`` is the OCC symbol).

    """
    try:
        occ = format_occ(contract)
    except OccSymbolError as exc:
        raise IbkrParseError(f"contract {contract.key}", str(exc)) from None
    return Option(
        symbol=contract.underlying,
        lastTradeDateOrContractMonth=f"{contract.expiry:%Y%m%d}",
        strike=float(contract.strike),
        right=contract.right.value,
        exchange=exchange,
        multiplier=str(contract.multiplier),
        currency=currency,
        conId=con_id,
        localSymbol=occ,
        tradingClass=contract.underlying,
    )


def occ_to_ib_option(occ: str, *, con_id: int = 0, exchange: str = "SMART") -> Option:
    """An ``ib_async.Option`` from an OCC symbol, padded or compact.

    Raises
    ------
    IbkrParseError
        ``occ`` is not an OCC symbol (the message carries the OCC parser's reason).

    """
    try:
        contract = parse_occ(occ)
    except OccSymbolError as exc:
        raise IbkrParseError(f"OCC symbol {occ!r}", str(exc)) from None
    return contract_to_ib_option(contract, con_id=con_id, exchange=exchange)


# --------------------------------------------------------------------------------------------
# Option computations
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ComputationValues:
    """The values of one option computation; ``None`` where TWS computed nothing.

    Implied vol is a fraction; vega per vol point, theta per calendar day (TWS's units).
    """

    implied_volatility: float | None = None
    delta: float | None = None
    option_price: float | None = None
    pv_dividend: float | None = None
    gamma: float | None = None
    vega: float | None = None
    theta: float | None = None
    underlying_price: float | None = None

    @property
    def has_greek(self) -> bool:
        """True when at least one of delta, gamma, vega, theta is present."""
        return any(v is not None for v in (self.delta, self.gamma, self.vega, self.theta))

    @property
    def missing(self) -> tuple[str, ...]:
        """Names of the Greeks (delta, gamma, vega, theta) TWS left unset."""
        return tuple(
            name for name in ("delta", "gamma", "vega", "theta") if getattr(self, name) is None
        )


def _clean(value: object, name: str) -> float | None:
    """A finite float, or None for TWS's sentinels, None, NaN, infinities and non-numbers."""
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    if not math.isfinite(number) or abs(number) >= UNSET_DOUBLE:
        return None
    if name in _GREEK_NAMES:
        return None if number == _UNSET_GREEK else number
    return None if number == _UNSET_PRICE else number


def raw_computation_values(
    implied_vol: object,
    delta: object,
    opt_price: object,
    pv_dividend: object,
    gamma: object,
    vega: object,
    theta: object,
    und_price: object,
) -> ComputationValues:
    """The values of a ``tickOptionComputation`` as TWS sent them (sentinels -> ``None``).

    ``-1`` means unset for implied vol, option price, PV dividend and underlying price; ``-2``
    for delta, gamma, vega and theta; ``1.7976931348623157e308`` (and larger), NaN, infinities,
    ``None`` and non-numbers are unset everywhere.
    """
    return ComputationValues(
        implied_volatility=_clean(implied_vol, "impliedVol"),
        delta=_clean(delta, "delta"),
        option_price=_clean(opt_price, "optPrice"),
        pv_dividend=_clean(pv_dividend, "pvDividend"),
        gamma=_clean(gamma, "gamma"),
        vega=_clean(vega, "vega"),
        theta=_clean(theta, "theta"),
        underlying_price=_clean(und_price, "undPrice"),
    )


def computation_values(computation: OptionComputation) -> ComputationValues:
    """The values of an ``ib_async`` ``OptionComputation`` (sentinels it kept -> ``None``).

    ``ib_async`` 2.x maps ``-2`` to ``None`` for delta and gamma but keeps it for vega and
    theta, and keeps ``Double.MAX_VALUE``; both are treated as unset here.
    """
    return raw_computation_values(
        computation.impliedVol,
        computation.delta,
        computation.optPrice,
        computation.pvDividend,
        computation.gamma,
        computation.vega,
        computation.theta,
        computation.undPrice,
    )


@dataclass(frozen=True, slots=True)
class RawComputation:
    """A decoded ``tickOptionComputation`` message: ids, the wire numbers and clean values."""

    req_id: int
    tick_type: int
    tick_attrib: int
    wire: Mapping[str, float]
    values: ComputationValues


def _wire_float(text: object, where: str) -> float:
    if not isinstance(text, str):
        raise IbkrParseError(where, f"{describe(text)} is not a text field")
    stripped = text.strip()
    if stripped in ("", "Infinite"):
        return math.inf if stripped else UNSET_DOUBLE
    try:
        return float(stripped)
    except ValueError:
        raise IbkrParseError(where, f"{text!r} is not a number") from None


def _wire_int(text: object, where: str) -> int:
    if not isinstance(text, str) or not text.strip().lstrip("-").isdigit():
        raise IbkrParseError(where, f"{describe(text)} is not an integer")
    return int(text)


def decode_tick_option_computation(fields: Sequence[str]) -> RawComputation:
    """Decode the fields of one ``tickOptionComputation`` message (server version >= 156).

    ``fields`` are the NUL-separated texts of the message: ``"21"``, request id, tick type,
    tick attribute, implied vol, delta, option price, PV dividend, gamma, vega, theta,
    underlying price. An empty number is unset.

    Raises
    ------
    IbkrParseError
        A wrong message id, field count or a field that is not a number.

    """
    where = "tickOptionComputation"
    if isinstance(fields, str) or len(fields) != 4 + len(_COMPUTATION_FIELDS):
        count = len(fields) if not isinstance(fields, str) else "a string, not"
        raise IbkrParseError(
            where, f"expected {4 + len(_COMPUTATION_FIELDS)} fields, got {count} fields"
        )
    if fields[0] != str(TICK_OPTION_COMPUTATION):
        raise IbkrParseError(where, f"message id {fields[0]!r} is not 21")
    req_id = _wire_int(fields[1], f"{where} reqId")
    tick_type = _wire_int(fields[2], f"{where} tickType")
    tick_attrib = _wire_int(fields[3], f"{where} tickAttrib")
    wire = {
        name: _wire_float(text, f"{where} {name}")
        for name, text in zip(_COMPUTATION_FIELDS, fields[4:], strict=True)
    }
    return RawComputation(
        req_id=req_id,
        tick_type=tick_type,
        tick_attrib=tick_attrib,
        wire=wire,
        values=raw_computation_values(*(wire[name] for name in _COMPUTATION_FIELDS)),
    )


def _json_number(value: object) -> float | None:
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def computation_raw(
    *,
    req_id: int,
    tick_type: int,
    tick_attrib: int,
    wire: Mapping[str, object],
    con_id: int | None = None,
    local_symbol: str | None = None,
) -> dict[str, Any]:
    """The JSON-safe raw payload of a computation (a :class:`GreeksTick`'s ``raw``).

    ``wire`` maps the TWS field names (``impliedVol``, ``delta``, ``optPrice``, ``pvDividend``,
    ``gamma``, ``vega``, ``theta``, ``undPrice``) to the numbers as received, sentinels
    included (so the record shows what TWS sent); NaN and infinities become ``None``.
    """
    raw: dict[str, Any] = {
        "type": "tickOptionComputation",
        "reqId": int(req_id),
        "tickType": int(tick_type),
        "tickAttrib": int(tick_attrib),
    }
    if con_id is not None:
        raw["conId"] = int(con_id)
    if local_symbol is not None:
        raw["localSymbol"] = local_symbol
    for name in _COMPUTATION_FIELDS:
        raw[name] = _json_number(wire.get(name))
    return raw


def greeks_tick(
    values: ComputationValues,
    *,
    account_id: str,
    symbol: str,
    received_at: datetime,
    raw: Mapping[str, Any],
    event_time: datetime | None = None,
) -> GreeksTick:
    """A :class:`GreeksTick` of a computation's values.

    TWS stamps no event time: ``event_time`` defaults to ``received_at``. Rho is always
    missing (TWS does not compute it).
    """
    return GreeksTick(
        broker=BROKER,
        account_id=account_id,
        symbol=symbol,
        event_time=event_time if event_time is not None else received_at,
        received_at=received_at,
        delta=values.delta,
        gamma=values.gamma,
        theta=values.theta,
        vega=values.vega,
        rho=None,
        implied_volatility=values.implied_volatility,
        underlying_price=values.underlying_price,
        raw=dict(raw),
    )


# --------------------------------------------------------------------------------------------
# Positions
# --------------------------------------------------------------------------------------------


def position_update(position: Position, *, event_time: datetime) -> PositionUpdate:
    """A :class:`PositionUpdate` of an ``ib_async`` ``Position`` of an option.

    The symbol is the contract key (``SPY:20250321:580:C``); the quantity is signed (short
    negative) and exact (the shortest decimal of TWS's number).

    Raises
    ------
    IbkrParseError
        Not an option, a malformed contract, or a non-finite quantity.

    """
    contract = ib_contract_to_contract(position.contract)
    quantity_value = position.position
    if (
        isinstance(quantity_value, bool)
        or not isinstance(quantity_value, int | float)
        or not math.isfinite(float(quantity_value))
    ):
        raise IbkrParseError(
            _contract_where(position.contract),
            f"position {describe(quantity_value)} is not a finite number",
        )
    quantity = (
        Decimal(repr(quantity_value))
        if isinstance(quantity_value, float)
        else Decimal(quantity_value)
    )
    return PositionUpdate(
        broker=BROKER,
        account_id=position.account,
        symbol=contract.key,
        quantity=quantity.normalize() if quantity != 0 else Decimal(0),
        event_time=event_time,
    )
