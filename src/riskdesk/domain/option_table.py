"""Option quotes held column by column: a full-market chain without a Python object per quote.

A full-market end-of-day chain is about 1.5 million option quotes. As
:class:`~riskdesk.domain.market.OptionQuote` objects (a contract, four :class:`~decimal.Decimal`
amounts and two timestamps each) that is over a gigabyte and tens of seconds of construction;
as Arrow columns it is about 150 MB and checks in a few hundred milliseconds.

:class:`OptionTable` is a read-only :class:`~collections.abc.Sequence` of ``OptionQuote`` over a
:mod:`pyarrow` table of :data:`OPTION_SCHEMA`, so every caller that iterates
``snapshot.options`` keeps working (quotes are built on access, a chunk at a time), while bulk
paths (import, the snapshot hash, the store, diagnostics) work on :attr:`OptionTable.arrow`.

The table enforces, column-wise, every rule an ``OptionQuote`` enforces one by one
(:func:`check_option_columns`): amounts are ``decimal128(20, 8)``, which is exactly the store's
``NUMERIC(20, 8)`` (below ``1e12``, at most 8 places), strikes and multipliers positive,
rights, styles and settlements from their enums, IVs finite, counts non-negative, timestamps
UTC, and at most one quote per contract (:func:`~riskdesk.domain.market.contract_identity`).
A quote built from the table therefore needs no second check (:func:`_trusted_quote`).

Amounts come back with the column's 8 decimal places (``Decimal("1.50000000")``): equal to
the value stored and hashed alike (canonical JSON drops trailing zeros), as a stored snapshot
loads today. A negative zero amount is stored as zero.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, overload

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from riskdesk.domain.instruments import (
    MAX_MULTIPLIER,
    ExerciseStyle,
    OptionContract,
    OptionRight,
    Settlement,
)

if TYPE_CHECKING:
    from riskdesk.domain.market import OptionQuote

__all__ = [
    "AMOUNT_TYPE",
    "IDENTITY_COLUMNS",
    "OPTION_SCHEMA",
    "OptionTable",
    "check_option_columns",
    "contract_at",
    "identity_keys",
    "quote_columns",
    "repeats",
]

AMOUNT_TYPE = pa.decimal128(20, 8)
"""Strikes and prices: exactly the store's ``NUMERIC(20, 8)``."""

_TIMESTAMP = pa.timestamp("us", tz="UTC")

OPTION_SCHEMA = pa.schema(
    [
        pa.field("underlying", pa.string(), nullable=False),
        pa.field("expiry", pa.date32(), nullable=False),
        pa.field("strike", AMOUNT_TYPE, nullable=False),
        pa.field("right", pa.string(), nullable=False),
        pa.field("style", pa.string(), nullable=False),
        pa.field("settlement", pa.string(), nullable=False),
        pa.field("multiplier", pa.int32(), nullable=False),
        pa.field("currency", pa.string(), nullable=False),
        pa.field("bid", AMOUNT_TYPE),
        pa.field("ask", AMOUNT_TYPE),
        pa.field("mark", AMOUNT_TYPE),
        pa.field("iv", pa.float64()),
        pa.field("volume", pa.int64()),
        pa.field("open_interest", pa.int64()),
        pa.field("provider_timestamp", _TIMESTAMP, nullable=False),
        pa.field("receive_timestamp", _TIMESTAMP, nullable=False),
    ]
)
"""Columns of an :class:`OptionTable`, in this order (a contract's fields, then the quote's)."""

IDENTITY_COLUMNS: tuple[str, ...] = (
    "underlying",
    "expiry",
    "strike",
    "right",
    "settlement",
    "multiplier",
    "style",
    "currency",
)
"""The columns of :func:`~riskdesk.domain.market.contract_identity`, in its order."""

_ENUMS: dict[str, tuple[str, ...]] = {
    "right": tuple(r.value for r in OptionRight),
    "style": tuple(s.value for s in ExerciseStyle),
    "settlement": tuple(s.value for s in Settlement),
}

_CHUNK = 8192
"""Rows converted to Python values at a time when the table is iterated."""


def _first_row(mask: pa.ChunkedArray | pa.Array) -> int | None:
    """Index of the first true (non-null) value of ``mask``, or None."""
    filled = pc.fill_null(mask, False)
    if not pc.any(filled).as_py():
        return None
    return int(pc.index(filled, True).as_py())


def _refuse(table: pa.Table, row: int, column: str, reason: str) -> ValueError:
    value = table.column(column)[row].as_py()
    key = _row_key(table, row)
    return ValueError(f"{key}.{column} {value!r}: {reason} (option row {row})")


def _row_key(table: pa.Table, row: int) -> str:
    try:
        return _contract(table, row).key
    except (ValueError, KeyError, TypeError):
        return f"option row {row} ({table.column('underlying')[row].as_py()!r})"


def _contract(table: pa.Table, row: int) -> OptionContract:
    values = {name: table.column(name)[row].as_py() for name in IDENTITY_COLUMNS}
    return OptionContract(
        underlying=values["underlying"],
        expiry=values["expiry"],
        strike=values["strike"],
        right=OptionRight(values["right"]),
        style=ExerciseStyle(values["style"]),
        settlement=Settlement(values["settlement"]),
        multiplier=values["multiplier"],
        currency=values["currency"],
    )


def check_option_columns(table: pa.Table) -> pa.Table:
    """``table`` in :data:`OPTION_SCHEMA` if every row is a valid, distinct option quote.

    The table's columns must have the schema's names and types (in any order; nothing
    else is converted, so no value is silently changed). Raises ValueError naming the first
    offending row's contract, the column, the value and the rule, the way a single
    ``OptionQuote`` would refuse it.
    """
    names = set(table.column_names)
    wanted = set(OPTION_SCHEMA.names)
    if names != wanted:
        raise ValueError(
            f"option columns must be exactly {sorted(wanted)}: missing {sorted(wanted - names)}, "
            f"unexpected {sorted(names - wanted)}"
        )
    table = table.select(OPTION_SCHEMA.names)
    for field in OPTION_SCHEMA:
        column = table.column(field.name)
        if column.type != field.type:
            raise ValueError(f"option column {field.name} must be {field.type}, got {column.type}")
        if not field.nullable and column.null_count:
            row = _first_row(pc.is_null(column))
            raise ValueError(f"option column {field.name} has a missing value (option row {row})")
    table = table.cast(OPTION_SCHEMA)  # the same types: only the nullability flags
    if len(table) == 0:
        return table
    underlying = table.column("underlying")
    blank = pc.equal(pc.utf8_length(pc.utf8_trim_whitespace(underlying)), 0)
    if (row := _first_row(blank)) is not None:
        raise ValueError(f"option row {row}: the underlying must be a non-empty ticker")
    checks: list[tuple[str, Any, str]] = [
        (
            "strike",
            pc.less_equal(table.column("strike"), pa.scalar(Decimal(0), AMOUNT_TYPE)),
            "must be > 0",
        ),
        (
            "multiplier",
            pc.or_(
                pc.less(table.column("multiplier"), 1),
                pc.greater(table.column("multiplier"), MAX_MULTIPLIER),
            ),
            f"must be a whole number in [1, {MAX_MULTIPLIER}]",
        ),
        ("iv", pc.invert(pc.is_finite(table.column("iv"))), "must be finite"),
        ("volume", pc.less(table.column("volume"), 0), "must be >= 0"),
        ("open_interest", pc.less(table.column("open_interest"), 0), "must be >= 0"),
    ]
    for column_name, allowed in _ENUMS.items():
        checks.append(
            (
                column_name,
                pc.invert(pc.is_in(table.column(column_name), pa.array(allowed))),
                f"must be one of {', '.join(allowed)}",
            )
        )
    for column_name, bad, reason in checks:
        if (row := _first_row(bad)) is not None:
            raise _refuse(table, row, column_name, reason)
    _check_distinct(table)
    return table


def _check_distinct(table: pa.Table) -> None:
    """ValueError naming a contract quoted twice (decimal strikes compare by value).

    A table already in contract order with no repeat (an import's) is confirmed by comparing
    neighbours; any other is sorted on :func:`identity_keys` first.
    """
    keys = identity_keys(table)
    if keys is None:
        counts = (
            table.select(list(IDENTITY_COLUMNS))
            .group_by(list(IDENTITY_COLUMNS))
            .aggregate([([], "count_all")])
        )
        repeated = counts.filter(pc.greater(counts.column("count_all"), 1))
        if len(repeated) == 0:
            return
        contract = _contract(repeated, 0)
    else:
        if len(table) < 2 or _increasing(keys).all():
            return
        order = np.lexsort(keys[::-1])
        repeat = repeats([key[order] for key in keys])
        if not repeat.any():
            return
        contract = _contract(table, int(order[int(np.argmax(repeat))]))
    from riskdesk.domain.market import describe_contract

    raise ValueError(
        f"duplicate option quote in snapshot for contract {describe_contract(contract)}: a "
        "snapshot holds one quote per contract"
    )


def _increasing(keys: Sequence[npt.NDArray[np.int64]]) -> npt.NDArray[np.bool_]:
    """For each pair of neighbouring rows, whether the second's keys are strictly greater."""
    n = len(keys[0])
    less = np.zeros(max(n - 1, 0), dtype=np.bool_)
    equal = np.ones(max(n - 1, 0), dtype=np.bool_)
    for key in keys:
        less |= equal & (key[:-1] < key[1:])
        equal &= key[:-1] == key[1:]
    return less


def repeats(keys: Sequence[npt.NDArray[np.int64]]) -> npt.NDArray[np.bool_]:
    """Rows (of key arrays sorted together) whose keys all equal the previous row's."""
    n = len(keys[0]) if keys else 0
    same = np.zeros(n, dtype=np.bool_)
    if n < 2:
        return same
    equal = np.ones(n - 1, dtype=np.bool_)
    for key in keys:
        equal &= key[:-1] == key[1:]
    same[1:] = equal
    return same


def _scaled_amounts(column: pa.ChunkedArray | pa.Array) -> npt.NDArray[np.int64] | None:
    """A ``decimal128(20, 8)`` column without nulls as integers of 1e-8, or None if too large."""
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    n = len(array)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    words = np.frombuffer(array.buffers()[1], dtype=np.int64)
    words = words[2 * array.offset : 2 * (array.offset + n)].reshape(n, 2)
    low, high = words[:, 0], words[:, 1]
    if not (high == (low >> 63)).all():
        return None
    return low.copy()


def _ranks(column: pa.ChunkedArray | pa.Array) -> npt.NDArray[np.int64]:
    """Each string's rank among the column's distinct strings (Python's string order)."""
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    encoded = pc.dictionary_encode(array)
    values: list[str] = encoded.dictionary.to_pylist()
    rank = np.empty(len(values), dtype=np.int64)
    rank[sorted(range(len(values)), key=values.__getitem__)] = np.arange(len(values))
    indices = np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
    result: npt.NDArray[np.int64] = rank[indices]
    return result


def identity_keys(table: pa.Table) -> list[npt.NDArray[np.int64]] | None:
    """Integer keys of :data:`IDENTITY_COLUMNS`, ordering rows as ``contract_identity`` does.

    Two rows have equal keys exactly when their contracts are the same; sorting on the keys
    (first key first) sorts by contract identity. None when a strike is too large for a
    64-bit integer of 1e-8 (then sort the Arrow columns themselves).
    """
    keys: list[npt.NDArray[np.int64]] = []
    for name in IDENTITY_COLUMNS:
        column = table.column(name)
        if name == "strike":
            strikes = _scaled_amounts(column)
            if strikes is None:
                return None
            keys.append(strikes)
        elif name == "expiry":
            keys.append(pc.cast(column, pa.int32()).to_numpy().astype(np.int64))
        elif name == "multiplier":
            keys.append(column.to_numpy().astype(np.int64))
        else:
            keys.append(_ranks(column))
    return keys


def quote_columns(quotes: Iterable[OptionQuote]) -> pa.Table:
    """``quotes`` as a table of :data:`OPTION_SCHEMA`, in order, NOT checked.

    Each quote is already checked by ``OptionQuote``; the rules across quotes (one quote per
    contract) are left to :func:`check_option_columns`. Raises ValueError when an amount has
    a value ``decimal128(20, 8)`` cannot hold exactly, which an ``OptionQuote`` already refuses.
    """
    rows = list(quotes)
    columns: dict[str, list[Any]] = {
        "underlying": [q.contract.underlying for q in rows],
        "expiry": [q.contract.expiry for q in rows],
        "strike": [q.contract.strike for q in rows],
        "right": [q.contract.right.value for q in rows],
        "style": [q.contract.style.value for q in rows],
        "settlement": [q.contract.settlement.value for q in rows],
        "multiplier": [q.contract.multiplier for q in rows],
        "currency": [q.contract.currency for q in rows],
        "bid": [q.bid for q in rows],
        "ask": [q.ask for q in rows],
        "mark": [q.mark for q in rows],
        "iv": [q.iv for q in rows],
        "volume": [q.volume for q in rows],
        "open_interest": [q.open_interest for q in rows],
        "provider_timestamp": [q.provider_timestamp for q in rows],
        "receive_timestamp": [q.receive_timestamp for q in rows],
    }
    try:
        arrays = [pa.array(columns[field.name], type=field.type) for field in OPTION_SCHEMA]
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError) as exc:
        raise ValueError(f"option quotes do not fit the option columns: {exc}") from exc
    return pa.Table.from_arrays(arrays, schema=OPTION_SCHEMA)


def contract_at(table: pa.Table, row: int) -> OptionContract:
    """The contract of row ``row`` of a table holding the :data:`IDENTITY_COLUMNS`."""
    return _contract(table, row)


def _trusted_quote(
    contract: OptionContract,
    bid: Decimal | None,
    ask: Decimal | None,
    mark: Decimal | None,
    iv: float | None,
    provider_timestamp: datetime,
    receive_timestamp: datetime,
    volume: int | None,
    open_interest: int | None,
) -> OptionQuote:
    """An ``OptionQuote`` of values :func:`check_option_columns` has already checked."""
    from riskdesk.domain.market import OptionQuote

    quote = object.__new__(OptionQuote)
    setter = object.__setattr__
    setter(quote, "contract", contract)
    setter(quote, "bid", bid)
    setter(quote, "ask", ask)
    setter(quote, "mark", mark)
    setter(quote, "iv", iv)
    setter(quote, "provider_timestamp", provider_timestamp)
    setter(quote, "receive_timestamp", receive_timestamp)
    setter(quote, "volume", volume)
    setter(quote, "open_interest", open_interest)
    return quote


def _trusted_contract(
    underlying: str,
    expiry: date,
    strike: Decimal,
    right: OptionRight,
    style: ExerciseStyle,
    settlement: Settlement,
    multiplier: int,
    currency: str,
) -> OptionContract:
    contract = object.__new__(OptionContract)
    setter = object.__setattr__
    setter(contract, "underlying", underlying)
    setter(contract, "expiry", expiry)
    setter(contract, "strike", strike)
    setter(contract, "right", right)
    setter(contract, "style", style)
    setter(contract, "settlement", settlement)
    setter(contract, "multiplier", multiplier)
    setter(contract, "currency", currency)
    return contract


_RIGHTS = {r.value: r for r in OptionRight}
_STYLES = {s.value: s for s in ExerciseStyle}
_SETTLEMENTS = {s.value: s for s in Settlement}


def _utc(value: datetime) -> datetime:
    # pyarrow gives a fixed-offset UTC tzinfo; the domain uses datetime.UTC everywhere
    return value.replace(tzinfo=UTC)


def _quotes(table: pa.Table) -> list[OptionQuote]:
    """Every row of a checked ``table`` as an ``OptionQuote`` (the table is a small chunk)."""
    cols = {name: table.column(name).to_pylist() for name in OPTION_SCHEMA.names}
    stamps: dict[datetime, datetime] = {}

    def stamp(value: datetime) -> datetime:
        out = stamps.get(value)
        if out is None:
            out = stamps[value] = _utc(value)
        return out

    out: list[OptionQuote] = []
    for i in range(len(table)):
        contract = _trusted_contract(
            cols["underlying"][i],
            cols["expiry"][i],
            cols["strike"][i],
            _RIGHTS[cols["right"][i]],
            _STYLES[cols["style"][i]],
            _SETTLEMENTS[cols["settlement"][i]],
            cols["multiplier"][i],
            cols["currency"][i],
        )
        out.append(
            _trusted_quote(
                contract,
                cols["bid"][i],
                cols["ask"][i],
                cols["mark"][i],
                cols["iv"][i],
                stamp(cols["provider_timestamp"][i]),
                stamp(cols["receive_timestamp"][i]),
                cols["volume"][i],
                cols["open_interest"][i],
            )
        )
    return out


class OptionTable(Sequence["OptionQuote"]):
    """Option quotes of one snapshot, column-wise (a read-only sequence of ``OptionQuote``).

    Build it from checked Arrow columns (:meth:`from_arrow`) or from quote objects
    (:meth:`from_quotes`). Indexing and iteration build ``OptionQuote`` objects on demand;
    :attr:`arrow` gives the columns for bulk work. Two tables are equal when their rows are
    equal in order; a table also equals a tuple or list of the same quotes.
    """

    __slots__ = ("_table",)

    def __init__(self, table: pa.Table) -> None:
        self._table = check_option_columns(table)

    @classmethod
    def from_arrow(cls, table: pa.Table) -> OptionTable:
        """A table of ``table``'s columns (checked: see :func:`check_option_columns`)."""
        return cls(table)

    @classmethod
    def from_quotes(cls, quotes: Iterable[OptionQuote]) -> OptionTable:
        """A table holding ``quotes`` in order (each already checked by ``OptionQuote``).

        Raises ValueError when an amount has a value ``decimal128(20, 8)`` cannot hold
        exactly, which an ``OptionQuote`` already refuses.
        """
        return cls(quote_columns(quotes))

    @property
    def arrow(self) -> pa.Table:
        """The checked columns (:data:`OPTION_SCHEMA`); Arrow tables are immutable."""
        return self._table

    def __len__(self) -> int:
        return len(self._table)

    @overload
    def __getitem__(self, index: int) -> OptionQuote: ...

    @overload
    def __getitem__(self, index: slice) -> OptionTable: ...

    def __getitem__(self, index: int | slice) -> OptionQuote | OptionTable:
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self))
            if step == 1:
                return _wrap(self._table.slice(start, max(0, stop - start)))
            return _wrap(self._table.take(pa.array(range(start, stop, step), pa.int64())))
        n = len(self)
        position = index + n if index < 0 else index
        if not 0 <= position < n:
            raise IndexError(f"option row {index} out of range for {n} quotes")
        return _quotes(self._table.slice(position, 1))[0]

    def __iter__(self) -> Iterator[OptionQuote]:
        for start in range(0, len(self), _CHUNK):
            yield from _quotes(self._table.slice(start, _CHUNK))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, OptionTable):
            return bool(self._table.equals(other._table))
        if isinstance(other, tuple | list):
            return len(other) == len(self) and all(a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"OptionTable({len(self)} quotes)"

    def __reduce__(self) -> tuple[Any, tuple[pa.Table]]:
        return (_wrap, (self._table,))

    def find(self, contract: OptionContract) -> OptionQuote | None:
        """The quote of exactly ``contract``, else the first with its key, else None.

        The semantics of :meth:`~riskdesk.domain.market.MarketSnapshot.option_quote`, with
        the candidate rows found by column comparisons instead of a scan of quote objects.
        """
        t = self._table
        mask = pc.and_(
            pc.and_(
                pc.equal(t.column("underlying"), contract.underlying),
                pc.equal(t.column("expiry"), pa.scalar(contract.expiry, pa.date32())),
            ),
            pc.and_(
                pc.equal(t.column("strike"), _amount_scalar(contract.strike)),
                pc.equal(t.column("right"), contract.right.value),
            ),
        )
        candidates = t.filter(mask)
        if len(candidates) == 0:
            return None
        from riskdesk.domain.market import match_quote

        return match_quote(_quotes(candidates), contract)

    def underlyings(self) -> list[str]:
        """The distinct underlyings quoted, sorted."""
        return sorted(pc.unique(self._table.column("underlying")).to_pylist())

    def for_underlying(self, symbol: str) -> OptionTable:
        """The quotes of ``symbol`` only (in table order)."""
        return _wrap(self._table.filter(pc.equal(self._table.column("underlying"), symbol)))


def _amount_scalar(value: Decimal) -> pa.Scalar:
    """``value`` as a ``decimal128(20, 8)`` scalar; an amount that does not fit matches nothing."""
    try:
        return pa.scalar(value, AMOUNT_TYPE)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        return pa.scalar(None, AMOUNT_TYPE)


def _wrap(table: pa.Table) -> OptionTable:
    """An ``OptionTable`` of rows taken from a checked table (no second check)."""
    out = object.__new__(OptionTable)
    out._table = table
    return out
