"""Small hand-built market snapshots for the analytics tests (no simulated-market dependency).

Quotes are priced with a plain-numpy Black-Scholes-Merton formula at a known vol, so the
implied vol the engine recovers from each quote's mid is that vol up to the 1e-6 price
rounding of the quotes.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal

import numpy as np
import pytest
from scipy.special import ndtr

from riskdesk.domain.configs import ModelConfig, ScenarioGrid
from riskdesk.domain.instruments import (
    ExerciseStyle,
    OptionContract,
    OptionRight,
    Settlement,
    Stock,
)
from riskdesk.domain.market import (
    DiscreteDividend,
    MarketOverrides,
    MarketSnapshot,
    OptionQuote,
    SnapshotMode,
    UnderlyingQuote,
)
from riskdesk.domain.timeutil import expiry_datetime, year_fraction
from riskdesk.domain.trades import Leg, TradeDraft, TradeVersion

AS_OF = datetime(2025, 1, 2, 15, 0, tzinfo=UTC)
EXPIRY = date(2025, 2, 21)
EXPIRY_2 = date(2025, 3, 21)


def bsm(S: float, K: float, T: float, r: float, q: float, sigma: float, is_call: bool) -> float:
    sd = sigma * math.sqrt(T)
    fwd = S * math.exp((r - q) * T)
    d1 = math.log(fwd / K) / sd + 0.5 * sd
    d2 = d1 - sd
    df = math.exp(-r * T)
    if is_call:
        return df * (fwd * float(ndtr(d1)) - K * float(ndtr(d2)))
    return df * (K * float(ndtr(-d2)) - fwd * float(ndtr(-d1)))


def dec(x: float, places: int = 6) -> Decimal:
    return Decimal(str(round(x, places)))


def option(
    strike: float | int,
    right: str = "C",
    *,
    expiry: date = EXPIRY,
    symbol: str = "XYZ",
    style: ExerciseStyle = ExerciseStyle.EUROPEAN,
) -> OptionContract:
    return OptionContract(
        underlying=symbol,
        expiry=expiry,
        strike=Decimal(str(strike)),
        right=OptionRight(right),
        style=style,
        settlement=Settlement.PM,
    )


@dataclass
class MarketSpec:
    spots: dict[str, float] = field(default_factory=lambda: {"XYZ": 100.0})
    vol: Callable[[str, float, float], float] = lambda _s, _k, _t: 0.20
    rate: float = 0.03
    carry: dict[str, float] = field(default_factory=dict)
    strikes: Iterable[float] = tuple(range(60, 145, 5))
    expiries: tuple[date, ...] = (EXPIRY, EXPIRY_2)
    style: ExerciseStyle = ExerciseStyle.EUROPEAN
    half_spread: float = 0.05
    provider_iv: bool = False
    as_of: datetime = AS_OF
    dividends: dict[str, tuple[DiscreteDividend, ...]] = field(default_factory=dict)


def dividend_pv(spec: MarketSpec, symbol: str, t: float) -> float:
    """PV at the rate of the dividends going ex (session open) before ``t`` years."""
    pv = 0.0
    for dividend in spec.dividends.get(symbol, ()):
        ex = year_fraction(spec.as_of, expiry_datetime(dividend.ex_date, settlement=Settlement.AM))
        if 0.0 < ex < t:
            pv += float(dividend.amount) * math.exp(-spec.rate * ex)
    return pv


def make_snapshot(
    spec: MarketSpec | None = None,
    *,
    extra_quotes: Iterable[OptionQuote] = (),
    drop: Iterable[str] = (),
) -> MarketSnapshot:
    spec = spec or MarketSpec()
    dropped = set(drop)
    underlyings = []
    quotes: list[OptionQuote] = []
    extra = list(extra_quotes)
    replaced = {q.contract.key for q in extra}
    for symbol, spot in sorted(spec.spots.items()):
        underlyings.append(
            UnderlyingQuote(
                symbol=symbol,
                spot=dec(spot),
                bid=dec(spot - 0.01),
                ask=dec(spot + 0.01),
                last=dec(spot),
                provider_timestamp=spec.as_of,
                receive_timestamp=spec.as_of,
            )
        )
        q = spec.carry.get(symbol, 0.0)
        for expiry in spec.expiries:
            t = year_fraction(spec.as_of, expiry_datetime(expiry, settlement=Settlement.PM))
            for k in spec.strikes:
                for right in ("C", "P"):
                    contract = option(k, right, expiry=expiry, symbol=symbol, style=spec.style)
                    if contract.key in dropped or contract.key in replaced:
                        continue
                    sigma = spec.vol(symbol, float(k), t)
                    escrowed = spot - dividend_pv(spec, symbol, t)
                    px = bsm(escrowed, float(k), t, spec.rate, q, sigma, right == "C")
                    mid = dec(px)
                    half = min(Decimal(str(spec.half_spread)), mid)
                    quotes.append(
                        OptionQuote(
                            contract=contract,
                            bid=mid - half,
                            ask=mid + half,
                            mark=mid,
                            iv=sigma if spec.provider_iv else None,
                            provider_timestamp=spec.as_of,
                            receive_timestamp=spec.as_of,
                        )
                    )
    return MarketSnapshot(
        as_of=spec.as_of,
        mode=SnapshotMode.PINNED,
        source="test",
        underlyings=tuple(underlyings),
        options=tuple(quotes + extra),
        overrides=MarketOverrides(
            rate=spec.rate, dividend_yield=dict(spec.carry), dividends=dict(spec.dividends)
        ),
    )


def quote(
    contract: OptionContract,
    bid: str | None,
    ask: str | None,
    mark: str | None = None,
    iv: float | None = None,
) -> OptionQuote:
    return OptionQuote(
        contract=contract,
        bid=None if bid is None else Decimal(bid),
        ask=None if ask is None else Decimal(ask),
        mark=None if mark is None else Decimal(mark),
        iv=iv,
        provider_timestamp=AS_OF,
        receive_timestamp=AS_OF,
    )


def leg(
    instrument: OptionContract | Stock,
    qty: int | str,
    price: str | float = "0",
    *,
    fees: str = "0",
    include: bool = True,
) -> Leg:
    return Leg(
        instrument=instrument,
        quantity=Decimal(str(qty)),
        entry_price=Decimal(str(price)),
        fees=Decimal(fees),
        include=include,
    )


def version(*legs: Leg, name: str = "t") -> TradeVersion:
    return TradeVersion(name=name, legs=legs)


def iron_condor(expiry: date = EXPIRY, symbol: str = "XYZ") -> TradeVersion:
    return version(
        leg(option(80, "P", expiry=expiry, symbol=symbol), 1, "0.30"),
        leg(option(90, "P", expiry=expiry, symbol=symbol), -1, "1.20"),
        leg(option(110, "C", expiry=expiry, symbol=symbol), -1, "1.10"),
        leg(option(120, "C", expiry=expiry, symbol=symbol), 1, "0.25"),
        name="iron condor",
    )


def draft_of(trade: TradeVersion) -> TradeDraft:
    return TradeDraft.from_version(trade)


@pytest.fixture(scope="session")
def mk() -> object:
    """This module, so tests reach the helpers whatever pytest's import mode."""
    return sys.modules[__name__]


@pytest.fixture
def snapshot() -> MarketSnapshot:
    return make_snapshot()


@pytest.fixture
def config() -> ModelConfig:
    return ModelConfig()


@pytest.fixture
def grid() -> ScenarioGrid:
    return ScenarioGrid()


@pytest.fixture
def small_grid() -> ScenarioGrid:
    return ScenarioGrid(spot_steps=11, vol_shifts=(-5.0, 0.0, 5.0), n_dates=4)


def all_floats(value: object) -> list[float]:
    out: list[float] = []
    if isinstance(value, float):
        out.append(value)
    elif isinstance(value, dict):
        for item in value.values():
            out.extend(all_floats(item))
    elif isinstance(value, list):
        for item in value:
            out.extend(all_floats(item))
    return out


def finite_everywhere(value: object) -> bool:
    return all(np.isfinite(all_floats(value)))
