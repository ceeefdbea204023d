"""What-if modeling: edit a copy of a book, compare its measures, size an ETF hedge (pure).

Nothing here reads a database or a clock: :mod:`riskdesk.risk.modeling` loads the book, calls
these functions and stores what they return.

Changes
-------
A :class:`Change` is one edit of a book, applied in order by :func:`apply_changes`:

- ``add``: a new position given by a ticker or an OCC option symbol, a signed quantity (not
  0) and an entry price (> 0), entered on the session's date; it has no ``position_id``. A
  book holds one open position per symbol (as an upload does): adding a symbol already held
  is refused (resize it instead).
- ``remove``: a position named by its id, or by its symbol when one position has it.
- ``resize``: a position (by id or symbol) set to a new signed quantity. Zero is refused
  (remove the position instead); so is a resize to the quantity it already has, and a resize
  that flips a long into a short (or back) unless ``allow_flip`` is set: a sign change is
  never made silently.

Comparison
----------
:func:`compare_measures` pairs two flat ``measure -> Decimal`` maps (the baseline book's and
the pro forma book's) into one :class:`MeasureChange` per measure; the change is exact
Decimal arithmetic on the reported figures, so a remove-then-re-add shows a zero change.

Hedge
-----
:func:`suggest_hedge` sizes a position in an ETF that brings the book's delta-dollars (method
``delta``), or its beta-weighted delta-dollars to that ETF (method ``beta``), to zero: one
share of the ETF adds ``price`` delta-dollars (and ``price`` beta-weighted dollars: the ETF's
beta to itself is 1), so the hedge is ``-exposure / price`` shares rounded to a whole share
(half to even). The residual ``exposure + shares x price`` is at most half a share's
delta-dollars in size.
"""

from __future__ import annotations

import enum
import math
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from riskdesk.domain.instruments import Instrument, Stock
from riskdesk.domain.occ import OccSymbolError, format_occ, parse_occ
from riskdesk.risk.positions import BookPosition

__all__ = [
    "Change",
    "ChangeKind",
    "Hedge",
    "HedgeMethod",
    "MeasureChange",
    "WhatIfError",
    "apply_changes",
    "compare_measures",
    "hedge_changes",
    "parse_symbol",
    "position_from_dict",
    "position_to_dict",
    "suggest_hedge",
]

_STOCK_RE = re.compile(r"[A-Z0-9][A-Z0-9.\-]{0,9}")
_MAX_DIGITS = 20


class WhatIfError(ValueError):
    """A change that cannot be applied to the book; the message says why and what to do."""


class ChangeKind(enum.StrEnum):
    """The edits of a modeling session."""

    ADD = "add"
    REMOVE = "remove"
    RESIZE = "resize"


class HedgeMethod(enum.StrEnum):
    """What a hedge neutralises: the book's delta-dollars or its beta-weighted delta-dollars."""

    DELTA = "delta"
    BETA = "beta"


def parse_symbol(text: str) -> tuple[str, Instrument]:
    """The canonical symbol and the instrument of a ticker or an OCC option symbol.

    Raises
    ------
    WhatIfError
        For an empty text, or one that is neither a ticker nor an OCC symbol.

    Examples
    --------
    >>> parse_symbol(" spy ")[0]
    'SPY'
    >>> parse_symbol("AAPL261218C00230000")[0]
    'AAPL261218C00230000'

    """
    clean = text.strip().upper()
    if not clean:
        raise WhatIfError("symbol is empty: give a ticker (SPY) or an OCC option symbol")
    if len(clean) > 10 or " " in clean:
        try:
            contract = parse_occ(clean)
        except OccSymbolError as exc:
            raise WhatIfError(f"symbol {clean!r}: {exc}") from exc
        return format_occ(contract, padded=False), contract
    if _STOCK_RE.fullmatch(clean) is None:
        raise WhatIfError(
            f"symbol {clean!r} is neither a stock/ETF ticker (1-10 of A-Z, 0-9, '.', '-') nor "
            "an OCC option symbol (e.g. AAPL261218C00230000)"
        )
    return clean, Stock(clean)


def _decimal(value: Decimal | int | str, *, what: str) -> Decimal:
    if isinstance(value, bool):
        raise WhatIfError(f"{what} must be a number, got {value!r}")
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise WhatIfError(f"{what} {value!r} is not a number") from exc
    if not number.is_finite():
        raise WhatIfError(f"{what} must be a finite number, got {value!r}")
    if len(number.as_tuple().digits) > _MAX_DIGITS:
        raise WhatIfError(f"{what} {value!r} has more than {_MAX_DIGITS} digits")
    return number


def _plain(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


@dataclass(frozen=True, slots=True)
class Change:
    """One edit of a book (see the module docstring for the rules of each kind).

    ``add`` uses ``symbol``, ``quantity``, ``price`` and ``tags``; ``remove`` uses
    ``position_id`` or ``symbol``; ``resize`` uses ``position_id`` or ``symbol``, ``quantity``
    and ``allow_flip``.
    """

    kind: ChangeKind
    symbol: str | None = None
    position_id: uuid.UUID | None = None
    quantity: Decimal | None = None
    price: Decimal | None = None
    tags: tuple[str, ...] = ()
    allow_flip: bool = False

    @classmethod
    def add(
        cls,
        symbol: str,
        quantity: Decimal | int | str,
        price: Decimal | int | str,
        tags: Iterable[str] = (),
    ) -> Change:
        """An ``add`` change, its symbol made canonical and its numbers checked."""
        canonical, _ = parse_symbol(symbol)
        qty = _decimal(quantity, what="quantity")
        if qty == 0:
            raise WhatIfError(f"add {canonical}: quantity must not be 0")
        cost = _decimal(price, what="price")
        if cost <= 0:
            raise WhatIfError(f"add {canonical}: price must be greater than 0, got {_plain(cost)}")
        clean_tags = tuple(dict.fromkeys(t.strip() for t in tags if t.strip()))
        return cls(ChangeKind.ADD, symbol=canonical, quantity=qty, price=cost, tags=clean_tags)

    @classmethod
    def remove(cls, *, position_id: uuid.UUID | None = None, symbol: str | None = None) -> Change:
        """A ``remove`` change of the position with ``position_id`` or ``symbol``."""
        return cls(ChangeKind.REMOVE, **_target(position_id, symbol))

    @classmethod
    def resize(
        cls,
        quantity: Decimal | int | str,
        *,
        position_id: uuid.UUID | None = None,
        symbol: str | None = None,
        allow_flip: bool = False,
    ) -> Change:
        """A ``resize`` change of the position with ``position_id`` or ``symbol``."""
        qty = _decimal(quantity, what="quantity")
        if qty == 0:
            raise WhatIfError("resize: a quantity of 0 closes the position; remove it instead")
        return cls(
            ChangeKind.RESIZE, quantity=qty, allow_flip=allow_flip, **_target(position_id, symbol)
        )

    def describe(self) -> str:
        """One line for people, e.g. ``add 100 SPY @ 600``."""
        target = self.symbol or str(self.position_id)
        if self.kind is ChangeKind.ADD:
            assert self.quantity is not None
            assert self.price is not None
            return f"add {_plain(self.quantity)} {target} @ {_plain(self.price)}"
        if self.kind is ChangeKind.REMOVE:
            return f"remove {target}"
        assert self.quantity is not None
        return f"resize {target} to {_plain(self.quantity)}"

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types (decimals as strings); :meth:`from_dict` reads it back."""
        return {
            "kind": self.kind.value,
            "symbol": self.symbol,
            "position_id": None if self.position_id is None else str(self.position_id),
            "quantity": None if self.quantity is None else _plain(self.quantity),
            "price": None if self.price is None else _plain(self.price),
            "tags": list(self.tags),
            "allow_flip": self.allow_flip,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Change:
        """The change :meth:`to_dict` wrote."""
        pid = data.get("position_id")
        qty = data.get("quantity")
        price = data.get("price")
        return cls(
            ChangeKind(data["kind"]),
            symbol=data.get("symbol"),
            position_id=None if pid is None else uuid.UUID(str(pid)),
            quantity=None if qty is None else Decimal(str(qty)),
            price=None if price is None else Decimal(str(price)),
            tags=tuple(data.get("tags") or ()),
            allow_flip=bool(data.get("allow_flip", False)),
        )


def _target(position_id: uuid.UUID | None, symbol: str | None) -> dict[str, Any]:
    if (position_id is None) == (symbol is None or not symbol.strip()):
        raise WhatIfError("name the position by its id or by its symbol (exactly one of them)")
    if position_id is not None:
        return {"position_id": position_id}
    assert symbol is not None
    return {"symbol": parse_symbol(symbol)[0]}


def _find(positions: Sequence[BookPosition], change: Change) -> int:
    if change.position_id is not None:
        for i, p in enumerate(positions):
            if p.position_id == change.position_id:
                return i
        raise WhatIfError(
            f"{change.kind.value}: the book holds no position with id {change.position_id}"
        )
    matches = [i for i, p in enumerate(positions) if p.symbol == change.symbol]
    if not matches:
        raise WhatIfError(f"{change.kind.value}: the book holds no {change.symbol} position")
    if len(matches) > 1:
        raise WhatIfError(
            f"{change.kind.value}: the book holds {len(matches)} {change.symbol} positions; "
            "name the one you mean by its id"
        )
    return matches[0]


def _apply_one(positions: list[BookPosition], change: Change, on: date) -> None:
    if change.kind is ChangeKind.ADD:
        assert change.symbol is not None
        assert change.quantity is not None
        assert change.price is not None
        held = [p for p in positions if p.symbol == change.symbol and not p.expired(on)]
        if held:
            raise WhatIfError(
                f"add: the book already holds {change.symbol} (quantity "
                f"{_plain(held[0].quantity)}): resize it instead"
            )
        symbol, instrument = parse_symbol(change.symbol)
        positions.append(
            BookPosition(
                symbol=symbol,
                instrument=instrument,
                quantity=change.quantity,
                entry_price=change.price,
                entry_date=on,
                tags=change.tags,
            )
        )
        return
    index = _find(positions, change)
    if change.kind is ChangeKind.REMOVE:
        del positions[index]
        return
    assert change.quantity is not None
    old = positions[index]
    if change.quantity == 0:
        raise WhatIfError(f"resize {old.symbol}: a quantity of 0 closes it; remove it instead")
    if change.quantity.compare(old.quantity) == 0:
        raise WhatIfError(
            f"resize {old.symbol}: it already has quantity {_plain(old.quantity)}; nothing to do"
        )
    if (change.quantity > 0) != (old.quantity > 0) and not change.allow_flip:
        raise WhatIfError(
            f"resize {old.symbol}: {_plain(old.quantity)} -> {_plain(change.quantity)} flips "
            "the position's side (long/short); allow the flip explicitly to do that"
        )
    positions[index] = replace(old, quantity=change.quantity)


def apply_changes(
    positions: Sequence[BookPosition], changes: Iterable[Change], *, on: date
) -> tuple[BookPosition, ...]:
    """The book after ``changes``, in order; the input is left as it is.

    Raises
    ------
    WhatIfError
        At the first change that cannot be applied (its message names the change).

    """
    book = list(positions)
    for change in changes:
        _apply_one(book, change, on)
    return tuple(book)


def position_to_dict(position: BookPosition) -> dict[str, Any]:
    """A position as plain JSON (what a session snapshot stores)."""
    return {
        "position_id": None if position.position_id is None else str(position.position_id),
        "symbol": position.symbol,
        "position_type": position.position_type.value,
        "quantity": _plain(position.quantity),
        "entry_price": _plain(position.entry_price),
        "entry_date": position.entry_date.isoformat(),
        "tags": list(position.tags),
    }


def position_from_dict(data: Mapping[str, Any]) -> BookPosition:
    """The position :func:`position_to_dict` wrote."""
    symbol, instrument = parse_symbol(str(data["symbol"]))
    pid = data.get("position_id")
    return BookPosition(
        symbol=symbol,
        instrument=instrument,
        quantity=Decimal(str(data["quantity"])),
        entry_price=Decimal(str(data["entry_price"])),
        entry_date=date.fromisoformat(str(data["entry_date"])),
        tags=tuple(data.get("tags") or ()),
        position_id=None if pid is None else uuid.UUID(str(pid)),
    )


# -- comparison --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MeasureChange:
    """One measure of the baseline and of the pro forma book.

    The change is None when either side has no figure.
    """

    measure: str
    baseline: Decimal | None
    pro_forma: Decimal | None

    @property
    def section(self) -> str:
        """The part of the report the measure belongs to (the text before the first dot)."""
        return self.measure.split(".", 1)[0]

    @property
    def change(self) -> Decimal | None:
        """``pro_forma - baseline`` (exact), None when either is missing."""
        if self.baseline is None or self.pro_forma is None:
            return None
        return self.pro_forma - self.baseline

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types (decimal strings)."""
        change = self.change

        def text(value: Decimal | None) -> str | None:
            return None if value is None else str(value)

        return {
            "measure": self.measure,
            "section": self.section,
            "baseline": text(self.baseline),
            "pro_forma": text(self.pro_forma),
            "change": text(change),
        }


def compare_measures(
    baseline: Mapping[str, Decimal | None], pro_forma: Mapping[str, Decimal | None]
) -> tuple[MeasureChange, ...]:
    """One :class:`MeasureChange` per measure of either map.

    The baseline's order first, then the measures only the pro forma book has (a stress
    scenario reaching a new underlying).

    Examples
    --------
    >>> [c.to_dict()["change"] for c in compare_measures(
    ...     {"net": Decimal("100.00")}, {"net": Decimal("80.50"), "new": Decimal("1")})]
    ['-19.50', None]

    """
    names = list(dict.fromkeys([*baseline, *pro_forma]))
    return tuple(MeasureChange(n, baseline.get(n), pro_forma.get(n)) for n in names)


# -- hedge -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Hedge:
    """A whole-share ETF position that brings an exposure to (about) zero.

    ``exposure`` is the book's delta-dollars (``delta``) or beta-weighted delta-dollars
    (``beta``) before the hedge; ``shares`` the signed shares to trade; ``residual`` the
    exposure after it (``exposure + shares x price``), at most ``price / 2`` in size.
    """

    method: HedgeMethod
    etf: str
    price: float
    exposure: float
    shares: int
    residual: float

    @property
    def hedge_dollars(self) -> float:
        """The hedge's own delta-dollars (``shares x price``)."""
        return self.shares * self.price

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types (money as decimal strings to the cent)."""
        return {
            "method": self.method.value,
            "etf": self.etf,
            "price": _cents(self.price),
            "exposure": _cents(self.exposure),
            "shares": self.shares,
            "side": "buy" if self.shares > 0 else "sell" if self.shares < 0 else "none",
            "hedge_dollars": _cents(self.hedge_dollars),
            "residual": _cents(self.residual),
        }


def _cents(value: float) -> str:
    return str(Decimal(repr(float(value))).quantize(Decimal("0.01")))


def suggest_hedge(
    exposure: float, *, etf: str, price: float, method: HedgeMethod | str = HedgeMethod.DELTA
) -> Hedge:
    """The whole shares of ``etf`` at ``price`` that bring ``exposure`` closest to zero.

    Parameters
    ----------
    exposure
        The book's delta-dollars (method ``delta``) or beta-weighted delta-dollars to ``etf``
        (method ``beta``).
    etf
        The hedge instrument's ticker.
    price
        Its price per share (> 0).
    method
        ``delta`` or ``beta`` (reported; the arithmetic is the same, see the module docstring).

    Raises
    ------
    WhatIfError
        For a price that is not a positive number or an exposure that is not finite.

    Examples
    --------
    >>> h = suggest_hedge(100_000.0, etf="SPY", price=600.0)
    >>> h.shares, round(h.residual, 2)
    (-167, -200.0)

    """
    kind = HedgeMethod(method)
    if not math.isfinite(price) or price <= 0:
        raise WhatIfError(f"the price of {etf} must be a positive number, got {price}")
    if not math.isfinite(exposure):
        raise WhatIfError(f"the book's exposure must be a finite number, got {exposure}")
    shares = -round(exposure / price)
    return Hedge(kind, etf, float(price), float(exposure), shares, exposure + shares * price)


def hedge_changes(
    positions: Sequence[BookPosition], hedge: Hedge, *, on: date
) -> tuple[Change, ...]:
    """The changes that put ``hedge`` on the book.

    When the book already holds the ETF's shares the holding is resized (removed when the
    hedge closes it exactly, and a flip is allowed: it is what the hedge asks); otherwise the
    shares are added at ``hedge.price``. A hedge of 0 shares changes nothing.
    """
    if hedge.shares == 0:
        return ()
    held = [p for p in positions if p.symbol == hedge.etf and not p.is_option and not p.expired(on)]
    if len(held) > 1:
        raise WhatIfError(
            f"the book holds {len(held)} {hedge.etf} positions: resize them by id instead"
        )
    price = Decimal(repr(hedge.price)).quantize(Decimal("0.0001"))
    if not held:
        return (Change.add(hedge.etf, hedge.shares, price, tags=("hedge",)),)
    current = held[0]
    target = current.quantity + hedge.shares
    ref = (
        {"position_id": current.position_id}
        if current.position_id is not None
        else {"symbol": current.symbol}
    )
    if target == 0:
        return (Change.remove(**ref),)
    return (Change.resize(target, allow_flip=True, **ref),)
