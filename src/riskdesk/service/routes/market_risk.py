"""``/v1/risk/regime``, ``/v1/risk/{portfolio_id}/squeeze`` and ``/v1/risk-events``.

Seed 001's regime measures and the short-squeeze tiers (:mod:`riskdesk.risk.market_risk`):

* ``GET /v1/risk/regime?on=`` answers the VIX regime with its sizing factor, the 7- and
  30-session SPY/QQQ/IWM correlations, the volume ratios and the emergency thresholds; it
  writes nothing.
* ``POST /v1/risk/regime?on=`` (trader) measures the same and records the thresholds it finds
  crossed: market-wide facts of that session, written to ``risk_events`` the first time and
  never again (the answer says which were new and which were already recorded), so the
  request is idempotent.
* ``GET /v1/risk/{portfolio_id}/squeeze?on=`` tiers your book's short shares and short calls;
  another user's portfolio is a 404.
* ``GET /v1/risk-events`` lists the market-wide events and your own, newest first, in keyset
  pages, filtered by ``event_type``, ``severity`` and the session ``on``.

A date defaults to the last NYSE session on or before today (UTC); a date that is not a
session is a 422; a missing VIX/SPY/QQQ/IWM history a 409 saying how to add it.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from riskdesk.risk.market_risk import MarketRegime, RiskEventView
from riskdesk.service.dates import session_or_last
from riskdesk.service.deps import State, TraderCaller, ViewerCaller
from riskdesk.service.pagination import Page, PageParams, after_key, page_params, to_page
from riskdesk.service.problems import problem_responses
from riskdesk.store.paging import KeysetPage

__all__ = ["router"]

router = APIRouter(tags=["portfolios"])

T = TypeVar("T")

_READ_ERRORS = problem_responses(401, 403, 404, 409, 422)

OnDate = Annotated[
    date | None,
    Query(description="An NYSE session (default: the last one on or before today, UTC)."),
]


class RiskEventOut(BaseModel):
    """A risk event: seed 001's form (type, severity, values, action) or seed 004's (rule)."""

    id: str
    event_type: str | None
    severity: str | None
    description: str | None
    triggered_value: str | None
    threshold_value: str | None
    action_taken: str | None
    rule: str | None
    details: dict[str, Any]
    created_at: datetime

    @classmethod
    def of(cls, view: RiskEventView) -> RiskEventOut:
        """The wire form of a stored event (values as decimal strings)."""
        data = view.to_dict()
        return cls(
            id=data["id"],
            event_type=data["event_type"],
            severity=data["severity"],
            description=data["description"],
            triggered_value=data["triggered_value"],
            threshold_value=data["threshold_value"],
            action_taken=data["action_taken"],
            rule=data["rule"],
            details=data["details"],
            created_at=datetime.fromisoformat(data["created_at"]),
        )


def _regime(state: State, caller: ViewerCaller) -> MarketRegime:
    return MarketRegime(state.db, caller)


Regime = Annotated[MarketRegime, Depends(_regime)]


def _recorder(state: State, caller: TraderCaller) -> MarketRegime:
    return MarketRegime(state.db, caller)


@router.get("/v1/risk/regime", response_model=dict[str, Any], responses=_READ_ERRORS)
def regime(market: Regime, on: OnDate = None) -> dict[str, Any]:
    """VIX regime and sizing factor, rolling correlations, emergency thresholds (not recorded)."""
    day = session_or_last(on)
    return market.regime(day, record=False).to_dict()


@router.post("/v1/risk/regime", response_model=dict[str, Any], responses=_READ_ERRORS)
def record_regime(
    market: Annotated[MarketRegime, Depends(_recorder)], on: OnDate = None
) -> dict[str, Any]:
    """Measure the regime and record each crossed threshold in ``risk_events`` (once)."""
    day = session_or_last(on)
    return market.regime(day).to_dict()


@router.get(
    "/v1/risk/{portfolio_id}/squeeze", response_model=dict[str, Any], responses=_READ_ERRORS
)
def squeeze(portfolio_id: uuid.UUID, market: Regime, on: OnDate = None) -> dict[str, Any]:
    """Short-squeeze tiers of your book's short shares and short calls."""
    day = session_or_last(on)
    return market.squeeze(portfolio_id, day).to_dict()


@router.get(
    "/v1/risk-events",
    response_model=Page[RiskEventOut],
    responses=problem_responses(400, 401, 403, 422),
)
def risk_events(
    market: Regime,
    state: State,
    page: Annotated[PageParams, Depends(page_params)],
    event_type: Annotated[str | None, Query(min_length=1, max_length=50)] = None,
    severity: Annotated[Literal["low", "medium", "high", "critical"] | None, Query()] = None,
    on: Annotated[date | None, Query(description="Market-regime events of this session.")] = None,
) -> Page[RiskEventOut]:
    """Market-wide risk events and your own, newest first."""
    secret = state.cursor_secret
    listing = market.events(
        after=after_key(page, secret=secret),
        limit=page.limit,
        event_type=event_type,
        severity=severity,
        on=on,
    )
    return to_page(
        KeysetPage(listing.items, listing.next_key), RiskEventOut.of, page, secret=secret
    )
