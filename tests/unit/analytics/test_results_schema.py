"""Published JSON schema of the analytics output (riskdesk.analytics._results)."""

from __future__ import annotations

from typing import Any, get_args

import pytest
from pydantic import ValidationError

from riskdesk.analytics import (
    AttributionResult,
    ComparisonResult,
    EvaluationResult,
    Extremum,
    attribute,
    compare,
    evaluate,
    market_state,
)
from riskdesk.analytics._results import (
    ATTRIBUTION_SCHEMA,
    COMPARISON_SCHEMA,
    EVALUATION_SCHEMA,
    AttributionJson,
    ComparisonJson,
    EvaluationJson,
)
from riskdesk.domain.configs import ModelConfig, ScenarioGrid
from riskdesk.domain.market import MarketSnapshot


def _check_round_trip(model: Any, data: dict[str, Any], schema: dict[str, Any]) -> None:
    validated = model.model_validate(data)
    assert validated.to_dict() == data
    assert set(schema["properties"]) == set(data)
    assert set(schema["required"]) == set(data)


def test_evaluation_json_with_real_version_and_draft_round_trips_through_schema(
    mk: Any, snapshot: MarketSnapshot, config: ModelConfig, grid: ScenarioGrid
) -> None:
    version = mk.iron_condor()
    for trade in (version, mk.draft_of(version)):
        result = evaluate(trade, snapshot, config, grid)
        data = result.to_json_dict()

        _check_round_trip(EvaluationJson, data, EvaluationResult.json_schema())
        assert result.to_model().to_dict() == data

    assert data["inputs"]["trade"]["type"] == "DRAFT"


def test_comparison_json_with_real_trades_round_trips_through_schema(
    mk: Any, snapshot: MarketSnapshot, config: ModelConfig, grid: ScenarioGrid
) -> None:
    a = mk.iron_condor()
    b = mk.version(mk.leg(mk.option(100, "C"), 1, "3.10"), name="call")

    result = compare(a, b, snapshot, config, grid)
    data = result.to_json_dict()

    _check_round_trip(ComparisonJson, data, ComparisonResult.json_schema())
    assert result.to_model().diff.greeks == data["diff"]["greeks"]


def test_attribution_json_with_real_move_round_trips_through_schema(
    mk: Any, snapshot: MarketSnapshot, config: ModelConfig
) -> None:
    trade = mk.iron_condor()
    base = market_state(trade, snapshot, config)
    moved = base.shifted(spot_pct=-2.0, vol_points=1.0, days=3.0)

    result = attribute(trade, base, moved, config)
    data = result.to_json_dict()

    _check_round_trip(AttributionJson, data, AttributionResult.json_schema())
    assert result.to_model().trade.total == data["trade"]["total"]


def test_evaluation_json_with_missing_or_extra_key_fails_validation(
    mk: Any, snapshot: MarketSnapshot, config: ModelConfig, grid: ScenarioGrid
) -> None:
    data = evaluate(mk.iron_condor(), snapshot, config, grid).to_json_dict()
    missing = {k: v for k, v in data.items() if k != "curves"}
    extra = {**data, "measures": {**data["measures"], "vega_total": 1.0}}

    with pytest.raises(ValidationError, match="curves"):
        EvaluationJson.model_validate(missing)
    with pytest.raises(ValidationError, match="vega_total"):
        EvaluationJson.model_validate(extra)


def test_result_json_models_with_schema_constants_pin_the_same_versions() -> None:
    pairs = (
        (EvaluationJson, EVALUATION_SCHEMA),
        (ComparisonJson, COMPARISON_SCHEMA),
        (AttributionJson, ATTRIBUTION_SCHEMA),
    )
    for model, version in pairs:
        assert get_args(model.model_fields["schema_"].annotation) == (version,)
        assert model.model_json_schema()["properties"]["schema"]["const"] == version


def test_extremum_with_int_value_keeps_it_and_refuses_bool() -> None:
    kept = Extremum(value=3, unbounded=False)

    assert type(kept.to_dict()["value"]) is int
    with pytest.raises(ValidationError, match="expected a number"):
        Extremum(value=True, unbounded=False)
