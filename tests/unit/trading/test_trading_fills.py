"""The fill model: order types x time in force, partial fills, multi-leg, slippage and costs.

Expected Decimals are computed by hand from the inputs in each test (comments show the
arithmetic), never from the code under test.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskdesk.trading.fills import (
    FillConfig,
    FillResult,
    NoFill,
    OrderState,
    expire_day_orders,
    match,
)
from riskdesk.trading.model import (
    OrderLeg,
    OrderRequest,
    OrderStatus,
    OrderType,
    Quote,
    Side,
    TimeInForce,
)

T0 = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
D = Decimal
NO_COSTS = FillConfig()


def quote(symbol: str, bid: str, ask: str, bid_size: int = 100, ask_size: int = 100) -> Quote:
    return Quote(symbol, D(bid), D(ask), bid_size, ask_size, T0)


def opt(symbol: str, side: Side, ratio: int = 1) -> OrderLeg:
    return OrderLeg(symbol, side, ratio=ratio, multiplier=100, is_option=True)


def one_leg(
    side: Side,
    qty: int,
    order_type: OrderType = OrderType.MARKET,
    tif: TimeInForce = TimeInForce.DAY,
    limit: str | None = None,
    stop: str | None = None,
    symbol: str = "C100",
) -> OrderRequest:
    return OrderRequest(
        legs=(opt(symbol, side),),
        quantity=qty,
        order_type=order_type,
        time_in_force=tif,
        limit_price=None if limit is None else D(limit),
        stop_price=None if stop is None else D(stop),
    )


def run(
    order: OrderRequest,
    *quotes: Quote,
    state: OrderState | None = None,
    config: FillConfig = NO_COSTS,
) -> FillResult:
    return match(order, state or OrderState(), {q.symbol: q for q in quotes}, T0, config)


# --- market orders, slippage and costs ---------------------------------------------------


def test_match_with_market_buy_thin_ask_fills_displayed_size_with_slippage_and_costs() -> None:
    config = FillConfig(
        slippage_bps=10,
        commission_per_contract=D("0.65"),
        min_commission=D("1.00"),
        fee_per_contract=D("0.02"),
    )
    order = one_leg(Side.BUY, 3)

    result = run(order, quote("C100", "1.20", "1.25", ask_size=2), config=config)

    (fill,) = result.fills
    # 1.25 x 10 / 10 000 = 0.00125 -> rounded up to one tick 0.01 -> 1.26
    assert fill.legs[0].price == D("1.26")
    assert fill.legs[0].quantity == 2
    assert fill.units == 2
    assert fill.net_price == D("1.26")
    assert fill.slippage_bps == 10
    assert fill.commission == D("1.30")  # max(1.00, 2 x 0.65)
    assert fill.fees == D("0.04")  # 2 x 0.02
    assert fill.legs[0].cash == D("-252.00")  # 1.26 x 2 x 100
    assert fill.cash == D("-253.34")  # -252.00 - 1.30 - 0.04
    assert fill.at == T0
    assert result.state == OrderState(filled_units=2, triggered=False)
    assert result.status is OrderStatus.PARTIALLY_FILLED
    assert result.code is NoFill.NO_SIZE


def test_match_with_partial_fills_charges_minimum_commission_once_per_order() -> None:
    config = FillConfig(commission_per_contract=D("0.65"), min_commission=D("1.00"))
    order = one_leg(Side.BUY, 3)

    first = run(order, quote("C100", "1.20", "1.25", ask_size=1), config=config)
    second = run(order, quote("C100", "1.20", "1.25", ask_size=5), state=first.state, config=config)

    assert first.fills[0].commission == D("1.00")  # max(1.00, 1 x 0.65)
    assert second.fills[0].units == 2
    assert second.fills[0].commission == D("0.95")  # max(1.00, 3 x 0.65) = 1.95, minus 1.00
    assert second.status is OrderStatus.FILLED
    assert second.state.filled_units == 3
    assert (second.code, second.reason) == (None, None)


def test_match_with_market_sell_and_regulatory_fees_matches_hand_computed_cash() -> None:
    config = FillConfig(
        slippage_bps=25,
        commission_per_contract=D("0.65"),
        fee_per_contract=D("0.02295"),
        sell_fee_per_contract=D("0.00279"),
    )
    order = one_leg(Side.SELL, 10)

    result = run(order, quote("C100", "2.00", "2.10", bid_size=50), config=config)

    (fill,) = result.fills
    # 2.00 x 25 / 10 000 = 0.005 -> one tick -> 2.00 - 0.01
    assert fill.legs[0].price == D("1.99")
    assert fill.net_price == D("-1.99")
    assert fill.commission == D("6.50")  # 10 x 0.65
    assert fill.fees == D("0.26")  # 10 x (0.02295 + 0.00279) = 0.2574 -> 0.26
    assert fill.cash == D("1983.24")  # 1.99 x 10 x 100 - 6.50 - 0.26
    assert result.status is OrderStatus.FILLED


def test_match_with_sell_slippage_at_one_tick_bid_never_goes_through_zero() -> None:
    config = FillConfig(slippage_bps=5000)
    order = one_leg(Side.SELL, 1)

    result = run(order, quote("C100", "0.01", "0.05"), config=config)

    # 0.01 x 0.5 = 0.005 -> one tick -> 0.00, floored at one tick: 0.01
    assert result.fills[0].legs[0].price == D("0.01")


def test_match_with_shares_charges_per_share_commission_minimum_and_sell_fee() -> None:
    config = FillConfig(
        slippage_bps=3,
        commission_per_share=D("0.005"),
        min_commission=D("1.00"),
        sell_fee_per_share=D("0.000166"),
    )
    buy = OrderRequest(legs=(OrderLeg("SPY", Side.BUY),), quantity=150)
    sell = OrderRequest(legs=(OrderLeg("SPY", Side.SELL),), quantity=1000)
    book = Quote("SPY", D("99.99"), D("100.00"), 5000, 5000, T0)

    bought = run(buy, book, config=config).fills[0]
    sold = run(sell, book, config=config).fills[0]

    assert bought.legs[0].price == D("100.03")  # 100.00 x 3 / 10 000 = 0.03
    assert bought.commission == D("1.00")  # max(1.00, 150 x 0.005 = 0.75)
    assert bought.fees == D("0")
    assert bought.cash == D("-15005.50")  # -100.03 x 150 - 1.00
    assert sold.legs[0].price == D("99.96")  # 99.99 x 3 / 10 000 = 0.029997 -> 0.03
    assert sold.commission == D("5.00")  # 1000 x 0.005
    assert sold.fees == D("0.17")  # 1000 x 0.000166 = 0.166 -> 0.17
    assert sold.cash == D("99954.83")  # 99.96 x 1000 - 5.00 - 0.17


def test_match_with_wide_tick_rounds_slippage_of_options_from_three_dollars() -> None:
    config = FillConfig(slippage_bps=10, wide_tick=D("0.05"))

    rich = run(one_leg(Side.BUY, 1, symbol="C90"), quote("C90", "3.90", "4.00"), config=config)
    cheap = run(one_leg(Side.BUY, 1), quote("C100", "1.95", "2.00"), config=config)
    shares = run(
        OrderRequest(legs=(OrderLeg("SPY", Side.BUY),), quantity=1),
        quote("SPY", "99.99", "100.00"),
        config=config,
    )

    assert rich.fills[0].legs[0].price == D("4.05")  # 0.004 -> one 0.05 tick
    assert cheap.fills[0].legs[0].price == D("2.01")  # 0.002 -> one 0.01 tick
    assert shares.fills[0].legs[0].price == D("100.10")  # shares keep 0.01: 0.10 exactly


# --- limit and stop orders ---------------------------------------------------------------


def test_match_with_limit_buy_above_ask_fills_at_touch_without_slippage() -> None:
    order = one_leg(Side.BUY, 2, OrderType.LIMIT, limit="1.30")

    result = run(order, quote("C100", "1.20", "1.25"), config=FillConfig(slippage_bps=100))

    assert result.fills[0].legs[0].price == D("1.25")
    assert result.fills[0].slippage_bps == 0
    assert result.status is OrderStatus.FILLED


def test_match_with_limit_buy_below_ask_rests_not_marketable() -> None:
    order = one_leg(Side.BUY, 2, OrderType.LIMIT, limit="1.24")

    result = run(order, quote("C100", "1.20", "1.25"))

    assert result.fills == ()
    assert result.status is OrderStatus.SUBMITTED
    assert result.code is NoFill.NOT_MARKETABLE
    assert result.reason is not None
    assert "1.25" in result.reason
    assert "1.24" in result.reason


@pytest.mark.parametrize(("bid", "fills"), [("2.05", True), ("2.00", True), ("1.95", False)])
def test_match_with_sell_limit_as_negative_credit_fills_only_at_or_above_credit(
    bid: str, fills: bool
) -> None:
    order = one_leg(Side.SELL, 1, OrderType.LIMIT, limit="-2.00")

    result = run(order, quote("C100", bid, "2.20"))

    assert bool(result.fills) is fills
    if fills:
        assert result.fills[0].legs[0].price == D(bid)


@pytest.mark.parametrize(
    ("side", "order_type", "limit", "stop"),
    [
        (Side.SELL, OrderType.LIMIT, "2.00", None),
        (Side.BUY, OrderType.LIMIT, "-2.00", None),
        (Side.SELL, OrderType.STOP, None, "1.00"),
    ],
)
def test_match_with_one_leg_price_of_wrong_sign_raises(
    side: Side, order_type: OrderType, limit: str | None, stop: str | None
) -> None:
    order = one_leg(side, 1, order_type, limit=limit, stop=stop)

    with pytest.raises(ValueError, match="wrong sign"):
        run(order, quote("C100", "1.90", "2.00"))


def test_match_with_buy_stop_triggers_at_stop_and_fills_as_market_with_slippage() -> None:
    order = one_leg(Side.BUY, 1, OrderType.STOP, stop="1.50")
    config = FillConfig(slippage_bps=100)

    below = run(order, quote("C100", "1.35", "1.40"), config=config)
    at_stop = run(order, quote("C100", "1.45", "1.50"), state=below.state, config=config)

    assert below.fills == ()
    assert below.code is NoFill.STOP_NOT_TRIGGERED
    assert below.state.triggered is False
    assert at_stop.state.triggered is True
    assert at_stop.fills[0].legs[0].price == D("1.52")  # 1.50 x 1% = 0.015 -> 0.02
    assert at_stop.status is OrderStatus.FILLED


def test_match_with_sell_stop_triggers_when_bid_falls_to_stop() -> None:
    order = one_leg(Side.SELL, 1, OrderType.STOP, stop="-1.00")

    above = run(order, quote("C100", "1.10", "1.20"))
    at_stop = run(order, quote("C100", "1.00", "1.10"))

    assert above.code is NoFill.STOP_NOT_TRIGGERED
    assert at_stop.fills[0].legs[0].price == D("1.00")
    assert at_stop.fills[0].net_price == D("-1.00")


def test_match_with_stop_limit_stays_triggered_and_fills_only_within_limit() -> None:
    order = one_leg(Side.BUY, 1, OrderType.STOP_LIMIT, limit="1.55", stop="1.50")

    gapped = run(order, quote("C100", "1.55", "1.60"))
    back = run(order, quote("C100", "1.40", "1.45"), state=gapped.state)

    assert gapped.fills == ()
    assert gapped.state.triggered is True
    assert gapped.code is NoFill.NOT_MARKETABLE
    assert back.fills[0].legs[0].price == D("1.45")  # below the stop, but already triggered
    assert back.status is OrderStatus.FILLED


# --- order type x time in force ------------------------------------------------------------

TYPES = {
    OrderType.MARKET: {},
    OrderType.LIMIT: {"limit": "1.30"},
    OrderType.STOP: {"stop": "1.20"},
    OrderType.STOP_LIMIT: {"limit": "1.30", "stop": "1.20"},
}
THIN = {
    TimeInForce.DAY: (OrderStatus.PARTIALLY_FILLED, 2, NoFill.NO_SIZE),
    TimeInForce.GTC: (OrderStatus.PARTIALLY_FILLED, 2, NoFill.NO_SIZE),
    TimeInForce.IOC: (OrderStatus.CANCELLED, 2, NoFill.IOC_CANCELLED),
    TimeInForce.FOK: (OrderStatus.CANCELLED, 0, NoFill.FOK_CANCELLED),
}


@pytest.mark.parametrize("tif", list(TimeInForce))
@pytest.mark.parametrize("order_type", list(OrderType))
def test_match_with_each_type_and_tif_on_thin_ask_follows_tif_rules(
    order_type: OrderType, tif: TimeInForce
) -> None:
    order = one_leg(Side.BUY, 3, order_type, tif, **TYPES[order_type])

    result = run(order, quote("C100", "1.20", "1.25", ask_size=2))

    status, units, code = THIN[tif]
    assert result.status is status
    assert result.filled_now == units
    assert result.state.filled_units == units
    assert result.code is code
    if units:
        assert result.fills[0].legs[0].price == D("1.25")


UNFILLABLE = {
    OrderType.MARKET: ({}, NoFill.NO_QUOTE),
    OrderType.LIMIT: ({"limit": "1.00"}, NoFill.NOT_MARKETABLE),
    OrderType.STOP: ({"stop": "1.50"}, NoFill.STOP_NOT_TRIGGERED),
    OrderType.STOP_LIMIT: ({"limit": "1.60", "stop": "1.50"}, NoFill.STOP_NOT_TRIGGERED),
}
RESTS = {
    TimeInForce.DAY: (OrderStatus.SUBMITTED, None),
    TimeInForce.GTC: (OrderStatus.SUBMITTED, None),
    TimeInForce.IOC: (OrderStatus.CANCELLED, NoFill.IOC_CANCELLED),
    TimeInForce.FOK: (OrderStatus.CANCELLED, NoFill.FOK_CANCELLED),
}


@pytest.mark.parametrize("tif", list(TimeInForce))
@pytest.mark.parametrize("order_type", list(OrderType))
def test_match_with_each_type_and_tif_unfillable_rests_or_cancels(
    order_type: OrderType, tif: TimeInForce
) -> None:
    prices, why = UNFILLABLE[order_type]
    order = one_leg(Side.BUY, 3, order_type, tif, **prices)
    quotes = () if order_type is OrderType.MARKET else (quote("C100", "1.20", "1.25"),)

    result = run(order, *quotes)

    status, code = RESTS[tif]
    assert result.fills == ()
    assert result.status is status
    assert result.code is (code or why)
    assert result.state.filled_units == 0
    assert result.reason


def test_match_with_fok_and_enough_size_fills_everything() -> None:
    order = one_leg(Side.BUY, 3, tif=TimeInForce.FOK)

    result = run(order, quote("C100", "1.20", "1.25", ask_size=3))

    assert result.status is OrderStatus.FILLED
    assert result.fills[0].units == 3


def test_expire_day_orders_with_close_reached_expires_only_working_day_orders() -> None:
    close = datetime(2026, 3, 2, 21, 0, tzinfo=UTC)
    day = one_leg(Side.BUY, 5, OrderType.LIMIT, TimeInForce.DAY, limit="1.00")
    gtc = one_leg(Side.BUY, 5, OrderType.LIMIT, TimeInForce.GTC, limit="1.00")
    orders = {"day": (day, OrderState(filled_units=2)), "gtc": (gtc, OrderState())}

    before = expire_day_orders(orders, close - timedelta(seconds=1), close)
    at_close = expire_day_orders(orders, close, close)

    assert before == {}
    assert set(at_close) == {"day"}
    expired = at_close["day"]
    assert expired.status is OrderStatus.EXPIRED
    assert expired.code is NoFill.DAY_EXPIRED
    assert expired.fills == ()
    assert expired.state == OrderState(filled_units=2)
    assert expired.reason is not None
    assert "3 of 5" in expired.reason


def test_expire_day_orders_with_naive_close_raises() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        expire_day_orders({}, T0, datetime(2026, 3, 2, 21, 0))


# --- multi-leg -------------------------------------------------------------------------------


def test_match_with_spread_and_thin_short_leg_fills_no_leg() -> None:
    order = OrderRequest(legs=(opt("C100", Side.BUY), opt("C105", Side.SELL)), quantity=5)

    result = run(order, quote("C100", "2.00", "2.10"), quote("C105", "0.90", "1.00", bid_size=0))

    assert result.fills == ()
    assert result.code is NoFill.NO_SIZE
    assert result.reason is not None
    assert "C105" in result.reason
    assert result.status is OrderStatus.SUBMITTED


def test_match_with_spread_fills_units_of_thinnest_leg_at_net_price() -> None:
    order = OrderRequest(legs=(opt("C100", Side.BUY), opt("C105", Side.SELL)), quantity=5)

    result = run(order, quote("C100", "2.00", "2.10"), quote("C105", "0.90", "1.00", bid_size=3))

    (fill,) = result.fills
    assert fill.units == 3
    assert [leg.quantity for leg in fill.legs] == [3, 3]
    assert fill.net_price == D("1.20")  # 2.10 - 0.90
    assert fill.cash == D("-360.00")  # (-2.10 + 0.90) x 3 x 100
    assert result.status is OrderStatus.PARTIALLY_FILLED


def test_match_with_butterfly_ratio_limits_units_and_costs_match_hand_computation() -> None:
    config = FillConfig(
        commission_per_contract=D("0.65"),
        fee_per_contract=D("0.02"),
        sell_fee_per_contract=D("0.01"),
    )
    order = OrderRequest(
        legs=(opt("C95", Side.BUY), opt("C100", Side.SELL, ratio=2), opt("C105", Side.BUY)),
        quantity=4,
        order_type=OrderType.LIMIT,
        limit_price=D("0.85"),
    )

    result = run(
        order,
        quote("C95", "4.90", "5.00"),
        quote("C100", "2.60", "2.70", bid_size=5),  # 5 // 2 = 2 units
        quote("C105", "0.95", "1.00"),
        config=config,
    )

    (fill,) = result.fills
    assert fill.units == 2
    assert [leg.quantity for leg in fill.legs] == [2, 4, 2]
    assert fill.net_price == D("0.80")  # 5.00 - 2 x 2.60 + 1.00
    assert fill.commission == D("5.20")  # 8 contracts x 0.65
    assert fill.fees == D("0.20")  # 8 x 0.02 + 4 sold x 0.01
    # -5.00 x 200 + 2.60 x 400 - 1.00 x 200 = -160.00, less 5.40 of costs
    assert fill.cash == D("-165.40")
    assert fill.cash == sum(leg.cash for leg in fill.legs) - fill.commission - fill.fees


@pytest.mark.parametrize(("limit", "fills"), [("-1.00", False), ("-0.90", True), ("-0.85", True)])
def test_match_with_credit_spread_limit_fills_only_for_enough_credit(
    limit: str, fills: bool
) -> None:
    order = OrderRequest(
        legs=(opt("P95", Side.SELL), opt("P90", Side.BUY)),
        quantity=1,
        order_type=OrderType.LIMIT,
        limit_price=D(limit),
    )

    result = run(order, quote("P95", "1.50", "1.60"), quote("P90", "0.55", "0.60"))

    assert bool(result.fills) is fills
    if fills:
        assert result.fills[0].net_price == D("-0.90")  # -1.50 + 0.60
        assert result.fills[0].cash == D("90.00")


def test_match_with_multi_leg_missing_quote_fills_nothing() -> None:
    order = OrderRequest(
        legs=(opt("C100", Side.BUY), opt("C105", Side.SELL)),
        quantity=1,
        time_in_force=TimeInForce.IOC,
    )

    result = run(order, quote("C100", "2.00", "2.10"))

    assert result.fills == ()
    assert result.status is OrderStatus.CANCELLED
    assert result.reason is not None
    assert "C105: no quote" in result.reason


# --- no market and bad inputs --------------------------------------------------------------


def test_match_with_zero_bid_for_sell_leg_reports_zero_market() -> None:
    result = run(one_leg(Side.SELL, 1), quote("C100", "0", "0.05"))

    assert result.fills == ()
    assert result.code is NoFill.ZERO_MARKET
    assert result.reason == "leg C100: bid is 0, nothing to sell into"


def test_match_with_crossed_quote_reports_crossed_market() -> None:
    crossed = quote("C100", "1.00", "1.10")
    object.__setattr__(crossed, "bid", D("1.20"))  # Quote refuses this; a defensive check

    result = run(one_leg(Side.BUY, 1), crossed)

    assert result.fills == ()
    assert result.code is NoFill.CROSSED_MARKET


def test_match_with_naive_time_raises() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        match(one_leg(Side.BUY, 1), OrderState(), {}, datetime(2026, 3, 2, 15, 0), NO_COSTS)


def test_match_with_order_already_complete_raises() -> None:
    with pytest.raises(ValueError, match="already filled 2 of 2"):
        run(one_leg(Side.BUY, 2), quote("C100", "1.00", "1.10"), state=OrderState(2))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"slippage_bps": -1},
        {"commission_per_contract": D("-0.65")},
        {"min_commission": D("NaN")},
        {"tick": D(0)},
        {"wide_tick": D("-0.05")},
    ],
)
def test_fill_config_with_invalid_value_raises_naming_field(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        FillConfig(**kwargs)  # type: ignore[arg-type]


# --- properties ----------------------------------------------------------------------------

cents = st.integers(min_value=0, max_value=2000).map(lambda n: D(n) / 100)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[OrderRequest, OrderState, dict[str, Quote], FillConfig]:
    n_legs = draw(st.integers(min_value=1, max_value=3))
    legs = tuple(
        OrderLeg(
            f"S{i}",
            draw(st.sampled_from(Side)),
            ratio=draw(st.integers(min_value=1, max_value=3)),
            multiplier=draw(st.sampled_from([1, 100])),
            is_option=draw(st.booleans()),
        )
        for i in range(n_legs)
    )
    quotes: dict[str, Quote] = {}
    for leg in legs:
        bid = draw(cents)
        ask = bid + draw(st.integers(min_value=0, max_value=50)) / D(100)
        sizes = st.integers(min_value=0, max_value=20)
        quotes[leg.symbol] = Quote(leg.symbol, bid, ask, draw(sizes), draw(sizes), T0)
    quantity = draw(st.integers(min_value=1, max_value=10))
    order_type = draw(st.sampled_from([OrderType.MARKET, OrderType.LIMIT]))
    limit = None
    if order_type is OrderType.LIMIT:
        limit = draw(cents)
        if (len(legs) == 1 and legs[0].side is Side.SELL) or (
            len(legs) > 1 and draw(st.booleans())
        ):
            limit = -limit
    order = OrderRequest(
        legs=legs,
        quantity=quantity,
        order_type=order_type,
        time_in_force=draw(st.sampled_from(TimeInForce)),
        limit_price=limit,
    )
    state = OrderState(filled_units=draw(st.integers(min_value=0, max_value=quantity - 1)))
    config = FillConfig(
        slippage_bps=draw(st.integers(min_value=0, max_value=500)),
        commission_per_contract=D("0.65"),
        commission_per_share=D("0.005"),
        min_commission=D("1.00"),
        fee_per_contract=D("0.02295"),
        sell_fee_per_share=D("0.000166"),
        wide_tick=draw(st.sampled_from([None, D("0.05")])),
    )
    return order, state, quotes, config


@settings(max_examples=300, deadline=None)
@given(scenarios())
def test_match_with_any_scenario_prices_within_touch_and_never_overfills(
    scenario: tuple[OrderRequest, OrderState, dict[str, Quote], FillConfig],
) -> None:
    order, state, quotes, config = scenario

    result = match(order, state, quotes, T0, config)

    remaining = order.quantity - state.filled_units
    assert result.filled_now <= remaining
    assert result.state.filled_units == state.filled_units + result.filled_now
    assert result.state.filled_units <= order.quantity
    assert len(result.fills) <= 1
    for fill in result.fills:
        assert fill.units >= 1
        for order_leg, leg in zip(order.legs, fill.legs, strict=True):
            q = quotes[leg.symbol]
            assert (
                leg.quantity
                == fill.units * order_leg.ratio
                <= (q.ask_size if leg.side is Side.BUY else q.bid_size)
            )
            assert leg.price > 0
            if leg.side is Side.BUY:
                assert leg.price >= q.ask >= q.bid
            else:
                assert leg.price <= q.bid <= q.ask
            if fill.slippage_bps == 0:
                assert leg.price == (q.ask if leg.side is Side.BUY else q.bid)
        if order.limit_price is not None:
            assert fill.net_price <= order.limit_price
        assert fill.commission >= 0
        assert fill.fees >= 0
        assert fill.cash == sum(leg.cash for leg in fill.legs) - fill.commission - fill.fees
    if result.status is OrderStatus.FILLED:
        assert result.state.filled_units == order.quantity
    if order.time_in_force in (TimeInForce.IOC, TimeInForce.FOK):
        assert result.status.final
    if order.time_in_force is TimeInForce.FOK:
        assert result.filled_now in (0, remaining)
