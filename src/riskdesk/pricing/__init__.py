"""Pure numerical pricing kernels: numpy in, numpy out; no I/O, clock, database or logging.

Public API (keyword arguments, numpy broadcasting, scalars allowed)::

    price(model=..., S=..., K=..., T=..., r=..., q=..., sigma=..., is_call=...)        -> ndarray
    greeks(model=..., S=..., K=..., T=..., r=..., q=..., sigma=..., is_call=...)       -> dict[str, ndarray]
    implied_vol(model=..., price=..., S=..., K=..., T=..., r=..., q=..., is_call=...)  -> ImpliedVolResult

Models: ``bsm``, ``black76``, ``bachelier``, ``american`` (``engine=``).  Conventions and units
are tabulated in :mod:`riskdesk.pricing._api`.
"""

from riskdesk.pricing._api import (
    AMERICAN_ENGINES,
    GREEK_NAMES,
    MODELS,
    ImpliedVolResult,
    greeks,
    implied_vol,
    price,
)

__all__ = [
    "AMERICAN_ENGINES",
    "GREEK_NAMES",
    "MODELS",
    "ImpliedVolResult",
    "greeks",
    "implied_vol",
    "price",
]

# --- volatility surface (SVI) -------------------------------------------------------------
from riskdesk.pricing.surface import (
    SliceQuotes,
    SurfaceStatus,
    SviFitError,
    SviSlice,
    VolSurface,
    arbitrage_diagnostics,
    build_surface,
    fit_svi,
)

__all__ += [
    "SliceQuotes",
    "SurfaceStatus",
    "SviFitError",
    "SviSlice",
    "VolSurface",
    "arbitrage_diagnostics",
    "build_surface",
    "fit_svi",
]
