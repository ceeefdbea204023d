"""Compare two trades side by side: A, B and A - B for every measure and grid.

Both trades are evaluated against the same snapshot, model config and scenario grid on one
shared set of axes: the spot axis of each underlying, the reference vols sizing a sigma range
and the dates (to the later of the two last expiries) are built from the union of both trades'
legs, so ``diff`` grids are plain elementwise differences ``A - B``.

When A and B do not have the same underlyings, spot points do not describe the same market
moves and share-denominated Greeks are not comparable: ``comparable`` is False, a
``different_underlyings`` warning says so, and ``diff`` holds only the dollar measures (value,
entry cost, fees, P/L open, dollar delta, vega, theta, rho, max profit / loss, probability of
profit); delta and gamma (shares) and the grids (P/L and Greeks curves) are left out.

A difference involving an unbounded max profit / loss is reported as ``None`` with
``"unbounded": true`` (``inf - inf`` has no value); a difference of probabilities is None when
either side has none.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from riskdesk.analytics._common import Issue, check_finite_json, float_list
from riskdesk.analytics._grid import build_axes
from riskdesk.analytics._market import TradeLike
from riskdesk.analytics._prepare import POSITION_GREEKS, prepare
from riskdesk.analytics._results import (
    COMPARISON_SCHEMA,
    CURVE_GREEKS,
    ComparisonJson,
    EvaluationResult,
    Extremum,
)
from riskdesk.analytics.evaluate import evaluate_on_axes
from riskdesk.domain.configs import ModelConfig, ScenarioGrid
from riskdesk.domain.market import MarketSnapshot

__all__ = ["COMPARISON_SCHEMA", "ComparisonResult", "compare"]


_DOLLAR_GREEKS = ("dollar_delta", "vega", "theta", "rho")


@dataclass(frozen=True, slots=True, eq=False)
class ComparisonResult:
    """A and B evaluated on shared axes, and their differences.

    ``diff`` is a plain-JSON dict: scalar measures A - B (always), and, when ``comparable``,
    ``greeks`` (all position Greeks), ``greeks_by_underlying`` and the grids
    ``spot_time_pl`` / ``spot_time_greeks`` (per Greek) / ``spot_vol_pl`` / ``expiry_pl`` as
    nested lists.
    """

    a: EvaluationResult
    b: EvaluationResult
    comparable: bool
    diff: dict[str, Any]
    warnings: tuple[Issue, ...]

    @classmethod
    def json_schema(cls) -> dict[str, Any]:
        """JSON schema of :meth:`to_json_dict` (the ``--json`` output): ``ComparisonJson``."""
        return ComparisonJson.model_json_schema()

    def to_model(self) -> ComparisonJson:
        """:meth:`to_json_dict` validated as a ``ComparisonJson``."""
        return ComparisonJson.model_validate(self.to_json_dict())

    def to_json_dict(self) -> dict[str, Any]:
        """Plain-JSON dict with top-level keys ``schema, comparable, a, b, diff, warnings``.

        ``a`` and ``b`` are each :meth:`EvaluationResult.to_json_dict`; a NaN/inf anywhere
        raises :class:`NonFiniteResultError`.
        """
        out = {
            "schema": COMPARISON_SCHEMA,
            "comparable": self.comparable,
            "a": self.a.to_json_dict(),
            "b": self.b.to_json_dict(),
            "diff": self.diff,
            "warnings": [w.to_dict() for w in self.warnings],
        }
        check_finite_json(out)
        return out


def _extremum_diff(x: Extremum, y: Extremum) -> dict[str, Any]:
    if x.unbounded or y.unbounded or x.value is None or y.value is None:
        return {"unbounded": True, "value": None}
    return {"unbounded": False, "value": x.value - y.value}


def compare(
    a: TradeLike,
    b: TradeLike,
    snapshot: MarketSnapshot,
    model_config: ModelConfig,
    grid: ScenarioGrid,
) -> ComparisonResult:
    """Evaluate ``a`` and ``b`` on shared axes and difference every measure (A - B)."""
    prep_a = prepare(a, snapshot, model_config)
    prep_b = prepare(b, snapshot, model_config)
    axes = build_axes([prep_a, prep_b], grid)
    result_a = evaluate_on_axes(prep_a, axes, grid)
    result_b = evaluate_on_axes(prep_b, axes, grid)
    warnings: list[Issue] = []
    comparable = prep_a.underlyings == prep_b.underlyings
    if not comparable:
        warnings.append(
            Issue(
                "different_underlyings",
                f"A trades {list(prep_a.underlyings) or 'nothing'} and B trades "
                f"{list(prep_b.underlyings) or 'nothing'}: only dollar measures are compared "
                "(no share Greeks, no scenario grids)",
            )
        )
    diff: dict[str, Any] = {
        "value": result_a.value - result_b.value,
        "entry_cost": result_a.entry_cost - result_b.entry_cost,
        "fees": result_a.fees - result_b.fees,
        "pl_open": result_a.pl_open - result_b.pl_open,
        "max_profit": _extremum_diff(result_a.max_profit, result_b.max_profit),
        "max_loss": _extremum_diff(result_a.max_loss, result_b.max_loss),
        "probability_of_profit": (
            None
            if result_a.probability_of_profit is None or result_b.probability_of_profit is None
            else result_a.probability_of_profit - result_b.probability_of_profit
        ),
    }
    names = POSITION_GREEKS if comparable else _DOLLAR_GREEKS
    diff["greeks"] = {name: result_a.greeks[name] - result_b.greeks[name] for name in names}
    if comparable:
        diff["greeks_by_underlying"] = {
            u: {
                name: result_a.greeks_by_underlying[u][name]
                - result_b.greeks_by_underlying[u][name]
                for name in POSITION_GREEKS
            }
            for u in result_a.greeks_by_underlying
        }
        diff["spot_time_pl"] = float_list(result_a.spot_time_pl - result_b.spot_time_pl)
        diff["spot_time_greeks"] = {
            g: float_list(result_a.spot_time_greeks[g] - result_b.spot_time_greeks[g])
            for g in CURVE_GREEKS
        }
        diff["spot_vol_pl"] = float_list(result_a.spot_vol_pl - result_b.spot_vol_pl)
        diff["expiry_pl"] = float_list(result_a.expiry_pl - result_b.expiry_pl)
    return ComparisonResult(
        a=result_a, b=result_b, comparable=comparable, diff=diff, warnings=tuple(warnings)
    )
