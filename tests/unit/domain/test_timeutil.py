"""Expiry instants, year fractions and expiry calendars."""

from __future__ import annotations

import warnings
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from riskdesk.domain.instruments import Settlement
from riskdesk.domain.timeutil import (
    SECONDS_PER_YEAR,
    DayCountBasis,
    expiry_datetime,
    is_trading_day,
    monthly_expiry,
    next_expiries,
    third_friday,
    trading_year_seconds,
    year_fraction,
    year_fractions,
)

NY = ZoneInfo("America/New_York")
TRADING_YEAR_HOURS = 252 * 6.5


def _ny(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=NY)


def _utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


# --- expiry instants -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expiry", "settlement", "expected_utc"),
    [
        (date(2024, 1, 19), Settlement.PM, _utc(2024, 1, 19, 21, 0)),  # EST close
        (date(2024, 7, 19), Settlement.PM, _utc(2024, 7, 19, 20, 0)),  # EDT close
        (date(2024, 11, 29), Settlement.PM, _utc(2024, 11, 29, 18, 0)),  # half day 13:00 ET
        (date(2024, 7, 3), Settlement.PM, _utc(2024, 7, 3, 17, 0)),  # half day 13:00 EDT
        (date(2024, 3, 8), Settlement.PM, _utc(2024, 3, 8, 21, 0)),  # Friday before DST
        (date(2024, 3, 11), Settlement.PM, _utc(2024, 3, 11, 20, 0)),  # Monday after DST
        (date(2024, 11, 1), Settlement.PM, _utc(2024, 11, 1, 20, 0)),  # last EDT Friday
        (date(2024, 11, 4), Settlement.PM, _utc(2024, 11, 4, 21, 0)),  # first EST Monday
        (date(2024, 3, 15), Settlement.AM, _utc(2024, 3, 15, 13, 30)),  # SPX monthly, EDT open
        (date(2024, 1, 19), Settlement.AM, _utc(2024, 1, 19, 14, 30)),  # SPX monthly, EST open
        (date(2024, 11, 29), Settlement.AM, _utc(2024, 11, 29, 14, 30)),  # half day opens 9:30
    ],
)
def test_expiry_datetime_with_known_session_returns_utc_instant(
    expiry: date, settlement: Settlement, expected_utc: datetime
) -> None:
    result = expiry_datetime(expiry, settlement=settlement)

    assert result == expected_utc
    assert result.utcoffset() == timedelta(0)


def test_expiry_datetime_with_good_friday_raises_with_previous_session_hint() -> None:
    with pytest.raises(ValueError, match=r"2024-03-29 is not a XNYS session.*2024-03-28"):
        expiry_datetime(date(2024, 3, 29), settlement=Settlement.PM)


def test_expiry_datetime_with_date_outside_cached_range_raises() -> None:
    with pytest.raises(ValueError, match="outside the cached XNYS calendar range"):
        expiry_datetime(date(2045, 1, 20), settlement=Settlement.PM)


def test_expiry_datetime_with_unknown_calendar_raises_value_error() -> None:
    with pytest.raises(ValueError, match="'NOPE' is not an exchange_calendars name"):
        expiry_datetime(date(2024, 1, 19), settlement=Settlement.PM, calendar="NOPE")


def test_expiry_datetime_with_first_use_of_calendar_emits_no_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        expiry_datetime(date(2024, 1, 19), settlement=Settlement.PM, calendar="XNAS")


# --- calendar year fractions -----------------------------------------------------------------


def test_year_fraction_with_one_hour_returns_one_over_8760() -> None:
    start = _utc(2024, 1, 2, 15, 0)

    result = year_fraction(start, start + timedelta(hours=1))

    assert result == pytest.approx(1 / 8760, rel=1e-15)


def test_year_fraction_with_one_minute_resolves_minutes() -> None:
    start = _utc(2024, 1, 2, 20, 58)

    result = year_fraction(start, start + timedelta(minutes=2))

    assert result * SECONDS_PER_YEAR == pytest.approx(120.0, rel=1e-12)


def test_year_fraction_with_365_days_returns_one() -> None:
    assert year_fraction(_utc(2023, 1, 1), _utc(2024, 1, 1)) == 1.0


def test_year_fraction_with_spring_forward_night_counts_23_hours() -> None:
    # Same ZoneInfo on both ends: naive wall-clock subtraction would say 24 hours.
    result = year_fraction(_ny(2024, 3, 9, 12, 0), _ny(2024, 3, 10, 12, 0))

    assert result * 8760 == pytest.approx(23.0, rel=1e-12)


def test_year_fraction_with_fall_back_night_counts_25_hours() -> None:
    result = year_fraction(_ny(2024, 11, 2, 12, 0), _ny(2024, 11, 3, 12, 0))

    assert result * 8760 == pytest.approx(25.0, rel=1e-12)


def test_year_fraction_with_mixed_zones_compares_instants() -> None:
    result = year_fraction(_ny(2024, 11, 29, 9, 30), _utc(2024, 11, 29, 18, 0))

    assert result * 8760 == pytest.approx(3.5, rel=1e-12)


def test_year_fraction_with_end_before_start_is_negative() -> None:
    start, end = _utc(2024, 1, 2, 16), _utc(2024, 1, 2, 15)

    assert year_fraction(start, end) == -year_fraction(end, start)
    assert year_fraction(start, end, basis="trading") == pytest.approx(-1 / TRADING_YEAR_HOURS)


def test_year_fraction_with_0dte_afternoon_to_pm_expiry_is_hours() -> None:
    now = _ny(2024, 6, 14, 14, 15)
    expiry = expiry_datetime(date(2024, 6, 14), settlement=Settlement.PM)

    assert year_fraction(now, expiry) == pytest.approx(1.75 / 8760, rel=1e-12)
    assert year_fraction(now, expiry, basis="trading") == pytest.approx(
        1.75 / TRADING_YEAR_HOURS, rel=1e-12
    )


@pytest.mark.parametrize("basis", ["calendar", "trading"])
def test_year_fraction_with_naive_start_raises_value_error(basis: DayCountBasis) -> None:
    with pytest.raises(ValueError, match="start must be timezone-aware"):
        year_fraction(datetime(2024, 1, 2, 15), _utc(2024, 1, 3), basis=basis)


def test_year_fraction_with_naive_end_raises_value_error() -> None:
    with pytest.raises(ValueError, match=r"ends\[0\] must be timezone-aware"):
        year_fraction(_utc(2024, 1, 2), datetime(2024, 1, 3))


def test_year_fraction_with_unknown_basis_raises_value_error() -> None:
    with pytest.raises(ValueError, match="basis must be 'calendar' or 'trading'"):
        year_fraction(_utc(2024, 1, 2), _utc(2024, 1, 3), basis="act360")  # type: ignore[arg-type]


# --- trading year fractions ------------------------------------------------------------------


def test_trading_year_seconds_with_xnys_is_252_sessions_of_six_and_a_half_hours() -> None:
    assert trading_year_seconds("XNYS") == 252 * 6.5 * 3600


def test_year_fraction_trading_with_full_session_is_one_over_252() -> None:
    result = year_fraction(_ny(2024, 1, 2, 9, 30), _ny(2024, 1, 2, 16, 0), basis="trading")

    assert result == pytest.approx(1 / 252, rel=1e-14)


def test_year_fraction_trading_with_half_day_counts_three_and_a_half_hours() -> None:
    # 2024-11-29 closes at 13:00 New York; the rest of the afternoon is closed market.
    result = year_fraction(_ny(2024, 11, 29, 9, 30), _ny(2024, 11, 29, 16, 0), basis="trading")

    assert result * TRADING_YEAR_HOURS == pytest.approx(3.5, rel=1e-14)


def test_year_fraction_trading_with_weekend_and_holiday_counts_only_sessions() -> None:
    # Thursday 2024-03-28 12:00 -> Monday 2024-04-01 12:00; Good Friday closed.
    result = year_fraction(_ny(2024, 3, 28, 12, 0), _ny(2024, 4, 1, 12, 0), basis="trading")

    assert result * TRADING_YEAR_HOURS == pytest.approx(4.0 + 2.5, rel=1e-14)


def test_year_fraction_trading_with_closed_market_interval_is_zero() -> None:
    assert year_fraction(_ny(2024, 1, 5, 17), _ny(2024, 1, 8, 9), basis="trading") == 0.0


def test_year_fraction_trading_with_dst_weekend_counts_sessions_not_clock_hours() -> None:
    # Friday 2024-03-08 15:00 EST -> Monday 2024-03-11 10:00 EDT: 1 h + 0.5 h open.
    result = year_fraction(_ny(2024, 3, 8, 15), _ny(2024, 3, 11, 10), basis="trading")

    assert result * TRADING_YEAR_HOURS == pytest.approx(1.5, rel=1e-14)


def test_year_fraction_trading_with_full_2024_year_counts_half_days_short() -> None:
    # 2024: 252 sessions, of which 3 half days (07-03, 11-29, 12-24).
    result = year_fraction(_utc(2024, 1, 1), _utc(2025, 1, 1), basis="trading")

    assert result * TRADING_YEAR_HOURS == pytest.approx(249 * 6.5 + 3 * 3.5, rel=1e-14)


def test_year_fraction_trading_with_timestamp_outside_range_raises() -> None:
    with pytest.raises(ValueError, match="outside the cached XNYS calendar range"):
        year_fraction(_utc(1999, 6, 1), _utc(2024, 1, 2), basis="trading")


# --- vectorized ------------------------------------------------------------------------------


@pytest.mark.parametrize("basis", ["calendar", "trading"])
def test_year_fractions_with_many_ends_matches_scalar(basis: DayCountBasis) -> None:
    start = _ny(2024, 11, 27, 11, 7)
    ends = [
        expiry_datetime(d, settlement=Settlement.PM)
        for d in next_expiries(date(2024, 11, 27), cycle="daily", count=30)
    ]

    result = year_fractions(start, ends, basis=basis)

    assert result.dtype == np.float64
    assert result.shape == (30,)
    expected = [year_fraction(start, e, basis=basis) for e in ends]
    np.testing.assert_array_equal(result, expected)
    assert np.all(np.diff(result) > 0)


def test_year_fractions_with_empty_ends_returns_empty_array() -> None:
    assert year_fractions(_utc(2024, 1, 2), []).shape == (0,)


def test_year_fractions_with_one_naive_end_raises_naming_index() -> None:
    with pytest.raises(ValueError, match=r"ends\[1\] must be timezone-aware"):
        year_fractions(_utc(2024, 1, 2), [_utc(2024, 1, 3), datetime(2024, 1, 4)])


# --- expiry calendars ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("year", "month", "expected"),
    [
        (2024, 1, date(2024, 1, 19)),
        (2024, 3, date(2024, 3, 15)),
        (2024, 11, date(2024, 11, 15)),
        (2025, 2, date(2025, 2, 21)),  # month starting on Saturday
        (2023, 9, date(2023, 9, 15)),  # month starting on Friday
        (2025, 4, date(2025, 4, 18)),
    ],
)
def test_third_friday_with_month_returns_known_date(year: int, month: int, expected: date) -> None:
    assert third_friday(year, month) == expected


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2024, 3, 28), True),
        (date(2024, 3, 29), False),  # Good Friday
        (date(2024, 11, 28), False),  # Thanksgiving
        (date(2024, 11, 29), True),  # half day is still a session
        (date(2024, 3, 30), False),  # Saturday
        (date(2025, 1, 9), False),  # national day of mourning (President Carter)
    ],
)
def test_is_trading_day_with_known_dates_matches_nyse(day: date, expected: bool) -> None:
    assert is_trading_day(day) is expected


@pytest.mark.parametrize(
    ("year", "month", "expected"),
    [
        (2024, 1, date(2024, 1, 19)),
        (2025, 4, date(2025, 4, 17)),  # third Friday is Good Friday
        (2022, 4, date(2022, 4, 14)),  # third Friday is Good Friday
        (2026, 6, date(2026, 6, 18)),  # third Friday is Juneteenth
    ],
)
def test_monthly_expiry_with_holiday_friday_moves_to_thursday(
    year: int, month: int, expected: date
) -> None:
    assert monthly_expiry(year, month) == expected


def test_next_expiries_weekly_with_good_friday_moves_to_thursday() -> None:
    result = next_expiries(date(2024, 3, 25), cycle="weekly", count=3)

    assert result == [date(2024, 3, 28), date(2024, 4, 5), date(2024, 4, 12)]


def test_next_expiries_weekly_with_start_on_friday_includes_it() -> None:
    assert next_expiries(date(2024, 1, 19), cycle="weekly", count=1) == [date(2024, 1, 19)]


def test_next_expiries_weekly_with_start_after_rolled_expiry_skips_that_week() -> None:
    # Start on Good Friday itself: that week's expiry (Thursday) is already gone.
    assert next_expiries(date(2024, 3, 29), cycle="weekly", count=1) == [date(2024, 4, 5)]


def test_next_expiries_daily_with_holiday_week_lists_every_session() -> None:
    result = next_expiries(date(2024, 11, 25), cycle="daily", until=date(2024, 12, 2))

    assert result == [
        date(2024, 11, 25),
        date(2024, 11, 26),
        date(2024, 11, 27),
        date(2024, 11, 29),
        date(2024, 12, 2),
    ]


def test_next_expiries_monthly_with_until_stops_at_until() -> None:
    result = next_expiries(date(2025, 1, 20), cycle="monthly", until=date(2025, 5, 16))

    assert result == [date(2025, 2, 21), date(2025, 3, 21), date(2025, 4, 17), date(2025, 5, 16)]


def test_next_expiries_with_count_and_until_stops_at_first_limit() -> None:
    result = next_expiries(date(2024, 1, 1), cycle="weekly", count=10, until=date(2024, 1, 20))

    assert result == [date(2024, 1, 5), date(2024, 1, 12), date(2024, 1, 19)]


def test_next_expiries_without_count_or_until_raises_value_error() -> None:
    with pytest.raises(ValueError, match="needs count= or until="):
        next_expiries(date(2024, 1, 1))


def test_next_expiries_with_unknown_cycle_raises_value_error() -> None:
    with pytest.raises(ValueError, match="cycle must be"):
        next_expiries(date(2024, 1, 1), cycle="quarterly", count=1)  # type: ignore[arg-type]
