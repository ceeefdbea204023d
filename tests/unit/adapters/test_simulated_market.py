from __future__ import annotations

import itertools
import math
import os
import subprocess
import sys
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from riskdesk.adapters.simulated import (
    DEFAULT_SYMBOLS,
    generate_market,
    true_surface,
)
from riskdesk.domain.instruments import Settlement
from riskdesk.domain.market import MarketSnapshot, OptionQuote, SnapshotMode
from riskdesk.domain.timeutil import expiry_datetime, is_trading_day, monthly_expiry, third_friday
from riskdesk.pricing import implied_vol, price
from riskdesk.pricing.surface import arbitrage_diagnostics

AS_OF = datetime(2025, 3, 3, 15, 0, tzinfo=UTC)  # Monday 10:00 New York
NEW_YORK = ZoneInfo("America/New_York")
ETFS = ("SPY", "QQQ", "IWM")


@pytest.fixture(scope="module")
def market() -> MarketSnapshot:
    return generate_market(seed=42, as_of=AS_OF)


def _chain(snapshot: MarketSnapshot, symbol: str) -> dict[date, list[OptionQuote]]:
    out: dict[date, list[OptionQuote]] = defaultdict(list)
    for quote in snapshot.options:
        if quote.contract.underlying == symbol:
            out[quote.contract.expiry].append(quote)
    return out


def _pairs(quotes: list[OptionQuote]) -> dict[Decimal, dict[str, OptionQuote]]:
    pairs: dict[Decimal, dict[str, OptionQuote]] = defaultdict(dict)
    for quote in quotes:
        pairs[quote.contract.strike][quote.contract.right.value] = quote
    return pairs


def _years(expiry: date) -> float:
    return (expiry_datetime(expiry, settlement=Settlement.PM) - AS_OF).total_seconds() / (
        365 * 86400
    )


def _mid(quote: OptionQuote) -> float:
    assert quote.bid is not None
    assert quote.ask is not None
    return float(quote.bid + quote.ask) / 2


def test_generate_market_with_same_seed_and_as_of_gives_identical_hash(
    market: MarketSnapshot,
) -> None:
    again = generate_market(seed=42, as_of=AS_OF)

    assert again.snapshot_hash == market.snapshot_hash
    assert again == market


def test_generate_market_with_different_seed_gives_different_hash(market: MarketSnapshot) -> None:
    other = generate_market(seed=43, as_of=AS_OF)

    assert other.snapshot_hash != market.snapshot_hash
    assert other.underlying("SPY").spot != market.underlying("SPY").spot


def test_generate_market_with_default_universe_lists_etfs_and_single_stocks(
    market: MarketSnapshot,
) -> None:
    assert sorted(u.symbol for u in market.underlyings) == sorted(DEFAULT_SYMBOLS)
    assert {"SPY", "QQQ", "IWM", "AAPL", "MSFT", "NVDA", "TSLA"} <= set(DEFAULT_SYMBOLS)
    assert 5_000 <= len(market.options) <= 20_000
    assert market.source == "simulated"
    assert market.mode is SnapshotMode.LIVE
    assert market.as_of == AS_OF


def test_generate_market_with_symbol_subset_keeps_those_quotes_identical(
    market: MarketSnapshot,
) -> None:
    subset = generate_market(seed=42, as_of=AS_OF, symbols=["AAPL"])

    assert [u.symbol for u in subset.underlyings] == ["AAPL"]
    full_aapl = [q for q in market.options if q.contract.underlying == "AAPL"]
    assert list(subset.options) == full_aapl


def test_generate_market_with_any_quote_has_bid_not_above_ask_and_no_negatives(
    market: MarketSnapshot,
) -> None:
    for quote in market.options:
        assert quote.bid is not None
        assert quote.ask is not None
        assert Decimal(0) <= quote.bid < quote.ask
        assert quote.mark == (quote.bid + quote.ask) / 2
        assert quote.iv is not None
        assert 0.0 < quote.iv < 5.0


def test_generate_market_with_far_otm_strikes_quotes_zero_bids(market: MarketSnapshot) -> None:
    zero = [q for q in market.options if q.bid == 0]

    assert zero
    assert all(q.ask is not None and q.ask <= Decimal("0.05") for q in zero)
    assert market.diagnostics["zero_bid"] == len(zero)


def test_generate_market_with_tick_rules_quotes_on_the_grid(market: MarketSnapshot) -> None:
    cent, nickel = Decimal("0.01"), Decimal("0.05")
    for quote in market.options:
        assert quote.bid is not None
        assert quote.ask is not None
        for side in (quote.bid, quote.ask):
            assert side % cent == 0
            if quote.contract.underlying not in ETFS and side >= 3:
                assert side % nickel == 0, (quote.contract.key, side)
    etf_pennies = [
        q
        for q in market.options
        if q.contract.underlying in ETFS and q.bid is not None and q.bid > 3 and q.bid % nickel != 0
    ]
    assert etf_pennies  # penny names quote in cents above $3 too


def test_generate_market_with_any_expiry_lists_trading_days_after_as_of(
    market: MarketSnapshot,
) -> None:
    today = AS_OF.astimezone(NEW_YORK).date()
    for quote in market.options:
        expiry = quote.contract.expiry
        assert is_trading_day(expiry)
        assert today <= expiry <= today + timedelta(days=730)
        assert expiry_datetime(expiry, settlement=quote.contract.settlement) > AS_OF


def test_generate_market_with_index_etfs_lists_dailies_weeklies_monthlies_and_leaps(
    market: MarketSnapshot,
) -> None:
    expiries = sorted(_chain(market, "SPY"))

    assert expiries[:5] == [
        date(2025, 3, 3),
        date(2025, 3, 4),
        date(2025, 3, 5),
        date(2025, 3, 6),
        date(2025, 3, 7),
    ]
    assert monthly_expiry(2025, 4) == date(2025, 4, 17)  # Good Friday roll
    assert {third_friday(2025, 3), date(2025, 4, 17), third_friday(2025, 6)} <= set(expiries)
    assert {monthly_expiry(2026, 1), monthly_expiry(2027, 1)} <= set(expiries)
    assert 15 <= len(expiries) <= 30


def test_generate_market_with_single_stocks_lists_no_dailies(market: MarketSnapshot) -> None:
    expiries = sorted(_chain(market, "AAPL"))

    assert date(2025, 3, 3) not in expiries
    assert all(e.weekday() in (3, 4) for e in expiries)  # Fridays, Thursday on holiday weeks
    assert monthly_expiry(2026, 1) in expiries
    assert 8 <= len(expiries) <= 20


def test_generate_market_with_as_of_after_close_drops_that_days_expiry() -> None:
    after_close = datetime(2025, 3, 3, 21, 30, tzinfo=UTC)  # 16:30 New York

    snapshot = generate_market(seed=1, as_of=after_close, symbols=["SPY"], max_expiry_days=10)

    assert min(q.contract.expiry for q in snapshot.options) == date(2025, 3, 4)


def test_generate_market_with_weekend_as_of_starts_on_next_session() -> None:
    saturday = datetime(2025, 3, 8, 15, 0, tzinfo=UTC)

    snapshot = generate_market(seed=1, as_of=saturday, symbols=["SPY"], max_expiry_days=10)

    assert min(q.contract.expiry for q in snapshot.options) == date(2025, 3, 10)


def test_generate_market_with_strikes_per_expiry_lists_exactly_that_many(
    market: MarketSnapshot,
) -> None:
    snapshot = generate_market(seed=3, as_of=AS_OF, symbols=["MSFT", "SPY"], strikes_per_expiry=7)

    for symbol in ("MSFT", "SPY"):
        for quotes in _chain(snapshot, symbol).values():
            assert len(quotes) == 14
            assert all(q.contract.strike > 0 for q in quotes)


def test_generate_market_with_max_expiry_days_limits_the_chain() -> None:
    snapshot = generate_market(seed=3, as_of=AS_OF, symbols=["SPY"], max_expiry_days=30)

    assert max(q.contract.expiry for q in snapshot.options) <= date(2025, 4, 2)


def test_generate_market_with_american_quotes_respects_put_call_parity_bounds(
    market: MarketSnapshot,
) -> None:
    # American bounds with a continuous yield q: S e^{-qT} - K <= C - P <= S - K e^{-rT},
    # checked on quoted mids within half the two spreads (plus a cent of rounding).
    r = market.overrides.rate
    checked = 0
    for symbol in ("SPY", "QQQ", "TSLA"):
        spot = float(market.underlying(symbol).spot)
        q = market.overrides.carry_yield(symbol)
        for expiry, quotes in _chain(market, symbol).items():
            T = _years(expiry)
            for strike, pair in _pairs(quotes).items():
                call, put = pair["C"], pair["P"]
                K = float(strike)
                tolerance = (
                    float((call.ask or 0) - (call.bid or 0) + (put.ask or 0) - (put.bid or 0)) / 2
                    + 0.01
                )
                diff = _mid(call) - _mid(put)
                assert spot * math.exp(-q * T) - K - tolerance <= diff, (call.contract.key, diff)
                assert diff <= spot - K * math.exp(-r * T) + tolerance, (call.contract.key, diff)
                checked += 1
    assert checked > 1000


def test_generate_market_with_early_exercise_premium_removed_keeps_parity_within_spread(
    market: MarketSnapshot,
) -> None:
    # C_eu - P_eu = S e^{-qT} - K e^{-rT} exactly; the quoted mids are American values, so take
    # off the engine's early-exercise premium (American minus BSM at the quote's smile vol).
    r = market.overrides.rate
    for symbol in ("SPY", "IWM"):
        spot = float(market.underlying(symbol).spot)
        q = market.overrides.carry_yield(symbol)
        for expiry, quotes in _chain(market, symbol).items():
            T = _years(expiry)
            pairs = [
                pair
                for strike, pair in _pairs(quotes).items()
                if abs(math.log(float(strike) / spot)) < 0.1
            ]
            calls = [p["C"] for p in pairs]
            puts = [p["P"] for p in pairs]
            K = np.array([float(c.contract.strike) for c in calls])
            premium = {}
            for name, side, is_call in (("C", calls, True), ("P", puts, False)):
                sigma = np.array([o.iv for o in side], dtype=np.float64)
                args = {
                    "S": spot,
                    "K": K,
                    "T": T,
                    "r": r,
                    "q": q,
                    "sigma": sigma,
                    "is_call": is_call,
                }
                american = price(model="american", engine="bjerksund_stensland_2002", **args)
                premium[name] = np.asarray(american) - np.asarray(price(model="bsm", **args))
            mids_c = np.array([_mid(c) for c in calls]) - premium["C"]
            mids_p = np.array([_mid(p) for p in puts]) - premium["P"]
            parity = spot * math.exp(-q * T) - K * math.exp(-r * T)
            spreads = np.array(
                [float(c.ask - c.bid + p.ask - p.bid) for c, p in zip(calls, puts, strict=True)]  # type: ignore[operator]
            )
            assert np.all(np.abs(mids_c - mids_p - parity) <= spreads / 2 + 1e-6), (symbol, expiry)


def _atm_and_otm_put_iv(
    quotes: list[OptionQuote], spot: float, moneyness: float
) -> tuple[float, float]:
    puts = [q for q in quotes if q.contract.right.value == "P"]
    atm = min(puts, key=lambda q: abs(float(q.contract.strike) - spot))
    below = [q for q in puts if q.contract.strike < atm.contract.strike]
    otm = min(below, key=lambda q: abs(float(q.contract.strike) - moneyness * spot))
    assert atm.iv is not None
    assert otm.iv is not None
    return atm.iv, otm.iv


def test_generate_market_with_equity_skew_prices_otm_puts_above_atm(market: MarketSnapshot) -> None:
    for symbol in DEFAULT_SYMBOLS:
        spot = float(market.underlying(symbol).spot)
        for expiry, quotes in _chain(market, symbol).items():
            if _years(expiry) < 14 / 365:
                continue
            atm, otm = _atm_and_otm_put_iv(quotes, spot, 0.9)
            assert otm > atm, (symbol, expiry, otm, atm)


def test_true_surface_with_default_config_has_steeper_skew_at_short_expiries() -> None:
    slices = true_surface(seed=42, as_of=AS_OF, symbol="SPY")

    def atm_skew(s: object) -> float:
        k = np.array([-0.01, 0.01])
        iv = s.implied_vol(k)  # type: ignore[attr-defined]
        return float((iv[1] - iv[0]) / 0.02)

    skews = [atm_skew(s) for s in slices]
    assert all(skew < 0 for skew in skews)
    assert all(abs(a) > abs(b) for a, b in itertools.pairwise(skews))


@pytest.mark.parametrize("symbol", DEFAULT_SYMBOLS)
def test_true_surface_with_default_config_is_free_of_static_arbitrage(symbol: str) -> None:
    slices = true_surface(seed=42, as_of=AS_OF, symbol=symbol)

    assert arbitrage_diagnostics(slices) == []
    thetas = [float(s.total_variance(np.array([0.0]))[0]) for s in slices]
    assert thetas == sorted(thetas)
    assert all(s.wing_slope <= 2.0 for s in slices)


def test_generate_market_with_single_stocks_quotes_higher_atm_vol_than_spy(
    market: MarketSnapshot,
) -> None:
    def atm_iv(symbol: str, expiry: date) -> float:
        spot = float(market.underlying(symbol).spot)
        quotes = _chain(market, symbol)[expiry]
        return _atm_and_otm_put_iv(quotes, spot, 1.0)[0]

    monthly = monthly_expiry(2025, 6)
    spy = atm_iv("SPY", monthly)
    for symbol in ("AAPL", "MSFT", "NVDA", "TSLA", "AMZN"):
        assert atm_iv(symbol, monthly) > spy


def test_generate_market_with_otm_options_widens_relative_spread_with_moneyness(
    market: MarketSnapshot,
) -> None:
    for symbol in ("SPY", "AAPL", "TSLA"):
        spot = float(market.underlying(symbol).spot)
        for expiry, quotes in _chain(market, symbol).items():
            if _years(expiry) < 7 / 365:
                continue
            otm = [
                q
                for q in quotes
                if (q.contract.right.value == "C") == (float(q.contract.strike) > spot)
                and q.bid is not None
                and q.bid > 0
            ]
            otm.sort(key=lambda q: abs(math.log(float(q.contract.strike) / spot)))
            third = len(otm) // 3
            assert third >= 2

            def rel(qs: list[OptionQuote]) -> float:
                return float(np.mean([float(q.ask - q.bid) / _mid(q) for q in qs]))  # type: ignore[operator]

            assert rel(otm[-third:]) > rel(otm[:third]), (symbol, expiry)


def test_generate_market_with_default_universe_sets_dividends(market: MarketSnapshot) -> None:
    overrides = market.overrides

    assert set(overrides.dividend_yield) == set(ETFS)
    assert all(0 < y < 0.03 for y in overrides.dividend_yield.values())
    assert {"AAPL", "MSFT", "NVDA"} <= set(overrides.dividends)
    for symbol, dividends in overrides.dividends.items():
        ex_dates = [d.ex_date for d in dividends]
        assert ex_dates == sorted(ex_dates)
        assert all(is_trading_day(d) for d in ex_dates)
        assert 6 <= len(ex_dates) <= 9, symbol  # quarterly over two years
        assert len({d.amount for d in dividends}) == 1
    assert 0.0 < overrides.rate < 0.1


def test_generate_market_with_clean_quotes_reports_clean_diagnostics(
    market: MarketSnapshot,
) -> None:
    diagnostics = market.diagnostics

    assert diagnostics["options"] == len(market.options)
    assert diagnostics["crossed"] == 0
    assert diagnostics["missing_quote"] == 0
    assert diagnostics["stale"] == 0
    assert diagnostics["expired"] == 0
    statuses = diagnostics["iv_status"]
    # Deep in-the-money American quotes sit at intrinsic: no time value left to invert.
    assert statuses["ok"] + statuses["no_time_value"] == len(market.options)
    assert statuses["ok"] >= 0.8 * len(market.options)


def test_generate_market_with_near_money_mids_implies_the_smile_vol(market: MarketSnapshot) -> None:
    spot = float(market.underlying("AAPL").spot)
    quotes = [
        q
        for q in market.options
        if q.contract.underlying == "AAPL"
        and abs(math.log(float(q.contract.strike) / spot)) < 0.05
        and _years(q.contract.expiry) > 14 / 365
    ]
    mids = np.array([_mid(q) for q in quotes])
    times = np.array([_years(q.contract.expiry) for q in quotes])
    dividends = market.overrides.dividends["AAPL"]
    from riskdesk.domain.diagnostics import dividend_inputs

    divs = dividend_inputs(market.overrides, "AAPL", as_of=AS_OF)
    assert divs is not None
    assert dividends
    result = implied_vol(
        model="american",
        price=mids,
        S=spot,
        K=np.array([float(q.contract.strike) for q in quotes]),
        T=times,
        r=market.overrides.rate,
        q=0.0,
        is_call=np.array([q.contract.right.is_call for q in quotes]),
        engine="bjerksund_stensland_2002",
        dividends=divs,
    )
    smile = np.array([q.iv for q in quotes], dtype=np.float64)
    assert np.all(np.asarray(result.status) == "ok")
    # mids sit on the tick grid, within half a spread of the model value: about 1 vol point
    np.testing.assert_allclose(np.asarray(result.iv), smile, atol=0.01)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"symbols": ["SPY", "GME"]}, "unknown simulated symbol"),
        ({"symbols": "SPY"}, "sequence of tickers"),
        ({"symbols": []}, "at least one"),
        ({"seed": -1}, "non-negative"),
        ({"as_of": datetime(2025, 3, 3, 15, 0)}, "timezone-aware"),
        ({"max_expiry_days": -1}, "max_expiry_days"),
        ({"strikes_per_expiry": 1}, "strikes_per_expiry"),
    ],
)
def test_generate_market_with_invalid_argument_raises_naming_it(
    kwargs: dict[str, object], message: str
) -> None:
    arguments: dict[str, object] = {
        "seed": 1,
        "as_of": AS_OF,
        "symbols": ["SPY"],
        "max_expiry_days": 5,
    }
    arguments.update(kwargs)

    with pytest.raises(ValueError, match=message):
        generate_market(**arguments)  # type: ignore[arg-type]


def test_generate_market_with_pinned_mode_marks_snapshot_pinned() -> None:
    snapshot = generate_market(
        seed=1, as_of=AS_OF, symbols=["IWM"], max_expiry_days=5, mode=SnapshotMode.PINNED
    )

    assert snapshot.mode is SnapshotMode.PINNED


@pytest.mark.slow  # a fresh interpreter JIT-compiles the pricing kernels it cannot load from cache
def test_generate_market_with_another_process_and_hash_seed_gives_identical_hash() -> None:
    code = (
        "from datetime import UTC, datetime\n"
        "from riskdesk.adapters.simulated import generate_market\n"
        "s = generate_market(seed=42, as_of=datetime(2025, 3, 3, 15, 0, tzinfo=UTC),"
        " symbols=['SPY', 'AAPL'], max_expiry_days=60)\n"
        "print(s.snapshot_hash)\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        timeout=600,
    )

    local = generate_market(seed=42, as_of=AS_OF, symbols=["SPY", "AAPL"], max_expiry_days=60)
    assert done.stdout.strip() == local.snapshot_hash


def test_simulated_package_with_public_names_exports_exactly_these() -> None:
    import riskdesk.adapters.simulated as simulated

    assert sorted(simulated.__all__) == [
        "DEFAULT_CONFIG",
        "DEFAULT_SYMBOLS",
        "DividendSchedule",
        "ExpiryPlan",
        "IntradayPaths",
        "SOURCE",
        "SimulationConfig",
        "SyntheticSource",
        "UnderlyingKind",
        "UnderlyingSpec",
        "generate_market",
        "intraday_paths",
        "simulate_live",
        "simulate_paths",
        "true_surface",
    ]
    assert all(hasattr(simulated, name) for name in simulated.__all__)
