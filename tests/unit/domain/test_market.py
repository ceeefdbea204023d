"""MarketSnapshot, quotes and overrides refuse what the store would refuse or round."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from riskdesk.domain.instruments import ExerciseStyle, OptionContract, OptionRight, Settlement
from riskdesk.domain.market import (
    MAX_COUNT,
    MAX_MULTIPLIER,
    DiscreteDividend,
    MarketOverrides,
    MarketSnapshot,
    OptionQuote,
    SnapshotMode,
    UnderlyingQuote,
    contract_identity,
)

AS_OF = datetime(2024, 6, 3, 19, 45, tzinfo=UTC)


def _contract(**fields: Any) -> OptionContract:
    base: dict[str, Any] = {
        "underlying": "SPY",
        "expiry": date(2024, 6, 21),
        "strike": Decimal(530),
        "right": OptionRight.CALL,
    }
    base.update(fields)
    return OptionContract(**base)


def _quote(contract: OptionContract | None = None, **fields: Any) -> OptionQuote:
    base: dict[str, Any] = {
        "contract": contract if contract is not None else _contract(),
        "bid": Decimal("2.10"),
        "ask": Decimal("2.14"),
        "mark": None,
        "iv": 0.2,
        "provider_timestamp": AS_OF,
        "receive_timestamp": AS_OF,
    }
    base.update(fields)
    return OptionQuote(**base)


def _underlying(symbol: str = "SPY", **fields: Any) -> UnderlyingQuote:
    base: dict[str, Any] = {
        "symbol": symbol,
        "spot": Decimal("530.00"),
        "bid": None,
        "ask": None,
        "last": None,
        "provider_timestamp": AS_OF,
        "receive_timestamp": AS_OF,
    }
    base.update(fields)
    return UnderlyingQuote(**base)


def _snapshot(
    options: tuple[OptionQuote, ...], underlyings: tuple[UnderlyingQuote, ...] = ()
) -> MarketSnapshot:
    return MarketSnapshot(
        as_of=AS_OF,
        mode=SnapshotMode.PINNED,
        source="test",
        underlyings=underlyings or (_underlying(),),
        options=options,
    )


def test_market_snapshot_with_duplicate_option_contract_raises_naming_contract() -> None:
    first = _quote(_contract(strike=Decimal(530)))
    again = _quote(_contract(strike=Decimal("530.00")), bid=Decimal("2.00"))

    with pytest.raises(ValueError, match=r"duplicate option quote .*SPY:20240621:530:C"):
        _snapshot((first, again))


def test_market_snapshot_with_same_key_in_two_styles_keeps_both_and_finds_each() -> None:
    american = _quote(_contract(style=ExerciseStyle.AMERICAN), bid=Decimal("2.10"))
    european = _quote(_contract(style=ExerciseStyle.EUROPEAN), bid=Decimal("2.05"))

    snapshot = _snapshot((american, european))

    assert snapshot.option_quote(_contract(style=ExerciseStyle.EUROPEAN)) is european
    assert snapshot.option_quote(_contract(style=ExerciseStyle.AMERICAN)) is american
    unknown = snapshot.option_quote(_contract(style=ExerciseStyle.UNKNOWN))
    assert unknown is american  # same key, no exact listing: the first quote of the key


def test_market_snapshot_with_options_in_any_order_has_one_hash() -> None:
    quotes = tuple(
        _quote(_contract(strike=Decimal(k), right=r, style=s))
        for k in (520, 530)
        for r in OptionRight
        for s in (ExerciseStyle.AMERICAN, ExerciseStyle.EUROPEAN)
    )

    hashes = {
        _snapshot(order).snapshot_hash
        for order in (quotes, quotes[::-1], quotes[1::2] + quotes[::2])
    }

    assert len(hashes) == 1


def test_market_snapshot_with_duplicate_underlying_raises_naming_symbol() -> None:
    with pytest.raises(ValueError, match="duplicate underlying quote in snapshot for 'QQQ'"):
        _snapshot((_quote(),), (_underlying("SPY"), _underlying("QQQ"), _underlying("QQQ")))


def test_contract_identity_with_every_field_tells_contracts_apart() -> None:
    base = _contract()
    variants = [
        _contract(underlying="QQQ"),
        _contract(expiry=date(2024, 6, 28)),
        _contract(strike=Decimal("530.5")),
        _contract(right=OptionRight.PUT),
        _contract(settlement=Settlement.AM),
        _contract(multiplier=10),
        _contract(style=ExerciseStyle.EUROPEAN),
        _contract(currency="EUR"),
    ]

    identities = {contract_identity(c) for c in [base, *variants]}

    assert len(identities) == 1 + len(variants)
    assert contract_identity(_contract(strike=Decimal("530.000"))) == contract_identity(base)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"bid": Decimal("1e20")}, r"SPY:20240621:530:C\.bid .* too large"),
        ({"ask": Decimal("1234567890123456789012345678901234")}, r"\.ask .* too large"),
        ({"mark": Decimal("2.123456789")}, r"\.mark 2\.123456789 has 9 decimal places"),
        ({"bid": Decimal("1e-9")}, r"\.bid 0\.000000001 has 9 decimal places"),
        ({"bid": Decimal("NaN")}, r"\.bid must be finite"),
        ({"bid": Decimal("1e-999999999")}, r"\.bid 1E-999999999 is out of range"),
        ({"ask": Decimal("1e999999999")}, r"\.ask 1E\+999999999 is out of range"),
        ({"bid": 2.1}, r"\.bid must be a Decimal"),
        ({"iv": math.inf}, r"\.iv must be finite"),
        ({"iv": math.nan}, r"\.iv must be finite"),
        ({"volume": MAX_COUNT + 1}, r"\.volume = 9223372036854775808 is out of range"),
        ({"volume": -1}, r"\.volume = -1 is out of range"),
        ({"open_interest": 10**30}, r"\.open_interest = 1000000000000000000000000000000 is"),
        ({"open_interest": 1.5}, r"\.open_interest must be a whole number"),
        ({"volume": True}, r"\.volume must be a whole number"),
    ],
)
def test_option_quote_with_value_the_store_cannot_hold_raises_naming_field(
    fields: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        _quote(**fields)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"strike": Decimal("99999999999999")}, r"strike .* too large"),
        ({"strike": Decimal("530.123456789")}, r"strike .* 9 decimal places"),
        ({"multiplier": MAX_MULTIPLIER + 1}, r"multiplier must be a whole number in .*2147483648"),
        ({"multiplier": 10**20}, r"multiplier must be a whole number in .*100000000000000000000"),
        ({"multiplier": True}, r"multiplier must be a whole number"),
    ],
)
def test_option_contract_the_store_cannot_hold_is_refused_before_any_quote(
    fields: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        _contract(**fields)


def test_option_quote_with_values_at_storage_limits_accepts_them() -> None:
    top = Decimal("999999999999.99999999")  # NUMERIC(20, 8): 12 + 8 digits
    quote = _quote(
        _contract(strike=top, multiplier=MAX_MULTIPLIER),
        bid=Decimal("0.00000001"),
        ask=top,
        volume=MAX_COUNT,
        open_interest=0,
    )

    assert (quote.contract.strike, quote.ask, quote.volume) == (top, top, 2**63 - 1)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"spot": Decimal("1e20")}, r"SPY\.spot .* too large"),
        ({"spot": Decimal("1e-9")}, r"SPY\.spot 0\.000000001 has 9 decimal places"),
        ({"last": Decimal("530.000000001")}, r"SPY\.last .* 9 decimal places"),
        ({"bid": Decimal("Infinity")}, r"SPY\.bid must be finite"),
    ],
)
def test_underlying_quote_with_value_the_store_cannot_hold_raises(
    fields: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        _underlying(**fields)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"rate": math.nan}, r"^rate must be finite, got nan"),
        ({"rate": math.inf}, r"^rate must be finite, got inf"),
        ({"rate": 1e308}, r"^rate = 1e\+308 is out of range: it must be within \[-1, 1\]"),
        ({"rate": 10**400}, r"^rate must be finite"),
        ({"rate": "0.05"}, r"^rate must be a number, got str"),
        ({"borrow_rate": {"SPY": math.inf}}, r"^borrow_rate\[SPY\] must be finite, got inf"),
        ({"borrow_rate": {"SPY": -1.5}}, r"^borrow_rate\[SPY\] = -1\.5 is out of range"),
        ({"dividend_yield": {"AAPL": math.nan}}, r"^dividend_yield\[AAPL\] must be finite"),
        ({"dividend_yield": {"AAPL": 2.0}}, r"^dividend_yield\[AAPL\] = 2 is out of range"),
    ],
)
def test_market_overrides_with_bad_rate_raises_naming_field(
    fields: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        MarketOverrides(**fields)


def test_market_overrides_with_rates_at_limits_accepts_them() -> None:
    overrides = MarketOverrides(
        rate=-1, dividend_yield={"SPY": 1.0}, borrow_rate={"SPY": -1.0, "GME": 0.35}
    )

    assert (overrides.rate, overrides.carry_yield("SPY"), overrides.carry_yield("GME")) == (
        -1.0,
        0.0,
        0.35,
    )
    assert isinstance(overrides.rate, float)


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        (Decimal("-0.24"), r"dividend 2024-08-09\.amount must be >= 0"),
        (Decimal("0.240000001"), r"dividend 2024-08-09\.amount .* 9 decimal places"),
        (Decimal("1e12"), r"dividend 2024-08-09\.amount .* too large"),
    ],
)
def test_discrete_dividend_with_amount_the_store_cannot_hold_raises(
    amount: Decimal, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        DiscreteDividend(ex_date=date(2024, 8, 9), amount=amount)
