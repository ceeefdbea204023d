"""Leg resolution flows one way: resolve -> inputs -> vols -> kernels -> results."""

from __future__ import annotations

import ast
import dataclasses
import math
from pathlib import Path
from typing import Any

import numpy as np

import riskdesk.analytics as analytics_package
from riskdesk.analytics._kernels import group_rows, solve_ivs
from riskdesk.analytics._legs import resolve_legs, value_legs
from riskdesk.analytics._market import resolve_inputs, snapshot_info
from riskdesk.analytics._vols import source_vols
from riskdesk.domain.configs import ModelConfig, ModelKey
from riskdesk.domain.market import MarketSnapshot
from riskdesk.pricing import implied_vol

_PACKAGE = Path(analytics_package.__file__).parent


def _analytics_imports() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in sorted(_PACKAGE.glob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                names.add(node.module)
            elif isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
        graph[path.stem] = {
            n.removeprefix("riskdesk.analytics.")
            for n in names
            if n.startswith("riskdesk.analytics.")
        }
    return graph


def test_analytics_modules_with_their_imports_form_no_cycle() -> None:
    graph = _analytics_imports()
    state: dict[str, int] = {}

    def visit(name: str, path: tuple[str, ...]) -> None:
        assert state.get(name) != 1, f"import cycle: {' -> '.join((*path, name))}"
        if state.get(name) == 2:
            return
        state[name] = 1
        for dep in sorted(graph.get(name, ())):
            visit(dep, (*path, name))
        state[name] = 2

    for module in graph:
        visit(module, ())
    assert "_legs" not in graph["_surface"]
    assert graph["_market"] <= {"_common"}
    # vol sourcing never calls back into input resolution
    assert "resolve_inputs" not in (_PACKAGE / "_vols.py").read_text()


def test_source_vols_with_changed_input_price_solves_from_the_value_not_the_quote(
    mk: Any, snapshot: MarketSnapshot, config: ModelConfig
) -> None:
    trade = mk.version(mk.leg(mk.option(100, "C"), 1, "3"))
    inputs = resolve_inputs(trade, snapshot, config)
    (leg_inputs,) = inputs.options
    price = leg_inputs.iv_price
    assert price is not None
    richer = dataclasses.replace(leg_inputs, iv_price=price * 1.2)

    base = source_vols([leg_inputs], snapshot_info(snapshot), config).vols[0]
    moved = source_vols([richer], snapshot_info(snapshot), config).vols[0]

    assert base is not None
    assert moved is not None
    expected = implied_vol(
        model="bsm",
        price=price * 1.2,
        S=richer.spot,
        K=100.0,
        T=richer.time_to_expiry,
        r=richer.rate,
        q=richer.carry,
        is_call=True,
    )
    assert moved[0] > base[0]
    assert math.isclose(moved[0], float(np.asarray(expected.iv)), rel_tol=1e-12)
    assert moved[1] == "MID_IV"


def test_value_legs_with_resolved_inputs_equals_resolve_legs(
    mk: Any, snapshot: MarketSnapshot, config: ModelConfig
) -> None:
    trade = mk.iron_condor()

    staged = value_legs(resolve_inputs(trade, snapshot, config), snapshot, config)
    direct = resolve_legs(trade, snapshot, config)

    assert staged.status == direct.status
    assert [leg.vol for leg in staged.valued] == [leg.vol for leg in direct.valued]
    assert [w.message for w in staged.warnings] == [w.message for w in direct.warnings]


def test_group_rows_with_mixed_keys_keeps_first_appearance_order_and_skips_none() -> None:
    american: ModelKey = ("american", "bjerksund_stensland_2002")

    groups = group_rows([american, None, ("bsm", None), american])

    assert groups == {american: [0, 3], ("bsm", None): [2]}
    assert list(groups) == [american, ("bsm", None)]


def test_solve_ivs_with_grouped_rows_matches_row_by_row_solves() -> None:
    american: ModelKey = ("american", "bjerksund_stensland_2002")
    keys: list[ModelKey | None] = [american, ("bsm", None), None, american]
    rows: dict[str, Any] = {
        "price": [5.0, 4.0, 1.0, 0.01],
        "spot": [100.0, 100.0, 100.0, 100.0],
        "strike": [100.0, 95.0, 90.0, 150.0],
        "time_to_expiry": [0.25, 0.5, 0.5, 0.1],
        "carry": [0.01, 0.0, 0.0, 0.02],
        "is_call": [True, False, True, False],
        "dividends": [((0.1, 0.5),), (), (), ((0.05, 0.5),)],
    }

    ivs, statuses = solve_ivs(keys, rate=0.03, **rows)

    for i, key in enumerate(keys):
        if key is None:
            assert statuses[i] is None
            assert math.isnan(ivs[i])
            continue
        divs = rows["dividends"][i]
        one = implied_vol(
            model=key[0],
            price=rows["price"][i],
            S=rows["spot"][i],
            K=rows["strike"][i],
            T=rows["time_to_expiry"][i],
            r=0.03,
            q=rows["carry"][i],
            is_call=rows["is_call"][i],
            engine=key[1],
            dividends=(np.array([divs[0][0]]), np.array([divs[0][1]])) if divs else None,
        )
        status = str(np.asarray(one.status).reshape(-1)[0])
        assert statuses[i] == status
        if status == "ok":
            assert math.isclose(ivs[i], float(np.asarray(one.iv).reshape(-1)[0]), rel_tol=1e-12)
        else:
            assert math.isnan(ivs[i])
    assert statuses[3] == "below_intrinsic"
