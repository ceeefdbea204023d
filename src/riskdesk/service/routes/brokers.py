"""Read a broker account over HTTP: its option positions, and a snapshot of its market.

USER_FLOWS flow 9 (import broker positions into a trade) over the public API:

* ``POST /v1/brokers/positions`` -- connect to the broker read-only (the spec rules of
  ``/v1/stream/start``: :func:`riskdesk.service.routes.stream.parse_source_spec`), collect the
  account's option positions until the broker has reported them (its client connected), stop,
  and answer them as padded OCC symbols with signed decimal quantities;
* ``POST /v1/snapshots/broker`` -- a :class:`~riskdesk.domain.market.MarketSnapshot` of the
  account's options (or of ``symbols``) from the broker's own marks
  (:class:`~riskdesk.adapters.tastytrade.market.DxlinkMarketSource`,
  :class:`~riskdesk.adapters.ibkr.market.IbkrMarketSource`), stored through the workbench use
  case like ``/v1/snapshots`` and announced the same way, with the source's warnings.

Both are for traders and admins (a viewer gets 403): they open connections to a broker, and
the snapshot route stores shared market data. Nothing is ever sent to the broker but the
login, reads and market-data subscriptions. ``credentials`` names tastytrade credentials in
the secrets store (``riskdesk secrets broker-login``), never the secret; the secret never
appears in an answer, a problem or a log.

Problems: 422 for a bad spec (naming the field, e.g. a plain-http url that is not loopback) or
credentials missing from the store; 409 when the broker refused (unknown account, bad login)
or the store cannot be read; 504 when the broker did not answer in time (unreachable address,
a closed port): each names the broker's address and its last error.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, Final, Literal
from urllib.parse import urlsplit

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from riskdesk.adapters.stream_snapshot import (
    MarketSourceTimeoutError,
    StreamMarketSource,
    broker_refused,
    collect_positions,
    position_rows,
)
from riskdesk.domain.market import SnapshotMode
from riskdesk.secrets import SecretNotFoundError, SecretsError, SecretStore, open_secret_store
from riskdesk.service.deps import State, TraderCaller
from riskdesk.service.problems import ErrorCode, FieldError, ProblemError, problem_responses
from riskdesk.service.routes.market import announce_snapshot
from riskdesk.service.routes.stream import parse_source_spec
from riskdesk.service.schemas import SnapshotOut
from riskdesk.streaming.source import TickSource
from riskdesk.streaming.sources import (
    DEFAULT_URLS,
    SourceSpec,
    SourceUnavailableError,
    build_source,
    credentials_provider,
    occ_mapper,
)
from riskdesk.workbench.snapshots import take_snapshot
from riskdesk.workbench.usecases import Workbench

__all__ = [
    "BrokerPositionOut",
    "BrokerPositionsIn",
    "BrokerPositionsOut",
    "BrokerSnapshotIn",
    "BrokerSnapshotOut",
    "router",
]

router = APIRouter(tags=["brokers"])

DEFAULT_TIMEOUT_S: Final = 10.0
"""Seconds a request waits for the broker when the body names none."""
MAX_TIMEOUT_S: Final = 60.0
"""Longest wait a request may ask for."""
MAX_SYMBOLS: Final = 200
"""Most options one broker snapshot may ask for."""
"""Phrases of the broker clients' errors meaning the broker answered and said no."""

_GATEWAY: dict[int | str, dict[str, Any]] = {
    504: {
        "model": problem_responses(503)[503]["model"],
        "content": problem_responses(503)[503]["content"],
        "description": "The broker did not answer in time (names its address and last error).",
    }
}
_RESPONSES = problem_responses(401, 403, 409, 422) | _GATEWAY

_EXAMPLE: dict[str, Any] = {
    "broker": "tastytrade",
    "account": "5WT00001",
    "url": "http://127.0.0.1:8765",
    "credentials": "tastytrade-demo",
    "timeout_s": 10,
}


class BrokerPositionsIn(BaseModel):
    """Which broker account to read: the spec fields of ``/v1/stream/start`` and a timeout."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                _EXAMPLE,
                {"broker": "ibkr", "account": "DU000001", "url": "tws://127.0.0.1:7497"},
            ]
        },
    )

    broker: Literal["tastytrade", "ibkr"] = Field(description="The broker to read.")
    account: str = Field(min_length=1, max_length=64, description="The account number.")
    url: str | None = Field(
        None,
        max_length=2048,
        description="tastytrade: https:// to tastytrade's API (default) or a loopback "
        "http:// (a fake broker); ibkr: tws://host:port (default tws://127.0.0.1:7497).",
    )
    credentials: str | None = Field(
        None,
        max_length=128,
        description="tastytrade only: the name of broker credentials in the secrets store "
        "(default: default), never the secret.",
    )
    timeout_s: float = Field(
        DEFAULT_TIMEOUT_S,
        gt=0,
        le=MAX_TIMEOUT_S,
        allow_inf_nan=False,
        description="Seconds to wait for the broker.",
    )

    def spec(self) -> SourceSpec:
        """The source spec (a 422 naming ``body`` and the field when it breaks a rule)."""
        data: dict[str, Any] = {"broker": self.broker, "account": self.account}
        if self.url is not None:
            data["url"] = self.url
        if self.credentials is not None:
            data["credentials"] = self.credentials
        return parse_source_spec(data, where="body")


class BrokerSnapshotIn(BrokerPositionsIn):
    """A broker snapshot: the account (as for positions), which options, and the mode."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                _EXAMPLE | {"mode": "LIVE"},
                _EXAMPLE | {"symbols": ["SPY   250321C00580000"], "mode": "PINNED"},
            ]
        },
    )

    symbols: list[str] | None = Field(
        None,
        min_length=1,
        max_length=MAX_SYMBOLS,
        description="OCC symbols to quote (default: the account's option positions).",
    )
    mode: Literal["LIVE", "PINNED"] = "LIVE"


class BrokerPositionOut(BaseModel):
    """One option position of the account."""

    symbol: str = Field(description="Padded OCC symbol.", examples=["SPY   250321C00580000"])
    underlying: str
    expiry: date
    strike: str = Field(description="Decimal text.")
    right: Literal["C", "P"]
    quantity: str = Field(description="Signed decimal text: negative is short.")


class BrokerPositionsOut(BaseModel):
    """The account's open option positions as the broker reported them."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "broker": "tastytrade",
                    "account": "5WT00001",
                    "as_of": "2026-11-20T15:00:00Z",
                    "positions": [
                        {
                            "symbol": "SPY   261218C00600000",
                            "underlying": "SPY",
                            "expiry": "2026-12-18",
                            "strike": "600",
                            "right": "C",
                            "quantity": "-2",
                        }
                    ],
                    "warnings": [],
                }
            ]
        }
    )

    broker: str
    account: str
    as_of: datetime = Field(description="When the positions were read (UTC).")
    positions: list[BrokerPositionOut]
    warnings: list[str] = Field(description="Positions the broker sent that could not be read.")


class BrokerSnapshotOut(SnapshotOut):
    """The stored broker snapshot and what it left out or lacked."""

    warnings: list[str]


_STORED: dict[int | str, dict[str, Any]] = {
    200: {"model": BrokerSnapshotOut, "description": "The identical snapshot was already stored."}
}


# -- connecting --------------------------------------------------------------------------------


def _address(spec: SourceSpec) -> str:
    return spec.address or DEFAULT_URLS.get(spec.broker, "")


def _secrets_for(spec: SourceSpec) -> SecretStore | None:
    """The secrets store (tastytrade only), with its failures as problems."""
    if spec.broker != "tastytrade":
        return None
    try:
        return open_secret_store()
    except SecretsError as exc:
        raise ProblemError(409, ErrorCode.CONFLICT, f"secrets store: {exc}") from exc


def _credentials_problem(exc: SecretsError) -> ProblemError:
    if isinstance(exc, SecretNotFoundError):
        return ProblemError(
            422,
            ErrorCode.VALIDATION_ERROR,
            f"body.credentials: {exc}",
            errors=[FieldError(field="body.credentials", rule="stored", message=str(exc))],
        )
    return ProblemError(409, ErrorCode.CONFLICT, f"credentials: {exc}")


def _broker_problem(spec: SourceSpec, what: str, error: str | None) -> ProblemError:
    """409 when the broker refused; 504 when it did not answer (naming address and error)."""
    where = f"{spec.broker}:{spec.account_id} at {_address(spec)}"
    if broker_refused(error):
        return ProblemError(409, ErrorCode.CONFLICT, f"{where} refused {what}: {error}")
    reason = f" (last error: {error})" if error else ""
    return ProblemError(504, ErrorCode.SERVICE_UNAVAILABLE, f"{where}: no {what} in time{reason}")


def _client(spec: SourceSpec, secrets: SecretStore | None) -> TickSource:
    try:
        return build_source(spec, secrets=secrets)
    except SecretsError as exc:
        raise _credentials_problem(exc) from exc
    except SourceUnavailableError as exc:
        raise ProblemError(409, ErrorCode.CONFLICT, str(exc)) from exc


@router.post(
    "/v1/brokers/positions",
    response_model=BrokerPositionsOut,
    responses=_RESPONSES,
)
def broker_positions(
    body: BrokerPositionsIn, caller: TraderCaller, state: State
) -> BrokerPositionsOut:
    """The account's open option positions, read once from the broker (traders and admins).

    Connects as ``/v1/stream/start`` would, waits until the broker has reported the
    positions (its client connected), then disconnects. 409 when the broker refuses (an
    unknown account, a bad login); 504 when it does not answer within ``timeout_s``.
    """
    del caller, state
    spec = body.spec()
    client = _client(spec, _secrets_for(spec))
    collector = collect_positions(client, occ_mapper(spec.broker), body.timeout_s)
    with collector.cond:
        connected = collector.connected
        error = collector.last_error
        held = dict(collector.positions)
        rejections = collector.rejections
    if not connected:
        raise _broker_problem(spec, "positions", error)
    positions = [BrokerPositionOut(**row) for row in position_rows(held)]
    warnings = []
    if rejections:
        warnings.append(f"{rejections} position(s) or event(s) could not be read and were left out")
    return BrokerPositionsOut(
        broker=spec.broker,
        account=spec.account_id,
        as_of=datetime.now(UTC),
        positions=positions,
        warnings=warnings,
    )


def _market_source(
    spec: SourceSpec, body: BrokerSnapshotIn, secrets: SecretStore | None
) -> StreamMarketSource:
    """The broker's market source of ``spec`` (422 for a bad symbol, naming it)."""
    try:
        if spec.broker == "tastytrade":
            from riskdesk.adapters.tastytrade.market import DxlinkMarketSource

            assert secrets is not None
            provider = credentials_provider(secrets, "tastytrade", spec.credentials_name or "")
            try:
                provider.load()  # missing credentials: a 422 now, not a timeout later
            except SecretsError as exc:
                raise _credentials_problem(exc) from exc
            return DxlinkMarketSource(
                _address(spec),
                account=spec.account_id,
                credentials=provider,
                symbols=body.symbols,
                timeout_s=body.timeout_s,
            )
        from riskdesk.adapters.ibkr.market import IbkrMarketSource

        parts = urlsplit(_address(spec))
        return IbkrMarketSource(
            parts.hostname or "127.0.0.1",
            parts.port or 7497,
            account=spec.account_id,
            symbols=body.symbols,
            timeout_s=body.timeout_s,
        )
    except ImportError as exc:
        raise ProblemError(
            409, ErrorCode.CONFLICT, f"the {spec.broker} adapter is not available: {exc}"
        ) from exc
    except ValueError as exc:
        raise ProblemError(
            422,
            ErrorCode.VALIDATION_ERROR,
            f"body.symbols: {exc}",
            errors=[FieldError(field="body.symbols", rule="option_symbol", message=str(exc))],
        ) from exc


@router.post(
    "/v1/snapshots/broker",
    response_model=BrokerSnapshotOut,
    status_code=201,
    responses=_STORED | _RESPONSES,
)
def broker_snapshot(
    body: BrokerSnapshotIn, caller: TraderCaller, state: State, response: Response
) -> BrokerSnapshotOut:
    """Store a snapshot of the account's options on the broker's own marks (traders, admins).

    The options are ``symbols`` or the account's positions; each carries the broker's
    bid/ask, mark, implied vol and underlying price. Stored and announced as ``/v1/snapshots``
    stores a synthetic one (201; 200 when the identical snapshot existed); ``warnings`` says
    what the broker did not send in time. 504 when no option came within ``timeout_s``.
    """
    spec = body.spec()
    source = _market_source(spec, body, _secrets_for(spec))
    try:
        snapshot = take_snapshot(source, mode=SnapshotMode(body.mode))
    except MarketSourceTimeoutError as exc:
        raise ProblemError(504, ErrorCode.SERVICE_UNAVAILABLE, str(exc)) from exc
    except ValueError as exc:  # the broker sent a value a snapshot cannot hold
        raise ProblemError(
            409, ErrorCode.CONFLICT, f"{source.name} at {source.address}: {exc}"
        ) from exc
    ref = Workbench(state.db, caller).save_snapshot(snapshot)
    announce_snapshot(state, caller, ref)
    response.status_code = 201 if ref.created else 200
    out = SnapshotOut.from_ref(ref)
    return BrokerSnapshotOut(**out.model_dump(), warnings=list(source.warnings))
