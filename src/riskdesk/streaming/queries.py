"""Use cases over the stored Greeks and the seed-003 trade log.

* :class:`GreeksQueries` -- the latest Greeks of each contract, history pages and counts.
* :class:`TradeLog` -- record a trade-log entry, list entries.

Scoping: ``greek_snapshots.account_id`` and the trade log's ``broker_account_id`` are broker
account strings (``U1234567``, ``5WT00001``), not riskdesk users or paper accounts, so nothing
ties a row to a riskdesk user. Both are shared desk data, as snapshots and signals are: every
logged-in caller reads all of it; recording a trade-log entry needs the trader role (an admin
is one too) and is audited as the caller. The CLI acts as :meth:`Caller.local` (an admin).

Money and quantities are Decimals (decimal strings on the wire), Greeks and implied
volatility floats, times aware UTC.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final

from riskdesk.domain.caller import Caller
from riskdesk.domain.numbers import check_amount
from riskdesk.store import Database
from riskdesk.store.greeks import (
    GreekFilter,
    TradeLogFilter,
    count_greeks,
    count_trade_log,
    greek_history_page,
    insert_trade_log,
    latest_greeks,
    trade_log_page,
)
from riskdesk.store.models import SUPPORTED_BROKERS, GreekSnapshot, Trade
from riskdesk.store.paging import KeysetPage, PageKey
from riskdesk.streaming.records import RecordError, parse_contract_key

__all__ = [
    "LATEST_LIMIT",
    "MAX_LATEST_LIMIT",
    "GreekFilter",
    "GreekView",
    "GreeksQueries",
    "LatestGreeks",
    "TradeLog",
    "TradeLogEntry",
    "TradeLogFilter",
    "TradeLogView",
]

LATEST_LIMIT: Final = 1000
"""Contracts the latest view returns by default."""
MAX_LATEST_LIMIT: Final = 10_000
"""The most contracts one latest view returns (seed 003's query limit)."""

_MAX_ACCOUNT = 64
_MAX_SYMBOL = 64
_MAX_ACTION = 32
_MAX_TAG = 64
_MAX_METADATA_BYTES = 16_384


def _iso(value: datetime) -> str:
    return value.isoformat(timespec="microseconds")


@dataclass(frozen=True, slots=True)
class GreekView:
    """One stored Greeks event (a ``greek_snapshots`` row without its raw payload)."""

    id: uuid.UUID
    event_time: datetime
    received_at: datetime
    persisted_at: datetime
    broker: str
    account_id: str
    underlying: str
    contract_key: str
    expiration: date | None
    strike: Decimal | None
    option_type: str | None
    quantity: Decimal | None
    delta: float | None
    gamma: float | None
    theta: float | None
    vega: float | None
    rho: float | None
    implied_volatility: float | None
    underlying_price: float | None

    @classmethod
    def of(cls, row: GreekSnapshot) -> GreekView:
        """The view of a stored row."""
        return cls(
            id=row.id,
            event_time=row.event_time,
            received_at=row.received_at,
            persisted_at=row.persisted_at,
            broker=row.broker,
            account_id=row.account_id,
            underlying=row.underlying,
            contract_key=row.contract_key,
            expiration=row.expiration,
            strike=None if row.strike is None else row.strike.normalize(),
            option_type=row.option_type,
            quantity=None if row.quantity is None else row.quantity.normalize(),
            delta=row.delta,
            gamma=row.gamma,
            theta=row.theta,
            vega=row.vega,
            rho=row.rho,
            implied_volatility=row.implied_volatility,
            underlying_price=row.underlying_price,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON types: decimals as strings (plain notation), floats as numbers, ISO times."""
        return {
            "id": self.id.hex,
            "event_time": _iso(self.event_time),
            "received_at": _iso(self.received_at),
            "persisted_at": _iso(self.persisted_at),
            "broker": self.broker,
            "account_id": self.account_id,
            "underlying": self.underlying,
            "contract_key": self.contract_key,
            "expiration": None if self.expiration is None else self.expiration.isoformat(),
            "strike": None if self.strike is None else format(self.strike, "f"),
            "option_type": self.option_type,
            "quantity": None if self.quantity is None else format(self.quantity, "f"),
            "delta": self.delta,
            "gamma": self.gamma,
            "theta": self.theta,
            "vega": self.vega,
            "rho": self.rho,
            "implied_volatility": self.implied_volatility,
            "underlying_price": self.underlying_price,
        }


@dataclass(frozen=True, slots=True)
class LatestGreeks:
    """The latest view: one row per contract, and whether the limit cut contracts off."""

    items: list[GreekView]
    truncated: bool


def _text(name: str, value: object, limit: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} must be non-empty text, got {value!r}")
    if value != value.strip():
        raise ValueError(f"{name} {value!r} has leading or trailing spaces; remove them")
    if len(value) > limit:
        raise ValueError(f"{name} has {len(value)} characters; at most {limit} are allowed")
    return value


@dataclass(frozen=True, slots=True)
class TradeLogEntry:
    """A seed-003 trade-log entry to record.

    ``quantity`` is non-zero (its sign is the caller's convention; ``action`` says what was
    done, e.g. ``BUY_TO_OPEN``); ``price`` is per unit and may be None. ``contract_key``, when
    given, is a canonical contract key (``SPY:20250117:580:C``); None for a non-option entry.
    ``metadata`` is a JSON object of at most 16 KiB.

    Raises
    ------
    ValueError
        From the constructor, naming the field and the rule it broke.

    """

    broker: str
    account_id: str
    symbol: str
    action: str
    quantity: Decimal
    contract_key: str | None = None
    price: Decimal | None = None
    strategy_tag: str | None = None
    metadata: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.broker not in SUPPORTED_BROKERS:
            raise ValueError(
                f"broker must be one of {', '.join(SUPPORTED_BROKERS)}, got {self.broker!r}"
            )
        _text("account_id", self.account_id, _MAX_ACCOUNT)
        _text("symbol", self.symbol, _MAX_SYMBOL)
        _text("action", self.action, _MAX_ACTION)
        if not isinstance(self.quantity, Decimal) or self.quantity.is_zero():
            raise ValueError(f"quantity must be a non-zero decimal, got {self.quantity!r}")
        check_amount(self.quantity, field="quantity")
        if self.price is not None:
            if not isinstance(self.price, Decimal):
                raise ValueError(f"price must be a decimal or None, got {self.price!r}")
            check_amount(self.price, field="price")
        if self.strategy_tag is not None:
            _text("strategy_tag", self.strategy_tag, _MAX_TAG)
        if self.contract_key is not None:
            try:
                parse_contract_key(self.contract_key)
            except RecordError as exc:
                raise ValueError(f"contract_key: {exc}") from exc
        if self.metadata is not None:
            if not isinstance(self.metadata, dict):
                raise ValueError(
                    f"metadata must be a JSON object, got {type(self.metadata).__name__}"
                )
            try:
                size = len(json.dumps(self.metadata, allow_nan=False).encode())
            except (TypeError, ValueError) as exc:
                raise ValueError(f"metadata is not plain JSON ({exc})") from exc
            if size > _MAX_METADATA_BYTES:
                raise ValueError(
                    f"metadata is {size} bytes of JSON; at most {_MAX_METADATA_BYTES} are allowed"
                )


@dataclass(frozen=True, slots=True)
class TradeLogView:
    """One stored trade-log entry."""

    id: uuid.UUID
    created_at: datetime
    broker: str
    account_id: str
    symbol: str
    contract_key: str | None
    action: str
    quantity: Decimal
    price: Decimal | None
    strategy_tag: str | None
    metadata: dict[str, Any] | None

    @classmethod
    def of(cls, row: Trade) -> TradeLogView:
        """The view of a stored ``trades`` row of the trade log."""
        if (
            row.broker is None
            or row.broker_account_id is None
            or row.symbol is None
            or row.action is None
            or row.quantity is None
        ):
            raise ValueError(f"trade {row.id} is not a seed-003 trade-log entry")
        return cls(
            id=row.id,
            created_at=row.created_at,
            broker=row.broker,
            account_id=row.broker_account_id,
            symbol=row.symbol,
            contract_key=row.contract_key,
            action=row.action,
            quantity=row.quantity.normalize(),
            price=None if row.price is None else row.price.normalize(),
            strategy_tag=row.strategy_tag,
            metadata=row.metadata_json,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON types: decimals as strings (plain notation), ISO times."""
        return {
            "id": self.id.hex,
            "created_at": _iso(self.created_at),
            "broker": self.broker,
            "account_id": self.account_id,
            "symbol": self.symbol,
            "contract_key": self.contract_key,
            "action": self.action,
            "quantity": format(self.quantity, "f"),
            "price": None if self.price is None else format(self.price, "f"),
            "strategy_tag": self.strategy_tag,
            "metadata": self.metadata,
        }


def _check_limit(limit: int, high: int) -> None:
    if not 1 <= limit <= high:
        raise ValueError(f"limit must be between 1 and {high}, got {limit}")


class _UseCases:
    def __init__(self, db: Database, caller: Caller | None = None) -> None:
        self.db = db
        self.caller = caller if caller is not None else Caller.local(db.actor)


class GreeksQueries(_UseCases):
    """Reads of ``greek_snapshots`` for ``caller`` (shared data: any role reads all of it)."""

    def latest(self, where: GreekFilter, *, limit: int = LATEST_LIMIT) -> LatestGreeks:
        """The newest event of each contract matching ``where`` (by event time, not insertion).

        Contracts come ordered by broker, account and contract key; ``truncated`` says more
        than ``limit`` matched.
        """
        _check_limit(limit, MAX_LATEST_LIMIT)
        with self.db.unit_of_work_for(self.caller, read_only=True) as uow:
            rows = latest_greeks(uow.session, where=where, limit=limit + 1)
            views = [GreekView.of(row) for row in rows]
        return LatestGreeks(views[:limit], truncated=len(views) > limit)

    def history(
        self, where: GreekFilter, *, after: PageKey | None = None, limit: int = 50
    ) -> KeysetPage[GreekView]:
        """One page of events matching ``where``, newest first; pass ``next_key`` on."""
        _check_limit(limit, MAX_LATEST_LIMIT)
        with self.db.unit_of_work_for(self.caller, read_only=True) as uow:
            page = greek_history_page(uow.session, where=where, after=after, limit=limit)
            views = [GreekView.of(row) for row in page.items]
        return KeysetPage(views, page.next_key)

    def count(self, where: GreekFilter) -> int:
        """How many events match ``where``."""
        with self.db.unit_of_work_for(self.caller, read_only=True) as uow:
            return count_greeks(uow.session, where=where)


class TradeLog(_UseCases):
    """Seed 003's trade log: traders record entries, every caller reads them."""

    def record(self, entry: TradeLogEntry) -> TradeLogView:
        """Store ``entry`` (audited as ``tradelog.recorded``).

        Raises
        ------
        PermissionError
            When the caller is a viewer.

        """
        if not self.caller.at_least("trader"):
            raise PermissionError(
                f"recording a trade-log entry needs the trader role; you are {self.caller.role}"
            )
        with self.db.unit_of_work_for(self.caller) as uow:
            row = insert_trade_log(
                uow.session,
                broker=entry.broker,
                account_id=entry.account_id,
                symbol=entry.symbol,
                action=entry.action,
                quantity=entry.quantity,
                contract_key=entry.contract_key,
                price=entry.price,
                strategy_tag=entry.strategy_tag,
                metadata=entry.metadata,
            )
            view = TradeLogView.of(row)
            uow.audit(
                "tradelog.recorded",
                resource_type="trade",
                resource_id=view.id,
                new=view.to_dict(),
            )
        return view

    def list(
        self, where: TradeLogFilter, *, after: PageKey | None = None, limit: int = 50
    ) -> KeysetPage[TradeLogView]:
        """One page of entries matching ``where``, newest first; pass ``next_key`` on."""
        _check_limit(limit, MAX_LATEST_LIMIT)
        with self.db.unit_of_work_for(self.caller, read_only=True) as uow:
            page = trade_log_page(uow.session, where=where, after=after, limit=limit)
            views = [TradeLogView.of(row) for row in page.items]
        return KeysetPage(views, page.next_key)

    def count(self, where: TradeLogFilter) -> int:
        """How many entries match ``where``."""
        with self.db.unit_of_work_for(self.caller, read_only=True) as uow:
            return count_trade_log(uow.session, where=where)
