"""Risk measure repository: factor definitions, factor betas, exposures, covariances, correlations.

Keyword-only functions over a session that the caller's unit of work holds; no business rules
(the factor model and the correlations are computed in :mod:`riskdesk.risk`). Every
``replace_*`` function deletes the rows of one date (and one portfolio's positions, or one set
of factors) before adding the new ones, so re-running a date replaces it and never duplicates.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Table, delete, or_, select
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session

from riskdesk.store.bulk import insert_rows, upsert_changed
from riskdesk.store.models.portfolio import (
    FactorCovariance,
    FactorDefinition,
    PortfolioFactorExposure,
    PositionCorrelation,
    PositionFactorBeta,
)

__all__ = [
    "FactorSpec",
    "ensure_factor_definitions",
    "replace_factor_covariance",
    "replace_portfolio_factor_exposures",
    "replace_position_correlations",
    "replace_position_factor_betas",
]

_CHUNK = 500
"""Values per ``IN (...)`` list (well under both backends' parameter limits)."""


@dataclass(frozen=True, slots=True)
class FactorSpec:
    """A ``factor_definitions`` row to find by ``name`` or create with these values."""

    factor_id: uuid.UUID
    name: str
    display_name: str
    category: str
    sort_order: int
    etf_proxy: str | None = None
    description: str | None = None


def ensure_factor_definitions(
    session: Session, *, specs: Sequence[FactorSpec]
) -> dict[str, uuid.UUID]:
    """Name -> id of the factor definitions named in ``specs``, creating the missing ones.

    A row found by name keeps its id and values (seeded reference rows are never changed); a
    missing one is inserted with the spec's id in a savepoint, so concurrent writers both
    succeed and one row exists.
    """
    names = [s.name for s in specs]
    out = {
        name: fid
        for fid, name in session.execute(
            select(FactorDefinition.id, FactorDefinition.name).where(
                FactorDefinition.name.in_(names)
            )
        )
    }
    for spec in specs:
        if spec.name in out:
            continue
        row = FactorDefinition(
            id=spec.factor_id,
            name=spec.name,
            display_name=spec.display_name,
            category=spec.category,
            sort_order=spec.sort_order,
            etf_proxy=spec.etf_proxy,
            description=spec.description,
        )
        try:
            with session.begin_nested():
                session.add(row)
                session.flush()
        except sa_exc.IntegrityError:
            found = session.scalars(
                select(FactorDefinition.id).where(FactorDefinition.name == spec.name)
            ).first()
            if found is None:
                raise
            out[spec.name] = found
            continue
        out[spec.name] = row.id
    return out


def _chunks(ids: Sequence[uuid.UUID]) -> list[list[uuid.UUID]]:
    unique = sorted(set(ids))
    return [unique[i : i + _CHUNK] for i in range(0, len(unique), _CHUNK)]


def replace_position_factor_betas(
    session: Session,
    *,
    position_ids: Sequence[uuid.UUID],
    day: date,
    rows: Sequence[PositionFactorBeta],
) -> None:
    """Replace the ``position_factor_betas`` of ``position_ids`` on ``day`` with ``rows``."""
    for chunk in _chunks(position_ids):
        session.execute(
            delete(PositionFactorBeta).where(
                PositionFactorBeta.position_id.in_(chunk),
                PositionFactorBeta.calculation_date == day,
            )
        )
    insert_rows(session, rows)


def replace_portfolio_factor_exposures(
    session: Session,
    *,
    portfolio_id: uuid.UUID,
    day: date,
    rows: Sequence[PortfolioFactorExposure],
) -> None:
    """Replace the portfolio's ``portfolio_factor_exposures`` on ``day`` with ``rows``."""
    session.execute(
        delete(PortfolioFactorExposure).where(
            PortfolioFactorExposure.portfolio_id == portfolio_id,
            PortfolioFactorExposure.calculation_date == day,
        )
    )
    insert_rows(session, rows)


def replace_factor_covariance(
    session: Session,
    *,
    factor_ids: Sequence[uuid.UUID],
    day: date,
    rows: Sequence[FactorCovariance],
) -> None:
    """Store the ``factor_covariance_matrix`` pairs of ``day`` (each pair once, replaced).

    The matrix is market-wide: every portfolio measured on ``day`` writes the same pairs, and
    the daily batch writes them from several processes at once. So this is an upsert by
    (pair, date) in key order (two writers wait for each other; a delete-then-insert would
    make the second fail on the unique pair), never a duplicate. Each row must hold its pair
    ordered (``factor1_id <= factor2_id``, the table's rule) and be one of ``factor_ids``.
    """
    wanted = set(factor_ids)
    stray = [r for r in rows if r.factor1_id not in wanted or r.factor2_id not in wanted]
    if stray:
        raise ValueError("a covariance row names a factor outside factor_ids")
    table = FactorCovariance.__table__
    assert isinstance(table, Table)
    values = sorted(
        (
            {
                "factor1_id": r.factor1_id,
                "factor2_id": r.factor2_id,
                "calculation_date": day,
                "covariance": r.covariance,
                "correlation": r.correlation,
            }
            for r in rows
        ),
        key=lambda v: (str(v["factor1_id"]), str(v["factor2_id"])),
    )
    upsert_changed(
        session,
        table,
        values,
        keys=("factor1_id", "factor2_id", "calculation_date"),
        values=("covariance", "correlation"),
        what="factor covariance",
    )


def replace_position_correlations(
    session: Session,
    *,
    position_ids: Sequence[uuid.UUID],
    day: date,
    rows: Sequence[PositionCorrelation],
) -> None:
    """Replace every ``position_correlation_matrix`` pair touching ``position_ids`` on ``day``.

    Each row must hold its pair ordered (``position1_id < position2_id``, the table's rule).
    """
    for chunk in _chunks(position_ids):
        session.execute(
            delete(PositionCorrelation).where(
                PositionCorrelation.calculation_date == day,
                or_(
                    PositionCorrelation.position1_id.in_(chunk),
                    PositionCorrelation.position2_id.in_(chunk),
                ),
            )
        )
    insert_rows(session, rows)
