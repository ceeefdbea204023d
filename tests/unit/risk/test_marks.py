from datetime import UTC, date, datetime
from decimal import Decimal

import numpy as np
import pytest

from riskdesk.domain.instruments import ExerciseStyle, OptionContract, OptionRight, Stock
from riskdesk.domain.timeutil import expiry_datetime, year_fraction
from riskdesk.pricing import price
from riskdesk.risk.marks import Marks, MarkStatus, value_book
from riskdesk.risk.positions import BookPosition

WHEN = datetime(2026, 11, 20, 21, 0, tzinfo=UTC)


def _opt(right: OptionRight, strike: str, style: ExerciseStyle, expiry: date) -> OptionContract:
    return OptionContract(
        underlying="AAPL", expiry=expiry, strike=Decimal(strike), right=right, style=style
    )


def _book() -> list[BookPosition]:
    put = _opt(OptionRight.PUT, "220", ExerciseStyle.AMERICAN, date(2026, 12, 18))
    call = _opt(OptionRight.CALL, "240", ExerciseStyle.EUROPEAN, date(2027, 1, 15))
    gone = _opt(OptionRight.CALL, "200", ExerciseStyle.AMERICAN, date(2026, 10, 16))
    d = date(2026, 9, 1)
    return [
        BookPosition("AAPL", Stock("AAPL"), Decimal(100), Decimal(200), d),
        BookPosition("AAPL  261218P00220000", put, Decimal(-2), Decimal("3.1"), d),
        BookPosition("AAPL  270115C00240000", call, Decimal(3), Decimal("5.2"), d),
        BookPosition("AAPL  261016C00200000", gone, Decimal(1), Decimal("9"), d),
        BookPosition("MSFT", Stock("MSFT"), Decimal(10), Decimal(400), d),
    ]


def test_value_book_with_stock_and_options_matches_pricing_core_directly() -> None:
    marks = Marks(WHEN, spots={"AAPL": 230.0}, vols={"AAPL": 0.25}, rate=0.04)

    out = value_book(_book(), marks)

    t_put = year_fraction(
        WHEN, expiry_datetime(date(2026, 12, 18), settlement=_book()[1].instrument.settlement)
    )  # type: ignore[union-attr]
    t_call = year_fraction(
        WHEN, expiry_datetime(date(2027, 1, 15), settlement=_book()[2].instrument.settlement)
    )  # type: ignore[union-attr]
    put = price(
        model="american",
        engine="bjerksund_stensland_2002",
        S=230.0,
        K=220.0,
        T=t_put,
        r=0.04,
        q=0.0,
        sigma=0.25,
        is_call=False,
    )
    call = price(model="bsm", S=230.0, K=240.0, T=t_call, r=0.04, q=0.0, sigma=0.25, is_call=True)
    assert out.value[0] == pytest.approx(23_000.0)
    assert out.value[1] == pytest.approx(float(put) * -200, rel=1e-12)
    assert out.value[2] == pytest.approx(float(call) * 300, rel=1e-12)
    assert out.delta[0] == 100.0
    assert out.status == (
        MarkStatus.OK,
        MarkStatus.OK,
        MarkStatus.OK,
        MarkStatus.EXPIRED,
        MarkStatus.NO_SPOT,
    )
    assert np.isnan(out.value[3])
    assert np.isnan(out.value[4])


def test_value_book_with_scenarios_equals_one_valuation_per_bumped_spot() -> None:
    marks = Marks(WHEN, spots={"AAPL": 230.0}, vols={"AAPL": 0.25})
    book = _book()[:3]
    moves = np.array([0.9, 1.0, 1.1])

    grid = value_book(
        book, marks, spot_multipliers=moves, vol_multipliers=np.array([1.2, 1.0, 0.8])
    )

    for k, (m, v) in enumerate(zip(moves, (1.2, 1.0, 0.8), strict=True)):
        one = value_book(book, Marks(WHEN, spots={"AAPL": 230.0 * m}, vols={"AAPL": 0.25 * v}))
        np.testing.assert_allclose(grid.value[k], one.value, rtol=1e-12)
    assert grid.value.shape == (3, 3)


def test_value_book_without_vol_for_an_option_marks_it_no_vol() -> None:
    out = value_book(_book()[:2], Marks(WHEN, spots={"AAPL": 230.0}))

    assert out.status[1] is MarkStatus.NO_VOL
    assert np.isnan(out.value[1])


def test_marks_with_bad_inputs_raise_naming_the_field() -> None:
    with pytest.raises(ValueError, match="spot of AAPL"):
        Marks(WHEN, spots={"AAPL": -1.0})
    with pytest.raises(ValueError, match="timezone-aware"):
        Marks(datetime(2026, 11, 20), spots={})
    with pytest.raises(ValueError, match="shape"):
        value_book(
            _book()[:2],
            Marks(WHEN, spots={"AAPL": 230.0}, vols={"AAPL": 0.2}),
            spot_multipliers=np.ones((2, 5)),
        )


def test_value_book_with_rate_shift_per_scenario_equals_one_call_per_shift() -> None:
    marks = Marks(WHEN, spots={"AAPL": 230.0}, vols={"AAPL": 0.25}, rate=0.04)
    book = _book()[:3]
    shifts = np.array([0.0, 0.01, -0.005])

    grid = value_book(
        book, marks, spot_multipliers=np.ones(3), rate_shift=shifts, with_greeks=False
    )

    for k, shift in enumerate(shifts):
        one = value_book(book, marks, rate_shift=float(shift))
        np.testing.assert_allclose(grid.value[k], one.value, rtol=1e-12)
    assert np.isnan(grid.delta[:, 1:]).all()  # prices only
    with pytest.raises(ValueError, match="rate_shift"):
        value_book(book, marks, spot_multipliers=np.ones(3), rate_shift=np.zeros(2))
