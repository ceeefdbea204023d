"""Synthetic market data: the embedded default source (seeded, deterministic).

* :func:`generate_market` -- a full option market snapshot for a seed and an as-of time;
* :func:`intraday_paths` -- correlated minute spot paths (Heston-lite);
* :func:`simulate_live` -- LIVE snapshots re-marked along those paths;
* :func:`true_surface` -- the SVI slices the quotes come from.

The synthetic market as a :class:`~riskdesk.domain.sources.MarketSource` is
:class:`riskdesk.adapters.simulated.market.SyntheticSource`.
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
from riskdesk.adapters.simulated.market import (
    SOURCE,
    SyntheticSource,
    generate_market,
    true_surface,
)
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
    "SyntheticSource",
    "UnderlyingKind",
    "UnderlyingSpec",
    "generate_market",
    "intraday_paths",
    "simulate_live",
    "simulate_paths",
    "true_surface",
]
