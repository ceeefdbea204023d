"""P&L attribution between a base and a compare market state, per leg and per trade.

A :class:`MarketState` gives every leg its spot, vol, time to expiry, rate and carry. Build
one from a snapshot (:func:`market_state`), move one in time or shock it
(:meth:`MarketState.shifted`), move the snapshot's state forward by some days holding every
model input (:func:`days_forward_state`), or take two snapshots (:func:`attribute_snapshots`).

Time moves in the model config's time basis: aging a state by ``N`` calendar days takes its
valuation time to ``t0 + N days`` and each time to expiry falls by the year fraction between
the two instants in that basis (``N / 365`` on the calendar clock; the open-market time in
between over 252 sessions on trading time, so a weekend costs nothing). A leg whose expiry
falls inside the window ends at ``T = 0`` and is valued at intrinsic value (the pricing API
returns the payoff at ``T = 0``); dividends whose ex time passes drop out.

Two explains are computed, both in currency for the position (``quantity * multiplier``):

**Second-order Taylor** around the base state, with base Greeks from
:func:`riskdesk.pricing.greeks` and moves ``dS = S1 - S0``, ``dv = (sigma1 - sigma0) / 0.01``
(vol points), ``days = -(T1 - T0) * 365`` (time passed; T in the config's time basis),
``dr = (r1 - r0) / 0.01`` and ``dq = (q1 - q0) / 0.01`` (rate points)::

    delta       delta * dS                       delta per $1
    gamma       1/2 * gamma * dS^2               gamma per $1^2
    vega        vega * dv                        vega per vol point
    volga       1/2 * volga * dv^2               volga per (vol point)^2
    vanna       vanna * dS * dv                  vanna per $1 per vol point
    theta       theta * days                     theta per calendar day: -(1/365) dV/dT
                (+ dividend cash a stock leg earns from ex-dates passed between the two
                valuation times, also booked in the sequential ``time`` step)
    charm       charm * dS * days                d(delta)/dt per day
    veta        veta * dv * days                 d(vega)/dt per day
    theta_gamma 1/2 * d2V/dT2 * dT^2             central difference of the model in T
    rho         rho * dr                         rho per rate point
    carry       phi * dq                         phi (dividend rho) per rate point
    residual    total - sum of the terms above

Every second-order term in (spot, vol, time) is present, so for a joint spot/vol/time move
scaled by ``h`` the residual shrinks like ``h^3``; second-order terms in rate and carry
(and their cross terms) are left in the residual.

**Full-revaluation sequential explain**: revalue with spot moved, then vol, then time, then
rates (rate and carry): ``V0 -> V1 -> V2 -> V3 -> V4``; the steps are the differences, and
``total`` is their sum in that order, so ``spot + vol + time + rates == total`` exactly in
floating point (``revaluation_total = V4 - V0`` is reported too; it differs by rounding only).
All revaluations of all legs go through one kernel call per model.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from riskdesk.analytics._common import FloatArray, Issue, check_finite_json, iso_utc
from riskdesk.analytics._kernels import dividend_arrays, option_greeks, price_options
from riskdesk.analytics._legs import resolve_legs
from riskdesk.analytics._market import (
    Dividends,
    TradeLike,
    ValuedLeg,
    stock_dividend_credit,
    trade_identity,
    trade_leg_refs,
)
from riskdesk.analytics._results import ATTRIBUTION_SCHEMA, AttributionJson, LegAttribution
from riskdesk.domain.configs import ModelConfig, ScenarioGrid, TimeBasis
from riskdesk.domain.instruments import OptionContract
from riskdesk.domain.market import MarketSnapshot
from riskdesk.domain.timeutil import year_fraction
from riskdesk.domain.trades import Leg

__all__ = [
    "ATTRIBUTION_SCHEMA",
    "SEQUENTIAL_STEPS",
    "TAYLOR_TERMS",
    "AttributionResult",
    "LegAttribution",
    "LegState",
    "MarketState",
    "attribute",
    "attribute_snapshots",
    "days_forward_state",
    "market_state",
]


TAYLOR_TERMS: tuple[str, ...] = (
    "delta",
    "gamma",
    "vega",
    "volga",
    "vanna",
    "theta",
    "charm",
    "veta",
    "theta_gamma",
    "rho",
    "carry",
)
"""Taylor terms in summation order (``residual`` comes after them)."""

SEQUENTIAL_STEPS: tuple[str, ...] = ("spot", "vol", "time", "rates")
"""Sequential full-revaluation steps in order."""

_GREEKS = (
    "price",
    "delta",
    "gamma",
    "vega",
    "volga",
    "vanna",
    "theta",
    "charm",
    "veta",
    "rho",
    "phi",
)
_DAYS_PER_YEAR = 365.0
_T_BUMP = 1e-3  # relative bump of T for d2V/dT2


@dataclass(frozen=True, slots=True)
class LegState:
    """Market inputs of one leg: spot ($), vol (decimal), time to expiry (years), rate, carry.

    Rates are continuously compounded decimals; ``carry`` is the dividend + borrow yield;
    ``dividends`` are the discrete cash dividends still to go ex, as ``(years from the
    valuation time, amount)``; times are in the state's time basis
    (:attr:`MarketState.time_basis`). ``expiry`` is the instant an option leg stops having
    time value (None for stock legs or when unknown). For stock legs only ``spot`` matters.
    """

    spot: float
    vol: float
    time_to_expiry: float
    rate: float
    carry: float
    dividends: Dividends = ()
    expiry: datetime | None = None

    def __post_init__(self) -> None:
        for name in ("spot", "vol", "time_to_expiry", "rate", "carry"):
            value = getattr(self, name)
            if not math.isfinite(value):
                raise ValueError(f"LegState.{name} must be finite, got {value!r}")
        if self.spot <= 0:
            raise ValueError(f"LegState.spot must be > 0, got {self.spot}")
        if self.vol < 0 or self.time_to_expiry < 0:
            raise ValueError(
                f"LegState.vol and time_to_expiry must be >= 0, got {self.vol}, {self.time_to_expiry}"
            )
        schedule = tuple((float(t), float(a)) for t, a in self.dividends)
        for t, a in schedule:
            if not (math.isfinite(t) and t > 0.0 and math.isfinite(a) and a >= 0.0):
                raise ValueError(
                    f"LegState.dividends must be (time > 0, amount >= 0) pairs, got ({t}, {a})"
                )
        object.__setattr__(self, "dividends", schedule)
        if self.expiry is not None and (
            self.expiry.tzinfo is None or self.expiry.utcoffset() is None
        ):
            raise ValueError(f"LegState.expiry must be timezone-aware, got {self.expiry!r}")

    def to_dict(self) -> dict[str, Any]:
        """Return the fields as a plain dict (dividends as ``[[time, amount], ...]``)."""
        return {
            "spot": self.spot,
            "vol": self.vol,
            "time_to_expiry": self.time_to_expiry,
            "rate": self.rate,
            "carry": self.carry,
            "dividends": [[t, a] for t, a in self.dividends],
            "expiry": None if self.expiry is None else iso_utc(self.expiry),
        }


@dataclass(frozen=True, slots=True)
class MarketState:
    """Per-leg market inputs (keyed by leg reference) at ``valuation_time``.

    ``time_basis`` is the clock the legs' times to expiry and dividend times are measured on
    (the model config's); aging a state in trading time needs ``valuation_time``.
    """

    legs: Mapping[str, LegState]
    valuation_time: datetime | None = None
    warnings: tuple[Issue, ...] = field(default=())
    time_basis: TimeBasis = TimeBasis.CALENDAR

    def __post_init__(self) -> None:
        try:
            basis = TimeBasis(self.time_basis)
        except ValueError:
            allowed = [b.value for b in TimeBasis]
            raise ValueError(
                f"MarketState.time_basis must be one of {allowed}, got {self.time_basis!r}"
            ) from None
        object.__setattr__(self, "time_basis", basis)
        when = self.valuation_time
        if when is not None and (when.tzinfo is None or when.utcoffset() is None):
            raise ValueError(f"MarketState.valuation_time must be timezone-aware, got {when!r}")

    def elapsed_years(self, days: float) -> float:
        """Years (in :attr:`time_basis`) from the valuation time to ``days`` calendar days later.

        Calendar basis: ``days / 365``. Trading basis: the open-market time between the two
        instants over 252 standard sessions (needs :attr:`valuation_time`).
        """
        if not math.isfinite(days):
            raise ValueError(f"days must be finite, got {days!r}")
        if days == 0.0:
            return 0.0
        if self.valuation_time is None:
            if self.time_basis is TimeBasis.TRADING:
                raise ValueError(
                    "a trading-time MarketState without valuation_time cannot be aged by "
                    f"{days:g} calendar days: the trading time in between depends on the dates"
                )
            return days / _DAYS_PER_YEAR
        later = self.valuation_time + timedelta(days=days)
        return year_fraction(self.valuation_time, later, basis=self.time_basis.value)

    def shifted(
        self,
        *,
        spot_pct: float = 0.0,
        vol_points: float = 0.0,
        days: float = 0.0,
        rate_points: float = 0.0,
        carry_points: float = 0.0,
    ) -> MarketState:
        """Return the state with every leg moved.

        Spot by ``spot_pct`` percent, vol by ``vol_points`` (floored at
        :attr:`ScenarioGrid.MIN_VOL`, with a ``vol_floored`` warning naming the legs), time
        forward by ``days`` calendar days in the state's time basis (``T`` falls by
        :meth:`elapsed_years`, floored at 0; a leg whose expiry is reached gets ``T = 0``
        exactly), rate and carry by rate points (1 = 1%). Dividends whose ex time passes drop
        out; the others move closer by the same elapsed time.
        """
        for name, value in (
            ("spot_pct", spot_pct),
            ("vol_points", vol_points),
            ("days", days),
            ("rate_points", rate_points),
            ("carry_points", carry_points),
        ):
            if not math.isfinite(value):
                raise ValueError(f"MarketState.shifted: {name} must be finite, got {value!r}")
        elapsed = self.elapsed_years(days)
        when = None if self.valuation_time is None else self.valuation_time + timedelta(days=days)
        warnings = list(self.warnings)
        legs: dict[str, LegState] = {}
        for ref, s in self.legs.items():
            vol = s.vol + vol_points / 100.0 if s.vol > 0 else 0.0
            if s.vol > 0 and vol < ScenarioGrid.MIN_VOL:
                warnings.append(
                    Issue(
                        "vol_floored",
                        f"leg {ref}: vol {s.vol:.6g} shifted by {vol_points:g} points is below "
                        f"the floor; set to {ScenarioGrid.MIN_VOL:g}",
                        ref,
                    )
                )
                vol = ScenarioGrid.MIN_VOL
            ttm = max(s.time_to_expiry - elapsed, 0.0)
            if s.expiry is not None and when is not None and when >= s.expiry:
                ttm = 0.0
            legs[ref] = LegState(
                spot=s.spot * (1.0 + spot_pct / 100.0),
                vol=vol,
                time_to_expiry=ttm,
                rate=s.rate + rate_points / 100.0,
                carry=s.carry + carry_points / 100.0,
                dividends=tuple((t - elapsed, a) for t, a in s.dividends if t - elapsed > 0.0),
                expiry=s.expiry,
            )
        return MarketState(
            legs=legs, valuation_time=when, warnings=tuple(warnings), time_basis=self.time_basis
        )

    def to_json_dict(self) -> dict[str, Any]:
        """Plain dict (the store's ``base_state_json`` / ``compare_state_json``)."""
        return {
            "valuation_time": None if self.valuation_time is None else iso_utc(self.valuation_time),
            "time_basis": self.time_basis.value,
            "legs": {ref: self.legs[ref].to_dict() for ref in sorted(self.legs)},
        }

    @classmethod
    def from_json_dict(cls, data: Mapping[str, Any]) -> MarketState:
        """Inverse of :meth:`to_json_dict` (``time_basis`` and ``expiry`` default to calendar / None)."""
        when = data.get("valuation_time")
        return cls(
            legs={
                ref: LegState(
                    spot=values["spot"],
                    vol=values["vol"],
                    time_to_expiry=values["time_to_expiry"],
                    rate=values["rate"],
                    carry=values["carry"],
                    dividends=tuple((t, a) for t, a in values.get("dividends", ())),
                    expiry=_parse_instant(values.get("expiry")),
                )
                for ref, values in dict(data["legs"]).items()
            },
            valuation_time=_parse_instant(when),
            time_basis=TimeBasis(data.get("time_basis", TimeBasis.CALENDAR.value)),
        )


def _parse_instant(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text.replace("Z", "+00:00"))


def market_state(
    trade: TradeLike,
    snapshot: MarketSnapshot,
    model_config: ModelConfig,
    *,
    valuation_time: datetime | None = None,
) -> MarketState:
    """State of every valued leg from a snapshot (vols as in ``evaluate``).

    ``valuation_time`` (default ``snapshot.as_of``) sets the times to expiry; legs that cannot
    be valued are left out, with the reasons in ``warnings``.
    """
    resolution = resolve_legs(trade, snapshot, model_config, valuation_time=valuation_time)
    legs = {
        leg.ref: LegState(
            spot=leg.spot,
            vol=leg.vol,
            time_to_expiry=leg.time_to_expiry,
            rate=leg.rate,
            carry=leg.carry,
            dividends=leg.dividends,
            expiry=leg.expiry,
        )
        for leg in resolution.valued
    }
    return MarketState(
        legs=legs,
        valuation_time=snapshot.as_of if valuation_time is None else valuation_time,
        warnings=tuple(resolution.warnings) + tuple(resolution.errors),
        time_basis=model_config.time_basis,
    )


def days_forward_state(
    trade: TradeLike,
    snapshot: MarketSnapshot,
    model_config: ModelConfig,
    *,
    days: float,
) -> MarketState:
    """The snapshot's state of ``trade`` moved forward ``days`` calendar days, inputs held.

    Every model input of the base state (:func:`market_state` at ``snapshot.as_of``) is held:
    each leg's vol, the rate, the carry and the spot. Only time moves, in the model config's
    time basis (see :meth:`MarketState.shifted`): times to expiry fall by the year fraction
    from ``as_of`` to ``as_of + days`` and dividends whose ex time passes drop out. Quote
    prices are never re-read, so no implied vol is re-solved at the shorter expiry. A leg
    that expires inside the window is kept at ``T = 0`` (valued at intrinsic value at the held
    spot), with an ``expires_in_window`` warning naming it.

    Parameters
    ----------
    trade, snapshot, model_config
        As for :func:`market_state`.
    days : float
        Calendar days to move forward (finite, ``>= 0``; fractions allowed).

    Returns
    -------
    MarketState
        Valuation time ``snapshot.as_of + days``; warnings of the base state plus the
        expiries inside the window.

    Raises
    ------
    ValueError
        If ``days`` is not a finite number ``>= 0``.

    """
    if isinstance(days, bool) or not isinstance(days, int | float) or not math.isfinite(days):
        raise ValueError(f"days must be a finite number of calendar days, got {days!r}")
    if days < 0:
        raise ValueError(f"days must be >= 0 (a days-forward state moves time forward), got {days}")
    base = market_state(trade, snapshot, model_config)
    moved = base.shifted(days=float(days))
    labels = {item.ref: item.leg.label for item in trade_leg_refs(trade)}
    expired = [
        Issue(
            "expires_in_window",
            f"leg {ref} ({labels.get(ref, ref)}) expires at {iso_utc(state.expiry)}, within "
            f"the {days:g} days; it is valued at intrinsic value (T = 0) at the held spot",
            ref,
        )
        for ref, state in moved.legs.items()
        if state.expiry is not None
        and state.time_to_expiry == 0.0
        and base.legs[ref].time_to_expiry > 0.0
    ]
    return MarketState(
        legs=moved.legs,
        valuation_time=moved.valuation_time,
        warnings=moved.warnings + tuple(expired),
        time_basis=moved.time_basis,
    )


@dataclass(frozen=True, slots=True, eq=False)
class AttributionResult:
    """Per-leg and per-trade attribution.

    ``trade`` has the keys of a leg's dict minus ``leg``, ``label`` and ``moves``.
    """

    trade_ref: dict[str, Any]
    model_config_hash: str
    base_state: MarketState
    compare_state: MarketState
    legs: tuple[LegAttribution, ...]
    trade: dict[str, Any]
    warnings: tuple[Issue, ...]
    errors: tuple[Issue, ...]

    method = "taylor2+sequential_full_revaluation"

    @classmethod
    def json_schema(cls) -> dict[str, Any]:
        """JSON schema of :meth:`to_json_dict` (the ``--json`` output): ``AttributionJson``."""
        return AttributionJson.model_json_schema()

    def to_model(self) -> AttributionJson:
        """:meth:`to_json_dict` validated as an ``AttributionJson``."""
        return AttributionJson.model_validate(self.to_json_dict())

    def to_json_dict(self) -> dict[str, Any]:
        """Plain-JSON dict; raises :class:`NonFiniteResultError` on NaN/inf.

        Top-level keys: ``schema, method, inputs, base_state, compare_state, legs, trade,
        warnings, errors``.
        """
        out = {
            "schema": ATTRIBUTION_SCHEMA,
            "method": self.method,
            "inputs": {"trade": dict(self.trade_ref), "model_config_hash": self.model_config_hash},
            "base_state": self.base_state.to_json_dict(),
            "compare_state": self.compare_state.to_json_dict(),
            "legs": [leg.to_dict() for leg in self.legs],
            "trade": self.trade,
            "warnings": [w.to_dict() for w in self.warnings],
            "errors": [e.to_dict() for e in self.errors],
        }
        check_finite_json(out)
        return out


def _valued_leg(ref: str, leg: Leg, state: LegState, config: ModelConfig) -> ValuedLeg:
    instrument = leg.instrument
    position = float(leg.quantity * leg.multiplier)
    common: dict[str, Any] = {
        "ref": ref,
        "leg": leg,
        "underlying": leg.underlying,
        "spot": state.spot,
        "position": position,
        "entry_cost": float(leg.entry_cost),
        "fees": float(leg.fees),
        "time_to_expiry": state.time_to_expiry,
        "vol": state.vol,
        "vol_source": "state",
        "rate": state.rate,
        "carry": state.carry,
        "quote_price": None,
        "expiry": state.expiry,
        "dividends": state.dividends,
    }
    if isinstance(instrument, OptionContract):
        model, engine = config.model_for(instrument.style)
        return ValuedLeg(
            model="american" if model == "american" else "bsm",
            engine=engine,
            strike=float(instrument.strike),
            is_call=instrument.right.is_call,
            **common,
        )
    return ValuedLeg(model="stock", engine=None, strike=0.0, is_call=True, **common)


def attribute(
    trade: TradeLike,
    base: MarketState,
    compare: MarketState,
    model_config: ModelConfig,
) -> AttributionResult:
    """Explain the value change of ``trade`` from ``base`` to ``compare`` (see module doc).

    Both states must share a time basis (ValueError otherwise). A leg whose compare state has
    ``T = 0`` (expired inside the window) is valued at intrinsic value there.
    """
    if base.time_basis is not compare.time_basis:
        raise ValueError(
            f"attribute: base state time basis {base.time_basis.value!r} differs from the "
            f"compare state's {compare.time_basis.value!r}; build both with one model config"
        )
    warnings: list[Issue] = list(base.warnings)
    for issue in compare.warnings:
        if issue not in warnings:
            warnings.append(issue)
    errors: list[Issue] = []
    legs: list[ValuedLeg] = []
    after: list[LegState] = []
    for item in trade_leg_refs(trade):
        if not item.leg.include:
            continue
        s0 = base.legs.get(item.ref)
        s1 = compare.legs.get(item.ref)
        if s0 is None or s1 is None:
            missing = "base" if s0 is None else "compare"
            warnings.append(
                Issue(
                    "leg_not_in_state",
                    f"leg {item.ref} ({item.leg.label}) has no {missing} state and is not "
                    "attributed",
                    item.ref,
                )
            )
            continue
        if isinstance(item.leg.instrument, OptionContract) and (
            s0.time_to_expiry <= 0.0 or s0.vol <= 0.0
        ):
            warnings.append(
                Issue(
                    "leg_expired_in_base",
                    f"leg {item.ref} ({item.leg.label}) has no time value in the base state "
                    "(T or vol is 0); it is not attributed",
                    item.ref,
                )
            )
            continue
        legs.append(_valued_leg(item.ref, item.leg, s0, model_config))
        after.append(s1)
    if not legs:
        errors.append(Issue("no_attributable_legs", "no included leg has both states"))
    elapsed = _elapsed_between(base, compare)
    credits = np.array(
        [
            0.0 if leg.is_option else float(stock_dividend_credit(leg.dividends, np.array(elapsed)))
            for leg in legs
        ]
    )
    rows = _attribute_legs(legs, after, credits) if legs else []
    trade_out = _trade_totals(rows)
    return AttributionResult(
        trade_ref=trade_identity(trade),
        model_config_hash=model_config.model_config_hash,
        base_state=base,
        compare_state=compare,
        legs=tuple(rows),
        trade=trade_out,
        warnings=tuple(warnings),
        errors=tuple(errors),
    )


def _elapsed_between(base: MarketState, compare: MarketState) -> float:
    """Years (state time basis) from the base to the compare valuation time (0 if unknown)."""
    if base.valuation_time is None or compare.valuation_time is None:
        return 0.0
    return year_fraction(base.valuation_time, compare.valuation_time, basis=base.time_basis.value)


def _attribute_legs(
    legs: list[ValuedLeg], after: list[LegState], credits: FloatArray
) -> list[LegAttribution]:
    """Attribute each leg; ``credits`` is the dividend cash per share each stock leg earns."""
    n = len(legs)
    s0 = np.array([leg.spot for leg in legs])
    v0 = np.array([leg.vol for leg in legs])
    t0 = np.array([leg.time_to_expiry for leg in legs])
    r0 = np.array([leg.rate for leg in legs])
    q0 = np.array([leg.carry for leg in legs])
    s1 = np.array([s.spot for s in after])
    v1 = np.array([s.vol for s in after])
    t1 = np.array([s.time_to_expiry for s in after])
    r1 = np.array([s.rate for s in after])
    q1 = np.array([s.carry for s in after])
    v1 = np.where(v1 > 0.0, v1, ScenarioGrid.MIN_VOL)
    bump = _T_BUMP * t0
    # columns: V0, V1 (spot), V2 (+vol), V3 (+time), V4 (+rates), T0+e, T0-e
    spot = np.stack([s0, s1, s1, s1, s1, s0, s0], axis=1)
    vol = np.stack([v0, v0, v1, v1, v1, v0, v0], axis=1)
    ttm = np.stack([t0, t0, t0, t1, t1, t0 + bump, t0 - bump], axis=1)
    rate = np.stack([r0, r0, r0, r0, r1, r0, r0], axis=1)
    carry = np.stack([q0, q0, q0, q0, q1, q0, q0], axis=1)
    prices = price_options(
        legs,
        spot=spot,
        time_to_expiry=ttm,
        vol=vol,
        rate=rate,
        carry=carry,
        dividend_grid=_dividend_grid(legs, after, bump),
    )
    prices[:, 3:5] += credits[:, None]  # dividends a share earned by the compare time
    g = option_greeks(legs, _GREEKS)
    pos = np.array([leg.position for leg in legs])
    values = prices * pos[:, None]

    d_s = s1 - s0
    d_v = (v1 - v0) / 0.01
    d_t = t1 - t0
    days = -d_t * _DAYS_PER_YEAR
    d_r = (r1 - r0) / 0.01
    d_q = (q1 - q0) / 0.01
    safe_bump = np.where(bump > 0.0, bump, 1.0)
    v_tt = np.where(
        bump > 0.0,
        (prices[:, 5] - 2.0 * prices[:, 0] + prices[:, 6]) / (safe_bump * safe_bump),
        0.0,
    )
    terms: dict[str, FloatArray] = {
        "delta": g["delta"] * d_s,
        "gamma": 0.5 * g["gamma"] * d_s * d_s,
        "vega": g["vega"] * d_v,
        "volga": 0.5 * g["volga"] * d_v * d_v,
        "vanna": g["vanna"] * d_s * d_v,
        "theta": g["theta"] * days + credits,
        "charm": g["charm"] * d_s * days,
        "veta": g["veta"] * d_v * days,
        "theta_gamma": 0.5 * v_tt * d_t * d_t,
        "rho": g["rho"] * d_r,
        "carry": g["phi"] * d_q,
    }
    rows: list[LegAttribution] = []
    for i in range(n):
        steps = {
            "spot": float(values[i, 1] - values[i, 0]),
            "vol": float(values[i, 2] - values[i, 1]),
            "time": float(values[i, 3] - values[i, 2]),
            "rates": float(values[i, 4] - values[i, 3]),
        }
        total = _ordered_sum(steps, SEQUENTIAL_STEPS)
        taylor = {name: float(pos[i] * terms[name][i]) for name in TAYLOR_TERMS}
        taylor["residual"] = total - _ordered_sum(taylor, TAYLOR_TERMS)
        rows.append(
            LegAttribution(
                leg=legs[i].ref,
                label=legs[i].leg.label,
                base_value=float(values[i, 0]),
                compare_value=float(values[i, 4]),
                total=total,
                revaluation_total=float(values[i, 4] - values[i, 0]),
                moves={
                    "spot": float(d_s[i]),
                    "vol_points": float(d_v[i]),
                    "days": float(days[i]),
                    "rate_points": float(d_r[i]),
                    "carry_points": float(d_q[i]),
                },
                taylor=taylor,
                sequential=steps,
            )
        )
    return rows


def _dividend_grid(
    legs: list[ValuedLeg], after: list[LegState], bump: FloatArray
) -> tuple[FloatArray, FloatArray] | None:
    """Dividend schedules ``(n, 7, m)`` of the seven revaluation columns (None if none).

    Columns 0-2 use the base schedule, 3-4 the compare one, 5-6 the base one with time moved
    back / forward by ``bump`` (the ``T0 +/- bump`` points); dividends already paid drop out.
    """
    base = [leg.dividends for leg in legs]
    compare = [state.dividends for state in after]
    m = max(len(d) for d in base + compare)
    base_divs = dividend_arrays(base, width=m)
    after_divs = dividend_arrays(compare, width=m)
    if base_divs is None or after_divs is None:  # both None together: nobody has dividends
        return None
    base_t, base_a = base_divs
    after_t, after_a = after_divs
    moved = np.array([0.0, 0.0, 0.0, 0.0, 0.0, -1.0, 1.0])[None, :] * bump[:, None]
    times = base_t[:, None, :] - moved[:, :, None]
    amounts = np.repeat(base_a[:, None, :], 7, axis=1)
    times[:, 3:5, :] = after_t[:, None, :]
    amounts[:, 3:5, :] = after_a[:, None, :]
    alive = (times > 0.0) & (amounts > 0.0)
    return np.where(alive, times, 0.0), np.where(alive, amounts, 0.0)


def _ordered_sum(values: Mapping[str, float], keys: tuple[str, ...]) -> float:
    total = 0.0
    for key in keys:
        total += values[key]
    return total


def _trade_totals(rows: list[LegAttribution]) -> dict[str, Any]:
    base_value = 0.0
    compare_value = 0.0
    sequential = dict.fromkeys(SEQUENTIAL_STEPS, 0.0)
    taylor = dict.fromkeys(TAYLOR_TERMS, 0.0)
    for row in rows:
        base_value += row.base_value
        compare_value += row.compare_value
        for key in SEQUENTIAL_STEPS:
            sequential[key] += row.sequential[key]
        for key in TAYLOR_TERMS:
            taylor[key] += row.taylor[key]
    total = _ordered_sum(sequential, SEQUENTIAL_STEPS)
    taylor["residual"] = total - _ordered_sum(taylor, TAYLOR_TERMS)
    return {
        "base_value": base_value,
        "compare_value": compare_value,
        "total": total,
        "revaluation_total": compare_value - base_value,
        "taylor": taylor,
        "sequential": sequential,
    }


def attribute_snapshots(
    trade: TradeLike,
    base_snapshot: MarketSnapshot,
    compare_snapshot: MarketSnapshot,
    model_config: ModelConfig,
) -> AttributionResult:
    """Attribute the change between two snapshots (each leg's state from its snapshot)."""
    base = market_state(trade, base_snapshot, model_config)
    compare = market_state(trade, compare_snapshot, model_config)
    return attribute(trade, base, compare, model_config)
