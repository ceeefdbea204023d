from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import pytest

from riskdesk.domain.diagnostics import (
    IV_STATUSES,
    compute_diagnostics,
    dividend_inputs,
    dividend_schedule,
    ex_dividend_datetime,
    iv_batches,
)
from riskdesk.domain.instruments import ExerciseStyle, OptionContract, OptionRight
from riskdesk.domain.market import (
    DiscreteDividend,
    MarketOverrides,
    MarketSnapshot,
    OptionQuote,
    SnapshotMode,
    UnderlyingQuote,
)

AS_OF = datetime(2024, 6, 3, 19, 45, tzinfo=UTC)  # Monday 15:45 New York
JUNE = date(2024, 6, 21)


def _d(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


def _quote(
    strike: str,
    right: str,
    bid: str | None,
    ask: str | None,
    *,
    mark: str | None = None,
    underlying: str = "SPY",
    expiry: date = JUNE,
    age: timedelta = timedelta(0),
    style: ExerciseStyle = ExerciseStyle.AMERICAN,
) -> OptionQuote:
    contract = OptionContract(
        underlying=underlying,
        expiry=expiry,
        strike=Decimal(strike),
        right=OptionRight(right),
        style=style,
    )
    return OptionQuote(
        contract=contract,
        bid=_d(bid),
        ask=_d(ask),
        mark=_d(mark),
        iv=None,
        provider_timestamp=AS_OF - age,
        receive_timestamp=AS_OF,
    )


def _underlying(symbol: str, spot: str, *, age: timedelta = timedelta(0)) -> UnderlyingQuote:
    price = Decimal(spot)
    return UnderlyingQuote(
        symbol=symbol,
        spot=price,
        bid=price,
        ask=price,
        last=price,
        provider_timestamp=AS_OF - age,
        receive_timestamp=AS_OF,
    )


def _snapshot() -> MarketSnapshot:
    options = (
        _quote("530", "C", "2.10", "2.14"),  # fine
        _quote("535", "C", "1.20", "1.10"),  # crossed, no mark: IV skipped
        _quote("540", "C", "1.00", "0.90", mark="0.95"),  # crossed, IV from the mark
        _quote("600", "C", "0", "0.05"),  # zero bid
        _quote("610", "C", None, None),  # missing quote
        _quote("620", "C", None, "0.03"),  # one-sided: missing quote
        _quote("530", "P", "4.50", "4.55", age=timedelta(minutes=20)),  # stale
        _quote("500", "P", "0.50", "1.50"),  # wide spread
        _quote("450", "C", "10.00", "10.10"),  # far below intrinsic (80)
        _quote("525", "C", "7.40", "7.50", style=ExerciseStyle.EUROPEAN),  # European
        _quote("530", "C", "1.00", "1.10", expiry=date(2024, 5, 31)),  # expired
        _quote("200", "P", "1.00", "1.10", underlying="IWM"),  # no IWM quote
    )
    return MarketSnapshot(
        as_of=AS_OF,
        mode=SnapshotMode.LIVE,
        source="test",
        underlyings=(
            _underlying("SPY", "530.00"),
            _underlying("QQQ", "450.00", age=timedelta(minutes=30)),
        ),
        options=options,
        overrides=MarketOverrides(rate=0.05, dividend_yield={"SPY": 0.013}),
    )


def _all_ok(snapshot: MarketSnapshot) -> dict[str, dict[str, int]]:
    """Stand-in solver output: every quote of iv_batches solved ``ok``."""
    counts: dict[str, dict[str, int]] = {}
    for batch in iv_batches(snapshot):
        counts.setdefault(batch.symbol, {"ok": 0})["ok"] += len(batch.prices)
    return counts


def _diagnostics(snapshot: MarketSnapshot, **kwargs: Any) -> dict[str, Any]:
    return compute_diagnostics(snapshot, iv_status=_all_ok(snapshot), **kwargs)


def test_compute_diagnostics_with_constructed_snapshot_counts_each_problem() -> None:
    diagnostics = _diagnostics(_snapshot())

    assert diagnostics["options"] == 12
    assert diagnostics["underlyings"] == 2
    assert diagnostics["crossed"] == 2
    assert diagnostics["zero_bid"] == 1
    assert diagnostics["missing_quote"] == 2
    assert diagnostics["stale"] == 1
    assert diagnostics["stale_underlyings"] == 1
    assert diagnostics["wide_spread"] == 1
    assert diagnostics["expired"] == 1
    assert diagnostics["missing_underlying"] == 1
    assert diagnostics["iv_skipped"] == 5


def test_iv_batches_with_constructed_snapshot_lists_quotes_with_price_underlying_and_time() -> None:
    batches = {(b.symbol, b.american): b for b in iv_batches(_snapshot())}

    # expired, no-underlying, crossed-without-mark and one-sided/missing quotes are skipped
    assert set(batches) == {("SPY", True), ("SPY", False)}
    assert batches["SPY", True].strikes == [530.0, 540.0, 600.0, 530.0, 500.0, 450.0]
    assert batches["SPY", True].calls == [True, True, True, False, False, True]
    assert batches["SPY", True].prices[1] == pytest.approx(0.95)  # crossed: the mark
    assert batches["SPY", False].strikes == [525.0]
    expected = (datetime(2024, 6, 21, 20, 0, tzinfo=UTC) - AS_OF).total_seconds()
    assert batches["SPY", False].seconds == [expected]


def test_compute_diagnostics_with_given_iv_status_counts_reports_them() -> None:
    snapshot = _snapshot()

    diagnostics = compute_diagnostics(
        snapshot, iv_status={"SPY": {"ok": 4, "below_intrinsic": 2, "not_converged": 1}}
    )

    assert tuple(diagnostics["iv_status"]) == IV_STATUSES
    assert diagnostics["iv_status"] == {
        "ok": 4,
        "below_intrinsic": 2,
        "above_upper_bound": 0,
        "no_time_value": 0,
        "invalid_input": 0,
        "not_converged": 1,
    }
    assert diagnostics["by_underlying"]["SPY"]["iv_status"]["below_intrinsic"] == 2
    assert diagnostics["by_underlying"]["IWM"]["iv_status"] == dict.fromkeys(IV_STATUSES, 0)
    assert diagnostics["iv_skipped"] == 5


def test_compute_diagnostics_with_iv_counts_not_matching_the_batches_raises() -> None:
    with pytest.raises(ValueError, match=r"iv_status\['SPY'\] counts 6 solved quotes .* 7"):
        compute_diagnostics(_snapshot(), iv_status={"SPY": {"ok": 6}})
    with pytest.raises(ValueError, match=r"iv_status\['SPY'\] counts 0"):
        compute_diagnostics(_snapshot(), iv_status={})


def test_compute_diagnostics_with_unknown_iv_status_name_raises() -> None:
    with pytest.raises(ValueError, match="unknown status names \\['solved'\\]"):
        compute_diagnostics(_snapshot(), iv_status={"SPY": {"ok": 6, "solved": 1}})


def test_domain_diagnostics_with_fresh_interpreter_imports_no_solver() -> None:
    code = (
        "import sys, riskdesk.domain.diagnostics\n"
        "print(sorted(m for m in sys.modules "
        "if m.startswith(('riskdesk.pricing', 'riskdesk.analytics'))))"
    )

    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout

    assert out.strip() == "[]"


def test_dividend_schedule_with_past_future_and_trading_basis_keeps_future_ones() -> None:
    overrides = MarketOverrides(
        dividends={
            "AAPL": (
                DiscreteDividend(ex_date=date(2024, 11, 8), amount=Decimal("0.26")),
                DiscreteDividend(ex_date=date(2024, 5, 10), amount=Decimal("0.25")),
                DiscreteDividend(ex_date=date(2024, 8, 12), amount=Decimal("0.25")),
            )
        }
    )

    calendar = dividend_schedule(overrides, "AAPL", as_of=AS_OF)
    trading = dividend_schedule(overrides, "AAPL", as_of=AS_OF, basis="trading")

    seconds = (datetime(2024, 8, 12, 13, 30, tzinfo=UTC) - AS_OF).total_seconds()
    assert [a for _, a in calendar] == [0.25, 0.26]
    assert calendar[0][0] == pytest.approx(seconds / (365 * 86400), rel=1e-12)
    assert [a for _, a in trading] == [0.25, 0.26]
    assert trading[0][0] != calendar[0][0]
    assert dividend_schedule(overrides, "MSFT", as_of=AS_OF) == ()


def test_compute_diagnostics_with_constructed_snapshot_splits_counts_by_underlying() -> None:
    diagnostics = _diagnostics(_snapshot())

    by = diagnostics["by_underlying"]
    assert set(by) == {"SPY", "IWM"}
    assert by["SPY"]["options"] == 11
    assert by["SPY"]["crossed"] == 2
    assert by["IWM"]["missing_underlying"] == 1
    assert by["SPY"]["iv_status"]["ok"] == 7


def test_compute_diagnostics_with_any_snapshot_returns_json_serializable_dict() -> None:
    diagnostics = _diagnostics(_snapshot())

    text = json.dumps(diagnostics, sort_keys=True)
    assert json.loads(text) == diagnostics


def test_compute_diagnostics_with_longer_stale_threshold_counts_fewer_stale() -> None:
    assert _diagnostics(_snapshot(), stale_after=timedelta(hours=1))["stale"] == 0
    assert _diagnostics(_snapshot(), stale_after=timedelta(minutes=10))["stale"] == 1
    assert (
        _diagnostics(_snapshot(), stale_after=timedelta(minutes=10))["stale_after_seconds"] == 600.0
    )


def test_compute_diagnostics_with_stale_check_disabled_reports_zero_stale() -> None:
    diagnostics = _diagnostics(_snapshot(), stale_after=None)

    assert diagnostics["stale"] == 0
    assert diagnostics["stale_underlyings"] == 0
    assert diagnostics["stale_after_seconds"] is None


def test_compute_diagnostics_with_tight_wide_spread_rule_flags_more_quotes() -> None:
    diagnostics = _diagnostics(_snapshot(), wide_spread_rel=0.0, wide_spread_abs=Decimal("0.04"))

    # spreads above 0.04: 600C (0.05), 530P (0.05), 500P (1.00), 450C (0.10), 525C (0.10),
    # expired 530C (0.10), IWM 200P (0.10)
    assert diagnostics["wide_spread"] == 7


def test_compute_diagnostics_with_negative_threshold_raises() -> None:
    with pytest.raises(ValueError, match="stale_after"):
        _diagnostics(_snapshot(), stale_after=timedelta(seconds=-1))


def test_compute_diagnostics_with_result_stored_leaves_snapshot_hash_unchanged() -> None:
    snapshot = _snapshot()

    stored = dataclasses.replace(snapshot, diagnostics=_diagnostics(snapshot))

    assert stored.snapshot_hash == snapshot.snapshot_hash
    assert stored.diagnostics["crossed"] == 2


def test_dividend_inputs_with_past_and_future_ex_dates_keeps_future_ones() -> None:
    overrides = MarketOverrides(
        dividends={
            "AAPL": (
                DiscreteDividend(ex_date=date(2024, 8, 12), amount=Decimal("0.25")),
                DiscreteDividend(ex_date=date(2024, 5, 10), amount=Decimal("0.25")),
                DiscreteDividend(ex_date=date(2024, 11, 8), amount=Decimal("0.26")),
            )
        }
    )

    result = dividend_inputs(overrides, "AAPL", as_of=AS_OF)

    assert result is not None
    times, amounts = result
    np.testing.assert_allclose(amounts, [0.25, 0.26])
    expected = (ex_dividend_datetime(date(2024, 8, 12)) - AS_OF).total_seconds() / (365 * 86400)
    assert times[0] == pytest.approx(expected, rel=1e-12)
    assert times[1] > times[0]
    assert dividend_inputs(overrides, "MSFT", as_of=AS_OF) is None


def test_ex_dividend_datetime_with_summer_date_is_1330_utc() -> None:
    assert ex_dividend_datetime(date(2024, 8, 12)) == datetime(2024, 8, 12, 13, 30, tzinfo=UTC)
