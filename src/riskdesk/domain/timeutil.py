"""Expiry times, year fractions and expiry calendars for listed US options.

Conventions
-----------
* Every timestamp is timezone-aware; naive datetimes are refused with a ``ValueError``
  (a naive market timestamp is a bug: nobody knows which clock it was read from).
  Results are returned in UTC.
* **Calendar basis** (``basis="calendar"``) is ACT/365F on exact elapsed seconds:
  ``T = (end - start).total_seconds() / (365 * 86400)``, so one hour is ``1/8760`` year and a
  daylight-saving night (23 or 25 hours) counts as it really is.  This is the time the pricing
  kernels use with continuously compounded rates.
* **Trading basis** (``basis="trading"``) counts only open-market time: the seconds of every
  exchange session (``exchange_calendars`` open to close, minus any lunch break) that fall
  between ``start`` and ``end``, divided by a trading year of ``252`` standard sessions.  The
  standard session is the calendar's most frequent session length: 6.5 hours (09:30-16:00
  New York) for ``XNYS``, so the trading year is ``252 * 6.5 * 3600 = 5_896_800`` seconds.
  Half days (e.g. 2024-11-29, close 13:00 New York) contribute only their 3.5 open hours,
  i.e. ``3.5 / 6.5 / 252`` year; the denominator never changes, so a year with half days simply
  has less than 1.0 trading year of open time.  Weekends, holidays and overnight gaps count 0.
* Both bases are signed: ``year_fraction(a, b) == -year_fraction(b, a)``; a negative value
  means the expiry is in the past.
* Expiry instants: PM-settled options (equities, ETFs, SPXW) expire at the session close of
  the expiry date (16:00 New York, 13:00 on half days); AM-settled index options (SPX, NDX,
  RUT monthlies) settle on the opening prints, i.e. at the session open (09:30 New York).

Exchange calendars are built once per name, lazily, for sessions from 2000-01-01 to
2040-12-31, and turned into plain numpy arrays, so the hot paths never call into
``exchange_calendars`` or pandas again.  Timestamps or dates outside that range raise
``ValueError``.

Examples
--------
>>> from datetime import date
>>> from riskdesk.domain.instruments import Settlement
>>> expiry_datetime(date(2024, 11, 29), settlement=Settlement.PM).isoformat()
'2024-11-29T18:00:00+00:00'
>>> monthly_expiry(2025, 4)  # third Friday 2025-04-18 is Good Friday
datetime.date(2025, 4, 17)

"""

from __future__ import annotations

import calendar as _stdlib_calendar
import functools
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal, get_args

import numpy as np
import numpy.typing as npt

from riskdesk.domain.instruments import Settlement

__all__ = [
    "CALENDAR_FIRST_DATE",
    "CALENDAR_LAST_DATE",
    "SECONDS_PER_YEAR",
    "TRADING_SESSIONS_PER_YEAR",
    "DayCountBasis",
    "ExpiryCycle",
    "expiry_datetime",
    "is_trading_day",
    "monthly_expiry",
    "next_expiries",
    "third_friday",
    "trading_year_seconds",
    "year_fraction",
    "year_fractions",
]

DayCountBasis = Literal["calendar", "trading"]
"""``calendar``: ACT/365F on exact seconds; ``trading``: open-market time / 252 sessions."""

ExpiryCycle = Literal["daily", "weekly", "monthly"]
"""``daily``: every session (0DTE SPY/QQQ/IWM/SPXW); ``weekly``: last session of each week
up to Friday; ``monthly``: third Friday, or the session before it when it is a holiday."""

SECONDS_PER_YEAR: int = 365 * 86_400
"""ACT/365F year in seconds (31 536 000)."""

TRADING_SESSIONS_PER_YEAR: int = 252
"""Sessions in one trading year for ``basis="trading"``."""

CALENDAR_FIRST_DATE = date(2000, 1, 1)
"""First date covered by the cached exchange calendars."""

CALENDAR_LAST_DATE = date(2040, 12, 31)
"""Last date covered by the cached exchange calendars."""

_EPOCH = datetime(1970, 1, 1)  # noqa: DTZ001 - naive UTC epoch, used only after removing the offset
_NS_PER_DAY = 86_400 * 10**9
_NS_PER_SECOND = 10**9
_FRIDAY = 4


@dataclass(frozen=True, slots=True)
class _Sessions:
    """One exchange calendar as numpy arrays (all instants int64 ns since the UTC epoch)."""

    name: str
    days: npt.NDArray[np.int64]  # session dates as days since 1970-01-01, ascending
    opens: npt.NDArray[np.int64]
    closes: npt.NDArray[np.int64]
    starts: npt.NDArray[np.int64]  # open-market intervals (sessions split at breaks)
    ends: npt.NDArray[np.int64]
    cumulative: npt.NDArray[np.int64]  # open ns before interval i, length len(starts) + 1
    standard_session_ns: int

    @property
    def first_day(self) -> date:
        return _day_to_date(int(self.days[0]))

    @property
    def last_day(self) -> date:
        return _day_to_date(int(self.days[-1]))


def _day_to_date(days: int) -> date:
    return date(1970, 1, 1) + timedelta(days=days)


def _date_to_day(d: date) -> int:
    return (d - date(1970, 1, 1)).days


@functools.lru_cache(maxsize=8)
def _sessions(name: str) -> _Sessions:
    """Build (once per name) the session arrays of exchange calendar ``name``."""
    import exchange_calendars as xcals

    with warnings.catch_warnings():
        # exchange_calendars 4.x on pandas 3 emits Pandas4Warning (Series.values on tz-aware
        # data) inside its own constructor; it is not actionable here and pytest runs with
        # warnings as errors.
        warnings.simplefilter("ignore")
        try:
            cal = xcals.get_calendar(
                name,
                start=CALENDAR_FIRST_DATE.isoformat(),
                end=CALENDAR_LAST_DATE.isoformat(),
            )
        except xcals.errors.InvalidCalendarName as exc:
            raise ValueError(
                f"calendar {name!r} is not an exchange_calendars name; use an ISO MIC such "
                f"as 'XNYS' (NYSE) or 'XCBF' (Cboe Futures)"
            ) from exc
        schedule = cal.schedule
        days = schedule.index.to_numpy().astype("datetime64[D]").astype(np.int64)
        columns = {}
        for column in ("open", "close", "break_start", "break_end"):
            utc = schedule[column].dt.tz_convert(None).to_numpy().astype("datetime64[ns]")
            columns[column] = utc
    opens = columns["open"].astype(np.int64)
    closes = columns["close"].astype(np.int64)
    has_break = ~np.isnat(columns["break_start"]) & ~np.isnat(columns["break_end"])
    break_starts = np.where(has_break, columns["break_start"].astype(np.int64), closes)
    break_ends = np.where(has_break, columns["break_end"].astype(np.int64), closes)
    # Session i is [open_i, break_start_i] + [break_end_i, close_i]; without a break the
    # second piece is empty (close_i, close_i).
    starts = np.column_stack([opens, break_ends]).ravel()
    ends = np.column_stack([break_starts, closes]).ravel()
    lengths = ends - starts
    cumulative = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    session_lengths = lengths[0::2] + lengths[1::2]
    values, counts = np.unique(session_lengths, return_counts=True)
    standard = int(values[np.argmax(counts)])
    return _Sessions(
        name=name,
        days=days,
        opens=opens,
        closes=closes,
        starts=starts,
        ends=ends,
        cumulative=cumulative,
        standard_session_ns=standard,
    )


def _require_aware(name: str, value: datetime) -> None:
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a timezone-aware datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(
            f"{name} must be timezone-aware, got naive {value!r}; attach the zone it was "
            f"read in, e.g. value.replace(tzinfo=ZoneInfo('America/New_York')) or tzinfo=UTC"
        )


def _to_ns(name: str, value: datetime) -> int:
    """Exact nanoseconds since the UTC epoch of an aware datetime."""
    _require_aware(name, value)
    offset = value.utcoffset()
    assert offset is not None  # checked by _require_aware
    delta = value.replace(tzinfo=None) - offset - _EPOCH
    return delta.days * _NS_PER_DAY + delta.seconds * _NS_PER_SECOND + delta.microseconds * 1_000


def _ns_to_datetime(ns: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=ns // 1_000)


def _session_index(sessions: _Sessions, d: date) -> int | None:
    """Index of session date ``d`` or None if ``d`` is not a session."""
    _check_date_in_range(sessions, d)
    day = _date_to_day(d)
    i = int(np.searchsorted(sessions.days, day))
    if i < len(sessions.days) and int(sessions.days[i]) == day:
        return i
    return None


def _check_date_in_range(sessions: _Sessions, d: date) -> None:
    if not CALENDAR_FIRST_DATE <= d <= CALENDAR_LAST_DATE:
        raise ValueError(
            f"date {d.isoformat()} is outside the cached {sessions.name} calendar range "
            f"{CALENDAR_FIRST_DATE.isoformat()}..{CALENDAR_LAST_DATE.isoformat()}"
        )


def trading_year_seconds(calendar: str = "XNYS") -> float:
    """Length of one trading year in open-market seconds for ``basis="trading"``.

    Parameters
    ----------
    calendar : str
        exchange_calendars name (ISO MIC).

    Returns
    -------
    float
        ``252 * standard session length``; ``5_896_800.0`` s for ``XNYS`` (6.5 h sessions).

    """
    sessions = _sessions(calendar)
    return TRADING_SESSIONS_PER_YEAR * sessions.standard_session_ns / _NS_PER_SECOND


def is_trading_day(d: date, *, calendar: str = "XNYS") -> bool:
    """Whether ``d`` is a session of ``calendar`` (half days count as sessions).

    Parameters
    ----------
    d : date
        Local exchange date.
    calendar : str
        exchange_calendars name (ISO MIC), default ``XNYS``.

    Raises
    ------
    ValueError
        If ``d`` is outside 2000-01-01..2040-12-31.

    """
    return _session_index(_sessions(calendar), d) is not None


def expiry_datetime(expiry: date, *, settlement: Settlement, calendar: str = "XNYS") -> datetime:
    """Return the instant (UTC) an option expiring on ``expiry`` stops having time value.

    Parameters
    ----------
    expiry : date
        Expiry date as in the OCC symbol; must be a session of ``calendar``.
    settlement : Settlement
        ``PM``: the session close (16:00 New York, 13:00 on half days).
        ``AM``: the session open (09:30 New York), when the opening prints that fix the
        special opening quotation (SOQ) of SPX/NDX/RUT monthlies are taken.
    calendar : str
        exchange_calendars name (ISO MIC), default ``XNYS``.

    Returns
    -------
    datetime
        Timezone-aware UTC datetime; daylight saving is handled by the calendar, e.g.
        2024-03-08 PM is 21:00 UTC and 2024-03-11 PM is 20:00 UTC.

    Raises
    ------
    ValueError
        If ``expiry`` is not a session (weekend or holiday) or outside the cached range.

    """
    sessions = _sessions(calendar)
    i = _session_index(sessions, expiry)
    if i is None:
        previous = _previous_session_on_or_before(sessions, expiry)
        hint = f", e.g. the previous session {previous.isoformat()}" if previous else ""
        raise ValueError(
            f"expiry {expiry.isoformat()} is not a {calendar} session (weekend or holiday); "
            f"listed options expire on a trading day{hint}"
        )
    settlement = Settlement(settlement)
    instant = sessions.opens[i] if settlement is Settlement.AM else sessions.closes[i]
    return _ns_to_datetime(int(instant))


def _trading_ns(sessions: _Sessions, instants: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Open-market nanoseconds from the calendar start up to each instant."""
    lo, hi = int(sessions.starts[0]), int(sessions.ends[-1])
    if instants.size and (int(instants.min()) < lo or int(instants.max()) > hi):
        raise ValueError(
            f"timestamp outside the cached {sessions.name} calendar range "
            f"{_ns_to_datetime(lo).isoformat()}..{_ns_to_datetime(hi).isoformat()}; "
            f"trading-time year fractions need exchange sessions on both ends"
        )
    i = np.searchsorted(sessions.starts, instants, side="right") - 1
    i = np.clip(i, 0, len(sessions.starts) - 1)
    inside = np.clip(instants - sessions.starts[i], 0, sessions.ends[i] - sessions.starts[i])
    result: npt.NDArray[np.int64] = sessions.cumulative[i] + inside
    return result


def _check_basis(basis: str) -> None:
    if basis not in get_args(DayCountBasis):
        raise ValueError(f"basis must be 'calendar' or 'trading', got {basis!r}")


def year_fraction(
    start: datetime,
    end: datetime,
    *,
    basis: DayCountBasis = "calendar",
    calendar: str = "XNYS",
) -> float:
    """Signed year fraction from ``start`` to ``end``.

    Parameters
    ----------
    start, end : datetime
        Timezone-aware instants (any zone; compared in UTC).
    basis : {"calendar", "trading"}
        ``calendar``: ACT/365F on exact seconds, ``(end - start) / 31_536_000 s``.
        ``trading``: open-market seconds of ``calendar`` sessions inside ``[start, end]``
        divided by 252 standard sessions (6.5 h for XNYS); half days count their real
        (shorter) open time. See the module docstring.
    calendar : str
        exchange_calendars name, used only for ``basis="trading"``.

    Returns
    -------
    float
        Years; negative when ``end`` is before ``start``.

    Raises
    ------
    ValueError
        For naive datetimes, an unknown basis, or (trading basis) instants outside
        2000-2040.

    Examples
    --------
    >>> from datetime import UTC, datetime
    >>> t0 = datetime(2024, 1, 2, 15, 0, tzinfo=UTC)
    >>> year_fraction(t0, datetime(2024, 1, 2, 16, 0, tzinfo=UTC)) * 8760
    1.0

    """
    return float(year_fractions(start, [end], basis=basis, calendar=calendar)[0])


def year_fractions(
    start: datetime,
    ends: Sequence[datetime],
    *,
    basis: DayCountBasis = "calendar",
    calendar: str = "XNYS",
) -> npt.NDArray[np.float64]:
    """Vectorized :func:`year_fraction` from one ``start`` to many ``ends``.

    Parameters
    ----------
    start : datetime
        Timezone-aware valuation instant.
    ends : Sequence[datetime]
        Timezone-aware instants, typically :func:`expiry_datetime` of each contract.
    basis, calendar
        As in :func:`year_fraction`.

    Returns
    -------
    numpy.ndarray
        float64 array of signed year fractions, same length as ``ends``.

    """
    _check_basis(basis)
    start_ns = _to_ns("start", start)
    end_ns = np.fromiter(
        (_to_ns(f"ends[{i}]", e) for i, e in enumerate(ends)), dtype=np.int64, count=len(ends)
    )
    if basis == "calendar":
        # Exact integer ns difference first, then one division: no float cancellation.
        elapsed = end_ns - np.int64(start_ns)
        result: npt.NDArray[np.float64] = elapsed / float(SECONDS_PER_YEAR * _NS_PER_SECOND)
        return result
    sessions = _sessions(calendar)
    open_ns = _trading_ns(sessions, np.concatenate([[start_ns], end_ns]).astype(np.int64))
    year_ns = TRADING_SESSIONS_PER_YEAR * sessions.standard_session_ns
    trading: npt.NDArray[np.float64] = (open_ns[1:] - open_ns[0]) / float(year_ns)
    return trading


def third_friday(year: int, month: int) -> date:
    """Third Friday of ``month`` (the standard monthly expiry date before holiday rolls).

    Examples
    --------
    >>> third_friday(2024, 1)
    datetime.date(2024, 1, 19)

    """
    first_weekday = _stdlib_calendar.weekday(year, month, 1)
    return date(year, month, 1 + (_FRIDAY - first_weekday) % 7 + 14)


def _previous_session_on_or_before(sessions: _Sessions, d: date) -> date | None:
    day = _date_to_day(d)
    i = int(np.searchsorted(sessions.days, day, side="right")) - 1
    return _day_to_date(int(sessions.days[i])) if i >= 0 else None


def _weekly_expiry(sessions: _Sessions, friday: date) -> date | None:
    """Last session of the Monday..Friday week ending on ``friday`` (None: week closed)."""
    last = _previous_session_on_or_before(sessions, friday)
    if last is None or (friday - last).days > 4:
        return None
    return last


def monthly_expiry(year: int, month: int, *, calendar: str = "XNYS") -> date:
    """Return the monthly expiry: the third Friday, or the last session before it if closed.

    Examples
    --------
    >>> monthly_expiry(2026, 6)  # 2026-06-19 is Juneteenth
    datetime.date(2026, 6, 18)

    """
    sessions = _sessions(calendar)
    friday = third_friday(year, month)
    _check_date_in_range(sessions, friday)
    rolled = _weekly_expiry(sessions, friday)
    if rolled is None:
        raise ValueError(
            f"no {calendar} session in the week of the third Friday {friday.isoformat()}"
        )
    return rolled


def next_expiries(
    start: date,
    *,
    cycle: ExpiryCycle = "weekly",
    count: int | None = None,
    until: date | None = None,
    calendar: str = "XNYS",
) -> list[date]:
    """Return the standard listed expiry dates on or after ``start``.

    Parameters
    ----------
    start : date
        First candidate date (included when it is an expiry, so a 0DTE chain on ``start``
        is part of the result).
    cycle : {"daily", "weekly", "monthly"}
        ``daily``: every session (SPY/QQQ/IWM/SPXW 0DTE listings).
        ``weekly``: each week's Friday, or the last session before it in the same week when
        the Friday is a holiday (2024-03-29 Good Friday -> Thursday 2024-03-28).
        ``monthly``: :func:`monthly_expiry` of each month.
    count : int or None
        Maximum number of dates to return.
    until : date or None
        Last date (inclusive) to consider. At least one of ``count`` / ``until`` is needed.
    calendar : str
        exchange_calendars name, default ``XNYS``.

    Returns
    -------
    list[date]
        Ascending expiry dates.

    Raises
    ------
    ValueError
        If neither ``count`` nor ``until`` is given, ``count < 0``, an unknown cycle, or the
        dates leave the cached calendar range 2000-2040.

    """
    if count is None and until is None:
        raise ValueError("next_expiries needs count= or until= (or both) to know when to stop")
    if count is not None and count < 0:
        raise ValueError(f"count must be >= 0, got {count}")
    if cycle not in get_args(ExpiryCycle):
        raise ValueError(f"cycle must be 'daily', 'weekly' or 'monthly', got {cycle!r}")
    sessions = _sessions(calendar)
    _check_date_in_range(sessions, start)
    limit = until if until is not None else CALENDAR_LAST_DATE
    if until is not None:
        _check_date_in_range(sessions, until)
    wanted = count if count is not None else len(sessions.days)
    out: list[date] = []
    if cycle == "daily":
        first = int(np.searchsorted(sessions.days, _date_to_day(start)))
        last = int(np.searchsorted(sessions.days, _date_to_day(limit), side="right"))
        days = sessions.days[first:last][:wanted]
        return [_day_to_date(int(d)) for d in days]
    if cycle == "weekly":
        friday = start + timedelta(days=(_FRIDAY - start.weekday()) % 7)
        while len(out) < wanted and friday <= CALENDAR_LAST_DATE:
            expiry = _weekly_expiry(sessions, friday)
            if expiry is not None and expiry > limit:
                break
            if expiry is not None and expiry >= start:
                out.append(expiry)
            friday += timedelta(days=7)
        return out
    year, month = start.year, start.month
    while len(out) < wanted and date(year, month, 1) <= CALENDAR_LAST_DATE:
        expiry = monthly_expiry(year, month, calendar=calendar)
        if expiry > limit:
            break
        if expiry >= start:
            out.append(expiry)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out
