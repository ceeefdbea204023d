"""Monthly range partitions of the PostgreSQL time-series tables.

Partitioned tables (see :data:`riskdesk.store.models.PARTITIONED_TABLES`): ``greek_snapshots``
(``event_time``), ``market_ticks`` (``event_at``), ``snapshot_underlying_quotes`` and
``snapshot_option_quotes`` (``receive_timestamp``). Months are UTC calendar months; the
partition of January 2024 of ``greek_snapshots`` is ``greek_snapshots_p2024_01``.

No write fails for want of a partition:

* every partitioned table has a ``<table>_default`` partition (created by the migration) that
  catches rows of months without their own partition;
* writers call :func:`ensure_month_partitions` for the months of a batch before inserting
  (the session does it for new ORM rows, :func:`riskdesk.store.timeseries.insert_rows` for
  batches); it creates the missing month partitions and moves rows of that month out of the
  default partition first, since PostgreSQL refuses a new partition whose range already has
  rows in the default one;
* if creating a partition would wait on a lock longer than ``lock_timeout_ms`` it gives up and
  the rows land in the default partition; :func:`rehome_default_rows` moves them later.

On SQLite every function here is a no-op.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, date, datetime

from sqlalchemy import exc as sa_exc
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from riskdesk.store.errors import NaiveDatetimeError

__all__ = [
    "PARTITIONED_TABLES",
    "create_month_partition",
    "default_partition_name",
    "ensure_month_partitions",
    "list_partitions",
    "month_bounds",
    "month_of",
    "partition_name",
    "rehome_default_rows",
]

log = logging.getLogger(__name__)

PARTITIONED_TABLES: dict[str, str] = {
    "greek_snapshots": "event_time",
    "market_ticks": "event_at",
    "snapshot_underlying_quotes": "receive_timestamp",
    "snapshot_option_quotes": "receive_timestamp",
}


def _check_table(table: str) -> str:
    if table not in PARTITIONED_TABLES:
        raise ValueError(
            f"{table!r} is not a partitioned table; expected one of {sorted(PARTITIONED_TABLES)}"
        )
    return PARTITIONED_TABLES[table]


def month_of(ts: datetime) -> date:
    """First day of the UTC month containing ``ts`` (timezone-aware)."""
    if ts.tzinfo is None or ts.utcoffset() is None:
        raise NaiveDatetimeError(f"naive datetime {ts!r} refused: partitions are by UTC month")
    utc = ts.astimezone(UTC)
    return date(utc.year, utc.month, 1)


def month_bounds(month: date) -> tuple[datetime, datetime]:
    """``[start, end)`` of a UTC month as aware datetimes."""
    start = datetime(month.year, month.month, 1, tzinfo=UTC)
    end = datetime(month.year + (month.month == 12), month.month % 12 + 1, 1, tzinfo=UTC)
    return start, end


def partition_name(table: str, month: date) -> str:
    """Name of the partition of ``table`` for ``month``: ``<table>_pYYYY_MM``."""
    _check_table(table)
    return f"{table}_p{month.year:04d}_{month.month:02d}"


def default_partition_name(table: str) -> str:
    """Name of the DEFAULT partition of ``table``."""
    _check_table(table)
    return f"{table}_default"


def _exists(conn: Connection, relation: str) -> bool:
    return bool(
        conn.execute(text("SELECT to_regclass(:r) IS NOT NULL"), {"r": relation}).scalar_one()
    )


def _columns(conn: Connection, table: str) -> list[str]:
    rows = conn.execute(
        text(
            "SELECT attname FROM pg_attribute WHERE attrelid = CAST(:t AS regclass) "
            "AND attnum > 0 AND NOT attisdropped ORDER BY attnum"
        ),
        {"t": table},
    ).scalars()
    return [f'"{name}"' for name in rows]


def create_month_partition(conn: Connection, table: str, month: date) -> bool:
    """Create the partition of ``table`` for ``month`` in the caller's transaction.

    Rows of that month already in the default partition are moved into the new partition.
    Returns False if the partition already existed. PostgreSQL only.
    """
    column = _check_table(table)
    month = date(month.year, month.month, 1)
    name = partition_name(table, month)
    if _exists(conn, name):
        return False
    conn.execute(
        text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"riskdesk.partition.{table}"}
    )
    if _exists(conn, name):
        return False
    lo, hi = month_bounds(month)
    bounds = f"FROM ('{lo.isoformat()}') TO ('{hi.isoformat()}')"
    default = default_partition_name(table)
    window = {"lo": lo, "hi": hi}
    has_rows = (
        _exists(conn, default)
        and conn.execute(
            text(
                f'SELECT EXISTS (SELECT 1 FROM {default} WHERE "{column}" >= :lo AND "{column}" < :hi)'
            ),
            window,
        ).scalar_one()
    )
    if not has_rows:
        conn.exec_driver_sql(f"CREATE TABLE {name} PARTITION OF {table} FOR VALUES {bounds}")
        log.info("created partition %s", name)
        return True
    cols = ", ".join(_columns(conn, table))
    conn.exec_driver_sql(
        f"CREATE TABLE {name} (LIKE {table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"
    )
    moved = conn.execute(
        text(
            f'WITH moved AS (DELETE FROM {default} WHERE "{column}" >= :lo AND "{column}" < :hi '
            f"RETURNING {cols}) INSERT INTO {name} ({cols}) SELECT {cols} FROM moved"
        ),
        window,
    ).rowcount
    conn.exec_driver_sql(f"ALTER TABLE {table} ATTACH PARTITION {name} FOR VALUES {bounds}")
    log.info("created partition %s, moved %d rows out of %s", name, moved, default)
    return True


def _ensure_in(conn: Connection, table: str, months: list[date], lock_timeout_ms: int) -> list[str]:
    created: list[str] = []
    previous = conn.execute(text("SELECT current_setting('lock_timeout')")).scalar_one()
    conn.execute(
        text("SELECT set_config('lock_timeout', :v, true)"), {"v": f"{int(lock_timeout_ms)}ms"}
    )
    try:
        for month in months:
            if _exists(conn, partition_name(table, month)):
                continue
            try:
                with conn.begin_nested():
                    if create_month_partition(conn, table, month):
                        created.append(partition_name(table, month))
            except sa_exc.ProgrammingError as exc:
                if getattr(exc.orig, "sqlstate", None) != "42P07":  # duplicate_table
                    raise
                # another writer created it between the check and the CREATE: it exists
            except sa_exc.OperationalError as exc:
                if getattr(exc.orig, "sqlstate", None) != "55P03":  # lock_not_available
                    raise
                log.warning(
                    "partition %s not created (lock busy); rows go to %s until rehome_default_rows",
                    partition_name(table, month),
                    default_partition_name(table),
                )
    finally:
        conn.execute(text("SELECT set_config('lock_timeout', :v, true)"), {"v": previous})
    return created


def ensure_month_partitions(
    bind: Engine | Connection,
    table: str,
    timestamps: Iterable[datetime],
    *,
    lock_timeout_ms: int = 2000,
) -> list[str]:
    """Create the month partitions of ``table`` that rows at ``timestamps`` need.

    With an :class:`~sqlalchemy.engine.Engine` the partitions are created and committed in a
    transaction of their own (preferred: the partition lock is held briefly); with a
    :class:`~sqlalchemy.engine.Connection` they are created inside its transaction, within a
    savepoint. Returns the names of the partitions created. No-op on SQLite.
    """
    _check_table(table)
    if bind.dialect.name != "postgresql":
        return []
    months = sorted({month_of(ts) for ts in timestamps})
    if not months:
        return []
    if isinstance(bind, Engine):
        with bind.begin() as conn:
            return _ensure_in(conn, table, months, lock_timeout_ms)
    return _ensure_in(bind, table, months, lock_timeout_ms)


def list_partitions(bind: Engine | Connection, table: str) -> list[str]:
    """Names of the partitions of ``table`` (sorted; the default partition included)."""
    _check_table(table)
    if bind.dialect.name != "postgresql":
        return []
    query = text(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = CAST(:t AS regclass) ORDER BY c.relname"
    )
    if isinstance(bind, Engine):
        with bind.connect() as conn:
            return list(conn.execute(query, {"t": table}).scalars())
    return list(bind.execute(query, {"t": table}).scalars())


def _rehome(conn: Connection, tables: list[str]) -> dict[str, int]:
    moved: dict[str, int] = {}
    for table in tables:
        column = PARTITIONED_TABLES[table]
        default = default_partition_name(table)
        if not _exists(conn, default):
            continue
        rows = conn.execute(
            text(
                f"SELECT date_trunc('month', \"{column}\" AT TIME ZONE 'UTC') AS m, count(*) "
                f"FROM {default} GROUP BY m ORDER BY m"
            )
        ).all()
        for month_start, count in rows:
            month = date(month_start.year, month_start.month, 1)
            if _exists(conn, partition_name(table, month)):
                # Cannot happen through this module (a month partition takes its rows out of
                # the default one when created); report it rather than guess.
                raise RuntimeError(
                    f"{default} holds rows of existing partition {partition_name(table, month)}"
                )
            create_month_partition(conn, table, month)
            moved[partition_name(table, month)] = int(count)
    return moved


def rehome_default_rows(bind: Engine | Connection, table: str | None = None) -> dict[str, int]:
    """Move rows out of the default partition(s) into month partitions, creating them.

    Returns ``{partition name: rows moved}``. No-op on SQLite.
    """
    tables = [table] if table is not None else sorted(PARTITIONED_TABLES)
    for name in tables:
        _check_table(name)
    if bind.dialect.name != "postgresql":
        return {}
    if isinstance(bind, Engine):
        with bind.begin() as conn:
            return _rehome(conn, tables)
    return _rehome(bind, tables)
