"""Performance of a paper-trading account: returns, ratios, drawdowns and tax lots.

A pure engine on NAV snapshots (:class:`~riskdesk.trading.ledger.NavSnapshot`), closed
trades and fills: no SQL, no clock, no I/O.

Conventions
-----------
* Daily returns are simple returns between the last NAV of consecutive UTC dates that
  have a snapshot (a missing date is no return, not a zero one); the first return is from
  the first snapshot's NAV to the first date's last NAV, when they differ in time.
* Annualisation uses 252 trading days. ``risk_free`` is an annual simple rate, taken as
  ``risk_free / 252`` per day.
* Sharpe is ``mean(r - rf) / std(r - rf) x sqrt(252)`` with the sample standard deviation
  (``ddof=1``); Sortino is ``mean(r - rf) / sqrt(mean(min(r - rf, 0)^2)) x sqrt(252)``
  (downside deviation below the risk-free rate over all days); volatility is
  ``std(r) x sqrt(252)`` (``ddof=1``). Each is None when undefined (fewer than two
  returns, or a zero deviation).
* Drawdown at a snapshot is ``NAV / running peak - 1`` (<= 0) over every snapshot; the max
  drawdown's duration runs from its peak to the first snapshot back at that peak, or to the
  last snapshot when it has not recovered.
* Ratios (returns, drawdowns, Sharpe ...) are floats; money is Decimal.

Tax lots
--------
Lots are matched first in, first out per symbol. A lot held more than 365 days is
long-term. A long lot sold at a loss while the same symbol is bought within 30 calendar
days before or after the sale (other than the lots sold) is a wash sale: the loss is
disallowed in proportion to the replacement quantity and added to the replacement lot's
basis (each replacement share is used once). Replacement lots are those bought in the
window that are still open at the sale or bought after it. Short lots (selling to open)
are matched the same way but are never washed. Commissions and fees are split over a
fill's legs by quantity and count in basis (buys) and proceeds (sales); tax money is
rounded to cents, half-even, with any remainder on the last piece so totals are exact.
"""

from __future__ import annotations

import csv
import enum
import io
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

import numpy as np

from riskdesk.trading.ledger import NavSnapshot
from riskdesk.trading.model import Fill

__all__ = [
    "TRADING_DAYS",
    "WASH_SALE_DAYS",
    "ClosedTrade",
    "DrawdownPoint",
    "EquityPoint",
    "LotSide",
    "MonthlyReturn",
    "PerformanceReport",
    "RealizedLot",
    "Term",
    "daily_returns",
    "lots_to_csv",
    "performance",
    "tax_lots",
]

TRADING_DAYS = 252
"""Trading days per year used to annualise."""

WASH_SALE_DAYS = 30
"""Calendar days before and after a loss sale in which a purchase makes it a wash sale."""

_CENT = Decimal("0.01")
_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class ClosedTrade:
    """A round trip: what, when opened and closed, and its P&L net of costs."""

    symbol: str
    opened_at: datetime
    closed_at: datetime
    pnl: Decimal


@dataclass(frozen=True, slots=True)
class EquityPoint:
    """NAV at a time."""

    at: datetime
    nav: Decimal


@dataclass(frozen=True, slots=True)
class DrawdownPoint:
    """Drawdown at a time: the fraction below the running peak (<= 0) and the money."""

    at: datetime
    drawdown: float
    amount: Decimal


@dataclass(frozen=True, slots=True)
class MonthlyReturn:
    """A calendar month's (UTC) return, ``"YYYY-MM"``, from the previous month's last NAV."""

    month: str
    ret: float


@dataclass(frozen=True, slots=True)
class PerformanceReport:
    """Performance over the snapshots given (see the module docstring for conventions)."""

    start: datetime
    end: datetime
    starting_nav: Decimal
    ending_nav: Decimal
    total_return: float
    trades: int
    wins: int
    losses: int
    win_rate: float | None
    average_win: Decimal | None
    average_loss: Decimal | None
    profit_factor: Decimal | None
    sharpe: float | None
    sortino: float | None
    volatility: float | None
    max_drawdown: float
    max_drawdown_amount: Decimal
    max_drawdown_duration: timedelta
    max_drawdown_recovered: bool
    risk_free: float
    equity: tuple[EquityPoint, ...] = field(repr=False)
    drawdowns: tuple[DrawdownPoint, ...] = field(repr=False)
    monthly_returns: tuple[MonthlyReturn, ...] = field(repr=False)


def _ordered(snapshots: Sequence[NavSnapshot]) -> list[NavSnapshot]:
    if not snapshots:
        raise ValueError("performance needs at least one NAV snapshot")
    ordered = sorted(snapshots, key=lambda s: s.at)
    for snapshot in ordered:
        if snapshot.nav <= 0:
            raise ValueError(
                f"NAV snapshot at {snapshot.at.isoformat()} has NAV {snapshot.nav}: returns "
                "need a positive NAV"
            )
    return ordered


def _utc_date(at: datetime) -> date:
    offset = at.utcoffset()
    return (at - offset).date() if offset is not None else at.date()


def daily_returns(snapshots: Sequence[NavSnapshot]) -> np.ndarray:
    """Simple daily returns (float64) from NAV snapshots (see the module conventions)."""
    ordered = _ordered(snapshots)
    closes: dict[date, NavSnapshot] = {}
    for snapshot in ordered:
        closes[_utc_date(snapshot.at)] = snapshot
    navs = [ordered[0].nav] if ordered[0] is not next(iter(closes.values())) else []
    navs.extend(s.nav for s in closes.values())
    values = np.array([float(n) for n in navs], dtype=np.float64)
    if values.size < 2:
        return np.empty(0, dtype=np.float64)
    result: np.ndarray = values[1:] / values[:-1] - 1.0
    return result


def _ratios(
    returns: np.ndarray, risk_free: float
) -> tuple[float | None, float | None, float | None]:
    if returns.size < 2:
        return None, None, None
    scale = math.sqrt(TRADING_DAYS)
    excess = returns - risk_free / TRADING_DAYS
    std = float(np.std(excess, ddof=1))
    sharpe = float(np.mean(excess)) / std * scale if std > 0 else None
    downside = math.sqrt(float(np.mean(np.minimum(excess, 0.0) ** 2)))
    sortino = float(np.mean(excess)) / downside * scale if downside > 0 else None
    vol = float(np.std(returns, ddof=1)) * scale
    return sharpe, sortino, vol


def _drawdowns(
    ordered: list[NavSnapshot],
) -> tuple[tuple[DrawdownPoint, ...], float, Decimal, timedelta, bool]:
    points: list[DrawdownPoint] = []
    peak = ordered[0]
    worst_fraction, worst_amount, worst_peak, trough_at = 0.0, _ZERO, peak, peak.at
    for snapshot in ordered:
        if snapshot.nav >= peak.nav:
            peak = snapshot
        fraction = float(snapshot.nav / peak.nav) - 1.0 if snapshot.nav < peak.nav else 0.0
        amount = snapshot.nav - peak.nav
        points.append(DrawdownPoint(at=snapshot.at, drawdown=fraction, amount=amount))
        if fraction < worst_fraction:
            worst_fraction, worst_amount, worst_peak, trough_at = (
                fraction,
                amount,
                peak,
                snapshot.at,
            )
    if worst_fraction == 0.0:
        return tuple(points), 0.0, _ZERO, timedelta(0), True
    fraction, amount, peak_at, peak_nav = (
        worst_fraction,
        worst_amount,
        worst_peak.at,
        worst_peak.nav,
    )
    for snapshot in ordered:
        if snapshot.at > trough_at and snapshot.nav >= peak_nav:
            return tuple(points), fraction, amount, snapshot.at - peak_at, True
    return tuple(points), fraction, amount, ordered[-1].at - peak_at, False


def _monthly(ordered: list[NavSnapshot]) -> tuple[MonthlyReturn, ...]:
    month_end: dict[str, Decimal] = {}
    for snapshot in ordered:
        month_end[_utc_date(snapshot.at).strftime("%Y-%m")] = snapshot.nav
    result: list[MonthlyReturn] = []
    previous = ordered[0].nav
    for month, nav in month_end.items():
        result.append(MonthlyReturn(month=month, ret=float(nav / previous) - 1.0))
        previous = nav
    return tuple(result)


def performance(
    snapshots: Sequence[NavSnapshot],
    trades: Sequence[ClosedTrade] = (),
    *,
    risk_free: float = 0.0,
) -> PerformanceReport:
    """Performance from NAV snapshots and closed trades (see the module conventions).

    A trade with a positive P&L is a win, a negative one a loss, zero neither (it still
    counts in ``trades``). ``profit_factor`` is gross wins over gross losses (None with no
    loss); averages are None when there is nothing to average.

    Raises
    ------
    ValueError
        If there is no snapshot or a NAV is not positive.

    """
    ordered = _ordered(snapshots)
    returns = daily_returns(ordered)
    sharpe, sortino, vol = _ratios(returns, risk_free)
    points, max_dd, max_dd_amount, duration, recovered = _drawdowns(ordered)
    wins = [t.pnl for t in trades if t.pnl > 0]
    losses = [t.pnl for t in trades if t.pnl < 0]
    gross_win = sum(wins, _ZERO)
    gross_loss = sum(losses, _ZERO)
    return PerformanceReport(
        start=ordered[0].at,
        end=ordered[-1].at,
        starting_nav=ordered[0].nav,
        ending_nav=ordered[-1].nav,
        total_return=float(ordered[-1].nav / ordered[0].nav) - 1.0,
        trades=len(trades),
        wins=len(wins),
        losses=len(losses),
        win_rate=len(wins) / len(trades) if trades else None,
        average_win=gross_win / len(wins) if wins else None,
        average_loss=gross_loss / len(losses) if losses else None,
        profit_factor=gross_win / -gross_loss if losses else None,
        sharpe=sharpe,
        sortino=sortino,
        volatility=vol,
        max_drawdown=max_dd,
        max_drawdown_amount=max_dd_amount,
        max_drawdown_duration=duration,
        max_drawdown_recovered=recovered,
        risk_free=risk_free,
        equity=tuple(EquityPoint(at=s.at, nav=s.nav) for s in ordered),
        drawdowns=points,
        monthly_returns=_monthly(ordered),
    )


# --------------------------------------------------------------------------- tax lots


class Term(enum.StrEnum):
    """Holding period class: long-term when held more than 365 days."""

    SHORT = "short"
    LONG = "long"


class LotSide(enum.StrEnum):
    """A lot bought to open (long) or sold to open (short)."""

    LONG = "long"
    SHORT = "short"


@dataclass(frozen=True, slots=True)
class RealizedLot:
    """A closed lot (or part of one).

    ``gain`` is ``proceeds - cost_basis``; ``wash_sale_disallowed`` (>= 0) is the loss a
    wash sale disallows; ``adjusted_gain`` is ``gain + wash_sale_disallowed``. For a short
    lot, proceeds come from the opening sale and the basis from the closing purchase.
    """

    symbol: str
    side: LotSide
    quantity: int
    opened_at: datetime
    closed_at: datetime
    term: Term
    proceeds: Decimal
    cost_basis: Decimal
    gain: Decimal
    wash_sale_disallowed: Decimal
    adjusted_gain: Decimal


@dataclass(slots=True)
class _Lot:
    """An open lot, mutable inside :func:`tax_lots` only."""

    lot_id: int
    symbol: str
    side: LotSide
    quantity: int
    money: Decimal  # basis (long) or opening proceeds (short) of the open quantity
    opened_at: datetime
    replacement_capacity: int


@dataclass(frozen=True, slots=True)
class _Trade:
    symbol: str
    quantity: int  # signed
    money: Decimal  # quantity x price x multiplier, > = 0
    cost: Decimal  # commission and fees of this leg
    at: datetime


def _cents(value: Decimal) -> Decimal:
    return value.quantize(_CENT, rounding=ROUND_HALF_EVEN)


def _split(total: Decimal, part: int, whole: int) -> Decimal:
    """The share of ``total`` for ``part`` of ``whole`` (exact when ``part == whole``)."""
    return total if part == whole else _cents(total * part / whole)


def _trades(fills: Iterable[Fill]) -> list[_Trade]:
    trades: list[_Trade] = []
    for fill in fills:
        if fill.at.tzinfo is None:
            raise ValueError(f"fill time {fill.at.isoformat()} must be timezone-aware")
        costs = fill.commission + fill.fees
        contracts = sum(leg.quantity for leg in fill.legs)
        left = costs
        for index, leg in enumerate(fill.legs):
            if index == len(fill.legs) - 1:
                share = left
            else:
                share = _cents(costs * leg.quantity / contracts) if contracts else _ZERO
                left -= share
            trades.append(
                _Trade(
                    symbol=leg.symbol,
                    quantity=leg.side.sign * leg.quantity,
                    money=leg.price * leg.quantity * leg.multiplier,
                    cost=share,
                    at=fill.at,
                )
            )
    trades.sort(key=lambda t: t.at)  # stable: fills at the same time keep their order
    return trades


def _term(opened: datetime, closed: datetime) -> Term:
    return Term.LONG if (_utc_date(closed) - _utc_date(opened)).days > 365 else Term.SHORT


def tax_lots(fills: Iterable[Fill]) -> tuple[RealizedLot, ...]:
    """Realized tax lots from fills, FIFO per symbol, wash sales adjusted.

    See the module docstring for the rules. Lots are returned in the order they close.
    """
    trades = _trades(fills)
    # pass 1: which part of each trade opens a long lot (needed to look ahead for wash sales)
    held: dict[str, int] = defaultdict(int)
    opens_long: dict[int, int] = {}
    for index, trade in enumerate(trades):
        before = held[trade.symbol]
        after = before + trade.quantity
        if trade.quantity > 0 and after > 0:
            opens_long[index] = after - max(before, 0)
        held[trade.symbol] = after
    future: dict[int, _Lot] = {
        index: _Lot(
            lot_id=index,
            symbol=trades[index].symbol,
            side=LotSide.LONG,
            quantity=quantity,
            money=_ZERO,
            opened_at=trades[index].at,
            replacement_capacity=quantity,
        )
        for index, quantity in opens_long.items()
    }
    open_lots: dict[str, list[_Lot]] = defaultdict(list)
    realized: list[RealizedLot] = []

    for index, trade in enumerate(trades):
        lots = open_lots[trade.symbol]
        remaining = abs(trade.quantity)
        closing_side = LotSide.LONG if trade.quantity < 0 else LotSide.SHORT
        money_left = trade.money - trade.cost if trade.quantity < 0 else trade.money + trade.cost
        sold: list[tuple[_Lot, int, Decimal, Decimal]] = []  # lot, qty, lot money, trade money
        while remaining and lots and lots[0].side is closing_side:
            lot = lots[0]
            qty = min(remaining, lot.quantity)
            lot_money = _split(lot.money, qty, lot.quantity)
            trade_money = _split(money_left, qty, remaining)
            lot.money -= lot_money
            lot.quantity -= qty
            money_left -= trade_money
            remaining -= qty
            if lot.quantity == 0:
                lots.pop(0)
            sold.append((lot, qty, lot_money, trade_money))
        for lot, qty, lot_money, trade_money in sold:
            if lot.side is LotSide.LONG:
                proceeds, basis = trade_money, lot_money
            else:
                proceeds, basis = lot_money, trade_money
            gain = proceeds - basis
            disallowed = _ZERO
            if lot.side is LotSide.LONG and gain < 0:
                disallowed = _wash(
                    loss=-gain,
                    quantity=qty,
                    sold_at=trade.at,
                    symbol=trade.symbol,
                    excluded={s[0].lot_id for s in sold},
                    open_lots=lots,
                    future=future,
                    after=index,
                )
            realized.append(
                RealizedLot(
                    symbol=trade.symbol,
                    side=lot.side,
                    quantity=qty,
                    opened_at=lot.opened_at,
                    closed_at=trade.at,
                    term=_term(lot.opened_at, trade.at),
                    proceeds=proceeds,
                    cost_basis=basis,
                    gain=gain,
                    wash_sale_disallowed=disallowed,
                    adjusted_gain=gain + disallowed,
                )
            )
        if remaining:
            if trade.quantity > 0:
                lot = future[index]  # its money may already hold wash-sale adjustments
                lot.money += money_left
            else:
                lot = _Lot(
                    lot_id=-index - 1,
                    symbol=trade.symbol,
                    side=LotSide.SHORT,
                    quantity=remaining,
                    money=money_left,
                    opened_at=trade.at,
                    replacement_capacity=0,
                )
            lots.append(lot)
    return tuple(realized)


def _wash(
    *,
    loss: Decimal,
    quantity: int,
    sold_at: datetime,
    symbol: str,
    excluded: set[int],
    open_lots: list[_Lot],
    future: dict[int, _Lot],
    after: int,
) -> Decimal:
    """Disallow ``loss`` on ``quantity`` sold against replacement lots; the amount disallowed.

    Candidates are the long lots still open (their open quantity) and the long lots opened
    after the sale, in the order they were bought; each adds its share to its basis.
    """
    candidates = [
        (lot, lot.quantity)
        for lot in open_lots
        if lot.side is LotSide.LONG and lot.lot_id not in excluded and lot.quantity > 0
    ]
    candidates += [
        (lot, lot.quantity)
        for index, lot in sorted(future.items())
        if index > after and lot.symbol == symbol
    ]
    sold_on = _utc_date(sold_at)
    disallowed = _ZERO
    left_qty = quantity
    left_loss = loss
    for lot, open_qty in candidates:
        if not left_qty:
            break
        if abs((_utc_date(lot.opened_at) - sold_on).days) > WASH_SALE_DAYS:
            continue
        usable = min(lot.replacement_capacity, open_qty, left_qty)
        if usable <= 0:
            continue
        part = _split(left_loss, usable, left_qty)
        lot.replacement_capacity -= usable
        lot.money += part
        left_qty -= usable
        left_loss -= part
        disallowed += part
    return disallowed


_CSV_FIELDS = (
    "symbol",
    "side",
    "quantity",
    "opened_at",
    "closed_at",
    "term",
    "proceeds",
    "cost_basis",
    "gain",
    "wash_sale_disallowed",
    "adjusted_gain",
)


def lots_to_csv(lots: Iterable[RealizedLot]) -> str:
    """Realized lots as CSV text (a header, one row per lot, ISO 8601 UTC times, Decimals)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(_CSV_FIELDS)
    for lot in lots:
        writer.writerow(
            (
                lot.symbol,
                lot.side.value,
                lot.quantity,
                lot.opened_at.isoformat(),
                lot.closed_at.isoformat(),
                lot.term.value,
                str(lot.proceeds),
                str(lot.cost_basis),
                str(lot.gain),
                str(lot.wash_sale_disallowed),
                str(lot.adjusted_gain),
            )
        )
    return buffer.getvalue()
