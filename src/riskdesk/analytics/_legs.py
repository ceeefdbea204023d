"""Leg resolution: from a trade and a snapshot to the valued legs the kernels price.

One way, each step a function of the previous step's output:

1. :func:`riskdesk.analytics._market.resolve_inputs`: which legs can be valued, and each
   option leg's market inputs (quote prices, spot, carry, rate, dividends, time) as a value;
2. :func:`riskdesk.analytics._vols.source_vols`: a vol for each of those values;
3. :func:`resolve_legs` (here): the :class:`~riskdesk.analytics._market.ValuedLeg` rows the
   kernels of :mod:`riskdesk.analytics._kernels` price, and the status of every leg.

Problems become :class:`Issue` warnings naming the leg, and the leg is left out of value,
Greeks and scenarios (no NaN ever reaches a result).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from riskdesk.analytics._common import Issue
from riskdesk.analytics._market import (
    LegStatus,
    MarketInputs,
    TradeLegRef,
    TradeLike,
    ValuedLeg,
    resolve_inputs,
    snapshot_info,
)
from riskdesk.analytics._vols import SOLVED_LABELS, source_vols
from riskdesk.domain.configs import ModelConfig
from riskdesk.domain.market import MarketSnapshot

__all__ = ["LegResolution", "resolve_legs", "value_legs"]


@dataclass(slots=True)
class LegResolution:
    """Outcome of :func:`resolve_legs`.

    ``refs`` holds every leg of the trade; ``valued`` the included legs that can be valued;
    ``status`` maps each leg reference to ``ok``, ``toggled_off`` or ``excluded``.
    """

    refs: list[TradeLegRef]
    valued: list[ValuedLeg]
    status: dict[str, LegStatus]
    warnings: list[Issue]
    errors: list[Issue]


def resolve_legs(
    trade: TradeLike,
    snapshot: MarketSnapshot,
    config: ModelConfig,
    *,
    valuation_time: datetime | None = None,
) -> LegResolution:
    """Decide which legs can be valued and gather their kernel inputs.

    ``valuation_time`` (default ``snapshot.as_of``) is the instant times to expiry and
    dividend times are measured from; quotes and vols always come from the snapshot.
    """
    inputs = resolve_inputs(trade, snapshot, config, valuation_time=valuation_time)
    return value_legs(inputs, snapshot, config)


def value_legs(
    inputs: MarketInputs, snapshot: MarketSnapshot, config: ModelConfig
) -> LegResolution:
    """Source the vols of resolved ``inputs`` and build the valued legs, in trade order."""
    status = dict(inputs.status)
    warnings = list(inputs.warnings)
    valued: dict[str, ValuedLeg] = dict(inputs.stocks)
    if inputs.options:
        picks = source_vols(inputs.options, snapshot_info(snapshot), config)
        warnings.extend(picks.issues)
        for p, vol in zip(inputs.options, picks.vols, strict=True):
            if vol is None:
                status[p.item.ref] = "excluded"
                continue
            model, engine = config.model_for(p.contract.style)
            leg = p.item.leg
            valued[p.item.ref] = ValuedLeg(
                ref=p.item.ref,
                leg=leg,
                underlying=leg.underlying,
                spot=p.spot,
                position=float(leg.quantity * leg.multiplier),
                entry_cost=float(leg.entry_cost),
                fees=float(leg.fees),
                model=model,
                engine=engine,
                strike=float(p.contract.strike),
                is_call=p.contract.right.is_call,
                expiry=p.expiry,
                time_to_expiry=p.time_to_expiry,
                vol=vol[0],
                vol_source=vol[1],
                rate=p.rate,
                carry=p.carry,
                quote_price=p.mark_price,
                dividends=p.dividends,
                iv_quote_price=p.iv_price if vol[1] in SOLVED_LABELS else None,
            )
            status[p.item.ref] = "ok"
    refs = inputs.refs
    ordered = [valued[item.ref] for item in refs if item.ref in valued]
    errors: list[Issue] = []
    if not ordered and any(item.leg.include for item in refs):
        errors.append(
            Issue(
                "no_valued_legs",
                "no included leg could be valued; see the leg warnings for the reasons",
            )
        )
    return LegResolution(refs=refs, valued=ordered, status=status, warnings=warnings, errors=errors)
