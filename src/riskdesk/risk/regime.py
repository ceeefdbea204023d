"""Seed 001's market regime: the VIX regime and its sizing factor, rolling correlations, alarms.

A pure engine (numpy in, values out; no database, clock or logger). The use case
:class:`riskdesk.risk.market_risk.MarketRegime` reads the closes and volumes and calls these.

VIX regime
----------
Seed 001's bands (``low < 15``, ``normal < 25``, ``high < 35``, ``extreme >= 35``): a level
exactly on a boundary belongs to the upper band (15 is *normal*, 25 *high*, 35 *extreme*).
Each regime scales the size of new positions by :data:`SIZING_FACTORS` (riskdesk's choice,
documented here because the seed gives only an example of 0.8 for a VIX of 28.5):

=========  ===========  =============================================================
regime     size factor  why
=========  ===========  =============================================================
low        1.00         full size (quiet market)
normal     1.00         full size
high       0.80         the seed's example (VIX 28.5 -> 0.8)
extreme    0.00         VIX >= 35 is also the emergency threshold: no new risk
=========  ===========  =============================================================

Rolling correlations
--------------------
Daily log returns ``ln(C_t / C_t-1)`` of SPY, QQQ and IWM; the Pearson correlation of each
pair (``SPY_QQQ``, ``SPY_IWM``, ``QQQ_IWM``) over the last 7 and the last 30 returns ending on
the valuation date (``numpy.corrcoef`` on those rows; ``pandas.Series.rolling(n).corr`` gives
the same numbers). A window needs ``n + 1`` closes; a constant series has no correlation
(None).

Emergency thresholds
--------------------
Seed 001's ``emergency_thresholds`` (:data:`THRESHOLDS`), each raising one risk event:

* ``vix_emergency`` (35.0): the VIX close is ``>= 35``. Severity *critical*, action
  ``halt_new_positions``.
* ``correlation_breakdown`` (0.3): for some pair, the 7-session correlation differs from the
  30-session one by ``>= 0.3`` in absolute value (the short-run relation broke away from the
  month's). The triggered value is the largest such gap. Severity *high*, action
  ``reduce_correlated_exposure``.
* ``volume_spike`` (3.0): for some of SPY/QQQ/IWM, the session's volume is ``>= 3`` times the
  mean volume of the 30 sessions before it. The triggered value is the largest ratio.
  Severity *medium*, action ``alert``.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "CORRELATION_WINDOWS",
    "SIZING_FACTORS",
    "THRESHOLDS",
    "VOLUME_LOOKBACK",
    "Breach",
    "VixRegime",
    "classify_vix",
    "emergency_breaches",
    "log_returns",
    "pair_names",
    "window_correlations",
]

CORRELATION_WINDOWS: tuple[int, int] = (7, 30)
"""The short and long correlation windows, in daily returns (sessions)."""

VOLUME_LOOKBACK = 30
"""Sessions whose mean volume a session's volume is compared with."""

THRESHOLDS: Mapping[str, float] = MappingProxyType(
    {"vix_emergency": 35.0, "correlation_breakdown": 0.3, "volume_spike": 3.0}
)
"""Seed 001's emergency thresholds (``GET /risk/regime``'s ``emergency_thresholds``)."""

_BOUNDS: tuple[float, float, float] = (15.0, 25.0, 35.0)


class VixRegime(enum.StrEnum):
    """Seed 001's VIX regimes."""

    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    EXTREME = "extreme"


SIZING_FACTORS: Mapping[VixRegime, float] = MappingProxyType(
    {VixRegime.LOW: 1.0, VixRegime.NORMAL: 1.0, VixRegime.HIGH: 0.8, VixRegime.EXTREME: 0.0}
)
"""Position-size multiplier per regime (module docstring)."""

_SEVERITY: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "vix_emergency": ("critical", "halt_new_positions"),
        "correlation_breakdown": ("high", "reduce_correlated_exposure"),
        "volume_spike": ("medium", "alert"),
    }
)


def classify_vix(level: float) -> tuple[VixRegime, float]:
    """The regime of a VIX ``level`` and its sizing factor.

    Examples
    --------
    >>> classify_vix(14.99), classify_vix(15.0), classify_vix(35.0)
    ((<VixRegime.LOW: 'low'>, 1.0), (<VixRegime.NORMAL: 'normal'>, 1.0), \
(<VixRegime.EXTREME: 'extreme'>, 0.0))

    """
    if not (math.isfinite(level) and level > 0):
        raise ValueError(f"a VIX level must be a finite number > 0, got {level!r}")
    low, normal, high = _BOUNDS
    if level < low:
        regime = VixRegime.LOW
    elif level < normal:
        regime = VixRegime.NORMAL
    elif level < high:
        regime = VixRegime.HIGH
    else:
        regime = VixRegime.EXTREME
    return regime, SIZING_FACTORS[regime]


def log_returns(closes: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Daily log returns along axis 0 (``n`` closes give ``n - 1`` returns)."""
    prices = np.asarray(closes, dtype=np.float64)
    if prices.shape[0] < 2:
        raise ValueError(f"log returns need at least 2 closes, got {prices.shape[0]}")
    if not np.all(np.isfinite(prices)) or np.any(prices <= 0):
        raise ValueError("closes must be finite and > 0")
    return np.asarray(np.diff(np.log(prices), axis=0), dtype=np.float64)


def pair_names(symbols: Sequence[str]) -> list[tuple[str, int, int]]:
    """``("A_B", i, j)`` for every pair ``i < j`` of ``symbols`` in order."""
    return [
        (f"{symbols[i]}_{symbols[j]}", i, j)
        for i in range(len(symbols))
        for j in range(i + 1, len(symbols))
    ]


def window_correlations(
    returns: npt.ArrayLike, symbols: Sequence[str], window: int
) -> dict[str, float | None]:
    """Pearson correlation of each pair over the last ``window`` rows of ``returns``.

    ``returns`` is ``(rows, len(symbols))``; a pair where either series is constant over the
    window is None.
    """
    data = np.asarray(returns, dtype=np.float64)
    if data.ndim != 2 or data.shape[1] != len(symbols):
        raise ValueError(f"returns must be (rows, {len(symbols)}), got shape {data.shape}")
    if window < 2:
        raise ValueError(f"a correlation window needs >= 2 returns, got {window}")
    if data.shape[0] < window:
        raise ValueError(f"{data.shape[0]} returns are fewer than the window of {window}")
    tail = data[-window:]
    out: dict[str, float | None] = {}
    for name, i, j in pair_names(symbols):
        a, b = tail[:, i], tail[:, j]
        if float(np.std(a)) == 0.0 or float(np.std(b)) == 0.0:
            out[name] = None
            continue
        rho = float(np.corrcoef(a, b)[0, 1])
        out[name] = min(max(rho, -1.0), 1.0)
    return out


@dataclass(frozen=True, slots=True)
class Breach:
    """One emergency threshold crossed: the seed-001 ``risk_events`` fields."""

    event_type: str
    severity: str
    description: str
    triggered_value: float
    threshold_value: float
    action_taken: str
    details: Mapping[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types (values rounded to 6 places)."""
        return {
            "event_type": self.event_type,
            "severity": self.severity,
            "description": self.description,
            "triggered_value": round(self.triggered_value, 6),
            "threshold_value": self.threshold_value,
            "action_taken": self.action_taken,
            "details": dict(self.details),
        }


def _breach(kind: str, value: float, description: str, details: Mapping[str, Any]) -> Breach:
    severity, action = _SEVERITY[kind]
    return Breach(kind, severity, description, value, THRESHOLDS[kind], action, details)


def emergency_breaches(
    *,
    vix: float,
    short: Mapping[str, float | None],
    long: Mapping[str, float | None],
    volume_ratios: Mapping[str, float | None],
    thresholds: Mapping[str, float] = THRESHOLDS,
) -> list[Breach]:
    """The emergency thresholds crossed (module docstring), in the order of :data:`THRESHOLDS`.

    ``short`` / ``long`` are the 7- and 30-session pair correlations; ``volume_ratios`` each
    symbol's volume over its 30-session mean (None when unknown: never a breach).
    """
    out: list[Breach] = []
    vix_limit = thresholds["vix_emergency"]
    if vix >= vix_limit:
        out.append(
            _breach(
                "vix_emergency",
                vix,
                f"VIX {vix:.2f} is at or above the emergency level {vix_limit:g}",
                {"vix": vix},
            )
        )
    gaps = {
        pair: abs(s - lg)
        for pair, s in short.items()
        if s is not None and (lg := long.get(pair)) is not None
    }
    corr_limit = thresholds["correlation_breakdown"]
    broken = {pair: gap for pair, gap in gaps.items() if gap >= corr_limit}
    if broken:
        worst = max(broken, key=lambda p: broken[p])
        out.append(
            _breach(
                "correlation_breakdown",
                broken[worst],
                f"{worst} 7-session correlation {short[worst]:.3f} is "
                f"{broken[worst]:.3f} away from its 30-session {long[worst]:.3f} "
                f"(threshold {corr_limit:g})",
                {"pairs": {p: round(g, 6) for p, g in sorted(broken.items())}},
            )
        )
    spike_limit = thresholds["volume_spike"]
    spikes = {s: r for s, r in volume_ratios.items() if r is not None and r >= spike_limit}
    if spikes:
        worst = max(spikes, key=lambda s: spikes[s])
        out.append(
            _breach(
                "volume_spike",
                spikes[worst],
                f"{worst} volume is {spikes[worst]:.2f}x its {VOLUME_LOOKBACK}-session mean "
                f"(threshold {spike_limit:g}x)",
                {"ratios": {s: round(r, 6) for s, r in sorted(spikes.items())}},
            )
        )
    return out
