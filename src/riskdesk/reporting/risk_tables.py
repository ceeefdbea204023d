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
    "regime_section",
    "squeeze_section",
    "stress_section",
    "var_section",
    "whatif_section",
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


def regime_section(data: Mapping[str, Any]) -> TableSection:
    """VIX regime, sizing factor, rolling correlations and the thresholds crossed."""
    windows = data["correlations"]
    short, long = windows.get("7d", {}), windows.get("30d", {})
    rows = [
        [pair.replace("_", "/"), _corr(short.get(pair)), _corr(long.get(pair))]
        for pair in dict.fromkeys([*short, *long])
    ]
    breaches = ", ".join(b["event_type"] for b in data["breaches"]) or "none"
    facts = {
        "VIX": f"{data['vix_level']:.2f}",
        "regime": data["regime"],
        "position size multiplier": f"{data['position_size_multiplier']:.2f}",
        "emergency thresholds crossed": breaches,
    }
    return TableSection(
        f"Market regime on {data['date']} (seed 001)",
        facts,
        ["pair", "7-session correlation", "30-session correlation"],
        rows,
    )


def _corr(value: Any) -> str:
    return "-" if value is None else f"{float(value):.3f}"


def squeeze_section(data: Mapping[str, Any]) -> TableSection:
    """Each short equity position's squeeze tier, with its borrow cost and days to cover."""
    rows = []
    for p in data["positions"]:
        metric = p["metric"] or {}
        rows.append(
            [
                p["symbol"],
                p["shares_short"],
                _text(metric.get("cost_to_borrow_rate")),
                _text(metric.get("days_to_cover")),
                p["tier"] or "-",
                p["status"],
            ]
        )
    facts = {"worst tier": data["worst_tier"] or "-"}
    return TableSection(
        "Short-squeeze tiers",
        facts,
        ["position", "shares short", "borrow cost", "days to cover", "tier", "status"],
        rows,
    )


def _text(value: Any) -> str:
    return "-" if value is None else str(value)


WHATIF_MEASURES: tuple[tuple[str, str], ...] = (
    ("exposures.net", "net exposure"),
    ("exposures.gross", "gross exposure"),
    ("exposures.delta_adjusted.net", "delta-adjusted net"),
    ("exposures.beta_weighted.dollars", "beta-weighted delta $"),
    ("greeks.delta", "delta (shares)"),
    ("greeks.gamma", "gamma"),
    ("greeks.vega", "vega"),
    ("greeks.theta", "theta"),
    ("factors.Market.dollars", "Market factor exposure $"),
    ("factors.risk.annual_volatility", "annual volatility $"),
    ("var.historical.99.1d.var", "VaR 99% 1d (historical)"),
    ("var.historical.99.10d.var", "VaR 99% 10d (historical)"),
    ("var.historical.99.1d.es", "ES 99% 1d (historical)"),
    ("stress.market_crash_35.pnl", "stress: market crash -35%"),
    ("stress.financial_crisis_2008.pnl", "stress: 2008 replay"),
    ("stress.rates_up_100bp.pnl", "stress: rates +100bp"),
)
"""The comparison rows the report shows, in order (the full list is in the JSON export)."""


def whatif_section(comparison: Mapping[str, Any], hedge: Mapping[str, Any]) -> TableSection:
    """A what-if session's headline measures: baseline, pro forma, change."""
    by_name = {m["measure"]: m for m in comparison["measures"]}
    rows = [
        [label, money(m["baseline"]), money(m["pro_forma"]), money(m["change"])]
        for key, label in WHATIF_MEASURES
        if (m := by_name.get(key)) is not None
    ]
    facts = {
        "session": comparison["name"],
        "changes": str(comparison["changes"]),
        "hedge": f"{hedge['shares']} {hedge['etf']} shares ({hedge['method']}), residual "
        f"{money(hedge['residual'])}",
        "measures compared": str(len(comparison["measures"])),
        "not available": ", ".join(comparison["unavailable"]) or "none",
    }
    return TableSection(
        f"What-if: {comparison['name']}",
        facts,
        ["measure", "baseline", "pro forma", "change"],
        rows,
    )
