"""Venue smoke runs: an operational check of the paper venue, kept apart from P&L.

:class:`SmokeRuns` is the use case behind ``riskdesk smoke run|list`` and ``/v1/smoke-runs``.
A run checks, in order, and stops at the first step that fails:

1. **market** -- the time to get a market snapshot of ``symbol`` from the desk's market
   (``rpc_latency_ms``), and that the snapshot is fresh enough to trade on (not older than
   the kill switch's ``stale_refuse_seconds``) and quotes an option with a bid. With
   ``venue_url`` (an HTTP URL such as a service's ``/v1/health``) the latency is the round
   trip of a ``GET`` to it, which must answer 2xx within 5 seconds; the snapshot is still
   taken from the desk's market.
2. **account** -- the scratch account ``__smoke__`` exists (or is created with 100,000.00)
   and its ledger reconciles (:meth:`PaperDesk.reconcile
   <riskdesk.trading.desk.PaperDesk.reconcile>`): ``wallet_check``.
3. **order** -- on the scratch account, :meth:`~riskdesk.trading.desk.PaperDesk.preview` of
   a one-lot buy limit at 0.01 on an option bid at 0.05 or more (far from the market), then
   the same order submitted (it must be accepted and rest unfilled) and cancelled (it must
   end cancelled): ``tx_simulation``.

The run is one ``devnet_smoke_runs`` row: ``passed`` or ``failed``; a failed step's text
starts with ``FAILED`` (a market failure leaves ``rpc_latency_ms`` NULL and says so in
``wallet_check``) and the steps after it read ``not run``.

The scratch account belongs to a dedicated, inactive user ``__smoke__`` (no password, role
viewer: it cannot log in), never to the caller, so it never appears among a service user's
accounts; its orders, risk events and fills stay on that account. The user and the account
are created with plain ORM statements in the desk's unit of work.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import select

from riskdesk.domain.caller import Caller
from riskdesk.domain.market import MarketSnapshot, OptionQuote
from riskdesk.domain.occ import format_occ
from riskdesk.store import models as m
from riskdesk.store import trading as repo
from riskdesk.store.paging import KeysetPage, PageKey
from riskdesk.store.portfolio import _get_or_insert
from riskdesk.trading.desk import OrderTicket, PaperDesk, TicketLeg
from riskdesk.trading.model import OrderType, Side, TimeInForce

__all__ = ["SMOKE_ACCOUNT", "SMOKE_USER", "SmokeRunView", "SmokeRuns"]

SMOKE_ACCOUNT = "__smoke__"
"""The scratch account's name."""

SMOKE_USER = "__smoke__"
"""The username owning the scratch account (inactive, no password)."""

SMOKE_EMAIL = "smoke@riskdesk.invalid"
SMOKE_CASH = Decimal(100000)
FAR_LIMIT = Decimal("0.01")
"""The smoke order's limit: far below any option bid it is placed on."""
MIN_BID = Decimal("0.05")
VENUE_TIMEOUT_SECONDS = 5.0


class _StepFailed(Exception):
    """A smoke step failed; the message says why."""


@dataclass(frozen=True, slots=True)
class SmokeRunView:
    """One smoke run as stored, with the step that failed (None when it passed)."""

    id: uuid.UUID
    status: str
    latency_ms: int | None
    wallet_check: str | None
    tx_simulation: str | None
    ran_at: datetime
    failed_step: str | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "run_id": str(self.id),
            "status": self.status,
            "latency_ms": self.latency_ms,
            "wallet_check": self.wallet_check,
            "tx_simulation": self.tx_simulation,
            "ran_at": self.ran_at.isoformat(),
            "failed_step": self.failed_step,
        }


def _failed_step(row: m.DevnetSmokeRun) -> str | None:
    if row.status == "passed":
        return None
    if row.rpc_latency_ms is None or (row.wallet_check or "").startswith("FAILED: market"):
        return "market"
    if (row.wallet_check or "").startswith("FAILED"):
        return "account"
    return "order"


def _view(row: m.DevnetSmokeRun) -> SmokeRunView:
    return SmokeRunView(
        id=row.run_id,
        status=row.status,
        latency_ms=row.rpc_latency_ms,
        wallet_check=row.wallet_check,
        tx_simulation=row.tx_simulation,
        ran_at=row.ran_at,
        failed_step=_failed_step(row),
    )


def _probe(snapshot: MarketSnapshot, symbol: str) -> OptionQuote:
    quotes = [
        q
        for q in snapshot.options
        if q.contract.underlying == symbol
        and q.bid is not None
        and q.ask is not None
        and q.bid >= MIN_BID
        and q.ask >= q.bid
    ]
    if not quotes:
        raise _StepFailed(
            f"market: the snapshot quotes no {symbol} option with a bid of {MIN_BID} or more"
        )
    return min(quotes, key=lambda q: (q.contract.expiry, q.contract.strike, q.contract.right))


class SmokeRuns:
    """Run and list venue smoke runs on the desk's market (see the module docstring).

    Parameters
    ----------
    desk
        The paper desk: its database, market, clock, fill model and kill-switch policy.
    symbol
        The underlying the smoke order trades.
    timer
        A monotonic clock in seconds (tests pin it).

    """

    def __init__(
        self,
        desk: PaperDesk,
        *,
        symbol: str = "SPY",
        timer: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.desk = desk
        self.symbol = symbol
        self.timer = timer

    # ----------------------------------------------------------------- steps

    def _market(self, venue_url: str | None, now: datetime) -> tuple[int, OptionQuote]:
        started = self.timer()
        if venue_url is not None:
            try:
                response = httpx.get(venue_url, timeout=VENUE_TIMEOUT_SECONDS)
            except (httpx.HTTPError, httpx.InvalidURL, ValueError) as error:
                raise _StepFailed(
                    f"market: the venue at {venue_url} did not answer ({error})"
                ) from error
            if not response.is_success:
                raise _StepFailed(
                    f"market: the venue at {venue_url} answered {response.status_code}"
                )
        try:
            snapshot = self.desk.market.snapshot([self.symbol], now)
        except Exception as error:  # the venue's failure, whatever it is, is the finding
            raise _StepFailed(
                f"market: no snapshot of {self.symbol} ({type(error).__name__}: {error})"
            ) from error
        latency = max(0, round((self.timer() - started) * 1000))
        age = (now - snapshot.as_of).total_seconds()
        limit = self.desk.kill_policy.stale_refuse_seconds
        if age > limit:
            raise _StepFailed(
                f"market: the snapshot is {age:.0f} s old (as of {snapshot.as_of.isoformat()}), "
                f"over the {limit} s the desk trades on"
            )
        if self.symbol not in {u.symbol for u in snapshot.underlyings}:
            raise _StepFailed(f"market: the snapshot does not quote {self.symbol}")
        return latency, _probe(snapshot, self.symbol)

    def _scratch(self) -> PaperDesk:
        """A desk acting for the smoke user, its scratch account created when missing."""
        with self.desk._write() as uow:
            session = uow.session
            user = _get_or_insert(
                session,
                lambda: session.scalars(
                    select(m.User).where(m.User.username == SMOKE_USER)
                ).first(),
                lambda: m.User(
                    username=SMOKE_USER,
                    email=SMOKE_EMAIL,
                    password_hash=None,
                    role="viewer",
                    is_active=False,
                ),
            )
            user_id = user.id
        desk = self.desk
        return PaperDesk(
            desk.db,
            Caller(actor=f"{desk.caller.actor} (smoke run)", user_id=user_id, role="trader"),
            market=desk.market,
            clock=desk.clock,
            fill_config=desk.fill_config,
            kill_policy=desk.kill_policy,
            sizes=desk.sizes,
            history=desk.history,
        )

    def _account(self, scratch: PaperDesk) -> tuple[uuid.UUID, str]:
        created = False
        try:
            view = scratch.get_account(SMOKE_ACCOUNT)
        except LookupError:
            view = scratch.create_account(SMOKE_ACCOUNT, SMOKE_CASH)
            created = True
        check = scratch.reconcile(view.id)
        state = "created" if created else "exists"
        summary = f"account {SMOKE_ACCOUNT} ({view.id}) {state}; cash {view.cash}, NAV {view.nav}"
        if not check.ok:
            failing = ", ".join(str(c["check"]) for c in check.checks if not c["ok"])
            raise _StepFailed(f"account: {summary}; the ledger does not reconcile: {failing}")
        return view.id, f"{summary}; ledger reconciles ({len(check.checks)} checks)"

    def _order(self, scratch: PaperDesk, account_id: uuid.UUID, quote: OptionQuote) -> str:
        occ = format_occ(quote.contract)
        ticket = OrderTicket(
            legs=(TicketLeg(occ, Side.BUY),),
            quantity=1,
            order_type=OrderType.LIMIT,
            time_in_force=TimeInForce.DAY,
            limit_price=FAR_LIMIT,
            strategy_type="smoke",
        )
        verdict = scratch.preview(account_id, ticket)
        if not verdict["accepted"]:
            raise _StepFailed(
                f"order: preview of a buy limit {FAR_LIMIT} on {occ} refused: "
                f"{verdict['code']}: {verdict['message']}"
            )
        preview = f"preview accepted ({len(verdict['checks'])} checks)"
        result = scratch.submit(account_id, ticket)
        order = result.order
        if not result.accepted:
            raise _StepFailed(
                f"order: {preview}, but the submitted order {order.id} was refused: "
                f"{result.code}: {result.message}"
            )
        if order.status != "submitted" or order.filled_quantity:
            raise _StepFailed(
                f"order: {preview}; order {order.id} at {FAR_LIMIT} on {occ} (bid {quote.bid}) "
                f"should rest unfilled but is {order.status} with {order.filled_quantity} filled"
            )
        cancelled = scratch.cancel(order.id, reason="smoke run: cancel the far limit")
        if cancelled.status != "cancelled":
            raise _StepFailed(f"order: order {order.id} is {cancelled.status} after its cancel")
        return (
            f"{preview}; order {order.id} buy 1 {occ} limit {FAR_LIMIT} (bid {quote.bid}, ask "
            f"{quote.ask}) rested unfilled and was cancelled"
        )

    # ----------------------------------------------------------------- use cases

    def run(self, *, venue_url: str | None = None) -> SmokeRunView:
        """Run the checks and store the run (see the module docstring).

        A failing step raises nothing: the stored run says which step failed and why.
        """
        now = self.desk.clock()
        latency: int | None = None
        texts: dict[str, str] = {}
        failed: str | None = None
        try:
            latency, quote = self._market(venue_url, now)
            scratch = self._scratch()
            try:
                account_id, texts["account"] = self._account(scratch)
            except (ValueError, LookupError) as error:
                raise _StepFailed(f"account: {error}") from error
            try:
                texts["order"] = self._order(scratch, account_id, quote)
            except (ValueError, LookupError) as error:
                raise _StepFailed(f"order: {type(error).__name__}: {error}") from error
        except _StepFailed as error:
            message = str(error)
            failed = message.split(":", 1)[0]
            texts[failed] = f"FAILED: {message}"
        if failed == "market":
            wallet = texts["market"]
        else:
            wallet = texts.get("account", "not run: an earlier step failed")
        tx = texts.get("order", "not run: an earlier step failed")
        with self.desk._write() as uow:
            row = m.DevnetSmokeRun(
                status="failed" if failed else "passed",
                rpc_latency_ms=latency if failed != "market" else None,
                wallet_check=wallet,
                tx_simulation=tx,
                ran_at=now,
            )
            uow.session.add(row)
            uow.session.flush()
            uow.audit(
                "smoke_run.run",
                resource_type="devnet_smoke_run",
                resource_id=str(row.run_id),
                new={"status": row.status, "failed_step": failed},
            )
            return _view(row)

    def list(self, *, after: PageKey | None = None, limit: int = 50) -> KeysetPage[SmokeRunView]:
        """A page of smoke runs, newest first."""
        with self.desk._read() as uow:
            page = repo.page_smoke_runs(uow.session, after=after, limit=limit)
            return KeysetPage([_view(r) for r in page.items], page.next_key)
