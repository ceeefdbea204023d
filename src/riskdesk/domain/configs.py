"""Model configurations and scenario grids, both content-hashed (seed 000).

An evaluation is keyed by (trade, snapshot, model config, scenario grid); the last two are
these frozen objects. Each hash is the :func:`~riskdesk.domain.hashing.content_hash` of the
object's :meth:`to_dict`, so equal settings always give the same hash.

Conventions
-----------
* Time to expiry is ACT/365F in years (``day_count``), measured on the calendar clock or on
  trading time (``time_basis="trading"``: trading days / 252, see
  :func:`riskdesk.domain.timeutil.year_fraction`).
* Theta is reported per calendar day (``theta_convention="calendar_day"``: the value change
  per 1/365 of a year of time decay) or per trading day (``"trading_day"``: per 1/252 of a
  year), i.e. ``theta = -dV/dT / days_per_year``.
* Vol shifts of a grid are absolute vol points: ``+2`` moves a 20% vol to 22%.
* Spot ranges are in standard deviations (``-3 .. +3``, the default:
  ``S = S0 * exp(k * sigma_ref * sqrt(T_h))`` with the trade's reference vol ``sigma_ref`` and
  horizon ``T_h`` = time to the trade's last expiry), so the axis scales with the trade: about
  +/-1.2% of spot for a 0DTE SPY trade at 15% vol, +/-15% for a 40-day one; or in percent of
  spot (``-20 .. +20``, ``spot_range_kind=PERCENT``).

Example:
-------
>>> ModelConfig().american_engine.value
'bjerksund_stensland_2002'
>>> grid = ScenarioGrid.percent(20.0, spot_steps=41)
>>> float(grid.spot_axis(100.0)[0])
80.0
>>> ScenarioGrid().spot_range_kind.value
'SIGMA'

"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal, TypeAlias

import numpy as np
import numpy.typing as npt

from riskdesk.domain.hashing import canonicalize, content_hash
from riskdesk.domain.instruments import ExerciseStyle

__all__ = [
    "AmericanEngine",
    "AmericanModel",
    "EngineName",
    "EuropeanModel",
    "ModelConfig",
    "ModelKey",
    "PriceSource",
    "PricingMode",
    "PricingModel",
    "ScenarioGrid",
    "SpotRangeKind",
    "ThetaConvention",
    "TimeBasis",
    "VolSource",
]

FloatArray = npt.NDArray[np.float64]

PricingModel: TypeAlias = Literal["bsm", "american"]
"""Model names of the :mod:`riskdesk.pricing` API an option is priced with."""

EngineName: TypeAlias = Literal["bjerksund_stensland_2002", "high_accuracy"]
"""Engine names of the ``american`` model (the values of :class:`AmericanEngine`)."""

ModelKey: TypeAlias = tuple[PricingModel, EngineName | None]
"""``(model, engine)`` of one pricing-API call; the engine is None for ``bsm``."""

DayCount: TypeAlias = Literal["ACT/365F"]
"""Day counts of :attr:`ModelConfig.day_count` (ACT/365F only)."""


class EuropeanModel(enum.StrEnum):
    """Model for European-style options."""

    BSM = "bsm"


class AmericanModel(enum.StrEnum):
    """Model for American-style options (``bsm`` prices them as European: a lower bound)."""

    AMERICAN = "american"
    BSM = "bsm"


class AmericanEngine(enum.StrEnum):
    """Engine of the ``american`` model.

    ``bjerksund_stensland_2002`` is the default (parity with the thinkorswim Analyze tab);
    ``high_accuracy`` is the slower reference engine of :mod:`riskdesk.pricing`.
    """

    BJERKSUND_STENSLAND_2002 = "bjerksund_stensland_2002"
    HIGH_ACCURACY = "high_accuracy"


class VolSource(enum.StrEnum):
    """Where each option leg's vol comes from.

    ``MID_IV``
        The implied vol riskdesk solves from the leg's quote price (``iv_price_source``: the
        bid/ask mid by default, or the mark) with the leg's own model and engine (default).
    ``PROVIDER_IV``
        The data provider's implied vol of the leg's quote (``OptionQuote.iv``), as imported;
        a leg whose quote carries none is excluded with a warning.
    ``FITTED_SURFACE``
        The SVI surface fitted to the snapshot's chain of the leg's underlying.

    ``RAW_CHAIN_IV`` is a deprecated alias of ``MID_IV`` (the old name, kept so existing code
    and stored configs still load; ``VolSource("RAW_CHAIN_IV")`` is ``MID_IV`` too).
    """

    MID_IV = "MID_IV"
    PROVIDER_IV = "PROVIDER_IV"
    FITTED_SURFACE = "FITTED_SURFACE"
    RAW_CHAIN_IV = "MID_IV"  # deprecated alias of MID_IV

    @classmethod
    def _missing_(cls, value: object) -> VolSource | None:
        if value == "RAW_CHAIN_IV":  # value stored by riskdesk before the rename
            return cls.MID_IV
        return None


class TimeBasis(enum.StrEnum):
    """Clock for time to expiry: calendar (ACT/365F) or trading time (trading days / 252)."""

    CALENDAR = "calendar"
    TRADING = "trading"


class ThetaConvention(enum.StrEnum):
    """Theta per calendar day (1/365 year) or per trading day (1/252 year)."""

    CALENDAR_DAY = "calendar_day"
    TRADING_DAY = "trading_day"

    @property
    def days_per_year(self) -> float:
        """365 for calendar days, 252 for trading days."""
        return 365.0 if self is ThetaConvention.CALENDAR_DAY else 252.0


class PriceSource(enum.StrEnum):
    """Quote price implied vols are backed out of: the bid/ask mid or the provider mark."""

    MID = "mid"
    MARK = "mark"


class PricingMode(enum.StrEnum):
    """How option legs are marked for *value*.

    ``model``: mark-to-model with the leg vols (default); ``mid`` / ``mark``: the quote's mid or
    mark, falling back to the model with a warning when the quote has none. Greeks and
    scenario grids always use the model.
    """

    MODEL = "model"
    MID = "mid"
    MARK = "mark"


class SpotRangeKind(enum.StrEnum):
    """Unit of a grid's spot range: percent of spot, or standard deviations."""

    PERCENT = "PERCENT"
    SIGMA = "SIGMA"


_MODELS: dict[str, PricingModel] = {"bsm": "bsm", "american": "american"}
_ENGINES: dict[str, EngineName] = {
    "bjerksund_stensland_2002": "bjerksund_stensland_2002",
    "high_accuracy": "high_accuracy",
}


def _enum(cls: type[enum.StrEnum], name: str, value: Any) -> Any:
    try:
        return cls(value)
    except ValueError:
        allowed = [m.value for m in cls]
        raise ValueError(f"{name} must be one of {allowed}, got {value!r}") from None


@dataclass(frozen=True, slots=True)
class ModelConfig:
    """Pricing model settings for an evaluation.

    Parameters
    ----------
    european_model, american_model, american_engine
        Model per exercise style. Options whose style is ``UNKNOWN`` are priced as
        ``unknown_style_as`` (American by default: never under-prices early exercise).
    vol_source
        ``MID_IV`` (default): implied vol solved from each leg's quote mid; ``PROVIDER_IV``:
        the provider's IV of the quote; ``FITTED_SURFACE``: SVI surface (see
        :class:`VolSource`).
    day_count
        Only ``ACT/365F``.
    time_basis, theta_convention
        See the module docstring.
    iv_price_source
        Quote price implied vols are solved from (``mid`` or ``mark``).
    pricing_mode
        How option legs are marked for value (see :class:`PricingMode`).

    """

    european_model: EuropeanModel = EuropeanModel.BSM
    american_model: AmericanModel = AmericanModel.AMERICAN
    american_engine: AmericanEngine = AmericanEngine.BJERKSUND_STENSLAND_2002
    unknown_style_as: ExerciseStyle = ExerciseStyle.AMERICAN
    vol_source: VolSource = VolSource.MID_IV
    day_count: DayCount = "ACT/365F"
    time_basis: TimeBasis = TimeBasis.CALENDAR
    theta_convention: ThetaConvention = ThetaConvention.CALENDAR_DAY
    iv_price_source: PriceSource = PriceSource.MID
    pricing_mode: PricingMode = PricingMode.MODEL

    def __post_init__(self) -> None:
        coerce = {
            "european_model": EuropeanModel,
            "american_model": AmericanModel,
            "american_engine": AmericanEngine,
            "unknown_style_as": ExerciseStyle,
            "vol_source": VolSource,
            "time_basis": TimeBasis,
            "theta_convention": ThetaConvention,
            "iv_price_source": PriceSource,
            "pricing_mode": PricingMode,
        }
        for name, cls in coerce.items():
            object.__setattr__(self, name, _enum(cls, f"ModelConfig.{name}", getattr(self, name)))
        if self.unknown_style_as is ExerciseStyle.UNKNOWN:
            raise ValueError(
                "ModelConfig.unknown_style_as must be AMERICAN or EUROPEAN, got UNKNOWN"
            )
        if self.day_count != "ACT/365F":
            raise ValueError(f"ModelConfig.day_count must be 'ACT/365F', got {self.day_count!r}")

    def resolved_style(self, style: ExerciseStyle) -> ExerciseStyle:
        """Return the style used for pricing (``UNKNOWN`` mapped to :attr:`unknown_style_as`)."""
        return self.unknown_style_as if style is ExerciseStyle.UNKNOWN else style

    def model_for(self, style: ExerciseStyle) -> ModelKey:
        """``(model, engine)`` of the pricing API for an option of exercise ``style``."""
        if self.resolved_style(style) is ExerciseStyle.EUROPEAN:
            return _MODELS[self.european_model.value], None
        if self.american_model is AmericanModel.AMERICAN:
            return "american", _ENGINES[self.american_engine.value]
        return "bsm", None

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (enum values) for hashing and storage as ``config_json``."""
        return {
            "european_model": self.european_model.value,
            "american_model": self.american_model.value,
            "american_engine": self.american_engine.value,
            "unknown_style_as": self.unknown_style_as.value,
            "vol_source": self.vol_source.value,
            "day_count": self.day_count,
            "time_basis": self.time_basis.value,
            "theta_convention": self.theta_convention.value,
            "iv_price_source": self.iv_price_source.value,
            "pricing_mode": self.pricing_mode.value,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModelConfig:
        """Inverse of :meth:`to_dict`; missing keys take their defaults, unknown keys fail."""
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown ModelConfig field(s) {sorted(unknown)}")
        return cls(**dict(data))

    @property
    def model_config_hash(self) -> str:
        """SHA-256 of the canonical JSON of :meth:`to_dict`."""
        return content_hash(self.to_dict())


def _default_vol_shifts() -> tuple[float, ...]:
    return tuple(float(v) for v in range(-10, 11))


def _finite(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    result = float(value)
    if not math.isfinite(result):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return result


def _parse_when(value: Any) -> date:
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        if "T" in value:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        return date.fromisoformat(value)
    raise ValueError(f"grid date must be an ISO date or UTC datetime, got {value!r}")


@dataclass(frozen=True, slots=True)
class ScenarioGrid:
    """Spot x vol x date scenario axes of an evaluation.

    Parameters
    ----------
    spot_range_kind
        ``SIGMA`` (default): ``spot_min``/``spot_max`` are standard deviations of the trade's
        horizon (``-3 .. 3``, at most :attr:`MAX_SIGMAS`), see the module docstring;
        ``PERCENT``: they are percent moves of spot (``-20 .. 20``, above -100).
    spot_min, spot_max, spot_steps
        Range end points and number of evenly spaced points (both ends included; an odd
        count with a symmetric range contains the unmoved spot). Default ``-3 .. 3`` sigma in
        41 points.
    vol_shifts
        Absolute vol-point shifts of the spot x vol matrix (default ``-10 .. +10`` by 1), each
        in ``(-100, MAX_VOL_SHIFT]``. Shifted vols are floored at :attr:`MIN_VOL` (evaluate
        warns naming the legs and shifts that hit the floor).
    n_dates
        Number of evenly spaced calendar times from the snapshot time (T+0) to the trade's last
        expiry (the last one is "at expiry"). Exclusive with ``dates``.
    dates
        Explicit scenario times: a ``date`` means that day's close (16:00 New York), an aware
        ``datetime`` that instant; unique, evaluated in time order.

    """

    spot_range_kind: SpotRangeKind = SpotRangeKind.SIGMA
    spot_min: float = -3.0
    spot_max: float = 3.0
    spot_steps: int = 41
    vol_shifts: tuple[float, ...] = field(default_factory=_default_vol_shifts)
    n_dates: int | None = 10
    dates: tuple[date, ...] | None = None

    MIN_VOL = 1e-4
    """Floor of a shifted vol (0.01 vol points)."""

    MAX_STEPS = 10_001
    """Upper bound of ``spot_steps`` and ``len(vol_shifts)`` (keeps grids in memory)."""

    MAX_SIGMAS = 10.0
    """Largest ``|spot_min|`` / ``|spot_max|`` of a ``SIGMA`` range (standard deviations)."""

    MAX_VOL_SHIFT = 500.0
    """Largest vol shift in vol points (a 20% vol shifted to 520%)."""

    def __post_init__(self) -> None:
        kind = _enum(SpotRangeKind, "ScenarioGrid.spot_range_kind", self.spot_range_kind)
        object.__setattr__(self, "spot_range_kind", kind)
        lo = _finite("ScenarioGrid.spot_min", self.spot_min)
        hi = _finite("ScenarioGrid.spot_max", self.spot_max)
        if not lo < hi:
            raise ValueError(f"ScenarioGrid.spot_min ({lo}) must be < spot_max ({hi})")
        if kind is SpotRangeKind.PERCENT and lo <= -100.0:
            raise ValueError(f"ScenarioGrid.spot_min must be > -100 percent, got {lo}")
        if kind is SpotRangeKind.SIGMA:
            for name, value in (("spot_min", lo), ("spot_max", hi)):
                if abs(value) > self.MAX_SIGMAS:
                    raise ValueError(
                        f"ScenarioGrid.{name} must be within +/-{self.MAX_SIGMAS:g} standard "
                        f"deviations for a SIGMA range, got {value:g}; for a percent-of-spot "
                        "range pass spot_range_kind=PERCENT (or use ScenarioGrid.percent)"
                    )
        object.__setattr__(self, "spot_min", lo)
        object.__setattr__(self, "spot_max", hi)
        steps = self.spot_steps
        if (
            isinstance(steps, bool)
            or not isinstance(steps, int)
            or not 2 <= steps <= self.MAX_STEPS
        ):
            raise ValueError(
                f"ScenarioGrid.spot_steps must be an int in [2, {self.MAX_STEPS}], got {steps!r}"
            )
        shifts = tuple(
            _finite(f"ScenarioGrid.vol_shifts[{i}]", v) for i, v in enumerate(self.vol_shifts)
        )
        if not shifts or len(shifts) > self.MAX_STEPS:
            raise ValueError(
                f"ScenarioGrid.vol_shifts needs 1..{self.MAX_STEPS} values, got {len(shifts)}"
            )
        if len(set(shifts)) != len(shifts):
            raise ValueError(f"ScenarioGrid.vol_shifts must be unique, got {list(shifts)}")
        for shift in shifts:
            if not -100.0 < shift <= self.MAX_VOL_SHIFT:
                raise ValueError(
                    f"ScenarioGrid.vol_shifts: {shift:g} vol points is out of range; each "
                    f"shift must be > -100 (a vol cannot fall by 100 points or more) and <= "
                    f"{self.MAX_VOL_SHIFT:g}"
                )
        object.__setattr__(self, "vol_shifts", shifts)
        if (self.n_dates is None) == (self.dates is None):
            raise ValueError("ScenarioGrid needs exactly one of n_dates or dates")
        if self.n_dates is not None:
            n = self.n_dates
            if isinstance(n, bool) or not isinstance(n, int) or not 2 <= n <= 1000:
                raise ValueError(f"ScenarioGrid.n_dates must be an int in [2, 1000], got {n!r}")
        if self.dates is not None:
            parsed = tuple(_parse_when(d) for d in self.dates)
            if not parsed:
                raise ValueError("ScenarioGrid.dates must not be empty")
            for d in parsed:
                if isinstance(d, datetime) and (d.tzinfo is None or d.utcoffset() is None):
                    raise ValueError(f"ScenarioGrid.dates: naive datetime {d!r}; use UTC")
            keys = [canonicalize(d) for d in parsed]
            if len(set(keys)) != len(keys):
                raise ValueError(f"ScenarioGrid.dates must be unique, got {keys}")
            object.__setattr__(self, "dates", parsed)

    @classmethod
    def sigma(cls, n_sigma: float = 3.0, **kwargs: Any) -> ScenarioGrid:
        """Build a symmetric ``±n_sigma`` spot range (other fields as keyword arguments)."""
        return cls(
            spot_range_kind=SpotRangeKind.SIGMA, spot_min=-n_sigma, spot_max=n_sigma, **kwargs
        )

    @classmethod
    def percent(cls, pct: float = 20.0, **kwargs: Any) -> ScenarioGrid:
        """Build a symmetric ``±pct`` percent-of-spot range (other fields as keywords)."""
        return cls(spot_range_kind=SpotRangeKind.PERCENT, spot_min=-pct, spot_max=pct, **kwargs)

    def floored_shifts(self, vol: float) -> tuple[float, ...]:
        """The vol shifts (points) that take ``vol`` (decimal) below :attr:`MIN_VOL`."""
        return tuple(v for v in self.vol_shifts if vol + v / 100.0 < self.MIN_VOL)

    @property
    def shape(self) -> tuple[int, int, int | None]:
        """``(spot_steps, len(vol_shifts), n_dates or len(dates))``."""
        n = self.n_dates if self.n_dates is not None else len(self.dates or ())
        return (self.spot_steps, len(self.vol_shifts), n)

    def spot_moves(self) -> FloatArray:
        """Evenly spaced range points (percent or sigmas), ``spot_min .. spot_max``."""
        return np.linspace(self.spot_min, self.spot_max, self.spot_steps)

    def spot_axis(
        self, spot: float, *, ref_vol: float | None = None, horizon: float | None = None
    ) -> FloatArray:
        """Grid spots for an underlying at ``spot``.

        ``PERCENT``: ``spot * (1 + m / 100)``. ``SIGMA``: ``spot * exp(k * ref_vol *
        sqrt(horizon))`` (``ref_vol`` as a decimal, ``horizon`` in years, both required).
        """
        moves = self.spot_moves()
        if self.spot_range_kind is SpotRangeKind.PERCENT:
            return spot * (1.0 + moves / 100.0)
        if ref_vol is None or horizon is None or not ref_vol > 0 or not horizon >= 0:
            raise ValueError(
                f"a SIGMA spot range needs ref_vol > 0 and horizon >= 0, got {ref_vol!r}, {horizon!r}"
            )
        return spot * np.exp(moves * ref_vol * math.sqrt(horizon))

    def shifted_vols(self, vol: float | FloatArray) -> FloatArray:
        """``vol + shift / 100`` for every shift (last axis), floored at :attr:`MIN_VOL`."""
        base = np.asarray(vol, dtype=np.float64)[..., None]
        return np.maximum(base + np.asarray(self.vol_shifts) / 100.0, self.MIN_VOL)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for hashing and storage as ``grid_json``."""
        return {
            "spot_range_kind": self.spot_range_kind.value,
            "spot_min": self.spot_min,
            "spot_max": self.spot_max,
            "spot_steps": self.spot_steps,
            "vol_shifts": list(self.vol_shifts),
            "n_dates": self.n_dates,
            "dates": None if self.dates is None else [canonicalize(d) for d in self.dates],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ScenarioGrid:
        """Inverse of :meth:`to_dict`."""
        unknown = set(data) - {f for f in cls.__dataclass_fields__}
        if unknown:
            raise ValueError(f"unknown ScenarioGrid field(s) {sorted(unknown)}")
        values = dict(data)
        if values.get("vol_shifts") is not None:
            values["vol_shifts"] = tuple(values["vol_shifts"])
        if values.get("dates") is not None:
            values["dates"] = tuple(_parse_when(d) for d in _as_seq(values["dates"]))
        return cls(**values)

    @property
    def scenario_grid_hash(self) -> str:
        """SHA-256 of the canonical JSON of :meth:`to_dict`."""
        return content_hash(self.to_dict())


def _as_seq(value: Any) -> Sequence[Any]:
    if isinstance(value, list | tuple):
        return value
    raise ValueError(f"ScenarioGrid.dates must be a list, got {type(value).__name__}")
