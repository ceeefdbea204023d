"""Short-squeeze tiers: every band edge, the worse of two measures, statuses, the generator."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from riskdesk.risk.squeeze import (
    SqueezeTier,
    borrow_tier,
    days_to_cover_tier,
    short_shares,
    squeeze_tier,
    synthesize_short_metrics,
)

D = Decimal


@pytest.mark.parametrize(
    ("rate", "tier"),
    [
        ("0", SqueezeTier.LOW),
        ("0.0499999", SqueezeTier.LOW),
        ("0.05", SqueezeTier.MODERATE),
        ("0.1999999", SqueezeTier.MODERATE),
        ("0.20", SqueezeTier.HIGH),
        ("0.4999999", SqueezeTier.HIGH),
        ("0.50", SqueezeTier.EXTREME),
        ("3", SqueezeTier.EXTREME),
    ],
)
def test_borrow_tier_with_rates_at_each_band_edge_gives_the_band(
    rate: str, tier: SqueezeTier
) -> None:
    assert borrow_tier(D(rate)) is tier


@pytest.mark.parametrize(
    ("days", "tier"),
    [
        ("0", SqueezeTier.LOW),
        ("1.99", SqueezeTier.LOW),
        ("2", SqueezeTier.MODERATE),
        ("4.99", SqueezeTier.MODERATE),
        ("5", SqueezeTier.HIGH),
        ("9.99", SqueezeTier.HIGH),
        ("10", SqueezeTier.EXTREME),
        ("40", SqueezeTier.EXTREME),
    ],
)
def test_days_to_cover_tier_with_values_at_each_band_edge_gives_the_band(
    days: str, tier: SqueezeTier
) -> None:
    assert days_to_cover_tier(D(days)) is tier


@pytest.mark.parametrize(
    ("rate", "days", "label"),
    [
        ("0.01", "1", "low"),
        ("0.01", "5", "high"),
        ("0.60", "1", "extreme"),
        ("0.05", "9.99", "high"),
        ("0.20", "2", "high"),
    ],
)
def test_squeeze_tier_with_both_measures_takes_the_worse(rate: str, days: str, label: str) -> None:
    tier, status = squeeze_tier(D(rate), D(days))
    assert tier is not None
    assert tier.label == label
    assert status == "ok"


def test_squeeze_tier_with_one_measure_is_partial_and_with_none_missing() -> None:
    assert squeeze_tier(None, D("10")) == (SqueezeTier.EXTREME, "partial")
    assert squeeze_tier(D("0.05"), None) == (SqueezeTier.MODERATE, "partial")
    assert squeeze_tier(None, None) == (None, "missing")


def test_squeeze_tier_with_a_negative_measure_raises() -> None:
    with pytest.raises(ValueError, match="days_to_cover must be a finite number >= 0"):
        squeeze_tier(D("0.01"), D("-1"))


@pytest.mark.parametrize(
    ("kind", "quantity", "shares"),
    [
        ("SHORT", "-300", D(300)),
        ("SC", "-2", D(200)),
        ("LP", "3", None),
        ("SP", "-3", None),
        ("LONG", "100", None),
        ("LC", "1", None),
    ],
)
def test_short_shares_with_each_position_type_counts_only_short_equity(
    kind: str, quantity: str, shares: Decimal | None
) -> None:
    assert short_shares(kind, D(quantity), 100) == shares


def test_synthesize_short_metrics_with_the_same_seed_is_deterministic_per_symbol() -> None:
    days = [date(2026, 11, 18), date(2026, 11, 19), date(2026, 11, 20)]
    one = synthesize_short_metrics(["AAPL"], days, seed=3)
    two = synthesize_short_metrics(["TSLA", "AAPL"], days, seed=3)
    assert [m for m in two if m.ticker == "AAPL"] == one
    assert len(two) == 6
    assert all(
        m.cost_to_borrow_rate is not None
        and m.cost_to_borrow_rate >= 0
        and m.days_to_cover is not None
        and m.days_to_cover > 0
        for m in two
    )
    assert synthesize_short_metrics(["AAPL"], days, seed=4) != one


def test_synthesize_short_metrics_with_many_symbols_reaches_several_tiers() -> None:
    names = [f"S{i}" for i in range(40)]
    metrics = synthesize_short_metrics(names, [date(2026, 11, 20)], seed=1)
    tiers = {squeeze_tier(m.cost_to_borrow_rate, m.days_to_cover)[0] for m in metrics}
    assert SqueezeTier.LOW in tiers
    assert len(tiers) >= 3
