"""``/v1/evaluate``, ``/v1/compare`` and ``/v1/attribution``: the workbench analytics.

An evaluation answers the stored canonical JSON bytes themselves (``X-Cache: hit`` when they
came from the cache, ``miss`` when this request computed them), so a client gets the very
bytes the CLI's ``evaluate --json`` prints. ``?as_job=true`` runs it as a job (202).
The trade is one of your drafts (as it is now) or a version you committed. Evaluate, compare
and attribute store results and audit rows: they need the trader role; a viewer reads stored
attributions of trades they may see.
"""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse

from riskdesk.domain.caller import Caller
from riskdesk.domain.configs import ModelConfig, ScenarioGrid
from riskdesk.service.deps import State, TraderCaller, ViewerCaller
from riskdesk.service.jobs import JobContext
from riskdesk.service.problems import problem_responses
from riskdesk.service.routes.jobs import JobOut
from riskdesk.service.routes.market import snapshot_cache
from riskdesk.service.schemas import (
    AttributeIn,
    AttributionOut,
    CompareIn,
    EvaluateIn,
    ModelConfigIn,
    ScenarioGridIn,
    to_jsonable,
)
from riskdesk.service.state import ServiceState
from riskdesk.workbench.usecases import AttributionRecord, Workbench

__all__ = ["router"]

router = APIRouter(tags=["analytics"])

_OBJECT: dict[str, Any] = {"type": "object", "additionalProperties": True}


def _json_result(description: str) -> dict[int | str, dict[str, Any]]:
    return {200: {"description": description, "content": {"application/json": {"schema": _OBJECT}}}}


_AS_JOB: dict[int | str, dict[str, Any]] = {
    202: {"model": JobOut, "description": "Accepted as a job (as_job=true)."}
}


def _config(bench: Workbench, inline: ModelConfigIn | None, ref: uuid.UUID | None) -> ModelConfig:
    if ref is not None:
        return bench.get_model_config(str(ref)).config
    return ModelConfig() if inline is None else inline.to_domain()


def _grid(bench: Workbench, inline: ScenarioGridIn | None, ref: uuid.UUID | None) -> ScenarioGrid:
    if ref is not None:
        return bench.get_scenario_grid(str(ref)).grid
    return ScenarioGrid() if inline is None else inline.to_domain()


def _evaluate(state: ServiceState, caller: Caller, body: EvaluateIn) -> tuple[bool, bytes]:
    bench = Workbench(state.db, caller, snapshots=snapshot_cache(state))
    outcome = bench.evaluate(
        body.trade.ref(),
        str(body.snapshot_id),
        _config(bench, body.config, body.model_config_id),
        _grid(bench, body.scenario_grid, body.scenario_grid_id),
    )
    return outcome.cache_hit, outcome.output_bytes


@router.post(
    "/v1/evaluate",
    response_model=None,
    responses=_json_result(
        "The evaluation document (riskdesk evaluation schema), as stored: canonical JSON."
    )
    | _AS_JOB
    | problem_responses(401, 403, 404, 409, 422),
)
def evaluate(
    body: EvaluateIn,
    caller: TraderCaller,
    state: State,
    as_job: Annotated[bool, Query(description="Run as a job and answer 202.")] = False,
) -> Response:
    """Evaluate a trade on a snapshot under a model config and scenario grid (cached)."""
    if as_job:

        def work(ctx: JobContext) -> dict[str, Any]:
            ctx.progress(0.0, "evaluating", force=True)
            hit, output = _evaluate(state, caller, body)
            return {"cache_hit": hit, "result": json.loads(output)}

        view = state.jobs.submit(
            caller, "evaluate", body.model_dump(mode="json", by_alias=True), work
        )
        return JSONResponse(JobOut.from_view(view).model_dump(mode="json"), status_code=202)
    hit, output = _evaluate(state, caller, body)
    return Response(
        content=output,
        media_type="application/json",
        headers={"X-Cache": "hit" if hit else "miss"},
    )


@router.post(
    "/v1/compare",
    response_model=None,
    responses=_json_result("A, B and A-B for every measure and grid (riskdesk comparison).")
    | problem_responses(401, 403, 404, 409, 422),
)
def compare(body: CompareIn, caller: TraderCaller, state: State) -> JSONResponse:
    """Compare trades A and B on one snapshot: A, B and A-B."""
    bench = Workbench(state.db, caller, snapshots=snapshot_cache(state))
    data = bench.compare(
        body.a.ref(),
        body.b.ref(),
        str(body.snapshot_id),
        _config(bench, body.config, body.model_config_id),
        _grid(bench, body.scenario_grid, body.scenario_grid_id),
    )
    return JSONResponse(to_jsonable(data))


def _attribution_out(record: AttributionRecord) -> AttributionOut:
    return AttributionOut(
        id=str(record.attribution_id),
        trade_ref_type=record.trade_ref_type,
        trade_ref_id=str(record.trade_ref_id),
        trade_hash=record.trade_hash,
        snapshot_id=str(record.snapshot_id),
        model_config_id=str(record.model_config_id),
        created_at=record.created_at,
        result=to_jsonable(record.result),
    )


@router.post(
    "/v1/attribution",
    response_model=AttributionOut,
    status_code=201,
    responses=problem_responses(401, 403, 404, 409, 422),
)
def attribute(body: AttributeIn, caller: TraderCaller, state: State) -> AttributionOut:
    """P&L attribution from a base snapshot to a compare snapshot, or to base + ``days``."""
    bench = Workbench(state.db, caller, snapshots=snapshot_cache(state))
    attribution_id, _ = bench.attribute(
        body.trade.ref(),
        str(body.base_snapshot_id),
        _config(bench, body.config, body.model_config_id),
        compare_ref=None if body.compare_snapshot_id is None else str(body.compare_snapshot_id),
        days=body.days,
    )
    return _attribution_out(bench.get_attribution(attribution_id))


@router.get(
    "/v1/attribution/{attribution_id}",
    response_model=AttributionOut,
    responses=problem_responses(401, 403, 404, 422),
)
def get_attribution(
    attribution_id: uuid.UUID, caller: ViewerCaller, state: State
) -> AttributionOut:
    """A stored attribution of one of your trades."""
    return _attribution_out(Workbench(state.db, caller).get_attribution(attribution_id))
