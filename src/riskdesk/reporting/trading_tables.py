"""The demo's paper-trading section: a simulated 0DTE session's equity curve, fills, risk events.

Every cell comes from :meth:`riskdesk.trading.simulation.PaperDayReport.to_dict` (the JSON
``riskdesk paper run --json`` prints), formatted for reading only: nothing is recomputed here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from riskdesk.reporting.risk_tables import TableSection, money

__all__ = ["paper_sections", "sparkline"]

_BARS = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[Any]) -> str:
    """A one-line chart of ``values`` (decimal strings or numbers); empty for no values."""
    numbers = [float(v) for v in values]
    if not numbers:
        return ""
    low, high = min(numbers), max(numbers)
    span = high - low
    if span == 0:
        return _BARS[0] * len(numbers)
    top = len(_BARS) - 1
    return "".join(_BARS[round((n - low) / span * top)] for n in numbers)


def _time(text: str) -> str:
    """``2025-03-04T15:00:01+00:00`` as ``15:00:01``."""
    return text[11:19] if len(text) >= 19 else text


def paper_sections(report: Mapping[str, Any], *, max_fills: int = 40) -> list[TableSection]:
    """The paper-trading sections of a simulated day: summary and equity, fills, risk events."""
    curve = report["equity_curve"]
    navs = [nav for _, nav in curve]
    recon = report["reconciliation"]
    facts = {
        "session": f"{report['symbol']} 0DTE on {report['day']} (seed {report['seed']})",
        "P&L": f"{money(report['pnl'])} (realized {money(report['realized_pnl'])}, "
        f"unrealized {money(report['unrealized_pnl'])})",
        "NAV open / close": f"{money(report['starting_cash'])} / {money(report['final_nav'])}",
        "equity curve": sparkline(navs),
        "NAV low / high": f"{money(min(navs, key=float))} / {money(max(navs, key=float))}"
        if navs
        else "-",
        "orders": ", ".join(f"{k} {v}" for k, v in report["orders"]["by_status"].items()) or "-",
        "kill switch changes": str(len(report["kill_switch_events"])),
        "reconciliation": f"{'ok' if recon['ok'] else 'FAILED'} at "
        f"{recon['snapshots_checked']} NAV snapshots ({len(recon['failures'])} failures)",
    }
    equity_rows = [[_time(at), money(nav)] for at, nav in curve]
    summary = TableSection(
        "Paper trading: a simulated 0DTE session", facts, ["time (UTC)", "NAV"], equity_rows
    )
    fills = report["fills"]
    fill_rows = [
        [
            _time(f["filled_at"]),
            f["symbol"],
            f["side"],
            str(f["qty"]),
            money(f["fill_price"]),
            money(f["commission"]),
        ]
        for f in fills[:max_fills]
    ]
    fill_facts = {"fills": str(len(fills))}
    if len(fills) > max_fills:
        fill_facts["shown"] = f"the first {max_fills}"
    settled = report["settlements"]
    if settled:
        fill_facts["settled at the close"] = ", ".join(
            f"{s['symbol'].strip()} {s['kind']}" for s in settled
        )
    fills_section = TableSection(
        "Paper trading: fills",
        fill_facts,
        ["time (UTC)", "symbol", "side", "qty", "price", "commission"],
        fill_rows,
    )
    risk = report["risk_events"]
    actions = risk["by_action"]
    blocked = risk.get("blocked_by_rule", {})
    risk_rows = [
        [rule, str(count), str(blocked.get(rule, 0))] for rule, count in risk["by_rule"].items()
    ]
    for exit_ in report["exits"]:
        risk_rows.append([f"exit: {exit_['rule']}", _time(exit_["at"]), exit_["status"]])
    for cycle in report["cycles"]:
        if not cycle.get("accepted", True):
            risk_rows.append(
                [f"refused: {cycle.get('code')}", _time(cycle["at"]), cycle.get("key", "")]
            )
    risk_section = TableSection(
        "Paper trading: risk events and exits",
        {"checks": ", ".join(f"{k} {v}" for k, v in actions.items()) or "-"},
        ["rule / event", "count / time", "blocked / detail"],
        risk_rows,
    )
    return [summary, fills_section, risk_section]
