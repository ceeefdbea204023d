"""Trades: editable drafts and immutable, content-hashed versions (seed 000).

A :class:`TradeDraft` is the workbench's editable trade. Every operation on it (add, remove,
toggle a leg, change a quantity, price or fee, rename) bumps its monotonic ``rev``, so a store
can detect stale writes. Each draft leg carries a stable ``leg_id`` (a UUID4 string).

:meth:`TradeDraft.commit` freezes the draft into a :class:`TradeVersion`. Its ``trade_hash`` is
the :func:`~riskdesk.domain.hashing.content_hash` of::

    {"name": <name>, "legs": [<leg canonical dict>, ...]}

where each leg's canonical dict is ``{"instrument": instrument.to_dict(), "quantity",
"entry_price", "fees", "include"}`` and the legs are sorted by their canonical JSON for the
hash only. The same legs in any order therefore give the same hash (and versions with the
same hash compare equal); leg ids are not part of it. A version keeps its legs in the order
they were given, so a trade reads back the way the user entered it (a version's legs are
identified by their position in that order).

Units
-----
``quantity`` is signed (long > 0, short < 0) in contracts (options) or shares (stock).
``entry_price`` is the per-unit price (premium per share for options, as quoted), so the entry
cost of a leg is ``quantity * entry_price * multiplier``. ``fees`` is the total fee paid for the
leg, in currency (never negative). Option quantities are whole contracts. Quantities, prices
and fees are stored exactly: more than 8 decimal places, or an absolute value of 1e12 or
more, is refused (:func:`riskdesk.domain.numbers.check_amount`), never rounded.

Example:
-------
>>> from datetime import date
>>> from riskdesk.domain.instruments import OptionContract, OptionRight
>>> call = OptionContract("SPY", date(2025, 1, 17), Decimal(100), OptionRight.CALL)
>>> draft = TradeDraft(name="demo")
>>> leg_id = draft.add_leg(call, quantity=Decimal(1), entry_price=Decimal("4.00"))
>>> draft.rev
1
>>> version = draft.commit()
>>> version.legs[0].entry_cost
Decimal('400.00')

"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from riskdesk.domain.hashing import canonical_json, canonicalize, content_hash
from riskdesk.domain.instruments import Instrument, OptionContract, instrument_from_dict
from riskdesk.domain.numbers import check_amount, check_whole

__all__ = [
    "TRADE_JSON_SCHEMA",
    "DraftLeg",
    "Leg",
    "TradeDraft",
    "TradeRefType",
    "TradeVersion",
]

TradeRefType = Literal["VERSION", "DRAFT"]
"""What a trade reference points at: a committed version or a draft (``trade_ref_type``)."""

TRADE_JSON_SCHEMA = 1
"""Version of the layout written by :meth:`TradeVersion.to_json_dict`."""

_ZERO = Decimal(0)


def _as_decimal(name: str, value: Decimal | int | str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, Decimal | int | str):
        raise TypeError(
            f"{name} must be a Decimal, int or decimal string (not {type(value).__name__}); "
            "floats are refused so money never passes through binary floating point"
        )
    try:
        result = Decimal(value) if not isinstance(value, Decimal) else value
    except ArithmeticError as exc:
        raise ValueError(f"{name} must be a decimal number, got {value!r}") from exc
    if not result.is_finite():
        raise ValueError(f"{name} must be finite, got {value!r}")
    return check_amount(result, field=name)


@dataclass(frozen=True, slots=True)
class Leg:
    """One leg of a trade.

    Parameters
    ----------
    instrument
        A :class:`~riskdesk.domain.instruments.Stock` or
        :class:`~riskdesk.domain.instruments.OptionContract`.
    quantity
        Signed number of contracts or shares; never zero.
    entry_price
        Per-unit entry price (premium per share for options); ``>= 0``.
    fees
        Total fees paid for the leg, in currency; ``>= 0``.
    include
        Whether the leg counts in value, Greeks and P/L (toggled legs stay in the trade).

    """

    instrument: Instrument
    quantity: Decimal
    entry_price: Decimal
    fees: Decimal = _ZERO
    include: bool = True

    def __post_init__(self) -> None:
        quantity = _as_decimal("Leg.quantity", self.quantity)
        entry_price = _as_decimal("Leg.entry_price", self.entry_price)
        fees = _as_decimal("Leg.fees", self.fees)
        if quantity == 0:
            raise ValueError("Leg.quantity must be non-zero (signed: > 0 long, < 0 short), got 0")
        if isinstance(self.instrument, OptionContract):
            check_whole(quantity, field="Leg.quantity", what="a whole number of contracts")
        if entry_price < 0:
            raise ValueError(f"Leg.entry_price must be >= 0, got {entry_price}")
        if fees < 0:
            raise ValueError(f"Leg.fees must be >= 0, got {fees}")
        if not isinstance(self.include, bool):
            raise TypeError(f"Leg.include must be a bool, got {type(self.include).__name__}")
        object.__setattr__(self, "quantity", quantity)
        object.__setattr__(self, "entry_price", entry_price)
        object.__setattr__(self, "fees", fees)

    @property
    def multiplier(self) -> int:
        """Shares per unit of quantity (100 for US equity options, 1 for stock)."""
        return self.instrument.multiplier

    @property
    def underlying(self) -> str:
        """Underlying symbol of the leg's instrument."""
        return self.instrument.underlying

    @property
    def is_option(self) -> bool:
        """True for option legs."""
        return isinstance(self.instrument, OptionContract)

    @property
    def entry_cost(self) -> Decimal:
        """Signed cash paid at entry: ``quantity * entry_price * multiplier`` (< 0 = credit)."""
        return self.quantity * self.entry_price * self.multiplier

    @property
    def label(self) -> str:
        """Human-readable leg description, e.g. ``+1 SPY:20250117:100:C @ 4``."""
        sign = "+" if self.quantity > 0 else ""
        qty = format(self.quantity.normalize(), "f")
        price = format(self.entry_price.normalize(), "f")
        return f"{sign}{qty} {self.instrument.key} @ {price}"

    def canonical_dict(self) -> dict[str, Any]:
        """Return the dict that enters the trade hash (Decimals and instrument dict as-is)."""
        return {
            "instrument": self.instrument.to_dict(),
            "quantity": self.quantity,
            "entry_price": self.entry_price,
            "fees": self.fees,
            "include": self.include,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Leg:
        """Inverse of :meth:`canonical_dict` (also accepts its canonical-JSON form)."""
        missing = {"instrument", "quantity", "entry_price"} - set(data)
        if missing:
            raise ValueError(f"leg dict is missing {sorted(missing)}")
        include = data.get("include", True)
        if not isinstance(include, bool):
            raise ValueError(f"leg 'include' must be a JSON boolean, got {include!r}")
        return cls(
            instrument=instrument_from_dict(dict(data["instrument"])),
            quantity=_as_decimal("quantity", _decimal_input(data["quantity"])),
            entry_price=_as_decimal("entry_price", _decimal_input(data["entry_price"])),
            fees=_as_decimal("fees", _decimal_input(data.get("fees", "0"))),
            include=include,
        )

    def replace(self, **changes: Any) -> Leg:
        """Return a copy with ``changes`` applied (validated like a new leg)."""
        values: dict[str, Any] = {
            "instrument": self.instrument,
            "quantity": self.quantity,
            "entry_price": self.entry_price,
            "fees": self.fees,
            "include": self.include,
        }
        unknown = set(changes) - set(values)
        if unknown:
            raise TypeError(f"Leg has no field(s) {sorted(unknown)}")
        values.update(changes)
        return Leg(**values)


def _decimal_input(value: Any) -> Decimal | int | str:
    if isinstance(value, Decimal | int | str) and not isinstance(value, bool):
        return value
    raise ValueError(f"expected a decimal string, got {value!r} ({type(value).__name__})")


def _sort_key(leg: Leg) -> str:
    return canonical_json(leg.canonical_dict())


def _trade_hash(name: str, legs: Iterable[Leg]) -> str:
    return content_hash({"name": name, "legs": [leg.canonical_dict() for leg in legs]})


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"trade name must be a non-empty string, got {name!r}")
    return name


@dataclass(frozen=True, slots=True, eq=False)
class TradeVersion:
    """An immutable committed trade.

    ``legs`` keep the order they were given in; the hash sorts them (by canonical JSON), so
    the same legs in any order give the same ``trade_hash``, and versions compare equal (and
    hash) by ``trade_hash``.
    """

    name: str
    legs: tuple[Leg, ...]
    trade_hash: str = field(init=False)

    def __post_init__(self) -> None:
        _check_name(self.name)
        legs = tuple(self.legs)
        if not legs:
            raise ValueError("a trade version needs at least one leg")
        for leg in legs:
            if not isinstance(leg, Leg):
                raise TypeError(
                    f"TradeVersion.legs must hold Leg objects, got {type(leg).__name__}"
                )
        object.__setattr__(self, "legs", legs)
        object.__setattr__(self, "trade_hash", _trade_hash(self.name, sorted(legs, key=_sort_key)))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TradeVersion):
            return NotImplemented
        return self.trade_hash == other.trade_hash

    def __hash__(self) -> int:
        return hash(self.trade_hash)

    @property
    def underlyings(self) -> tuple[str, ...]:
        """Sorted distinct underlying symbols of all legs."""
        return tuple(sorted({leg.underlying for leg in self.legs}))

    def to_json_dict(self) -> dict[str, Any]:
        """Plain-JSON dict for storage as ``trade_json`` (Decimals as strings).

        ``TradeVersion.from_json_dict(v.to_json_dict()) == v`` and the dict is identical after
        the round trip.
        """
        return {
            "schema": TRADE_JSON_SCHEMA,
            "name": self.name,
            "trade_hash": self.trade_hash,
            "legs": [_canonical(leg.canonical_dict()) for leg in self.legs],
        }

    @classmethod
    def from_json_dict(cls, data: Mapping[str, Any]) -> TradeVersion:
        """Rebuild a version from :meth:`to_json_dict`; a stored hash must match the legs."""
        schema = data.get("schema", TRADE_JSON_SCHEMA)
        if schema != TRADE_JSON_SCHEMA:
            raise ValueError(
                f"trade_json schema {schema!r} is not supported (expected {TRADE_JSON_SCHEMA})"
            )
        if "name" not in data or "legs" not in data:
            raise ValueError("trade_json needs 'name' and 'legs'")
        legs = tuple(Leg.from_dict(item) for item in data["legs"])
        version = cls(name=data["name"], legs=legs)
        stored = data.get("trade_hash")
        if stored is not None and stored != version.trade_hash:
            raise ValueError(
                f"trade_json trade_hash {stored!r} does not match its legs "
                f"(recomputed {version.trade_hash!r}); the stored definition was altered"
            )
        return version


def _canonical(value: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = canonicalize(value)
    return result


@dataclass(frozen=True, slots=True)
class DraftLeg:
    """A draft leg: a stable ``leg_id`` (UUID4 string) and the leg itself."""

    leg_id: str
    leg: Leg


class TradeDraft:
    """An editable trade with a monotonic revision counter.

    Every mutating method validates first and only then changes state and bumps :attr:`rev`
    by one, so a failed edit leaves the draft untouched.
    """

    __slots__ = ("_legs", "_name", "_rev")

    def __init__(self, name: str, *, rev: int = 0, legs: Iterable[DraftLeg] = ()) -> None:
        self._name = _check_name(name)
        if isinstance(rev, bool) or not isinstance(rev, int) or rev < 0:
            raise ValueError(f"TradeDraft.rev must be an int >= 0, got {rev!r}")
        self._rev = rev
        self._legs: dict[str, Leg] = {}
        for item in legs:
            if item.leg_id in self._legs:
                raise ValueError(f"duplicate leg_id {item.leg_id!r} in draft")
            self._legs[_check_leg_id(item.leg_id)] = item.leg

    # -- read -----------------------------------------------------------------------------
    @property
    def name(self) -> str:
        """Trade name."""
        return self._name

    @property
    def rev(self) -> int:
        """Revision: 0 for a new draft, +1 per successful edit."""
        return self._rev

    @property
    def legs(self) -> tuple[DraftLeg, ...]:
        """Legs in insertion order."""
        return tuple(DraftLeg(leg_id, leg) for leg_id, leg in self._legs.items())

    @property
    def underlyings(self) -> tuple[str, ...]:
        """Sorted distinct underlying symbols of all legs."""
        return tuple(sorted({leg.underlying for leg in self._legs.values()}))

    def leg(self, leg_id: str) -> Leg:
        """Return the leg with ``leg_id``; KeyError naming the id when absent."""
        try:
            return self._legs[leg_id]
        except KeyError:
            raise KeyError(f"draft {self._name!r} has no leg {leg_id!r}") from None

    # -- edit -----------------------------------------------------------------------------
    def _bump(self) -> None:
        self._rev += 1

    def rename(self, name: str) -> None:
        """Change the trade name."""
        self._name = _check_name(name)
        self._bump()

    def add_leg(
        self,
        instrument: Instrument,
        *,
        quantity: Decimal | int | str,
        entry_price: Decimal | int | str,
        fees: Decimal | int | str = _ZERO,
        include: bool = True,
        leg_id: str | None = None,
    ) -> str:
        """Add a leg and return its ``leg_id`` (a new UUID4 unless given)."""
        new_id = str(uuid.uuid4()) if leg_id is None else _check_leg_id(leg_id)
        if new_id in self._legs:
            raise ValueError(f"draft {self._name!r} already has a leg {new_id!r}")
        leg = Leg(
            instrument=instrument,
            quantity=_as_decimal("quantity", quantity),
            entry_price=_as_decimal("entry_price", entry_price),
            fees=_as_decimal("fees", fees),
            include=include,
        )
        self._legs[new_id] = leg
        self._bump()
        return new_id

    def remove_leg(self, leg_id: str) -> Leg:
        """Remove a leg and return it."""
        leg = self.leg(leg_id)
        del self._legs[leg_id]
        self._bump()
        return leg

    def _update(self, leg_id: str, **changes: Any) -> Leg:
        updated = self.leg(leg_id).replace(**changes)
        self._legs[leg_id] = updated
        self._bump()
        return updated

    def toggle_leg(self, leg_id: str) -> bool:
        """Flip the leg's include flag; return the new flag."""
        return self._update(leg_id, include=not self.leg(leg_id).include).include

    def set_include(self, leg_id: str, include: bool) -> None:
        """Set the leg's include flag."""
        self._update(leg_id, include=include)

    def set_quantity(self, leg_id: str, quantity: Decimal | int | str) -> None:
        """Set the signed quantity (non-zero)."""
        self._update(leg_id, quantity=_as_decimal("quantity", quantity))

    def set_entry_price(self, leg_id: str, entry_price: Decimal | int | str) -> None:
        """Set the per-unit entry price (>= 0)."""
        self._update(leg_id, entry_price=_as_decimal("entry_price", entry_price))

    def set_fees(self, leg_id: str, fees: Decimal | int | str) -> None:
        """Set the leg's total fees (>= 0)."""
        self._update(leg_id, fees=_as_decimal("fees", fees))

    # -- freeze ---------------------------------------------------------------------------
    def commit(self) -> TradeVersion:
        """Freeze the draft into an immutable :class:`TradeVersion` (the draft is unchanged)."""
        if not self._legs:
            raise ValueError(f"draft {self._name!r} has no legs; add a leg before committing")
        return TradeVersion(name=self._name, legs=tuple(self._legs.values()))

    @classmethod
    def from_version(cls, version: TradeVersion, *, name: str | None = None) -> TradeDraft:
        """Start a new draft (rev 0, fresh leg ids) holding the legs of ``version``."""
        legs = [DraftLeg(str(uuid.uuid4()), leg) for leg in version.legs]
        return cls(version.name if name is None else name, legs=legs)

    def __repr__(self) -> str:
        return f"TradeDraft(name={self._name!r}, rev={self._rev}, legs={len(self._legs)})"


def _check_leg_id(leg_id: str) -> str:
    if not isinstance(leg_id, str) or not leg_id.strip():
        raise ValueError(f"leg_id must be a non-empty string, got {leg_id!r}")
    return leg_id
