"""Market snapshots at chain scale: bulk quote writes and the snapshot hash without payload dicts.

A full-market chain is about 1.5 million option quotes. Two pieces of the snapshot store are
written for that size here:

* :func:`bulk_insert` -- rows given column by column go through each column's own SQLAlchemy
  bind processor (the very conversion a Core ``INSERT`` applies, so the stored values are the
  same bit for bit; repeated amounts and timestamps are converted once), then into the table
  with one DBAPI ``executemany`` of tuples on SQLite and a ``COPY ... FROM STDIN`` on
  PostgreSQL (through a temporary staging table when duplicates are to be skipped);
* :func:`snapshot_hash` -- :attr:`riskdesk.domain.market.MarketSnapshot.snapshot_hash`
  computed without building the payload dicts: each quote's canonical JSON is written
  directly (the bytes :func:`~riskdesk.domain.hashing.canonical_json` gives for its
  ``to_dict``) and streamed into SHA-256, so the digest is the same and no multi-hundred-MB
  text is held (tests compare it with the domain's hash on several snapshots).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Table
from sqlalchemy.orm import Session

from riskdesk.domain.hashing import canonical_json, canonicalize, decimal_str
from riskdesk.domain.market import MarketSnapshot, OptionQuote
from riskdesk.store.limits import check_text_lengths

__all__ = ["bulk_insert", "snapshot_hash"]

CHUNK_ROWS = 50_000
"""Rows turned into tuples and sent per batch (bounds the memory of a 1.5M-row write)."""

_MEMO_TYPES = (Decimal, datetime, date, str)
_MEMO_LIMIT = 1 << 16
"""Distinct values remembered per column (strikes, prices and timestamps repeat)."""

_Convert = Callable[[Any], Any]


def _column_converter(process: _Convert) -> _Convert:
    """``process`` with repeated values converted once (``-0`` and ``0`` never shared)."""
    seen: dict[Any, Any] = {}

    def convert(value: Any) -> Any:
        if value is None:
            return None
        if type(value) in _MEMO_TYPES and value:  # a zero Decimal keeps its sign: no memo
            stored = seen.get(value, seen)
            if stored is seen:
                if len(seen) >= _MEMO_LIMIT:
                    seen.clear()
                stored = seen[value] = process(value)
            return stored
        return process(value)

    return convert


def _converted(
    session: Session, table: Table, columns: Sequence[str], values: Sequence[Sequence[Any]]
) -> list[list[Any]]:
    """Each column of ``values`` through its bind processor for the session's dialect."""
    dialect = session.connection().dialect
    out: list[list[Any]] = []
    for name, column_values in zip(columns, values, strict=True):
        process = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        if process is None:
            out.append(list(column_values))
            continue
        convert = _column_converter(process)
        out.append([convert(value) for value in column_values])
    return out


def bulk_insert(
    session: Session,
    table: Table,
    columns: Sequence[str],
    values: Sequence[Sequence[Any]],
    *,
    skip_duplicates: bool = False,
) -> int:
    """Insert rows given column-wise (``values[i]`` is column ``columns[i]``); rows inserted.

    Values are converted as SQLAlchemy converts them for a Core ``INSERT`` (same stored
    values), in the session's transaction (nothing is committed). Columns left out
    take their server defaults (Python-side defaults are not applied: give those columns). Rows that break a unique
    rule are skipped with ``skip_duplicates``, otherwise they raise. PostgreSQL month
    partitions are not created here (see
    :func:`riskdesk.store.workbench.prepare_partitions`).

    Raises
    ------
    ValueError
        When the columns have different lengths, or a text is longer than its column.

    """
    lengths = {len(column) for column in values}
    if len(lengths) > 1:
        raise ValueError(f"bulk_insert into {table.name}: columns of different lengths {lengths}")
    if not values or not lengths or not lengths.pop():
        return 0
    texts = [i for i, name in enumerate(columns) if table.c[name].type.python_type is str]
    for start in range(0, len(values[0]), CHUNK_ROWS):
        # the length check needs mappings: only the text columns, one chunk at a time
        check_text_lengths(
            table,
            (
                dict(zip((columns[i] for i in texts), row, strict=True))
                for row in zip(*(values[i][start : start + CHUNK_ROWS] for i in texts), strict=True)
            ),
        )
    converted = _converted(session, table, columns, values)
    connection = session.connection()
    quoted = ", ".join(f'"{name}"' for name in columns)
    inserted = 0
    if connection.dialect.name == "postgresql":
        return _copy(session, table, quoted, converted, skip_duplicates=skip_duplicates)
    marks = ", ".join("?" for _ in columns)
    conflict = " ON CONFLICT DO NOTHING" if skip_duplicates else ""
    statement = f'INSERT INTO "{table.name}" ({quoted}) VALUES ({marks}){conflict}'
    raw = connection.connection.driver_connection
    assert raw is not None  # a checked-out connection has its DBAPI connection
    for start in range(0, len(converted[0]), CHUNK_ROWS):
        before = raw.total_changes
        connection.exec_driver_sql(
            statement, list(zip(*(c[start : start + CHUNK_ROWS] for c in converted), strict=True))
        )
        inserted += raw.total_changes - before
    return inserted


def _copy(
    session: Session,
    table: Table,
    quoted: str,
    converted: list[list[Any]],
    *,
    skip_duplicates: bool,
) -> int:
    """COPY the rows into ``table`` (through a staging table when duplicates are skipped)."""
    connection = session.connection()
    raw = connection.connection.driver_connection
    assert raw is not None  # a checked-out connection has its DBAPI connection
    target = f'"{table.name}"'
    if skip_duplicates:
        stage = f'"riskdesk_stage_{table.name}"'
        connection.exec_driver_sql(
            f"CREATE TEMP TABLE IF NOT EXISTS {stage} (LIKE {target} INCLUDING DEFAULTS) ON COMMIT DROP"
        )
        connection.exec_driver_sql(f"TRUNCATE {stage}")
        target = stage
    count = len(converted[0])
    with raw.cursor() as cursor, cursor.copy(f"COPY {target} ({quoted}) FROM STDIN") as copy:
        write = copy.write_row
        for start in range(0, count, CHUNK_ROWS):
            for row in zip(*(c[start : start + CHUNK_ROWS] for c in converted), strict=True):
                write(row)
    if not skip_duplicates:
        return count
    moved = connection.exec_driver_sql(
        f'INSERT INTO "{table.name}" ({quoted}) SELECT {quoted} FROM {target} '
        "ON CONFLICT DO NOTHING"
    )
    connection.exec_driver_sql(f"TRUNCATE {target}")
    return int(moved.rowcount)


# -- the snapshot hash ----------------------------------------------------------------------


_OPTIONS_SLOT = '"options":[]'
_HASH_BATCH = 10_000


def _text(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def _number(value: float | None) -> str:
    if value is None:
        return "null"
    return float.__repr__(canonicalize(float(value)))  # json.dumps writes floats by repr


def _count(value: int | None) -> str:
    return "null" if value is None else str(int(value))


class _QuoteText:
    """Canonical JSON of option quotes (``OptionQuote.to_dict``), with repeated parts memoized."""

    def __init__(self) -> None:
        self.stamps: dict[datetime, str] = {}
        self.expiries: dict[date, tuple[str, str]] = {}
        self.strikes: dict[Decimal, tuple[str, str]] = {}
        self.texts: dict[str, str] = {}
        self.amounts: dict[Decimal, str] = {}

    def amount(self, value: Decimal | None) -> str:
        """A price as canonical JSON (``-0`` and ``0`` both write ``"0"``: memoized alike)."""
        if value is None:
            return "null"
        text = self.amounts.get(value)
        if text is None:
            if len(self.amounts) >= 1 << 18:
                self.amounts.clear()
            text = self.amounts[value] = f'"{decimal_str(value)}"'
        return text

    def stamp(self, value: datetime) -> str:
        text = self.stamps.get(value)
        if text is None:
            text = self.stamps[value] = canonical_json(value)
        return text

    def text(self, value: str) -> str:
        """A string (enum members by their value: they are ``StrEnum``) as JSON text."""
        text = self.texts.get(value)
        if text is None:
            text = self.texts[value] = _text(value)
        return text

    def expiry(self, value: date) -> tuple[str, str]:
        """``(iso, yyyymmdd)``."""
        pair = self.expiries.get(value)
        if pair is None:
            pair = self.expiries[value] = (value.isoformat(), f"{value:%Y%m%d}")
        return pair

    def strike(self, value: Decimal) -> tuple[str, str]:
        """``(canonical text, key text)`` of a strike."""
        pair = self.strikes.get(value)
        if pair is None or value.is_zero():
            pair = (decimal_str(value), format(value.normalize(), "f"))
            if not value.is_zero():
                self.strikes[value] = pair
        return pair

    def sort_key(self, quote: OptionQuote) -> tuple[str, str, str]:
        """``quote.contract.sort_key``, built from the memoized parts."""
        c = quote.contract
        # the enums are StrEnum: a member formats, compares and sorts as its value
        key = f"{c.underlying}:{self.expiry(c.expiry)[1]}:{self.strike(c.strike)[1]}:{c.right}"
        if c.settlement != "PM":
            key += f":{c.settlement}"
        if c.multiplier != 100:
            key += f":x{c.multiplier}"
        return (key, c.style, c.currency)

    def quote(self, q: OptionQuote) -> str:
        c = q.contract
        contract = (
            f'{{"currency":{self.text(c.currency)},"expiry":"{self.expiry(c.expiry)[0]}",'
            f'"multiplier":{_count(c.multiplier)},"right":{self.text(c.right)},'
            f'"settlement":{self.text(c.settlement)},'
            f'"strike":"{self.strike(c.strike)[0]}","style":{self.text(c.style)},'
            f'"type":"OPTION","underlying":{self.text(c.underlying)}}}'
        )
        return (
            f'{{"ask":{self.amount(q.ask)},"bid":{self.amount(q.bid)},"contract":{contract},'
            f'"iv":{_number(q.iv)},"mark":{self.amount(q.mark)},'
            f'"open_interest":{_count(q.open_interest)},'
            f'"provider_timestamp":{self.stamp(q.provider_timestamp)},'
            f'"receive_timestamp":{self.stamp(q.receive_timestamp)},'
            f'"volume":{_count(q.volume)}}}'
        )


def snapshot_hash(snapshot: MarketSnapshot) -> str:
    """The snapshot's content hash, equal to ``snapshot.snapshot_hash``, without payload dicts.

    Everything but the options is put in canonical form by
    :func:`~riskdesk.domain.hashing.canonical_json` as the domain does; the options (sorted
    by ``contract.sort_key``) are written as canonical JSON text and fed to SHA-256 in batches.
    """
    head = canonical_json(
        {
            "as_of": snapshot.as_of,
            "mode": snapshot.mode.value,
            "source": snapshot.source,
            "underlyings": sorted(
                (u.to_dict() for u in snapshot.underlyings), key=lambda d: d["symbol"]
            ),
            "options": [],
            "overrides": snapshot.overrides.to_dict(),
        }
    )
    # keys are sorted: "as_of", "mode" (plain values) come first, so the first occurrence of
    # the empty options slot is the top-level key's, before any text of overrides or sources
    slot = head.index(_OPTIONS_SLOT)
    writer = _QuoteText()
    digest = hashlib.sha256(head[: slot + len(_OPTIONS_SLOT) - 1].encode("utf-8"))
    options = sorted(snapshot.options, key=writer.sort_key)
    for start in range(0, len(options), _HASH_BATCH):
        batch = ",".join(writer.quote(q) for q in options[start : start + _HASH_BATCH])
        digest.update((batch if start == 0 else "," + batch).encode("utf-8"))
    digest.update(head[slot + len(_OPTIONS_SLOT) - 1 :].encode("utf-8"))
    return digest.hexdigest()
