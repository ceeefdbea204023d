"""Seed 001's market regime and short-squeeze risk: use cases over the stored market data.

:class:`MarketRegime` works on one :class:`~riskdesk.store.Database` as one
:class:`~riskdesk.domain.caller.Caller` (the local user when None).

* :meth:`MarketRegime.regime` reads the VIX close and the SPY, QQQ and IWM closes and
  volumes of the last 31 NYSE sessions up to ``on`` from ``market_data_cache`` and applies
  :mod:`riskdesk.risk.regime` (VIX regime and sizing factor, 7- and 30-session correlations
  of daily log returns, the emergency thresholds). With ``record`` (the default) each
  threshold crossed is written as a seed-001 ``risk_events`` row (event_type, severity,
  description, triggered_value, threshold_value, action_taken) at most once per
  ``(event_type, on)``: a re-run reports the event as already raised and writes nothing.
* :meth:`MarketRegime.squeeze` tiers every short equity position of a book from the latest
  ``short_selling_metrics`` row of its underlying dated within :data:`MAX_METRIC_AGE_DAYS`
  before ``on`` (:mod:`riskdesk.risk.squeeze`); a position without one has status
  ``missing`` and no tier.
* :meth:`MarketRegime.import_short_metrics` imports a CSV or Parquet file of metrics with the
  history importer's conventions (every bad row reported with line, column, value and reason;
  the good rows upserted in one transaction; a re-import writes nothing);
  :meth:`MarketRegime.synthesize_short_metrics` stores a seeded synthetic set.

Metric file format
------------------
Columns (case-insensitive, others ignored): ``ticker`` (or ``symbol``), ``metric_date`` (or
``date``), and at least one of ``cost_to_borrow_rate`` (or ``borrow_rate``, ``cost_to_borrow``;
an annual fraction, 0.05 is 5%), ``short_interest_ratio`` (or ``short_interest``; a fraction
of the float) and ``days_to_cover`` (or ``dtc``). Each value is a number >= 0 with at most 10
decimal places; a row needs at least one of the three; a ``(ticker, date)`` seen earlier in the
file is a duplicate.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from riskdesk.adapters.files.parsing import (
    FieldError,
    parse_date,
    parse_decimal,
    parse_ticker,
)
from riskdesk.domain import numbers
from riskdesk.domain.caller import Caller
from riskdesk.risk.history import REGIME_ETFS, VIX_SYMBOL, last_sessions
from riskdesk.risk.history_usecases import (
    HistoryImportReport,
    HistoryRowError,
    read_keyed_file,
    validate_rows,
)
from riskdesk.risk.portfolios import Portfolios
from riskdesk.risk.regime import (
    CORRELATION_WINDOWS,
    THRESHOLDS,
    VOLUME_LOOKBACK,
    Breach,
    classify_vix,
    emergency_breaches,
    log_returns,
    window_correlations,
)
from riskdesk.risk.reports import HistoryMissingError
from riskdesk.risk.squeeze import (
    SHORT_EXPOSED_TYPES,
    ShortMetric,
    short_shares,
    squeeze_tier,
    synthesize_short_metrics,
)
from riskdesk.store import Database
from riskdesk.store import history as history_repo
from riskdesk.store import market_risk as repo
from riskdesk.store.models import RiskEvent
from riskdesk.store.paging import PageKey
from riskdesk.workbench.usecases import Listing

__all__ = [
    "MAX_METRIC_AGE_DAYS",
    "OPTION_MULTIPLIER",
    "MarketRegime",
    "RegimeReport",
    "RiskEventView",
    "ShortImportReport",
    "ShortSynthReport",
    "SqueezeReport",
    "SqueezeRow",
]

MAX_METRIC_AGE_DAYS = 31
"""A metric row older than this many calendar days before ``on`` is not used (status missing)."""

OPTION_MULTIPLIER = 100
"""Shares per listed equity option contract."""

_SESSIONS = max(CORRELATION_WINDOWS[1], VOLUME_LOOKBACK) + 1
_IMPORT_SOURCE = "import"
_MAX_PLACES = 10
_COLUMNS: Mapping[str, tuple[str, ...]] = {
    "ticker": ("ticker", "symbol"),
    "metric_date": ("metric_date", "date"),
    "cost_to_borrow_rate": ("cost_to_borrow_rate", "borrow_rate", "cost_to_borrow"),
    "short_interest_ratio": ("short_interest_ratio", "short_interest"),
    "days_to_cover": ("days_to_cover", "dtc"),
}
_MEASURES = ("cost_to_borrow_rate", "short_interest_ratio", "days_to_cover")

ProgressCallback = Callable[[str, int, int], None]


def _plain(value: Decimal | None) -> str | None:
    return None if value is None else format(value.normalize(), "f")


def _decimal(value: float, places: int = 10) -> Decimal:
    return Decimal(repr(value)).quantize(Decimal(1).scaleb(-places))


@dataclass(frozen=True, slots=True)
class RegimeReport:
    """The market regime on a session, the thresholds crossed and the events written."""

    on: date
    vix: float
    regime: str
    position_size_multiplier: float
    correlations: Mapping[str, Mapping[str, float | None]]
    volume_ratios: Mapping[str, float | None]
    breaches: tuple[Breach, ...]
    recorded: tuple[str, ...] = ()
    already_recorded: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types (seed 001's ``GET /risk/regime`` and ``/market/correlation``)."""

        def rounded(values: Mapping[str, float | None]) -> dict[str, float | None]:
            return {k: None if v is None else round(v, 6) for k, v in values.items()}

        return {
            "date": self.on.isoformat(),
            "vix_level": self.vix,
            "regime": self.regime,
            "position_size_multiplier": self.position_size_multiplier,
            "correlations": {k: rounded(v) for k, v in self.correlations.items()},
            "volume_ratios": rounded(self.volume_ratios),
            "emergency_thresholds": dict(THRESHOLDS),
            "breaches": [b.to_dict() for b in self.breaches],
            "events_recorded": list(self.recorded),
            "events_already_recorded": list(self.already_recorded),
        }


@dataclass(frozen=True, slots=True)
class SqueezeRow:
    """One short equity position's squeeze tier (status ``ok``, ``partial`` or ``missing``)."""

    position_id: str
    symbol: str
    underlying: str
    position_type: str
    shares_short: Decimal
    tier: str | None
    status: str
    reason: str | None
    metric: ShortMetric | None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""
        return {
            "position_id": self.position_id,
            "symbol": self.symbol,
            "underlying": self.underlying,
            "position_type": self.position_type,
            "shares_short": _plain(self.shares_short),
            "tier": self.tier,
            "status": self.status,
            "reason": self.reason,
            "metric": None if self.metric is None else self.metric.to_dict(),
        }


@dataclass(frozen=True, slots=True)
class SqueezeReport:
    """A book's short positions tiered for squeeze risk on a date."""

    portfolio_id: str
    portfolio: str
    on: date
    rows: tuple[SqueezeRow, ...]

    @property
    def worst(self) -> str | None:
        """The worst tier among the positions that have one."""
        order = ("low", "moderate", "high", "extreme")
        tiers = [r.tier for r in self.rows if r.tier is not None]
        return max(tiers, key=order.index) if tiers else None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types, with the count of positions per tier and status."""
        counts: dict[str, int] = {}
        statuses: dict[str, int] = {}
        for row in self.rows:
            if row.tier is not None:
                counts[row.tier] = counts.get(row.tier, 0) + 1
            statuses[row.status] = statuses.get(row.status, 0) + 1
        return {
            "portfolio_id": self.portfolio_id,
            "portfolio": self.portfolio,
            "date": self.on.isoformat(),
            "positions": [r.to_dict() for r in self.rows],
            "worst_tier": self.worst,
            "tiers": counts,
            "statuses": statuses,
            "max_metric_age_days": MAX_METRIC_AGE_DAYS,
        }


ShortImportReport = HistoryImportReport
"""Outcome of one short-metric import: the history importer's report (rows read, kept,
rejected with their errors; rows written)."""


@dataclass(frozen=True, slots=True)
class ShortSynthReport:
    """Outcome of :meth:`MarketRegime.synthesize_short_metrics`."""

    seed: int
    start: date
    end: date
    rows: Mapping[str, int]
    written: int

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""
        return {
            "seed": self.seed,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "rows": dict(self.rows),
            "written": self.written,
        }


@dataclass(frozen=True, slots=True)
class RiskEventView:
    """A stored risk event (seed 001 or 004 form)."""

    event_id: str
    event_type: str | None
    severity: str | None
    description: str | None
    triggered_value: Decimal | None
    threshold_value: Decimal | None
    action_taken: str | None
    rule: str | None
    details: Mapping[str, Any] = field(default_factory=dict)
    created_at: str = ""

    @classmethod
    def of(cls, row: RiskEvent) -> RiskEventView:
        """The view of a stored row."""
        return cls(
            event_id=str(row.id),
            event_type=row.event_type,
            severity=row.severity,
            description=row.description,
            triggered_value=row.triggered_value,
            threshold_value=row.threshold_value,
            action_taken=row.action_taken,
            rule=row.rule,
            details=dict(row.details or {}),
            created_at=row.created_at.isoformat(),
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types (Decimals as strings)."""
        return {
            "id": self.event_id,
            "event_type": self.event_type,
            "severity": self.severity,
            "description": self.description,
            "triggered_value": _plain(self.triggered_value),
            "threshold_value": _plain(self.threshold_value),
            "action_taken": self.action_taken,
            "rule": self.rule,
            "details": dict(self.details),
            "created_at": self.created_at,
        }


class MarketRegime:
    """Seed 001's regime measures and squeeze tiers on ``db``, acting as ``caller``."""

    def __init__(self, db: Database, caller: Caller | None = None) -> None:
        self.db = db
        self.caller = caller if caller is not None else Caller.local(db.actor)

    # -- regime ---------------------------------------------------------------------------------

    def regime(self, on: date, *, record: bool = True) -> RegimeReport:
        """The regime on the NYSE session ``on`` (module docstring); records its events.

        Raises
        ------
        ValueError
            When ``on`` is not an NYSE session (or too early in the calendar).
        HistoryMissingError
            When a VIX, SPY, QQQ or IWM bar of the 31 sessions up to ``on`` is not stored.

        """
        sessions = last_sessions(on, _SESSIONS)
        if sessions[-1] != on:
            raise ValueError(f"{on.isoformat()} is not an NYSE session")
        symbols = (*REGIME_ETFS, VIX_SYMBOL)
        with self.db.unit_of_work_for(self.caller, read_only=True) as uow:
            bars = history_repo.read_bars(
                uow.session, tickers=list(symbols), start=sessions[0], end=on
            )
        closes: dict[str, dict[date, float]] = {s: {} for s in symbols}
        volumes: dict[str, dict[date, int | None]] = {s: {} for s in symbols}
        for bar in bars:
            closes[bar.ticker][bar.date] = float(bar.close)
            volumes[bar.ticker][bar.date] = bar.volume
        if on not in closes[VIX_SYMBOL]:
            raise HistoryMissingError(
                f"no {VIX_SYMBOL} close on {on.isoformat()}; run `riskdesk history synth "
                f"--include-regime --end {on.isoformat()}` or import a VIX history"
            )
        for symbol in REGIME_ETFS:
            gaps = [d for d in sessions if d not in closes[symbol]]
            if gaps:
                raise HistoryMissingError(
                    f"{symbol} lacks {len(gaps)} of the {len(sessions)} closes from "
                    f"{sessions[0].isoformat()} to {on.isoformat()} (first missing "
                    f"{gaps[0].isoformat()}); run `riskdesk history synth --include-regime "
                    f"--end {on.isoformat()}` or import them"
                )
        matrix = [[closes[s][d] for s in REGIME_ETFS] for d in sessions]
        returns = log_returns(matrix)
        short_w, long_w = CORRELATION_WINDOWS
        short = window_correlations(returns, REGIME_ETFS, short_w)
        long = window_correlations(returns, REGIME_ETFS, long_w)
        ratios = {s: _volume_ratio([volumes[s][d] for d in sessions]) for s in REGIME_ETFS}
        vix = closes[VIX_SYMBOL][on]
        regime, factor = classify_vix(vix)
        breaches = emergency_breaches(vix=vix, short=short, long=long, volume_ratios=ratios)
        recorded: list[str] = []
        already: list[str] = []
        if record and breaches:
            recorded, already = self._record(on, breaches)
        return RegimeReport(
            on=on,
            vix=vix,
            regime=regime.value,
            position_size_multiplier=factor,
            correlations={f"{short_w}d": short, f"{long_w}d": long},
            volume_ratios=ratios,
            breaches=tuple(breaches),
            recorded=tuple(recorded),
            already_recorded=tuple(already),
        )

    def _record(self, on: date, breaches: Sequence[Breach]) -> tuple[list[str], list[str]]:
        recorded: list[str] = []
        already: list[str] = []
        with self.db.unit_of_work_for(self.caller) as uow:
            repo.lock_regime_events(uow.session)
            existing = repo.regime_event_types(uow.session, day=on)
            for breach in breaches:
                if breach.event_type in existing:
                    already.append(breach.event_type)
                    continue
                row = repo.insert_regime_event(
                    uow.session,
                    day=on,
                    event_type=breach.event_type,
                    severity=breach.severity,
                    description=breach.description,
                    triggered_value=_decimal(breach.triggered_value),
                    threshold_value=_decimal(breach.threshold_value),
                    action_taken=breach.action_taken,
                    details={"date": on.isoformat(), **breach.details},
                )
                recorded.append(breach.event_type)
                uow.audit(
                    "risk_event.raised",
                    resource_type="risk_event",
                    resource_id=row.id,
                    new=breach.to_dict(),
                )
        return recorded, already

    def events(
        self,
        *,
        after: PageKey | None = None,
        limit: int = 50,
        event_type: str | None = None,
        severity: str | None = None,
        on: date | None = None,
    ) -> Listing[RiskEventView]:
        """One page of risk events the caller may see (market-wide and its own), newest first."""
        with self.db.unit_of_work_for(self.caller, read_only=True) as uow:
            page = repo.page_risk_events(
                uow.session,
                user_id=self.caller.user_id,
                after=after,
                limit=limit,
                event_type=event_type,
                severity=severity,
                day=on,
            )
            return Listing(tuple(RiskEventView.of(r) for r in page.items), page.next_key)

    # -- squeeze --------------------------------------------------------------------------------

    def squeeze(self, portfolio: str | uuid.UUID, on: date) -> SqueezeReport:
        """Squeeze tiers of the book's short equity positions on ``on`` (module docstring).

        Raises
        ------
        NotFoundError
            When the caller has no such portfolio.

        """
        detail = Portfolios(self.db, self.caller).get(portfolio, today=on)
        shorts = [
            p
            for p in detail.positions
            if p.is_active and not p.expired and p.position_type in SHORT_EXPOSED_TYPES
        ]
        underlyings = sorted({p.underlying_ticker or p.symbol for p in shorts})
        since = on - timedelta(days=MAX_METRIC_AGE_DAYS)
        with self.db.unit_of_work_for(self.caller, read_only=True) as uow:
            rows = repo.latest_short_metrics(uow.session, tickers=underlyings, on=on, since=since)
            metrics = {
                t: ShortMetric(
                    ticker=r.ticker,
                    metric_date=r.metric_date,
                    cost_to_borrow_rate=r.cost_to_borrow_rate,
                    short_interest_ratio=r.short_interest_ratio,
                    days_to_cover=r.days_to_cover,
                    data_source=r.data_source,
                )
                for t, r in rows.items()
            }
        out: list[SqueezeRow] = []
        for position in shorts:
            underlying = position.underlying_ticker or position.symbol
            shares = short_shares(position.position_type, position.quantity, OPTION_MULTIPLIER)
            assert shares is not None
            metric = metrics.get(underlying)
            if metric is None:
                tier, status = None, "missing"
                reason: str | None = (
                    f"no short_selling_metrics row for {underlying} from {since.isoformat()} "
                    f"to {on.isoformat()}; run `riskdesk history short-interest synth` or "
                    "`riskdesk history short-interest import FILE`"
                )
            else:
                found, status = squeeze_tier(metric.cost_to_borrow_rate, metric.days_to_cover)
                tier = None if found is None else found.label
                reason = {
                    "ok": None,
                    "partial": "only one of cost to borrow and days to cover is known: the "
                    "tier is a lower bound",
                    "missing": "the metric row has neither cost to borrow nor days to cover",
                }[status]
            out.append(
                SqueezeRow(
                    position_id=str(position.position_id),
                    symbol=position.symbol,
                    underlying=underlying,
                    position_type=position.position_type,
                    shares_short=shares,
                    tier=tier,
                    status=status,
                    reason=reason,
                    metric=metric,
                )
            )
        return SqueezeReport(
            portfolio_id=str(detail.portfolio.portfolio_id),
            portfolio=detail.portfolio.name,
            on=on,
            rows=tuple(out),
        )

    # -- short metrics --------------------------------------------------------------------------

    def book_symbols(self, portfolio: str | uuid.UUID) -> list[str]:
        """The underlyings of every position of a book (what a metric generator covers)."""
        detail = Portfolios(self.db, self.caller).get(portfolio)
        return sorted({p.underlying_ticker or p.symbol for p in detail.positions})

    def synthesize_short_metrics(
        self, symbols: Sequence[str], *, seed: int, end: date, days: int = 30
    ) -> ShortSynthReport:
        """Store a seeded synthetic metric set for the last ``days`` sessions up to ``end``."""
        if days < 1:
            raise ValueError(f"days must be >= 1, got {days}")
        sessions = last_sessions(end, max(days, 2))[-days:]
        metrics = synthesize_short_metrics(symbols, sessions, seed=seed)
        rows = [
            {
                "ticker": m.ticker,
                "metric_date": m.metric_date,
                "cost_to_borrow_rate": m.cost_to_borrow_rate,
                "short_interest_ratio": m.short_interest_ratio,
                "days_to_cover": m.days_to_cover,
                "data_source": m.data_source,
            }
            for m in metrics
        ]
        counts: dict[str, int] = {}
        for m in metrics:
            counts[m.ticker] = counts.get(m.ticker, 0) + 1
        with self.db.unit_of_work_for(self.caller) as uow:
            written = repo.upsert_short_metrics(uow.session, rows)
            report = ShortSynthReport(
                seed=seed, start=sessions[0], end=sessions[-1], rows=counts, written=written
            )
            uow.audit(
                "short_metrics.synthesized",
                resource_type="short_selling_metrics",
                payload=report.to_dict(),
            )
        return report

    def import_short_metrics(
        self, path: Path | str, *, progress: ProgressCallback | None = None
    ) -> ShortImportReport:
        """Import a CSV or Parquet metric file (format in the module docstring).

        Raises
        ------
        HistoryImportError
            For a missing or unreadable file or missing required columns (nothing imported).

        """
        loaded = read_keyed_file(
            path,
            aliases=_COLUMNS,
            required_columns=("ticker", "metric_date"),
            any_of=_MEASURES,
            validate=_validate,
        )
        good = loaded.good
        written = 0
        if good:
            with self.db.unit_of_work_for(self.caller) as uow:
                written = repo.upsert_short_metrics(uow.session, good)
                if progress is not None:
                    progress(loaded.file.name, len(good), len(good))
                uow.audit(
                    "short_metrics.imported",
                    resource_type="short_selling_metrics",
                    payload={
                        "path": str(loaded.file),
                        "rows_ok": len(good),
                        "rows_rejected": loaded.rejected,
                        "written": written,
                    },
                )
        return loaded.report(written)


def _volume_ratio(volumes: Sequence[int | None]) -> float | None:
    """The last volume over the mean of the :data:`VOLUME_LOOKBACK` before it (None: unknown)."""
    last = volumes[-1]
    before = volumes[-1 - VOLUME_LOOKBACK : -1]
    if last is None or any(v is None for v in before) or len(before) < VOLUME_LOOKBACK:
        return None
    mean = math.fsum(float(v) for v in before if v is not None) / VOLUME_LOOKBACK
    return None if mean <= 0 else float(last) / mean


# -- file validation ----------------------------------------------------------------------------


def _normalize(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", name.strip().lower())


def _measure(value: object) -> Decimal:
    number = parse_decimal(value)
    if not number.is_finite() or number < 0:
        raise FieldError("must be a number >= 0")
    if numbers.decimal_places(number) > _MAX_PLACES:
        raise FieldError(f"at most {_MAX_PLACES} decimal places")
    if abs(number) >= Decimal(10) ** 10:
        raise FieldError("must be < 10000000000")
    return number


_PARSERS: Mapping[str, Callable[[object], object]] = {
    "ticker": parse_ticker,
    "metric_date": parse_date,
    "cost_to_borrow_rate": _measure,
    "short_interest_ratio": _measure,
    "days_to_cover": _measure,
}


def _one_measure(
    values: Mapping[str, object], names: Mapping[str, str], line: int
) -> list[HistoryRowError]:
    if all(values.get(m) is None for m in _MEASURES):
        return [
            HistoryRowError(
                line, "(row)", "", "no measure: give cost to borrow, short interest or days"
            )
        ]
    return []


def _validate(
    raw_rows: Sequence[Mapping[str, object]],
    names: Mapping[str, str],
    *,
    offset: int,
    width: int,
) -> tuple[list[dict[str, Any]], list[HistoryRowError], int]:
    good, errors, rejected = validate_rows(
        raw_rows,
        names,
        parsers=_PARSERS,
        required=("ticker", "metric_date"),
        date_field="metric_date",
        offset=offset,
        width=width,
        check=_one_measure,
    )
    rows = [
        {**{m: None for m in _MEASURES}, **values, "data_source": _IMPORT_SOURCE} for values in good
    ]
    return rows, errors, rejected
