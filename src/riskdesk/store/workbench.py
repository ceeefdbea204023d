"""Repositories of the seed-000 workbench: domain objects in, rows out, and back.

Every function takes the session of the caller's :class:`~riskdesk.store.uow.UnitOfWork`
(keyword-only arguments after it) and never commits: the unit of work owns the transaction.

Hash-keyed rows (snapshots, trade versions, model configs, scenario grids, option contracts,
evaluations) are written get-or-create: saving the same content twice returns the existing
row, and a changed content has a new hash and therefore a new row. Get-or-create is safe
against concurrent writers on both backends: the insert runs in a savepoint, and a unique
violation (another transaction stored the same content first) returns the row it stored. Snapshots are rebuilt exactly, so
``load_snapshot(...).snapshot_hash`` equals the stored ``snapshot_hash`` (tested on both
backends).
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import String, Table, cast, delete, exists, func, insert, or_, select, update
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, selectinload

from riskdesk.domain import instruments as dom_instruments
from riskdesk.domain import market as dom_market
from riskdesk.domain.configs import ModelConfig, ScenarioGrid
from riskdesk.domain.hashing import CANONICAL_FORMAT_VERSION, canonical_json
from riskdesk.domain.option_table import OptionTable
from riskdesk.domain.trades import DraftLeg, Leg, TradeDraft, TradeRefType, TradeVersion
from riskdesk.store import _snapshot_rows
from riskdesk.store import models as m
from riskdesk.store._snapshot_rows import bulk_insert
from riskdesk.store.errors import StoreError, WriteConflictError
from riskdesk.store.limits import check_text_lengths
from riskdesk.store.paging import KeysetPage, PageKey, keyset_page
from riskdesk.store.partitions import ensure_month_partitions
from riskdesk.store.timeseries import insert_rows
from riskdesk.store.types import new_id, utc_now

__all__ = [
    "AmbiguousReferenceError",
    "EvaluationKey",
    "NotFoundError",
    "StoredDraft",
    "delete_draft",
    "find_analytics_result",
    "find_model_config",
    "find_scenario_grid",
    "get_attribution",
    "get_model_config",
    "get_or_create_model_config",
    "get_or_create_scenario_grid",
    "get_scenario_grid",
    "list_drafts",
    "list_model_configs",
    "list_scenario_grids",
    "list_snapshots",
    "list_trade_commits",
    "list_trade_versions",
    "load_draft",
    "load_snapshot",
    "load_trade_version",
    "newest_snapshot_with",
    "output_digest",
    "page_snapshots",
    "page_trade_versions",
    "prepare_partitions",
    "record_commit",
    "resolve_snapshot",
    "resolve_trade_version",
    "save_analytics_result",
    "save_attribution",
    "save_draft",
    "save_model_config",
    "save_scenario_grid",
    "save_snapshot",
    "save_trade_version",
    "verified_output",
    "version_visible",
]


_HEX_REF = re.compile(r"[0-9a-f-]+")
MIN_REF_CHARS = 4
"""Shortest id or hash prefix accepted as a reference (hex digits, hyphens not counted)."""

RowT = TypeVar("RowT")


def _get_or_insert(
    session: Session, lookup: Callable[[], RowT | None], make: Callable[[], RowT]
) -> tuple[RowT, bool]:
    """``(existing row, False)``, or ``(new row, True)`` after inserting ``make()``.

    The insert runs in a savepoint: if a concurrent transaction stored the same unique key
    first, the unique violation rolls back the savepoint only and the row it stored is
    returned, so two writers of the same content both succeed and one row exists.
    """
    existing = lookup()
    if existing is not None:
        return existing, False
    row = make()
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except sa_exc.IntegrityError:
        existing = lookup()
        if existing is None:
            raise
        return existing, False
    return row, True


class NotFoundError(StoreError, LookupError):
    """No row matches the reference given."""


class AmbiguousReferenceError(StoreError, LookupError):
    """A short hash or id prefix matches more than one row."""


def _check_hash_format(row: m.MarketSnapshot | m.TradeVersion, what: str) -> None:
    """Refuse to verify a row whose hash was computed in another canonical-form version."""
    if row.hash_format != CANONICAL_FORMAT_VERSION:
        raise StoreError(
            f"{what} was hashed under canonical format v{row.hash_format}; this riskdesk "
            f"computes v{CANONICAL_FORMAT_VERSION} hashes: run `riskdesk db upgrade` with the "
            "riskdesk version that migrates it"
        )


def _clip(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else f"{text[: limit - 3]}..."


def _dec(value: Decimal | None) -> Decimal | None:
    return None if value is None else Decimal(value)


# -- option contracts ----------------------------------------------------------------------


_Identity = dom_market.ContractIdentity
"""Everything that tells two listed contracts apart (the ``uq_option_contracts_identity`` key)."""
_contract_identity = dom_market.contract_identity


def _contract_from_row(row: m.OptionContract) -> dom_instruments.OptionContract:
    return dom_instruments.OptionContract(
        underlying=row.underlying_symbol,
        expiry=row.expiry,
        strike=Decimal(row.strike),
        right=dom_instruments.OptionRight(row.right),
        style=dom_instruments.ExerciseStyle(row.style),
        settlement=dom_instruments.Settlement(row.settlement),
        multiplier=row.multiplier,
        currency=row.currency,
    )


def _contract_ids(
    session: Session, contracts: Iterable[dom_instruments.OptionContract]
) -> dict[_Identity, uuid.UUID]:
    """Ids of the ``option_contracts`` rows of ``contracts``, inserting the missing ones.

    One SELECT per underlying and one bulk INSERT ... ON CONFLICT DO NOTHING, as plain rows
    (chains have thousands); contracts a concurrent writer inserted first are read back.
    """
    wanted: dict[_Identity, dom_instruments.OptionContract] = {}
    for contract in contracts:
        wanted.setdefault(_contract_identity(contract), contract)
    found = _find_contract_ids(session, wanted)
    missing = {key: c for key, c in wanted.items() if key not in found}
    if missing:
        new = list(missing.values())
        ids = [new_id() for _ in new]
        now = utc_now()
        columns: dict[str, list[Any]] = {
            "option_contract_id": ids,
            "underlying_symbol": [c.underlying for c in new],
            "expiry": [c.expiry for c in new],
            "strike": [c.strike for c in new],
            "right": [c.right.value for c in new],
            "style": [c.style.value for c in new],
            "settlement": [c.settlement.value for c in new],
            "multiplier": [c.multiplier for c in new],
            "currency": [c.currency for c in new],
            "contract_key": [c.key for c in new],
            "created_at": [now] * len(new),
        }
        stored = bulk_insert(
            session,
            _table(m.OptionContract),
            list(columns),
            list(columns.values()),
            skip_duplicates=True,
        )
        if stored == len(new):  # every row is ours: no concurrent writer stored one first
            found.update(zip(missing, ids, strict=True))
        else:
            found.update(_find_contract_ids(session, missing))
        lost = [c.key for key, c in missing.items() if key not in found]
        if lost:  # pragma: no cover - a row skipped as duplicate is always readable
            raise StoreError(f"option contracts {lost[:3]} could not be stored or read back")
    return found


def _find_contract_ids(
    session: Session, wanted: dict[_Identity, dom_instruments.OptionContract]
) -> dict[_Identity, uuid.UUID]:
    found: dict[_Identity, uuid.UUID] = {}
    oc = m.OptionContract
    for underlying in sorted({key[0] for key in wanted}):
        expiries = sorted({key[1] for key in wanted if key[0] == underlying})
        rows = session.execute(
            select(
                oc.option_contract_id,
                oc.expiry,
                oc.strike,
                oc.right,
                oc.settlement,
                oc.multiplier,
                oc.style,
                oc.currency,
            ).where(oc.underlying_symbol == underlying, oc.expiry.in_(expiries))
        )
        for r in rows:
            key = (
                underlying,
                r.expiry,
                Decimal(r.strike).normalize(),
                r.right,
                r.settlement,
                r.multiplier,
                r.style,
                r.currency,
            )
            if key in wanted:
                found[key] = r.option_contract_id
    return found


# -- market snapshots ----------------------------------------------------------------------


def save_snapshot(
    session: Session, *, snapshot: dom_market.MarketSnapshot
) -> tuple[m.MarketSnapshot, bool]:
    """Store ``snapshot`` with its quotes; returns ``(row, created)``.

    A snapshot whose hash is already stored is not written again (``created`` is False),
    also when a concurrent writer stores it first. The option quotes are written column-wise
    from their Arrow columns (a tuple of quotes through ``OptionTable.from_quotes``), sorted
    by contract: contracts resolved and inserted in bulk, quote rows by ``executemany``
    (SQLite) or ``COPY`` (PostgreSQL), see :func:`_snapshot_rows.write_option_quotes`; and
    the same columns as one Arrow IPC stream (``snapshot_option_columns``), which loads read.
    """

    def stored(digest: str) -> m.MarketSnapshot | None:
        return session.scalar(
            select(m.MarketSnapshot).where(m.MarketSnapshot.snapshot_hash == digest)
        )

    if snapshot._hash is not None and (known := stored(snapshot._hash)) is not None:
        return known, False  # hash known (a loaded snapshot): nothing to prepare
    options = _snapshot_rows.sorted_options(_snapshot_rows.option_columns(snapshot))
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="riskdesk-snapshot") as pool:
        # The hash and the IPC stream (Arrow compute, zstd and SHA-256, which release the
        # GIL) are computed while the contracts are resolved and inserted: those depend on
        # the quotes only, not on the snapshot row, and a snapshot already stored has them.
        hashing = pool.submit(_known_hash, snapshot, options)
        encoding = pool.submit(_snapshot_rows.encode_option_columns, options)
        contract_ids = (
            _snapshot_rows.contract_id_text(session, options, _table(m.OptionContract))
            if len(options)
            else None
        )
        snapshot_hash = hashing.result()
        data, data_sha256 = encoding.result()
    row, created = _get_or_insert(
        session,
        lambda: stored(snapshot_hash),
        lambda: m.MarketSnapshot(
            snapshot_hash=snapshot_hash,
            symbol=snapshot.symbol[:255],
            mode=snapshot.mode.value,
            as_of=snapshot.as_of,
            source=snapshot.source,
            overrides_json=_plain(snapshot.overrides.to_dict()),
            diagnostics_json=_plain(dict(snapshot.diagnostics)),
        ),
    )
    if not created:
        return row, False
    insert_rows(
        session,
        m.SnapshotUnderlyingQuote,
        [
            {
                "id": new_id(),
                "snapshot_id": row.snapshot_id,
                "symbol": quote.symbol,
                "spot": quote.spot,
                "bid": quote.bid,
                "ask": quote.ask,
                "last": quote.last,
                "provider_timestamp": quote.provider_timestamp,
                "receive_timestamp": quote.receive_timestamp,
            }
            for quote in snapshot.underlyings
        ],
        skip_duplicates=False,
    )
    if contract_ids is not None:
        _snapshot_rows.write_option_quotes(
            session,
            row.snapshot_id,
            options,
            contract_ids=contract_ids,
            quote_table=_table(m.SnapshotOptionQuote),
        )
    session.execute(
        insert(m.SnapshotOptionColumns),
        {
            "snapshot_id": row.snapshot_id,
            "data_format": _snapshot_rows.COLUMNS_FORMAT,
            "row_count": len(options),
            "data_sha256": data_sha256,
            "data": data,
        },
    )
    return row, True


def _known_hash(snapshot: dom_market.MarketSnapshot, options: pa.Table) -> str:
    """``snapshot.snapshot_hash``, computed column-wise (:func:`_snapshot_rows.snapshot_hash`).

    The digest is the domain's (same canonical bytes); it is kept on the snapshot as the
    domain would cache it, so later reads of ``snapshot_hash`` do not compute it again.
    ``options`` is the snapshot's option columns sorted by contract
    (:func:`_snapshot_rows.sorted_options`).
    """
    cached = snapshot._hash  # the domain's once-per-object cache of this same value
    if cached is not None:
        return cached
    digest = _snapshot_rows.snapshot_hash(snapshot, options=options, presorted=True)
    object.__setattr__(snapshot, "_hash", digest)
    return digest


def _plain(value: Any) -> Any:
    """JSON-ready plain value in canonical form (Decimals as strings, datetimes ISO UTC)."""
    import json

    return json.loads(canonical_json(value))


def _overrides_from_json(data: dict[str, Any]) -> dom_market.MarketOverrides:
    dividends = {
        symbol: tuple(
            dom_market.DiscreteDividend(
                ex_date=date.fromisoformat(item["ex_date"]), amount=Decimal(str(item["amount"]))
            )
            for item in items
        )
        for symbol, items in (data.get("dividends") or {}).items()
    }
    return dom_market.MarketOverrides(
        rate=float(data.get("rate", 0.0)),
        dividend_yield={k: float(v) for k, v in (data.get("dividend_yield") or {}).items()},
        borrow_rate={k: float(v) for k, v in (data.get("borrow_rate") or {}).items()},
        dividends=dividends,
    )


def load_snapshot(session: Session, *, snapshot_id: uuid.UUID) -> dom_market.MarketSnapshot:
    """Rebuild the domain snapshot stored under ``snapshot_id`` (hash verified).

    The option quotes come back as an :class:`~riskdesk.domain.option_table.OptionTable`
    in ``contract.sort_key`` order, decoded from the snapshot's Arrow IPC copy (checked
    against its SHA-256) or, for a snapshot stored before that copy existed, read from its
    rows column-wise (:func:`_snapshot_rows.read_option_quotes`: no object per row). The
    snapshot hash is verified on the columns either way.
    """
    row = session.get(m.MarketSnapshot, snapshot_id)
    if row is None:
        raise NotFoundError(f"no market snapshot with id {snapshot_id}")
    uq = m.SnapshotUnderlyingQuote
    underlyings = tuple(
        dom_market.UnderlyingQuote(
            symbol=q.symbol,
            spot=Decimal(q.spot),
            bid=_dec(q.bid),
            ask=_dec(q.ask),
            last=_dec(q.last),
            provider_timestamp=q.provider_timestamp,
            receive_timestamp=q.receive_timestamp,
        )
        for q in session.execute(
            select(
                uq.symbol,
                uq.spot,
                uq.bid,
                uq.ask,
                uq.last,
                uq.provider_timestamp,
                uq.receive_timestamp,
            )
            .where(uq.snapshot_id == snapshot_id)
            .order_by(uq.symbol)
        )
    )
    options = OptionTable.from_arrow(_stored_option_columns(session, row))
    snapshot = dom_market.MarketSnapshot(
        as_of=row.as_of,
        mode=dom_market.SnapshotMode(row.mode),
        source=row.source,
        underlyings=underlyings,
        options=options,
        overrides=_overrides_from_json(row.overrides_json or {}),
        diagnostics=row.diagnostics_json or {},
    )
    _check_hash_format(row, f"market snapshot {row.snapshot_id}")
    rebuilt = _snapshot_rows.snapshot_hash(snapshot, presorted=True)  # read in key order
    object.__setattr__(snapshot, "_hash", rebuilt)
    if rebuilt != row.snapshot_hash:
        raise StoreError(
            f"market snapshot {row.snapshot_id} does not match its stored hash "
            f"{row.snapshot_hash[:12]} (rebuilt {rebuilt[:12]}): the rows were "
            "altered outside riskdesk"
        )
    return snapshot


def _stored_option_columns(session: Session, row: m.MarketSnapshot) -> pa.Table:
    """The snapshot's option quotes sorted by contract: its Arrow IPC copy, else its rows.

    The copy (``snapshot_option_columns``) is checked against its SHA-256 and row count
    before it is decoded; a snapshot stored before that table existed, or whose copy has
    another column layout, is read from its quote rows. The caller verifies the snapshot
    hash over the result either way.
    """
    oc = m.SnapshotOptionColumns
    stored = session.execute(
        select(oc.data_format, oc.row_count, oc.data_sha256, oc.data).where(
            oc.snapshot_id == row.snapshot_id
        )
    ).one_or_none()
    if stored is not None and stored.data_format == _snapshot_rows.COLUMNS_FORMAT:
        try:
            table = _snapshot_rows.decode_option_columns(
                bytes(stored.data), sha256=stored.data_sha256, rows=stored.row_count
            )
        except _snapshot_rows.ColumnsMismatchError as exc:
            raise StoreError(
                f"the stored option columns of market snapshot {row.snapshot_id} are "
                f"damaged ({exc}): they were altered outside riskdesk"
            ) from exc
        if table is not None:
            return table
    return _snapshot_rows.read_option_quotes(session, row.snapshot_id)


def prepare_partitions(engine: Engine, *, snapshot: dom_market.MarketSnapshot) -> None:
    """Create the PostgreSQL month partitions ``snapshot``'s quotes need (no-op on SQLite).

    Call it before the unit of work that saves the snapshot: creating a partition locks the
    tables its foreign keys point at, which a transaction that already wrote a snapshot row
    would hold.
    """
    if engine.dialect.name != "postgresql":
        return
    stamps = [q.receive_timestamp for q in snapshot.underlyings]
    ensure_month_partitions(engine, m.SnapshotUnderlyingQuote.__tablename__, stamps)
    stamp_column = _snapshot_rows.option_columns(snapshot).column("receive_timestamp")
    option_stamps = sorted(pc.unique(stamp_column).to_pylist())
    if option_stamps:
        ensure_month_partitions(engine, m.SnapshotOptionQuote.__tablename__, option_stamps)


def _resolve(
    session: Session,
    model: Any,
    id_col: Any,
    hash_col: Any | None,
    ref: str,
    what: str,
    *,
    scope: Sequence[Any] = (),
) -> Any:
    """The one row of ``model`` whose id (or hash) is or starts with ``ref``.

    ``scope`` holds extra conditions a row must meet (an owner filter): a row outside it is
    reported exactly like a missing one, so the error never confirms that it exists.
    """
    ref = ref.strip().lower()
    if not ref:
        raise NotFoundError(f"empty {what} reference")
    try:
        as_uuid = uuid.UUID(ref)
    except ValueError:
        as_uuid = None
    if as_uuid is not None:
        row = (
            session.scalar(select(model).where(id_col == as_uuid, *scope))
            if scope
            else session.get(model, as_uuid)
        )
        if row is not None:
            return row
    if not _HEX_REF.fullmatch(ref):
        raise NotFoundError(
            f"{what} reference {_clip(ref)!r} is not an id or hash prefix (hex digits and '-' only)"
        )
    # ids compare without hyphens: PostgreSQL's uuid text has them, SQLite stores bare hex
    key = ref.replace("-", "")
    if len(key) < MIN_REF_CHARS:
        raise NotFoundError(
            f"{what} reference {ref!r} is too short: give at least {MIN_REF_CHARS} hex "
            "characters of an id or hash"
        )
    conditions = [func.replace(cast(id_col, String), "-", "").like(f"{key}%")]
    if hash_col is not None:
        conditions.append(hash_col.like(f"{key}%"))
    rows = list(session.scalars(select(model).where(or_(*conditions), *scope).limit(3)))
    if not rows:
        raise NotFoundError(f"no {what} matches {ref!r} (give an id or a hash prefix)")
    if len(rows) > 1:
        raise AmbiguousReferenceError(
            f"{what} reference {ref!r} is ambiguous; give more characters"
        )
    return rows[0]


def resolve_snapshot(session: Session, *, ref: str) -> m.MarketSnapshot:
    """The snapshot row whose id or hash starts with ``ref``, or ``latest``.

    ``latest`` is the snapshot with the newest market time (``as_of``); of several with the
    same market time, the one stored last.
    """
    if ref.strip().lower() == "latest":
        row = session.scalar(
            select(m.MarketSnapshot)
            .order_by(m.MarketSnapshot.as_of.desc(), m.MarketSnapshot.created_at.desc())
            .limit(1)
        )
        if row is None:
            raise NotFoundError("there is no market snapshot yet: run `riskdesk snapshot create`")
        return row
    result: m.MarketSnapshot = _resolve(
        session,
        m.MarketSnapshot,
        m.MarketSnapshot.snapshot_id,
        m.MarketSnapshot.snapshot_hash,
        ref,
        "market snapshot",
    )
    return result


def list_snapshots(session: Session, *, limit: int = 20) -> list[m.MarketSnapshot]:
    """The newest snapshots first."""
    return list(page_snapshots(session, after=None, limit=limit).items)


def page_snapshots(
    session: Session, *, after: PageKey | None, limit: int
) -> KeysetPage[m.MarketSnapshot]:
    """One page of snapshots, newest stored first (keyset on ``(created_at, id)``)."""
    return keyset_page(
        session,
        select(m.MarketSnapshot),
        created_at=m.MarketSnapshot.created_at,
        id_=m.MarketSnapshot.snapshot_id,
        after=after,
        limit=limit,
    )


def newest_snapshot_with(
    session: Session, *, symbol: str, mode: dom_market.SnapshotMode | None = None
) -> m.MarketSnapshot:
    """The snapshot with the newest market time (``as_of``) that quotes ``symbol``.

    ``mode`` restricts it to LIVE or PINNED snapshots; of several with the same market time,
    the one stored last wins.

    Raises
    ------
    NotFoundError
        When no stored snapshot (of ``mode``) quotes ``symbol``.

    """
    uq = m.SnapshotUnderlyingQuote
    ms = m.MarketSnapshot
    statement = select(ms).where(
        exists().where(uq.snapshot_id == ms.snapshot_id, uq.symbol == symbol)
    )
    if mode is not None:
        statement = statement.where(ms.mode == mode.value)
    row = session.scalar(statement.order_by(ms.as_of.desc(), ms.created_at.desc()).limit(1))
    if row is None:
        kind = "" if mode is None else f"{mode.value} "
        raise NotFoundError(
            f"no {kind}market snapshot quotes {symbol!r}: create one with POST /v1/snapshots "
            "(or `riskdesk snapshot create`)"
        )
    return row


# -- trade drafts --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StoredDraft:
    """A draft as stored: its id and the domain draft (``rev`` as in the database)."""

    draft_id: uuid.UUID
    draft: TradeDraft
    owner_id: uuid.UUID | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


def _leg_from_row(row: m.TradeDraftLeg) -> Leg:
    instrument: dom_instruments.Instrument
    if row.option_contract is not None:
        instrument = _contract_from_row(row.option_contract)
    else:
        instrument = dom_instruments.Stock(symbol=row.symbol or "")
    return Leg(
        instrument=instrument,
        quantity=Decimal(row.signed_qty),
        entry_price=Decimal(row.entry_price if row.entry_price is not None else 0),
        fees=Decimal(row.fees),
        include=bool(row.include_flag),
    )


def _draft_row(
    session: Session,
    draft_id: uuid.UUID,
    *,
    for_update: bool = False,
    scope: Sequence[Any] = (),
) -> m.TradeDraft:
    statement = (
        select(m.TradeDraft)
        .where(m.TradeDraft.trade_draft_id == draft_id, *scope)
        .options(selectinload(m.TradeDraft.legs).selectinload(m.TradeDraftLeg.option_contract))
        .execution_options(populate_existing=True)
    )
    if for_update:
        # PostgreSQL: a second editor waits here until the first commits, then reads its
        # result (SQLite serialises writers at BEGIN IMMEDIATE and ignores FOR UPDATE).
        statement = statement.with_for_update(of=m.TradeDraft)
    row = session.scalar(statement)
    if row is None:
        raise NotFoundError(f"no trade draft with id {draft_id}")
    return row


def _draft_scope(owner_id: uuid.UUID | None) -> list[Any]:
    return [] if owner_id is None else [m.TradeDraft.owner_id == owner_id]


def load_draft(
    session: Session, *, ref: str, for_update: bool = False, owner_id: uuid.UUID | None = None
) -> StoredDraft:
    """The draft whose id starts with ``ref``, as a domain :class:`TradeDraft`.

    ``for_update`` locks the draft row until the transaction ends (PostgreSQL), for a
    read-modify-write of the draft. With ``owner_id`` only that user's drafts match: another
    user's draft raises the very :class:`NotFoundError` a missing one does.
    """
    scope = _draft_scope(owner_id)
    try:
        full_id: uuid.UUID | None = uuid.UUID(ref.strip())
    except ValueError:
        full_id = None
    if full_id is not None:
        # a full id: one statement (draft, legs, contracts), no separate resolve
        try:
            return _stored_draft(_draft_row(session, full_id, for_update=for_update, scope=scope))
        except NotFoundError:
            pass  # fall through: the same error as for a prefix that matches nothing
    found: m.TradeDraft = _resolve(
        session,
        m.TradeDraft,
        m.TradeDraft.trade_draft_id,
        None,
        ref,
        "trade draft",
        scope=scope,
    )
    row = _draft_row(session, found.trade_draft_id, for_update=for_update)
    return _stored_draft(row)


def _stored_draft(row: m.TradeDraft) -> StoredDraft:
    legs = [DraftLeg(leg_id=str(leg.leg_id), leg=_leg_from_row(leg)) for leg in _ordered(row.legs)]
    return StoredDraft(
        row.trade_draft_id,
        TradeDraft(row.name, rev=row.rev, legs=legs),
        owner_id=row.owner_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def list_drafts(
    session: Session, *, owner_id: uuid.UUID | None, after: PageKey | None, limit: int
) -> KeysetPage[StoredDraft]:
    """One page of drafts (only ``owner_id``'s when given), newest first, legs loaded."""
    page = keyset_page(
        session,
        select(m.TradeDraft)
        .where(*_draft_scope(owner_id))
        .options(selectinload(m.TradeDraft.legs).selectinload(m.TradeDraftLeg.option_contract)),
        created_at=m.TradeDraft.created_at,
        id_=m.TradeDraft.trade_draft_id,
        after=after,
        limit=limit,
    )
    return KeysetPage([_stored_draft(row) for row in page.items], page.next_key)


def delete_draft(session: Session, *, draft_id: uuid.UUID, expected_rev: int) -> None:
    """Delete the draft and its legs, if it is still at ``expected_rev``.

    Raises
    ------
    WriteConflictError
        When another edit saved the draft after it was loaded at ``expected_rev``.

    """
    drafts = _table(m.TradeDraft)
    legs_table = _table(m.TradeDraftLeg)
    session.execute(delete(legs_table).where(legs_table.c.trade_draft_id == draft_id))
    result = session.execute(
        delete(drafts).where(drafts.c.trade_draft_id == draft_id, drafts.c.rev == expected_rev)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise WriteConflictError(
            f"trade draft {draft_id} changed since it was loaded at rev {expected_rev} "
            "(another edit saved it first); reload it and delete it again"
        )
    for obj in list(session.identity_map.values()):
        if isinstance(obj, m.TradeDraft | m.TradeDraftLeg):
            session.expunge(obj)


def _ordered(legs: Sequence[m.TradeDraftLeg]) -> list[m.TradeDraftLeg]:
    return sorted(legs, key=lambda leg: (leg.position, leg.created_at, str(leg.leg_id)))


def _leg_values(
    leg: Leg, position: int, contract_ids: dict[_Identity, uuid.UUID]
) -> dict[str, Any]:
    instrument = leg.instrument
    is_option = isinstance(instrument, dom_instruments.OptionContract)
    return {
        "option_contract_id": contract_ids[_contract_identity(instrument)] if is_option else None,  # type: ignore[arg-type]
        "symbol": None if is_option else instrument.symbol,
        "signed_qty": leg.quantity,
        "entry_price": leg.entry_price,
        "fees": leg.fees,
        "include_flag": leg.include,
        "position": position,
    }


def save_draft(
    session: Session,
    *,
    draft: TradeDraft,
    draft_id: uuid.UUID | None = None,
    expected_rev: int | None = None,
    owner_id: uuid.UUID | None = None,
) -> StoredDraft:
    """Insert a new draft (``draft_id`` None) or write ``draft`` over the stored one.

    Writing over a stored draft is optimistic: ``expected_rev`` is the revision the caller
    loaded, and the save moves the stored ``rev`` from exactly that value to the next one
    (one UPDATE ... WHERE rev = expected_rev, before any leg is touched). If another writer
    saved the draft in between, nothing is written and :class:`WriteConflictError` is raised,
    so legs the caller never saw are never deleted. Legs are stored in the draft's order.
    ``owner_id`` is the owner of a new draft (None: the local desktop user); a stored draft
    keeps its owner.
    """
    drafts = _table(m.TradeDraft)
    legs_table = _table(m.TradeDraftLeg)
    now = utc_now()
    check_text_lengths(drafts, [{"name": draft.name}])
    if draft_id is None:
        draft_id = new_id()
        session.execute(
            insert(drafts).values(
                trade_draft_id=draft_id,
                name=draft.name,
                rev=1,
                owner_id=owner_id,
                created_at=now,
                updated_at=now,
            )
        )
        rev = 1
        stored: dict[str, dict[str, Any]] = {}
    else:
        if expected_rev is None:
            raise ValueError("save_draft over a stored draft needs expected_rev (the rev loaded)")
        result = session.execute(
            update(drafts)
            .where(drafts.c.trade_draft_id == draft_id, drafts.c.rev == expected_rev)
            .values(rev=expected_rev + 1, name=draft.name, updated_at=now)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise WriteConflictError(
                f"trade draft {draft_id} changed since it was loaded at rev {expected_rev} "
                "(another edit saved it first); reload it and apply the edit again"
            )
        rev = expected_rev + 1
        columns = ("option_contract_id", "symbol", "signed_qty", "entry_price", "fees")
        stored = {
            str(r.leg_id): dict(r._mapping)
            for r in session.execute(
                select(
                    legs_table.c.leg_id,
                    legs_table.c.include_flag,
                    legs_table.c.position,
                    *(legs_table.c[c] for c in columns),
                ).where(legs_table.c.trade_draft_id == draft_id)
            )
        }
    keep = {item.leg_id for item in draft.legs}
    removed = [uuid.UUID(leg_id) for leg_id in stored if leg_id not in keep]
    if removed:
        session.execute(delete(legs_table).where(legs_table.c.leg_id.in_(removed)))
    contract_ids = _contract_ids(
        session,
        (
            i.leg.instrument
            for i in draft.legs
            if isinstance(i.leg.instrument, dom_instruments.OptionContract)
        ),
    )
    new_rows: list[dict[str, Any]] = []
    for position, item in enumerate(draft.legs):
        values = _leg_values(item.leg, position, contract_ids)
        old = stored.get(item.leg_id)
        if old is None:
            new_rows.append(
                values
                | {
                    "leg_id": uuid.UUID(item.leg_id),
                    "trade_draft_id": draft_id,
                    "created_at": now,
                }
            )
        elif any(_differs(old[k], v) for k, v in values.items()):
            session.execute(
                update(legs_table)
                .where(legs_table.c.leg_id == uuid.UUID(item.leg_id))
                .values(**values)
            )
    if new_rows:
        check_text_lengths(legs_table, new_rows)
        session.execute(insert(legs_table), new_rows)
    # ORM copies of this draft loaded earlier in the session are now stale
    for obj in list(session.identity_map.values()):
        if isinstance(obj, m.TradeDraft | m.TradeDraftLeg):
            session.expire(obj)
    return StoredDraft(
        draft_id, TradeDraft(draft.name, rev=rev, legs=draft.legs), owner_id=owner_id
    )


def _table(model: type[m.Base]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


def _differs(old: Any, new: Any) -> bool:
    if isinstance(new, Decimal) and old is not None:
        return Decimal(old) != new
    return bool(old != new)


# -- trade versions ------------------------------------------------------------------------


def save_trade_version(session: Session, *, version: TradeVersion) -> tuple[m.TradeVersion, bool]:
    """Store ``version`` under its hash; returns ``(row, created)`` (concurrency-safe)."""
    return _get_or_insert(
        session,
        lambda: session.scalar(
            select(m.TradeVersion).where(m.TradeVersion.trade_hash == version.trade_hash)
        ),
        lambda: m.TradeVersion(
            trade_hash=version.trade_hash, name=version.name, trade_json=version.to_json_dict()
        ),
    )


def load_trade_version(session: Session, *, row: m.TradeVersion) -> TradeVersion:
    """Rebuild the domain version from its row (hash verified by the domain object)."""
    _check_hash_format(row, f"trade version {row.trade_version_id}")
    version = TradeVersion.from_json_dict(row.trade_json)
    if version.trade_hash != row.trade_hash:
        raise StoreError(
            f"trade version {row.trade_version_id} does not match its stored hash "
            f"{row.trade_hash[:12]}: the row was altered outside riskdesk"
        )
    return version


def _version_scope(owner_id: uuid.UUID | None) -> list[Any]:
    if owner_id is None:
        return []
    tc = m.TradeCommit
    return [
        exists().where(
            tc.trade_version_id == m.TradeVersion.trade_version_id, tc.owner_id == owner_id
        )
    ]


def resolve_trade_version(
    session: Session, *, ref: str, owner_id: uuid.UUID | None = None
) -> m.TradeVersion:
    """The version whose id or hash starts with ``ref``.

    With ``owner_id`` only versions that user committed match (versions are shared by
    content; a ``trade_commits`` row makes one a user's); any other raises the
    :class:`NotFoundError` of a missing version.
    """
    result: m.TradeVersion = _resolve(
        session,
        m.TradeVersion,
        m.TradeVersion.trade_version_id,
        m.TradeVersion.trade_hash,
        ref,
        "trade version",
        scope=_version_scope(owner_id),
    )
    return result


def version_visible(session: Session, *, version_id: uuid.UUID, owner_id: uuid.UUID | None) -> bool:
    """True when the version exists and ``owner_id`` (None: anyone) committed it."""
    found = session.scalar(
        select(m.TradeVersion.trade_version_id).where(
            m.TradeVersion.trade_version_id == version_id, *_version_scope(owner_id)
        )
    )
    return found is not None


def record_commit(
    session: Session,
    *,
    trade_version_id: uuid.UUID,
    trade_draft_id: uuid.UUID | None,
    draft_rev: int | None,
    owner_id: uuid.UUID | None,
) -> m.TradeCommit:
    """Record that ``owner_id`` committed draft ``trade_draft_id`` at ``draft_rev``."""
    row = m.TradeCommit(
        trade_version_id=trade_version_id,
        trade_draft_id=trade_draft_id,
        draft_rev=draft_rev,
        owner_id=owner_id,
    )
    session.add(row)
    session.flush()
    return row


def list_trade_commits(
    session: Session, *, owner_id: uuid.UUID | None, after: PageKey | None, limit: int
) -> KeysetPage[tuple[m.TradeCommit, m.TradeVersion]]:
    """One page of commits (only ``owner_id``'s when given), newest first, with versions."""
    tc = m.TradeCommit
    statement = select(tc)
    if owner_id is not None:
        statement = statement.where(tc.owner_id == owner_id)
    page = keyset_page(
        session,
        statement,
        created_at=tc.created_at,
        id_=tc.trade_commit_id,
        after=after,
        limit=limit,
    )
    ids = {row.trade_version_id for row in page.items}
    versions = {
        v.trade_version_id: v
        for v in session.scalars(
            select(m.TradeVersion).where(m.TradeVersion.trade_version_id.in_(ids))
        )
    }
    return KeysetPage([(row, versions[row.trade_version_id]) for row in page.items], page.next_key)


def page_trade_versions(
    session: Session, *, after: PageKey | None, limit: int
) -> KeysetPage[m.TradeVersion]:
    """One page of every stored version, newest first (the unscoped listing)."""
    return keyset_page(
        session,
        select(m.TradeVersion),
        created_at=m.TradeVersion.created_at,
        id_=m.TradeVersion.trade_version_id,
        after=after,
        limit=limit,
    )


def list_trade_versions(session: Session, *, limit: int = 50) -> list[m.TradeVersion]:
    """The newest versions first."""
    return list(
        session.scalars(
            select(m.TradeVersion).order_by(m.TradeVersion.created_at.desc()).limit(limit)
        )
    )


# -- configs and grids ---------------------------------------------------------------------


def get_or_create_model_config(session: Session, *, config: ModelConfig) -> m.ModelConfig:
    """The ``model_configs`` row of ``config`` (created if missing; concurrency-safe)."""
    row, _ = _get_or_insert(
        session,
        lambda: find_model_config(session, config=config),
        lambda: m.ModelConfig(
            model_config_hash=config.model_config_hash, config_json=_plain(config.to_dict())
        ),
    )
    return row


def find_model_config(session: Session, *, config: ModelConfig) -> m.ModelConfig | None:
    """The ``model_configs`` row of ``config``, or None."""
    key = config.model_config_hash
    return session.scalar(select(m.ModelConfig).where(m.ModelConfig.model_config_hash == key))


def get_or_create_scenario_grid(session: Session, *, grid: ScenarioGrid) -> m.ScenarioGrid:
    """The ``scenario_grids`` row of ``grid`` (created if missing; concurrency-safe)."""
    row, _ = _get_or_insert(
        session,
        lambda: find_scenario_grid(session, grid=grid),
        lambda: m.ScenarioGrid(
            scenario_grid_hash=grid.scenario_grid_hash, grid_json=_plain(grid.to_dict())
        ),
    )
    return row


def find_scenario_grid(session: Session, *, grid: ScenarioGrid) -> m.ScenarioGrid | None:
    """The ``scenario_grids`` row of ``grid``, or None."""
    key = grid.scenario_grid_hash
    return session.scalar(select(m.ScenarioGrid).where(m.ScenarioGrid.scenario_grid_hash == key))


def save_model_config(session: Session, *, config: ModelConfig) -> tuple[m.ModelConfig, bool]:
    """The ``model_configs`` row of ``config`` and whether this call created it."""
    return _get_or_insert(
        session,
        lambda: find_model_config(session, config=config),
        lambda: m.ModelConfig(
            model_config_hash=config.model_config_hash, config_json=_plain(config.to_dict())
        ),
    )


def save_scenario_grid(session: Session, *, grid: ScenarioGrid) -> tuple[m.ScenarioGrid, bool]:
    """The ``scenario_grids`` row of ``grid`` and whether this call created it."""
    return _get_or_insert(
        session,
        lambda: find_scenario_grid(session, grid=grid),
        lambda: m.ScenarioGrid(
            scenario_grid_hash=grid.scenario_grid_hash, grid_json=_plain(grid.to_dict())
        ),
    )


def get_model_config(session: Session, *, ref: str) -> m.ModelConfig:
    """The model config whose id or hash is (or starts with) ``ref``."""
    result: m.ModelConfig = _resolve(
        session,
        m.ModelConfig,
        m.ModelConfig.model_config_id,
        m.ModelConfig.model_config_hash,
        ref,
        "model config",
    )
    return result


def get_scenario_grid(session: Session, *, ref: str) -> m.ScenarioGrid:
    """The scenario grid whose id or hash is (or starts with) ``ref``."""
    result: m.ScenarioGrid = _resolve(
        session,
        m.ScenarioGrid,
        m.ScenarioGrid.scenario_grid_id,
        m.ScenarioGrid.scenario_grid_hash,
        ref,
        "scenario grid",
    )
    return result


def list_model_configs(
    session: Session, *, after: PageKey | None, limit: int
) -> KeysetPage[m.ModelConfig]:
    """One page of stored model configs, newest first."""
    return keyset_page(
        session,
        select(m.ModelConfig),
        created_at=m.ModelConfig.created_at,
        id_=m.ModelConfig.model_config_id,
        after=after,
        limit=limit,
    )


def list_scenario_grids(
    session: Session, *, after: PageKey | None, limit: int
) -> KeysetPage[m.ScenarioGrid]:
    """One page of stored scenario grids, newest first."""
    return keyset_page(
        session,
        select(m.ScenarioGrid),
        created_at=m.ScenarioGrid.created_at,
        id_=m.ScenarioGrid.scenario_grid_id,
        after=after,
        limit=limit,
    )


# -- results -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EvaluationKey:
    """What an evaluation is stored under: the trade as evaluated, snapshot, config, grid."""

    trade_ref_type: TradeRefType
    trade_ref_id: uuid.UUID
    trade_hash: str
    snapshot_id: uuid.UUID
    model_config_id: uuid.UUID
    scenario_grid_id: uuid.UUID

    def columns(self) -> dict[str, Any]:
        """Column name -> value (the ``analytics_results`` unique key)."""
        return {f: getattr(self, f) for f in self.__dataclass_fields__}


def find_analytics_result(session: Session, *, key: EvaluationKey) -> m.AnalyticsResult | None:
    """The stored evaluation under ``key``, or None."""
    return session.scalar(
        select(m.AnalyticsResult).where(
            *(getattr(m.AnalyticsResult, name) == value for name, value in key.columns().items())
        )
    )


def output_digest(output_bytes: bytes) -> str:
    """SHA-256 (hex) of an evaluation's stored bytes (``analytics_results.output_sha256``)."""
    return hashlib.sha256(output_bytes).hexdigest()


def verified_output(row: m.AnalyticsResult) -> bytes | None:
    """The row's stored bytes if they match their stored SHA-256, else None.

    None also for a row written before digests were stored: such a row is recomputed.
    """
    if row.outputs_blob is None or row.output_sha256 is None:
        return None
    blob = bytes(row.outputs_blob)
    return blob if output_digest(blob) == row.output_sha256 else None


def save_analytics_result(
    session: Session,
    *,
    key: EvaluationKey,
    measures: dict[str, Any],
    output_bytes: bytes,
    warnings: list[Any],
    errors: list[Any],
) -> tuple[m.AnalyticsResult, bool]:
    """Store one evaluation; ``(row, created)``. ``output_bytes`` is the result's canonical JSON.

    If a concurrent writer stored an evaluation under the same key first, its row is returned
    (``created`` False) and nothing is written.
    """
    return _get_or_insert(
        session,
        lambda: find_analytics_result(session, key=key),
        lambda: m.AnalyticsResult(
            **key.columns(),
            measures_json=measures,
            outputs_json=None,
            outputs_blob=output_bytes,
            output_sha256=output_digest(output_bytes),
            warnings_json=warnings,
            errors_json=errors,
        ),
    )


def save_attribution(
    session: Session,
    *,
    trade_ref_type: TradeRefType,
    trade_ref_id: uuid.UUID,
    trade_hash: str,
    snapshot_id: uuid.UUID,
    model_config_id: uuid.UUID,
    base_state: dict[str, Any],
    compare_state: dict[str, Any],
    method: str,
    outputs: dict[str, Any],
    warnings: list[Any],
    errors: list[Any],
) -> m.PnlAttributionResult:
    """Store one P&L attribution."""
    row = m.PnlAttributionResult(
        trade_ref_type=trade_ref_type,
        trade_ref_id=trade_ref_id,
        trade_hash=trade_hash,
        snapshot_id=snapshot_id,
        model_config_id=model_config_id,
        base_state_json=base_state,
        compare_state_json=compare_state,
        method=method,
        outputs_json=outputs,
        warnings_json=warnings,
        errors_json=errors,
    )
    session.add(row)
    session.flush()
    return row


def get_attribution(session: Session, *, attribution_id: uuid.UUID) -> m.PnlAttributionResult:
    """The stored attribution ``attribution_id``.

    Raises
    ------
    NotFoundError
        When there is none.

    """
    row = session.get(m.PnlAttributionResult, attribution_id)
    if row is None:
        raise NotFoundError(f"no P&L attribution with id {attribution_id}")
    return row


def option_contract_key(c: dom_instruments.OptionContract) -> tuple[str, date, Decimal, str]:
    """(underlying, expiry, strike, right) of a contract, the strike normalised."""
    return (c.underlying, c.expiry, c.strike.normalize(), c.right.value)


def newest_option_ivs(
    session: Session, *, contracts: Iterable[dom_instruments.OptionContract], until: datetime
) -> dict[tuple[str, date, Decimal, str], float]:
    """The IV of each contract in the newest snapshot (market time <= ``until``) quoting it."""
    wanted = {option_contract_key(c) for c in contracts}
    if not wanted:
        return {}
    oc = m.OptionContract
    oq = m.SnapshotOptionQuote
    ms = m.MarketSnapshot
    query = (
        select(oc.underlying_symbol, oc.expiry, oc.strike, oc.right, oq.iv)
        .join(oq, oq.option_contract_id == oc.option_contract_id)
        .join(ms, ms.snapshot_id == oq.snapshot_id)
        .where(
            oc.underlying_symbol.in_(sorted({k[0] for k in wanted})),
            oc.expiry.in_(sorted({k[1] for k in wanted})),
            oq.iv.is_not(None),
            ms.as_of <= until,
        )
        .order_by(ms.as_of.desc(), ms.created_at.desc())
    )
    found: dict[tuple[str, date, Decimal, str], float] = {}
    for underlying, expiry, strike, right, iv in session.execute(query):
        key = (underlying, expiry, Decimal(strike).normalize(), right)
        if key in wanted and key not in found and iv is not None and iv > 0:
            found[key] = float(iv)
    return found
