"""Short-squeeze risk tiers from borrow cost and days to cover, and a seeded metric generator.

A pure engine (no database, clock or logger); the use case
:meth:`riskdesk.risk.market_risk.MarketRegime.squeeze` reads ``short_selling_metrics`` and the
book and calls these.

Tiers
-----
Each measure falls in a band; the position's tier is the **worse** of the two (riskdesk's
bands; a value exactly on an edge belongs to the higher band):

=========  ==========================  =====================
tier       cost to borrow (annual)     days to cover
=========  ==========================  =====================
low        < 5%                        < 2
moderate   5% to < 20%                 2 to < 5
high       20% to < 50%                5 to < 10
extreme    >= 50%                      >= 10
=========  ==========================  =====================

``cost_to_borrow_rate`` is a fraction a year (0.05 is 5%); ``days_to_cover`` is shares short
over average daily volume. When only one of the two is known the tier comes from that one and
the status is ``partial`` (the tier is then a lower bound); when neither is known, or no metric
row is stored, the status is ``missing`` and there is no tier: a missing metric is never
guessed.

What is short equity exposure
-----------------------------
Only positions that lose when the stock squeezes up, with unlimited loss, are scored:

* ``SHORT`` shares: ``|quantity|`` shares short.
* ``SC`` short calls: ``|quantity| x multiplier`` shares, counted at full delta because a
  squeeze drives the calls deep in the money (assignment leaves the writer short the shares).

Long puts (``LP``) are bearish but their loss is capped at the premium, and ``LONG``, ``LC``,
``SP`` gain or lose nothing more in a squeeze than in any rally: they are not scored.
Expired options are not scored either.
"""

from __future__ import annotations

import enum
import hashlib
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import numpy as np

__all__ = [
    "BORROW_BANDS",
    "DAYS_TO_COVER_BANDS",
    "SHORT_EXPOSED_TYPES",
    "ShortMetric",
    "SqueezeTier",
    "borrow_tier",
    "days_to_cover_tier",
    "short_shares",
    "squeeze_tier",
    "synthesize_short_metrics",
]


class SqueezeTier(enum.IntEnum):
    """Squeeze risk tiers, ordered (``max`` is the worse)."""

    LOW = 0
    MODERATE = 1
    HIGH = 2
    EXTREME = 3

    @property
    def label(self) -> str:
        """The lower-case name (``low``, ``moderate``, ``high``, ``extreme``)."""
        return self.name.lower()


BORROW_BANDS: tuple[Decimal, Decimal, Decimal] = (Decimal("0.05"), Decimal("0.20"), Decimal("0.50"))
"""Lower edges of moderate, high and extreme for the annual cost to borrow."""

DAYS_TO_COVER_BANDS: tuple[Decimal, Decimal, Decimal] = (Decimal(2), Decimal(5), Decimal(10))
"""Lower edges of moderate, high and extreme for days to cover."""

SHORT_EXPOSED_TYPES: frozenset[str] = frozenset({"SHORT", "SC"})
"""Position types scored for squeeze risk (module docstring)."""

_DATA_SOURCE = "synthetic"
_QUANTUM = Decimal("0.000001")


def _band(value: Decimal, edges: tuple[Decimal, Decimal, Decimal], name: str) -> SqueezeTier:
    if not value.is_finite() or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value}")
    tier = SqueezeTier.LOW
    uppers = (SqueezeTier.MODERATE, SqueezeTier.HIGH, SqueezeTier.EXTREME)
    for edge, upper in zip(edges, uppers, strict=True):
        if value >= edge:
            tier = upper
    return tier


def borrow_tier(rate: Decimal) -> SqueezeTier:
    """The tier of an annual cost to borrow (a fraction: 0.05 is 5%)."""
    return _band(rate, BORROW_BANDS, "cost_to_borrow_rate")


def days_to_cover_tier(days: Decimal) -> SqueezeTier:
    """The tier of a days-to-cover figure."""
    return _band(days, DAYS_TO_COVER_BANDS, "days_to_cover")


def squeeze_tier(
    cost_to_borrow_rate: Decimal | None, days_to_cover: Decimal | None
) -> tuple[SqueezeTier | None, str]:
    """The worse tier of the two measures and a status: ``ok``, ``partial`` or ``missing``.

    Examples
    --------
    >>> squeeze_tier(Decimal("0.01"), Decimal("5"))
    (<SqueezeTier.HIGH: 2>, 'ok')
    >>> squeeze_tier(None, None)
    (None, 'missing')

    """
    tiers = []
    if cost_to_borrow_rate is not None:
        tiers.append(borrow_tier(cost_to_borrow_rate))
    if days_to_cover is not None:
        tiers.append(days_to_cover_tier(days_to_cover))
    if not tiers:
        return None, "missing"
    return max(tiers), "ok" if len(tiers) == 2 else "partial"


@dataclass(frozen=True, slots=True)
class ShortMetric:
    """One ``short_selling_metrics`` row: a ticker's borrow cost and short interest on a day."""

    ticker: str
    metric_date: date
    cost_to_borrow_rate: Decimal | None
    short_interest_ratio: Decimal | None
    days_to_cover: Decimal | None
    data_source: str | None = _DATA_SOURCE

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types (Decimals as strings)."""

        def dec(value: Decimal | None) -> str | None:
            return None if value is None else format(value.normalize(), "f")

        return {
            "ticker": self.ticker,
            "metric_date": self.metric_date.isoformat(),
            "cost_to_borrow_rate": dec(self.cost_to_borrow_rate),
            "short_interest_ratio": dec(self.short_interest_ratio),
            "days_to_cover": dec(self.days_to_cover),
            "data_source": self.data_source,
        }


def _rng(seed: int, name: str) -> np.random.Generator:
    digest = hashlib.sha256(f"short:{name}".encode()).digest()
    words = [int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4)]
    return np.random.default_rng(np.random.SeedSequence([seed, *words]))


def _dec(value: float) -> Decimal:
    return Decimal(repr(value)).quantize(_QUANTUM)


def synthesize_short_metrics(
    symbols: Iterable[str], sessions: Sequence[date], *, seed: int
) -> list[ShortMetric]:
    """Seeded synthetic borrow cost, short interest and days to cover per symbol and session.

    Each symbol's levels come from the seed and its name only (adding a symbol changes no
    other): most names are easy to borrow (a cost near 0.3-3% a year, 1-4 days to cover), about
    one in five is crowded (10-80%, 4-15 days). Around its level each measure follows a
    mean-reverting log walk (half-life 10 sessions), so tiers change now and then. The short
    interest ratio is the fraction of the float sold short. Values have 6 decimal places.
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    days = sorted(set(sessions))
    if not days:
        raise ValueError("synthesize_short_metrics needs at least one session")
    names = sorted({s.strip().upper() for s in symbols if s.strip()})
    if not names:
        raise ValueError("synthesize_short_metrics needs at least one symbol")
    keep = math.exp(-math.log(2.0) / 10.0)
    out: list[ShortMetric] = []
    for name in names:
        rng = _rng(seed, name)
        crowded = bool(rng.uniform() < 0.2)
        if crowded:
            borrow = math.exp(rng.uniform(math.log(0.10), math.log(0.80)))
            cover = math.exp(rng.uniform(math.log(4.0), math.log(15.0)))
            short_ratio = rng.uniform(0.12, 0.40)
        else:
            borrow = math.exp(rng.uniform(math.log(0.003), math.log(0.03)))
            cover = math.exp(rng.uniform(math.log(1.0), math.log(4.0)))
            short_ratio = rng.uniform(0.01, 0.06)
        walk = np.zeros(3)
        for day in days:
            walk = keep * walk + rng.normal(0.0, (0.08, 0.06, 0.05))
            out.append(
                ShortMetric(
                    ticker=name,
                    metric_date=day,
                    cost_to_borrow_rate=_dec(min(borrow * math.exp(walk[0]), 5.0)),
                    short_interest_ratio=_dec(min(short_ratio * math.exp(walk[2]), 1.0)),
                    days_to_cover=_dec(cover * math.exp(walk[1])),
                )
            )
    return out


def short_shares(position_type: str, quantity: Decimal, multiplier: int) -> Decimal | None:
    """Shares short for squeeze purposes (module docstring), or None when not scored."""
    if position_type == "SHORT":
        return abs(quantity)
    if position_type == "SC":
        return abs(quantity) * multiplier
    return None
