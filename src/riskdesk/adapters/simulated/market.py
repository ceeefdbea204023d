"""Seeded synthetic option market: the embedded default data source.

:func:`generate_market` lists, for each underlying of a :class:`SimulationConfig`, the
expiries a US exchange would (dailies for the index ETFs, weeklies, third-Friday monthlies,
January LEAPS; holiday-rolled, PM-settled), a strike grid around the forward, and quotes every
call and put:

1. the smile vol of an arbitrage-free SSVI surface (see :mod:`.config`), at
   ``k = ln(K / F)`` with ``F = (S - PV(dividends)) * exp((r - q) T)``;
2. the model value with the American engine (Bjerksund-Stensland 2002) of
   :func:`riskdesk.pricing.price`, with discrete dividends where the stock pays them;
3. bid and ask around it: a width in vol points times vega, growing with standardized
   moneyness, plus a fraction of the value, at least one cent; bid rounded down and ask up to
   the tick grid, bid never below 0 and the quoted mid never below the model value.

Everything derives from ``seed`` and ``as_of`` alone (no clock, no global RNG), so the same
inputs give a byte-for-byte identical snapshot (same ``snapshot_hash``). Per-symbol random
streams are keyed by the symbol, so restricting ``symbols`` does not change the others.

Times are ACT/365F to the expiry instant (16:00 New York, 13:00 on half days); the provider
and receive timestamps of every quote are ``as_of``.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from riskdesk.adapters.simulated.config import (
    DEFAULT_CONFIG,
    ExpiryPlan,
    SimulationConfig,
    UnderlyingKind,
    UnderlyingSpec,
)
from riskdesk.analytics.diagnostics import snapshot_diagnostics
from riskdesk.domain.diagnostics import dividend_inputs
from riskdesk.domain.instruments import ExerciseStyle, OptionContract, OptionRight, Settlement
from riskdesk.domain.market import (
    DiscreteDividend,
    MarketOverrides,
    MarketSnapshot,
    OptionQuote,
    SnapshotMode,
    UnderlyingQuote,
)
from riskdesk.domain.timeutil import (
    ExpiryCycle,
    expiry_datetime,
    is_trading_day,
    monthly_expiry,
    next_expiries,
    year_fractions,
)
from riskdesk.pricing import price
from riskdesk.pricing.surface import SviSlice

__all__ = ["SOURCE", "SyntheticSource", "generate_market", "true_surface"]

SOURCE = "simulated"
"""``MarketSnapshot.source`` of generated snapshots."""

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

_NEW_YORK = ZoneInfo("America/New_York")
_ENGINE = "bjerksund_stensland_2002"
_STRIKE_INCREMENTS = (0.5, 1.0, 2.5, 5.0, 10.0, 25.0, 50.0, 100.0)
_NICKEL_FROM_CENTS = 300  # $3: non-penny names quote in 0.05 from here
_INTRADAY_DECAY_YEARS = 0.25  # how far into the term structure an intraday vol shock reaches
_SALT_PARAMS = 1
_SALT_LISTING = 2


# --------------------------------------------------------------------------------------------
# Seeded parameters and listings
# --------------------------------------------------------------------------------------------


def symbol_key(symbol: str) -> int:
    """Stable 64-bit integer of a symbol (for per-symbol random streams; not ``hash()``)."""
    return int.from_bytes(hashlib.sha256(symbol.encode("utf-8")).digest()[:8], "big")


def _rng(seed: int, *keys: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, *keys]))


@dataclass(frozen=True, slots=True)
class UnderlyingParams:
    """Seeded parameters of one underlying (see :mod:`.config` for their meaning)."""

    spec: UnderlyingSpec
    spot: Decimal
    vol_short: float
    vol_long: float
    vol_decay: float
    rho: float
    eta: float
    gamma: float
    dividend_yield: float

    def atm_total_variance(self, T: FloatArray) -> FloatArray:
        """``theta(T) = atm_vol(T)**2 * T``, non-decreasing along the (sorted) ``T``."""
        vol = self.vol_long + (self.vol_short - self.vol_long) * np.exp(-T / self.vol_decay)
        theta: FloatArray = np.maximum.accumulate(vol * vol * T)
        return theta

    def atm_vol(self, T: float) -> float:
        """ATM implied vol at ``T`` years."""
        return self.vol_long + (self.vol_short - self.vol_long) * math.exp(-T / self.vol_decay)

    def phi(self, theta: FloatArray) -> FloatArray:
        """SSVI power-law ``phi(theta) = eta / (theta**gamma * (1 + theta)**(1 - gamma))``."""
        result: FloatArray = self.eta / (theta**self.gamma * (1.0 + theta) ** (1.0 - self.gamma))
        return result


def underlying_params(
    spec: UnderlyingSpec, *, seed: int, config: SimulationConfig
) -> UnderlyingParams:
    """Seeded spot (rounded to the cent) and vol parameters of ``spec``."""
    rng = _rng(seed, _SALT_PARAMS, symbol_key(spec.symbol))
    z = rng.standard_normal(5)
    spot = spec.spot * math.exp(config.seed_spot_jitter * float(z[0]))
    level = math.exp(config.seed_vol_jitter * float(z[1]))
    rho = min(max(spec.rho + 0.04 * float(z[3]), -0.9), 0.9)
    eta = min(spec.eta * math.exp(0.05 * float(z[4])), 1.98 / (1.0 + abs(rho)))
    return UnderlyingParams(
        spec=spec,
        spot=Decimal(round(spot * 100)).scaleb(-2),
        vol_short=spec.vol_short * level * math.exp(0.5 * config.seed_vol_jitter * float(z[2])),
        vol_long=spec.vol_long * level,
        vol_decay=spec.vol_decay,
        rho=rho,
        eta=eta,
        gamma=config.gamma,
        dividend_yield=spec.dividend_yield,
    )


def _new_york_date(instant: datetime) -> date:
    return instant.astimezone(_NEW_YORK).date()


def _list_expiries(
    plan: ExpiryPlan, *, dailies: bool, as_of: datetime, last: date
) -> list[tuple[date, datetime]]:
    """List the unexpired expiries of ``plan`` up to ``last`` with their expiry instants.

    The next ``daily_count`` sessions (dailies), ``weekly_weeks`` weeklies,
    ``monthly_months`` monthlies and every January monthly (LEAPS).
    """
    start = _new_york_date(as_of)

    def unexpired(cycle: ExpiryCycle, count: int) -> list[date]:
        if count <= 0:
            return []
        # One extra candidate covers today's expiry when it has already passed.
        candidates = next_expiries(start, cycle=cycle, count=count + 1, until=last)
        alive = [d for d in candidates if expiry_datetime(d, settlement=Settlement.PM) > as_of]
        return alive[:count]

    dates: set[date] = set(unexpired("weekly", plan.weekly_weeks))
    dates.update(unexpired("monthly", plan.monthly_months))
    if dailies:
        dates.update(unexpired("daily", plan.daily_count))
    for year in range(start.year + 1, last.year + 1):
        january = monthly_expiry(year, 1)
        if january <= last:
            dates.add(january)
    listed = []
    for expiry in sorted(dates):
        instant = expiry_datetime(expiry, settlement=Settlement.PM)
        if instant > as_of:
            listed.append((expiry, instant))
    return listed


def _ex_dates(spec: UnderlyingSpec, *, as_of: datetime, last: date) -> tuple[DiscreteDividend, ...]:
    schedule = spec.dividends
    if schedule is None:
        return ()
    start = _new_york_date(as_of)
    out: list[DiscreteDividend] = []
    for year in range(start.year, last.year + 1):
        for month in schedule.months:
            ex_date = date(year, month, schedule.day)
            while not is_trading_day(ex_date):
                ex_date += timedelta(days=1)
            if start <= ex_date <= last:
                out.append(DiscreteDividend(ex_date=ex_date, amount=schedule.amount))
    return tuple(out)


def _strike_grid(
    forward: float, sd: float, *, count: int, step: float, config: SimulationConfig
) -> IntArray:
    """``count`` strikes in half-dollar units around ``forward`` on a round increment."""
    lo = forward * math.exp(-config.put_range * sd)
    hi = forward * math.exp(config.call_range * sd)
    candidates = [inc for inc in _STRIKE_INCREMENTS if inc >= step]
    increment = candidates[-1]
    for inc in candidates:
        if (hi - lo) / inc <= count - 1:
            increment = inc
            break
    units = round(increment * 2)
    # Spread the strikes the range does not need on both sides in proportion to its halves,
    # so the grid covers [lo, hi] around the forward; strikes stay > 0.
    spare = max((count - 1) - (hi - lo) / increment, 0.0)
    start = lo - spare * increment * (forward - lo) / (hi - lo)
    first = max(round(start * 2 / units), 1) * units
    grid: IntArray = first + units * np.arange(count, dtype=np.int64)
    return grid


@dataclass(frozen=True, slots=True)
class ChainLayout:
    """Listed contracts of one underlying (fixed for a session) and their parameters.

    Flat arrays run over ``contracts``: ``strike``, ``expiry_index`` into ``expiries`` and
    ``is_call``; ``open_interest``/``volume`` are seeded and fixed.
    """

    params: UnderlyingParams
    dividends: tuple[DiscreteDividend, ...]
    expiries: tuple[date, ...]
    expiry_instants: tuple[datetime, ...]
    contracts: tuple[OptionContract, ...]
    strike: FloatArray
    expiry_index: IntArray
    is_call: BoolArray
    open_interest: IntArray
    volume: IntArray


@dataclass(frozen=True, slots=True)
class MarketLayout:
    """What :func:`generate_market` lists at ``listed_at``; re-marked by :func:`mark_market`."""

    seed: int
    listed_at: datetime
    config: SimulationConfig
    chains: tuple[ChainLayout, ...]
    overrides: MarketOverrides


def _validate_as_of(name: str, value: datetime) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime (UTC), got {value!r}")
    return value.astimezone(UTC)


def resolve_symbols(symbols: Sequence[str] | None, config: SimulationConfig) -> tuple[str, ...]:
    """Return the requested symbols in config order (all when None); ValueError if unknown."""
    if symbols is None:
        return tuple(u.symbol for u in config.underlyings)
    if isinstance(symbols, str):
        raise ValueError(f"symbols must be a sequence of tickers, not the string {symbols!r}")
    unknown = [s for s in symbols if s not in config.specs]
    if unknown:
        raise ValueError(
            f"unknown simulated symbol(s) {unknown}; choose from {', '.join(config.specs)}"
        )
    if not symbols:
        raise ValueError("symbols must name at least one underlying (or be None for all)")
    wanted = set(symbols)
    return tuple(u.symbol for u in config.underlyings if u.symbol in wanted)


def build_layout(
    *,
    seed: int,
    as_of: datetime,
    symbols: Sequence[str] | None = None,
    max_expiry_days: int = 730,
    strikes_per_expiry: int | None = None,
    config: SimulationConfig | None = None,
) -> MarketLayout:
    """List expiries, strikes and contracts of every requested underlying at ``as_of``."""
    cfg = config if config is not None else DEFAULT_CONFIG
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    as_of = _validate_as_of("as_of", as_of)
    if max_expiry_days < 0:
        raise ValueError(f"max_expiry_days must be >= 0, got {max_expiry_days}")
    if strikes_per_expiry is not None and strikes_per_expiry < 2:
        raise ValueError(f"strikes_per_expiry must be >= 2 or None, got {strikes_per_expiry}")
    last = _new_york_date(as_of) + timedelta(days=max_expiry_days)
    chains = []
    dividend_yield: dict[str, float] = {}
    dividends: dict[str, tuple[DiscreteDividend, ...]] = {}
    for symbol in resolve_symbols(symbols, cfg):
        spec = cfg.spec(symbol)
        params = underlying_params(spec, seed=seed, config=cfg)
        listed = _list_expiries(cfg.plan(spec), dailies=spec.dailies, as_of=as_of, last=last)
        divs = _ex_dates(spec, as_of=as_of, last=last)
        chains.append(
            _chain_layout(
                params,
                listed,
                divs,
                seed=seed,
                as_of=as_of,
                rate=cfg.rate,
                count=strikes_per_expiry if strikes_per_expiry is not None else spec.strikes,
                config=cfg,
            )
        )
        if params.dividend_yield:
            dividend_yield[symbol] = params.dividend_yield
        if divs:
            dividends[symbol] = divs
    overrides = MarketOverrides(rate=cfg.rate, dividend_yield=dividend_yield, dividends=dividends)
    return MarketLayout(
        seed=seed, listed_at=as_of, config=cfg, chains=tuple(chains), overrides=overrides
    )


def _forwards(
    spot: float,
    T: FloatArray,
    *,
    rate: float,
    q: float,
    dividends: tuple[FloatArray, FloatArray] | None,
) -> FloatArray:
    carry = spot * np.ones_like(T)
    if dividends is not None:
        times, amounts = dividends
        paid = (times[None, :] < T[:, None]) * amounts[None, :] * np.exp(-rate * times[None, :])
        carry = carry - paid.sum(axis=1)
    result: FloatArray = carry * np.exp((rate - q) * T)
    return result


def _chain_layout(
    params: UnderlyingParams,
    listed: Sequence[tuple[date, datetime]],
    divs: tuple[DiscreteDividend, ...],
    *,
    seed: int,
    as_of: datetime,
    rate: float,
    count: int,
    config: SimulationConfig,
) -> ChainLayout:
    spec = params.spec
    spot = float(params.spot)
    expiries = tuple(e for e, _ in listed)
    instants = tuple(i for _, i in listed)
    T = year_fractions(as_of, instants) if instants else np.zeros(0)
    theta = params.atm_total_variance(T)
    overrides = MarketOverrides(rate=rate, dividends={spec.symbol: divs} if divs else {})
    div_inputs = dividend_inputs(overrides, spec.symbol, as_of=as_of)
    forwards = _forwards(spot, T, rate=rate, q=params.dividend_yield, dividends=div_inputs)
    rng = _rng(seed, _SALT_LISTING, symbol_key(spec.symbol))
    contracts: list[OptionContract] = []
    strikes: list[float] = []
    index: list[int] = []
    calls: list[bool] = []
    oi: list[float] = []
    for i, expiry in enumerate(expiries):
        sd = math.sqrt(float(theta[i]))
        grid = _strike_grid(
            float(forwards[i]), sd, count=count, step=spec.strike_step, config=config
        )
        cycle = _cycle_weight(expiry)
        for units in grid.tolist():
            strike = Decimal(units) / 2
            z = math.log(units / 2 / float(forwards[i])) / sd
            base = (20_000.0 if spec.kind is UnderlyingKind.ETF else 6_000.0) * cycle
            for right in (OptionRight.CALL, OptionRight.PUT):
                contracts.append(
                    OptionContract(
                        underlying=spec.symbol,
                        expiry=expiry,
                        strike=strike,
                        right=right,
                        style=ExerciseStyle.AMERICAN,
                        settlement=Settlement.PM,
                    )
                )
                strikes.append(units / 2)
                index.append(i)
                calls.append(right is OptionRight.CALL)
                oi.append(base * math.exp(-0.5 * (z / 1.3) ** 2))
    n = len(contracts)
    noise = rng.lognormal(mean=0.0, sigma=0.6, size=n)
    share = rng.uniform(0.02, 0.35, size=n)
    open_interest = np.floor(np.asarray(oi) * noise).astype(np.int64)
    volume = np.floor(open_interest * share).astype(np.int64)
    return ChainLayout(
        params=params,
        dividends=divs,
        expiries=expiries,
        expiry_instants=instants,
        contracts=tuple(contracts),
        strike=np.asarray(strikes, dtype=np.float64),
        expiry_index=np.asarray(index, dtype=np.int64),
        is_call=np.asarray(calls, dtype=np.bool_),
        open_interest=open_interest,
        volume=volume,
    )


def _cycle_weight(expiry: date) -> float:
    """Open-interest weight: monthlies and LEAPS carry most, dailies least."""
    if expiry == monthly_expiry(expiry.year, expiry.month):
        return 3.0 if expiry.month != 1 else 4.0
    return 1.0 if expiry.weekday() >= 3 else 0.4


# --------------------------------------------------------------------------------------------
# Marking
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Smile:
    """Per-expiry surface state at one instant (only the expiries still alive)."""

    alive: BoolArray
    T: FloatArray
    theta: FloatArray
    forward: FloatArray


def _smile(
    chain: ChainLayout, *, as_of: datetime, spot: float, vol_scale: float, rate: float
) -> tuple[_Smile, tuple[FloatArray, FloatArray] | None]:
    params = chain.params
    T_all = year_fractions(as_of, chain.expiry_instants) if chain.expiries else np.zeros(0)
    alive = T_all > 0.0
    T = T_all[alive]
    theta = params.atm_total_variance(T)
    if vol_scale != 1.0:
        scale = 1.0 + (vol_scale - 1.0) * np.exp(-T / _INTRADAY_DECAY_YEARS)
        theta = np.maximum.accumulate(theta * scale * scale)
    overrides = MarketOverrides(
        rate=rate, dividends={chain.params.spec.symbol: chain.dividends} if chain.dividends else {}
    )
    divs = dividend_inputs(overrides, params.spec.symbol, as_of=as_of)
    forward = _forwards(spot, T, rate=rate, q=params.dividend_yield, dividends=divs)
    return _Smile(alive=alive, T=T, theta=theta, forward=forward), divs


def _svi_slices(params: UnderlyingParams, smile: _Smile) -> list[SviSlice]:
    phi = params.phi(smile.theta)
    rho = params.rho
    slices = []
    for T, theta, p in zip(smile.T.tolist(), smile.theta.tolist(), phi.tolist(), strict=True):
        slices.append(
            SviSlice(
                T=T,
                a=theta / 2.0 * (1.0 - rho * rho),
                b=theta * p / 2.0,
                rho=rho,
                m=-rho / p,
                sigma=math.sqrt(1.0 - rho * rho) / p,
            )
        )
    return slices


def _ssvi_total_variance(
    k: FloatArray, theta: FloatArray, phi: FloatArray, rho: float
) -> FloatArray:
    pk = phi * k
    result: FloatArray = 0.5 * theta * (1.0 + rho * pk + np.sqrt((pk + rho) ** 2 + 1.0 - rho * rho))
    return result


def _cents(value: FloatArray, *, down: bool, penny: bool) -> IntArray:
    """Round dollar amounts to the tick grid, in integer cents (down for bids, up for asks)."""
    raw = value * 100.0
    tick = np.where(penny | (raw < _NICKEL_FROM_CENTS), 1, 5).astype(np.int64)
    steps = np.floor(raw / tick + 1e-9) if down else np.ceil(raw / tick - 1e-9)
    result: IntArray = steps.astype(np.int64) * tick
    return result


def _quote_cents(value: FloatArray, width: FloatArray, *, penny: bool) -> tuple[IntArray, IntArray]:
    """Bid and ask in cents on the tick grid around ``value`` with total ``width``."""
    half = 0.5 * width
    bid = np.maximum(_cents(value - half, down=True, penny=penny), 0)
    ask = _cents(value + half, down=False, penny=penny)
    ask = np.maximum(ask, 1)
    # Keep the quoted mid at or above the model value (never below intrinsic for American).
    ask_tick = np.where(penny | (ask < _NICKEL_FROM_CENTS), 1, 5)
    low = (bid + ask) < 2.0 * value * 100.0 - 1e-6
    ask = np.where(low, ask + ask_tick, ask)
    return bid.astype(np.int64), ask.astype(np.int64)


def _decimal_cents(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)


def _mark_chain(
    chain: ChainLayout,
    *,
    as_of: datetime,
    spot: Decimal,
    vol_scale: float,
    config: SimulationConfig,
) -> list[OptionQuote]:
    params = chain.params
    spec = params.spec
    rate = config.rate
    S = float(spot)
    smile, divs = _smile(chain, as_of=as_of, spot=S, vol_scale=vol_scale, rate=rate)
    if not smile.alive.any():
        return []
    # Map every contract to its live expiry; drop contracts whose expiry has passed.
    live_position = np.cumsum(smile.alive) - 1
    keep = smile.alive[chain.expiry_index]
    idx = live_position[chain.expiry_index[keep]]
    K = chain.strike[keep]
    is_call = chain.is_call[keep]
    T = smile.T[idx]
    theta = smile.theta[idx]
    forward = smile.forward[idx]
    phi = params.phi(smile.theta)[idx]
    k = np.log(K / forward)
    w = _ssvi_total_variance(k, theta, phi, params.rho)
    sigma = np.sqrt(w / T)
    value = np.asarray(
        price(
            model="american",
            S=S,
            K=K,
            T=T,
            r=rate,
            q=params.dividend_yield,
            sigma=sigma,
            is_call=is_call,
            engine=_ENGINE,
            dividends=divs,
        ),
        dtype=np.float64,
    )
    value = np.maximum(value, 0.0)
    # Quoted width: vol points times (Black) vega, wider in the wings, plus a share of value.
    sd = np.sqrt(w)
    d1 = (-k + 0.5 * w) / sd
    vega = (
        np.exp(-rate * T) * forward * np.exp(-0.5 * d1 * d1) / math.sqrt(2.0 * math.pi) * np.sqrt(T)
    )
    z = k / np.sqrt(theta)
    width = vega * spec.vol_width * (1.0 + config.wing_width * z * z) + config.rel_width * value
    width = np.maximum(width, float(config.min_width))
    bid_c, ask_c = _quote_cents(value, width, penny=spec.penny)
    contracts = [c for c, alive in zip(chain.contracts, keep.tolist(), strict=True) if alive]
    oi = chain.open_interest[keep].tolist()
    vol = chain.volume[keep].tolist()
    ivs = np.round(sigma, 6).tolist()
    quotes = []
    for j, contract in enumerate(contracts):
        b = int(bid_c[j])
        a = int(ask_c[j])
        quotes.append(
            OptionQuote(
                contract=contract,
                bid=_decimal_cents(b),
                ask=_decimal_cents(a),
                mark=Decimal(b + a) / 200,
                iv=ivs[j],
                provider_timestamp=as_of,
                receive_timestamp=as_of,
                volume=int(vol[j]),
                open_interest=int(oi[j]),
            )
        )
    return quotes


def _underlying_quote(symbol: str, spot: Decimal, *, as_of: datetime) -> UnderlyingQuote:
    cent = Decimal("0.01")
    return UnderlyingQuote(
        symbol=symbol,
        spot=spot,
        bid=spot - cent,
        ask=spot + cent,
        last=spot,
        provider_timestamp=as_of,
        receive_timestamp=as_of,
    )


def mark_market(
    layout: MarketLayout,
    *,
    as_of: datetime,
    spots: Mapping[str, Decimal] | None = None,
    vol_scales: Mapping[str, float] | None = None,
    mode: SnapshotMode = SnapshotMode.LIVE,
    diagnostics: bool = True,
) -> MarketSnapshot:
    """Quote every listed contract of ``layout`` at ``as_of``.

    ``spots`` (cents) default to the layout's seeded spots, ``vol_scales`` (multiplier of the
    short-dated ATM vol, fading with expiry) to 1. Contracts expired by ``as_of`` are left out.
    """
    as_of = _validate_as_of("as_of", as_of)
    underlyings = []
    options: list[OptionQuote] = []
    for chain in layout.chains:
        symbol = chain.params.spec.symbol
        spot = spots[symbol] if spots is not None else chain.params.spot
        scale = vol_scales.get(symbol, 1.0) if vol_scales is not None else 1.0
        underlyings.append(_underlying_quote(symbol, spot, as_of=as_of))
        options.extend(
            _mark_chain(chain, as_of=as_of, spot=spot, vol_scale=scale, config=layout.config)
        )
    snapshot = MarketSnapshot(
        as_of=as_of,
        mode=mode,
        source=SOURCE,
        underlyings=tuple(underlyings),
        options=tuple(options),
        overrides=layout.overrides,
    )
    if diagnostics:
        snapshot = replace(snapshot, diagnostics=snapshot_diagnostics(snapshot))
    return snapshot


def generate_market(
    *,
    seed: int,
    as_of: datetime,
    symbols: Sequence[str] | None = None,
    max_expiry_days: int = 730,
    strikes_per_expiry: int | None = None,
    mode: SnapshotMode = SnapshotMode.LIVE,
    config: SimulationConfig | None = None,
) -> MarketSnapshot:
    """Generate a deterministic synthetic option market as of ``as_of``.

    Parameters
    ----------
    seed : int
        Non-negative seed; spots, vol parameters, open interest and volume derive from it.
    as_of : datetime
        Timezone-aware snapshot time (stored in UTC). Expiries already past are not listed;
        a trading day before 16:00 New York still lists that day's (0DTE) dailies.
    symbols : Sequence[str] or None
        Subset of the configured underlyings (default all: SPY QQQ IWM AAPL MSFT NVDA TSLA
        AMZN).
    max_expiry_days : int
        Latest expiry, in calendar days after the New York date of ``as_of`` (default 730).
    strikes_per_expiry : int or None
        Strikes per expiry (each with a call and a put); None uses each underlying's default.
    mode : SnapshotMode
        LIVE (default) or PINNED.
    config : SimulationConfig or None
        Universe and quoting parameters; :data:`~.config.DEFAULT_CONFIG` when None.

    Returns
    -------
    MarketSnapshot
        Source ``"simulated"``, overrides with the rate, ETF dividend yields and discrete
        stock dividends, diagnostics filled.

    Examples
    --------
    >>> from datetime import UTC, datetime
    >>> snap = generate_market(seed=7, as_of=datetime(2025, 3, 3, 15, tzinfo=UTC),
    ...                        symbols=["SPY"], max_expiry_days=30, strikes_per_expiry=5)
    >>> snap.underlying("SPY").spot > 0, snap.diagnostics["crossed"]
    (True, 0)

    """
    layout = build_layout(
        seed=seed,
        as_of=as_of,
        symbols=symbols,
        max_expiry_days=max_expiry_days,
        strikes_per_expiry=strikes_per_expiry,
        config=config,
    )
    return mark_market(layout, as_of=layout.listed_at, mode=mode)


def true_surface(
    *,
    seed: int,
    as_of: datetime,
    symbol: str,
    max_expiry_days: int = 730,
    config: SimulationConfig | None = None,
) -> list[SviSlice]:
    """Return the raw SVI slices (one per listed expiry, ascending ``T``) behind the quotes.

    Useful to check a fitted surface against the truth; ``k`` is log forward moneyness with the
    dividend-adjusted forward described in the module docstring.
    """
    layout = build_layout(
        seed=seed, as_of=as_of, symbols=[symbol], max_expiry_days=max_expiry_days, config=config
    )
    chain = layout.chains[0]
    smile, _ = _smile(
        chain,
        as_of=layout.listed_at,
        spot=float(chain.params.spot),
        vol_scale=1.0,
        rate=layout.config.rate,
    )
    return _svi_slices(chain.params, smile)


@dataclass(frozen=True, slots=True)
class SyntheticSource:
    """The synthetic market as a :class:`~riskdesk.domain.sources.MarketSource`.

    ``seed`` and ``max_expiry_days`` identify the market; ``as_of`` (default: now, to the
    second) and ``symbols`` (default: all configured) are the snapshot :meth:`snapshot` takes.
    :meth:`refresh` re-marks a LIVE snapshot of this market along its simulated path; it checks
    that ``base`` was generated with this ``seed`` and ``max_expiry_days`` (regenerating it at
    ``base.as_of`` must give its very hash), because a path can only continue from where it
    started.
    """

    seed: int
    max_expiry_days: int = 730
    as_of: datetime | None = None
    symbols: tuple[str, ...] | None = None

    @property
    def name(self) -> str:
        """``simulated`` (:data:`SOURCE`)."""
        return SOURCE

    def snapshot(self, *, mode: SnapshotMode = SnapshotMode.LIVE) -> MarketSnapshot:
        """The synthetic market at ``as_of`` (now when unset), in ``mode``."""
        when = self.as_of if self.as_of is not None else datetime.now(UTC).replace(microsecond=0)
        return generate_market(
            seed=self.seed,
            as_of=when,
            symbols=None if self.symbols is None else list(self.symbols),
            max_expiry_days=self.max_expiry_days,
            mode=mode,
        )

    def refresh(self, base: MarketSnapshot, *, minutes: int) -> MarketSnapshot:
        """``base`` re-marked ``minutes`` later along its path, keeping its overrides.

        Raises
        ------
        ValueError
            When ``base`` was not generated with this seed and ``max_expiry_days``.

        """
        from riskdesk.adapters.simulated.paths import simulate_live  # paths imports this module

        symbols = [u.symbol for u in base.underlyings]
        regenerated = generate_market(
            seed=self.seed, as_of=base.as_of, symbols=symbols, max_expiry_days=self.max_expiry_days
        )
        # the user's rate/dividend/borrow overrides are part of the snapshot: keep them
        regenerated = replace(regenerated, overrides=base.overrides)
        if regenerated.snapshot_hash != base.snapshot_hash:
            raise ValueError(
                f"snapshot was not generated with --seed {self.seed} --max-days "
                f"{self.max_expiry_days} at {base.as_of:%Y-%m-%dT%H:%MZ} (a refreshed snapshot "
                "refreshes from the one its path started at); pass the values it was created with"
            )
        *_, later = simulate_live(
            seed=self.seed,
            start=base.as_of,
            steps=2,
            step_minutes=minutes,
            symbols=symbols,
            max_expiry_days=self.max_expiry_days,
        )
        return replace(later, overrides=base.overrides)

    def describe(self) -> dict[str, Any]:
        """Seed, time, symbols and expiry horizon: what regenerates the same market."""
        return {
            "source": SOURCE,
            "seed": self.seed,
            "as_of": self.as_of,
            "symbols": None if self.symbols is None else list(self.symbols),
            "max_expiry_days": self.max_expiry_days,
        }
