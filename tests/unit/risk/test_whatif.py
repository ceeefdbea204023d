"""The what-if engine: changes applied in order with clear refusals, exact comparisons, and a
whole-share hedge whose residual is checked against a hand computation."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

import pytest

from riskdesk.domain.instruments import OptionContract, Stock
from riskdesk.risk.positions import BookPosition
from riskdesk.risk.whatif import (
    Change,
    HedgeMethod,
    WhatIfError,
    apply_changes,
    compare_measures,
    hedge_changes,
    position_from_dict,
    position_to_dict,
    suggest_hedge,
)

ON = date(2026, 11, 20)
AAPL_ID = uuid.UUID(int=1)
SPY_ID = uuid.UUID(int=2)


def _book() -> tuple[BookPosition, ...]:
    return (
        BookPosition(
            "AAPL", Stock("AAPL"), Decimal(100), Decimal(200), date(2026, 1, 5), (), AAPL_ID
        ),
        BookPosition("SPY", Stock("SPY"), Decimal(-10), Decimal(600), date(2026, 1, 5), (), SPY_ID),
    )


def test_apply_changes_with_add_remove_resize_gives_the_edited_book() -> None:
    changes = [
        Change.add("nvda261218c00140000", 4, "7.5", tags=["idea"]),
        Change.remove(symbol="spy"),
        Change.resize(150, position_id=AAPL_ID),
    ]

    book = apply_changes(_book(), changes, on=ON)

    assert [p.symbol for p in book] == ["AAPL", "NVDA261218C00140000"]
    assert book[0].quantity == 150
    assert book[0].position_id == AAPL_ID
    assert isinstance(book[1].instrument, OptionContract)
    assert book[1].position_id is None
    assert book[1].entry_date == ON
    assert book[1].tags == ("idea",)
    assert len(_book()) == 2  # the input is untouched


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Change.remove(symbol="TSLA"), "no TSLA position"),
        (lambda: Change.remove(position_id=uuid.UUID(int=9)), "no position with id"),
        (lambda: Change.add("AAPL", 1, 200), "already holds AAPL"),
        (lambda: Change.resize(100, symbol="AAPL"), "already has quantity 100"),
        (lambda: Change.resize(-5, symbol="AAPL"), "flips"),
    ],
)
def test_apply_changes_with_bad_change_raises_naming_it(make: object, message: str) -> None:
    with pytest.raises(WhatIfError, match=message):
        apply_changes(_book(), [make()], on=ON)  # type: ignore[operator]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Change.add("AAPL", 0, 200), "must not be 0"),
        (lambda: Change.add("AAPL", 1, 0), "greater than 0"),
        (lambda: Change.add("not a symbol!", 1, 1), "symbol"),
        (lambda: Change.add("AAPL", "abc", 1), "not a number"),
        (lambda: Change.resize(0, symbol="AAPL"), "remove it instead"),
        (lambda: Change.remove(), "exactly one"),
        (lambda: Change.remove(symbol="AAPL", position_id=AAPL_ID), "exactly one"),
    ],
)
def test_change_with_bad_input_is_refused_before_any_book(make: object, message: str) -> None:
    with pytest.raises(WhatIfError, match=message):
        make()  # type: ignore[operator]


def test_apply_changes_with_allowed_flip_changes_the_side() -> None:
    book = apply_changes(_book(), [Change.resize(-50, symbol="AAPL", allow_flip=True)], on=ON)

    assert book[0].quantity == -50
    assert book[0].position_type.value == "SHORT"


def test_change_with_round_trip_through_json_is_equal() -> None:
    changes = [Change.add("AAPL261218P00180000", -2, "3.1"), Change.resize(7, position_id=SPY_ID)]

    assert [Change.from_dict(c.to_dict()) for c in changes] == changes
    assert [position_from_dict(position_to_dict(p)) for p in _book()] == list(_book())


def test_compare_measures_with_decimal_figures_is_exact() -> None:
    result = compare_measures(
        {"a": Decimal("0.10"), "b": Decimal("5"), "gone": Decimal(1)},
        {"a": Decimal("0.30"), "b": None, "new": Decimal(2)},
    )

    assert [(c.measure, c.change) for c in result] == [
        ("a", Decimal("0.20")),
        ("b", None),
        ("gone", None),
        ("new", None),
    ]
    assert result[0].to_dict() == {
        "measure": "a",
        "section": "a",
        "baseline": "0.10",
        "pro_forma": "0.30",
        "change": "0.20",
    }


@pytest.mark.parametrize("exposure", [125_432.1, -98_765.4, 299.0, 301.0, 0.0])
def test_suggest_hedge_with_any_exposure_leaves_at_most_half_a_share(exposure: float) -> None:
    price = 600.0

    hedge = suggest_hedge(exposure, etf="SPY", price=price)

    after = exposure + hedge.shares * price  # recomputed by hand, not read from the hedge
    assert abs(after) <= price / 2
    assert hedge.residual == pytest.approx(after)
    assert all(abs(exposure + (hedge.shares + k) * price) >= abs(after) for k in (-1, 1))


def test_suggest_hedge_with_bad_price_is_refused() -> None:
    with pytest.raises(WhatIfError, match="positive"):
        suggest_hedge(1000.0, etf="SPY", price=0.0, method=HedgeMethod.BETA)


def test_hedge_changes_with_held_etf_resizes_and_else_adds() -> None:
    resize = hedge_changes(_book(), suggest_hedge(-3000.0, etf="SPY", price=600.0), on=ON)
    close = hedge_changes(_book(), suggest_hedge(-6000.0, etf="SPY", price=600.0), on=ON)
    add = hedge_changes(_book(), suggest_hedge(6000.0, etf="VTV", price=150.0), on=ON)

    assert apply_changes(_book(), resize, on=ON)[1].quantity == -5
    assert [p.symbol for p in apply_changes(_book(), close, on=ON)] == ["AAPL"]
    assert apply_changes(_book(), add, on=ON)[-1].quantity == -40
    assert hedge_changes(_book(), suggest_hedge(10.0, etf="SPY", price=600.0), on=ON) == ()
