"""Market-side use-case rules that need no database: taking a snapshot, overrides, entries.

* :func:`take_snapshot` -- a snapshot from any :class:`~riskdesk.domain.sources.MarketSource`
  with the user's overrides merged on (the one path ``snapshot create``, ``market synth`` and
  ``market import`` share; :meth:`riskdesk.workbench.Workbench.save_snapshot` stores it);
* :func:`with_overrides` -- the override merge: a given rate replaces the snapshot's, given
  dividend-yield and borrow entries replace the snapshot's entries for those symbols;
* :func:`entry_from_snapshot` -- the chain-as-builder entry rule: buy at the ask, sell at the
  bid (a stock without the side quoted enters at its spot).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from decimal import Decimal

from riskdesk.domain.instruments import Instrument, Stock
from riskdesk.domain.market import MarketOverrides, MarketSnapshot, SnapshotMode
from riskdesk.domain.sources import MarketSource

__all__ = ["entry_from_snapshot", "take_snapshot", "with_overrides"]


def with_overrides(
    snapshot: MarketSnapshot,
    *,
    rate: float | None = None,
    dividend_yield: Mapping[str, float] | None = None,
    borrow_rate: Mapping[str, float] | None = None,
) -> MarketSnapshot:
    """``snapshot`` with the given overrides merged onto its own.

    ``rate`` (when given) replaces the snapshot's rate; each ``dividend_yield`` /
    ``borrow_rate`` entry replaces that symbol's entry and keeps the others; the snapshot's
    discrete dividends are kept. With nothing given, ``snapshot`` itself is returned.

    Raises
    ------
    ValueError
        When a merged value breaks a :class:`~riskdesk.domain.market.MarketOverrides` rule.

    """
    div = dict(dividend_yield or {})
    borrow = dict(borrow_rate or {})
    if rate is None and not div and not borrow:
        return snapshot
    base = snapshot.overrides
    overrides = MarketOverrides(
        rate=base.rate if rate is None else rate,
        dividend_yield={**base.dividend_yield, **div},
        borrow_rate={**base.borrow_rate, **borrow},
        dividends=base.dividends,
    )
    return dataclasses.replace(snapshot, overrides=overrides)


def take_snapshot(
    source: MarketSource,
    *,
    mode: SnapshotMode = SnapshotMode.LIVE,
    rate: float | None = None,
    dividend_yield: Mapping[str, float] | None = None,
    borrow_rate: Mapping[str, float] | None = None,
) -> MarketSnapshot:
    """A snapshot of ``source`` in ``mode``, with the overrides merged (:func:`with_overrides`)."""
    return with_overrides(
        source.snapshot(mode=mode),
        rate=rate,
        dividend_yield=dividend_yield,
        borrow_rate=borrow_rate,
    )


def entry_from_snapshot(
    snapshot: MarketSnapshot, instrument: Instrument, quantity: Decimal
) -> Decimal:
    """The entry price of a leg taken from the chain: the ask to buy, the bid to sell.

    A stock without that side quoted enters at its spot.

    Raises
    ------
    LookupError
        When the snapshot has no quote for ``instrument``.
    ValueError
        When the option's quote lacks the side the trade needs.

    """
    if isinstance(instrument, Stock):
        und = snapshot.underlying(instrument.symbol)
        side = und.ask if quantity > 0 else und.bid
        return side if side is not None else und.spot
    quote = snapshot.option_quote(instrument)
    if quote is None:
        raise LookupError(f"snapshot has no quote for {instrument.key}")
    side = quote.ask if quantity > 0 else quote.bid
    if side is None:
        raise ValueError(
            f"{instrument.key} has no {'ask' if quantity > 0 else 'bid'} in the snapshot"
        )
    return side
