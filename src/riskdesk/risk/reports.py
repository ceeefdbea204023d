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
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from riskdesk.domain.caller import Caller
from riskdesk.domain.instruments import Instrument, OptionContract, Settlement, Stock
from riskdesk.domain.occ import parse_occ
from riskdesk.domain.timeutil import expiry_datetime, is_trading_day
from riskdesk.risk.exposures import (
    ExcludedPosition,
    Exposures,
    GreeksReport,
    Grouping,
    aggregate_greeks,
    compute_exposures,
)
from riskdesk.risk.marks import BookValuation, Marks, MarkStatus, value_book
from riskdesk.risk.portfolios import NotFoundError, Portfolios, StoredPosition
from riskdesk.risk.positions import BookPosition
from riskdesk.store import Database
from riskdesk.store import history as history_repo
from riskdesk.store import portfolio as portfolio_repo
from riskdesk.store import workbench as wb_repo
from riskdesk.store.models.portfolio import PositionGreeks

__all__ = [
    "DEFAULT_RATE",
    "REALIZED_SESSIONS",
    "VOL_REALIZED",
    "VOL_SNAPSHOT",
    "NotFoundError",
    "PortfolioBook",
    "RiskReports",
    "StoredGreeks",
    "realized_vol",
    "valuation_time",
]

DEFAULT_RATE = 0.04
REALIZED_SESSIONS = 30
VOL_SNAPSHOT = "snapshot_iv"
VOL_REALIZED = "realized_30d"
_TRADING_DAYS = 252
_HISTORY_DAYS = 120
"""Calendar days of closes read for the realised vol (31 sessions fit with room to spare)."""
_RATIO_LIMIT = Decimal(10) ** 10
_RATIO_PLACES = Decimal("1e-10")


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


def _instrument(stored: StoredPosition) -> Instrument:
    if stored.expiration_date is not None:
        return parse_occ(stored.symbol)
    return Stock(stored.symbol)


def _book_position(stored: StoredPosition) -> BookPosition:
    return BookPosition(
        symbol=stored.symbol,
        instrument=_instrument(stored),
        quantity=stored.quantity,
        entry_price=stored.entry_price,
        entry_date=stored.entry_date,
        tags=stored.tags,
        position_id=stored.position_id,
    )


@dataclass(frozen=True, slots=True)
class PortfolioBook:
    """A portfolio's book as held on one date."""

    portfolio_id: uuid.UUID
    name: str
    on: date
    positions: tuple[BookPosition, ...]


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

    def __init__(self, db: Database, caller: Caller | None = None) -> None:
        self.db = db
        self.caller = caller if caller is not None else Caller.local(db.actor)

    # -- inputs ---------------------------------------------------------------------------

    def book(self, portfolio_ref: str | uuid.UUID, on: date) -> PortfolioBook:
        """The portfolio's positions held on ``on`` (entered on or before it), as domain values.

        Raises
        ------
        NotFoundError
            For a portfolio the caller cannot see.

        """
        detail = Portfolios(self.db, self.caller).get(portfolio_ref)
        positions = tuple(_book_position(p) for p in detail.positions if p.entry_date <= on)
        return PortfolioBook(detail.portfolio.portfolio_id, detail.portfolio.name, on, positions)

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
        self, portfolio_ref: str | uuid.UUID, on: date, rate: float, extra: Sequence[str] = ()
    ) -> tuple[PortfolioBook, Marks, BookValuation]:
        book = self.book(portfolio_ref, on)
        marks = self.marks(book, on, rate=rate, extra_symbols=extra)
        return book, marks, value_book(book.positions, marks)

    # -- reports --------------------------------------------------------------------------

    def exposures(
        self,
        portfolio_ref: str | uuid.UUID,
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

    def greeks(
        self,
        portfolio_ref: str | uuid.UUID,
        on: date,
        *,
        by: Sequence[Grouping | str] = tuple(Grouping),
        rate: float = DEFAULT_RATE,
    ) -> GreeksReport:
        """The portfolio's Greeks on ``on``, totalled and bucketed ``by`` each grouping."""
        book, _, valuation = self._valued(portfolio_ref, on, rate)
        return aggregate_greeks(book.positions, valuation, on=on, by=by)

    def store_position_greeks(
        self, portfolio_ref: str | uuid.UUID, on: date, *, rate: float = DEFAULT_RATE
    ) -> StoredGreeks:
        """Write one ``position_greeks`` row per priced position for ``on``.

        Re-running the same date replaces that date's rows of the portfolio's positions (a
        position no longer priced loses its row); it never duplicates. Greeks are in money
        (quantity and multiplier applied) as :func:`value_book` gives them; ``rho`` is not
        computed (NULL).
        """
        book, _, valuation = self._valued(portfolio_ref, on, rate)
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
