"""Historical VaR / ES with full revaluation, against hand-computed P&L."""

from datetime import UTC, date, datetime
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from riskdesk.domain.instruments import ExerciseStyle, OptionContract, OptionRight, Stock
from riskdesk.risk.marks import Marks, value_book
from riskdesk.risk.positions import BookPosition
from riskdesk.risk.var import VOL_HELD, VolRule, historical_var, loss_var_es

WHEN = datetime(2026, 11, 20, 21, 0, tzinfo=UTC)
ENTRY = date(2026, 9, 1)


def _stock(symbol: str, qty: int, price: str = "10") -> BookPosition:
    return BookPosition(symbol, Stock(symbol), Decimal(qty), Decimal(price), ENTRY)


def _option(
    underlying: str, right: OptionRight, strike: str, expiry: date, qty: int
) -> BookPosition:
    contract = OptionContract(
        underlying=underlying,
        expiry=expiry,
        strike=Decimal(strike),
        right=right,
        style=ExerciseStyle.EUROPEAN,
    )
    tag = "C" if right is OptionRight.CALL else "P"
    symbol = f"{underlying} {expiry:%y%m%d}{tag}{strike}"
    return BookPosition(symbol, contract, Decimal(qty), Decimal("1"), ENTRY)


def _returns(n_days: int, names: list[str], seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    index = pd.bdate_range("2024-01-02", periods=n_days, tz="UTC")
    return pd.DataFrame(rng.normal(0.0, 0.015, (n_days, len(names))), index=index, columns=names)


def test_historical_var_with_linear_stock_book_matches_numpy_quantile_of_hand_pnl() -> None:
    book = [_stock("AAA", 100), _stock("BBB", -30)]
    marks = Marks(WHEN, spots={"AAA": 50.0, "BBB": 200.0})
    returns = _returns(300, ["AAA", "BBB", "CCC"])
    window = 250

    report = historical_var(book, marks, returns, window=window, horizon_days=(1, 10))

    r = returns.to_numpy()[-window:]
    hand_1d = 100 * 50.0 * (np.exp(r[:, 0]) - 1) - 30 * 200.0 * (np.exp(r[:, 1]) - 1)
    ten = np.array([r[t : t + 10].sum(axis=0) for t in range(window - 9)])
    hand_10d = 100 * 50.0 * (np.exp(ten[:, 0]) - 1) - 30 * 200.0 * (np.exp(ten[:, 1]) - 1)
    np.testing.assert_allclose(report.pnl[1], hand_1d, rtol=1e-10, atol=1e-8)
    np.testing.assert_allclose(report.pnl[10], hand_10d, rtol=1e-10, atol=1e-8)
    assert report.n_scenarios == {1: 250, 10: 241}
    for c in (0.95, 0.99):
        assert report.figure(c, 1).var == pytest.approx(np.quantile(-hand_1d, c), rel=1e-10)
        assert report.figure(c, 10).var == pytest.approx(np.quantile(-hand_10d, c), rel=1e-10)
        scaled = report.scaled_figure(c, 10)
        assert scaled.var == pytest.approx(report.figure(c, 1).var * np.sqrt(10), rel=1e-12)
        assert scaled.es == pytest.approx(report.figure(c, 1).es * np.sqrt(10), rel=1e-12)
    assert report.current_value == pytest.approx(100 * 50.0 - 30 * 200.0)
    assert report.excluded == ()
    assert report.method == "historical"


def test_historical_var_with_twenty_known_losses_gives_hand_var_and_es() -> None:
    # Losses of 0.1, 0.2, ..., 2.0 on one share at 100: r_k = log(1 - k / 1000).
    book = [_stock("AAA", 1)]
    marks = Marks(WHEN, spots={"AAA": 100.0})
    k = np.arange(1, 21)
    returns = np.log(1 - k / 1000.0)[::-1, None]  # order must not matter

    report = historical_var(
        book,
        marks,
        returns,
        names=["AAA"],
        window=20,
        horizon_days=(1,),
        confidence=(0.9, 0.95),
    )

    # h = 19 * 0.95 = 18.05 -> 1.9 + 0.05 * 0.1; ES = mean of losses >= VaR = 2.0
    assert report.figure(0.95, 1).var == pytest.approx(1.905, abs=1e-9)
    assert report.figure(0.95, 1).es == pytest.approx(2.0, abs=1e-9)
    # h = 19 * 0.9 = 17.1 -> 1.8 + 0.1 * 0.1; ES = mean(1.9, 2.0)
    assert report.figure(0.9, 1).var == pytest.approx(1.81, abs=1e-9)
    assert report.figure(0.9, 1).es == pytest.approx(1.95, abs=1e-9)
    assert report.scaled_figures == ()


def test_loss_var_es_with_all_gains_gives_negative_var() -> None:
    var, es = loss_var_es([1.0, 2.0, 3.0], 0.5)

    assert var == pytest.approx(-2.0)
    assert es == pytest.approx(-1.5)


def test_historical_var_with_long_straddle_has_smaller_loss_tail_than_delta_only() -> None:
    expiry = date(2026, 12, 31)
    book = [
        _option("AAA", OptionRight.CALL, "100", expiry, 10),
        _option("AAA", OptionRight.PUT, "100", expiry, 10),
    ]
    marks = Marks(WHEN, spots={"AAA": 100.0}, vols={"AAA": 0.3}, rate=0.03)
    returns = _returns(500, ["AAA"], seed=11) * 2.0

    report = historical_var(book, marks, returns, horizon_days=(1, 10), window=500)

    base = value_book(book, marks)
    delta_dollars = float(np.sum(base.delta * base.spot))
    r = returns.to_numpy()[:, 0]
    ten = np.array([r[t : t + 10].sum() for t in range(500 - 9)])
    delta_only = {1: delta_dollars * (np.exp(r) - 1), 10: delta_dollars * (np.exp(ten) - 1)}
    for h in (1, 10):
        # convexity: the repriced P&L is never below the delta P&L in any scenario
        assert np.all(report.pnl[h] >= delta_only[h] - 1e-6)
        for c in (0.95, 0.99):
            var_delta, es_delta = loss_var_es(delta_only[h], c)
            assert report.figure(c, h).var < var_delta
            assert report.figure(c, h).es < es_delta


def test_historical_var_with_unpriceable_positions_excludes_and_lists_them() -> None:
    expiry = date(2026, 12, 31)
    expired = _option("AAA", OptionRight.CALL, "90", date(2026, 10, 16), 1)
    no_vol = _option("BBB", OptionRight.PUT, "50", expiry, 1)
    book = [
        _stock("AAA", 10),
        expired,
        _stock("ZZZ", 5),  # no spot
        _stock("CCC", 5),  # spot but no history column
        no_vol,
        _stock("DDD", 5),  # a gap inside the window
    ]
    marks = Marks(
        WHEN,
        spots={"AAA": 100.0, "BBB": 50.0, "CCC": 20.0, "DDD": 30.0},
        vols={"AAA": 0.2},
    )
    returns = _returns(60, ["AAA", "BBB", "DDD"])
    returns.iloc[40, 2] = np.nan

    report = historical_var(book, marks, returns, window=50)

    assert [(e.index, e.symbol, e.reason) for e in report.excluded] == [
        (1, expired.symbol, "expired"),
        (2, "ZZZ", "no_spot"),
        (3, "CCC", "no_returns"),
        (4, no_vol.symbol, "no_vol"),
        (5, "DDD", "incomplete_returns"),
    ]
    hand = 10 * 100.0 * (np.exp(returns["AAA"].to_numpy()[-50:]) - 1)
    np.testing.assert_allclose(report.pnl[1], hand, rtol=1e-10)
    assert report.current_value == pytest.approx(1000.0)


def test_historical_var_with_spot_vol_rule_raises_put_value_when_spot_falls() -> None:
    expiry = date(2026, 12, 31)
    book = [_option("AAA", OptionRight.PUT, "95", expiry, 1)]
    marks = Marks(WHEN, spots={"AAA": 100.0}, vols={"AAA": 0.25})
    returns = np.array([[-0.05], [0.0], [0.05]])
    rule = VolRule(spot_vol_elasticity=2.0)

    held = historical_var(book, marks, returns, names=["AAA"], window=3, horizon_days=(1,))
    moved = historical_var(
        book, marks, returns, names=["AAA"], window=3, horizon_days=(1,), vol_rule=rule
    )

    vols = np.array([0.25 * np.exp(0.1), 0.25, 0.25 * np.exp(-0.1)])
    spots = 100.0 * np.exp(returns[:, 0])
    expected = value_book(book, marks, spot_multipliers=spots / 100.0, vol_multipliers=vols / 0.25)
    base = value_book(book, marks)
    np.testing.assert_allclose(moved.pnl[1], expected.value[:, 0] - base.value[0], rtol=1e-12)
    assert moved.pnl[1][0] > held.pnl[1][0]  # vol up on the fall
    assert moved.pnl[1][2] < held.pnl[1][2]  # vol down on the rally
    assert held.vol_rule == VOL_HELD
    assert np.allclose(rule.multipliers(np.array([-10.0, 10.0])), [4.0, 0.25])


def test_historical_var_with_fewer_days_than_horizon_raises() -> None:
    book = [_stock("AAA", 1)]
    marks = Marks(WHEN, spots={"AAA": 100.0})

    with pytest.raises(ValueError, match="10-day horizon needs at least 10 days"):
        historical_var(book, marks, np.zeros((5, 1)), names=["AAA"])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"confidence": (1.0,)}, "confidence must be in"),
        ({"horizon_days": (0,)}, "horizon_days must be positive"),
        ({"window": 0}, "window must be >= 1"),
    ],
)
def test_historical_var_with_bad_parameters_raises(kwargs: dict[str, object], message: str) -> None:
    book = [_stock("AAA", 1)]
    marks = Marks(WHEN, spots={"AAA": 100.0})

    with pytest.raises(ValueError, match=message):
        historical_var(book, marks, np.zeros((30, 1)), names=["AAA"], **kwargs)  # type: ignore[arg-type]


def test_historical_var_with_array_and_no_names_raises() -> None:
    with pytest.raises(ValueError, match="needs names"):
        historical_var([_stock("AAA", 1)], Marks(WHEN, spots={"AAA": 1.0}), np.zeros((30, 1)))
