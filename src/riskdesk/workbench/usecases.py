"""Workbench use cases (seed 000): one unit of work each, audited.

These glue the pure engines of :mod:`riskdesk.analytics` to the repositories of
:mod:`riskdesk.store.workbench`. They hold no SQL of their own and no rendering: the CLI (and
later the HTTP service) call them and render what they return.

Evaluations are cached under the four hashes (trade, snapshot, model config, scenario grid):
the first call stores the canonical JSON bytes of the result, every later identical call
returns those very bytes (``cache_hit=True``). A draft is keyed by its whole state (content,
``rev`` and leg ids, all of which its result shows), so a cached result is always the bytes a
fresh computation would give now; stored bytes are checked against their SHA-256 on every hit.

Concurrency: analytics read in one short read-only unit, compute with no transaction open,
then write in one short unit (on SQLite a long evaluation never holds the write lock). Every
write of hash-keyed content is get-or-create and safe against concurrent writers, and a draft
edit is optimistic: it is saved only over the revision it was applied to, and retried on the
fresh draft when another edit got there first.

Scoping: a :class:`Workbench` acts for one :class:`~riskdesk.domain.caller.Caller` (the local
desktop user by default, who sees everything). A caller with a ``user_id`` owns the drafts it
creates and the versions it commits (a ``trade_commits`` row each time); another user's draft,
version or attribution is reported exactly like a missing one (:class:`NotFoundError`), so an
answer never confirms that it exists. Snapshots, model configs and scenario grids are shared
market and config data. Every unit of work carries the caller into its audit rows.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar, overload

from riskdesk.analytics import attribute, compare, days_forward_state, evaluate, market_state
from riskdesk.analytics.diagnostics import snapshot_diagnostics as _snapshot_diagnostics
from riskdesk.analytics.evaluate import EVALUATION_SCHEMA
from riskdesk.domain.caller import Caller
from riskdesk.domain.configs import ModelConfig, ScenarioGrid
from riskdesk.domain.hashing import canonical_json, content_hash
from riskdesk.domain.instruments import Instrument
from riskdesk.domain.market import MarketSnapshot, SnapshotMode
from riskdesk.domain.sources import MarketSource
from riskdesk.domain.trades import TradeDraft, TradeRefType, TradeVersion
from riskdesk.store import Database
from riskdesk.store import workbench as repo
from riskdesk.store.errors import StoreError, WriteConflictError
from riskdesk.store.paging import PageKey
from riskdesk.store.uow import UnitOfWork
from riskdesk.workbench.cache import SnapshotCache
from riskdesk.workbench.snapshots import entry_from_snapshot

__all__ = [
    "AttributionRecord",
    "ConfigRef",
    "DraftRef",
    "EvaluationOutcome",
    "GridRef",
    "Listing",
    "NotFoundError",
    "RevisionMismatchError",
    "SnapshotRef",
    "SnapshotSummary",
    "TradeRef",
    "TradeRefType",
    "VersionRef",
    "VersionSummary",
    "Workbench",
]

NotFoundError = repo.NotFoundError
"""A reference matches nothing the caller may see (also: another user's resource)."""


class RevisionMismatchError(WriteConflictError):
    """The draft is no longer at the revision the client last saw (``expected_rev``)."""


T = TypeVar("T")
ItemT = TypeVar("ItemT")

EDIT_ATTEMPTS = 8
"""How often a draft edit is re-applied on the fresh draft when concurrent edits win."""


@dataclass(frozen=True, slots=True)
class Listing(Sequence[ItemT], Generic[ItemT]):
    """One page of a list, newest first; ``next_key`` is where the next page starts.

    A sequence of its items, so callers that want a plain list can iterate it.
    """

    items: tuple[ItemT, ...]
    next_key: PageKey | None = None

    @overload
    def __getitem__(self, index: int) -> ItemT: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[ItemT]: ...

    def __getitem__(self, index: int | slice) -> ItemT | Sequence[ItemT]:
        return self.items[index]

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[ItemT]:
        return iter(self.items)


@dataclass(frozen=True, slots=True)
class SnapshotRef:
    """A stored snapshot: id, hash, and whether this call created it."""

    snapshot_id: uuid.UUID
    snapshot_hash: str
    created: bool
    snapshot: MarketSnapshot


@dataclass(frozen=True, slots=True)
class SnapshotSummary:
    """One row of the snapshot list: identity, mode, time, source and symbols."""

    snapshot_id: uuid.UUID
    snapshot_hash: str
    mode: str
    as_of: datetime
    source: str
    symbol: str
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class DraftRef:
    """A stored draft: id, revision and the domain draft (times when read from the store)."""

    draft_id: uuid.UUID
    rev: int
    draft: TradeDraft
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class VersionRef:
    """A stored trade version."""

    trade_version_id: uuid.UUID
    trade_hash: str
    created: bool
    version: TradeVersion
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class VersionSummary:
    """One row of the version list: the version and (when scoped) the commit that made it."""

    trade_version_id: uuid.UUID
    trade_hash: str
    name: str
    created_at: datetime
    committed_at: datetime | None = None
    trade_draft_id: uuid.UUID | None = None
    draft_rev: int | None = None


@dataclass(frozen=True, slots=True)
class ConfigRef:
    """A stored model config: id, hash, whether this call created it, and the config."""

    model_config_id: uuid.UUID
    model_config_hash: str
    created: bool
    config: ModelConfig
    created_at: datetime


@dataclass(frozen=True, slots=True)
class GridRef:
    """A stored scenario grid: id, hash, whether this call created it, and the grid."""

    scenario_grid_id: uuid.UUID
    scenario_grid_hash: str
    created: bool
    grid: ScenarioGrid
    created_at: datetime


@dataclass(frozen=True, slots=True)
class AttributionRecord:
    """A stored P&L attribution: what it attributed and its result document."""

    attribution_id: uuid.UUID
    trade_ref_type: str
    trade_ref_id: uuid.UUID
    trade_hash: str | None
    snapshot_id: uuid.UUID
    model_config_id: uuid.UUID
    created_at: datetime
    result: dict[str, Any]


@dataclass(frozen=True, slots=True)
class TradeRef:
    """A trade to analyse: a committed version or a draft (as of its current revision).

    ``trade_hash`` is the version's hash, or the hash a draft's legs would get if committed
    now; ``state_hash`` identifies everything an analysis result shows of the trade: the
    version's hash, or for a draft its content, ``rev`` and leg ids (the evaluation cache key).
    """

    ref_type: TradeRefType
    ref_id: uuid.UUID
    trade_hash: str
    trade: TradeVersion | TradeDraft
    state_hash: str = ""

    def __post_init__(self) -> None:
        if not self.state_hash:
            object.__setattr__(self, "state_hash", self.trade_hash)


@dataclass(frozen=True, slots=True)
class EvaluationOutcome:
    """The stored evaluation: its id, the canonical bytes and whether it came from cache."""

    result_id: uuid.UUID
    cache_hit: bool
    output_bytes: bytes

    @property
    def data(self) -> dict[str, Any]:
        """The result as plain JSON types."""
        parsed: dict[str, Any] = json.loads(self.output_bytes)
        return parsed


class Workbench:
    """The seed-000 workflow on one database, for one caller.

    Parameters
    ----------
    db
        The database.
    caller
        Who acts: audit rows carry its name, user id, IP and agent, and a caller with a
        ``user_id`` sees only its own drafts, versions and attributions. None is the local
        desktop user (named after ``db.actor``), who is not scoped: the CLI.

    """

    def __init__(
        self,
        db: Database,
        caller: Caller | None = None,
        *,
        snapshots: SnapshotCache | None = None,
    ) -> None:
        self.db = db
        self.caller = caller if caller is not None else Caller.local(db.actor)
        self.snapshots = snapshots

    def _snapshot_of(self, session: Any, row: Any) -> MarketSnapshot:
        """The stored snapshot of ``row``, from :attr:`snapshots` when it holds it.

        Snapshots are immutable and keyed by content hash: a cached copy under the same id
        and hash is the very snapshot the rows hold.
        """
        if self.snapshots is not None:
            hit = self.snapshots.get(row.snapshot_id)
            if hit is not None and hit[0] == row.snapshot_hash:
                return hit[1]
        snapshot = repo.load_snapshot(session, snapshot_id=row.snapshot_id)
        if self.snapshots is not None:
            self.snapshots.put(row.snapshot_id, row.snapshot_hash, snapshot)
        return snapshot

    @property
    def _owner(self) -> uuid.UUID | None:
        """The user id resources are scoped to (None: unscoped)."""
        return self.caller.user_id

    def _write(self) -> UnitOfWork:
        """A writing unit of work audited as the caller."""
        return self.db.unit_of_work_for(self.caller)

    def _read(self) -> UnitOfWork:
        """A read-only unit of work (never takes SQLite's write lock)."""
        return self.db.unit_of_work_for(self.caller, read_only=True)

    # -- snapshots -------------------------------------------------------------------------

    def save_snapshot(
        self, snapshot: MarketSnapshot, *, event: str = "snapshot.created"
    ) -> SnapshotRef:
        """Store ``snapshot`` (a no-op returning the existing row when its hash is stored)."""
        repo.prepare_partitions(self.db.engine, snapshot=snapshot)
        with self._write() as uow:
            return _store_snapshot(uow, snapshot, event=event)

    def load_snapshot(self, ref: str) -> SnapshotRef:
        """The snapshot whose id or hash starts with ``ref`` (or ``latest``)."""
        with self._read() as uow:
            return _load_snapshot(uow.session, ref)

    def latest_snapshot_for(
        self, symbol: str, *, mode: SnapshotMode | None = SnapshotMode.LIVE
    ) -> SnapshotSummary:
        """The snapshot with the newest market time that quotes ``symbol`` (LIVE by default).

        Raises
        ------
        NotFoundError
            When no such snapshot is stored.

        """
        with self._read() as uow:
            return _summary(repo.newest_snapshot_with(uow.session, symbol=symbol, mode=mode))

    def list_snapshots(
        self, *, limit: int = 20, after: PageKey | None = None
    ) -> Listing[SnapshotSummary]:
        """One page of stored snapshots, newest stored first, at most ``limit`` of them."""
        with self._read() as uow:
            page = repo.page_snapshots(uow.session, after=after, limit=limit)
            return Listing(tuple(_summary(r) for r in page.items), page.next_key)

    def snapshot_diagnostics(self, ref: str) -> dict[str, Any]:
        """Quote-quality counts of the snapshot ``ref`` with its implied vols solved.

        Reads in a read-only unit, then computes with no transaction open.
        """
        snapshot = self.load_snapshot(ref).snapshot
        return _snapshot_diagnostics(snapshot)

    def pin_snapshot(self, ref: str) -> SnapshotRef:
        """A PINNED copy of a LIVE snapshot (a pinned snapshot is returned as it is).

        Loads and saves in one unit of work, so the copy is of the very rows just read. The
        copy's quotes carry the source's timestamps, whose PostgreSQL partitions already exist.
        """
        with self._write() as uow:
            source = _load_snapshot(uow.session, ref)
            if source.snapshot.mode is SnapshotMode.PINNED:
                return source
            pinned = dataclasses.replace(source.snapshot, mode=SnapshotMode.PINNED)
            return _store_snapshot(uow, pinned, event="snapshot.pinned")

    def refresh_snapshot(self, ref: str, source: MarketSource, *, minutes: int) -> SnapshotRef:
        """Re-mark the LIVE snapshot ``ref`` ``minutes`` later with ``source``; store the result.

        The refreshed snapshot keeps the user's rate / dividend / borrow overrides of ``ref``.

        Raises
        ------
        ValueError
            When ``ref`` is PINNED (it never changes), or was not produced by ``source``.

        """
        base = self.load_snapshot(ref).snapshot
        if base.mode is not SnapshotMode.LIVE:
            raise ValueError(
                "a PINNED snapshot never changes: refresh the LIVE snapshot it was pinned from"
            )
        if base.source != source.name:
            raise ValueError(
                f"snapshot source is {base.source!r}: refresh it by importing a newer file"
            )
        later = source.refresh(base, minutes=minutes)
        later = dataclasses.replace(later, overrides=base.overrides)
        return self.save_snapshot(later, event="snapshot.refreshed")

    # -- drafts and versions ---------------------------------------------------------------

    def new_draft(self, name: str) -> DraftRef:
        """Create an empty draft (owned by the caller)."""
        return self.save_draft(TradeDraft(name))

    def save_draft(self, draft: TradeDraft) -> DraftRef:
        """Store a draft built in memory (e.g. by :mod:`riskdesk.workbench.strategies`)."""
        with self._write() as uow:
            stored = repo.save_draft(uow.session, draft=draft, owner_id=self._owner)
            uow.audit(
                "trade_draft.created",
                resource_type="trade_draft",
                resource_id=stored.draft_id,
                new=_draft_summary(draft),
            )
        return self.load_draft(str(stored.draft_id))

    def load_draft(self, ref: str) -> DraftRef:
        """The draft whose id starts with ``ref`` (one of the caller's)."""
        with self._read() as uow:
            return _draft_ref(repo.load_draft(uow.session, ref=ref, owner_id=self._owner))

    def list_drafts(self, *, limit: int = 50, after: PageKey | None = None) -> Listing[DraftRef]:
        """One page of the caller's drafts, newest first (every draft for the local user)."""
        with self._read() as uow:
            page = repo.list_drafts(uow.session, owner_id=self._owner, after=after, limit=limit)
            return Listing(tuple(_draft_ref(d) for d in page.items), page.next_key)

    def edit_draft(
        self,
        ref: str,
        edit: Callable[[TradeDraft], T],
        *,
        event: str,
        expected_rev: int | None = None,
    ) -> tuple[DraftRef, T]:
        """Apply ``edit`` to the stored draft and save it in one unit of work; audit old and new.

        The save is optimistic (see :func:`riskdesk.store.workbench.save_draft`): when another
        edit saved the draft first, ``edit`` is applied again to the fresh draft, up to
        :data:`EDIT_ATTEMPTS` times, so concurrent edits are all kept, each exactly once.

        With ``expected_rev`` (an HTTP ``If-Match``), the edit applies only to the draft at
        exactly that revision: a draft that moved on raises :class:`RevisionMismatchError`
        and is not retried.
        """
        for _ in range(EDIT_ATTEMPTS):
            try:
                with self._write() as uow:
                    stored = repo.load_draft(
                        uow.session, ref=ref, for_update=True, owner_id=self._owner
                    )
                    draft = stored.draft
                    loaded_rev = draft.rev
                    _check_rev(stored.draft_id, loaded_rev, expected_rev)
                    old = _draft_summary(draft)
                    outcome = edit(draft)
                    saved = repo.save_draft(
                        uow.session, draft=draft, draft_id=stored.draft_id, expected_rev=loaded_rev
                    )
                    uow.audit(
                        event,
                        resource_type="trade_draft",
                        resource_id=stored.draft_id,
                        old=old | {"rev": loaded_rev},
                        new=_draft_summary(saved.draft) | {"rev": saved.draft.rev},
                    )
                    result = DraftRef(
                        saved.draft_id,
                        saved.draft.rev,
                        saved.draft,
                        created_at=stored.created_at,
                        updated_at=stored.updated_at,
                    )
            except RevisionMismatchError:
                raise
            except WriteConflictError:
                continue
            return result, outcome
        raise WriteConflictError(
            f"trade draft {ref!r} was changed by other edits {EDIT_ATTEMPTS} times while this "
            "edit was being applied; try again"
        )

    def rename_draft(self, ref: str, name: str, *, expected_rev: int | None = None) -> DraftRef:
        """Give the draft a new name."""
        draft_ref, _ = self.edit_draft(
            ref,
            lambda d: d.rename(name),
            event="trade_draft.renamed",
            expected_rev=expected_rev,
        )
        return draft_ref

    def delete_draft(self, ref: str, *, expected_rev: int | None = None) -> None:
        """Delete the draft and its legs (versions committed from it stay)."""
        for _ in range(EDIT_ATTEMPTS):
            try:
                with self._write() as uow:
                    stored = repo.load_draft(
                        uow.session, ref=ref, for_update=True, owner_id=self._owner
                    )
                    _check_rev(stored.draft_id, stored.draft.rev, expected_rev)
                    repo.delete_draft(
                        uow.session, draft_id=stored.draft_id, expected_rev=stored.draft.rev
                    )
                    uow.audit(
                        "trade_draft.deleted",
                        resource_type="trade_draft",
                        resource_id=stored.draft_id,
                        old=_draft_summary(stored.draft) | {"rev": stored.draft.rev},
                    )
            except RevisionMismatchError:
                raise
            except WriteConflictError:
                continue
            return
        raise WriteConflictError(
            f"trade draft {ref!r} was changed by other edits {EDIT_ATTEMPTS} times while it "
            "was being deleted; try again"
        )

    def add_leg(
        self,
        draft_ref: str,
        instrument: Instrument,
        *,
        quantity: Decimal,
        fees: Decimal = Decimal(0),
        price: Decimal | None = None,
        snapshot_ref: str | None = None,
        expected_rev: int | None = None,
    ) -> tuple[DraftRef, str]:
        """Add a leg to a draft; returns the saved draft and the new leg's id.

        The entry is ``price`` when given, else taken from the snapshot ``snapshot_ref`` by
        the chain-as-builder rule (:func:`~riskdesk.workbench.snapshots.entry_from_snapshot`:
        buy at the ask, sell at the bid).

        Raises
        ------
        ValueError
            When neither ``price`` nor ``snapshot_ref`` is given, or the snapshot lacks the
            side the trade needs.

        """
        if price is not None:
            entry = price
        elif snapshot_ref is not None:
            entry = entry_from_snapshot(
                self.load_snapshot(snapshot_ref).snapshot, instrument, quantity
            )
        else:
            raise ValueError(
                "add_leg needs an entry: give price, or snapshot_ref to take the bid/ask from"
            )
        return self.edit_draft(
            draft_ref,
            lambda d: d.add_leg(instrument, quantity=quantity, entry_price=entry, fees=fees),
            event="trade_draft.leg_added",
            expected_rev=expected_rev,
        )

    def edit_leg(
        self,
        draft_ref: str,
        leg_ref: str,
        *,
        quantity: Decimal | None = None,
        entry_price: Decimal | None = None,
        fees: Decimal | None = None,
        include: bool | None = None,
        expected_rev: int | None = None,
    ) -> DraftRef:
        """Change a leg's quantity, entry price, fees or inclusion (what is given).

        Raises
        ------
        ValueError
            When nothing is given, or a value breaks a leg rule (e.g. a fractional option
            quantity).

        """
        if quantity is None and entry_price is None and fees is None and include is None:
            raise ValueError(
                "edit_leg needs at least one of quantity, entry_price, fees or include"
            )

        def edit(draft: TradeDraft) -> None:
            leg_id = _leg_id(draft, leg_ref)
            if quantity is not None:
                draft.set_quantity(leg_id, quantity)
            if entry_price is not None:
                draft.set_entry_price(leg_id, entry_price)
            if fees is not None:
                draft.set_fees(leg_id, fees)
            if include is not None:
                draft.set_include(leg_id, include)

        ref, _ = self.edit_draft(
            draft_ref, edit, event="trade_draft.leg_edited", expected_rev=expected_rev
        )
        return ref

    def toggle_leg(
        self, draft_ref: str, leg_ref: str, *, expected_rev: int | None = None
    ) -> DraftRef:
        """Include or exclude the leg whose id starts with ``leg_ref`` (it stays in the draft)."""
        ref, _ = self.edit_draft(
            draft_ref,
            lambda d: d.toggle_leg(_leg_id(d, leg_ref)),
            event="trade_draft.leg_toggled",
            expected_rev=expected_rev,
        )
        return ref

    def remove_leg(
        self, draft_ref: str, leg_ref: str, *, expected_rev: int | None = None
    ) -> DraftRef:
        """Remove the leg whose id starts with ``leg_ref`` from the draft."""
        ref, _ = self.edit_draft(
            draft_ref,
            lambda d: d.remove_leg(_leg_id(d, leg_ref)),
            event="trade_draft.leg_removed",
            expected_rev=expected_rev,
        )
        return ref

    def commit_draft(self, ref: str, *, expected_rev: int | None = None) -> VersionRef:
        """Freeze the draft into an immutable, hashed trade version.

        Every commit records who committed which draft revision (a ``trade_commits`` row),
        also when an identical version was already stored: that row makes the version the
        caller's.
        """
        with self._write() as uow:
            session = uow.session
            stored = repo.load_draft(session, ref=ref, owner_id=self._owner)
            _check_rev(stored.draft_id, stored.draft.rev, expected_rev)
            version = stored.draft.commit()
            row, created = repo.save_trade_version(session, version=version)
            repo.record_commit(
                session,
                trade_version_id=row.trade_version_id,
                trade_draft_id=stored.draft_id,
                draft_rev=stored.draft.rev,
                owner_id=self._owner,
            )
            uow.audit(
                "trade_version.committed",
                resource_type="trade_version",
                resource_id=row.trade_version_id,
                payload={
                    "trade_hash": row.trade_hash,
                    "draft_id": str(stored.draft_id),
                    "draft_rev": stored.draft.rev,
                    "created": created,
                },
            )
            return VersionRef(
                row.trade_version_id, row.trade_hash, created, version, created_at=row.created_at
            )

    def load_version(self, ref: str) -> VersionRef:
        """The trade version whose id or hash starts with ``ref`` (one the caller committed)."""
        with self._read() as uow:
            row = repo.resolve_trade_version(uow.session, ref=ref, owner_id=self._owner)
            version = repo.load_trade_version(uow.session, row=row)
            return VersionRef(
                row.trade_version_id, row.trade_hash, False, version, created_at=row.created_at
            )

    def list_versions(
        self, *, limit: int = 50, after: PageKey | None = None
    ) -> Listing[VersionSummary]:
        """One page of the caller's commits (newest first), or of every version when unscoped."""
        with self._read() as uow:
            session = uow.session
            if self._owner is None:
                versions = repo.page_trade_versions(session, after=after, limit=limit)
                return Listing(
                    tuple(
                        VersionSummary(v.trade_version_id, v.trade_hash, v.name, v.created_at)
                        for v in versions.items
                    ),
                    versions.next_key,
                )
            commits = repo.list_trade_commits(
                session, owner_id=self._owner, after=after, limit=limit
            )
            return Listing(
                tuple(
                    VersionSummary(
                        v.trade_version_id,
                        v.trade_hash,
                        v.name,
                        v.created_at,
                        committed_at=c.created_at,
                        trade_draft_id=c.trade_draft_id,
                        draft_rev=c.draft_rev,
                    )
                    for c, v in commits.items
                ),
                commits.next_key,
            )

    def load_trade(self, ref: str) -> TradeRef:
        """A version (``version:<id>`` or an id/hash prefix) or a draft (``draft:<id>`` or prefix)."""
        with self._read() as uow:
            return self._load_trade(uow.session, ref)

    def _load_trade(self, session: Any, ref: str) -> TradeRef:
        text = ref.strip()
        if text.lower().startswith("draft:"):
            return self._draft_trade(session, text.split(":", 1)[1])
        if text.lower().startswith("version:"):
            row = repo.resolve_trade_version(
                session, ref=text.split(":", 1)[1], owner_id=self._owner
            )
            return TradeRef(
                "VERSION",
                row.trade_version_id,
                row.trade_hash,
                repo.load_trade_version(session, row=row),
            )
        version_row = None
        with contextlib.suppress(repo.NotFoundError):
            version_row = repo.resolve_trade_version(session, ref=text, owner_id=self._owner)
        try:
            draft = self._draft_trade(session, text)
        except repo.NotFoundError:
            draft = None
        if version_row is not None and draft is not None:
            raise repo.AmbiguousReferenceError(
                f"{text!r} matches trade version {version_row.trade_hash[:12]} and draft "
                f"{draft.ref_id}: give more characters, or draft:<id> for the draft"
            )
        if version_row is not None:
            version = repo.load_trade_version(session, row=version_row)
            return TradeRef(
                "VERSION", version_row.trade_version_id, version_row.trade_hash, version
            )
        if draft is not None:
            return draft
        raise repo.NotFoundError(f"no trade version or draft matches {text!r}")

    def _analysable(self, session: Any, ref: str) -> TradeRef:
        """A trade to evaluate, compare or attribute: it must have at least one leg."""
        trade = self._load_trade(session, ref)
        if not trade.trade.legs:
            raise ValueError(f"trade {trade.trade.name!r} has no legs: add a leg first")
        return trade

    def _draft_trade(self, session: Any, ref: str) -> TradeRef:
        stored = repo.load_draft(session, ref=ref, owner_id=self._owner)
        draft = stored.draft
        # the hash a commit would give; an empty draft (nothing to commit) hashes its name only
        trade_hash = (
            draft.commit().trade_hash
            if draft.legs
            else content_hash({"name": draft.name, "legs": []})
        )
        state_hash = content_hash(
            {
                "draft_id": str(stored.draft_id),
                "rev": draft.rev,
                "trade_hash": trade_hash,
                "legs": [item.leg_id for item in draft.legs],
            }
        )
        return TradeRef("DRAFT", stored.draft_id, trade_hash, draft, state_hash)

    # -- model configs and scenario grids (shared) -----------------------------------------

    def save_model_config(self, config: ModelConfig) -> ConfigRef:
        """Store ``config`` (get-or-create by hash; ``created`` says whether it was new)."""
        with self._write() as uow:
            row, created = repo.save_model_config(uow.session, config=config)
            if created:
                uow.audit(
                    "model_config.created",
                    resource_type="model_config",
                    resource_id=row.model_config_id,
                    new=config.to_dict(),
                )
            return ConfigRef(
                row.model_config_id, row.model_config_hash, created, config, row.created_at
            )

    def get_model_config(self, ref: str) -> ConfigRef:
        """The stored model config whose id or hash is (or starts with) ``ref``."""
        with self._read() as uow:
            return _config_ref(repo.get_model_config(uow.session, ref=ref))

    def list_model_configs(
        self, *, limit: int = 50, after: PageKey | None = None
    ) -> Listing[ConfigRef]:
        """One page of stored model configs, newest first."""
        with self._read() as uow:
            page = repo.list_model_configs(uow.session, after=after, limit=limit)
            return Listing(tuple(_config_ref(r) for r in page.items), page.next_key)

    def save_scenario_grid(self, grid: ScenarioGrid) -> GridRef:
        """Store ``grid`` (get-or-create by hash; ``created`` says whether it was new)."""
        with self._write() as uow:
            row, created = repo.save_scenario_grid(uow.session, grid=grid)
            if created:
                uow.audit(
                    "scenario_grid.created",
                    resource_type="scenario_grid",
                    resource_id=row.scenario_grid_id,
                    new=grid.to_dict(),
                )
            return GridRef(
                row.scenario_grid_id, row.scenario_grid_hash, created, grid, row.created_at
            )

    def get_scenario_grid(self, ref: str) -> GridRef:
        """The stored scenario grid whose id or hash is (or starts with) ``ref``."""
        with self._read() as uow:
            return _grid_ref(repo.get_scenario_grid(uow.session, ref=ref))

    def list_scenario_grids(
        self, *, limit: int = 50, after: PageKey | None = None
    ) -> Listing[GridRef]:
        """One page of stored scenario grids, newest first."""
        with self._read() as uow:
            page = repo.list_scenario_grids(uow.session, after=after, limit=limit)
            return Listing(tuple(_grid_ref(r) for r in page.items), page.next_key)

    # -- analytics -------------------------------------------------------------------------

    def get_attribution(self, attribution_id: uuid.UUID | str) -> AttributionRecord:
        """A stored attribution, if its trade is one the caller may see.

        Raises
        ------
        NotFoundError
            When there is none, or its trade is another user's draft or a version the caller
            never committed (the same message either way).

        """
        try:
            key = (
                attribution_id
                if isinstance(attribution_id, uuid.UUID)
                else uuid.UUID(str(attribution_id).strip())
            )
        except ValueError:
            raise repo.NotFoundError(f"no P&L attribution with id {attribution_id}") from None
        with self._read() as uow:
            session = uow.session
            row = repo.get_attribution(session, attribution_id=key)
            if self._owner is not None and not self._trade_visible(
                session, row.trade_ref_type, row.trade_ref_id
            ):
                raise repo.NotFoundError(f"no P&L attribution with id {key}")
            return AttributionRecord(
                attribution_id=row.attribution_id,
                trade_ref_type=row.trade_ref_type,
                trade_ref_id=row.trade_ref_id,
                trade_hash=row.trade_hash,
                snapshot_id=row.snapshot_id,
                model_config_id=row.model_config_id,
                created_at=row.created_at,
                result=dict(row.outputs_json),
            )

    def _trade_visible(self, session: Any, ref_type: str, ref_id: uuid.UUID) -> bool:
        if ref_type == "VERSION":
            return repo.version_visible(session, version_id=ref_id, owner_id=self._owner)
        try:
            repo.load_draft(session, ref=str(ref_id), owner_id=self._owner)
        except repo.NotFoundError:
            return False
        return True

    def evaluate(
        self, trade_ref: str, snapshot_ref: str, config: ModelConfig, grid: ScenarioGrid
    ) -> EvaluationOutcome:
        """Evaluate (or fetch from cache) a trade on a snapshot under a config and grid.

        Reads in a read-only unit, computes with no transaction open, then stores the result
        in a short unit. Processes evaluating the same inputs at once all succeed and all
        return the one stored row.
        """
        with self._read() as uow:
            session = uow.session
            trade = self._analysable(session, trade_ref)
            snap_row = repo.resolve_snapshot(session, ref=snapshot_ref)
            config_row = repo.find_model_config(session, config=config)
            grid_row = repo.find_scenario_grid(session, grid=grid)
            if config_row is not None and grid_row is not None:
                hit = _cache_hit(
                    repo.find_analytics_result(
                        session,
                        key=_evaluation_key(trade, snap_row, config_row, grid_row),
                    )
                )
                if hit is not None:
                    return hit
            snapshot = self._snapshot_of(session, snap_row)
        data = evaluate(trade.trade, snapshot, config, grid).to_json_dict()
        output = canonical_json(data).encode("utf-8")
        with self._write() as uow:
            session = uow.session
            config_row = repo.get_or_create_model_config(session, config=config)
            grid_row = repo.get_or_create_scenario_grid(session, grid=grid)
            key = _evaluation_key(trade, snap_row, config_row, grid_row)
            stale = repo.find_analytics_result(session, key=key)
            if stale is not None:
                hit = _cache_hit(stale)
                if hit is not None:  # stored by a concurrent evaluation meanwhile
                    return hit
                # Written by an older engine layout, or its bytes no longer match their
                # digest: replace it with the fresh computation.
                session.delete(stale)
                session.flush()
            row, created = repo.save_analytics_result(
                session,
                key=key,
                measures=dict(data["measures"]),
                output_bytes=output,
                warnings=list(data.get("warnings", [])),
                errors=list(data.get("errors", [])),
            )
            if not created:  # pragma: no cover - the unit holds the write lock on SQLite
                hit = _cache_hit(row)
                if hit is None:
                    raise StoreError(f"analytics result {row.result_id} is unreadable")
                return hit
            uow.audit(
                "analytics.evaluated" if stale is None else "analytics.recomputed",
                resource_type="analytics_result",
                resource_id=row.result_id,
                payload={
                    "trade_hash": trade.trade_hash,
                    "trade_state_hash": trade.state_hash,
                    "snapshot_hash": snap_row.snapshot_hash,
                    "model_config_hash": config_row.model_config_hash,
                    "scenario_grid_hash": grid_row.scenario_grid_hash,
                    **({} if stale is None else {"reason": _stale_reason(stale)}),
                },
            )
            return EvaluationOutcome(row.result_id, False, output)

    def compare(
        self, a_ref: str, b_ref: str, snapshot_ref: str, config: ModelConfig, grid: ScenarioGrid
    ) -> dict[str, Any]:
        """A, B and A-B for every measure and grid, on one snapshot."""
        with self._read() as uow:
            session = uow.session
            a = self._analysable(session, a_ref)
            b = self._analysable(session, b_ref)
            snap_row = repo.resolve_snapshot(session, ref=snapshot_ref)
            snapshot = self._snapshot_of(session, snap_row)
        data = compare(a.trade, b.trade, snapshot, config, grid).to_json_dict()
        with self._write() as uow:
            uow.audit(
                "analytics.compared",
                resource_type="market_snapshot",
                resource_id=snap_row.snapshot_id,
                payload={
                    "a": a.trade_hash,
                    "b": b.trade_hash,
                    "snapshot_hash": snap_row.snapshot_hash,
                },
            )
        return data

    def attribute(
        self,
        trade_ref: str,
        base_ref: str,
        config: ModelConfig,
        *,
        compare_ref: str | None = None,
        days: float | None = None,
    ) -> tuple[uuid.UUID, dict[str, Any]]:
        """P&L attribution from a base snapshot to a compare snapshot, or to base + ``days``.

        With ``days``, the compare state is the base state moved forward ``days`` calendar
        days with every model input held (spot, vols, rates, carry): only time moves.
        """
        if (compare_ref is None) == (days is None):
            raise ValueError("attribute needs exactly one of compare_ref (a snapshot) or days")
        with self._read() as uow:
            session = uow.session
            trade = self._analysable(session, trade_ref)
            base_row = repo.resolve_snapshot(session, ref=base_ref)
            base_snapshot = self._snapshot_of(session, base_row)
            cmp_row = None
            cmp_snapshot = None
            if compare_ref is not None:
                cmp_row = repo.resolve_snapshot(session, ref=compare_ref)
                cmp_snapshot = self._snapshot_of(session, cmp_row)
        base_state = market_state(trade.trade, base_snapshot, config)
        compare_desc: dict[str, Any]
        if cmp_row is not None and cmp_snapshot is not None:
            cmp_state = market_state(trade.trade, cmp_snapshot, config)
            compare_desc = {"snapshot_hash": cmp_row.snapshot_hash, "as_of": cmp_snapshot.as_of}
        else:
            assert days is not None
            cmp_state = days_forward_state(trade.trade, base_snapshot, config, days=days)
            compare_desc = {
                "snapshot_hash": base_row.snapshot_hash,
                "valuation_time": cmp_state.valuation_time,
                "days": days,
            }
        result = attribute(trade.trade, base_state, cmp_state, config)
        data = result.to_json_dict()
        with self._write() as uow:
            session = uow.session
            config_row = repo.get_or_create_model_config(session, config=config)
            row = repo.save_attribution(
                session,
                trade_ref_type=trade.ref_type,
                trade_ref_id=trade.ref_id,
                trade_hash=trade.trade_hash,
                snapshot_id=base_row.snapshot_id,
                model_config_id=config_row.model_config_id,
                base_state=json.loads(
                    canonical_json(
                        {"snapshot_hash": base_row.snapshot_hash, "as_of": base_snapshot.as_of}
                    )
                ),
                compare_state=json.loads(canonical_json(compare_desc)),
                method=result.method,
                outputs=data,
                warnings=list(data.get("warnings", [])),
                errors=list(data.get("errors", [])),
            )
            uow.audit(
                "analytics.attributed",
                resource_type="pnl_attribution_result",
                resource_id=row.attribution_id,
                payload={"trade_hash": trade.trade_hash},
            )
            return row.attribution_id, data


def _evaluation_key(
    trade: TradeRef, snap_row: Any, config_row: Any, grid_row: Any
) -> repo.EvaluationKey:
    return repo.EvaluationKey(
        trade_ref_type=trade.ref_type,
        trade_ref_id=trade.ref_id,
        trade_hash=trade.state_hash,
        snapshot_id=snap_row.snapshot_id,
        model_config_id=config_row.model_config_id,
        scenario_grid_id=grid_row.scenario_grid_id,
    )


_CURRENT_LAYOUT: dict[tuple[uuid.UUID, str], bool] = {}
"""Whether the stored bytes with this (result id, SHA-256) are of :data:`EVALUATION_SCHEMA`.

Rows are immutable and the digest names the bytes, so the answer never changes: a cache hit
parses a stored result once per process instead of on every hit (the digest itself is still
checked on every hit)."""
_CURRENT_LAYOUT_MAX = 10_000


def _cache_hit(row: Any) -> EvaluationOutcome | None:
    """The stored evaluation as a cache hit, if its bytes are intact and of this layout."""
    if row is None:
        return None
    stored = repo.verified_output(row)
    if stored is None:
        return None
    key = (row.result_id, row.output_sha256)
    current = _CURRENT_LAYOUT.get(key)
    if current is None:
        current = json.loads(stored).get("schema") == EVALUATION_SCHEMA
        if len(_CURRENT_LAYOUT) >= _CURRENT_LAYOUT_MAX:
            _CURRENT_LAYOUT.clear()
        _CURRENT_LAYOUT[key] = current
    if not current:
        return None
    return EvaluationOutcome(row.result_id, True, stored)


def _stale_reason(row: Any) -> str:
    if row.output_sha256 is None:
        return "stored before output digests were kept"
    if repo.verified_output(row) is None:
        return "stored bytes did not match their SHA-256 digest"
    return "written by an older result layout"


def _load_snapshot(session: Any, ref: str) -> SnapshotRef:
    row = repo.resolve_snapshot(session, ref=ref)
    snapshot = repo.load_snapshot(session, snapshot_id=row.snapshot_id)
    return SnapshotRef(row.snapshot_id, row.snapshot_hash, False, snapshot)


def _store_snapshot(uow: UnitOfWork, snapshot: MarketSnapshot, *, event: str) -> SnapshotRef:
    """Save ``snapshot`` in ``uow`` and audit it under ``event`` when it is new."""
    row, created = repo.save_snapshot(uow.session, snapshot=snapshot)
    if created:
        uow.audit(
            event,
            resource_type="market_snapshot",
            resource_id=row.snapshot_id,
            payload={
                "snapshot_hash": row.snapshot_hash,
                "source": snapshot.source,
                "mode": snapshot.mode.value,
                "symbols": [u.symbol for u in snapshot.underlyings],
                "option_quotes": len(snapshot.options),
                "diagnostics": dict(snapshot.diagnostics),
            },
        )
    return SnapshotRef(row.snapshot_id, row.snapshot_hash, created, snapshot)


def _leg_id(draft: TradeDraft, prefix: str) -> str:
    """The id of the one leg of ``draft`` whose id starts with ``prefix``."""
    matches = [d.leg_id for d in draft.legs if d.leg_id.startswith(prefix.lower())]
    if len(matches) != 1:
        raise LookupError(
            f"leg {prefix!r} matches {len(matches)} legs of draft {draft.name!r}; give more characters"
        )
    return matches[0]


def _draft_summary(draft: TradeDraft) -> dict[str, Any]:
    return {
        "name": draft.name,
        "legs": [{"leg_id": item.leg_id} | item.leg.canonical_dict() for item in draft.legs],
    }


def _check_rev(draft_id: uuid.UUID, rev: int, expected_rev: int | None) -> None:
    if expected_rev is not None and rev != expected_rev:
        raise RevisionMismatchError(
            f"trade draft {draft_id} is at rev {rev}, not the rev {expected_rev} you sent "
            "(If-Match): it was changed since you loaded it; reload it and apply the change again"
        )


def _draft_ref(stored: repo.StoredDraft) -> DraftRef:
    return DraftRef(
        stored.draft_id,
        stored.draft.rev,
        stored.draft,
        created_at=stored.created_at,
        updated_at=stored.updated_at,
    )


def _summary(row: Any) -> SnapshotSummary:
    return SnapshotSummary(
        snapshot_id=row.snapshot_id,
        snapshot_hash=row.snapshot_hash,
        mode=row.mode,
        as_of=row.as_of,
        source=row.source,
        symbol=row.symbol,
        created_at=row.created_at,
    )


def _config_ref(row: Any) -> ConfigRef:
    config = ModelConfig.from_dict(row.config_json)
    return ConfigRef(row.model_config_id, row.model_config_hash, False, config, row.created_at)


def _grid_ref(row: Any) -> GridRef:
    grid = ScenarioGrid.from_dict(row.grid_json)
    return GridRef(row.scenario_grid_id, row.scenario_grid_hash, False, grid, row.created_at)
