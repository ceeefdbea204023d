"""Historical VaR prices each contract once per scenario: same P&L as position by position."""

from datetime import UTC, date, datetime
from decimal import Decimal

import numpy as np
import pytest

from riskdesk.domain.instruments import ExerciseStyle, OptionContract, OptionRight, Stock
from riskdesk.risk.marks import Marks, value_book
from riskdesk.risk.positions import BookPosition
from riskdesk.risk.var import VOL_HELD, VolRule, historical_var

WHEN = datetime(2026, 11, 20, 21, 0, tzinfo=UTC)
ENTRY = date(2026, 9, 1)
NAMES = ("AAA", "BBB", "SPX")


def _option(
    underlying: str, right: OptionRight, strike: str, qty: str, expiry: date
) -> BookPosition:
    style = ExerciseStyle.EUROPEAN if underlying == "SPX" else ExerciseStyle.AMERICAN
    contract = OptionContract(
        underlying=underlying, expiry=expiry, strike=Decimal(strike), right=right, style=style
    )
    symbol = f"{underlying} {expiry:%y%m%d}{right.value}{strike}"
    return BookPosition(symbol, contract, Decimal(qty), Decimal("1"), ENTRY)


def _book() -> list[BookPosition]:
    call, put = OptionRight.CALL, OptionRight.PUT
    jan, mar = date(2027, 1, 15), date(2027, 3, 19)
    return [
        _option("AAA", call, "100", "3", jan),
        BookPosition("AAA", Stock("AAA"), Decimal(200), Decimal(90), ENTRY),
        _option("AAA", call, "100", "-5", jan),  # shares row 0's contract
        _option("AAA", put, "90", "2", mar),
        _option("BBB", put, "50", "-4", jan),
        _option("SPX", call, "6000", "1", jan),
        _option("SPX", call, "6000", "-2", jan),  # shares row 5's contract
        _option("AAA", put, "90", "1", mar),  # shares row 3's contract
        _option("ZZZ", call, "10", "1", jan),  # no spot: excluded
        BookPosition("QQQ", Stock("QQQ"), Decimal(10), Decimal(400), ENTRY),  # no returns
    ]


def _marks() -> Marks:
    return Marks(
        WHEN,
        spots={"AAA": 101.0, "BBB": 52.0, "SPX": 6010.0, "QQQ": 500.0},
        vols={"AAA": 0.3, "BBB": 0.45, "SPX": 0.18},
        rate=0.04,
        dividend_yields={"AAA": 0.015, "BBB": 0.02, "SPX": 0.013},
    )


def _straightforward_pnl(
    book: list[BookPosition],
    marks: Marks,
    scenarios: np.ndarray,
    rows: list[int],
    vol_rule: VolRule,
) -> np.ndarray:
    """Each included position valued alone (nothing shared) under every scenario."""
    columns = []
    for i in rows:
        r = scenarios[:, NAMES.index(book[i].underlying)][:, None]
        alone = [book[i]]
        base = value_book(alone, marks).value[0]
        moved = value_book(
            alone,
            marks,
            spot_multipliers=np.exp(r),
            vol_multipliers=None if vol_rule.holds_vol else vol_rule.multipliers(r),
            with_greeks=False,
        ).value[:, 0]
        columns.append(moved - base)
    result: np.ndarray = np.column_stack(columns).sum(axis=1)
    return result


@pytest.mark.parametrize("vol_rule", [VOL_HELD, VolRule(spot_vol_elasticity=2.0)])
def test_historical_var_with_shared_contracts_equals_position_by_position_pnl(
    vol_rule: VolRule,
) -> None:
    book, marks = _book(), _marks()
    rng = np.random.default_rng(11)
    returns = rng.normal(0.0, 0.02, (40, len(NAMES)))

    report = historical_var(
        book, marks, returns, names=NAMES, horizon_days=(1, 5), window=30, vol_rule=vol_rule
    )

    rows = [0, 1, 2, 3, 4, 5, 6, 7]
    recent = returns[-30:]
    cumulative = np.vstack([np.zeros((1, len(NAMES))), np.cumsum(recent, axis=0)])
    for h in (1, 5):
        scenarios = cumulative[h:] - cumulative[:-h]
        expected = _straightforward_pnl(book, marks, scenarios, rows, vol_rule)
        np.testing.assert_allclose(report.pnl[h], expected, rtol=1e-12, atol=1e-9)
    assert {(e.index, e.reason) for e in report.excluded} == {(8, "no_spot"), (9, "no_returns")}
    base = value_book(book, marks).value
    assert report.current_value == pytest.approx(float(base[rows].sum()), rel=1e-15)
