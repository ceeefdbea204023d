"""value_book prices a contract held by several positions once: same numbers as one by one."""

from datetime import UTC, date, datetime
from decimal import Decimal

import numpy as np
import pytest

from riskdesk.domain.instruments import ExerciseStyle, OptionContract, OptionRight, Stock
from riskdesk.domain.timeutil import expiry_datetime, year_fraction
from riskdesk.pricing import greeks
from riskdesk.risk.marks import Marks, MarkStatus, value_book
from riskdesk.risk.positions import BookPosition

WHEN = datetime(2026, 11, 20, 21, 0, tzinfo=UTC)
ENTRY = date(2026, 9, 1)
EXPIRY = date(2027, 1, 15)
GREEKS = ("price", "delta", "gamma", "vega", "theta")


def _option(
    underlying: str,
    right: OptionRight,
    strike: str,
    qty: str,
    style: ExerciseStyle = ExerciseStyle.AMERICAN,
    symbol: str | None = None,
) -> BookPosition:
    contract = OptionContract(
        underlying=underlying, expiry=EXPIRY, strike=Decimal(strike), right=right, style=style
    )
    name = symbol or f"{underlying} {EXPIRY:%y%m%d}{right.value[0].upper()}{strike}"
    return BookPosition(name, contract, Decimal(qty), Decimal("1"), ENTRY)


def _book() -> list[BookPosition]:
    call, put = OptionRight.CALL, OptionRight.PUT
    return [
        _option("AAA", call, "100", "3"),
        BookPosition("AAA", Stock("AAA"), Decimal(200), Decimal(90), ENTRY),
        _option("AAA", call, "100", "-7"),  # same contract as row 0
        _option("AAA", put, "95", "2"),
        _option("AAA", put, "95", "5", symbol="AAA OWN VOL"),  # same contract, own vol
        _option("BBB", call, "100", "1"),  # same strike, other underlying
        _option("AAA", call, "100", "4", style=ExerciseStyle.EUROPEAN),
        _option("AAA", call, "100", "1"),  # row 0's contract again
        _option("CCC", call, "10", "1"),  # no spot
    ]


def _marks() -> Marks:
    return Marks(
        WHEN,
        spots={"AAA": 101.0, "BBB": 57.0},
        vols={"AAA": 0.3, "BBB": 0.45, "AAA OWN VOL": 0.41},
        rate=0.04,
        dividend_yields={"AAA": 0.015, "BBB": 0.0},
    )


def _one_by_one(
    positions: list[BookPosition],
    marks: Marks,
    spot_multipliers: np.ndarray,
    vol_multipliers: np.ndarray,
) -> dict[str, np.ndarray]:
    """The straightforward computation: each position priced on its own, scenario by scenario."""
    n_scen, n = spot_multipliers.shape
    out = {g: np.full((n_scen, n), np.nan) for g in GREEKS}
    for j, p in enumerate(positions):
        spot = marks.spots.get(p.underlying)
        if spot is None:
            continue
        qty = float(p.quantity) * p.multiplier
        if not isinstance(p.instrument, OptionContract):
            out["price"][:, j] = spot * spot_multipliers[:, j] * qty
            continue
        c = p.instrument
        vol = marks.vol_for(p)
        assert vol is not None
        t = year_fraction(marks.valuation_time, expiry_datetime(c.expiry, settlement=c.settlement))
        american = c.style is ExerciseStyle.AMERICAN
        for k in range(n_scen):
            res = greeks(
                model="american" if american else "bsm",
                engine="bjerksund_stensland_2002" if american else None,
                S=np.array([spot * spot_multipliers[k, j]]),
                K=np.array([float(c.strike)]),
                T=np.array([t]),
                r=np.array([marks.rate]),
                q=np.array([marks.dividend_yields.get(p.underlying, 0.0)]),
                sigma=np.array([vol * vol_multipliers[k, j]]),
                is_call=np.array([c.right is OptionRight.CALL]),
                which=GREEKS,
            )
            for g in GREEKS:
                out[g][k, j] = float(res[g][0]) * qty
    return out


def test_value_book_with_shared_contracts_equals_pricing_each_position_alone() -> None:
    book, marks = _book(), _marks()
    ones = np.ones((1, len(book)))

    out = value_book(book, marks)

    ref = _one_by_one(book, marks, ones, ones)
    options = [j for j, p in enumerate(book) if p.is_option and p.underlying != "CCC"]
    np.testing.assert_array_equal(out.value, ref["price"][0])
    for name, g in (("delta", out.delta), ("gamma", out.gamma), ("vega", out.vega)):
        np.testing.assert_array_equal(g[options], ref[name][0, options])
    np.testing.assert_array_equal(out.theta[options], ref["theta"][0, options])
    assert out.status[-1] is MarkStatus.NO_SPOT
    assert out.value[2] == pytest.approx(-7.0 / 3.0 * out.value[0], rel=1e-15)


def test_value_book_with_scenarios_moving_shared_contracts_alike_equals_one_by_one() -> None:
    book, marks = _book(), _marks()
    rng = np.random.default_rng(3)
    by_underlying = {"AAA": rng.uniform(0.8, 1.2, 4), "BBB": rng.uniform(0.8, 1.2, 4)}
    sm = np.column_stack([by_underlying.get(p.underlying, np.ones(4)) for p in book])
    vm = 2.0 - sm

    out = value_book(book, marks, spot_multipliers=sm, vol_multipliers=vm)

    ref = _one_by_one(book, marks, sm, vm)
    options = [j for j, p in enumerate(book) if p.is_option and p.underlying != "CCC"]
    np.testing.assert_array_equal(out.value[:, :-1], ref["price"][:, :-1])
    for name, got in (("delta", out.delta), ("gamma", out.gamma), ("theta", out.theta)):
        np.testing.assert_array_equal(got[:, options], ref[name][:, options])


def test_value_book_with_shared_contracts_moved_differently_prices_each_position() -> None:
    book, marks = _book(), _marks()
    rng = np.random.default_rng(5)
    sm = rng.uniform(0.7, 1.3, (3, len(book)))  # every position its own move
    vm = rng.uniform(0.8, 1.2, (3, len(book)))

    out = value_book(book, marks, spot_multipliers=sm, vol_multipliers=vm, with_greeks=False)

    ref = _one_by_one(book, marks, sm, vm)
    np.testing.assert_array_equal(out.value[:, :-1], ref["price"][:, :-1])
    assert not np.allclose(out.value[:, 0] / 3.0, out.value[:, 7])
    assert np.all(np.isnan(out.delta[:, [0, 2, 3, 4, 5, 6, 7]]))
