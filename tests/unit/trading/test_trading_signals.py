"""Signals: legs and validation, status changes, templates, strike selection and metrics.

Selections and metrics are checked against values computed here independently: a
closed-form Black-Scholes delta, quote mids, and the textbook payoff formulas of each
strategy (credit, debit, widths).
"""

from __future__ import annotations

import dataclasses
import math
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from riskdesk.adapters.simulated import generate_market
from riskdesk.domain.instruments import OptionContract, OptionRight
from riskdesk.domain.market import MarketSnapshot, OptionQuote
from riskdesk.trading.model import Side
from riskdesk.trading.signals import (
    TEMPLATES,
    ByDelta,
    ByOffset,
    Direction,
    SignalDraft,
    SignalError,
    SignalLeg,
    SignalStatus,
    SignalTransitionError,
    build_signal,
    signal_metrics,
    transition,
)

AT = datetime(2025, 3, 4, 15, 0, tzinfo=UTC)
EXPIRY = date(2025, 3, 14)
LATER = AT + timedelta(hours=1)
PUT, CALL = OptionRight.PUT, OptionRight.CALL
BUY, SELL = Side.BUY, Side.SELL


@pytest.fixture(scope="module")
def snap() -> MarketSnapshot:
    return generate_market(seed=11, as_of=AT, symbols=["SPY"], max_expiry_days=10)


def _build(
    snapshot: MarketSnapshot, template: str, selection: ByDelta | ByOffset, **kw: Any
) -> SignalDraft:
    return build_signal(
        template,
        snapshot,
        symbol="SPY",
        expiry=EXPIRY,
        selection=selection,
        confidence=Decimal("0.7"),
        generated_at=AT,
        expires_at=LATER,
        **kw,
    )


def _listed(snapshot: MarketSnapshot, right: OptionRight) -> list[OptionQuote]:
    return [
        q
        for q in snapshot.options
        if q.contract.expiry == EXPIRY
        and q.contract.right is right
        and q.contract.underlying == "SPY"
    ]


def _mid(snapshot: MarketSnapshot, right: OptionRight, strike: Decimal) -> Decimal:
    (quote,) = [q for q in _listed(snapshot, right) if q.contract.strike == strike]
    assert quote.bid is not None
    assert quote.ask is not None
    return (quote.bid + quote.ask) / 2


def _shape(signal: SignalDraft) -> list[tuple[Side, OptionRight]]:
    return [(leg.action, leg.contract.right) for leg in signal.legs]


def _strikes(signal: SignalDraft) -> list[Decimal]:
    return [leg.contract.strike for leg in signal.legs]


def _bs_abs_delta(snapshot: MarketSnapshot, quote: OptionQuote) -> float:
    """Closed-form Black-Scholes-Merton |delta| with continuous carry (independent of riskdesk)."""
    close = datetime(EXPIRY.year, EXPIRY.month, EXPIRY.day, 16, tzinfo=ZoneInfo("America/New_York"))
    t = (close - snapshot.as_of).total_seconds() / (365.0 * 86400.0)
    s = float(snapshot.underlying("SPY").spot)
    k = float(quote.contract.strike)
    r = snapshot.overrides.rate
    q = snapshot.overrides.dividend_yield.get("SPY", 0.0)
    assert quote.iv is not None
    sd = quote.iv * math.sqrt(t)
    d1 = (math.log(s / k) + (r - q) * t) / sd + sd / 2
    n_d1 = 0.5 * (1.0 + math.erf(d1 / math.sqrt(2.0)))
    delta = math.exp(-q * t) * (n_d1 if quote.contract.right is CALL else n_d1 - 1.0)
    return abs(delta)


def _nearest_by_delta(snapshot: MarketSnapshot, right: OptionRight, target: float) -> Decimal:
    quotes = [q for q in _listed(snapshot, right) if q.iv is not None]
    best = min(quotes, key=lambda q: abs(_bs_abs_delta(snapshot, q) - target))
    return best.contract.strike


# --------------------------------------------------------------------------------------------
# templates: leg structure
# --------------------------------------------------------------------------------------------
def test_templates_with_all_names_are_registered_with_natural_directions() -> None:
    assert set(TEMPLATES) == {
        "iron_condor",
        "iron_butterfly",
        "bull_call_spread",
        "bear_put_spread",
        "straddle",
        "strangle",
    }
    assert TEMPLATES["bull_call_spread"].direction is Direction.BULLISH
    assert TEMPLATES["bear_put_spread"].direction is Direction.BEARISH
    assert TEMPLATES["iron_condor"].direction is Direction.NEUTRAL


def test_iron_condor_with_offsets_is_short_with_equal_wings_and_exact_metrics(
    snap: MarketSnapshot,
) -> None:
    signal = _build(snap, "iron_condor", ByOffset(offset=Decimal(8), width=Decimal(5)))
    assert _shape(signal) == [(BUY, PUT), (SELL, PUT), (SELL, CALL), (BUY, CALL)]
    lp, sp, sc, lc = _strikes(signal)
    assert lp < sp < sc < lc
    assert sp - lp == lc - sc == Decimal(5)
    assert signal.direction is Direction.NEUTRAL
    assert signal.strategy_type == "iron_condor"
    credit = _mid(snap, PUT, sp) + _mid(snap, CALL, sc) - _mid(snap, PUT, lp) - _mid(snap, CALL, lc)
    assert credit > 0
    metrics = signal.metrics
    assert metrics is not None
    assert metrics.net_premium == -credit
    assert metrics.max_profit == credit * 100
    assert metrics.max_loss == (Decimal(5) - credit) * 100
    assert metrics.breakevens == (sp - credit, sc + credit)
    assert metrics.probability_of_profit is not None
    assert 0 < metrics.probability_of_profit < 1
    assert [leg.estimated_price for leg in signal.legs] == [
        _mid(snap, PUT, lp),
        _mid(snap, PUT, sp),
        _mid(snap, CALL, sc),
        _mid(snap, CALL, lc),
    ]


def test_iron_condor_with_short_false_is_the_debit_version(snap: MarketSnapshot) -> None:
    signal = _build(snap, "iron_condor", ByOffset(Decimal(8), Decimal(5)), short=False)
    assert _shape(signal) == [(SELL, PUT), (BUY, PUT), (BUY, CALL), (SELL, CALL)]
    assert signal.metrics is not None
    assert signal.metrics.net_premium > 0


def test_iron_butterfly_with_offsets_sells_the_atm_body_between_equal_wings(
    snap: MarketSnapshot,
) -> None:
    signal = _build(snap, "iron_butterfly", ByOffset(offset=Decimal(0), width=Decimal(5)))
    assert _shape(signal) == [(BUY, PUT), (SELL, PUT), (SELL, CALL), (BUY, CALL)]
    lp, body_put, body_call, lc = _strikes(signal)
    spot = snap.underlying("SPY").spot
    listed = {q.contract.strike for q in _listed(snap, CALL)}
    assert body_put == body_call == min(listed, key=lambda k: (abs(k - spot), k))
    assert body_put - lp == lc - body_call == Decimal(5)
    credit = (
        _mid(snap, PUT, body_put)
        + _mid(snap, CALL, body_call)
        - _mid(snap, PUT, lp)
        - _mid(snap, CALL, lc)
    )
    metrics = signal.metrics
    assert metrics is not None
    assert metrics.max_profit == credit * 100
    assert metrics.max_loss == (Decimal(5) - credit) * 100
    assert metrics.breakevens == (body_put - credit, body_call + credit)


def test_bull_call_spread_with_offsets_has_debit_metrics(snap: MarketSnapshot) -> None:
    signal = _build(snap, "bull_call_spread", ByOffset(offset=Decimal(0), width=Decimal(10)))
    assert _shape(signal) == [(BUY, CALL), (SELL, CALL)]
    long_k, short_k = _strikes(signal)
    assert short_k - long_k == Decimal(10)
    debit = _mid(snap, CALL, long_k) - _mid(snap, CALL, short_k)
    metrics = signal.metrics
    assert metrics is not None
    assert signal.direction is Direction.BULLISH
    assert metrics.net_premium == debit
    assert metrics.breakevens == (long_k + debit,)
    assert metrics.max_loss == debit * 100
    assert metrics.max_profit == (Decimal(10) - debit) * 100
    assert metrics.probability_of_profit is not None
    assert 0 < metrics.probability_of_profit < 1


def test_bear_put_spread_with_offsets_buys_the_higher_put(snap: MarketSnapshot) -> None:
    signal = _build(snap, "bear_put_spread", ByOffset(offset=Decimal(2), width=Decimal(5)))
    assert _shape(signal) == [(BUY, PUT), (SELL, PUT)]
    long_k, short_k = _strikes(signal)
    assert long_k - short_k == Decimal(5)
    debit = _mid(snap, PUT, long_k) - _mid(snap, PUT, short_k)
    metrics = signal.metrics
    assert metrics is not None
    assert signal.direction is Direction.BEARISH
    assert metrics.breakevens == (long_k - debit,)
    assert metrics.max_loss == debit * 100


def test_straddle_with_default_is_long_atm_with_unlimited_profit(snap: MarketSnapshot) -> None:
    signal = _build(snap, "straddle", ByDelta(), quantity=2)
    assert _shape(signal) == [(BUY, CALL), (BUY, PUT)]
    k_call, k_put = _strikes(signal)
    assert k_call == k_put
    debit = _mid(snap, CALL, k_call) + _mid(snap, PUT, k_put)
    metrics = signal.metrics
    assert metrics is not None
    assert metrics.max_profit is None
    assert metrics.max_loss == debit * 100 * 2  # two contracts a leg
    assert metrics.net_premium == 2 * debit
    assert metrics.breakevens == (k_put - debit, k_call + debit)
    assert all(leg.quantity == 2 for leg in signal.legs)


def test_straddle_with_short_true_has_unlimited_loss(snap: MarketSnapshot) -> None:
    signal = _build(snap, "straddle", ByDelta(), short=True, direction=Direction.BEARISH)
    assert _shape(signal) == [(SELL, CALL), (SELL, PUT)]
    k = signal.legs[0].contract.strike
    credit = _mid(snap, CALL, k) + _mid(snap, PUT, k)
    assert signal.direction is Direction.BEARISH
    assert signal.metrics is not None
    assert signal.metrics.max_loss is None
    assert signal.metrics.max_profit == credit * 100


def test_strangle_with_tied_offsets_snaps_each_side_farther_out(snap: MarketSnapshot) -> None:
    # spot moved exactly half way between two listed strikes (587.5 and 590)
    (und,) = snap.underlyings
    moved = dataclasses.replace(
        snap, underlyings=(dataclasses.replace(und, spot=Decimal("588.75")),)
    )
    strangle = _build(moved, "strangle", ByOffset(offset=Decimal(0), width=Decimal(1)))
    assert _shape(strangle) == [(BUY, PUT), (BUY, CALL)]
    assert _strikes(strangle) == [Decimal("587.5"), Decimal("590")]
    straddle = _build(moved, "straddle", ByOffset(offset=Decimal(0), width=Decimal(1)))
    assert _strikes(straddle) == [Decimal("587.5"), Decimal("587.5")]  # ATM tie: the lower


# --------------------------------------------------------------------------------------------
# selection
# --------------------------------------------------------------------------------------------
def test_by_delta_with_condor_picks_strikes_nearest_the_target_deltas(snap: MarketSnapshot) -> None:
    signal = _build(snap, "iron_condor", ByDelta(Decimal("0.20"), Decimal("0.05")))
    lp, sp, sc, lc = _strikes(signal)
    assert sp == _nearest_by_delta(snap, PUT, 0.20)
    assert sc == _nearest_by_delta(snap, CALL, 0.20)
    assert lp == _nearest_by_delta(snap, PUT, 0.05)
    assert lc == _nearest_by_delta(snap, CALL, 0.05)
    assert lp < sp < sc < lc
    metrics = signal.metrics
    assert metrics is not None
    assert metrics.max_profit is not None
    assert metrics.max_loss is not None
    credit = -metrics.net_premium
    assert metrics.max_profit == credit * 100
    assert metrics.max_loss == (max(sp - lp, lc - sc) - credit) * 100


def test_by_delta_with_strangle_and_spread_uses_short_delta(snap: MarketSnapshot) -> None:
    strangle = _build(snap, "strangle", ByDelta(short_delta=Decimal("0.30"), wing_delta=None))
    assert _strikes(strangle) == [
        _nearest_by_delta(snap, PUT, 0.30),
        _nearest_by_delta(snap, CALL, 0.30),
    ]
    spread = _build(snap, "bull_call_spread", ByDelta(short_delta=Decimal("0.25")))
    assert spread.legs[1].contract.strike == _nearest_by_delta(snap, CALL, 0.25)


def test_by_offset_with_any_offset_snaps_to_listed_strikes(snap: MarketSnapshot) -> None:
    spot = snap.underlying("SPY").spot
    signal = _build(snap, "iron_condor", ByOffset(offset=Decimal("6.3"), width=Decimal("3.7")))
    lp, sp, sc, lc = _strikes(signal)
    puts = [q.contract.strike for q in _listed(snap, PUT)]
    calls = [q.contract.strike for q in _listed(snap, CALL)]
    for strike, target, listed in (
        (sp, spot - Decimal("6.3"), puts),
        (sc, spot + Decimal("6.3"), calls),
        (lp, sp - Decimal("3.7"), puts),
        (lc, sc + Decimal("3.7"), calls),
    ):
        assert strike in listed
        assert abs(strike - target) == min(abs(k - target) for k in listed)


# --------------------------------------------------------------------------------------------
# errors
# --------------------------------------------------------------------------------------------
def test_build_signal_with_unknown_template_symbol_or_expiry_raises(snap: MarketSnapshot) -> None:
    with pytest.raises(SignalError, match=r"unknown signal template 'butterfly'.*iron_condor"):
        _build(snap, "butterfly", ByDelta())
    with pytest.raises(SignalError, match=r"'QQQ' is not in the snapshot.*SPY"):
        build_signal(
            "straddle",
            snap,
            symbol="QQQ",
            expiry=EXPIRY,
            selection=ByDelta(),
            confidence=Decimal(1),
            generated_at=AT,
            expires_at=LATER,
        )
    with pytest.raises(SignalError, match=r"2025-03-12 is not listed.*2025-03-07, 2025-03-10"):
        build_signal(
            "straddle",
            snap,
            symbol="SPY",
            expiry=date(2025, 3, 12),
            selection=ByDelta(),
            confidence=Decimal(1),
            generated_at=AT,
            expires_at=LATER,
        )


def test_build_signal_with_collapsing_wings_or_bad_flags_raises(snap: MarketSnapshot) -> None:
    with pytest.raises(SignalError, match="collapse onto the short strikes"):
        _build(snap, "iron_condor", ByOffset(offset=Decimal(1000), width=Decimal(5)))
    with pytest.raises(SignalError, match="needs wings"):
        _build(snap, "iron_butterfly", ByDelta(wing_delta=None))
    with pytest.raises(SignalError, match="takes no short flag"):
        _build(snap, "bull_call_spread", ByDelta(), short=True)
    with pytest.raises(SignalError, match="wing_delta"):
        ByDelta(short_delta=Decimal("0.1"), wing_delta=Decimal("0.2"))
    with pytest.raises(SignalError, match="short_delta"):
        ByDelta(short_delta=Decimal("1.5"))
    with pytest.raises(SignalError, match="width must be > 0"):
        ByOffset(offset=Decimal(1), width=Decimal(0))


def test_build_signal_with_unquoted_leg_names_the_contract(snap: MarketSnapshot) -> None:
    k = Decimal(590)  # the ATM strike of the straddle

    def strip(q: OptionQuote, **change: Any) -> OptionQuote:
        hit = q.contract.expiry == EXPIRY and q.contract.strike == k and q.contract.right is CALL
        return dataclasses.replace(q, **change) if hit else q

    dead = dataclasses.replace(
        snap, options=tuple(strip(q, bid=None, ask=None, mark=None) for q in snap.options)
    )
    with pytest.raises(SignalError, match="SPY:20250314:590:C has no usable quote"):
        _build(dead, "straddle", ByDelta())
    one_sided = dataclasses.replace(
        snap, options=tuple(strip(q, bid=None, mark=Decimal("4.50")) for q in snap.options)
    )
    signal = _build(one_sided, "straddle", ByDelta())
    assert signal.legs[0].estimated_price == Decimal("4.50")


def test_build_signal_with_invalid_confidence_or_times_raises(snap: MarketSnapshot) -> None:
    kwargs: dict[str, Any] = {
        "symbol": "SPY",
        "expiry": EXPIRY,
        "selection": ByDelta(),
        "generated_at": AT,
        "expires_at": LATER,
    }
    for bad in (Decimal("1.01"), Decimal("-0.1"), Decimal("NaN"), Decimal("Infinity"), 0.5):
        with pytest.raises(ValueError, match="confidence"):
            build_signal("straddle", snap, confidence=bad, **kwargs)  # type: ignore[arg-type]
    kwargs["expires_at"] = AT
    with pytest.raises(ValueError, match=r"expires_at .* must be after generated_at"):
        build_signal("straddle", snap, confidence=Decimal("0.5"), **kwargs)
    kwargs["expires_at"] = datetime(2025, 3, 4, 16)  # naive on purpose
    with pytest.raises(ValueError, match="timezone-aware"):
        build_signal("straddle", snap, confidence=Decimal("0.5"), **kwargs)


# --------------------------------------------------------------------------------------------
# signals by hand
# --------------------------------------------------------------------------------------------
def _contract(strike: int, right: OptionRight) -> OptionContract:
    return OptionContract("SPY", EXPIRY, Decimal(strike), right)


def test_signal_draft_by_hand_with_metrics_prices_legs_at_quote_mids(snap: MarketSnapshot) -> None:
    legs = (
        SignalLeg(BUY, _contract(590, CALL), 1),
        SignalLeg(SELL, _contract(600, CALL), 1),
    )
    metrics = signal_metrics(legs, snap)
    debit = _mid(snap, CALL, Decimal(590)) - _mid(snap, CALL, Decimal(600))
    assert metrics.net_premium == debit
    assert metrics.breakevens == (Decimal(590) + debit,)
    draft = SignalDraft(
        symbol="SPY",
        direction=Direction("bullish"),
        strategy_type="custom",
        confidence=Decimal(0),
        generated_at=AT,
        expires_at=LATER,
        underlying_price=Decimal("589.14"),
        legs=legs,
        metrics=metrics,
    )
    assert draft.legs[0].occ_symbol == "SPY   250314C00590000"


def test_signal_draft_with_bad_legs_or_fields_raises() -> None:
    leg = SignalLeg(BUY, _contract(590, CALL), 1, Decimal("4.60"))
    base: dict[str, Any] = {
        "symbol": "SPY",
        "direction": Direction.NEUTRAL,
        "strategy_type": "custom",
        "confidence": Decimal("0.5"),
        "generated_at": AT,
        "expires_at": LATER,
        "underlying_price": Decimal(590),
        "legs": (leg,),
    }
    cases: list[tuple[dict[str, Any], str]] = [
        ({"legs": ()}, "at least one leg"),
        ({"legs": (leg, leg)}, "appears twice"),
        ({"symbol": "QQQ"}, "not on the signal's symbol"),
        ({"direction": "sideways"}, "direction must be one of"),
        ({"underlying_price": Decimal(0)}, "underlying_price must be > 0"),
        ({"strategy_type": " "}, "strategy_type must be a non-empty"),
    ]
    for change, message in cases:
        with pytest.raises(ValueError, match=message):
            SignalDraft(**{**base, **change})
    with pytest.raises(ValueError, match=r"quantity .* must be a whole number >= 1"):
        SignalLeg(BUY, _contract(590, CALL), 0)
    with pytest.raises(ValueError, match=r"estimated_price .* must be >= 0"):
        SignalLeg(SELL, _contract(590, CALL), 1, Decimal("-1"))


# --------------------------------------------------------------------------------------------
# status
# --------------------------------------------------------------------------------------------
def test_transition_with_active_signal_allows_only_final_statuses() -> None:
    for target in ("executed", "expired", "cancelled"):
        assert transition(SignalStatus.ACTIVE, target) is SignalStatus(target)
        assert SignalStatus(target).final
    assert not SignalStatus.ACTIVE.final


def test_transition_with_final_or_unknown_status_raises() -> None:
    with pytest.raises(SignalTransitionError, match="from executed to cancelled"):
        transition(SignalStatus.EXECUTED, SignalStatus.CANCELLED)
    with pytest.raises(SignalTransitionError, match="from active to active"):
        transition("active", "active")
    with pytest.raises(SignalTransitionError, match="must be one of active"):
        transition("active", "filled")
