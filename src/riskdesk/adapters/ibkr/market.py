"""An IBKR account's market, seen through TWS / IB Gateway, as a workbench market source.

:class:`IbkrMarketSource` implements :class:`~riskdesk.domain.sources.MarketSource` through
the broker-independent :class:`~riskdesk.adapters.stream_snapshot.StreamMarketSource`: its
:meth:`~IbkrMarketSource.snapshot` connects once with the streaming client
(:class:`~riskdesk.adapters.ibkr.client.IbkrSource`, run with a collecting sink in a thread),
waits until every wanted option has a model computation with an implied vol and an
underlying price (or ``timeout_s`` passed), stops, and builds the snapshot with
:func:`riskdesk.adapters.broker_market.snapshot_from_view`.

What the snapshot holds: per option its OCC symbol, the model computation's ``optPrice``
(TWS's model price, kept as the ``mark``), its ``impliedVol`` and its receipt time (TWS stamps
none); per underlying the spot is the options' ``undPrice`` (the client streams no bid/ask, so
options have no bid and ask and the diagnostics count them as ``missing_quote``).

Greeks that arrive late are waited for (up to ``timeout_s``). Partial and empty
computations (TWS's "not computed" sentinels) never replace a complete earlier one: the
snapshot shows each option's last computation with an implied vol and an underlying price
(see :mod:`riskdesk.adapters.stream_snapshot`).

The wanted options are ``symbols`` (OCC symbols or contract keys such as
``SPY:20250321:580:C``; TWS streams Greeks for the account's positions, so they must be
among them) or, by default, the account's option positions. Non-standard listings (an
``:AM`` or ``:x<multiplier>`` contract key) have no OCC symbol of their own and are left out,
counted as rejections.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Final

from riskdesk.adapters.ibkr.client import BROKER, IbkrSource, utc_now
from riskdesk.adapters.ibkr.parsing import raw_computation_values
from riskdesk.adapters.stream_snapshot import (
    MarketSourceTimeoutError,
    StreamMarketSource,
    check_timeout,
)
from riskdesk.domain.instruments import OptionContract, OptionRight
from riskdesk.domain.market import MarketOverrides
from riskdesk.domain.occ import format_occ, is_occ_symbol, parse_occ
from riskdesk.streaming.normalize import GreeksTick
from riskdesk.streaming.records import parse_contract_key
from riskdesk.streaming.session import Backoff

__all__ = ["DEFAULT_CLIENT_ID", "IbkrMarketSource", "MarketSourceTimeoutError"]

DEFAULT_CLIENT_ID: Final = 2
"""API client id of a snapshot's connection (the streaming client defaults to 1, and TWS
wants one id per connection, so a snapshot can run next to a stream)."""

_HANDSHAKE_S: Final = 4.0


class IbkrMarketSource(StreamMarketSource):
    """The market of an IBKR account's options (or of ``symbols``), from TWS model Greeks.

    Parameters
    ----------
    host, port : str, int
        The TWS / IB Gateway API address (a fake broker's ``127.0.0.1`` and port).
    account : str
        The account whose positions give the wanted options (and the source's name).
    client_id : int
        The API client id of the snapshot's connection.
    symbols : Sequence[str] or None
        Options to snapshot (OCC symbols or contract keys, among the account's positions)
        instead of all the account's option positions.
    timeout_s : float
        Seconds a snapshot waits for every wanted option before building with what came.
    overrides : MarketOverrides or None
        Rate and dividends of the snapshots (a broker stream carries none).
    clock : Callable[[], datetime]
        Timezone-aware UTC clock (receipt times and the snapshot's ``as_of``).
    backoff : Backoff or None
        The client's reconnect delays within one snapshot (None: the client's default).

    Examples
    --------
    >>> source = IbkrMarketSource("127.0.0.1", 7497, account="DU000001")  # doctest: +SKIP
    >>> snap = source.snapshot()  # doctest: +SKIP

    """

    broker = BROKER
    mark_field = "optPrice"
    require_quotes = False

    def __init__(
        self,
        host: str,
        port: int,
        *,
        account: str,
        client_id: int = DEFAULT_CLIENT_ID,
        symbols: Sequence[str] | None = None,
        timeout_s: float = 10.0,
        overrides: MarketOverrides | None = None,
        clock: Callable[[], datetime] = utc_now,
        backoff: Backoff | None = None,
    ) -> None:
        timeout = check_timeout(timeout_s)
        wanted: list[str] | None = None
        if symbols is not None:
            if isinstance(symbols, str):
                raise ValueError(f"symbols must be a sequence of symbols, got the text {symbols!r}")
            wanted = [self._wanted_occ(symbol) for symbol in symbols]
        self.symbols = None if symbols is None else tuple(symbols)
        self._tws = IbkrSource(
            host,
            port,
            account=account,
            client_id=client_id,
            clock=clock,
            backoff=backoff,
            timeout_s=min(timeout, _HANDSHAKE_S),
        )
        super().__init__(
            self._tws,
            account=account,
            wanted=wanted,
            timeout_s=timeout,
            overrides=overrides,
            clock=clock,
        )

    @classmethod
    def _wanted_occ(cls, symbol: object) -> str:
        if not isinstance(symbol, str) or not symbol:
            raise ValueError(f"symbols must hold non-empty option symbols, got {symbol!r}")
        if ":" in symbol or is_occ_symbol(symbol):
            try:
                return cls.to_occ(symbol)
            except ValueError as exc:
                raise ValueError(f"symbol {symbol!r} is not a usable option: {exc}") from None
        raise ValueError(
            f"symbol {symbol!r} is neither an OCC symbol (SPY   250321C00580000) nor a contract "
            "key (SPY:20250321:580:C)"
        )

    @staticmethod
    def to_occ(symbol: str) -> str:
        """The padded OCC symbol of a contract key (the client's symbols) or OCC symbol.

        Raises
        ------
        ValueError
            When ``symbol`` is neither, or is the key of a non-standard listing (AM-settled
            or a multiplier other than 100), which no OCC symbol describes.

        """
        if ":" not in symbol:
            return format_occ(parse_occ(symbol))
        parts = parse_contract_key(symbol)
        if parts.settlement != "PM" or parts.multiplier != 100:
            raise ValueError(
                f"contract key {symbol!r} is a non-standard listing (settlement "
                f"{parts.settlement}, multiplier {parts.multiplier}): a broker snapshot holds "
                "standard OCC options only"
            )
        return format_occ(
            OptionContract(
                underlying=parts.underlying,
                expiry=parts.expiry,
                strike=parts.strike,
                right=OptionRight(parts.right),
            )
        )

    def mark_of(self, tick: GreeksTick) -> float | None:
        """The computation's ``optPrice`` (TWS's "not computed" sentinels: None)."""
        return raw_computation_values(
            implied_vol=None,
            delta=None,
            opt_price=tick.raw.get(self.mark_field),
            pv_dividend=None,
            gamma=None,
            vega=None,
            theta=None,
            und_price=None,
        ).option_price

    @property
    def address(self) -> str:
        """``tws://host:port`` of TWS / IB Gateway."""
        return f"tws://{self._tws.host}:{self._tws.port}"

    def describe(self) -> dict[str, Any]:
        """Broker, account, TWS address, client id, wanted symbols and timeout."""
        return {
            "source": self.name,
            "broker": BROKER,
            "account": self.account,
            "url": self.address,
            "client_id": self._tws.client_id,
            "symbols": None if self.symbols is None else list(self.symbols),
            "timeout_s": self.timeout_s,
        }
