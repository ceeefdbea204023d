"""Rich renderings of workbench results (evaluation, comparison, attribution, snapshots)."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import suppress
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from rich.console import Console, Group
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from riskdesk.domain.market import MarketSnapshot
from riskdesk.domain.numbers import AMOUNT_SCALE, decimal_places
from riskdesk.reporting.risk_tables import TableSection

GREEK_COLUMNS = ("delta", "gamma", "vega", "theta", "rho")


_TICK = Decimal(1).scaleb(-AMOUNT_SCALE)


def money(value: float | Decimal | None) -> str:
    """Money with thousands separators and cents: ``1,234.56`` / ``-`` for None."""
    return "-" if value is None else f"{value:,.2f}"


def price(value: Decimal | float | None, *, places: int = 2) -> str:
    """A price at its tick precision, never in scientific notation.

    The database's 8-place padding is trimmed (``601.06000000`` -> ``601.06``), at least
    ``places`` decimals are kept (``0E-8`` -> ``0.00``, ``0.00500000`` -> ``0.005``) and
    thousands are separated (``1,234.5`` -> ``1,234.50``). ``-`` for None.
    """
    if value is None:
        return "-"
    amount = value if isinstance(value, Decimal) else Decimal(repr(float(value)))
    if not amount.is_finite():
        return str(value)
    with suppress(InvalidOperation):  # more digits than the context holds: no finer tick
        amount = amount.quantize(_TICK)
    if amount == 0:
        amount = Decimal(0)  # no "-0.00"
    shown = max(places, decimal_places(amount.normalize()))
    return f"{amount:,.{shown}f}"


def quantity(value: Decimal | float | None) -> str:
    """A signed quantity as written, without padding or exponent (``1E+1`` -> ``10``)."""
    if value is None:
        return "-"
    amount = value if isinstance(value, Decimal) else Decimal(repr(float(value)))
    if not amount.is_finite():
        return str(value)
    amount = amount.normalize()
    if amount == 0:
        amount = Decimal(0)
    return f"{amount:,f}"


def percent(value: float | None, digits: int = 2) -> str:
    """A decimal rate as percent (``0.012`` -> ``1.20%``) or ``-``."""
    return "-" if value is None else f"{value:.{digits}%}"


def when(value: str | datetime, *, short: bool = False) -> str:
    """A timestamp with its zone: ``2026-11-20 15:00 UTC`` (ISO text or aware datetime).

    ``short`` drops the year and writes the zone as ``Z``: ``11-20 15:00Z`` (UTC).
    """
    try:
        moment = (
            value
            if isinstance(value, datetime)
            else datetime.fromisoformat(value.replace("Z", "+00:00"))
        )
    except ValueError:
        return str(value)
    if moment.tzinfo is None:
        return f"{moment:%Y-%m-%d %H:%M} (no zone)"
    utc = moment.astimezone(UTC)
    return f"{utc:%m-%d %H:%M}Z" if short else f"{utc:%Y-%m-%d %H:%M} UTC"


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
            escape(str(item.get("leg") or "")[:8]),
            escape(str(item.get("message", ""))),
        )
    return table


def snapshot_table(snapshot: MarketSnapshot, *, snapshot_id: str, snapshot_hash: str) -> Group:
    """Header, underlyings (with their carry) and diagnostics of a snapshot."""
    head = Table.grid(padding=(0, 2))
    head.add_row("id", snapshot_id)
    head.add_row("hash", snapshot_hash)
    head.add_row("as of", when(snapshot.as_of))
    head.add_row("mode", snapshot.mode.value)
    head.add_row("source", escape(snapshot.source))
    head.add_row("option quotes", f"{len(snapshot.options):,}")
    head.add_row("rate", percent(snapshot.overrides.rate, 4))
    und = underlyings_table(snapshot)
    diag = diagnostics_table(dict(snapshot.diagnostics))
    return Group(Panel(head, title="market snapshot"), und, diag)


def carry(snapshot: MarketSnapshot, symbol: str) -> dict[str, float]:
    """Dividend yield, borrow rate and their sum (the carry yield q) of an underlying."""
    overrides = snapshot.overrides
    return {
        "dividend_yield": float(overrides.dividend_yield.get(symbol, 0.0)),
        "borrow_rate": float(overrides.borrow_rate.get(symbol, 0.0)),
        "carry_yield": overrides.carry_yield(symbol),
    }


def underlyings_table(snapshot: MarketSnapshot, symbols: Sequence[str] | None = None) -> Table:
    """Spot, bid/ask, carry (dividend yield + borrow = q) and chain size per underlying."""
    und = Table(title="underlyings (prices in $, carry in % a year)")
    columns = ("symbol", "spot", "bid", "ask", "div q", "borrow", "carry q", "expiries")
    for col in (*columns, "quotes"):
        und.add_column(col, justify="right" if col != "symbol" else "left")
    for quote in snapshot.underlyings:
        if symbols is not None and quote.symbol not in symbols:
            continue
        chain = [o for o in snapshot.options if o.contract.underlying == quote.symbol]
        c = carry(snapshot, quote.symbol)
        und.add_row(
            escape(quote.symbol),
            price(quote.spot),
            price(quote.bid),
            price(quote.ask),
            percent(c["dividend_yield"]),
            percent(c["borrow_rate"]),
            percent(c["carry_yield"]),
            str(len({o.contract.expiry for o in chain})),
            f"{len(chain):,}",
        )
    return und


def chain_table(snapshot: MarketSnapshot, symbol: str) -> Table:
    """The option quotes of one underlying, in the snapshot's order, prices at tick size."""
    table = Table(title=escape(f"{symbol} chain (prices in $ per share)"))
    for col in ("contract", "bid", "ask", "mark", "iv"):
        table.add_column(col, justify="left" if col == "contract" else "right")
    for q in snapshot.options:
        if q.contract.underlying == symbol:
            table.add_row(
                escape(q.contract.key),
                price(q.bid),
                price(q.ask),
                price(q.mark),
                percent(q.iv),
            )
    return table


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


def _trade_label(trade: dict[str, Any]) -> str:
    """A version's short hash, or a draft's revision and short content hash."""
    if trade.get("type") == "DRAFT":
        content = str(trade.get("content_hash") or "")[:12]
        return f"draft rev {trade.get('rev')}" + (f", content {content}" if content else "")
    return str(trade.get("trade_hash", ""))[:12]


def evaluation(console: Console, data: dict[str, Any], *, title: str = "evaluation") -> None:
    """Summary, legs, scenario excerpts, warnings and errors of an evaluation."""
    m = data["measures"]
    g = m.get("greeks", {})
    head = Table.grid(padding=(0, 2))
    head.add_row(
        "trade",
        escape(
            f"{data['inputs']['trade'].get('name', '')} ({_trade_label(data['inputs']['trade'])})"
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
    moves = grid["spot_moves"]
    sigma = str(grid.get("spot_range_kind", "")).upper() == "SIGMA"
    unit = " standard deviations (sd)" if sigma else " %"
    symbol = sorted(grid["spots"])[0] if grid["spots"] else None
    spots = grid["spots"][symbol] if symbol is not None else None
    dates = grid["dates"]
    fit = max(3, min(9, (console.width - 16) // 10))  # ~10 characters a column
    cols = _pick(len(moves), fit if fit % 2 else fit - 1)  # odd: keeps the unmoved spot
    axis = f"{symbol} spot in $ and move in{unit}" if symbol else f"spot move in{unit}"
    table = Table(title=f"P/L ($) by spot (columns: {axis}) and date (rows, UTC), T+0 ... expiry")
    table.add_column("date (UTC)", no_wrap=True)
    for j in cols:
        move = f"{moves[j]:+.3g}{'sd' if sigma else '%'}"
        table.add_column(
            f"${spots[j]:,.2f}\n{move}" if spots is not None else move, justify="right"
        )
    n_dates = len(dates)
    for i in _pick(n_dates, 6):
        row = spot_time[i] if len(spot_time) == n_dates else [r[i] for r in spot_time]
        table.add_row(when(dates[i], short=True), *(f"{row[j]:,.0f}" for j in cols))
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
    issues = [
        (side, kind, item)
        for side, ev in (("A", data["a"]), ("B", data["b"]))
        for kind in ("warnings", "errors")
        for item in ev.get(kind, [])
    ]
    issues += [("", "warnings", w) for w in data.get("warnings", [])]
    for side, kind, item in issues:
        style, word = ("yellow", "warning") if kind == "warnings" else ("red", "error")
        where = f"{side}: " if side else ""
        console.print(
            f"[{style}]{word}:[/] {escape(where + str(item.get('code', '')))}: "
            f"{escape(str(item.get('message')))}"
        )


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
    for issues in (
        _issues("warnings", data.get("warnings", []), "yellow"),
        _issues("errors", data.get("errors", []), "red"),
    ):
        if issues is not None:
            console.print(issues)


def table_section(console: Console, section: TableSection) -> None:
    """A report table section: its facts as a two-column grid, then its rows."""
    if section.facts:
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="dim")
        grid.add_column(justify="right")
        for label, value in section.facts.items():
            grid.add_row(escape(label), escape(value))
        console.print(grid)
    if section.rows:
        table = Table(*section.header)
        for row in section.rows:
            table.add_row(*(escape(cell) for cell in row))
        console.print(table)
