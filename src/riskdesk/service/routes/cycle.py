"""``/v1/trade/cycle``: one idempotent strategy-risk-execution cycle (seed 004).

``POST /v1/trade/cycle {account, idempotency_key, trigger_source, symbol}`` runs
:meth:`riskdesk.trading.cycle.TradeCycles.run` with the default rule (a 0DTE short iron
condor by delta, a DAY limit at the mid credit) and answers 202 with
``{cycle_id, accepted, queued_at, order, code, replayed}``. A repeat of the key with the same
request answers the stored cycle; another request under the key is 409
``IDEMPOTENCY_KEY_REUSED``; a cycle the kill switch refuses is 423 ``KILL_SWITCH_ACTIVE``
(the refused order is stored as rejected); a risk block is 409 ``RISK_BLOCKED`` and stale
market data 409 ``STALE_MARKET_DATA``.

The desk is the trading routes' (:func:`riskdesk.service.routes.trading.desk_for`): the same
market, clock and shared mid history (``state.extras["paper_market"]`` / ``["paper_clock"]``
replace the synthetic market and the wall clock in tests).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from riskdesk.service.deps import State, TraderCaller
from riskdesk.service.problems import ErrorCode, ProblemError, problem_responses
from riskdesk.service.routes.trading import desk_for
from riskdesk.trading.cycle import CycleError, TradeCycles
from riskdesk.trading.desk import (
    AccountNotFoundError,
    DeskError,
    IdempotencyConflictError,
)

__all__ = ["CycleIn", "CycleOut", "desk_for", "router"]

router = APIRouter(tags=["trading"])


class CycleIn(BaseModel):
    """A trade cycle request."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "account": "main",
                    "idempotency_key": "9f1d84a3-2a28-431f-bf03-6f5b6d1de4b1",
                    "trigger_source": "scheduler",
                    "symbol": "SPY",
                }
            ]
        },
    )

    account: str = Field(min_length=1, max_length=64, description="Account name or id.")
    idempotency_key: str = Field(min_length=1, max_length=240)
    trigger_source: str = Field(min_length=1, max_length=50, examples=["scheduler"])
    symbol: str = Field(min_length=1, max_length=10, examples=["SPY"])


class CycleOut(BaseModel):
    """A cycle's outcome (``order`` as ``GET /v1/orders/{id}`` shows it, at the cycle's end)."""

    cycle_id: str
    account_id: str
    accepted: bool
    code: str | None
    message: str | None
    queued_at: datetime
    order: dict[str, Any]
    signal: dict[str, Any]
    replayed: bool


_REFUSALS = {
    "KILL_SWITCH_ACTIVE": (423, ErrorCode.KILL_SWITCH_ACTIVE),
    "RISK_BLOCKED": (409, ErrorCode.RISK_BLOCKED),
    "STALE_MARKET_DATA": (409, ErrorCode.STALE_MARKET_DATA),
}


@router.post(
    "/v1/trade/cycle",
    status_code=202,
    response_model=CycleOut,
    responses=problem_responses(401, 403, 404, 409, 422, 423),
)
def run_cycle(body: CycleIn, state: State, caller: TraderCaller) -> CycleOut:
    """Run one strategy-risk-execution cycle; idempotent on ``idempotency_key``."""
    cycles = TradeCycles(desk_for(state, caller))
    try:
        result = cycles.run(
            body.account,
            idempotency_key=body.idempotency_key,
            trigger_source=body.trigger_source,
            symbol=body.symbol,
        )
    except AccountNotFoundError as error:
        raise ProblemError(404, ErrorCode.NOT_FOUND, str(error)) from error
    except IdempotencyConflictError as error:
        raise ProblemError(409, ErrorCode.IDEMPOTENCY_KEY_REUSED, str(error)) from error
    except (CycleError, DeskError) as error:
        raise ProblemError(422, ErrorCode.VALIDATION_ERROR, str(error)) from error
    if not result.accepted and result.code in _REFUSALS:
        status, code = _REFUSALS[result.code]
        detail = result.message or result.code
        raise ProblemError(status, code, f"cycle {result.cycle_id}: {detail}")
    return CycleOut(**result.to_dict())
