"""Stress tests: factor shocks, correlated propagation and full revaluation of the book.

A :class:`Scenario` shocks some risk factors (seed 002's scenario file ships as
``scenarios/stress_scenarios.json``; user-defined scenarios pass the same validation).
:func:`run_stress` turns every scenario into a move of each position's underlying and
revalues the whole book under all scenarios with :func:`riskdesk.risk.marks.value_book`, so
options are fully repriced (never a delta shortcut). The engine is pure: no SQL, no I/O
beyond reading the packaged scenario file, no clock.

Units and rules
---------------
Factors
    Return factors (``Market``, ``Value``, ``Growth``, ``Momentum``, ``Quality``, ``Size``,
    ``Low Volatility`` and any user factor) are shocked with a decimal return: ``-0.10`` is a
    10% fall. The rate factor :data:`RATE_FACTOR` (``Interest_Rate``) is shocked with the
    change of the 10-year Treasury yield in decimals: ``0.01`` is +100 bp
    (:meth:`Scenario.rate_shift_bp` gives it in basis points).
Phase 1 (direct)
    The scenario's own shocks, unchanged.
Phase 2 (correlated)
    Every factor ``f`` the scenario does *not* shock gets the implied shock
    ``x_f = sum over shocked s of clamp(rho(s, f)) * scale(s, f) * x_s``, where ``clamp`` limits
    the correlation to +/-0.95 (the seed's clamp) and ``scale(s, f)`` is
    ``sigma_f / sigma_s`` when the correlation carries factor vols (the regression of ``f``
    on ``s``: the conditional mean of a joint normal), else 1 (the seed's rule
    ``rho * shock``). Shocked factors keep their own shock: the scenario states them. Without
    factor vols, the rate factor neither gives nor receives a correlated shock (a yield change
    times a correlation is not a return). A factor missing from the correlation matrix is
    treated as uncorrelated. Implied return shocks are clipped to +/- the shock cap (1.0)
    and implied rate shocks to +/-:data:`MAX_RATE_SHOCK`. ``propagate=False`` runs phase 1
    only.
Underlying moves
    The return of an underlying is ``sum_f beta(underlying, f) * x_f`` with betas given per
    underlying and factor. The rate beta of a rate-sensitive ETF is its price sensitivity to a
    yield change of 1.00 in decimals, i.e. *minus its modified duration*: a TLT position with
    beta -17 loses 17% when the yield rises 100 bp (``-17 * 0.01``). Returns are floored at
    the loss cap, -99% (a price never falls below 1% of its mark), the seed's cap. An
    underlying without betas does not move (it is listed in ``unmapped_underlyings``).
Revaluation
    Spot multipliers are ``1 + return``; the rate factor's shock is the ``rate_shift`` of the
    revaluation, so options' rho counts (an equity option reacts to a rate scenario even when
    its underlying does not). Vols follow :class:`SpotVolRule`: ``vol * clip(1 - k * return,
    floor, cap)`` with the underlying's return (k = 3, floor 0.5, cap 4 by default; k = 0 is
    sticky strike); a scenario with ``vol_shock`` replaces the rule with
    ``vol * (1 + vol_shock)`` for every option.
P&L and its parts
    P&L is revalued value minus current value, per position. *Direct* P&L is the full
    revaluation under the phase-1 shocks alone, *correlated* P&L is the full-phase P&L minus
    the direct one (so the parts add up exactly, option convexity included). A long position
    (current value > 0) never loses more than 99% of its value (the seed's -99% loss cap,
    applied per position); a short position is not capped, since its loss is not bounded by
    its value and capping it would hide the risk.
The book as it is
    Gross value = sum of |value|, net value = sum of value, over the positions that have a
    value. Stress impact = P&L / gross value, never P&L over |net| (the seed's defect: a
    hedged long/short book with zero net still shows its stress P&L).
Severity
    The seed's bands on |impact|: mild below 5%, moderate 5% to 15%, severe 15% to 35%,
    extreme 35% and above (a lower bound belongs to its band).
Excluded positions
    Expired options and positions without spot or vol (``MarkStatus`` other than OK) are left
    out of every total and listed in ``excluded``; their per-position P&L is NaN.

Examples
--------
A stock with beta 1.2 worth 10,000 under ``Market -10%`` loses ``10,000 * 1.2 * 0.10 =
1,200``; with ``rho(Market, Value) = 0.5`` and a Value beta of 0.4, propagation adds
``10,000 * 0.4 * 0.5 * -0.10 = -200``.

"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import numpy.typing as npt

from riskdesk.risk.marks import Marks, MarkStatus, value_book
from riskdesk.risk.positions import BookPosition

__all__ = [
    "CATEGORIES",
    "MAX_RATE_SHOCK",
    "RATE_FACTOR",
    "RETURN_FACTORS",
    "SEVERITIES",
    "ExcludedPosition",
    "FactorCorrelation",
    "Scenario",
    "ScenarioError",
    "ScenarioFile",
    "ScenarioResult",
    "SeverityBand",
    "SpotVolRule",
    "StressConfig",
    "StressReport",
    "load_scenario_file",
    "propagate_shocks",
    "run_stress",
    "scenario_from_dict",
    "severity_band",
]

FloatArray = npt.NDArray[np.float64]

RATE_FACTOR = "Interest_Rate"
"""The rate factor: the change of the 10-year Treasury yield, in decimals (0.01 = 100 bp)."""

RETURN_FACTORS = ("Market", "Value", "Growth", "Momentum", "Quality", "Size", "Low Volatility")
"""Seed 002's return factors (ETF proxies SPY, VTV, VUG, MTUM, QUAL, SIZE, USMV)."""

MAX_RATE_SHOCK = 0.10
"""Largest accepted rate shock in magnitude (1,000 bp)."""

MAX_VOL_SHOCK = 10.0
"""Largest accepted relative vol shock (+1,000%)."""

SEVERITIES = ("mild", "moderate", "severe", "extreme")
"""The seed's severity levels, mildest first."""

CATEGORIES = ("market", "rates", "rotation", "volatility", "historical", "custom")
"""Scenario categories: the seed's, plus ``custom`` for user-defined scenarios."""

_KEY_RE = re.compile(r"^[a-z0-9][a-z0-9_]{0,63}$")
_SCENARIO_FILE = "stress_scenarios.json"


class ScenarioError(ValueError):
    """A scenario definition broke a rule; ``field`` names the offending field."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name


@dataclass(frozen=True, slots=True)
class SeverityBand:
    """One severity band: ``min_impact <= |impact| < max_impact`` (None: no upper bound)."""

    name: str
    min_impact: float
    max_impact: float | None
    description: str = field(default="", compare=False)


_DEFAULT_BANDS = (
    SeverityBand("mild", 0.0, 0.05),
    SeverityBand("moderate", 0.05, 0.15),
    SeverityBand("severe", 0.15, 0.35),
    SeverityBand("extreme", 0.35, None),
)


@dataclass(frozen=True, slots=True)
class StressConfig:
    """The stress configuration (seed 002's values by default).

    ``lookback_days`` and ``ewma_decay`` build the factor correlation
    (:meth:`FactorCorrelation.from_returns`); ``correlation_clamp`` limits every correlation
    used in propagation; ``shock_cap`` bounds return-factor shocks; ``loss_cap`` is the
    floor of an underlying's return and of a long position's P&L relative to its value.
    """

    lookback_days: int = 252
    ewma_decay: float = 0.94
    correlation_clamp: float = 0.95
    shock_cap: float = 1.0
    loss_cap: float = -0.99
    bands: tuple[SeverityBand, ...] = _DEFAULT_BANDS

    def __post_init__(self) -> None:
        if self.lookback_days < 2:
            raise ValueError(f"lookback_days must be at least 2, got {self.lookback_days}")
        if not 0.0 < self.ewma_decay < 1.0:
            raise ValueError(f"ewma_decay must be in (0, 1), got {self.ewma_decay}")
        if not 0.0 <= self.correlation_clamp <= 1.0:
            raise ValueError(f"correlation_clamp must be in [0, 1], got {self.correlation_clamp}")
        if not self.shock_cap > 0:
            raise ValueError(f"shock_cap must be > 0, got {self.shock_cap}")
        if not -1.0 < self.loss_cap < 0.0:
            raise ValueError(f"loss_cap must be in (-1, 0), got {self.loss_cap}")
        if not self.bands or self.bands[0].min_impact != 0.0:
            raise ValueError("severity bands must start at an impact of 0")


def severity_band(impact: float, bands: Sequence[SeverityBand] = _DEFAULT_BANDS) -> str:
    """The severity band of a stress impact (P&L / gross value), judged on ``|impact|``.

    >>> severity_band(-0.04), severity_band(0.05), severity_band(-0.2), severity_band(-0.5)
    ('mild', 'moderate', 'severe', 'extreme')
    """
    size = abs(impact)
    for band in bands:
        if size >= band.min_impact and (band.max_impact is None or size < band.max_impact):
            return band.name
    return bands[-1].name


@dataclass(frozen=True, slots=True)
class Scenario:
    """A stress scenario.

    ``shocks`` maps a factor to its shock: a decimal return for return factors, a decimal
    yield change for :data:`RATE_FACTOR`. ``vol_shock`` (optional) is a relative move of
    every option's implied vol that replaces the spot-vol rule (1.5 is +150%). Build one with
    :func:`scenario_from_dict` to get field-named validation errors.
    """

    key: str
    name: str
    description: str
    category: str
    severity: str
    shocks: Mapping[str, float]
    vol_shock: float | None = None
    historical_period: str | None = None

    @property
    def rate_shift_bp(self) -> float:
        """The scenario's own rate shock in basis points (0 when it has none)."""
        return self.shocks.get(RATE_FACTOR, 0.0) * 10_000.0


def _text(data: Mapping[str, Any], name: str, *, required: bool = True) -> str | None:
    value = data.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ScenarioError(name, f"must be a non-empty string, got {value!r}")
    if len(value) > 500:
        raise ScenarioError(name, f"must be at most 500 characters, got {len(value)}")
    return value.strip()


def _number(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ScenarioError(name, f"must be a number, got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ScenarioError(name, f"must be finite, got {value!r}")
    return number


def scenario_from_dict(
    data: Mapping[str, Any],
    *,
    factors: Iterable[str] | None = None,
    config: StressConfig | None = None,
) -> Scenario:
    """Validate a scenario definition (the JSON file's or a user's) and build it.

    Parameters
    ----------
    data
        ``key`` (lowercase letters, digits and ``_``), ``name``, ``description``,
        ``category`` (one of :data:`CATEGORIES`), ``severity`` (one of :data:`SEVERITIES`),
        ``shocks`` (factor -> shock, at least one), optional ``vol_shock`` and ``historical_period``. Unknown keys are refused.
    factors
        The factor names accepted (default: :data:`RETURN_FACTORS` and :data:`RATE_FACTOR`).
    config
        Gives the shock cap (default :class:`StressConfig`).

    Raises
    ------
    ScenarioError
        Naming the field (``shocks.Market``, ``severity``...), the value and the rule.

    """
    cfg = config or StressConfig()
    allowed = set(factors) if factors is not None else {*RETURN_FACTORS, RATE_FACTOR}
    if not isinstance(data, Mapping):
        raise ScenarioError("scenario", f"must be an object, got {type(data).__name__}")
    known = {
        "key",
        "name",
        "description",
        "category",
        "severity",
        "shocks",
        "vol_shock",
        "historical_period",
    }
    extra = sorted(set(data) - known)
    if extra:
        raise ScenarioError(extra[0], f"is not a scenario field (fields: {sorted(known)})")
    key = _text(data, "key")
    assert key is not None
    if not _KEY_RE.match(key):
        raise ScenarioError(
            "key",
            f"must be 1-64 lowercase letters, digits or '_', starting alphanumeric, got {key!r}",
        )
    name = _text(data, "name")
    description = _text(data, "description")
    category = _text(data, "category")
    severity = _text(data, "severity")
    assert name is not None
    assert description is not None
    if category not in CATEGORIES:
        raise ScenarioError("category", f"must be one of {list(CATEGORIES)}, got {category!r}")
    if severity not in SEVERITIES:
        raise ScenarioError("severity", f"must be one of {list(SEVERITIES)}, got {severity!r}")
    raw_shocks = data.get("shocks")
    if not isinstance(raw_shocks, Mapping) or not raw_shocks:
        raise ScenarioError(
            "shocks", f"must be a non-empty object factor -> shock, got {raw_shocks!r}"
        )
    shocks: dict[str, float] = {}
    for factor, raw in raw_shocks.items():
        where = f"shocks.{factor}"
        if factor not in allowed:
            raise ScenarioError(where, f"unknown factor (factors: {sorted(allowed)})")
        value = _number(raw, where)
        if factor == RATE_FACTOR:
            if abs(value) > MAX_RATE_SHOCK:
                raise ScenarioError(
                    where,
                    f"a rate shock is a decimal yield change of at most {MAX_RATE_SHOCK} "
                    f"(1,000 bp) in size, got {value}",
                )
        elif value <= -1.0 or abs(value) > cfg.shock_cap:
            raise ScenarioError(
                where,
                f"a return shock must be above -1 and at most {cfg.shock_cap} in size, got {value}",
            )
        shocks[factor] = value
    vol_shock = None
    if data.get("vol_shock") is not None:
        vol_shock = _number(data["vol_shock"], "vol_shock")
        if not -1.0 < vol_shock <= MAX_VOL_SHOCK:
            raise ScenarioError(
                "vol_shock", f"must be above -1 and at most {MAX_VOL_SHOCK}, got {vol_shock}"
            )
    return Scenario(
        key=key,
        name=name,
        description=description,
        category=category,
        severity=severity,
        shocks=MappingProxyType(shocks),
        vol_shock=vol_shock,
        historical_period=_text(data, "historical_period", required=False),
    )


@dataclass(frozen=True, slots=True)
class ScenarioFile:
    """The scenarios and the configuration of a scenario file."""

    scenarios: tuple[Scenario, ...]
    config: StressConfig
    factor_proxies: Mapping[str, str]


def load_scenario_file(path: str | Path | None = None) -> ScenarioFile:
    """Load and validate a scenario file (default: riskdesk's packaged copy of the seed's).

    Raises
    ------
    ScenarioError
        For a bad scenario (``scenarios[3].shocks.Market: ...``) or a duplicate key.

    """
    if path is None:
        text = (
            resources.files("riskdesk.risk")
            .joinpath("scenarios", _SCENARIO_FILE)
            .read_text(encoding="utf-8")
        )
    else:
        text = Path(path).read_text(encoding="utf-8")
    doc = json.loads(text)
    raw_cfg = doc.get("configuration", {})
    bands = tuple(
        SeverityBand(
            name=name,
            min_impact=float(band["min_impact"]),
            max_impact=None if band.get("max_impact") is None else float(band["max_impact"]),
            description=str(band.get("description", "")),
        )
        for name, band in doc.get("severity_bands", {}).items()
    )
    config = StressConfig(
        lookback_days=int(raw_cfg.get("lookback_days", 252)),
        ewma_decay=float(raw_cfg.get("ewma_decay", 0.94)),
        correlation_clamp=float(raw_cfg.get("correlation_clamp", 0.95)),
        shock_cap=float(raw_cfg.get("shock_cap", 1.0)),
        loss_cap=float(raw_cfg.get("loss_cap", -0.99)),
        bands=bands or _DEFAULT_BANDS,
    )
    proxies = dict(doc.get("factor_proxies", {}))
    factors = set(proxies) | {*RETURN_FACTORS, RATE_FACTOR}
    scenarios: list[Scenario] = []
    seen: set[str] = set()
    for i, raw in enumerate(doc.get("scenarios", [])):
        try:
            scenario = scenario_from_dict(raw, factors=factors, config=config)
        except ScenarioError as exc:
            raise ScenarioError(f"scenarios[{i}].{exc.field}", str(exc).split(": ", 1)[1]) from exc
        if scenario.key in seen:
            raise ScenarioError(f"scenarios[{i}].key", f"duplicate key {scenario.key!r}")
        seen.add(scenario.key)
        scenarios.append(scenario)
    return ScenarioFile(tuple(scenarios), config, MappingProxyType(proxies))


@dataclass(frozen=True, eq=False)
class FactorCorrelation:
    """A factor correlation matrix, optionally with each factor's vol.

    ``vols`` (same order as ``factors``, in the units of the shocks over any common horizon:
    return vol for return factors, yield-change vol for the rate factor) switch propagation
    to the regression rule ``rho * sigma_f / sigma_s`` and let the rate factor propagate.
    """

    factors: tuple[str, ...]
    matrix: FloatArray
    vols: FloatArray | None = None

    def __post_init__(self) -> None:
        m = np.asarray(self.matrix, dtype=np.float64)
        n = len(self.factors)
        if len(set(self.factors)) != n:
            raise ValueError(f"factor names must be unique, got {self.factors}")
        if m.shape != (n, n):
            raise ValueError(f"correlation matrix must be {n}x{n}, got shape {m.shape}")
        if not np.all(np.isfinite(m)) or not np.allclose(m, m.T, atol=1e-10):
            raise ValueError("correlation matrix must be finite and symmetric")
        if not np.allclose(np.diag(m), 1.0, atol=1e-8) or np.any(np.abs(m) > 1.0 + 1e-12):
            raise ValueError("correlation matrix must have a unit diagonal and |rho| <= 1")
        object.__setattr__(self, "matrix", m)
        if self.vols is not None:
            v = np.asarray(self.vols, dtype=np.float64)
            if v.shape != (n,) or not np.all(np.isfinite(v)) or np.any(v <= 0):
                raise ValueError(f"vols must be {n} positive finite numbers, got {self.vols}")
            object.__setattr__(self, "vols", v)

    @classmethod
    def from_returns(
        cls,
        factors: Sequence[str],
        returns: npt.ArrayLike,
        *,
        decay: float = 0.94,
        lookback: int = 252,
    ) -> FactorCorrelation:
        """EWMA correlation and vols of factor changes (rows oldest first, one column a factor).

        The last ``lookback`` rows are used; the newest row weighs 1, the one before
        ``decay``, and so on (RiskMetrics, lambda 0.94); means are removed with the same
        weights. The vols are daily, in the units of the columns.
        """
        x = np.asarray(returns, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != len(factors):
            raise ValueError(f"returns must have shape (n_obs, {len(factors)}), got {x.shape}")
        x = x[-lookback:]
        if x.shape[0] < 2 or not np.all(np.isfinite(x)):
            raise ValueError("returns need at least 2 finite rows")
        w = decay ** np.arange(x.shape[0] - 1, -1, -1, dtype=np.float64)
        w /= w.sum()
        centred = x - w @ x
        cov = (centred * w[:, None]).T @ centred
        sd = np.sqrt(np.diag(cov))
        if np.any(sd <= 0):
            raise ValueError("every factor needs a non-zero variance in the window")
        corr = np.clip(cov / np.outer(sd, sd), -1.0, 1.0)
        np.fill_diagonal(corr, 1.0)
        return cls(tuple(factors), corr, sd)


def propagate_shocks(
    shocks: Mapping[str, float],
    correlation: FactorCorrelation,
    *,
    config: StressConfig | None = None,
) -> dict[str, float]:
    """Phase 2: the implied shocks of the factors a scenario does not shock.

    Returns the implied shocks (factor -> shock) of the matrix's factors not in ``shocks``
    that at least one shocked factor reaches; the rule is in the module docstring.
    """
    cfg = config or StressConfig()
    index = {f: i for i, f in enumerate(correlation.factors)}
    scaled = correlation.vols is not None
    implied: dict[str, float] = {}
    for f in correlation.factors:
        if f in shocks or (f == RATE_FACTOR and not scaled):
            continue
        total = 0.0
        sources = 0
        for s, x_s in shocks.items():
            if s not in index or (s == RATE_FACTOR and not scaled):
                continue
            sources += 1
            rho = float(
                np.clip(
                    correlation.matrix[index[s], index[f]],
                    -cfg.correlation_clamp,
                    cfg.correlation_clamp,
                )
            )
            scale = 1.0
            if correlation.vols is not None:
                scale = float(correlation.vols[index[f]] / correlation.vols[index[s]])
            total += rho * scale * x_s
        if not sources:
            continue
        if f == RATE_FACTOR:
            total = float(np.clip(total, -MAX_RATE_SHOCK, MAX_RATE_SHOCK))
        else:
            total = float(np.clip(total, -cfg.shock_cap, cfg.shock_cap))
        implied[f] = total
    return implied


@dataclass(frozen=True, slots=True)
class SpotVolRule:
    """How implied vol moves with the underlying: ``vol * clip(1 - k * return, floor, cap)``.

    ``k = 3`` means a 10% fall lifts vol by 30% (20% -> 26%) and a 10% rise lowers it by 30%;
    ``k = 0`` is sticky strike (vol unchanged). The floor and cap bound the multiplier.
    """

    k: float = 3.0
    floor: float = 0.5
    cap: float = 4.0

    def __post_init__(self) -> None:
        if not math.isfinite(self.k) or self.k < 0:
            raise ValueError(f"SpotVolRule.k must be a finite number >= 0, got {self.k}")
        if not 0 < self.floor <= 1.0 <= self.cap or not math.isfinite(self.cap):
            raise ValueError(
                f"SpotVolRule needs 0 < floor <= 1 <= cap < inf, got {self.floor}, {self.cap}"
            )

    def multipliers(self, returns: npt.ArrayLike) -> FloatArray:
        """Vol multipliers for underlying returns (any shape)."""
        r = np.asarray(returns, dtype=np.float64)
        return np.clip(1.0 - self.k * r, self.floor, self.cap)


@dataclass(frozen=True, slots=True)
class ExcludedPosition:
    """A position left out of the stress totals, and why (its mark status)."""

    index: int
    symbol: str
    status: MarkStatus


@dataclass(frozen=True, eq=False)
class ScenarioResult:
    """One scenario's outcome.

    Money is in the book's currency (floats; the edges render Decimal strings).
    ``pnl_by_position`` / ``direct_by_position`` follow the positions' order, NaN for an
    excluded position. ``factor_shocks`` are the shocks applied (phase 1 and phase 2),
    ``implied_shocks`` phase 2's alone. ``impact`` is ``pnl / gross_value``.
    """

    scenario: Scenario
    factor_shocks: Mapping[str, float]
    implied_shocks: Mapping[str, float]
    pnl: float
    direct_pnl: float
    correlated_pnl: float
    pnl_by_position: FloatArray
    direct_by_position: FloatArray
    pnl_by_underlying: Mapping[str, float]
    impact: float
    severity: str
    capped_positions: tuple[int, ...]


@dataclass(frozen=True, eq=False)
class StressReport:
    """Every scenario's result on one book, with the book's values as they are."""

    results: tuple[ScenarioResult, ...]
    gross_value: float
    net_value: float
    long_value: float
    short_value: float
    excluded: tuple[ExcludedPosition, ...]
    unmapped_underlyings: tuple[str, ...]
    propagated: bool
    spot_vol_rule: SpotVolRule
    config: StressConfig = field(default_factory=StressConfig)

    def result(self, key: str) -> ScenarioResult:
        """The result of the scenario with ``key``."""
        for r in self.results:
            if r.scenario.key == key:
                return r
        raise KeyError(f"no stress result for scenario {key!r}")


def run_stress(
    positions: Sequence[BookPosition],
    marks: Marks,
    scenarios: Sequence[Scenario],
    *,
    betas: Mapping[str, Mapping[str, float]],
    correlation: FactorCorrelation | None = None,
    propagate: bool = True,
    spot_vol: SpotVolRule | None = None,
    config: StressConfig | None = None,
) -> StressReport:
    """Run every scenario on the book with full revaluation.

    Parameters
    ----------
    positions, marks
        The book and its marks (see :func:`riskdesk.risk.marks.value_book`).
    scenarios
        From :func:`load_scenario_file` and/or :func:`scenario_from_dict`.
    betas
        Underlying -> factor -> beta. The rate beta is minus the modified duration.
    correlation
        The factor correlation for phase 2 (required when ``propagate`` is True).
    propagate
        False runs phase 1 only (correlated P&L is then 0).
    spot_vol, config
        The spot-vol rule and the stress configuration (defaults: :class:`SpotVolRule`,
        :class:`StressConfig`).

    """
    rule = spot_vol or SpotVolRule()
    cfg = config or StressConfig()
    if propagate and correlation is None:
        raise ValueError("run_stress: propagate=True needs a factor correlation")
    n_pos = len(positions)

    # Factor space: every factor a scenario, a beta or the correlation names.
    names: list[str] = [*RETURN_FACTORS, RATE_FACTOR]
    extra = {f for sc in scenarios for f in sc.shocks} | {f for b in betas.values() for f in b}
    if correlation is not None:
        extra |= set(correlation.factors)
    names += sorted(extra - set(names))
    fidx = {f: i for i, f in enumerate(names)}
    n_s, n_f = len(scenarios), len(names)

    direct = np.zeros((n_s, n_f))
    full = np.zeros((n_s, n_f))
    implied_list: list[dict[str, float]] = []
    for j, sc in enumerate(scenarios):
        for f, x in sc.shocks.items():
            direct[j, fidx[f]] = x
        implied: dict[str, float] = {}
        if propagate:
            assert correlation is not None
            implied = propagate_shocks(sc.shocks, correlation, config=cfg)
        implied_list.append(implied)
        full[j] = direct[j]
        for f, x in implied.items():
            full[j, fidx[f]] = x

    underlyings = sorted({p.underlying for p in positions})
    uidx = {u: i for i, u in enumerate(underlyings)}
    beta = np.zeros((len(underlyings), n_f))
    for u, by_factor in betas.items():
        if u in uidx:
            for f, b in by_factor.items():
                if not math.isfinite(b):
                    raise ValueError(f"beta of {u} to {f} must be finite, got {b}")
                beta[uidx[u], fidx[f]] = b
    unmapped = tuple(u for u in underlyings if u not in betas)
    pos_u = np.array([uidx[p.underlying] for p in positions], dtype=np.int64)

    # One stack: the book as it is (no shock), the direct phase and, for the scenarios that
    # propagation changed, the full phase.
    changed = [j for j in range(n_s) if propagate and np.any(full[j] != direct[j])]
    stacked = np.vstack([np.zeros((1, n_f)), direct, full[changed]])
    vol_shocks = [None] + [sc.vol_shock for sc in scenarios]
    vol_shocks += [scenarios[j].vol_shock for j in changed]
    returns = np.maximum(stacked @ beta.T, cfg.loss_cap)[:, pos_u]
    spot_mult = 1.0 + returns
    vol_mult = rule.multipliers(returns)
    for row, vs in enumerate(vol_shocks):
        if vs is not None:
            vol_mult[row, :] = 1.0 + vs
    rate_shift = stacked[:, fidx[RATE_FACTOR]]
    values, status = _revalue(positions, marks, spot_mult, vol_mult, rate_shift)
    ok = np.array([st is MarkStatus.OK for st in status], dtype=bool)
    v0 = np.where(ok, values[0], 0.0)
    excluded = tuple(
        ExcludedPosition(i, p.symbol, status[i]) for i, p in enumerate(positions) if not ok[i]
    )
    pnl_all = values[1:] - values[0][None, :]
    # The seed's loss cap, per long position.
    floor = np.where(v0 > 0, cfg.loss_cap * v0, -np.inf)
    capped = pnl_all < floor[None, :]
    pnl_all = np.maximum(pnl_all, floor[None, :])
    pnl_all[:, ~ok] = np.nan
    full_rows = np.arange(n_s)
    full_rows[changed] = n_s + np.arange(len(changed))
    direct_pnl = pnl_all[:n_s]
    full_pnl = pnl_all[full_rows]
    full_capped = capped[full_rows]

    has_ok = np.bincount(pos_u[ok], minlength=len(underlyings)) > 0
    gross = float(np.abs(v0).sum())
    net = float(v0.sum())
    results: list[ScenarioResult] = []
    for j, sc in enumerate(scenarios):
        by_pos = full_pnl[j].copy()
        total = float(np.nansum(by_pos)) if n_pos else 0.0
        d_total = float(np.nansum(direct_pnl[j])) if n_pos else 0.0
        sums = np.bincount(pos_u[ok], weights=by_pos[ok], minlength=len(underlyings))
        by_under = {u: float(sums[k]) for k, u in enumerate(underlyings) if has_ok[k]}
        impact = total / gross if gross > 0 else 0.0
        applied = {f: float(full[j, fidx[f]]) for f in names if full[j, fidx[f]] != 0.0}
        results.append(
            ScenarioResult(
                scenario=sc,
                factor_shocks=MappingProxyType(applied),
                implied_shocks=MappingProxyType(implied_list[j]),
                pnl=total,
                direct_pnl=d_total,
                correlated_pnl=total - d_total,
                pnl_by_position=by_pos,
                direct_by_position=direct_pnl[j].copy(),
                pnl_by_underlying=MappingProxyType(by_under),
                impact=impact,
                severity=severity_band(impact, cfg.bands),
                capped_positions=tuple(int(i) for i in np.nonzero(full_capped[j] & ok)[0]),
            )
        )
    return StressReport(
        results=tuple(results),
        gross_value=gross,
        net_value=net,
        long_value=float(v0[v0 > 0].sum()),
        short_value=float(v0[v0 < 0].sum()),
        excluded=excluded,
        unmapped_underlyings=unmapped,
        propagated=propagate,
        spot_vol_rule=rule,
        config=cfg,
    )


def _revalue(
    positions: Sequence[BookPosition],
    marks: Marks,
    spot_mult: FloatArray,
    vol_mult: FloatArray,
    rate_shift: FloatArray,
) -> tuple[FloatArray, tuple[MarkStatus, ...]]:
    """Values under every scenario row (one ``value_book`` call) and each mark status."""
    if spot_mult.shape[1] == 0:
        return np.empty_like(spot_mult), ()
    grid = value_book(
        positions,
        marks,
        spot_multipliers=spot_mult,
        vol_multipliers=vol_mult,
        rate_shift=rate_shift,
        with_greeks=False,
    )
    return grid.value, grid.status
