"""Rich renderings of workbench results (evaluation, comparison, attribution, snapshots)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from rich.console import Console, Group
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from riskdesk.domain.market import MarketSnapshot

GREEK_COLUMNS = ("delta", "gamma", "vega", "theta", "rho")


def money(value: float | None) -> str:
    """``1,234.56`` / ``-`` for None."""
    return "-" if value is None else f"{value:,.2f}"


def num(value: float | None, digits: int = 4) -> str:
    """Fixed-point number or ``-``."""
    return "-" if value is None else f"{value:,.{digits}f}"


def _extremum(data: dict[str, Any]) -> str:
    return "unbounded" if data.get("unbounded") else money(data.get("value"))


def _issues(title: str, items: Sequence[dict[str, Any]], style: str) -> Table | None:
    if not items:
        return None
    table = Table(title=title, title_style=style, show_header=True, expand=False)
    table.add_column("code")
    table.add_column("leg")
    table.add_column("message")
    for item in items:
        table.add_row(
            escape(str(item.get("code", ""))),
            escape(str(item.get("leg") or "")),
            escape(str(item.get("message", ""))),
        )
    return table


def snapshot_table(snapshot: MarketSnapshot, *, snapshot_id: str, snapshot_hash: str) -> Group:
    """Header, underlyings and diagnostics of a snapshot."""
    head = Table.grid(padding=(0, 2))
    head.add_row("id", snapshot_id)
    head.add_row("hash", snapshot_hash)
    head.add_row("as of (UTC)", snapshot.as_of.isoformat())
    head.add_row("mode", snapshot.mode.value)
    head.add_row("source", snapshot.source)
    head.add_row("option quotes", f"{len(snapshot.options):,}")
    head.add_row("rate", f"{snapshot.overrides.rate:.4%}")
    und = Table(title="underlyings")
    for col in ("symbol", "spot", "bid", "ask", "carry q", "expiries", "quotes"):
        und.add_column(col, justify="right" if col != "symbol" else "left")
    for quote in snapshot.underlyings:
        chain = [o for o in snapshot.options if o.contract.underlying == quote.symbol]
        und.add_row(
            quote.symbol,
            str(quote.spot),
            str(quote.bid or "-"),
            str(quote.ask or "-"),
            f"{snapshot.overrides.carry_yield(quote.symbol):.4%}",
            str(len({o.contract.expiry for o in chain})),
            f"{len(chain):,}",
        )
    diag = diagnostics_table(dict(snapshot.diagnostics))
    return Group(Panel(head, title="market snapshot"), und, diag)


_ALWAYS = ("options", "crossed", "zero_bid", "stale", "wide_spread")


def diagnostics_table(diagnostics: dict[str, Any]) -> Table:
    """Quote-quality counts per underlying: the issue columns always, others when non-zero."""
    per = diagnostics.get("by_underlying")
    table = Table(title="diagnostics (quote counts)")
    if not isinstance(per, dict) or not per:
        table.add_column("check")
        table.add_column("value", justify="right")
        for key, value in sorted(_flatten(diagnostics).items()):
            table.add_row(key, str(value))
        return table
    rows = {sym: _flatten(vals) for sym, vals in sorted(per.items())}
    keys = sorted({k for r in rows.values() for k in r})
    shown = [k for k in _ALWAYS if k in keys] + [
        k for k in keys if k not in _ALWAYS and any(r.get(k) for r in rows.values())
    ]
    table.add_column("underlying")
    for key in shown:
        table.add_column(key.replace("iv_status.", "iv ").replace("_", " "), justify="right")
    for sym, r in rows.items():
        table.add_row(
            sym,
            *(f"{r.get(k, 0):,}" if isinstance(r.get(k, 0), int) else str(r.get(k)) for k in shown),
        )
    return table


def dec(value: Decimal | None) -> str:
    """A Decimal without storage padding (``529.01000000`` -> ``529.01``)."""
    if value is None:
        return "-"
    return format(value.normalize(), "f")


def _flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, f"{name}."))
        elif isinstance(value, list):
            out[name] = ", ".join(str(v) for v in value) if value else "-"
        else:
            out[name] = value
    return out


def evaluation(console: Console, data: dict[str, Any], *, title: str = "evaluation") -> None:
    """Summary, legs, scenario excerpts, warnings and errors of an evaluation."""
    m = data["measures"]
    g = m.get("greeks", {})
    head = Table.grid(padding=(0, 2))
    head.add_row(
        "trade",
        escape(
            f"{data['inputs']['trade'].get('name', '')} "
            f"({str(data['inputs']['trade'].get('trade_hash', ''))[:12]})"
        ),
    )
    head.add_row("snapshot", str(data["inputs"]["snapshot_hash"])[:12])
    head.add_row("value", money(m["value"]))
    head.add_row("entry cost + fees", f"{money(m['entry_cost'])} + {money(m['fees'])}")
    head.add_row("P/L open", money(m["pl_open"]))
    head.add_row("max profit (expiry)", _extremum(m["max_profit"]))
    head.add_row("max loss (expiry)", _extremum(m["max_loss"]))
    bes = ", ".join(
        "/".join(f"{s:,.2f}" for s in b["spots"].values()) for b in m.get("breakevens_expiry", [])
    )
    head.add_row("breakevens (expiry)", bes or "none")
    pop = m.get("probability_of_profit")
    head.add_row("probability of profit", "-" if pop is None else f"{pop:.1%}")
    greeks = "  ".join(
        f"{k} {num(g.get(k), 2)}" for k in ("delta", "gamma", "vega", "theta", "rho")
    )
    head.add_row("position Greeks", greeks)
    if "dollar_delta" in g:
        head.add_row("dollar delta", money(g["dollar_delta"]))
    console.print(Panel(head, title=escape(title)))

    legs = Table(title="legs")
    for col in ("leg", "vol", "price", "value", "P/L open", *GREEK_COLUMNS[:4]):
        legs.add_column(col, justify="left" if col == "leg" else "right")
    for leg in data["legs"]:
        pg = leg.get("position_greeks") or {}
        status = "" if leg["status"] == "ok" else f" [yellow]({leg['status']})[/]"
        legs.add_row(
            escape(leg["label"]) + ("" if leg["include"] else " [dim](off)[/]") + status,
            "-" if leg.get("vol") is None else f"{leg['vol']:.2%}",
            num(leg.get("price"), 3),
            money(leg.get("value")),
            money(leg.get("pl_open")),
            *(num(pg.get(k), 2) for k in GREEK_COLUMNS[:4]),
        )
    console.print(legs)
    _curves(console, data)
    for table in (
        _issues("warnings", data.get("warnings", []), "yellow"),
        _issues("errors", data.get("errors", []), "red"),
    ):
        if table is not None:
            console.print(table)


def _pick(n: int, k: int) -> list[int]:
    if n <= k:
        return list(range(n))
    return sorted({round(i * (n - 1) / (k - 1)) for i in range(k)})


def _curves(console: Console, data: dict[str, Any]) -> None:
    grid = data["grid"]
    curves = data["curves"]
    spot_time = curves.get("spot_time_pl") or []
    if not spot_time:
        return
    spots = next(iter(grid["spots"].values())) if grid["spots"] else grid["spot_moves"]
    moves = grid["spot_moves"]
    dates = grid["dates"]
    cols = _pick(len(moves), 7)
    table = Table(title="P/L by spot (columns) and date (rows), T+0 ... expiry")
    table.add_column("date")
    for j in cols:
        table.add_column(f"{spots[j]:,.1f}\n{moves[j]:+g}", justify="right")
    n_dates = len(dates)
    for i in _pick(n_dates, 6):
        row = spot_time[i] if len(spot_time) == n_dates else [r[i] for r in spot_time]
        table.add_row(dates[i][5:16].replace("T", " "), *(f"{row[j]:,.0f}" for j in cols))
    console.print(table)


def comparison(console: Console, data: dict[str, Any]) -> None:
    """A, B and A-B of the scalar measures, then both evaluations' leg tables."""
    a, b, diff = data["a"]["measures"], data["b"]["measures"], data["diff"]
    dm = diff
    table = Table(title="A vs B")
    table.add_column("measure")
    for col in ("A", "B", "A-B"):
        table.add_column(col, justify="right")
    for key in ("value", "entry_cost", "pl_open"):
        table.add_row(key, money(a[key]), money(b[key]), money(dm.get(key)))
    for key in ("max_profit", "max_loss"):
        d = dm.get(key, {})
        table.add_row(
            key,
            _extremum(a[key]),
            _extremum(b[key]),
            _extremum(d) if isinstance(d, dict) else money(d),
        )
    ga, gb = a.get("greeks", {}), b.get("greeks", {})
    gd = dm.get("greeks", {})
    for key in (*GREEK_COLUMNS, "dollar_delta"):
        if key in ga or key in gb:
            table.add_row(key, num(ga.get(key), 2), num(gb.get(key), 2), num(gd.get(key), 2))
    pa, pb = a.get("probability_of_profit"), b.get("probability_of_profit")
    table.add_row(
        "probability of profit",
        "-" if pa is None else f"{pa:.1%}",
        "-" if pb is None else f"{pb:.1%}",
        "-" if pa is None or pb is None else f"{pa - pb:+.1%}",
    )
    console.print(table)
    for w in data.get("warnings", []):
        console.print(f"[yellow]warning:[/] {escape(str(w.get('message')))}")


def attribution(console: Console, data: dict[str, Any]) -> None:
    """Taylor and sequential explains for the trade and each leg."""
    trade = data["trade"]
    table = Table(title="P&L attribution (trade)")
    table.add_column("method")
    table.add_column("term")
    table.add_column("P&L", justify="right")
    for key, value in trade.get("taylor", {}).items():
        table.add_row("taylor", key, money(value))
    for key, value in trade.get("sequential", {}).items():
        table.add_row("sequential", key, money(value))
    table.add_row("", "total", money(trade.get("total")))
    console.print(table)
    legs = Table(title="per leg")
    legs.add_column("leg")
    legs.add_column("total", justify="right")
    terms = [
        k for k in ("delta", "gamma", "vega", "theta", "residual") if k in trade.get("taylor", {})
    ]
    for key in terms:
        legs.add_column(key, justify="right")
    for leg in data.get("legs", []):
        legs.add_row(
            escape(leg["label"]),
            money(leg["total"]),
            *(money(leg["taylor"].get(k)) for k in terms),
        )
    console.print(legs)
    for w in data.get("warnings", []):
        console.print(f"[yellow]warning:[/] {escape(str(w.get('message')))}")
