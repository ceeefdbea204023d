"""A small synthetic option book with per-step Greeks, shared by the streaming fakes.

The fake DXLink broker (:mod:`riskdesk.adapters.tastytrade.fake`) and the in-process
:class:`~riskdesk.adapters.simulated.stream.SimulatedSource` stream the same kind of book: four
options per underlying (the at-the-money call and put of the first expiry at least
:data:`MIN_DAYS` out, a call two strikes up and a put two strikes down), a signed size, and the
price, Greeks and spot along a seeded random spot path of :data:`STEPS` steps, priced once with
:func:`riskdesk.pricing.greeks`. Everything depends only on the seed, the instant and
``stream_id`` (which keeps two streams of one seed apart).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

import numpy as np
import numpy.typing as npt

from riskdesk.adapters.simulated.market import generate_market
from riskdesk.domain.instruments import OptionContract, OptionRight, Settlement
from riskdesk.domain.timeutil import expiry_datetime, year_fractions
from riskdesk.pricing import greeks

__all__ = ["MIN_DAYS", "STEPS", "BookOption", "StreamBook", "path_step", "stream_book"]

STEPS: Final = 1024
"""Points of each spot path."""

MIN_DAYS: Final = 14
"""The book's options expire at least this many days after its instant."""

_STEP_VOL: Final = 0.0005
_NAMES: Final = ("price", "delta", "gamma", "theta", "rho", "vega")

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class BookOption:
    """One option of the book: its contract, signed size, entry and per-step values.

    ``values`` holds ``price``, ``delta``, ``gamma``, ``theta``, ``rho``, ``vega`` and ``iv``
    (constant), one entry per path step.
    """

    underlying: str
    contract: OptionContract
    quantity: int
    average_open_price: float
    values: dict[str, FloatArray]


@dataclass(frozen=True, slots=True)
class StreamBook:
    """The options and each underlying's spot path."""

    options: tuple[BookOption, ...]
    spot: dict[str, FloatArray]


def stream_book(
    seed: int, as_of: datetime, symbols: tuple[str, ...], *, stream_id: int
) -> StreamBook:
    """The book of ``seed`` at ``as_of`` on ``symbols`` (see the module docstring).

    Raises
    ------
    ValueError
        When the synthetic market lists no option of an underlying far enough out.

    """
    snapshot = generate_market(
        seed=seed, as_of=as_of, symbols=list(symbols), max_expiry_days=60, strikes_per_expiry=12
    )
    rng = np.random.default_rng(np.random.SeedSequence([seed, stream_id]))
    spots = {u.symbol: float(u.spot) for u in snapshot.underlyings}
    paths: dict[str, FloatArray] = {}
    for symbol in symbols:
        walk = np.exp(np.cumsum(rng.standard_normal(STEPS) * _STEP_VOL))
        paths[symbol] = spots[symbol] * walk / walk[0]
    min_expiry = as_of.date() + timedelta(days=MIN_DAYS)
    options: list[BookOption] = []
    for symbol in symbols:
        quotes = [
            q
            for q in snapshot.options
            if q.contract.underlying == symbol and q.contract.expiry >= min_expiry
        ]
        if not quotes:
            raise ValueError(f"the synthetic market of seed {seed} lists no {symbol} options")
        expiry = min(q.contract.expiry for q in quotes)
        chain = {
            (q.contract.strike, q.contract.right): q for q in quotes if q.contract.expiry == expiry
        }
        strikes = sorted({strike for strike, _ in chain})
        atm = min(range(len(strikes)), key=lambda i: abs(float(strikes[i]) - spots[symbol]))
        picks = (
            (atm, OptionRight.CALL),
            (atm, OptionRight.PUT),
            (min(atm + 2, len(strikes) - 1), OptionRight.CALL),
            (max(atm - 2, 0), OptionRight.PUT),
        )
        T = float(year_fractions(as_of, [expiry_datetime(expiry, settlement=Settlement.PM)])[0])
        for index, right in picks:
            quote = chain.get((strikes[index], right))
            if quote is None:
                continue
            size = int(rng.integers(1, 11)) * (1 if rng.random() < 0.6 else -1)
            mark = float(quote.mark) if quote.mark is not None else 0.0
            entry = round(mark * (1.0 + 0.05 * float(rng.standard_normal())), 2)
            sigma = quote.iv if quote.iv is not None and quote.iv > 0 else 0.25
            computed = greeks(
                model="bsm",
                S=paths[symbol],
                K=float(quote.contract.strike),
                T=T,
                r=snapshot.overrides.rate,
                q=snapshot.overrides.carry_yield(symbol),
                sigma=sigma,
                is_call=right is OptionRight.CALL,
                which=_NAMES,
            )
            values = {name: np.asarray(computed[name], dtype=np.float64) for name in _NAMES}
            values["iv"] = np.full(STEPS, float(sigma))
            options.append(BookOption(symbol, quote.contract, size, entry, values))
    return StreamBook(tuple(options), paths)


def path_step(k: int) -> int:
    """Step of the ``k``-th event of a contract: back and forth over the path."""
    period = 2 * STEPS - 2
    m = k % period
    return m if m < STEPS else period - m
