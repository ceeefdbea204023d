"""Self-contained HTML report with interactive Plotly charts (no network needed to view it).

The plotly.js bundle is inlined once; each chart is a ``<div>`` built from the evaluation,
comparison and attribution JSON that the workbench stores, so the report shows exactly the
stored numbers.
"""

from __future__ import annotations

import html
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
from plotly.offline import get_plotlyjs
from plotly.subplots import make_subplots

from riskdesk.reporting.risk_tables import TableSection
from riskdesk.reporting.stream_charts import greeks_over_time, stream_section

__all__ = ["ReportSection", "ServiceTable", "TableSection", "render_report", "write_report"]

_GREEKS = ("delta", "gamma", "vega", "theta")


@dataclass(frozen=True, slots=True)
class ReportSection:
    """One trade's evaluation (the stored JSON) with its title."""

    title: str
    evaluation: dict[str, Any]


@dataclass(frozen=True, slots=True)
class _Report:
    title: str
    subtitle: str
    sections: Sequence[ReportSection]
    comparison: dict[str, Any] | None = None
    attribution: dict[str, Any] | None = None
    facts: dict[str, str] = field(default_factory=dict)


def _div(fig: go.Figure) -> str:
    fig.update_layout(template="plotly_white", margin={"l": 60, "r": 20, "t": 50, "b": 50})
    return str(fig.to_html(full_html=False, include_plotlyjs=False, config={"responsive": True}))


def _spot_axis(data: dict[str, Any]) -> tuple[list[float], str]:
    """Spot axis values and its label with units (``$`` spots, or the grid's move unit)."""
    grid = data["grid"]
    if grid["spots"]:
        symbol = sorted(grid["spots"])[0]
        return list(grid["spots"][symbol]), f"{symbol} spot ($)"
    unit = "sigmas" if str(grid.get("spot_range_kind", "")).upper() == "SIGMA" else "%"
    return list(grid["spot_moves"]), f"spot move ({unit})"


def _when_label(value: str) -> str:
    """An ISO timestamp of the results as ``2026-11-20 15:00 UTC`` (its zone always shown)."""
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    if when.tzinfo is None:
        return f"{when:%Y-%m-%d %H:%M} (no zone)"
    return f"{when.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def risk_graph(data: dict[str, Any], title: str) -> go.Figure:
    """P/L against spot, one line per scenario date (T+0 ... expiry) plus the payoff."""
    spots, label = _spot_axis(data)
    fig = go.Figure()
    dates = data["grid"]["dates"]
    for d, row in enumerate(data["curves"]["spot_time_pl"]):
        name = f"T+0 ({_when_label(dates[0])})" if d == 0 else _when_label(dates[d])
        fig.add_trace(
            go.Scatter(
                x=spots, y=row, mode="lines", name=name, line={"width": 3 if d == 0 else 1.5}
            )
        )
    fig.add_trace(
        go.Scatter(
            x=spots,
            y=data["curves"]["expiry_pl"],
            mode="lines",
            name="at expiry",
            line={"dash": "dash", "color": "black"},
        )
    )
    fig.add_hline(y=0, line={"color": "grey", "width": 1})
    fig.update_layout(
        title=f"{title}: risk graph across dates",
        xaxis_title=label,
        yaxis_title="P/L ($)",
        height=420,
    )
    return fig


def spot_vol_heatmap(data: dict[str, Any], title: str) -> go.Figure:
    """P/L now across spot (x) and vol shift (y)."""
    spots, label = _spot_axis(data)
    fig = go.Figure(
        go.Heatmap(
            x=spots,
            y=data["grid"]["vol_shifts"],
            z=data["curves"]["spot_vol_pl"],
            colorscale="RdYlGn",
            zmid=0,
            colorbar={"title": "P/L $"},
            hovertemplate="spot %{x:,.2f}<br>vol %{y:+.1f} pts<br>P/L $%{z:,.2f}<extra></extra>",
        )
    )
    fig.update_layout(
        title=f"{title}: spot x vol P/L (now)",
        xaxis_title=label,
        yaxis_title="vol shift (vol points)",
        height=420,
    )
    return fig


def greeks_strip(data: dict[str, Any], title: str) -> go.Figure:
    """Position Greeks per leg and for the trade, one panel per Greek."""
    fig = make_subplots(rows=1, cols=len(_GREEKS), subplot_titles=_GREEKS)
    labels = [leg["label"] for leg in data["legs"] if leg.get("position_greeks")]
    for col, greek in enumerate(_GREEKS, start=1):
        values = [
            leg["position_greeks"][greek] for leg in data["legs"] if leg.get("position_greeks")
        ]
        total = data["measures"]["greeks"].get(greek, 0.0)
        fig.add_trace(
            go.Bar(
                x=[*labels, "trade"],
                y=[*values, total],
                showlegend=False,
                marker_color=["#4c78a8"] * len(values) + ["#f58518"],
            ),
            row=1,
            col=col,
        )
    fig.update_xaxes(showticklabels=False)
    fig.update_layout(title=f"{title}: Greeks strip (position units)", height=320)
    return fig


def comparison_chart(data: dict[str, Any]) -> go.Figure:
    """Expiry payoff and T+0 P/L of A, B and A-B on the shared spot axis."""
    a, b = data["a"], data["b"]
    spots, label = _spot_axis(a)
    fig = go.Figure()
    for name, ev, dash in (("A", a, None), ("B", b, None)):
        fig.add_trace(
            go.Scatter(
                x=spots, y=ev["curves"]["spot_time_pl"][0], name=f"{name} T+0", line={"dash": dash}
            )
        )
    diff = data["diff"].get("spot_time_pl")
    if diff:
        fig.add_trace(go.Scatter(x=spots, y=diff[0], name="A-B T+0", line={"dash": "dot"}))
    fig.add_hline(y=0, line={"color": "grey", "width": 1})
    fig.update_layout(
        title=f"A = {a['inputs']['trade'].get('name')} vs B = {b['inputs']['trade'].get('name')}",
        xaxis_title=label,
        yaxis_title="P/L ($)",
        height=420,
    )
    return fig


def attribution_waterfall(data: dict[str, Any]) -> go.Figure:
    """Taylor terms and residual summing to the total."""
    terms = data["trade"]["taylor"]
    names = [k for k in terms if k not in ("total",)]
    fig = go.Figure(
        go.Waterfall(
            x=[*names, "total"],
            y=[terms[k] for k in names] + [data["trade"]["total"]],
            measure=["relative"] * len(names) + ["total"],
        )
    )
    fig.update_layout(
        title=f"P&L attribution of {data['inputs']['trade'].get('name')}: "
        "second-order Taylor + residual",
        yaxis_title="P&L ($)",
        height=420,
    )
    return fig


def _facts_table(rows: dict[str, str]) -> str:
    cells = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in rows.items()
    )
    return f"<table class='facts'>{cells}</table>"


def _money(value: Any) -> str:
    return "-" if value is None else f"{value:,.2f}"


def _section_facts(data: dict[str, Any]) -> dict[str, str]:
    m = data["measures"]

    def extremum(x: dict[str, Any]) -> str:
        return "unbounded" if x["unbounded"] else _money(x["value"])

    pop = m.get("probability_of_profit")
    return {
        "value": _money(m["value"]),
        "P/L open": _money(m["pl_open"]),
        "max profit": extremum(m["max_profit"]),
        "max loss": extremum(m["max_loss"]),
        "breakevens (expiry)": ", ".join(
            "/".join(f"{s:,.2f}" for s in b["spots"].values()) for b in m["breakevens_expiry"]
        )
        or "none",
        "probability of profit": "-" if pop is None else f"{pop:.1%}",
        "delta / gamma / vega / theta": " / ".join(
            f"{m['greeks'].get(g, 0.0):,.2f}" for g in _GREEKS
        ),
        "warnings": str(len(data.get("warnings", []))),
    }


@dataclass(frozen=True)
class ServiceTable:
    """The report's service section: facts, then one row per request."""

    facts: dict[str, str]
    header: Sequence[str]
    rows: Sequence[Sequence[str]]


def _rows_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>" for row in rows
    )
    return f'<table class="rows"><tr>{head}</tr>{body}</table>'


def render_report(
    *,
    title: str,
    subtitle: str,
    sections: Sequence[ReportSection],
    comparison: dict[str, Any] | None = None,
    attribution: dict[str, Any] | None = None,
    facts: dict[str, str] | None = None,
    service: ServiceTable | None = None,
    tables: Sequence[TableSection] = (),
    streaming: dict[str, Any] | None = None,
) -> str:
    """The report as one HTML string.

    ``tables`` are the portfolio-risk (and paper-trading) sections; ``streaming`` is a
    :meth:`riskdesk.streaming.demo.StreamDemo.to_dict` (its counts, a row per position and a
    Greeks-over-time chart).
    """
    report = _Report(title, subtitle, sections, comparison, attribution, facts or {})
    parts: list[str] = []
    if report.facts:
        parts.append(_facts_table(report.facts))
    for section in report.sections:
        ev = section.evaluation
        parts.append(f"<h2>{html.escape(section.title)}</h2>")
        parts.append(_facts_table(_section_facts(ev)))
        parts.append(_div(risk_graph(ev, section.title)))
        parts.append(_div(spot_vol_heatmap(ev, section.title)))
        parts.append(_div(greeks_strip(ev, section.title)))
    if report.comparison is not None:
        parts.append("<h2>Comparison</h2>")
        parts.append(_div(comparison_chart(report.comparison)))
    if report.attribution is not None:
        parts.append("<h2>P&amp;L attribution</h2>")
        seq = report.attribution["trade"]["sequential"]
        parts.append(_facts_table({f"sequential: {k}": _money(v) for k, v in seq.items()}))
        parts.append(_div(attribution_waterfall(report.attribution)))
    for table in tables:
        parts.append(f"<h2>{html.escape(table.title)}</h2>")
        if table.facts:
            parts.append(_facts_table(dict(table.facts)))
        if table.rows:
            parts.append(_rows_table(table.header, table.rows))
    if streaming is not None:
        streamed = stream_section(streaming)
        parts.append(f"<h2>{html.escape(streamed.title)}</h2>")
        parts.append(_facts_table(dict(streamed.facts)))
        parts.append(_rows_table(streamed.header, streamed.rows))
        parts.append(_div(greeks_over_time(streaming)))
    if service is not None:
        parts.append("<h2>The same job through the HTTP service</h2>")
        parts.append(_facts_table(service.facts))
        parts.append(_rows_table(service.header, service.rows))
    body = "\n".join(parts)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(report.title)}</title>
<script type="text/javascript">{get_plotlyjs()}</script>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #222; }}
h1 {{ margin-bottom: 0; }} .sub {{ color: #666; margin-top: .2rem; }}
table.facts {{ border-collapse: collapse; margin: .5rem 0 1rem; }}
table.facts th {{ text-align: left; padding: .2rem 1rem .2rem 0; color: #555; font-weight: 500; }}
table.facts td {{ text-align: right; padding: .2rem 0; font-variant-numeric: tabular-nums; }}
table.rows {{ border-collapse: collapse; margin: .5rem 0 1rem; }}
table.rows th, table.rows td {{ text-align: left; padding: .2rem .8rem .2rem 0; }}
</style></head>
<body><h1>{html.escape(report.title)}</h1><p class="sub">{html.escape(report.subtitle)}</p>
{body}
</body></html>
"""


def write_report(path: Path, **kwargs: Any) -> Path:
    """Render and write the report to ``path`` atomically (parents created); returns the path.

    The HTML goes to a temporary file in the same directory, is flushed to disk (``fsync``)
    and renamed over ``path`` (``os.replace``): a reader sees the old report or the new one,
    never half of one, and a failed render leaves the old report in place.
    """
    text = render_report(**kwargs)
    directory = path.parent
    directory.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    tmp = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            if path.exists():  # keep the mode of the report it replaces
                os.chmod(tmp, path.stat().st_mode & 0o7777)
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
