"""Configuration of the synthetic market: the underlyings, their vol surfaces and quoting.

Every number here is a *reference* level; :func:`~riskdesk.adapters.simulated.generate_market`
perturbs spots and vol parameters with the seed, so two seeds give two plausible markets.

Volatility surface (per underlying)
-----------------------------------
ATM implied vol follows ``atm_vol(T) = vol_long + (vol_short - vol_long) * exp(-T / vol_decay)``
and the ATM total variance ``theta(T) = atm_vol(T)**2 * T`` is made non-decreasing in ``T``.
Each expiry's smile is the SSVI slice of Gatheral & Jacquier (2014)::

    w(k) = theta/2 * (1 + rho*phi*k + sqrt((phi*k + rho)**2 + 1 - rho**2)),
    phi(theta) = eta / (theta**gamma * (1 + theta)**(1 - gamma))

written as raw SVI ``(a, b, rho, m, sigma)``. With ``0 < gamma <= 1/2`` and
``eta * (1 + |rho|) <= 2`` the surface is free of butterfly and calendar arbitrage
(GJ 2014, Corollary 4.1), and the wing slope ``b * (1 + |rho|) < 2`` respects Roger Lee's
moment bound. The ATM skew scales like ``T**-gamma``: steeper at short expiries.

Quoting
-------
Half the quoted width is ``max(min_width, vega_per_vol_point * vol_width * (1 + wing * z**2)
+ rel_width * value) / 2`` around the model value, where ``z`` is the standardized moneyness
``k / sqrt(theta)``. The bid is rounded down and the ask up to the tick grid: 0.01 everywhere
for penny names (SPY, QQQ, IWM), else 0.01 below $3 and 0.05 from $3.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType

__all__ = [
    "DEFAULT_CONFIG",
    "DEFAULT_SYMBOLS",
    "DividendSchedule",
    "ExpiryPlan",
    "SimulationConfig",
    "UnderlyingKind",
    "UnderlyingSpec",
]


class UnderlyingKind(enum.StrEnum):
    """Index ETFs pay a continuous yield and list dailies; stocks pay discrete dividends."""

    ETF = "ETF"
    STOCK = "STOCK"


@dataclass(frozen=True, slots=True)
class DividendSchedule:
    """Quarterly cash dividend of ``amount`` per share.

    The ex-date is the first trading day on or after ``day`` of each month in ``months``.
    """

    amount: Decimal
    months: tuple[int, ...]
    day: int

    def __post_init__(self) -> None:
        if self.amount <= 0:
            raise ValueError(f"dividend amount must be > 0, got {self.amount}")
        if not self.months or any(not 1 <= m <= 12 for m in self.months):
            raise ValueError(f"dividend months must be in 1..12, got {self.months}")
        if not 1 <= self.day <= 28:
            raise ValueError(f"dividend day must be in 1..28, got {self.day}")


@dataclass(frozen=True, slots=True)
class ExpiryPlan:
    """Which expiries are listed: dailies, weeklies, monthlies and January LEAPS.

    ``daily_count`` sessions of dailies (0: none), weeklies for ``weekly_weeks`` weeks,
    monthlies for ``monthly_months`` months, then every January monthly (LEAPS) up to the
    generator's ``max_expiry_days``.
    """

    daily_count: int
    weekly_weeks: int
    monthly_months: int


@dataclass(frozen=True, slots=True)
class UnderlyingSpec:
    """Reference parameters of one synthetic underlying.

    Vols are decimals (0.20 = 20%), yields continuously compounded, ``strike_step`` the
    smallest listed strike increment in dollars (a multiple of 0.5), ``vol_width`` the quoted
    width at the money in vol points (0.01 = 1 point), ``market_beta`` and ``sector_beta``
    the loadings of the intraday returns on a market and a tech factor, ``vol_of_vol`` the
    annualized volatility of ``ln(ATM vol)`` on intraday paths and ``spot_vol_corr`` the
    correlation of spot and variance shocks (leverage effect).
    """

    symbol: str
    kind: UnderlyingKind
    spot: float
    vol_short: float
    vol_long: float
    vol_decay: float
    rho: float
    eta: float
    dividend_yield: float = 0.0
    dividends: DividendSchedule | None = None
    penny: bool = False
    strike_step: float = 1.0
    strikes: int = 36
    vol_width: float = 0.003
    market_beta: float = 0.6
    sector_beta: float = 0.0
    vol_of_vol: float = 0.7
    spot_vol_corr: float = -0.5

    def __post_init__(self) -> None:
        if self.spot <= 0:
            raise ValueError(f"{self.symbol}: spot must be > 0")
        if min(self.vol_short, self.vol_long) <= 0 or self.vol_decay <= 0:
            raise ValueError(f"{self.symbol}: vols and vol_decay must be > 0")
        if not -1 < self.rho < 1:
            raise ValueError(f"{self.symbol}: rho must be in (-1, 1)")
        if self.eta <= 0 or self.eta * (1 + abs(self.rho)) > 2:
            raise ValueError(f"{self.symbol}: need 0 < eta and eta*(1+|rho|) <= 2 (no arbitrage)")
        if self.strike_step <= 0 or (self.strike_step * 2) % 1:
            raise ValueError(f"{self.symbol}: strike_step must be a positive multiple of 0.5")
        if self.strikes < 2:
            raise ValueError(f"{self.symbol}: strikes must be >= 2")
        if self.market_beta**2 + self.sector_beta**2 >= 1:
            raise ValueError(f"{self.symbol}: market_beta**2 + sector_beta**2 must be < 1")
        if not -1 < self.spot_vol_corr < 1:
            raise ValueError(f"{self.symbol}: spot_vol_corr must be in (-1, 1)")

    @property
    def dailies(self) -> bool:
        """Index ETFs list daily (0DTE) expiries."""
        return self.kind is UnderlyingKind.ETF


_ETF_PLAN = ExpiryPlan(daily_count=5, weekly_weeks=8, monthly_months=9)
_STOCK_PLAN = ExpiryPlan(daily_count=0, weekly_weeks=4, monthly_months=6)


@dataclass(frozen=True, slots=True)
class SimulationConfig:
    """The whole synthetic universe.

    ``rate`` is the continuously compounded risk-free rate; ``gamma`` the SSVI power-law
    exponent; ``put_range``/``call_range`` how many ATM standard deviations the listed
    strikes aim to cover below/above the forward; ``wing_width`` how fast quoted widths grow
    with standardized moneyness; ``rel_width`` the quoted width as a fraction of the value;
    ``seed_spot_jitter``/``seed_vol_jitter`` the lognormal spreads the seed applies to
    reference spots and vols; ``mean_reversion`` the intraday variance mean reversion
    (per trading year).
    """

    underlyings: tuple[UnderlyingSpec, ...]
    rate: float = 0.043
    gamma: float = 0.4
    put_range: float = 3.0
    call_range: float = 2.2
    wing_width: float = 0.12
    rel_width: float = 0.001
    min_width: Decimal = Decimal("0.01")
    seed_spot_jitter: float = 0.03
    seed_vol_jitter: float = 0.06
    mean_reversion: float = 6.0
    etf_plan: ExpiryPlan = _ETF_PLAN
    stock_plan: ExpiryPlan = _STOCK_PLAN
    specs: Mapping[str, UnderlyingSpec] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_symbol = {u.symbol: u for u in self.underlyings}
        if len(by_symbol) != len(self.underlyings):
            raise ValueError("SimulationConfig.underlyings has duplicate symbols")
        if not 0 < self.gamma <= 0.5:
            raise ValueError(
                f"gamma must be in (0, 0.5] for an arbitrage-free SSVI, got {self.gamma}"
            )
        object.__setattr__(self, "specs", MappingProxyType(by_symbol))

    def plan(self, spec: UnderlyingSpec) -> ExpiryPlan:
        """Return the expiry plan of ``spec``'s kind."""
        return self.etf_plan if spec.kind is UnderlyingKind.ETF else self.stock_plan

    def spec(self, symbol: str) -> UnderlyingSpec:
        """Return the spec of ``symbol``; KeyError listing the known symbols otherwise."""
        try:
            return self.specs[symbol]
        except KeyError:
            raise KeyError(
                f"unknown simulated symbol {symbol!r}; known: {', '.join(self.specs)}"
            ) from None


_QUARTERLY_FEB = (2, 5, 8, 11)
_QUARTERLY_MAR = (3, 6, 9, 12)

DEFAULT_CONFIG = SimulationConfig(
    underlyings=(
        UnderlyingSpec(
            "SPY",
            UnderlyingKind.ETF,
            spot=590.0,
            vol_short=0.125,
            vol_long=0.19,
            vol_decay=0.5,
            rho=-0.75,
            eta=1.1,
            dividend_yield=0.012,
            penny=True,
            strike_step=1.0,
            strikes=50,
            vol_width=0.0004,
            market_beta=0.97,
            vol_of_vol=0.9,
            spot_vol_corr=-0.75,
        ),
        UnderlyingSpec(
            "QQQ",
            UnderlyingKind.ETF,
            spot=510.0,
            vol_short=0.17,
            vol_long=0.23,
            vol_decay=0.5,
            rho=-0.7,
            eta=1.1,
            dividend_yield=0.0055,
            penny=True,
            strike_step=1.0,
            strikes=50,
            vol_width=0.0005,
            market_beta=0.86,
            sector_beta=0.4,
            vol_of_vol=0.9,
            spot_vol_corr=-0.7,
        ),
        UnderlyingSpec(
            "IWM",
            UnderlyingKind.ETF,
            spot=220.0,
            vol_short=0.19,
            vol_long=0.245,
            vol_decay=0.5,
            rho=-0.65,
            eta=1.05,
            dividend_yield=0.011,
            penny=True,
            strike_step=1.0,
            strikes=46,
            vol_width=0.0008,
            market_beta=0.85,
            vol_of_vol=0.9,
            spot_vol_corr=-0.65,
        ),
        UnderlyingSpec(
            "AAPL",
            UnderlyingKind.STOCK,
            spot=230.0,
            vol_short=0.24,
            vol_long=0.28,
            vol_decay=0.6,
            rho=-0.45,
            eta=1.0,
            dividends=DividendSchedule(Decimal("0.26"), _QUARTERLY_FEB, 10),
            strike_step=2.5,
            strikes=36,
            vol_width=0.003,
            market_beta=0.62,
            sector_beta=0.38,
        ),
        UnderlyingSpec(
            "MSFT",
            UnderlyingKind.STOCK,
            spot=430.0,
            vol_short=0.22,
            vol_long=0.27,
            vol_decay=0.6,
            rho=-0.45,
            eta=1.0,
            dividends=DividendSchedule(Decimal("0.83"), _QUARTERLY_FEB, 19),
            strike_step=5.0,
            strikes=36,
            vol_width=0.003,
            market_beta=0.64,
            sector_beta=0.38,
        ),
        UnderlyingSpec(
            "NVDA",
            UnderlyingKind.STOCK,
            spot=140.0,
            vol_short=0.50,
            vol_long=0.46,
            vol_decay=0.5,
            rho=-0.3,
            eta=1.0,
            dividends=DividendSchedule(Decimal("0.01"), _QUARTERLY_MAR, 5),
            strike_step=1.0,
            strikes=40,
            vol_width=0.004,
            market_beta=0.55,
            sector_beta=0.45,
            vol_of_vol=0.8,
            spot_vol_corr=-0.35,
        ),
        UnderlyingSpec(
            "TSLA",
            UnderlyingKind.STOCK,
            spot=340.0,
            vol_short=0.58,
            vol_long=0.53,
            vol_decay=0.5,
            rho=-0.2,
            eta=1.1,
            strike_step=2.5,
            strikes=40,
            vol_width=0.005,
            market_beta=0.5,
            sector_beta=0.2,
            vol_of_vol=0.8,
            spot_vol_corr=-0.3,
        ),
        UnderlyingSpec(
            "AMZN",
            UnderlyingKind.STOCK,
            spot=210.0,
            vol_short=0.30,
            vol_long=0.32,
            vol_decay=0.6,
            rho=-0.4,
            eta=1.0,
            strike_step=2.5,
            strikes=36,
            vol_width=0.0035,
            market_beta=0.6,
            sector_beta=0.35,
        ),
    )
)
"""Three index ETFs (penny ticks, dailies, dividend yield) and five single stocks (higher
vol, nickel ticks from $3, discrete quarterly dividends for AAPL, MSFT and NVDA)."""

DEFAULT_SYMBOLS: tuple[str, ...] = tuple(u.symbol for u in DEFAULT_CONFIG.underlyings)
"""``SPY QQQ IWM AAPL MSFT NVDA TSLA AMZN``."""
