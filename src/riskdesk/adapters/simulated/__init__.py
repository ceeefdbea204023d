"""Synthetic market data: the embedded default source (seeded, deterministic).

* :func:`generate_market` -- a full option market snapshot for a seed and an as-of time;
* :func:`intraday_paths` -- correlated minute spot paths (Heston-lite);
* :func:`simulate_live` -- LIVE snapshots re-marked along those paths;
* :func:`true_surface` -- the SVI slices the quotes come from.
"""

from riskdesk.adapters.simulated.config import (
    DEFAULT_CONFIG,
    DEFAULT_SYMBOLS,
    DividendSchedule,
    ExpiryPlan,
    SimulationConfig,
    UnderlyingKind,
    UnderlyingSpec,
)
from riskdesk.adapters.simulated.market import SOURCE, generate_market, true_surface
from riskdesk.adapters.simulated.paths import (
    IntradayPaths,
    intraday_paths,
    simulate_live,
    simulate_paths,
)

__all__ = [
    "DEFAULT_CONFIG",
    "DEFAULT_SYMBOLS",
    "SOURCE",
    "DividendSchedule",
    "ExpiryPlan",
    "IntradayPaths",
    "SimulationConfig",
    "UnderlyingKind",
    "UnderlyingSpec",
    "generate_market",
    "intraday_paths",
    "simulate_live",
    "simulate_paths",
    "true_surface",
]
