"""Result types of the analytics engines and the published JSON schema of their output.

The parts of every result (:class:`Breakeven`, :class:`Extremum`, :class:`LegEvaluation`,
:class:`LegAttribution`) are pydantic v2 models whose fields are exactly the keys of their
JSON form. The ``*Json`` models describe the whole ``to_json_dict()`` output (``--json`` of
the CLI) of :class:`EvaluationResult`, :class:`~riskdesk.analytics.ComparisonResult` and
:class:`~riskdesk.analytics.AttributionResult`: ``EvaluationJson.model_json_schema()`` is the
published JSON schema, and ``EvaluationJson.model_validate(result.to_json_dict())`` checks
an output against it. The result objects themselves keep their numpy arrays (the engines
compute on them) and build the same dicts as before; the ``schema`` constants version the
layouts.

Numbers are :data:`Number`: an ``int`` or ``float`` kept as given (no coercion, so
validating never changes the bytes of an output); booleans are refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, Literal, TypeAlias
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, WithJsonSchema

from riskdesk.analytics._common import FloatArray, Issue, check_finite_json, float_list, iso_utc
from riskdesk.analytics._market import LegModel, LegStatus, VolLabel
from riskdesk.domain.configs import EngineName

__all__ = [
    "ATTRIBUTION_SCHEMA",
    "COMPARISON_SCHEMA",
    "CURVE_GREEKS",
    "EVALUATION_SCHEMA",
    "AttributionJson",
    "Breakeven",
    "ComparisonDiff",
    "ComparisonJson",
    "CurveGreeks",
    "EvaluationJson",
    "EvaluationResult",
    "Extremum",
    "IssueJson",
    "LegAttribution",
    "LegEvaluation",
    "Number",
]

EVALUATION_SCHEMA = 3
"""Version of the layout of :meth:`EvaluationResult.to_json_dict`.

Bumped whenever the layout changes, additions included: stored evaluations are reused only
when their ``schema`` equals this (the workbench's cache), so a stored document of an older
layout is recomputed rather than served without the new keys. 3: ``curves.spot_time_greeks``.
"""

COMPARISON_SCHEMA = 2
"""Version of the layout of :meth:`ComparisonResult.to_json_dict` (2: A and B of evaluation
schema 3, ``diff.spot_time_greeks``)."""

CURVE_GREEKS: tuple[str, ...] = ("delta", "gamma", "theta", "vega")
"""Greeks of ``curves.spot_time_greeks`` (position units: see :class:`CurveGreeks`)."""

ATTRIBUTION_SCHEMA = 2
"""Version of the layout of :meth:`AttributionResult.to_json_dict`."""

_EXCHANGE_ZONE = ZoneInfo("America/New_York")


def _number(value: Any) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"expected a number (int or float), got {type(value).__name__} {value!r}")
    return value


Number: TypeAlias = Annotated[float, PlainValidator(_number), WithJsonSchema({"type": "number"})]
"""A JSON number, kept exactly as given (an ``int`` stays an ``int``)."""


class _Part(BaseModel):
    """Frozen, closed (unknown keys refused) model of a JSON object."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    def to_dict(self) -> dict[str, Any]:
        """Plain dict of every field, in declaration order."""
        return self.model_dump()


class _Document(_Part):
    """A whole ``--json`` document: its ``schema`` key is the field ``schema_`` (a pydantic name)."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict with the JSON keys (``schema``, not ``schema_``)."""
        return self.model_dump(by_alias=True)


class Breakeven(_Part):
    """A zero of a P/L curve on the common path ``S_u = S0_u * (1 + p / 100)``."""

    spot_move_pct: Number
    spots: dict[str, Number]


class Extremum(_Part):
    """Max profit or max loss at expiry: a value, or ``unbounded`` (value None)."""

    unbounded: bool
    value: Number | None


class LegEvaluation(_Part):
    """Per-leg output. Fields after ``fees`` are None for legs that were not valued."""

    leg: str
    label: str
    instrument: dict[str, Any]
    quantity: str
    include: bool
    status: LegStatus
    underlying: str
    entry_cost: Number
    fees: Number
    model: LegModel | None = None
    engine: EngineName | None = None
    vol: Number | None = None
    vol_source: VolLabel | None = None
    time_to_expiry: Number | None = None
    spot: Number | None = None
    price: Number | None = None
    value: Number | None = None
    pl_open: Number | None = None
    greeks: dict[str, Number] | None = None
    position_greeks: dict[str, Number] | None = None
    model_inputs: dict[str, Any] | None = Field(
        default=None,
        description="keyword arguments of riskdesk.pricing.price that value the leg, plus "
        "time basis, instants, vol source, vol quote price, forward and model price",
    )


class LegAttribution(_Part):
    """Attribution of one leg (position currency)."""

    leg: str
    label: str
    base_value: Number
    compare_value: Number
    total: Number
    revaluation_total: Number
    moves: dict[str, Number]
    taylor: dict[str, Number]
    sequential: dict[str, Number]


# --------------------------------------------------------------------------------------------
# JSON output models
# --------------------------------------------------------------------------------------------
class IssueJson(_Part):
    """A warning or error (:class:`~riskdesk.analytics.Issue`)."""

    code: str
    leg: str | None
    message: str


class VersionIdentity(_Part):
    """A committed trade version."""

    type: Literal["VERSION"]
    name: str
    trade_hash: str


class DraftIdentity(_Part):
    """A draft: its rev and the hash its legs would get if committed now."""

    type: Literal["DRAFT"]
    name: str
    rev: int
    content_hash: str | None


TradeIdentity: TypeAlias = Annotated[VersionIdentity | DraftIdentity, Field(discriminator="type")]


class EvaluationInputs(_Part):
    """The four inputs an evaluation is keyed by."""

    trade: TradeIdentity
    snapshot_hash: str
    model_config_hash: str
    scenario_grid_hash: str
    as_of: str


class Measures(_Part):
    """Scalar measures of an evaluation."""

    value: Number
    entry_cost: Number
    fees: Number
    pl_open: Number
    greeks: dict[str, Number]
    greeks_by_underlying: dict[str, dict[str, Number]]
    max_profit: Extremum
    max_loss: Extremum
    breakevens_expiry: list[Breakeven]
    breakevens_t0: list[Breakeven]
    probability_of_profit: Number | None
    reference_vols: dict[str, Number]
    horizon_years: Number


class Grid(_Part):
    """Scenario axes and their units."""

    spot_range_kind: Literal["PERCENT", "SIGMA"]
    spot_moves: list[Number]
    spots: dict[str, list[Number]]
    axis_vols: dict[str, Number]
    axis_horizon_years: Number
    vol_shifts: list[Number]
    dates: list[str]
    dates_local: list[str]
    date_years: list[Number]
    units: dict[str, str]


class CurveGreeks(_Part):
    """Position Greeks ``[date][spot]`` on the spot x time grid, at each leg's own vol.

    Units of the trade's Greeks: delta in shares, gamma in shares per 1 of spot, theta in
    currency per ``theta_convention`` day, vega in currency per vol point.
    """

    delta: list[list[Number]]
    gamma: list[list[Number]]
    theta: list[list[Number]]
    vega: list[list[Number]]


class Curves(_Part):
    """Scenario P/L: ``spot_time_pl[date][spot]``, ``spot_vol_pl[shift][spot]``, expiry.

    ``spot_time_greeks`` holds the position Greeks at the points of ``spot_time_pl``.
    """

    spot_time_pl: list[list[Number]]
    spot_time_greeks: CurveGreeks
    spot_vol_pl: list[list[Number]]
    expiry_pl: list[Number]


class EvaluationJson(_Document):
    """``EvaluationResult.to_json_dict()`` (``riskdesk evaluate --json``)."""

    schema_: Literal[3] = Field(alias="schema")
    inputs: EvaluationInputs
    underlyings: list[str]
    measures: Measures
    legs: list[LegEvaluation]
    grid: Grid
    curves: Curves
    warnings: list[IssueJson]
    errors: list[IssueJson]


class ComparisonDiff(_Part):
    """A - B: dollar measures always; share Greeks and grids only when comparable."""

    value: Number
    entry_cost: Number
    fees: Number
    pl_open: Number
    max_profit: Extremum
    max_loss: Extremum
    probability_of_profit: Number | None
    greeks: dict[str, Number]
    greeks_by_underlying: dict[str, dict[str, Number]] | None = None
    spot_time_pl: list[list[Number]] | None = None
    spot_time_greeks: CurveGreeks | None = None
    spot_vol_pl: list[list[Number]] | None = None
    expiry_pl: list[Number] | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain dict of the keys present (the grids are absent when not comparable)."""
        return self.model_dump(exclude_unset=True)


class ComparisonJson(_Document):
    """``ComparisonResult.to_json_dict()`` (``riskdesk compare --json``)."""

    schema_: Literal[2] = Field(alias="schema")
    comparable: bool
    a: EvaluationJson
    b: EvaluationJson
    diff: ComparisonDiff
    warnings: list[IssueJson]

    def to_dict(self) -> dict[str, Any]:
        """Plain dict with the JSON keys (the diff's grids only where they are set)."""
        return self.model_dump(by_alias=True, exclude_unset=True)


class AttributionInputs(_Part):
    """Trade and model config of an attribution."""

    trade: TradeIdentity
    model_config_hash: str


class LegStateJson(_Part):
    """Model inputs of one leg in a market state; ``dividends`` as ``[[years, amount], ...]``."""

    spot: Number
    vol: Number
    time_to_expiry: Number
    rate: Number
    carry: Number
    dividends: list[list[Number]]
    expiry: str | None


class MarketStateJson(_Part):
    """A market state: valuation instant, time basis and per-leg inputs."""

    valuation_time: str | None
    time_basis: Literal["calendar", "trading"]
    legs: dict[str, LegStateJson]


class TradeAttribution(_Part):
    """Trade totals of an attribution."""

    base_value: Number
    compare_value: Number
    total: Number
    revaluation_total: Number
    taylor: dict[str, Number]
    sequential: dict[str, Number]


class AttributionJson(_Document):
    """``AttributionResult.to_json_dict()`` (``riskdesk attribute --json``)."""

    schema_: Literal[2] = Field(alias="schema")
    method: str
    inputs: AttributionInputs
    base_state: MarketStateJson
    compare_state: MarketStateJson
    legs: list[LegAttribution]
    trade: TradeAttribution
    warnings: list[IssueJson]
    errors: list[IssueJson]


@dataclass(frozen=True, slots=True, eq=False)
class EvaluationResult:
    """Everything :func:`evaluate` computes; arrays are numpy, see the module docstring.

    ``spot_time_pl`` is ``(n_dates, n_spots)``, ``spot_time_greeks[g]`` (``g`` in
    :data:`CURVE_GREEKS`) too, ``spot_vol_pl`` ``(n_vol_shifts, n_spots)``,
    ``expiry_pl`` ``(n_spots,)``; ``spots[u]`` is the spot axis of underlying ``u``.
    ``reference_vols`` / ``horizon_years`` are the trade's own (probability of profit);
    ``axis_vols`` / ``axis_horizon_years`` size a sigma spot range and may cover two trades
    (compare shares one set of axes).
    """

    trade: dict[str, Any]
    snapshot_hash: str
    model_config_hash: str
    scenario_grid_hash: str
    as_of: datetime
    underlyings: tuple[str, ...]
    value: float
    entry_cost: float
    fees: float
    pl_open: float
    greeks: dict[str, float]
    greeks_by_underlying: dict[str, dict[str, float]]
    max_profit: Extremum
    max_loss: Extremum
    breakevens_expiry: tuple[Breakeven, ...]
    breakevens_t0: tuple[Breakeven, ...]
    probability_of_profit: float | None
    reference_vols: dict[str, float]
    horizon_years: float
    legs: tuple[LegEvaluation, ...]
    spot_range_kind: str
    spot_moves: FloatArray
    spots: dict[str, FloatArray]
    axis_vols: dict[str, float]
    axis_horizon_years: float
    vol_shifts: FloatArray
    dates: tuple[datetime, ...]
    date_years: FloatArray
    spot_time_pl: FloatArray
    spot_time_greeks: dict[str, FloatArray]
    spot_vol_pl: FloatArray
    expiry_pl: FloatArray
    warnings: tuple[Issue, ...] = field(default=())
    errors: tuple[Issue, ...] = field(default=())
    units: dict[str, str] = field(default_factory=dict)

    @property
    def valued_leg_count(self) -> int:
        """Number of legs that were valued (status ``ok``)."""
        return sum(1 for leg in self.legs if leg.status == "ok")

    @property
    def nothing_valued(self) -> bool:
        """True when no leg was valued (every leg expired, excluded or toggled off).

        The figures are then all zero or ``-cost``; callers should report the errors (for
        included legs that could not be valued: ``no_valued_legs``) and fail.
        """
        return self.valued_leg_count == 0

    def measures_dict(self) -> dict[str, Any]:
        """Scalar measures (the store's ``measures_json``)."""
        return {
            "value": self.value,
            "entry_cost": self.entry_cost,
            "fees": self.fees,
            "pl_open": self.pl_open,
            "greeks": dict(self.greeks),
            "greeks_by_underlying": {u: dict(g) for u, g in self.greeks_by_underlying.items()},
            "max_profit": self.max_profit.to_dict(),
            "max_loss": self.max_loss.to_dict(),
            "breakevens_expiry": [b.to_dict() for b in self.breakevens_expiry],
            "breakevens_t0": [b.to_dict() for b in self.breakevens_t0],
            "probability_of_profit": self.probability_of_profit,
            "reference_vols": dict(self.reference_vols),
            "horizon_years": self.horizon_years,
        }

    def grid_dict(self) -> dict[str, Any]:
        """Scenario axes."""
        return {
            "spot_range_kind": self.spot_range_kind,
            "spot_moves": float_list(self.spot_moves),
            "spots": {u: float_list(s) for u, s in self.spots.items()},
            "axis_vols": dict(self.axis_vols),
            "axis_horizon_years": self.axis_horizon_years,
            "vol_shifts": float_list(self.vol_shifts),
            "dates": [iso_utc(d) for d in self.dates],
            "dates_local": [d.astimezone(_EXCHANGE_ZONE).isoformat() for d in self.dates],
            "date_years": float_list(self.date_years),
            "units": dict(self.units),
        }

    def curves_dict(self) -> dict[str, Any]:
        """Scenario P/L arrays and the spot x time Greeks as nested lists."""
        return {
            "spot_time_pl": float_list(self.spot_time_pl),
            "spot_time_greeks": {g: float_list(self.spot_time_greeks[g]) for g in CURVE_GREEKS},
            "spot_vol_pl": float_list(self.spot_vol_pl),
            "expiry_pl": float_list(self.expiry_pl),
        }

    @classmethod
    def json_schema(cls) -> dict[str, Any]:
        """JSON schema of :meth:`to_json_dict` (the ``--json`` output): :class:`EvaluationJson`."""
        return EvaluationJson.model_json_schema()

    def to_model(self) -> EvaluationJson:
        """:meth:`to_json_dict` validated as an :class:`EvaluationJson`."""
        return EvaluationJson.model_validate(self.to_json_dict())

    def to_json_dict(self) -> dict[str, Any]:
        """Plain-JSON dict; raises :class:`NonFiniteResultError` if a NaN/inf slipped in.

        Top-level keys: ``schema, inputs, underlyings, measures, legs, grid, curves,
        warnings, errors``.
        """
        out = {
            "schema": EVALUATION_SCHEMA,
            "inputs": {
                "trade": dict(self.trade),
                "snapshot_hash": self.snapshot_hash,
                "model_config_hash": self.model_config_hash,
                "scenario_grid_hash": self.scenario_grid_hash,
                "as_of": iso_utc(self.as_of),
            },
            "underlyings": list(self.underlyings),
            "measures": self.measures_dict(),
            "legs": [leg.to_dict() for leg in self.legs],
            "grid": self.grid_dict(),
            "curves": self.curves_dict(),
            "warnings": [w.to_dict() for w in self.warnings],
            "errors": [e.to_dict() for e in self.errors],
        }
        check_finite_json(out)
        return out
