"""Strategy groups detected from hand-built books (riskdesk.risk.strategies)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskdesk.domain.instruments import OptionContract, OptionRight, Stock
from riskdesk.risk.positions import BookPosition
from riskdesk.risk.strategies import (
    StrategyLeg,
    StrategyMatch,
    StrategyType,
    describe,
    detect_strategies,
    regroup,
    ungrouped,
)

DEC = date(2026, 12, 18)
NOV = date(2026, 11, 20)
ENTRY = date(2026, 1, 2)
C, P = OptionRight.CALL, OptionRight.PUT


def _id(symbol: str) -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_URL, symbol)


def stock(symbol: str, qty: int, *, strategy: str | None = None) -> BookPosition:
    return BookPosition(
        symbol=symbol,
        instrument=Stock(symbol),
        quantity=Decimal(qty),
        entry_price=Decimal("100"),
        entry_date=ENTRY,
        position_id=_id(f"{symbol}:{qty}"),
        strategy=strategy,
    )


def opt(
    right: OptionRight,
    strike: int,
    qty: int,
    *,
    underlying: str = "AAPL",
    expiry: date = DEC,
    multiplier: int = 100,
    strategy: str | None = None,
) -> BookPosition:
    contract = OptionContract(underlying, expiry, Decimal(strike), right, multiplier=multiplier)
    symbol = f"{underlying}{expiry:%y%m%d}{right.value}{strike * 1000:08d}"
    return BookPosition(
        symbol=symbol,
        instrument=contract,
        quantity=Decimal(qty),
        entry_price=Decimal("2.5"),
        entry_date=ENTRY,
        position_id=_id(f"{symbol}:{qty}:{multiplier}"),
        strategy=strategy,
    )


def used(match: StrategyMatch, book: Sequence[BookPosition]) -> dict[str, Decimal]:
    """Symbol -> signed quantity the match uses."""
    return {book[leg.index].symbol: leg.quantity for leg in match.legs}


def only(book: Sequence[BookPosition], **kwargs: Any) -> StrategyMatch:
    matches = detect_strategies(book, **kwargs)
    assert len(matches) == 1, [m.name for m in matches]
    return matches[0]


# -- one test per strategy type (and its mirror) ------------------------------------------------


@pytest.mark.parametrize(
    ("right", "low_qty", "kind", "label"),
    [
        (C, 1, StrategyType.VERTICAL_CALL, "bull call spread"),
        (C, -1, StrategyType.VERTICAL_CALL, "bear call spread"),
        (P, 1, StrategyType.VERTICAL_PUT, "bull put spread"),
        (P, -1, StrategyType.VERTICAL_PUT, "bear put spread"),
    ],
)
def test_detect_with_vertical_spread_names_bull_or_bear_from_signs(
    right: OptionRight, low_qty: int, kind: StrategyType, label: str
) -> None:
    book = [opt(right, 160, -3 * low_qty), opt(right, 150, 3 * low_qty)]

    match = only(book)

    assert match.strategy_type is kind
    assert match.name == f"AAPL 2026-12-18 150/160 {label}"
    assert match.ratio == 3
    assert match.underlying == "AAPL"
    assert not match.user_defined
    assert used(match, book) == {book[0].symbol: book[0].quantity, book[1].symbol: book[1].quantity}


@pytest.mark.parametrize(("sign", "label"), [(1, "iron condor"), (-1, "reverse iron condor")])
def test_detect_with_iron_condor_book_finds_one_condor_not_two_verticals(
    sign: int, label: str
) -> None:
    book = [opt(P, 90, sign), opt(P, 95, -sign), opt(C, 105, -sign), opt(C, 110, sign)]

    match = only(book)

    assert match.strategy_type is StrategyType.IRON_CONDOR
    assert match.name == f"AAPL 2026-12-18 90/95/105/110 {label}"
    assert match.ratio == 1
    assert sorted(leg.index for leg in match.legs) == [0, 1, 2, 3]


@pytest.mark.parametrize(("sign", "label"), [(1, "iron butterfly"), (-1, "reverse iron butterfly")])
def test_detect_with_iron_butterfly_book_finds_iron_butterfly_not_straddle(
    sign: int, label: str
) -> None:
    book = [opt(P, 90, 2 * sign), opt(P, 100, -2 * sign), opt(C, 100, -2 * sign)]
    book.append(opt(C, 110, 2 * sign))

    match = only(book)

    assert match.strategy_type is StrategyType.IRON_BUTTERFLY
    assert match.name == f"AAPL 2026-12-18 90/100/110 {label}"
    assert match.ratio == 2


@pytest.mark.parametrize(
    ("right", "sign", "label"),
    [(C, 1, "long call butterfly"), (P, -1, "short put butterfly")],
)
def test_detect_with_one_two_one_book_finds_butterfly_not_two_verticals(
    right: OptionRight, sign: int, label: str
) -> None:
    # a greedy small-first detector would pair 100/110 and 110/120 as two verticals
    book = [opt(right, 100, sign), opt(right, 110, -2 * sign), opt(right, 120, sign)]

    match = only(book)

    assert match.strategy_type is StrategyType.BUTTERFLY
    assert match.name == f"AAPL 2026-12-18 100/110/120 {label}"
    assert match.ratio == 1
    assert used(match, book)[book[1].symbol] == -2 * sign


@pytest.mark.parametrize(("sign", "label"), [(1, "long straddle"), (-1, "short straddle")])
def test_detect_with_call_and_put_same_strike_finds_straddle(sign: int, label: str) -> None:
    book = [opt(C, 100, sign), opt(P, 100, sign)]

    match = only(book)

    assert match.strategy_type is StrategyType.STRADDLE
    assert match.name == f"AAPL 2026-12-18 100 {label}"


@pytest.mark.parametrize(("sign", "label"), [(1, "long strangle"), (-1, "short strangle")])
def test_detect_with_otm_call_and_put_finds_strangle(sign: int, label: str) -> None:
    book = [opt(C, 110, sign), opt(P, 90, sign)]

    match = only(book)

    assert match.strategy_type is StrategyType.STRANGLE
    assert match.name == f"AAPL 2026-12-18 90/110 {label}"


def test_detect_with_300_shares_and_two_short_calls_uses_200_and_leaves_100() -> None:
    book = [stock("AAPL", 300), opt(C, 110, -2)]

    match = only(book)
    rest = ungrouped(book, [match])

    assert match.strategy_type is StrategyType.COVERED_CALL
    assert match.name == "AAPL 2026-12-18 110 covered call"
    assert match.ratio == 2
    assert used(match, book) == {"AAPL": Decimal(200), book[1].symbol: Decimal(-2)}
    assert rest == [StrategyLeg(0, book[0].position_id, Decimal(100))]


def test_detect_with_long_stock_and_long_put_finds_protective_put() -> None:
    book = [stock("AAPL", 100), opt(P, 90, 1)]

    match = only(book)

    assert match.strategy_type is StrategyType.PROTECTIVE_PUT
    assert match.name == "AAPL 2026-12-18 90 protective put"


def test_detect_with_stock_put_and_call_finds_collar_not_covered_call() -> None:
    book = [stock("AAPL", 200), opt(C, 110, -2), opt(P, 90, 2)]

    match = only(book)

    assert match.strategy_type is StrategyType.COLLAR
    assert match.name == "AAPL 2026-12-18 90/110 collar"
    assert match.ratio == 2


@pytest.mark.parametrize(("far", "label"), [(1, "long call calendar"), (-1, "short call calendar")])
def test_detect_with_same_strike_two_expiries_finds_calendar(far: int, label: str) -> None:
    book = [opt(C, 100, -far, expiry=NOV), opt(C, 100, far, expiry=DEC)]

    match = only(book)

    assert match.strategy_type is StrategyType.CALENDAR
    assert match.name == f"AAPL 100 2026-11-20/2026-12-18 {label}"


def test_detect_with_different_strike_and_expiry_finds_diagonal() -> None:
    book = [opt(P, 95, -1, expiry=NOV), opt(P, 90, 1, expiry=DEC)]

    match = only(book)

    assert match.strategy_type is StrategyType.DIAGONAL
    assert match.name == "AAPL 2026-11-20 95P/2026-12-18 90P long put diagonal"


# -- mixed books ---------------------------------------------------------------------------------


def mixed_book() -> list[BookPosition]:
    return [
        # an iron condor on SPY plus an extra bull call spread leg pair
        opt(P, 400, 2, underlying="SPY"),
        opt(P, 410, -2, underlying="SPY"),
        opt(C, 450, -3, underlying="SPY"),
        opt(C, 460, 2, underlying="SPY"),
        opt(C, 440, 1, underlying="SPY"),
        # covered call with leftovers on AAPL, and a long straddle
        stock("AAPL", 350),
        opt(C, 110, -3),
        opt(C, 100, 1, expiry=NOV),
        opt(P, 100, 1, expiry=NOV),
        # a lone MSFT put
        opt(P, 300, -1, underlying="MSFT"),
    ]


def test_detect_with_mixed_book_prefers_condor_and_groups_leftovers() -> None:
    book = mixed_book()

    matches = detect_strategies(book)
    names = {m.name: m for m in matches}

    assert sorted(names) == [
        "AAPL 2026-11-20 100 long straddle",
        "AAPL 2026-12-18 110 covered call",
        "SPY 2026-12-18 400/410/450/460 iron condor",
        "SPY 2026-12-18 440/450 bull call spread",
    ]
    assert names["SPY 2026-12-18 400/410/450/460 iron condor"].ratio == 2
    assert names["SPY 2026-12-18 440/450 bull call spread"].ratio == 1
    rest = ungrouped(book, matches)
    assert [(book[leg.index].symbol, leg.quantity) for leg in rest] == [
        ("AAPL", Decimal(50)),
        (book[9].symbol, Decimal(-1)),
    ]


def _canonical(book: Sequence[BookPosition], matches: list[StrategyMatch]) -> list[Any]:
    """Matches with legs named by position id (independent of input order)."""
    out = []
    for m in matches:
        d = describe(m)
        d["legs"] = sorted((str(book[leg.index].position_id), str(leg.quantity)) for leg in m.legs)
        out.append(d)
    return out


@settings(max_examples=40, deadline=None)
@given(st.permutations(mixed_book()))
def test_detect_with_shuffled_book_gives_same_groups(shuffled: list[BookPosition]) -> None:
    book = mixed_book()

    assert _canonical(shuffled, detect_strategies(shuffled)) == _canonical(
        book, detect_strategies(book)
    )


def test_detect_with_two_positions_on_one_contract_draws_earlier_entry_first() -> None:
    contract = OptionContract("AAPL", DEC, Decimal(100), C)
    early = BookPosition("AAPL-C100", contract, Decimal(1), Decimal(3), date(2026, 1, 5))
    late = BookPosition("AAPL-C100", contract, Decimal(2), Decimal(3), date(2026, 2, 1))

    for book, early_at, late_at in (
        ([late, opt(C, 110, -2), early], 2, 0),
        ([early, opt(C, 110, -2), late], 0, 2),
    ):
        match = only(book)

        assert match.ratio == 2
        assert {(leg.index, leg.quantity) for leg in match.legs} == {
            (early_at, Decimal(1)),
            (late_at, Decimal(1)),
            (1, Decimal(-2)),
        }


# -- what is not grouped -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "book",
    [
        pytest.param([opt(C, 100, 1), opt(C, 110, -1, underlying="MSFT")], id="two-underlyings"),
        pytest.param([stock("MSFT", 100), opt(C, 110, -1)], id="stock-of-another-underlying"),
        pytest.param([opt(C, 100, 1), opt(C, 110, -1, multiplier=10)], id="mini-vs-standard"),
        pytest.param([stock("AAPL", 50), opt(C, 110, -1)], id="too-few-shares"),
        pytest.param([stock("AAPL", -100), opt(C, 110, -1)], id="short-stock"),
        pytest.param([opt(C, 100, 1), opt(C, 110, 1)], id="same-side"),
    ],
)
def test_detect_with_mismatched_legs_groups_nothing(book: list[BookPosition]) -> None:
    assert detect_strategies(book) == []
    assert len(ungrouped(book, [])) == len(book)


def test_detect_with_unequal_vertical_quantities_leaves_the_excess_ungrouped() -> None:
    book = [opt(C, 100, 3), opt(C, 110, -1)]

    match = only(book)

    assert match.ratio == 1
    assert ungrouped(book, [match]) == [StrategyLeg(0, book[0].position_id, Decimal(2))]


def test_detect_with_on_date_ignores_expired_options() -> None:
    book = [
        stock("AAPL", 100),
        opt(C, 110, -1, expiry=date(2026, 6, 19)),
        opt(C, 120, -1, expiry=DEC),
    ]

    before = detect_strategies(book)
    after = detect_strategies(book, on=date(2026, 6, 20))
    on_expiry = detect_strategies(book, on=date(2026, 6, 19))

    assert [m.name for m in before] == ["AAPL 2026-06-19 110 covered call"]
    assert [m.name for m in on_expiry] == ["AAPL 2026-06-19 110 covered call"]
    assert [m.name for m in after] == ["AAPL 2026-12-18 120 covered call"]
    assert ungrouped(book, after, on=date(2026, 6, 20)) == []


# -- user groups and edits -----------------------------------------------------------------------


def test_detect_with_user_tagged_positions_keeps_the_user_group() -> None:
    book = [
        stock("AAPL", 100, strategy="income"),
        opt(C, 110, -1),
        opt(P, 90, 1, strategy="income"),
        opt(C, 100, 1, underlying="MSFT", strategy="hedges"),
        opt(C, 110, -1, underlying="MSFT", strategy="hedges"),
    ]

    matches = detect_strategies(book)

    assert [(m.name, m.strategy_type, m.user_defined) for m in matches] == [
        ("income", StrategyType.PROTECTIVE_PUT, True),
        ("hedges", StrategyType.VERTICAL_CALL, True),
    ]
    # the tagged stock is not re-used for a covered call with the untagged short call
    assert ungrouped(book, matches) == [StrategyLeg(1, book[1].position_id, Decimal(-1))]


def test_detect_with_user_group_across_underlyings_is_custom() -> None:
    book = [opt(C, 100, 1, strategy="pair"), opt(C, 110, -1, underlying="MSFT", strategy="pair")]

    match = only(book)

    assert match.strategy_type is StrategyType.CUSTOM
    assert match.underlying is None
    assert match.ratio == 1


def test_detect_with_detected_name_equal_to_user_name_suffixes_the_detected_one() -> None:
    name = "AAPL 2026-12-18 100/110 bull call spread"
    book = [opt(C, 100, 1), opt(C, 110, -1), opt(P, 50, 1, strategy=name)]

    names = [m.name for m in detect_strategies(book)]

    assert names == [name, f"{name} (2)"]


def test_regroup_with_none_takes_position_out_and_redetects_the_rest() -> None:
    book = [stock("AAPL", 100), opt(C, 110, -1), opt(P, 90, 1)]
    matches = detect_strategies(book)
    assert [m.strategy_type for m in matches] == [StrategyType.COLLAR]

    edited = regroup(matches, book[1].position_id or 0, None, positions=book)

    assert [(m.name, m.user_defined) for m in edited] == [
        ("AAPL 2026-12-18 90 protective put", False)
    ]
    assert ungrouped(book, edited) == [StrategyLeg(1, book[1].position_id, Decimal(-1))]


def test_regroup_with_existing_group_adds_position_and_makes_it_user_defined() -> None:
    book = [stock("AAPL", 300), opt(C, 110, -1), opt(C, 120, -1, expiry=NOV)]
    matches = detect_strategies(book)
    assert len(matches) == 2

    target = "AAPL 2026-12-18 110 covered call"
    edited = regroup(matches, 2, target, positions=book)

    group = next(m for m in edited if m.name == target)
    assert group.user_defined
    assert group.strategy_type is StrategyType.CUSTOM
    assert used(group, book) == {
        "AAPL": Decimal(100),
        book[1].symbol: Decimal(-1),
        book[2].symbol: Decimal(-1),
    }
    # the position left its own detected group; that group's stock is free again
    assert [m.name for m in edited] == [target]
    assert ungrouped(book, edited) == [StrategyLeg(0, book[0].position_id, Decimal(200))]


def test_regroup_with_new_name_creates_a_user_group_and_leaves_others() -> None:
    book = [opt(C, 100, 1), opt(C, 110, -1), opt(P, 90, -1, underlying="MSFT")]
    matches = detect_strategies(book)

    edited = regroup(matches, 2, "  my put", positions=book)

    assert [(m.name, m.strategy_type, m.user_defined) for m in edited] == [
        ("AAPL 2026-12-18 100/110 bull call spread", StrategyType.VERTICAL_CALL, False),
        ("  my put", StrategyType.CUSTOM, True),
    ]
    again = regroup(edited, 2, None, positions=book)
    assert [m.name for m in again] == ["AAPL 2026-12-18 100/110 bull call spread"]


def test_regroup_with_user_group_member_removed_keeps_and_retypes_the_rest() -> None:
    book = [
        stock("AAPL", 100, strategy="mine"),
        opt(C, 110, -1, strategy="mine"),
        opt(P, 90, 1, strategy="mine"),
    ]
    matches = detect_strategies(book)
    assert matches[0].strategy_type is StrategyType.COLLAR

    edited = regroup(matches, 2, None, positions=book)

    assert [(m.name, m.strategy_type, m.user_defined) for m in edited] == [
        ("mine", StrategyType.COVERED_CALL, True)
    ]


@pytest.mark.parametrize(
    ("position", "group", "message"),
    [
        (5, "x", "index out of range"),
        (uuid.UUID(int=1), "x", "no position of the book has this id"),
        (0, " ", "group_name must be a non-empty name"),
    ],
)
def test_regroup_with_bad_arguments_raises_clear_error(
    position: int | uuid.UUID, group: str, message: str
) -> None:
    book = [opt(C, 100, 1)]

    with pytest.raises(ValueError, match=message):
        regroup([], position, group, positions=book)


def test_describe_with_match_is_json_ready() -> None:
    book = [stock("AAPL", 300), opt(C, 110, -2)]
    match = only(book)

    data = json.loads(json.dumps(describe(match)))

    assert data == {
        "name": "AAPL 2026-12-18 110 covered call",
        "strategy_type": "COVERED_CALL",
        "underlying": "AAPL",
        "ratio": "2",
        "user_defined": False,
        "legs": [
            {"index": 0, "position_id": str(book[0].position_id), "quantity": "200"},
            {"index": 1, "position_id": str(book[1].position_id), "quantity": "-2"},
        ],
    }
    assert match.members == (
        (book[0].position_id, Decimal(200)),
        (book[1].position_id, Decimal(-2)),
    )
