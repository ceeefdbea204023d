"""The imported chain's IV diagnostics: one vectorized solve, the statuses of one call per batch."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from riskdesk.analytics._kernels import solve_ivs
from riskdesk.analytics.diagnostics import snapshot_iv_statuses
from riskdesk.domain.configs import ModelKey
from riskdesk.domain.diagnostics import IV_STATUSES, dividend_schedule, iv_batches
from riskdesk.domain.instruments import ExerciseStyle, OptionContract, OptionRight
from riskdesk.domain.market import (
    DiscreteDividend,
    MarketOverrides,
    MarketSnapshot,
    OptionQuote,
    SnapshotMode,
    UnderlyingQuote,
)
from riskdesk.domain.timeutil import SECONDS_PER_YEAR

AS_OF = datetime(2024, 6, 3, 19, 45, tzinfo=UTC)
EXPIRIES = (date(2024, 6, 7), date(2024, 6, 21), date(2024, 9, 20), date(2025, 1, 17))


def _per_batch_statuses(snapshot: MarketSnapshot) -> dict[str, dict[str, int]]:
    """The statuses as counted before: one solve_ivs call per (underlying, family) batch."""
    overrides = snapshot.overrides
    counts: dict[str, dict[str, int]] = {}
    for batch in iv_batches(snapshot):
        n = len(batch.prices)
        american: ModelKey = ("american", "bjerksund_stensland_2002")
        european: ModelKey = ("bsm", None)
        _, statuses = solve_ivs(
            [american if batch.american else european] * n,
            price=batch.prices,
            spot=[float(snapshot.underlying(batch.symbol).spot)] * n,
            strike=batch.strikes,
            time_to_expiry=[s / float(SECONDS_PER_YEAR) for s in batch.seconds],
            rate=float(overrides.rate),
            carry=[overrides.carry_yield(batch.symbol)] * n,
            is_call=batch.calls,
            dividends=[dividend_schedule(overrides, batch.symbol, as_of=snapshot.as_of)] * n,
        )
        per = counts.setdefault(batch.symbol, dict.fromkeys(IV_STATUSES, 0))
        for status in statuses:
            assert status is not None
            per[status] += 1
    return counts


def _chain(symbol: str, spot: float, *, style: ExerciseStyle) -> list[OptionQuote]:
    """Strikes from deep ITM to far wings, with zero bids, crossed and one-sided quotes."""
    quotes = []
    stamp = AS_OF - timedelta(minutes=1)
    for e, expiry in enumerate(EXPIRIES):
        for k, moneyness in enumerate((0.2, 0.5, 0.8, 0.95, 1.0, 1.05, 1.2, 1.6, 2.5, 5.0)):
            strike = Decimal(str(round(spot * moneyness, 1)))
            for right in (OptionRight.CALL, OptionRight.PUT):
                intrinsic = (
                    max(spot - float(strike), 0.0)
                    if right is OptionRight.CALL
                    else max(float(strike) - spot, 0.0)
                )
                mid = intrinsic + spot * 0.02 * (e + 1) / (1 + abs(moneyness - 1.0) * 8)
                kind = (k + e + (right is OptionRight.PUT)) % 6
                bid: Decimal | None = Decimal(f"{max(mid - 0.05, 0.0):.2f}")
                ask: Decimal | None = Decimal(f"{mid + 0.05:.2f}")
                mark: Decimal | None = None
                if kind == 1:
                    bid = Decimal(0)  # zero bid
                elif kind == 2:
                    bid, ask = ask, bid  # crossed: the mid falls back to the mark
                    mark = Decimal(f"{mid:.2f}")
                elif kind == 3:
                    bid, ask = None, None  # no market at all
                elif kind == 4:
                    bid = Decimal(f"{max(intrinsic - 1.0, 0.0):.2f}")  # below intrinsic
                    ask = bid
                contract = OptionContract(
                    underlying=symbol, expiry=expiry, strike=strike, right=right, style=style
                )
                quotes.append(
                    OptionQuote(
                        contract=contract,
                        bid=bid,
                        ask=ask,
                        mark=mark,
                        iv=None,
                        provider_timestamp=stamp,
                        receive_timestamp=AS_OF,
                    )
                )
    return quotes


def _underlying(symbol: str, spot: float) -> UnderlyingQuote:
    return UnderlyingQuote(
        symbol=symbol,
        spot=Decimal(str(spot)),
        bid=None,
        ask=None,
        last=None,
        provider_timestamp=AS_OF,
        receive_timestamp=AS_OF,
    )


def test_snapshot_iv_statuses_with_wings_zero_bids_and_crossed_quotes_matches_per_batch_solves() -> (
    None
):
    spots = {"SPY": 530.0, "AAPL": 190.0, "XSP": 53.0, "KO": 61.0}
    styles = {
        "SPY": ExerciseStyle.AMERICAN,
        "AAPL": ExerciseStyle.AMERICAN,
        "XSP": ExerciseStyle.EUROPEAN,
        "KO": ExerciseStyle.UNKNOWN,
    }
    options = [q for s, spot in spots.items() for q in _chain(s, spot, style=styles[s])]
    options += _chain("SPY", 530.0, style=ExerciseStyle.EUROPEAN)  # two families for SPY
    snapshot = MarketSnapshot(
        as_of=AS_OF,
        mode=SnapshotMode.PINNED,
        source="test",
        underlyings=tuple(_underlying(s, spot) for s, spot in spots.items()),
        options=tuple(options),
        overrides=MarketOverrides(
            rate=0.05,
            dividend_yield={"SPY": 0.013, "XSP": 0.013},
            borrow_rate={"KO": 0.02},
            dividends={
                "AAPL": (DiscreteDividend(date(2024, 8, 9), Decimal("0.25")),),
                "KO": (
                    DiscreteDividend(date(2024, 6, 14), Decimal("0.485")),
                    DiscreteDividend(date(2024, 9, 13), Decimal("0.485")),
                ),
            },
        ),
    )
    expected = _per_batch_statuses(snapshot)

    counts = snapshot_iv_statuses(snapshot)

    assert counts == expected
    assert list(counts) == list(expected)
    seen = {status for per in counts.values() for status, n in per.items() if n}
    assert {"ok", "below_intrinsic"} <= seen  # the chain does reach the failure statuses
