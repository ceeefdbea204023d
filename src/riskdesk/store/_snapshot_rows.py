"""Market snapshots at chain scale: bulk quote writes and the snapshot hash without payload dicts.

A full-market chain is about 1.5 million option quotes. Three pieces of the snapshot store are
written for that size here:

* :func:`bulk_insert` -- rows given column by column go through each column's own SQLAlchemy
  bind processor (the very conversion a Core ``INSERT`` applies, so the stored values are the
  same bit for bit; repeated amounts and timestamps are converted once), then into the table
  with one DBAPI ``executemany`` of tuples on SQLite and a ``COPY ... FROM STDIN`` on
  PostgreSQL (through a temporary staging table when duplicates are to be skipped);
* :func:`snapshot_hash` -- :attr:`riskdesk.domain.market.MarketSnapshot.snapshot_hash`
  computed on the options' Arrow columns (an :class:`~riskdesk.domain.option_table.OptionTable`;
  a tuple of quotes goes through ``OptionTable.from_quotes``): rows sorted by
  ``contract.sort_key`` with ``pc.sort_indices``, each quote's canonical JSON (the bytes
  :func:`~riskdesk.domain.hashing.canonical_json` gives for its ``to_dict``) built with Arrow
  string compute a batch at a time and streamed into SHA-256 (tests compare it with the
  domain's hash);
* :func:`write_option_quotes` / :func:`read_option_quotes` -- a snapshot's quote rows written
  and read column-wise: contract ids matched and inserted per identity text with Arrow,
  ids generated in bulk (:func:`~riskdesk.store.types.new_id_block`), values formatted as
  the column types store them (amounts ``1.50000000``, timestamps ``YYYY-MM-DD
  HH:MM:SS.ffffff``), ``executemany`` on SQLite and CSV ``COPY`` on PostgreSQL, and read
  back through the raw driver into an Arrow table of ``OPTION_SCHEMA``;
* :func:`encode_option_columns` / :func:`decode_option_columns` -- the same quotes, sorted,
  as one zstd-compressed Arrow IPC stream with its SHA-256 (``snapshot_option_columns``),
  which is what a load reads: one value and a decode instead of a million-row join.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.ipc as pa_ipc
from sqlalchemy import Table
from sqlalchemy.orm import Session

from riskdesk.domain.hashing import canonical_json, canonicalize, decimal_str
from riskdesk.domain.market import MarketSnapshot
from riskdesk.domain.option_table import OPTION_SCHEMA, OptionTable
from riskdesk.store.limits import check_text_lengths
from riskdesk.store.types import new_id_block, utc_now

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


def _stage(connection: Any, table: Table) -> str:
    """An empty temporary copy of ``table`` (dropped at commit) for a COPY that skips duplicates."""
    stage = f'"riskdesk_stage_{table.name}"'
    connection.exec_driver_sql(
        f'CREATE TEMP TABLE IF NOT EXISTS {stage} (LIKE "{table.name}" INCLUDING DEFAULTS) '
        "ON COMMIT DROP"
    )
    connection.exec_driver_sql(f"TRUNCATE {stage}")
    return stage


def _unstage(connection: Any, table: Table, stage: str, quoted: str) -> int:
    """Move the staged rows into ``table``, skipping duplicates; how many were new."""
    moved = connection.exec_driver_sql(
        f'INSERT INTO "{table.name}" ({quoted}) SELECT {quoted} FROM {stage} ON CONFLICT DO NOTHING'
    )
    connection.exec_driver_sql(f"TRUNCATE {stage}")
    return int(moved.rowcount)


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
    target = _stage(connection, table) if skip_duplicates else f'"{table.name}"'
    count = len(converted[0])
    with raw.cursor() as cursor, cursor.copy(f"COPY {target} ({quoted}) FROM STDIN") as copy:
        write = copy.write_row
        for start in range(0, count, CHUNK_ROWS):
            for row in zip(*(c[start : start + CHUNK_ROWS] for c in converted), strict=True):
                write(row)
    return _unstage(connection, table, target, quoted) if skip_duplicates else count


# -- the snapshot hash ----------------------------------------------------------------------


_OPTIONS_SLOT = '"options":[]'


# -- column-wise: the options as Arrow columns ------------------------------------------------
#
# Everything below works on OptionTable columns (pyarrow), with no Python object per quote: the
# hash's canonical JSON lines and the stored text forms are built with Arrow string compute.

_LINE_CHUNK = 65_536
"""Quotes turned into canonical JSON lines (or stored rows) per batch (bounds the memory)."""

_SCALE = 10**8
"""``decimal128(20, 8)``: amounts are integers of 1e-8."""


def option_columns(snapshot: MarketSnapshot) -> pa.Table:
    """The snapshot's options as :data:`~riskdesk.domain.option_table.OPTION_SCHEMA` columns.

    A tuple of quotes goes through :meth:`OptionTable.from_quotes` (the same values).
    """
    options = snapshot.options
    if isinstance(options, OptionTable):
        return options.arrow
    return OptionTable.from_quotes(options).arrow


def _via_values(column: pa.ChunkedArray | pa.Array, write: Callable[[Any], str]) -> pa.Array:
    """``write(value)`` of each distinct value, spread over the rows (nulls stay null).

    For columns with few distinct values (texts, dates, timestamps, IVs to 4 places).
    """
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    encoded = pc.dictionary_encode(column)
    texts = pa.array([write(v) for v in encoded.dictionary.to_pylist()], pa.string())
    return pc.take(texts, encoded.indices)


def _amount_ints(column: pa.ChunkedArray | pa.Array) -> np.ndarray | None:
    """The ``decimal128(20, 8)`` values as int64 counts of 1e-8 (None when one does not fit)."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    words = np.frombuffer(column.buffers()[1], dtype=np.int64)
    words = words[2 * column.offset : 2 * (column.offset + len(column))].reshape(-1, 2)
    low, high = words[:, 0], words[:, 1]
    valid = np.ones(len(column), dtype=bool)
    if column.null_count:
        valid = np.asarray(column.is_valid())
    fits = (high == (low >> 63)) | ~valid  # high word is the sign extension of the low word
    return low.copy() if bool(fits.all()) else None


def amount_text(column: pa.ChunkedArray | pa.Array, *, stored: bool) -> pa.Array:
    """Amounts as text: canonical (``"1.5"``, ``decimal_str``) or ``stored`` (``"1.50000000"``).

    ``stored`` is ``format(value, "f")`` of the value quantized to 8 places, the text SQLite
    holds and PostgreSQL reads for ``NUMERIC(20, 8)``. Nulls stay null.
    """
    ints = _amount_ints(column)
    if ints is None:  # beyond 9.2e10: rare, written one by one
        if stored:
            return _via_values(column, lambda v: format(v.quantize(Decimal(1).scaleb(-8)), "f"))
        return _via_values(column, decimal_str)
    mask = None if not column.null_count else pc.invert(column.is_valid())
    magnitude = np.abs(ints)
    whole = pa.array(magnitude // _SCALE).cast(pa.string())
    fraction = pc.utf8_lpad(pa.array(magnitude % _SCALE).cast(pa.string()), 8, "0")
    sign = pc.if_else(pa.array(ints < 0), "-", "")
    if stored:
        text = pc.binary_join_element_wise(sign, whole, ".", fraction, "")
    else:
        fraction = pc.ascii_rtrim(fraction, "0")  # the digits are ASCII
        dot = pc.if_else(pc.equal(fraction, ""), "", ".")
        text = pc.binary_join_element_wise(sign, whole, dot, fraction, "")
    if mask is not None:
        text = pc.if_else(mask, pa.scalar(None, pa.string()), text)
    return text


def _json_text(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def _json_stamp(value: datetime) -> str:
    return canonical_json(value.replace(tzinfo=UTC))


def _json_float(value: float) -> str:
    return float.__repr__(canonicalize(float(value)))


def _null(array: pa.Array) -> pa.Array:
    return pc.fill_null(array, "null")


def sort_order(table: pa.Table) -> pa.Array:
    """Row indices that sort ``table`` by ``contract.sort_key`` (stable, as ``sorted`` is).

    The key text is ``OptionContract.key`` (``underlying:YYYYMMDD:strike:right``, ``:AM``
    when not PM-settled, ``:x<multiplier>`` when not 100), then style, then currency; Arrow
    compares strings by their UTF-8 bytes, which is the code point order Python compares by.
    """
    if len(table) == 0:
        return pa.array([], pa.uint64())
    key = contract_keys(table)
    keys = pa.table(
        {"key": key, "style": table.column("style"), "currency": table.column("currency")}
    )
    return pc.sort_indices(
        keys, sort_keys=[("key", "ascending"), ("style", "ascending"), ("currency", "ascending")]
    )


def contract_keys(table: pa.Table) -> pa.Array:
    """``OptionContract.key`` of each row, as Arrow text."""
    settlement = table.column("settlement").combine_chunks()
    multiplier = table.column("multiplier").combine_chunks()
    am = pc.if_else(
        pc.equal(settlement, "PM"), "", pc.binary_join_element_wise(":", settlement, "")
    )
    size = pc.if_else(
        pc.equal(multiplier, 100),
        "",
        pc.binary_join_element_wise(":x", multiplier.cast(pa.string()), ""),
    )
    return pc.binary_join_element_wise(
        table.column("underlying").combine_chunks(),
        ":",
        _via_values(table.column("expiry"), lambda d: f"{d:%Y%m%d}"),
        ":",
        amount_text(table.column("strike"), stored=False),
        ":",
        table.column("right").combine_chunks(),
        am,
        size,
        "",
    )


def _quote_lines(rows: pa.Table) -> pa.Array:
    """``"," + canonical_json(quote.to_dict())`` of each row (keys in sorted order)."""
    text = _null  # alias for readability below
    pieces: list[Any] = [
        ',{"ask":',
        text(_quoted(amount_text(rows.column("ask"), stored=False))),
        ',"bid":',
        text(_quoted(amount_text(rows.column("bid"), stored=False))),
        ',"contract":{"currency":',
        _via_values(rows.column("currency"), _json_text),
        ',"expiry":',
        _via_values(rows.column("expiry"), lambda d: f'"{d.isoformat()}"'),
        ',"multiplier":',
        rows.column("multiplier").combine_chunks().cast(pa.string()),
        ',"right":',
        _via_values(rows.column("right"), _json_text),
        ',"settlement":',
        _via_values(rows.column("settlement"), _json_text),
        ',"strike":',
        _quoted(amount_text(rows.column("strike"), stored=False)),
        ',"style":',
        _via_values(rows.column("style"), _json_text),
        ',"type":"OPTION","underlying":',
        _via_values(rows.column("underlying"), _json_text),
        '},"iv":',
        text(_via_values(rows.column("iv"), _json_float)),
        ',"mark":',
        text(_quoted(amount_text(rows.column("mark"), stored=False))),
        ',"open_interest":',
        text(rows.column("open_interest").combine_chunks().cast(pa.string())),
        ',"provider_timestamp":',
        _via_values(rows.column("provider_timestamp"), _json_stamp),
        ',"receive_timestamp":',
        _via_values(rows.column("receive_timestamp"), _json_stamp),
        ',"volume":',
        text(rows.column("volume").combine_chunks().cast(pa.string())),
        "}",
    ]
    return pc.binary_join_element_wise(*pieces, "")


def _quoted(text: pa.Array) -> pa.Array:
    return pc.binary_join_element_wise('"', text, '"', "")


def _text_bytes(array: pa.Array | pa.ChunkedArray) -> memoryview:
    """The UTF-8 bytes of a string array's values, back to back (no copy)."""
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    offsets = np.frombuffer(array.buffers()[1], dtype=np.int32)
    start = int(offsets[array.offset])
    stop = int(offsets[array.offset + len(array)])
    return memoryview(array.buffers()[2])[start:stop]


def options_digest(head: str, table: pa.Table, order: pa.Array | None) -> str:
    """SHA-256 of ``head`` with the options of ``table`` (rows in ``order``) in its slot."""
    slot = head.index(_OPTIONS_SLOT)
    digest = hashlib.sha256(head[: slot + len(_OPTIONS_SLOT) - 1].encode("utf-8"))
    first = True
    for start in range(0, len(table), _LINE_CHUNK):
        if order is None:
            rows = table.slice(start, _LINE_CHUNK)
        else:
            rows = table.take(order.slice(start, _LINE_CHUNK))
        lines = _quote_lines(rows)
        data = _text_bytes(lines)
        digest.update(data[1:] if first else data)  # no comma before the first quote
        first = False
    digest.update(head[slot + len(_OPTIONS_SLOT) - 1 :].encode("utf-8"))
    return digest.hexdigest()


def _head(snapshot: MarketSnapshot) -> str:
    return canonical_json(
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


def snapshot_hash(
    snapshot: MarketSnapshot, *, presorted: bool = False, options: pa.Table | None = None
) -> str:
    """The snapshot's content hash, equal to ``snapshot.snapshot_hash``, on Arrow columns.

    Everything but the options is put in canonical form by
    :func:`~riskdesk.domain.hashing.canonical_json` as the domain does; the options are
    sorted by ``contract.sort_key`` (:func:`sort_order`), written as canonical JSON lines
    with Arrow string compute (:func:`_quote_lines`: the bytes ``canonical_json`` gives for
    each ``to_dict``) and fed to SHA-256 a batch at a time, so no payload dict and no
    multi-hundred-MB text is built.

    ``presorted`` says the options are already in ``contract.sort_key`` order (a loaded
    snapshot), which skips the sort. ``options`` is :func:`option_columns` of the snapshot
    when the caller already holds it (a tuple of quotes is then not converted again).
    """
    table = option_columns(snapshot) if options is None else options
    order = None if presorted else sort_order(table)
    return options_digest(_head(snapshot), table, order)


def sorted_options(table: pa.Table) -> pa.Table:
    """``table``'s rows in ``contract.sort_key`` order (``table`` itself when already so)."""
    if len(table) < 2:
        return table
    order = sort_order(table)
    if pc.all(pc.equal(order, pa.array(np.arange(len(table), dtype=np.uint64)))).as_py():
        return table
    return table.take(order)


# -- the options as one Arrow IPC stream (snapshot_option_columns) ---------------------------

COLUMNS_FORMAT = "arrow-ipc-zstd"
"""``snapshot_option_columns.data_format``: an Arrow IPC stream, buffers zstd-compressed."""


def encode_option_columns(table: pa.Table) -> tuple[bytes, str]:
    """``(data, SHA-256 hex)`` of ``table`` (OPTION_SCHEMA) as a zstd-compressed IPC stream."""
    sink = pa.BufferOutputStream()
    options = pa_ipc.IpcWriteOptions(compression="zstd")
    with pa_ipc.new_stream(sink, OPTION_SCHEMA, options=options) as writer:
        writer.write_table(table.cast(OPTION_SCHEMA), max_chunksize=_LINE_CHUNK)
    data = sink.getvalue().to_pybytes()
    return data, hashlib.sha256(data).hexdigest()


class ColumnsMismatchError(ValueError):
    """Stored option columns that do not check out (digest, row count or stream)."""


def decode_option_columns(data: bytes, *, sha256: str, rows: int) -> pa.Table | None:
    """The OPTION_SCHEMA table :func:`encode_option_columns` wrote, checked; None: other schema.

    Raises :class:`ColumnsMismatchError` when ``data`` does not have the SHA-256 it was
    stored with, does not decode, or holds another number of rows. A stream of another
    column layout (an older ``OPTION_SCHEMA``) gives None: the caller reads the rows.
    """
    digest = hashlib.sha256(data).hexdigest()
    if digest != sha256:
        raise ColumnsMismatchError(
            f"the bytes have SHA-256 {digest[:12]}, not the stored {sha256[:12]}"
        )
    try:
        table = pa_ipc.open_stream(pa.py_buffer(data)).read_all()
    except (pa.ArrowInvalid, OSError) as exc:
        raise ColumnsMismatchError(f"the stream does not decode: {exc}") from exc
    if not table.schema.equals(OPTION_SCHEMA):
        return None
    if len(table) != rows:
        raise ColumnsMismatchError(f"the stream holds {len(table)} quotes, not the stored {rows}")
    return table


# -- column-wise writes and reads of the quote rows ------------------------------------------


def _postgres(session: Session) -> bool:
    return session.connection().dialect.name == "postgresql"


def _uuid_text(block: bytes, *, hyphens: bool) -> pa.Array:
    """UUIDs given as 16 bytes each, as text: 32 hex digits (SQLite) or hyphenated (PG)."""
    raw = np.frombuffer(block, dtype=np.uint8).reshape(-1, 16)
    digits = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
    hexed = np.empty((len(raw), 32), dtype=np.uint8)
    hexed[:, 0::2] = digits[raw >> 4]
    hexed[:, 1::2] = digits[raw & 0x0F]
    if hyphens:
        dash = np.full((len(raw), 1), ord("-"), dtype=np.uint8)
        parts = (hexed[:, :8], hexed[:, 8:12], hexed[:, 12:16], hexed[:, 16:20], hexed[:, 20:])
        hexed = np.hstack(
            [parts[0], dash, parts[1], dash, parts[2], dash, parts[3], dash, parts[4]]
        )
    width = hexed.shape[1]
    offsets = np.arange(0, width * (len(raw) + 1), width, dtype=np.int32)
    return pa.StringArray.from_buffers(
        len(raw), pa.py_buffer(offsets.tobytes()), pa.py_buffer(hexed.tobytes())
    )


def _stamp_text(column: pa.ChunkedArray | pa.Array, *, postgres: bool) -> pa.Array:
    """UTC timestamps as the stored text: ``YYYY-MM-DD HH:MM:SS.ffffff`` (``+00`` on PG)."""
    text = _via_values(column, lambda v: f"{v.replace(tzinfo=None):%Y-%m-%d %H:%M:%S.%f}")
    return pc.binary_join_element_wise(text, "+00", "") if postgres else text


def _check_lengths(table: Table, columns: dict[str, pa.Array]) -> None:
    """:func:`check_text_lengths` on the first too-long value of each text column."""
    for name, values in columns.items():
        kind = table.c[name].type
        limit = getattr(kind, "length", None)
        if not limit or not pa.types.is_string(values.type) or len(values) == 0:
            continue
        lengths = pc.utf8_length(values)
        longest = pc.max(lengths).as_py()
        if longest is not None and longest > limit:
            row = int(pc.index(lengths, longest).as_py())
            check_text_lengths(table, [{name: values[row].as_py()}])


def write_arrow(
    session: Session,
    table: Table,
    columns: dict[str, pa.Array],
    *,
    skip_duplicates: bool,
    expect_new: bool = False,
) -> int:
    """Insert rows given as Arrow columns already in their stored text form; rows inserted.

    Text, amounts (:func:`amount_text` ``stored``), timestamps (:func:`_stamp_text`) and ids
    (:func:`_uuid_text`) are given as the database holds them; numbers as numbers. SQLite:
    one ``executemany`` of tuples per chunk; PostgreSQL: ``COPY ... FROM STDIN (FORMAT csv)``
    (through a staging table when duplicates are skipped).

    ``expect_new`` (with ``skip_duplicates``) says the rows were just found missing from
    ``table``: on PostgreSQL they are then copied straight in under a savepoint, and only if
    a concurrent writer stored one of them first (a unique violation) does the write go
    again through the staging table, which skips it. The straight copy saves the staging
    pass, about a third of the time for new option contracts.
    """
    _check_lengths(table, columns)
    names = list(columns)
    count = len(columns[names[0]])
    if count == 0:
        return 0
    connection = session.connection()
    raw = connection.connection.driver_connection
    assert raw is not None  # a checked-out connection has its DBAPI connection
    quoted = ", ".join(f'"{name}"' for name in names)
    if connection.dialect.name != "postgresql":
        marks = ", ".join("?" for _ in names)
        conflict = " ON CONFLICT DO NOTHING" if skip_duplicates else ""
        statement = f'INSERT INTO "{table.name}" ({quoted}) VALUES ({marks}){conflict}'
        inserted = 0
        for start in range(0, count, _LINE_CHUNK):
            lists = [columns[n].slice(start, _LINE_CHUNK).to_pylist() for n in names]
            before = raw.total_changes
            connection.exec_driver_sql(statement, list(zip(*lists, strict=True)))
            inserted += raw.total_changes - before
        return inserted
    rows = pa.table(columns)
    if skip_duplicates and expect_new:
        import psycopg

        raw.execute("SAVEPOINT riskdesk_copy_new")
        try:
            _copy_csv(raw, f'"{table.name}"', quoted, rows)
        except psycopg.errors.UniqueViolation:
            # a concurrent writer stored some: undo the copy, skip them below
            raw.execute("ROLLBACK TO SAVEPOINT riskdesk_copy_new")
        else:
            raw.execute("RELEASE SAVEPOINT riskdesk_copy_new")
            return count
    target = _stage(connection, table) if skip_duplicates else f'"{table.name}"'
    _copy_csv(raw, target, quoted, rows)
    return _unstage(connection, table, target, quoted) if skip_duplicates else count


def _copy_csv(raw: Any, target: str, quoted: str, rows: pa.Table) -> None:
    """``COPY target (quoted) FROM STDIN`` of ``rows`` as CSV, a chunk at a time."""
    options = pa_csv.WriteOptions(include_header=False, quoting_style="all_valid")
    with (
        raw.cursor() as cursor,
        cursor.copy(f"COPY {target} ({quoted}) FROM STDIN (FORMAT csv)") as copy,
    ):
        for start in range(0, len(rows), _LINE_CHUNK):
            sink = pa.BufferOutputStream()
            pa_csv.write_csv(rows.slice(start, _LINE_CHUNK), sink, options)
            copy.write(memoryview(sink.getvalue()))


_KEY_SEP = "\x1f"


def _identity_text(
    underlying: Any, expiry: Any, strike: Any, right: Any, settlement: Any, multiplier: Any,
    style: Any, currency: Any,
) -> pa.Array:  # fmt: skip
    """One text per contract identity (``contract_identity``'s fields, in stored text form)."""
    return pc.binary_join_element_wise(
        underlying, expiry, strike, right, settlement, multiplier, style, currency, _KEY_SEP
    )


def _stored_contracts(session: Session, underlyings: list[str]) -> tuple[pa.Array, pa.Array]:
    """``(identity texts, id texts)`` of the stored contracts of ``underlyings``."""
    select_sql = (
        'SELECT option_contract_id, underlying_symbol, expiry, strike, "right", settlement, '
        "multiplier, style, currency FROM option_contracts WHERE underlying_symbol IN ({})"
    )
    connection = session.connection()
    raw = connection.connection.driver_connection
    assert raw is not None  # a checked-out connection has its DBAPI connection
    batches: list[pa.Table] = []
    names = ["id", "underlying", "expiry", "strike", "right", "settlement", "multiplier"]
    names += ["style", "currency"]
    for start in range(0, len(underlyings), 500):
        part = underlyings[start : start + 500]
        if connection.dialect.name == "postgresql":
            sql = select_sql.format(", ".join("%s" for _ in part))
            buffer = bytearray()
            with (
                raw.cursor() as cursor,
                cursor.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv)", part) as copy,
            ):
                for block in copy:
                    buffer += block
            if not buffer:
                continue
            batches.append(
                pa_csv.read_csv(
                    pa.py_buffer(bytes(buffer)),
                    read_options=pa_csv.ReadOptions(column_names=names),
                    convert_options=pa_csv.ConvertOptions(
                        column_types=dict.fromkeys(names, pa.string())
                    ),
                )
            )
        else:
            cursor = raw.cursor()
            try:
                cursor.execute(select_sql.format(", ".join("?" for _ in part)), part)
                rows = cursor.fetchall()
            finally:
                cursor.close()
            if not rows:
                continue
            values = list(zip(*rows, strict=True))
            batches.append(
                pa.table(
                    {
                        name: pa.array(
                            [str(v) for v in col] if name == "multiplier" else col, pa.string()
                        )
                        for name, col in zip(names, values, strict=True)
                    }
                )
            )
    if not batches:
        empty = pa.array([], pa.string())
        return empty, empty
    found = pa.concat_tables(batches).combine_chunks()
    keys = _identity_text(*(found.column(n) for n in names[1:]))
    return keys.combine_chunks() if isinstance(keys, pa.ChunkedArray) else keys, found.column(
        "id"
    ).combine_chunks()


def contract_id_text(session: Session, table: pa.Table, contract_table: Table) -> pa.Array:
    """The ``option_contracts`` id (stored text form) of each row, inserting missing contracts.

    Rows are matched on every identity column (``uq_option_contracts_identity``); contracts
    not stored yet are inserted in bulk (``ON CONFLICT DO NOTHING``) and, when a concurrent
    writer stored some first, read back.
    """
    postgres = _postgres(session)
    columns = {
        "underlying_symbol": table.column("underlying").combine_chunks(),
        "expiry": table.column("expiry").combine_chunks().cast(pa.string()),
        "strike": amount_text(table.column("strike"), stored=True),
        "right": table.column("right").combine_chunks(),
        "settlement": table.column("settlement").combine_chunks(),
        "multiplier": table.column("multiplier").combine_chunks(),
        "style": table.column("style").combine_chunks(),
        "currency": table.column("currency").combine_chunks(),
    }
    wanted = _identity_text(
        *(
            columns[n].cast(pa.string()) if n == "multiplier" else columns[n]
            for n in (
                "underlying_symbol", "expiry", "strike", "right", "settlement", "multiplier",
                "style", "currency",
            )
        )
    )  # fmt: skip
    underlyings = sorted(pc.unique(columns["underlying_symbol"]).to_pylist())
    keys, ids = _stored_contracts(session, underlyings)
    found = pc.take(ids, pc.index_in(wanted, value_set=keys))
    missing = pc.is_null(found)
    if not pc.any(missing).as_py():
        return found
    new = {name: pc.filter(values, missing) for name, values in columns.items()}
    count = len(new["underlying_symbol"])
    new_ids = _uuid_text(new_id_block(count), hyphens=postgres)
    new["option_contract_id"] = new_ids
    new["contract_key"] = pc.filter(contract_keys(table), missing)
    now = f"{utc_now().replace(tzinfo=None):%Y-%m-%d %H:%M:%S.%f}" + ("+00" if postgres else "")
    new["created_at"] = pa.array([now] * count, pa.string())
    stored = write_arrow(session, contract_table, new, skip_duplicates=True, expect_new=True)
    if stored == count:  # every row is ours: no concurrent writer stored one first
        # row i's place among the new ones (rows before the first new one read place 0)
        positions = pc.max_element_wise(
            pc.subtract(pc.cumulative_sum(pc.cast(missing, pa.int64())), 1), 0
        )
        return pc.if_else(missing, pc.take(new_ids, positions), found)
    keys, ids = _stored_contracts(session, underlyings)
    found = pc.take(ids, pc.index_in(wanted, value_set=keys))
    if found.null_count:  # pragma: no cover - a row skipped as duplicate is always readable
        raise ValueError("option contracts could not be stored or read back")
    return found


def write_option_quotes(
    session: Session,
    snapshot_id: uuid.UUID,
    table: pa.Table,
    *,
    contract_ids: pa.Array,
    quote_table: Table,
) -> int:
    """Store the quote rows of ``table`` (OPTION_SCHEMA) under ``snapshot_id``; rows written.

    ``contract_ids`` is :func:`contract_id_text` of ``table`` (each row's contract id).
    """
    if len(table) == 0:
        return 0
    postgres = _postgres(session)
    count = len(table)
    snapshot_text = str(snapshot_id) if postgres else snapshot_id.hex
    columns: dict[str, pa.Array] = {
        "id": _uuid_text(new_id_block(count), hyphens=postgres),
        "snapshot_id": pa.array([snapshot_text] * count, pa.string()),
        "option_contract_id": contract_ids,
        "bid": amount_text(table.column("bid"), stored=True),
        "ask": amount_text(table.column("ask"), stored=True),
        "mark": amount_text(table.column("mark"), stored=True),
        "iv": table.column("iv").combine_chunks(),
        "volume": table.column("volume").combine_chunks(),
        "open_interest": table.column("open_interest").combine_chunks(),
        "provider_timestamp": _stamp_text(table.column("provider_timestamp"), postgres=postgres),
        "receive_timestamp": _stamp_text(table.column("receive_timestamp"), postgres=postgres),
    }
    return write_arrow(session, quote_table, columns, skip_duplicates=False)


_READ_NAMES = (
    "underlying", "expiry", "strike", "right", "style", "settlement", "multiplier", "currency",
    "bid", "ask", "mark", "iv", "volume", "open_interest", "provider_timestamp",
    "receive_timestamp",
)  # fmt: skip


_SQLITE_LINE = (
    "SELECT {}, q.iv FROM snapshot_option_quotes q JOIN option_contracts c "
    "ON c.option_contract_id = q.option_contract_id WHERE q.snapshot_id = ?"
).format(
    " || char(31) || ".join(
        (
            "c.underlying_symbol", "c.expiry", "c.strike", 'c."right"', "c.style",
            "c.settlement", "c.multiplier", "c.currency", "coalesce(q.bid, '')",
            "coalesce(q.ask, '')", "coalesce(q.mark, '')", "''",
            "coalesce(q.volume, '')",
            "coalesce(q.open_interest, '')", "q.provider_timestamp", "q.receive_timestamp",
        )
    )
)  # fmt: skip
"""A stored quote on SQLite as one text, its fields joined by U+001F, and its IV.

Two Python objects a row instead of sixteen; the IV comes as a float (exact), its slot in the
text is empty.
"""

_NULLABLE = frozenset(("bid", "ask", "mark", "iv", "volume", "open_interest"))


def _sqlite_lines(
    raw: Any, snapshot_id: uuid.UUID, types: dict[str, pa.DataType]
) -> pa.Table | None:
    """The quotes as text columns split out of :data:`_SQLITE_LINE` rows (None: a field has U+001F)."""
    width = len(_READ_NAMES)
    batches: list[pa.Table] = []
    cursor = raw.cursor()
    try:
        cursor.execute(_SQLITE_LINE, (snapshot_id.hex,))
        while rows := cursor.fetchmany(_LINE_CHUNK):
            lines = pa.array([r[0] for r in rows], pa.string())
            parts = pc.split_pattern(lines, _KEY_SEP)
            if pc.any(pc.not_equal(pc.list_value_length(parts), width)).as_py():
                return None
            flat = parts.flatten()
            columns: dict[str, pa.Array] = {}
            for k, name in enumerate(_READ_NAMES):
                values = flat.take(pa.array(np.arange(k, width * len(rows), width)))
                if name == "iv":
                    values = pa.array([r[1] for r in rows], pa.float64())
                elif name in _NULLABLE:
                    values = pc.if_else(pc.equal(values, ""), pa.scalar(None, pa.string()), values)
                columns[name] = values.cast(types[name])
            batches.append(pa.table(columns))
    finally:
        cursor.close()
    if batches:
        return pa.concat_tables(batches)
    return pa.table({n: pa.array([], t) for n, t in types.items()})


def _sqlite_rows(
    raw: Any, sql: str, snapshot_id: uuid.UUID, types: dict[str, pa.DataType]
) -> pa.Table:
    """The quotes column by column from plain SQLite rows (a Python object a field)."""
    batches: list[pa.Table] = []
    cursor = raw.cursor()
    try:
        cursor.execute(sql, (snapshot_id.hex,))
        while rows := cursor.fetchmany(_LINE_CHUNK):
            values = list(zip(*rows, strict=True))
            batches.append(
                pa.table(
                    {n: pa.array(col, types[n]) for n, col in zip(_READ_NAMES, values, strict=True)}
                )
            )
    finally:
        cursor.close()
    if batches:
        return pa.concat_tables(batches)
    return pa.table({n: pa.array([], t) for n, t in types.items()})


def read_option_quotes(session: Session, snapshot_id: uuid.UUID) -> pa.Table:
    """The stored quotes of ``snapshot_id`` as OPTION_SCHEMA columns, sorted by contract.

    Read through the raw driver (no per-cell result processing): on SQLite one text per row
    (:data:`_SQLITE_LINE`) split into columns by Arrow, a chunk at a time, PostgreSQL a ``COPY (SELECT ...) TO STDOUT`` parsed by
    :mod:`pyarrow.csv`. The text forms are cast to the schema's types (amounts are exact).
    """
    postgres = _postgres(session)
    stamp = "to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')" if postgres else "{}"
    sql = (
        'SELECT c.underlying_symbol, c.expiry, c.strike, c."right", c.style, c.settlement, '
        "c.multiplier, c.currency, q.bid, q.ask, q.mark, q.iv, q.volume, q.open_interest, "
        f"{stamp.format('q.provider_timestamp')}, {stamp.format('q.receive_timestamp')} "
        "FROM snapshot_option_quotes q JOIN option_contracts c "
        "ON c.option_contract_id = q.option_contract_id WHERE q.snapshot_id = {}"
    )
    raw = session.connection().connection.driver_connection
    assert raw is not None  # a checked-out connection has its DBAPI connection
    text_types = {n: pa.string() for n in _READ_NAMES}
    text_types |= {"multiplier": pa.int32(), "iv": pa.float64()}
    text_types |= {"volume": pa.int64(), "open_interest": pa.int64()}
    if postgres:
        buffer = bytearray()
        with (
            raw.cursor() as cursor,
            cursor.copy(
                f"COPY ({sql.format('%s')}) TO STDOUT (FORMAT csv)", (str(snapshot_id),)
            ) as copy,
        ):
            for block in copy:
                buffer += block
        if buffer:
            texts = pa_csv.read_csv(
                pa.py_buffer(bytes(buffer)),
                read_options=pa_csv.ReadOptions(column_names=list(_READ_NAMES)),
                convert_options=pa_csv.ConvertOptions(
                    column_types=text_types,
                    null_values=[""],
                    strings_can_be_null=True,
                    quoted_strings_can_be_null=False,
                ),
            )
        else:
            texts = pa.table({n: pa.array([], t) for n, t in text_types.items()})
    else:
        texts = _sqlite_lines(raw, snapshot_id, text_types)
        if texts is None:  # a text holding the separator: column by column instead
            texts = _sqlite_rows(raw, sql.format("?"), snapshot_id, text_types)
    stamp_type = OPTION_SCHEMA.field("receive_timestamp").type
    columns: dict[str, Any] = {}
    for field in OPTION_SCHEMA:
        values = texts.column(field.name)
        if field.name.endswith("timestamp"):
            values = values.cast(pa.timestamp("us")).cast(stamp_type)
        columns[field.name] = values.cast(field.type)
    table = pa.table(columns, schema=OPTION_SCHEMA)
    return table.take(sort_order(table)) if len(table) else table
