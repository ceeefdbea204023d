"""Risk report use cases: a book's marks on a date, its exposures and Greeks, stored Greeks.

:class:`RiskReports` works on one :class:`~riskdesk.store.Database` as one caller, scoped like
:class:`~riskdesk.risk.portfolios.Portfolios` (a caller with a ``user_id`` sees only its own
portfolios; another user's is a :class:`NotFoundError`). Reads are read-only units; the
engines (:mod:`riskdesk.risk.exposures`, :func:`~riskdesk.risk.marks.value_book`) run with no
transaction open; :meth:`RiskReports.store_position_greeks` writes in one short unit with its
audit row.

Marks on a date ``on``
----------------------
- Valuation time: that session's close (16:00 New York; 13:00 on a half day). A day that is
  not an NYSE session is refused.
- Spots: each underlying's close on ``on`` in ``market_data_cache``. A missing close is never
  guessed: the position's status is ``no_spot``.
- Option vols, per position: the implied vol of that contract (same underlying, expiry,
  strike and right) in the newest stored market snapshot whose market time is on or before
  the valuation time and which quotes it with an IV (source ``snapshot_iv``); else the
  underlying's realised vol over the last 30 sessions up to ``on`` (30 daily log returns of
  the last 31 closes, sample standard deviation, annualised with sqrt(252); source
  ``realized_30d``); else none (status ``no_vol``). ``Marks.vol_sources`` records the source
  under each option's symbol.
- Rate: a parameter (default 0.04, continuously compounded); no dividend yields.

Positions entered after ``on`` were not held on ``on`` and are left out of that day's book.

Factor model, correlations and stress on a date ``on``
-----------------------------------------------------
- History: the closes stored in ``market_data_cache`` on the last ``window + 1`` NYSE sessions
  up to ``on`` (a missing close is NaN, dropped pairwise by the engines). Factor returns come
  from the proxies of :data:`~riskdesk.risk.factors.FACTOR_PROXIES` (seven ETFs and ``US10Y``);
  a proxy with no close in the window is an error naming it. A position's returns are its
  underlying's: an option moves with its underlying, so every factor number is computed per
  underlying and applied to each position on it.
- Exposure of a position: its delta-adjusted (delta-dollar) exposure, ``delta x spot`` of
  :func:`value_book` (the exposures engine's definition: an option is delta x underlying price
  x multiplier x quantity, a share its market value); positions not priced (expired, no spot,
  no vol) have none and are listed apart.
- :meth:`RiskReports.factors` stores the seed's univariate betas per position, the portfolio
  factor exposures (univariate betas, dollars and dollars over the gross delta-adjusted
  exposure) and the EWMA factor covariance (daily; Rates in percentage points of yield), each
  replacing that date's rows. The risk decomposition uses the ridge betas, per underlying (two
  positions on one underlying share its specific risk).
- :meth:`RiskReports.correlation` stores the pairwise position correlations (daily log returns
  of the underlyings) of the priced positions, replacing that date's pairs.
- :meth:`RiskReports.stress` takes the ridge betas and the EWMA factor correlation of the same
  window as the factor model.

Memo of the expensive parts
---------------------------
The VaR's engines (historical replay, delta-gamma and the Monte Carlo, which reprices every
option 20,000 times) and the factor model fit are pure functions of what a request reads (the
positions, the marks, the aligned closes): :class:`RiskReports` memoizes them in
:data:`~riskdesk.risk.memo.RISK_MEMO` under the content of those inputs (``memo=None``: no
memo). The inputs are read on every request, so an edited position, a new close or a new
snapshot IV is a new key: a stale number cannot be served, with one worker or several.

Pro forma books
---------------
``exposures``, ``greeks``, ``factors``, ``correlation``, ``stress`` and ``var`` take a
:class:`PortfolioBook` in place of the portfolio reference: a book whose positions were
modified (a what-if session's; new positions have ``position_id=None``), measured exactly as
the stored book would be on its date. ``factors`` and ``correlation`` then need
``store=False`` (a pro forma computation writes nothing): storing rows of positions that are
not stored is refused.
"""

from __future__ import annotations

import dataclasses
import math
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
from sqlalchemy.orm import Session

from riskdesk.domain.caller import Caller
from riskdesk.domain.instruments import OptionContract, Settlement
from riskdesk.domain.timeutil import expiry_datetime, is_trading_day
from riskdesk.risk.backtest import VarBacktest, rolling_historical_var, var_backtest
from riskdesk.risk.correlation import (
    MIN_OVERLAP,
    DiversificationMetrics,
    PositionCorrelations,
    diversification_metrics,
    log_returns,
    position_correlations,
)
from riskdesk.risk.exposures import (
    ExcludedPosition,
    Exposures,
    GreeksReport,
    Grouping,
    aggregate_greeks,
    compute_exposures,
)
from riskdesk.risk.factors import (
    FACTOR_PROXIES,
    MIN_OBSERVATIONS,
    RATES_FACTOR,
    REGRESSION_WINDOW,
    FactorCovariance,
    MultivariateBetas,
    PortfolioFactorExposures,
    RiskDecomposition,
    UnivariateBetas,
    ewma_covariance,
    factor_returns_from_closes,
    multivariate_betas,
    portfolio_factor_exposures,
    risk_decomposition,
    simple_returns,
    univariate_betas,
)
from riskdesk.risk.history import RATE_SYMBOL, last_sessions
from riskdesk.risk.marks import BookValuation, Marks, MarkStatus, value_book
from riskdesk.risk.memo import RISK_MEMO, ContentCache, content_key
from riskdesk.risk.portfolios import NotFoundError, Portfolios
from riskdesk.risk.positions import BookPosition
from riskdesk.risk.stress import (
    RATE_FACTOR,
    RETURN_FACTORS,
    FactorCorrelation,
    Scenario,
    ScenarioError,
    ScenarioFile,
    StressReport,
    load_scenario_file,
    run_stress,
    scenario_from_dict,
)
from riskdesk.risk.var import (
    DeltaGammaNormalVar,
    RiskFigure,
    VarReport,
    delta_gamma_inputs,
    delta_gamma_normal_var,
    historical_var,
    monte_carlo_var,
)
from riskdesk.store import Database
from riskdesk.store import history as history_repo
from riskdesk.store import portfolio as portfolio_repo
from riskdesk.store import risk as risk_repo
from riskdesk.store import workbench as wb_repo
from riskdesk.store.models.portfolio import (
    FactorCovariance as FactorCovarianceRow,
)
from riskdesk.store.models.portfolio import (
    PortfolioFactorExposure,
    PositionCorrelation,
    PositionFactorBeta,
    PositionGreeks,
)
from riskdesk.store.reference_data import factor_id

__all__ = [
    "CORRELATION_WINDOW",
    "DEFAULT_RATE",
    "FACTOR_ROWS",
    "REALIZED_SESSIONS",
    "VOL_REALIZED",
    "VOL_SNAPSHOT",
    "BookRef",
    "CorrelationReport",
    "FactorReport",
    "HistoryMissingError",
    "InsignificantBookError",
    "NotFoundError",
    "PortfolioBook",
    "RiskReports",
    "StoredGreeks",
    "StressOutcome",
    "realized_vol",
    "valuation_time",
]

DEFAULT_RATE = 0.04
REALIZED_SESSIONS = 30
VOL_SNAPSHOT = "snapshot_iv"
VOL_REALIZED = "realized_30d"
_TRADING_DAYS = 252
FloatArray = npt.NDArray[np.float64]
_T = TypeVar("_T")
_HISTORY_DAYS = 120
"""Calendar days of closes read for the realised vol (31 sessions fit with room to spare)."""
_RATIO_LIMIT = Decimal(10) ** 10
_RATIO_PLACES = Decimal("1e-10")
_CENTS = Decimal("0.01")
CORRELATION_WINDOW = 90
"""Sessions of the position correlation window (seed 002's correlation PRD)."""

FACTOR_ROWS: Mapping[str, risk_repo.FactorSpec] = {
    "Market": risk_repo.FactorSpec(
        factor_id("market_beta"), "market_beta", "Market Beta", "style", 1
    ),
    "Momentum": risk_repo.FactorSpec(factor_id("momentum"), "momentum", "Momentum", "style", 2),
    "Value": risk_repo.FactorSpec(factor_id("value"), "value", "Value", "style", 3),
    "Growth": risk_repo.FactorSpec(factor_id("growth"), "growth", "Growth", "style", 4),
    "Quality": risk_repo.FactorSpec(factor_id("quality"), "quality", "Quality", "style", 5),
    "Size": risk_repo.FactorSpec(factor_id("size"), "size", "Size", "style", 6),
    "Low Volatility": risk_repo.FactorSpec(
        factor_id("low_volatility"), "low_volatility", "Low Volatility", "style", 9, "USMV"
    ),
    RATES_FACTOR: risk_repo.FactorSpec(
        factor_id("rates"),
        "rates",
        "Rates (10-year yield)",
        "macro",
        10,
        RATE_SYMBOL,
        "Daily change of the 10-year Treasury yield in percentage points",
    ),
}
"""The model's factors -> their ``factor_definitions`` rows. The six seeded style factors are
used as seeded; Low Volatility (USMV) and Rates (US10Y) have no seeded row and are created on
first use with the same fixed ids in every database (``reference_data.factor_id``)."""


def _user_scenarios(
    custom: Sequence[Mapping[str, Any]], packaged: ScenarioFile, *, taken: set[str]
) -> tuple[Scenario, ...]:
    """The user's scenario definitions, validated like the packaged file's."""
    factors = {*packaged.factor_proxies, *RETURN_FACTORS, RATE_FACTOR}
    out: list[Scenario] = []
    seen = set(taken)
    for i, raw in enumerate(custom):
        try:
            scenario = scenario_from_dict(raw, factors=factors, config=packaged.config)
        except ScenarioError as exc:
            raise ScenarioError(f"custom[{i}].{exc.field}", str(exc).split(": ", 1)[1]) from exc
        if scenario.key in seen:
            what = "a packaged scenario's key" if scenario.key in taken else "a repeated key"
            raise ScenarioError(f"custom[{i}].key", f"{scenario.key!r} is {what}")
        seen.add(scenario.key)
        out.append(scenario)
    return tuple(out)


class InsignificantBookError(ValueError):
    """No position of a book meets the correlation significance thresholds."""


class HistoryMissingError(LookupError):
    """The price history a measure needs is not stored; the message says how to add it."""


def valuation_time(on: date) -> datetime:
    """The close of the NYSE session ``on`` (aware UTC).

    Raises
    ------
    ValueError
        When ``on`` is not a session (weekend or holiday).

    """
    if not is_trading_day(on):
        raise ValueError(
            f"{on.isoformat()} is not an NYSE session (weekend or holiday): value a book on a "
            "trading day"
        )
    return expiry_datetime(on, settlement=Settlement.PM)


def realized_vol(closes: Sequence[float], sessions: int = REALIZED_SESSIONS) -> float | None:
    """Annualised realised vol of the last ``sessions`` daily log returns of ``closes``.

    Uses the last ``sessions + 1`` closes (oldest first), the sample standard deviation
    (ddof 1) and sqrt(252). None when there are fewer closes or the result is not positive.

    Examples
    --------
    >>> round(realized_vol([100.0, 101.0, 100.0], sessions=2), 4)
    0.2234

    """
    if len(closes) < sessions + 1:
        return None
    window = np.asarray(closes[-(sessions + 1) :], dtype=np.float64)
    returns = np.diff(np.log(window))
    vol = float(np.std(returns, ddof=1) * math.sqrt(_TRADING_DAYS))
    return vol if math.isfinite(vol) and vol > 0 else None


@dataclass(frozen=True, slots=True)
class PortfolioBook:
    """A portfolio's book as held on one date.

    ``copy`` marks a book that is not the stored one (a what-if session's baseline or pro
    forma book): measures run on it, but nothing is stored from it.
    """

    portfolio_id: uuid.UUID
    name: str
    on: date
    positions: tuple[BookPosition, ...]
    copy: bool = False


BookRef = str | uuid.UUID | PortfolioBook
"""A portfolio reference (name or id) or a loaded, possibly modified, :class:`PortfolioBook`."""


@dataclass(frozen=True, slots=True)
class StoredGreeks:
    """What :meth:`RiskReports.store_position_greeks` wrote."""

    portfolio_id: uuid.UUID
    on: date
    written: int
    excluded: tuple[ExcludedPosition, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""
        return {
            "portfolio_id": str(self.portfolio_id),
            "date": self.on.isoformat(),
            "written": self.written,
            "excluded": [e.to_dict() for e in self.excluded],
        }


def _closes_by_ticker(
    session: Session, tickers: Sequence[str], on: date
) -> dict[str, list[tuple[date, float]]]:
    rows = history_repo.read_closes(
        session, tickers=tickers, start=on - timedelta(days=_HISTORY_DAYS), end=on
    )
    out: dict[str, list[tuple[date, float]]] = {}
    for ticker, day, close in rows:
        out.setdefault(ticker, []).append((day, float(close)))
    return out


def _ratio(value: float, *, what: str) -> Decimal:
    number = Decimal(repr(value)).quantize(_RATIO_PLACES)
    if abs(number) >= _RATIO_LIMIT:
        raise ValueError(f"{what} = {value} does not fit position_greeks (|value| < 1e10)")
    return number


def _money(value: float | None) -> str | None:
    """Money as a decimal string to the cent (None for a missing or non-finite value)."""
    if value is None or not math.isfinite(value):
        return None
    return str(Decimal(repr(float(value))).quantize(_CENTS))


def _num(value: float | None, places: int = 6) -> float | None:
    """A float rounded for JSON (None when missing or not finite)."""
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), places)


def _labels(positions: Sequence[BookPosition]) -> tuple[str, ...]:
    """Unique position labels: the symbol, with the entry date when a symbol repeats."""
    counts: dict[str, int] = {}
    for p in positions:
        counts[p.symbol] = counts.get(p.symbol, 0) + 1
    out: list[str] = []
    for i, p in enumerate(positions):
        label = p.symbol if counts[p.symbol] == 1 else f"{p.symbol}@{p.entry_date.isoformat()}"
        out.append(label if label not in out else f"{label}#{i}")
    return tuple(out)


@dataclass(frozen=True)
class _FactorModel:
    """The factor model of a book's underlyings on one date (internal)."""

    sessions: tuple[date, ...]
    underlyings: tuple[str, ...]
    univariate: UnivariateBetas
    ridge: MultivariateBetas
    covariance: FactorCovariance
    underlying_returns: FloatArray


@dataclass(frozen=True)
class FactorReport:
    """What :meth:`RiskReports.factors` computed and stored for a portfolio on a date.

    Betas are per underlying (``univariate`` the seed's, ``ridge`` the shrunk joint fit);
    ``position_exposure`` is each position's delta-dollar exposure (0 when not priced);
    ``exposures`` uses the univariate betas (stored), ``ridge_exposures`` the ridge betas;
    ``decomposition`` is built on the ridge betas per underlying. ``unmodelled`` lists the
    exposed underlyings left out of the decomposition (no specific variance: too little
    history).
    """

    portfolio_id: uuid.UUID
    name: str
    on: date
    window: int
    positions: tuple[BookPosition, ...]
    position_exposure: FloatArray
    univariate: UnivariateBetas
    ridge: MultivariateBetas
    covariance: FactorCovariance
    exposures: PortfolioFactorExposures
    ridge_exposures: PortfolioFactorExposures
    decomposition: RiskDecomposition
    excluded: tuple[ExcludedPosition, ...]
    unmodelled: tuple[str, ...]
    stored_betas: int
    stored_exposures: int
    stored_covariances: int

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types (money as decimal strings to the cent; betas to 6 places)."""
        uni = self.univariate
        factors = list(uni.factors)
        d = self.decomposition
        return {
            "portfolio_id": str(self.portfolio_id),
            "portfolio": self.name,
            "date": self.on.isoformat(),
            "window": self.window,
            "factors": factors,
            "betas": [
                {
                    "underlying": u,
                    "factor": f,
                    "beta": _num(float(uni.beta[i, k])),
                    "r_squared": _num(float(uni.r_squared[i, k])),
                    "observations": int(uni.n_obs[i, k]),
                    "flags": list(uni.flags(i, k)),
                }
                for i, u in enumerate(uni.positions)
                for k, f in enumerate(factors)
            ],
            "ridge_betas": [
                {
                    "underlying": u,
                    "betas": {f: _num(float(self.ridge.beta[i, k])) for k, f in enumerate(factors)},
                    "specific_volatility_annual": _num(
                        math.sqrt(float(self.ridge.specific_var[i]) * 252)
                        if math.isfinite(float(self.ridge.specific_var[i]))
                        else None
                    ),
                    "r_squared": _num(float(self.ridge.r_squared[i])),
                    "observations": int(self.ridge.n_obs[i]),
                    "flags": ["limited_history"] if self.ridge.limited_history[i] else [],
                }
                for i, u in enumerate(self.ridge.positions)
            ],
            "exposures": [
                {
                    "factor": f,
                    "dollars": _money(float(self.exposures.dollar_exposure[k])),
                    "beta": _num(float(self.exposures.beta[k])),
                    "ridge_dollars": _money(float(self.ridge_exposures.dollar_exposure[k])),
                }
                for k, f in enumerate(factors)
            ],
            "gross_exposure": _money(self.exposures.base),
            "covariance": {
                "lambda": self.covariance.lam,
                "observations": self.covariance.n_obs,
                "annualised_volatility": {
                    f: _num(float(v))
                    for f, v in zip(factors, self.covariance.annualised_volatility(), strict=True)
                },
                "correlation": [
                    [_num(float(x), 4) for x in row] for row in self.covariance.correlation
                ],
            },
            "risk": {
                "annual_volatility": _money(d.annual_total_volatility),
                "annual_factor_volatility": _money(d.annual_factor_volatility),
                "annual_specific_volatility": _money(d.annual_specific_volatility),
                "factor_percent": _num(d.factor_percent, 4),
                "specific_percent": _num(d.specific_percent, 4),
                "contributions": [
                    {
                        "factor": f,
                        "annual_contribution": _money(float(d.annual_contribution[k])),
                        "percent": _num(float(d.percent[k]), 4),
                    }
                    for k, f in enumerate(factors)
                ],
                "unmodelled": list(self.unmodelled),
            },
            "stored": {
                "position_factor_betas": self.stored_betas,
                "portfolio_factor_exposures": self.stored_exposures,
                "factor_covariance_matrix": self.stored_covariances,
            },
            "excluded": [e.to_dict() for e in self.excluded],
        }


@dataclass(frozen=True)
class CorrelationReport:
    """What :meth:`RiskReports.correlation` computed and stored (priced positions only)."""

    portfolio_id: uuid.UUID
    name: str
    on: date
    window: int
    positions: tuple[BookPosition, ...]
    weights: FloatArray
    correlations: PositionCorrelations
    metrics: DiversificationMetrics
    excluded: tuple[ExcludedPosition, ...]
    stored: int
    below_threshold: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types (correlations to 6 places, weights as money strings)."""
        m = self.metrics
        return {
            "portfolio_id": str(self.portfolio_id),
            "portfolio": self.name,
            "date": self.on.isoformat(),
            "window": self.window,
            "positions": list(self.correlations.positions),
            "weights": [_money(float(w)) for w in self.weights],
            "matrix": [
                [_num(float(x)) if ok else None for x, ok in zip(row, usable, strict=True)]
                for row, usable in zip(
                    self.correlations.matrix, self.correlations.usable, strict=True
                )
            ],
            "insufficient_pairs": [p.to_dict() for p in self.correlations.insufficient_pairs],
            "average_correlation": _num(m.average_correlation),
            "diversification_score": _num(m.diversification_score),
            "effective_positions": _num(m.effective_positions),
            "correlation_adjusted_effective_positions": _num(
                m.correlation_adjusted_effective_positions
            ),
            "concentration_score": _num(m.concentration_score),
            "clusters": [
                {
                    "positions": list(c.positions),
                    "average_correlation": _num(c.average_correlation),
                    "gross_exposure": _money(c.gross_exposure),
                    "share": _num(c.share),
                }
                for c in m.clusters
            ],
            "stored": self.stored,
            "excluded": [e.to_dict() for e in self.excluded],
            "below_threshold": list(self.below_threshold),
        }


@dataclass(frozen=True)
class StressOutcome:
    """A portfolio's stress report on a date, with the inputs the engine was given.

    ``betas`` are underlying -> stress factor -> beta (ridge betas; the rate beta converted to
    the stress engine's decimal-yield convention), ``correlation`` the factor correlation used
    for propagation (None when not propagated).
    """

    portfolio_id: uuid.UUID
    name: str
    on: date
    window: int
    positions: tuple[BookPosition, ...]
    marks: Marks
    betas: Mapping[str, Mapping[str, float]]
    correlation: FactorCorrelation | None
    report: StressReport

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types: money to the cent, impacts and shocks to 6 places."""
        r = self.report
        symbols = [p.symbol for p in self.positions]
        return {
            "portfolio_id": str(self.portfolio_id),
            "portfolio": self.name,
            "date": self.on.isoformat(),
            "window": self.window,
            "propagated": r.propagated,
            "spot_vol_rule": {
                "k": r.spot_vol_rule.k,
                "floor": r.spot_vol_rule.floor,
                "cap": r.spot_vol_rule.cap,
            },
            "gross_value": _money(r.gross_value),
            "net_value": _money(r.net_value),
            "long_value": _money(r.long_value),
            "short_value": _money(r.short_value),
            "scenarios": [
                {
                    "key": res.scenario.key,
                    "name": res.scenario.name,
                    "category": res.scenario.category,
                    "pnl": _money(res.pnl),
                    "direct_pnl": _money(res.direct_pnl),
                    "correlated_pnl": _money(res.correlated_pnl),
                    "impact": _num(res.impact),
                    "severity": res.severity,
                    "factor_shocks": {k: _num(v) for k, v in sorted(res.factor_shocks.items())},
                    "implied_shocks": {k: _num(v) for k, v in sorted(res.implied_shocks.items())},
                    "pnl_by_underlying": {
                        k: _money(v) for k, v in sorted(res.pnl_by_underlying.items())
                    },
                    "pnl_by_position": {
                        s: _money(float(v))
                        for s, v in zip(symbols, res.pnl_by_position, strict=True)
                        if math.isfinite(float(v))
                    },
                    "capped_positions": [symbols[i] for i in res.capped_positions],
                }
                for res in r.results
            ],
            "betas": {
                u: {f: _num(b) for f, b in sorted(by.items())}
                for u, by in sorted(self.betas.items())
            },
            "unmapped_underlyings": list(r.unmapped_underlyings),
            "excluded": [{"symbol": e.symbol, "status": e.status.value} for e in r.excluded],
        }


def _delta_dollars(
    positions: Sequence[BookPosition], valuation: BookValuation
) -> tuple[FloatArray, tuple[ExcludedPosition, ...]]:
    """Each position's delta-dollar exposure (0 when not priced) and the positions not priced."""
    ok = np.array([s is MarkStatus.OK for s in valuation.status], dtype=bool)
    dollars = np.where(ok, np.nan_to_num(valuation.delta * valuation.spot), 0.0)
    excluded = tuple(
        ExcludedPosition(p.symbol, p.underlying, status)
        for p, status in zip(positions, valuation.status, strict=True)
        if status is not MarkStatus.OK
    )
    return dollars, excluded


def _refuse_pro_forma(book: PortfolioBook) -> None:
    """Storing rows needs the stored book: never a copy, never one with unstored positions."""
    if book.copy:
        raise ValueError(
            f"the book of {book.name!r} is a copy (a what-if book): measure it with store=False"
        )
    new = [p.symbol for p in book.positions if p.position_id is None]
    if new:
        raise ValueError(
            f"the book of {book.name!r} holds positions that are not stored "
            f"({', '.join(new[:5])}): measure a pro forma book with store=False"
        )


def _stress_betas(model: _FactorModel) -> dict[str, dict[str, float]]:
    """The ridge betas per underlying in the stress engine's factor names and units.

    An underlying with too little history (limited fit) gets no betas: the stress engine then
    lists it as unmapped instead of silently not moving it.
    """
    out: dict[str, dict[str, float]] = {}
    ridge = model.ridge
    for i, underlying in enumerate(ridge.positions):
        if ridge.limited_history[i]:
            continue
        by: dict[str, float] = {}
        for k, factor in enumerate(ridge.factors):
            beta = float(ridge.beta[i, k])
            if factor == RATES_FACTOR:
                # factors.py's Rates is the yield change in percentage points (a beta is the
                # return per 1 pp), stress.py's Interest_Rate the change in decimals (0.01 is
                # 100 bp, the beta minus the duration): the same sensitivity is 100x the beta.
                by[RATE_FACTOR] = beta * 100.0
            else:
                by[factor] = beta
        out[underlying] = by
    return out


def _monte_carlo_inputs(
    model: _FactorModel,
) -> tuple[dict[str, list[float]], FloatArray, dict[str, float]]:
    """The Monte Carlo's betas, factor covariance and specific vols from the factor model.

    Underlyings whose ridge betas or specific variance are not finite (too little history)
    are left out (the Monte Carlo lists their positions as ``no_factor_model``).
    """
    ridge = model.ridge
    betas = {
        u: ridge.beta[i].tolist()
        for i, u in enumerate(model.underlyings)
        if np.all(np.isfinite(ridge.beta[i]))
    }
    specific = {
        u: math.sqrt(float(ridge.specific_var[i]))
        for i, u in enumerate(model.underlyings)
        if np.isfinite(ridge.specific_var[i]) and ridge.specific_var[i] >= 0
    }
    return betas, model.covariance.covariance, specific


def _stress_correlation(covariance: FactorCovariance) -> FactorCorrelation:
    """The EWMA factor correlation and daily vols in the stress engine's names and units.

    Rates becomes ``Interest_Rate`` and its vol (percentage points) is divided by 100 to be a
    decimal yield change, the unit of the rate shocks.
    """
    names = tuple(RATE_FACTOR if f == RATES_FACTOR else f for f in covariance.factors)
    scale = np.array([0.01 if f == RATES_FACTOR else 1.0 for f in covariance.factors])
    vols = covariance.volatility * scale
    if not np.all(vols > 0):
        flat = [f for f, v in zip(covariance.factors, vols, strict=True) if not v > 0]
        raise ValueError(
            f"factors {flat} did not move over the window: their correlations are undefined, "
            "so the stress cannot propagate (use --no-propagation or store more history)"
        )
    return FactorCorrelation(names, covariance.correlation, vols)


VAR_WINDOW = 500
"""Sessions of history a historical VaR replays (the issue's 500 days)."""
BACKTEST_DAYS = 250
"""Days a VaR backtest scores (one trading year)."""
MC_PATHS = 10_000


@dataclass(frozen=True)
class VarOutcome:
    """VaR and ES of a book on a date by three methods, on the same marks.

    ``historical``: the last ``window`` sessions' log returns of each underlying applied to
    today's spots, every position fully repriced (vol held). ``delta_gamma``: the
    delta-gamma-normal approximation with the daily covariance of the same returns.
    ``monte_carlo``: factor returns ~ N(0, EWMA covariance x h) through the ridge betas plus
    specific noise, fully repriced (seeded, reproducible).
    """

    portfolio_id: uuid.UUID
    name: str
    on: date
    window: int
    historical: VarReport
    delta_gamma: DeltaGammaNormalVar
    monte_carlo: VarReport | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: money to the cent, per method, level and horizon."""

        def figures(items: Sequence[RiskFigure]) -> list[dict[str, Any]]:
            return [
                {
                    "confidence": f.confidence,
                    "horizon_days": f.horizon_days,
                    "var": _money(f.var),
                    "es": _money(f.es),
                }
                for f in items
            ]

        return {
            "portfolio_id": str(self.portfolio_id),
            "portfolio": self.name,
            "date": self.on.isoformat(),
            "window": self.window,
            "current_value": _money(self.historical.current_value),
            "historical": figures(self.historical.figures),
            "historical_sqrt_scaled": figures(self.historical.scaled_figures),
            "delta_gamma_normal": figures(self.delta_gamma.figures),
            "monte_carlo": None if self.monte_carlo is None else figures(self.monte_carlo.figures),
            "excluded": [
                {"symbol": e.symbol, "reason": e.reason} for e in self.historical.excluded
            ],
        }


@dataclass(frozen=True)
class BacktestOutcome:
    """Kupiec and Christoffersen tests of the book's historical VaR on its own history.

    The current book is replayed over past sessions (its positions as held today: the usual
    hypothetical-P&L backtest): each day's 1-day P&L from full revaluation, each day's VaR
    from the ``window`` days before it, exceptions when the loss exceeds the VaR.
    """

    portfolio_id: uuid.UUID
    name: str
    on: date
    window: int
    confidence: float
    result: VarBacktest

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary of both tests."""
        r = self.result
        return {
            "portfolio_id": str(self.portfolio_id),
            "portfolio": self.name,
            "date": self.on.isoformat(),
            "window": self.window,
            "confidence": self.confidence,
            "days": r.n,
            "exceptions": r.exceptions,
            "expected_exceptions": round(r.n * (1 - self.confidence), 2),
            "kupiec": {
                "lr": round(r.kupiec.lr, 6),
                "p_value": round(r.kupiec.p_value, 6),
                "rejected_at_5pct": r.kupiec.rejects(),
            },
            "christoffersen": {
                "lr_independence": round(r.christoffersen.lr_ind, 6),
                "p_independence": round(r.christoffersen.p_value_ind, 6),
                "lr_conditional_coverage": round(r.christoffersen.lr_cc, 6),
                "p_conditional_coverage": round(r.christoffersen.p_value_cc, 6),
                "rejected_at_5pct": r.christoffersen.rejects_conditional_coverage(),
            },
        }


class RiskReports:
    """Exposure and Greek reports of portfolios on one database, for one caller.

    Parameters
    ----------
    db
        The database.
    caller
        Who acts; a caller with a ``user_id`` sees only its own portfolios. None is the local
        desktop user (the CLI), not scoped.

    """

    def __init__(
        self, db: Database, caller: Caller | None = None, *, memo: ContentCache | None = RISK_MEMO
    ) -> None:
        self.db = db
        self.caller = caller if caller is not None else Caller.local(db.actor)
        self.memo = memo

    def _memoized(self, parts: tuple[object, ...], compute: Callable[[], _T]) -> _T:
        """``compute()``, remembered under the content of ``parts`` (every input it reads).

        With ``memo=None`` every call computes (no memo at all).
        """
        if self.memo is None:
            return compute()
        return self.memo.get_or_compute(content_key(*parts), compute)

    # -- inputs ---------------------------------------------------------------------------

    def book(self, portfolio_ref: str | uuid.UUID, on: date) -> PortfolioBook:
        """The portfolio's positions held on ``on`` (entered on or before it), as domain values.

        Raises
        ------
        NotFoundError
            For a portfolio the caller cannot see.

        """
        detail = Portfolios(self.db, self.caller).get(portfolio_ref)
        positions = tuple(p.to_book() for p in detail.positions if p.entry_date <= on)
        return PortfolioBook(detail.portfolio.portfolio_id, detail.portfolio.name, on, positions)

    def _book_of(self, portfolio: BookRef, on: date) -> PortfolioBook:
        """The book to measure: loaded from the store, or the one given (its date must match)."""
        if isinstance(portfolio, PortfolioBook):
            if portfolio.on != on:
                raise ValueError(
                    f"the book given is held on {portfolio.on.isoformat()}, not on "
                    f"{on.isoformat()}: measure a book on its own date"
                )
            return portfolio
        return self.book(portfolio, on)

    def marks(
        self,
        portfolio: str | uuid.UUID | PortfolioBook | Sequence[BookPosition],
        on: date,
        *,
        rate: float = DEFAULT_RATE,
        extra_symbols: Sequence[str] = (),
    ) -> Marks:
        """The marks of a book on ``on`` (module docstring for the rules).

        ``portfolio`` is a portfolio reference (name or id), a loaded :class:`PortfolioBook`
        or the positions themselves. ``extra_symbols`` get spots too (e.g. a benchmark).
        """
        positions = self._positions(portfolio, on)
        when = valuation_time(on)
        symbols = sorted({p.underlying for p in positions} | {s.upper() for s in extra_symbols})
        options = [p for p in positions if isinstance(p.instrument, OptionContract)]
        contracts = [p.instrument for p in options if isinstance(p.instrument, OptionContract)]
        with self.db.unit_of_work_for(self.caller, read_only=True) as uow:
            closes = _closes_by_ticker(uow.session, symbols, on) if symbols else {}
            ivs = wb_repo.newest_option_ivs(uow.session, contracts=contracts, until=when)
        spots = {t: rows[-1][1] for t, rows in closes.items() if rows and rows[-1][0] == on}
        realized: dict[str, float | None] = {}
        vols: dict[str, float] = {}
        sources: dict[str, str] = {}
        for p in options:
            contract = p.instrument
            assert isinstance(contract, OptionContract)
            iv = ivs.get(wb_repo.option_contract_key(contract))
            if iv is not None:
                vols[p.symbol], sources[p.symbol] = iv, VOL_SNAPSHOT
                continue
            if p.underlying not in realized:
                history = closes.get(p.underlying, [])
                realized[p.underlying] = realized_vol([c for _, c in history])
            vol = realized[p.underlying]
            if vol is not None:
                vols[p.symbol], sources[p.symbol] = vol, VOL_REALIZED
        return Marks(when, spots=spots, vols=vols, vol_sources=sources, rate=rate)

    def _positions(
        self, portfolio: str | uuid.UUID | PortfolioBook | Sequence[BookPosition], on: date
    ) -> tuple[BookPosition, ...]:
        if isinstance(portfolio, PortfolioBook):
            return portfolio.positions
        if isinstance(portfolio, str | uuid.UUID):
            return self.book(portfolio, on).positions
        return tuple(portfolio)

    def _valued(
        self, portfolio_ref: BookRef, on: date, rate: float, extra: Sequence[str] = ()
    ) -> tuple[PortfolioBook, Marks, BookValuation]:
        book = self._book_of(portfolio_ref, on)
        marks = self.marks(book, on, rate=rate, extra_symbols=extra)
        return book, marks, value_book(book.positions, marks)

    # -- reports --------------------------------------------------------------------------

    def exposures(
        self,
        portfolio_ref: BookRef,
        on: date,
        benchmark: str = "SPY",
        *,
        betas: Mapping[str, float] | None = None,
        rate: float = DEFAULT_RATE,
    ) -> Exposures:
        """Market value and exposures of the portfolio on ``on``.

        ``betas`` maps underlyings to their beta to ``benchmark`` (the benchmark's own is 1.0);
        underlyings without one are reported in ``missing_betas``. The benchmark price is its
        close on ``on`` (None when not stored: the benchmark-share figure is then None).
        """
        symbol = benchmark.strip().upper()
        if not symbol:
            raise ValueError("benchmark must be a ticker such as SPY")
        book, marks, valuation = self._valued(portfolio_ref, on, rate, extra=(symbol,))
        return compute_exposures(
            book.positions,
            valuation,
            on=on,
            benchmark=symbol,
            benchmark_price=marks.spots.get(symbol),
            betas=betas,
        )

    def benchmark_betas(
        self,
        portfolio: BookRef,
        on: date,
        benchmark: str = "SPY",
        *,
        window: int = REGRESSION_WINDOW,
    ) -> dict[str, float]:
        """Each underlying's beta to ``benchmark`` on ``on`` (the benchmark's own is 1.0).

        The seed's univariate beta: OLS with intercept of the underlying's daily simple
        returns on the benchmark's over the last ``window`` sessions, capped at +/-3. An
        underlying with fewer than 60 common observations has no beta (left out, so the
        exposures report lists it in ``missing_betas``).

        Raises
        ------
        HistoryMissingError
            When the benchmark has no close in the window.

        """
        symbol = benchmark.strip().upper()
        if not symbol:
            raise ValueError("benchmark must be a ticker such as SPY")
        book = self._book_of(portfolio, on)
        underlyings = sorted({p.underlying for p in book.positions} - {symbol})
        days, closes = self._aligned_closes([symbol, *underlyings], on, window + 1)
        if not np.isfinite(closes[symbol]).any():
            raise HistoryMissingError(
                f"no price history for the benchmark {symbol} between {days[0].isoformat()} "
                f"and {on.isoformat()}: run `riskdesk history synth` or `riskdesk history "
                "import FILE` first"
            )
        out: dict[str, float] = {symbol: 1.0}
        if not underlyings:
            return out
        returns = np.column_stack([simple_returns(closes[u])[:, 0] for u in underlyings])
        fit = univariate_betas(
            returns,
            simple_returns(closes[symbol]),
            window=window,
            positions=underlyings,
            factors=(symbol,),
        )
        for i, u in enumerate(underlyings):
            if not fit.limited_history[i, 0] and math.isfinite(float(fit.beta[i, 0])):
                out[u] = float(fit.beta[i, 0])
        return out

    def greeks(
        self,
        portfolio_ref: BookRef,
        on: date,
        *,
        by: Sequence[Grouping | str] = tuple(Grouping),
        rate: float = DEFAULT_RATE,
    ) -> GreeksReport:
        """The portfolio's Greeks on ``on``, totalled and bucketed ``by`` each grouping."""
        book, _, valuation = self._valued(portfolio_ref, on, rate)
        return aggregate_greeks(book.positions, valuation, on=on, by=by)

    def store_position_greeks(
        self, portfolio_ref: BookRef, on: date, *, rate: float = DEFAULT_RATE
    ) -> StoredGreeks:
        """Write one ``position_greeks`` row per priced position for ``on``.

        Re-running the same date replaces that date's rows of the portfolio's positions (a
        position no longer priced loses its row); it never duplicates. Greeks are in money
        (quantity and multiplier applied) as :func:`value_book` gives them; ``rho`` is not
        computed (NULL).
        """
        book, _, valuation = self._valued(portfolio_ref, on, rate)
        _refuse_pro_forma(book)
        rows: list[PositionGreeks] = []
        excluded: list[ExcludedPosition] = []
        for i, p in enumerate(book.positions):
            status = valuation.status[i]
            if status is not MarkStatus.OK:
                excluded.append(ExcludedPosition(p.symbol, p.underlying, status))
                continue
            assert p.position_id is not None
            rows.append(
                PositionGreeks(
                    position_id=p.position_id,
                    calculation_date=on,
                    delta=_ratio(float(valuation.delta[i]), what=f"{p.symbol} delta"),
                    gamma=_ratio(float(valuation.gamma[i]), what=f"{p.symbol} gamma"),
                    theta=_ratio(float(valuation.theta[i]), what=f"{p.symbol} theta"),
                    vega=_ratio(float(valuation.vega[i]), what=f"{p.symbol} vega"),
                    rho=None,
                )
            )
        ids = [p.position_id for p in book.positions if p.position_id is not None]
        with self.db.unit_of_work_for(self.caller) as uow:
            portfolio_repo.replace_position_greeks(uow.session, position_ids=ids, day=on, rows=rows)
            result = StoredGreeks(book.portfolio_id, on, len(rows), tuple(excluded))
            uow.audit(
                "risk.position_greeks_stored",
                resource_type="portfolio",
                resource_id=book.portfolio_id,
                payload={"date": on.isoformat(), "written": len(rows), "excluded": len(excluded)},
            )
        return result

    # -- factor model, correlations, stress -----------------------------------------------

    def _aligned_closes(
        self, tickers: Sequence[str], on: date, count: int
    ) -> tuple[tuple[date, ...], dict[str, FloatArray]]:
        """Closes of ``tickers`` on the last ``count`` sessions up to ``on`` (NaN when missing)."""
        days = last_sessions(on, count)
        index = {d: i for i, d in enumerate(days)}
        wanted = sorted(set(tickers))
        with self.db.unit_of_work_for(self.caller, read_only=True) as uow:
            rows = history_repo.read_closes(uow.session, tickers=wanted, start=days[0], end=on)
        out = {t: np.full(len(days), np.nan) for t in wanted}
        for ticker, day, close in rows:
            i = index.get(day)
            if i is not None:
                out[ticker][i] = float(close)
        return days, out

    def _factor_model(
        self, positions: Sequence[BookPosition], on: date, window: int
    ) -> _FactorModel:
        if isinstance(window, bool) or not isinstance(window, int) or window < MIN_OBSERVATIONS:
            raise ValueError(
                f"window must be a whole number of sessions >= {MIN_OBSERVATIONS} (the fewest "
                f"observations of a beta), got {window!r}"
            )
        if not positions:
            raise ValueError(f"the portfolio holds no position on {on.isoformat()}")
        underlyings = tuple(sorted({p.underlying for p in positions}))
        proxies = list(FACTOR_PROXIES.values())
        days, closes = self._aligned_closes([*proxies, *underlyings], on, window + 1)
        return self._fit_factor_model(days, closes, underlyings, on, window)

    def _fit_factor_model(
        self,
        days: tuple[date, ...],
        closes: Mapping[str, FloatArray],
        underlyings: tuple[str, ...],
        on: date,
        window: int,
    ) -> _FactorModel:
        """The factor model fitted on the aligned closes ``window + 1`` sessions up to ``on``.

        The fit is a pure function of the closes of the proxies and ``underlyings`` on
        ``days``: it is memoized under their content (any new or changed close is a new key).
        """
        proxies = list(FACTOR_PROXIES.values())
        missing = [t for t in proxies if not np.isfinite(closes[t]).any()]
        if missing:
            raise HistoryMissingError(
                f"no price history for the factor proxies {', '.join(missing)} between "
                f"{days[0].isoformat()} and {on.isoformat()}: run `riskdesk history synth "
                "--include-factors` or `riskdesk history import FILE` first"
            )
        used = {t: closes[t] for t in dict.fromkeys([*proxies, *underlyings])}

        def fit() -> _FactorModel:
            names, factor_returns = factor_returns_from_closes({t: used[t] for t in proxies})
            returns = np.column_stack([simple_returns(used[u])[:, 0] for u in underlyings])
            uni = univariate_betas(
                returns, factor_returns, window=window, positions=underlyings, factors=names
            )
            ridge = multivariate_betas(
                returns, factor_returns, window=window, positions=underlyings, factors=names
            )
            covariance = ewma_covariance(factor_returns, factors=names)
            return _FactorModel(days, underlyings, uni, ridge, covariance, returns)

        key = ("risk.factor_model/1", dict(FACTOR_PROXIES), days, used, underlyings, window)
        return self._memoized(key, fit)

    def factors(
        self,
        portfolio_ref: BookRef,
        on: date,
        window: int = REGRESSION_WINDOW,
        *,
        rate: float = DEFAULT_RATE,
        store: bool = True,
    ) -> FactorReport:
        """The factor model of the portfolio on ``on``, stored (module docstring for the rules).

        Writes, replacing that date's rows: ``position_factor_betas`` (the univariate beta of
        each held position's underlying, with R^2 and observations), the portfolio's
        ``portfolio_factor_exposures`` (univariate; ``exposure_value`` is the dollars over the
        gross delta-adjusted exposure) and ``factor_covariance_matrix`` (daily EWMA). With
        ``store=False`` nothing is written (the ``stored_*`` counts are 0).

        Raises
        ------
        HistoryMissingError
            When a factor proxy has no close in the window (names them, says how to add them).
        ValueError
            When asked to store the rows of a pro forma book (positions not stored).

        """
        book, _, valuation = self._valued(portfolio_ref, on, rate)
        if store:
            _refuse_pro_forma(book)
        positions = book.positions
        model = self._factor_model(positions, on, window)
        exposure, excluded = _delta_dollars(positions, valuation)
        names = model.univariate.factors
        uidx = {u: i for i, u in enumerate(model.underlyings)}
        rows = np.array([uidx[p.underlying] for p in positions], dtype=np.int64)
        labels = _labels(positions)
        exposures = portfolio_factor_exposures(
            exposure, model.univariate.beta[rows], positions=labels, factors=names
        )
        ridge_exposures = portfolio_factor_exposures(
            exposure, model.ridge.beta[rows], positions=labels, factors=names
        )
        per_underlying = np.bincount(rows, weights=exposure, minlength=len(model.underlyings))
        specific = model.ridge.specific_var
        unknown = ~np.isfinite(specific) & (per_underlying != 0)
        unmodelled = tuple(u for u, bad in zip(model.underlyings, unknown, strict=True) if bad)
        decomposition = risk_decomposition(
            portfolio_factor_exposures(
                np.where(unknown, 0.0, per_underlying),
                model.ridge.beta,
                positions=model.underlyings,
                factors=names,
            ),
            model.covariance,
            specific,
        )
        uni = model.univariate
        report = FactorReport(
            portfolio_id=book.portfolio_id,
            name=book.name,
            on=on,
            window=window,
            positions=positions,
            position_exposure=exposure,
            univariate=uni,
            ridge=model.ridge,
            covariance=model.covariance,
            exposures=exposures,
            ridge_exposures=ridge_exposures,
            decomposition=decomposition,
            excluded=excluded,
            unmodelled=unmodelled,
            stored_betas=0,
            stored_exposures=0,
            stored_covariances=0,
        )
        if not store:
            return report
        with self.db.unit_of_work_for(self.caller) as uow:
            ids = risk_repo.ensure_factor_definitions(
                uow.session, specs=[FACTOR_ROWS[f] for f in names]
            )
            fid = [ids[FACTOR_ROWS[f].name] for f in names]
            beta_rows = [
                PositionFactorBeta(
                    position_id=p.position_id,
                    factor_id=fid[k],
                    calculation_date=on,
                    beta=_ratio(float(uni.beta[i, k]), what=f"{p.symbol} beta to {f}"),
                    r_squared=_ratio(float(uni.r_squared[i, k]), what=f"{p.symbol} R^2 to {f}"),
                    observations=int(uni.n_obs[i, k]),
                )
                for p, i in zip(positions, rows, strict=True)
                if p.position_id is not None
                for k, f in enumerate(names)
            ]
            position_ids = [p.position_id for p in positions if p.position_id is not None]
            risk_repo.replace_position_factor_betas(
                uow.session, position_ids=position_ids, day=on, rows=beta_rows
            )
            exposure_rows = [
                PortfolioFactorExposure(
                    portfolio_id=book.portfolio_id,
                    factor_id=fid[k],
                    calculation_date=on,
                    exposure_value=_ratio(float(exposures.beta[k]), what=f"beta to {f}"),
                    exposure_dollar=Decimal(repr(float(exposures.dollar_exposure[k]))).quantize(
                        _CENTS
                    ),
                )
                for k, f in enumerate(names)
            ]
            risk_repo.replace_portfolio_factor_exposures(
                uow.session, portfolio_id=book.portfolio_id, day=on, rows=exposure_rows
            )
            cov = model.covariance
            covariance_rows = [
                FactorCovarianceRow(
                    factor1_id=min(fid[k], fid[j]),
                    factor2_id=max(fid[k], fid[j]),
                    calculation_date=on,
                    covariance=_ratio(float(cov.covariance[k, j]), what="factor covariance"),
                    correlation=_ratio(float(cov.correlation[k, j]), what="factor correlation"),
                )
                for k in range(len(names))
                for j in range(k, len(names))
            ]
            risk_repo.replace_factor_covariance(
                uow.session, factor_ids=fid, day=on, rows=covariance_rows
            )
            uow.audit(
                "risk.factors_stored",
                resource_type="portfolio",
                resource_id=book.portfolio_id,
                payload={
                    "date": on.isoformat(),
                    "window": window,
                    "position_factor_betas": len(beta_rows),
                    "portfolio_factor_exposures": len(exposure_rows),
                    "factor_covariance_matrix": len(covariance_rows),
                },
            )
        return dataclasses.replace(
            report,
            stored_betas=len(beta_rows),
            stored_exposures=len(exposure_rows),
            stored_covariances=len(covariance_rows),
        )

    def correlation(
        self,
        portfolio_ref: BookRef,
        on: date,
        window: int = CORRELATION_WINDOW,
        *,
        rate: float = DEFAULT_RATE,
        store: bool = True,
        min_position_value: float = 0.0,
        min_portfolio_weight: float = 0.0,
    ) -> CorrelationReport:
        """Position correlations and diversification of the priced positions on ``on``, stored.

        Correlations are of the underlyings' daily log returns over the last ``window``
        sessions (pairwise, at least 20 common days); the weights are the delta-dollar
        exposures. Usable pairs replace that date's ``position_correlation_matrix`` rows of
        the portfolio's positions; with ``store=False`` nothing is written (``stored`` is 0).

        Seed 002's significance filter: a priced position takes part only when its absolute
        delta-dollar exposure is at least ``min_position_value`` and its share of the priced
        positions' gross delta-dollar exposure at least ``min_portfolio_weight`` (the seed's
        defaults, 10,000 and 0.01, bound a book to 100 positions and 4,950 pairs; the default
        here, 0 and 0, keeps every priced position). The others are listed in
        ``below_threshold``.

        Raises
        ------
        ValueError
            When asked to store the pairs of a pro forma book (positions not stored).

        """
        if isinstance(window, bool) or not isinstance(window, int) or window < MIN_OVERLAP:
            raise ValueError(
                f"window must be a whole number of sessions >= {MIN_OVERLAP} (the fewest common "
                f"days of a correlation), got {window!r}"
            )
        book, _, valuation = self._valued(portfolio_ref, on, rate)
        if store:
            _refuse_pro_forma(book)
        exposure, excluded = _delta_dollars(book.positions, valuation)
        priced = [i for i, s in enumerate(valuation.status) if s is MarkStatus.OK]
        if not priced:
            raise ValueError(
                f"no position of {book.name!r} is priced on {on.isoformat()} "
                "(see `riskdesk risk exposures` for why)"
            )
        if min_position_value < 0 or not 0 <= min_portfolio_weight < 1:
            raise ValueError(
                "min_position_value must be >= 0 and min_portfolio_weight in [0, 1), got "
                f"{min_position_value} and {min_portfolio_weight}"
            )
        gross = float(np.abs(exposure[priced]).sum())
        significant = [
            i
            for i in priced
            if abs(exposure[i]) >= min_position_value
            and (gross > 0 and abs(exposure[i]) / gross >= min_portfolio_weight)
        ]
        kept = set(significant)
        below = tuple(book.positions[i].symbol for i in priced if i not in kept)
        if not significant:
            raise InsignificantBookError(
                f"no priced position of {book.name!r} meets the thresholds (delta-dollar "
                f"exposure >= {min_position_value:,.2f} and weight >= {min_portfolio_weight})"
            )
        priced = significant
        positions = tuple(book.positions[i] for i in priced)
        weights = exposure[priced]
        _, closes = self._aligned_closes([p.underlying for p in positions], on, window + 1)
        if not any(np.isfinite(series).sum() > MIN_OVERLAP for series in closes.values()):
            raise HistoryMissingError(
                f"too little price history for {', '.join(sorted(closes))} in the {window} "
                f"sessions up to {on.isoformat()}: run `riskdesk history synth` or "
                "`riskdesk history import FILE` first"
            )
        returns = log_returns(np.column_stack([closes[p.underlying] for p in positions]))
        correlations = position_correlations(returns, positions=_labels(positions))
        metrics = diversification_metrics(correlations, weights)
        rows: list[PositionCorrelation] = []
        for i, j in zip(*np.nonzero(np.triu(correlations.usable, k=1)), strict=True):
            first, second = positions[int(i)].position_id, positions[int(j)].position_id
            if first is None or second is None or first == second:
                continue
            rows.append(
                PositionCorrelation(
                    position1_id=min(first, second),
                    position2_id=max(first, second),
                    calculation_date=on,
                    correlation=_ratio(
                        float(correlations.matrix[i, j]), what="position correlation"
                    ),
                )
            )
        if store:
            ids = [p.position_id for p in book.positions if p.position_id is not None]
            with self.db.unit_of_work_for(self.caller) as uow:
                risk_repo.replace_position_correlations(
                    uow.session, position_ids=ids, day=on, rows=rows
                )
                uow.audit(
                    "risk.correlations_stored",
                    resource_type="portfolio",
                    resource_id=book.portfolio_id,
                    payload={"date": on.isoformat(), "window": window, "pairs": len(rows)},
                )
        return CorrelationReport(
            portfolio_id=book.portfolio_id,
            name=book.name,
            on=on,
            window=window,
            positions=positions,
            weights=weights,
            correlations=correlations,
            metrics=metrics,
            excluded=excluded,
            stored=len(rows) if store else 0,
            below_threshold=below,
        )

    def stress(
        self,
        portfolio_ref: BookRef,
        on: date,
        scenarios: Sequence[str] | None = None,
        propagate: bool = True,
        *,
        window: int = REGRESSION_WINDOW,
        rate: float = DEFAULT_RATE,
        custom: Sequence[Mapping[str, Any]] = (),
    ) -> StressOutcome:
        """Stress the portfolio on ``on`` under packaged scenarios and the user's own.

        ``scenarios`` picks packaged scenarios by key (None: all of them; empty: none);
        ``custom`` adds the user's scenario definitions, in the scenario file's format
        (:func:`~riskdesk.risk.stress.scenario_from_dict`: key, name, description, category,
        severity, shocks per factor, optional vol_shock), each validated with the packaged
        file's factors and caps; a key may not repeat or reuse a packaged key.

        Betas are the factor model's ridge betas over ``window`` sessions (the rate beta
        converted to the stress engine's decimal yield change), propagation uses the EWMA
        factor correlation and vols of the same window, marks are :meth:`marks`'s, and the
        scenario file's configuration (clamp, caps, bands) applies. Nothing is stored.

        Raises
        ------
        ScenarioError
            For a bad user scenario, naming it (``custom[1].shocks.Market: ...``).

        """
        packaged = load_scenario_file()
        by_key = {s.key: s for s in packaged.scenarios}
        if scenarios is None:
            chosen = packaged.scenarios
        else:
            unknown = [k for k in scenarios if k not in by_key]
            if unknown:
                raise ValueError(
                    f"unknown scenario {', '.join(unknown)}; scenarios: {', '.join(by_key)}"
                )
            chosen = tuple(by_key[k] for k in dict.fromkeys(scenarios))
        chosen = chosen + _user_scenarios(custom, packaged, taken=set(by_key))
        if not chosen:
            raise ValueError("no scenario to run: name packaged scenarios or give your own")
        book = self._book_of(portfolio_ref, on)
        marks = self.marks(book, on, rate=rate)
        model = self._factor_model(book.positions, on, window)
        betas = _stress_betas(model)
        correlation = _stress_correlation(model.covariance) if propagate else None
        report = run_stress(
            book.positions,
            marks,
            chosen,
            betas=betas,
            correlation=correlation,
            propagate=propagate,
            config=packaged.config,
        )
        return StressOutcome(
            portfolio_id=book.portfolio_id,
            name=book.name,
            on=on,
            window=window,
            positions=book.positions,
            marks=marks,
            betas=betas,
            correlation=correlation,
            report=report,
        )

    def _log_returns(
        self, positions: Sequence[BookPosition], on: date, count: int
    ) -> tuple[list[str], FloatArray]:
        """The underlyings' daily log returns over the last ``count`` sessions (NaN gaps)."""
        underlyings = sorted({p.underlying for p in positions})
        _, closes = self._aligned_closes(underlyings, on, count + 1)
        with np.errstate(divide="ignore", invalid="ignore"):
            matrix = np.column_stack([np.diff(np.log(closes[u])) for u in underlyings])
        return underlyings, matrix

    def _var_methods(
        self,
        book: PortfolioBook,
        on: date,
        window: int,
        rate: float,
        seed: int,
        *,
        monte_carlo: bool = True,
    ) -> VarOutcome:
        positions = book.positions
        marks = self.marks(book, on, rate=rate)
        # One read of the closes serves the historical returns (the underlyings, ``window + 1``
        # sessions) and the factor model (proxies and underlyings, its shorter window's last
        # sessions: a suffix of the same aligned days).
        model_window = min(window, REGRESSION_WINDOW)
        wants_model = window >= MIN_OBSERVATIONS and monte_carlo  # else: no Monte Carlo
        underlyings = sorted({p.underlying for p in positions})
        proxies = list(FACTOR_PROXIES.values()) if wants_model else []
        days, closes = self._aligned_closes([*proxies, *underlyings], on, window + 1)
        with np.errstate(divide="ignore", invalid="ignore"):
            matrix = np.column_stack([np.diff(np.log(closes[u])) for u in underlyings])
        # Full revaluation of every scenario is the cost of a VaR (the Monte Carlo reprices
        # every option 20,000 times): each engine is a pure function of the inputs just read,
        # memoized under their content, so a request that reads the same book, marks and
        # closes reuses the numbers and any edit or new close computes afresh.
        historical = self._memoized(
            ("risk.var.historical/1", positions, marks, matrix, underlyings, window),
            lambda: historical_var(positions, marks, matrix, names=underlyings, window=window),
        )
        if positions and len(historical.excluded) == len(positions):
            reasons = sorted({e.reason for e in historical.excluded})
            raise HistoryMissingError(
                f"no position of the book can be priced on {on.isoformat()} "
                f"({', '.join(reasons)}): a VaR of such a book would be a silent zero; store "
                "the underlyings' closes (`riskdesk history synth` or `riskdesk history import`)"
            )
        model = None
        if wants_model:
            offset = window - model_window
            try:
                model = self._fit_factor_model(
                    days[offset:],
                    {t: closes[t][offset:] for t in closes},
                    tuple(underlyings),
                    on,
                    model_window,
                )
            except HistoryMissingError:
                model = None
        factor_inputs = None if model is None else _monte_carlo_inputs(model)

        def parametric_and_simulated() -> tuple[DeltaGammaNormalVar, VarReport | None]:
            inputs = delta_gamma_inputs(positions, marks)
            cols = [underlyings.index(u) for u in inputs.underlyings]
            complete = matrix[:, cols][np.all(np.isfinite(matrix[:, cols]), axis=1)]
            cov = np.cov(np.expm1(complete), rowvar=False, ddof=1).reshape(len(cols), len(cols))
            delta_gamma = delta_gamma_normal_var(inputs.delta_dollars, inputs.gamma_dollars, cov)
            if factor_inputs is None:
                return delta_gamma, None
            betas, factor_cov, specific = factor_inputs
            simulated = monte_carlo_var(
                positions, marks, betas, factor_cov, specific, n_paths=MC_PATHS, seed=seed
            )
            return delta_gamma, simulated

        delta_gamma, simulated = self._memoized(
            (
                "risk.var.delta_gamma_monte_carlo/1",
                positions,
                marks,
                matrix,
                underlyings,
                factor_inputs,
                MC_PATHS,
                seed,
            ),
            parametric_and_simulated,
        )
        return VarOutcome(
            book.portfolio_id, book.name, on, window, historical, delta_gamma, simulated
        )

    def var(
        self,
        portfolio_ref: BookRef,
        on: date,
        *,
        window: int = VAR_WINDOW,
        rate: float = DEFAULT_RATE,
        seed: int = 7,
        monte_carlo: bool = True,
    ) -> VarOutcome:
        """VaR and ES (95/99%, 1 and 10 days) of the portfolio on ``on`` by three methods.

        ``monte_carlo=False`` leaves out the Monte Carlo on the factor model (its figures are
        then None), e.g. for the daily batch, which keeps the historical figures only.
        """
        if window < 20:
            raise ValueError(f"window must be at least 20 sessions, got {window}")
        book = self._book_of(portfolio_ref, on)
        if not book.positions:
            raise ValueError(f"the portfolio holds no position on {on.isoformat()}")
        return self._var_methods(book, on, window, rate, seed, monte_carlo=monte_carlo)

    def backtest(
        self,
        portfolio_ref: str | uuid.UUID,
        on: date,
        *,
        window: int = BACKTEST_DAYS,
        days: int = BACKTEST_DAYS,
        confidence: float = 0.99,
        rate: float = DEFAULT_RATE,
    ) -> BacktestOutcome:
        """Backtest the historical VaR of the current book over the last ``days`` sessions."""
        book = self.book(portfolio_ref, on)
        if not book.positions:
            raise ValueError(f"the portfolio holds no position on {on.isoformat()}")
        marks = self.marks(book, on, rate=rate)
        underlyings, matrix = self._log_returns(book.positions, on, window + days)
        replay = historical_var(
            book.positions,
            marks,
            matrix,
            names=underlyings,
            window=window + days,
            confidence=(confidence,),
            horizon_days=(1,),
        )
        pnl = np.asarray(replay.pnl[1], dtype=np.float64)
        forecast = rolling_historical_var(pnl, window=window, confidence=confidence)
        result = var_backtest(pnl, forecast, 1 - confidence)
        return BacktestOutcome(book.portfolio_id, book.name, on, window, confidence, result)
