"""Evaluation step 1: a trade resolved against a snapshot, with its base Greeks and values.

:func:`prepare` runs leg resolution (:func:`riskdesk.analytics._legs.resolve_legs`), the
per-unit Greeks of every valued leg and the value marks (model, or quote mid / mark per
``pricing_mode``); :func:`position_greeks` scales them to the position (theta per
``theta_convention`` day). :class:`Prepared` is shared by evaluate and compare.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np

from riskdesk.analytics._common import FloatArray, Issue
from riskdesk.analytics._kernels import GREEK_NAMES, option_greeks
from riskdesk.analytics._legs import LegResolution, resolve_legs
from riskdesk.analytics._market import (
    TradeLike,
    ValuedLeg,
    expiry_instant,
)
from riskdesk.domain.configs import ModelConfig, PricingMode
from riskdesk.domain.instruments import OptionContract
from riskdesk.domain.market import MarketSnapshot

__all__ = [
    "POSITION_GREEKS",
    "Prepared",
    "position_greeks",
    "prepare",
    "theta_scale",
]


POSITION_GREEKS: tuple[str, ...] = ("delta", "gamma", "vega", "theta", "rho", "dollar_delta")
"""Keys of position / trade Greeks."""


@dataclass(slots=True)
class Prepared:
    """A trade resolved against a snapshot, with base Greeks (shared with compare)."""

    trade: TradeLike
    snapshot: MarketSnapshot
    config: ModelConfig
    resolution: LegResolution
    unit_greeks: dict[str, FloatArray]
    values: FloatArray
    last_expiry: datetime | None
    warnings: list[Issue]
    errors: list[Issue]

    @property
    def legs(self) -> list[ValuedLeg]:
        """Valued legs."""
        return self.resolution.valued

    @property
    def underlyings(self) -> tuple[str, ...]:
        """Sorted underlyings of the valued legs."""
        return tuple(sorted({leg.underlying for leg in self.legs}))


def prepare(trade: TradeLike, snapshot: MarketSnapshot, config: ModelConfig) -> Prepared:
    """Resolve legs and compute per-unit base Greeks and values."""
    resolution = resolve_legs(trade, snapshot, config)
    legs = resolution.valued
    warnings = list(resolution.warnings)
    errors = list(resolution.errors)
    unit = option_greeks(legs, GREEK_NAMES)
    values = unit["price"].copy()
    if config.pricing_mode is not PricingMode.MODEL:
        for i, leg in enumerate(legs):
            if not leg.is_option:
                continue
            if leg.quote_price is not None:
                values[i] = leg.quote_price
            else:
                warnings.append(
                    Issue(
                        "no_quote_price",
                        f"leg {leg.ref} ({leg.leg.label}): the quote has no "
                        f"{config.pricing_mode.value}; valued with the model instead",
                        leg.ref,
                    )
                )
    expiries: list[datetime] = []
    for item in resolution.refs:
        instrument = item.leg.instrument
        if isinstance(instrument, OptionContract):
            try:
                instant = expiry_instant(instrument.expiry, instrument.settlement)
            except ValueError:
                continue
            if instant > snapshot.as_of:
                expiries.append(instant)
    valued_expiries = {leg.expiry for leg in legs if leg.expiry is not None}
    if len(valued_expiries) > 1:
        warnings.append(
            Issue(
                "multi_expiry",
                "the trade has several expiries: at-expiry measures (expiry P/L, max profit/"
                "loss, expiry breakevens, probability of profit) take every leg at intrinsic "
                "value at the last expiry and ignore the spot path between expiries",
            )
        )
    return Prepared(
        trade=trade,
        snapshot=snapshot,
        config=config,
        resolution=resolution,
        unit_greeks=unit,
        values=values,
        last_expiry=max(expiries) if expiries else None,
        warnings=warnings,
        errors=errors,
    )


def theta_scale(config: ModelConfig) -> float:
    """Factor from the kernels' theta (per calendar day) to theta per ``theta_convention`` day."""
    return 365.0 / config.theta_convention.days_per_year


def position_greeks(prep: Prepared) -> dict[str, FloatArray]:
    """Position Greeks per valued leg (``POSITION_GREEKS``; theta per convention day)."""
    legs = prep.legs
    pos = np.array([leg.position for leg in legs], dtype=np.float64)
    spot = np.array([leg.spot for leg in legs], dtype=np.float64)
    per_day = theta_scale(prep.config)
    unit = prep.unit_greeks
    out = {
        "delta": pos * unit["delta"],
        "gamma": pos * unit["gamma"],
        "vega": pos * unit["vega"],
        "theta": pos * unit["theta"] * per_day,
        "rho": pos * unit["rho"],
    }
    out["dollar_delta"] = out["delta"] * spot
    return out
