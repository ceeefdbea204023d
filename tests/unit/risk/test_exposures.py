"""Exposures and Greeks of a book (riskdesk.risk.exposures) against hand-built numbers and an
independent finite difference of the pricing core."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import numpy as np
import pytest

from riskdesk.domain.instruments import ExerciseStyle, OptionContract, OptionRight, Stock
from riskdesk.domain.timeutil import expiry_datetime, year_fraction
from riskdesk.pricing import price
from riskdesk.risk.exposures import (
    NO_EXPIRY,
    UNGROUPED,
    UNTAGGED,
    Grouping,
    aggregate_greeks,
    compute_exposures,
    dte_bucket,
)
from riskdesk.risk.marks import BookValuation, Marks, MarkStatus, value_book
from riskdesk.risk.positions import BookPosition

ON = date(2026, 11, 20)
WHEN = datetime(2026, 11, 20, 21, 0, tzinfo=UTC)  # 16:00 New York
ENTRY = date(2026, 9, 1)


def _stock(symbol: str, qty: int, tags: tuple[str, ...] = ()) -> BookPosition:
    return BookPosition(symbol, Stock(symbol), Decimal(qty), Decimal(10), ENTRY, tags)


def _option(
    underlying: str,
    expiry: date,
    strike: str,
    right: OptionRight,
    qty: int,
    *,
    style: ExerciseStyle = ExerciseStyle.AMERICAN,
    tags: tuple[str, ...] = (),
) -> BookPosition:
    c = OptionContract(underlying, expiry, Decimal(strike), right, style=style)
    symbol = f"{underlying}{expiry:%y%m%d}{right.value}{int(Decimal(strike) * 1000):08d}"
    return BookPosition(symbol, c, Decimal(qty), Decimal(1), ENTRY, tags)


def test_compute_exposures_with_seed_example_gives_9200_delta_adjusted() -> None:
    # 1 call at delta 0.6 on a 100 stock (10,000 of underlying) and 1 short put at delta -0.4
    # on an 80 stock (-8,000): 6,000 + 3,200
    book = [
        _option("AAA", date(2026, 12, 18), "100", OptionRight.CALL, 1),
        _option("BBB", date(2026, 12, 18), "80", OptionRight.PUT, -1),
    ]
    valuation = BookValuation(
        value=np.array([500.0, -300.0]),
        delta=np.array([0.6 * 100 * 1, -0.4 * 100 * -1]),
        gamma=np.zeros(2),
        vega=np.zeros(2),
        theta=np.zeros(2),
        spot=np.array([100.0, 80.0]),
        status=(MarkStatus.OK, MarkStatus.OK),
    )

    out = compute_exposures(book, valuation, on=ON)

    assert out.delta_net == pytest.approx(9_200.0)
    assert out.to_dict()["delta_adjusted"]["net"] == "9200.00"


def test_compute_exposures_with_stocks_gives_long_short_gross_net_by_hand() -> None:
    book = [_stock("AAA", 100), _stock("BBB", -20), _stock("CCC", 30)]
    marks = Marks(WHEN, spots={"AAA": 50.0, "BBB": 100.0, "CCC": 20.0})

    out = compute_exposures(book, value_book(book, marks), on=ON)

    # 100 x 50 = 5,000; -20 x 100 = -2,000; 30 x 20 = 600
    assert (out.long, out.short, out.gross, out.net) == pytest.approx((5_600, -2_000, 7_600, 3_600))
    assert (out.long_count, out.short_count, out.positions) == (2, 1, 3)
    assert out.market_value == pytest.approx(3_600)
    assert out.notional == pytest.approx(7_600)
    assert out.delta_net == pytest.approx(3_600)
    assert out.delta_gross == pytest.approx(7_600)
    assert out.excluded == ()


def test_compute_exposures_with_short_option_counts_premium_as_short_value() -> None:
    book = [_stock("AAA", 100), _option("AAA", date(2026, 12, 18), "55", OptionRight.CALL, -2)]
    marks = Marks(WHEN, spots={"AAA": 50.0}, vols={"AAA": 0.3})
    valuation = value_book(book, marks)

    out = compute_exposures(book, valuation, on=ON)

    premium = float(valuation.value[1])
    assert premium < 0
    assert out.long == pytest.approx(5_000)
    assert out.short == pytest.approx(premium)
    assert out.gross == pytest.approx(5_000 - premium)
    assert out.net == pytest.approx(5_000 + premium)
    assert out.notional == pytest.approx(5_000 + 2 * 100 * 50)


@pytest.mark.parametrize(
    ("right", "style", "qty", "model", "engine"),
    [
        (OptionRight.CALL, ExerciseStyle.EUROPEAN, 3, "bsm", None),
        (OptionRight.PUT, ExerciseStyle.AMERICAN, -2, "american", "bjerksund_stensland_2002"),
    ],
)
def test_compute_exposures_with_option_matches_finite_difference_delta_dollars(
    right: OptionRight, style: ExerciseStyle, qty: int, model: str, engine: str | None
) -> None:
    expiry = date(2027, 1, 15)
    position = _option("AAA", expiry, "105", right, qty, style=style)
    s, sigma, r = 100.0, 0.25, 0.04
    marks = Marks(WHEN, spots={"AAA": s}, vols={"AAA": sigma}, rate=r)

    out = compute_exposures([position], value_book([position], marks), on=ON)

    t = year_fraction(WHEN, expiry_datetime(expiry, settlement=position.instrument.settlement))  # type: ignore[union-attr]
    h = 0.01

    def p(spot: float) -> float:
        return float(
            price(
                model=model,
                engine=engine,
                S=spot,
                K=105.0,
                T=t,
                r=r,
                q=0.0,
                sigma=sigma,
                is_call=right is OptionRight.CALL,
            )
        )

    fd_delta = (p(s + h) - p(s - h)) / (2 * h)
    expected = fd_delta * 100 * qty * s
    assert out.delta_net == pytest.approx(expected, rel=1e-4)
    assert out.notional == pytest.approx(abs(qty) * 100 * s)


def test_compute_exposures_with_betas_gives_beta_weighted_delta_by_hand() -> None:
    book = [_stock("AAA", 100), _stock("SPY", 10), _stock("CCC", 10), _stock("DDD", -50)]
    marks = Marks(WHEN, spots={"AAA": 50.0, "SPY": 400.0, "CCC": 20.0, "DDD": 40.0})

    out = compute_exposures(
        book,
        value_book(book, marks),
        on=ON,
        benchmark="SPY",
        benchmark_price=400.0,
        betas={"AAA": 1.2, "DDD": 0.5},
    )

    # 5,000 x 1.2 + 4,000 x 1.0 + (-2,000) x 0.5 = 9,000 dollars = 22.5 SPY shares; CCC missing
    assert out.beta_weighted_dollars == pytest.approx(9_000)
    assert out.beta_weighted_shares == pytest.approx(22.5)
    assert out.missing_betas == ("CCC",)
    data = out.to_dict()["beta_weighted"]
    assert data["benchmark_shares"] == "22.5000"
    assert data["betas"] == {"AAA": "1.2000", "DDD": "0.5000", "SPY": "1.0000"}


def test_compute_exposures_without_benchmark_price_leaves_shares_none() -> None:
    book = [_stock("SPY", 10)]
    marks = Marks(WHEN, spots={"SPY": 400.0})

    out = compute_exposures(book, value_book(book, marks), on=ON)

    assert out.beta_weighted_dollars == pytest.approx(4_000)
    assert out.beta_weighted_shares is None
    assert out.to_dict()["beta_weighted"]["benchmark_shares"] is None


@pytest.mark.parametrize(
    ("days", "bucket"),
    [
        (0, "0-7"),
        (7, "0-7"),
        (8, "8-30"),
        (30, "8-30"),
        (31, "31-90"),
        (90, "31-90"),
        (91, "91-180"),
        (180, "91-180"),
        (181, ">180"),
        (1000, ">180"),
    ],
)
def test_dte_bucket_with_edge_days_gives_bucket(days: int, bucket: str) -> None:
    assert dte_bucket(days) == bucket


def test_dte_bucket_with_negative_days_raises() -> None:
    with pytest.raises(ValueError, match="days to expiry"):
        dte_bucket(-1)


def test_aggregate_greeks_with_expiries_on_bucket_edges_groups_by_dte() -> None:
    book = [
        _option("AAA", date(2026, 11, 27), "50", OptionRight.CALL, 1),  # 7 days
        _option("AAA", date(2026, 11, 30), "50", OptionRight.CALL, 1),  # 10 days
        _option("AAA", date(2026, 12, 18), "50", OptionRight.PUT, 1),  # 28 days
        _option("AAA", date(2027, 6, 17), "50", OptionRight.PUT, 1),  # 209 days
        _stock("AAA", 10),
    ]
    marks = Marks(WHEN, spots={"AAA": 50.0}, vols={"AAA": 0.3})
    valuation = value_book(book, marks)

    out = aggregate_greeks(book, valuation, on=ON, by=[Grouping.DTE, Grouping.EXPIRY])

    dte = {b.key: b.totals for b in out.by[Grouping.DTE]}
    assert list(dte) == ["0-7", "8-30", ">180", NO_EXPIRY]
    assert dte["0-7"].count == 1
    assert dte["8-30"].count == 2
    assert dte["8-30"].delta == pytest.approx(float(valuation.delta[1] + valuation.delta[2]))
    assert dte[NO_EXPIRY].delta == pytest.approx(10)
    expiries = [b.key for b in out.by[Grouping.EXPIRY]]
    assert expiries == ["2026-11-27", "2026-11-30", "2026-12-18", "2027-06-17", NO_EXPIRY]


def test_aggregate_greeks_with_unpriceable_positions_excludes_and_lists_them() -> None:
    book = [
        _stock("AAA", 100),
        _option("AAA", date(2026, 10, 16), "45", OptionRight.CALL, 1),  # expired
        _option("AAA", date(2026, 11, 20), "45", OptionRight.CALL, 1),  # expires at this close
        _stock("ZZZ", 5),  # no spot
        _option("BBB", date(2026, 12, 18), "20", OptionRight.PUT, 1),  # no vol
        _option("AAA", date(2026, 12, 18), "55", OptionRight.CALL, 2),
    ]
    marks = Marks(WHEN, spots={"AAA": 50.0, "BBB": 20.0}, vols={book[5].symbol: 0.3})
    valuation = value_book(book, marks)

    greeks = aggregate_greeks(book, valuation, on=ON)
    exposures = compute_exposures(book, valuation, on=ON)

    expected = [
        (book[1].symbol, "expired"),
        (book[2].symbol, "expired"),
        ("ZZZ", "no_spot"),
        (book[4].symbol, "no_vol"),
    ]
    assert [(e.symbol, e.status.value) for e in greeks.excluded] == expected
    assert [(e.symbol, e.status.value) for e in exposures.excluded] == expected
    assert greeks.totals.count == 2
    assert np.isfinite(greeks.totals.delta)
    assert greeks.totals.delta == pytest.approx(100 + float(valuation.delta[5]))
    assert exposures.positions == 2
    assert exposures.net == pytest.approx(5_000 + float(valuation.value[5]))
    assert {b.key for b in greeks.by[Grouping.UNDERLYING]} == {"AAA"}
    assert greeks.to_dict()["excluded"][2]["reason"] == "no close of ZZZ on the valuation date"


def test_aggregate_greeks_with_tags_and_strategies_buckets_and_sums() -> None:
    expiry = date(2026, 12, 18)
    book = [
        _stock("AAA", 300, tags=("core", "tech")),
        _option("AAA", expiry, "55", OptionRight.CALL, -2, tags=("income",)),
        _option("BBB", expiry, "20", OptionRight.CALL, 1),
        _option("BBB", expiry, "22", OptionRight.CALL, -1),
        _stock("CCC", 10),
    ]
    marks = Marks(WHEN, spots={"AAA": 50.0, "BBB": 21.0, "CCC": 5.0}, vols={"AAA": 0.3, "BBB": 0.4})
    valuation = value_book(book, marks)
    d = valuation.delta

    out = aggregate_greeks(book, valuation, on=ON)

    assert out.totals.delta == pytest.approx(float(d.sum()))
    assert out.totals.dollar_delta == pytest.approx(float((d * valuation.spot).sum()))
    assert out.totals.dollar_gamma == pytest.approx(
        float((valuation.gamma * valuation.spot**2).sum() / 100)
    )
    tags = {b.key: b.totals for b in out.by[Grouping.TAG]}
    assert list(tags) == ["core", "income", "tech", UNTAGGED]
    assert tags["core"].delta == pytest.approx(300)
    assert tags["tech"].delta == pytest.approx(300)
    assert tags[UNTAGGED].count == 3
    strategies = {b.key: b for b in out.by[Grouping.STRATEGY]}
    covered = next(b for b in strategies.values() if b.kind == "COVERED_CALL")
    vertical = next(b for b in strategies.values() if b.kind == "VERTICAL_CALL")
    # the covered call uses 200 of the 300 shares: 2/3 of the stock's delta
    assert covered.totals.delta == pytest.approx(200 + float(d[1]))
    assert covered.totals.count == 2
    assert vertical.totals.delta == pytest.approx(float(d[2] + d[3]))
    rest = strategies[UNGROUPED].totals
    assert rest.delta == pytest.approx(100 + 10)
    assert rest.count == 2
    assert list(strategies)[-1] == UNGROUPED
    strategy_sum = sum(b.totals.delta for b in strategies.values())
    assert strategy_sum == pytest.approx(out.totals.delta)
    underlying = {b.key: b.totals.vega for b in out.by[Grouping.UNDERLYING]}
    assert underlying["AAA"] == pytest.approx(float(valuation.vega[1]))


def test_aggregate_greeks_with_unknown_grouping_raises() -> None:
    book = [_stock("AAA", 1)]
    marks = Marks(WHEN, spots={"AAA": 50.0})
    with pytest.raises(ValueError, match="unknown grouping 'sector'"):
        aggregate_greeks(book, value_book(book, marks), on=ON, by=["sector"])


def test_compute_exposures_with_scenario_valuation_raises() -> None:
    book = [_stock("AAA", 1)]
    marks = Marks(WHEN, spots={"AAA": 50.0})
    valuation = value_book(book, marks, spot_multipliers=[0.9, 1.1])
    with pytest.raises(ValueError, match="one-scenario valuation"):
        compute_exposures(book, valuation, on=ON)


def test_greeks_report_to_dict_with_values_renders_fixed_decimal_strings() -> None:
    book = [_stock("AAA", -3)]
    marks = Marks(WHEN, spots={"AAA": 50.0})

    data = aggregate_greeks(book, value_book(book, marks), on=ON, by=["underlying"]).to_dict()

    assert data["totals"] == {
        "delta": "-3.0000",
        "gamma": "0.000000",
        "vega": "0.00",
        "theta": "0.00",
        "dollar_delta": "-150.00",
        "dollar_gamma": "0.00",
        "market_value": "-150.00",
        "count": 1,
    }
    assert data["by"]["underlying"][0]["key"] == "AAA"
    assert data["date"] == "2026-11-20"
