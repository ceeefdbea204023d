"""The demo's portfolio-risk sections as plain tables, for the terminal and the HTML report.

Every cell comes from a use case's ``to_dict()`` (the JSON ``riskdesk risk ... --json`` and
the ``/v1/risk`` routes print), formatted for reading only: nothing is recomputed here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

__all__ = [
    "TableSection",
    "exposure_section",
    "factor_section",
    "stress_section",
    "var_section",
]


@dataclass(frozen=True, slots=True)
class TableSection:
    """A titled table: facts (label -> value), then rows under a header (either may be empty)."""

    title: str
    facts: Mapping[str, str] = field(default_factory=dict)
    header: Sequence[str] = ()
    rows: Sequence[Sequence[str]] = ()


def money(value: Any) -> str:
    """A decimal string (or number) as ``1,234.56``; ``-`` for None."""
    if value is None:
        return "-"
    return f"{Decimal(str(value)):,.2f}"


def percent(value: Any, places: int = 2) -> str:
    """A fraction as a percentage; ``-`` for None."""
    return "-" if value is None else f"{float(value):.{places}%}"


def exposure_section(data: Mapping[str, Any], portfolio: str) -> TableSection:
    """Market value, long/short/gross/net and delta-adjusted exposures of ``exposures``."""
    delta = data["delta_adjusted"]
    beta = data["beta_weighted"]
    facts = {
        "positions (long / short)": f"{data['positions']} ({data['long_count']} / "
        f"{data['short_count']})",
        "market value": money(data["market_value"]),
        "long / short": f"{money(data['long'])} / {money(data['short'])}",
        "gross / net": f"{money(data['gross'])} / {money(data['net'])}",
        "delta-adjusted long / short": f"{money(delta['long'])} / {money(delta['short'])}",
        "delta-adjusted gross / net": f"{money(delta['gross'])} / {money(delta['net'])}",
        f"beta-weighted delta ({beta['benchmark']})": f"{money(beta['dollars'])} "
        f"({beta['benchmark_shares'] or '-'} shares)",
        "not priced": str(len(data["excluded"])),
    }
    return TableSection(f"Exposures of {portfolio} on {data['date']}", facts)


def factor_section(data: Mapping[str, Any]) -> TableSection:
    """Factor exposures (univariate and ridge) and each factor's contribution to risk."""
    risk = data["risk"]
    contributions = {c["factor"]: c for c in risk["contributions"]}
    rows = [
        [
            e["factor"],
            f"{e['beta']:.4f}",
            money(e["dollars"]),
            money(e["ridge_dollars"]),
            money(contributions.get(e["factor"], {}).get("annual_contribution")),
            f"{contributions.get(e['factor'], {}).get('percent', 0.0):.2f}%",
        ]
        for e in data["exposures"]
    ]
    facts = {
        "window (sessions)": str(data["window"]),
        "annual volatility": money(risk["annual_volatility"]),
        "factor / specific share of variance": f"{risk['factor_percent']:.2f}% / "
        f"{risk['specific_percent']:.2f}%",
    }
    return TableSection(
        "Factor exposures and risk decomposition",
        facts,
        ["factor", "beta", "exposure $", "ridge exposure $", "annual risk $", "share"],
        rows,
    )


def var_section(data: Mapping[str, Any]) -> TableSection:
    """VaR and expected shortfall by method, confidence and horizon."""
    methods = (
        ("historical (full revaluation)", data["historical"]),
        ("historical, 1-day x sqrt(10)", data.get("historical_sqrt_scaled") or []),
        ("delta-gamma-normal", data["delta_gamma_normal"]),
        ("Monte Carlo (factor model)", data.get("monte_carlo") or []),
    )
    rows = [
        [
            name,
            f"{f['confidence']:.0%}",
            f"{f['horizon_days']}d",
            money(f["var"]),
            money(f["es"]),
        ]
        for name, figures in methods
        for f in figures
    ]
    facts = {
        "current value": money(data["current_value"]),
        "window (sessions)": str(data["window"]),
    }
    return TableSection(
        "Value at risk and expected shortfall",
        facts,
        ["method", "confidence", "horizon", "VaR", "ES"],
        rows,
    )


def stress_section(data: Mapping[str, Any]) -> TableSection:
    """Every scenario's direct, correlated and total P&L, impact and severity."""
    rows = [
        [
            s["name"],
            s["category"],
            money(s["direct_pnl"]),
            money(s["correlated_pnl"]),
            money(s["pnl"]),
            percent(s["impact"]),
            s["severity"],
        ]
        for s in data["scenarios"]
    ]
    rule = data["spot_vol_rule"]
    facts = {
        "gross / net value": f"{money(data['gross_value'])} / {money(data['net_value'])}",
        "propagation through factor correlation": "yes" if data["propagated"] else "no",
        "spot-vol rule": ", ".join(f"{k} {v}" for k, v in rule.items()),
    }
    return TableSection(
        "Stress scenarios (options fully repriced)",
        facts,
        ["scenario", "category", "direct P&L", "correlated P&L", "P&L", "impact", "severity"],
        rows,
    )
