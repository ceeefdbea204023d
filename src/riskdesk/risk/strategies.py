"""Strategy groups detected from a book's positions, and the user's edits to them.

:func:`detect_strategies` finds the option structures a book holds (verticals, iron condors,
iron butterflies, butterflies, straddles, strangles, covered calls, protective puts, collars,
calendars and diagonals); :func:`regroup` applies a user's edit (move a position into or out
of a group); :func:`ungrouped` lists what no group uses; :func:`describe` turns a match into a
JSON-ready dict. Everything here is pure: no SQL, no I/O, no clock.

Quantity units
--------------
Legs of one strategy share the quantity unit *after the contract multiplier*: one standard
equity option (multiplier 100) covers 100 shares, so 300 shares and 2 short calls make a
covered call of ratio 2 that uses 200 shares and leaves 100 ungrouped. Option legs of one
detected strategy have the same multiplier, currency, settlement and exercise style (a mini
option is never paired with a standard one). A strategy's ``ratio`` counts option contracts
per leg weight: a 1-2-1 butterfly of ratio 3 uses 3, 6 and 3 contracts.

Detection rules
---------------
- Groups never span underlyings.
- The largest structures are matched first, in this order: iron condor, iron butterfly,
  butterfly, collar, then vertical (calls, then puts), straddle, strangle, covered call,
  protective put, calendar, diagonal. Each position's quantity is used at most once; a
  position may be used partly.
- The result does not depend on the input order: positions are sorted canonically (by
  underlying, instrument, side, id, symbol, entry) before matching, candidates are tried in
  ascending expiry and strike order, and the matches are returned sorted by underlying and
  name. Two positions equal in every field are interchangeable; which index each is reported
  under then follows their input order.
- A position whose ``strategy`` is set (the user grouped it) belongs to that group, whole, and
  is never re-detected. Such a group keeps the user's name; its type is the detected structure
  when its positions form exactly one known structure, else :attr:`StrategyType.CUSTOM`.
- With ``on`` given, options that expired before ``on`` are left out (never grouped).
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from riskdesk.domain.instruments import Instrument, OptionContract, OptionRight, Stock
from riskdesk.risk.positions import BookPosition

__all__ = [
    "StrategyLeg",
    "StrategyMatch",
    "StrategyType",
    "describe",
    "detect_strategies",
    "regroup",
    "ungrouped",
]

_CALL = OptionRight.CALL
_PUT = OptionRight.PUT


class StrategyType(enum.StrEnum):
    """The kind of structure a strategy group is (stored in ``strategy_groups.strategy_type``)."""

    VERTICAL_CALL = "VERTICAL_CALL"
    VERTICAL_PUT = "VERTICAL_PUT"
    IRON_CONDOR = "IRON_CONDOR"
    IRON_BUTTERFLY = "IRON_BUTTERFLY"
    BUTTERFLY = "BUTTERFLY"
    STRADDLE = "STRADDLE"
    STRANGLE = "STRANGLE"
    COVERED_CALL = "COVERED_CALL"
    PROTECTIVE_PUT = "PROTECTIVE_PUT"
    COLLAR = "COLLAR"
    CALENDAR = "CALENDAR"
    DIAGONAL = "DIAGONAL"
    CUSTOM = "CUSTOM"
    """A user-defined group whose positions form no single known structure."""


@dataclass(frozen=True, slots=True)
class StrategyLeg:
    """The part of one position a strategy uses.

    ``index`` is the position's index in the input sequence, ``position_id`` its stored id
    (``None`` before it is stored); ``quantity`` is signed like the position (contracts for
    options, shares for stock) and never larger in size than the position's own quantity.
    """

    index: int
    position_id: uuid.UUID | None
    quantity: Decimal

    @property
    def ref(self) -> uuid.UUID | int:
        """The position's id when it has one, else its index."""
        return self.position_id if self.position_id is not None else self.index


@dataclass(frozen=True, slots=True)
class StrategyMatch:
    """One strategy group: its type, human-readable name, legs and ratio.

    ``underlying`` is ``None`` only for a user-defined group spanning several underlyings;
    ``user_defined`` is true for a group the user made (explicit tags or :func:`regroup`).
    """

    strategy_type: StrategyType
    name: str
    legs: tuple[StrategyLeg, ...]
    ratio: Decimal
    underlying: str | None
    user_defined: bool = False

    @property
    def members(self) -> tuple[tuple[uuid.UUID | int, Decimal], ...]:
        """``(position id or index, quantity used)`` of each leg."""
        return tuple((leg.ref, leg.quantity) for leg in self.legs)


def describe(match: StrategyMatch) -> dict[str, Any]:
    """A JSON-ready dict of ``match`` (Decimals as strings, ids as strings).

    Examples
    --------
    >>> leg = StrategyLeg(index=0, position_id=None, quantity=Decimal("-2"))
    >>> m = StrategyMatch(StrategyType.CUSTOM, "hedge", (leg,), Decimal(1), "AAPL", True)
    >>> describe(m)["legs"]
    [{'index': 0, 'position_id': None, 'quantity': '-2'}]

    """
    return {
        "name": match.name,
        "strategy_type": match.strategy_type.value,
        "underlying": match.underlying,
        "ratio": str(match.ratio),
        "user_defined": match.user_defined,
        "legs": [
            {
                "index": leg.index,
                "position_id": str(leg.position_id) if leg.position_id is not None else None,
                "quantity": str(leg.quantity),
            }
            for leg in match.legs
        ],
    }


# --------------------------------------------------------------------------------------------
# Matching engine
# --------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Slot:
    """A position's still-free quantity (absolute, in the position's own units)."""

    index: int
    position: BookPosition
    free: Decimal


@dataclass(slots=True)
class _Bucket:
    """All free quantity of one instrument on one side, drawn in canonical position order."""

    instrument: Instrument
    sign: int
    slots: list[_Slot] = field(default_factory=list)

    def units(self) -> Decimal:
        """Free quantity in underlying units (contracts x multiplier, or shares)."""
        return sum((s.free * s.position.multiplier for s in self.slots), Decimal(0))

    def take(self, units: Decimal) -> list[StrategyLeg]:
        """Use ``units`` underlying units (the caller checked they are free)."""
        legs: list[StrategyLeg] = []
        left = units
        for slot in self.slots:
            if left <= 0:
                break
            mult = slot.position.multiplier
            used = min(slot.free * mult, left)
            if used <= 0:
                continue
            quantity = used / mult
            slot.free -= quantity
            left -= used
            legs.append(StrategyLeg(slot.index, slot.position.position_id, quantity * self.sign))
        return legs


_Need = tuple[_Bucket, int]
"""A bucket and the contracts (or lots of shares) it gives per strategy unit."""


@dataclass(frozen=True, slots=True)
class _Candidate:
    strategy_type: StrategyType
    name: str
    needs: tuple[_Need, ...]


def _fmt(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _strikes(*strikes: Decimal) -> str:
    return "/".join(_fmt(k) for k in strikes)


_Side = tuple[date, OptionRight, int]
"""Expiry, right and sign of a side of the option book."""

_Guard = _Need


@dataclass(slots=True)
class _Family:
    """Options of one underlying sharing multiplier, currency, settlement and style."""

    underlying: str
    lot: int
    options: dict[tuple[date, OptionRight, Decimal, int], _Bucket]
    stock: _Bucket | None
    sides: dict[_Side, list[tuple[Decimal, _Bucket]]] = field(default_factory=dict)
    expiries: list[date] = field(default_factory=list)

    def __post_init__(self) -> None:
        for (expiry, right, strike, sign), bucket in self.options.items():
            self.sides.setdefault((expiry, right, sign), []).append((strike, bucket))
        for pairs in self.sides.values():
            pairs.sort(key=lambda pair: pair[0])
        self.expiries = sorted({key[0] for key in self.options})

    def fits(self, bucket: _Bucket | None, weight: int = 1) -> bool:
        return bucket is not None and bucket.units() >= self.lot * weight

    def option(
        self, expiry: date, right: OptionRight, strike: Decimal, sign: int
    ) -> _Bucket | None:
        return self.options.get((expiry, right, strike, sign))

    def side(
        self,
        expiry: date,
        right: OptionRight,
        sign: int,
        *,
        weight: int = 1,
        above: Decimal | None = None,
        guards: tuple[_Guard, ...] = (),
    ) -> Iterator[Decimal]:
        """Strikes above ``above`` with enough free quantity, ascending.

        Stops as soon as an outer leg (``guards``) runs out: candidates are generated lazily,
        so legs used by an earlier candidate are not offered again.
        """
        for strike, bucket in self.sides.get((expiry, right, sign), ()):
            if not all(self.fits(b, w) for b, w in guards):
                return
            if (above is None or strike > above) and self.fits(bucket, weight):
                yield strike

    def guard(
        self, expiry: date, right: OptionRight, strike: Decimal, sign: int, weight: int = 1
    ) -> _Guard:
        bucket = self.option(expiry, right, strike, sign)
        assert bucket is not None, "strikes come from existing buckets"
        return (bucket, weight)

    # -- the patterns, largest first ---------------------------------------------------------

    def iron_condors(self) -> Iterator[_Candidate]:
        u = self.underlying
        for sign, label in ((1, "iron condor"), (-1, "reverse iron condor")):
            for e in self.expiries:
                for k1 in self.side(e, _PUT, sign):
                    g1 = (self.guard(e, _PUT, k1, sign),)
                    for k2 in self.side(e, _PUT, -sign, above=k1, guards=g1):
                        g2 = (*g1, self.guard(e, _PUT, k2, -sign))
                        for k3 in self.side(e, _CALL, -sign, above=k2, guards=g2):
                            g3 = (*g2, self.guard(e, _CALL, k3, -sign))
                            for k4 in self.side(e, _CALL, sign, above=k3, guards=g3):
                                yield _Candidate(
                                    StrategyType.IRON_CONDOR,
                                    f"{u} {e} {_strikes(k1, k2, k3, k4)} {label}",
                                    (*g3, self.guard(e, _CALL, k4, sign)),
                                )

    def iron_butterflies(self) -> Iterator[_Candidate]:
        u = self.underlying
        for sign, label in ((1, "iron butterfly"), (-1, "reverse iron butterfly")):
            for e in self.expiries:
                for k1 in self.side(e, _PUT, sign):
                    g1 = (self.guard(e, _PUT, k1, sign),)
                    for k2 in self.side(e, _PUT, -sign, above=k1, guards=g1):
                        if not self.fits(self.option(e, _CALL, k2, -sign)):
                            continue
                        g3 = (
                            *g1,
                            self.guard(e, _PUT, k2, -sign),
                            self.guard(e, _CALL, k2, -sign),
                        )
                        for k3 in self.side(e, _CALL, sign, above=k2, guards=g3):
                            yield _Candidate(
                                StrategyType.IRON_BUTTERFLY,
                                f"{u} {e} {_strikes(k1, k2, k3)} {label}",
                                (*g3, self.guard(e, _CALL, k3, sign)),
                            )

    def butterflies(self) -> Iterator[_Candidate]:
        u = self.underlying
        for right in (_CALL, _PUT):
            kind = "call" if right is _CALL else "put"
            for sign, side in ((1, "long"), (-1, "short")):
                for e in self.expiries:
                    for k1 in self.side(e, right, sign):
                        g1 = (self.guard(e, right, k1, sign),)
                        for k2 in self.side(e, right, -sign, weight=2, above=k1, guards=g1):
                            g2 = (*g1, self.guard(e, right, k2, -sign, 2))
                            for k3 in self.side(e, right, sign, above=k2, guards=g2):
                                yield _Candidate(
                                    StrategyType.BUTTERFLY,
                                    f"{u} {e} {_strikes(k1, k2, k3)} {side} {kind} butterfly",
                                    (*g2, self.guard(e, right, k3, sign)),
                                )

    def collars(self) -> Iterator[_Candidate]:
        if self.stock is None:
            return
        u = self.underlying
        g0 = ((self.stock, 1),)
        for e in self.expiries:
            for kp in self.side(e, _PUT, 1, guards=g0):
                g1 = (*g0, self.guard(e, _PUT, kp, 1))
                for kc in self.side(e, _CALL, -1, above=kp, guards=g1):
                    yield _Candidate(
                        StrategyType.COLLAR,
                        f"{u} {e} {_strikes(kp, kc)} collar",
                        (*g1, self.guard(e, _CALL, kc, -1)),
                    )

    def verticals(self) -> Iterator[_Candidate]:
        u = self.underlying
        labels = {
            (_CALL, 1): "bull call spread",
            (_CALL, -1): "bear call spread",
            (_PUT, 1): "bull put spread",
            (_PUT, -1): "bear put spread",
        }
        for right, kind in ((_CALL, StrategyType.VERTICAL_CALL), (_PUT, StrategyType.VERTICAL_PUT)):
            for e in self.expiries:
                for sign in (1, -1):  # sign of the lower strike's leg
                    for k1 in self.side(e, right, sign):
                        g1 = (self.guard(e, right, k1, sign),)
                        for k2 in self.side(e, right, -sign, above=k1, guards=g1):
                            yield _Candidate(
                                kind,
                                f"{u} {e} {_strikes(k1, k2)} {labels[right, sign]}",
                                (*g1, self.guard(e, right, k2, -sign)),
                            )

    def straddles(self) -> Iterator[_Candidate]:
        u = self.underlying
        for sign, side in ((1, "long"), (-1, "short")):
            for e in self.expiries:
                for k in self.side(e, _CALL, sign):
                    if self.fits(self.option(e, _PUT, k, sign)):
                        yield _Candidate(
                            StrategyType.STRADDLE,
                            f"{u} {e} {_fmt(k)} {side} straddle",
                            (self.guard(e, _PUT, k, sign), self.guard(e, _CALL, k, sign)),
                        )

    def strangles(self) -> Iterator[_Candidate]:
        u = self.underlying
        for sign, side in ((1, "long"), (-1, "short")):
            for e in self.expiries:
                for kp in self.side(e, _PUT, sign):
                    g1 = (self.guard(e, _PUT, kp, sign),)
                    for kc in self.side(e, _CALL, sign, above=kp, guards=g1):
                        yield _Candidate(
                            StrategyType.STRANGLE,
                            f"{u} {e} {_strikes(kp, kc)} {side} strangle",
                            (*g1, self.guard(e, _CALL, kc, sign)),
                        )

    def stock_with_option(self) -> Iterator[_Candidate]:
        """Covered calls, then protective puts."""
        if self.stock is None:
            return
        u = self.underlying
        g0 = ((self.stock, 1),)
        specs = (
            (_CALL, -1, StrategyType.COVERED_CALL, "covered call"),
            (_PUT, 1, StrategyType.PROTECTIVE_PUT, "protective put"),
        )
        for right, sign, kind, label in specs:
            for e in self.expiries:
                for k in self.side(e, right, sign, guards=g0):
                    yield _Candidate(
                        kind,
                        f"{u} {e} {_fmt(k)} {label}",
                        (*g0, self.guard(e, right, k, sign)),
                    )

    def time_spreads(self, *, diagonal: bool) -> Iterator[_Candidate]:
        """Calendars (same strike) or diagonals (different strikes): near vs far expiry."""
        u = self.underlying
        kind_type = StrategyType.DIAGONAL if diagonal else StrategyType.CALENDAR
        label = "diagonal" if diagonal else "calendar"
        for right in (_CALL, _PUT):
            kind = "call" if right is _CALL else "put"
            for sign, side in ((1, "long"), (-1, "short")):  # sign of the far leg
                for i, near in enumerate(self.expiries):
                    for far in self.expiries[i + 1 :]:
                        for kn in self.side(near, right, -sign):
                            g1 = (self.guard(near, right, kn, -sign),)
                            if not diagonal:
                                if self.fits(self.option(far, right, kn, sign)):
                                    yield _Candidate(
                                        kind_type,
                                        f"{u} {_fmt(kn)} {near}/{far} {side} {kind} {label}",
                                        (*g1, self.guard(far, right, kn, sign)),
                                    )
                                continue
                            for kf in self.side(far, right, sign, guards=g1):
                                if kf == kn:
                                    continue
                                yield _Candidate(
                                    kind_type,
                                    f"{u} {near} {_fmt(kn)}{right.value}/{far} "
                                    f"{_fmt(kf)}{right.value} {side} {kind} {label}",
                                    (*g1, self.guard(far, right, kf, sign)),
                                )


_PATTERNS: tuple[Callable[[_Family], Iterator[_Candidate]], ...] = (
    _Family.iron_condors,
    _Family.iron_butterflies,
    _Family.butterflies,
    _Family.collars,
    _Family.verticals,
    _Family.straddles,
    _Family.strangles,
    _Family.stock_with_option,
    lambda family: family.time_spreads(diagonal=False),
    lambda family: family.time_spreads(diagonal=True),
)


def _position_key(position: BookPosition) -> tuple[Any, ...]:
    """A total, input-order-free order over positions."""
    inst = position.instrument
    if isinstance(inst, OptionContract):
        inst_key: tuple[Any, ...] = (1, inst.expiry, inst.strike, inst.right.value, *inst.sort_key)
    else:
        inst_key = (0, date.min, Decimal(0), "", inst.key, "", inst.currency)
    return (
        position.underlying,
        inst_key,
        position.multiplier,
        1 if position.quantity > 0 else -1,
        str(position.position_id) if position.position_id is not None else "",
        position.symbol,
        position.entry_date,
        position.entry_price,
        position.quantity,
        position.tags,
    )


def _match_all(slots: Sequence[_Slot]) -> list[StrategyMatch]:
    """Greedy, largest structure first, over the free quantity of ``slots``."""
    by_underlying: dict[str, list[_Slot]] = {}
    for slot in sorted(slots, key=lambda s: (_position_key(s.position), s.index)):
        if slot.free > 0:
            by_underlying.setdefault(slot.position.underlying, []).append(slot)
    matches: list[StrategyMatch] = []
    for underlying in sorted(by_underlying):
        families = _families(underlying, by_underlying[underlying])
        for pattern in _PATTERNS:
            for family in families:
                for candidate in pattern(family):
                    match = _apply(candidate, family)
                    if match is not None:
                        matches.append(match)
    return matches


def _families(underlying: str, slots: list[_Slot]) -> list[_Family]:
    stocks: dict[tuple[Stock, int], _Bucket] = {}
    options: dict[tuple[OptionContract, int], _Bucket] = {}
    for slot in slots:
        inst = slot.position.instrument
        sign = 1 if slot.position.quantity > 0 else -1
        if isinstance(inst, OptionContract):
            options.setdefault((inst, sign), _Bucket(inst, sign)).slots.append(slot)
        else:
            stocks.setdefault((inst, sign), _Bucket(inst, sign)).slots.append(slot)
    groups: dict[tuple[int, str, str, str], dict[tuple[date, OptionRight, Decimal, int], _Bucket]]
    groups = {}
    for (contract, sign), bucket in options.items():
        family_key = (
            contract.multiplier,
            contract.currency,
            contract.settlement.value,
            contract.style.value,
        )
        groups.setdefault(family_key, {})[
            (contract.expiry, contract.right, contract.strike, sign)
        ] = bucket
    families: list[_Family] = []
    for family_key in sorted(groups):
        lot, currency = family_key[0], family_key[1]
        long_stock = sorted(
            (b for (stock, sign), b in stocks.items() if sign > 0 and stock.currency == currency),
            key=lambda b: b.instrument.key,
        )
        families.append(
            _Family(underlying, lot, groups[family_key], long_stock[0] if long_stock else None)
        )
    return families


def _apply(candidate: _Candidate, family: _Family) -> StrategyMatch | None:
    """Use as many units of ``candidate`` as all its legs allow (``None`` if not one)."""
    ratio = min(bucket.units() // (family.lot * weight) for bucket, weight in candidate.needs)
    if ratio < 1:
        return None
    legs: list[StrategyLeg] = []
    for bucket, weight in candidate.needs:
        legs.extend(bucket.take(ratio * family.lot * weight))
    return StrategyMatch(
        strategy_type=candidate.strategy_type,
        name=candidate.name,
        legs=tuple(legs),
        ratio=Decimal(ratio),
        underlying=family.underlying,
    )


# --------------------------------------------------------------------------------------------
# Public functions
# --------------------------------------------------------------------------------------------


def detect_strategies(
    positions: Sequence[BookPosition], *, on: date | None = None
) -> list[StrategyMatch]:
    """The strategy groups of a book: the user's groups as given, the rest detected.

    Parameters
    ----------
    positions
        The book. Legs refer to positions by their index here (and by ``position_id``).
    on
        When given, options that expired before this date are left out entirely.

    Returns
    -------
    list[StrategyMatch]
        The groups, sorted by underlying and name. Positions (or parts of them) that no group
        uses are *not* returned: compute them with :func:`ungrouped`.

    Examples
    --------
    >>> from riskdesk.domain.instruments import OptionContract, OptionRight
    >>> def opt(k: str, qty: int) -> BookPosition:
    ...     c = OptionContract("AAPL", date(2026, 12, 18), Decimal(k), OptionRight.CALL)
    ...     return BookPosition(f"AAPL{k}C", c, Decimal(qty), Decimal(1), date(2026, 1, 2))
    >>> [m.name for m in detect_strategies([opt("160", -2), opt("150", 2)])]
    ['AAPL 2026-12-18 150/160 bull call spread']

    """
    live = [(i, p) for i, p in enumerate(positions) if on is None or not p.expired(on)]
    tagged: dict[str, list[tuple[int, BookPosition]]] = {}
    free: list[_Slot] = []
    for i, p in live:
        if p.strategy is not None and p.strategy.strip():
            tagged.setdefault(p.strategy, []).append((i, p))
        else:
            free.append(_Slot(i, p, abs(p.quantity)))
    user = [
        _user_group(
            name, [StrategyLeg(i, p.position_id, p.quantity) for i, p in members], positions
        )
        for name, members in tagged.items()
    ]
    return _finish(user, _match_all(free))


def ungrouped(
    positions: Sequence[BookPosition],
    matches: Sequence[StrategyMatch],
    *,
    on: date | None = None,
) -> list[StrategyLeg]:
    """What of each position no group uses, in input order (signed, like the position).

    With ``on`` given, options expired before ``on`` are left out (as
    :func:`detect_strategies` leaves them out of every group).
    """
    used: dict[int, Decimal] = {}
    for match in matches:
        for leg in match.legs:
            used[leg.index] = used.get(leg.index, Decimal(0)) + abs(leg.quantity)
    rest: list[StrategyLeg] = []
    for i, p in enumerate(positions):
        if on is not None and p.expired(on):
            continue
        taken = used.get(i)
        if taken is None:  # no group touches it: all of it is left (the common case)
            if p.quantity != 0:
                rest.append(StrategyLeg(i, p.position_id, p.quantity))
            continue
        left = abs(p.quantity) - taken
        if left > 0:
            sign = 1 if p.quantity > 0 else -1
            rest.append(StrategyLeg(i, p.position_id, left * sign))
    return rest


def regroup(
    matches: Sequence[StrategyMatch],
    position: int | uuid.UUID,
    group_name: str | None,
    *,
    positions: Sequence[BookPosition],
) -> list[StrategyMatch]:
    """Apply a user's edit: move ``position`` into the group ``group_name`` or out of groups.

    Parameters
    ----------
    matches
        The current grouping (from :func:`detect_strategies` or an earlier :func:`regroup`),
        whose legs index ``positions``.
    position
        The position to move: its index in ``positions`` or its ``position_id``.
    group_name
        The group to move it into (an existing group, which becomes user-defined, or a new
        one); ``None`` takes it out of every group.
    positions
        The book the legs refer to.

    Returns
    -------
    list[StrategyMatch]
        The new grouping. Only the groups the edit touches change: the position leaves every
        group it was in (a user-defined group keeps its other members; a detected group is
        dissolved and its other members are re-detected among themselves, without the moved
        position); the target group then holds the position's whole quantity. Groups the
        edit does not touch, and positions no group used, are left as they were.

    Raises
    ------
    ValueError
        When ``position`` names no position of ``positions`` or ``group_name`` is blank.

    """
    index = _resolve(position, positions)
    if group_name is not None and not group_name.strip():
        raise ValueError("group_name must be a non-empty name, or None to ungroup the position")
    kept: list[StrategyMatch] = []
    user: list[StrategyMatch] = []
    target_legs: list[StrategyLeg] = []
    freed: list[StrategyLeg] = []
    for match in matches:
        others = [leg for leg in match.legs if leg.index != index]
        if group_name is not None and match.name == group_name:
            target_legs = others
        elif len(others) == len(match.legs):
            (user if match.user_defined else kept).append(match)
        elif match.user_defined:
            if others:
                user.append(_user_group(match.name, others, positions))
        else:
            freed.extend(others)
    if group_name is not None:
        moved = positions[index]
        legs = [*target_legs, StrategyLeg(index, moved.position_id, moved.quantity)]
        user.append(_user_group(group_name, legs, positions))
    slots = [_Slot(leg.index, positions[leg.index], abs(leg.quantity)) for leg in freed]
    return _finish(user, [*kept, *_match_all(slots)])


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _resolve(position: int | uuid.UUID, positions: Sequence[BookPosition]) -> int:
    if isinstance(position, uuid.UUID):
        for i, p in enumerate(positions):
            if p.position_id == position:
                return i
        raise ValueError(f"position {position}: no position of the book has this id")
    if isinstance(position, bool) or not 0 <= position < len(positions):
        raise ValueError(
            f"position {position!r}: index out of range for a book of {len(positions)} positions"
        )
    return position


def _user_group(
    name: str, legs: Sequence[StrategyLeg], positions: Sequence[BookPosition]
) -> StrategyMatch:
    """A user-defined group, typed by what its legs form (else CUSTOM)."""
    merged: dict[int, StrategyLeg] = {}
    for leg in legs:
        prior = merged.get(leg.index)
        quantity = leg.quantity if prior is None else prior.quantity + leg.quantity
        merged[leg.index] = StrategyLeg(leg.index, leg.position_id, quantity)
    members = sorted(
        merged.values(), key=lambda leg: (_position_key(positions[leg.index]), leg.index)
    )
    underlyings = {positions[leg.index].underlying for leg in members}
    slots = [_Slot(leg.index, positions[leg.index], abs(leg.quantity)) for leg in members]
    found = _match_all(slots)
    strategy_type, ratio = StrategyType.CUSTOM, Decimal(1)
    if len(found) == 1 and all(slot.free == 0 for slot in slots):
        strategy_type, ratio = found[0].strategy_type, found[0].ratio
    return StrategyMatch(
        strategy_type=strategy_type,
        name=name,
        legs=tuple(members),
        ratio=ratio,
        underlying=next(iter(underlyings)) if len(underlyings) == 1 else None,
        user_defined=True,
    )


def _finish(user: list[StrategyMatch], detected: list[StrategyMatch]) -> list[StrategyMatch]:
    """User groups keep their names; a detected name already taken gets ``(2)``, ``(3)``..."""
    taken = {m.name for m in user}
    named: list[StrategyMatch] = []
    for match in detected:
        name, n = match.name, 1
        while name in taken:
            n += 1
            name = f"{match.name} ({n})"
        taken.add(name)
        named.append(match if name == match.name else _renamed(match, name))
    return sorted([*user, *named], key=lambda m: (m.underlying or "", m.name))


def _renamed(match: StrategyMatch, name: str) -> StrategyMatch:
    return StrategyMatch(
        match.strategy_type, name, match.legs, match.ratio, match.underlying, match.user_defined
    )
