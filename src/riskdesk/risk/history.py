"""A seeded synthetic daily price history with a factor structure and volatility clustering.

:func:`synthesize_history` returns plain data (:class:`HistoryBar` rows), with no database,
clock or logger inside: the use case :class:`riskdesk.risk.history_usecases.PriceHistory`
stores them in ``market_data_cache``.

Model
-----
Daily log returns on the NYSE calendar (``exchange_calendars`` ``XNYS`` sessions: no weekends,
no exchange holidays) follow a linear factor model::

    r_i,t = sum_k b_ik * f_k,t + e_i,t

with five latent factors :data:`FACTORS` (``market`` plus the styles ``value``, ``size``,
``momentum`` and ``quality``). The market factor has GARCH(1,1) variance
``s2_t = omega + alpha * f_t-1**2 + beta * s2_t-1`` (alpha 0.12, beta 0.85, a long-run
daily volatility of 1.05%, about 16.7% a year) so squared returns are autocorrelated
(volatility clustering); each idiosyncratic term ``e_i,t`` has its own GARCH(1,1) (alpha 0.06,
beta 0.91). Innovations are Student-t with 12 degrees of freedom scaled to unit variance
(fat-ish tails; the GARCH fourth moment stays finite). Style factors are i.i.d. t(12) with a
daily volatility of 0.55%.

Loadings
--------
The factor ETFs of seed 002 (:data:`FACTOR_ETFS`: SPY, VTV, VUG, MTUM, QUAL, SIZE, USMV) load
mostly on the market (SPY is the market factor plus a tiny tracking error), so their
realised correlations with SPY are about 0.75-0.94, as real ones are. A stock's market beta is in
:data:`BETA_RANGE`; a symbol not described by a :class:`SymbolSpec` gets its loadings, its
idiosyncratic volatility and its last close from its name alone (the same in every seed).

Determinism
-----------
The factor shocks come from the seed; each symbol's idiosyncratic shocks (and its open, high,
low and volume noise) from the seed and the SHA-256 of its name. The same seed, symbols and
dates therefore give identical bars whatever order the symbols are given in, and adding a
symbol changes no other symbol's bars.

Prices
------
Each path is scaled so that its last close equals the symbol's ``last_close`` (the reference
spot of the synthetic market for the demo), rounded to cents; a day's open is the previous
close moved by an overnight gap, the high and low bracket open and close (``low <= open,
close <= high``; high rounded up and low down to the cent) and the volume is a positive
integer that rises with the size of the day's move.

The rate factor :data:`RATE_SYMBOL` (``US10Y``, like Yahoo's ``^TNX``) is the 10-year Treasury
yield in percent: a mean-reverting (Ornstein-Uhlenbeck) walk around 4% with daily moves of
about 6 basis points, half-life of about six months, weakly correlated with the market factor,
rounded to 3 decimals. It has no volume (``None``).

The volatility index :data:`VIX_SYMBOL` (``VIX``, like Yahoo's ``^VIX``) is tied to the market
factor's GARCH variance: on each session it is the annualised expected market volatility over
the next 21 sessions (the GARCH forecast ``LR + (a+b)**(k-1) * (s2_t+1 - LR)`` averaged over
``k = 1..21``, times ``sqrt(252)``, in percent) times a volatility risk premium of 1.10, times
``exp(x_t)`` where ``x_t`` is a mean-reverting (AR(1), half-life 10 sessions) log deviation
whose shocks are -0.6 correlated with the market shocks (volatility rises when the market
falls). It is strictly positive (a product of positive terms, floored at 0.01), clusters with
the market's volatility and reverts to about 17 (range about 10-35 over years). It has no volume (``None``), like the index.
QQQ and IWM (seed 001's correlation basket, :data:`REGIME_ETFS` with SPY) have their own
loadings (:data:`INDEX_ETF_SPECS`) when no spec is given.
"""

from __future__ import annotations

import functools
import hashlib
import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal
from types import MappingProxyType

import numpy as np
import numpy.typing as npt

from riskdesk.domain.timeutil import CALENDAR_FIRST_DATE, CALENDAR_LAST_DATE

__all__ = [
    "BETA_RANGE",
    "FACTORS",
    "FACTOR_ETFS",
    "FACTOR_ETF_SPECS",
    "INDEX_ETF_SPECS",
    "RATE_SYMBOL",
    "REGIME_ETFS",
    "SYNTHETIC_SOURCE",
    "VIX_SYMBOL",
    "HistoryBar",
    "SymbolSpec",
    "SyntheticHistory",
    "default_spec",
    "last_sessions",
    "synthesize_history",
    "trading_sessions",
]

FACTORS: tuple[str, ...] = ("market", "value", "size", "momentum", "quality")
"""The latent factors, in the order of :attr:`SymbolSpec.loadings`."""

FACTOR_ETFS: tuple[str, ...] = ("SPY", "VTV", "VUG", "MTUM", "QUAL", "SIZE", "USMV")
"""Seed 002's factor ETF proxies: market, value, growth, momentum, quality, size, low vol."""

RATE_SYMBOL = "US10Y"
"""The 10-year Treasury yield in percent (the rate factor), like Yahoo's ``^TNX``."""

VIX_SYMBOL = "VIX"
"""The CBOE volatility index level (annualised percent), like Yahoo's ``^VIX``."""

REGIME_ETFS: tuple[str, ...] = ("SPY", "QQQ", "IWM")
"""Seed 001's correlation basket: S&P 500, Nasdaq-100 and Russell 2000 ETFs."""

SYNTHETIC_SOURCE = "synthetic"
"""``data_source`` of every synthetic bar."""

BETA_RANGE: tuple[float, float] = (0.6, 1.6)
"""Range of the market loading of a stock whose spec is derived from its name."""

MARKET_DAILY_VOL = 0.0105
"""Long-run daily volatility of the market factor (about 16.7% a year)."""

STYLE_DAILY_VOL = 0.0055
"""Daily volatility of each style factor."""

_MARKET_GARCH = (0.12, 0.85)
_IDIO_GARCH = (0.06, 0.91)
_T_DOF = 12.0

_YIELD_MEAN = 4.0
_YIELD_DAILY_MOVE = 0.06
_YIELD_REVERSION = math.log(2.0) / 126.0
_YIELD_MARKET_CORR = 0.25
_YIELD_FLOOR = 0.25

_VIX_PREMIUM = 1.10
_VIX_HORIZON = 21
_VIX_PERSISTENCE = math.exp(-math.log(2.0) / 10.0)
_VIX_NOISE = 0.05
_VIX_MARKET_CORR = -0.6
_TRADING_DAYS = 252

_CENT = Decimal("0.01")
_YIELD_QUANTUM = Decimal("0.001")

_MAX_SYMBOL_CHARS = 32
"""Longest ticker (the ``market_data_cache.ticker`` column)."""


@dataclass(frozen=True, slots=True)
class SymbolSpec:
    """How one symbol's returns load on the factors, and where its price ends.

    ``loadings`` are the ``b_ik`` of :data:`FACTORS` in that order (``loadings[0]`` is the
    market beta); ``idio_vol`` is the long-run daily volatility of the idiosyncratic term
    (0.015 = 1.5% a day); ``last_close`` the close of the last session (> 0); ``volume`` the
    typical daily volume in shares.
    """

    loadings: tuple[float, float, float, float, float]
    idio_vol: float
    last_close: float
    volume: int = 5_000_000

    def __post_init__(self) -> None:
        if len(self.loadings) != len(FACTORS):
            raise ValueError(f"SymbolSpec.loadings needs {len(FACTORS)} values ({FACTORS})")
        if not all(math.isfinite(b) for b in self.loadings):
            raise ValueError(f"SymbolSpec.loadings must be finite, got {self.loadings}")
        if not (math.isfinite(self.idio_vol) and 0 < self.idio_vol < 0.2):
            raise ValueError(f"SymbolSpec.idio_vol must be in (0, 0.2) a day, got {self.idio_vol}")
        if not (math.isfinite(self.last_close) and 0.01 <= self.last_close < 1e9):
            raise ValueError(f"SymbolSpec.last_close must be in [0.01, 1e9), got {self.last_close}")
        if self.volume <= 0:
            raise ValueError(f"SymbolSpec.volume must be > 0, got {self.volume}")

    @property
    def beta(self) -> float:
        """The market loading."""
        return self.loadings[0]


FACTOR_ETF_SPECS: Mapping[str, SymbolSpec] = MappingProxyType(
    {
        "SPY": SymbolSpec((1.0, 0.0, 0.0, 0.0, 0.0), 0.0006, 590.0, 70_000_000),
        "VTV": SymbolSpec((0.90, 0.75, 0.05, -0.15, 0.0), 0.0030, 175.0, 3_000_000),
        "VUG": SymbolSpec((1.10, -0.75, -0.05, 0.20, 0.10), 0.0032, 410.0, 1_200_000),
        "MTUM": SymbolSpec((1.00, -0.20, 0.0, 0.95, 0.0), 0.0038, 205.0, 1_000_000),
        "QUAL": SymbolSpec((0.97, -0.10, -0.15, 0.05, 0.70), 0.0030, 180.0, 1_500_000),
        "SIZE": SymbolSpec((0.95, 0.25, 0.80, 0.0, 0.0), 0.0036, 150.0, 50_000),
        "USMV": SymbolSpec((0.70, 0.20, 0.0, 0.0, 0.45), 0.0040, 92.0, 2_000_000),
    }
)
"""Loadings of the factor ETFs (realised correlation with SPY about 0.75-0.94)."""

INDEX_ETF_SPECS: Mapping[str, SymbolSpec] = MappingProxyType(
    {
        "QQQ": SymbolSpec((1.12, -0.55, -0.10, 0.30, 0.20), 0.0035, 510.0, 45_000_000),
        "IWM": SymbolSpec((1.15, 0.30, 0.85, 0.0, -0.20), 0.0045, 220.0, 30_000_000),
    }
)
"""Loadings of QQQ (growth tilt) and IWM (small-cap tilt), used when no spec is given."""


@dataclass(frozen=True, slots=True)
class HistoryBar:
    """One daily OHLCV bar of ``ticker`` (a ``market_data_cache`` row).

    Prices are Decimals (cents for prices, thousandths of a percent for the yield);
    ``open``/``high``/``low``/``volume`` may be None (an imported file without them).
    """

    ticker: str
    date: date
    open: Decimal | None
    high: Decimal | None
    low: Decimal | None
    close: Decimal
    volume: int | None
    data_source: str = SYNTHETIC_SOURCE

    def to_dict(self) -> dict[str, object]:
        """Plain dict keyed like the ``market_data_cache`` columns."""
        return {
            "ticker": self.ticker,
            "date": self.date,
            "open": self.open,
            "high": self.high,
            "low": self.low,
            "close": self.close,
            "volume": self.volume,
            "data_source": self.data_source,
        }


@dataclass(frozen=True, slots=True)
class SyntheticHistory:
    """The output of :func:`synthesize_history`.

    ``bars`` are ordered by ticker, then date ascending; ``specs`` are the specs used per
    symbol (the yield has none); ``seed`` and ``sessions`` say what was generated.
    """

    seed: int
    sessions: tuple[date, ...]
    bars: tuple[HistoryBar, ...]
    specs: Mapping[str, SymbolSpec] = field(default_factory=dict)

    def rows_per_symbol(self) -> dict[str, int]:
        """How many bars each symbol has."""
        counts: dict[str, int] = {}
        for bar in self.bars:
            counts[bar.ticker] = counts.get(bar.ticker, 0) + 1
        return counts


# -- calendar -----------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _xnys_sessions() -> tuple[date, ...]:
    """Every XNYS session between the calendar bounds of :mod:`riskdesk.domain.timeutil`."""
    import exchange_calendars as xcals

    with warnings.catch_warnings():
        # exchange_calendars 4.x on pandas 3 warns inside its own constructor (see timeutil).
        warnings.simplefilter("ignore")
        calendar = xcals.get_calendar(
            "XNYS", start=CALENDAR_FIRST_DATE.isoformat(), end=CALENDAR_LAST_DATE.isoformat()
        )
        days = calendar.sessions.to_numpy().astype("datetime64[D]")
    return tuple(d.item() for d in days)


@functools.lru_cache(maxsize=1)
def _xnys_days() -> npt.NDArray[np.datetime64]:
    """:func:`_xnys_sessions` as a read-only ``datetime64[D]`` array, built once.

    Converting the calendar's dates to an array on every call cost ~15 ms (it ran on every
    request through :func:`last_sessions`); the sessions never change within a process.
    """
    days = np.array(_xnys_sessions(), dtype="datetime64[D]")
    days.setflags(write=False)
    return days


def _check_range(name: str, day: date) -> None:
    if not CALENDAR_FIRST_DATE <= day <= CALENDAR_LAST_DATE:
        raise ValueError(
            f"{name} {day.isoformat()} is outside the trading calendar "
            f"({CALENDAR_FIRST_DATE.isoformat()} to {CALENDAR_LAST_DATE.isoformat()})"
        )


def trading_sessions(start: date, end: date) -> tuple[date, ...]:
    """NYSE sessions from ``start`` to ``end`` inclusive (weekends and holidays excluded)."""
    _check_range("start", start)
    _check_range("end", end)
    if end < start:
        raise ValueError(f"end {end.isoformat()} is before start {start.isoformat()}")
    sessions = _xnys_sessions()
    days = _xnys_days()
    lo = int(np.searchsorted(days, np.datetime64(start, "D"), side="left"))
    hi = int(np.searchsorted(days, np.datetime64(end, "D"), side="right"))
    return sessions[lo:hi]


def last_sessions(end: date, count: int) -> tuple[date, ...]:
    """The last ``count`` NYSE sessions on or before ``end``."""
    if count < 2:
        raise ValueError(f"count must be >= 2 sessions, got {count}")
    _check_range("end", end)
    sessions = _xnys_sessions()
    days = _xnys_days()
    hi = int(np.searchsorted(days, np.datetime64(end, "D"), side="right"))
    if hi < count:
        raise ValueError(
            f"only {hi} sessions on or before {end.isoformat()} in the trading calendar; "
            f"asked for {count}"
        )
    return sessions[hi - count : hi]


# -- random streams -----------------------------------------------------------------------------


def _name_words(name: str) -> list[int]:
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    return [int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4)]


def _rng(seed: int, name: str) -> np.random.Generator:
    """A generator derived from ``seed`` and ``name`` only."""
    return np.random.default_rng(np.random.SeedSequence([seed, *_name_words(name)]))


def _t_shocks(rng: np.random.Generator, size: int | tuple[int, ...]) -> npt.NDArray[np.float64]:
    """Student-t shocks scaled to unit variance."""
    scale = math.sqrt((_T_DOF - 2.0) / _T_DOF)
    return np.asarray(rng.standard_t(_T_DOF, size=size), dtype=np.float64) * scale


def _garch(
    shocks: npt.NDArray[np.float64], long_run_vol: float, params: tuple[float, float]
) -> npt.NDArray[np.float64]:
    """Returns ``s_t * z_t`` of a GARCH(1,1) with the given long-run volatility."""
    alpha, beta = params
    long_run = long_run_vol**2
    omega = long_run * (1.0 - alpha - beta)
    out = np.empty_like(shocks)
    variance = long_run
    for t, z in enumerate(shocks):
        value = math.sqrt(variance) * float(z)
        out[t] = value
        variance = omega + alpha * value * value + beta * variance
    return out


def default_spec(symbol: str) -> SymbolSpec:
    """The spec of a stock known only by name: loadings, volatility and price from its hash.

    The market beta is uniform in :data:`BETA_RANGE`, style loadings in [-0.4, 0.4], the
    idiosyncratic daily volatility in [1%, 2.2%] and the last close log-uniform in [$20, $400].
    """
    rng = _rng(0, f"spec:{symbol}")
    beta = float(rng.uniform(*BETA_RANGE))
    styles = rng.uniform(-0.4, 0.4, size=4)
    idio = float(rng.uniform(0.010, 0.022))
    close = float(math.exp(rng.uniform(math.log(20.0), math.log(400.0))))
    volume = int(math.exp(rng.uniform(math.log(1e6), math.log(4e7))))
    loadings = (beta, float(styles[0]), float(styles[1]), float(styles[2]), float(styles[3]))
    return SymbolSpec(loadings, idio, round(close, 2), volume)


def _check_symbols(symbols: Iterable[str]) -> tuple[str, ...]:
    unique: set[str] = set()
    for symbol in symbols:
        if not isinstance(symbol, str) or not symbol or symbol != symbol.strip().upper():
            raise ValueError(f"symbol {symbol!r} must be a non-empty upper-case ticker")
        if len(symbol) > _MAX_SYMBOL_CHARS:
            raise ValueError(f"symbol {symbol[:40]!r} is longer than {_MAX_SYMBOL_CHARS} chars")
        unique.add(symbol)
    if not unique:
        raise ValueError("synthesize_history needs at least one symbol")
    return tuple(sorted(unique))


# -- generator ----------------------------------------------------------------------------------


def synthesize_history(
    symbols: Iterable[str],
    *,
    start: date,
    end: date,
    seed: int,
    specs: Mapping[str, SymbolSpec] | None = None,
) -> SyntheticHistory:
    """A seeded synthetic daily history of ``symbols`` on the NYSE sessions in [start, end].

    Parameters
    ----------
    symbols : Iterable[str]
        Upper-case tickers; duplicates are dropped and order does not matter.
        :data:`RATE_SYMBOL` (``US10Y``) gives the 10-year yield in percent and
        :data:`VIX_SYMBOL` (``VIX``) the volatility index tied to the market's variance.
    start, end : date
        First and last calendar day; only XNYS sessions between them get bars (at least 2).
    seed : int
        Non-negative seed of the factor shocks and, with each name, of its own shocks.
    specs : Mapping[str, SymbolSpec] or None
        Per-symbol overrides; else :data:`FACTOR_ETF_SPECS` for the factor ETFs and
        :func:`default_spec` for any other name.

    Returns
    -------
    SyntheticHistory
        Bars with ``data_source="synthetic"``, ordered by ticker then date.

    Examples
    --------
    >>> h = synthesize_history(["SPY"], start=date(2026, 1, 2), end=date(2026, 1, 9), seed=7)
    >>> [b.date.isoformat() for b in h.bars][:2], str(h.bars[-1].close)
    (['2026-01-02', '2026-01-05'], '590.00')

    """
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    names = _check_symbols(symbols)
    sessions = trading_sessions(start, end)
    if len(sessions) < 2:
        raise ValueError(
            f"{start.isoformat()} to {end.isoformat()} holds {len(sessions)} NYSE session(s); "
            "need at least 2"
        )
    count = len(sessions)
    factor_rng = _rng(seed, "factors")
    market_z = _t_shocks(factor_rng, count)
    style_z = _t_shocks(factor_rng, (count, len(FACTORS) - 1))
    factors = np.empty((count, len(FACTORS)), dtype=np.float64)
    factors[:, 0] = _garch(market_z, MARKET_DAILY_VOL, _MARKET_GARCH)
    factors[:, 1:] = style_z * STYLE_DAILY_VOL
    overrides = dict(specs or {})
    used: dict[str, SymbolSpec] = {}
    bars: list[HistoryBar] = []
    for name in names:
        rng = _rng(seed, name)
        if name == RATE_SYMBOL:
            bars.extend(_yield_bars(rng, sessions, market_z))
            continue
        if name == VIX_SYMBOL:
            bars.extend(_vix_bars(rng, sessions, market_z, factors[:, 0]))
            continue
        spec = (
            overrides.get(name)
            or FACTOR_ETF_SPECS.get(name)
            or INDEX_ETF_SPECS.get(name)
            or default_spec(name)
        )
        used[name] = spec
        bars.extend(_price_bars(name, spec, rng, sessions, factors))
    return SyntheticHistory(
        seed=seed, sessions=sessions, bars=tuple(bars), specs=MappingProxyType(used)
    )


def _cents(value: float, rounding: str = ROUND_HALF_EVEN) -> Decimal:
    return Decimal(repr(value)).quantize(_CENT, rounding=rounding)


def _price_bars(
    name: str,
    spec: SymbolSpec,
    rng: np.random.Generator,
    sessions: Sequence[date],
    factors: npt.NDArray[np.float64],
) -> list[HistoryBar]:
    count = len(sessions)
    idio = _garch(_t_shocks(rng, count), spec.idio_vol, _IDIO_GARCH)
    returns = factors @ np.asarray(spec.loadings, dtype=np.float64) + idio
    cumulative = np.cumsum(returns)
    closes = spec.last_close * np.exp(cumulative - cumulative[-1])
    previous = np.concatenate([[closes[0] * math.exp(-float(returns[0]))], closes[:-1]])
    day_vol = np.sqrt(spec.beta**2 * MARKET_DAILY_VOL**2 + spec.idio_vol**2)
    gaps = rng.normal(0.0, 0.3 * day_vol, size=count)
    opens = previous * np.exp(gaps)
    up = np.abs(rng.normal(0.0, 0.5 * day_vol, size=count))
    down = np.abs(rng.normal(0.0, 0.5 * day_vol, size=count))
    highs = np.maximum(opens, closes) * np.exp(up)
    lows = np.minimum(opens, closes) * np.exp(-down)
    surprise = np.abs(returns) / day_vol
    volumes = spec.volume * np.exp(0.35 * surprise + rng.normal(0.0, 0.25, size=count))
    bars: list[HistoryBar] = []
    for t, day in enumerate(sessions):
        close = max(_cents(float(closes[t])), _CENT)
        open_ = max(_cents(float(opens[t])), _CENT)
        high = max(_cents(float(highs[t]), ROUND_CEILING), open_, close)
        low = max(min(_cents(float(lows[t]), ROUND_FLOOR), open_, close), _CENT)
        bars.append(
            HistoryBar(
                ticker=name,
                date=day,
                open=open_,
                high=high,
                low=low,
                close=close,
                volume=max(int(volumes[t]), 1),
            )
        )
    return bars


def _yield_bars(
    rng: np.random.Generator, sessions: Sequence[date], market_z: npt.NDArray[np.float64]
) -> list[HistoryBar]:
    count = len(sessions)
    own = rng.normal(size=count)
    shocks = _YIELD_MARKET_CORR * market_z + math.sqrt(1 - _YIELD_MARKET_CORR**2) * own
    levels = np.empty(count, dtype=np.float64)
    level = _YIELD_MEAN + float(rng.normal(0.0, 0.3))
    for t in range(count):
        level += _YIELD_REVERSION * (_YIELD_MEAN - level) + _YIELD_DAILY_MOVE * float(shocks[t])
        level = max(level, _YIELD_FLOOR)
        levels[t] = level
    previous = np.concatenate([[levels[0]], levels[:-1]])
    opens = previous + rng.normal(0.0, 0.3 * _YIELD_DAILY_MOVE, size=count)
    up = np.abs(rng.normal(0.0, 0.4 * _YIELD_DAILY_MOVE, size=count))
    down = np.abs(rng.normal(0.0, 0.4 * _YIELD_DAILY_MOVE, size=count))
    quantum = _YIELD_QUANTUM
    bars: list[HistoryBar] = []
    for t, day in enumerate(sessions):
        close = max(Decimal(repr(float(levels[t]))).quantize(quantum), quantum)
        open_ = max(Decimal(repr(float(max(opens[t], _YIELD_FLOOR)))).quantize(quantum), quantum)
        high_value = max(float(opens[t]), float(levels[t])) + float(up[t])
        low_value = min(float(opens[t]), float(levels[t])) - float(down[t])
        high = max(
            Decimal(repr(high_value)).quantize(quantum, rounding=ROUND_CEILING), open_, close
        )
        low_raw = Decimal(repr(max(low_value, _YIELD_FLOOR / 2))).quantize(
            quantum, rounding=ROUND_FLOOR
        )
        low = max(min(low_raw, open_, close), quantum)
        bars.append(
            HistoryBar(
                ticker=RATE_SYMBOL,
                date=day,
                open=open_,
                high=high,
                low=low,
                close=close,
                volume=None,
            )
        )
    return bars


def _vix_levels(
    rng: np.random.Generator,
    market_z: npt.NDArray[np.float64],
    market_returns: npt.NDArray[np.float64],
) -> npt.NDArray[np.float64]:
    """The VIX level on each session (module docstring), strictly positive."""
    alpha, beta = _MARKET_GARCH
    persistence = alpha + beta
    long_run = MARKET_DAILY_VOL**2
    omega = long_run * (1.0 - persistence)
    count = len(market_returns)
    horizon = np.arange(_VIX_HORIZON, dtype=np.float64)
    weight = float(np.mean(persistence**horizon))
    own = rng.normal(size=count)
    shocks = _VIX_MARKET_CORR * market_z + math.sqrt(1.0 - _VIX_MARKET_CORR**2) * own
    levels = np.empty(count, dtype=np.float64)
    variance = long_run
    deviation = float(rng.normal(0.0, _VIX_NOISE))
    for t in range(count):
        value = float(market_returns[t])
        variance = omega + alpha * value * value + beta * variance
        expected = long_run + weight * (variance - long_run)
        deviation = _VIX_PERSISTENCE * deviation + _VIX_NOISE * float(shocks[t])
        levels[t] = 100.0 * math.sqrt(_TRADING_DAYS * expected) * _VIX_PREMIUM * math.exp(deviation)
    return levels


def _vix_bars(
    rng: np.random.Generator,
    sessions: Sequence[date],
    market_z: npt.NDArray[np.float64],
    market_returns: npt.NDArray[np.float64],
) -> list[HistoryBar]:
    count = len(sessions)
    levels = _vix_levels(rng, market_z, market_returns)
    previous = np.concatenate([[levels[0]], levels[:-1]])
    opens = previous * np.exp(rng.normal(0.0, 0.02, size=count))
    highs = np.maximum(opens, levels) * np.exp(np.abs(rng.normal(0.0, 0.03, size=count)))
    lows = np.minimum(opens, levels) * np.exp(-np.abs(rng.normal(0.0, 0.03, size=count)))
    bars: list[HistoryBar] = []
    for t, day in enumerate(sessions):
        close = max(_cents(float(levels[t])), _CENT)
        open_ = max(_cents(float(opens[t])), _CENT)
        high = max(_cents(float(highs[t]), ROUND_CEILING), open_, close)
        low = max(min(_cents(float(lows[t]), ROUND_FLOOR), open_, close), _CENT)
        bars.append(
            HistoryBar(
                ticker=VIX_SYMBOL,
                date=day,
                open=open_,
                high=high,
                low=low,
                close=close,
                volume=None,
            )
        )
    return bars
