"""The trading value types: what an order, a quote and a fill refuse, and the fill's cash."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from riskdesk.trading.model import (
    Fill,
    FillLeg,
    OrderLeg,
    OrderRequest,
    OrderStatus,
    OrderType,
    Quote,
    Side,
)

AT = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
CALL = OrderLeg("SPY261120C00600000", Side.BUY, multiplier=100, is_option=True)


def test_order_request_with_inconsistent_prices_is_refused() -> None:
    with pytest.raises(ValueError, match="needs limit price"):
        OrderRequest((CALL,), 1, OrderType.LIMIT)
    with pytest.raises(ValueError, match="takes no limit price"):
        OrderRequest((CALL,), 1, OrderType.MARKET, limit_price=Decimal("1.00"))
    with pytest.raises(ValueError, match="needs stop price"):
        OrderRequest((CALL,), 1, OrderType.STOP_LIMIT, limit_price=Decimal(1))
    with pytest.raises(ValueError, match="quantity must be"):
        OrderRequest((CALL,), 0)
    with pytest.raises(ValueError, match="each instrument once"):
        OrderRequest((CALL, CALL), 1)
    assert OrderRequest((CALL,), 2, OrderType.STOP, stop_price=Decimal("2.5")).single


def test_quote_with_crossed_or_naive_values_is_refused() -> None:
    with pytest.raises(ValueError, match="below bid"):
        Quote("X", Decimal(2), Decimal(1), 1, 1, AT)
    with pytest.raises(ValueError, match="timezone-aware"):
        Quote("X", Decimal(1), Decimal(2), 1, 1, datetime(2026, 11, 20, 15, 0))
    assert Quote("X", Decimal("1.10"), Decimal("1.20"), 5, 7, AT).mid == Decimal("1.15")


def test_fill_cash_of_a_credit_spread_counts_legs_and_costs() -> None:
    # sell 2 calls at 3.10, buy 2 calls at 1.05 (x100): +620 - 210 = +410 before costs
    fill = Fill(
        units=2,
        legs=(
            FillLeg("A", Side.SELL, 2, Decimal("3.10"), 100),
            FillLeg("B", Side.BUY, 2, Decimal("1.05"), 100),
        ),
        net_price=Decimal("-2.05"),
        commission=Decimal("2.60"),
        fees=Decimal("0.08"),
        slippage_bps=0,
        at=AT,
    )
    assert fill.cash == Decimal("407.32")
    assert OrderStatus.EXPIRED.final
    assert not OrderStatus.PARTIALLY_FILLED.final
    assert Side.SELL.sign == -1
