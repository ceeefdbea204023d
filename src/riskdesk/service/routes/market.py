"""``/v1/market``: the symbols the service offers, option chains and underlying quotes.

Chain reads are hot (a benchmark reads them at 100 requests/s): stored snapshots are
immutable, so loaded :class:`~riskdesk.domain.market.MarketSnapshot` values are kept in a
bounded in-process LRU keyed by snapshot id (:class:`SnapshotCache`, in ``state.extras``).
The underlying quote of a symbol is served from the live-quote cache when warm; the snapshot
routes fill it (and publish on ``market:{SYMBOL}``) whenever they store a snapshot.
"""

from __future__ import annotations

import functools
import threading
import uuid
from collections import OrderedDict
from datetime import date
from typing import Annotated, Any

import anyio.from_thread
from fastapi import APIRouter, Path, Query, Response

from riskdesk.adapters.simulated.config import DEFAULT_CONFIG
from riskdesk.adapters.simulated.market import underlying_params
from riskdesk.domain.caller import Caller
from riskdesk.domain.market import MarketSnapshot, SnapshotMode
from riskdesk.service.deps import State, ViewerCaller
from riskdesk.service.problems import problem_responses
from riskdesk.service.schemas import (
    ChainOut,
    ChainRowOut,
    QuoteOut,
    SymbolOut,
    decimal_text,
)
from riskdesk.service.state import ServiceState
from riskdesk.store import workbench as repo
from riskdesk.workbench.cache import SnapshotCache
from riskdesk.workbench.usecases import SnapshotRef, Workbench

__all__ = [
    "QUOTE_TTL_SECONDS",
    "announce_snapshot",
    "cached_snapshot",
    "router",
]

router = APIRouter(tags=["market"])

QUOTE_TTL_SECONDS = 300.0
"""How long a cached underlying quote is served before the newest snapshot is read again."""

_CACHE_KEY = "market.snapshot_cache"
_CHAIN_KEY = "market.chain_bytes"
CHAIN_CACHE_SIZE = 32
"""Serialized chains kept per process (a full SPY chain is a few hundred KB of JSON)."""
_CACHE_LOCK = threading.Lock()

SymbolPath = Annotated[
    str, Path(pattern=r"^[A-Za-z][A-Za-z0-9.\-]{0,15}$", description="Underlying symbol.")
]


def snapshot_cache(state: ServiceState) -> SnapshotCache:
    """The process's snapshot LRU (created on first use)."""
    with _CACHE_LOCK:
        cache = state.extras.get(_CACHE_KEY)
        if not isinstance(cache, SnapshotCache):
            cache = SnapshotCache()
            state.extras[_CACHE_KEY] = cache
        return cache


def cached_snapshot(
    state: ServiceState, caller: Caller, snapshot_id: uuid.UUID
) -> tuple[str, MarketSnapshot]:
    """``(hash, snapshot)`` of a stored snapshot, from the LRU or loaded (then kept)."""
    cache = snapshot_cache(state)
    hit = cache.get(snapshot_id)
    if hit is not None:
        return hit
    ref = Workbench(state.db, caller).load_snapshot(str(snapshot_id))
    if ref.snapshot_id != snapshot_id:  # pragma: no cover - a full id matches itself only
        raise repo.NotFoundError(f"no market snapshot matches {str(snapshot_id)!r}")
    cache.put(ref.snapshot_id, ref.snapshot_hash, ref.snapshot)
    return ref.snapshot_hash, ref.snapshot


def _quote_payload(ref: SnapshotRef, symbol: str) -> dict[str, Any]:
    quote = ref.snapshot.underlying(symbol)
    return {
        "symbol": symbol,
        "snapshot_id": str(ref.snapshot_id),
        "snapshot_hash": ref.snapshot_hash,
        "as_of": ref.snapshot.as_of.isoformat(),
        "spot": decimal_text(quote.spot),
        "bid": decimal_text(quote.bid),
        "ask": decimal_text(quote.ask),
        "last": decimal_text(quote.last),
    }


def announce_snapshot(state: ServiceState, caller: Caller, ref: SnapshotRef) -> None:
    """Publish a stored LIVE snapshot on ``market:{SYMBOL}`` and cache its quotes.

    Called from sync routes and jobs (worker threads): the quote cache is awaited on the
    serving loop through :func:`anyio.from_thread.run` with the loop's token. A PINNED snapshot is not live data: it is kept in the LRU
    only.
    """
    snapshot_cache(state).put(ref.snapshot_id, ref.snapshot_hash, ref.snapshot)
    if ref.snapshot.mode is not SnapshotMode.LIVE:
        return
    bench = Workbench(state.db, caller)
    for quote in ref.snapshot.underlyings:
        payload = _quote_payload(ref, quote.symbol)
        state.hub.publish_threadsafe(
            f"market:{quote.symbol.upper()}",
            {
                "type": "snapshot",
                "snapshot_id": payload["snapshot_id"],
                "snapshot_hash": payload["snapshot_hash"],
                "as_of": payload["as_of"],
                "symbol": quote.symbol,
                "spot": payload["spot"],
            },
        )
        # the cache holds the newest market time: a snapshot taken "as of" an earlier time
        # is announced but does not replace it
        if bench.latest_snapshot_for(quote.symbol).snapshot_id == ref.snapshot_id:
            anyio.from_thread.run(
                functools.partial(
                    state.quote_cache.put, quote.symbol.upper(), payload, ttl=QUOTE_TTL_SECONDS
                ),
                token=state.loop_token,  # type: ignore[arg-type]
            )


@router.get(
    "/v1/market/symbols",
    response_model=list[SymbolOut],
    responses=problem_responses(401, 403),
)
def list_symbols(caller: ViewerCaller, state: State) -> list[SymbolOut]:
    """The symbols the service's synthetic market offers, with their seeded reference spot."""
    seed = state.settings.market_seed
    return [
        SymbolOut(
            symbol=spec.symbol,
            kind=spec.kind.value,
            reference_spot=decimal_text(
                underlying_params(spec, seed=seed, config=DEFAULT_CONFIG).spot
            )
            or "0",
        )
        for spec in DEFAULT_CONFIG.underlyings
    ]


@router.get(
    "/v1/market/chains/{symbol}",
    response_model=ChainOut,
    responses=problem_responses(401, 403, 404, 422),
)
def get_chain(
    symbol: SymbolPath,
    caller: ViewerCaller,
    state: State,
    snapshot: Annotated[
        uuid.UUID | None,
        Query(description="Snapshot id (default: the newest LIVE snapshot holding the symbol)."),
    ] = None,
    expiry: Annotated[date | None, Query(description="Only this expiry.")] = None,
) -> Response:
    """The option chain of ``symbol``: bid, ask, mid, mark and provider IV per strike and right.

    Chains of stored snapshots never change: each one is serialized once per process and
    served as the same bytes afterwards.
    """
    name = symbol.upper()
    if snapshot is None:
        snapshot = Workbench(state.db, caller).latest_snapshot_for(name).snapshot_id
    chains = _chain_cache(state)
    key = (snapshot, name, expiry)
    with _CACHE_LOCK:
        cached = chains.get(key)
        if cached is not None:
            chains.move_to_end(key)
    if cached is None:
        snapshot_hash, snap = cached_snapshot(state, caller, snapshot)
        if name not in {u.symbol for u in snap.underlyings}:
            raise repo.NotFoundError(f"market snapshot {snapshot} does not quote {name!r}")
        quotes = [q for q in snap.options if q.contract.underlying == name]
        expiries = sorted({q.contract.expiry for q in quotes})
        if expiry is not None:
            quotes = [q for q in quotes if q.contract.expiry == expiry]
        chain = ChainOut(
            snapshot_id=str(snapshot),
            snapshot_hash=snapshot_hash,
            mode=snap.mode.value,
            as_of=snap.as_of,
            symbol=name,
            spot=decimal_text(snap.underlying(name).spot) or "0",
            expiries=expiries,
            rows=[ChainRowOut.from_quote(q) for q in quotes],
        )
        cached = chain.model_dump_json().encode("utf-8")
        with _CACHE_LOCK:
            chains[key] = cached
            while len(chains) > CHAIN_CACHE_SIZE:
                chains.popitem(last=False)
    return Response(content=cached, media_type="application/json")


def _chain_cache(state: ServiceState) -> OrderedDict[tuple[uuid.UUID, str, date | None], bytes]:
    with _CACHE_LOCK:
        cache = state.extras.get(_CHAIN_KEY)
        if not isinstance(cache, OrderedDict):
            cache = OrderedDict()
            state.extras[_CHAIN_KEY] = cache
        return cache


@router.get(
    "/v1/market/quotes/{symbol}",
    response_model=QuoteOut,
    responses=problem_responses(401, 403, 404, 422),
)
def get_quote(symbol: SymbolPath, caller: ViewerCaller, state: State) -> QuoteOut:
    """The underlying quote of the newest LIVE snapshot of ``symbol`` (cached when warm)."""
    name = symbol.upper()
    cached = anyio.from_thread.run(state.quote_cache.get, name)
    if cached is not None:
        return QuoteOut.model_validate(cached | {"cached": True})
    bench = Workbench(state.db, caller)
    summary = bench.latest_snapshot_for(name)
    snapshot_hash, snap = cached_snapshot(state, caller, summary.snapshot_id)
    ref = SnapshotRef(summary.snapshot_id, snapshot_hash, False, snap)
    payload = _quote_payload(ref, name)
    anyio.from_thread.run(
        functools.partial(state.quote_cache.put, name, payload, ttl=QUOTE_TTL_SECONDS)
    )
    return QuoteOut.model_validate(payload | {"cached": False})
