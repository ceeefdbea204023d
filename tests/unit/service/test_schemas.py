"""The wire models of the workbench routes: strict decimals, selectors, examples."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import BaseModel, ValidationError

from riskdesk.domain.configs import ModelConfig, ScenarioGrid
from riskdesk.service import schemas
from riskdesk.service.schemas import (
    AttributeIn,
    EvaluateIn,
    LegIn,
    LegPatchIn,
    ModelConfigIn,
    ScenarioGridIn,
    decimal_text,
)

STOCK = {"type": "stock", "symbol": "SPY"}


@pytest.mark.parametrize(
    ("given", "expected"),
    [("1.25", Decimal("1.25")), (2, Decimal(2)), (1.5, Decimal("1.5")), (" -3 ", Decimal(-3))],
)
def test_leg_quantity_with_string_or_number_parses_exactly(
    given: object, expected: Decimal
) -> None:
    leg = LegIn.model_validate({"instrument": STOCK, "quantity": given, "price": "600"})
    assert leg.quantity == expected


@pytest.mark.parametrize("given", ["1_000", "nan", "inf", "ten", "", True, [1], "0.123456789"])
def test_leg_quantity_with_non_plain_decimal_is_refused_naming_the_field(given: object) -> None:
    with pytest.raises(ValidationError) as info:
        LegIn.model_validate({"instrument": STOCK, "quantity": given, "price": "600"})
    error = info.value.errors()[0]
    assert error["loc"] == ("quantity",)
    assert "quantity" in error["msg"]


def test_leg_with_neither_price_nor_snapshot_is_refused() -> None:
    with pytest.raises(ValidationError, match="price, or snapshot"):
        LegIn.model_validate({"instrument": STOCK, "quantity": "1"})


def test_leg_patch_with_nothing_to_change_is_refused() -> None:
    with pytest.raises(ValidationError, match="at least one"):
        LegPatchIn.model_validate({})


def test_trade_selector_with_both_ids_is_refused() -> None:
    ident = "0193a1f2-c3d4-4e5f-8a9b-0c1d2e3f4a5b"
    with pytest.raises(ValidationError, match="exactly one"):
        EvaluateIn.model_validate(
            {"trade": {"draft_id": ident, "version_id": ident}, "snapshot_id": ident}
        )


def test_attribute_with_days_and_compare_snapshot_is_refused() -> None:
    ident = "0193a1f2-c3d4-4e5f-8a9b-0c1d2e3f4a5b"
    with pytest.raises(ValidationError, match="exactly one of compare_snapshot_id or days"):
        AttributeIn.model_validate(
            {
                "trade": {"draft_id": ident},
                "base_snapshot_id": ident,
                "compare_snapshot_id": ident,
                "days": 2,
            }
        )


def test_evaluate_with_model_config_alias_reads_inline_config() -> None:
    ident = "0193a1f2-c3d4-4e5f-8a9b-0c1d2e3f4a5b"
    body = EvaluateIn.model_validate(
        {
            "trade": {"draft_id": ident},
            "snapshot_id": ident,
            "model_config": {"time_basis": "trading"},
        }
    )
    assert body.config is not None
    assert body.config.to_domain().time_basis.value == "trading"
    assert body.trade.ref() == f"draft:{ident}"


def test_config_and_grid_models_with_defaults_round_trip_to_domain_hashes() -> None:
    assert ModelConfigIn().to_domain() == ModelConfig()
    assert ScenarioGridIn().to_domain().scenario_grid_hash == ScenarioGrid().scenario_grid_hash
    grid = ScenarioGrid.percent(
        10.0, spot_steps=5, vol_shifts=(0.0,), n_dates=None, dates=("2026-12-01",)
    )
    assert ScenarioGridIn.from_domain(grid).to_domain() == grid


def test_decimal_text_with_exponent_or_trailing_zeros_prints_plain_digits() -> None:
    assert decimal_text(Decimal("5E+2")) == "500"
    assert decimal_text(Decimal("0.10")) == "0.1"
    assert decimal_text(Decimal("-1.00000000")) == "-1"
    assert decimal_text(Decimal("0E-8")) == "0"
    assert decimal_text(None) is None


def test_request_models_with_json_schema_each_carry_an_example() -> None:
    bodies = [
        getattr(schemas, name)
        for name in schemas.__all__
        if name.endswith("In") and isinstance(getattr(schemas, name), type)
    ]
    bodies = [b for b in bodies if issubclass(b, BaseModel)]
    no_example = [
        b.__name__
        for b in bodies
        if b.__name__ not in {"OptionIn", "StockIn", "DecimalIn"}
        and "examples" not in b.model_json_schema(by_alias=True)
    ]
    assert no_example == []
