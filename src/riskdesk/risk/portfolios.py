"""Portfolio use cases (seed 002's book): create, list, show, and the CSV book upload.

One unit of work per use case, audited as the caller. Portfolios belong to a user: a scoped
caller (one with a ``user_id``) owns the portfolios it creates and sees only those (another
user's portfolio is a :class:`NotFoundError`, like a missing one); the local CLI caller is not
scoped and creates its portfolios under the ``local`` user row (created on first use).

An upload is parsed and checked with no transaction open (:func:`~riskdesk.risk.book_csv.
parse_book`), then stored in ONE short writing unit: every good row, its tags and the
``portfolio.imported`` audit row commit together, or nothing does. Rows already stored with the
same (ticker, entry date, quantity, entry price) are skipped (``already stored``), so the same
file uploaded again creates nothing new. Options whose expiry is before ``today`` are stored
closed: ``exit_date`` is the expiry and ``exit_price`` the intrinsic value from the
underlying's close on that day in ``market_data_cache``, or NULL with a *settlement pending*
note when no close is stored (never guessed).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from riskdesk.domain.instruments import Instrument, OptionContract, Stock
from riskdesk.domain.occ import parse_occ
from riskdesk.risk._scoped import ScopedUseCases
from riskdesk.risk.book_csv import BookRow, RowError, parse_book
from riskdesk.risk.positions import BookPosition, settlement_value
from riskdesk.risk.strategies import (
    StrategyLeg,
    StrategyMatch,
    StrategyType,
    describe,
    detect_strategies,
    ungrouped,
)
from riskdesk.store import portfolio as repo
from riskdesk.store.models.portfolio import Portfolio, Position
from riskdesk.store.paging import PageKey
from riskdesk.store.workbench import NotFoundError
from riskdesk.workbench.usecases import Listing

__all__ = [
    "ImportReport",
    "NotFoundError",
    "PortfolioDetail",
    "PortfolioSummary",
    "Portfolios",
    "SettlementNote",
    "SkippedRow",
    "StoredPosition",
    "StrategyEdit",
    "StrategyReport",
]

_CURRENCY_LENGTH = 3
_NAME_LIMIT = 255


@dataclass(frozen=True, slots=True)
class PortfolioSummary:
    """A portfolio's identity and description."""

    portfolio_id: uuid.UUID
    name: str
    description: str | None
    base_currency: str
    user_id: uuid.UUID
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""
        return {
            "id": str(self.portfolio_id),
            "name": self.name,
            "description": self.description,
            "base_currency": self.base_currency,
            "user_id": str(self.user_id),
            "created_at": self.created_at.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class StoredPosition:
    """One stored position of a portfolio, typed, with its tags and expiry state."""

    position_id: uuid.UUID
    symbol: str
    position_type: str
    quantity: Decimal
    entry_price: Decimal
    entry_date: date
    tags: tuple[str, ...]
    is_active: bool
    expired: bool
    exit_date: date | None = None
    exit_price: Decimal | None = None
    strike_price: Decimal | None = None
    expiration_date: date | None = None
    underlying_ticker: str | None = None
    strategy: str | None = None
    """The user's strategy group holding this position whole (None: left to detection)."""

    def to_book(self) -> BookPosition:
        """The position as the engines' :class:`~riskdesk.risk.positions.BookPosition`."""
        instrument: Instrument = (
            parse_occ(self.symbol) if self.expiration_date is not None else Stock(self.symbol)
        )
        return BookPosition(
            symbol=self.symbol,
            instrument=instrument,
            quantity=self.quantity,
            entry_price=self.entry_price,
            entry_date=self.entry_date,
            tags=self.tags,
            position_id=self.position_id,
            strategy=self.strategy,
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types (Decimals as strings)."""

        def dec(value: Decimal | None) -> str | None:
            return None if value is None else _plain(value)

        def day(value: date | None) -> str | None:
            return None if value is None else value.isoformat()

        return {
            "id": str(self.position_id),
            "ticker": self.symbol,
            "position_type": self.position_type,
            "quantity": dec(self.quantity),
            "entry_price": dec(self.entry_price),
            "entry_date": self.entry_date.isoformat(),
            "tags": list(self.tags),
            "is_active": self.is_active,
            "expired": self.expired,
            "exit_date": day(self.exit_date),
            "exit_price": dec(self.exit_price),
            "strike_price": dec(self.strike_price),
            "expiration_date": day(self.expiration_date),
            "underlying_ticker": self.underlying_ticker,
            "strategy": self.strategy,
        }


@dataclass(frozen=True, slots=True)
class PortfolioDetail:
    """A portfolio with every stored position."""

    portfolio: PortfolioSummary
    positions: tuple[StoredPosition, ...]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""
        return self.portfolio.to_dict() | {"positions": [p.to_dict() for p in self.positions]}


@dataclass(frozen=True, slots=True)
class SkippedRow:
    """A row already stored (same ticker, entry date, quantity and price): nothing new."""

    line: int
    ticker: str
    reason: str = "already stored"

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""
        return {"line": self.line, "ticker": self.ticker, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class SettlementNote:
    """How an expired option row was settled, or that its settlement is pending."""

    line: int
    ticker: str
    underlying: str
    expiry: date
    close: Decimal | None
    exit_price: Decimal | None

    @property
    def pending(self) -> bool:
        """True when no close of the underlying on the expiry date is stored."""
        return self.close is None

    @property
    def message(self) -> str:
        """One line for the user."""
        if self.close is None:
            return f"settlement pending: no close for {self.underlying} on {self.expiry}"
        return (
            f"settled at intrinsic {_plain(self.exit_price or Decimal(0))} from the "
            f"{self.underlying} close {_plain(self.close)} on {self.expiry}"
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""
        return {
            "line": self.line,
            "ticker": self.ticker,
            "underlying": self.underlying,
            "expiry": self.expiry.isoformat(),
            "close": None if self.close is None else _plain(self.close),
            "exit_price": None if self.exit_price is None else _plain(self.exit_price),
            "pending": self.pending,
            "message": self.message,
        }


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What an upload did: rows imported, skipped (already stored) and rejected."""

    portfolio_id: uuid.UUID
    portfolio_name: str
    file_sha256: str
    data_rows: int
    imported: int
    skipped: tuple[SkippedRow, ...] = ()
    rejected: tuple[RowError, ...] = ()
    settlement: tuple[SettlementNote, ...] = ()
    position_ids: tuple[uuid.UUID, ...] = field(default=(), repr=False)

    @property
    def rejected_rows(self) -> int:
        """How many distinct lines were rejected."""
        return len({e.line for e in self.rejected})

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types (the CLI's ``--json`` output)."""
        return {
            "portfolio": {"id": str(self.portfolio_id), "name": self.portfolio_name},
            "file_sha256": self.file_sha256,
            "data_rows": self.data_rows,
            "imported": self.imported,
            "skipped_count": len(self.skipped),
            "rejected_count": self.rejected_rows,
            "skipped": [s.to_dict() for s in self.skipped],
            "rejected": [e.to_dict() for e in self.rejected],
            "settlement": [n.to_dict() for n in self.settlement],
        }


@dataclass(frozen=True, slots=True)
class StrategyReport:
    """A book's strategy groups: the user's (stored) and the detected ones, and the rest."""

    portfolio_id: uuid.UUID
    name: str
    on: date | None
    positions: tuple[StoredPosition, ...]
    groups: tuple[StrategyMatch, ...]
    ungrouped: tuple[StrategyLeg, ...]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types; each leg names its position's ticker."""

        def legs(items: Sequence[StrategyLeg]) -> list[dict[str, Any]]:
            return [
                {
                    "position_id": str(self.positions[leg.index].position_id),
                    "ticker": self.positions[leg.index].symbol,
                    "quantity": _plain(leg.quantity),
                }
                for leg in items
            ]

        return {
            "portfolio_id": str(self.portfolio_id),
            "portfolio": self.name,
            "date": None if self.on is None else self.on.isoformat(),
            "groups": [
                describe(g) | {"legs": legs(g.legs), "user_defined": g.user_defined}
                for g in self.groups
            ],
            "ungrouped": legs(self.ungrouped),
        }


@dataclass(frozen=True, slots=True)
class StrategyEdit:
    """The outcome of a strategy-group edit."""

    portfolio_id: uuid.UUID
    group: str | None
    strategy_type: str | None
    moved: tuple[str, ...]
    removed_groups: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""
        return {
            "portfolio_id": str(self.portfolio_id),
            "group": self.group,
            "strategy_type": self.strategy_type,
            "moved": list(self.moved),
            "removed_groups": list(self.removed_groups),
        }


def _plain(value: Decimal) -> str:
    """A Decimal as plain text without trailing zeros (``150.00000000`` -> ``150``)."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


def _summary(row: Portfolio) -> PortfolioSummary:
    return PortfolioSummary(
        row.id, row.name, row.description, row.base_currency, row.user_id, row.created_at
    )


def _stored(
    row: Position, today: date | None, groups: Mapping[uuid.UUID, str] | None = None
) -> StoredPosition:
    assert row.entry_date is not None
    assert row.position_type is not None
    expiry = row.expiration_date
    expired = expiry is not None and (not row.is_active or (today is not None and expiry < today))
    return StoredPosition(
        position_id=row.id,
        symbol=row.symbol,
        position_type=row.position_type,
        quantity=row.quantity,
        entry_price=row.avg_entry_price,
        entry_date=row.entry_date,
        tags=tuple(sorted(t.name for t in row.tags)),
        is_active=row.is_active,
        expired=expired,
        exit_date=row.exit_date,
        exit_price=row.exit_price,
        strike_price=row.strike_price,
        expiration_date=expiry,
        underlying_ticker=row.underlying_ticker,
        strategy=None
        if row.strategy_group_id is None or groups is None
        else groups.get(row.strategy_group_id),
    )


def _same_amount(a: Decimal, b: Decimal) -> bool:
    return a.compare(b) == 0


class Portfolios(ScopedUseCases):
    """Portfolio use cases on one database, for one caller.

    Parameters
    ----------
    db
        The database.
    caller
        Who acts (audit rows carry it); a caller with a ``user_id`` sees only its own
        portfolios. None is the local desktop user (the CLI), not scoped.

    """

    def create(
        self, name: str, description: str | None = None, base_currency: str = "USD"
    ) -> PortfolioSummary:
        """Create a portfolio owned by the caller (the ``local`` user for the CLI).

        Raises
        ------
        ValueError
            For an empty or too long name, a currency that is not 3 letters, or a name the
            owner already uses.

        """
        clean = name.strip()
        if not clean:
            raise ValueError("a portfolio needs a non-empty name")
        if len(clean) > _NAME_LIMIT:
            raise ValueError(f"portfolio name has {len(clean)} characters; at most {_NAME_LIMIT}")
        currency = base_currency.strip().upper()
        if len(currency) != _CURRENCY_LENGTH or not currency.isascii() or not currency.isalpha():
            raise ValueError(
                f"base currency {base_currency!r} must be a 3-letter ISO code such as USD"
            )
        with self._write() as uow:
            owner = self._scope or repo.get_or_create_local_user(uow.session)
            row = repo.create_portfolio(
                uow.session,
                user_id=owner,
                name=clean,
                description=description,
                base_currency=currency,
            )
            summary = _summary(row)
            uow.audit(
                "portfolio.created",
                resource_type="portfolio",
                resource_id=row.id,
                new={"name": clean, "description": description, "base_currency": currency},
            )
        return summary

    def list(self, after: PageKey | None = None, limit: int = 50) -> Listing[PortfolioSummary]:
        """One page of the caller's portfolios (every portfolio for the local user), newest first."""
        with self._read() as uow:
            page = repo.page_portfolios(uow.session, user_id=self._scope, after=after, limit=limit)
            return Listing(tuple(_summary(r) for r in page.items), page.next_key)

    def get(self, ref: str | uuid.UUID, *, today: date | None = None) -> PortfolioDetail:
        """The portfolio named ``ref`` (a name or id) with its positions, tags and types.

        A position is ``expired`` when it was imported closed at expiry, or (given ``today``)
        when it is an option whose expiry is before ``today``.
        """
        with self._read() as uow:
            row = repo.find_portfolio(uow.session, ref=ref, user_id=self._scope)
            positions = repo.load_positions(uow.session, portfolio_id=row.id)
            groups = repo.strategy_group_names(uow.session, portfolio_id=row.id)
            return PortfolioDetail(
                _summary(row), tuple(_stored(p, today, groups) for p in positions)
            )

    # -- strategy groups --------------------------------------------------------------------

    def strategies(self, ref: str | uuid.UUID, *, on: date | None = None) -> StrategyReport:
        """The book's strategy groups: the user's groups whole, the rest detected.

        Without ``on``, the open positions; with ``on``, the positions held that day (entered
        on or before it, not closed before it; options expired before it are left out). Detection is recomputed on every call (see
        :mod:`riskdesk.risk.strategies`); only the user's edits are stored.
        """
        detail = self.get(ref)
        held = tuple(
            p
            for p in detail.positions
            if (
                p.is_active
                if on is None
                else p.entry_date <= on and (p.exit_date is None or p.exit_date >= on)
            )
        )
        book = [p.to_book() for p in held]
        groups = detect_strategies(book, on=on)
        rest = ungrouped(book, groups, on=on)
        return StrategyReport(
            detail.portfolio.portfolio_id,
            detail.portfolio.name,
            on,
            held,
            tuple(groups),
            tuple(rest),
        )

    def group(
        self, ref: str | uuid.UUID, positions: Sequence[str | uuid.UUID], name: str
    ) -> StrategyEdit:
        """Move ``positions`` (ids, or tickers naming one position each) into the group ``name``.

        The group is the user's: it holds its positions whole and is never re-detected; it is
        created when the portfolio has no group of that name, and its type is the structure
        its positions form (``CUSTOM`` when they form none or several). A position leaves the
        group it was in; a group left empty is deleted.

        Raises
        ------
        ValueError
            For a blank or too long name, no positions, or a reference naming no position or
            several.

        """
        clean = name.strip()
        if not clean:
            raise ValueError("a strategy group needs a non-empty name")
        if len(clean) > _NAME_LIMIT:
            raise ValueError(f"group name has {len(clean)} characters; at most {_NAME_LIMIT}")
        return self._regroup(ref, positions, clean)

    def ungroup(self, ref: str | uuid.UUID, positions: Sequence[str | uuid.UUID]) -> StrategyEdit:
        """Take ``positions`` out of the user's groups: detection places them again."""
        return self._regroup(ref, positions, None)

    def _regroup(
        self, ref: str | uuid.UUID, positions: Sequence[str | uuid.UUID], name: str | None
    ) -> StrategyEdit:
        if not positions:
            raise ValueError("name at least one position (its id or ticker)")
        with self._write() as uow:
            session = uow.session
            portfolio = repo.find_portfolio(session, ref=ref, user_id=self._scope, for_update=True)
            rows = repo.load_positions(session, portfolio_id=portfolio.id)
            chosen = [_position_row(rows, r) for r in positions]
            ids = list(dict.fromkeys(row.id for row in chosen))
            group_id: uuid.UUID | None = None
            strategy_type: str | None = None
            if name is not None:
                names = repo.strategy_group_names(session, portfolio_id=portfolio.id)
                members = [
                    _stored(r, None, names)
                    for r in rows
                    if r.id in ids
                    or (r.strategy_group_id is not None and names.get(r.strategy_group_id) == name)
                ]
                book = [
                    StoredPosition(**{**_fields(p), "strategy": name}).to_book() for p in members
                ]
                found = detect_strategies(book)
                strategy_type = (found[0].strategy_type if found else StrategyType.CUSTOM).value
                group = repo.get_or_create_strategy_group(
                    session, portfolio_id=portfolio.id, name=name, strategy_type=strategy_type
                )
                group_id = group.id
            repo.assign_strategy_group(
                session, portfolio_id=portfolio.id, position_ids=ids, group_id=group_id
            )
            removed = repo.delete_empty_strategy_groups(session, portfolio_id=portfolio.id)
            moved = tuple(row.symbol for row in chosen)
            uow.audit(
                "portfolio.strategy_grouped"
                if name is not None
                else "portfolio.strategy_ungrouped",
                resource_type="portfolio",
                resource_id=portfolio.id,
                payload={
                    "group": name,
                    "strategy_type": strategy_type,
                    "positions": [str(i) for i in ids],
                    "removed_groups": removed,
                },
            )
            return StrategyEdit(portfolio.id, name, strategy_type, moved, tuple(removed))

    def import_csv(
        self,
        portfolio_id: str | uuid.UUID,
        data: bytes,
        mapping: Mapping[str, str] | None = None,
        date_format: str | None = None,
        *,
        today: date,
    ) -> ImportReport:
        """Import an uploaded book into the portfolio ``portfolio_id`` (an id or a name).

        Raises
        ------
        BookFileError
            For a file refused as a whole (nothing stored).
        NotFoundError
            For a portfolio the caller cannot see.
        StoreError
            When the database refuses a row: the whole upload is rolled back.

        """
        book = parse_book(data, today=today, mapping=mapping, date_format=date_format)
        with self._write() as uow:
            session = uow.session
            portfolio = repo.find_portfolio(
                session, ref=portfolio_id, user_id=self._scope, for_update=True
            )
            stored = repo.load_positions(session, portfolio_id=portfolio.id)
            rows, skipped, rejected = _against_stored(book.rows, stored)
            keys = {
                (r.position.instrument.underlying, r.position.instrument.expiry)
                for r in rows
                if r.expired and isinstance(r.position.instrument, OptionContract)
            }
            closes = repo.closes_on(session, keys=keys)
            tag_ids = repo.get_or_create_tags(
                session, user_id=portfolio.user_id, names={t for r in rows for t in r.position.tags}
            )
            new, notes = _new_positions(rows, closes, tag_ids)
            ids = repo.insert_positions(session, portfolio_id=portfolio.id, positions=new)
            errors = tuple(sorted((*book.errors, *rejected), key=lambda e: e.line))
            report = ImportReport(
                portfolio_id=portfolio.id,
                portfolio_name=portfolio.name,
                file_sha256=book.sha256,
                data_rows=book.data_rows,
                imported=len(ids),
                skipped=tuple(skipped),
                rejected=errors,
                settlement=tuple(notes),
                position_ids=tuple(ids),
            )
            uow.audit(
                "portfolio.imported",
                resource_type="portfolio",
                resource_id=portfolio.id,
                payload={
                    "file_sha256": book.sha256,
                    "data_rows": book.data_rows,
                    "imported": report.imported,
                    "skipped": len(skipped),
                    "rejected": report.rejected_rows,
                    "settlement_pending": sum(1 for n in notes if n.pending),
                },
            )
        return report


def _against_stored(
    rows: tuple[BookRow, ...], stored: list[Position]
) -> tuple[list[BookRow], list[SkippedRow], list[RowError]]:
    """Split good rows into new ones, already stored ones and duplicates of stored ones."""
    by_key: dict[tuple[str, date], Position] = {}
    open_symbols: dict[str, Position] = {}
    for p in stored:
        if p.entry_date is not None:
            by_key.setdefault((p.symbol, p.entry_date), p)
        if p.is_active:
            open_symbols[p.symbol] = p
    fresh: list[BookRow] = []
    skipped: list[SkippedRow] = []
    rejected: list[RowError] = []
    for row in rows:
        pos = row.position
        same = by_key.get((pos.symbol, pos.entry_date))
        if same is not None:
            if _same_amount(same.quantity, pos.quantity) and _same_amount(
                same.avg_entry_price, pos.entry_price
            ):
                skipped.append(SkippedRow(row.line, pos.symbol))
            else:
                rejected.append(
                    RowError(
                        row.line,
                        "ticker",
                        f"duplicate: the portfolio already holds {pos.symbol} entered "
                        f"{pos.entry_date} (quantity {_plain(same.quantity)}, price "
                        f"{_plain(same.avg_entry_price)})",
                        pos.symbol,
                    )
                )
            continue
        held = open_symbols.get(pos.symbol)
        if held is not None and not row.expired:
            rejected.append(
                RowError(
                    row.line,
                    "ticker",
                    f"the portfolio already holds an open {pos.symbol} position (entered "
                    f"{held.entry_date}): one open position per ticker",
                    pos.symbol,
                )
            )
            continue
        fresh.append(row)
    return fresh, skipped, rejected


def _new_positions(
    rows: list[BookRow],
    closes: dict[tuple[str, date], Decimal],
    tag_ids: dict[str, uuid.UUID],
) -> tuple[list[repo.NewPosition], list[SettlementNote]]:
    new: list[repo.NewPosition] = []
    notes: list[SettlementNote] = []
    for row in rows:
        pos = row.position
        inst = pos.instrument
        option = inst if isinstance(inst, OptionContract) else None
        exit_price: Decimal | None = None
        if option is not None and row.expired:
            close = closes.get((option.underlying, option.expiry))
            exit_price = None if close is None else settlement_value(option, close)
            notes.append(
                SettlementNote(
                    row.line, pos.symbol, option.underlying, option.expiry, close, exit_price
                )
            )
        new.append(
            repo.NewPosition(
                symbol=pos.symbol,
                position_type=pos.position_type.value,
                quantity=pos.quantity,
                entry_price=pos.entry_price,
                entry_date=pos.entry_date,
                tag_ids=tuple(tag_ids[t] for t in pos.tags),
                is_active=not row.expired,
                exit_date=option.expiry if option is not None and row.expired else None,
                exit_price=exit_price,
                strike_price=option.strike if option is not None else None,
                expiration_date=option.expiry if option is not None else None,
                underlying_ticker=option.underlying if option is not None else None,
            )
        )
    return new, notes


def _fields(p: StoredPosition) -> dict[str, Any]:
    return {name: getattr(p, name) for name in StoredPosition.__dataclass_fields__}


def _position_row(rows: Sequence[Position], ref: str | uuid.UUID) -> Position:
    """The position ``ref`` names: its id, or a ticker held by exactly one position."""
    if isinstance(ref, uuid.UUID):
        wanted: uuid.UUID | None = ref
    else:
        try:
            wanted = uuid.UUID(ref.strip())
        except ValueError:
            wanted = None
    if wanted is not None:
        for row in rows:
            if row.id == wanted:
                return row
        raise NotFoundError(f"position {wanted}: the portfolio holds no position with this id")
    ticker = str(ref).strip().upper()
    matches = [row for row in rows if row.symbol.replace(" ", "") == ticker.replace(" ", "")]
    if not matches:
        raise NotFoundError(f"position {ref!r}: the portfolio holds no position with this ticker")
    if len(matches) > 1:
        raise ValueError(
            f"position {ref!r}: {len(matches)} positions have this ticker; name one by its id ("
            + ", ".join(str(r.id) for r in matches)
            + ")"
        )
    return matches[0]
