"""Helpers of the paper-desk integration tests, and the worker their subprocesses run.

Imported by the tests (markets, snapshots moved in time or price, desks on a pinned clock)
and run as a script by the concurrency and crash tests (the market comes pickled, see
:func:`save_market`)::

    python _trading_worker.py '{"mode": "...", "url": "...", ...}'

Modes (every worker opens the database itself and prints one JSON line per result):

* ``submit`` -- wait at the barrier file ``go``, then submit one market order for ``account``
  with ``key`` (None: no key) and print ``{"order_id", "replayed", "status"}``;
* ``crash_after_commit`` -- submit one market order with a hook that SIGKILLs the process as
  soon as the order is committed (before any fill);
* ``loop`` -- submit ``count`` market orders one after another (printing each order id),
  until the parent kills the process.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import pickle
import signal
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from riskdesk.domain.instruments import OptionRight
from riskdesk.domain.market import MarketSnapshot, OptionQuote, UnderlyingQuote
from riskdesk.domain.occ import format_occ
from riskdesk.store import Database
from riskdesk.trading.desk import DeskHooks, OrderTicket, PaperDesk, StaticMarket, TicketLeg
from riskdesk.trading.model import Side

AS_OF = datetime(2025, 3, 4, 15, 0, tzinfo=UTC)
"""A Tuesday, 10:00 in New York: the synthetic SPY chain lists that week's dailies."""

SEED = 11


@functools.cache
def base_market() -> MarketSnapshot:
    """The synthetic SPY market at :data:`AS_OF` (expiries up to a week out)."""
    from riskdesk.adapters.simulated import generate_market

    return generate_market(
        seed=SEED, as_of=AS_OF, symbols=["SPY"], max_expiry_days=7, strikes_per_expiry=21
    )


def spot(snapshot: MarketSnapshot, symbol: str = "SPY") -> Decimal:
    """The spot of ``symbol`` in ``snapshot``."""
    return next(u.spot for u in snapshot.underlyings if u.symbol == symbol)


def pick(
    snapshot: MarketSnapshot,
    right: OptionRight,
    *,
    moneyness: Decimal = Decimal(1),
    expiry_index: int = 0,
    underlying: str = "SPY",
) -> OptionQuote:
    """A two-sided quote of ``right`` on the ``expiry_index``-th expiry, strike nearest
    ``moneyness`` x spot."""
    s = spot(snapshot, underlying)
    quotes = [
        q
        for q in snapshot.options
        if q.contract.underlying == underlying
        and q.contract.right is right
        and q.bid is not None
        and q.ask is not None
        and q.bid > 0
    ]
    expiries = sorted({q.contract.expiry for q in quotes})
    chosen = [q for q in quotes if q.contract.expiry == expiries[expiry_index]]
    return min(chosen, key=lambda q: abs(q.contract.strike - moneyness * s))


def occ(quote: OptionQuote) -> str:
    """The OCC symbol of ``quote``."""
    return format_occ(quote.contract)


def retimed(
    snapshot: MarketSnapshot, at: datetime, *, factor: Decimal = Decimal(1)
) -> MarketSnapshot:
    """``snapshot`` quoted at ``at``, every underlying's spot, bid and ask times ``factor``."""

    def scale(value: Decimal | None) -> Decimal | None:
        return None if value is None else (value * factor).quantize(Decimal("0.01"))

    underlyings = tuple(
        dataclasses.replace(
            u,
            spot=(u.spot * factor).quantize(Decimal("0.0001")),
            bid=scale(u.bid),
            ask=scale(u.ask),
            last=scale(u.last),
            provider_timestamp=at,
            receive_timestamp=at,
        )
        for u in snapshot.underlyings
    )
    options = tuple(
        dataclasses.replace(q, provider_timestamp=at, receive_timestamp=at)
        for q in snapshot.options
    )
    return dataclasses.replace(snapshot, as_of=at, underlyings=underlyings, options=options)


def with_quote(
    snapshot: MarketSnapshot, symbol: str, *, bid: Decimal, ask: Decimal
) -> MarketSnapshot:
    """``snapshot`` with the option ``symbol`` quoted ``bid`` / ``ask``."""
    options = tuple(
        dataclasses.replace(q, bid=bid, ask=ask, mark=(bid + ask) / 2)
        if format_occ(q.contract) == symbol
        else q
        for q in snapshot.options
    )
    return dataclasses.replace(snapshot, options=options)


def with_vix(snapshot: MarketSnapshot, level: Decimal) -> MarketSnapshot:
    """``snapshot`` holding a VIX underlying at ``level``."""
    first = snapshot.underlyings[0]
    vix = UnderlyingQuote(
        symbol="VIX",
        spot=level,
        bid=level - Decimal("0.05"),
        ask=level + Decimal("0.05"),
        last=level,
        provider_timestamp=first.provider_timestamp,
        receive_timestamp=first.receive_timestamp,
    )
    return dataclasses.replace(snapshot, underlyings=(*snapshot.underlyings, vix))


def as_index(snapshot: MarketSnapshot, root: str = "SPX") -> MarketSnapshot:
    """``snapshot``'s SPY chain renamed to the cash-settled index ``root`` (European)."""
    from riskdesk.domain.instruments import ExerciseStyle

    underlyings = tuple(dataclasses.replace(u, symbol=root) for u in snapshot.underlyings)
    options = tuple(
        dataclasses.replace(
            q,
            contract=dataclasses.replace(q.contract, underlying=root, style=ExerciseStyle.EUROPEAN),
        )
        for q in snapshot.options
    )
    overrides = snapshot.overrides
    return dataclasses.replace(
        snapshot, underlyings=underlyings, options=options, overrides=overrides
    )


class Clock:
    """A pinned, movable clock."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        """Move the clock ``seconds`` forward and return the new time."""
        self.now = self.now + timedelta(seconds=seconds)
        return self.now


def ticket(symbol: str, side: Side = Side.BUY, quantity: int = 1, **kwargs: Any) -> OrderTicket:
    """A one-leg ticket (market by default)."""
    return OrderTicket(legs=(TicketLeg(symbol, side),), quantity=quantity, **kwargs)


# --------------------------------------------------------------------------- the worker


def _wait(go: str | None) -> None:
    if go is None:
        return
    deadline = time.monotonic() + 60
    while not Path(go).exists():
        if time.monotonic() > deadline:
            raise SystemExit("barrier never opened")
        time.sleep(0.002)


def save_market(path: Path) -> str:
    """Pickle :func:`base_market` to ``path`` (workers load it instead of generating it)."""
    path.write_bytes(pickle.dumps(base_market()))
    return str(path)


def _desk(args: dict[str, Any], hooks: DeskHooks | None = None) -> PaperDesk:
    market = pickle.loads(Path(args["market"]).read_bytes())
    clock = Clock(AS_OF + timedelta(seconds=1))
    return PaperDesk(
        Database.from_url(args["url"]), market=StaticMarket(market), clock=clock, hooks=hooks
    )


def _kill_self(_: uuid.UUID) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _emit(payload: dict[str, Any]) -> None:
    print(json.dumps(payload), flush=True)


def main(argv: list[str]) -> int:
    """Run one worker (see the module docstring)."""
    args: dict[str, Any] = json.loads(argv[1])
    mode = args["mode"]
    symbol: str = args["symbol"]
    if mode == "submit":
        desk = _desk(args)
        desk.preview(args["account"], ticket(symbol))  # warm up, as a long-lived process is
        _wait(args.get("go"))
        result = desk.submit(args["account"], ticket(symbol), idempotency_key=args.get("key"))
        _emit(
            {
                "order_id": str(result.order.id),
                "replayed": result.replayed,
                "status": result.order.status,
            }
        )
        return 0
    if mode == "crash_after_commit":
        hook: Callable[[uuid.UUID], None] = _kill_self
        desk = _desk(args, DeskHooks(after_order_committed=hook))
        desk.submit(args["account"], ticket(symbol), idempotency_key=args.get("key"))
        return 3  # never reached: the hook kills the process
    if mode == "loop":
        desk = _desk(args)
        _emit({"ready": True})
        for i in range(int(args["count"])):
            side = Side.BUY if i % 2 == 0 else Side.SELL
            result = desk.submit(args["account"], ticket(symbol, side))
            _emit({"order_id": str(result.order.id), "status": result.order.status})
        return 0
    raise SystemExit(f"unknown worker mode {mode!r}")


if __name__ == "__main__":
    sys.exit(main(sys.argv))
