"""Helpers of the Compare workspace's browser tests: the grid the page sends, chain picks."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

NEW_YORK = ZoneInfo("America/New_York")
DEFAULT_DAYS = (0, 7, 14)
DEFAULT_VOLS = (-10.0, -5.0, 0.0, 5.0, 10.0)


def page_grid(
    as_of: str,
    *,
    days: tuple[int, ...] = DEFAULT_DAYS,
    spot_range: float = 10.0,
    steps: int = 41,
    vols: tuple[float, ...] = DEFAULT_VOLS,
) -> dict[str, Any]:
    """The scenario grid the page builds: horizon day 0 is the snapshot's own instant, day d > 0
    the close of the snapshot's New York date + d days."""
    base: date = datetime.fromisoformat(as_of.replace("Z", "+00:00")).astimezone(NEW_YORK).date()
    return {
        "spot_range_kind": "PERCENT",
        "spot_min": -spot_range,
        "spot_max": spot_range,
        "spot_steps": steps,
        "vol_shifts": list(vols),
        "dates": [
            as_of if d == 0 else (base + timedelta(days=d)).isoformat() for d in sorted(set(days))
        ],
    }


def number(text: str) -> float:
    """A number shown by the page ("1,234.56", "-0.50") as a float."""
    cleaned = text.strip().replace(",", "")
    if not re.fullmatch(r"[-+]?\d+(\.\d+)?", cleaned):
        raise AssertionError(f"not a number on the page: {text!r}")
    return float(cleaned)


def expiry_rows(chain: dict[str, Any], min_days: int = 7) -> tuple[str, list[dict[str, Any]]]:
    """The first expiry at least ``min_days`` after the chain's date, and its rows."""
    as_of = datetime.fromisoformat(chain["as_of"].replace("Z", "+00:00")).date()
    expiry = next(
        e for e in chain["expiries"] if date.fromisoformat(e) >= as_of + timedelta(days=min_days)
    )
    return expiry, [r for r in chain["rows"] if r["expiry"] == expiry]


def condor_plan(rows: list[dict[str, Any]], spot: Decimal) -> list[tuple[str, str, str]]:
    """Iron condor clicks ``(right, strike, side)``: sell put, buy lower put, sell call, buy
    higher call (a sell is a bid click, a buy an ask click)."""
    strikes = sorted(
        {Decimal(r["strike"]) for r in rows if r["bid"] is not None and Decimal(r["bid"]) > 0}
    )
    below = [k for k in strikes if k < spot]
    above = [k for k in strikes if k > spot]
    text = {Decimal(r["strike"]): r["strike"] for r in rows}
    return [
        ("P", text[below[-3]], "bid"),
        ("P", text[below[-8]], "ask"),
        ("C", text[above[2]], "bid"),
        ("C", text[above[7]], "ask"),
    ]


def atm_strike(rows: list[dict[str, Any]], spot: Decimal) -> str:
    """The strike nearest spot (for a straddle)."""
    return str(min(rows, key=lambda r: abs(Decimal(r["strike"]) - spot))["strike"])


GREEKS = ("delta", "gamma", "theta", "vega")


def repriced_greeks(doc: dict[str, Any], d: int, i: int) -> dict[str, float]:
    """Position Greeks of evaluation ``doc`` at grid date ``d`` and spot ``i``, repriced leg by
    leg with :func:`riskdesk.pricing.greeks` from each leg's published ``model_inputs`` (theta
    per calendar day: the default model config)."""
    import numpy as np

    from riskdesk.pricing import greeks

    total = dict.fromkeys(GREEKS, 0.0)
    tau = doc["grid"]["date_years"][d]
    for leg in doc["legs"]:
        if leg["status"] != "ok":
            continue
        inputs = leg["model_inputs"]
        spot = doc["grid"]["spots"][leg["underlying"]][i]
        if inputs["model"] == "stock":
            total["delta"] += float(Decimal(leg["quantity"]))
            continue
        position = float(Decimal(leg["quantity"])) * leg["instrument"]["multiplier"]
        t = max(inputs["T"] - tau, 0.0)
        if t <= 0.0:
            itm = spot > inputs["K"] if inputs["is_call"] else spot < inputs["K"]
            total["delta"] += position * (1.0 if inputs["is_call"] else -1.0) * itm
            continue
        pairs = [
            (x - tau, a)
            for x, a in zip(
                inputs["dividends"]["times"], inputs["dividends"]["amounts"], strict=True
            )
            if x - tau > 0.0
        ]
        kwargs: dict[str, Any] = {}
        if inputs["engine"] is not None:
            kwargs["engine"] = inputs["engine"]
        if pairs:
            kwargs["dividends"] = (np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs]))
        unit = greeks(
            model=inputs["model"],
            S=spot,
            K=inputs["K"],
            T=t,
            r=inputs["r"],
            q=inputs["q"],
            sigma=inputs["sigma"],
            is_call=inputs["is_call"],
            which=GREEKS,
            **kwargs,
        )
        for name in GREEKS:
            total[name] += position * float(unit[name])
    return total
