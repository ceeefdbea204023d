"""What-if modeling sessions (seed 002): clone a book, edit it, compare it, hedge it, export.

:class:`ModelingSessions` works on one :class:`~riskdesk.store.Database` as one caller, scoped
like :class:`~riskdesk.risk.portfolios.Portfolios`: a caller with a ``user_id`` starts
sessions on its own portfolios and sees only its own sessions (another user's session is a
:class:`NotFoundError`, like a missing one); the local CLI caller is not scoped and its
sessions belong to the ``local`` user.

Lifecycle
---------
``start`` clones the portfolio's book as held on a NYSE session ``on`` into a
``modeling_session_snapshots`` row (seed 002's definition 1.3: ``session_id``, ``user_id``,
``base_portfolio_snapshot``; status ``active``). ``add_position`` / ``remove_position`` /
``resize_position`` append a checked :class:`~riskdesk.risk.whatif.Change` to ``changes``
and store the book after every change in ``modified_portfolio_snapshot`` (the whole change
list is re-applied to the base on every edit, in one writing unit with the row locked, so two
concurrent edits never lose one). ``complete`` and ``cancel`` close an active session; a
closed session refuses every edit (:class:`SessionClosedError`).

Measures
--------
``compare`` measures the base book and the pro forma book on the session's date with
:class:`~riskdesk.risk.reports.RiskReports` (nothing stored by the measures themselves):
exposures (with beta-weighted delta to a benchmark, betas from the same history), Greek
totals, factor exposures and risk, VaR/ES at 95/99%, 1 and 10 days (historical,
delta-gamma-normal, Monte Carlo) and the stress table. A section whose price history is not
stored is reported under ``unavailable`` with the reason instead of failing the comparison.
The figures are compared as the reports print them (decimal strings), so changes are exact.
The result is stored in ``risk_metrics_before`` / ``risk_metrics_after``,
``factor_exposures_change`` and ``impact_summary`` (with the number of changes it reflects).

``hedge`` sizes a whole-share ETF position that zeroes the pro forma book's delta-dollars or
its beta-weighted delta-dollars to the ETF, and can apply it as a change. ``export`` writes
the comparison as CSV or JSON text and records one ``export_history`` row per call.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from riskdesk.domain.instruments import Stock
from riskdesk.risk._scoped import ScopedUseCases
from riskdesk.risk.factors import REGRESSION_WINDOW
from riskdesk.risk.portfolios import NotFoundError
from riskdesk.risk.positions import BookPosition
from riskdesk.risk.reports import (
    VAR_WINDOW,
    HistoryMissingError,
    PortfolioBook,
    RiskReports,
    valuation_time,
)
from riskdesk.risk.whatif import (
    Change,
    Hedge,
    HedgeMethod,
    MeasureChange,
    WhatIfError,
    apply_changes,
    compare_measures,
    hedge_changes,
    parse_symbol,
    position_from_dict,
    position_to_dict,
    suggest_hedge,
)
from riskdesk.store import modeling as repo
from riskdesk.store import portfolio as portfolio_repo
from riskdesk.store.errors import WriteConflictError
from riskdesk.store.models.portfolio import ModelingSessionSnapshot
from riskdesk.store.paging import PageKey
from riskdesk.workbench.usecases import Listing

__all__ = [
    "EXPORT_FORMATS",
    "EXPORT_TYPE",
    "STATUSES",
    "Comparison",
    "ExportResult",
    "HedgeOutcome",
    "ModelingSessions",
    "NotFoundError",
    "SessionClosedError",
    "SessionView",
]

STATUSES: tuple[str, ...] = ("active", "completed", "cancelled")
EXPORT_TYPE = "modeling_session"
"""The ``export_history.export_type`` of a session export (allowed by its CHECK)."""
EXPORT_FORMATS: tuple[str, ...] = ("csv", "json")
_NAME_LIMIT = 255
_DESCRIPTION_LIMIT = 1_000
_CSV_HEADER = ("section", "measure", "baseline", "pro_forma", "change")


class SessionClosedError(WhatIfError):
    """The session is completed or cancelled: it takes no more edits."""


@dataclass(frozen=True, slots=True)
class SessionView:
    """A modeling session: its identity, state, base book, pro forma book and changes."""

    session_id: uuid.UUID
    name: str
    description: str | None
    status: str
    portfolio_id: uuid.UUID
    portfolio_name: str
    on: date
    user_id: uuid.UUID
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None
    baseline: tuple[BookPosition, ...]
    positions: tuple[BookPosition, ...]
    changes: tuple[Mapping[str, Any], ...]
    impact_summary: Mapping[str, Any] | None

    @property
    def active(self) -> bool:
        """True while the session takes edits."""
        return self.status == "active"

    def book(self, *, pro_forma: bool = True) -> PortfolioBook:
        """The pro forma book (or the baseline) as a :class:`PortfolioBook` on the date."""
        positions = self.positions if pro_forma else self.baseline
        return PortfolioBook(self.portfolio_id, self.portfolio_name, self.on, positions, copy=True)

    def summary_dict(self) -> dict[str, Any]:
        """Identity and state only (what a list shows)."""
        return {
            "id": str(self.session_id),
            "name": self.name,
            "description": self.description,
            "status": self.status,
            "portfolio": {"id": str(self.portfolio_id), "name": self.portfolio_name},
            "date": self.on.isoformat(),
            "user_id": str(self.user_id),
            "changes_count": len(self.changes),
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "completed_at": None if self.completed_at is None else self.completed_at.isoformat(),
        }

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types: the summary, both books, the changes and the last impact."""
        return self.summary_dict() | {
            "baseline": [position_to_dict(p) for p in self.baseline],
            "positions": [position_to_dict(p) for p in self.positions],
            "changes": [dict(c) for c in self.changes],
            "impact_summary": None if self.impact_summary is None else dict(self.impact_summary),
        }


@dataclass(frozen=True)
class Comparison:
    """Every measure of the baseline and the pro forma book of a session on its date.

    ``unavailable`` maps a section (``factors``, ``var``, ``stress`` ...) to why it could not
    be computed for the baseline or the pro forma book (e.g. no price history stored).
    """

    session_id: uuid.UUID
    name: str
    portfolio_name: str
    on: date
    changes: int
    computed_at: datetime
    measures: tuple[MeasureChange, ...]
    unavailable: Mapping[str, str]

    def measure(self, name: str) -> MeasureChange:
        """The measure called ``name`` (KeyError naming it when absent)."""
        for m in self.measures:
            if m.measure == name:
                return m
        raise KeyError(f"no measure {name!r} in this comparison")

    def factor_changes(self) -> dict[str, dict[str, str | None]]:
        """Factor -> baseline / pro forma / change of its dollar exposure."""
        out: dict[str, dict[str, str | None]] = {}
        for m in self.measures:
            parts = m.measure.split(".")
            if parts[0] == "factors" and len(parts) == 3 and parts[2] == "dollars":
                entry = m.to_dict()
                out[parts[1]] = {k: entry[k] for k in ("baseline", "pro_forma", "change")}
        return out

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types (every figure a decimal string)."""
        return {
            "session_id": str(self.session_id),
            "name": self.name,
            "portfolio": self.portfolio_name,
            "date": self.on.isoformat(),
            "changes": self.changes,
            "computed_at": self.computed_at.isoformat(),
            "measures": [m.to_dict() for m in self.measures],
            "factor_exposures_change": self.factor_changes(),
            "unavailable": dict(self.unavailable),
        }

    def to_csv(self) -> str:
        """One row per measure: section, measure, baseline, pro forma, change."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(_CSV_HEADER)
        for m in self.measures:
            d = m.to_dict()
            writer.writerow(
                [d[k] or "" for k in ("section", "measure", "baseline", "pro_forma", "change")]
            )
        return buffer.getvalue()


@dataclass(frozen=True)
class HedgeOutcome:
    """A suggested hedge, the betas it lacked (beta method) and whether it was applied."""

    hedge: Hedge
    missing_betas: tuple[str, ...]
    applied: bool
    session: SessionView

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""
        return self.hedge.to_dict() | {
            "session_id": str(self.session.session_id),
            "missing_betas": list(self.missing_betas),
            "applied": self.applied,
            "changes_count": len(self.session.changes),
        }


@dataclass(frozen=True)
class ExportResult:
    """An exported comparison: its text and the ``export_history`` row that records it."""

    export_id: uuid.UUID
    session_id: uuid.UUID
    export_format: str
    file_name: str
    content: str

    @property
    def size_bytes(self) -> int:
        """The UTF-8 size of the content."""
        return len(self.content.encode())

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types (the content as text)."""
        return {
            "export_id": str(self.export_id),
            "session_id": str(self.session_id),
            "format": self.export_format,
            "file_name": self.file_name,
            "size_bytes": self.size_bytes,
            "content": self.content,
        }


# -- helpers ---------------------------------------------------------------------------------


def _snapshot(book: PortfolioBook) -> dict[str, Any]:
    return {
        "portfolio_id": str(book.portfolio_id),
        "portfolio": book.name,
        "date": book.on.isoformat(),
        "positions": [position_to_dict(p) for p in book.positions],
    }


def _positions(snapshot: Mapping[str, Any] | None) -> tuple[BookPosition, ...]:
    if not snapshot:
        return ()
    return tuple(position_from_dict(p) for p in snapshot.get("positions", ()))


def _view(row: ModelingSessionSnapshot) -> SessionView:
    base = row.base_portfolio_snapshot or {}
    assert row.user_id is not None
    assert row.portfolio_id is not None
    assert row.base_snapshot_date is not None
    return SessionView(
        session_id=row.id,
        name=row.name,
        description=row.description,
        status=row.status,
        portfolio_id=row.portfolio_id,
        portfolio_name=str(base.get("portfolio", "")),
        on=row.base_snapshot_date,
        user_id=row.user_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
        completed_at=row.completed_at,
        baseline=_positions(row.base_portfolio_snapshot),
        positions=_positions(row.modified_portfolio_snapshot),
        changes=tuple(row.changes or ()),
        impact_summary=row.impact_summary,
    )


def _require_active(row: ModelingSessionSnapshot, doing: str) -> None:
    if row.status != "active":
        raise SessionClosedError(
            f"modeling session {row.id} is {row.status}: it cannot {doing} (start a new "
            "session to model more changes)"
        )


def _decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(str(value))


def _flatten(
    prefix: str, data: Mapping[str, Any], keys: Sequence[str]
) -> dict[str, Decimal | None]:
    out: dict[str, Decimal | None] = {}
    for key in keys:
        value: Any = data
        for part in key.split("."):
            value = value.get(part) if isinstance(value, Mapping) else None
        out[f"{prefix}.{key}"] = _decimal(value)
    return out


_EXPOSURE_KEYS = (
    "positions",
    "market_value",
    "long",
    "short",
    "gross",
    "net",
    "notional",
    "delta_adjusted.long",
    "delta_adjusted.short",
    "delta_adjusted.gross",
    "delta_adjusted.net",
    "beta_weighted.dollars",
    "beta_weighted.benchmark_shares",
)
_GREEK_KEYS = ("delta", "gamma", "vega", "theta", "dollar_delta", "dollar_gamma", "market_value")
_RISK_KEYS = (
    "annual_volatility",
    "annual_factor_volatility",
    "annual_specific_volatility",
)
_VAR_METHODS = ("historical", "delta_gamma_normal", "monte_carlo")


def _pct(confidence: Any) -> str:
    return str(round(float(confidence) * 100))


def _stored_measures(values: Mapping[str, Decimal | None]) -> dict[str, str | None]:
    return {k: None if v is None else str(v) for k, v in values.items()}


def _read_measures(stored: Mapping[str, Any]) -> dict[str, Decimal | None]:
    return {k: _decimal(v) for k, v in stored.items()}


# -- use case --------------------------------------------------------------------------------


class ModelingSessions(ScopedUseCases):
    """What-if modeling sessions on one database, for one caller.

    Parameters
    ----------
    db
        The database.
    caller
        Who acts (audit rows carry it); a caller with a ``user_id`` sees only its own
        sessions and portfolios. None is the local desktop user (the CLI), not scoped.

    """

    # -- lifecycle -------------------------------------------------------------------------

    def start(
        self,
        portfolio_ref: str | uuid.UUID,
        on: date,
        name: str | None = None,
        description: str | None = None,
    ) -> SessionView:
        """Clone the portfolio's book held on ``on`` (an NYSE session) into a new session.

        Raises
        ------
        NotFoundError
            For a portfolio the caller cannot see.
        ValueError
            For a date that is not a session, or a name or description too long.

        """
        valuation_time(on)
        book = RiskReports(self.db, self.caller).book(portfolio_ref, on)
        clean = (name or "").strip() or f"What-if {book.name} {on.isoformat()}"
        if len(clean) > _NAME_LIMIT:
            raise ValueError(f"session name has {len(clean)} characters; at most {_NAME_LIMIT}")
        if description is not None and len(description) > _DESCRIPTION_LIMIT:
            raise ValueError(
                f"description has {len(description)} characters; at most {_DESCRIPTION_LIMIT}"
            )
        with self._write() as uow:
            owner = self._scope or portfolio_repo.get_or_create_local_user(uow.session)
            row = repo.insert_session(
                uow.session,
                user_id=owner,
                portfolio_id=book.portfolio_id,
                name=clean,
                description=description,
                base_date=on,
                base_snapshot=_snapshot(book),
                created_by=self._scope,
            )
            uow.audit(
                "whatif.session_started",
                resource_type="modeling_session",
                resource_id=row.id,
                new={
                    "portfolio_id": str(book.portfolio_id),
                    "date": on.isoformat(),
                    "name": clean,
                    "positions": len(book.positions),
                },
            )
            return _view(row)

    def list(
        self, after: PageKey | None = None, limit: int = 50, *, status: str | None = None
    ) -> Listing[SessionView]:
        """One page of the caller's sessions (every session for the local user), newest first."""
        if status is not None and status not in STATUSES:
            raise ValueError(f"status {status!r} is not one of {', '.join(STATUSES)}")
        with self._read() as uow:
            page = repo.page_sessions(
                uow.session, user_id=self._scope, status=status, after=after, limit=limit
            )
            return Listing(tuple(_view(r) for r in page.items), page.next_key)

    def get(self, ref: str | uuid.UUID) -> SessionView:
        """The session ``ref`` (its id).

        Raises
        ------
        NotFoundError
            For a session the caller cannot see.

        """
        with self._read() as uow:
            return _view(repo.find_session(uow.session, ref=ref, user_id=self._scope))

    def complete(self, ref: str | uuid.UUID) -> SessionView:
        """Mark an active session completed (it keeps its last comparison)."""
        return self._close(ref, "completed")

    def cancel(self, ref: str | uuid.UUID) -> SessionView:
        """Mark an active session cancelled."""
        return self._close(ref, "cancelled")

    def _close(self, ref: str | uuid.UUID, status: str) -> SessionView:
        with self._write() as uow:
            row = repo.find_session(uow.session, ref=ref, user_id=self._scope, for_update=True)
            _require_active(row, "be " + status)
            row.status = status
            row.completed_at = datetime.now(UTC)
            uow.session.flush()
            uow.audit(
                f"whatif.session_{status}",
                resource_type="modeling_session",
                resource_id=row.id,
                old={"status": "active"},
                new={"status": status, "changes": len(row.changes or ())},
            )
            return _view(row)

    # -- edits -----------------------------------------------------------------------------

    def add_position(
        self,
        ref: str | uuid.UUID,
        symbol: str,
        quantity: Decimal | int | str,
        price: Decimal | int | str,
        tags: Sequence[str] = (),
    ) -> SessionView:
        """Add a position (ticker or OCC symbol, signed quantity, entry price) to the book."""
        return self._edit(
            ref, (Change.add(symbol, quantity, price, tags),), "whatif.position_added"
        )

    def remove_position(
        self,
        ref: str | uuid.UUID,
        *,
        position_id: uuid.UUID | None = None,
        symbol: str | None = None,
    ) -> SessionView:
        """Remove a position, named by its id or its symbol."""
        change = Change.remove(position_id=position_id, symbol=symbol)
        return self._edit(ref, (change,), "whatif.position_removed")

    def resize_position(
        self,
        ref: str | uuid.UUID,
        quantity: Decimal | int | str,
        *,
        position_id: uuid.UUID | None = None,
        symbol: str | None = None,
        allow_flip: bool = False,
    ) -> SessionView:
        """Set a position's quantity (a side flip only with ``allow_flip``)."""
        change = Change.resize(
            quantity, position_id=position_id, symbol=symbol, allow_flip=allow_flip
        )
        return self._edit(ref, (change,), "whatif.position_resized")

    def _edit(
        self,
        ref: str | uuid.UUID,
        new: Sequence[Change],
        event: str,
        *,
        expected_changes: int | None = None,
    ) -> SessionView:
        with self._write() as uow:
            row = repo.find_session(uow.session, ref=ref, user_id=self._scope, for_update=True)
            _require_active(row, "take edits")
            stored = list(row.changes or ())
            if expected_changes is not None and len(stored) != expected_changes:
                raise WriteConflictError(
                    f"modeling session {row.id} changed while the hedge was computed "
                    f"({len(stored)} changes, not {expected_changes}): ask for the hedge again"
                )
            assert row.base_snapshot_date is not None
            on = row.base_snapshot_date
            base = _positions(row.base_portfolio_snapshot)
            modified = apply_changes(base, [*(Change.from_dict(c) for c in stored), *new], on=on)
            now = datetime.now(UTC).isoformat()
            entries = [
                change.to_dict()
                | {
                    "seq": len(stored) + i + 1,
                    "at": now,
                    "by": self.caller.actor,
                    "description": change.describe(),
                }
                for i, change in enumerate(new)
            ]
            row.changes = [*stored, *entries]
            book = PortfolioBook(
                row.portfolio_id or uuid.UUID(int=0),
                str((row.base_portfolio_snapshot or {}).get("portfolio", "")),
                on,
                modified,
                copy=True,
            )
            row.modified_portfolio_snapshot = _snapshot(book)
            uow.session.flush()
            uow.audit(
                event,
                resource_type="modeling_session",
                resource_id=row.id,
                payload={"changes": entries, "positions": len(modified)},
            )
            return _view(row)

    # -- measures --------------------------------------------------------------------------

    def _measure(
        self,
        book: PortfolioBook,
        *,
        benchmark: str,
        factor_window: int,
        var_window: int,
        unavailable: dict[str, str],
        side: str,
    ) -> dict[str, Decimal | None]:
        reports = RiskReports(self.db, self.caller)
        on = book.on
        out: dict[str, Decimal | None] = {}

        def section(name: str, compute: Callable[[], dict[str, Decimal | None]]) -> None:
            if not book.positions and name != "exposures" and name != "greeks":
                unavailable.setdefault(name, f"the {side} book holds no position")
                return
            try:
                out.update(compute())
            except HistoryMissingError as exc:
                unavailable.setdefault(name, f"{side}: {exc}")

        def exposures() -> dict[str, Decimal | None]:
            try:
                betas: dict[str, float] | None = reports.benchmark_betas(
                    book, on, benchmark, window=factor_window
                )
            except HistoryMissingError as exc:
                unavailable.setdefault("betas", f"{side}: {exc}")
                betas = None
            report = reports.exposures(book, on, benchmark, betas=betas).to_dict()
            return _flatten("exposures", report, _EXPOSURE_KEYS)

        def greeks() -> dict[str, Decimal | None]:
            totals = reports.greeks(book, on, by=()).to_dict()["totals"]
            return _flatten("greeks", totals, _GREEK_KEYS)

        def factors() -> dict[str, Decimal | None]:
            report = reports.factors(book, on, factor_window, store=False).to_dict()
            values: dict[str, Decimal | None] = {}
            for item in report["exposures"]:
                values[f"factors.{item['factor']}.dollars"] = _decimal(item["dollars"])
                values[f"factors.{item['factor']}.beta"] = _decimal(item["beta"])
            values.update(_flatten("factors.risk", report["risk"], _RISK_KEYS))
            return values

        def var() -> dict[str, Decimal | None]:
            report = reports.var(book, on, window=var_window).to_dict()
            values: dict[str, Decimal | None] = {
                "var.current_value": _decimal(report["current_value"])
            }
            for method in _VAR_METHODS:
                for figure in report.get(method) or ():
                    key = f"var.{method}.{_pct(figure['confidence'])}.{figure['horizon_days']}d"
                    values[f"{key}.var"] = _decimal(figure["var"])
                    values[f"{key}.es"] = _decimal(figure["es"])
            return values

        def stress() -> dict[str, Decimal | None]:
            report = reports.stress(book, on).to_dict()
            return {f"stress.{s['key']}.pnl": _decimal(s["pnl"]) for s in report["scenarios"]}

        section("exposures", exposures)
        section("greeks", greeks)
        section("factors", factors)
        section("var", var)
        section("stress", stress)
        return out

    def compare(
        self,
        ref: str | uuid.UUID,
        *,
        benchmark: str = "SPY",
        factor_window: int = REGRESSION_WINDOW,
        var_window: int = VAR_WINDOW,
    ) -> Comparison:
        """Every measure of the baseline and the pro forma book on the session's date, stored.

        Computed with no transaction open; the result is stored (``risk_metrics_before`` /
        ``_after``, ``factor_exposures_change``, ``impact_summary``) unless the session was
        edited meanwhile (the comparison returned is then of the book as it was read).
        """
        symbol, instrument = parse_symbol(benchmark)
        if not isinstance(instrument, Stock):
            raise ValueError(f"benchmark {symbol} must be a stock or ETF ticker, not an option")
        view = self.get(ref)
        unavailable: dict[str, str] = {}
        sides: list[dict[str, Decimal | None]] = [
            self._measure(
                book,
                benchmark=symbol,
                factor_window=factor_window,
                var_window=var_window,
                unavailable=unavailable,
                side=side,
            )
            for book, side in ((view.book(pro_forma=False), "baseline"), (view.book(), "pro forma"))
        ]
        before, after = sides
        comparison = Comparison(
            session_id=view.session_id,
            name=view.name,
            portfolio_name=view.portfolio_name,
            on=view.on,
            changes=len(view.changes),
            computed_at=datetime.now(UTC),
            measures=compare_measures(before, after),
            unavailable=dict(unavailable),
        )
        self._store_comparison(
            view,
            comparison,
            before,
            after,
            options={
                "benchmark": symbol,
                "factor_window": factor_window,
                "var_window": var_window,
            },
        )
        return comparison

    def _store_comparison(
        self,
        view: SessionView,
        comparison: Comparison,
        before: Mapping[str, Decimal | None],
        after: Mapping[str, Decimal | None],
        *,
        options: Mapping[str, Any],
    ) -> None:
        headline_keys = (
            "exposures.net",
            "exposures.delta_adjusted.net",
            "exposures.beta_weighted.dollars",
            "greeks.delta",
            "greeks.vega",
            "var.historical.99.1d.var",
            "var.historical.99.1d.es",
        )
        by_name = {m.measure: m for m in comparison.measures}
        headline = {k: by_name[k].to_dict() for k in headline_keys if k in by_name}
        stress = [
            m for m in comparison.measures if m.section == "stress" and m.pro_forma is not None
        ]
        if stress:
            worst = min(stress, key=lambda m: m.pro_forma or Decimal(0))
            headline["worst_stress"] = worst.to_dict()
        with self._write() as uow:
            row = repo.find_session(
                uow.session, ref=view.session_id, user_id=self._scope, for_update=True
            )
            if len(row.changes or ()) != comparison.changes:
                return  # edited meanwhile: this comparison is of an older book
            row.risk_metrics_before = {"measures": _stored_measures(before)}
            row.risk_metrics_after = {"measures": _stored_measures(after)}
            row.factor_exposures_change = comparison.factor_changes()
            row.impact_summary = {
                "computed_at": comparison.computed_at.isoformat(),
                "date": comparison.on.isoformat(),
                "changes": comparison.changes,
                "options": dict(options),
                "headline": headline,
                "unavailable": dict(comparison.unavailable),
            }
            uow.session.flush()
            uow.audit(
                "whatif.compared",
                resource_type="modeling_session",
                resource_id=row.id,
                payload={"changes": comparison.changes, "measures": len(comparison.measures)},
            )

    def stored_comparison(self, ref: str | uuid.UUID) -> Comparison | None:
        """The last stored comparison if it reflects every change of the session, else None."""
        with self._read() as uow:
            row = repo.find_session(uow.session, ref=ref, user_id=self._scope)
            summary = row.impact_summary
            if (
                summary is None
                or row.risk_metrics_before is None
                or row.risk_metrics_after is None
                or summary.get("changes") != len(row.changes or ())
            ):
                return None
            view = _view(row)
            before = _read_measures(row.risk_metrics_before.get("measures", {}))
            after = _read_measures(row.risk_metrics_after.get("measures", {}))
        return Comparison(
            session_id=view.session_id,
            name=view.name,
            portfolio_name=view.portfolio_name,
            on=view.on,
            changes=int(summary["changes"]),
            computed_at=datetime.fromisoformat(str(summary["computed_at"])),
            measures=compare_measures(before, after),
            unavailable=dict(summary.get("unavailable") or {}),
        )

    # -- hedge -----------------------------------------------------------------------------

    def hedge(
        self,
        ref: str | uuid.UUID,
        *,
        method: HedgeMethod | str = HedgeMethod.DELTA,
        etf: str = "SPY",
        apply: bool = False,
        window: int = REGRESSION_WINDOW,
    ) -> HedgeOutcome:
        """The whole shares of ``etf`` that zero the pro forma book's (beta-weighted) delta.

        Method ``delta`` uses the book's net delta-dollars; ``beta`` its delta-dollars
        weighted by each underlying's beta to ``etf`` over ``window`` sessions (underlyings
        without a beta are left out and listed). With ``apply`` the hedge becomes a change of
        the session (the ETF added, or its holding resized).

        Raises
        ------
        HistoryMissingError
            When the ETF has no close on the session's date (or no history, method beta).
        SessionClosedError
            When applying to a closed session.

        """
        kind = HedgeMethod(method)
        symbol, instrument = parse_symbol(etf)
        if not isinstance(instrument, Stock):
            raise ValueError(f"the hedge instrument {symbol} must be an ETF or stock ticker")
        view = self.get(ref)
        if apply and not view.active:
            raise SessionClosedError(
                f"modeling session {view.session_id} is {view.status}: it cannot take edits "
                "(start a new session to model more changes)"
            )
        reports = RiskReports(self.db, self.caller)
        book = view.book()
        betas = (
            reports.benchmark_betas(book, view.on, symbol, window=window)
            if kind is HedgeMethod.BETA
            else None
        )
        exposures = reports.exposures(book, view.on, symbol, betas=betas)
        price = exposures.benchmark_price
        if price is None:
            raise HistoryMissingError(
                f"no close of {symbol} on {view.on.isoformat()} is stored: run `riskdesk "
                "history synth` or `riskdesk history import FILE` first"
            )
        exposure = (
            exposures.delta_net if kind is HedgeMethod.DELTA else exposures.beta_weighted_dollars
        )
        hedge = suggest_hedge(exposure, etf=symbol, price=price, method=kind)
        missing = exposures.missing_betas if kind is HedgeMethod.BETA else ()
        changes = hedge_changes(view.positions, hedge, on=view.on) if apply else ()
        if changes:
            view = self._edit(
                ref, changes, "whatif.hedge_applied", expected_changes=len(view.changes)
            )
        return HedgeOutcome(hedge, tuple(missing), bool(changes), view)

    # -- export ----------------------------------------------------------------------------

    def export(
        self,
        ref: str | uuid.UUID,
        export_format: str = "json",
        *,
        benchmark: str = "SPY",
        factor_window: int = REGRESSION_WINDOW,
        var_window: int = VAR_WINDOW,
    ) -> ExportResult:
        """The comparison as CSV or JSON text, recorded as one ``export_history`` row.

        The stored comparison is used when it reflects every change; otherwise the session
        is compared first (with the options given).
        """
        fmt = export_format.strip().lower()
        if fmt not in EXPORT_FORMATS:
            raise ValueError(f"export format {export_format!r} is not one of csv, json")
        comparison = self.stored_comparison(ref)
        if comparison is None:
            comparison = self.compare(
                ref, benchmark=benchmark, factor_window=factor_window, var_window=var_window
            )
        if fmt == "json":
            content = json.dumps(comparison.to_dict(), indent=2, sort_keys=False) + "\n"
        else:
            content = comparison.to_csv()
        file_name = f"whatif-{comparison.session_id}-{comparison.on.isoformat()}.{fmt}"
        with self._write() as uow:
            row = repo.find_session(uow.session, ref=comparison.session_id, user_id=self._scope)
            assert row.user_id is not None
            export = repo.insert_export(
                uow.session,
                user_id=row.user_id,
                export_type=EXPORT_TYPE,
                export_format=fmt,
                file_name=file_name,
                file_size_bytes=len(content.encode()),
            )
            uow.audit(
                "whatif.exported",
                resource_type="modeling_session",
                resource_id=row.id,
                payload={"export_id": str(export.id), "format": fmt, "file_name": file_name},
            )
            export_id = export.id
        return ExportResult(export_id, comparison.session_id, fmt, file_name, content)
