from __future__ import annotations

import numpy as np
import pytest

from riskdesk.analytics import BookScenarios, OptionBook, book_from_trades, revalue_book
from riskdesk.domain.configs import ModelConfig
from riskdesk.domain.instruments import ExerciseStyle, Stock
from riskdesk.pricing import price


def _book(n: int = 40, *, seed: int = 3) -> OptionBook:
    rng = np.random.default_rng(seed)
    spot = np.array([100.0, 40.0])
    index = rng.integers(0, 2, n)
    return OptionBook(
        underlyings=("A", "B"),
        spot=spot,
        underlying_index=index,
        strike=spot[index] * rng.uniform(0.8, 1.2, n),
        time_to_expiry=rng.uniform(0.05, 1.0, n),
        vol=rng.uniform(0.15, 0.5, n),
        is_call=rng.random(n) < 0.5,
        american=rng.random(n) < 0.5,
        position=rng.choice([-100.0, 100.0, 200.0], n),
        rate=0.03,
        carry=np.array([0.01, 0.0]),
    )


def _loop(book: OptionBook, scenarios: BookScenarios) -> np.ndarray:
    out = []
    shocks = (
        scenarios.spot_shocks if scenarios.spot_shocks.ndim == 2 else scenarios.spot_shocks[:, None]
    )
    for k in range(scenarios.count):
        total = 0.0
        for i in range(book.size):
            u = book.underlying_index[i]
            shock = shocks[k, 0] if shocks.shape[1] == 1 else shocks[k, u]
            kwargs = {"engine": "bjerksund_stensland_2002"} if book.american[i] else {}
            px = price(
                model="american" if book.american[i] else "bsm",
                S=book.spot[u] * (1.0 + shock),
                K=book.strike[i],
                T=max(book.time_to_expiry[i] - scenarios.horizon_days / 365.0, 0.0),
                r=book.rate,
                q=book.carry[u],
                sigma=max(book.vol[i] + scenarios.vol_shocks[k] / 100.0, 1e-4),
                is_call=bool(book.is_call[i]),
                **kwargs,
            )
            total += float(px) * book.position[i]
        out.append(total)
    return np.array(out)


def test_revalue_book_with_mixed_styles_matches_per_option_loop():
    book = _book()
    scenarios = BookScenarios.grid([-10.0, 0.0, 7.5], [-3.0, 0.0, 4.0], horizon_days=2.0)

    result = revalue_book(book, scenarios)

    np.testing.assert_allclose(result.values, _loop(book, scenarios), rtol=1e-12, atol=1e-9)
    assert result.n_prices == book.size * 9
    assert result.models == ("bsm", "american/bjerksund_stensland_2002")


def test_revalue_book_with_zero_shocks_has_zero_pnl_and_positions_sum_to_total():
    book = _book()
    scenarios = BookScenarios(
        spot_shocks=np.array([[0.0, 0.0], [0.05, -0.02]]), vol_shocks=np.array([0.0, 1.0])
    )

    result = revalue_book(book, scenarios, keep_positions=True)

    assert result.pnl[0] == pytest.approx(0.0, abs=1e-9)
    np.testing.assert_allclose(result.position_pnl.sum(axis=1), result.pnl, rtol=1e-10, atol=1e-8)
    np.testing.assert_allclose(result.values, _loop(book, scenarios), rtol=1e-12, atol=1e-9)


def test_revalue_book_with_small_chunks_gives_identical_values():
    book = _book()
    scenarios = BookScenarios.grid(np.linspace(-20, 20, 9), np.linspace(-5, 5, 5))

    whole = revalue_book(book, scenarios)
    chunked = revalue_book(book, scenarios, chunk_prices=50)

    np.testing.assert_array_equal(whole.values, chunked.values)


def test_option_book_with_bad_shapes_or_values_raises_naming_the_field():
    good = _book(4)
    with pytest.raises(ValueError, match="vol"):
        OptionBook(**{**_fields(good), "vol": np.array([0.2, 0.2, 0.0, 0.2])})
    with pytest.raises(ValueError, match="must have shape"):
        OptionBook(**{**_fields(good), "strike": np.ones(3)})
    with pytest.raises(ValueError, match="underlying_index"):
        OptionBook(**{**_fields(good), "underlying_index": np.array([0, 1, 2, 0])})
    with pytest.raises(ValueError, match="share k"):
        BookScenarios(spot_shocks=np.zeros(3), vol_shocks=np.zeros(2))


def _fields(book: OptionBook) -> dict:
    return {name: getattr(book, name) for name in OptionBook.__dataclass_fields__}


def test_book_from_trades_with_stock_and_options_keeps_valued_options(mk, snapshot):
    config = ModelConfig()
    trades = [
        mk.iron_condor(),
        mk.version(
            mk.leg(Stock("XYZ"), 100, "99"),
            mk.leg(mk.option(100, "C", style=ExerciseStyle.AMERICAN), -1, "3"),
            mk.leg(mk.option(101, "C"), 1, "2"),
        ),
    ]

    book, messages = book_from_trades(trades, snapshot, config)

    assert book.size == 5
    assert book.american.tolist() == [False] * 4 + [True]
    assert len(messages) == 1
    assert "101" in messages[0]
    assert book.underlyings == ("XYZ",)
    result = revalue_book(
        book, BookScenarios(spot_shocks=np.array([0.0]), vol_shocks=np.array([0.0]))
    )
    assert result.base_value == pytest.approx(result.values[0])


def test_revalue_book_with_dividends_ages_them_with_the_horizon():
    book = _book(6)
    times = np.tile([0.02, 0.3], (6, 1))
    amounts = np.tile([1.0, 0.0], (6, 1))
    with_divs = OptionBook(
        **{**_fields(book), "dividend_times": times, "dividend_amounts": amounts}
    )
    scenarios = BookScenarios(spot_shocks=np.zeros(1), vol_shocks=np.zeros(1), horizon_days=10.0)

    result = revalue_book(with_divs, scenarios, keep_positions=True)

    expected = 0.0
    for i in range(book.size):
        u = book.underlying_index[i]
        kwargs = {"engine": "bjerksund_stensland_2002"} if book.american[i] else {}
        expected += book.position[i] * float(
            price(
                model="american" if book.american[i] else "bsm",
                S=book.spot[u],
                K=book.strike[i],
                T=book.time_to_expiry[i] - 10.0 / 365.0,
                r=book.rate,
                q=book.carry[u],
                sigma=book.vol[i],
                is_call=bool(book.is_call[i]),
                **kwargs,
            )
        )
    assert result.values[0] == pytest.approx(expected, rel=1e-12)
    assert revalue_book(book, scenarios).base_value != result.base_value
