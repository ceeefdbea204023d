"""``/v1/model-configs`` and ``/v1/scenario-grids``: shared, content-hashed settings.

Both are get-or-create by hash: posting the same settings twice answers 201 then 200 with
the same id. Everyone reads them; a trader creates them.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response

from riskdesk.service.deps import State, TraderCaller, ViewerCaller
from riskdesk.service.pagination import Page, PageParams, after_key, page_params, to_page
from riskdesk.service.problems import problem_responses
from riskdesk.service.schemas import GridOut, ModelConfigIn, ModelConfigOut, ScenarioGridIn
from riskdesk.store.paging import KeysetPage
from riskdesk.workbench.usecases import Workbench

__all__ = ["router"]

router = APIRouter(tags=["configs"])


def _existed(model: type[Any]) -> dict[int | str, dict[str, Any]]:
    return {200: {"model": model, "description": "The identical settings were already stored."}}


@router.post(
    "/v1/model-configs",
    response_model=ModelConfigOut,
    status_code=201,
    responses=_existed(ModelConfigOut) | problem_responses(401, 403, 422),
)
def create_model_config(
    body: ModelConfigIn, caller: TraderCaller, state: State, response: Response
) -> ModelConfigOut:
    """Store a model config (201; 200 with the stored one when its hash exists)."""
    ref = Workbench(state.db, caller).save_model_config(body.to_domain())
    response.status_code = 201 if ref.created else 200
    return ModelConfigOut.from_ref(ref)


@router.get(
    "/v1/model-configs",
    response_model=Page[ModelConfigOut],
    responses=problem_responses(400, 401, 403, 422),
)
def list_model_configs(
    caller: ViewerCaller, state: State, page: Annotated[PageParams, Depends(page_params)]
) -> Page[ModelConfigOut]:
    """Stored model configs, newest first."""
    secret = state.cursor_secret
    listing = Workbench(state.db, caller).list_model_configs(
        limit=page.limit, after=after_key(page, secret=secret)
    )
    return to_page(
        KeysetPage(listing.items, listing.next_key), ModelConfigOut.from_ref, page, secret=secret
    )


@router.get(
    "/v1/model-configs/{config_id}",
    response_model=ModelConfigOut,
    responses=problem_responses(401, 403, 404, 422),
)
def get_model_config(config_id: uuid.UUID, caller: ViewerCaller, state: State) -> ModelConfigOut:
    """One stored model config."""
    return ModelConfigOut.from_ref(Workbench(state.db, caller).get_model_config(str(config_id)))


@router.post(
    "/v1/scenario-grids",
    response_model=GridOut,
    status_code=201,
    responses=_existed(GridOut) | problem_responses(401, 403, 422),
)
def create_scenario_grid(
    body: ScenarioGridIn, caller: TraderCaller, state: State, response: Response
) -> GridOut:
    """Store a scenario grid (201; 200 with the stored one when its hash exists)."""
    ref = Workbench(state.db, caller).save_scenario_grid(body.to_domain())
    response.status_code = 201 if ref.created else 200
    return GridOut.from_ref(ref)


@router.get(
    "/v1/scenario-grids",
    response_model=Page[GridOut],
    responses=problem_responses(400, 401, 403, 422),
)
def list_scenario_grids(
    caller: ViewerCaller, state: State, page: Annotated[PageParams, Depends(page_params)]
) -> Page[GridOut]:
    """Stored scenario grids, newest first."""
    secret = state.cursor_secret
    listing = Workbench(state.db, caller).list_scenario_grids(
        limit=page.limit, after=after_key(page, secret=secret)
    )
    return to_page(
        KeysetPage(listing.items, listing.next_key), GridOut.from_ref, page, secret=secret
    )


@router.get(
    "/v1/scenario-grids/{grid_id}",
    response_model=GridOut,
    responses=problem_responses(401, 403, 404, 422),
)
def get_scenario_grid(grid_id: uuid.UUID, caller: ViewerCaller, state: State) -> GridOut:
    """One stored scenario grid."""
    return GridOut.from_ref(Workbench(state.db, caller).get_scenario_grid(str(grid_id)))
