from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskdesk.domain.hashing import canonical_json
from riskdesk.domain.instruments import ExerciseStyle, OptionContract, OptionRight, Stock
from riskdesk.domain.trades import DraftLeg, Leg, TradeDraft, TradeVersion

EXPIRY = date(2025, 2, 21)


def _call(strike: str, right: OptionRight = OptionRight.CALL) -> OptionContract:
    return OptionContract("SPY", EXPIRY, Decimal(strike), right, ExerciseStyle.AMERICAN)


def _legs() -> list[Leg]:
    return [
        Leg(_call("100"), Decimal(1), Decimal("5.50"), Decimal("0.65")),
        Leg(_call("110"), Decimal(-1), Decimal("1.50"), Decimal("0.65")),
        Leg(_call("95", OptionRight.PUT), Decimal(-2), Decimal("1.10")),
        Leg(Stock("SPY"), Decimal(100), Decimal("99.95")),
        Leg(_call("120"), Decimal(1), Decimal("0.20"), include=False),
    ]


@settings(max_examples=40, deadline=None)
@given(order=st.permutations(range(5)))
def test_trade_hash_with_legs_in_any_order_is_identical(order):
    legs = _legs()
    reference = TradeVersion(name="t", legs=tuple(legs))

    shuffled = TradeVersion(name="t", legs=tuple(legs[i] for i in order))

    assert shuffled.trade_hash == reference.trade_hash
    assert shuffled.legs == tuple(legs[i] for i in order)  # the user's order is kept
    assert shuffled == reference


def test_trade_hash_with_drafts_of_different_leg_ids_is_identical():
    a, b = TradeDraft("t"), TradeDraft("t")
    for leg in _legs():
        a.add_leg(
            leg.instrument,
            quantity=leg.quantity,
            entry_price=leg.entry_price,
            fees=leg.fees,
            include=leg.include,
        )
    for leg in reversed(_legs()):
        b.add_leg(
            leg.instrument,
            quantity=leg.quantity,
            entry_price=leg.entry_price,
            fees=leg.fees,
            include=leg.include,
        )

    assert {x.leg_id for x in a.legs}.isdisjoint({x.leg_id for x in b.legs})
    assert a.commit().trade_hash == b.commit().trade_hash


def test_trade_hash_with_equal_decimals_in_other_notation_is_identical():
    a = TradeVersion("t", (Leg(_call("100"), Decimal("1"), Decimal("1.50")),))
    b = TradeVersion("t", (Leg(_call("100.0"), Decimal("1.00"), Decimal("1.5")),))

    assert a.trade_hash == b.trade_hash


@pytest.mark.parametrize(
    "change",
    [
        {"include": False},
        {"quantity": Decimal(2)},
        {"entry_price": Decimal("5.51")},
        {"fees": Decimal("1")},
        {"instrument": _call("101")},
    ],
)
def test_trade_hash_with_any_leg_field_changed_differs(change):
    base = _legs()
    changed = [base[0].replace(**change), *base[1:]]

    assert TradeVersion("t", tuple(changed)).trade_hash != TradeVersion("t", tuple(base)).trade_hash


def test_trade_hash_with_other_name_differs():
    assert (
        TradeVersion("a", tuple(_legs())).trade_hash != TradeVersion("b", tuple(_legs())).trade_hash
    )


def test_draft_rev_with_each_edit_increases_by_one():
    draft = TradeDraft("d")
    revs = [draft.rev]

    first = draft.add_leg(_call("100"), quantity=1, entry_price="2")
    revs.append(draft.rev)
    second = draft.add_leg(_call("110"), quantity=-1, entry_price="1")
    revs.append(draft.rev)
    draft.set_quantity(first, 3)
    revs.append(draft.rev)
    draft.set_entry_price(first, "2.10")
    revs.append(draft.rev)
    draft.set_fees(second, "0.65")
    revs.append(draft.rev)
    assert draft.toggle_leg(second) is False
    revs.append(draft.rev)
    draft.set_include(second, True)
    revs.append(draft.rev)
    draft.rename("renamed")
    revs.append(draft.rev)
    draft.remove_leg(first)
    revs.append(draft.rev)

    assert revs == list(range(10))
    assert [x.leg_id for x in draft.legs] == [second]
    assert draft.leg(second).fees == Decimal("0.65")


def test_draft_rev_with_rejected_edit_is_unchanged():
    draft = TradeDraft("d")
    leg_id = draft.add_leg(_call("100"), quantity=1, entry_price="2")

    with pytest.raises(ValueError, match="non-zero"):
        draft.set_quantity(leg_id, 0)
    with pytest.raises(ValueError, match="entry_price"):
        draft.set_entry_price(leg_id, "-1")
    with pytest.raises(KeyError, match="nope"):
        draft.toggle_leg("nope")
    with pytest.raises(TypeError, match="floats are refused"):
        draft.set_quantity(leg_id, 1.5)

    assert draft.rev == 1
    assert draft.leg(leg_id).quantity == 1


def test_draft_commit_with_legs_leaves_draft_editable_and_version_frozen():
    draft = TradeDraft("d")
    leg_id = draft.add_leg(_call("100"), quantity=1, entry_price="2")
    version = draft.commit()

    draft.set_quantity(leg_id, 5)

    assert version.legs[0].quantity == 1
    with pytest.raises(AttributeError):
        version.name = "x"  # type: ignore[misc]
    assert draft.commit().trade_hash != version.trade_hash


def test_draft_commit_with_no_legs_raises():
    with pytest.raises(ValueError, match="no legs"):
        TradeDraft("empty").commit()


def test_trade_version_with_json_round_trip_is_identical():
    version = TradeVersion("round trip", tuple(_legs()))

    payload = version.to_json_dict()
    again = TradeVersion.from_json_dict(payload)

    assert again == version
    assert again.trade_hash == version.trade_hash
    assert again.to_json_dict() == payload
    assert canonical_json(payload) == canonical_json(again.to_json_dict())
    assert payload["legs"][0]["quantity"].__class__ is str


def test_trade_version_from_json_with_tampered_leg_raises():
    payload = TradeVersion("t", tuple(_legs())).to_json_dict()
    payload["legs"][0]["quantity"] = "7"

    with pytest.raises(ValueError, match="does not match"):
        TradeVersion.from_json_dict(payload)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"quantity": Decimal(0)}, "non-zero"),
        ({"entry_price": Decimal("-0.01")}, "entry_price"),
        ({"fees": Decimal("-1")}, "fees"),
        ({"quantity": Decimal("NaN")}, "finite"),
    ],
)
def test_leg_with_invalid_field_raises_naming_it(kwargs, message):
    fields = {"instrument": _call("100"), "quantity": Decimal(1), "entry_price": Decimal(1)}
    fields.update(kwargs)

    with pytest.raises(ValueError, match=message):
        Leg(**fields)


def test_leg_entry_cost_with_short_option_is_a_credit_times_multiplier():
    short = Leg(_call("110"), Decimal(-2), Decimal("1.50"))
    stock = Leg(Stock("SPY"), Decimal(10), Decimal("100.25"))

    assert short.entry_cost == Decimal("-300.00")
    assert stock.entry_cost == Decimal("1002.50")
    assert short.label == "-2 SPY:20250221:110:C @ 1.5"


def test_draft_from_version_with_fresh_ids_commits_to_same_hash():
    version = TradeVersion("t", tuple(_legs()))

    draft = TradeDraft.from_version(version)

    assert draft.rev == 0
    assert all(isinstance(x, DraftLeg) for x in draft.legs)
    assert draft.commit().trade_hash == version.trade_hash
    assert draft.underlyings == ("SPY",)


def test_draft_with_duplicate_leg_id_raises():
    leg = _legs()[0]
    with pytest.raises(ValueError, match="duplicate leg_id"):
        TradeDraft("d", legs=[DraftLeg("x", leg), DraftLeg("x", leg)])
    draft = TradeDraft("d")
    draft.add_leg(leg.instrument, quantity=1, entry_price=1, leg_id="x")
    with pytest.raises(ValueError, match="already has a leg"):
        draft.add_leg(leg.instrument, quantity=1, entry_price=1, leg_id="x")
    assert draft.rev == 1
