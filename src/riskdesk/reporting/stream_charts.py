"""The demo's streaming section: a Greeks-over-time chart per position and a counts table.

Everything is drawn from :meth:`riskdesk.streaming.demo.StreamDemo.to_dict` (the stored
history read back through the Greeks queries), formatted for reading only: nothing is
recomputed here. The chart is one Plotly figure of six stacked panels sharing the time axis
(delta, gamma, theta per day, vega per vol point, implied volatility, underlying price) with a
dropdown choosing the position; the report inlines plotly.js, so it works offline.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from riskdesk.reporting.risk_tables import TableSection

__all__ = ["STREAM_TITLE", "greeks_over_time", "stream_section"]

STREAM_TITLE: Final = "Streaming Greeks from a fake broker"
"""Title of the report's and the console's streaming section."""

_PANELS: Final[tuple[tuple[str, str], ...]] = (
    ("delta", "delta"),
    ("gamma", "gamma"),
    ("theta", "theta ($/day)"),
    ("vega", "vega (per vol pt)"),
    ("implied_volatility", "implied vol"),
    ("underlying_price", "underlying ($)"),
)


def _ms(value: Any) -> str:
    return "-" if value is None else f"{float(value):,.1f} ms"


def _num(value: Any, places: int = 4) -> str:
    return "-" if value is None else f"{float(value):,.{places}f}"


def _label(position: Mapping[str, Any]) -> str:
    quantity = position.get("quantity")
    size = "" if quantity is None else f" x {quantity}"
    return f"{position['contract_key']}{size}"


def stream_section(data: Mapping[str, Any]) -> TableSection:
    """The counts (facts) and one row per position: points and the last stored values."""
    counts = data["counts"]
    facts = {
        "broker / account": f"{data['broker']} / {data['account_id']} (fake, on 127.0.0.1)",
        "streamed": f"{float(data['seconds']):g} s at {float(data['rate']):,.0f} events/s",
        "events sent by the fake (Greeks)": f"{counts['sent']:,} ({counts['sent_greeks']:,})",
        "Greeks received": f"{counts['received']:,}",
        "persisted / deduplicated": f"{counts['persisted']:,} / {counts['deduped']:,}",
        "rejected": f"{counts['rejected']:,}",
        "in flight at stop (sent, not received)": f"{counts['in_flight_at_stop']:,}",
        "tick-to-durable p50 / p95 / p99": " / ".join(
            _ms(counts[f"{p}_tick_to_durable_ms"]) for p in ("p50", "p95", "p99")
        ),
    }
    rows = []
    for position in data["positions"]:
        rows.append(
            [
                position["contract_key"],
                "-" if position["quantity"] is None else str(position["quantity"]),
                str(position["points"]),
                _num(_last(position["delta"])),
                _num(_last(position["gamma"])),
                _num(_last(position["theta"])),
                _num(_last(position["vega"])),
                _num(_last(position["implied_volatility"])),
                _num(_last(position["underlying_price"]), 2),
            ]
        )
    return TableSection(
        STREAM_TITLE,
        facts,
        ["contract", "qty", "points", "delta", "gamma", "theta", "vega", "iv", "underlying"],
        rows,
    )


def _last(values: Sequence[float | None]) -> float | None:
    for value in reversed(values):
        if value is not None:
            return value
    return None


def greeks_over_time(data: Mapping[str, Any]) -> go.Figure:
    """Per position, its stored Greeks, implied vol and underlying price against event time.

    Six panels share the time axis; the dropdown shows one position at a time (the first one
    to start with). Values are per contract, as the broker streams them.
    """
    positions = list(data["positions"])
    fig = make_subplots(
        rows=len(_PANELS),
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.025,
        subplot_titles=[title for _, title in _PANELS],
    )
    for index, position in enumerate(positions):
        for row, (name, title) in enumerate(_PANELS, start=1):
            fig.add_trace(
                go.Scatter(
                    x=position["times"],
                    y=position[name],
                    mode="lines+markers",
                    marker={"size": 3},
                    name=f"{_label(position)} {title}",
                    showlegend=False,
                    visible=index == 0,
                    connectgaps=False,
                ),
                row=row,
                col=1,
            )
    per = len(_PANELS)
    buttons = []
    for index, position in enumerate(positions):
        visible = [False] * (per * len(positions))
        visible[index * per : (index + 1) * per] = [True] * per
        buttons.append(
            {
                "label": _label(position),
                "method": "update",
                "args": [
                    {"visible": visible},
                    {"title": f"Greeks over time: {_label(position)}"},
                ],
            }
        )
    first = _label(positions[0]) if positions else "no position streamed"
    fig.update_layout(
        title=f"Greeks over time: {first}",
        height=900,
        updatemenus=[
            {"buttons": buttons, "direction": "down", "x": 1.0, "xanchor": "right", "y": 1.08}
        ]
        if buttons
        else [],
    )
    fig.update_xaxes(title_text="event time (UTC)", row=len(_PANELS), col=1)
    return fig
